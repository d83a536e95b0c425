//! What can go wrong with a request, classified from reqwest's, hyper's and rustls's errors so
//! that the report can say it in the user's language.

use super::*;

#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// The bundle a variable names cannot be read or parsed (`reason`: the system's or
    /// reqwest's words), or holds no certificate (`reason` is `None`).
    #[error("{variable} names {path}, which cannot be used: {reason:?}")]
    Bundle {
        variable: &'static str,
        path: String,
        reason: Option<String>,
    },
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
}

impl TransportError {
    /// What went wrong, for the report.
    pub fn describe(&self) -> Text {
        match self {
            TransportError::Bundle {
                variable,
                path,
                reason: Some(reason),
            } => Text::ui(ui::HEALTH_REGISTRY_BAD_BUNDLE)
                .arg("variable", variable)
                .arg("path", path)
                .arg("reason", reason),
            TransportError::Bundle {
                variable,
                path,
                reason: None,
            } => Text::ui(ui::HEALTH_REGISTRY_EMPTY_BUNDLE)
                .arg("variable", variable)
                .arg("path", path),
            TransportError::Client(reason) => {
                Text::ui(ui::HEALTH_REGISTRY_BAD_TRUST).arg("reason", reason)
            }
        }
    }
}

/// Why a request got no response. Each kind has its own text in the report; a library's own
/// (English) words are kept only where nothing more specific is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestError {
    Timeout {
        seconds: u64,
    },
    Dns(String),
    Tls {
        kind: TlsKind,
        detail: String,
    },
    Refused,
    Reset,
    /// No route to the network or the host from this machine.
    Unreachable,
    /// The connection closed before the answer was complete (hyper's incomplete message, or a
    /// body that stops short of its length).
    Incomplete,
    /// What came back is not valid HTTP.
    Protocol(Protocol),
    /// The body could not be read, for a reason the libraries give only in words.
    Body(String),
    /// The URL cannot be requested (it does not parse, or is not http or https); shown without
    /// its query and user information.
    InvalidUrl {
        url: String,
    },
    /// A header value of ours holds bytes HTTP forbids (a token or password with a line break).
    InvalidHeader,
    Proxy {
        proxy: String,
        reason: String,
    },
    BodyTooLarge,
    Other(String),
}

/// How an answer breaks HTTP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Protocol {
    /// The status line has no valid HTTP version: what answered does not speak HTTP/1.x.
    Version,
    /// The status code is not three digits.
    Status,
    /// A header is malformed (a forbidden byte, an unreadable `Content-Length`).
    Header,
    /// The status line and headers are larger than the client reads.
    HeadTooLarge,
    /// The chunked encoding of the body is malformed.
    Chunked,
    /// An HTTP/2 error code (RFC 9113 section 7), by name: `COMPRESSION_ERROR`, ...
    Http2(String),
    /// Another parse error of hyper's.
    Other,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsKind {
    UnknownIssuer,
    Expired,
    WrongName,
    Other,
}

/// What the errors in a chain say, from the most specific: a header we could not send, hyper's
/// reading of the answer, an HTTP/2 error code, then the operating system's error kind.
/// `in_body`: the status and headers had arrived.
pub(super) fn cause(
    chain: &[&(dyn std::error::Error + 'static)],
    in_body: bool,
) -> Option<RequestError> {
    use reqwest::header::{InvalidHeaderName, InvalidHeaderValue};
    // reqwest wraps these in `http::Error`, which does not give them as its source.
    let bad_header = |e: &&(dyn std::error::Error + 'static)| {
        e.is::<InvalidHeaderValue>()
            || e.is::<InvalidHeaderName>()
            || e.downcast_ref::<http::Error>()
                .is_some_and(|e| e.is::<InvalidHeaderValue>() || e.is::<InvalidHeaderName>())
    };
    if chain.iter().any(bad_header) {
        return Some(RequestError::InvalidHeader);
    }
    if let Some(hyper) = chain.iter().find_map(|e| e.downcast_ref::<hyper::Error>()) {
        if hyper.is_incomplete_message() {
            return Some(RequestError::Incomplete);
        }
        if hyper.is_parse() {
            return Some(RequestError::Protocol(parse_error(hyper)));
        }
    }
    if let Some(code) = chain
        .iter()
        .filter_map(|e| e.downcast_ref::<h2::Error>())
        .find_map(h2::Error::reason)
    {
        // The name of the code (its Debug form), not h2's English description of it.
        return Some(RequestError::Protocol(Protocol::Http2(format!("{code:?}"))));
    }
    let io = chain
        .iter()
        .rev()
        .find_map(|e| e.downcast_ref::<std::io::Error>())?;
    use std::io::ErrorKind;
    Some(match io.kind() {
        ErrorKind::ConnectionRefused => RequestError::Refused,
        ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted => RequestError::Reset,
        ErrorKind::UnexpectedEof if in_body => RequestError::Incomplete,
        ErrorKind::UnexpectedEof => RequestError::Reset,
        ErrorKind::NetworkUnreachable | ErrorKind::HostUnreachable => RequestError::Unreachable,
        // hyper's chunked decoder says so with these kinds and words only.
        ErrorKind::InvalidInput | ErrorKind::InvalidData if in_body => {
            RequestError::Protocol(Protocol::Chunked)
        }
        _ => return None,
    })
}

/// Which part of the head hyper could not parse. hyper tells a bad status code and an HTTP/2
/// preface apart through its client API; the rest only through its description.
pub(super) fn parse_error(error: &hyper::Error) -> Protocol {
    if error.is_parse_status() {
        return Protocol::Status;
    }
    if error.is_parse_version_h2() {
        return Protocol::Version;
    }
    let words = error.to_string();
    if words.contains("too large") {
        Protocol::HeadTooLarge
    } else if words.contains("version") {
        Protocol::Version
    } else if ["header", "content-length", "transfer-encoding"]
        .iter()
        .any(|w| words.contains(w))
    {
        Protocol::Header
    } else {
        Protocol::Other
    }
}

/// Every error in the chain, including those an `io::Error` wraps without exposing them as its
/// source (rustls's errors hide there).
pub(super) fn chain<'e>(
    error: &'e (dyn std::error::Error + 'static),
) -> Vec<&'e (dyn std::error::Error + 'static)> {
    let mut all = Vec::new();
    let mut next = Some(error);
    while let Some(current) = next {
        all.push(current);
        if let Some(inner) = current
            .downcast_ref::<std::io::Error>()
            .and_then(std::io::Error::get_ref)
        {
            all.extend(chain(inner));
        }
        next = current.source();
    }
    all
}

pub(super) fn chain_mentions(error: &reqwest::Error, needle: &str) -> bool {
    chain(error).iter().any(|e| e.to_string().contains(needle))
}

pub(super) fn deepest(error: &reqwest::Error) -> String {
    chain(error)
        .last()
        .map(|e| e.to_string())
        .unwrap_or_default()
}

pub(super) fn find_rustls(error: &reqwest::Error) -> Option<RequestError> {
    chain(error).iter().find_map(|e| {
        let tls = e.downcast_ref::<rustls::Error>()?;
        let kind = match tls {
            rustls::Error::InvalidCertificate(certificate) => match certificate {
                rustls::CertificateError::UnknownIssuer => TlsKind::UnknownIssuer,
                rustls::CertificateError::Expired
                | rustls::CertificateError::ExpiredContext { .. } => TlsKind::Expired,
                rustls::CertificateError::NotValidForName
                | rustls::CertificateError::NotValidForNameContext { .. } => TlsKind::WrongName,
                _ => TlsKind::Other,
            },
            _ => TlsKind::Other,
        };
        Some(RequestError::Tls {
            kind,
            detail: tls.to_string(),
        })
    })
}
