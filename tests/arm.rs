//! The Azure Resource Manager checks of `acr-health check-health`, end to end through the binary:
//! the registry's login server from ARM, the encryption identity (CMK) and, with `--vnet`, DNS
//! routing to its private endpoint. ARM is [`FakeArm`] on loopback, reached the way az reaches a
//! custom cloud: `AZURE_CONFIG_DIR` with `config` (`[cloud] name = Lab`) and `clouds.config`
//! (`endpoint_resource_manager = https://localhost:<port>/`), the subscription from
//! `azureProfile.json`, `--subscription` or `AZURE_SUBSCRIPTION_ID`, the token from
//! `ACR_HEALTH_ARM_TOKEN`.
//!
//! Every run starts from an empty environment with fake `docker`, `helm` and `notary` that
//! succeed, `IMDS_ENDPOINT` on a loopback port where nothing listens, and `--timeout 2`. Names
//! are pinned with `--resolve`; a private endpoint's address is reached through [`VnetGateway`]
//! (a CONNECT proxy on loopback), so no packet leaves this machine.

mod support;

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use support::arm::*;
use support::*;

/// The registry ARM knows: its name, group, and its login server with a domain-name-label hash.
const NAME: &str = "myreg";
const GROUP: &str = "rg-registry";
const HASHED: &str = "myreg-abc123.azurecr.io";
/// The data endpoints of its two regions.
const DATA_WEST: &str = "myreg-abc123.westeurope.data.azurecr.io";
const DATA_NORTH: &str = "myreg-abc123.northeurope.data.azurecr.io";
/// The private endpoint's addresses in the virtual network.
const PE_IP: &str = "10.1.0.5";
const PE_DATA_IP: &str = "10.1.0.6";
const PE_NORTH_IP: &str = "10.1.0.7";
/// The virtual network with the private endpoint: in the registry's group, and another one.
const VNET: &str = "vnet-hub";
const NET_GROUP: &str = "rg-network";
/// The client ID of the user-assigned identity behind the key.
const CMK_CLIENT: &str = "c3a70000-0000-4000-8000-00000000c3a7";

/// Canaries: tokens that cannot turn up in a report by accident.
const ARM_TOKEN: &str = "arm-token-canary-5c0ffee7d1a94b2e";
/// `--timeout` of every run.
const TIMEOUT: u64 = 2;

/// An Entra token for the registry audience, as `ACR_HEALTH_AAD_TOKEN` carries it.
fn entra_token() -> String {
    unsigned_jwt(&json!({
        "aud": ACR_AUDIENCE,
        "tid": TENANT_ID,
        "oid": OBJECT_ID,
        "canary": "entra-canary-for-the-registry-only",
    }))
}

// ---------------------------------------------------------------------------------------------
// Scenarios in the Lab cloud

/// What a scenario in the Lab cloud adds to [`Scenario`].
trait Lab: Sized {
    /// `check-health --yes` in the Lab cloud, whose ARM is `arm`; trusts `ca`; the ARM token is
    /// [`ARM_TOKEN`]. No subscription yet. Every run checks that the ARM token is nowhere in the
    /// output and that ARM got only it; ARM's earlier requests are forgotten first.
    fn in_lab(ca: &Arc<TestCa>, arm: &Arc<FakeArm>) -> Self;
    /// `azureProfile.json` as az writes it (with a byte-order mark).
    fn profile(self, subscriptions: Value) -> Self;
    /// A profile whose default subscription is the fake's, "Dev".
    fn logged_in(self) -> Self;
    /// The requests ARM must get, in order (each with the ARM token).
    fn arm_requests(self, requests: &[String]) -> Self;
    /// The login server reaches `registry` (pinned with `--resolve`); the Entra token for it.
    fn registry_at(self, host: &str, registry: &Arc<FakeRegistry>) -> Self;
    /// Inside the virtual network: `HTTPS_PROXY` is a [`VnetGateway`] that reaches `registry`
    /// for the login server; each name is pinned to its address.
    fn in_vnet(self, registry: &Arc<FakeRegistry>, pins: &[(&str, &str)]) -> Self;
    /// A scenario with one finding, in both modes. With `--ignore-errors`: exit 0 and every
    /// expectation. Without: exit 1, the run stops at `check` with `code`, the finding reads the
    /// same, and ARM got the same requests up to there.
    fn verify_failing(self, check: &str, code: &str) -> (Run, Run);
}

/// az's `clouds.config` with the Lab cloud: Resource Manager is `arm`, registries are under
/// `suffix`.
fn lab_clouds_config(arm: &FakeArm, suffix: &str) -> String {
    format!(
        "[Lab]\nendpoint_resource_manager = {}\nendpoint_active_directory_resource_id = https://management.core.windows.net/\nsuffix_acr_login_server_endpoint = {suffix}\n",
        arm.endpoint()
    )
}

impl Lab for Scenario {
    fn in_lab(ca: &Arc<TestCa>, arm: &Arc<FakeArm>) -> Scenario {
        // Two seconds per step at most, and few steps can wait that long: ten seconds in all.
        let scenario = Scenario::new()
            .timeout(TIMEOUT)
            .grace(Duration::from_secs(8));
        let azure = scenario.sandbox.path("azure");
        std::fs::create_dir(&azure).unwrap();
        std::fs::write(azure.join("config"), "[cloud]\nname = Lab\n").unwrap();
        std::fs::write(
            azure.join("clouds.config"),
            lab_clouds_config(arm, "azurecr.io"),
        )
        .unwrap();
        let (forget, seen) = (arm.clone(), arm.clone());
        scenario
            .env("AZURE_CONFIG_DIR", &azure)
            .trust(ca)
            .env("ACR_HEALTH_ARM_TOKEN", ARM_TOKEN)
            .keep(arm.clone())
            .before_every_run(move || forget.clear_requests())
            .after_every_run(move |run| {
                for (stream, text) in [("stdout", &run.stdout), ("stderr", &run.stderr)] {
                    assert!(
                        !text.contains(ARM_TOKEN),
                        "the ARM token is in {stream}:\n{text}"
                    );
                }
                // The Entra token of the registry never goes to ARM; ARM's only with the ARM
                // token.
                for request in seen.requests() {
                    assert_eq!(
                        request.authorization(),
                        Some(format!("Bearer {ARM_TOKEN}").as_str()),
                        "{}",
                        request.target()
                    );
                    assert!(!request.mentions("entra-canary"));
                }
            })
    }

    fn profile(self, subscriptions: Value) -> Self {
        let text = format!("\u{feff}{}", json!({"subscriptions": subscriptions}));
        std::fs::write(self.sandbox.path("azure").join("azureProfile.json"), text).unwrap();
        self
    }

    fn logged_in(self) -> Self {
        self.profile(json!([
            {"id": OTHER_SUBSCRIPTION, "name": "Other", "isDefault": false},
            {"id": SUBSCRIPTION, "name": "Dev", "isDefault": true},
        ]))
    }

    fn arm_requests(self, requests: &[String]) -> Self {
        let arm = lab_arm(&self);
        let expected = requests.to_vec();
        self.expect(move |run| assert_eq!(arm.summary(), expected, "{}", run.stderr))
    }

    fn registry_at(self, host: &str, registry: &Arc<FakeRegistry>) -> Self {
        let resolve = format!("{host}:443:127.0.0.1:{}", registry.port());
        let r = registry.clone();
        self.args(&["--resolve", &resolve])
            .env("ACR_HEALTH_AAD_TOKEN", entra_token())
            .keep(registry.clone())
            .expect(move |_| {
                // The registry gets the registry's tokens, never ARM's.
                assert!(!r.saw(ARM_TOKEN), "the ARM token went to the registry");
            })
    }

    fn in_vnet(self, registry: &Arc<FakeRegistry>, pins: &[(&str, &str)]) -> Self {
        let gateway = Arc::new(VnetGateway::start());
        gateway.route(&format!("{HASHED}:443"), registry.addr());
        let mut scenario = self
            .env("HTTPS_PROXY", gateway.url())
            .env("NO_PROXY", "localhost")
            .env("ACR_HEALTH_AAD_TOKEN", entra_token())
            .keep(registry.clone());
        for (host, ip) in pins {
            scenario = scenario.args(&["--resolve", &format!("{host}:443:{ip}")]);
        }
        let (g, r) = (gateway.clone(), registry.clone());
        scenario.keep(gateway).expect(move |run| {
            // Only the login server went through the network, and only to the fake registry.
            assert!(!g.connects().is_empty(), "{}", run.stderr);
            for target in g.connects() {
                assert_eq!(target, format!("{HASHED}:443"), "{}", run.stderr);
            }
            assert!(!r.saw(ARM_TOKEN), "the ARM token went to the registry");
        })
    }

    fn verify_failing(mut self, check: &str, code: &str) -> (Run, Run) {
        let arm = lab_arm(&self);
        self.args.push("--ignore-errors".into());
        self.exit = 0;
        let lenient = self.run(&["-o", "json"]);
        assert_eq!(lenient.status(check), "error", "{}", lenient.stderr);
        assert_eq!(lenient.code_of(check), code, "{}", lenient.stderr);
        lenient.line("Notary version: 0.6.1");
        let lenient_requests = arm.summary();

        self.args.retain(|a| a != "--ignore-errors");
        self.exit = 1;
        let strict = self.output(&["-o", "json"]);
        strict.stopped_at(check, code);
        assert_eq!(strict.finding(code), lenient.finding(code));
        let strict_requests = arm.summary();
        assert!(
            lenient_requests.starts_with(&strict_requests),
            "{strict_requests:#?} is not the start of {lenient_requests:#?}"
        );
        (lenient, strict)
    }
}

/// The ARM of a scenario made by [`Lab::in_lab`].
fn lab_arm(scenario: &Scenario) -> Arc<FakeArm> {
    scenario
        .kept::<Arc<FakeArm>>()
        .expect("a scenario in the Lab cloud")
        .clone()
}

/// A fake ACR for `host` that accepts every token: each run asks `/v2/` twice (the challenge,
/// then with the token), so `/v2/` answers the challenge, then 200, and so on for ten runs.
fn fake_acr(ca: &TestCa, host: &str) -> Arc<FakeRegistry> {
    let registry = FakeRegistry::start_with(Serve::tls(ca).host(host));
    let mut replies = Vec::new();
    for _ in 0..10 {
        replies.push(Reply::AcrChallengeToSelf);
        replies.push(Reply::ok_without_challenge());
    }
    registry.on_sequence("/v2/", replies);
    Arc::new(registry)
}

const OTHER_SUBSCRIPTION: &str = "0e7e0000-0000-4000-8000-000000000000";

/// A fresh CA and ARM holding `registry` (and a decoy or two); ARM accepts only [`ARM_TOKEN`].
fn lab(registry: &ArmRegistry) -> (Arc<TestCa>, Arc<FakeArm>) {
    let ca = Arc::new(TestCa::new());
    let arm = Arc::new(FakeArm::start(&ca));
    arm.accept_token(ARM_TOKEN);
    // Another kind of resource with the same name comes first in the subscription: only the
    // $filter keeps it out.
    arm.add_resource(
        &resource_id(GROUP, "Microsoft.Storage/storageAccounts", NAME),
        "Microsoft.Storage/storageAccounts",
        "2023-05-01",
        json!({"location": "westeurope", "kind": "StorageV2"}),
    );
    arm.add_registry(&ArmRegistry::new("rg-other", "otherreg1"));
    arm.add_registry(registry);
    (ca, arm)
}

/// The registry ARM knows, with its hashed login server.
fn myreg() -> ArmRegistry {
    ArmRegistry::new(GROUP, NAME).login_server(HASHED)
}

fn list_request() -> String {
    format!("GET {} api-version={RESOURCES_API}", resources_path())
}

fn get_request(id: &str, api: &str) -> String {
    format!("GET {id} api-version={api}")
}

fn registry_request() -> String {
    get_request(&myreg().id(), REGISTRY_API)
}

/// The lookup: the filtered list, then the registry.
fn lookup() -> Vec<String> {
    vec![list_request(), registry_request()]
}

/// ARM's resource list was asked for the registries only.
fn assert_filtered(arm: &FakeArm) {
    let list = &arm.requests_to(&resources_path())[0];
    assert_eq!(
        list.query_param("$filter").as_deref(),
        Some("resourceType eq 'Microsoft.ContainerRegistry/registries'")
    );
}

/// The finding's lines for `code`, with its message and details, before the solutions.
fn finding_head(run: &Run, code: &str) -> Vec<String> {
    run.finding(code)
        .into_iter()
        .take_while(|l| !l.starts_with("Potential solutions"))
        .map(str::to_owned)
        .collect()
}

// ---------------------------------------------------------------------------------------------
// 1. The registry found in ARM

/// `-n MYREG`: ARM's list is matched without regard to case; the login server is ARM's, with its
/// hash, and every later check uses it. Without --ignore-errors, and nothing fails.
#[test]
fn found_the_login_server_comes_from_arm() {
    let (ca, arm) = lab(&myreg());
    let acr = fake_acr(&ca, HASHED);
    let (a, r) = (arm.clone(), acr.clone());
    let run = Scenario::in_lab(&ca, &arm)
        .logged_in()
        .args(&["-n", "MYREG"])
        .registry_at(HASHED, &acr)
        .arm_requests(&lookup())
        .expect(move |run| {
            run.connectivity_ok();
            run.line(&format!(
                "Login server: {HASHED} (from Azure Resource Manager)"
            ));
            assert!(run.details("registry.login_server").is_empty());
            run.line(&format!("DNS lookup to {HASHED} at IP 127.0.0.1 : OK"));
            run.line(&format!("Challenge endpoint https://{HASHED}/v2/ : OK"));
            run.line(&format!("Registry '{HASHED}' accepts the token : OK"));
            run.no_line_containing("myreg.azurecr.io");
            assert_eq!(run.status("registry.cmk"), "skipped");
            run.line("Encryption identity: not checked; the registry does not encrypt with a customer-managed key.");
            assert!(
                !run.statuses().iter().any(|(c, _)| c == "registry.private_endpoint"),
                "no --vnet, no private endpoint check"
            );
            assert_eq!(run.doc()["summary"]["errors"], 0);
            assert_filtered(&a);
            // The registry was reached by its hashed name, and only by it.
            let requests = r.requests();
            // The connectivity checks, the endpoint sweep's `GET /`, and the data probe's
            // catalog request.
            assert_eq!(requests.len(), 6, "{}", run.stderr);
            for request in requests {
                assert_eq!(request.sni.as_deref(), Some(HASHED));
                assert_eq!(request.authority.as_deref(), Some(HASHED));
            }
        })
        .verify();
    assert_eq!(run.code, 0);
}

/// The name ARM gives is not the name with the suffix; when it does not resolve, the DNS check
/// names it (and the fallback name is never tried).
#[test]
fn found_the_checks_name_arms_login_server_when_it_does_not_resolve() {
    let (ca, arm) = lab(&myreg());
    Scenario::in_lab(&ca, &arm)
        .logged_in()
        .args(&["-n", "myreg"])
        .arm_requests(&lookup())
        .expect(|run| {
            assert_eq!(
                run.check("registry.dns")["message"],
                format!("The name of registry '{HASHED}' does not resolve.")
            );
            run.line("Challenge endpoint: not checked because of CONNECTIVITY_DNS_ERROR");
            run.no_line_containing("myreg.azurecr.io");
        })
        .verify_failing("registry.dns", "CONNECTIVITY_DNS_ERROR");
}

/// ARM's resource list comes in pages: the registry is on the second.
#[test]
fn found_on_the_second_page_of_the_resource_list() {
    let (ca, arm) = lab(&myreg());
    arm.page_size(1);
    let acr = fake_acr(&ca, HASHED);
    let a = arm.clone();
    Scenario::in_lab(&ca, &arm)
        .logged_in()
        .args(&["-n", "myreg"])
        .registry_at(HASHED, &acr)
        .arm_requests(&[list_request(), list_request(), registry_request()])
        .expect(move |run| {
            run.connectivity_ok();
            run.line(&format!(
                "Login server: {HASHED} (from Azure Resource Manager)"
            ));
            let pages = a.requests_to(&resources_path());
            assert_eq!(pages[0].query_param("$skiptoken"), None);
            assert_eq!(pages[1].query_param("$skiptoken").as_deref(), Some("1"));
            assert_eq!(
                pages[1].query_param("$filter").as_deref(),
                Some("resourceType eq 'Microsoft.ContainerRegistry/registries'")
            );
        })
        .verify();
}

/// A `nextLink` to another origin is not followed: the ARM token goes to ARM only.
#[test]
fn a_next_link_elsewhere_is_not_followed_with_the_token() {
    let (ca, arm) = lab(&myreg());
    let elsewhere = Arc::new(FakeArm::start(&ca));
    arm.page_size(1).next_link_origin(&elsewhere.base_url());
    let acr = fake_acr(&ca, "myreg.azurecr.io");
    let e = elsewhere.clone();
    Scenario::in_lab(&ca, &arm)
        .logged_in()
        .args(&["-n", "myreg"])
        .registry_at("myreg.azurecr.io", &acr)
        .keep(elsewhere)
        .arm_requests(&[list_request()])
        .expect(move |run| {
            assert!(e.requests().is_empty(), "the nextLink was followed");
            run.line("Login server: myreg.azurecr.io (the registry name with the Lab suffix)");
            assert_eq!(
                run.details("registry.login_server")[1],
                format!("Registry 'myreg' was not found in subscription {SUBSCRIPTION}.")
            );
        })
        .verify();
}

// ---------------------------------------------------------------------------------------------
// 2. Not found

/// Not in the subscription: the name with the cloud's suffix, as az does, with the reason.
#[test]
fn not_found_falls_back_to_the_name_and_the_suffix() {
    let (ca, arm) = lab(&ArmRegistry::new(GROUP, "anotherreg"));
    let acr = fake_acr(&ca, "myreg.azurecr.io");
    Scenario::in_lab(&ca, &arm)
        .logged_in()
        .args(&["-n", "myreg"])
        .registry_at("myreg.azurecr.io", &acr)
        .arm_requests(&[list_request()])
        .expect(|run| {
            run.connectivity_ok();
            run.line("Login server: myreg.azurecr.io (the registry name with the Lab suffix)");
            assert_eq!(
                run.details("registry.login_server"),
                [
                    "Azure Resource Manager did not give the login server, so it is the name with the cloud's suffix:".to_owned(),
                    format!("Registry 'myreg' was not found in subscription {SUBSCRIPTION}."),
                ]
            );
            run.line("DNS lookup to myreg.azurecr.io at IP 127.0.0.1 : OK");
            run.line("Encryption identity: not checked; the registry was not read from Azure Resource Manager.");
            assert_eq!(run.doc()["summary"]["errors"], 0);
        })
        .verify();
}

/// Not found and not resolvable: the DNS error on the fallback name, in both modes. The Lab's
/// registries are under `.invalid` here (RFC 6761): a name under azurecr.io could exist.
#[test]
fn not_found_and_the_fallback_name_does_not_resolve() {
    let (ca, arm) = lab(&ArmRegistry::new(GROUP, "anotherreg"));
    let scenario = Scenario::in_lab(&ca, &arm);
    std::fs::write(
        scenario.sandbox.path("azure").join("clouds.config"),
        lab_clouds_config(&arm, "azurecr.invalid"),
    )
    .unwrap();
    scenario
        .logged_in()
        .args(&["-n", "myreg"])
        .arm_requests(&[list_request()])
        .expect(|run| {
            assert_eq!(
                run.check("registry.dns")["message"],
                "The name of registry 'myreg.azurecr.invalid' does not resolve."
            );
            assert_eq!(run.status("registry.cmk"), "skipped");
        })
        .verify_failing("registry.dns", "CONNECTIVITY_DNS_ERROR");
}

// ---------------------------------------------------------------------------------------------
// 3. ARM refuses

/// The fallback when ARM answers `failure` on `path`: the name with the suffix, ARM's words in
/// the details, and no abort in either mode (the fallback name reaches a working registry).
fn refused(path: &str, failure: ArmFailure, requests: &[String], detail: &str) {
    let (ca, arm) = lab(&myreg());
    arm.fail(path, failure);
    let acr = fake_acr(&ca, "myreg.azurecr.io");
    let detail = detail.to_owned();
    let scenario = Scenario::in_lab(&ca, &arm)
        .logged_in()
        .args(&["-n", "myreg"])
        .registry_at("myreg.azurecr.io", &acr)
        .arm_requests(requests)
        .expect(move |run| {
            run.connectivity_ok();
            run.line("Login server: myreg.azurecr.io (the registry name with the Lab suffix)");
            let details = run.details("registry.login_server");
            assert_eq!(details.len(), 2, "{details:#?}");
            assert_eq!(details[1], detail);
            run.line(detail.trim());
            assert_eq!(run.status("registry.cmk"), "skipped");
            assert_eq!(run.doc()["summary"]["errors"], 0);
        });
    scenario.run(&["-o", "json"]);
    scenario.run(&["-o", "json", "--ignore-errors"]);
}

#[test]
fn arm_forbids_the_resource_list() {
    refused(
        &resources_path(),
        ArmFailure::Forbidden,
        &[list_request()],
        &format!(
            "HTTP 403 AuthorizationFailed: The client 'dev@contoso.com' with object id '{OBJECT_ID}' does not have authorization to perform action 'Microsoft.Resources/subscriptions/resources/read' over scope '{}' or the scope is invalid. If access was recently granted, please refresh your credentials.",
            resources_path()
        ),
    );
}

#[test]
fn arm_throttles_the_resource_list() {
    refused(
        &resources_path(),
        ArmFailure::Throttled { retry_after: 17 },
        &[list_request()],
        &format!(
            "HTTP 429 SubscriptionRequestsThrottled: Number of 'read' requests for subscription '{SUBSCRIPTION}' actor '{OBJECT_ID}' exceeded. Please try again after '17' seconds after additional '17' requests. Please see https://aka.ms/arm-throttling for more information."
        ),
    );
}

#[test]
fn arm_forbids_reading_the_registry() {
    refused(
        &myreg().id(),
        ArmFailure::Forbidden,
        &lookup(),
        &format!(
            "HTTP 403 AuthorizationFailed: The client 'dev@contoso.com' with object id '{OBJECT_ID}' does not have authorization to perform action 'Microsoft.ContainerRegistry/registries/read' over scope '{}' or the scope is invalid. If access was recently granted, please refresh your credentials.",
            myreg().id()
        ),
    );
}

#[test]
fn arm_refuses_the_token() {
    refused(
        &resources_path(),
        ArmFailure::Unauthorized,
        &[list_request()],
        "HTTP 401 InvalidAuthenticationToken: The access token is invalid.",
    );
}

/// A gateway's HTML page instead of ARM's error document.
#[test]
fn arm_answers_with_a_page_that_is_not_json() {
    refused(
        &resources_path(),
        ArmFailure::Html(502),
        &[list_request()],
        "HTTP 502, and the answer is not JSON.",
    );
}

/// An error document without code or message.
#[test]
fn arm_answers_an_error_without_code_or_message() {
    refused(
        &resources_path(),
        ArmFailure::Error {
            status: 500,
            code: String::new(),
            message: String::new(),
        },
        &[list_request()],
        "HTTP 500, without an error code or message from Azure Resource Manager.",
    );
}

/// ARM never answers: the lookup gives up after --timeout and the run goes on.
#[test]
fn arm_never_answers() {
    refused(
        &resources_path(),
        ArmFailure::Hang,
        &[list_request()],
        "No answer within 2 s.",
    );
}

/// A runaway error message is cut, visibly; a long one (ARM's usual) is shown whole.
#[test]
fn arm_answers_a_runaway_message() {
    let message = format!("{} tail", "x".repeat(5000));
    refused(
        &resources_path(),
        ArmFailure::Error {
            status: 503,
            code: "ServiceUnavailable".into(),
            message,
        },
        &[list_request()],
        &format!("HTTP 503 ServiceUnavailable: {}…", "x".repeat(4000)),
    );
}

/// A cloud without a Resource Manager endpoint: a note, the fallback, nothing asked.
#[test]
fn a_cloud_without_resource_manager() {
    let (ca, arm) = lab(&myreg());
    let acr = fake_acr(&ca, "myreg.azurecr.io");
    let scenario = Scenario::in_lab(&ca, &arm)
        .logged_in()
        .args(&["-n", "myreg"])
        .registry_at("myreg.azurecr.io", &acr)
        .arm_requests(&[])
        .expect(|run| {
            run.connectivity_ok();
            run.line("Login server: myreg.azurecr.io (the registry name with the Lab suffix)");
            assert_eq!(
                run.details("registry.login_server")[1],
                "The cloud Lab has no Resource Manager endpoint."
            );
        });
    std::fs::write(
        scenario.sandbox.path("azure").join("clouds.config"),
        "[Lab]\nsuffix_acr_login_server_endpoint = azurecr.io\n",
    )
    .unwrap();
    scenario.verify();
}

/// A refused lookup and --vnet: the private endpoint check cannot run, RESOURCE_MANAGER_ERROR
/// with ARM's words, in both modes (az aborts here).
#[test]
fn arm_forbids_the_lookup_with_vnet() {
    let (ca, arm) = lab(&myreg());
    arm.fail(&resources_path(), ArmFailure::Forbidden);
    let acr = fake_acr(&ca, "myreg.azurecr.io");
    let (lenient, _) = Scenario::in_lab(&ca, &arm)
        .logged_in()
        .args(&["-n", "myreg", "--vnet", VNET])
        .registry_at("myreg.azurecr.io", &acr)
        .arm_requests(&[list_request()])
        .expect(|run| {
            run.connectivity_ok();
            assert_eq!(
                finding_head(run, "RESOURCE_MANAGER_ERROR"),
                [
                    "An error occurred: RESOURCE_MANAGER_ERROR".to_owned(),
                    "What this check needs could not be read from Azure Resource Manager.".to_owned(),
                    format!("HTTP 403 AuthorizationFailed: The client 'dev@contoso.com' with object id '{OBJECT_ID}' does not have authorization to perform action 'Microsoft.Resources/subscriptions/resources/read' over scope '{}' or the scope is invalid. If access was recently granted, please refresh your credentials.", resources_path()),
                ]
            );
        })
        .verify_failing("registry.private_endpoint", "RESOURCE_MANAGER_ERROR");
    assert_eq!(lenient.doc()["summary"]["errors"], 1);
}

/// Not in the subscription, with --vnet: the private endpoint check cannot run and says why.
#[test]
fn vnet_for_a_registry_not_in_the_subscription() {
    let (ca, arm) = lab(&ArmRegistry::new(GROUP, "anotherreg"));
    let acr = fake_acr(&ca, "myreg.azurecr.io");
    Scenario::in_lab(&ca, &arm)
        .logged_in()
        .args(&["-n", "myreg", "--vnet", VNET])
        .registry_at("myreg.azurecr.io", &acr)
        .arm_requests(&[list_request()])
        .expect(|run| {
            run.connectivity_ok();
            assert_eq!(
                finding_head(run, "RESOURCE_MANAGER_ERROR"),
                [
                    "An error occurred: RESOURCE_MANAGER_ERROR".to_owned(),
                    "What this check needs could not be read from Azure Resource Manager."
                        .to_owned(),
                    format!("Registry 'myreg' was not found in subscription {SUBSCRIPTION}."),
                ]
            );
        })
        .verify_failing("registry.private_endpoint", "RESOURCE_MANAGER_ERROR");
}

/// `--login-server` with --vnet: no ARM lookup (and no CMK check); the private endpoint check
/// says to use -n.
#[test]
fn vnet_with_a_login_server_instead_of_a_name() {
    let (ca, arm) = lab(&myreg());
    let acr = fake_acr(&ca, HASHED);
    let resolve = format!("{HASHED}:443:127.0.0.1:{}", acr.port());
    Scenario::in_lab(&ca, &arm)
        .logged_in()
        .args(&["--login-server", HASHED, "--resolve", &resolve, "--vnet", VNET])
        .env("ACR_HEALTH_AAD_TOKEN", entra_token())
        .keep(acr)
        .arm_requests(&[])
        .expect(|run| {
            run.connectivity_ok();
            assert!(!run.statuses().iter().any(|(c, _)| c == "registry.cmk"));
            assert_eq!(
                finding_head(run, "RESOURCE_MANAGER_ERROR")[2],
                "A registry given with --login-server is not looked up in Azure Resource Manager; use -n NAME."
            );
        })
        .verify_failing("registry.private_endpoint", "RESOURCE_MANAGER_ERROR");
}

// ---------------------------------------------------------------------------------------------
// 4. The subscription

/// No profile, no flag, no variable: a note, the fallback, and ARM is not asked at all.
#[test]
fn no_subscription_anywhere() {
    let (ca, arm) = lab(&myreg());
    let acr = fake_acr(&ca, "myreg.azurecr.io");
    Scenario::in_lab(&ca, &arm)
        .args(&["-n", "myreg"])
        .registry_at("myreg.azurecr.io", &acr)
        .arm_requests(&[])
        .expect(|run| {
            run.connectivity_ok();
            assert_eq!(
                run.details("registry.login_server"),
                [
                    "Azure Resource Manager did not give the login server, so it is the name with the cloud's suffix:",
                    "No subscription: pass --subscription, run az account set, or set AZURE_SUBSCRIPTION_ID.",
                ]
            );
        })
        .verify();
}

/// `--subscription Dev`: the ID of "Dev" in azureProfile.json, not the default "Other".
#[test]
fn the_subscription_by_name_from_the_profile() {
    let (ca, arm) = lab(&myreg());
    let acr = fake_acr(&ca, HASHED);
    Scenario::in_lab(&ca, &arm)
        .profile(json!([
            {"id": SUBSCRIPTION, "name": "Dev", "isDefault": false},
            {"id": OTHER_SUBSCRIPTION, "name": "Other", "isDefault": true},
        ]))
        .args(&["-n", "myreg", "--subscription", "Dev"])
        .registry_at(HASHED, &acr)
        .arm_requests(&lookup())
        .expect(|run| {
            run.connectivity_ok();
            run.line(&format!(
                "Login server: {HASHED} (from Azure Resource Manager)"
            ));
        })
        .verify();
}

/// The profile's default is another subscription: ARM says so, and the run falls back.
#[test]
fn the_default_subscription_of_the_profile_is_used() {
    let (ca, arm) = lab(&myreg());
    let acr = fake_acr(&ca, "myreg.azurecr.io");
    Scenario::in_lab(&ca, &arm)
        .profile(json!([
            {"id": SUBSCRIPTION, "name": "Dev", "isDefault": false},
            {"id": OTHER_SUBSCRIPTION, "name": "Other", "isDefault": true},
        ]))
        .args(&["-n", "myreg"])
        .registry_at("myreg.azurecr.io", &acr)
        .arm_requests(&[format!(
            "GET /subscriptions/{OTHER_SUBSCRIPTION}/resources api-version={RESOURCES_API}"
        )])
        .expect(|run| {
            run.connectivity_ok();
            assert_eq!(
                run.details("registry.login_server")[1],
                format!("HTTP 404 SubscriptionNotFound: The subscription '{OTHER_SUBSCRIPTION}' could not be found.")
            );
        })
        .verify();
}

/// `AZURE_SUBSCRIPTION_ID` without a profile.
#[test]
fn the_subscription_from_the_environment() {
    let (ca, arm) = lab(&myreg());
    let acr = fake_acr(&ca, HASHED);
    Scenario::in_lab(&ca, &arm)
        .env("AZURE_SUBSCRIPTION_ID", SUBSCRIPTION)
        .args(&["-n", "myreg"])
        .registry_at(HASHED, &acr)
        .arm_requests(&lookup())
        .expect(|run| {
            run.connectivity_ok();
            run.line(&format!(
                "Login server: {HASHED} (from Azure Resource Manager)"
            ));
        })
        .verify();
}

/// No ARM token and no other credential: a note, the fallback, ARM is not asked, and the
/// registry's Entra token is not offered to ARM instead.
#[test]
fn no_credential_for_arm() {
    let (ca, arm) = lab(&myreg());
    let acr = fake_acr(&ca, "myreg.azurecr.io");
    let scenario = Scenario::in_lab(&ca, &arm)
        .logged_in()
        .args(&["-n", "myreg"])
        .registry_at("myreg.azurecr.io", &acr)
        .arm_requests(&[])
        .expect(|run| {
            run.connectivity_ok();
            assert_eq!(
                run.details("registry.login_server")[1],
                "No Microsoft Entra credential for Azure Resource Manager."
            );
        });
    scenario.without_env("ACR_HEALTH_ARM_TOKEN").verify();
}

// ---------------------------------------------------------------------------------------------
// 5. The encryption identity (CMK)

const CMK_IDENTITY: &str = "id-acr-cmk";

fn cmk_identity_id() -> String {
    resource_id(GROUP, IDENTITY_TYPE, CMK_IDENTITY)
}

/// A scenario against `registry` (login server pinned to a working fake registry).
fn cmk_scenario(registry: &ArmRegistry) -> (Scenario, Arc<FakeArm>) {
    let (ca, arm) = lab(registry);
    let acr = fake_acr(&ca, HASHED);
    let scenario = Scenario::in_lab(&ca, &arm)
        .logged_in()
        .args(&["-n", "myreg"])
        .registry_at(HASHED, &acr);
    (scenario, arm)
}

#[test]
fn cmk_with_the_system_identity() {
    let (scenario, _) = cmk_scenario(
        &myreg()
            .cmk("system")
            .system_identity(Some("5e5e0000-0000-4000-8000-000000000005")),
    );
    scenario
        .arm_requests(&lookup())
        .expect(|run| {
            run.connectivity_ok();
            assert_eq!(run.status("registry.cmk"), "ok");
            run.line("Encryption identity system (5e5e0000-0000-4000-8000-000000000005) of registry 'myreg' : OK");
        })
        .verify();
}

#[test]
fn cmk_with_the_system_identity_missing() {
    let (scenario, _) = cmk_scenario(
        &myreg()
            .cmk("system")
            .user_identity(&cmk_identity_id(), CMK_CLIENT),
    );
    scenario
        .arm_requests(&lookup())
        .expect(|run| {
            run.connectivity_ok();
            assert_eq!(
                finding_head(run, "CMK_ERROR"),
                [
                    "An error occurred: CMK_ERROR",
                    "The identity that registry 'myreg' uses for encryption does not exist.",
                    "The key is used through the system-assigned identity, but the registry has none.",
                ]
            );
        })
        .verify_failing("registry.cmk", "CMK_ERROR");
}

#[test]
fn cmk_with_a_user_assigned_identity() {
    let (scenario, arm) = cmk_scenario(
        &myreg()
            .cmk(CMK_CLIENT)
            .user_identity(&cmk_identity_id(), CMK_CLIENT),
    );
    arm.add_identity(GROUP, CMK_IDENTITY, CMK_CLIENT);
    let mut requests = lookup();
    requests.push(get_request(&cmk_identity_id(), IDENTITY_API));
    scenario
        .arm_requests(&requests)
        .expect(|run| {
            run.connectivity_ok();
            assert_eq!(run.status("registry.cmk"), "ok");
            run.line(&format!(
                "Encryption identity {} of registry 'myreg' : OK",
                cmk_identity_id()
            ));
        })
        .verify();
}

/// The identity was deleted: ARM answers 404, CMK_ERROR names the registry and the identity.
#[test]
fn cmk_with_a_deleted_identity() {
    let (scenario, _) = cmk_scenario(
        &myreg()
            .cmk(CMK_CLIENT)
            .user_identity(&cmk_identity_id(), CMK_CLIENT),
    );
    let mut requests = lookup();
    requests.push(get_request(&cmk_identity_id(), IDENTITY_API));
    scenario
        .arm_requests(&requests)
        .expect(|run| {
            run.connectivity_ok();
            assert_eq!(
                finding_head(run, "CMK_ERROR"),
                [
                    "An error occurred: CMK_ERROR".to_owned(),
                    "The identity that registry 'myreg' uses for encryption does not exist."
                        .to_owned(),
                    format!("The identity {} no longer exists.", cmk_identity_id()),
                ]
            );
        })
        .verify_failing("registry.cmk", "CMK_ERROR");
}

/// The key's identity is not attached to the registry: no ARM request for it.
#[test]
fn cmk_with_an_identity_that_is_not_attached() {
    let other = resource_id(GROUP, IDENTITY_TYPE, "id-other");
    let (scenario, arm) = cmk_scenario(
        &myreg()
            .cmk(CMK_CLIENT)
            .user_identity(&other, "0dd00000-0000-4000-8000-000000000000"),
    );
    arm.add_identity(GROUP, CMK_IDENTITY, CMK_CLIENT);
    scenario
        .arm_requests(&lookup())
        .expect(|run| {
            assert_eq!(
                finding_head(run, "CMK_ERROR"),
                [
                    "An error occurred: CMK_ERROR".to_owned(),
                    "The identity that registry 'myreg' uses for encryption does not exist."
                        .to_owned(),
                    format!("No user-assigned identity with client ID {CMK_CLIENT} is attached to the registry."),
                ]
            );
        })
        .verify_failing("registry.cmk", "CMK_ERROR");
}

/// The identity's resource now has another client ID (deleted and re-created under its name).
#[test]
fn cmk_with_an_identity_recreated_under_its_name() {
    let (scenario, arm) = cmk_scenario(
        &myreg()
            .cmk(CMK_CLIENT)
            .user_identity(&cmk_identity_id(), CMK_CLIENT),
    );
    arm.add_identity(GROUP, CMK_IDENTITY, "4e400000-0000-4000-8000-000000000000");
    scenario
        .expect(|run| {
            assert_eq!(
                finding_head(run, "CMK_ERROR")[2],
                format!(
                    "The identity {} now has another client ID than {CMK_CLIENT}.",
                    cmk_identity_id()
                )
            );
        })
        .verify_failing("registry.cmk", "CMK_ERROR");
}

/// ARM refuses to show the identity: RESOURCE_MANAGER_ERROR with ARM's words.
#[test]
fn cmk_identity_cannot_be_read() {
    let (scenario, arm) = cmk_scenario(
        &myreg()
            .cmk(CMK_CLIENT)
            .user_identity(&cmk_identity_id(), CMK_CLIENT),
    );
    arm.add_identity(GROUP, CMK_IDENTITY, CMK_CLIENT);
    arm.fail(&cmk_identity_id(), ArmFailure::Forbidden);
    scenario
        .expect(|run| {
            run.connectivity_ok();
            assert_eq!(
                finding_head(run, "RESOURCE_MANAGER_ERROR"),
                [
                    "An error occurred: RESOURCE_MANAGER_ERROR".to_owned(),
                    "What this check needs could not be read from Azure Resource Manager.".to_owned(),
                    format!("HTTP 403 AuthorizationFailed: The client 'dev@contoso.com' with object id '{OBJECT_ID}' does not have authorization to perform action 'Microsoft.ManagedIdentity/userAssignedIdentities/read' over scope '{}' or the scope is invalid. If access was recently granted, please refresh your credentials.", cmk_identity_id()),
                ]
            );
        })
        .verify_failing("registry.cmk", "RESOURCE_MANAGER_ERROR");
}

/// ARM never answers for the identity: RESOURCE_MANAGER_ERROR after --timeout, and the run goes
/// on (or stops there without --ignore-errors), in time.
#[test]
fn cmk_identity_never_answers() {
    let (scenario, arm) = cmk_scenario(
        &myreg()
            .cmk(CMK_CLIENT)
            .user_identity(&cmk_identity_id(), CMK_CLIENT),
    );
    arm.add_identity(GROUP, CMK_IDENTITY, CMK_CLIENT);
    arm.fail(&cmk_identity_id(), ArmFailure::Hang);
    let mut requests = lookup();
    requests.push(get_request(&cmk_identity_id(), IDENTITY_API));
    scenario
        .arm_requests(&requests)
        .expect(|run| {
            run.connectivity_ok();
            assert_eq!(
                finding_head(run, "RESOURCE_MANAGER_ERROR"),
                [
                    "An error occurred: RESOURCE_MANAGER_ERROR",
                    "What this check needs could not be read from Azure Resource Manager.",
                    "No answer within 2 s.",
                ]
            );
        })
        .verify_failing("registry.cmk", "RESOURCE_MANAGER_ERROR");
}

/// A resource ID that would lead off ARM's origin (`@host/…` after the endpoint makes `host` the
/// server) is not requested: the ARM token stays with ARM.
#[test]
fn cmk_identity_id_that_leads_elsewhere_is_not_followed_with_the_token() {
    let (ca, arm) = lab(&myreg());
    let elsewhere = Arc::new(FakeArm::start(&ca));
    let sneaky = format!("@127.0.0.1:{}{}", elsewhere.port(), cmk_identity_id());
    arm.add_registry(&myreg().cmk(CMK_CLIENT).user_identity(&sneaky, CMK_CLIENT));
    let acr = fake_acr(&ca, HASHED);
    let e = elsewhere.clone();
    Scenario::in_lab(&ca, &arm)
        .logged_in()
        .args(&["-n", "myreg"])
        .registry_at(HASHED, &acr)
        .keep(elsewhere)
        .arm_requests(&lookup())
        .expect(move |run| {
            assert!(
                e.requests().is_empty(),
                "the token left ARM: {:#?}",
                e.summary()
            );
            assert_eq!(
                finding_head(run, "RESOURCE_MANAGER_ERROR")[2],
                format!("'{sneaky}' is not a resource ID on this Resource Manager, so it was not requested.")
            );
        })
        .verify_failing("registry.cmk", "RESOURCE_MANAGER_ERROR");
}

/// Encryption disabled: the check is skipped, with the reason, and ARM is not asked for more.
#[test]
fn cmk_not_enabled() {
    let (scenario, _) = cmk_scenario(&myreg().without_cmk().system_identity(Some("5e5e")));
    scenario
        .arm_requests(&lookup())
        .expect(|run| {
            assert_eq!(run.status("registry.cmk"), "skipped");
            assert_eq!(
                run.check("registry.cmk")["message"],
                "Encryption identity: not checked; the registry does not encrypt with a customer-managed key."
            );
            assert_eq!(run.doc()["summary"]["errors"], 0);
        })
        .verify();
}

/// As in az, the CMK check runs even when the login server does not resolve (and without
/// --ignore-errors the run stops at the DNS error, before it, as az's does).
#[test]
fn cmk_runs_when_dns_fails() {
    let (ca, arm) = lab(&myreg()
        .cmk(CMK_CLIENT)
        .user_identity(&cmk_identity_id(), CMK_CLIENT));
    let mut requests = lookup();
    requests.push(get_request(&cmk_identity_id(), IDENTITY_API));
    let (run, strict) = Scenario::in_lab(&ca, &arm)
        .logged_in()
        .args(&["-n", "myreg"])
        .arm_requests(&requests)
        .verify_failing("registry.dns", "CONNECTIVITY_DNS_ERROR");
    strict.no_line_containing("CMK_ERROR");
    assert_eq!(run.code_of("registry.dns"), "CONNECTIVITY_DNS_ERROR");
    assert_eq!(run.code_of("registry.cmk"), "CMK_ERROR");
    assert_eq!(run.doc()["summary"]["errors"], 2);
    run.line("An error occurred: CMK_ERROR");
    let lines = run.lines();
    let dns = lines
        .iter()
        .position(|l| *l == "An error occurred: CONNECTIVITY_DNS_ERROR")
        .unwrap();
    let cmk = lines
        .iter()
        .position(|l| *l == "An error occurred: CMK_ERROR")
        .unwrap();
    assert!(dns < cmk);
}

// ---------------------------------------------------------------------------------------------
// 6. --vnet: DNS routing to the private endpoint

const ENDPOINT: &str = "pe-myreg";
const EAST: &str = "myreg-abc123.eastus.data.azurecr.io";

fn endpoint_id(group: &str, name: &str) -> String {
    resource_id(group, ENDPOINT_TYPE, name)
}

/// ARM with the registry (CMK through a user-assigned identity) and its private endpoint
/// `ENDPOINT` in `vnet` of `group`, whose network interface serves the login server and the
/// data endpoints at `addresses`.
fn vnet_lab(group: &str, vnet: &str, names: &[(&str, &str)]) -> (Arc<TestCa>, Arc<FakeArm>) {
    let registry = myreg()
        .cmk(CMK_CLIENT)
        .user_identity(&cmk_identity_id(), CMK_CLIENT)
        .private_endpoint(&endpoint_id(group, ENDPOINT));
    let (ca, arm) = lab(&registry);
    arm.add_identity(GROUP, CMK_IDENTITY, CMK_CLIENT);
    add_endpoint(&arm, group, vnet, ENDPOINT, names);
    (ca, arm)
}

/// A private endpoint with one network interface; one IP configuration per `(name, address)`.
fn add_endpoint(arm: &FakeArm, group: &str, vnet: &str, endpoint: &str, names: &[(&str, &str)]) {
    let configurations: Vec<(&str, Vec<&str>)> =
        names.iter().map(|(name, ip)| (*ip, vec![*name])).collect();
    let configurations: Vec<(&str, &[&str])> = configurations
        .iter()
        .map(|(ip, names)| (*ip, names.as_slice()))
        .collect();
    let nic = arm.add_nic(group, &format!("{endpoint}.nic.0001"), &configurations);
    arm.add_private_endpoint(
        group,
        endpoint,
        &subnet_id(group, vnet, "snet-endpoints"),
        &[&nic],
    );
}

fn standard_names() -> Vec<(&'static str, &'static str)> {
    vec![
        (HASHED, PE_IP),
        (DATA_WEST, PE_DATA_IP),
        (DATA_NORTH, PE_NORTH_IP),
    ]
}

/// The requests of a run that reads the endpoint and its interface.
fn vnet_requests(group: &str, endpoint: &str) -> Vec<String> {
    let mut requests = lookup();
    requests.push(get_request(&cmk_identity_id(), IDENTITY_API));
    requests.push(get_request(&endpoint_id(group, endpoint), NETWORK_API));
    requests.push(get_request(
        &resource_id(group, NIC_TYPE, &format!("{endpoint}.nic.0001")),
        NETWORK_API,
    ));
    requests
}

/// Every name of the private endpoint resolves to its address: OK, each name listed.
fn vnet_ok(group: &str, vnet_arg: &str) {
    let (ca, arm) = vnet_lab(group, VNET, &standard_names());
    let acr = fake_acr(&ca, HASHED);
    Scenario::in_lab(&ca, &arm)
        .logged_in()
        .args(&["-n", "myreg", "--vnet", vnet_arg])
        .in_vnet(&acr, &standard_names())
        .arm_requests(&vnet_requests(group, ENDPOINT))
        .expect(|run| {
            run.connectivity_ok();
            run.line(&format!("DNS lookup to {HASHED} at IP {PE_IP} : OK"));
            assert_eq!(run.status("registry.cmk"), "ok");
            assert_eq!(run.status("registry.private_endpoint"), "ok");
            run.line("DNS routing to private endpoint : OK");
            assert_eq!(
                run.details("registry.private_endpoint"),
                [
                    format!("{HASHED} → {PE_IP} : OK"),
                    format!("{DATA_WEST} → {PE_DATA_IP} : OK"),
                    format!("{DATA_NORTH} → {PE_NORTH_IP} : OK"),
                ]
            );
            assert_eq!(run.doc()["summary"]["errors"], 0);
        })
        .verify();
}

/// `--vnet NAME`: the network in the registry's resource group.
#[test]
fn vnet_by_name_in_the_registry_group() {
    vnet_ok(GROUP, VNET);
}

/// `--vnet ID`: a network in another resource group (the ID in another case than ARM's).
#[test]
fn vnet_by_id_in_another_group() {
    vnet_ok(NET_GROUP, &vnet_id(NET_GROUP, VNET).to_ascii_lowercase());
}

/// A scenario whose names resolve wrongly: the login server right, a data endpoint to another
/// private address, one to a public address, one not at all.
fn vnet_wrong_dns() -> Scenario {
    let mut names = standard_names();
    names.push((EAST, "10.1.0.8"));
    let (ca, arm) = vnet_lab(NET_GROUP, VNET, &names);
    let acr = fake_acr(&ca, HASHED);
    Scenario::in_lab(&ca, &arm)
        .logged_in()
        .args(&["-n", "myreg", "--vnet", &vnet_id(NET_GROUP, VNET)])
        .in_vnet(
            &acr,
            &[
                (HASHED, PE_IP),
                (DATA_WEST, "10.99.0.6"),
                (DATA_NORTH, "20.61.98.7"),
            ],
        )
        .arm_requests(&vnet_requests(NET_GROUP, ENDPOINT))
}

/// Every name is reported, with what it should and does resolve to (az stops at the first).
#[test]
fn vnet_names_resolve_elsewhere() {
    vnet_wrong_dns()
        .expect(|run| {
            run.connectivity_ok();
            let head = finding_head(run, "PRIVATE_ENDPOINT_DNS_ERROR");
            assert_eq!(head.len(), 7, "{head:#?}");
            assert_eq!(
                head[..5],
                [
                    "An error occurred: PRIVATE_ENDPOINT_DNS_ERROR".to_owned(),
                    "Names of registry 'myreg' do not resolve to its private endpoint here."
                        .to_owned(),
                    format!("{HASHED} → {PE_IP} : OK"),
                    format!("{DATA_WEST} resolves to 10.99.0.6 instead of {PE_DATA_IP}."),
                    format!("{DATA_NORTH} resolves to 20.61.98.7, a public address, instead of {PE_NORTH_IP}."),
                ]
            );
            assert_eq!(head[5], format!("{EAST} does not resolve; expected 10.1.0.8."));
            // Why, on the next line: the resolver's answer, which depends on this machine.
            assert!(
                ["The name does not", "No DNS server answered"]
                    .iter()
                    .any(|start| head[6].starts_with(start)),
                "{}",
                head[6]
            );
        })
        .verify_failing("registry.private_endpoint", "PRIVATE_ENDPOINT_DNS_ERROR");
}

/// The registry's private endpoint is in another network.
#[test]
fn vnet_without_the_registry_endpoint() {
    let (ca, arm) = vnet_lab(NET_GROUP, "vnet-spoke", &standard_names());
    let acr = fake_acr(&ca, HASHED);
    let mut requests = vnet_requests(NET_GROUP, ENDPOINT);
    requests.pop();
    Scenario::in_lab(&ca, &arm)
        .logged_in()
        .args(&["-n", "myreg", "--vnet", &vnet_id(NET_GROUP, VNET)])
        .registry_at(HASHED, &acr)
        .arm_requests(&requests)
        .expect(|run| {
            run.connectivity_ok();
            assert_eq!(
                finding_head(run, "PRIVATE_ENDPOINT_NOT_FOUND_ERROR"),
                [
                    "An error occurred: PRIVATE_ENDPOINT_NOT_FOUND_ERROR".to_owned(),
                    "Registry 'myreg' has no usable private endpoint in the virtual network."
                        .to_owned(),
                    format!(
                        "None of the registry's private endpoints is in {}.",
                        vnet_id(NET_GROUP, VNET)
                    ),
                ]
            );
        })
        .verify_failing(
            "registry.private_endpoint",
            "PRIVATE_ENDPOINT_NOT_FOUND_ERROR",
        );
}

/// A registry without private endpoints: nothing to read beyond the registry.
#[test]
fn vnet_registry_without_private_endpoints() {
    let (ca, arm) = lab(&myreg());
    let acr = fake_acr(&ca, HASHED);
    Scenario::in_lab(&ca, &arm)
        .logged_in()
        .args(&["-n", "myreg", "--vnet", VNET])
        .registry_at(HASHED, &acr)
        .arm_requests(&lookup())
        .expect(|run| {
            assert_eq!(
                finding_head(run, "PRIVATE_ENDPOINT_NOT_FOUND_ERROR"),
                [
                    "An error occurred: PRIVATE_ENDPOINT_NOT_FOUND_ERROR",
                    "Registry 'myreg' has no usable private endpoint in the virtual network.",
                    "The registry has no private endpoints.",
                ]
            );
        })
        .verify_failing(
            "registry.private_endpoint",
            "PRIVATE_ENDPOINT_NOT_FOUND_ERROR",
        );
}

/// Two private endpoints of the registry in the same network.
#[test]
fn vnet_with_two_endpoints() {
    let registry = myreg()
        .private_endpoint(&endpoint_id(NET_GROUP, ENDPOINT))
        .private_endpoint(&endpoint_id(NET_GROUP, "pe-myreg-2"));
    let (ca, arm) = lab(&registry);
    add_endpoint(&arm, NET_GROUP, VNET, ENDPOINT, &standard_names());
    add_endpoint(&arm, NET_GROUP, VNET, "pe-myreg-2", &[(HASHED, "10.1.0.9")]);
    let acr = fake_acr(&ca, HASHED);
    Scenario::in_lab(&ca, &arm)
        .logged_in()
        .args(&["-n", "myreg", "--vnet", &vnet_id(NET_GROUP, VNET)])
        .registry_at(HASHED, &acr)
        .arm_requests(&[
            list_request(),
            registry_request(),
            get_request(&endpoint_id(NET_GROUP, ENDPOINT), NETWORK_API),
            get_request(&endpoint_id(NET_GROUP, "pe-myreg-2"), NETWORK_API),
        ])
        .expect(|run| {
            assert_eq!(
                finding_head(run, "PRIVATE_ENDPOINT_DUPLICATE_ERROR"),
                [
                    "An error occurred: PRIVATE_ENDPOINT_DUPLICATE_ERROR".to_owned(),
                    "Registry 'myreg' has more than one private endpoint in the virtual network; DNS routing is unreliable.".to_owned(),
                    format!(
                        "Private endpoints pe-myreg, pe-myreg-2 are all in {}.",
                        vnet_id(NET_GROUP, VNET)
                    ),
                ]
            );
        })
        .verify_failing(
            "registry.private_endpoint",
            "PRIVATE_ENDPOINT_DUPLICATE_ERROR",
        );
}

/// ARM refuses to show the private endpoint: RESOURCE_MANAGER_ERROR with ARM's words.
#[test]
fn vnet_endpoint_cannot_be_read() {
    let (ca, arm) = vnet_lab(NET_GROUP, VNET, &standard_names());
    arm.fail(&endpoint_id(NET_GROUP, ENDPOINT), ArmFailure::Forbidden);
    let acr = fake_acr(&ca, HASHED);
    let mut requests = vnet_requests(NET_GROUP, ENDPOINT);
    requests.pop();
    Scenario::in_lab(&ca, &arm)
        .logged_in()
        .args(&["-n", "myreg", "--vnet", &vnet_id(NET_GROUP, VNET)])
        .registry_at(HASHED, &acr)
        .arm_requests(&requests)
        .expect(|run| {
            assert_eq!(run.status("registry.cmk"), "ok");
            assert_eq!(
                finding_head(run, "RESOURCE_MANAGER_ERROR"),
                [
                    "An error occurred: RESOURCE_MANAGER_ERROR".to_owned(),
                    "What this check needs could not be read from Azure Resource Manager.".to_owned(),
                    format!("HTTP 403 AuthorizationFailed: The client 'dev@contoso.com' with object id '{OBJECT_ID}' does not have authorization to perform action 'Microsoft.Network/privateEndpoints/read' over scope '{}' or the scope is invalid. If access was recently granted, please refresh your credentials.", endpoint_id(NET_GROUP, ENDPOINT)),
                ]
            );
        })
        .verify_failing("registry.private_endpoint", "RESOURCE_MANAGER_ERROR");
}

/// ARM throttles the network interface: RESOURCE_MANAGER_ERROR with ARM's words.
#[test]
fn vnet_interface_throttled() {
    let (ca, arm) = vnet_lab(NET_GROUP, VNET, &standard_names());
    arm.fail(
        &resource_id(NET_GROUP, NIC_TYPE, "pe-myreg.nic.0001"),
        ArmFailure::Throttled { retry_after: 5 },
    );
    let acr = fake_acr(&ca, HASHED);
    Scenario::in_lab(&ca, &arm)
        .logged_in()
        .args(&["-n", "myreg", "--vnet", &vnet_id(NET_GROUP, VNET)])
        .registry_at(HASHED, &acr)
        .arm_requests(&vnet_requests(NET_GROUP, ENDPOINT))
        .expect(|run| {
            let head = finding_head(run, "RESOURCE_MANAGER_ERROR");
            assert!(
                head[2].starts_with(
                    "HTTP 429 SubscriptionRequestsThrottled: Number of 'read' requests"
                ),
                "{head:#?}"
            );
        })
        .verify_failing("registry.private_endpoint", "RESOURCE_MANAGER_ERROR");
}

/// A deleted private endpoint leaves its connection on the registry: it is passed over (and
/// named), and the endpoint in the network is checked.
#[test]
fn vnet_with_a_stale_endpoint_connection() {
    let registry = myreg()
        .private_endpoint(&endpoint_id(NET_GROUP, "pe-deleted"))
        .private_endpoint(&endpoint_id(NET_GROUP, ENDPOINT));
    let (ca, arm) = lab(&registry);
    add_endpoint(&arm, NET_GROUP, VNET, ENDPOINT, &standard_names());
    let acr = fake_acr(&ca, HASHED);
    Scenario::in_lab(&ca, &arm)
        .logged_in()
        .args(&["-n", "myreg", "--vnet", &vnet_id(NET_GROUP, VNET)])
        .in_vnet(&acr, &standard_names())
        .arm_requests(&[
            list_request(),
            registry_request(),
            get_request(&endpoint_id(NET_GROUP, "pe-deleted"), NETWORK_API),
            get_request(&endpoint_id(NET_GROUP, ENDPOINT), NETWORK_API),
            get_request(
                &resource_id(NET_GROUP, NIC_TYPE, "pe-myreg.nic.0001"),
                NETWORK_API,
            ),
        ])
        .expect(|run| {
            assert_eq!(run.status("registry.private_endpoint"), "ok");
            run.line("DNS routing to private endpoint : OK");
            run.line("The private endpoint pe-deleted no longer exists; its private endpoint connection to the registry was left behind.");
        })
        .verify();
}

/// `--vnet` without a registry: a usage error before anything is asked.
#[test]
fn vnet_without_a_registry_name() {
    let (ca, arm) = lab(&myreg());
    let run = Scenario::in_lab(&ca, &arm)
        .logged_in()
        .args(&["--vnet", VNET])
        .exit(2)
        .arm_requests(&[])
        .output(&[]);
    assert_eq!(run.stdout, "");
    assert_eq!(
        run.stderr,
        "error: --vnet needs the registry: its private endpoints are read from it.\n\
         Add -n NAME (or configure a default with az configure --defaults acr=NAME).\n"
    );
    assert!(arm.requests().is_empty());
}

/// `--vnet` with an ID that is not a virtual network's: a usage error.
#[test]
fn vnet_with_a_bad_resource_id() {
    let (ca, arm) = lab(&myreg());
    let run = Scenario::in_lab(&ca, &arm)
        .logged_in()
        .args(&["-n", "myreg", "--vnet", "/subscriptions/x/bad"])
        .exit(2)
        .output(&[]);
    assert_eq!(run.stdout, "");
    assert_eq!(
        run.stderr,
        "error: \"/subscriptions/x/bad\" is not the resource ID of a virtual network.\n\
         Give the virtual network's name, or its full ID: /subscriptions/SUB/resourceGroups/GROUP/providers/Microsoft.Network/virtualNetworks/NAME.\n"
    );
    assert!(arm.requests().is_empty());
}

// ---------------------------------------------------------------------------------------------
// 7b. The registry's firewall

/// The address ACR's firewall sees in these tests.
const SEEN_AS: &str = "203.0.113.7";

/// `-n myreg` against `registry` in ARM, whose firewall refuses `/v2/` for [`SEEN_AS`] with
/// ACR's exact 403; the run stops there.
fn firewalled(registry: &ArmRegistry) -> Scenario {
    let (ca, arm) = lab(registry);
    let acr = FakeRegistry::start_with(Serve::tls(&ca).host(HASHED));
    acr.v2(Reply::firewall_denied_for(SEEN_AS));
    Scenario::in_lab(&ca, &arm)
        .logged_in()
        .args(&["-n", NAME])
        .registry_at(HASHED, &Arc::new(acr))
        .exit(1)
}

/// No IP rule admits the address ACR names in its refusal: the rules of today, and the one
/// command with the registry's name and that address, for people and in `-o json`.
#[test]
fn a_firewall_refusal_gives_the_command_that_lets_this_machine_in() {
    let run =
        firewalled(&myreg().ip_rules(&["198.51.100.0/24", "192.0.2.10"])).output(&["-o", "json"]);
    run.stopped_at("registry.challenge", "CONNECTIVITY_FORBIDDEN_ERROR");
    let command = format!("az acr network-rule add --name {NAME} --ip-address {SEEN_AS}");
    assert_eq!(
        &run.details("registry.challenge")[..4],
        [
            format!(
                "DENIED: client with IP '{SEEN_AS}' is not allowed access. Refer https://aka.ms/acr/firewall to grant access."
            ),
            format!("The registry sees this machine as {SEEN_AS}."),
            format!(
                "No IP rule admits {SEEN_AS}; the rules allow 198.51.100.0/24, 192.0.2.10, and the default action is Deny."
            ),
            format!("To let this machine in: `{command}`"),
        ]
    );
    assert_eq!(
        run.check("registry.challenge")["firewall"],
        json!({
            "client_ip": SEEN_AS,
            "rules_read": true,
            "public_network_access": true,
            "default_action": "Deny",
            "ip_rules": ["198.51.100.0/24", "192.0.2.10"],
            "admitted_by": null,
            "command": command,
        })
    );
    run.line(&format!("To let this machine in: `{command}`"));
}

/// Public access is off: no IP rule can help, and no command is offered.
#[test]
fn a_firewall_refusal_with_public_access_off_points_to_the_private_endpoint() {
    let run = firewalled(&myreg().public_access(false)).output(&["-o", "json"]);
    run.detail_starting(
        "registry.challenge",
        "Public network access is disabled on this registry",
    );
    assert_eq!(
        run.check("registry.challenge")["firewall"]["command"],
        Value::Null
    );
    run.no_line_containing(&format!("--ip-address {SEEN_AS}"));
}

/// A rule admits the address already: the rule is named, and a new rule is not offered.
#[test]
fn a_firewall_refusal_despite_an_admitting_rule_says_so() {
    let run = firewalled(&myreg().ip_rules(&["203.0.113.0/24"])).output(&["-o", "json"]);
    run.detail(
        "registry.challenge",
        &format!("The IP rule 203.0.113.0/24 admits {SEEN_AS}, yet the registry refuses it: a rule takes a few minutes to apply, so if it is new, wait and run again."),
    );
    assert_eq!(
        run.check("registry.challenge")["firewall"]["admitted_by"],
        "203.0.113.0/24"
    );
    run.no_line_containing(&format!("--ip-address {SEEN_AS}"));
}

// ---------------------------------------------------------------------------------------------
// 7b'. registry.endpoints: every host a pull needs, tried at once

/// Dedicated data endpoints in two regions: West Europe's answers (a fake with its own
/// certificate), East US's refuses the connection. The finding names it; the login server and
/// West Europe are reachable; `-o json` carries every host; in English and Dutch.
#[test]
fn the_endpoint_sweep_marks_a_reachable_and_an_unreachable_data_endpoint() {
    let registry = myreg().data_endpoints(true).replica("eastus");
    let hosts = registry.data_endpoint_hosts();
    let (ca, arm) = lab(&registry);
    let acr = fake_acr(&ca, HASHED);
    let west = Arc::new(FakeRegistry::start_with(Serve::tls(&ca).host(&hosts[0])));
    let refused = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let scenario = Scenario::in_lab(&ca, &arm)
        .logged_in()
        .args(&["-n", NAME, "--ignore-errors"])
        .args(&[
            "--resolve",
            &format!("{}:443:127.0.0.1:{}", hosts[0], west.port()),
        ])
        .args(&[
            "--resolve",
            &format!("{}:443:127.0.0.1:{refused}", hosts[1]),
        ])
        .registry_at(HASHED, &acr)
        .keep(west);
    let run = scenario.output(&["-o", "json"]);
    let check = run.check("registry.endpoints");
    assert_eq!(
        check["code"], "ENDPOINT_UNREACHABLE_ERROR",
        "{}",
        run.stderr
    );
    assert_eq!(
        check["message"],
        format!(
            "Not every host that clients of the registry need answered: 1 did not, the first {}. Does a firewall allow only the login server?",
            hosts[1]
        )
    );
    let endpoints = check["endpoints"].as_array().unwrap();
    let summary: Vec<(String, Value, Value, Value)> = endpoints
        .iter()
        .map(|e| {
            (
                e["host"].as_str().unwrap().to_owned(),
                e["region"].clone(),
                e["reachable"].clone(),
                e["error"].clone(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (HASHED.to_owned(), Value::Null, json!(true), Value::Null),
            (
                hosts[0].clone(),
                json!("westeurope"),
                json!(true),
                Value::Null
            ),
            (
                hosts[1].clone(),
                json!("eastus"),
                json!(false),
                json!("refused")
            ),
        ]
    );
    assert_eq!(endpoints[1]["addresses"], json!(["127.0.0.1"]));
    // Each host's phases: West Europe's connection was opened for it (pinned: no lookup);
    // East US's was refused, so only the total is known.
    let timings = |i: usize| endpoints[i]["timings"].clone();
    let west_timings = timings(1);
    assert_eq!(west_timings["dns_ms"], Value::Null, "{west_timings}");
    for phase in ["connect_ms", "tls_ms", "first_byte_ms", "total_ms"] {
        assert!(west_timings[phase].is_u64(), "{phase}: {west_timings}");
    }
    assert_eq!(west_timings["reused_connection"], false);
    let east_timings = timings(2);
    for phase in ["dns_ms", "connect_ms", "tls_ms", "first_byte_ms"] {
        assert_eq!(east_timings[phase], Value::Null, "{phase}: {east_timings}");
    }
    assert!(east_timings["total_ms"].is_u64(), "{east_timings}");
    // The rest of the run went on (--ignore-errors) and passed.
    assert_eq!(run.status("registry.token_accepted"), "ok");
    let filters: Vec<(&str, &str)> = SERVER_FILTERS
        .iter()
        .copied()
        .chain([(r"HTTP (\S+ )?404 in \d+ ms", "HTTP $1404 in [MS] ms")])
        .collect();
    for (name, lang) in [("endpoints_en", "en"), ("endpoints_nl", "nl")] {
        let run = scenario.output(&["--lang", lang]);
        let finding: Vec<&str> = run
            .stderr
            .lines()
            .skip_while(|l| !l.contains("ENDPOINT_UNREACHABLE_ERROR"))
            .take(5)
            .collect();
        assert_report!(name, &finding.join("\n"), &filters);
    }
}

// ---------------------------------------------------------------------------------------------
// 7c. acr show-endpoints

/// `acr show-endpoints ARGS` in the Lab cloud, logged in; its output, checked like a run's.
fn show_endpoints(arm: &Arc<FakeArm>, ca: &Arc<TestCa>, args: &[&str], exit: i32) -> Run {
    let scenario = Scenario::in_lab(ca, arm).logged_in();
    let cmd = scenario.other_command(&[&["acr", "show-endpoints"], args].concat());
    scenario.sandbox.run(cmd, exit)
}

/// Dedicated data endpoints on: az's document, with the test pull's hosts; ARM was asked for the
/// registry only (found by its name), nothing else.
#[test]
fn show_endpoints_lists_the_dedicated_data_endpoints_as_az() {
    let (ca, arm) = lab(&myreg().data_endpoints(true));
    let run = show_endpoints(&arm, &ca, &["-n", NAME], 0);
    let document: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(
        document,
        json!({
            "loginServer": HASHED,
            "dataEndpoints": [{"region": "westeurope", "endpoint": "myreg.westeurope.data.azurecr.io"}],
            "testPullEndpoints": ["mcr.microsoft.com", "*.data.mcr.microsoft.com"],
        })
    );
    assert_eq!(run.stderr, "");
    assert_eq!(arm.summary(), lookup());
}

/// Without dedicated data endpoints: blob storage's wildcard for each replica, read from the
/// registry's replications (found directly with `-g`), a warning that says how to name each host,
/// and az's `-o tsv`/`--query` on the document.
#[test]
fn show_endpoints_without_data_endpoints_gives_each_replicas_storage_wildcard() {
    let registry = myreg().data_endpoints(false);
    let (ca, arm) = lab(&registry);
    arm.add_resource(
        &format!("{}/replications", registry.id()),
        "Microsoft.ContainerRegistry/registries/replications",
        REGISTRY_API,
        json!({"value": [
            {"name": "westeurope", "location": "westeurope", "properties": {"provisioningState": "Succeeded"}},
            {"name": "eastus", "location": "eastus", "properties": {"provisioningState": "Succeeded"}},
        ]}),
    );
    let run = show_endpoints(
        &arm,
        &ca,
        &[
            "-n",
            NAME,
            "-g",
            GROUP,
            "--query",
            "dataEndpoints[].[region, endpoint]",
            "-o",
            "tsv",
        ],
        0,
    );
    assert_eq!(
        run.stdout,
        "westeurope\t*.blob.core.windows.net\neastus\t*.blob.core.windows.net\n"
    );
    assert!(
        run.stderr.contains(&format!(
            "az acr update --name {NAME} --data-endpoint-enabled"
        )),
        "{}",
        run.stderr
    );
    assert_eq!(
        arm.summary(),
        [
            registry_request(),
            get_request(&format!("{}/replications", registry.id()), REGISTRY_API),
        ]
    );
}

/// A registry that is not in the subscription: exit 1 with ARM's answer in words, nothing on
/// stdout.
#[test]
fn show_endpoints_of_an_unknown_registry_says_where_it_looked() {
    let (ca, arm) = lab(&myreg());
    let run = show_endpoints(&arm, &ca, &["-n", "nosuchreg"], 1);
    assert_eq!(run.stdout, "");
    assert!(
        run.stderr.contains(&format!(
            "Registry 'nosuchreg' was not found in subscription {SUBSCRIPTION}."
        )),
        "{}",
        run.stderr
    );
}

// ---------------------------------------------------------------------------------------------
// 8. Whole reports, in English and Dutch

/// The success: found in ARM, CMK OK, DNS routing to the private endpoint OK.
fn the_success() -> Scenario {
    let (ca, arm) = vnet_lab(NET_GROUP, VNET, &standard_names());
    let acr = fake_acr(&ca, HASHED);
    Scenario::in_lab(&ca, &arm)
        .logged_in()
        .args(&["-n", "myreg", "--vnet", &vnet_id(NET_GROUP, VNET)])
        .in_vnet(&acr, &standard_names())
}

#[test]
fn the_full_report_of_a_success_in_english_and_dutch() {
    let scenario = the_success();
    let english = scenario.output(&[]);
    assert_eq!(english.stdout, "");
    english.no_line_containing("An error occurred");
    assert_report!("success_en", &english.stderr, SERVER_FILTERS);
    let dutch = scenario.output(&["--lang", "nl"]);
    dutch.no_line_containing("Er is een fout opgetreden");
    assert_report!("success_nl", &dutch.stderr, SERVER_FILTERS);
}

#[test]
fn the_full_report_of_wrong_dns_routing_in_english_and_dutch() {
    let scenario = vnet_wrong_dns().args(&["--ignore-errors"]);
    let english = scenario.output(&[]);
    assert_report!("wrong_dns_routing_en", &english.stderr, SERVER_FILTERS);
    let dutch = scenario.output(&["--lang", "nl"]);
    assert_report!("wrong_dns_routing_nl", &dutch.stderr, SERVER_FILTERS);
    for text in [&english.stderr, &dutch.stderr] {
        assert!(text.contains("PRIVATE_ENDPOINT_DNS_ERROR"));
        assert!(text.contains("20.61.98.7"));
    }
}

// ---------------------------------------------------------------------------------------------
// 9. The ARM token, and --debug

/// Every kind of run again with `--debug -o json`: the ARM token is in no output, while the
/// requests it went with are listed, each with ARM's status.
#[test]
fn the_arm_token_never_reaches_the_output_even_with_debug() {
    let scenarios: Vec<(&str, Scenario, Vec<&str>)> = vec![
        ("success", the_success(), vec!["200"]),
        (
            "wrong dns",
            vnet_wrong_dns().args(&["--ignore-errors"]),
            vec!["200"],
        ),
        (
            "forbidden",
            {
                let (ca, arm) = lab(&myreg());
                arm.fail(&resources_path(), ArmFailure::Forbidden);
                Scenario::in_lab(&ca, &arm).logged_in().args(&[
                    "-n",
                    "myreg",
                    "--vnet",
                    VNET,
                    "--ignore-errors",
                ])
            },
            vec!["403"],
        ),
        (
            "second page",
            {
                let (ca, arm) = lab(&myreg());
                arm.page_size(1);
                Scenario::in_lab(&ca, &arm)
                    .logged_in()
                    .args(&["-n", "myreg", "--ignore-errors"])
            },
            vec!["200"],
        ),
        (
            "unreadable endpoint",
            {
                let (ca, arm) = vnet_lab(NET_GROUP, VNET, &standard_names());
                arm.fail(&endpoint_id(NET_GROUP, ENDPOINT), ArmFailure::Forbidden);
                Scenario::in_lab(&ca, &arm).logged_in().args(&[
                    "-n",
                    "myreg",
                    "--vnet",
                    VNET,
                    "--ignore-errors",
                ])
            },
            vec!["200", "403"],
        ),
        (
            "deleted identity",
            {
                let (scenario, _) = cmk_scenario(
                    &myreg()
                        .cmk(CMK_CLIENT)
                        .user_identity(&cmk_identity_id(), CMK_CLIENT),
                );
                scenario.args(&["--ignore-errors"])
            },
            vec!["200", "404"],
        ),
    ];
    for (name, scenario, statuses) in scenarios {
        let run = scenario.output(&["--debug", "-o", "json"]);
        let _ = run.doc();
        assert!(!run.stdout.contains(ARM_TOKEN), "{name}");
        assert!(!run.stderr.contains(ARM_TOKEN), "{name}");
        assert!(!run.stderr.contains("Bearer"), "{name}");
        let ran: Vec<&str> = run
            .lines()
            .into_iter()
            .filter(|l| l.starts_with("GET https://localhost:"))
            .collect();
        assert_eq!(
            ran.len(),
            lab_arm(&scenario).requests().len(),
            "{name}: every ARM request is listed:\n{}",
            run.stderr
        );
        for status in statuses {
            assert!(
                ran.iter()
                    .any(|l| l.contains(&format!(": HTTP {status} in "))),
                "{name}: no request with status {status}:\n{}",
                run.stderr
            );
        }
        // Never a query (the filter, the api-version) in the listed URL.
        for line in ran {
            assert!(!line.contains('?'), "{line}");
        }
    }
}

/// `--debug` lists ARM's requests under the checks that made them, in order, with the status.
#[test]
fn debug_lists_the_arm_requests_under_their_checks() {
    let scenario = the_success();
    let run = scenario.output(&["--debug"]);
    let base = lab_arm(&scenario).base_url();
    let lines = run.lines();
    let at = |prefix: &str| {
        lines
            .iter()
            .position(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix:?} in:\n{}", run.stderr))
    };
    let login = at("Login server: ");
    let dns = at("DNS lookup to ");
    let cmk = at("Encryption identity ");
    let routing = at("DNS routing to private endpoint : OK");
    let list = at(&format!("GET {base}{}: HTTP 200 in ", resources_path()));
    let registry = at(&format!("GET {base}{}: HTTP 200 in ", myreg().id()));
    let identity = at(&format!("GET {base}{}: HTTP 200 in ", cmk_identity_id()));
    let endpoint = at(&format!(
        "GET {base}{}: HTTP 200 in ",
        endpoint_id(NET_GROUP, ENDPOINT)
    ));
    assert!(
        login < list && list < registry && registry < dns,
        "{}",
        run.stderr
    );
    assert!(
        cmk < identity && identity < routing && routing < endpoint,
        "{}",
        run.stderr
    );
}
