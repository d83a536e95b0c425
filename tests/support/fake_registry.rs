//! A fake registry whose answers are set per test: any status, headers and body on `/v2/` (or any
//! path), hangs, endless bodies, redirects; and ACR's token endpoints on the same host.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;

use super::acr::AcrTokens;
use super::http::{
    BodySpec, Outcome, RecordedRequest, Responder, Serve, Server, acr_errors, build_response,
    recording_methods,
};
use super::pki::TestCa;

const API_VERSION: (&str, &str) = ("docker-distribution-api-version", "registry/2.0");
const JSON: (&str, &str) = ("content-type", "application/json; charset=utf-8");

/// The message ACR's firewall sends with `DENIED`.
pub const ACR_FIREWALL_MESSAGE: &str = "client with IP '127.0.0.1' is not allowed access. Refer https://aka.ms/acr/firewall to grant access.";

/// One answer of the fake registry.
#[derive(Clone, Debug)]
pub enum Reply {
    Canned {
        status: u16,
        headers: Vec<(String, String)>,
        body: BodySpec,
    },
    /// ACR's own challenge for the host the client asked for:
    /// `401`, `Www-Authenticate: Bearer realm="https://<Host>/oauth2/token",service="<Host>"`.
    AcrChallengeToSelf,
    /// The ACR token service of this registry (`FakeRegistry::tokens`).
    Tokens,
    /// Read the request, never answer (the connection stays open).
    Hang,
    /// Answer after a delay.
    Delayed(Duration, Box<Reply>),
    /// Pass the request on to `base` (`https://localhost:P`, e.g. a `RealRegistry`): same method,
    /// path, query, headers (but `Host`) and body; its answer comes back as it is. A front that
    /// puts ACR's token endpoints and a real registry on one origin. See [`Reply::forward`].
    Forward {
        base: String,
        client: reqwest::Client,
    },
}

impl Reply {
    /// This status, no body, no headers.
    pub fn status(status: u16) -> Reply {
        Reply::Canned {
            status,
            headers: Vec::new(),
            body: BodySpec::Bytes(Vec::new()),
        }
    }

    /// This status with a JSON body.
    pub fn json(status: u16, value: serde_json::Value) -> Reply {
        Reply::status(status)
            .header(JSON.0, JSON.1)
            .body(value.to_string())
    }

    /// `200 {}` with `Docker-Distribution-Api-Version`: a registry without auth (no challenge).
    pub fn ok_without_challenge() -> Reply {
        Reply::json(200, json!({})).header(API_VERSION.0, API_VERSION.1)
    }

    /// `401` with this `WWW-Authenticate` value and ACR's `UNAUTHORIZED` body. Add more
    /// challenges with `.header("www-authenticate", …)`.
    pub fn challenge(www_authenticate: &str) -> Reply {
        Reply::json(
            401,
            acr_errors(
                "UNAUTHORIZED",
                "authentication required, visit https://aka.ms/acr/authorization for more information.",
            ),
        )
        .header(API_VERSION.0, API_VERSION.1)
        .header("www-authenticate", www_authenticate)
    }

    /// `401 Bearer realm="<realm>",service="<service>"` (ACR's shape).
    pub fn acr_challenge(realm: &str, service: &str) -> Reply {
        Reply::challenge(&format!(r#"Bearer realm="{realm}",service="{service}""#))
    }

    /// `401 Basic realm="<realm>"` (a registry without AAD: distribution's htpasswd shape).
    pub fn basic_challenge(realm: &str) -> Reply {
        Reply::challenge(&format!(r#"Basic realm="{realm}""#))
    }

    /// `401` with the ACR body and no `WWW-Authenticate`.
    pub fn unauthorized_without_challenge() -> Reply {
        Reply::json(401, acr_errors("UNAUTHORIZED", "authentication required"))
            .header(API_VERSION.0, API_VERSION.1)
    }

    /// `403` with an ACR `DENIED` body carrying `message`.
    pub fn denied(message: &str) -> Reply {
        Reply::json(403, acr_errors("DENIED", message)).header(API_VERSION.0, API_VERSION.1)
    }

    /// `403` as ACR's firewall sends it ([`ACR_FIREWALL_MESSAGE`]), byte for byte: its quotes
    /// JSON-escaped as `\u0027`.
    pub fn firewall_denied() -> Reply {
        Reply::firewall_denied_for("127.0.0.1")
    }

    /// [`Reply::firewall_denied`] for a client seen as `ip`.
    pub fn firewall_denied_for(ip: &str) -> Reply {
        let message = ACR_FIREWALL_MESSAGE
            .replace("127.0.0.1", ip)
            .replace('\'', "\\u0027");
        Reply::status(403)
            .header(JSON.0, JSON.1)
            .header(API_VERSION.0, API_VERSION.1)
            .body(format!(
                r#"{{"errors":[{{"code":"DENIED","message":"{message}"}}]}}"#
            ))
    }

    /// `429` `TOOMANYREQUESTS` with `Retry-After: <seconds>`.
    pub fn too_many_requests(retry_after_seconds: u64) -> Reply {
        Reply::json(429, acr_errors("TOOMANYREQUESTS", "too many requests"))
            .header("retry-after", &retry_after_seconds.to_string())
    }

    /// A redirect (`301`, `302`, `307`, `308`) to `location`.
    pub fn redirect(status: u16, location: &str) -> Reply {
        Reply::status(status).header("location", location)
    }

    /// Never answer.
    pub fn hang() -> Reply {
        Reply::Hang
    }

    /// `401` (Bearer challenge to nowhere) with a body that never ends.
    pub fn endless_body() -> Reply {
        Reply::Canned {
            status: 401,
            headers: vec![
                (JSON.0.into(), JSON.1.into()),
                (
                    "www-authenticate".into(),
                    r#"Bearer realm="https://localhost/oauth2/token",service="localhost""#.into(),
                ),
            ],
            body: BodySpec::Endless,
        }
    }

    /// `401` with `Content-Length: <len>` and that many bytes.
    pub fn huge_body(len: u64) -> Reply {
        Reply::Canned {
            status: 401,
            headers: vec![(JSON.0.into(), JSON.1.into())],
            body: BodySpec::Huge(len),
        }
    }

    /// `401` whose body arrives one byte per `interval`, forever.
    pub fn trickle(interval: Duration) -> Reply {
        Reply::Canned {
            status: 401,
            headers: vec![(JSON.0.into(), JSON.1.into())],
            body: BodySpec::Trickle(interval),
        }
    }

    /// Adds a header (repeatable: each call adds one more line). Panics on non-canned replies.
    pub fn header(self, name: &str, value: &str) -> Reply {
        match self {
            Reply::Canned {
                status,
                mut headers,
                body,
            } => {
                headers.push((name.to_ascii_lowercase(), value.to_owned()));
                Reply::Canned {
                    status,
                    headers,
                    body,
                }
            }
            other => panic!("Reply::header on a non-canned reply: {other:?}"),
        }
    }

    /// Removes every value of a header.
    pub fn without_header(self, name: &str) -> Reply {
        match self {
            Reply::Canned {
                status,
                mut headers,
                body,
            } => {
                headers.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
                Reply::Canned {
                    status,
                    headers,
                    body,
                }
            }
            other => panic!("Reply::without_header on a non-canned reply: {other:?}"),
        }
    }

    /// Replaces the body. Panics on non-canned replies.
    pub fn body(self, body: impl Into<Vec<u8>>) -> Reply {
        match self {
            Reply::Canned {
                status, headers, ..
            } => Reply::Canned {
                status,
                headers,
                body: BodySpec::Bytes(body.into()),
            },
            other => panic!("Reply::body on a non-canned reply: {other:?}"),
        }
    }

    /// Forwards to `base` (no trailing `/`), trusting only `ca`. An upstream that cannot be
    /// reached is a `502` with the reason in the body.
    pub fn forward(base: &str, ca: &TestCa) -> Reply {
        Reply::Forward {
            base: base.trim_end_matches('/').to_owned(),
            client: super::client(ca),
        }
    }

    /// The same answer, after `delay`.
    pub fn after(self, delay: Duration) -> Reply {
        Reply::Delayed(delay, Box::new(self))
    }
}

struct State {
    routes: Mutex<HashMap<String, VecDeque<Reply>>>,
    tokens: AcrTokens,
}

impl State {
    fn next_reply(&self, path: &str) -> Option<Reply> {
        let mut routes = self.routes.lock().unwrap();
        // An exact path first, else the longest prefix route (`<prefix>*`) that matches.
        let key = if routes.contains_key(path) {
            path.to_owned()
        } else {
            routes
                .keys()
                .filter(|k| k.strip_suffix('*').is_some_and(|p| path.starts_with(p)))
                .max_by_key(|k| k.len())?
                .clone()
        };
        let queue = routes.get_mut(&key)?;
        if queue.len() > 1 {
            queue.pop_front()
        } else {
            queue.front().cloned()
        }
    }

    fn outcome(&self, reply: Reply, req: &RecordedRequest) -> Outcome {
        match reply {
            Reply::Canned {
                status,
                headers,
                body,
            } => Outcome::Now(build_response(status, &headers, &body)),
            Reply::AcrChallengeToSelf => {
                let host = req.authority.clone().unwrap_or_else(|| "localhost".into());
                let scheme = if req.tls { "https" } else { "http" };
                let Reply::Canned {
                    status,
                    headers,
                    body,
                } = Reply::acr_challenge(&format!("{scheme}://{host}/oauth2/token"), &host)
                else {
                    unreachable!()
                };
                Outcome::Now(build_response(status, &headers, &body))
            }
            Reply::Tokens => match self.tokens.respond(req) {
                Some(r) => Outcome::Now(r),
                None => self.outcome(not_found(), req),
            },
            Reply::Hang => Outcome::Never,
            Reply::Delayed(delay, inner) => match self.outcome(*inner, req) {
                Outcome::Now(r) | Outcome::After(_, r) => Outcome::After(delay, r),
                Outcome::Never => Outcome::Never,
                Outcome::Later(future) => Outcome::Later(Box::pin(async move {
                    tokio::time::sleep(delay).await;
                    future.await
                })),
            },
            Reply::Forward { base, client } => Outcome::Later(Box::pin(forward(
                client,
                format!("{base}{}", req.target()),
                req.clone(),
            ))),
        }
    }
}

/// Sends `req` on to `url` and gives back the answer (hop-by-hop headers left out both ways).
async fn forward(
    client: reqwest::Client,
    url: String,
    req: RecordedRequest,
) -> axum::response::Response {
    const HOP: [&str; 5] = [
        "host",
        "connection",
        "content-length",
        "transfer-encoding",
        "keep-alive",
    ];
    let method = reqwest::Method::from_bytes(req.method.as_bytes()).expect("method");
    let mut request = client.request(method, &url).body(req.body.clone());
    for (name, value) in req
        .headers
        .iter()
        .filter(|(n, _)| !HOP.contains(&n.as_str()))
    {
        request = request.header(name.as_str(), value.as_str());
    }
    let result = async {
        let response = request.send().await?;
        let status = response.status().as_u16();
        let headers: Vec<(String, String)> = response
            .headers()
            .iter()
            .filter(|(n, _)| !HOP.contains(&n.as_str()))
            .map(|(n, v)| {
                (
                    n.as_str().to_owned(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let body = response.bytes().await?.to_vec();
        Ok::<_, reqwest::Error>(build_response(status, &headers, &BodySpec::Bytes(body)))
    }
    .await;
    result.unwrap_or_else(|e| {
        build_response(
            502,
            &[],
            &BodySpec::Bytes(format!("forward to {url}: {e}").into_bytes()),
        )
    })
}

fn not_found() -> Reply {
    Reply::json(404, acr_errors("NOT_FOUND", "not found")).header(API_VERSION.0, API_VERSION.1)
}

impl Responder for State {
    fn respond(&self, req: &RecordedRequest) -> Outcome {
        let reply = self.next_reply(&req.path).unwrap_or_else(|| {
            if req.path.starts_with("/oauth2/") {
                Reply::Tokens
            } else {
                not_found()
            }
        });
        self.outcome(reply, req)
    }
}

/// A configurable fake registry. Unless told otherwise it behaves like ACR: `/v2/` answers
/// [`Reply::AcrChallengeToSelf`] and `/oauth2/exchange` + `/oauth2/token` are served by
/// [`FakeRegistry::tokens`]; every other path is `404 NOT_FOUND`.
pub struct FakeRegistry {
    state: Arc<State>,
    server: Server,
}

impl FakeRegistry {
    /// HTTPS on `127.0.0.1:<ephemeral>` with a leaf from `ca` for localhost.
    pub fn start(ca: &TestCa) -> FakeRegistry {
        Self::start_with(Serve::tls(ca))
    }

    /// Plain HTTP on `127.0.0.1:<ephemeral>`.
    pub fn start_plain() -> FakeRegistry {
        Self::start_with(Serve::plain())
    }

    pub fn start_with(serve: Serve<'_>) -> FakeRegistry {
        let mut routes = HashMap::new();
        routes.insert(
            "/v2/".to_owned(),
            VecDeque::from([Reply::AcrChallengeToSelf]),
        );
        let state = Arc::new(State {
            routes: Mutex::new(routes),
            tokens: AcrTokens::new(),
        });
        let server = Server::start(serve, state.clone());
        FakeRegistry { state, server }
    }

    /// Sets the answer for `path` (exact match, query ignored), replacing any earlier one.
    pub fn on(&self, path: &str, reply: Reply) -> &Self {
        self.on_sequence(path, vec![reply])
    }

    /// Successive answers for `path`: each request takes the next; the last one repeats.
    /// (az sends `/v2/` twice: `vec![first, second]` answers them differently.)
    pub fn on_sequence(&self, path: &str, replies: Vec<Reply>) -> &Self {
        assert!(!replies.is_empty(), "on_sequence needs at least one reply");
        self.state
            .routes
            .lock()
            .unwrap()
            .insert(path.to_owned(), replies.into());
        self
    }

    /// The answer for every path under `prefix` that has no answer of its own.
    pub fn on_prefix(&self, prefix: &str, reply: Reply) -> &Self {
        self.on(&format!("{prefix}*"), reply)
    }

    /// Shorthand for `on("/v2/", reply)`.
    pub fn v2(&self, reply: Reply) -> &Self {
        self.on("/v2/", reply)
    }

    /// The ACR token service on this host, with its knobs.
    pub fn tokens(&self) -> &AcrTokens {
        &self.state.tokens
    }

    /// `https://<authority>/oauth2/token`, the realm of a same-host challenge.
    pub fn realm(&self) -> String {
        self.url("/oauth2/token")
    }

    recording_methods!();
}

/// A TCP listener that accepts connections and never sends a byte: a TLS handshake that never
/// completes (and an HTTP request that is never answered). Closes everything on drop.
pub struct SilentListener {
    addr: std::net::SocketAddr,
    stop: Arc<std::sync::atomic::AtomicBool>,
    accepted: Arc<std::sync::atomic::AtomicU64>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl SilentListener {
    /// On `127.0.0.1:<ephemeral>`.
    pub fn start() -> SilentListener {
        Self::start_on("127.0.0.1:0".parse().unwrap())
    }

    pub fn start_on(bind: std::net::SocketAddr) -> SilentListener {
        use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
        let listener = std::net::TcpListener::bind(bind)
            .unwrap_or_else(|e| panic!("SilentListener: cannot bind {bind}: {e}"));
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let accepted = Arc::new(AtomicU64::new(0));
        let thread = {
            let (stop, accepted) = (stop.clone(), accepted.clone());
            std::thread::spawn(move || {
                let mut held = Vec::new();
                while !stop.load(Ordering::SeqCst) {
                    match listener.accept() {
                        Ok((stream, _)) => {
                            accepted.fetch_add(1, Ordering::SeqCst);
                            held.push(stream);
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(10)),
                    }
                }
            })
        };
        SilentListener {
            addr,
            stop,
            accepted,
            thread: Some(thread),
        }
    }

    pub fn addr(&self) -> std::net::SocketAddr {
        self.addr
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> u64 {
        self.accepted.load(std::sync::atomic::Ordering::SeqCst)
    }
}

impl Drop for SilentListener {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
