//! A failed HTTP exchange in words an operator can act on. reqwest's own text is often just
//! "error sending request"; what went wrong (no DNS answer, a refused connection, a TLS
//! problem, a timeout) is further down its chain of causes. The URL is left out: it may carry a
//! feed's secret token.

use std::error::Error;

/// What kind of network failure it was, first, then the whole chain of causes:
/// `connection refused: error sending request: client error (Connect): tcp connect error:
/// Connection refused (os error 111)`.
pub fn describe(err: reqwest::Error) -> String {
    let timed_out = err.is_timeout();
    describe_chain(&err.without_url(), timed_out)
}

/// [`describe`] over any error and its sources.
pub fn describe_chain(err: &(dyn Error + 'static), timed_out: bool) -> String {
    let mut texts: Vec<String> = vec![];
    let mut kind = timed_out.then_some("timed out");
    let mut next: Option<&(dyn Error + 'static)> = Some(err);
    while let Some(cause) = next {
        let text = cause.to_string();
        kind = kind.or_else(|| classify(cause, &text));
        // Some layers repeat their cause's text in their own.
        if !texts.last().is_some_and(|last| last.contains(&text)) {
            texts.push(text);
        }
        next = cause.source();
    }
    let chain = texts.join(": ");
    match kind {
        Some(kind) => format!("{kind}: {chain}"),
        None => chain,
    }
}

fn classify(cause: &(dyn Error + 'static), text: &str) -> Option<&'static str> {
    use std::io::ErrorKind;
    if let Some(io) = cause.downcast_ref::<std::io::Error>() {
        match io.kind() {
            ErrorKind::ConnectionRefused => return Some("connection refused"),
            ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted => {
                return Some("connection reset");
            }
            ErrorKind::TimedOut => return Some("timed out"),
            _ => {}
        }
    }
    let lower = text.to_ascii_lowercase();
    if lower.contains("dns error") || lower.contains("failed to lookup address") {
        Some("DNS lookup failed")
    } else if lower.contains("certificate")
        || lower.contains("tls")
        || lower.contains("handshake")
        || lower.contains("corrupt message")
    {
        Some("TLS failed")
    } else if lower.contains("connection refused") {
        Some("connection refused")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An error with a source, as hyper and reqwest nest theirs.
    #[derive(Debug)]
    struct Layer(&'static str, Option<Box<dyn Error + 'static>>);

    impl std::fmt::Display for Layer {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str(self.0)
        }
    }

    impl Error for Layer {
        fn source(&self) -> Option<&(dyn Error + 'static)> {
            self.1.as_deref()
        }
    }

    fn chain(texts: &[&'static str], last: Option<Box<dyn Error>>) -> Layer {
        let mut error = last;
        for text in texts.iter().rev() {
            error = Some(Box::new(Layer(text, error)));
        }
        let top = error.unwrap();
        Layer("error sending request", Some(top))
    }

    #[test]
    fn a_dns_failure_says_so_with_its_cause() {
        let err = chain(
            &[
                "client error (Connect)",
                "dns error",
                "failed to lookup address information: Name or service not known",
            ],
            None,
        );
        let text = describe_chain(&err, false);
        assert!(text.starts_with("DNS lookup failed: "), "{text}");
        assert!(text.contains("Name or service not known"), "{text}");
    }

    #[test]
    fn a_refused_connection_is_told_by_its_io_kind() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "os error 111");
        let err = chain(&["client error (Connect)"], Some(Box::new(io)));
        let text = describe_chain(&err, false);
        assert!(
            text.starts_with("connection refused: error sending request"),
            "{text}"
        );
        assert!(text.contains("os error 111"), "{text}");
    }

    #[test]
    fn tls_and_timeouts_are_named() {
        let tls = chain(&["invalid peer certificate: UnknownIssuer"], None);
        assert!(describe_chain(&tls, false).starts_with("TLS failed: "));
        let slow = chain(&["operation timed out"], None);
        assert!(describe_chain(&slow, true).starts_with("timed out: "));
        let plain = chain(&["body error"], None);
        assert_eq!(
            describe_chain(&plain, false),
            "error sending request: body error"
        );
    }
}
