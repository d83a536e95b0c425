//! HTTPS to the registry and the identity endpoints: trust as Python requests sets it up, proxies
//! from the environment, a time bound on every request, bodies read with a cap, no redirects
//! followed, and failures told apart.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use reqwest::header::HeaderMap;
use reqwest::{Client, Method, StatusCode, Url};

use super::oci::{Algorithm, Digest, Hasher};

/// Bodies beyond this are a finding, not memory growth.
pub const BODY_CAP: usize = 1 << 20;

/// Where the trusted certificate authorities come from; the report says which.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trust {
    /// The system's store (honours `SSL_CERT_FILE` and `SSL_CERT_DIR` on Linux).
    System,
    /// `REQUESTS_CA_BUNDLE` or `CURL_CA_BUNDLE`, replacing the system's store as requests does.
    Bundle {
        variable: &'static str,
        path: String,
    },
    /// `AZURE_CLI_DISABLE_CONNECTION_VERIFICATION`: nothing is verified.
    Disabled,
}

#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error("{variable} names {path}, which cannot be used: {reason}")]
    Bundle {
        variable: &'static str,
        path: String,
        reason: String,
    },
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
}

/// Why a request got no response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestError {
    Timeout { seconds: u64 },
    Dns(String),
    Tls { kind: TlsKind, detail: String },
    Refused,
    Reset,
    Proxy { proxy: String, reason: String },
    BodyTooLarge,
    Other(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsKind {
    UnknownIssuer,
    Expired,
    WrongName,
    Other,
}

/// What a blob download gave: the digest of a successful answer's body, or another answer.
#[derive(Debug)]
pub enum Download {
    Complete {
        status: StatusCode,
        headers: HeaderMap,
        digest: Digest,
        length: u64,
    },
    Answer(Response),
}

/// A response with its body read (up to [`BODY_CAP`]).
#[derive(Debug, Clone)]
pub struct Response {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
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
/// other control characters (NUL, ESC sequences that clear or recolour the screen, a carriage
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
    client: Client,
    pub trust: Trust,
    /// The proxy for HTTPS requests, without any credentials in it.
    pub proxy: Option<String>,
    pub timeout: Duration,
}

impl Transport {
    /// Builds the client from the environment. `pinned` are `--resolve` entries.
    pub fn new(
        env: &HashMap<String, String>,
        timeout: Duration,
        pinned: &[(String, SocketAddr)],
    ) -> Result<Transport, TransportError> {
        let var = |name: &str| env.get(name).filter(|v| !v.is_empty()).cloned();
        let mut builder = Client::builder()
            .user_agent(concat!("acr-health/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(timeout)
            .timeout(timeout)
            // Credentials must never follow a redirect somewhere else.
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy();
        let proxy = https_proxy(&var);
        if let Some(url) = &proxy {
            let mut proxy =
                reqwest::Proxy::https(url).map_err(|e| TransportError::Client(e.to_string()))?;
            if let Some(no_proxy) = var("NO_PROXY").or_else(|| var("no_proxy")) {
                proxy = proxy.no_proxy(reqwest::NoProxy::from_string(&no_proxy));
            }
            builder = builder.proxy(proxy);
        }
        for (host, address) in pinned {
            builder = builder.resolve(host, *address);
        }
        let trust = if var("AZURE_CLI_DISABLE_CONNECTION_VERIFICATION").is_some() {
            builder = builder.tls_danger_accept_invalid_certs(true);
            Trust::Disabled
        } else if let Some((variable, path)) = [("REQUESTS_CA_BUNDLE"), ("CURL_CA_BUNDLE")]
            .into_iter()
            .find_map(|name| var(name).map(|path| (name, path)))
        {
            let fail = |reason: String| TransportError::Bundle {
                variable,
                path: path.clone(),
                reason,
            };
            let pem = std::fs::read(&path).map_err(|e| fail(e.to_string()))?;
            let certificates =
                reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| fail(e.to_string()))?;
            if certificates.is_empty() {
                return Err(fail("no certificate in it".to_owned()));
            }
            builder = builder.tls_certs_only(certificates);
            Trust::Bundle { variable, path }
        } else {
            if let Some(roots) = system_roots(&var) {
                builder = builder.tls_certs_only(roots);
            }
            Trust::System
        };
        let client = builder
            .build()
            .map_err(|e| TransportError::Client(e.to_string()))?;
        Ok(Transport {
            client,
            trust,
            proxy: proxy.map(|p| without_credentials(&p)),
            timeout,
        })
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
        let response = self
            .start(method, url, authorization, headers, body)
            .await?;
        self.read_capped(response).await
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
        let response = self
            .start(method, url, authorization, &[], Some((content_type, body)))
            .await?;
        self.read_capped(response).await
    }

    /// A blob download: a successful answer's body is hashed as it arrives, never held (up to
    /// `limit` bytes); any other answer is read as [`send`](Self::send) reads it.
    pub async fn download(
        &self,
        url: &Url,
        authorization: Option<&str>,
        algorithm: Algorithm,
        limit: u64,
    ) -> Result<Download, RequestError> {
        let mut response = self
            .start(Method::GET, url, authorization, &[], None)
            .await?;
        if !response.status().is_success() {
            return self.read_capped(response).await.map(Download::Answer);
        }
        let status = response.status();
        let headers = response.headers().clone();
        let mut hasher = Hasher::new(algorithm);
        let mut length: u64 = 0;
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    length += chunk.len() as u64;
                    if length > limit {
                        return Err(RequestError::BodyTooLarge);
                    }
                    hasher.update(&chunk);
                }
                Ok(None) => break,
                Err(e) => return Err(self.classify(&e)),
            }
        }
        Ok(Download::Complete {
            status,
            headers,
            digest: hasher.finish(),
            length,
        })
    }

    async fn start(
        &self,
        method: Method,
        url: &Url,
        authorization: Option<&str>,
        headers: &[(&str, &str)],
        body: Option<(&str, Vec<u8>)>,
    ) -> Result<reqwest::Response, RequestError> {
        let mut request = self.client.request(method, url.clone());
        if let Some(value) = authorization {
            request = request.header(reqwest::header::AUTHORIZATION, value);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some((content_type, body)) = body {
            request = request
                .header(reqwest::header::CONTENT_TYPE, content_type)
                .body(body);
        }
        request.send().await.map_err(|e| self.classify(&e))
    }

    async fn read_capped(&self, mut response: reqwest::Response) -> Result<Response, RequestError> {
        let status = response.status();
        let headers = response.headers().clone();
        let mut body = Vec::new();
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    if body.len() + chunk.len() > BODY_CAP {
                        return Err(RequestError::BodyTooLarge);
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(e) => return Err(self.classify(&e)),
            }
        }
        Ok(Response {
            status,
            headers,
            body,
        })
    }

    fn classify(&self, error: &reqwest::Error) -> RequestError {
        if error.is_timeout() || chain_mentions(error, "deadline has elapsed") {
            return RequestError::Timeout {
                seconds: self.timeout.as_secs().max(1),
            };
        }
        if let Some(tls) = find_rustls(error) {
            return tls;
        }
        let through_proxy = chain_mentions(error, "tunnel") || chain_mentions(error, "proxy");
        if let Some(proxy) = self.proxy.as_ref().filter(|_| through_proxy) {
            return RequestError::Proxy {
                proxy: proxy.clone(),
                reason: deepest(error),
            };
        }
        if error.is_connect() && chain_mentions(error, "dns error") {
            return RequestError::Dns(deepest(error));
        }
        match io_kind(error) {
            Some(std::io::ErrorKind::ConnectionRefused) => RequestError::Refused,
            Some(std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::ConnectionAborted) => {
                RequestError::Reset
            }
            Some(std::io::ErrorKind::UnexpectedEof) => RequestError::Reset,
            _ => RequestError::Other(deepest(error)),
        }
    }
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
fn system_roots(var: &impl Fn(&str) -> Option<String>) -> Option<Vec<reqwest::Certificate>> {
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
    let roots = reqwest::Certificate::from_pem_bundle(&pem).ok()?;
    (!roots.is_empty()).then_some(roots)
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

/// Every error in the chain, including those an `io::Error` wraps without exposing them as its
/// source (rustls's errors hide there).
fn chain<'e>(
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

fn chain_mentions(error: &reqwest::Error, needle: &str) -> bool {
    chain(error).iter().any(|e| e.to_string().contains(needle))
}

fn deepest(error: &reqwest::Error) -> String {
    chain(error)
        .last()
        .map(|e| e.to_string())
        .unwrap_or_default()
}

fn io_kind(error: &reqwest::Error) -> Option<std::io::ErrorKind> {
    chain(error)
        .iter()
        .rev()
        .find_map(|e| e.downcast_ref::<std::io::Error>().map(std::io::Error::kind))
}

fn find_rustls(error: &reqwest::Error) -> Option<RequestError> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
