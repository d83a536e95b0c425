//! Fake Entra credential endpoints: IMDS managed identity, App Service managed identity
//! (`IDENTITY_ENDPOINT` + `IDENTITY_HEADER`), and the Entra v2 token endpoint (client secret and
//! workload identity / client assertion). Tokens are Entra-shaped JWTs with a fake signature.

use std::sync::{Arc, Mutex};

use serde_json::json;

use super::http::{
    Outcome, RecordedRequest, Responder, Serve, Server, json_response, recording_methods,
};
use super::jwt::{now_secs, unique_id, unsigned_jwt};
use super::pki::TestCa;

/// The audience the CLI should ask for.
pub const ACR_AUDIENCE: &str = "https://containerregistry.azure.net";
/// Defaults of the fake identity.
pub const TENANT_ID: &str = "72f988bf-0000-4000-8000-00000000c0de";
pub const OBJECT_ID: &str = "0b1ec7f0-0000-4000-8000-0000000000a1";
pub const CLIENT_ID: &str = "c11e7700-0000-4000-8000-0000000000c1";
/// The `X-IDENTITY-HEADER` value App Service hands out (env `IDENTITY_HEADER`).
pub const IDENTITY_HEADER: &str = "acr-health-test-identity-header";
/// The path of the App Service endpoint ([`FakeIdentity::identity_endpoint`]).
pub const APP_SERVICE_PATH: &str = "/msi/token";
/// The IMDS token path.
pub const IMDS_PATH: &str = "/metadata/identity/oauth2/token";
/// `client_assertion_type` of workload identity.
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// One of the three endpoints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdentityEndpoint {
    Imds,
    AppService,
    Entra,
}

struct Config {
    tenant_id: String,
    object_id: String,
    client_id: String,
    audience: Option<String>,
    expires_in: u64,
    client_secret: Option<String>,
    client_assertion: Option<String>,
    failures: Vec<(IdentityEndpoint, u16)>,
}

#[derive(Default)]
struct Shared {
    config: Mutex<Option<Config>>,
    issued: Mutex<Vec<String>>,
}

struct IdentityResponder(Arc<Shared>);

/// Loopback Entra credential endpoints. Knobs are `&self` methods; every request is recorded.
pub struct FakeIdentity {
    shared: Arc<Shared>,
    server: Server,
}

impl FakeIdentity {
    /// Plain HTTP on `127.0.0.1:<ephemeral>` (as IMDS and App Service are).
    pub fn start() -> FakeIdentity {
        Self::start_with(Serve::plain())
    }

    /// HTTPS (e.g. for an authority host that must be https).
    pub fn start_tls(ca: &TestCa) -> FakeIdentity {
        Self::start_with(Serve::tls(ca))
    }

    pub fn start_with(serve: Serve<'_>) -> FakeIdentity {
        let shared = Arc::new(Shared::default());
        *shared.config.lock().unwrap() = Some(Config {
            tenant_id: TENANT_ID.into(),
            object_id: OBJECT_ID.into(),
            client_id: CLIENT_ID.into(),
            audience: None,
            expires_in: 3599,
            client_secret: None,
            client_assertion: None,
            failures: Vec::new(),
        });
        let server = Server::start(serve, Arc::new(IdentityResponder(shared.clone())));
        FakeIdentity { shared, server }
    }

    fn with<R>(&self, f: impl FnOnce(&mut Config) -> R) -> R {
        f(self.shared.config.lock().unwrap().as_mut().unwrap())
    }

    // --- where it is -------------------------------------------------------------------------

    /// IMDS base (`http://127.0.0.1:P`), the value for e.g. `IMDS_ENDPOINT` /
    /// `AZURE_POD_IDENTITY_AUTHORITY_HOST`; the token path is [`IMDS_PATH`].
    pub fn imds_endpoint(&self) -> String {
        self.base_url()
    }

    /// The full IMDS token URL (without query).
    pub fn imds_token_url(&self) -> String {
        self.url(IMDS_PATH)
    }

    /// The App Service `IDENTITY_ENDPOINT` (`http://127.0.0.1:P/msi/token`).
    pub fn identity_endpoint(&self) -> String {
        self.url(APP_SERVICE_PATH)
    }

    /// The App Service `IDENTITY_HEADER` value ([`IDENTITY_HEADER`]).
    pub fn identity_header(&self) -> &'static str {
        IDENTITY_HEADER
    }

    /// The authority host (`AZURE_AUTHORITY_HOST`): the token URL is
    /// `<authority_host>/<tenant>/oauth2/v2.0/token`.
    pub fn authority_host(&self) -> String {
        self.base_url()
    }

    pub fn token_url(&self, tenant: &str) -> String {
        self.url(&format!("/{tenant}/oauth2/v2.0/token"))
    }

    // --- knobs -------------------------------------------------------------------------------

    /// `tid` of IMDS / App Service tokens (Entra tokens use the tenant of the URL path).
    pub fn set_tenant_id(&self, tenant: &str) {
        self.with(|c| c.tenant_id = tenant.to_owned());
    }

    pub fn set_object_id(&self, oid: &str) {
        self.with(|c| c.object_id = oid.to_owned());
    }

    /// Forces the `aud` claim (default: the requested resource, or the scope without
    /// `/.default`, or [`ACR_AUDIENCE`] when none was asked for).
    pub fn set_audience(&self, aud: Option<&str>) {
        self.with(|c| c.audience = aud.map(str::to_owned));
    }

    pub fn set_expires_in(&self, seconds: u64) {
        self.with(|c| c.expires_in = seconds);
    }

    /// The Entra endpoint accepts only this `client_secret` (default: any non-empty one).
    pub fn expect_client_secret(&self, secret: &str) {
        self.with(|c| c.client_secret = Some(secret.to_owned()));
    }

    /// The Entra endpoint accepts only this `client_assertion` (default: any non-empty one).
    pub fn expect_client_assertion(&self, assertion: &str) {
        self.with(|c| c.client_assertion = Some(assertion.to_owned()));
    }

    /// `endpoint` answers `status` with an Entra-style error body (`429` adds `Retry-After: 7`).
    pub fn fail(&self, endpoint: IdentityEndpoint, status: u16) {
        self.with(|c| {
            c.failures.retain(|(e, _)| *e != endpoint);
            c.failures.push((endpoint, status));
        });
    }

    /// Undoes every [`FakeIdentity::fail`].
    pub fn heal(&self) {
        self.with(|c| c.failures.clear());
    }

    /// Every token handed out, in order.
    pub fn issued_tokens(&self) -> Vec<String> {
        self.shared.issued.lock().unwrap().clone()
    }

    recording_methods!();
}

fn entra_error(status: u16, error: &str, description: &str) -> Outcome {
    let mut body = json!({
        "error": error,
        "error_description": description,
        "timestamp": "2026-11-26 23:49:00Z",
        "trace_id": "00000000-0000-0000-0000-000000000000",
        "correlation_id": "00000000-0000-0000-0000-000000000000",
    });
    if let Some(code) = description
        .strip_prefix("AADSTS")
        .and_then(|s| s.split(':').next())
        .and_then(|s| s.parse::<u64>().ok())
    {
        body["error_codes"] = json!([code]);
    }
    let mut response = json_response(status, &body);
    if status == 429 {
        response
            .headers_mut()
            .insert("retry-after", axum::http::HeaderValue::from_static("7"));
    }
    Outcome::Now(response)
}

fn forced_failure(status: u16) -> Outcome {
    let (error, description) = match status {
        400 => ("invalid_request", "Identity not found"),
        401 => (
            "invalid_client",
            "AADSTS7000215: Invalid client secret provided.",
        ),
        403 => ("access_denied", "forbidden"),
        404 => ("not_found", "not found"),
        429 => ("temporarily_unavailable", "too many requests"),
        _ => ("server_error", "internal error"),
    };
    entra_error(status, error, description)
}

impl IdentityResponder {
    fn token(&self, tid: &str, requested: Option<&str>, appid: &str) -> (String, u64) {
        let guard = self.0.config.lock().unwrap();
        let c = guard.as_ref().unwrap();
        let aud = c
            .audience
            .clone()
            .or_else(|| {
                requested
                    .filter(|r| !r.is_empty())
                    .map(|r| r.trim_end_matches("/.default").to_owned())
            })
            .unwrap_or_else(|| ACR_AUDIENCE.to_owned());
        let now = now_secs();
        let claims = json!({
            "aud": aud,
            "iss": format!("https://sts.windows.net/{tid}/"),
            "iat": now,
            "nbf": now,
            "exp": now + c.expires_in,
            "appid": appid,
            "azp": appid,
            "idtyp": "app",
            "oid": c.object_id,
            "sub": c.object_id,
            "tid": tid,
            "uti": unique_id(),
            "ver": "1.0",
        });
        let token = unsigned_jwt(&claims);
        let expires_in = c.expires_in;
        drop(guard);
        self.0.issued.lock().unwrap().push(token.clone());
        (token, expires_in)
    }

    fn failure(&self, endpoint: IdentityEndpoint) -> Option<u16> {
        let guard = self.0.config.lock().unwrap();
        guard
            .as_ref()
            .unwrap()
            .failures
            .iter()
            .find(|(e, _)| *e == endpoint)
            .map(|(_, s)| *s)
    }

    fn defaults(&self) -> (String, String) {
        let guard = self.0.config.lock().unwrap();
        let c = guard.as_ref().unwrap();
        (c.tenant_id.clone(), c.client_id.clone())
    }

    fn imds(&self, req: &RecordedRequest) -> Outcome {
        if req.header("metadata") != Some("true") {
            return entra_error(
                400,
                "invalid_request",
                "Required metadata header not specified",
            );
        }
        if let Some(status) = self.failure(IdentityEndpoint::Imds) {
            return forced_failure(status);
        }
        let Some(resource) = req.query_param("resource") else {
            return entra_error(
                400,
                "invalid_request",
                "Required audience parameter not specified",
            );
        };
        let (tid, default_client) = self.defaults();
        let client = req.query_param("client_id").unwrap_or(default_client);
        let (token, expires_in) = self.token(&tid, Some(&resource), &client);
        let now = now_secs();
        Outcome::Now(json_response(
            200,
            &json!({
                "access_token": token,
                "client_id": client,
                "expires_in": expires_in.to_string(),
                "expires_on": (now + expires_in).to_string(),
                "ext_expires_in": expires_in.to_string(),
                "not_before": now.to_string(),
                "resource": resource,
                "token_type": "Bearer",
            }),
        ))
    }

    fn app_service(&self, req: &RecordedRequest) -> Outcome {
        if req.header("x-identity-header") != Some(IDENTITY_HEADER) {
            return entra_error(
                401,
                "invalid_request",
                "X-IDENTITY-HEADER is missing or invalid",
            );
        }
        if let Some(status) = self.failure(IdentityEndpoint::AppService) {
            return forced_failure(status);
        }
        let Some(resource) = req.query_param("resource") else {
            return entra_error(400, "invalid_request", "resource is required");
        };
        let (tid, default_client) = self.defaults();
        let client = req.query_param("client_id").unwrap_or(default_client);
        let (token, expires_in) = self.token(&tid, Some(&resource), &client);
        Outcome::Now(json_response(
            200,
            &json!({
                "access_token": token,
                "expires_on": (now_secs() + expires_in).to_string(),
                "resource": resource,
                "token_type": "Bearer",
                "client_id": client,
            }),
        ))
    }

    fn entra(&self, req: &RecordedRequest, tenant: &str) -> Outcome {
        if let Some(status) = self.failure(IdentityEndpoint::Entra) {
            return forced_failure(status);
        }
        if req.form_field("grant_type") != Some("client_credentials") {
            return entra_error(
                400,
                "unsupported_grant_type",
                "AADSTS70003: The app requested an unsupported grant type.",
            );
        }
        let Some(client_id) = req.form_field("client_id").filter(|c| !c.is_empty()) else {
            return entra_error(
                400,
                "invalid_request",
                "AADSTS900144: The request body must contain the following parameter: 'client_id'.",
            );
        };
        let (want_secret, want_assertion) = {
            let guard = self.0.config.lock().unwrap();
            let c = guard.as_ref().unwrap();
            (c.client_secret.clone(), c.client_assertion.clone())
        };
        if let Some(secret) = req.form_field("client_secret") {
            if secret.is_empty() || want_secret.as_deref().is_some_and(|w| w != secret) {
                return entra_error(
                    401,
                    "invalid_client",
                    "AADSTS7000215: Invalid client secret provided.",
                );
            }
        } else if let Some(assertion) = req.form_field("client_assertion") {
            if req.form_field("client_assertion_type") != Some(JWT_BEARER) {
                return entra_error(
                    400,
                    "invalid_request",
                    "AADSTS50027: Invalid client_assertion_type.",
                );
            }
            if assertion.is_empty() || want_assertion.as_deref().is_some_and(|w| w != assertion) {
                return entra_error(
                    400,
                    "invalid_client",
                    "AADSTS700211: No matching federated identity record found for presented assertion issuer.",
                );
            }
        } else {
            return entra_error(
                401,
                "invalid_client",
                "AADSTS7000218: The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
            );
        }
        let scope = req.form_field("scope").map(str::to_owned);
        let (token, expires_in) = self.token(tenant, scope.as_deref(), client_id);
        Outcome::Now(json_response(
            200,
            &json!({
                "token_type": "Bearer",
                "expires_in": expires_in,
                "ext_expires_in": expires_in,
                "access_token": token,
            }),
        ))
    }

    fn openid_configuration(&self, req: &RecordedRequest, tenant: &str) -> Outcome {
        let scheme = if req.tls { "https" } else { "http" };
        let host = req.authority.clone().unwrap_or_default();
        let base = format!("{scheme}://{host}/{tenant}");
        Outcome::Now(json_response(
            200,
            &json!({
                "token_endpoint": format!("{base}/oauth2/v2.0/token"),
                "authorization_endpoint": format!("{base}/oauth2/v2.0/authorize"),
                "issuer": format!("{base}/v2.0"),
                "token_endpoint_auth_methods_supported":
                    ["client_secret_post", "private_key_jwt", "client_secret_basic"],
            }),
        ))
    }
}

impl Responder for IdentityResponder {
    fn respond(&self, req: &RecordedRequest) -> Outcome {
        let segments: Vec<&str> = req.path.trim_matches('/').split('/').collect();
        match (req.method.as_str(), req.path.as_str(), segments.as_slice()) {
            ("GET", IMDS_PATH, _) => self.imds(req),
            ("GET", APP_SERVICE_PATH, _) => self.app_service(req),
            ("POST", _, [tenant, "oauth2", "v2.0", "token"]) => self.entra(req, tenant),
            ("GET", _, [tenant, "v2.0", ".well-known", "openid-configuration"]) => {
                self.openid_configuration(req, tenant)
            }
            _ => Outcome::Now(json_response(404, &json!({"error": "not_found"}))),
        }
    }
}
