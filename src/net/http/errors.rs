//! What can go wrong with a request, classified from hyper's, rustls's and the system's errors so
//! that the report can say it in the user's language.

use super::*;

#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// The bundle a variable names cannot be read or parsed (`reason`: the system's or
    /// rustls's words), or holds no certificate (`reason` is `None`).
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

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsKind {
    UnknownIssuer,
    /// Expired, at `not_after` (UNIX seconds) when the library says.
    Expired {
        not_after: Option<u64>,
    },
    /// Not valid before `not_before` (UNIX seconds).
    NotYetValid {
        not_before: u64,
    },
    /// For other names: the name asked for and those the certificate holds, when known.
    WrongName {
        expected: Option<String>,
        presented: Vec<String>,
    },
    /// The server's certificate says CA:TRUE and is not itself trusted.
    CaCertificate,
    /// The server answered in plain HTTP, not TLS.
    PlainHttp,
    Other,
}

/// What the errors in a chain say, from the most specific: a header we could not send, hyper's
/// reading of the answer, an HTTP/2 error code, then the operating system's error kind.
/// `in_body`: the status and headers had arrived.
pub(super) fn cause(
    chain: &[&(dyn std::error::Error + 'static)],
    in_body: bool,
) -> Option<RequestError> {
    use http::header::{InvalidHeaderName, InvalidHeaderValue};
    // `http::Error` wraps these without giving them as its source.
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

pub(super) fn deepest(error: &(dyn std::error::Error + 'static)) -> String {
    chain(error)
        .last()
        .map(|e| e.to_string())
        .unwrap_or_default()
}

pub(super) fn find_rustls(error: &(dyn std::error::Error + 'static)) -> Option<RequestError> {
    chain(error).iter().find_map(|e| {
        let tls = e.downcast_ref::<rustls::Error>()?;
        let kind = match tls {
            rustls::Error::InvalidCertificate(certificate) => match certificate {
                rustls::CertificateError::UnknownIssuer => TlsKind::UnknownIssuer,
                rustls::CertificateError::Expired => TlsKind::Expired { not_after: None },
                rustls::CertificateError::ExpiredContext { not_after, .. } => TlsKind::Expired {
                    not_after: Some(not_after.as_secs()),
                },
                rustls::CertificateError::NotValidYetContext { not_before, .. } => {
                    TlsKind::NotYetValid {
                        not_before: not_before.as_secs(),
                    }
                }
                rustls::CertificateError::NotValidForName => TlsKind::WrongName {
                    expected: None,
                    presented: Vec::new(),
                },
                rustls::CertificateError::NotValidForNameContext {
                    expected,
                    presented,
                } => TlsKind::WrongName {
                    expected: Some(server_name(expected)),
                    presented: presented.iter().map(|name| plain_name(name)).collect(),
                },
                _ if super::verifier::is_ca_used_as_server_certificate(tls) => {
                    TlsKind::CaCertificate
                }
                _ => TlsKind::Other,
            },
            // The first bytes were not a TLS record: what answered speaks plain HTTP.
            rustls::Error::InvalidMessage(rustls::InvalidMessage::InvalidContentType) => {
                TlsKind::PlainHttp
            }
            _ => TlsKind::Other,
        };
        Some(RequestError::Tls {
            kind,
            detail: tls.to_string(),
        })
    })
}

/// `DnsName("a.example")` (how rustls lists a certificate's names) → `a.example`.
fn plain_name(name: &str) -> String {
    ["DnsName(\"", "IpAddress(", "URI(\""]
        .iter()
        .find_map(|prefix| name.strip_prefix(prefix))
        .map(|rest| rest.trim_end_matches(')').trim_end_matches('"').to_owned())
        .unwrap_or_else(|| name.to_owned())
}

/// A server name as a person writes it.
fn server_name(name: &rustls::pki_types::ServerName<'_>) -> String {
    match name {
        rustls::pki_types::ServerName::DnsName(dns) => dns.as_ref().to_owned(),
        rustls::pki_types::ServerName::IpAddress(ip) => std::net::IpAddr::from(*ip).to_string(),
        _ => String::new(),
    }
}

/// UNIX seconds as `YYYY-MM-DD HH:MM UTC` (Howard Hinnant's days-to-civil algorithm).
pub fn utc_date(seconds: u64) -> String {
    let days = i64::try_from(seconds / 86_400).unwrap_or(0) + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    let minutes = (seconds % 86_400) / 60;
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        minutes / 60,
        minutes % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_written_as_dates() {
        assert_eq!(utc_date(0), "1970-01-01 00:00 UTC");
        assert_eq!(utc_date(951_782_400), "2000-02-29 00:00 UTC");
        assert_eq!(utc_date(1_798_761_599), "2026-12-31 23:59 UTC");
    }

    #[test]
    fn a_certificates_names_are_listed_plainly() {
        assert_eq!(
            plain_name("DnsName(\"wrong-host.invalid\")"),
            "wrong-host.invalid"
        );
        assert_eq!(plain_name("IpAddress(10.0.0.4)"), "10.0.0.4");
        assert_eq!(plain_name("something else"), "something else");
    }
}
