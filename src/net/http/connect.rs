//! Opening a connection, one phase at a time so that each is timed: the name looked up (unless a
//! `--resolve` pin or a proxy decides the address), TCP (and a proxy's CONNECT tunnel), then TLS,
//! whose version, ALPN protocol and certificate are kept for the report.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use http::Uri;
use hyper_util::client::legacy::connect::{Connected, Connection};
use hyper_util::client::proxy::matcher::{Intercept, Matcher};
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use super::certificate::{self, Certificate};
use super::errors::{RequestError, cause, chain, find_rustls};
use crate::net::dns::{self, Unresolved};
use crate::net::pin::Pins;

/// How long an address has to connect before the next one is tried beside it (happy eyeballs, as
/// RFC 8305 suggests): a network that drops IPv6 silently does not cost the whole time bound.
const NEXT_ADDRESS_AFTER: Duration = Duration::from_millis(250);

/// What opening a connection found: when it began, how long each phase took, and what TLS agreed.
/// Every response over the connection carries it.
#[derive(Debug, Clone)]
pub struct Established {
    pub began: Instant,
    /// `None` when no name was looked up: a pin, or an address in the URL.
    pub dns: Option<Duration>,
    /// TCP, and through a proxy also its CONNECT tunnel.
    pub connect: Duration,
    pub tls: Option<TlsSession>,
}

#[derive(Debug, Clone)]
pub struct TlsSession {
    pub handshake: Duration,
    /// `TLS 1.3`, `TLS 1.2`.
    pub version: String,
    /// The application protocol ALPN agreed on (`h2`, `http/1.1`), if the server chose one.
    pub alpn: Option<String>,
    pub certificate: Option<Certificate>,
}

/// Where requests through a proxy go, and which hosts skip it (`NO_PROXY`).
#[derive(Clone)]
pub struct ProxyRoute {
    pub matcher: Arc<Matcher>,
    /// The proxy as the report names it: without credentials.
    pub shown: String,
}

/// The connector the HTTP client opens every connection with.
#[derive(Clone)]
pub struct Connector {
    tls: TlsConnector,
    /// For an `https://` proxy: TLS to the proxy itself, without ALPN (it speaks HTTP/1.1).
    tls_to_proxy: TlsConnector,
    proxy: Option<ProxyRoute>,
    pins: Arc<Pins>,
    timeout: Duration,
}

impl Connector {
    pub fn new(
        tls: Arc<rustls::ClientConfig>,
        proxy: Option<ProxyRoute>,
        pins: Pins,
        timeout: Duration,
    ) -> Connector {
        let mut to_proxy = (*tls).clone();
        to_proxy.alpn_protocols.clear();
        Connector {
            tls: TlsConnector::from(tls),
            tls_to_proxy: TlsConnector::from(Arc::new(to_proxy)),
            proxy,
            pins: Arc::new(pins),
            timeout,
        }
    }

    async fn open(self, uri: Uri) -> Result<Stream, Failed> {
        let began = Instant::now();
        let https = uri.scheme_str() == Some("https");
        let host = uri.host().unwrap_or_default().trim_matches(['[', ']']);
        let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
        let intercept = self.proxy.as_ref().and_then(|route| {
            let intercept = route.matcher.intercept(&uri)?;
            Some((intercept, route.shown.as_str()))
        });
        let (io, dns) = match intercept {
            None => self.direct(host, port).await?,
            Some((intercept, shown)) => self.tunnelled(&intercept, shown, host, port).await?,
        };
        let mut established = Established {
            began,
            dns,
            connect: began.elapsed().saturating_sub(dns.unwrap_or_default()),
            tls: None,
        };
        if !https {
            return Ok(Stream::new(io, established));
        }
        let name = server_name(host).map_err(|_| {
            Failed(RequestError::InvalidUrl {
                url: super::shown(&uri.to_string()),
            })
        })?;
        let handshake_began = Instant::now();
        let tls =
            self.tls.connect(name, io).await.map_err(|error| {
                Failed(find_rustls(&error).unwrap_or_else(|| tcp_error(&error)))
            })?;
        let (_, session) = tls.get_ref();
        established.tls = Some(TlsSession {
            handshake: handshake_began.elapsed(),
            version: session
                .protocol_version()
                .map(tls_version)
                .unwrap_or_default(),
            alpn: session
                .alpn_protocol()
                .map(|p| String::from_utf8_lossy(p).into_owned()),
            certificate: session
                .peer_certificates()
                .and_then(|chain| chain.first())
                .and_then(|der| certificate::parse(der)),
        });
        Ok(Stream::new(Box::new(tls), established))
    }

    /// TCP to `host:port` itself, and how long its name took to look up.
    async fn direct(
        &self,
        host: &str,
        port: u16,
    ) -> Result<(Box<dyn Io>, Option<Duration>), Failed> {
        let (addresses, dns) = self.addresses(host, port).await?;
        let tcp = connect_any(&addresses)
            .await
            .map_err(|e| Failed(tcp_error(&e)))?;
        Ok((Box::new(tcp), dns))
    }

    /// A tunnel to `host:port` through the proxy (TLS to the proxy first, for an `https://`
    /// one), and how long the proxy's name took to look up. What fails is the proxy's.
    async fn tunnelled(
        &self,
        intercept: &Intercept,
        shown: &str,
        host: &str,
        port: u16,
    ) -> Result<(Box<dyn Io>, Option<Duration>), Failed> {
        let failed = |reason: String| {
            Failed(RequestError::Proxy {
                proxy: shown.to_owned(),
                reason,
            })
        };
        let proxy = intercept.uri();
        let proxy_tls = proxy.scheme_str() == Some("https");
        let proxy_host = proxy.host().unwrap_or_default().trim_matches(['[', ']']);
        let proxy_port = proxy.port_u16().unwrap_or(if proxy_tls { 443 } else { 80 });
        let (addresses, dns) =
            self.addresses(proxy_host, proxy_port)
                .await
                .map_err(|Failed(error)| match error {
                    RequestError::Dns(reason) => failed(reason),
                    other => Failed(other),
                })?;
        let tcp = connect_any(&addresses)
            .await
            .map_err(|e| failed(e.to_string()))?;
        let mut io: Box<dyn Io> = Box::new(tcp);
        if proxy_tls {
            let name = server_name(proxy_host).map_err(|e| failed(e.to_string()))?;
            io = Box::new(
                self.tls_to_proxy
                    .connect(name, io)
                    .await
                    .map_err(|e| failed(e.to_string()))?,
            );
        }
        tunnel(&mut io, host, port, intercept.basic_auth())
            .await
            .map_err(failed)?;
        Ok((io, dns))
    }

    /// Where to connect for `host:port`, and how long looking the name up took: a pin's address,
    /// the address the URL holds, or the resolver's answers.
    async fn addresses(
        &self,
        host: &str,
        port: u16,
    ) -> Result<(Vec<SocketAddr>, Option<Duration>), Failed> {
        if let Some(pinned) = self.pins.find(host, port) {
            return Ok((vec![pinned], None));
        }
        if let Ok(ip) = host.parse::<std::net::IpAddr>() {
            return Ok((vec![SocketAddr::new(ip, port)], None));
        }
        let started = Instant::now();
        match dns::resolve(host, port, self.timeout).await {
            Ok(found) => Ok((
                found
                    .into_iter()
                    .map(|ip| SocketAddr::new(ip, port))
                    .collect(),
                Some(started.elapsed()),
            )),
            Err(Unresolved::Failed(reason)) => Err(Failed(RequestError::Dns(reason))),
            Err(Unresolved::TimedOut) => Err(Failed(RequestError::Timeout {
                seconds: self.timeout.as_secs().max(1),
            })),
        }
    }
}

impl tower_service::Service<Uri> for Connector {
    type Response = Stream;
    type Error = Failed;
    type Future = Pin<Box<dyn Future<Output = Result<Stream, Failed>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Failed>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        Box::pin(self.clone().open(uri))
    }
}

/// Why a connection could not be opened, already classified; the client hands it back as the
/// source of its own error.
#[derive(Debug, thiserror::Error)]
#[error("{0:?}")]
pub struct Failed(pub RequestError);

/// A TCP or TLS failure that is not a certificate's: what the operating system said.
fn tcp_error(error: &std::io::Error) -> RequestError {
    cause(&chain(error), false).unwrap_or_else(|| RequestError::Other(error.to_string()))
}

/// A TLS version as people write it.
fn tls_version(version: rustls::ProtocolVersion) -> String {
    match version {
        rustls::ProtocolVersion::TLSv1_3 => "TLS 1.3".to_owned(),
        rustls::ProtocolVersion::TLSv1_2 => "TLS 1.2".to_owned(),
        other => format!("{other:?}"),
    }
}

fn server_name(host: &str) -> Result<ServerName<'static>, rustls::pki_types::InvalidDnsNameError> {
    ServerName::try_from(host.to_owned())
}

/// Connects to the first address that answers; the next one starts beside a slow one after
/// [`NEXT_ADDRESS_AFTER`]. The error is the last address's.
async fn connect_any(addresses: &[SocketAddr]) -> std::io::Result<TcpStream> {
    let mut waiting = addresses.iter();
    let mut attempts = FuturesUnordered::new();
    let mut last_error = None;
    loop {
        if let Some(address) = waiting.next() {
            attempts.push(TcpStream::connect(*address));
        }
        let finished = if waiting.len() > 0 {
            match tokio::time::timeout(NEXT_ADDRESS_AFTER, attempts.next()).await {
                Ok(finished) => finished,
                Err(_) => continue,
            }
        } else {
            attempts.next().await
        };
        match finished {
            Some(Ok(stream)) => {
                // Requests are small and answered at once: no waiting to fill a segment.
                let _ = stream.set_nodelay(true);
                return Ok(stream);
            }
            Some(Err(error)) => last_error = Some(error),
            None if waiting.len() == 0 => {
                return Err(last_error.unwrap_or_else(|| {
                    std::io::Error::new(std::io::ErrorKind::NotFound, "no address")
                }));
            }
            None => {}
        }
    }
}

/// Asks the proxy for a tunnel to `host:port` (HTTP CONNECT); the error is in the proxy's or the
/// system's words.
async fn tunnel(
    io: &mut Box<dyn Io>,
    host: &str,
    port: u16,
    authorization: Option<&http::HeaderValue>,
) -> Result<(), String> {
    let authority = if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    let mut request = format!("CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n");
    if let Some(value) = authorization.and_then(|v| v.to_str().ok()) {
        request.push_str(&format!("Proxy-Authorization: {value}\r\n"));
    }
    request.push_str("\r\n");
    io.write_all(request.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    // The proxy's answer head; nothing of the tunnel follows it before we speak. A refusal is
    // told in the proxy's own words (its status line), anything else in the system's.
    let words = |kind: std::io::ErrorKind| std::io::Error::from(kind).to_string();
    let mut head = Vec::new();
    let mut buffer = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let read = io.read(&mut buffer).await.map_err(|e| e.to_string())?;
        if read == 0 {
            return Err(words(std::io::ErrorKind::UnexpectedEof));
        }
        head.extend_from_slice(&buffer[..read]);
        if let Some(end) = head.windows(2).position(|w| w == b"\r\n") {
            let status_line = String::from_utf8_lossy(&head[..end]);
            if !status_line
                .split_whitespace()
                .nth(1)
                .is_some_and(|status| status.starts_with('2'))
            {
                return Err(super::printable(&status_line));
            }
        }
        if head.len() > HEAD_CAP {
            return Err(words(std::io::ErrorKind::InvalidData));
        }
    }
    Ok(())
}

/// The most of a proxy's answer head that is read.
const HEAD_CAP: usize = 16 * 1024;

/// What a connection is read and written through: TCP, TLS over it, or TLS in a tunnel.
pub trait Io: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Io for T {}

/// An open connection, with what opening it found.
pub struct Stream {
    io: TokioIo<Box<dyn Io>>,
    established: Arc<Established>,
}

impl Stream {
    fn new(io: Box<dyn Io>, established: Established) -> Stream {
        Stream {
            io: TokioIo::new(io),
            established: Arc::new(established),
        }
    }
}

impl Connection for Stream {
    fn connected(&self) -> Connected {
        let connected = Connected::new().extra(self.established.clone());
        let h2 = self
            .established
            .tls
            .as_ref()
            .is_some_and(|tls| tls.alpn.as_deref() == Some("h2"));
        if h2 {
            connected.negotiated_h2()
        } else {
            connected
        }
    }
}

impl hyper::rt::Read for Stream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl hyper::rt::Write for Stream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    /// An address where nothing listens.
    async fn refused() -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        listener.local_addr().unwrap()
    }

    #[tokio::test]
    async fn the_next_address_is_tried_when_one_refuses() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let open = listener.local_addr().unwrap();
        let closed = refused().await;
        let stream = connect_any(&[closed, open]).await.unwrap();
        assert_eq!(stream.peer_addr().unwrap(), open);
        let error = connect_any(&[closed]).await.unwrap_err();
        assert_eq!(error.kind(), std::io::ErrorKind::ConnectionRefused);
    }

    /// A proxy on loopback that reads the CONNECT request, answers `answer` and hands back what
    /// it was asked.
    async fn proxy_answering(
        answer: &'static [u8],
    ) -> (Box<dyn Io>, tokio::task::JoinHandle<String>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let asked = tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut head = Vec::new();
            let mut buffer = [0u8; 1024];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                let read = stream.read(&mut buffer).await.unwrap();
                head.extend_from_slice(&buffer[..read]);
            }
            stream.write_all(answer).await.unwrap();
            String::from_utf8(head).unwrap()
        });
        let io: Box<dyn Io> = Box::new(TcpStream::connect(address).await.unwrap());
        (io, asked)
    }

    #[tokio::test]
    async fn a_tunnel_is_asked_for_with_the_proxys_credentials() {
        let (mut io, asked) = proxy_answering(b"HTTP/1.1 200 Connection established\r\n\r\n").await;
        let authorization = http::HeaderValue::from_static("Basic dXNlcjpwdw==");
        tunnel(&mut io, "registry.example", 443, Some(&authorization))
            .await
            .unwrap();
        assert_eq!(
            asked.await.unwrap(),
            "CONNECT registry.example:443 HTTP/1.1\r\nHost: registry.example:443\r\n\
             Proxy-Authorization: Basic dXNlcjpwdw==\r\n\r\n"
        );
    }

    #[tokio::test]
    async fn a_refused_tunnel_is_told_in_the_proxys_words() {
        let (mut io, _) =
            proxy_answering(b"HTTP/1.1 407 Proxy Authentication Required\r\n\r\n").await;
        assert_eq!(
            tunnel(&mut io, "::1", 443, None).await.unwrap_err(),
            "HTTP/1.1 407 Proxy Authentication Required"
        );
        let (mut io, _) = proxy_answering(b"").await;
        let closed = tunnel(&mut io, "registry.example", 443, None).await;
        assert_eq!(
            closed.unwrap_err(),
            std::io::Error::from(std::io::ErrorKind::UnexpectedEof).to_string()
        );
    }
}
