//! `acr-health check-health` against hostile registries and a hostile machine, through the
//! binary: redirects to other hosts and to plain HTTP, realms that lead elsewhere, ten megabytes
//! of headers, endless and dripping answers, handshakes cut short, bytes that are not UTF-8 and
//! NULs in headers and JSON, tokens that are not JWTs, a captive portal's login page, a redirect
//! to itself (what tests/registry.rs already covers is not repeated here). Each run must end
//! within `--timeout` plus a little, name what it saw (the check's code and details), exit as
//! documented, and send no credential anywhere but the login server over HTTPS.
//!
//! Then one sweep runs every hostile scenario again with each output format, `--debug`,
//! `--verbose` and both languages, and looks for the canaries (and their base64) in stdout,
//! stderr and every file under the run's home; and the last tests run the binary on a machine
//! that is hostile in itself (closed stdin, odd locales and arguments, no home, corrupt files).
//!
//! Everything listens on loopback; the Entra token comes from `ACR_HEALTH_AAD_TOKEN` (or a fake
//! service principal), and `IMDS_ENDPOINT` points where nothing listens.

mod support;

use std::net::SocketAddr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use assert_cmd::Command;
use base64::Engine;
use serde_json::json;
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// `--timeout` of every run; a run must end within it plus [`GRACE`].
const TIMEOUT: u64 = 2;
const GRACE: Duration = Duration::from_secs(3);

/// Canaries: values that cannot turn up in a report by accident.
const ENTRA_CANARY: &str = "entra-canary-hostile-7f3a9c2e51";
const PASSWORD: &str = "pw-canary-hostile-b81d4e6f0a93";
const CLIENT_SECRET: &str = "client-secret-canary-hostile-2c9e7d1b";
const USER: &str = "hostile-user";

/// An Entra token (a JWT with the tenant) that carries the canary.
fn entra_token() -> String {
    unsigned_jwt(&json!({
        "aud": ACR_AUDIENCE,
        "tid": TENANT_ID,
        "oid": OBJECT_ID,
        "canary": ENTRA_CANARY,
    }))
}

// ---------------------------------------------------------------------------------------------
// A server that sends what a well-behaved HTTP stack cannot

/// What [`RawServer`] does with each connection.
#[derive(Clone)]
enum Raw {
    /// Read the TLS ClientHello, then close the connection (no TLS at all).
    CloseAfterClientHello,
    /// Read the ClientHello and answer with the first bytes of a ServerHello record, then close.
    HalfServerHello,
    /// Complete TLS (HTTP/1.1 only), read the request head, send these bytes, close.
    Answer(Vec<u8>),
    /// Complete TLS (HTTP/1.1 only), read the request head, send these bytes one per interval.
    Drip(Vec<u8>, Duration),
}

/// A loopback TCP server whose every connection gets [`Raw`]; it records the request heads it
/// read and counts connections. Stops on drop.
struct RawServer {
    addr: SocketAddr,
    connections: Arc<AtomicU64>,
    heads: Arc<Mutex<Vec<Vec<u8>>>>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl RawServer {
    fn start(ca: &TestCa, behavior: Raw) -> RawServer {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let mut config = (*ca.leaf(&[ACR, "localhost"]).server_config()).clone();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let connections = Arc::new(AtomicU64::new(0));
        let heads = Arc::new(Mutex::new(Vec::new()));
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let (c, h) = (connections.clone(), heads.clone());
        runtime.spawn(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            while let Ok((tcp, _)) = listener.accept().await {
                c.fetch_add(1, Ordering::SeqCst);
                let (behavior, acceptor, heads) = (behavior.clone(), acceptor.clone(), h.clone());
                tokio::spawn(async move {
                    let _ = serve_raw(tcp, behavior, acceptor, heads).await;
                });
            }
        });
        RawServer {
            addr,
            connections,
            heads,
            runtime: Some(runtime),
        }
    }

    fn port(&self) -> u16 {
        self.addr.port()
    }

    fn connections(&self) -> u64 {
        self.connections.load(Ordering::SeqCst)
    }

    /// The challenge, `GET /v2/`, and when it passed the endpoint sweep's `GET /`: each on a
    /// connection of its own, none with any credential.
    fn saw_one_anonymous_challenge(&self) {
        assert!((1..=2).contains(&self.connections()));
        let heads = self.heads();
        assert!(heads.len() <= 2, "{heads:?}");
        for head in heads {
            assert!(
                head.starts_with("GET /v2/ HTTP/1.1\r\n") || head.starts_with("GET / HTTP/1.1\r\n"),
                "{head}"
            );
            assert!(
                !head.to_ascii_lowercase().contains("authorization"),
                "{head}"
            );
            assert!(!head.contains(ENTRA_CANARY));
        }
    }

    /// The request heads read (only where TLS completed).
    fn heads(&self) -> Vec<String> {
        self.heads
            .lock()
            .unwrap()
            .iter()
            .map(|h| String::from_utf8_lossy(h).into_owned())
            .collect()
    }
}

impl Drop for RawServer {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

async fn serve_raw(
    mut tcp: tokio::net::TcpStream,
    behavior: Raw,
    acceptor: tokio_rustls::TlsAcceptor,
    heads: Arc<Mutex<Vec<Vec<u8>>>>,
) -> std::io::Result<()> {
    let (answer, drip) = match behavior {
        Raw::CloseAfterClientHello => {
            let mut hello = [0u8; 4096];
            let _ = tcp.read(&mut hello).await?;
            return Ok(());
        }
        Raw::HalfServerHello => {
            let mut hello = [0u8; 4096];
            let _ = tcp.read(&mut hello).await?;
            // A handshake record of 0x0200 bytes that stops after its first few.
            tcp.write_all(&[0x16, 0x03, 0x03, 0x02, 0x00, 0x02, 0x00, 0x01])
                .await?;
            tcp.flush().await?;
            return Ok(());
        }
        Raw::Answer(bytes) => (bytes, None),
        Raw::Drip(bytes, interval) => (bytes, Some(interval)),
    };
    let mut tls = acceptor.accept(tcp).await?;
    let mut head = Vec::new();
    let mut buf = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 1 << 16 {
        let n = tls.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    heads.lock().unwrap().push(head);
    match drip {
        None => {
            tls.write_all(&answer).await?;
            tls.flush().await?;
            tls.shutdown().await?;
        }
        Some(interval) => {
            for byte in answer {
                tls.write_all(&[byte]).await?;
                tls.flush().await?;
                tokio::time::sleep(interval).await;
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Hostile scenarios

/// `check-health --yes -n example --resolve example.azurecr.io:443:127.0.0.1:<port>`, with the
/// Entra token and the test CA trusted, expecting exit 1 within `--timeout` plus [`GRACE`].
fn hostile_acr(ca: &Arc<TestCa>, port: u16) -> Scenario {
    Scenario::new()
        .acr(port)
        .trust(ca)
        .entra(&entra_token())
        .exit(1)
        .timeout(TIMEOUT)
        .grace(GRACE)
}

/// A fake ACR on `127.0.0.1` for `example.azurecr.io`: `/v2/` challenges once, then says 200.
fn fake_acr(ca: &TestCa) -> Arc<FakeRegistry> {
    let registry = FakeRegistry::start_with(Serve::tls(ca).host(ACR));
    registry.on_sequence(
        "/v2/",
        vec![Reply::AcrChallengeToSelf, Reply::ok_without_challenge()],
    );
    Arc::new(registry)
}

/// Nothing but one `/v2/` reached `registry` (and, when the challenge passed, the endpoint
/// sweep's `/`), without any credential, and no secret went anywhere.
fn only_the_challenge(registry: &FakeRegistry) {
    let paths: Vec<String> = registry.requests().iter().map(|r| r.path.clone()).collect();
    assert!(paths == ["/v2/"] || paths == ["/v2/", "/"], "{paths:?}");
    for request in registry.requests() {
        assert_eq!(request.authorization(), None);
    }
    assert!(!registry.saw(ENTRA_CANARY));
}

/// The secrets went nowhere on `server` (a host that is not the login server).
fn saw_nothing(server: &FakeRegistry) {
    assert_eq!(server.connections(), 0, "{:?}", server.requests());
    assert!(server.requests().is_empty());
}

/// `base64(user:password)`, as a Basic header carries a password.
fn basic(user: &str, password: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
}

mod scenario {
    use super::*;

    /// `/v2/` redirects (302) to another host over HTTPS that would answer: not followed.
    pub fn redirect_to_another_host() -> Scenario {
        let ca = Arc::new(TestCa::new());
        let registry = fake_acr(&ca);
        let elsewhere = Arc::new(FakeRegistry::start(&ca));
        registry.v2(Reply::redirect(302, &elsewhere.url("/v2/")));
        let (r, e) = (registry.clone(), elsewhere.clone());
        hostile_acr(&ca, registry.port())
            .keep(registry.clone())
            .keep(elsewhere)
            .issued_by(registry.tokens())
            .expect(move |run| {
                run.failed(
                    "registry.challenge",
                    "CONNECTIVITY_CHALLENGE_ERROR",
                    "/v2/ answered HTTP 302 instead of 401 with a challenge.",
                );
                assert_eq!(run.check("registry.refresh_token")["status"], "skipped");
                only_the_challenge(&r);
                saw_nothing(&e);
            })
    }

    /// Every request is answered with a 302 to itself: one request, no loop.
    pub fn redirect_to_itself() -> Scenario {
        let ca = Arc::new(TestCa::new());
        let registry = fake_acr(&ca);
        let itself = format!("https://{ACR}/v2/");
        registry.v2(Reply::redirect(302, &itself));
        for path in ["/oauth2/exchange", "/oauth2/token", "/"] {
            registry.on(path, Reply::redirect(302, &format!("https://{ACR}{path}")));
        }
        let r = registry.clone();
        hostile_acr(&ca, registry.port())
            .keep(registry.clone())
            .expect(move |run| {
                run.failed(
                    "registry.challenge",
                    "CONNECTIVITY_CHALLENGE_ERROR",
                    "/v2/ answered HTTP 302 instead of 401 with a challenge.",
                );
                only_the_challenge(&r);
                assert_eq!(r.connections(), 1);
            })
    }

    /// The exchange (which carries the Entra token) answers 307 to plain HTTP on another host:
    /// a client that followed it would post the token there in clear text.
    pub fn exchange_redirects_to_plain_http() -> Scenario {
        let ca = Arc::new(TestCa::new());
        let registry = fake_acr(&ca);
        let plain = Arc::new(FakeRegistry::start_plain());
        registry.on(
            "/oauth2/exchange",
            Reply::redirect(307, &plain.url("/oauth2/exchange")),
        );
        let (r, p) = (registry.clone(), plain.clone());
        hostile_acr(&ca, registry.port())
            .keep(registry.clone())
            .keep(plain)
            .expect(move |run| {
                run.failed(
                    "registry.refresh_token",
                    "CONNECTIVITY_REFRESH_TOKEN_ERROR",
                    "The registry answered HTTP 307.",
                );
                saw_nothing(&p);
                let exchange = r.requests_to("/oauth2/exchange");
                assert_eq!(exchange.len(), 1);
                assert!(exchange[0].tls);
                assert!(r.requests_to("/oauth2/token").is_empty());
            })
    }

    /// The realm hides another host behind the registry's name as user info
    /// (`https://example.azurecr.io@127.0.0.1:P/oauth2/token`): it is another host.
    pub fn realm_with_the_registry_as_user_info() -> Scenario {
        let ca = Arc::new(TestCa::new());
        let registry = fake_acr(&ca);
        let elsewhere = Arc::new(FakeRegistry::start(&ca));
        let realm = format!("https://{ACR}@127.0.0.1:{}/oauth2/token", elsewhere.port());
        registry.v2(Reply::acr_challenge(&realm, ACR));
        let (r, e) = (registry.clone(), elsewhere.clone());
        hostile_acr(&ca, registry.port())
            .keep(registry.clone())
            .keep(elsewhere)
            .expect(move |run| {
                run.failed(
                    "registry.refresh_token",
                    "CONNECTIVITY_AAD_LOGIN_ERROR",
                    &format!("The challenge sends the token request to {realm}, which is not this registry's own token endpoint over HTTPS; acr-health does not send your Microsoft Entra token there."),
                );
                only_the_challenge(&r);
                saw_nothing(&e);
            })
    }

    /// A realm on the registry's own name over plain HTTP on another port, with a password for a
    /// `--login-server` registry: the password is not sent there.
    pub fn password_and_a_plain_http_realm() -> Scenario {
        let ca = Arc::new(TestCa::new());
        let registry = Arc::new(FakeRegistry::start(&ca));
        let plain = Arc::new(FakeRegistry::start_plain());
        registry.v2(Reply::acr_challenge(
            &plain.url("/oauth2/token"),
            &registry.authority(),
        ));
        let login_server = registry.authority();
        let (r, p) = (registry.clone(), plain.clone());
        let mut hostile = hostile_acr(&ca, registry.port()).stdin(&format!("{PASSWORD}\n"));
        hostile.args = vec!["--yes".into()];
        hostile.secrets.push(PASSWORD.to_owned());
        hostile.secrets.push(basic(USER, PASSWORD));
        hostile
            .args(&[
                "--login-server",
                &login_server,
                "--username",
                USER,
                "--password-stdin",
            ])
            .keep(registry.clone())
            .keep(plain)
            .exit(1)
            .expect(move |run| {
                assert_eq!(run.check("registry.challenge")["status"], "ok");
                assert_eq!(run.check("registry.access_token")["status"], "ok");
                assert_eq!(
                    run.details("registry.access_token"),
                    [
                        format!("Credentials for {} from --username and --password-stdin.", r.authority()),
                        format!("The token service {} is not on the registry's own host over HTTPS; acr-health does not send your credentials there and asks anonymously.", p.url("/oauth2/token")),
                    ]
                );
                // The anonymous token is no good for the registry.
                run.failed(
                    "registry.token_accepted",
                    "CONNECTIVITY_TOKEN_REJECTED_ERROR",
                    "The registry answered HTTP 401.",
                );
                // The token service got one anonymous request, over plain HTTP: no password.
                for request in p.requests() {
                    assert_eq!(request.authorization(), None);
                    assert!(!request.mentions(PASSWORD));
                }
                assert!(!r.saw(PASSWORD));
            })
    }

    /// `/v2/` answers with ten megabytes of headers (a thousand 10 KiB headers).
    pub fn ten_megabytes_of_headers() -> Scenario {
        let ca = Arc::new(TestCa::new());
        let registry = fake_acr(&ca);
        let pad = "x".repeat(10 * 1024);
        let mut reply = Reply::acr_challenge(&format!("https://{ACR}/oauth2/token"), ACR);
        for i in 0..1000 {
            reply = reply.header(&format!("x-pad-{i}"), &pad);
        }
        registry.v2(reply);
        let r = registry.clone();
        // The fake (a debug build) takes a while to encode ten megabytes; the client gives up on
        // the first 16 KiB.
        let hostile = hostile_acr(&ca, registry.port()).timeout(10);
        hostile.keep(registry.clone()).expect(move |run| {
            // HTTP/2 allows 16 KiB of headers: the connection is given up, and the report names
            // the protocol's error code, not h2's English sentence.
            run.failed(
                "registry.challenge",
                "CONNECTIVITY_CHALLENGE_ERROR",
                "The HTTP/2 connection failed with error code COMPRESSION_ERROR.",
            );
            only_the_challenge(&r);
            // The report stays small whatever the server sent.
            assert!(run.stdout.len() + run.stderr.len() < 64 * 1024);
        })
    }

    /// One `WWW-Authenticate` header of ten megabytes, over HTTP/1.1.
    pub fn one_ten_megabyte_header() -> Scenario {
        let ca = Arc::new(TestCa::new());
        let mut answer = format!(
            "HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nWWW-Authenticate: Bearer realm=\"https://{ACR}/oauth2/token\",service=\"{ACR}\",pad=\""
        )
        .into_bytes();
        answer.extend(std::iter::repeat_n(b'x', 10 << 20));
        answer.extend_from_slice(b"\"\r\n\r\n");
        let raw = Arc::new(RawServer::start(&ca, Raw::Answer(answer)));
        let r = raw.clone();
        hostile_acr(&ca, raw.port()).keep(raw).expect(move |run| {
            // HTTP/1.1 reads about 400 KB of a head at most.
            run.failed(
                "registry.challenge",
                "CONNECTIVITY_CHALLENGE_ERROR",
                "The status line and headers of the answer are too large; they were not read.",
            );
            r.saw_one_anonymous_challenge();
            assert!(run.stdout.len() + run.stderr.len() < 64 * 1024);
        })
    }

    /// A 400 KB challenge of one-letter words (as much as HTTP/1.1 lets through): each word is
    /// a scheme. Before the fix this took a minute of CPU, past any `--timeout`, and the report
    /// listed every word.
    pub fn a_challenge_of_many_words() -> Scenario {
        let ca = Arc::new(TestCa::new());
        let answer = format!(
            "HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nWWW-Authenticate: {}\r\n\r\n",
            "a ".repeat(200_000)
        );
        let raw = Arc::new(RawServer::start(&ca, Raw::Answer(answer.into_bytes())));
        let r = raw.clone();
        let schemes = vec!["a"; 16].join(", ");
        hostile_acr(&ca, raw.port())
            .keep(raw)
            .expect(move |run| {
                run.failed(
                    "registry.refresh_token",
                    "CONNECTIVITY_AAD_LOGIN_ERROR",
                    &format!("The registry asks for {schemes} authentication, not for a Bearer token with realm and service."),
                );
                r.saw_one_anonymous_challenge();
                assert!(run.stdout.len() + run.stderr.len() < 64 * 1024);
            })
    }

    /// The body of `/v2/` arrives one byte a second: the run ends at `--timeout`.
    pub fn body_drips() -> Scenario {
        let ca = Arc::new(TestCa::new());
        let registry = fake_acr(&ca);
        registry.v2(Reply::trickle(Duration::from_secs(1)));
        let r = registry.clone();
        hostile_acr(&ca, registry.port())
            .keep(registry.clone())
            .expect(move |run| {
                run.failed(
                    "registry.challenge",
                    "CONNECTIVITY_CHALLENGE_ERROR",
                    &format!("No answer within {TIMEOUT} s."),
                );
                assert!(run.elapsed >= Duration::from_secs(TIMEOUT));
                only_the_challenge(&r);
            })
    }

    /// The status line and headers arrive one byte a second.
    pub fn head_drips() -> Scenario {
        let ca = Arc::new(TestCa::new());
        let answer = format!(
            "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer realm=\"https://{ACR}/oauth2/token\",service=\"{ACR}\"\r\nContent-Length: 0\r\n\r\n"
        );
        let raw = Arc::new(RawServer::start(
            &ca,
            Raw::Drip(answer.into_bytes(), Duration::from_secs(1)),
        ));
        let r = raw.clone();
        hostile_acr(&ca, raw.port()).keep(raw).expect(move |run| {
            run.failed(
                "registry.challenge",
                "CONNECTIVITY_CHALLENGE_ERROR",
                &format!("No answer within {TIMEOUT} s."),
            );
            assert!(run.elapsed >= Duration::from_secs(TIMEOUT));
            r.saw_one_anonymous_challenge();
            assert_eq!(r.heads().len(), 1);
            assert!(!r.heads()[0].contains(ENTRA_CANARY));
        })
    }

    /// The connection is closed right after the ClientHello.
    pub fn closed_after_client_hello() -> Scenario {
        let ca = Arc::new(TestCa::new());
        let raw = Arc::new(RawServer::start(&ca, Raw::CloseAfterClientHello));
        let r = raw.clone();
        hostile_acr(&ca, raw.port()).keep(raw).expect(move |run| {
            run.failed(
                "registry.challenge",
                "CONNECTIVITY_CHALLENGE_ERROR",
                "The connection was closed or reset before an answer came.",
            );
            r.saw_one_anonymous_challenge();
            assert!(r.heads().is_empty());
        })
    }

    /// Half a ServerHello, then the connection closes.
    pub fn closed_mid_server_hello() -> Scenario {
        let ca = Arc::new(TestCa::new());
        let raw = Arc::new(RawServer::start(&ca, Raw::HalfServerHello));
        let r = raw.clone();
        hostile_acr(&ca, raw.port()).keep(raw).expect(move |run| {
            run.failed(
                "registry.challenge",
                "CONNECTIVITY_CHALLENGE_ERROR",
                "The connection was closed or reset before an answer came.",
            );
            r.saw_one_anonymous_challenge();
        })
    }

    /// A challenge with bytes that are not UTF-8 in the realm.
    pub fn invalid_utf8_in_the_challenge() -> Scenario {
        let ca = Arc::new(TestCa::new());
        let mut answer = b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nWWW-Authenticate: Bearer realm=\"https://example.azurecr.io/oauth2/token\xff\xfe\",service=\"example.azurecr.io\"\r\n\r\n".to_vec();
        answer.shrink_to_fit();
        let raw = Arc::new(RawServer::start(&ca, Raw::Answer(answer)));
        let r = raw.clone();
        hostile_acr(&ca, raw.port()).keep(raw).expect(move |run| {
            run.failed(
                "registry.challenge",
                "CONNECTIVITY_CHALLENGE_ERROR",
                "/v2/ answered 401 without a WWW-Authenticate header.",
            );
            assert_eq!(r.heads().len(), 1);
            r.saw_one_anonymous_challenge();
        })
    }

    /// A NUL byte inside a header.
    pub fn nul_in_a_header() -> Scenario {
        let ca = Arc::new(TestCa::new());
        let answer = b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nWWW-Authenticate: Bearer realm=\"https://example.azurecr.io/oauth2/token\x00\",service=\"example.azurecr.io\"\r\n\r\n".to_vec();
        let raw = Arc::new(RawServer::start(&ca, Raw::Answer(answer)));
        let r = raw.clone();
        hostile_acr(&ca, raw.port())
            .keep(raw)
            .expect(move |run| {
                run.failed(
                    "registry.challenge",
                    "CONNECTIVITY_CHALLENGE_ERROR",
                    "The answer has a header that is not valid HTTP (a character HTTP does not allow, or an unreadable Content-Length).",
                );
                assert_eq!(r.heads().len(), 1);
                assert!(!run.stderr.contains('\0') && !run.stdout.contains("\\u0000"));
            })
    }

    /// The exchange answers 200 with JSON that is not UTF-8.
    pub fn invalid_utf8_in_the_token_json() -> Scenario {
        let ca = Arc::new(TestCa::new());
        let registry = fake_acr(&ca);
        registry.on(
            "/oauth2/exchange",
            Reply::status(200)
                .header("content-type", "application/json")
                .body(b"{\"refresh_token\":\"\xff\xfe\x00abc\"}".to_vec()),
        );
        let r = registry.clone();
        hostile_acr(&ca, registry.port())
            .keep(registry.clone())
            .expect(move |run| {
                run.failed(
                    "registry.refresh_token",
                    "CONNECTIVITY_REFRESH_TOKEN_ERROR",
                    "The answer holds no refresh_token.",
                );
                assert!(r.requests_to("/oauth2/token").is_empty());
            })
    }

    /// The registry's error document carries NUL, escape sequences and a carriage return.
    pub fn control_characters_in_the_registry_error() -> Scenario {
        let ca = Arc::new(TestCa::new());
        let registry = fake_acr(&ca);
        registry.on(
            "/oauth2/exchange",
            Reply::json(
                401,
                acr_errors(
                    "UNAUTHORIZED",
                    "bad\u{0}token\u{1b}[2J\u{1b}[31mred\rspoofed",
                ),
            ),
        );
        hostile_acr(&ca, registry.port())
            .keep(registry.clone())
            .expect(move |run| {
                let details = run.details("registry.refresh_token");
                assert_eq!(details[0], "The registry answered HTTP 401.");
                assert_eq!(
                    details[1],
                    "UNAUTHORIZED: bad\u{fffd}token\u{fffd}[2J\u{fffd}[31mred\u{fffd}spoofed"
                );
                for text in [&run.stdout, &run.stderr] {
                    assert!(
                        !text.contains('\u{1b}') && !text.contains('\0') && !text.contains('\r')
                    );
                }
            })
    }

    /// The exchange issues a refresh token that is not a JWT; the token endpoint refuses it.
    pub fn refresh_token_not_a_jwt() -> Scenario {
        let ca = Arc::new(TestCa::new());
        let registry = fake_acr(&ca);
        registry.tokens().set_exchange(Behavior::NonJwt);
        let r = registry.clone();
        hostile_acr(&ca, registry.port())
            .keep(registry.clone())
            .issued_by(registry.tokens())
            .expect(move |run| {
                run.failed(
                    "registry.access_token",
                    "CONNECTIVITY_ACCESS_TOKEN_ERROR",
                    "The registry answered HTTP 401.",
                );
                assert_eq!(
                    run.details("registry.access_token")[1],
                    "UNAUTHORIZED: invalid refresh token"
                );
                assert_eq!(
                    r.requests_to("/oauth2/token")[0].form_field("refresh_token"),
                    Some("not-a-jwt")
                );
            })
    }

    /// With `--repository`, an access token that is not a JWT grants nothing readable.
    pub fn access_token_not_a_jwt() -> Scenario {
        let ca = Arc::new(TestCa::new());
        let registry = fake_acr(&ca);
        registry.tokens().set_token(Behavior::NonJwt);
        hostile_acr(&ca, registry.port())
            .args(&["--repository", "team/app"])
            .keep(registry.clone())
            .issued_by(registry.tokens())
            .expect(move |run| {
                run.failed(
                    "registry.access_token",
                    "CONNECTIVITY_ACCESS_TOKEN_ERROR",
                    "The token for repository 'team/app' grants -; it lacks pull, push, delete, metadata_read, metadata_write. Check that you have read, write and delete permissions on the repository.",
                );
            })
    }

    /// A captive portal: `/v2/` answers 200 with an HTML login page.
    pub fn captive_portal() -> Scenario {
        let ca = Arc::new(TestCa::new());
        let registry = fake_acr(&ca);
        registry.v2(Reply::status(200).header("content-type", "text/html").body(
            "<!DOCTYPE html><html><head><title>Sign in to the guest network</title></head><body><form method=\"post\" action=\"/login\"><input name=\"password\" type=\"password\"></form></body></html>",
        ));
        let r = registry.clone();
        hostile_acr(&ca, registry.port())
            .keep(registry.clone())
            .expect(move |run| {
                run.failed(
                    "registry.challenge",
                    "CONNECTIVITY_CHALLENGE_ERROR",
                    "/v2/ answered 200 without asking for authentication; an Azure container registry always asks.",
                );
                only_the_challenge(&r);
            })
    }

    /// The same portal in front of a registry given with `--login-server`: a 200 without
    /// `Docker-Distribution-Api-Version` is not an open registry.
    pub fn captive_portal_on_a_login_server() -> Scenario {
        let ca = Arc::new(TestCa::new());
        let registry = fake_acr(&ca);
        registry.v2(Reply::status(200)
            .header("content-type", "text/html")
            .body("<!DOCTYPE html><html><body><form action=\"/login\"></form></body></html>"));
        let r = registry.clone();
        let mut hostile = hostile_acr(&ca, registry.port());
        hostile.args = vec![
            "--yes".to_owned(),
            "--login-server".to_owned(),
            format!("localhost:{}", registry.port()),
        ];
        hostile.keep(registry.clone()).expect(move |run| {
            run.failed(
                "registry.challenge",
                "CONNECTIVITY_CHALLENGE_ERROR",
                "/v2/ answered 200 without the Docker-Distribution-Api-Version header: a web page (a captive portal or proxy login?), not a registry.",
            );
            only_the_challenge(&r);
        })
    }

    /// The portal answers the token exchange too, and the token came from a service principal
    /// (the client secret goes to the authority and nowhere else).
    pub fn captive_portal_on_the_exchange() -> Scenario {
        let ca = Arc::new(TestCa::new());
        let registry = fake_acr(&ca);
        registry.tokens().set_exchange(Behavior::NonJson);
        let identity = Arc::new(FakeIdentity::start_tls(&ca));
        identity.expect_client_secret(CLIENT_SECRET);
        let mut hostile = hostile_acr(&ca, registry.port()).without_env("ACR_HEALTH_AAD_TOKEN");
        hostile.secrets = vec![CLIENT_SECRET.to_owned()];
        let tokens_of = identity.clone();
        let (r, i) = (registry.clone(), identity.clone());
        hostile
            .issued(move || tokens_of.issued_tokens())
            .env("AZURE_CLIENT_ID", CLIENT_ID)
            .env("AZURE_TENANT_ID", TENANT_ID)
            .env("AZURE_CLIENT_SECRET", CLIENT_SECRET)
            .env("AZURE_AUTHORITY_HOST", identity.authority_host())
            .keep(registry.clone())
            .keep(identity)
            .expect(move |run| {
                run.failed(
                    "registry.refresh_token",
                    "CONNECTIVITY_REFRESH_TOKEN_ERROR",
                    "The answer holds no refresh_token.",
                );
                assert!(!r.saw(CLIENT_SECRET));
                let issued = i.issued_tokens();
                assert_eq!(issued.len(), 1);
                // The Entra token went to the registry's exchange, over HTTPS, and nowhere else.
                for request in r.requests() {
                    assert_eq!(
                        request.mentions(&issued[0]),
                        request.path == "/oauth2/exchange"
                    );
                    assert!(request.tls);
                }
            })
    }

    /// The registry takes the token flow, then redirects the request that carries the access
    /// token to another host: not followed, and the token is rejected.
    pub fn token_check_redirects_elsewhere() -> Scenario {
        let ca = Arc::new(TestCa::new());
        let registry = fake_acr(&ca);
        let elsewhere = Arc::new(FakeRegistry::start(&ca));
        registry.on_sequence(
            "/v2/",
            vec![
                Reply::AcrChallengeToSelf,
                Reply::redirect(302, &elsewhere.url("/v2/")),
            ],
        );
        let e = elsewhere.clone();
        hostile_acr(&ca, registry.port())
            .keep(registry.clone())
            .keep(elsewhere)
            .issued_by(registry.tokens())
            .expect(move |run| {
                run.failed(
                    "registry.token_accepted",
                    "CONNECTIVITY_TOKEN_REJECTED_ERROR",
                    "The registry answered HTTP 302.",
                );
                saw_nothing(&e);
            })
    }
}

scenario_tests!(
    redirect_to_another_host,
    redirect_to_itself,
    exchange_redirects_to_plain_http,
    realm_with_the_registry_as_user_info,
    password_and_a_plain_http_realm,
    ten_megabytes_of_headers,
    one_ten_megabyte_header,
    a_challenge_of_many_words,
    body_drips,
    head_drips,
    closed_after_client_hello,
    closed_mid_server_hello,
    invalid_utf8_in_the_challenge,
    nul_in_a_header,
    invalid_utf8_in_the_token_json,
    control_characters_in_the_registry_error,
    refresh_token_not_a_jwt,
    access_token_not_a_jwt,
    captive_portal,
    captive_portal_on_a_login_server,
    captive_portal_on_the_exchange,
    token_check_redirects_elsewhere,
);

// ---------------------------------------------------------------------------------------------
// The secret-leak sweep

/// The ways `secret` can be written in base64 (standard and URL-safe), wherever it starts in the
/// encoded text: the part of the encoding that depends on the secret alone.
fn base64_forms(secret: &str) -> Vec<String> {
    let mut forms = Vec::new();
    for engine in [
        &base64::engine::general_purpose::STANDARD_NO_PAD,
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
    ] {
        for offset in 0..3 {
            let mut bytes = vec![0u8; offset];
            bytes.extend_from_slice(secret.as_bytes());
            let encoded = engine.encode(&bytes);
            let skip = if offset == 0 { 0 } else { 4 };
            let end = encoded.len().saturating_sub(4);
            if end > skip + 8 {
                forms.push(encoded[skip..end].to_owned());
            }
        }
    }
    forms
}

/// Every file under `dir`, with its bytes.
fn files_under(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else if let Ok(bytes) = std::fs::read(&path) {
            out.push((path, bytes));
        }
    }
    out
}

/// Every hostile scenario with each output format, `--debug` and `--verbose`, in English and
/// Dutch: no canary (Entra token, password, client secret, and the tokens the fakes issued), nor
/// its base64, in stdout, stderr or any file under the run's home or az config directory.
#[test]
fn no_secret_leaks_from_any_hostile_run_in_any_format_or_language() {
    let formats: [&[&str]; 5] = [
        &["-o", "json"],
        &["-o", "yaml"],
        &["-o", "table"],
        &["-o", "tsv"],
        &[],
    ];
    let flags = ["--debug", "--verbose"];
    let languages: [&[&str]; 2] = [&[], &["--lang", "nl"]];
    // Every combination runs at least once; the scenarios take turns.
    let mut combinations = Vec::new();
    for format in formats {
        for flag in flags {
            for language in languages {
                let mut extra: Vec<&str> = format.to_vec();
                extra.push(flag);
                extra.extend_from_slice(language);
                combinations.push(extra);
            }
        }
    }
    let runs: Vec<(usize, usize)> = (0..combinations.len().max(SCENARIOS.len() * 2))
        .map(|i| (i % SCENARIOS.len(), i % combinations.len()))
        .collect();
    let checked = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for chunk in runs.chunks(runs.len().div_ceil(6)) {
            let (combinations, checked) = (&combinations, &checked);
            scope.spawn(move || {
                for &(scenario, combination) in chunk {
                    let (name, build) = SCENARIOS[scenario];
                    let hostile = build().named(name);
                    let config_dir = hostile.sandbox.path("home").join(".azure");
                    let hostile = hostile.env("AZURE_CONFIG_DIR", config_dir.display().to_string());
                    let extra = &combinations[combination];
                    let run = hostile.output(extra);
                    if extra.contains(&"--debug") {
                        assert!(
                            ["  ran '", "  uitgevoerd: '", "  GET ", "  POST "]
                                .iter()
                                .any(|listed| run.stderr.contains(listed)),
                            "{}: {extra:?}\n{}",
                            hostile.name,
                            run.stderr
                        );
                    }
                    let files = files_under(&hostile.sandbox.path("home"));
                    let secrets = hostile.all_secrets();
                    assert!(!secrets.is_empty());
                    for secret in &secrets {
                        let mut needles = vec![secret.clone()];
                        needles.extend(base64_forms(secret));
                        // A JWT's payload and signature on their own.
                        needles.extend(
                            secret
                                .split('.')
                                .filter(|p| p.len() >= 24)
                                .map(str::to_owned),
                        );
                        for needle in &needles {
                            for (stream, text) in [("stdout", &run.stdout), ("stderr", &run.stderr)]
                            {
                                assert!(
                                    !text.contains(needle.as_str()),
                                    "{}: {extra:?}: {needle} (of {secret}) in {stream}:\n{text}",
                                    hostile.name
                                );
                            }
                            for (path, bytes) in &files {
                                assert!(
                                    !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
                                    "{}: {needle} in {}",
                                    hostile.name,
                                    path.display()
                                );
                            }
                        }
                    }
                    checked
                        .lock()
                        .unwrap()
                        .push((hostile.name, secrets.len(), extra.join(" ")));
                }
            });
        }
    });
    let checked = checked.into_inner().unwrap();
    assert_eq!(checked.len(), runs.len());
    // Every scenario ran, every combination ran, and the fakes' tokens were among the canaries.
    for &(name, _) in SCENARIOS {
        assert!(
            checked.iter().any(|(n, _, _)| *n == name),
            "{name} never ran"
        );
    }
    for combination in &combinations {
        let joined = combination.join(" ");
        assert!(
            checked.iter().any(|(_, _, c)| *c == joined),
            "{joined} never ran"
        );
    }
    assert!(checked.iter().any(|(_, secrets, _)| *secrets >= 3));
}

// ---------------------------------------------------------------------------------------------
// A hostile machine: stdin, locale, arguments, home, corrupt files

/// `check-health` without `--yes`, with no registry, on the sandbox.
fn environment_only(sandbox: &Sandbox) -> Command {
    let mut cmd = sandbox.command();
    cmd.args(["check-health", "--timeout", &TIMEOUT.to_string()]);
    cmd
}

#[test]
fn closed_stdin_skips_the_pull_and_does_not_crash() {
    let sandbox = Sandbox::with_working_tools();
    // What file descriptor 0 is, is set between fork and exec (so std's Command).
    let with_stdin = |set_stdin: fn() -> std::io::Result<()>| {
        let mut cmd = sandbox.std_command();
        cmd.args([
            "check-health",
            "--timeout",
            &TIMEOUT.to_string(),
            "-o",
            "json",
        ]);
        // SAFETY: open(2), dup2(2) and close(2) are async-signal-safe, and nothing else runs
        // between fork and exec.
        unsafe {
            cmd.pre_exec(set_stdin);
        }
        limited(cmd)
    };
    // stdin is /dev/null ...
    let null = with_stdin(|| {
        // SAFETY: a NUL-terminated path; the descriptors are this child's own.
        unsafe {
            let fd = libc::open(c"/dev/null".as_ptr(), libc::O_RDONLY);
            if fd < 0 || libc::dup2(fd, 0) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            libc::close(fd);
        }
        Ok(())
    });
    // ... and closed altogether (file descriptor 0 not open).
    let closed = with_stdin(|| {
        // SAFETY: closes this child's own descriptor.
        unsafe {
            libc::close(0);
        }
        Ok(())
    });
    for cmd in [null, closed] {
        let run = sandbox.output(cmd);
        run.no_crash();
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert_eq!(
            run.check("docker.pull")["status"],
            "skipped",
            "{}",
            run.stderr
        );
        assert_eq!(run.check("docker.version")["status"], "ok");
        assert_eq!(run.doc()["summary"]["exit_code"], 0);
    }
}

#[test]
fn a_latin1_locale_does_not_crash() {
    let sandbox = Sandbox::with_working_tools();
    let mut cmd = environment_only(&sandbox);
    cmd.args(["--yes"]).env("LANG", "nl_NL.ISO-8859-1");
    let health = sandbox.output(cmd);
    let mut cmd = sandbox.command();
    cmd.args(["explain", "CONNECTIVITY_DNS_ERROR"])
        .env("LC_ALL", "nl_NL.ISO-8859-1");
    let explain = sandbox.output(cmd);
    for run in [&health, &explain] {
        run.no_crash();
        assert_eq!(run.code, 0, "{}", run.stderr);
    }
    // The language is read from the locale whatever its character set (the text stays UTF-8).
    assert!(
        health.stderr.contains("Helm-versie: 3.14.0"),
        "{}",
        health.stderr
    );
    assert!(
        explain.stdout.starts_with(
            "# CONNECTIVITY_DNS_ERROR: Naam van het register wordt niet omgezet via DNS"
        ),
        "{}",
        explain.stdout
    );
}

#[test]
fn bytes_that_are_not_utf8_in_arguments_are_usage_errors() {
    let sandbox = Sandbox::with_working_tools();
    for args in [
        vec![b"check-health".to_vec(), b"-n".to_vec(), b"\xff".to_vec()],
        vec![
            b"check-health".to_vec(),
            b"--login-server".to_vec(),
            b"reg\xfe.example".to_vec(),
        ],
        vec![b"explain".to_vec(), b"CODE\xff".to_vec()],
        vec![
            b"check-health".to_vec(),
            b"--yes".to_vec(),
            b"--timeout".to_vec(),
            b"\xff".to_vec(),
        ],
    ] {
        let mut cmd = sandbox.command();
        cmd.args(args.iter().map(|a| std::ffi::OsStr::from_bytes(a)));
        let run = sandbox.output(cmd);
        run.no_crash();
        assert_eq!(run.code, 2, "{args:?}:\n{}", run.stderr);
        assert!(
            run.stderr.starts_with("error: "),
            "{args:?}:\n{}",
            run.stderr
        );
        assert_eq!(run.stdout, "");
    }
}

#[test]
fn a_missing_or_unusable_home_is_not_a_crash() {
    let sandbox = Sandbox::with_working_tools();
    let file = sandbox.home_file("not-a-directory", "x");
    let homes: Vec<Option<String>> = vec![
        None,
        Some(String::new()),
        Some("/nonexistent/home".into()),
        Some(file.display().to_string()),
        Some("/proc/self/nonexistent".into()),
    ];
    for home in homes {
        let mut cmd = environment_only(&sandbox);
        cmd.args(["--yes", "-o", "json"]);
        match &home {
            Some(home) => cmd.env("HOME", home),
            None => cmd.env_remove("HOME"),
        };
        let run = sandbox.output(cmd);
        run.no_crash();
        assert_eq!(run.code, 0, "HOME={home:?}:\n{}", run.stderr);
        assert_eq!(run.check("helm.version")["status"], "ok");
    }
}

/// A registry for the corrupt-file runs: basic authentication on `--login-server`, so docker's
/// `config.json` is read; and what each corrupt file must not do.
#[test]
fn corrupt_config_files_are_ignored_or_named_never_a_crash() {
    let ca = TestCa::new();
    let registry = FakeRegistry::start(&ca);
    registry.v2(Reply::basic_challenge("Registry Realm"));
    let corrupt: [(&str, &[u8]); 6] = [
        ("garbage", b"\x00\xff\xfe not a file \x1b[31m"),
        ("empty", b""),
        ("truncated json", b"{\"subscriptions\": [{\"id\": \"a"),
        (
            "wrong types",
            b"{\"auths\": [1, 2], \"subscriptions\": {\"id\": 7}, \"x\": null}",
        ),
        ("bom only", b"\xef\xbb\xbf"),
        ("deep", &[b'['; 100_000]),
    ];
    for (what, bytes) in corrupt {
        let sandbox = Sandbox::with_working_tools();
        sandbox.home_file(".azure/config", bytes);
        sandbox.home_file(".azure/azureProfile.json", bytes);
        sandbox.home_file(".azure/clouds.config", bytes);
        sandbox.home_file(".docker/config.json", bytes);
        // No registry: the az files are read for the default registry and the cloud.
        let mut cmd = environment_only(&sandbox);
        cmd.args(["--yes", "-o", "json"]);
        let alone = sandbox.output(cmd);
        alone.no_crash();
        assert_eq!(alone.code, 0, "{what}:\n{}", alone.stderr);

        // A registry by name: the profile is read for the subscription (ARM is not reachable:
        // no token), and the run falls back to the name with the cloud's suffix.
        let mut cmd = sandbox.command();
        cmd.args([
            "check-health",
            "--yes",
            "-n",
            "example",
            "--resolve",
            &format!("{ACR}:443:127.0.0.1:{}", registry.port()),
            "--timeout",
            &TIMEOUT.to_string(),
            "--ignore-errors",
            "-o",
            "json",
        ])
        .env("REQUESTS_CA_BUNDLE", ca.pem_path());
        let by_name = sandbox.output(cmd);
        by_name.no_crash();
        assert_eq!(by_name.code, 0, "{what}:\n{}", by_name.stderr);
        assert_eq!(
            by_name.check("registry.login_server")["status"],
            "ok",
            "{what}:\n{}",
            by_name.stderr
        );

        // A basic-auth registry: docker's config.json is read for credentials; none usable.
        let mut cmd = sandbox.command();
        cmd.args([
            "check-health",
            "--yes",
            "--login-server",
            &registry.authority(),
            "--timeout",
            &TIMEOUT.to_string(),
            "-o",
            "json",
        ])
        .env("REQUESTS_CA_BUNDLE", ca.pem_path());
        let basic_run = sandbox.output(cmd);
        basic_run.no_crash();
        assert_eq!(basic_run.code, 0, "{what}:\n{}", basic_run.stderr);
        assert_eq!(basic_run.check("registry.challenge")["status"], "ok");
        assert_eq!(
            basic_run.check("registry.token_accepted")["status"],
            "skipped",
            "{what}"
        );
    }

    // A default registry that is not a name: a usage error that shows it, harmlessly.
    let sandbox = Sandbox::with_working_tools();
    sandbox.home_file(".azure/config", "[defaults]\nacr = evil\u{1b}[2Jname\n");
    let mut cmd = environment_only(&sandbox);
    cmd.args(["--yes"]);
    let bad = sandbox.output(cmd);
    bad.no_crash();
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    assert!(
        bad.stderr
            .starts_with("error: \"evil\u{fffd}[2Jname\" is not a registry name"),
        "{}",
        bad.stderr
    );
    assert!(!bad.stderr.contains('\u{1b}'));
}
