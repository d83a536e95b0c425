//! The servers of benchmark scenario C (`bench/scenario_c.sh`): everything `az acr check-health`
//! and `acr-health check-health` talk to on the full Entra path, for use inside a network
//! namespace whose `/etc/hosts` sends `example.azurecr.io` to 127.0.0.1 and
//! `management.azure.com` to 127.0.0.2, and whose `lo` carries 127.0.0.2 and 127.0.0.3.
//!
//! - `https://example.azurecr.io` (127.0.0.1:443): a fake ACR that serves `/oauth2/exchange` and
//!   `/oauth2/token` itself and forwards `/v2/` to the real Debian `docker-registry` in token mode
//!   (as `tests/registry.rs`'s `real_registry_happy_path`);
//! - `http://127.0.0.3` (port 80): IMDS, managed-identity tokens for any resource (ARM and
//!   `https://containerregistry.azure.net`), where both tools are sent (`IMDS_ENDPOINT`,
//!   `AZURE_POD_IDENTITY_AUTHORITY_HOST`): never the link-local metadata address;
//! - `https://management.azure.com` (127.0.0.2:443): the subscription list that `az login
//!   --identity` reads, and in front of a `FakeArm` (which only listens on localhost) the resource
//!   list and the registry `example` that the registry lookups of both tools read, with dedicated
//!   data endpoints in West Europe and East US;
//! - those data endpoints, `https://example.westeurope.data.azurecr.io` (127.0.0.4:443) and
//!   `https://example.eastus.data.azurecr.io` (127.0.0.5:443), which acr-health's endpoint sweep
//!   tries (az does not): they answer at once, and after SIGUSR2 only after 40 and 80 ms, for the
//!   sweep's own measurement (its wall time against its slowest host's).
//!
//! Usage: `bench_servers CA_PEM [--log FILE]`. Writes the test CA's certificate to `CA_PEM`,
//! prints `READY` when everything listens, and runs until SIGTERM or SIGINT (then stops the
//! registry child); SIGUSR2 makes the data endpoints slow. With `--log`, every request (server, method, path and query, form field
//! names; never a header or a body) is appended to FILE until SIGUSR1. The log is polled every
//! 2 ms: the order between servers is only as exact as that (within one poll: IMDS, ARM, then the
//! registry).
#[path = "../tests/support/mod.rs"]
mod support;

use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::json;
use support::arm::{ArmRegistry, FakeArm, REGISTRY_API, SUBSCRIPTION};
use support::http::{
    BodySpec, Outcome, RecordedRequest, Responder, Server, build_response, json_response,
};
use support::{
    FakeIdentity, FakeRegistry, RealRegistry, Reply, Serve, TENANT_ID, TestCa, TokenAuth,
};

/// The login server of the scenario.
const LOGIN_SERVER: &str = "example.azurecr.io";
/// The Resource Manager host of the AzureCloud.
const ARM_HOST: &str = "management.azure.com";
/// IMDS, on loopback: a run must never reach the real metadata address, not even by mistake.
const IMDS: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 3);
/// Where `/etc/netns/<ns>/hosts` puts `management.azure.com`.
const ARM_IP: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);
/// Where `/etc/netns/<ns>/hosts` puts the data endpoints, in the order of
/// `ArmRegistry::data_endpoint_hosts` (the registry's region, then its replica's).
const DATA_ENDPOINT_IPS: [Ipv4Addr; 2] = [Ipv4Addr::new(127, 0, 0, 4), Ipv4Addr::new(127, 0, 0, 5)];

/// A data endpoint: any request is answered 404 (any answer means reachable), after `delay` once
/// `slow` is set.
struct DataEndpoint {
    delay: Duration,
    slow: Arc<AtomicBool>,
}

impl Responder for DataEndpoint {
    fn respond(&self, _: &RecordedRequest) -> Outcome {
        let answer = build_response(404, &[], &BodySpec::Bytes(Vec::new()));
        if self.slow.load(Ordering::SeqCst) {
            Outcome::After(self.delay, answer)
        } else {
            Outcome::Now(answer)
        }
    }
}

/// `https://management.azure.com`: answers the subscription list itself and passes everything
/// else to the `FakeArm` behind it.
struct ArmFront {
    /// `https://localhost:<port>` of the `FakeArm`.
    upstream: String,
    client: reqwest::Client,
}

impl Responder for ArmFront {
    fn respond(&self, request: &RecordedRequest) -> Outcome {
        let path = request.path.trim_end_matches('/').to_ascii_lowercase();
        if request.method == "GET" && path == "/subscriptions" {
            // What `az login --identity` lists (the fake ARM has no subscription list).
            return Outcome::Now(json_response(
                200,
                &json!({"value": [{
                    "id": format!("/subscriptions/{SUBSCRIPTION}"),
                    "authorizationSource": "RoleBased",
                    "managedByTenants": [],
                    "subscriptionId": SUBSCRIPTION,
                    "tenantId": TENANT_ID,
                    "displayName": "acr-health bench",
                    "state": "Enabled",
                    "subscriptionPolicies": {
                        "locationPlacementId": "Public_2014-09-01",
                        "quotaId": "PayAsYouGo_2014-09-01",
                        "spendingLimit": "Off"
                    }
                }]}),
            ));
        }
        // az reads the registry with a newer API version than the one the fake knows (and
        // acr-health asks for); the fields both read (loginServer, encryption, identity) are
        // the same in both, so its request is answered as 2023-07-01.
        let mut pairs = request.query_pairs();
        if path.contains("/providers/microsoft.containerregistry/registries/") {
            for (k, v) in &mut pairs {
                if k == "api-version" {
                    *v = REGISTRY_API.to_owned();
                }
            }
        }
        let mut url = format!("{}{}", self.upstream, request.path);
        if !pairs.is_empty() {
            let mut query = form_urlencoded::Serializer::new(String::new());
            for (k, v) in &pairs {
                query.append_pair(k, v);
            }
            url = format!("{url}?{}", query.finish());
        }
        let mut upstream = self.client.get(&url);
        if let Some(auth) = request.authorization() {
            upstream = upstream.header("authorization", auth);
        }
        Outcome::Later(Box::pin(async move {
            let result = async {
                let response = upstream.send().await?;
                let status = response.status().as_u16();
                let body = response.bytes().await?.to_vec();
                Ok::<_, reqwest::Error>(build_response(
                    status,
                    &[(
                        "content-type".into(),
                        "application/json; charset=utf-8".into(),
                    )],
                    &BodySpec::Bytes(body),
                ))
            }
            .await;
            result.unwrap_or_else(|e| {
                build_response(
                    502,
                    &[],
                    &BodySpec::Bytes(format!("forward to {url}: {e}").into_bytes()),
                )
            })
        }))
    }
}

/// One line per request: no header, no body, no form value (tokens travel there).
fn describe(server: &str, request: &RecordedRequest) -> String {
    let mut line = format!(
        "{server} {} {}",
        request.method,
        request.target().replace(SUBSCRIPTION, "<sub>")
    );
    if !request.form.is_empty() {
        line += &format!(" form: {}", request.form_names().join(","));
        for field in ["grant_type", "service", "scope"] {
            if let Some(value) = request.form_field(field) {
                line += &format!(" {field}={value}");
            }
        }
    }
    line
}

fn main() {
    let mut args = std::env::args().skip(1);
    let ca_path = args.next().unwrap_or_else(|| {
        eprintln!("usage: bench_servers CA_PEM [--log FILE]");
        std::process::exit(2);
    });
    let log_path = match (args.next().as_deref(), args.next()) {
        (Some("--log"), Some(path)) => Some(path),
        (None, _) => None,
        _ => {
            eprintln!("usage: bench_servers CA_PEM [--log FILE]");
            std::process::exit(2);
        }
    };

    let ca = TestCa::new();
    ca.write_pem(&ca_path);

    // The registry: the fake ACR front on 443 for example.azurecr.io, the real one behind it.
    let front = Arc::new(FakeRegistry::start_with(
        Serve::tls(&ca)
            .bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 443)))
            .host(LOGIN_SERVER),
    ));
    let registry = RealRegistry::builder(&ca)
        .token_auth(TokenAuth {
            realm: format!("https://{LOGIN_SERVER}/oauth2/token"),
            service: Some(LOGIN_SERVER.to_owned()),
            issuer: front.tokens().issuer(),
            root_cert_bundle_pem: front.tokens().signer_cert_pem(),
        })
        .start();
    front.v2(Reply::forward(&registry.base_url(), &ca));

    // IMDS.
    let imds = Arc::new(FakeIdentity::start_with(
        Serve::plain().bind(SocketAddr::from((IMDS, 80))),
    ));

    // Resource Manager: the fake on localhost, and the front that has its name.
    let arm = FakeArm::start(&ca);
    let example = ArmRegistry::new("bench", "example")
        .data_endpoints(true)
        .replica("eastus");
    arm.add_registry(&example);
    let slow = Arc::new(AtomicBool::new(false));
    let data_endpoints: Vec<Server> = example
        .data_endpoint_hosts()
        .iter()
        .zip(DATA_ENDPOINT_IPS)
        .zip([40, 80])
        .map(|((host, ip), delay_ms)| {
            Server::start(
                Serve::tls(&ca).bind(SocketAddr::from((ip, 443))).host(host),
                Arc::new(DataEndpoint {
                    delay: Duration::from_millis(delay_ms),
                    slow: slow.clone(),
                }),
            )
        })
        .collect();
    let arm_front = Server::start(
        Serve::tls(&ca)
            .bind(SocketAddr::from((ARM_IP, 443)))
            .host(ARM_HOST),
        Arc::new(ArmFront {
            upstream: arm.base_url(),
            client: support::client(&ca),
        }),
    );

    // The request log, until SIGUSR1.
    let logging = Arc::new(AtomicBool::new(log_path.is_some()));
    let logger = log_path.map(|path| {
        let logging = logging.clone();
        let (front, imds, arm_log) = (front.clone(), imds.clone(), arm_front.log.clone());
        let data_logs: Vec<_> = data_endpoints.iter().map(|s| s.log.clone()).collect();
        std::thread::spawn(move || {
            let mut file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&path)
                .expect("request log");
            let mut seen = [0usize; 5];
            loop {
                let last = !logging.load(Ordering::SeqCst);
                // Within one poll, identity first: a token comes before its use.
                let batches = [
                    ("imds", imds.requests()),
                    ("arm", arm_log.requests()),
                    ("registry", front.requests()),
                    ("data westeurope", data_logs[0].requests()),
                    ("data eastus", data_logs[1].requests()),
                ];
                for (i, (name, requests)) in batches.iter().enumerate() {
                    for request in &requests[seen[i].min(requests.len())..] {
                        let _ = writeln!(file, "{}", describe(name, request));
                    }
                    seen[i] = requests.len();
                }
                if last {
                    break;
                }
                std::thread::sleep(Duration::from_millis(2));
            }
        })
    });

    println!("READY");
    let _ = std::io::stdout().flush();

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("signal runtime");
    runtime.block_on(async {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).expect("SIGTERM");
        let mut int = signal(SignalKind::interrupt()).expect("SIGINT");
        let mut usr1 = signal(SignalKind::user_defined1()).expect("SIGUSR1");
        let mut usr2 = signal(SignalKind::user_defined2()).expect("SIGUSR2");
        loop {
            tokio::select! {
                _ = term.recv() => break,
                _ = int.recv() => break,
                _ = usr1.recv() => logging.store(false, Ordering::SeqCst),
                _ = usr2.recv() => slow.store(true, Ordering::SeqCst),
            }
        }
    });
    logging.store(false, Ordering::SeqCst);
    if let Some(logger) = logger {
        let _ = logger.join();
    }
    // Dropping them stops the servers and kills the docker-registry child.
    drop((front, imds, arm_front, arm, data_endpoints));
    drop(registry);
}
