//! The registry chain, in az's order: login server, DNS, the `/v2/` challenge, the Entra token
//! exchange (refresh token), the access token, and, beyond az, whether the registry accepts that
//! token. Registries that are not ACRs (`--login-server`) follow their own challenge: the standard
//! token flow, or basic authentication.

pub mod azure;
mod daemon_pull;
mod data;
mod dns;
mod endpoints;
mod firewall;
pub mod probe;
pub mod pull;
mod round_trip;
pub mod target;
pub mod token;
mod tokens;

use std::time::{Duration, Instant, SystemTime};

use crate::azure::resource::Registry;

use crate::azure::arm::Arm;
use crate::azure::cloud::Cloud;
use crate::azure::credential;
use crate::checks::{CLOCK_TOLERANCE_SECONDS, Context, Turns};
use crate::net::http::{
    self, Method, RequestError, Response, StatusCode, Transport, Url, without_query,
};
use crate::oci::challenge::{self, Challenge};
use crate::system::client_config;
use crate::system::container::Client;
use crate::system::daemon::{DaemonSettings, Insecure};
use crate::system::process::ProcessError;
use crate::vocabulary::Code;
use crate::vocabulary::{Check, CommandRecord, Outcome, Text};
use crate::vocabulary::{Ui, ui};
use target::{Source, Target};
use token::Authorizer;

/// The connectivity checks: each one needs the one before it.
pub const CHECKS: &[Check] = &[
    Check::RegistryLoginServer,
    Check::RegistryDns,
    Check::RegistryChallenge,
    Check::RegistryEndpoints,
    Check::RegistryRefreshToken,
    Check::RegistryAccessToken,
    Check::RegistryTokenAccepted,
];

/// Beyond az, with the token the connectivity checks ended with: a manifest and its smallest blob.
pub const DATA_CHECKS: &[Check] = &[Check::RegistryManifest, Check::RegistryBlob];

/// The checks that need a working connection to the registry, in order.
fn reachable_checks(plan: &RegistryPlan) -> Vec<Check> {
    let mut all = CHECKS.to_vec();
    all.extend(DATA_CHECKS);
    if plan.daemon_pull {
        all.push(Check::RegistryDaemonPull);
    }
    if plan.round_trip {
        all.push(Check::RegistryRoundTrip);
    }
    all
}

/// Every check of the chain: those that need the registry, then those that need only its
/// Azure resource (they run whatever connectivity found, as in az).
pub fn checks(plan: &RegistryPlan) -> Vec<Check> {
    let mut all = reachable_checks(plan);
    // Only an ACR named with -n is looked up in Resource Manager.
    if plan.target.source != Source::LoginServerFlag {
        all.push(Check::RegistryCmk);
    }
    if plan.vnet.is_some() {
        all.push(Check::RegistryPrivateEndpoint);
    }
    all
}

/// The five actions az checks for with `--repository`.
const REPOSITORY_ACTIONS: [&str; 5] = ["pull", "push", "delete", "metadata_read", "metadata_write"];

/// What the registry chain needs from the arguments.
#[derive(Debug, Clone)]
pub struct RegistryPlan {
    pub target: Target,
    pub repository: Option<String>,
    /// `--tag`: the image of the data probe, with the repository.
    pub tag: Option<String>,
    /// `--round-trip`: push the probe image to `round_trip_repository`.
    pub round_trip: bool,
    /// Where round trips push; the data probe never reads it.
    pub round_trip_repository: String,
    /// `--daemon-pull`: the container client's daemon pulls the image the probe found.
    pub daemon_pull: bool,
    /// `--username` with `--password-stdin`, for registries that are not ACRs.
    pub basic: Option<(String, String)>,
    pub cloud: Cloud,
    /// The subscription to look the registry up in, if one is known.
    pub subscription: Option<String>,
    /// `--vnet NAME|ID`.
    pub vnet: Option<String>,
}

/// What Resource Manager said about the registry.
#[derive(Default)]
struct Azure {
    /// The endpoint, token and subscription, once signed in.
    session: Option<(String, String, String)>,
    /// The registry's resource, when it was found.
    registry: Option<Registry>,
    /// Why it was not, for the checks that need it.
    problem: Option<Text>,
}

/// How the registry asked to be authenticated.
enum Flow {
    /// ACR: exchange an Entra token at `<realm host>/oauth2/exchange`.
    Entra {
        realm: Url,
        service: String,
    },
    /// The Docker token spec: `GET <realm>?service=&scope=`.
    Standard {
        realm: Url,
        service: String,
    },
    Basic,
    /// The registry needs no authentication.
    Open,
}

pub async fn chain(
    plan: &RegistryPlan,
    context: &Context,
    client: Option<&Result<Client, ProcessError>>,
    turns: &Turns,
    emit: &(dyn Fn(Outcome) + Sync),
) {
    let mut run = Chain {
        plan,
        context,
        client,
        turns,
        emit,
        records: Vec::new(),
        started: Instant::now(),
        azure: Azure::default(),
        emitted: Vec::new(),
        addresses: Vec::new(),
    };
    // The client, with the trust and the pinned addresses.
    let transport = Transport::new(&context.env, context.timeout, &context.pins);
    let session = run.connectivity(&transport).await;
    match (transport.as_ref(), session) {
        (Ok(transport), Some(session)) => run.data_plane(transport, &session).await,
        _ => run.no_data_plane(),
    }
    run.azure_checks(transport.as_ref().ok()).await;
}

struct Chain<'a> {
    plan: &'a RegistryPlan,
    context: &'a Context,
    /// The container client, for `--daemon-pull`.
    client: Option<&'a Result<Client, ProcessError>>,
    /// When the round trip may push, and the daemon pull.
    turns: &'a Turns,
    emit: &'a (dyn Fn(Outcome) + Sync),
    records: Vec<CommandRecord>,
    started: Instant,
    azure: Azure,
    /// The checks reported so far.
    emitted: Vec<Emitted>,
    /// The login server's addresses, as the DNS check found them.
    addresses: Vec<std::net::IpAddr>,
}

/// A check the chain reported, and whether it found a problem that skips what needs it.
struct Emitted {
    check: Check,
    blocks: bool,
}

/// A registry the connectivity checks got into: where, and how to get tokens.
pub struct Session {
    pub login_server: String,
    pub base: Url,
    pub authorizer: Authorizer,
    /// What the token-accepted check sent: a token for the catalog, or for `--repository`.
    pub authorization: Option<String>,
}

impl Chain<'_> {
    /// Emits the outcome with the time and the requests since the last one.
    fn emit(&mut self, mut outcome: Outcome) {
        outcome.duration = self.started.elapsed();
        // The chain's requests for this check, then the check's own.
        let mut commands = std::mem::take(&mut self.records);
        commands.append(&mut outcome.commands);
        outcome.commands = commands;
        self.emitted.push(Emitted {
            check: outcome.check,
            blocks: outcome.blocks_dependents(),
        });
        (self.emit)(outcome);
        self.started = Instant::now();
    }

    /// Reports a finding; `None`, for the caller to return. The runner skips what needs it.
    fn fail<T>(&mut self, outcome: Outcome) -> Option<T> {
        self.emit(outcome);
        None
    }

    /// Whether `check` was reported, or is skipped because a check it needs found a problem.
    fn decided(&self, check: Check) -> bool {
        self.emitted
            .iter()
            .any(|o| o.check == check || (o.blocks && check.depends_on(o.check)))
    }

    /// Whether the container client is podman, whose files differ from docker's.
    fn podman(&self) -> bool {
        self.client
            .is_some_and(|client| client.as_ref().is_ok_and(Client::is_podman))
    }

    /// Whether `check` was reported without a problem.
    fn passed(&self, check: Check) -> bool {
        self.emitted.iter().any(|o| o.check == check && !o.blocks)
    }

    fn not_needed(&mut self, checks: &[Check], why: Ui) {
        for &check in checks {
            self.emit(Outcome::skipped(check, Text::ui(why)));
        }
    }

    async fn connectivity(
        &mut self,
        transport: &Result<Transport, http::TransportError>,
    ) -> Option<Session> {
        let target = &self.plan.target;
        // 1. Login server: from Resource Manager for an ACR name, else the cloud's suffix.
        let mut notes = Vec::new();
        let mut from_arm = None;
        if target.source != Source::LoginServerFlag {
            match self.look_up(transport.as_ref().ok()).await {
                Ok(registry) => {
                    from_arm = registry.login_server();
                    self.azure.registry = Some(registry);
                }
                Err(why) => {
                    notes.push(Text::ui(ui::HEALTH_ARM_FALLBACK));
                    notes.push(why.clone());
                    self.azure.problem = Some(why);
                }
            }
        }
        let login_server = from_arm.clone().or_else(|| target.login_server.clone());
        let Some(login_server) = login_server else {
            let outcome = Outcome::failed(Check::RegistryLoginServer, Code::LOGIN_SERVER_ERROR)
                .message_arg("registry", &target.name)
                .note(Text::ui(ui::HEALTH_REGISTRY_NO_SUFFIX).arg("cloud", &target.cloud));
            let outcome = notes.into_iter().fold(outcome, Outcome::note);
            return self.fail(outcome);
        };
        let line = match (&from_arm, &target.source) {
            (Some(_), _) => Text::ui(ui::HEALTH_REGISTRY_LOGIN_SERVER_ARM),
            (None, Source::CloudSuffix) => {
                Text::ui(ui::HEALTH_REGISTRY_LOGIN_SERVER_SUFFIX).arg("cloud", &target.cloud)
            }
            (None, Source::GivenWithSuffix) => Text::ui(ui::HEALTH_REGISTRY_LOGIN_SERVER_GIVEN),
            (None, Source::LoginServerFlag) => Text::ui(ui::HEALTH_REGISTRY_LOGIN_SERVER_FLAG),
        };
        let outcome = Outcome::ok(
            Check::RegistryLoginServer,
            line.arg("login_server", &login_server),
        );
        let outcome = notes.into_iter().fold(outcome, Outcome::note);
        self.emit(outcome);

        // 2. DNS.
        let (host, port) = match target::split_host_port(&login_server) {
            Some((host, port)) => (
                host.trim_matches(['[', ']']).to_owned(),
                port.unwrap_or(443),
            ),
            None => (login_server.clone(), 443),
        };
        let pinned = self.context.pins.find(&host, port);
        let (outcome, addresses) =
            dns::check(&host, port, pinned, self.context.timeout, &login_server).await;
        // The daemon looks the name up itself: a `--resolve` pin is this run's alone.
        self.addresses = match pinned {
            Some(_) => host.parse().into_iter().collect(),
            None => addresses,
        };
        if outcome.is_failure() {
            return self.fail(outcome);
        }
        self.emit(outcome);

        let transport = match transport {
            Ok(transport) => transport,
            Err(error) => {
                let note = error.describe();
                let outcome =
                    Outcome::failed(Check::RegistryChallenge, Code::CONNECTIVITY_SSL_ERROR)
                        .message_arg("login_server", &login_server)
                        .note(note);
                return self.fail(outcome);
            }
        };

        // 3. The challenge.
        let base = match Url::parse(&format!("https://{login_server}/v2/")) {
            Ok(url) => url,
            Err(error) => {
                let outcome =
                    Outcome::failed(Check::RegistryChallenge, Code::CONNECTIVITY_CHALLENGE_ERROR)
                        .message_arg("login_server", &login_server)
                        .note(Text::ui(ui::HEALTH_REQUEST_OTHER).arg("reason", error));
                return self.fail(outcome);
            }
        };
        let flow = self.challenge(transport, &base, &login_server).await;
        // Also when the challenge passed and the Entra login it asks for cannot be made.
        if self.passed(Check::RegistryChallenge) {
            self.endpoints(transport, &host, port).await;
        }
        let flow = flow?;

        // 4. Tokens.
        let (authorizer, authorization) = match flow {
            Flow::Entra { realm, service } => {
                self.entra(transport, &base, &login_server, &realm, &service)
                    .await?
            }
            Flow::Standard { realm, service } => {
                self.not_needed(
                    &[Check::RegistryRefreshToken],
                    ui::HEALTH_REGISTRY_NO_REFRESH_TOKEN_NEEDED,
                );
                self.standard(transport, &base, &login_server, &realm, &service)
                    .await?
            }
            Flow::Basic => {
                self.not_needed(
                    &[Check::RegistryRefreshToken, Check::RegistryAccessToken],
                    ui::HEALTH_REGISTRY_BASIC_NO_TOKEN,
                );
                self.basic(transport, &base, &login_server).await?
            }
            Flow::Open => {
                self.not_needed(
                    &[
                        Check::RegistryRefreshToken,
                        Check::RegistryAccessToken,
                        Check::RegistryTokenAccepted,
                    ],
                    ui::HEALTH_REGISTRY_OPEN_NO_TOKEN,
                );
                (Authorizer::Open, None)
            }
        };
        Some(Session {
            login_server,
            base,
            authorizer,
            authorization,
        })
    }

    /// Finds the registry in Resource Manager: the reason when it cannot.
    async fn look_up(&mut self, transport: Option<&Transport>) -> Result<Registry, Text> {
        let plan = self.plan;
        let cloud = &plan.cloud;
        let (Some(endpoint), Some(audience)) =
            (&cloud.resource_manager, &cloud.resource_manager_audience)
        else {
            return Err(Text::ui(ui::HEALTH_ARM_NO_ENDPOINT).arg("cloud", &cloud.name));
        };
        let Some(transport) = transport else {
            return Err(Text::ui(ui::HEALTH_ARM_NO_TRUST));
        };
        let Some(subscription) = plan.subscription.clone() else {
            return Err(Text::ui(ui::HEALTH_ARM_NO_SUBSCRIPTION));
        };
        let mut records = Vec::new();
        let token = credential::acquire(
            credential::resource_manager(audience),
            self.context,
            transport,
            &mut records,
        )
        .await;
        self.records.extend(records);
        let Ok(token) = token else {
            return Err(Text::ui(ui::HEALTH_ARM_NO_CREDENTIAL));
        };
        self.azure.session = Some((endpoint.clone(), token.token.clone(), subscription.clone()));
        let arm = Arm::new(transport, endpoint, &token.token, &subscription);
        let found = arm.find_registry(&plan.target.name).await;
        self.records.extend(arm.take_records());
        match found {
            Ok(Some(registry)) => Ok(registry),
            Ok(None) => Err(Text::ui(ui::HEALTH_ARM_NOT_FOUND)
                .arg("registry", &plan.target.name)
                .arg("subscription", &subscription)),
            Err(error) => Err(error.describe()),
        }
    }

    /// CMK and, with `--vnet`, private-endpoint routing: they need the registry's resource, not
    /// a connection to it.
    async fn azure_checks(&mut self, transport: Option<&Transport>) {
        let registry = self.azure.registry.clone();
        let session = self.azure.session.clone();
        let arm = match (transport, &session) {
            (Some(transport), Some((endpoint, token, subscription))) => {
                Some(Arm::new(transport, endpoint, token, subscription))
            }
            _ => None,
        };
        let name = self.plan.target.name.clone();
        if self.plan.target.source != Source::LoginServerFlag {
            let outcome = match (&arm, &registry) {
                (Some(arm), Some(registry)) => {
                    azure::encryption_identity(arm, registry, &name).await
                }
                _ => Outcome::skipped(Check::RegistryCmk, Text::ui(ui::HEALTH_CMK_NOT_LOOKED_UP)),
            };
            if let Some(arm) = &arm {
                self.records.extend(arm.take_records());
            }
            self.emit(outcome);
        }
        let Some(vnet) = self.plan.vnet.clone() else {
            return;
        };
        let outcome = match (&arm, &registry) {
            (Some(arm), Some(registry)) => {
                azure::private_endpoints(
                    arm,
                    registry,
                    &vnet,
                    &self.context.pins,
                    self.context.timeout,
                )
                .await
            }
            _ => {
                let why = self
                    .azure
                    .problem
                    .clone()
                    .unwrap_or_else(|| Text::ui(ui::HEALTH_ARM_NOT_FOR_LOGIN_SERVER));
                Outcome::failed(Check::RegistryPrivateEndpoint, Code::RESOURCE_MANAGER_ERROR)
                    .note(why)
            }
        };
        if let Some(arm) = &arm {
            self.records.extend(arm.take_records());
        }
        let outcome = outcome.message_arg("registry", &name);
        self.emit(outcome);
    }

    /// Sends one request and records it for `--debug` (method, URL, status: never a body).
    async fn send(
        &mut self,
        transport: &Transport,
        method: Method,
        url: &Url,
        authorization: Option<&str>,
        form: Option<&[(&str, &str)]>,
    ) -> Result<Response, RequestError> {
        transport
            .send_recorded(&mut self.records, method, url, authorization, form)
            .await
    }

    async fn challenge(
        &mut self,
        transport: &Transport,
        base: &Url,
        login_server: &str,
    ) -> Option<Flow> {
        let target = &self.plan.target;
        let check = Check::RegistryChallenge;
        let trust_note = data::trust_note(&transport.trust);
        // The facts of the connection go under a finding's own details (the cause first: the
        // registry's own words must not read as if they belonged to the trust note).
        let with_facts = |outcome: Outcome| {
            let outcome = outcome
                .message_arg("login_server", login_server)
                .message_arg("registry", &target.name);
            let outcome = match &transport.proxy {
                Some(proxy) => {
                    outcome.note(Text::ui(ui::HEALTH_REGISTRY_VIA_PROXY).arg("proxy", proxy))
                }
                None => outcome,
            };
            outcome.note(trust_note.clone())
        };
        // What the Docker daemon makes of this registry, asked while the challenge is sent: a
        // `docker pull` goes by it, not by this shell's settings.
        let (client, context) = (self.client, self.context);
        let (sent, daemon) = tokio::join!(
            self.send(transport, Method::GET, base, None, None),
            daemon_settings(client, context),
        );
        let insecure = daemon.and_then(|d| d.insecure(login_server, &self.addresses));
        let daemon_notes: Vec<Text> = insecure
            .iter()
            .map(|why| insecure_note(why, login_server))
            .chain(daemon.and_then(|d| mirrors_note(d, login_server)))
            .chain(other_clients(self.podman(), self.context, login_server))
            .collect();
        let response = match sent {
            Ok(response) => response,
            Err(error) => {
                let code = match error {
                    RequestError::Tls { .. } => Code::CONNECTIVITY_SSL_ERROR,
                    _ => Code::CONNECTIVITY_CHALLENGE_ERROR,
                };
                let outcome =
                    with_facts(Outcome::failed(check, code).note(credential::describe(&error)));
                let outcome = daemon_notes.into_iter().fold(outcome, Outcome::note);
                return self.fail(outcome);
            }
        };
        let status = response.status;
        let ok_line = Text::ui(ui::HEALTH_REGISTRY_CHALLENGE_OK).arg("url", base);
        let ok_line_again = ok_line.clone();
        let fail = |code: Code| Outcome::failed(check, code);
        let outcome_and_flow: (Outcome, Option<Flow>) = match status {
            StatusCode::FORBIDDEN => {
                let outcome =
                    with_registry_error(fail(Code::CONNECTIVITY_FORBIDDEN_ERROR), &response);
                let seen_as = response
                    .registry_error()
                    .as_deref()
                    .and_then(firewall::client_ip);
                let outcome = match seen_as {
                    Some(ip) if target.is_acr => {
                        firewall::diagnose(outcome, ip, self.azure.registry.as_ref(), &target.name)
                    }
                    _ => outcome,
                };
                (outcome, None)
            }
            StatusCode::TOO_MANY_REQUESTS => (
                throttled(fail(Code::CONNECTIVITY_TOOMANYREQUESTS_ERROR), &response),
                None,
            ),
            StatusCode::UNAUTHORIZED => {
                let challenges = challenge::parse(response.header_values("www-authenticate"));
                self.judge_challenges(&challenges, login_server, &fail, ok_line)
            }
            // An open registry says what it is; a 200 without it is a captive portal or a web
            // server, not a registry.
            StatusCode::OK
                if !target.is_acr
                    && response
                        .header("docker-distribution-api-version")
                        .is_some_and(|v| v.trim().starts_with("registry/2")) =>
            {
                (
                    Outcome::ok(check, ok_line).note(Text::ui(ui::HEALTH_REGISTRY_OPEN)),
                    Some(Flow::Open),
                )
            }
            StatusCode::OK if !target.is_acr => (
                fail(Code::CONNECTIVITY_CHALLENGE_ERROR)
                    .note(Text::ui(ui::HEALTH_REGISTRY_NOT_A_REGISTRY)),
                None,
            ),
            StatusCode::OK => (
                fail(Code::CONNECTIVITY_CHALLENGE_ERROR)
                    .note(Text::ui(ui::HEALTH_REGISTRY_NO_CHALLENGE_200)),
                None,
            ),
            other => (
                with_registry_error(
                    fail(Code::CONNECTIVITY_CHALLENGE_ERROR).note(
                        Text::ui(ui::HEALTH_REGISTRY_UNEXPECTED_STATUS)
                            .arg("status", other.as_u16()),
                    ),
                    &response,
                ),
                None,
            ),
        };
        // Whom the connection went to, and a wrong clock, wherever the challenge's own
        // outcome goes.
        let skew = clock_skew(&response);
        let seen = certificate_facts(
            &response,
            transport,
            target.is_acr,
            login_server,
            insecure.is_some(),
            self.context,
        );
        let with_clock = |outcome: Outcome| {
            if outcome.check != check {
                return outcome;
            }
            let outcome = match &seen {
                Some((notes, data)) => notes
                    .iter()
                    .cloned()
                    .fold(outcome, Outcome::note)
                    .data("certificate", data.clone()),
                None => outcome,
            };
            let outcome = daemon_notes.iter().cloned().fold(outcome, Outcome::note);
            match &skew {
                Some((note, seconds)) => outcome
                    .note(note.clone())
                    .data("clock_skew_seconds", (*seconds).into()),
                None => outcome,
            }
        };
        match outcome_and_flow {
            (outcome, Some(flow)) => {
                self.emit(with_clock(outcome));
                Some(flow)
            }
            // The challenge was answered; it is the Entra login it asks for that cannot be
            // made. As az: the challenge's line, then the login's error.
            (outcome, None) if outcome.check == Check::RegistryRefreshToken => {
                self.emit(with_clock(Outcome::ok(check, ok_line_again)));
                self.fail(with_facts(outcome))
            }
            (outcome, None) => self.fail(with_clock(with_facts(outcome))),
        }
    }

    fn judge_challenges(
        &self,
        challenges: &[Challenge],
        login_server: &str,
        fail: &dyn Fn(Code) -> Outcome,
        ok_line: Text,
    ) -> (Outcome, Option<Flow>) {
        let target = &self.plan.target;
        let check = Check::RegistryChallenge;
        // The challenge was answered; what cannot be made is the Entra login it asks for.
        let no_login = || {
            Outcome::failed(
                Check::RegistryRefreshToken,
                Code::CONNECTIVITY_AAD_LOGIN_ERROR,
            )
        };
        let shown = challenges
            .iter()
            .map(|c| c.scheme.clone())
            .collect::<Vec<_>>()
            .join(", ");
        if challenges.is_empty() {
            return (
                fail(Code::CONNECTIVITY_CHALLENGE_ERROR)
                    .note(Text::ui(ui::HEALTH_REGISTRY_NO_HEADER)),
                None,
            );
        }
        let bearer = challenges.iter().find(|c| c.is("bearer"));
        let realm_and_service = bearer.and_then(|c| Some((c.param("realm")?, c.param("service")?)));
        if let Some((realm, service)) = realm_and_service {
            let Ok(realm_url) = Url::parse(realm) else {
                let failed = if target.is_acr {
                    no_login()
                } else {
                    fail(Code::CONNECTIVITY_WWW_AUTHENTICATE_ERROR)
                };
                return (
                    failed.note(Text::ui(ui::HEALTH_REGISTRY_BAD_REALM).arg("realm", realm)),
                    None,
                );
            };
            let same_host = realm_url.scheme() == "https" && authority(&realm_url) == login_server;
            let acr_realm = same_host && realm_url.path() == "/oauth2/token";
            if target.is_acr && !acr_realm {
                // The Entra token would go somewhere other than the registry: say so, send nothing.
                let note = Text::ui(ui::HEALTH_REGISTRY_REALM_ELSEWHERE)
                    .arg("realm", without_query(&realm_url));
                return (no_login().note(note), None);
            }
            let flow = if acr_realm && (target.is_acr || self.plan.basic.is_none()) {
                Flow::Entra {
                    realm: realm_url,
                    service: service.to_owned(),
                }
            } else {
                Flow::Standard {
                    realm: realm_url,
                    service: service.to_owned(),
                }
            };
            return (Outcome::ok(check, ok_line), Some(flow));
        }
        if target.is_acr {
            let note = Text::ui(ui::HEALTH_REGISTRY_NOT_ENTRA).arg("schemes", &shown);
            return (no_login().note(note), None);
        }
        if challenges.iter().any(|c| c.is("basic")) {
            return (
                Outcome::ok(check, ok_line).note(Text::ui(ui::HEALTH_REGISTRY_BASIC)),
                Some(Flow::Basic),
            );
        }
        let note = Text::ui(ui::HEALTH_REGISTRY_UNUSABLE_CHALLENGE).arg("schemes", &shown);
        (
            fail(Code::CONNECTIVITY_WWW_AUTHENTICATE_ERROR).note(note),
            None,
        )
    }
}

/// `host` or `host:port` of a URL, as a login server is written.
fn authority(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(port) if port != 443 => format!("{host}:{port}"),
        _ => host.to_owned(),
    }
}

fn with_registry_error(outcome: Outcome, response: &Response) -> Outcome {
    match response.registry_error() {
        Some(error) => outcome.verbatim(&error),
        None => outcome,
    }
}

/// The certificate the registry presented, for people and for scripts; and when its authority is
/// trusted here only through a bundle of this machine's own: for an ACR, that something
/// intercepts TLS, and for any registry, whether the Docker daemon has that authority too (it
/// reads `/etc/docker/certs.d/<login server>/`, not the bundle).
fn certificate_facts(
    response: &Response,
    transport: &Transport,
    is_acr: bool,
    login_server: &str,
    daemon_insecure: bool,
    context: &Context,
) -> Option<(Vec<Text>, serde_json::Value)> {
    let certificate = response.certificate.as_ref()?;
    let protocol = Protocols {
        http: format!("{:?}", response.version),
        tls: response.tls_version.clone().unwrap_or_default(),
        alpn: response.alpn.clone(),
    };
    let alpn = match &protocol.alpn {
        Some(alpn) => Text::ui(ui::HEALTH_REGISTRY_ALPN).arg("alpn", alpn),
        None => Text::ui(ui::HEALTH_REGISTRY_NO_ALPN),
    };
    let mut notes = vec![
        Text::ui(ui::HEALTH_REGISTRY_CERTIFICATE)
            .arg("subject", &certificate.subject)
            .arg("issuer", &certificate.issuer)
            .arg("until", http::utc_date(certificate.not_after))
            .arg("tls", &protocol.tls)
            .arg_text("alpn", alpn)
            .arg("protocol", &protocol.http),
    ];
    let private = transport.trusted_only_by_bundle(&certificate.issuer, &context.env);
    if let (true, http::Trust::Bundle { variable, path }) = (private, &transport.trust) {
        if is_acr {
            notes.push(
                Text::ui(ui::HEALTH_REGISTRY_CERTIFICATE_INTERCEPTED)
                    .arg("issuer", &certificate.issuer)
                    .arg("variable", variable),
            );
        }
        let daemon_dir = std::path::Path::new("/etc/docker/certs.d").join(login_server);
        let daemon_has_ca = std::fs::read_dir(&daemon_dir).is_ok_and(|entries| {
            entries
                .flatten()
                .any(|e| e.path().extension().is_some_and(|x| x == "crt"))
        });
        let key = match (daemon_has_ca, daemon_insecure) {
            (true, _) => ui::HEALTH_REGISTRY_DAEMON_HAS_CA,
            // The daemon checks no certificate of this registry: it has nothing to fail on.
            (false, true) => return Some((notes, data(certificate, &protocol, private))),
            (false, false) => ui::HEALTH_REGISTRY_DAEMON_LACKS_CA,
        };
        notes.push(
            Text::ui(key)
                .arg("issuer", &certificate.issuer)
                .arg("variable", variable)
                .arg("bundle", path)
                .arg("directory", daemon_dir.display()),
        );
    }
    Some((notes, data(certificate, &protocol, private)))
}

/// What the connection to the login server agreed on.
struct Protocols {
    /// `HTTP/2.0`, `HTTP/1.1`.
    http: String,
    /// `TLS 1.3`, `TLS 1.2`.
    tls: String,
    /// The protocol ALPN agreed on, if the server chose one.
    alpn: Option<String>,
}

/// The certificate for scripts.
fn data(
    certificate: &http::certificate::Certificate,
    protocol: &Protocols,
    private: bool,
) -> serde_json::Value {
    serde_json::json!({
        "subject": certificate.subject,
        "issuer": certificate.issuer,
        "not_before": http::utc_date(certificate.not_before),
        "not_after": http::utc_date(certificate.not_after),
        "tls_version": protocol.tls,
        "alpn": protocol.alpn,
        "http_version": protocol.http,
        "issuer_only_in_bundle": private,
    })
}

/// How long the registry checks wait for the Docker daemon's settings: they only add to a
/// finding, and a daemon that hangs is the docker checks' to report.
const DAEMON_SETTINGS_WAIT: Duration = Duration::from_secs(3);

/// The Docker daemon's settings, when there is a Docker daemon and it answers in time.
async fn daemon_settings<'a>(
    client: Option<&'a Result<Client, ProcessError>>,
    context: &Context,
) -> Option<&'a DaemonSettings> {
    let client = client?.as_ref().ok()?;
    let wait = DAEMON_SETTINGS_WAIT.min(context.timeout);
    let (settings, _) = tokio::time::timeout(wait, client.daemon_settings(context))
        .await
        .ok()?;
    settings.as_ref()
}

/// The daemon neither checks the registry's certificate nor insists on HTTPS.
fn insecure_note(why: &Insecure, login_server: &str) -> Text {
    match why {
        Insecure::Named => Text::ui(ui::HEALTH_REGISTRY_DAEMON_INSECURE_NAMED),
        Insecure::InRange { address, range } => Text::ui(ui::HEALTH_REGISTRY_DAEMON_INSECURE_RANGE)
            .arg("address", address)
            .arg("range", range),
    }
    .arg("login_server", login_server)
}

/// What podman's `registries.conf` (when podman is the client) and containerd's `hosts.toml`
/// say of this registry: their pulls go by them.
fn other_clients(podman: bool, context: &Context, login_server: &str) -> Vec<Text> {
    let mut notes = Vec::new();
    let read = |file: &std::path::Path, notes: &mut Vec<Text>| match std::fs::read_to_string(file) {
        Ok(text) => Some(text),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => None,
        Err(error) => {
            notes.push(unreadable(file, &error.to_string()));
            None
        }
    };
    let podman_files = if podman {
        client_config::podman_files(context)
    } else {
        Vec::new()
    };
    for file in podman_files {
        let Some(text) = read(&file, &mut notes) else {
            continue;
        };
        match client_config::podman_rules(&text, &file, login_server) {
            Ok(rules) => notes.extend(rules.iter().flat_map(podman_notes)),
            Err(reason) => notes.push(unreadable(&file, &reason)),
        }
    }
    let certs_d = std::path::Path::new(client_config::CONTAINERD_CERTS_D);
    if let Some(file) = client_config::containerd_file(certs_d, login_server)
        && let Some(text) = read(&file, &mut notes)
    {
        match client_config::containerd_hosts(&text, &file, login_server) {
            Ok(hosts) => notes.extend(containerd_notes(&hosts, login_server)),
            Err(reason) => notes.push(unreadable(&file, &reason)),
        }
    }
    notes
}

fn unreadable(file: &std::path::Path, reason: &str) -> Text {
    Text::ui(ui::HEALTH_REGISTRY_CLIENT_CONFIG_UNREADABLE)
        .arg("file", file.display())
        .arg("reason", reason)
}

fn podman_notes(rule: &client_config::PodmanRule) -> Vec<Text> {
    let about = |key: Ui| {
        Text::ui(key)
            .arg("file", rule.file.display())
            .arg("prefix", &rule.prefix)
    };
    let mut notes = Vec::new();
    if rule.blocked {
        notes.push(about(ui::HEALTH_REGISTRY_PODMAN_BLOCKED));
    }
    if rule.insecure {
        notes.push(about(ui::HEALTH_REGISTRY_PODMAN_INSECURE));
    }
    if let Some(location) = &rule.redirected_to {
        notes.push(about(ui::HEALTH_REGISTRY_PODMAN_REDIRECTED).arg("location", location));
    }
    if !rule.mirrors.is_empty() {
        notes.push(
            about(ui::HEALTH_REGISTRY_PODMAN_MIRRORS).arg("mirrors", rule.mirrors.join(", ")),
        );
    }
    notes
}

fn containerd_notes(hosts: &client_config::ContainerdHosts, login_server: &str) -> Vec<Text> {
    let file = hosts.file.display().to_string();
    let mut notes = Vec::new();
    let server = hosts
        .server
        .clone()
        .unwrap_or_else(|| format!("https://{login_server}"));
    let tried: Vec<&str> = hosts.hosts.iter().map(|h| h.url.as_str()).collect();
    let about = |key: Ui| {
        Text::ui(key)
            .arg("file", &file)
            .arg("login_server", login_server)
            .arg("server", &server)
    };
    if !tried.is_empty() {
        notes.push(about(ui::HEALTH_REGISTRY_CONTAINERD_HOSTS).arg("hosts", tried.join(", ")));
    } else if hosts.server.is_some() {
        notes.push(about(ui::HEALTH_REGISTRY_CONTAINERD_SERVER));
    }
    for host in &hosts.hosts {
        if host.skip_verify {
            notes.push(
                Text::ui(ui::HEALTH_REGISTRY_CONTAINERD_SKIP_VERIFY)
                    .arg("file", &file)
                    .arg("host", &host.url),
            );
        }
        if !host.ca.is_empty() {
            notes.push(
                Text::ui(ui::HEALTH_REGISTRY_CONTAINERD_CA)
                    .arg("file", &file)
                    .arg("host", &host.url)
                    .arg("ca", host.ca.join(", ")),
            );
        }
    }
    notes
}

/// The mirrors a `docker pull` from this registry tries first (Docker Hub's only).
fn mirrors_note(settings: &DaemonSettings, login_server: &str) -> Option<Text> {
    let mirrors = settings.mirrors_for(login_server);
    (!mirrors.is_empty()).then(|| {
        Text::ui(ui::HEALTH_REGISTRY_DAEMON_MIRRORS)
            .arg("login_server", login_server)
            .arg("mirrors", mirrors.join(", "))
    })
}

/// How far this machine's clock is from the registry's `Date` when it is more than
/// [`CLOCK_TOLERANCE_SECONDS`]: the note, and the seconds (positive: this machine is ahead).
fn clock_skew(response: &Response) -> Option<(Text, i64)> {
    let theirs = httpdate::parse_http_date(response.header("date")?).ok()?;
    let (ahead, apart) = match SystemTime::now().duration_since(theirs) {
        Ok(ahead) => (true, ahead),
        Err(behind) => (false, behind.duration()),
    };
    let seconds = apart.as_secs();
    if seconds <= CLOCK_TOLERANCE_SECONDS {
        return None;
    }
    let key = if ahead {
        ui::HEALTH_REGISTRY_CLOCK_AHEAD
    } else {
        ui::HEALTH_REGISTRY_CLOCK_BEHIND
    };
    let signed = i64::try_from(seconds).unwrap_or(i64::MAX);
    let note = Text::ui(key).arg("minutes", seconds.div_ceil(60));
    Some((note, if ahead { signed } else { -signed }))
}

fn throttled(outcome: Outcome, response: &Response) -> Outcome {
    let outcome = with_registry_error(outcome, response);
    match response.header("retry-after") {
        Some(after) => {
            outcome.note(Text::ui(ui::HEALTH_REGISTRY_RETRY_AFTER).arg("seconds", after))
        }
        None => outcome,
    }
}
