//! The in-process server every fake is built on: axum behind tokio-rustls (or plain TCP), served by
//! hyper-util's auto (HTTP/1.1 + h2) connection builder, on its own tokio runtime and thread. The
//! constructors are synchronous and the servers keep answering while a test blocks (e.g. in
//! `assert_cmd`), from `#[test]` and `#[tokio::test]` alike. Every request is recorded before it
//! is answered.

use std::convert::Infallible;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Extension;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::response::Response;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite};

use super::pki::{Leaf, TestCa};

/// Requests larger than this are cut (the fakes never need more).
const MAX_RECORDED_BODY: usize = 4 << 20;

// ---------------------------------------------------------------------------------------------
// What is recorded

/// One request as a fake received it.
#[derive(Clone, Debug)]
pub struct RecordedRequest {
    /// Order of arrival at this server, from 0.
    pub seq: usize,
    /// The TCP connection it came on (1 = the server's first connection).
    pub conn: u64,
    pub peer: SocketAddr,
    /// Whether the connection was TLS.
    pub tls: bool,
    /// The TLS SNI the client sent (`None` for plain HTTP, or for an IP address: rustls clients
    /// send no SNI for IPs).
    pub sni: Option<String>,
    /// `HTTP/1.1` or `HTTP/2.0`.
    pub version: String,
    pub method: String,
    pub path: String,
    /// The raw query string, without `?`.
    pub query: Option<String>,
    /// The `Host` header, or the h2 `:authority`.
    pub authority: Option<String>,
    /// Every header in arrival order; names lower-case, values lossy UTF-8.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The decoded form fields, in order, when `Content-Type` is
    /// `application/x-www-form-urlencoded` (otherwise empty).
    pub form: Vec<(String, String)>,
}

impl RecordedRequest {
    /// The first value of a header (name case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every value of a header.
    pub fn header_all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The first value of a form field.
    pub fn form_field(&self, name: &str) -> Option<&str> {
        self.form
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of a (repeatable) form field, e.g. `scope`.
    pub fn form_fields(&self, name: &str) -> Vec<&str> {
        self.form
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The form field names in the order they were sent.
    pub fn form_names(&self) -> Vec<&str> {
        self.form.iter().map(|(k, _)| k.as_str()).collect()
    }

    /// The decoded query parameters.
    pub fn query_pairs(&self) -> Vec<(String, String)> {
        match &self.query {
            Some(q) => form_urlencoded::parse(q.as_bytes()).into_owned().collect(),
            None => Vec::new(),
        }
    }

    /// The first value of a query parameter.
    pub fn query_param(&self, name: &str) -> Option<String> {
        self.query_pairs()
            .into_iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }

    /// Every value of a query parameter.
    pub fn query_params(&self, name: &str) -> Vec<String> {
        self.query_pairs()
            .into_iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v)
            .collect()
    }

    /// `path?query`.
    pub fn target(&self) -> String {
        match &self.query {
            Some(q) => format!("{}?{q}", self.path),
            None => self.path.clone(),
        }
    }

    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The `Authorization` header.
    pub fn authorization(&self) -> Option<&str> {
        self.header("authorization")
    }

    /// Whether `needle` appears anywhere in the request: the target (raw and decoded), a header
    /// value, the body (raw and form-decoded). Use it to prove a secret never went somewhere.
    pub fn mentions(&self, needle: &str) -> bool {
        if needle.is_empty() {
            return false;
        }
        self.target().contains(needle)
            || self
                .query_pairs()
                .iter()
                .any(|(k, v)| k.contains(needle) || v.contains(needle))
            || self.headers.iter().any(|(_, v)| v.contains(needle))
            || self.body_text().contains(needle)
            || self
                .form
                .iter()
                .any(|(k, v)| k.contains(needle) || v.contains(needle))
    }
}

/// What a server saw: its requests, connections and failed TLS handshakes.
#[derive(Default)]
pub struct Log {
    requests: Mutex<Vec<RecordedRequest>>,
    connections: AtomicU64,
    tls_failures: AtomicU64,
    seq: AtomicUsize,
}

impl Log {
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.requests.lock().unwrap().clone()
    }

    fn push(&self, request: RecordedRequest) {
        self.requests.lock().unwrap().push(request);
    }

    pub fn clear(&self) {
        self.requests.lock().unwrap().clear();
    }

    /// TCP connections accepted so far (before any TLS handshake).
    pub fn connections(&self) -> u64 {
        self.connections.load(Ordering::SeqCst)
    }

    /// TLS handshakes that failed (e.g. the client rejected the certificate).
    pub fn tls_failures(&self) -> u64 {
        self.tls_failures.load(Ordering::SeqCst)
    }
}

/// Methods every fake server offers over its [`Log`].
macro_rules! recording_methods {
    () => {
        /// Every request received so far, in order.
        pub fn requests(&self) -> Vec<RecordedRequest> {
            self.server.log.requests()
        }

        /// The requests whose path is exactly `path`.
        pub fn requests_to(&self, path: &str) -> Vec<RecordedRequest> {
            self.requests()
                .into_iter()
                .filter(|r| r.path == path)
                .collect()
        }

        /// Forgets the recorded requests.
        pub fn clear_requests(&self) {
            self.server.log.clear()
        }

        /// Whether any request mentions `needle` (see [`RecordedRequest::mentions`]).
        pub fn saw(&self, needle: &str) -> bool {
            self.requests().iter().any(|r| r.mentions(needle))
        }

        /// TCP connections accepted so far.
        pub fn connections(&self) -> u64 {
            self.server.log.connections()
        }

        /// Failed TLS handshakes so far.
        pub fn tls_failures(&self) -> u64 {
            self.server.log.tls_failures()
        }

        /// The socket address the server listens on.
        pub fn addr(&self) -> std::net::SocketAddr {
            self.server.addr
        }

        pub fn port(&self) -> u16 {
            self.server.addr.port()
        }

        /// `host[:port]` as a client addresses it (the port is left out when it is the
        /// scheme's default); the host is the configured name, else `localhost` for 127.0.0.1,
        /// else the IP.
        pub fn authority(&self) -> String {
            self.server.authority()
        }

        /// `https://<authority>` (or `http://`).
        pub fn base_url(&self) -> String {
            self.server.base_url()
        }

        /// `base_url()` + `path`.
        pub fn url(&self, path: &str) -> String {
            format!("{}{}", self.server.base_url(), path)
        }

        pub fn is_tls(&self) -> bool {
            self.server.tls
        }
    };
}
pub(crate) use recording_methods;

// ---------------------------------------------------------------------------------------------
// How a server is reached

/// Where and how a fake listens. Start from [`Serve::tls`], [`Serve::leaf`] or [`Serve::plain`].
pub struct Serve<'a> {
    bind: SocketAddr,
    host: Option<String>,
    tls: TlsChoice<'a>,
}

enum TlsChoice<'a> {
    Plain,
    Ca(&'a TestCa),
    Leaf(Leaf),
}

impl<'a> Serve<'a> {
    /// HTTPS with a leaf from `ca` for the host name (if set), `localhost`, `127.0.0.1`, `::1`
    /// and the bind IP. Binds `127.0.0.1:0`.
    pub fn tls(ca: &'a TestCa) -> Serve<'a> {
        Serve {
            bind: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
            host: None,
            tls: TlsChoice::Ca(ca),
        }
    }

    /// HTTPS presenting exactly this certificate (expired, wrong name, self-signed...).
    pub fn leaf(leaf: Leaf) -> Serve<'static> {
        Serve {
            bind: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
            host: None,
            tls: TlsChoice::Leaf(leaf),
        }
    }

    /// Plain HTTP.
    pub fn plain() -> Serve<'static> {
        Serve {
            bind: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
            host: None,
            tls: TlsChoice::Plain,
        }
    }

    /// Listen here instead of `127.0.0.1:0` (e.g. `free_loopback_443()`).
    pub fn bind(mut self, addr: SocketAddr) -> Self {
        self.bind = addr;
        self
    }

    /// The host name URLs are built with (and the default leaf covers), e.g.
    /// `contoso.azurecr.io`. Resolving it to the bind address is the test's business.
    pub fn host(mut self, name: &str) -> Self {
        self.host = Some(name.to_owned());
        self
    }
}

// ---------------------------------------------------------------------------------------------
// The server

/// What a fake answers.
pub enum Outcome {
    Now(Response),
    After(Duration, Response),
    /// Read the request, never answer.
    Never,
    /// Answer when this future is done (e.g. a forwarded request).
    Later(std::pin::Pin<Box<dyn std::future::Future<Output = Response> + Send>>),
}

pub trait Responder: Send + Sync + 'static {
    fn respond(&self, request: &RecordedRequest) -> Outcome;
}

/// A running server; stops (runtime shut down, every connection dropped) on drop.
pub struct Server {
    runtime: Option<tokio::runtime::Runtime>,
    pub addr: SocketAddr,
    pub host: String,
    pub tls: bool,
    pub log: Arc<Log>,
}

#[derive(Clone)]
struct ConnInfo {
    conn: u64,
    peer: SocketAddr,
    tls: bool,
    sni: Option<String>,
}

#[derive(Clone)]
struct AppState {
    log: Arc<Log>,
    responder: Arc<dyn Responder>,
}

impl Server {
    pub fn start(serve: Serve<'_>, responder: Arc<dyn Responder>) -> Server {
        let listener = std::net::TcpListener::bind(serve.bind)
            .unwrap_or_else(|e| panic!("test server: cannot bind {}: {e}", serve.bind));
        listener.set_nonblocking(true).expect("nonblocking");
        let addr = listener.local_addr().expect("local addr");
        let host = match &serve.host {
            Some(h) => h.clone(),
            None if addr.ip() == IpAddr::V4(Ipv4Addr::LOCALHOST) => "localhost".to_owned(),
            None => addr.ip().to_string(),
        };
        let leaf = match serve.tls {
            TlsChoice::Plain => None,
            TlsChoice::Leaf(leaf) => Some(leaf),
            TlsChoice::Ca(ca) => {
                let mut names: Vec<String> = Vec::new();
                for n in [
                    serve.host.clone(),
                    Some("localhost".into()),
                    Some("127.0.0.1".into()),
                    Some("::1".into()),
                    Some(addr.ip().to_string()),
                ]
                .into_iter()
                .flatten()
                {
                    if !names.contains(&n) {
                        names.push(n);
                    }
                }
                let names: Vec<&str> = names.iter().map(String::as_str).collect();
                Some(ca.leaf(&names))
            }
        };
        let tls = leaf.is_some();
        let acceptor = leaf.map(|l| tokio_rustls::TlsAcceptor::from(l.server_config()));
        let log = Arc::new(Log::default());
        let state = AppState {
            log: log.clone(),
            responder,
        };
        let router = axum::Router::new().fallback(handle).with_state(state);

        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("test-server")
            .enable_all()
            .build()
            .expect("test server runtime");
        runtime.spawn(accept_loop(listener, acceptor, router, log.clone()));
        Server {
            runtime: Some(runtime),
            addr,
            host,
            tls,
            log,
        }
    }

    pub fn authority(&self) -> String {
        let default_port = if self.tls { 443 } else { 80 };
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        if self.addr.port() == default_port {
            host
        } else {
            format!("{host}:{}", self.addr.port())
        }
    }

    pub fn base_url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.authority())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

async fn accept_loop(
    listener: std::net::TcpListener,
    acceptor: Option<tokio_rustls::TlsAcceptor>,
    router: axum::Router,
    log: Arc<Log>,
) {
    let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
    loop {
        let (tcp, peer) = match listener.accept().await {
            Ok(pair) => pair,
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let conn = log.connections.fetch_add(1, Ordering::SeqCst) + 1;
        let _ = tcp.set_nodelay(true);
        let acceptor = acceptor.clone();
        let router = router.clone();
        let log = log.clone();
        tokio::spawn(async move {
            match acceptor {
                Some(acceptor) => match acceptor.accept(tcp).await {
                    Ok(stream) => {
                        let sni = stream.get_ref().1.server_name().map(str::to_owned);
                        let info = ConnInfo {
                            conn,
                            peer,
                            tls: true,
                            sni,
                        };
                        serve_connection(stream, router, info).await;
                    }
                    Err(_) => {
                        log.tls_failures.fetch_add(1, Ordering::SeqCst);
                    }
                },
                None => {
                    let info = ConnInfo {
                        conn,
                        peer,
                        tls: false,
                        sni: None,
                    };
                    serve_connection(tcp, router, info).await;
                }
            }
        });
    }
}

async fn serve_connection<I>(io: I, router: axum::Router, info: ConnInfo)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = TowerToHyperService::new(router.layer(Extension(info)));
    let _ = auto::Builder::new(TokioExecutor::new())
        .serve_connection(TokioIo::new(io), service)
        .await;
}

async fn handle(
    State(state): State<AppState>,
    Extension(info): Extension<ConnInfo>,
    request: Request,
) -> Response {
    let (parts, body) = request.into_parts();
    let body = axum::body::to_bytes(body, MAX_RECORDED_BODY)
        .await
        .map(|b| b.to_vec())
        .unwrap_or_default();
    let headers: Vec<(String, String)> = parts
        .headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let is_form = parts
        .headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        });
    let form = if is_form {
        form_urlencoded::parse(&body).into_owned().collect()
    } else {
        Vec::new()
    };
    let authority = parts
        .headers
        .get("host")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| parts.uri.authority().map(|a| a.to_string()));
    let recorded = RecordedRequest {
        seq: state.log.seq.fetch_add(1, Ordering::SeqCst),
        conn: info.conn,
        peer: info.peer,
        tls: info.tls,
        sni: info.sni,
        version: format!("{:?}", parts.version),
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().map(str::to_owned),
        authority,
        headers,
        body,
        form,
    };
    state.log.push(recorded.clone());
    match state.responder.respond(&recorded) {
        Outcome::Now(response) => response,
        Outcome::After(delay, response) => {
            tokio::time::sleep(delay).await;
            response
        }
        Outcome::Never => std::future::pending().await,
        Outcome::Later(future) => future.await,
    }
}

// ---------------------------------------------------------------------------------------------
// Response helpers shared by the fakes

/// What a canned response body is.
#[derive(Clone, Debug)]
pub enum BodySpec {
    Bytes(Vec<u8>),
    /// An endless chunked body (starts like an ACR error document, then `x` forever).
    Endless,
    /// `Content-Length: n`, then `n` bytes of `x`, as fast as the client reads.
    Huge(u64),
    /// One byte every interval, forever (a whole-request timeout must fire).
    Trickle(Duration),
}

static CHUNK: [u8; 64 * 1024] = [b'x'; 64 * 1024];

pub fn build_response(status: u16, headers: &[(String, String)], body: &BodySpec) -> Response {
    let stream_body = match body {
        BodySpec::Bytes(b) => Body::from(b.clone()),
        BodySpec::Endless => {
            let head = futures_util::stream::once(std::future::ready(Ok::<_, Infallible>(
                Bytes::from_static(br#"{"errors":[{"code":"UNAUTHORIZED","message":""#),
            )));
            let tail = futures_util::stream::repeat_with(|| {
                Ok::<_, Infallible>(Bytes::from_static(&CHUNK))
            });
            Body::from_stream(futures_util::StreamExt::chain(head, tail))
        }
        BodySpec::Huge(len) => {
            let stream = futures_util::stream::unfold(*len, |left| async move {
                if left == 0 {
                    return None;
                }
                let n = left.min(CHUNK.len() as u64);
                Some((
                    Ok::<_, Infallible>(Bytes::from_static(&CHUNK[..n as usize])),
                    left - n,
                ))
            });
            Body::from_stream(stream)
        }
        BodySpec::Trickle(interval) => {
            let interval = *interval;
            let stream = futures_util::stream::unfold((), move |()| async move {
                tokio::time::sleep(interval).await;
                Some((Ok::<_, Infallible>(Bytes::from_static(b"x")), ()))
            });
            Body::from_stream(stream)
        }
    };
    let mut response = Response::new(stream_body);
    *response.status_mut() = StatusCode::from_u16(status).expect("valid status code");
    for (k, v) in headers {
        response.headers_mut().append(
            HeaderName::from_bytes(k.as_bytes()).expect("header name"),
            HeaderValue::from_str(v).expect("header value"),
        );
    }
    if let BodySpec::Huge(len) = body {
        response
            .headers_mut()
            .insert("content-length", HeaderValue::from(*len));
    }
    response
}

/// A JSON response.
pub fn json_response(status: u16, value: &serde_json::Value) -> Response {
    build_response(
        status,
        &[(
            "content-type".into(),
            "application/json; charset=utf-8".into(),
        )],
        &BodySpec::Bytes(serde_json::to_vec(value).expect("json")),
    )
}

/// An ACR/OCI error document: `{"errors":[{"code","message","detail":null}]}`.
pub fn acr_errors(code: &str, message: &str) -> serde_json::Value {
    serde_json::json!({"errors": [{"code": code, "message": message, "detail": null}]})
}
