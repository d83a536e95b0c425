//! A fake of ACR's token service (`/oauth2/exchange`, `/oauth2/token`), minting RS256 JWTs with an
//! `x5c` header that the real docker-registry accepts.

use std::sync::{Arc, Mutex};

use axum::response::Response;
use base64::Engine;
use serde_json::{Value, json};

use super::http::{
    BodySpec, Outcome, RecordedRequest, Responder, Serve, Server, acr_errors, build_response,
    json_response, recording_methods,
};
use super::jwt::{jwt_payload, now_secs, rfc3339, token_signer, unique_id};
use super::pki::TestCa;

/// The issuer of a real ACR's tokens, and the default here.
pub const ACR_ISSUER: &str = "Azure Container Registry";
/// The user name `docker login` uses with an ACR refresh token as the password.
pub const ACR_REFRESH_TOKEN_USER: &str = "00000000-0000-0000-0000-000000000000";

/// How one token endpoint behaves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Behavior {
    /// Like ACR.
    Normal,
    /// Always this status, with an ACR error body. 401 → `UNAUTHORIZED`; 403 → `DENIED`;
    /// 429 → `TOOMANYREQUESTS` and `Retry-After: 7`; anything else → `UNKNOWN`.
    Status(u16),
    /// 200 with a token that is not a JWT (`"not-a-jwt"`).
    NonJwt,
    /// 200 with an HTML body.
    NonJson,
    /// 200 with `{}` (no `refresh_token` / `access_token`).
    MissingField,
}

/// One `access` entry of a registry token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Access {
    pub kind: String,
    pub name: String,
    pub actions: Vec<String>,
}

impl Access {
    fn to_json(&self) -> Value {
        json!({"type": self.kind, "name": self.name, "actions": self.actions})
    }
}

/// Parses scopes as the Docker spec defines them: entries separated by spaces, each
/// `type:name:actions`, where the name may contain `host:port`, so the type ends at the first `:`
/// and the actions start after the last. Malformed entries are skipped.
pub fn parse_scopes<'a>(scopes: impl IntoIterator<Item = &'a str>) -> Vec<Access> {
    let mut out = Vec::new();
    for scope in scopes {
        for one in scope.split(' ').filter(|s| !s.is_empty()) {
            let Some((kind, rest)) = one.split_once(':') else {
                continue;
            };
            let Some((name, actions)) = rest.rsplit_once(':') else {
                continue;
            };
            out.push(Access {
                kind: kind.to_owned(),
                name: name.to_owned(),
                actions: actions
                    .split(',')
                    .filter(|a| !a.is_empty())
                    .map(str::to_owned)
                    .collect(),
            });
        }
    }
    out
}

struct Config {
    issuer: String,
    granted_actions: Option<Vec<String>>,
    rejected_entra_tokens: Vec<String>,
    exchange: Behavior,
    token: Behavior,
    users: Vec<(String, String)>,
    anonymous: bool,
    access_token_ttl: u64,
}

#[derive(Default)]
struct Issued {
    refresh: Vec<String>,
    access: Vec<String>,
}

/// The token service logic and its knobs. Cheap to clone (shared). Served by
/// [`AcrTokenServer`], and on the registry's own host by `FakeRegistry`.
#[derive(Clone)]
pub struct AcrTokens {
    config: Arc<Mutex<Config>>,
    issued: Arc<Mutex<Issued>>,
}

impl Default for AcrTokens {
    fn default() -> Self {
        Self::new()
    }
}

impl AcrTokens {
    pub fn new() -> AcrTokens {
        AcrTokens {
            config: Arc::new(Mutex::new(Config {
                issuer: ACR_ISSUER.to_owned(),
                granted_actions: None,
                rejected_entra_tokens: Vec::new(),
                exchange: Behavior::Normal,
                token: Behavior::Normal,
                users: vec![("testuser".into(), "testpass".into())],
                anonymous: true,
                access_token_ttl: 300,
            })),
            issued: Arc::new(Mutex::new(Issued::default())),
        }
    }

    // --- knobs -------------------------------------------------------------------------------

    /// The `iss` claim (default [`ACR_ISSUER`]); the real registry's `issuer` must match.
    pub fn set_issuer(&self, issuer: &str) {
        self.config.lock().unwrap().issuer = issuer.to_owned();
    }

    pub fn issuer(&self) -> String {
        self.config.lock().unwrap().issuer.clone()
    }

    /// Restricts every granted `access` entry to these actions (in the order requested);
    /// an entry may end up with no actions. `None` (default) grants what is asked.
    pub fn restrict_actions(&self, actions: Option<&[&str]>) {
        self.config.lock().unwrap().granted_actions =
            actions.map(|a| a.iter().map(|s| s.to_string()).collect());
    }

    /// `/oauth2/exchange` answers 401 `UNAUTHORIZED` for this Entra token value.
    pub fn reject_entra_token(&self, token: &str) {
        self.config
            .lock()
            .unwrap()
            .rejected_entra_tokens
            .push(token.to_owned());
    }

    pub fn set_exchange(&self, behavior: Behavior) {
        self.config.lock().unwrap().exchange = behavior;
    }

    /// Both token endpoints: `POST /oauth2/token` and `GET /oauth2/token`.
    pub fn set_token(&self, behavior: Behavior) {
        self.config.lock().unwrap().token = behavior;
    }

    /// Basic credentials accepted by `GET /oauth2/token` and the password grant (default
    /// `testuser:testpass`).
    pub fn add_user(&self, user: &str, password: &str) {
        self.config
            .lock()
            .unwrap()
            .users
            .push((user.to_owned(), password.to_owned()));
    }

    /// Whether `GET /oauth2/token` without credentials gets a (pull-only) token (default true,
    /// like ACR with anonymous pull). When false it answers 401.
    pub fn set_anonymous(&self, allowed: bool) {
        self.config.lock().unwrap().anonymous = allowed;
    }

    pub fn set_access_token_ttl(&self, seconds: u64) {
        self.config.lock().unwrap().access_token_ttl = seconds;
    }

    // --- what was issued ---------------------------------------------------------------------

    pub fn issued_refresh_tokens(&self) -> Vec<String> {
        self.issued.lock().unwrap().refresh.clone()
    }

    pub fn issued_access_tokens(&self) -> Vec<String> {
        self.issued.lock().unwrap().access.clone()
    }

    /// The certificate (PEM) whose key signs every token (the registry's `rootcertbundle`).
    pub fn signer_cert_pem(&self) -> String {
        token_signer().cert_pem().to_owned()
    }

    /// Mints a refresh token as `/oauth2/exchange` would.
    pub fn mint_refresh_token(&self, service: &str, tenant: &str, subject: &str) -> String {
        let now = now_secs();
        let claims = json!({
            "jti": unique_id(),
            "sub": subject,
            "nbf": now - 5,
            "exp": now + 3 * 3600,
            "iat": now,
            "iss": self.issuer(),
            "aud": service,
            "version": "1.0",
            "grant_type": "refresh_token",
            "tenant": tenant,
            "permissions": {"actions": ["*"], "notActions": []},
            "roles": [],
        });
        let token = token_signer().sign(&claims);
        self.issued.lock().unwrap().refresh.push(token.clone());
        token
    }

    /// Forgets the tokens minted so far: a test's own (to push an image before the run under
    /// test), which the run never sees.
    pub fn forget_issued(&self) {
        let mut issued = self.issued.lock().unwrap();
        issued.refresh.clear();
        issued.access.clear();
    }

    /// Mints an access token for `service` (the JWT `aud`) with this access.
    pub fn mint_access_token(&self, service: &str, subject: &str, access: &[Access]) -> String {
        let (issuer, ttl) = {
            let c = self.config.lock().unwrap();
            (c.issuer.clone(), c.access_token_ttl)
        };
        let now = now_secs();
        let claims = json!({
            "jti": unique_id(),
            "sub": subject,
            "nbf": now - 5,
            "exp": now + ttl,
            "iat": now,
            "iss": issuer,
            "aud": service,
            "version": "1.0",
            "grant_type": "access_token",
            "access": access.iter().map(Access::to_json).collect::<Vec<_>>(),
        });
        let token = token_signer().sign(&claims);
        self.issued.lock().unwrap().access.push(token.clone());
        token
    }

    fn restrict(&self, mut access: Vec<Access>) -> Vec<Access> {
        if let Some(allowed) = &self.config.lock().unwrap().granted_actions {
            for a in &mut access {
                a.actions.retain(|x| allowed.contains(x));
            }
        }
        access
    }

    /// Answers `/oauth2/exchange` and `/oauth2/token`; `None` for any other path.
    pub fn respond(&self, req: &RecordedRequest) -> Option<Response> {
        match (req.method.as_str(), req.path.as_str()) {
            ("POST", "/oauth2/exchange") => Some(self.exchange(req)),
            ("POST", "/oauth2/token") => Some(self.post_token(req)),
            ("GET", "/oauth2/token") => Some(self.get_token(req)),
            (_, "/oauth2/exchange" | "/oauth2/token") => Some(json_response(
                405,
                &acr_errors("UNSUPPORTED", "The operation is unsupported."),
            )),
            _ => None,
        }
    }

    fn exchange(&self, req: &RecordedRequest) -> Response {
        let behavior = self.config.lock().unwrap().exchange.clone();
        if let Some(r) = forced(&behavior, "refresh_token") {
            return r;
        }
        let f = |k: &str| req.form_field(k).unwrap_or("").to_owned();
        let grant = f("grant_type");
        if grant != "access_token" && grant != "access_token_refresh_token" {
            return json_response(
                400,
                &acr_errors("UNSUPPORTED", "grant type is not supported"),
            );
        }
        let (service, entra) = (f("service"), f("access_token"));
        if service.is_empty() || entra.is_empty() {
            return json_response(
                400,
                &acr_errors("UNSUPPORTED", "service and access_token are required"),
            );
        }
        if self
            .config
            .lock()
            .unwrap()
            .rejected_entra_tokens
            .contains(&entra)
        {
            return json_response(
                401,
                &acr_errors(
                    "UNAUTHORIZED",
                    "failed to validate the AAD access token: invalid token",
                ),
            );
        }
        let subject = jwt_payload(&entra)
            .and_then(|p| p.get("oid").and_then(Value::as_str).map(str::to_owned))
            .unwrap_or_else(|| "entra-user".to_owned());
        let rt = self.mint_refresh_token(&service, &f("tenant"), &subject);
        json_response(200, &json!({"refresh_token": rt}))
    }

    fn post_token(&self, req: &RecordedRequest) -> Response {
        let behavior = self.config.lock().unwrap().token.clone();
        if let Some(r) = forced(&behavior, "access_token") {
            return r;
        }
        let f = |k: &str| req.form_field(k).unwrap_or("").to_owned();
        let service = f("service");
        let access = self.restrict(parse_scopes(req.form_fields("scope")));
        match f("grant_type").as_str() {
            "refresh_token" => {
                let rt = f("refresh_token");
                if !self.issued.lock().unwrap().refresh.contains(&rt) {
                    return json_response(
                        401,
                        &acr_errors("UNAUTHORIZED", "invalid refresh token"),
                    );
                }
                let subject = jwt_payload(&rt)
                    .and_then(|p| p.get("sub").and_then(Value::as_str).map(str::to_owned))
                    .unwrap_or_default();
                let at = self.mint_access_token(&service, &subject, &access);
                json_response(200, &json!({"access_token": at}))
            }
            "password" => {
                if !self.user_ok(&f("username"), &f("password")) {
                    return json_response(
                        401,
                        &acr_errors("UNAUTHORIZED", "authentication required"),
                    );
                }
                let at = self.mint_access_token(&service, &f("username"), &access);
                let rt = self.mint_refresh_token(&service, "", &f("username"));
                json_response(
                    200,
                    &json!({
                        "access_token": at,
                        "refresh_token": rt,
                        "expires_in": self.config.lock().unwrap().access_token_ttl,
                        "scope": req.form_fields("scope").join(" "),
                    }),
                )
            }
            _ => json_response(
                400,
                &acr_errors("UNSUPPORTED", "grant type is not supported"),
            ),
        }
    }

    fn user_ok(&self, user: &str, password: &str) -> bool {
        if user == ACR_REFRESH_TOKEN_USER {
            return self
                .issued
                .lock()
                .unwrap()
                .refresh
                .iter()
                .any(|t| t == password);
        }
        self.config
            .lock()
            .unwrap()
            .users
            .iter()
            .any(|(u, p)| u == user && p == password)
    }

    fn get_token(&self, req: &RecordedRequest) -> Response {
        let behavior = self.config.lock().unwrap().token.clone();
        if let Some(r) = forced(&behavior, "token") {
            return r;
        }
        let service = req.query_param("service").unwrap_or_default();
        let scopes = req.query_params("scope");
        let requested = parse_scopes(scopes.iter().map(String::as_str));
        let (subject, access) = match basic_credentials(req) {
            Some((user, password)) => {
                if !self.user_ok(&user, &password) {
                    return json_response(
                        401,
                        &acr_errors("UNAUTHORIZED", "authentication required"),
                    );
                }
                (user, self.restrict(requested))
            }
            None => {
                if !self.config.lock().unwrap().anonymous {
                    return json_response(
                        401,
                        &acr_errors("UNAUTHORIZED", "authentication required"),
                    );
                }
                // Anonymous pull: only `pull` survives.
                let pull_only = requested
                    .into_iter()
                    .map(|mut a| {
                        a.actions.retain(|x| x == "pull");
                        a
                    })
                    .filter(|a| !a.actions.is_empty())
                    .collect();
                (String::new(), self.restrict(pull_only))
            }
        };
        let token = self.mint_access_token(&service, &subject, &access);
        let now = now_secs();
        json_response(
            200,
            &json!({
                "token": token,
                "access_token": token,
                "expires_in": self.config.lock().unwrap().access_token_ttl,
                "issued_at": rfc3339(now),
            }),
        )
    }
}

/// The user and password of a `Basic` `Authorization` header.
pub fn basic_credentials(req: &RecordedRequest) -> Option<(String, String)> {
    let value = req.authorization()?;
    let (scheme, rest) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(rest.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

/// The response of a non-normal [`Behavior`]; `field` is the JSON key a success would carry.
fn forced(behavior: &Behavior, field: &str) -> Option<Response> {
    Some(match behavior {
        Behavior::Normal => return None,
        Behavior::Status(status) => acr_status_response(*status),
        Behavior::NonJwt => {
            let mut body = serde_json::Map::new();
            body.insert(field.to_owned(), json!("not-a-jwt"));
            if field == "token" {
                body.insert("access_token".into(), json!("not-a-jwt"));
            }
            json_response(200, &Value::Object(body))
        }
        Behavior::NonJson => build_response(
            200,
            &[("content-type".into(), "text/html".into())],
            &BodySpec::Bytes(b"<html><body>Service Unavailable</body></html>".to_vec()),
        ),
        Behavior::MissingField => json_response(200, &json!({})),
    })
}

/// An ACR-style error response for a status (see [`Behavior::Status`]).
pub fn acr_status_response(status: u16) -> Response {
    let (code, message) = match status {
        400 => ("UNSUPPORTED", "bad request"),
        401 => ("UNAUTHORIZED", "authentication required"),
        403 => ("DENIED", "requested access to the resource is denied"),
        404 => ("NOT_FOUND", "not found"),
        429 => ("TOOMANYREQUESTS", "too many requests"),
        _ => ("UNKNOWN", "internal server error"),
    };
    let mut response = json_response(status, &acr_errors(code, message));
    if status == 429 {
        response
            .headers_mut()
            .insert("retry-after", axum::http::HeaderValue::from_static("7"));
    }
    response
}

struct TokenResponder(AcrTokens);

impl Responder for TokenResponder {
    fn respond(&self, req: &RecordedRequest) -> Outcome {
        Outcome::Now(
            self.0
                .respond(req)
                .unwrap_or_else(|| json_response(404, &acr_errors("NOT_FOUND", "not found"))),
        )
    }
}

/// An HTTPS server that is only ACR's token service. Knobs: see [`AcrTokens`] (reachable
/// through `Deref`, e.g. `server.set_exchange(Behavior::Status(429))`).
pub struct AcrTokenServer {
    tokens: AcrTokens,
    server: Server,
}

impl AcrTokenServer {
    /// HTTPS on `127.0.0.1:<ephemeral>` with a leaf from `ca` for localhost.
    pub fn start(ca: &TestCa) -> AcrTokenServer {
        Self::start_with(Serve::tls(ca))
    }

    pub fn start_with(serve: Serve<'_>) -> AcrTokenServer {
        let tokens = AcrTokens::new();
        let server = Server::start(serve, Arc::new(TokenResponder(tokens.clone())));
        AcrTokenServer { tokens, server }
    }

    /// `https://<authority>/oauth2/token`: the realm a registry challenge points to.
    pub fn realm(&self) -> String {
        self.url("/oauth2/token")
    }

    pub fn tokens(&self) -> &AcrTokens {
        &self.tokens
    }

    recording_methods!();
}

impl std::ops::Deref for AcrTokenServer {
    type Target = AcrTokens;
    fn deref(&self) -> &AcrTokens {
        &self.tokens
    }
}
