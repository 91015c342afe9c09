//! `X-Flexysync-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`, on
//! deliveries to us and on our snapshot requests (over an empty body).

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The header's name.
pub const SIGNATURE_HEADER: &str = "x-flexysync-signature";
/// How far (either direction, seconds) a signature's timestamp may be from our clock.
pub const TOLERANCE_SECONDS: i64 = 300;
/// More `v1=` candidates than this (key rotation needs two) is not a real sender.
const MAX_CANDIDATES: usize = 4;

type HmacSha256 = Hmac<Sha256>;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("missing X-Flexysync-Signature header")]
    Missing,
    #[error("malformed X-Flexysync-Signature header: {0}")]
    Malformed(&'static str),
    #[error("signature does not match the body")]
    Mismatch,
    #[error("signature timestamp is more than 5 minutes away from the server's clock")]
    OutsideWindow,
}

/// The header value for `body` signed at `timestamp` (unix seconds).
pub fn sign(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    let t = timestamp.to_string();
    let mac = mac_over(secret, &t, body);
    format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// Checks `header` (the header's value, if any) against the raw `body` in constant time, then
/// the timestamp against `now` (unix seconds).
pub fn verify(
    secret: &[u8],
    header: Option<&[u8]>,
    body: &[u8],
    now: i64,
) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    let header =
        std::str::from_utf8(header).map_err(|_| SignatureError::Malformed("not ASCII text"))?;
    let mut timestamp = None;
    let mut candidates = Vec::new();
    for part in header.split(',') {
        let Some((key, value)) = part.trim().split_once('=') else {
            return Err(SignatureError::Malformed("expected t=<seconds>,v1=<hex>"));
        };
        match key.trim() {
            "t" => {
                let value = value.trim();
                if value.is_empty()
                    || value.len() > 12
                    || !value.bytes().all(|b| b.is_ascii_digit())
                {
                    return Err(SignatureError::Malformed("t must be unix seconds"));
                }
                timestamp = Some(value);
            }
            "v1" => {
                let digest = hex::decode(value.trim())
                    .map_err(|_| SignatureError::Malformed("v1 must be hexadecimal"))?;
                candidates.push(digest);
            }
            // Other schemes (a future v2) are skipped, as senders may send several.
            _ => {}
        }
    }
    let t = timestamp.ok_or(SignatureError::Malformed("no t= timestamp"))?;
    if candidates.is_empty() {
        return Err(SignatureError::Malformed("no v1= signature"));
    }
    if candidates.len() > MAX_CANDIDATES {
        return Err(SignatureError::Malformed("too many v1= signatures"));
    }
    let mac = mac_over(secret, t, body);
    let matched = candidates.iter().fold(false, |found, c| {
        mac.clone().verify_slice(c).is_ok() | found
    });
    if !matched {
        return Err(SignatureError::Mismatch);
    }
    // At most 12 digits, so this parse cannot overflow and the difference cannot either.
    let seconds: i64 = t
        .parse()
        .map_err(|_| SignatureError::Malformed("t must be unix seconds"))?;
    if (now - seconds).abs() > TOLERANCE_SECONDS {
        return Err(SignatureError::OutsideWindow);
    }
    Ok(())
}

fn mac_over(secret: &[u8], timestamp: &str, body: &[u8]) -> HmacSha256 {
    // HMAC takes keys of any length, so this cannot fail.
    let mut mac = match HmacSha256::new_from_slice(secret) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC accepts keys of any length"),
    };
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000;

    #[test]
    fn a_signature_made_by_sign_verifies_and_any_change_breaks_it() {
        let header = sign(b"secret", NOW, b"{\"a\":1}");
        assert!(verify(b"secret", Some(header.as_bytes()), b"{\"a\":1}", NOW).is_ok());
        assert_eq!(
            verify(b"secret", Some(header.as_bytes()), b"{\"a\":2}", NOW),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(b"other", Some(header.as_bytes()), b"{\"a\":1}", NOW),
            Err(SignatureError::Mismatch)
        );
        let moved = header.replace(&format!("t={NOW}"), &format!("t={}", NOW + 1));
        assert_eq!(
            verify(b"secret", Some(moved.as_bytes()), b"{\"a\":1}", NOW),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn known_vector_matches_openssl() {
        // printf '%s' '1800000000.{}' | openssl dgst -sha256 -hmac secret
        assert_eq!(
            sign(b"secret", NOW, b"{}"),
            "t=1800000000,v1=bb7079132825ac793cea8c013c1dd24d926b9b02132245b10588d9e5c0df70d7"
        );
    }

    #[test]
    fn the_window_is_five_minutes_either_way() {
        for (skew, ok) in [(-300, true), (300, true), (-301, false), (301, false)] {
            let header = sign(b"k", NOW + skew, b"x");
            assert_eq!(
                verify(b"k", Some(header.as_bytes()), b"x", NOW).is_ok(),
                ok,
                "skew {skew}"
            );
        }
    }

    #[test]
    fn malformed_headers_are_named() {
        let cases: [&[u8]; 6] = [
            b"v1=00",
            b"t=1800000000",
            b"t=abc,v1=00",
            b"t=1800000000,v1=zz",
            b"garbage",
            b"t=99999999999999999999,v1=00",
        ];
        for header in cases {
            assert!(
                matches!(
                    verify(b"k", Some(header), b"", NOW),
                    Err(SignatureError::Malformed(_))
                ),
                "{}",
                String::from_utf8_lossy(header)
            );
        }
        assert_eq!(verify(b"k", None, b"", NOW), Err(SignatureError::Missing));
    }

    #[test]
    fn a_rotated_key_may_send_two_signatures() {
        let good = sign(b"new", NOW, b"x");
        let old = sign(b"old", NOW, b"x");
        let v1_old = old.split("v1=").nth(1).unwrap();
        let both = format!("{good},v1={v1_old}");
        assert!(verify(b"old", Some(both.as_bytes()), b"x", NOW).is_ok());
        assert!(verify(b"new", Some(both.as_bytes()), b"x", NOW).is_ok());
    }
}
