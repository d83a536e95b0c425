//! The test harness of every end-to-end test: the sandbox a run happens in and what it gave
//! (`sandbox`), scenarios of runs against servers (`scenario`), the fake and real tools on a
//! run's PATH (`tools`); and for the registry-connectivity checks a test CA, the real
//! docker-registry, and in-process fakes of an ACR registry, ACR's token service and Entra
//! credential endpoints. Include it with `mod support;` (each test binary uses only part of it).
//!
//! Every fake runs on its own runtime thread, so it keeps answering while a test blocks on the
//! CLI (`assert_cmd`), and stops on drop. Everything listens on loopback only.
#![allow(dead_code)]

pub mod acr;
pub mod arm;
pub mod fake_registry;
pub mod http;
pub mod identity;
pub mod image;
pub mod jwt;
pub mod pki;
pub mod python;
pub mod real_registry;
pub mod sandbox;
pub mod scenario;
pub mod tools;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

// Re-exports: each test binary uses only some of them.
#[allow(unused_imports)]
pub use acr::{
    ACR_ISSUER, ACR_REFRESH_TOKEN_USER, Access, AcrTokenServer, AcrTokens, Behavior,
    acr_status_response, basic_credentials, parse_scopes,
};
#[allow(unused_imports)]
pub use fake_registry::{ACR_FIREWALL_MESSAGE, FakeRegistry, Reply, SilentListener};
#[allow(unused_imports)]
pub use http::{BodySpec, RecordedRequest, Serve, acr_errors};
#[allow(unused_imports)]
pub use identity::{
    ACR_AUDIENCE, APP_SERVICE_PATH, CLIENT_ID, FakeIdentity, IDENTITY_HEADER, IMDS_PATH,
    IdentityEndpoint, JWT_BEARER, OBJECT_ID, TENANT_ID,
};
#[allow(unused_imports)]
pub use image::{DOCKER_MANIFEST, OCI_INDEX, OCI_MANIFEST, TestImage, sha256};
#[allow(unused_imports)]
pub use jwt::{jwt_header, jwt_payload, unsigned_jwt};
#[allow(unused_imports)]
pub use pki::{Leaf, TestCa, WRONG_HOST, write_ca_bundle};
#[allow(unused_imports)]
pub use real_registry::{
    DOCKER_REGISTRY, RealRegistry, RealRegistryBuilder, RegistryAuth, TokenAuth, listening_port,
};
#[allow(unused_imports)]
pub use sandbox::{
    NO_DAEMON, REGISTRY_CHECKS, Run, SERVER_FILTERS, Sandbox, check_in, json_document, limited,
    report_filters, status_in,
};
#[allow(unused_imports)]
pub use scenario::{ACR, Check, SCENARIO_TIMEOUT, Scenario};
#[allow(unused_imports)]
pub use tools::{
    DAEMON_UP, DOCKER_VERSION_JSON, HELM_3, NOTARY_0_6_1, PULL_OK, TEST_PULL_IMAGE, docker_client,
    fake_docker, fake_helm, fake_notary, regex_literal, with_tool, without_tool, working_tools,
};

/// A directory outside the sandbox that a test makes (as root, which the tests run as) and that
/// is removed again when this is dropped, whatever the test does.
pub struct Placed(std::path::PathBuf);

impl Placed {
    pub fn directory(path: &std::path::Path) -> Placed {
        std::fs::create_dir_all(path).expect("the tests run as root");
        Placed(path.to_owned())
    }
}

impl Drop for Placed {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A reqwest client for self-tests: trusts only `ca`, no proxy, connect timeout 2 s, total 10 s,
/// no redirects.
pub fn client(ca: &TestCa) -> reqwest::Client {
    client_with_timeout(ca, Duration::from_secs(10))
}

/// [`client`] with another total timeout.
pub fn client_with_timeout(ca: &TestCa, timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_der(ca.cert_der()).expect("CA for reqwest")])
        .no_proxy()
        .connect_timeout(Duration::from_secs(2).min(timeout))
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("reqwest client")
}

/// `application/x-www-form-urlencoded` from pairs, in order (reqwest's `form` feature is off).
pub fn form_body(pairs: &[(&str, &str)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

/// A loopback IPv4 address of its own (`127.x.y.z`, never `127.0.0.x`) on which port 443 is
/// free right now, for tests that must listen on 443. Distinct per call within a process and
/// spread by process id across processes. Binding 443 needs root (or CAP_NET_BIND_SERVICE).
pub fn free_loopback_ip() -> Ipv4Addr {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let spread = std::process::id() % 97;
    for _ in 0..10_000 {
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let ip = Ipv4Addr::new(
            127,
            (10 + spread + n / (250 * 250)) as u8,
            ((n / 250) % 250) as u8,
            (n % 250 + 2) as u8,
        );
        match std::net::TcpListener::bind((ip, 443)) {
            Ok(_) => return ip,
            Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
                panic!("cannot listen on {ip}:443 ({e}): these tests need root")
            }
            Err(_) => continue,
        }
    }
    panic!("no free loopback address with port 443")
}

/// `free_loopback_ip():443`.
pub fn free_loopback_443() -> SocketAddr {
    SocketAddr::new(IpAddr::V4(free_loopback_ip()), 443)
}

/// Polls `condition` every 10 ms until it holds or `timeout` passes; returns whether it held.
/// (Server-side counters such as `tls_failures` settle a moment after the client has its error.)
pub fn wait_until(timeout: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        if condition() {
            return true;
        }
        if std::time::Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A loopback address where nothing listens (connection refused), on an ephemeral port.
pub fn refused_addr() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr")
}

/// A run's output as text, with the temporary directory `dir` (also by its real path) written as
/// `[TMP]`, so that reports compare and snapshot the same on every machine.
pub fn redact_dir(bytes: &[u8], dir: &std::path::Path) -> String {
    let mut text = String::from_utf8(bytes.to_vec()).expect("the output is UTF-8");
    if let Ok(real) = dir.canonicalize() {
        text = text.replace(real.to_str().unwrap(), "[TMP]");
    }
    text.replace(dir.to_str().unwrap(), "[TMP]")
}

/// `line (12 ms)` → `line`: the time `--verbose` and `--debug` add.
pub fn without_timing(line: &str) -> &str {
    if let Some(rest) = line.strip_suffix(" ms)")
        && let Some(open) = rest.rfind(" (")
        && open + 2 < rest.len()
        && rest[open + 2..].chars().all(|c| c.is_ascii_digit())
    {
        return &line[..open];
    }
    line
}
