//! HTTPS to the registry and the identity endpoints: trust as Python requests sets it up, proxies
//! from the environment, a time bound on every request, bodies read with a cap, no redirects
//! followed, failures told apart, and each phase of every request timed.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::client::proxy::matcher::Matcher;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

pub use http::{HeaderMap, Method, StatusCode, Version};
pub use url::Url;

pub mod certificate;
mod connect;
mod errors;
mod verifier;

use connect::{Connector, Established, Failed, ProxyRoute};
pub use errors::{Protocol, RequestError, TlsKind, TransportError, utc_date};
use errors::{cause, chain, deepest, find_rustls};

use super::pin::Pins;
use crate::vocabulary::ui;
use crate::vocabulary::{CommandRecord, Text, Timings};

/// Bodies beyond this are a finding, not memory growth.
pub const BODY_CAP: usize = 1 << 20;

/// A request as `--debug` and the data probe's notes show it: the method, the URL without its
/// query (it may carry a scope, a signature or more), the status and the time. Never a header, a
/// form or a body: they carry the secrets; what went wrong is told in the outcome's details.
pub fn request_record(
    method: &Method,
    url: &Url,
    answer: Option<(StatusCode, Timings)>,
    started: Instant,
) -> CommandRecord {
    let elapsed = started.elapsed();
    CommandRecord {
        command: format!("{method} {}", without_query(url)),
        exit: answer.map(|(status, _)| i32::from(status.as_u16())),
        stdout: String::new(),
        stderr: String::new(),
        duration: elapsed,
        // A request without an answer has only its total time.
        timings: Some(answer.map_or_else(|| Timings::unanswered(elapsed), |(_, t)| t)),
        part_of_finding: false,
    }
}

/// Whether `AZURE_CLI_DISABLE_CONNECTION_VERIFICATION` turns certificate verification off.
pub fn verification_disabled(env: &HashMap<String, String>) -> bool {
    env.get("AZURE_CLI_DISABLE_CONNECTION_VERIFICATION")
        .is_some_and(|v| !v.is_empty())
}

/// A URL for the report: without its query.
pub fn without_query(url: &Url) -> String {
    let mut url = url.clone();
    url.set_query(None);
    url.to_string()
}

/// Where the trusted certificate authorities come from; the report says which.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trust {
    /// The system's store (honors `SSL_CERT_FILE` and `SSL_CERT_DIR` on Linux).
    System,
    /// `REQUESTS_CA_BUNDLE` or `CURL_CA_BUNDLE`, replacing the system's store as requests does.
    Bundle {
        variable: &'static str,
        path: String,
    },
    /// `AZURE_CLI_DISABLE_CONNECTION_VERIFICATION`: nothing is verified.
    Disabled,
}

/// What a blob download gave: the digest of a successful answer's body, or another answer.
#[derive(Debug)]
pub enum Download {
    Complete {
        status: StatusCode,
        headers: HeaderMap,
        length: u64,
        timings: Timings,
    },
    Answer(Response),
}

/// A response with its body read (up to [`BODY_CAP`]).
#[derive(Debug, Clone, Default)]
pub struct Response {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    /// The server's certificate, over HTTPS, when it could be read.
    pub certificate: Option<certificate::Certificate>,
    /// The HTTP version the connection speaks (what ALPN agreed on, over HTTPS).
    pub version: Version,
    /// The TLS version (`TLS 1.3`), over HTTPS.
    pub tls_version: Option<String>,
    /// The protocol ALPN agreed on (`h2`, `http/1.1`), if the server chose one.
    pub alpn: Option<String>,
    pub timings: Timings,
}

impl Response {
    /// The status and the timings, for [`request_record`].
    pub fn answer(&self) -> (StatusCode, Timings) {
        (self.status, self.timings)
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Every value of the header `name` that is text.
    pub fn header_values<'a>(&'a self, name: &str) -> impl Iterator<Item = &'a str> {
        self.headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
    }

    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }

    /// The registry's own error (`{"errors":[{"code","message"}]}`), as `CODE: message`.
    pub fn registry_error(&self) -> Option<String> {
        let json = self.json()?;
        let first = json.get("errors")?.as_array()?.first()?;
        let code = first
            .get("code")
            .and_then(|c| c.as_str())
            .unwrap_or_default();
        let message = first
            .get("message")
            .and_then(|m| m.as_str())
            .unwrap_or_default();
        let text = [code, message]
            .iter()
            .filter(|s| !s.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join(": ");
        (!text.is_empty()).then(|| printable(&text.chars().take(300).collect::<String>()))
    }
}

/// Another system's words, safe to print on a terminal: tabs and line breaks become spaces, and
/// other control characters (NUL, ESC sequences that clear or recolor the screen, a carriage
/// return that overwrites the line) and the bidirectional overrides that reorder what is shown
/// become U+FFFD. A registry or a proxy in the way chooses these bytes, not us.
pub fn printable(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\t' | '\n' => ' ',
            c if c.is_control() => '\u{fffd}',
            '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => '\u{fffd}',
            c => c,
        })
        .collect()
}

pub struct Transport {
    client: Client<Connector, Full<Bytes>>,
    pub trust: Trust,
    /// The certificates of `REQUESTS_CA_BUNDLE`/`CURL_CA_BUNDLE`, when trust comes from one.
    bundle: Option<Arc<[CertificateDer<'static>]>>,
    /// The proxy for HTTPS requests, without any credentials in it.
    pub proxy: Option<String>,
    pub timeout: Duration,
}

impl Transport {
    /// Builds the client from the environment; `pins` decide addresses before the resolver.
    pub fn new(
        env: &HashMap<String, String>,
        timeout: Duration,
        pins: &Pins,
    ) -> Result<Transport, TransportError> {
        let var = |name: &str| env.get(name).filter(|v| !v.is_empty()).cloned();
        let proxy = https_proxy(&var);
        let no_proxy = var("NO_PROXY").or_else(|| var("no_proxy"));
        let (trust, roots) = if verification_disabled(env) {
            (Trust::Disabled, None)
        } else if let Some((variable, path)) = [("REQUESTS_CA_BUNDLE"), ("CURL_CA_BUNDLE")]
            .into_iter()
            .find_map(|name| var(name).map(|path| (name, path)))
        {
            let fail = |reason: Option<String>| TransportError::Bundle {
                variable,
                path: path.clone(),
                reason,
            };
            let pem = std::fs::read(&path).map_err(|e| fail(Some(e.to_string())))?;
            let certificates = certificates(&pem).map_err(|e| fail(Some(e.to_string())))?;
            if certificates.is_empty() {
                return Err(fail(None));
            }
            (Trust::Bundle { variable, path }, Some(certificates))
        } else {
            (Trust::System, system_roots(&var))
        };
        let roots: Option<Arc<[CertificateDer<'static>]>> = roots.map(Arc::from);
        let bundle = matches!(trust, Trust::Bundle { .. })
            .then(|| roots.clone())
            .flatten();
        let tls = match (&trust, roots) {
            (Trust::Disabled, _) => verifier::unverified_config(),
            (_, Some(roots)) => verifier::client_config(roots),
            (_, None) => verifier::platform_config(),
        }
        .map_err(|e| TransportError::Client(e.to_string()))?;
        let route = match &proxy {
            Some(url) => {
                url.parse::<http::Uri>()
                    .map_err(|e| TransportError::Client(e.to_string()))?;
                let matcher = Matcher::builder()
                    .https(url.clone())
                    .no(no_proxy.unwrap_or_default())
                    .build();
                Some(ProxyRoute {
                    matcher: Arc::new(matcher),
                    shown: without_credentials(url),
                })
            }
            None => None,
        };
        let connector = Connector::new(Arc::new(tls), route, pins.clone(), timeout);
        let client = Client::builder(TokioExecutor::new())
            .timer(TokioTimer::new())
            .pool_timer(TokioTimer::new())
            .build(connector);
        Ok(Transport {
            client,
            trust,
            bundle,
            proxy: proxy.map(|p| without_credentials(&p)),
            timeout,
        })
    }

    /// Whether the authority named `issuer` is trusted here only through a bundle of this
    /// machine's own (`REQUESTS_CA_BUNDLE`, `CURL_CA_BUNDLE`) and not through the system's store:
    /// the Docker daemon reads neither variable, so it does not trust what that authority issued.
    pub fn trusted_only_by_bundle(&self, issuer: &str, env: &HashMap<String, String>) -> bool {
        let Some(bundle) = &self.bundle else {
            return false;
        };
        let named = |roots: &[CertificateDer<'static>]| {
            roots
                .iter()
                .filter_map(|root| certificate::parse(root))
                .any(|root| root.subject == issuer)
        };
        // The system's store is read only here, for a certificate the bundle vouched for.
        let var = |name: &str| env.get(name).filter(|v| !v.is_empty()).cloned();
        named(bundle) && !system_roots(&var).is_some_and(|system| named(&system))
    }

    /// Sends a request and reads the body with the cap. `form` makes it a urlencoded POST body.
    pub async fn send(
        &self,
        method: Method,
        url: &Url,
        authorization: Option<&str>,
        headers: &[(&str, &str)],
        form: Option<&[(&str, &str)]>,
    ) -> Result<Response, RequestError> {
        let body = form.map(|form| {
            (
                "application/x-www-form-urlencoded",
                form_urlencoded(form).into_bytes(),
            )
        });
        self.bounded(async {
            let started = self
                .start(method, url, authorization, headers, body)
                .await?;
            self.read_capped(started).await
        })
        .await
    }

    /// [`send`](Self::send), recorded in `records` ([`request_record`]).
    pub async fn send_recorded(
        &self,
        records: &mut Vec<CommandRecord>,
        method: Method,
        url: &Url,
        authorization: Option<&str>,
        form: Option<&[(&str, &str)]>,
    ) -> Result<Response, RequestError> {
        let started = std::time::Instant::now();
        let result = self
            .send(method.clone(), url, authorization, &[], form)
            .await;
        records.push(request_record(
            &method,
            url,
            result.as_ref().ok().map(Response::answer),
            started,
        ));
        result
    }

    /// Sends `body` as `content_type` (an upload) and reads the answer with the cap.
    pub async fn send_bytes(
        &self,
        method: Method,
        url: &Url,
        authorization: Option<&str>,
        content_type: &str,
        body: Vec<u8>,
    ) -> Result<Response, RequestError> {
        self.bounded(async {
            let started = self
                .start(method, url, authorization, &[], Some((content_type, body)))
                .await?;
            self.read_capped(started).await
        })
        .await
    }

    /// A blob download: a successful answer's body goes to `consume` as it arrives (to be
    /// hashed), never held (up to `limit` bytes); any other answer is read as
    /// [`send`](Self::send) reads it.
    pub async fn download(
        &self,
        url: &Url,
        authorization: Option<&str>,
        limit: u64,
        mut consume: impl FnMut(&[u8]),
    ) -> Result<Download, RequestError> {
        self.bounded(async {
            let started = self
                .start(Method::GET, url, authorization, &[], None)
                .await?;
            if !started.response.status().is_success() {
                return self.read_capped(started).await.map(Download::Answer);
            }
            let established = started.established();
            let (head, mut body) = started.response.into_parts();
            let mut length: u64 = 0;
            while let Some(frame) = body.frame().await {
                let frame = frame.map_err(|e| classify(&e, true))?;
                if let Some(chunk) = frame.data_ref() {
                    length += chunk.len() as u64;
                    if length > limit {
                        return Err(RequestError::BodyTooLarge);
                    }
                    consume(chunk);
                }
            }
            Ok(Download::Complete {
                status: head.status,
                headers: head.headers,
                length,
                timings: timings(started.began, established.as_deref(), started.first_byte),
            })
        })
        .await
    }

    /// `request` within the time bound: connecting, sending and reading the whole answer.
    async fn bounded<T>(
        &self,
        request: impl Future<Output = Result<T, RequestError>>,
    ) -> Result<T, RequestError> {
        tokio::time::timeout(self.timeout, request)
            .await
            .unwrap_or(Err(RequestError::Timeout {
                seconds: self.timeout.as_secs().max(1),
            }))
    }

    async fn start(
        &self,
        method: Method,
        url: &Url,
        authorization: Option<&str>,
        headers: &[(&str, &str)],
        body: Option<(&str, Vec<u8>)>,
    ) -> Result<Started, RequestError> {
        let began = Instant::now();
        if !matches!(url.scheme(), "http" | "https") {
            return Err(RequestError::InvalidUrl {
                url: shown(url.as_str()),
            });
        }
        let mut request = http::Request::builder()
            .method(method)
            .uri(url.as_str())
            .header(http::header::USER_AGENT, USER_AGENT)
            .header(http::header::ACCEPT, "*/*");
        if let Some(value) = authorization {
            request = request.header(http::header::AUTHORIZATION, value);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = match body {
            Some((content_type, body)) => request
                .header(http::header::CONTENT_TYPE, content_type)
                .body(Full::new(Bytes::from(body))),
            None => request.body(Full::default()),
        }
        .map_err(|e| match classify(&e, false) {
            RequestError::InvalidHeader => RequestError::InvalidHeader,
            _ => RequestError::InvalidUrl {
                url: shown(url.as_str()),
            },
        })?;
        let response = self
            .client
            .request(request)
            .await
            .map_err(|e| classify(&e, false))?;
        Ok(Started {
            began,
            first_byte: began.elapsed(),
            response,
        })
    }

    async fn read_capped(&self, started: Started) -> Result<Response, RequestError> {
        let established = started.established();
        let Started {
            began,
            first_byte,
            response,
        } = started;
        let (head, mut incoming) = response.into_parts();
        let mut body = Vec::new();
        while let Some(frame) = incoming.frame().await {
            let frame = frame.map_err(|e| classify(&e, true))?;
            if let Some(chunk) = frame.data_ref() {
                if body.len() + chunk.len() > BODY_CAP {
                    return Err(RequestError::BodyTooLarge);
                }
                body.extend_from_slice(chunk);
            }
        }
        let tls = established.as_ref().and_then(|e| e.tls.as_ref());
        Ok(Response {
            status: head.status,
            headers: head.headers,
            body,
            certificate: tls.and_then(|tls| tls.certificate.clone()),
            tls_version: tls.map(|tls| tls.version.clone()),
            alpn: tls.and_then(|tls| tls.alpn.clone()),
            version: head.version,
            timings: timings(began, established.as_deref(), first_byte),
        })
    }
}

const USER_AGENT: &str = concat!("acr-health/", env!("CARGO_PKG_VERSION"));

/// A request whose answer's head has arrived.
struct Started {
    began: Instant,
    first_byte: Duration,
    response: http::Response<Incoming>,
}

impl Started {
    /// What opening the answer's connection found.
    fn established(&self) -> Option<Arc<Established>> {
        self.response
            .extensions()
            .get::<Arc<Established>>()
            .cloned()
    }
}

/// The phases of a request that began at `began`: the connection's own, when it opened one (a
/// connection opened before it was reused, and cost it nothing).
fn timings(began: Instant, established: Option<&Established>, first_byte: Duration) -> Timings {
    let opened = established.filter(|e| e.began >= began);
    Timings {
        dns_ms: opened.and_then(|e| e.dns).map(Timings::millis),
        connect_ms: opened.map(|e| Timings::millis(e.connect)),
        tls_ms: opened
            .and_then(|e| e.tls.as_ref())
            .map(|t| Timings::millis(t.handshake)),
        first_byte_ms: Some(Timings::millis(first_byte)),
        total_ms: Timings::millis(began.elapsed()),
        reused_connection: established.is_some() && opened.is_none(),
    }
}

/// What kept a request from its answer, in the classes the report words.
fn classify(error: &(dyn std::error::Error + 'static), in_body: bool) -> RequestError {
    let chain = chain(error);
    if let Some(Failed(known)) = chain.iter().find_map(|e| e.downcast_ref::<Failed>()) {
        return known.clone();
    }
    if let Some(tls) = find_rustls(error) {
        return tls;
    }
    if let Some(known) = cause(&chain, in_body) {
        return known;
    }
    if in_body {
        return RequestError::Body(deepest(error));
    }
    RequestError::Other(deepest(error))
}

/// A URL for the report: without user information or query (either may hold a secret), and
/// printable. Works on text that does not parse as a URL too.
pub fn shown(url: &str) -> String {
    let url = url.split(['?', '#']).next().unwrap_or_default();
    let url = match url.split_once("://") {
        Some((scheme, rest)) => {
            let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
            let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
            format!("{scheme}://{host}{path}")
        }
        None => url.to_owned(),
    };
    printable(&url)
}

/// Form encoding (`application/x-www-form-urlencoded`), in the order given.
fn form_urlencoded(pairs: &[(&str, &str)]) -> String {
    let mut serializer = url_encode::Serializer::default();
    for (name, value) in pairs {
        serializer.append(name, value);
    }
    serializer.finish()
}

/// A tiny `application/x-www-form-urlencoded` writer (the WHATWG byte serializer).
mod url_encode {
    #[derive(Default)]
    pub struct Serializer(String);

    impl Serializer {
        pub fn append(&mut self, name: &str, value: &str) {
            if !self.0.is_empty() {
                self.0.push('&');
            }
            encode(&mut self.0, name);
            self.0.push('=');
            encode(&mut self.0, value);
        }

        pub fn finish(self) -> String {
            self.0
        }
    }

    fn encode(out: &mut String, text: &str) {
        for byte in text.bytes() {
            match byte {
                b'*' | b'-' | b'.' | b'_' | b'0'..=b'9' | b'A'..=b'Z' | b'a'..=b'z' => {
                    out.push(byte as char)
                }
                b' ' => out.push('+'),
                other => out.push_str(&format!("%{other:02X}")),
            }
        }
    }
}

/// The system's trusted roots from its bundle file (`SSL_CERT_FILE`, else the distribution's), as
/// OpenSSL and the platform verifier find them. Read here because the platform verifier also
/// reads every file of `/etc/ssl/certs`, the same certificates again, which costs milliseconds
/// before the first request. `None` (a directory in `SSL_CERT_DIR`, no bundle file, not Linux):
/// the platform verifier finds them itself.
fn system_roots(var: &impl Fn(&str) -> Option<String>) -> Option<Vec<CertificateDer<'static>>> {
    // openssl-probe's bundle locations, in its order.
    const BUNDLES: [&str; 6] = [
        "/etc/ssl/certs/ca-certificates.crt",
        "/etc/pki/tls/certs/ca-bundle.crt",
        "/etc/ssl/ca-bundle.pem",
        "/etc/pki/tls/cacert.pem",
        "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
        "/etc/ssl/cert.pem",
    ];
    if !cfg!(target_os = "linux") || var("SSL_CERT_DIR").is_some() {
        return None;
    }
    let path = var("SSL_CERT_FILE").or_else(|| {
        BUNDLES
            .iter()
            .find(|p| std::path::Path::new(p).is_file())
            .map(|p| p.to_string())
    })?;
    let pem = std::fs::read(path).ok()?;
    let roots = certificates(&pem).ok()?;
    (!roots.is_empty()).then_some(roots)
}

/// The certificates of a PEM bundle.
fn certificates(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, rustls::pki_types::pem::Error> {
    CertificateDer::pem_slice_iter(pem).collect()
}

/// The HTTPS proxy of this environment, without any credentials in it.
pub fn https_proxy_of(env: &HashMap<String, String>) -> Option<String> {
    https_proxy(&|name: &str| env.get(name).filter(|v| !v.is_empty()).cloned())
        .map(|proxy| without_credentials(&proxy))
}

/// Whether HTTPS requests may go through a proxy (which then resolves names itself).
pub fn proxy_configured(env: &HashMap<String, String>) -> bool {
    https_proxy(&|name: &str| env.get(name).filter(|v| !v.is_empty()).cloned()).is_some()
}

/// `HTTPS_PROXY`, then `https_proxy`, `ALL_PROXY`, `all_proxy` (curl's order).
fn https_proxy(var: &impl Fn(&str) -> Option<String>) -> Option<String> {
    ["HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"]
        .iter()
        .find_map(|name| var(name))
}

/// `http://user:secret@proxy:3128` → `http://proxy:3128`: a proxy password is a secret too.
pub fn without_credentials(url: &str) -> String {
    match Url::parse(url) {
        Ok(mut parsed) => {
            let _ = parsed.set_username("");
            let _ = parsed.set_password(None);
            parsed.to_string().trim_end_matches('/').to_owned()
        }
        Err(_) => match url.rsplit_once('@') {
            Some((_, host)) => host.to_owned(),
            None => url.to_owned(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    /// A server on loopback for one connection: it reads the request head, writes `answer` as
    /// it is and closes the connection.
    fn answering(answer: &[u8]) -> Url {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = Url::parse(&format!("http://{}/v2/", listener.local_addr().unwrap())).unwrap();
        let answer = answer.to_vec();
        std::thread::spawn(move || {
            let Ok((mut stream, _)) = listener.accept() else {
                return;
            };
            let (mut head, mut buf) = (Vec::new(), [0u8; 4096]);
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => return,
                    Ok(n) => head.extend_from_slice(&buf[..n]),
                }
            }
            let _ = stream.write_all(&answer);
        });
        url
    }

    fn transport() -> Transport {
        Transport::new(&HashMap::new(), Duration::from_secs(10), &Pins::default()).unwrap()
    }

    /// What a request to a server that answers `answer` fails with.
    async fn failure(answer: &[u8]) -> RequestError {
        let url = answering(answer);
        match transport().send(Method::GET, &url, None, &[], None).await {
            Ok(response) => panic!("no error: {response:?}"),
            Err(error) => error,
        }
    }

    #[tokio::test]
    async fn answers_that_are_not_http_are_told_apart() {
        // Before: each of these was hyper's English sentence, shown as it was in every language.
        use Protocol::*;
        let cases: [(&[u8], RequestError); 6] = [
            (b"SSH-2.0-OpenSSH_9.6\r\n", RequestError::Protocol(Version)),
            (b"HTTP/1.1 2000 OK\r\n\r\n", RequestError::Protocol(Status)),
            (
                b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer realm=\"x\0\"\r\n\r\n",
                RequestError::Protocol(Header),
            ),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: ten\r\n\r\n",
                RequestError::Protocol(Header),
            ),
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nab\r\n",
                RequestError::Protocol(Chunked),
            ),
            (
                b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
                RequestError::Protocol(Version),
            ),
        ];
        for (answer, expected) in cases {
            assert_eq!(
                failure(answer).await,
                expected,
                "{}",
                String::from_utf8_lossy(answer)
            );
        }
        let mut huge = b"HTTP/1.1 200 OK\r\nX-Pad: ".to_vec();
        huge.extend(std::iter::repeat_n(b'x', 1 << 20));
        assert_eq!(failure(&huge).await, RequestError::Protocol(HeadTooLarge));
    }

    #[tokio::test]
    async fn a_connection_closed_early_is_incomplete_or_reset() {
        // Before: "connection closed before message completed", in English.
        for answer in [
            &b""[..],
            b"HTTP/1.1 200 OK\r\nContent-",
            b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{\"a\"",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nabc",
        ] {
            assert_eq!(
                failure(answer).await,
                RequestError::Incomplete,
                "{}",
                String::from_utf8_lossy(answer)
            );
        }
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = Url::parse(&format!("http://{}/", closed.local_addr().unwrap())).unwrap();
        drop(closed);
        let refused = transport().send(Method::GET, &url, None, &[], None).await;
        assert_eq!(refused.unwrap_err(), RequestError::Refused);
    }

    #[tokio::test]
    async fn requests_that_cannot_be_made_say_why_without_secrets() {
        let url = answering(b"HTTP/1.1 204 No Content\r\n\r\n");
        let token = "Bearer secret-part\nsecond-line";
        let error = transport()
            .send(Method::GET, &url, Some(token), &[], None)
            .await
            .unwrap_err();
        assert_eq!(error, RequestError::InvalidHeader);
        let ftp = Url::parse("ftp://user:pw@files.example/x?sig=secret").unwrap();
        let error = transport()
            .send(Method::GET, &ftp, None, &[], None)
            .await
            .unwrap_err();
        assert_eq!(
            error,
            RequestError::InvalidUrl {
                url: "ftp://files.example/x".to_owned()
            }
        );
    }

    #[test]
    fn http2_codes_and_unreachable_networks_are_named() {
        let reset = h2::Error::from(h2::Reason::COMPRESSION_ERROR);
        assert_eq!(
            cause(&[&reset], false),
            Some(RequestError::Protocol(Protocol::Http2(
                "COMPRESSION_ERROR".to_owned()
            )))
        );
        let unreachable = std::io::Error::from(std::io::ErrorKind::NetworkUnreachable);
        assert_eq!(
            cause(&[&unreachable], false),
            Some(RequestError::Unreachable)
        );
        let eof = std::io::Error::from(std::io::ErrorKind::UnexpectedEof);
        assert_eq!(cause(&[&eof], false), Some(RequestError::Reset));
        assert_eq!(cause(&[&eof], true), Some(RequestError::Incomplete));
        let other = std::io::Error::other("anything");
        assert_eq!(cause(&[&other], false), None);
    }

    #[test]
    fn urls_are_shown_without_user_information_or_query() {
        assert_eq!(
            shown("https://user:pw@login.example:8443/t/x?client_secret=s#f"),
            "https://login.example:8443/t/x"
        );
        assert_eq!(shown("not a url\u{1b}[2J"), "not a url\u{fffd}[2J");
        assert_eq!(shown("http://a@b@host"), "http://host");
    }

    #[test]
    fn forms_are_encoded_like_python_requests_does() {
        assert_eq!(
            form_urlencoded(&[
                ("grant_type", "refresh_token"),
                ("scope", "registry:catalog:*"),
                ("x", "a b&c")
            ]),
            "grant_type=refresh_token&scope=registry%3Acatalog%3A*&x=a+b%26c"
        );
    }

    #[test]
    fn proxy_credentials_never_reach_the_report() {
        assert_eq!(
            without_credentials("http://user:s3cret@proxy.test:3128"),
            "http://proxy.test:3128"
        );
        assert_eq!(without_credentials("proxy.test:3128"), "proxy.test:3128");
    }

    #[test]
    fn the_registry_error_is_read_from_the_body() {
        let response = Response {
            status: StatusCode::UNAUTHORIZED,
            headers: HeaderMap::new(),
            body: br#"{"errors":[{"code":"UNAUTHORIZED","message":"invalid aad token","detail":null}]}"#.to_vec(),
            ..Default::default()
        };
        assert_eq!(
            response.registry_error().as_deref(),
            Some("UNAUTHORIZED: invalid aad token")
        );
    }

    #[test]
    fn the_registry_error_cannot_drive_the_terminal() {
        // Before: the NUL, the escape sequences and the carriage return reached stderr as sent.
        let response = Response {
            status: StatusCode::UNAUTHORIZED,
            headers: HeaderMap::new(),
            body: br#"{"errors":[{"code":"UNAUTHORIZED","message":"bad\u0000token\u001b[2J\u001b[31mred\rspoofed\nnext\u202egnp.exe"}]}"#.to_vec(),
            ..Default::default()
        };
        assert_eq!(
            response.registry_error().as_deref(),
            Some(
                "UNAUTHORIZED: bad\u{fffd}token\u{fffd}[2J\u{fffd}[31mred\u{fffd}spoofed next\u{fffd}gnp.exe"
            )
        );
        assert_eq!(printable("a\tb\u{85}c é ✓"), "a b\u{fffd}c é ✓");
    }
}
