//! Self-tests of the registry test infrastructure (`tests/support`), with reqwest directly (not
//! through the acr-health binary). The real-registry tests run Debian's docker-registry; they
//! fail, never skip, when it is missing (`bash tests/run.sh` installs it).

mod support;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::*;

const TENANT: &str = "72f988bf-0000-4000-8000-00000000c0de";

async fn get(client: &reqwest::Client, url: &str) -> reqwest::Response {
    client
        .get(url)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {}", chain(&e)))
}

async fn post_form(
    client: &reqwest::Client,
    url: &str,
    pairs: &[(&str, &str)],
) -> reqwest::Response {
    client
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form_body(pairs))
        .send()
        .await
        .unwrap_or_else(|e| panic!("POST {url}: {}", chain(&e)))
}

async fn json_of(response: reqwest::Response) -> Value {
    let text = response.text().await.expect("body");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

fn www_authenticate(response: &reqwest::Response) -> String {
    response
        .headers()
        .get_all("www-authenticate")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect::<Vec<_>>()
        .join(" | ")
}

/// The Display of an error and all its sources.
fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut out = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        out.push_str(" <- ");
        out.push_str(&e.to_string());
        source = e.source();
    }
    out
}

/// The ACR flow as az runs it: exchange with the challenge's service, token with `service`.
async fn acr_flow(
    client: &reqwest::Client,
    auth_base: &str,
    challenge_service: &str,
    token_service: &str,
    scope: &str,
    entra_token: &str,
) -> (String, String) {
    let exchange = post_form(
        client,
        &format!("{auth_base}/oauth2/exchange"),
        &[
            ("grant_type", "access_token"),
            ("service", challenge_service),
            ("tenant", TENANT),
            ("access_token", entra_token),
        ],
    )
    .await;
    assert_eq!(exchange.status(), 200);
    let refresh = json_of(exchange).await["refresh_token"]
        .as_str()
        .expect("refresh_token")
        .to_owned();
    let token = post_form(
        client,
        &format!("{auth_base}/oauth2/token"),
        &[
            ("grant_type", "refresh_token"),
            ("service", token_service),
            ("scope", scope),
            ("refresh_token", &refresh),
        ],
    )
    .await;
    assert_eq!(token.status(), 200);
    let access = json_of(token).await["access_token"]
        .as_str()
        .expect("access_token")
        .to_owned();
    (refresh, access)
}

fn auth_base(realm: &str) -> String {
    // scheme://host[:port] of the realm, as az derives it.
    let after_scheme = realm.find("://").unwrap() + 3;
    let end = realm[after_scheme..]
        .find('/')
        .map_or(realm.len(), |i| after_scheme + i);
    realm[..end].to_owned()
}

// ---------------------------------------------------------------------------------------------
// The real docker-registry

#[tokio::test]
async fn real_registry_in_token_mode_challenges_with_bearer_realm_and_service() {
    let ca = TestCa::new();
    let tokens = AcrTokenServer::start(&ca);
    let registry = RealRegistry::start_token(&ca, &tokens);
    assert_ne!(registry.port(), 5000);
    let response = get(&client(&ca), &registry.url("/v2/")).await;
    assert_eq!(response.status(), 401, "{}", registry.log());
    assert_eq!(
        response.headers()["docker-distribution-api-version"],
        "registry/2.0"
    );
    assert_eq!(
        www_authenticate(&response),
        format!(
            r#"Bearer realm="{}",service="{}""#,
            tokens.realm(),
            registry.login_server()
        )
    );
    assert_eq!(registry.service(), Some(registry.login_server().as_str()));
}

#[tokio::test]
async fn the_acr_flow_gets_the_catalog_from_the_real_registry() {
    let ca = TestCa::new();
    let tokens = AcrTokenServer::start(&ca);
    let registry = RealRegistry::start_token(&ca, &tokens);
    let identity = FakeIdentity::start();
    let http = client(&ca);

    // An Entra token as the CLI would get it.
    let imds = http
        .get(format!(
            "{}?api-version=2018-02-01&resource={ACR_AUDIENCE}",
            identity.imds_token_url()
        ))
        .header("Metadata", "true")
        .send()
        .await
        .unwrap();
    let entra = json_of(imds).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();

    // Challenge, exchange, token (service = login server, as az sends it), catalog.
    let challenge = get(&http, &registry.url("/v2/")).await;
    let header = www_authenticate(&challenge);
    let realm = header.split('"').nth(1).unwrap().to_owned();
    let service = header.split('"').nth(3).unwrap().to_owned();
    let (refresh, access) = acr_flow(
        &http,
        &auth_base(&realm),
        &service,
        &registry.login_server(),
        "registry:catalog:*",
        &entra,
    )
    .await;
    let catalog = http
        .get(registry.url("/v2/_catalog"))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert_eq!(catalog.status(), 200, "{}", registry.log());
    assert_eq!(json_of(catalog).await, json!({"repositories": []}));

    // What the token server was sent, exactly.
    let requests = tokens.requests();
    assert_eq!(requests.len(), 2);
    let exchange = &requests[0];
    assert_eq!(
        (exchange.method.as_str(), exchange.path.as_str()),
        ("POST", "/oauth2/exchange")
    );
    assert_eq!(
        exchange.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(
        exchange.form_names(),
        ["grant_type", "service", "tenant", "access_token"]
    );
    assert_eq!(
        exchange.form_field("service"),
        Some(registry.login_server().as_str())
    );
    assert_eq!(exchange.form_field("tenant"), Some(TENANT));
    assert_eq!(exchange.form_field("access_token"), Some(entra.as_str()));
    let token = &requests[1];
    assert_eq!(token.form_field("grant_type"), Some("refresh_token"));
    assert_eq!(token.form_fields("scope"), ["registry:catalog:*"]);
    assert_eq!(token.form_field("refresh_token"), Some(refresh.as_str()));
    assert!(
        !token.mentions(&entra),
        "the Entra token went to /oauth2/token"
    );

    // The tokens are what ACR mints.
    let rt = jwt_payload(&refresh).unwrap();
    assert_eq!(rt["grant_type"], "refresh_token");
    assert_eq!(rt["tenant"], TENANT);
    assert_eq!(rt["sub"], OBJECT_ID);
    assert_eq!(rt["iss"], ACR_ISSUER);
    let at = jwt_payload(&access).unwrap();
    assert_eq!(at["aud"], registry.login_server());
    assert_eq!(
        at["access"],
        json!([{"type": "registry", "name": "catalog", "actions": ["*"]}])
    );
    for claim in [
        "iss",
        "sub",
        "aud",
        "exp",
        "nbf",
        "iat",
        "jti",
        "access",
        "grant_type",
    ] {
        assert!(at.get(claim).is_some(), "access token lacks {claim}: {at}");
    }
    let header = jwt_header(&access).unwrap();
    assert_eq!(header["alg"], "RS256");
    assert_eq!(header["x5c"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn the_real_registry_rejects_a_token_for_another_audience() {
    // Gotcha: a registry whose service differs from the login server rejects the token that az's
    // `service=<login server>` produces; with the challenge's service it works.
    let ca = TestCa::new();
    let tokens = AcrTokenServer::start(&ca);
    let registry = RealRegistry::builder(&ca)
        .token_auth(TokenAuth::for_server(&tokens).service("localhost"))
        .start();
    let http = client(&ca);
    let base = tokens.base_url();
    let (_, wrong) = acr_flow(
        &http,
        &base,
        "localhost",
        &registry.login_server(),
        "registry:catalog:*",
        "entra",
    )
    .await;
    let response = http
        .get(registry.url("/v2/_catalog"))
        .bearer_auth(&wrong)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert!(www_authenticate(&response).contains(r#"error="invalid_token""#));

    let (_, right) = acr_flow(
        &http,
        &base,
        "localhost",
        "localhost",
        "registry:catalog:*",
        "entra",
    )
    .await;
    let response = http
        .get(registry.url("/v2/_catalog"))
        .bearer_auth(&right)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{}", registry.log());
}

#[tokio::test]
async fn restricted_actions_give_insufficient_scope_on_the_real_registry() {
    let ca = TestCa::new();
    let tokens = AcrTokenServer::start(&ca);
    tokens.restrict_actions(Some(&["pull"]));
    let registry = RealRegistry::start_token(&ca, &tokens);
    let http = client(&ca);
    let ls = registry.login_server();
    let (_, access) = acr_flow(
        &http,
        &tokens.base_url(),
        &ls,
        &ls,
        "registry:catalog:*",
        "entra",
    )
    .await;
    assert_eq!(
        jwt_payload(&access).unwrap()["access"],
        json!([{"type": "registry", "name": "catalog", "actions": []}])
    );
    let response = http
        .get(registry.url("/v2/_catalog"))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert!(www_authenticate(&response).contains(r#"error="insufficient_scope""#));

    // A repository scope keeps only the granted actions (az's --repository check reads them).
    let (_, access) = acr_flow(
        &http,
        &tokens.base_url(),
        &ls,
        &ls,
        "repository:team/app:pull,push,metadata_write,metadata_read,delete",
        "entra",
    )
    .await;
    assert_eq!(
        jwt_payload(&access).unwrap()["access"][0]["actions"],
        json!(["pull"])
    );
}

#[tokio::test]
async fn the_docker_token_flow_with_basic_auth_works_on_the_real_registry() {
    let ca = TestCa::new();
    let tokens = AcrTokenServer::start(&ca);
    let registry = RealRegistry::start_token(&ca, &tokens);
    let http = client(&ca);
    let url = format!(
        "{}?service={}&scope=registry:catalog:*",
        tokens.realm(),
        registry.login_server()
    );

    let response = http
        .get(&url)
        .basic_auth("testuser", Some("testpass"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body = json_of(response).await;
    assert_eq!(body["token"], body["access_token"]);
    assert!(body["issued_at"].as_str().unwrap().ends_with('Z'));
    let catalog = http
        .get(registry.url("/v2/_catalog"))
        .bearer_auth(body["token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(catalog.status(), 200, "{}", registry.log());
    let sent = &tokens.requests()[0];
    assert_eq!(sent.method, "GET");
    assert_eq!(
        sent.query_param("scope").as_deref(),
        Some("registry:catalog:*")
    );
    assert_eq!(
        basic_credentials(sent),
        Some(("testuser".to_owned(), "testpass".to_owned()))
    );

    // Wrong password: 401. Anonymous: a token that opens /v2/ but not the catalog.
    let response = http
        .get(&url)
        .basic_auth("testuser", Some("nope"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let anonymous = json_of(get(&http, &url).await).await;
    let token = anonymous["token"].as_str().unwrap();
    assert_eq!(jwt_payload(token).unwrap()["access"], json!([]));
    let v2 = http
        .get(registry.url("/v2/"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(v2.status(), 200);
    let catalog = http
        .get(registry.url("/v2/_catalog"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(catalog.status(), 401);
}

#[tokio::test]
async fn htpasswd_mode_answers_basic_realm() {
    let ca = TestCa::new();
    let registry = RealRegistry::start_htpasswd(&ca, "alice", "s3cret");
    let http = client(&ca);
    let response = get(&http, &registry.url("/v2/")).await;
    assert_eq!(response.status(), 401);
    assert_eq!(www_authenticate(&response), r#"Basic realm="basic-realm""#);
    assert_eq!(json_of(response).await["errors"][0]["code"], "UNAUTHORIZED");
    let ok = http
        .get(registry.url("/v2/"))
        .basic_auth("alice", Some("s3cret"))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200, "{}", registry.log());
}

#[tokio::test]
async fn without_auth_the_real_registry_answers_200_without_a_challenge() {
    let ca = TestCa::new();
    let registry = RealRegistry::start(&ca);
    let response = get(&client(&ca), &registry.url("/v2/")).await;
    assert_eq!(response.status(), 200);
    assert!(response.headers().get("www-authenticate").is_none());
}

#[tokio::test]
async fn tls_failures_of_the_real_registry() {
    let ca = TestCa::new();
    let expired = RealRegistry::builder(&ca)
        .leaf(ca.expired_leaf(&["localhost", "127.0.0.1"]))
        .start();
    let error = client(&ca)
        .get(expired.url("/v2/"))
        .send()
        .await
        .expect_err("an expired certificate must fail");
    assert!(error.is_connect(), "{}", chain(&error));
    assert!(chain(&error).contains("expired"), "{}", chain(&error));

    let wrong = RealRegistry::builder(&ca)
        .leaf(ca.wrong_name_leaf())
        .start();
    let error = client(&ca).get(wrong.url("/v2/")).send().await.unwrap_err();
    assert!(chain(&error).contains(WRONG_HOST), "{}", chain(&error));

    let untrusted = RealRegistry::builder(&ca)
        .leaf(Leaf::untrusted_localhost())
        .start();
    let error = client(&ca)
        .get(untrusted.url("/v2/"))
        .send()
        .await
        .unwrap_err();
    assert!(chain(&error).contains("UnknownIssuer"), "{}", chain(&error));
}

#[tokio::test]
async fn a_dropped_real_registry_is_gone() {
    let ca = TestCa::new();
    let registry = RealRegistry::start(&ca);
    let (pid, addr) = (registry.pid(), registry.addr());
    drop(registry);
    assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists());
    assert!(std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_err());
}

#[test]
fn the_listening_line_gives_the_port() {
    let tls = r#"time="2026-11-26T23:49:00Z" level=info msg="listening on 127.0.0.1:35439, tls" go.version=go1.19.8"#;
    assert_eq!(listening_port(tls), Some(35439));
    let plain = r#"level=info msg="listening on 127.0.0.1:41000" instance.id=x"#;
    assert_eq!(listening_port(plain), Some(41000));
    assert_eq!(
        listening_port("level=info msg=\"redis not configured\""),
        None
    );
}

// ---------------------------------------------------------------------------------------------
// FakeRegistry

#[tokio::test]
async fn the_fake_registry_behaves_like_acr_by_default() {
    let ca = TestCa::new();
    let registry = FakeRegistry::start(&ca);
    let http = client(&ca);
    let response = get(&http, &registry.url("/v2/")).await;
    assert_eq!(response.status(), 401);
    let ls = registry.authority();
    assert_eq!(
        www_authenticate(&response),
        format!(r#"Bearer realm="https://{ls}/oauth2/token",service="{ls}""#)
    );
    // The whole flow on the one host.
    let (_, access) = acr_flow(
        &http,
        &registry.base_url(),
        &ls,
        &ls,
        "registry:catalog:*",
        "entra-token",
    )
    .await;
    assert_eq!(jwt_payload(&access).unwrap()["aud"], ls);
    let paths: Vec<String> = registry.requests().iter().map(|r| r.path.clone()).collect();
    assert_eq!(paths, ["/v2/", "/oauth2/exchange", "/oauth2/token"]);
    let sent = registry.requests();
    assert_eq!(sent[0].version, "HTTP/2.0");
    assert_eq!(sent[0].sni.as_deref(), Some("localhost"));
    assert!(sent[0].authorization().is_none());
    // The Entra token went to the exchange and nowhere else.
    let with_entra: Vec<&str> = sent
        .iter()
        .filter(|r| r.mentions("entra-token"))
        .map(|r| r.path.as_str())
        .collect();
    assert_eq!(with_entra, ["/oauth2/exchange"]);
    assert_eq!(registry.tokens().issued_refresh_tokens().len(), 1);
}

#[tokio::test]
async fn the_fake_registry_answers_403_and_429_as_configured() {
    let ca = TestCa::new();
    let registry = FakeRegistry::start(&ca);
    let http = client(&ca);

    registry.v2(Reply::firewall_denied());
    let response = get(&http, &registry.url("/v2/")).await;
    assert_eq!(response.status(), 403);
    let body = json_of(response).await;
    assert_eq!(body["errors"][0]["code"], "DENIED");
    assert_eq!(body["errors"][0]["message"], ACR_FIREWALL_MESSAGE);

    registry.v2(Reply::too_many_requests(7));
    let response = get(&http, &registry.url("/v2/")).await;
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["retry-after"], "7");
    assert_eq!(
        json_of(response).await["errors"][0]["code"],
        "TOOMANYREQUESTS"
    );

    registry.v2(Reply::unauthorized_without_challenge());
    let response = get(&http, &registry.url("/v2/")).await;
    assert_eq!(response.status(), 401);
    assert!(response.headers().get("www-authenticate").is_none());

    registry.v2(Reply::basic_challenge("Registry Realm").header(
        "www-authenticate",
        r#"Bearer realm="https://elsewhere.invalid/token""#,
    ));
    let response = get(&http, &registry.url("/v2/")).await;
    assert_eq!(
        www_authenticate(&response),
        r#"Basic realm="Registry Realm" | Bearer realm="https://elsewhere.invalid/token""#
    );

    registry.v2(Reply::status(418).header("x-test", "yes").body("teapot"));
    let response = get(&http, &registry.url("/v2/")).await;
    assert_eq!(response.status(), 418);
    assert_eq!(response.headers()["x-test"], "yes");
    assert_eq!(response.text().await.unwrap(), "teapot");
    assert_eq!(registry.requests_to("/v2/").len(), 5);
}

#[tokio::test]
async fn a_sequence_answers_successive_requests_differently() {
    let ca = TestCa::new();
    let registry = FakeRegistry::start(&ca);
    registry.on_sequence(
        "/v2/",
        vec![Reply::ok_without_challenge(), Reply::too_many_requests(1)],
    );
    let http = client(&ca);
    let statuses = [
        get(&http, &registry.url("/v2/")).await.status(),
        get(&http, &registry.url("/v2/")).await.status(),
        get(&http, &registry.url("/v2/")).await.status(),
    ];
    assert_eq!(statuses, [200, 429, 429]);
}

#[tokio::test]
async fn a_delayed_reply_comes_late() {
    let ca = TestCa::new();
    let registry = FakeRegistry::start(&ca);
    registry.v2(Reply::ok_without_challenge().after(Duration::from_millis(200)));
    let started = Instant::now();
    assert_eq!(get(&client(&ca), &registry.url("/v2/")).await.status(), 200);
    assert!(started.elapsed() >= Duration::from_millis(200));
}

/// The fakes run on their own threads: a plain `#[test]` that blocks (as one that runs the CLI
/// with assert_cmd does) is still answered.
#[test]
fn the_fakes_answer_a_blocking_test_without_a_runtime() {
    use std::io::{Read, Write};
    let identity = FakeIdentity::start();
    let mut tcp = std::net::TcpStream::connect(identity.addr()).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(
        tcp,
        "GET {IMDS_PATH}?api-version=2018-02-01&resource={ACR_AUDIENCE} HTTP/1.1\r\n\
         Host: {}\r\nMetadata: true\r\nConnection: close\r\n\r\n",
        identity.authority()
    )
    .unwrap();
    let mut response = String::new();
    tcp.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200 OK"), "{response}");
    let sent = &identity.requests()[0];
    assert_eq!(sent.version, "HTTP/1.1");
    assert_eq!(sent.query_param("resource").as_deref(), Some(ACR_AUDIENCE));
    assert_eq!(sent.header("metadata"), Some("true"));
}

#[tokio::test]
async fn the_realm_can_live_on_another_host() {
    let ca = TestCa::new();
    let auth = AcrTokenServer::start(&ca);
    let registry = FakeRegistry::start(&ca);
    registry.v2(Reply::acr_challenge(&auth.realm(), "contoso.azurecr.io"));
    let http = client(&ca);
    let header = www_authenticate(&get(&http, &registry.url("/v2/")).await);
    let realm = header.split('"').nth(1).unwrap();
    assert_eq!(realm, auth.realm());
    acr_flow(
        &http,
        &auth_base(realm),
        "contoso.azurecr.io",
        &registry.authority(),
        "registry:catalog:*",
        "t",
    )
    .await;
    assert_eq!(auth.requests().len(), 2);
    assert!(registry.requests_to("/oauth2/exchange").is_empty());
}

#[tokio::test]
async fn a_hang_is_a_timeout_for_a_client_with_a_short_timeout() {
    let ca = TestCa::new();
    let registry = FakeRegistry::start(&ca);
    registry.v2(Reply::hang());
    let started = Instant::now();
    let error = client_with_timeout(&ca, Duration::from_millis(300))
        .get(registry.url("/v2/"))
        .send()
        .await
        .expect_err("a hang must time out");
    assert!(error.is_timeout(), "{}", chain(&error));
    assert!(!error.is_connect());
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(
        registry.requests_to("/v2/").len(),
        1,
        "the request was read"
    );
}

#[tokio::test]
async fn a_listener_that_never_speaks_times_out_in_the_tls_handshake() {
    let ca = TestCa::new();
    let silent = SilentListener::start();
    let http = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_der(ca.cert_der()).unwrap()])
        .no_proxy()
        .connect_timeout(Duration::from_millis(300))
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let error = http
        .get(format!("https://localhost:{}/v2/", silent.port()))
        .send()
        .await
        .expect_err("no handshake");
    assert!(
        error.is_connect() && error.is_timeout(),
        "{}",
        chain(&error)
    );
    assert_eq!(silent.accepted(), 1);
}

#[tokio::test]
async fn endless_huge_and_trickling_bodies() {
    let ca = TestCa::new();
    let registry = FakeRegistry::start(&ca);
    let http = client_with_timeout(&ca, Duration::from_secs(5));

    registry.v2(Reply::endless_body());
    let mut response = get(&http, &registry.url("/v2/")).await;
    assert_eq!(response.status(), 401);
    assert!(response.headers().get("content-length").is_none());
    let mut read = 0usize;
    while read < 4 << 20 {
        read += response.chunk().await.unwrap().expect("never ends").len();
    }
    drop(response);

    registry.v2(Reply::huge_body(8 << 30));
    let mut response = get(&http, &registry.url("/v2/")).await;
    assert_eq!(
        response.headers()["content-length"],
        (8u64 << 30).to_string()
    );
    assert!(!response.chunk().await.unwrap().unwrap().is_empty());
    drop(response);

    registry.v2(Reply::trickle(Duration::from_millis(50)));
    let error = client_with_timeout(&ca, Duration::from_millis(400))
        .get(registry.url("/v2/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .expect_err("a trickle never finishes");
    assert!(error.is_timeout(), "{}", chain(&error));
}

#[tokio::test]
async fn redirects_to_another_host_or_to_plain_http() {
    let ca = TestCa::new();
    let registry = FakeRegistry::start(&ca);
    let plain = FakeRegistry::start_plain();
    plain.v2(Reply::ok_without_challenge());
    registry.v2(Reply::redirect(307, &plain.url("/v2/")));
    let response = get(&client(&ca), &registry.url("/v2/")).await;
    assert_eq!(response.status(), 307);
    assert_eq!(response.headers()["location"], plain.url("/v2/"));
    assert!(plain.url("/v2/").starts_with("http://localhost:"));
    let response = get(&client(&ca), &plain.url("/v2/")).await;
    assert_eq!(response.status(), 200);
    assert!(!plain.requests()[0].tls);
}

#[tokio::test]
async fn certificate_faults_of_the_fake_registry() {
    let ca = TestCa::new();
    for (leaf, expect) in [
        (ca.expired_leaf(&["localhost"]), "expired"),
        (ca.not_yet_valid_leaf(&["localhost"]), "not valid before"),
        (ca.wrong_name_leaf(), "not valid for name"),
        (Leaf::untrusted_localhost(), "UnknownIssuer"),
    ] {
        let registry = FakeRegistry::start_with(Serve::leaf(leaf));
        let error = client(&ca)
            .get(registry.url("/v2/"))
            .send()
            .await
            .unwrap_err();
        assert!(
            chain(&error).contains(expect),
            "{expect}: {}",
            chain(&error)
        );
        assert!(registry.requests().is_empty());
        assert!(wait_until(Duration::from_secs(2), || registry
            .tls_failures()
            == 1));
    }
}

#[tokio::test]
async fn a_fake_on_port_443_of_its_own_loopback_address() {
    let ca = TestCa::new();
    let first = free_loopback_443();
    let second = free_loopback_443();
    assert_ne!(first.ip(), second.ip());
    assert!(!first.ip().to_string().starts_with("127.0.0."));
    let registry = FakeRegistry::start_with(Serve::tls(&ca).bind(first).host("contoso.azurecr.io"));
    assert_eq!(registry.base_url(), "https://contoso.azurecr.io");
    let http = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_der(ca.cert_der()).unwrap()])
        .no_proxy()
        .resolve("contoso.azurecr.io", first)
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let response = get(&http, "https://contoso.azurecr.io/v2/").await;
    assert_eq!(
        www_authenticate(&response),
        r#"Bearer realm="https://contoso.azurecr.io/oauth2/token",service="contoso.azurecr.io""#
    );
    assert_eq!(
        registry.requests()[0].sni.as_deref(),
        Some("contoso.azurecr.io")
    );
}

#[tokio::test]
async fn a_dropped_fake_stops_listening() {
    let ca = TestCa::new();
    let registry = FakeRegistry::start(&ca);
    let addr = registry.addr();
    drop(registry);
    let error = client_with_timeout(&ca, Duration::from_secs(2))
        .get(format!("https://localhost:{}/v2/", addr.port()))
        .send()
        .await
        .unwrap_err();
    assert!(error.is_connect(), "{}", chain(&error));
}

// ---------------------------------------------------------------------------------------------
// AcrTokenServer knobs

#[tokio::test]
async fn token_server_knobs() {
    let ca = TestCa::new();
    let tokens = AcrTokenServer::start(&ca);
    let http = client(&ca);
    let exchange = |token: &'static str| {
        let http = http.clone();
        let url = tokens.url("/oauth2/exchange");
        async move {
            post_form(
                &http,
                &url,
                &[
                    ("grant_type", "access_token"),
                    ("service", "r.azurecr.io"),
                    ("tenant", TENANT),
                    ("access_token", token),
                ],
            )
            .await
        }
    };

    tokens.reject_entra_token("bad-entra-token");
    let response = exchange("bad-entra-token").await;
    assert_eq!(response.status(), 401);
    let body = json_of(response).await;
    assert_eq!(body["errors"][0]["code"], "UNAUTHORIZED");
    assert_eq!(body["errors"][0]["detail"], Value::Null);
    assert_eq!(exchange("good").await.status(), 200);

    for status in [401, 429, 500] {
        tokens.set_exchange(Behavior::Status(status));
        let response = exchange("good").await;
        assert_eq!(response.status(), status);
        if status == 429 {
            assert_eq!(response.headers()["retry-after"], "7");
        }
    }
    tokens.set_exchange(Behavior::NonJwt);
    assert_eq!(
        json_of(exchange("good").await).await,
        json!({"refresh_token": "not-a-jwt"})
    );
    tokens.set_exchange(Behavior::NonJson);
    let response = exchange("good").await;
    assert_eq!(response.status(), 200);
    assert!(serde_json::from_str::<Value>(&response.text().await.unwrap()).is_err());
    tokens.set_exchange(Behavior::MissingField);
    assert_eq!(json_of(exchange("good").await).await, json!({}));
    tokens.set_exchange(Behavior::Normal);

    // The token step: forced statuses, and refresh tokens it never issued.
    let refresh = json_of(exchange("good").await).await["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let token = |refresh: String, scope: &'static str| {
        let http = http.clone();
        let url = tokens.url("/oauth2/token");
        async move {
            post_form(
                &http,
                &url,
                &[
                    ("grant_type", "refresh_token"),
                    ("service", "r.azurecr.io"),
                    ("scope", scope),
                    ("refresh_token", &refresh),
                ],
            )
            .await
        }
    };
    assert_eq!(
        token("eyJ.forged.token".into(), "registry:catalog:*")
            .await
            .status(),
        401
    );
    tokens.set_token(Behavior::Status(429));
    let response = token(refresh.clone(), "registry:catalog:*").await;
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["retry-after"], "7");
    tokens.set_token(Behavior::NonJwt);
    assert_eq!(
        json_of(token(refresh.clone(), "registry:catalog:*").await).await["access_token"],
        "not-a-jwt"
    );
    tokens.set_token(Behavior::Normal);

    // A repository name with host:port.
    let access = json_of(
        token(
            refresh.clone(),
            "repository:localhost:5000/team/app:pull,push",
        )
        .await,
    )
    .await;
    assert_eq!(
        jwt_payload(access["access_token"].as_str().unwrap()).unwrap()["access"],
        json!([{"type": "repository", "name": "localhost:5000/team/app", "actions": ["pull", "push"]}])
    );
    // az without --repository literally asks for `registry:None:*`.
    let access = json_of(token(refresh, "registry:None:*").await).await;
    assert_eq!(
        jwt_payload(access["access_token"].as_str().unwrap()).unwrap()["access"],
        json!([{"type": "registry", "name": "None", "actions": ["*"]}])
    );
}

#[test]
fn scopes_split_type_at_the_first_colon_and_actions_at_the_last() {
    assert_eq!(
        parse_scopes([
            "repository:host:5000/a/b:pull,push registry:catalog:*",
            "bogus"
        ]),
        vec![
            Access {
                kind: "repository".into(),
                name: "host:5000/a/b".into(),
                actions: vec!["pull".into(), "push".into()],
            },
            Access {
                kind: "registry".into(),
                name: "catalog".into(),
                actions: vec!["*".into()],
            },
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// FakeIdentity

#[tokio::test]
async fn fake_identity_endpoints_return_entra_shaped_tokens() {
    let identity = FakeIdentity::start();
    let http = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();

    // IMDS needs `Metadata: true`.
    let url = format!(
        "{}?api-version=2018-02-01&resource={ACR_AUDIENCE}",
        identity.imds_token_url()
    );
    assert_eq!(get(&http, &url).await.status(), 400);
    let body = json_of(
        http.get(&url)
            .header("Metadata", "true")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(body["token_type"], "Bearer");
    let claims = jwt_payload(body["access_token"].as_str().unwrap()).unwrap();
    assert_eq!(claims["tid"], TENANT_ID);
    assert_eq!(claims["aud"], ACR_AUDIENCE);
    assert_eq!(claims["oid"], OBJECT_ID);
    assert!(claims["exp"].as_u64().unwrap() > claims["iat"].as_u64().unwrap());

    // App Service: IDENTITY_ENDPOINT + X-IDENTITY-HEADER.
    let url = format!(
        "{}?resource={ACR_AUDIENCE}&api-version=2019-08-01",
        identity.identity_endpoint()
    );
    assert_eq!(get(&http, &url).await.status(), 401);
    let body = json_of(
        http.get(&url)
            .header("X-IDENTITY-HEADER", identity.identity_header())
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        jwt_payload(body["access_token"].as_str().unwrap()).unwrap()["tid"],
        TENANT_ID
    );

    // Entra: client secret, then workload identity; tid is the tenant of the path.
    let tenant = "0c0ffee0-0000-4000-8000-000000000001";
    identity.expect_client_secret("right");
    let secret = |s: &'static str| {
        let (http, url) = (http.clone(), identity.token_url(tenant));
        async move {
            post_form(
                &http,
                &url,
                &[
                    ("grant_type", "client_credentials"),
                    ("client_id", CLIENT_ID),
                    ("client_secret", s),
                    ("scope", "https://containerregistry.azure.net/.default"),
                ],
            )
            .await
        }
    };
    let wrong = secret("wrong").await;
    assert_eq!(wrong.status(), 401);
    assert_eq!(json_of(wrong).await["error"], "invalid_client");
    let body = json_of(secret("right").await).await;
    let claims = jwt_payload(body["access_token"].as_str().unwrap()).unwrap();
    assert_eq!(claims["tid"], tenant);
    assert_eq!(claims["aud"], ACR_AUDIENCE);
    let body = json_of(
        post_form(
            &http,
            &identity.token_url(tenant),
            &[
                ("grant_type", "client_credentials"),
                ("client_id", CLIENT_ID),
                ("client_assertion_type", JWT_BEARER),
                ("client_assertion", "federated.jwt.here"),
                ("scope", "https://containerregistry.azure.net/.default"),
            ],
        )
        .await,
    )
    .await;
    assert_eq!(
        jwt_payload(body["access_token"].as_str().unwrap()).unwrap()["tid"],
        tenant
    );

    // Forced failures, and the record of what was sent.
    identity.fail(IdentityEndpoint::Imds, 500);
    let failed = http
        .get(identity.imds_token_url() + "?resource=x")
        .header("Metadata", "true")
        .send()
        .await
        .unwrap();
    assert_eq!(failed.status(), 500);
    let sent = identity.requests();
    assert_eq!(sent.len(), 8);
    assert_eq!(sent[5].form_field("client_secret"), Some("right"));
    assert_eq!(
        sent[6].form_field("client_assertion"),
        Some("federated.jwt.here")
    );
    assert_eq!(identity.issued_tokens().len(), 4);
}

#[test]
fn ca_bundles_hold_every_ca() {
    let (one, two) = (TestCa::new(), TestCa::named("second test CA"));
    let dir = tempfile::tempdir().unwrap();
    let path = write_ca_bundle(dir.path().join("bundle.pem"), &[&one, &two]);
    let pem = std::fs::read(&path).unwrap();
    assert_eq!(
        reqwest::Certificate::from_pem_bundle(&pem).unwrap().len(),
        2
    );
    assert_eq!(
        std::fs::read_to_string(one.pem_path()).unwrap(),
        one.cert_pem()
    );
}
