//! Keypad codes derived from a per-installation secret: HMAC-SHA256(secret, reservation key)
//! mapped onto the whole code space, skipping codes a passer-by would try first.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The `attempt`-th candidate code for a reservation key (attempt 0 first). Never trivial.
pub fn derive_code(secret: &[u8], key: &str, length: u8, attempt: u32) -> String {
    let length = length.clamp(4, 8);
    let space = 10u64.pow(u32::from(length));
    let mut round = attempt.saturating_mul(64);
    loop {
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else {
            // HMAC takes keys of any length; this arm is unreachable in practice.
            return "0".repeat(usize::from(length));
        };
        mac.update(key.as_bytes());
        mac.update(&round.to_be_bytes());
        let digest = mac.finalize().into_bytes();
        let mut first = [0u8; 8];
        first.copy_from_slice(&digest[..8]);
        // 2^64 is so much larger than 10^8 that the modulo bias is negligible.
        let value = u64::from_be_bytes(first) % space;
        let code = format!("{value:0width$}", width = usize::from(length));
        if !is_trivial_code(&code) {
            return code;
        }
        round = round.wrapping_add(1);
    }
}

/// Codes a guesser tries first: one digit repeated, runs up or down (1234, 9876), a short
/// pattern repeated (1212, 123123), or three equal digits in a row.
pub fn is_trivial_code(code: &str) -> bool {
    let digits: Vec<i16> = code
        .bytes()
        .map(|b| i16::from(b) - i16::from(b'0'))
        .collect();
    if digits.len() < 2 {
        return true;
    }
    let steps: Vec<i16> = digits.windows(2).map(|w| w[1] - w[0]).collect();
    if steps.iter().all(|s| *s == steps[0] && s.abs() <= 1) {
        return true;
    }
    for period in 1..digits.len() {
        if digits.len().is_multiple_of(period)
            && digits
                .iter()
                .enumerate()
                .all(|(i, d)| *d == digits[i % period])
        {
            return true;
        }
    }
    digits.windows(3).any(|w| w[0] == w[1] && w[1] == w[2])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trivial_codes_are_recognised() {
        for code in [
            "1234", "0000", "1212", "9876", "123123", "4321", "5550", "123456",
        ] {
            assert!(is_trivial_code(code), "{code}");
        }
        for code in ["4821", "905713", "1379", "2468"] {
            assert!(!is_trivial_code(code), "{code}");
        }
    }

    #[test]
    fn derived_codes_are_stable_and_keyed() {
        let a = derive_code(b"secret", "cabin/uid-1/", 6, 0);
        assert_eq!(a, derive_code(b"secret", "cabin/uid-1/", 6, 0));
        assert_eq!(a.len(), 6);
        assert_ne!(a, derive_code(b"other", "cabin/uid-1/", 6, 0));
        assert_ne!(a, derive_code(b"secret", "cabin/uid-1/", 6, 1));
    }
}
