//! The registry checks of `acr-health check-health`, end to end through the binary: against the
//! real docker-registry (TLS from a test CA; token auth whose realm is the in-process ACR token
//! service; htpasswd), and against in-process fakes for what a real registry cannot do (403, 429,
//! broken challenges, hangs, huge bodies, bad certificates, token-service errors, Entra credential
//! endpoints).
//!
//! Every case is a [`Scenario`]: the servers it needs, the command line, the environment, the
//! exit code and what the run must show. Each has its own test, and one more test runs them all
//! again with `--debug -o json` and looks for every secret they handled in stdout and stderr.
//!
//! Every run starts from an empty environment (`env_clear`) with a PATH of fake `docker`, `helm`
//! and `notary` scripts that succeed (so only registry findings appear) and `IMDS_ENDPOINT` on a
//! loopback port where nothing listens, so no run ever talks to 169.254.169.254.

mod support;

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use serde_json::{Value, json};
use support::*;

/// Canaries: secrets with values that cannot turn up in a report by accident.
const PASSWORD: &str = "pw-canary-4d1c9e0b";
const CLIENT_SECRET: &str = "client-secret-canary-83b2f61a";
const PROXY_PASSWORD: &str = "proxy-canary-5a7f02d4";

/// The shorter `--timeout` of the runs against servers that hang (the others have
/// [`SCENARIO_TIMEOUT`]).
const HANG_TIMEOUT: u64 = 2;

/// The storage host the fakes redirect blob downloads to, as ACR to its data endpoints.
const STORAGE: &str = "storage.test";

/// A loopback port where nothing listens.
fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// An Entra token as `ACR_HEALTH_AAD_TOKEN` carries it: a JWT with the tenant, and a canary.
fn entra_token(canary: &str) -> String {
    unsigned_jwt(&json!({
        "aud": ACR_AUDIENCE,
        "tid": TENANT_ID,
        "oid": OBJECT_ID,
        "canary": format!("entra-canary-{canary}"),
    }))
}

/// `Basic base64(user:password)`: a password must not leak in this form either.
fn basic_header(user: &str, password: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
}

/// The requests that mention `needle`, by path.
fn paths_mentioning(requests: &[RecordedRequest], needle: &str) -> Vec<String> {
    requests
        .iter()
        .filter(|r| r.mentions(needle))
        .map(|r| r.path.clone())
        .collect()
}

/// The requests of the checks, without the endpoint sweep's `GET /` (checked here to carry no
/// credential).
fn checks_requests(requests: &[RecordedRequest]) -> Vec<RecordedRequest> {
    requests
        .iter()
        .filter(|r| {
            let sweep = r.path == "/";
            assert!(!sweep || r.authorization().is_none(), "{}", r.path);
            !sweep
        })
        .cloned()
        .collect()
}

fn paths(requests: &[RecordedRequest]) -> Vec<String> {
    checks_requests(requests)
        .iter()
        .map(|r| r.path.clone())
        .collect()
}

/// A fake ACR (`example.azurecr.io`, with its token service on the same host) that accepts
/// every token: its `/v2/` answers the challenge once, then 200.
fn fake_acr(ca: &TestCa) -> Arc<FakeRegistry> {
    let registry = FakeRegistry::start_with(Serve::tls(ca).host(ACR));
    registry.on_sequence(
        "/v2/",
        vec![Reply::AcrChallengeToSelf, Reply::ok_without_challenge()],
    );
    Arc::new(registry)
}

/// The real docker-registry behind an ACR front: the front answers `/oauth2/*` with its ACR
/// token service and passes `/v2/` on to the registry, whose token auth has the front's realm,
/// service (`login_server`, as the client addresses the front), issuer and signer. So the
/// whole Entra flow runs on one origin, as on an ACR, and the real registry judges the token.
fn real_registry_behind_a_front(
    ca: &TestCa,
    host: Option<&str>,
) -> (Arc<FakeRegistry>, Arc<RealRegistry>, String) {
    let front = match host {
        Some(host) => FakeRegistry::start_with(Serve::tls(ca).host(host)),
        None => FakeRegistry::start(ca),
    };
    let login_server = match host {
        Some(host) => host.to_owned(),
        None => front.authority(),
    };
    let registry = RealRegistry::builder(ca)
        .token_auth(TokenAuth {
            realm: format!("https://{login_server}/oauth2/token"),
            service: Some(login_server.clone()),
            issuer: front.tokens().issuer(),
            root_cert_bundle_pem: front.tokens().signer_cert_pem(),
        })
        .start();
    front.v2(Reply::forward(&registry.base_url(), ca));
    front.on_prefix("/v2/", Reply::forward(&registry.base_url(), ca));
    // An image for the data probe, `hello:v1`, pushed with a token of the test's own.
    TestImage::new(OCI_MANIFEST).push(
        &registry.base_url(),
        ca,
        Some(&pusher(&front, &login_server, &["hello"])),
        "hello",
        "v1",
    );
    (Arc::new(front), Arc::new(registry), login_server)
}

/// [`real_registry_behind_a_front`] for a test that puts content of its own into the registry
/// before its scenario runs.
struct Fronted {
    ca: Arc<TestCa>,
    front: Arc<FakeRegistry>,
    registry: Arc<RealRegistry>,
    login_server: String,
}

impl Fronted {
    fn start() -> Fronted {
        let ca = Arc::new(TestCa::new());
        let (front, registry, login_server) = real_registry_behind_a_front(&ca, None);
        Fronted {
            ca,
            front,
            registry,
            login_server,
        }
    }

    /// `base`, `ca` and an authorization to push to and delete from `repositories`, for
    /// [`TestImage`]'s pushes.
    fn pushing(&self, repositories: &[&str]) -> (String, &TestCa, String) {
        let authorization = pusher(&self.front, &self.login_server, repositories);
        (self.registry.base_url(), &self.ca, authorization)
    }

    /// `--login-server` of the front with the Entra token `name`; the servers live as long.
    fn scenario(&self, name: &str) -> Scenario {
        Scenario::new()
            .trust(&self.ca)
            .entra(&entra_token(name))
            .login_server(&self.login_server)
            .issued_by(self.front.tokens())
            .keep(self.registry.clone())
            .keep(self.front.clone())
    }
}

/// `Bearer` authorization for the test's own pushes and deletes in `repositories` of the real
/// registry behind `front`.
fn pusher(front: &FakeRegistry, login_server: &str, repositories: &[&str]) -> String {
    let access: Vec<Access> = repositories
        .iter()
        .map(|name| Access {
            kind: "repository".into(),
            name: (*name).into(),
            actions: vec!["pull".into(), "push".into(), "delete".into()],
        })
        .collect();
    let token = front
        .tokens()
        .mint_access_token(login_server, "test-pusher", &access);
    front.tokens().forget_issued();
    format!("Bearer {token}")
}

/// This machine's platform as the probe names it.
fn this_platform() -> &'static str {
    if cfg!(target_arch = "aarch64") {
        "linux/arm64/v8"
    } else {
        "linux/amd64"
    }
}

/// Expectations for the whole Entra flow on `front`: what each request carried.
fn entra_flow_requests(front: &FakeRegistry, entra: &str, service: &str, scope: &str) {
    let requests = checks_requests(&front.requests());
    // The connectivity checks; the data probe's requests follow.
    assert_eq!(
        paths(&requests)[..4],
        ["/v2/", "/oauth2/exchange", "/oauth2/token", "/v2/"]
    );
    assert_eq!(requests[0].authorization(), None);
    let exchange = &requests[1];
    assert_eq!(exchange.method, "POST");
    assert_eq!(
        exchange.form_names(),
        ["grant_type", "service", "tenant", "access_token"]
    );
    assert_eq!(exchange.form_field("grant_type"), Some("access_token"));
    assert_eq!(exchange.form_field("service"), Some(service));
    assert_eq!(exchange.form_field("tenant"), Some(TENANT_ID));
    assert_eq!(exchange.form_field("access_token"), Some(entra));
    let refresh = front.tokens().issued_refresh_tokens();
    assert_eq!(refresh.len(), 1);
    // The refresh token went to the token endpoint only.
    for request in requests.iter().filter(|r| r.mentions(&refresh[0])) {
        assert_eq!(request.path, "/oauth2/token");
    }
    let token = &requests[2];
    assert_eq!(token.form_field("grant_type"), Some("refresh_token"));
    assert_eq!(token.form_field("service"), Some(service));
    assert_eq!(token.form_fields("scope"), [scope]);
    assert_eq!(token.form_field("refresh_token"), Some(refresh[0].as_str()));
    let access = front.tokens().issued_access_tokens();
    assert!(!access.is_empty());
    assert_eq!(
        requests[3].authorization(),
        Some(format!("Bearer {}", access[0]).as_str())
    );
    // The Entra token went to the exchange and nowhere else.
    assert_eq!(paths_mentioning(&requests, entra), ["/oauth2/exchange"]);
}

mod scenario {
    use super::*;

    // --- The real docker-registry -------------------------------------------------------------

    /// `--login-server localhost:P`: challenge, Entra exchange, access token, and the real
    /// registry accepts the token. Every step OK, with its time (`--verbose`).
    pub fn real_registry_happy_path() -> Scenario {
        let ca = Arc::new(TestCa::new());
        let (front, registry, login_server) = real_registry_behind_a_front(&ca, None);
        let entra = entra_token("happy");
        let (f, e, ls) = (front.clone(), entra.clone(), login_server.clone());
        Scenario::new()
            .trust(&ca)
            .entra(&entra)
            .login_server(&login_server)
            .args(&["--verbose"])
            .issued_by(front.tokens())
            .keep(registry)
            .expect(move |run| {
                run.all_registry_ok();
                run.line(&format!("Login server: {ls} (from --login-server)"));
                run.line_starting("DNS lookup to localhost at IP ");
                run.line(&format!("Challenge endpoint https://{ls}/v2/ : OK"));
                run.line(&format!("Fetch refresh token for registry '{ls}' : OK"));
                run.line("Microsoft Entra token from ACR_HEALTH_AAD_TOKEN.");
                run.line(&format!("Fetch access token for registry '{ls}' : OK"));
                run.line(&format!("Registry '{ls}' accepts the token : OK"));
                // Every registry line carries its time.
                // (The check lines, not the details and requests indented under them.)
                let lines = run.stderr.lines();
                for line in lines.filter(|l| l.contains(&ls) && !l.starts_with(' ')) {
                    assert_ne!(without_timing(line), line, "no time on {line:?}");
                }
                assert!(run.stderr.contains(" checks in "), "{}", run.stderr);
                entra_flow_requests(&f, &e, &ls, "registry:catalog:*");
                // The data probe, against the real registry: the catalog with the catalog
                // token, a pull token for the repository, its first tag, the manifest, and the
                // config blob, which this registry serves itself.
                let image = TestImage::new(OCI_MANIFEST);
                run.line(&format!("Read manifest of hello:v1 ({OCI_MANIFEST}) : OK"));
                run.line(&format!(
                    "Download blob {} from {ls} : OK",
                    &image.config_digest()[..19]
                ));
                run.detail(
                    "registry.blob",
                    "The login server serves the download itself.",
                );
                run.detail(
                    "registry.blob",
                    &format!(
                        "Digest {} verified ({} bytes).",
                        image.config_digest(),
                        image.config.len()
                    ),
                );
                let requests = checks_requests(&f.requests());
                assert_eq!(
                    paths(&requests)[4..],
                    [
                        "/v2/_catalog".to_owned(),
                        "/oauth2/token".to_owned(),
                        "/v2/hello/tags/list".to_owned(),
                        "/v2/hello/manifests/v1".to_owned(),
                        format!("/v2/hello/blobs/{}", image.config_digest()),
                    ]
                );
                assert_eq!(
                    requests[5].form_field("scope"),
                    Some("repository:hello:pull")
                );
                let access = f.tokens().issued_access_tokens();
                assert_eq!(access.len(), 2);
                assert_eq!(
                    requests[4].authorization(),
                    Some(format!("Bearer {}", access[0]).as_str())
                );
                for request in &requests[6..] {
                    assert_eq!(
                        request.authorization(),
                        Some(format!("Bearer {}", access[1]).as_str())
                    );
                }
            })
    }

    /// `-n example --resolve example.azurecr.io:443:127.0.0.1:P`: the ACR name path, with the
    /// real registry behind the front.
    pub fn real_registry_by_acr_name() -> Scenario {
        let ca = Arc::new(TestCa::new());
        let (front, registry, _) = real_registry_behind_a_front(&ca, Some(ACR));
        let entra = entra_token("acr-name");
        let (f, e, port) = (front.clone(), entra.clone(), front.port());
        Scenario::new()
            .trust(&ca)
            .entra(&entra)
            .acr(front.port())
            .issued_by(front.tokens())
            .keep(registry)
            .expect(move |run| {
                run.all_registry_ok();
                run.line(&format!(
                    "Login server: {ACR} (the registry name with the AzureCloud suffix)"
                ));
                run.line(&format!("DNS lookup to {ACR} at IP 127.0.0.1 : OK"));
                run.line(&format!(
                    "Not looked up: --resolve sends {ACR} to 127.0.0.1:{port}."
                ));
                run.line(&format!("Challenge endpoint https://{ACR}/v2/ : OK"));
                run.line(&format!("Registry '{ACR}' accepts the token : OK"));
                entra_flow_requests(&f, &e, ACR, "registry:catalog:*");
                for request in f.requests() {
                    assert_eq!(request.sni.as_deref(), Some(ACR));
                    assert_eq!(request.authority.as_deref(), Some(ACR));
                }
            })
    }

    /// The token service on another host than the registry (the Docker token flow): no refresh
    /// token is needed, the access token is asked for anonymously, and the registry accepts it.
    pub fn real_registry_with_a_token_service_elsewhere() -> Scenario {
        let ca = Arc::new(TestCa::new());
        let tokens = Arc::new(AcrTokenServer::start(&ca));
        let registry = RealRegistry::start_token(&ca, &tokens);
        let login_server = registry.login_server();
        let entra = entra_token("elsewhere");
        let (t, e, ls) = (tokens.clone(), entra.clone(), login_server.clone());
        Scenario::new()
            .trust(&ca)
            .entra(&entra)
            .login_server(&login_server)
            .issued_by(tokens.tokens())
            .keep(registry)
            .keep(tokens.clone())
            .expect(move |run| {
                for check in REGISTRY_CHECKS {
                    let want = if check == "registry.refresh_token" {
                        "skipped"
                    } else {
                        "ok"
                    };
                    assert_eq!(run.status(check), want, "{check}:\n{}", run.stderr);
                }
                run.line("Refresh token: not needed; this registry's token service issues access tokens directly.");
                run.detail(
                    "registry.access_token",
                    "No credentials for this registry: asked for an anonymous token.",
                );
                run.line(&format!("Registry '{ls}' accepts the token : OK"));
                let requests = t.requests();
                assert_eq!(requests.len(), 1);
                assert_eq!(requests[0].method, "GET");
                assert_eq!(requests[0].query_param("service"), Some(ls.clone()));
                assert_eq!(
                    requests[0].query_param("scope").as_deref(),
                    Some("registry:catalog:*")
                );
                assert_eq!(requests[0].authorization(), None);
                // Not an ACR's token service: the Entra token is not sent there.
                assert!(!t.saw(&e));
                assert_eq!(t.issued_access_tokens().len(), 1);
            })
    }

    /// With `--username` and `--password-stdin`, the password is still not sent to a token
    /// service on another host; it asks anonymously and says so.
    pub fn real_registry_credentials_withheld_from_another_host() -> Scenario {
        let ca = Arc::new(TestCa::new());
        let tokens = Arc::new(AcrTokenServer::start(&ca));
        let registry = RealRegistry::start_token(&ca, &tokens);
        let t = tokens.clone();
        let realm = tokens.realm();
        Scenario::new()
            .trust(&ca)
            .login_server(&registry.login_server())
            .args(&["--username", "testuser", "--password-stdin"])
            .stdin(&format!("{PASSWORD}\n"))
            .secret(PASSWORD)
            .secret(&basic_header("testuser", PASSWORD))
            .issued_by(tokens.tokens())
            .keep(registry)
            .keep(tokens.clone())
            .expect(move |run| {
                assert_eq!(run.status("registry.access_token"), "ok");
                assert_eq!(run.status("registry.token_accepted"), "ok");
                run.detail(
                    "registry.access_token",
                    &format!("The token service {realm} is not on the registry's own host over HTTPS; acr-health does not send your credentials there and asks anonymously."),
                );
                assert!(!t.saw(PASSWORD));
                assert_eq!(t.requests()[0].authorization(), None);
            })
    }

    /// The real registry refuses a token whose issuer it does not trust.
    pub fn real_registry_rejects_the_token() -> Scenario {
        let ca = Arc::new(TestCa::new());
        let (front, registry, login_server) = real_registry_behind_a_front(&ca, None);
        front
            .tokens()
            .set_issuer("not the issuer the registry trusts");
        let entra = entra_token("rejected");
        let (f, ls) = (front.clone(), login_server.clone());
        Scenario::new()
            .trust(&ca)
            .entra(&entra)
            .login_server(&login_server)
            .exit(1)
            .issued_by(front.tokens())
            .keep(registry)
            .expect(move |run| {
                run.failed_at(
                    "registry.token_accepted",
                    "CONNECTIVITY_TOKEN_REJECTED_ERROR",
                );
                assert_eq!(
                    run.check("registry.token_accepted")["message"],
                    format!(
                        "Registry '{ls}' did not accept the token or credentials it was given."
                    )
                );
                run.detail("registry.token_accepted", "The registry answered HTTP 401.");
                run.detail("registry.token_accepted", "invalid_token");
                // It was the token the front issued that the registry refused.
                let access = f.tokens().issued_access_tokens();
                assert_eq!(access.len(), 1);
                assert_eq!(
                    f.requests_to("/v2/")[1].authorization(),
                    Some(format!("Bearer {}", access[0]).as_str())
                );
            })
    }

    fn htpasswd_registry(ca: &TestCa) -> RealRegistry {
        RealRegistry::start_htpasswd(ca, "alice", PASSWORD)
    }

    /// Basic authentication with the wrong password (`--password-stdin`).
    pub fn real_registry_wrong_password() -> Scenario {
        let ca = Arc::new(TestCa::new());
        let registry = htpasswd_registry(&ca);
        let wrong = "wrong-pw-canary-31c8";
        let ls = registry.login_server();
        Scenario::new()
            .trust(&ca)
            .login_server(&registry.login_server())
            .args(&["--username", "alice", "--password-stdin"])
            .stdin(&format!("{wrong}\n"))
            .secret(wrong)
            .secret(&basic_header("alice", wrong))
            .exit(1)
            .keep(registry)
            .expect(move |run| {
                run.failed_at(
                    "registry.token_accepted",
                    "CONNECTIVITY_TOKEN_REJECTED_ERROR",
                );
                run.detail(
                    "registry.challenge",
                    "The registry asks for basic authentication.",
                );
                for check in ["registry.refresh_token", "registry.access_token"] {
                    assert_eq!(run.status(check), "skipped");
                }
                run.line("Refresh token: not needed; the registry uses basic authentication.");
                run.line(&format!("Challenge endpoint https://{ls}/v2/ : OK"));
                run.detail("registry.token_accepted", "The registry answered HTTP 401.");
                run.detail(
                    "registry.token_accepted",
                    "UNAUTHORIZED: authentication required",
                );
            })
    }

    /// Basic authentication with the right password.
    pub fn real_registry_right_password() -> Scenario {
        let ca = Arc::new(TestCa::new());
        let registry = htpasswd_registry(&ca);
        let ls = registry.login_server();
        Scenario::new()
            .trust(&ca)
            .login_server(&registry.login_server())
            .args(&["--username", "alice", "--password-stdin"])
            .stdin(&format!("{PASSWORD}\n"))
            .secret(PASSWORD)
            .secret(&basic_header("alice", PASSWORD))
            .keep(registry)
            .expect(move |run| {
                assert_eq!(run.status("registry.token_accepted"), "ok");
                run.line(&format!("Registry '{ls}' accepts the credentials : OK"));
                run.detail(
                    "registry.token_accepted",
                    &format!("Credentials for {ls} from --username and --password-stdin."),
                );
            })
    }

    /// Basic credentials from docker's `config.json` (`auths`), as `docker login` left them.
    pub fn real_registry_password_from_docker_config() -> Scenario {
        let ca = Arc::new(TestCa::new());
        let registry = htpasswd_registry(&ca);
        let scenario = Scenario::new();
        let auth = basic_header("alice", PASSWORD);
        scenario.sandbox.home_file(
            ".docker/config.json",
            json!({"auths": {registry.login_server(): {"auth": auth}}}).to_string(),
        );
        let ls = registry.login_server();
        scenario
            .trust(&ca)
            .login_server(&registry.login_server())
            .secret(PASSWORD)
            .secret(&auth)
            .keep(registry)
            .expect(move |run| {
                assert_eq!(run.status("registry.token_accepted"), "ok");
                run.line(&format!("Registry '{ls}' accepts the credentials : OK"));
                run.detail(
                    "registry.token_accepted",
                    &format!("Credentials for {ls} from [TMP]/home/.docker/config.json (auths)."),
                );
            })
    }

    /// With podman as the client, its credentials: `REGISTRY_AUTH_FILE` (an `auth.json`, as
    /// `podman login` writes it) rather than docker's `config.json`, which holds other ones.
    pub fn real_registry_password_from_podman_auth_file() -> Scenario {
        let ca = Arc::new(TestCa::new());
        let registry = htpasswd_registry(&ca);
        let scenario = Scenario::new();
        let auth = basic_header("alice", PASSWORD);
        let ls = registry.login_server();
        let wrong = basic_header("alice", "not-the-password");
        scenario.sandbox.home_file(
            ".docker/config.json",
            json!({"auths": {&ls: {"auth": wrong}}}).to_string(),
        );
        let file = scenario.sandbox.home_file(
            "podman/auth.json",
            json!({"auths": {&ls: {"auth": auth}}}).to_string(),
        );
        scenario.sandbox.tool(
            "podman",
            r#"case "$1" in
  version) echo '{"Client":{"Version":"4.3.1","OsArch":"linux/amd64"}}' ;;
  pull) echo "d2c94e258dcb" ;;
  *) exit 64 ;;
esac"#,
        );
        scenario
            .env("DOCKER_COMMAND", "podman")
            .env("REGISTRY_AUTH_FILE", &file)
            .trust(&ca)
            .login_server(&ls)
            .secret(PASSWORD)
            .secret(&auth)
            .keep(registry)
            .expect(move |run| {
                assert_eq!(run.status("registry.token_accepted"), "ok");
                run.line(&format!("Registry '{ls}' accepts the credentials : OK"));
                run.detail(
                    "registry.token_accepted",
                    &format!("Credentials for {ls} from [TMP]/home/podman/auth.json (auths)."),
                );
            })
    }

    /// A `config.json` that is not JSON: said, and the registry asks for credentials it never got.
    pub fn real_registry_docker_config_unreadable() -> Scenario {
        let ca = Arc::new(TestCa::new());
        let registry = htpasswd_registry(&ca);
        let scenario = Scenario::new();
        // Cut short after the credentials: they must not show in what is said about the file.
        let auth = basic_header("alice", PASSWORD);
        scenario.sandbox.home_file(
            ".docker/config.json",
            format!(
                "{{\"auths\": {{\"{}\": {{\"auth\": \"{auth}\"",
                registry.login_server()
            ),
        );
        scenario
            .trust(&ca)
            .login_server(&registry.login_server())
            .secret(&auth)
            .keep(registry)
            .expect(move |run| {
                assert_eq!(run.status("registry.token_accepted"), "skipped");
                let note = run.detail_starting(
                    "registry.token_accepted",
                    "[TMP]/home/.docker/config.json could not be read (",
                );
                assert!(note.ends_with("so no credentials came from it."), "{note}");
            })
    }

    /// Basic credentials from docker's credential helper (`credsStore`), as Docker Desktop keeps
    /// them: the helper gets the host on stdin, and its answer never reaches the report.
    pub fn real_registry_password_from_credential_helper() -> Scenario {
        let ca = Arc::new(TestCa::new());
        let registry = htpasswd_registry(&ca);
        let ls = registry.login_server();
        let scenario = Scenario::new();
        scenario.sandbox.home_file(
            ".docker/config.json",
            r#"{"auths": {}, "credsStore": "fake"}"#,
        );
        let asked = scenario.sandbox.path("home").join("helper-was-asked-for");
        scenario.sandbox.tool(
            "docker-credential-fake",
            &format!(
                r#"[ "$1" = get ] || exit 64
read -r host
printf '%s' "$host" > '{asked}'
if [ "$host" = '{ls}' ]; then
  printf '{{"ServerURL":"%s","Username":"alice","Secret":"{PASSWORD}"}}\n' "$host"
else
  echo "credentials not found in native keychain"; exit 1
fi"#,
                asked = asked.display()
            ),
        );
        scenario
            .trust(&ca)
            .login_server(&ls)
            .secret(PASSWORD)
            .secret(&basic_header("alice", PASSWORD))
            .keep(registry)
            .expect(move |run| {
                assert_eq!(std::fs::read_to_string(&asked).unwrap(), ls);
                assert_eq!(run.status("registry.token_accepted"), "ok");
                run.line(&format!("Registry '{ls}' accepts the credentials : OK"));
                run.line(&format!(
                    "Credentials for {ls} from docker's credential helper docker-credential-fake."
                ));
            })
    }

    /// A credential helper for this host (`credHelpers`) that has nothing for it: the check is
    /// skipped, the note names the helper and the fix.
    pub fn real_registry_credential_helper_without_credentials() -> Scenario {
        let ca = Arc::new(TestCa::new());
        let registry = htpasswd_registry(&ca);
        let ls = registry.login_server();
        let scenario = Scenario::new();
        scenario.sandbox.home_file(
            ".docker/config.json",
            json!({"auths": {}, "credHelpers": {ls.clone(): "empty"}}).to_string(),
        );
        scenario.sandbox.tool(
            "docker-credential-empty",
            "echo \"credentials not found in native keychain\"; exit 1",
        );
        scenario
            .trust(&ca)
            .login_server(&ls)
            .secret(PASSWORD)
            .keep(registry)
            .expect(move |run| {
                assert_eq!(run.status("registry.token_accepted"), "skipped");
                run.line(&format!(
                    "docker's credential helper docker-credential-empty has no user and password for {ls}; sign in with `docker login {ls}`."
                ));
            })
    }

    /// `credsStore` names a helper that is not installed: said, with the reason.
    pub fn real_registry_credential_helper_missing() -> Scenario {
        let ca = Arc::new(TestCa::new());
        let registry = htpasswd_registry(&ca);
        let ls = registry.login_server();
        let scenario = Scenario::new();
        scenario
            .sandbox
            .home_file(".docker/config.json", r#"{"credsStore": "desktop"}"#);
        scenario
            .trust(&ca)
            .login_server(&ls)
            .secret(PASSWORD)
            .keep(registry)
            .expect(move |run| {
                assert_eq!(run.status("registry.token_accepted"), "skipped");
                assert!(
                    run.stderr.contains(&format!(
                        "docker's credential helper docker-credential-desktop for {ls} could not be run: "
                    )),
                    "{}",
                    run.stderr
                );
            })
    }

    /// Basic authentication and no credentials: nothing to present, and the report says so.
    pub fn real_registry_basic_without_credentials() -> Scenario {
        let ca = Arc::new(TestCa::new());
        let registry = htpasswd_registry(&ca);
        Scenario::new()
            .trust(&ca)
            .login_server(&registry.login_server())
            .secret(PASSWORD)
            .keep(registry)
            .expect(|run| {
                assert_eq!(run.status("registry.challenge"), "ok");
                assert_eq!(run.status("registry.token_accepted"), "skipped");
                run.line("Token accepted: not checked; basic authentication needs credentials (--username with --password-stdin, or docker login).");
            })
    }

    // --- Fakes: what the challenge can go wrong with ------------------------------------------

    /// A fake ACR whose `/v2/` answers `reply`, and the scenario that runs against it.
    fn acr_answering(reply: Reply, name: &str) -> (Scenario, Arc<FakeRegistry>) {
        let ca = Arc::new(TestCa::new());
        let registry = fake_acr(&ca);
        registry.v2(reply);
        (against(&ca, &registry, name).exit(1), registry)
    }

    /// A run against the fake ACR `registry` (trusting `ca`) with the Entra token `name`.
    fn against(ca: &Arc<TestCa>, registry: &Arc<FakeRegistry>, name: &str) -> Scenario {
        Scenario::new()
            .trust(ca)
            .entra(&entra_token(name))
            .acr(registry.port())
            .issued_by(registry.tokens())
            .keep(registry.clone())
    }

    /// Nothing beyond `/v2/` was asked of `registry`, and nobody saw the Entra token.
    fn only_the_challenge(registry: &FakeRegistry, entra: &str) {
        assert_eq!(paths(&registry.requests()), ["/v2/"]);
        assert!(!registry.saw(entra));
        assert!(registry.tokens().issued_refresh_tokens().is_empty());
    }

    pub fn forbidden() -> Scenario {
        let (scenario, registry) = acr_answering(Reply::firewall_denied(), "forbidden");
        let entra = entra_token("forbidden");
        scenario.expect(move |run| {
            run.failed_at("registry.challenge", "CONNECTIVITY_FORBIDDEN_ERROR");
            assert_eq!(
                run.check("registry.challenge")["message"],
                format!("Registry '{ACR}' refuses access from this network (HTTP 403). To see its firewall rules, run 'az acr show --query networkRuleSet --name example'.")
            );
            run.detail(
                "registry.challenge",
                &format!("DENIED: {ACR_FIREWALL_MESSAGE}"),
            );
            // The registry's own words come first, right under the message.
            assert_eq!(
                run.details("registry.challenge")[0],
                format!("DENIED: {ACR_FIREWALL_MESSAGE}")
            );
            only_the_challenge(&registry, &entra);
        })
    }

    /// The registry's clock (its `Date` header) is 20 minutes ahead of this machine's: the
    /// challenge still passes, and says by how much and what it breaks; and the certificate it
    /// saw.
    pub fn registry_clock_ahead() -> Scenario {
        let ca = Arc::new(TestCa::new());
        let registry = fake_acr(&ca);
        let later = std::time::SystemTime::now() + Duration::from_secs(20 * 60);
        registry.on_sequence(
            "/v2/",
            vec![
                Reply::acr_challenge(&format!("https://{ACR}/oauth2/token"), ACR)
                    .header("date", &httpdate::fmt_http_date(later)),
                Reply::ok_without_challenge(),
            ],
        );
        against(&ca, &registry, "clock").expect(|run| {
                run.all_registry_ok();
                run.detail_starting(
                    "registry.challenge",
                    "This machine's clock is 20 min behind the registry's (its Date header)",
                );
                let skew = run.check("registry.challenge")["clock_skew_seconds"]
                    .as_i64()
                    .unwrap();
                assert!((-1205..=-1195).contains(&skew), "{skew}");
                // The certificate seen: the test CA's, trusted only through REQUESTS_CA_BUNDLE,
                // which for an ACR means something intercepts TLS.
                let certificate = &run.check("registry.challenge")["certificate"];
                assert_eq!(certificate["subject"], ACR);
                assert_eq!(certificate["issuer"], "acr-health test CA");
                assert_eq!(certificate["http_version"], "HTTP/2.0");
                assert_eq!(certificate["tls_version"], "TLS 1.3");
                assert_eq!(certificate["alpn"], "h2");
                run.detail_starting(
                    "registry.challenge",
                    &format!("Certificate for {ACR}, issued by acr-health test CA, valid until "),
                );
                run.detail_starting(
                    "registry.challenge",
                    "acr-health test CA is not the public authority that issues Azure's registry certificates",
                );
            })
    }

    /// docker's `az acr login` token for the registry has expired: the Entra flow still works
    /// (these checks do not use it), and the report says docker pull will be refused and how to
    /// renew it, never the token.
    pub fn docker_login_expired() -> Scenario {
        let ca = Arc::new(TestCa::new());
        let registry = fake_acr(&ca);
        let token = unsigned_jwt(&json!({"exp": 1_600_000_000, "canary": "docker-login-canary"}));
        let auth = basic_header("00000000-0000-0000-0000-000000000000", &token);
        let scenario = against(&ca, &registry, "docker-login");
        scenario.sandbox.home_file(
            ".docker/config.json",
            json!({"auths": {ACR: {"auth": auth}}, "credHelpers": {"other.azurecr.io": "desktop"}})
                .to_string(),
        );
        scenario
            .secret(&token)
            .secret(&auth)
            .expect(|run| {
                run.all_registry_ok();
                run.detail(
                    "registry.refresh_token",
                    "docker's token for example.azurecr.io expired on 2020-09-13 12:26 UTC, so docker pull from it is refused: renew it with `az acr login --name example`.",
                );
            })
    }

    /// docker keeps a configuration, but nothing for this registry.
    pub fn docker_login_missing() -> Scenario {
        let ca = Arc::new(TestCa::new());
        let registry = fake_acr(&ca);
        let scenario = against(&ca, &registry, "docker-login-missing");
        scenario
            .sandbox
            .home_file(".docker/config.json", json!({"auths": {}}).to_string());
        scenario.expect(|run| {
                run.all_registry_ok();
                run.detail(
                    "registry.refresh_token",
                    "docker keeps no credentials for example.azurecr.io, so docker pull from it is refused: sign in with `az acr login --name example`.",
                );
            })
    }

    pub fn too_many_requests() -> Scenario {
        let (scenario, registry) = acr_answering(Reply::too_many_requests(7), "throttled");
        let entra = entra_token("throttled");
        scenario.expect(move |run| {
            run.failed_at("registry.challenge", "CONNECTIVITY_TOOMANYREQUESTS_ERROR");
            run.detail(
                "registry.challenge",
                "The registry asks to wait 7 s (Retry-After).",
            );
            only_the_challenge(&registry, &entra);
        })
    }

    pub fn unauthorized_without_a_challenge() -> Scenario {
        let (scenario, registry) =
            acr_answering(Reply::unauthorized_without_challenge(), "no-challenge");
        let entra = entra_token("no-challenge");
        scenario.expect(move |run| {
            run.failed_at("registry.challenge", "CONNECTIVITY_CHALLENGE_ERROR");
            assert_eq!(
                run.details("registry.challenge")[0],
                "/v2/ answered 401 without a WWW-Authenticate header."
            );
            only_the_challenge(&registry, &entra);
        })
    }

    pub fn basic_challenge_on_an_acr() -> Scenario {
        let (scenario, registry) =
            acr_answering(Reply::basic_challenge("Registry Realm"), "basic-on-acr");
        let entra = entra_token("basic-on-acr");
        scenario.expect(move |run| {
            run.failed_at("registry.refresh_token", "CONNECTIVITY_AAD_LOGIN_ERROR");
            // As az: the challenge was answered, and its line says so before the login's error.
            assert_eq!(run.status("registry.challenge"), "ok", "{}", run.stderr);
            run.line_starting("Challenge endpoint https://");
            assert_eq!(
                run.details("registry.refresh_token")[0],
                "The registry asks for Basic authentication, not for a Bearer token with realm and service."
            );
            only_the_challenge(&registry, &entra);
        })
    }

    /// The challenge names a token service on another host: reported, and the Entra token is
    /// not sent there (nor anywhere).
    pub fn realm_on_another_host() -> Scenario {
        let ca = Arc::new(TestCa::new());
        let elsewhere = Arc::new(AcrTokenServer::start(&ca));
        let registry = fake_acr(&ca);
        registry.v2(Reply::acr_challenge(&elsewhere.realm(), ACR));
        let entra = entra_token("realm-elsewhere");
        let (r, o, e) = (registry.clone(), elsewhere.clone(), entra.clone());
        Scenario::new()
            .trust(&ca)
            .entra(&entra)
            .acr(registry.port())
            .exit(1)
            .issued_by(elsewhere.tokens())
            .keep(registry.clone())
            .keep(elsewhere.clone())
            .expect(move |run| {
                run.failed_at("registry.refresh_token", "CONNECTIVITY_AAD_LOGIN_ERROR");
                assert_eq!(
                    run.details("registry.refresh_token")[0],
                    format!("The challenge sends the token request to {}, which is not this registry's own token endpoint over HTTPS; acr-health does not send your Microsoft Entra token there.", o.realm())
                );
                assert!(o.requests().is_empty(), "{:?}", paths(&o.requests()));
                assert_eq!(o.connections(), 0);
                assert!(!o.saw(&e));
                only_the_challenge(&r, &e);
            })
    }

    /// The realm is the registry's own host, but over plain HTTP: refused the same way.
    pub fn realm_over_plain_http() -> Scenario {
        let realm = format!("http://{ACR}/oauth2/token");
        let (scenario, registry) = acr_answering(Reply::acr_challenge(&realm, ACR), "realm-http");
        let entra = entra_token("realm-http");
        scenario.expect(move |run| {
            run.failed_at("registry.refresh_token", "CONNECTIVITY_AAD_LOGIN_ERROR");
            assert_eq!(
                run.details("registry.refresh_token")[0],
                format!("The challenge sends the token request to {realm}, which is not this registry's own token endpoint over HTTPS; acr-health does not send your Microsoft Entra token there.")
            );
            only_the_challenge(&registry, &entra);
            assert_eq!(registry.connections(), 1);
        })
    }

    /// A redirect is not followed (to plain HTTP here): it is an unexpected answer.
    pub fn redirect_is_not_followed() -> Scenario {
        let plain = Arc::new(FakeRegistry::start_plain());
        let (scenario, registry) =
            acr_answering(Reply::redirect(307, &plain.url("/v2/")), "redirect");
        let entra = entra_token("redirect");
        let p = plain.clone();
        scenario.keep(plain).expect(move |run| {
            run.failed_at("registry.challenge", "CONNECTIVITY_CHALLENGE_ERROR");
            assert_eq!(
                run.details("registry.challenge")[0],
                "/v2/ answered HTTP 307 instead of 401 with a challenge."
            );
            assert_eq!(p.connections(), 0);
            only_the_challenge(&registry, &entra);
        })
    }

    /// `/v2/` reads the request and never answers: the run ends at `--timeout`.
    pub fn registry_never_answers() -> Scenario {
        let (scenario, registry) = acr_answering(Reply::hang(), "hang");
        scenario.timeout(HANG_TIMEOUT).expect(move |run| {
            run.failed_at("registry.challenge", "CONNECTIVITY_CHALLENGE_ERROR");
            assert_eq!(
                run.details("registry.challenge")[0],
                format!("No answer within {HANG_TIMEOUT} s.")
            );
            assert!(run.elapsed >= Duration::from_secs(HANG_TIMEOUT));
            assert_eq!(registry.requests_to("/v2/").len(), 1);
        })
    }

    /// A listener that never completes the TLS handshake.
    pub fn tls_handshake_never_completes() -> Scenario {
        let silent = Arc::new(SilentListener::start());
        let ca = Arc::new(TestCa::new());
        let s = silent.clone();
        Scenario::new()
            .trust(&ca)
            .entra(&entra_token("silent"))
            .acr(silent.port())
            .exit(1)
            .timeout(HANG_TIMEOUT)
            .keep(silent)
            .expect(move |run| {
                run.failed_at("registry.challenge", "CONNECTIVITY_CHALLENGE_ERROR");
                assert_eq!(
                    run.details("registry.challenge")[0],
                    format!("No answer within {HANG_TIMEOUT} s.")
                );
                assert!(run.elapsed >= Duration::from_secs(HANG_TIMEOUT));
                assert_eq!(s.accepted(), 1);
            })
    }

    /// The exchange never answers.
    pub fn exchange_never_answers() -> Scenario {
        let ca = Arc::new(TestCa::new());
        let registry = fake_acr(&ca);
        registry.on("/oauth2/exchange", Reply::hang());
        Scenario::new()
            .trust(&ca)
            .entra(&entra_token("exchange-hang"))
            .acr(registry.port())
            .exit(1)
            .timeout(HANG_TIMEOUT)
            .keep(registry)
            .expect(|run| {
                run.failed_at("registry.refresh_token", "CONNECTIVITY_REFRESH_TOKEN_ERROR");
                run.detail(
                    "registry.refresh_token",
                    &format!("No answer within {HANG_TIMEOUT} s."),
                );
            })
    }

    /// An 8 GiB answer: not read beyond 1 MiB, and quickly over.
    pub fn huge_body() -> Scenario {
        let (scenario, _registry) = acr_answering(Reply::huge_body(8 << 30), "huge");
        scenario.expect(|run| {
            run.failed_at("registry.challenge", "CONNECTIVITY_CHALLENGE_ERROR");
            assert_eq!(
                run.details("registry.challenge")[0],
                "The answer is larger than 1 MiB; it was not read."
            );
            assert!(
                run.elapsed < Duration::from_secs(SCENARIO_TIMEOUT),
                "{:?}",
                run.elapsed
            );
        })
    }

    /// An answer that never ends.
    pub fn endless_body() -> Scenario {
        let (scenario, _registry) = acr_answering(Reply::endless_body(), "endless");
        scenario.expect(|run| {
            run.failed_at("registry.challenge", "CONNECTIVITY_CHALLENGE_ERROR");
            run.detail(
                "registry.challenge",
                "The answer is larger than 1 MiB; it was not read.",
            );
            assert!(
                run.elapsed < Duration::from_secs(SCENARIO_TIMEOUT),
                "{:?}",
                run.elapsed
            );
        })
    }

    // --- Fakes: certificates ------------------------------------------------------------------

    /// A registry presenting `leaf` while the run trusts `ca`: SSL_ERROR with `reason`, and
    /// no request made.
    fn certificate(
        ca: TestCa,
        leaf: Leaf,
        lead: &'static str,
        reason: &str,
        name: &str,
    ) -> Scenario {
        let ca = Arc::new(ca);
        let registry = Arc::new(FakeRegistry::start_with(Serve::leaf(leaf)));
        let r = registry.clone();
        let reason = reason.to_owned();
        Scenario::new()
            .trust(&ca)
            .entra(&entra_token(name))
            .acr(registry.port())
            .exit(1)
            .keep(registry)
            .expect(move |run| {
                run.failed_at("registry.challenge", "CONNECTIVITY_SSL_ERROR");
                assert_eq!(
                    run.check("registry.challenge")["message"],
                    format!(
                        "No secure connection could be made to registry '{ACR}'. Is a proxy in the way?"
                    )
                );
                let detail = &run.details("registry.challenge")[0];
                assert!(
                    detail.starts_with(lead) && detail.contains(&reason),
                    "{reason:?} not in {detail:?}"
                );
                run.detail_starting("registry.challenge", "Trusted certificate authorities: ");
                assert!(r.requests().is_empty());
                assert!(wait_until(Duration::from_secs(2), || r.tls_failures() == 1));
            })
    }

    pub fn expired_certificate() -> Scenario {
        let ca = TestCa::new();
        let leaf = ca.expired_leaf(&[ACR]);
        certificate(ca, leaf, "The certificate expired on ", " UTC.", "expired")
    }

    pub fn certificate_for_another_name() -> Scenario {
        let ca = TestCa::new();
        let leaf = ca.wrong_name_leaf();
        let reason = format!("The certificate is for {WRONG_HOST}, not for {ACR}.");
        certificate(ca, leaf, "The certificate is for ", &reason, "wrong-name")
    }

    pub fn untrusted_certificate_authority() -> Scenario {
        let leaf = Leaf::self_signed(&[ACR]);
        certificate(
            TestCa::new(),
            leaf,
            "The certificate is issued by an authority this machine does not trust (",
            "UnknownIssuer",
            "untrusted",
        )
    }

    /// `openssl req -x509`'s certificate (CA:TRUE) that this machine does not trust: said in
    /// words, with what to do.
    pub fn untrusted_openssl_req_x509_certificate() -> Scenario {
        certificate(
            TestCa::new(),
            Leaf::openssl_req_x509(&[ACR]),
            "The server presents a CA certificate (CA:TRUE, as openssl req -x509 makes them) as its own, and this machine does not trust that certificate itself.",
            "or give the server a certificate without CA:TRUE.",
            "untrusted-x509",
        )
    }

    /// The real registry with `openssl req -x509`'s certificate (CA:TRUE), trusted through
    /// `REQUESTS_CA_BUNDLE`: accepted, as curl and az accept it.
    pub fn real_registry_with_a_trusted_openssl_req_x509_certificate() -> Scenario {
        let leaf = Leaf::openssl_req_x509(&["localhost", "127.0.0.1"]);
        let bundle = tempfile::tempdir().unwrap();
        let (certificate, _) = leaf.write(bundle.path(), "registry");
        let registry = RealRegistry::builder(&TestCa::new()).leaf(leaf).start();
        Scenario::new()
            .env("REQUESTS_CA_BUNDLE", &certificate)
            .entra(&entra_token("trusted-x509"))
            .login_server(&registry.login_server())
            .keep(registry)
            .keep(bundle)
            .expect(|run| {
                assert_eq!(run.status("registry.challenge"), "ok", "{}", run.stderr);
                assert_eq!(run.status("registry.manifest"), "skipped", "{}", run.stderr);
            })
    }

    // --- Fakes: the token service -------------------------------------------------------------

    /// A fake ACR whose token service is set up by `setup`.
    fn acr_tokens(name: &str, setup: impl FnOnce(&AcrTokens)) -> (Scenario, Arc<FakeRegistry>) {
        let ca = Arc::new(TestCa::new());
        let registry = fake_acr(&ca);
        setup(registry.tokens());
        let scenario = Scenario::new()
            .trust(&ca)
            .entra(&entra_token(name))
            .acr(registry.port())
            .exit(1)
            .issued_by(registry.tokens())
            .keep(registry.clone());
        (scenario, registry)
    }

    /// The exchange refuses the Entra token: the status and the registry's code and message.
    pub fn exchange_refuses_the_entra_token() -> Scenario {
        let entra = entra_token("refused");
        let (scenario, registry) = acr_tokens("refused", |t| t.reject_entra_token(&entra));
        scenario.expect(move |run| {
            run.failed_at(
                "registry.refresh_token",
                "CONNECTIVITY_REFRESH_TOKEN_ERROR",
            );
            assert_eq!(
                run.check("registry.refresh_token")["message"],
                format!("Registry '{ACR}' did not exchange the Microsoft Entra token for a refresh token.")
            );
            assert_eq!(
                run.details("registry.refresh_token"),
                [
                    "The registry answered HTTP 401.",
                    "UNAUTHORIZED: failed to validate the AAD access token: invalid token",
                    "Microsoft Entra token from ACR_HEALTH_AAD_TOKEN.",
                    &format!("Signed in as the object {OBJECT_ID} in tenant {TENANT_ID}."),
                ]
            );
            assert_eq!(
                paths(&registry.requests()),
                ["/v2/", "/oauth2/exchange"]
            );
        })
    }

    pub fn exchange_fails() -> Scenario {
        let (scenario, _) = acr_tokens("exchange-500", |t| t.set_exchange(Behavior::Status(500)));
        scenario.expect(|run| {
            run.failed_at("registry.refresh_token", "CONNECTIVITY_REFRESH_TOKEN_ERROR");
            run.detail("registry.refresh_token", "The registry answered HTTP 500.");
            run.detail("registry.refresh_token", "UNKNOWN: internal server error");
        })
    }

    pub fn exchange_without_a_refresh_token() -> Scenario {
        let (scenario, _) = acr_tokens("no-field", |t| t.set_exchange(Behavior::MissingField));
        scenario.expect(|run| {
            run.failed_at("registry.refresh_token", "CONNECTIVITY_REFRESH_TOKEN_ERROR");
            run.detail(
                "registry.refresh_token",
                "The answer holds no refresh_token.",
            );
        })
    }

    pub fn exchange_throttled() -> Scenario {
        let (scenario, _) = acr_tokens("exchange-429", |t| t.set_exchange(Behavior::Status(429)));
        scenario.expect(|run| {
            run.failed_at(
                "registry.refresh_token",
                "CONNECTIVITY_TOOMANYREQUESTS_ERROR",
            );
            run.detail(
                "registry.refresh_token",
                "The registry asks to wait 7 s (Retry-After).",
            );
        })
    }

    pub fn token_refused() -> Scenario {
        let (scenario, registry) = acr_tokens("token-403", |t| t.set_token(Behavior::Status(403)));
        scenario.expect(move |run| {
            run.failed_at("registry.access_token", "CONNECTIVITY_ACCESS_TOKEN_ERROR");
            assert_eq!(
                run.check("registry.access_token")["message"],
                format!("Registry '{ACR}' did not issue a usable access token.")
            );
            assert_eq!(
                run.details("registry.access_token"),
                [
                    "The registry answered HTTP 403.",
                    "DENIED: requested access to the resource is denied",
                ]
            );
            assert_eq!(registry.tokens().issued_refresh_tokens().len(), 1);
        })
    }

    pub fn token_throttled() -> Scenario {
        let (scenario, _) = acr_tokens("token-429", |t| t.set_token(Behavior::Status(429)));
        scenario.expect(|run| {
            run.failed_at(
                "registry.access_token",
                "CONNECTIVITY_TOOMANYREQUESTS_ERROR",
            );
            run.detail(
                "registry.access_token",
                "The registry asks to wait 7 s (Retry-After).",
            );
        })
    }

    /// `--repository` and a token that grants only `pull`: what is missing is listed.
    pub fn repository_with_missing_actions() -> Scenario {
        let (scenario, registry) =
            acr_tokens("repository", |t| t.restrict_actions(Some(&["pull"])));
        scenario
            .args(&["--repository", "team/app"])
            .expect(move |run| {
                run.failed_at("registry.access_token", "CONNECTIVITY_ACCESS_TOKEN_ERROR");
                assert_eq!(
                    run.details("registry.access_token"),
                    ["The token for repository 'team/app' grants pull; it lacks push, delete, metadata_read, metadata_write. Check that you have read, write and delete permissions on the repository."]
                );
                let token = &registry.requests_to("/oauth2/token")[0];
                assert_eq!(
                    token.form_fields("scope"),
                    ["repository:team/app:pull,push,delete,metadata_read,metadata_write"]
                );
            })
    }

    /// `--repository` and a token with every action: OK, and the line names the repository.
    pub fn repository_with_every_action() -> Scenario {
        let (scenario, registry) = acr_tokens("repository-ok", |_| {});
        let entra = entra_token("repository-ok");
        scenario
            .exit(0)
            .args(&["--repository", "team/app"])
            .expect(move |run| {
                run.all_registry_ok();
                run.line(&format!(
                    "Fetch access token for repository 'team/app' in registry '{ACR}' : OK"
                ));
                entra_flow_requests(
                    &registry,
                    &entra,
                    ACR,
                    "repository:team/app:pull,push,delete,metadata_read,metadata_write",
                );
            })
    }

    // --- The data probe: a manifest, and its smallest blob through the storage host -----------

    /// A fake ACR serving `hello:v1` (`manifest`, of `media_type`, under the tag; the image's
    /// own manifest under its digest), whose config blob redirects to `location`, as ACR
    /// redirects to its data endpoints.
    fn acr_with_image(
        ca: &TestCa,
        image: &TestImage,
        manifest: (&str, Vec<u8>),
        location: &str,
    ) -> Arc<FakeRegistry> {
        let registry = fake_acr(ca);
        registry.on(
            "/v2/_catalog",
            Reply::json(200, json!({"repositories": ["hello"]})),
        );
        registry.on(
            "/v2/hello/tags/list",
            Reply::json(200, json!({"name": "hello", "tags": ["v1"]})),
        );
        registry.on(
            "/v2/hello/manifests/v1",
            Reply::status(200)
                .header("content-type", manifest.0)
                .body(manifest.1),
        );
        registry.on(
            &format!("/v2/hello/manifests/{}", image.manifest_digest()),
            Reply::status(200)
                .header("content-type", image.media_type)
                .body(image.manifest.clone()),
        );
        registry.on(
            &format!("/v2/hello/blobs/{}", image.config_digest()),
            Reply::redirect(307, location),
        );
        registry
    }

    /// The storage host, `storage.test` on a loopback port, answering `/blob` with `reply`.
    fn storage(ca: &TestCa, reply: Reply) -> Arc<FakeRegistry> {
        let storage = FakeRegistry::start_with(Serve::tls(ca).host(STORAGE));
        storage.on("/blob", reply);
        Arc::new(storage)
    }

    /// `-n example` with an image whose blob downloads go to `location`, with `storage.test`
    /// pinned to loopback at `port`. No registry token may reach `storage` (if any).
    fn probe(
        canary: &str,
        ca: &Arc<TestCa>,
        manifest: Option<(&str, Vec<u8>)>,
        location: &str,
        pin: Option<u16>,
        storage: Option<Arc<FakeRegistry>>,
    ) -> (Scenario, Arc<FakeRegistry>) {
        let image = TestImage::new(DOCKER_MANIFEST);
        let manifest = manifest.unwrap_or((DOCKER_MANIFEST, image.manifest.clone()));
        let registry = acr_with_image(ca, &image, manifest, location);
        let mut scenario = Scenario::new()
            .trust(ca)
            .entra(&entra_token(canary))
            .acr(registry.port())
            .issued_by(registry.tokens())
            .keep(registry.clone());
        if let Some(port) = pin {
            scenario = scenario.args(&["--resolve", &format!("{STORAGE}:{port}:127.0.0.1")]);
        }
        if let Some(storage) = storage {
            let (s, tokens) = (storage.clone(), registry.tokens().clone());
            scenario = scenario.keep(storage).expect(move |_| {
                for request in s.requests() {
                    assert_eq!(request.authorization(), None, "{}", request.path);
                    for token in tokens.issued_access_tokens() {
                        assert!(
                            !request.mentions(&token),
                            "a registry token reached storage"
                        );
                    }
                }
            });
        }
        (scenario, registry)
    }

    /// The run failed at the blob download with `code`; everything before it passed.
    fn blob_failed(run: &Run, code: &str) {
        for check in REGISTRY_CHECKS.iter().chain(&["registry.manifest"]) {
            assert_eq!(run.status(check), "ok", "{check}:\n{}", run.stderr);
        }
        assert_eq!(run.status("registry.blob"), "error", "{}", run.stderr);
        assert_eq!(run.check("registry.blob")["code"], code, "{}", run.stderr);
        run.line(&format!("An error occurred: {code}"));
    }

    /// The whole path of `docker pull`: manifest from the login server, the config blob from
    /// the storage host it redirects to, with no registry token there, and its digest checked.
    pub fn probe_through_the_storage_host() -> Scenario {
        let ca = Arc::new(TestCa::new());
        let image = TestImage::new(DOCKER_MANIFEST);
        let storage = storage(&ca, Reply::status(200).body(image.config.clone()));
        let location = format!(
            "https://{STORAGE}:{}/blob?sig=signed-by-storage",
            storage.port()
        );
        let (scenario, _) = probe(
            "probe-ok",
            &ca,
            None,
            &location,
            Some(storage.port()),
            Some(storage.clone()),
        );
        let host = format!("{STORAGE}:{}", storage.port());
        scenario.expect(move |run| {
            run.all_registry_ok();
            run.line(&format!("Read manifest of hello:v1 ({DOCKER_MANIFEST}) : OK"));
            run.line(&format!("Download blob {} from {host} : OK", &image.config_digest()[..19]));
            run.detail(
                "registry.blob",
                &format!("The login server redirects the download to {host}; the registry token is not sent there."),
            );
            run.detail(
                "registry.blob",
                &format!("Not looked up: --resolve sends {host} to 127.0.0.1:{}.", storage.port()),
            );
            run.detail(
                "registry.blob",
                &format!("Digest {} verified ({} bytes).", image.config_digest(), image.config.len()),
            );
            // Each request with its answer and its time.
            run.detail_starting(
                "registry.blob",
                &format!("GET https://{ACR}/v2/hello/blobs/{}: HTTP 307 in ", image.config_digest()),
            );
            run.detail_starting("registry.blob", &format!("GET https://{host}/blob: HTTP 200 in "));
            let requests = storage.requests();
            assert_eq!(paths(&requests), ["/blob"]);
            assert_eq!(requests[0].query_param("sig").as_deref(), Some("signed-by-storage"));
        })
    }

    /// An image index: the entry for this machine's platform, never the attestation.
    pub fn probe_through_an_image_index() -> Scenario {
        let ca = Arc::new(TestCa::new());
        let image = TestImage::new(DOCKER_MANIFEST);
        let storage = storage(&ca, Reply::status(200).body(image.config.clone()));
        let location = format!("https://{STORAGE}:{}/blob?sig=x", storage.port());
        let index = (OCI_INDEX, image.index());
        let (scenario, registry) = probe(
            "index",
            &ca,
            Some(index),
            &location,
            Some(storage.port()),
            Some(storage),
        );
        let platform = if cfg!(target_arch = "aarch64") {
            "linux/arm64/v8"
        } else {
            "linux/amd64"
        };
        scenario.expect(move |run| {
            run.all_registry_ok();
            run.line(&format!(
                "Read manifest of hello:v1 ({DOCKER_MANIFEST}) : OK"
            ));
            run.detail("registry.manifest", &format!("Index entry for {platform}."));
            assert_eq!(run.status("registry.blob"), "ok", "{}", run.stderr);
            let manifests = paths_mentioning(&registry.requests(), "/manifests/");
            assert_eq!(
                manifests,
                [
                    "/v2/hello/manifests/v1".to_owned(),
                    format!("/v2/hello/manifests/{}", image.manifest_digest())
                ]
            );
        })
    }

    /// Nothing listens where the storage host is: STORAGE_CONNECTION_ERROR.
    pub fn storage_refuses_the_connection() -> Scenario {
        let ca = Arc::new(TestCa::new());
        let port = closed_port();
        let location = format!("https://{STORAGE}:{port}/blob?sig=x");
        let (scenario, _) = probe("storage-refused", &ca, None, &location, Some(port), None);
        scenario.exit(1).expect(move |run| {
            blob_failed(run, "STORAGE_CONNECTION_ERROR");
            run.line(&format!(
                "The connection to storage host '{STORAGE}:{port}' was refused or reset. Does a firewall allow only the login server?"
            ));
        })
    }

    /// The storage host's name does not resolve: STORAGE_DNS_ERROR.
    pub fn storage_does_not_resolve() -> Scenario {
        let ca = Arc::new(TestCa::new());
        let (scenario, _) = probe(
            "storage-dns",
            &ca,
            None,
            "https://storage.invalid/blob?sig=x",
            None,
            None,
        );
        scenario.exit(1).expect(|run| {
            blob_failed(run, "STORAGE_DNS_ERROR");
            // The resolver's answer, in the report's language when it is a common one.
            let details = run.details("registry.blob");
            assert!(
                details.iter().any(|d| [
                    "The name does not exist, according to the DNS server",
                    "No DNS server answered",
                    "The name does not resolve: ",
                ]
                .iter()
                .any(|start| d.starts_with(start))),
                "{details:#?}"
            );
        })
    }

    /// A certificate from a CA this machine does not trust (a TLS-inspecting proxy):
    /// STORAGE_SSL_ERROR.
    pub fn storage_with_an_untrusted_certificate() -> Scenario {
        let ca = Arc::new(TestCa::new());
        let other = TestCa::named("Inspecting proxy CA");
        let storage = Arc::new(FakeRegistry::start_with(Serve::leaf(
            other.leaf(&[STORAGE]),
        )));
        storage.on("/blob", Reply::status(200));
        let location = format!("https://{STORAGE}:{}/blob?sig=x", storage.port());
        let (scenario, _) = probe(
            "storage-tls",
            &ca,
            None,
            &location,
            Some(storage.port()),
            Some(storage.clone()),
        );
        scenario.exit(1).expect(move |run| {
            blob_failed(run, "STORAGE_SSL_ERROR");
            assert!(storage.requests().is_empty());
        })
    }

    /// The storage host takes the request and never answers: STORAGE_TIMEOUT_ERROR within the
    /// time bound.
    pub fn storage_hangs() -> Scenario {
        let ca = Arc::new(TestCa::new());
        let storage = storage(&ca, Reply::hang());
        let location = format!("https://{STORAGE}:{}/blob?sig=x", storage.port());
        let (scenario, _) = probe(
            "storage-hang",
            &ca,
            None,
            &location,
            Some(storage.port()),
            Some(storage),
        );
        scenario.timeout(HANG_TIMEOUT).exit(1).expect(|run| {
            blob_failed(run, "STORAGE_TIMEOUT_ERROR");
        })
    }

    /// The storage side's firewall: 403 with Azure Storage's error code. STORAGE_FORBIDDEN_ERROR.
    pub fn storage_forbids() -> Scenario {
        let ca = Arc::new(TestCa::new());
        let storage = storage(
            &ca,
            Reply::status(403).header("x-ms-error-code", "AuthorizationFailure"),
        );
        let location = format!("https://{STORAGE}:{}/blob?sig=x", storage.port());
        let port = storage.port();
        let (scenario, _) = probe(
            "storage-403",
            &ca,
            None,
            &location,
            Some(port),
            Some(storage),
        );
        scenario.exit(1).expect(move |run| {
            blob_failed(run, "STORAGE_FORBIDDEN_ERROR");
            run.detail(
                "registry.blob",
                &format!("The storage host {STORAGE}:{port} answered HTTP 403."),
            );
            run.detail("registry.blob", "AuthorizationFailure");
        })
    }

    /// A proxy rewrote the content on the way: BLOB_DIGEST_ERROR.
    pub fn storage_sends_other_content() -> Scenario {
        let ca = Arc::new(TestCa::new());
        let image = TestImage::new(DOCKER_MANIFEST);
        let storage = storage(
            &ca,
            Reply::status(200).body("<html>blocked by policy</html>"),
        );
        let location = format!("https://{STORAGE}:{}/blob?sig=x", storage.port());
        let (scenario, _) = probe(
            "storage-digest",
            &ca,
            None,
            &location,
            Some(storage.port()),
            Some(storage),
        );
        scenario.exit(1).expect(move |run| {
            blob_failed(run, "BLOB_DIGEST_ERROR");
            run.detail_starting(
                "registry.blob",
                &format!(
                    "Expected {} ({} bytes); received sha256:",
                    image.config_digest(),
                    image.config.len()
                ),
            );
        })
    }

    /// A redirect to plain HTTP is not followed: CONNECTIVITY_BLOB_ERROR, and nothing is sent.
    pub fn blob_redirected_to_plain_http() -> Scenario {
        let ca = Arc::new(TestCa::new());
        let plain = Arc::new(FakeRegistry::start_plain());
        let location = format!("http://127.0.0.1:{}/blob?sig=x", plain.port());
        let (scenario, _) = probe(
            "plain-http",
            &ca,
            None,
            &location,
            None,
            Some(plain.clone()),
        );
        scenario.exit(1).expect(move |run| {
            blob_failed(run, "CONNECTIVITY_BLOB_ERROR");
            run.detail(
                "registry.blob",
                &format!("The registry redirects to http://127.0.0.1:{}/blob, which is not HTTPS; acr-health does not follow it.", plain.port()),
            );
            assert!(plain.requests().is_empty());
        })
    }

    /// An empty registry has nothing to download: a note, not an error.
    pub fn probe_of_an_empty_registry() -> Scenario {
        let ca = Arc::new(TestCa::new());
        let registry = fake_acr(&ca);
        registry.on(
            "/v2/_catalog",
            Reply::json(200, json!({"repositories": []})),
        );
        Scenario::new()
            .trust(&ca)
            .entra(&entra_token("empty"))
            .acr(registry.port())
            .issued_by(registry.tokens())
            .keep(registry)
            .expect(|run| {
                run.all_registry_ok();
                assert_eq!(run.status("registry.manifest"), "skipped");
                run.line("Image manifest: nothing to download; the registry lists no repositories. Name one with --repository.");
                assert_eq!(run.status("registry.blob"), "skipped");
            })
    }

    /// The catalog's first repository is a multi-arch image for other machines only (neither
    /// s390x nor ppc64le runs these tests): any platform's blob proves the download path, so the
    /// probe reads another platform's entry, says which, and the registry is healthy.
    pub fn real_registry_index_for_other_platforms() -> Scenario {
        let fronted = Fronted::start();
        let image = TestImage::new(OCI_MANIFEST);
        let (base, ca, authorization) = fronted.pushing(&["aaa/multi-arch"]);
        image.push_index(
            &base,
            ca,
            Some(&authorization),
            ("aaa/multi-arch", "v1"),
            image.index_for(&["linux/s390x", "linux/ppc64le"]),
        );
        let ls = fronted.login_server.clone();
        fronted
            .scenario("other-platform")
            .expect(move |run| {
                run.all_registry_ok();
                run.line(&format!(
                    "Read manifest of aaa/multi-arch:v1 ({OCI_MANIFEST}) : OK"
                ));
                run.detail(
                    "registry.manifest",
                    &format!("The image index has no entry for {} (it offers linux/s390x, linux/ppc64le), so the linux/s390x entry was read instead: its blobs take the same path.", this_platform()),
                );
                run.line(&format!(
                    "Download blob {} from {ls} : OK",
                    &image.config_digest()[..19]
                ));
            })
    }

    /// A registry whose every repository was emptied: nothing to download is a note, with a
    /// line for each repository looked at, and the flags that name an image.
    pub fn real_registry_with_nothing_to_download() -> Scenario {
        let fronted = Fronted::start();
        let (base, ca, authorization) = fronted.pushing(&["aaa/emptied", "hello"]);
        for repository in ["aaa/emptied", "hello"] {
            TestImage::new(OCI_MANIFEST).push_and_delete(
                &base,
                ca,
                Some(&authorization),
                repository,
            );
        }
        fronted
            .scenario("nothing")
            .expect(move |run| {
                run.all_registry_ok();
                assert_eq!(run.status("registry.manifest"), "skipped", "{}", run.stderr);
                assert_eq!(run.status("registry.blob"), "skipped", "{}", run.stderr);
                run.line("Image manifest: none of the repositories looked at (2) holds an image to download. Name one with --repository and --tag.");
                run.detail("registry.manifest", "Repository aaa/emptied has no tags.");
                run.detail("registry.manifest", "Repository hello has no tags.");
            })
    }

    /// `--repository` and `--tag` of an image that is not there: nothing to download, a note
    /// with the registry's own word for it.
    pub fn real_registry_named_image_missing() -> Scenario {
        Fronted::start()
            .scenario("named-missing")
            .args(&["--repository", "hello", "--tag", "v9"])
            .expect(move |run| {
                run.all_registry_ok();
                assert_eq!(run.status("registry.manifest"), "skipped", "{}", run.stderr);
                run.line("Image manifest: nothing to download; name an existing image with --repository and --tag.");
                run.detail_starting(
                    "registry.manifest",
                    "The registry does not know hello:v9 (MANIFEST_UNKNOWN",
                );
            })
    }

    /// `--round-trip` against the real registry: push, pull back, compare, delete.
    pub fn real_registry_round_trip() -> Scenario {
        let ca = Arc::new(TestCa::new());
        let (front, registry, login_server) = real_registry_behind_a_front(&ca, None);
        let f = front.clone();
        Scenario::new()
            .trust(&ca)
            .entra(&entra_token("round-trip"))
            .login_server(&login_server)
            .args(&["--round-trip", "--round-trip-repository", "team/probe"])
            .issued_by(front.tokens())
            .keep(registry)
            .keep(front)
            .expect(move |run| {
                run.all_registry_ok();
                assert_eq!(run.status("registry.round_trip"), "ok", "{}", run.stderr);
                let line = run.line_starting("Push, pull back and compare team/probe:acr-health-");
                let reference = line
                    .trim_end_matches(" : OK")
                    .trim_start_matches("Push, pull back and compare ");
                run.detail(
                    "registry.round_trip",
                    &format!("Deleted {reference} again."),
                );
                let requests = f.requests();
                let methods: Vec<String> = requests
                    .iter()
                    .filter(|r| r.path.starts_with("/v2/team/probe/"))
                    .map(|r| r.method.clone())
                    .collect();
                assert_eq!(
                    methods,
                    ["POST", "PUT", "POST", "PUT", "PUT", "GET", "GET", "DELETE"]
                );
            })
    }

    /// `--round-trip` with a token that may push but not delete: the image stays, and the run
    /// says how to delete it.
    pub fn real_registry_round_trip_without_delete() -> Scenario {
        let ca = Arc::new(TestCa::new());
        let (front, registry, login_server) = real_registry_behind_a_front(&ca, None);
        front.tokens().restrict_actions(Some(&["pull", "push"]));
        Scenario::new()
            .trust(&ca)
            .entra(&entra_token("round-trip-no-delete"))
            .login_server(&login_server)
            .args(&["--round-trip"])
            .issued_by(front.tokens())
            .keep(registry)
            .keep(front)
            .expect(move |run| {
                assert_eq!(run.status("registry.round_trip"), "ok", "{}", run.stderr);
                let line = run.line_starting("Push, pull back and compare acr-health/probe:acr-health-");
                let reference = line
                    .trim_end_matches(" : OK")
                    .trim_start_matches("Push, pull back and compare ");
                run.detail(
                    "registry.round_trip",
                    &format!("Not deleted: the registry answered HTTP 401 to the delete. {reference} stays."),
                );
                // Not an ACR: no az command to delete it with.
                run.no_line_containing("az acr repository delete");
            })
    }

    /// `--round-trip` with a token that may only pull: nothing is sent, and the run says which
    /// actions are missing.
    pub fn real_registry_round_trip_without_push() -> Scenario {
        let ca = Arc::new(TestCa::new());
        let (front, registry, login_server) = real_registry_behind_a_front(&ca, None);
        front.tokens().restrict_actions(Some(&["pull"]));
        let f = front.clone();
        Scenario::new()
            .trust(&ca)
            .entra(&entra_token("round-trip-no-push"))
            .login_server(&login_server)
            .args(&["--round-trip", "--ignore-errors"])
            .issued_by(front.tokens())
            .keep(registry)
            .keep(front)
            .expect(move |run| {
                assert_eq!(run.status("registry.round_trip"), "error", "{}", run.stderr);
                assert_eq!(run.check("registry.round_trip")["code"], "ROUND_TRIP_ERROR");
                run.detail(
                    "registry.round_trip",
                    "The token does not allow push on acr-health/probe.",
                );
                assert!(
                    !f.requests()
                        .iter()
                        .any(|r| r.method != "GET" && r.path.starts_with("/v2/")),
                    "nothing may be uploaded without push permission"
                );
            })
    }

    /// The system's trust, from `SSL_CERT_FILE` (read as OpenSSL reads it): a registry whose
    /// certificate only that bundle vouches for is trusted.
    pub fn trust_from_ssl_cert_file() -> Scenario {
        let ca = Arc::new(TestCa::new());
        let registry = fake_acr(&ca);
        Scenario::new()
            .env("SSL_CERT_FILE", ca.pem_path().display().to_string())
            .entra(&entra_token("ssl-cert-file"))
            .acr(registry.port())
            .issued_by(registry.tokens())
            .keep(registry)
            .keep(ca)
            .expect(|run| run.all_registry_ok())
    }

    // --- Fakes: where the Entra token comes from ----------------------------------------------

    /// A fake ACR that accepts every token, and a scenario without an Entra token; `source` is
    /// the name the report must give the source.
    fn credential(source: &'static str) -> (Scenario, Arc<FakeRegistry>) {
        let ca = Arc::new(TestCa::new());
        let registry = fake_acr(&ca);
        let r = registry.clone();
        let scenario = Scenario::new()
            .trust(&ca)
            .acr(registry.port())
            .issued_by(registry.tokens())
            .keep(registry.clone())
            .expect(move |run| {
                run.all_registry_ok();
                run.detail(
                    "registry.refresh_token",
                    &format!("Microsoft Entra token from {source}."),
                );
                assert_eq!(r.tokens().issued_refresh_tokens().len(), 1);
            });
        (scenario, registry)
    }

    /// The token the exchange got.
    fn exchanged(registry: &FakeRegistry) -> (String, String) {
        let exchange = &registry.requests_to("/oauth2/exchange")[0];
        (
            exchange.form_field("access_token").unwrap().to_owned(),
            exchange.form_field("tenant").unwrap_or_default().to_owned(),
        )
    }

    pub fn token_from_a_file() -> Scenario {
        let (scenario, registry) = credential("the file in ACR_HEALTH_AAD_TOKEN_FILE");
        let entra = entra_token("file");
        let file = scenario
            .sandbox
            .home_file("entra-token", format!("{entra}\n"));
        let e = entra.clone();
        scenario
            .env("ACR_HEALTH_AAD_TOKEN_FILE", file)
            .secret(&entra)
            .expect(move |_| {
                assert_eq!(exchanged(&registry), (e.clone(), TENANT_ID.to_owned()));
            })
    }

    const SP_TENANT: &str = "0c0ffee0-0000-4000-8000-000000000001";

    pub fn service_principal() -> Scenario {
        let (scenario, registry) = credential("a service principal (AZURE_CLIENT_SECRET)");
        // The authority is HTTPS, with a certificate from the CA the run trusts.
        let identity = Arc::new(FakeIdentity::start_tls(registry_ca(&scenario)));
        identity.expect_client_secret(CLIENT_SECRET);
        let i = identity.clone();
        let tokens_of = identity.clone();
        scenario
            .env("AZURE_CLIENT_ID", CLIENT_ID)
            .env("AZURE_TENANT_ID", SP_TENANT)
            .env("AZURE_CLIENT_SECRET", CLIENT_SECRET)
            .env("AZURE_AUTHORITY_HOST", identity.authority_host())
            .secret(CLIENT_SECRET)
            .issued(move || tokens_of.issued_tokens())
            .keep(identity)
            .expect(move |_| {
                let sent = i.requests();
                assert_eq!(sent.len(), 1);
                assert_eq!(sent[0].path, format!("/{SP_TENANT}/oauth2/v2.0/token"));
                assert_eq!(sent[0].form_field("client_secret"), Some(CLIENT_SECRET));
                assert_eq!(sent[0].form_field("client_id"), Some(CLIENT_ID));
                assert_eq!(
                    sent[0].form_field("scope"),
                    Some("https://containerregistry.azure.net/.default")
                );
                let issued = i.issued_tokens();
                assert_eq!(
                    exchanged(&registry),
                    (issued[0].clone(), SP_TENANT.to_owned())
                );
                assert!(!registry.saw(CLIENT_SECRET));
            })
    }

    /// The CA a scenario trusts.
    fn registry_ca(scenario: &Scenario) -> &TestCa {
        scenario
            .kept::<Arc<TestCa>>()
            .expect("the scenario trusts a CA")
    }

    pub fn workload_identity() -> Scenario {
        let (scenario, registry) = credential("workload identity (AZURE_FEDERATED_TOKEN_FILE)");
        let identity = Arc::new(FakeIdentity::start_tls(registry_ca(&scenario)));
        let assertion = unsigned_jwt(
            &json!({"sub": "system:serviceaccount:default:app", "canary": "federated-canary-9e41"}),
        );
        identity.expect_client_assertion(&assertion);
        let file = scenario.sandbox.home_file("federated-token", &assertion);
        let (i, a) = (identity.clone(), assertion.clone());
        let tokens_of = identity.clone();
        scenario
            .env("AZURE_CLIENT_ID", CLIENT_ID)
            .env("AZURE_TENANT_ID", SP_TENANT)
            .env("AZURE_FEDERATED_TOKEN_FILE", file)
            .env("AZURE_AUTHORITY_HOST", identity.authority_host())
            .secret(&assertion)
            .issued(move || tokens_of.issued_tokens())
            .keep(identity)
            .expect(move |_| {
                let sent = i.requests();
                assert_eq!(sent.len(), 1);
                assert_eq!(sent[0].form_field("client_assertion"), Some(a.as_str()));
                assert_eq!(
                    sent[0].form_field("client_assertion_type"),
                    Some(JWT_BEARER)
                );
                assert_eq!(
                    exchanged(&registry),
                    (i.issued_tokens()[0].clone(), SP_TENANT.to_owned())
                );
            })
    }

    pub fn managed_identity_app_service() -> Scenario {
        let (scenario, registry) = credential("managed identity");
        let identity = Arc::new(FakeIdentity::start());
        let i = identity.clone();
        let tokens_of = identity.clone();
        scenario
            .env("IDENTITY_ENDPOINT", identity.identity_endpoint())
            .env("IDENTITY_HEADER", IDENTITY_HEADER)
            .secret(IDENTITY_HEADER)
            .issued(move || tokens_of.issued_tokens())
            .keep(identity)
            .expect(move |_| {
                let sent = i.requests();
                assert_eq!(paths(&sent), [APP_SERVICE_PATH]);
                assert_eq!(sent[0].header("x-identity-header"), Some(IDENTITY_HEADER));
                assert_eq!(
                    sent[0].query_param("resource").as_deref(),
                    Some(ACR_AUDIENCE)
                );
                assert_eq!(
                    exchanged(&registry),
                    (i.issued_tokens()[0].clone(), TENANT_ID.to_owned())
                );
            })
    }

    pub fn managed_identity_imds() -> Scenario {
        let (scenario, registry) = credential("managed identity");
        let identity = Arc::new(FakeIdentity::start());
        let i = identity.clone();
        let tokens_of = identity.clone();
        scenario
            .env("IMDS_ENDPOINT", identity.imds_endpoint())
            .issued(move || tokens_of.issued_tokens())
            .keep(identity)
            .expect(move |_| {
                let sent = i.requests();
                assert_eq!(paths(&sent), [IMDS_PATH]);
                assert_eq!(sent[0].header("metadata"), Some("true"));
                assert_eq!(
                    sent[0].query_param("resource").as_deref(),
                    Some(ACR_AUDIENCE)
                );
                assert_eq!(
                    exchanged(&registry),
                    (i.issued_tokens()[0].clone(), TENANT_ID.to_owned())
                );
            })
    }

    /// No credential anywhere: CONNECTIVITY_CREDENTIAL_ERROR naming what was tried, and the run
    /// goes on (helm, notary) instead of aborting.
    pub fn no_credential() -> Scenario {
        let ca = Arc::new(TestCa::new());
        let registry = fake_acr(&ca);
        let r = registry.clone();
        Scenario::new()
            .trust(&ca)
            .acr(registry.port())
            .args(&["--ignore-errors"])
            // A service principal's secret without its client and tenant: not a credential.
            .env("AZURE_CLIENT_SECRET", CLIENT_SECRET)
            .secret(CLIENT_SECRET)
            .keep(registry)
            .expect(move |run| {
                run.failed_at(
                    "registry.refresh_token",
                    "CONNECTIVITY_CREDENTIAL_ERROR",
                );
                assert_eq!(
                    run.check("registry.refresh_token")["message"],
                    format!("No Microsoft Entra credential was found to sign in to registry '{ACR}'. Run az login, or see the sources below.")
                );
                assert_eq!(
                    run.details("registry.refresh_token"),
                    [
                        "Tried managed identity:",
                        "The connection was refused: nothing listens there, or a firewall rejects it.",
                    ]
                );
                assert_eq!(run.status("helm.command"), "ok");
                assert_eq!(run.status("notary.version"), "ok");
                run.line("Helm version: 3.14.0");
                assert_eq!(run.doc()["summary"]["exit_code"], 0);
                assert_eq!(paths(&r.requests()), ["/v2/"]);
            })
    }

    /// IMDS accepts the connection and never answers: managed identity gives up after its own
    /// short bound (2 s, less than `--timeout 3`), and says where it waited.
    pub fn identity_endpoint_never_answers() -> Scenario {
        let ca = Arc::new(TestCa::new());
        let registry = fake_acr(&ca);
        let silent = Arc::new(SilentListener::start());
        let imds = format!("http://{}", silent.addr());
        let s = silent.clone();
        Scenario::new()
            .trust(&ca)
            .acr(registry.port())
            .env("IMDS_ENDPOINT", &imds)
            .env("AZURE_CLIENT_SECRET", CLIENT_SECRET)
            .secret(CLIENT_SECRET)
            .timeout(3)
            .exit(1)
            .keep(registry)
            .keep(silent)
            .expect(move |run| {
                run.failed_at("registry.refresh_token", "CONNECTIVITY_CREDENTIAL_ERROR");
                assert_eq!(
                    run.details("registry.refresh_token"),
                    [
                        "Tried managed identity:".to_owned(),
                        format!("No answer from {imds} within 2 s."),
                    ]
                );
                assert!(run.elapsed >= Duration::from_secs(2));
                assert_eq!(s.accepted(), 1);
            })
    }

    /// Sources that are configured and fail are each named with their reason.
    pub fn every_credential_source_fails() -> Scenario {
        let ca = Arc::new(TestCa::new());
        let registry = fake_acr(&ca);
        let identity = Arc::new(FakeIdentity::start_tls(&ca));
        identity.expect_client_secret("the-right-secret");
        let scenario = Scenario::new();
        let missing = scenario.sandbox.path("home").join("no-such-token");
        let missing = missing.display().to_string();
        let i = identity.clone();
        scenario
            .trust(&ca)
            .acr(registry.port())
            .env("ACR_HEALTH_AAD_TOKEN_FILE", &missing)
            .env("AZURE_CLIENT_ID", CLIENT_ID)
            .env("AZURE_TENANT_ID", SP_TENANT)
            .env("AZURE_CLIENT_SECRET", CLIENT_SECRET)
            .env("AZURE_AUTHORITY_HOST", identity.authority_host())
            .secret(CLIENT_SECRET)
            .exit(1)
            .keep(registry)
            .keep(identity)
            .expect(move |run| {
                run.failed_at(
                    "registry.refresh_token",
                    "CONNECTIVITY_CREDENTIAL_ERROR",
                );
                assert_eq!(
                    run.details("registry.refresh_token"),
                    [
                        "Tried the file in ACR_HEALTH_AAD_TOKEN_FILE:",
                        "[TMP]/home/no-such-token cannot be read: No such file or directory (os error 2)",
                        "Tried a service principal (AZURE_CLIENT_SECRET):",
                        "HTTP 401: invalid_client: AADSTS7000215: Invalid client secret provided.",
                        "Tried managed identity:",
                        "The connection was refused: nothing listens there, or a firewall rejects it.",
                    ]
                );
                assert_eq!(i.requests().len(), 1);
            })
    }

    // --- Names, DNS and proxies ---------------------------------------------------------------

    pub fn dns_failure() -> Scenario {
        Scenario::new()
            .entra(&entra_token("dns"))
            .login_server("no-such-registry.invalid")
            .args(&["--ignore-errors"])
            .expect(|run| {
                run.failed_at("registry.dns", "CONNECTIVITY_DNS_ERROR");
                assert_eq!(
                    run.check("registry.dns")["message"],
                    "The name of registry 'no-such-registry.invalid' does not resolve."
                );
                assert_eq!(run.details("registry.dns").len(), 1);
                run.line("Challenge endpoint: not checked because of CONNECTIVITY_DNS_ERROR");
            })
    }

    /// `HTTPS_PROXY` on a port where nothing listens: the proxy is named (without its password)
    /// and the registry is never reached.
    pub fn refused_proxy() -> Scenario {
        let (scenario, registry) = acr_answering(Reply::AcrChallengeToSelf, "proxy");
        let proxy = refused_addr();
        scenario
            .env(
                "HTTPS_PROXY",
                format!("http://proxyuser:{PROXY_PASSWORD}@{proxy}"),
            )
            .secret(PROXY_PASSWORD)
            .expect(move |run| {
                run.failed_at("registry.challenge", "CONNECTIVITY_CHALLENGE_ERROR");
                assert!(
                    run.details("registry.challenge")[0]
                        .starts_with(&format!("The proxy http://{proxy} failed: ")),
                    "{:#?}",
                    run.details("registry.challenge")
                );
                run.detail(
                    "registry.challenge",
                    &format!("Through the proxy http://{proxy}."),
                );
                assert_eq!(registry.connections(), 0);
            })
    }

    /// The same proxy, with the registry in `NO_PROXY`: it is not used.
    pub fn no_proxy_for_the_registry() -> Scenario {
        let ca = Arc::new(TestCa::new());
        let registry = fake_acr(&ca);
        let proxy = refused_addr();
        Scenario::new()
            .trust(&ca)
            .entra(&entra_token("no-proxy"))
            .acr(registry.port())
            .env(
                "HTTPS_PROXY",
                format!("http://proxyuser:{PROXY_PASSWORD}@{proxy}"),
            )
            .env("NO_PROXY", format!("localhost,{ACR}"))
            .secret(PROXY_PASSWORD)
            .issued_by(registry.tokens())
            .keep(registry)
            .expect(|run| run.all_registry_ok())
    }

    /// `-n abc`: a usage error (exit 2) before any check runs.
    pub fn bad_registry_name() -> Scenario {
        Scenario::new()
            .entra(&entra_token("bad-name"))
            .args(&["-n", "abc"])
            .exit(2)
            .expect(|run| {
                assert_eq!(run.stdout, "");
                assert_eq!(
                    run.stderr,
                    "error: \"abc\" is not a registry name: registry names have 5 to 50 letters and digits.\n\
                     Give the registry's name (myregistry) or its login server (myregistry.azurecr.io); for other registries use --login-server HOST[:PORT].\n"
                );
            })
    }

    /// `-n foo.azurecr.cn` in AzureCloud: a usage error (exit 2) that names the right suffix.
    pub fn registry_suffix_of_another_cloud() -> Scenario {
        Scenario::new()
            .entra(&entra_token("bad-suffix"))
            .args(&["-n", "foo.azurecr.cn"])
            .exit(2)
            .expect(|run| {
                assert_eq!(run.stdout, "");
                assert_eq!(
                    run.stderr,
                    "error: The login server suffix \".azurecr.cn\" is not valid for the current cloud (AzureCloud).\n\
                     Use \".azurecr.io\", switch clouds with --cloud or az cloud set, or use --login-server for another registry.\n"
                );
            })
    }
}

// ---------------------------------------------------------------------------------------------
// One test per scenario

scenario_tests!(
    probe_through_the_storage_host,
    probe_through_an_image_index,
    storage_refuses_the_connection,
    storage_does_not_resolve,
    storage_with_an_untrusted_certificate,
    storage_hangs,
    storage_forbids,
    storage_sends_other_content,
    blob_redirected_to_plain_http,
    probe_of_an_empty_registry,
    real_registry_index_for_other_platforms,
    real_registry_with_nothing_to_download,
    real_registry_named_image_missing,
    real_registry_round_trip,
    untrusted_openssl_req_x509_certificate,
    real_registry_with_a_trusted_openssl_req_x509_certificate,
    trust_from_ssl_cert_file,
    real_registry_round_trip_without_delete,
    real_registry_round_trip_without_push,
    real_registry_happy_path,
    real_registry_by_acr_name,
    real_registry_with_a_token_service_elsewhere,
    real_registry_credentials_withheld_from_another_host,
    real_registry_rejects_the_token,
    real_registry_wrong_password,
    real_registry_right_password,
    real_registry_password_from_docker_config,
    real_registry_password_from_podman_auth_file,
    real_registry_docker_config_unreadable,
    real_registry_password_from_credential_helper,
    real_registry_credential_helper_without_credentials,
    real_registry_credential_helper_missing,
    real_registry_basic_without_credentials,
    forbidden,
    registry_clock_ahead,
    docker_login_expired,
    docker_login_missing,
    too_many_requests,
    unauthorized_without_a_challenge,
    basic_challenge_on_an_acr,
    realm_on_another_host,
    realm_over_plain_http,
    redirect_is_not_followed,
    registry_never_answers,
    tls_handshake_never_completes,
    exchange_never_answers,
    huge_body,
    endless_body,
    expired_certificate,
    certificate_for_another_name,
    untrusted_certificate_authority,
    exchange_refuses_the_entra_token,
    exchange_fails,
    exchange_without_a_refresh_token,
    exchange_throttled,
    token_refused,
    token_throttled,
    repository_with_missing_actions,
    repository_with_every_action,
    token_from_a_file,
    service_principal,
    workload_identity,
    managed_identity_app_service,
    managed_identity_imds,
    no_credential,
    identity_endpoint_never_answers,
    every_credential_source_fails,
    dns_failure,
    refused_proxy,
    no_proxy_for_the_registry,
    bad_registry_name,
    registry_suffix_of_another_cloud,
);

// ---------------------------------------------------------------------------------------------
// Secrets

/// Every scenario again, with `--debug` (the requests made) and `-o json`: no secret it was
/// given (Entra token, password, client secret, federated assertion, identity header, proxy
/// password) and no token the fakes issued (refresh, access, Entra) is in stdout or stderr.
#[test]
fn no_secret_reaches_the_output_even_with_debug() {
    let (mut looked_for, mut issued) = (0, 0);
    for (name, build) in SCENARIOS {
        let scenario = build();
        let run = scenario.run(&["--debug", "-o", "json"]);
        if scenario.exit != 2 {
            // --debug lists the requests, so the output is not trivially clean.
            assert!(
                ["  GET ", "  POST ", "  ran '"]
                    .iter()
                    .any(|listed| run.stderr.contains(listed)),
                "{name}: nothing listed with --debug:\n{}",
                run.stderr
            );
            let _ = run.doc();
        }
        let secrets = scenario.all_secrets();
        assert!(!secrets.is_empty(), "{name}: no secret to look for");
        for secret in &secrets {
            assert!(
                secret.len() >= 16,
                "{name}: {secret:?} is too short a canary"
            );
            for (stream, text) in [("stdout", &run.stdout), ("stderr", &run.stderr)] {
                assert!(
                    !text.contains(secret.as_str()),
                    "{name}: a secret is in {stream}: {secret}\n{text}"
                );
            }
            // Not even a piece of a token (its payload or signature).
            for part in secret.split('.').filter(|p| p.len() >= 40) {
                assert!(
                    !run.stdout.contains(part) && !run.stderr.contains(part),
                    "{name}: part of a secret is in the output: {part}"
                );
            }
        }
        looked_for += secrets.len();
        issued += secrets.len() - scenario.secrets.len();
    }
    // Every scenario had at least one secret, and the fakes issued tokens in most of them.
    assert!(looked_for >= SCENARIOS.len() + issued);
    assert!(issued >= 30, "only {issued} issued tokens were read back");
}

/// `--debug` lists each request made, with its status, and never a query or body.
#[test]
fn debug_lists_the_requests_of_the_registry_chain() {
    let s = scenario::real_registry_by_acr_name();
    let run = s.run(&["--debug", "-o", "json"]);
    let sent: Vec<&str> = run
        .lines()
        .into_iter()
        .filter(|l| (l.starts_with("GET ") || l.starts_with("POST ")) && l.contains("https://"))
        .collect();
    // The registry chain's requests, then the data probe's (which are its checks' notes, with or
    // without --debug): each once, in order, with its status and the phases of the first.
    let expected = [
        "GET https://example.azurecr.io/v2/: HTTP 401 in ",
        "POST https://example.azurecr.io/oauth2/exchange: HTTP 200 in ",
        "POST https://example.azurecr.io/oauth2/token: HTTP 200 in ",
        "GET https://example.azurecr.io/v2/: HTTP 200 in ",
        "GET https://example.azurecr.io/v2/_catalog: HTTP 200 in ",
        "POST https://example.azurecr.io/oauth2/token: HTTP 200 in ",
        "GET https://example.azurecr.io/v2/hello/tags/list: HTTP 200 in ",
        "GET https://example.azurecr.io/v2/hello/manifests/v1: HTTP 200 in ",
        "GET https://example.azurecr.io/v2/hello/blobs/sha256:",
    ];
    assert_eq!(sent.len(), expected.len(), "{}", run.stderr);
    for (line, want) in sent.iter().zip(expected) {
        assert!(line.starts_with(want), "{line:?} is not {want:?}");
    }
    // The first opened the connection (the name is pinned: no lookup); the rest reused it.
    assert!(
        in_order(
            sent[0],
            &["(TCP ", " ms, TLS ", " ms, first byte after ", " ms)"]
        ),
        "{}",
        sent[0]
    );
    for line in &sent[1..] {
        assert!(
            line.contains(" (over an open connection, first byte after "),
            "{line}"
        );
    }
    // The document has every request under its check, with the same phases.
    let doc = run.doc();
    let requests: Vec<&Value> = doc["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|check| check["requests"].as_array())
        .flatten()
        .collect();
    assert_eq!(requests.len(), expected.len(), "{doc:#}");
    let first = &requests[0];
    assert_eq!(first["request"], "GET https://example.azurecr.io/v2/");
    assert_eq!(first["status"], 401);
    let timings = &first["timings"];
    assert_eq!(timings["dns_ms"], Value::Null, "pinned: {timings}");
    for phase in ["connect_ms", "tls_ms", "first_byte_ms", "total_ms"] {
        assert!(timings[phase].is_u64(), "{phase}: {timings}");
    }
    assert_eq!(timings["reused_connection"], false);
    for request in &requests[1..] {
        let timings = &request["timings"];
        assert_eq!(timings["reused_connection"], true, "{request}");
        assert_eq!(timings["connect_ms"], Value::Null, "{request}");
        assert!(timings["first_byte_ms"].is_u64(), "{request}");
    }
}

/// Whether `pieces` occur in `line` in order.
fn in_order(line: &str, pieces: &[&str]) -> bool {
    let mut rest = line;
    pieces.iter().all(|piece| match rest.find(piece) {
        Some(at) => {
            rest = &rest[at + piece.len()..];
            true
        }
        None => false,
    })
}

/// `--debug` lists the requests to the identity endpoints too, by URL without the query, and
/// one that got no answer without a status.
#[test]
fn debug_lists_the_requests_to_identity_endpoints() {
    let imds = scenario::managed_identity_imds();
    let run = imds.run(&["--debug", "-o", "json"]);
    let line = run.line_starting("GET http://localhost:");
    assert!(
        line.contains("/metadata/identity/oauth2/token: HTTP 200 in "),
        "{line}"
    );
    // A name looked up, plain HTTP: a lookup and a connection, no TLS (on the request that
    // opened the connection; the ARM lookup and the registry chain may share it).
    let request = run
        .doc()
        .pointer("/checks")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|check| check["requests"].as_array())
        .flatten()
        .find(|r| {
            r["request"]
                .as_str()
                .unwrap()
                .contains("/metadata/identity/")
                && r["timings"]["reused_connection"] == false
        })
        .cloned()
        .expect("an identity request that opened its connection, in the document");
    let timings = &request["timings"];
    assert!(timings["dns_ms"].is_u64(), "{timings}");
    assert!(timings["connect_ms"].is_u64(), "{timings}");
    assert_eq!(timings["tls_ms"], Value::Null, "{timings}");
    assert!(
        run.stderr.contains(" ms (DNS ") && run.stderr.contains(", TCP "),
        "{}",
        run.stderr
    );

    let principal = scenario::service_principal();
    let run = principal.run(&["--debug", "-o", "json"]);
    let line = run.line_starting("POST https://localhost:");
    assert!(
        line.contains("/0c0ffee0-0000-4000-8000-000000000001/oauth2/v2.0/token: HTTP 200 in "),
        "{line}"
    );

    let nothing = scenario::no_credential();
    let run = nothing.run(&["--debug", "-o", "json"]);
    let refused = format!(
        "GET http://{}/metadata/identity/oauth2/token: no answer after ",
        nothing.sandbox.imds
    );
    run.line_starting(&refused);
}

// ---------------------------------------------------------------------------------------------
// Snapshots of whole reports, in English and Dutch

#[test]
fn the_full_report_of_a_working_registry_in_english_and_dutch() {
    let scenario = scenario::real_registry_by_acr_name();
    let english = scenario.output(&["--verbose"]);
    assert_eq!(english.stdout, "");
    assert_report!("working_registry_en", &english.stderr, SERVER_FILTERS);
    let dutch = scenario.output(&["--verbose", "--lang", "nl"]);
    assert_report!("working_registry_nl", &dutch.stderr, SERVER_FILTERS);
}

#[test]
fn the_full_report_of_a_failing_registry_in_english_and_dutch() {
    let scenario = scenario::forbidden().args(&["--ignore-errors"]).exit(0);
    let english = scenario.output(&[]);
    assert_report!("forbidden_registry_en", &english.stderr, SERVER_FILTERS);
    let dutch = scenario.output(&["--lang", "nl"]);
    assert_report!("forbidden_registry_nl", &dutch.stderr, SERVER_FILTERS);
    // The same run in Dutch: the codes and the registry's own words are the same.
    for text in [&english.stderr, &dutch.stderr] {
        assert!(text.contains("CONNECTIVITY_FORBIDDEN_ERROR"));
        assert!(text.contains(&format!("    DENIED: {ACR_FIREWALL_MESSAGE}\n")));
    }
}

/// With `--debug`, each request of the data probe is told once: as the note that gives its answer
/// and time, not again as a command line.
#[test]
fn debug_tells_each_probe_request_once() {
    let run = scenario::probe_through_the_storage_host().output(&["--debug"]);
    for request in [
        "GET https://example.azurecr.io/v2/hello/tags/list",
        "GET https://example.azurecr.io/v2/hello/manifests/v1",
        "/blob:",
    ] {
        let told = run.stderr.matches(request).count();
        assert_eq!(told, 1, "{request} told {told} times:\n{}", run.stderr);
    }
    // --debug still adds what the probe's notes do not give: the registry chain's own requests.
    assert!(
        run.stderr
            .contains("GET https://example.azurecr.io/v2/: HTTP 401 in "),
        "{}",
        run.stderr
    );
}

/// The data probe's report when the storage host refuses, and when it works, in both languages
/// (a scenario per run: the fake ACR answers its challenge once).
#[test]
fn the_report_of_the_data_probe_in_english_and_dutch() {
    let failing = || {
        scenario::storage_forbids()
            .args(&["--ignore-errors"])
            .exit(0)
    };
    assert_report!(
        "storage_forbidden_en",
        &failing().output(&[]).stderr,
        SERVER_FILTERS
    );
    assert_report!(
        "storage_forbidden_nl",
        &failing().output(&["--lang", "nl"]).stderr,
        SERVER_FILTERS
    );
    let working = scenario::probe_through_the_storage_host;
    assert_report!(
        "storage_probe_en",
        &working().output(&[]).stderr,
        SERVER_FILTERS
    );
    assert_report!(
        "storage_probe_nl",
        &working().output(&["--lang", "nl"]).stderr,
        SERVER_FILTERS
    );
}

/// After a round trip the registry keeps its repository, emptied, ahead of `hello` in the
/// catalog, and eleven emptied repositories come first: the probe walks past them all, onto the
/// catalog's second page (asked for after the first page's last name), and never reads the
/// round trip's repository.
#[test]
fn the_probe_walks_the_catalog_past_emptied_repositories_and_the_round_trips() {
    let fronted = Fronted::start();
    let emptied: Vec<String> = (0..11).map(|i| format!("aaa/emptied-{i:02}")).collect();
    let emptied: Vec<&str> = emptied.iter().map(String::as_str).collect();
    let (base, ca, authorization) = fronted.pushing(&emptied);
    for repository in &emptied {
        TestImage::new(DOCKER_MANIFEST).push_and_delete(
            &base,
            ca,
            Some(&authorization),
            repository,
        );
    }
    let scenario = fronted.scenario("walk");
    let front = &fronted.front;
    let round_trip = scenario.output(&["--round-trip", "-o", "json"]);
    assert_eq!(
        round_trip.status("registry.round_trip"),
        "ok",
        "{}",
        round_trip.stderr
    );
    for run in [round_trip, scenario.output(&["-o", "json"])] {
        run.all_registry_ok();
        run.line(&format!("Read manifest of hello:v1 ({OCI_MANIFEST}) : OK"));
        assert_eq!(run.status("registry.blob"), "ok", "{}", run.stderr);
    }
    let requests = front.requests();
    let catalog: Vec<String> = requests
        .iter()
        .filter(|r| r.path == "/v2/_catalog")
        .map(|r| r.query_param("last").unwrap_or_default())
        .collect();
    assert_eq!(catalog, ["", "aaa/emptied-09", "", "aaa/emptied-09"]);
    assert!(
        !requests
            .iter()
            .any(|r| r.path == "/v2/acr-health/probe/tags/list"),
        "the round trip's repository was read"
    );
}

/// What the probe says when it reads another platform's entry, and when there is nothing to
/// download, in both languages.
#[test]
fn the_probe_notes_in_english_and_dutch() {
    // The platform looked for is this machine's.
    let filters: Vec<(&str, &str)> = SERVER_FILTERS
        .iter()
        .copied()
        .chain([(
            r"(entry for|item voor) linux/(amd64|arm64/v8)",
            "$1 [THIS PLATFORM]",
        )])
        .collect();
    let other_platform = scenario::real_registry_index_for_other_platforms();
    let nothing = scenario::real_registry_with_nothing_to_download();
    for (name, run) in [
        ("other_platform_en", other_platform.output(&[])),
        (
            "other_platform_nl",
            other_platform.output(&["--lang", "nl"]),
        ),
        ("nothing_to_download_en", nothing.output(&[])),
        ("nothing_to_download_nl", nothing.output(&["--lang", "nl"])),
    ] {
        assert_report!(name, &run.stderr, &filters);
    }
}

/// An `openssl req -x509` certificate this machine does not trust, and the run that stops there,
/// in both languages.
#[test]
fn an_untrusted_ca_certificate_and_the_stop_in_english_and_dutch() {
    let scenario = scenario::untrusted_openssl_req_x509_certificate();
    assert_report!(
        "ca_certificate_en",
        &scenario.output(&[]).stderr,
        SERVER_FILTERS
    );
    assert_report!(
        "ca_certificate_nl",
        &scenario.output(&["--lang", "nl"]).stderr,
        SERVER_FILTERS
    );
}

/// Stopping at the first error in az's order (a test pull that fails after a second:
/// DOCKER_PULL_ERROR) while the registry chain runs at the same time and is done long before: the
/// round trip, after the pull in az's order, never pushes, and the document says it had not
/// finished. With `--ignore-errors` the same run pushes.
#[test]
fn a_run_stopped_at_its_first_error_pushes_nothing_after_it() {
    let mut scenario = scenario::real_registry_round_trip().exit(1);
    let slow_failing_pull = r#"sleep 1; echo "pull failed" >&2; exit 1"#;
    scenario.sandbox = Sandbox::with_tools(&support::tools::with_tool(
        support::tools::working_tools(),
        "docker",
        support::tools::fake_docker(support::tools::DAEMON_UP, slow_failing_pull),
    ));
    let front = scenario.kept::<Arc<FakeRegistry>>().unwrap().clone();
    let pushes = || {
        front
            .requests()
            .iter()
            .filter(|r| r.method != "GET" && r.path.starts_with("/v2/team/probe/"))
            .count()
    };
    let run = scenario.output(&["-o", "json"]);
    run.stopped_at("docker.pull", "DOCKER_PULL_ERROR");
    assert_eq!(pushes(), 0, "{}", run.stderr);
    assert_eq!(
        run.check("registry.round_trip")["message"],
        "Not reported: the run stopped at the first error before this check had finished."
    );
    // The registry's connection checks had run meanwhile.
    assert_eq!(
        run.check("registry.token_accepted")["message"],
        "Not reported: the run stopped at the first error; this check, which ran alongside the checks before it, had already finished."
    );
    let scenario = scenario.exit(0);
    let run = scenario.output(&["--ignore-errors", "-o", "json"]);
    assert_eq!(run.status("registry.round_trip"), "ok", "{}", run.stderr);
    assert!(pushes() > 0);
}

/// A registry whose authority this run trusts only through `REQUESTS_CA_BUNDLE`: without a CA in
/// `/etc/docker/certs.d/<login server>/` the report says docker pull will fail and how to give the
/// daemon the CA; with one (put there by the test, removed after) it says the daemon has it.
#[test]
fn the_daemons_trust_is_told_beside_the_certificate() {
    let fronted = Fronted::start();
    let scenario = fronted.scenario("daemon-trust");
    let directory = std::path::Path::new("/etc/docker/certs.d").join(&fronted.login_server);
    let lacks = scenario.output(&["-o", "json"]);
    lacks.detail(
        "registry.challenge",
        &format!(
            "The Docker daemon does not read REQUESTS_CA_BUNDLE, and {} holds no CA: docker pull will fail with an x509 error. Give the daemon the authority acr-health test CA: `sudo mkdir -p {0} && sudo cp {} {0}/ca.crt` (no restart needed).",
            directory.display(),
            fronted.ca.pem_path().display()
        ),
    );
    assert_eq!(
        lacks.check("registry.challenge")["certificate"]["issuer_only_in_bundle"],
        true
    );
    let _placed = Placed::directory(&directory);
    std::fs::copy(fronted.ca.pem_path(), directory.join("ca.crt")).unwrap();
    let has = scenario.output(&["-o", "json"]);
    has.detail(
        "registry.challenge",
        &format!(
            "The Docker daemon has a CA for this registry in {} (it does not read REQUESTS_CA_BUNDLE).",
            directory.display()
        ),
    );
}

/// What podman's `registries.conf` (podman being the client) and containerd's `hosts.toml` say of
/// the registry under check is told beside its certificate, in both languages: podman's insecure
/// entry with a mirror, a namespace it sends elsewhere; the mirror containerd tries first, without
/// checking its certificate, and the CA it trusts there.
#[test]
fn podman_and_containerd_configuration_for_the_registry_is_told() {
    let ca = Arc::new(TestCa::new());
    let registry = RealRegistry::start(&ca);
    let login_server = registry.login_server();
    let podman = r#"case "$1" in
  version) echo '{"Client":{"Version":"4.3.1","OsArch":"linux/amd64"}}' ;;
  pull) echo "d2c94e258dcb" ;;
  *) exit 64 ;;
esac"#;
    let sandbox = Sandbox::with_tools(&[("podman", podman.to_owned())]);
    let conf = sandbox.home_file(
        "registries.conf",
        format!(
            r#"[[registry]]
prefix = "{login_server}"
location = "{login_server}"
insecure = true

[[registry.mirror]]
location = "mirror.corp.test:5000"

[[registry]]
prefix = "{login_server}/team"
location = "copy.corp.test/team"
"#
        ),
    );
    let directory = std::path::Path::new("/etc/containerd/certs.d").join(&login_server);
    let _placed = Placed::directory(&directory);
    let hosts = directory.join("hosts.toml");
    std::fs::write(
        &hosts,
        format!(
            r#"server = "https://{login_server}"

[host."https://mirror.corp.test"]
  capabilities = ["pull", "resolve"]
  skip_verify = true

[host."https://second.corp.test"]
  capabilities = ["pull"]
  ca = "/etc/containerd/certs.d/{login_server}/ca.crt"
"#
        ),
    )
    .unwrap();
    let run = |lang: &str| {
        let mut cmd = sandbox.command();
        cmd.env("REQUESTS_CA_BUNDLE", ca.pem_path())
            .env("CONTAINERS_REGISTRIES_CONF", &conf)
            .args(["check-health", "--yes", "--ignore-errors", "-o", "json"])
            .args(["--lang", lang, "--login-server", &login_server]);
        sandbox.run(cmd, 0)
    };
    let english = run("en");
    assert_eq!(
        english.status("registry.challenge"),
        "ok",
        "{}",
        english.stderr
    );
    let conf = "[TMP]/home/registries.conf";
    let hosts = hosts.display();
    for expected in [
        format!(
            "Podman's {conf} marks {login_server} as insecure: podman pull does not check its certificate and may use plain HTTP."
        ),
        format!(
            "Podman's {conf} has podman pull try mirror.corp.test:5000 first for {login_server}, and the registry only when they fail."
        ),
        format!(
            "Podman's {conf} sends pulls of {login_server}/team to copy.corp.test/team: podman pull talks to that host, not to the one checked here."
        ),
        format!(
            "containerd (Kubernetes nodes, nerdctl) pulls {login_server} from https://mirror.corp.test, https://second.corp.test first, then from https://{login_server}, as {hosts} says."
        ),
        format!(
            "containerd does not check the certificate of https://mirror.corp.test ({hosts}: skip_verify)."
        ),
        format!(
            "containerd trusts /etc/containerd/certs.d/{login_server}/ca.crt for https://second.corp.test ({hosts})."
        ),
    ] {
        english.detail("registry.challenge", &expected);
    }
    let dutch = run("nl");
    dutch.detail(
        "registry.challenge",
        &format!("{conf} van Podman markeert {login_server} als onveilig: podman pull controleert het certificaat niet en gebruikt mogelijk onversleuteld HTTP."),
    );
    dutch.detail_starting(
        "registry.challenge",
        &format!("containerd (Kubernetes-nodes, nerdctl) haalt {login_server} eerst op bij https://mirror.corp.test"),
    );
}

/// `--daemon-pull` with this machine's real Docker daemon and the real registry on loopback
/// (which the daemon reaches as an insecure registry): the daemon pulls the image the probe found
/// and removes it again. With basic auth and no `docker login`, the daemon's failure is
/// DAEMON_PULL_ERROR with its own words, while this shell's checks pass.
#[test]
fn the_daemon_pulls_the_image_the_probe_found() {
    let ca = Arc::new(TestCa::new());
    let command = |registry: &RealRegistry, extra: &[&str]| {
        let sandbox = Sandbox::with_tools(&[]);
        let mut cmd = sandbox.command_on_path(&sandbox.path_with_real_docker());
        cmd.env("REQUESTS_CA_BUNDLE", ca.pem_path())
            .args([
                "check-health",
                "--yes",
                "--ignore-errors",
                "--timeout",
                "20",
                "-o",
                "json",
            ])
            .args(["--login-server", &registry.login_server(), "--daemon-pull"])
            .args(extra);
        (sandbox, cmd)
    };
    let open = RealRegistry::start(&ca);
    let image = TestImage::unpackable();
    image.push(&open.base_url(), &ca, None, "daemon/pull", "v1");
    let (sandbox, cmd) = command(&open, &[]);
    let run = sandbox.run(cmd, 0);
    let reference = format!("{}/daemon/pull:v1", open.login_server());
    assert_eq!(run.status("registry.daemon_pull"), "ok", "{}", run.stderr);
    run.line(&format!("Docker daemon pull of {reference} : OK"));
    run.detail(
        "registry.daemon_pull",
        "Removed again (Docker did not have the image before).",
    );
    // Why the daemon pulls although this run trusts the registry's CA only through
    // REQUESTS_CA_BUNDLE: it reaches a registry on loopback as an insecure one (127.0.0.0/8 and
    // ::1/128 by default), which `docker info` says. No x509 failure is foretold.
    let insecure = run.detail_starting(
        "registry.challenge",
        &format!(
            "The Docker daemon treats {} as an insecure registry, because its address ",
            open.login_server()
        ),
    );
    assert!(
        insecure.ends_with(
            "docker pull does not check the registry's certificate and falls back to plain HTTP."
        ),
        "{insecure}"
    );
    assert!(!run.stderr.contains("x509"), "{}", run.stderr);
    // The daemon's clock is this machine's: nothing to say of it.
    assert!(
        run.check("docker.pull")
            .get("daemon_clock_offset_seconds")
            .is_none()
    );
    let (sandbox, mut cmd) = command(&open, &[]);
    let dutch = sandbox.run(cmd.args(["--lang", "nl"]), 0);
    dutch.detail_starting(
        "registry.challenge",
        &format!(
            "De Docker-daemon behandelt {} als onveilig register, omdat het adres ",
            open.login_server()
        ),
    );

    let guarded = RealRegistry::start_htpasswd(&ca, "alice", PASSWORD);
    let token = format!("Basic {}", basic_header("alice", PASSWORD));
    image.push(&guarded.base_url(), &ca, Some(&token), "daemon/pull", "v1");
    let (sandbox, mut cmd) = command(&guarded, &["--username", "alice", "--password-stdin"]);
    cmd.write_stdin(format!("{PASSWORD}\n"));
    let run = sandbox.run(cmd, 0);
    assert_eq!(run.status("registry.blob"), "ok", "{}", run.stderr);
    let check = run.check("registry.daemon_pull");
    assert_eq!(check["code"], "DAEMON_PULL_ERROR", "{}", run.stderr);
    assert_eq!(
        check["message"],
        format!(
            "The Docker daemon could not pull {}/daemon/pull:v1, although this shell reached the registry.",
            guarded.login_server()
        )
    );
    // The daemon's own words.
    run.detail_starting("registry.daemon_pull", "Error response from daemon:");
    assert!(!run.stderr.contains(PASSWORD) && !run.stdout.contains(PASSWORD));
}

/// Two pipelines checking one registry at the same time: every run pushes an image of its own
/// (its config carries the run's random id), so deleting it by digest never removes another
/// run's tag, and every run ends with its own image deleted.
#[test]
fn concurrent_round_trips_each_push_and_delete_only_their_own_image() {
    let scenario = scenario::real_registry_round_trip();
    let commands: Vec<assert_cmd::Command> =
        (0..6).map(|_| scenario.command(&["-o", "json"])).collect();
    let outputs: Vec<std::process::Output> = std::thread::scope(|scope| {
        let handles: Vec<_> = commands
            .into_iter()
            .map(|mut cmd| scope.spawn(move || cmd.output().expect("run acr-health")))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut references = Vec::new();
    for output in &outputs {
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(0), "{stderr}");
        let document: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        let round_trip = document["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == "registry.round_trip")
            .unwrap();
        assert_eq!(round_trip["status"], "ok", "{stderr}");
        let deleted = round_trip["details"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|d| d.as_str())
            .find(|d| d.starts_with("Deleted "))
            .unwrap_or_else(|| panic!("no deletion told:\n{stderr}"))
            .to_owned();
        references.push(deleted);
    }
    references.sort();
    references.dedup();
    assert_eq!(references.len(), outputs.len(), "{references:?}");
}
