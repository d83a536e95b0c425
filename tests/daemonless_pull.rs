//! The test pull without a Docker daemon: the real docker client, whose daemon cannot be reached,
//! and a fake Microsoft Container Registry (`mcr.microsoft.com`, pinned to loopback with
//! `--resolve`) whose blob downloads redirect to a second loopback host, `storage.test`. The pull
//! goes through the registry API, anonymously; no request leaves loopback.

mod support;

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use support::*;

const MCR: &str = "mcr.microsoft.com";
const STORAGE: &str = "storage.test";

/// A fake MCR serving `mcr/hello-world:latest` as an index; the config blob redirects to
/// `location`. `/v2/` is open, as MCR's is, unless the test sets a challenge.
fn fake_mcr(ca: &TestCa, image: &TestImage, location: &str) -> Arc<FakeRegistry> {
    let mcr = FakeRegistry::start_with(Serve::tls(ca).host(MCR));
    mcr.v2(Reply::status(200).header("docker-distribution-api-version", "registry/2.0"));
    mcr.on(
        "/v2/mcr/hello-world/manifests/latest",
        Reply::status(200)
            .header("content-type", OCI_INDEX)
            .body(image.index()),
    );
    mcr.on(
        &format!("/v2/mcr/hello-world/manifests/{}", image.manifest_digest()),
        Reply::status(200)
            .header("content-type", image.media_type)
            .body(image.manifest.clone()),
    );
    mcr.on(
        &format!("/v2/mcr/hello-world/blobs/{}", image.config_digest()),
        Reply::redirect(307, location),
    );
    Arc::new(mcr)
}

fn storage(ca: &TestCa, reply: Reply) -> Arc<FakeRegistry> {
    let storage = FakeRegistry::start_with(Serve::tls(ca).host(STORAGE));
    storage.on("/blob", reply);
    Arc::new(storage)
}

/// `acr check-health --yes --ignore-errors -o json` with the real docker client and no daemon,
/// MCR and storage pinned to loopback, trusting the test CA.
fn run(ca: &TestCa, mcr_port: u16, storage_port: u16) -> (Value, String) {
    let sandbox = Sandbox::new();
    let mut cmd = sandbox.real_docker_without_daemon();
    cmd.env("REQUESTS_CA_BUNDLE", ca.pem_path())
        .args([
            "acr",
            "check-health",
            "--yes",
            "--ignore-errors",
            "-o",
            "json",
        ])
        .args(["--timeout", "2", "--resolve"])
        .arg(format!("{MCR}:443:127.0.0.1:{mcr_port}"))
        .arg("--resolve")
        .arg(format!("{STORAGE}:{storage_port}:127.0.0.1"))
        .timeout(Duration::from_secs(30));
    let run = sandbox.run(cmd, 0);
    (run.check("docker.pull"), run.stderr)
}

fn details(check: &Value) -> Vec<String> {
    check["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn without_a_daemon_the_sample_image_is_pulled_through_the_registry_api() {
    let ca = TestCa::new();
    let image = TestImage::new(DOCKER_MANIFEST);
    let storage = storage(&ca, Reply::status(200).body(image.config.clone()));
    let location = format!("https://{STORAGE}:{}/blob?sig=mcr", storage.port());
    let mcr = fake_mcr(&ca, &image, &location);
    let (pull, stderr) = run(&ca, mcr.port(), storage.port());
    assert_eq!(pull["status"], "ok", "{stderr}");
    assert!(
        stderr.contains(&format!(
            "Pull of '{TEST_PULL_IMAGE}' through the registry API : OK"
        )),
        "{stderr}"
    );
    let details = details(&pull);
    let platform = if cfg!(target_arch = "aarch64") {
        "linux/arm64/v8"
    } else {
        "linux/amd64"
    };
    for expected in [
        "With no Docker daemon to pull with, the image was downloaded as containerd or a CI runner pulls it, and not stored.".to_owned(),
        format!("Index entry for {platform}."),
        format!("Digest {} verified ({} bytes).", image.config_digest(), image.config.len()),
    ] {
        assert!(details.contains(&expected), "no {expected:?} in {details:#?}");
    }
    // Anonymously: nothing carried a credential, and storage got the signed URL only.
    for request in mcr.requests().iter().chain(&storage.requests()) {
        assert_eq!(request.authorization(), None, "{}", request.path);
    }
    assert_eq!(storage.requests().len(), 1);
}

/// `docker pull` takes this machine's platform only ("no matching manifest"): unlike the data
/// probe, the pull does not settle for another platform's entry.
#[test]
fn an_index_without_this_platform_is_a_pull_error() {
    let ca = TestCa::new();
    let image = TestImage::new(DOCKER_MANIFEST);
    let storage = storage(&ca, Reply::status(200).body(image.config.clone()));
    let location = format!("https://{STORAGE}:{}/blob?sig=mcr", storage.port());
    let mcr = fake_mcr(&ca, &image, &location);
    mcr.on(
        "/v2/mcr/hello-world/manifests/latest",
        Reply::status(200)
            .header("content-type", OCI_INDEX)
            .body(image.index_for(&["linux/s390x", "linux/ppc64le"])),
    );
    let (pull, stderr) = run(&ca, mcr.port(), storage.port());
    assert_eq!(pull["status"], "error", "{stderr}");
    assert_eq!(pull["code"], "DOCKER_PULL_ERROR", "{stderr}");
    let platform = if cfg!(target_arch = "aarch64") {
        "linux/arm64/v8"
    } else {
        "linux/amd64"
    };
    let expected = format!(
        "The image index mcr/hello-world:latest has no entry for {platform}; it offers linux/s390x, linux/ppc64le."
    );
    assert!(details(&pull).contains(&expected), "{stderr}");
    assert!(storage.requests().is_empty());
}

#[test]
fn an_anonymous_token_is_asked_for_when_the_registry_challenges() {
    let ca = TestCa::new();
    let image = TestImage::new(OCI_MANIFEST);
    let storage = storage(&ca, Reply::status(200).body(image.config.clone()));
    let location = format!("https://{STORAGE}:{}/blob?sig=mcr", storage.port());
    let mcr = fake_mcr(&ca, &image, &location);
    mcr.v2(Reply::AcrChallengeToSelf);
    let (pull, stderr) = run(&ca, mcr.port(), storage.port());
    assert_eq!(pull["status"], "ok", "{stderr}");
    let requests = mcr.requests();
    let token = requests
        .iter()
        .find(|r| r.path == "/oauth2/token")
        .expect("a token request");
    assert_eq!(token.method, "GET");
    assert_eq!(token.authorization(), None);
    assert_eq!(
        token.query_param("scope").as_deref(),
        Some("repository:mcr/hello-world:pull")
    );
    let issued = mcr.tokens().issued_access_tokens();
    assert_eq!(issued.len(), 1);
    let manifest = requests
        .iter()
        .find(|r| r.path.ends_with("/manifests/latest"))
        .unwrap();
    assert_eq!(
        manifest.authorization(),
        Some(format!("Bearer {}", issued[0]).as_str())
    );
    // The token stayed with the registry.
    assert!(!storage.requests().iter().any(|r| r.mentions(&issued[0])));
    assert!(!stderr.contains(&issued[0]));
}

#[test]
fn a_storage_host_that_refuses_keeps_its_own_code() {
    let ca = TestCa::new();
    let image = TestImage::new(DOCKER_MANIFEST);
    let storage = storage(
        &ca,
        Reply::status(403).header("x-ms-error-code", "AuthorizationFailure"),
    );
    let location = format!("https://{STORAGE}:{}/blob?sig=mcr", storage.port());
    let mcr = fake_mcr(&ca, &image, &location);
    let (pull, stderr) = run(&ca, mcr.port(), storage.port());
    assert_eq!(pull["status"], "error");
    assert_eq!(pull["code"], "STORAGE_FORBIDDEN_ERROR", "{stderr}");
    assert!(details(&pull).contains(&"AuthorizationFailure".to_owned()));
}

#[test]
fn an_unreachable_registry_is_a_pull_error_that_says_how_it_was_pulled() {
    let ca = TestCa::new();
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (pull, stderr) = run(&ca, closed, closed);
    assert_eq!(pull["code"], "DOCKER_PULL_ERROR", "{stderr}");
    let details = details(&pull);
    assert_eq!(
        details[0],
        format!(
            "With no Docker daemon to pull with, acr-health downloaded {TEST_PULL_IMAGE} through the registry API instead, and that failed:"
        )
    );
    assert!(
        details
            .iter()
            .any(|d| d.starts_with(&format!("GET https://{MCR}/v2/: no answer after "))),
        "{details:#?}"
    );
}
