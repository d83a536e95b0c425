//! A Microsoft Entra token for the registry audience, from the first source that has one: a
//! token given to us, the Azure CLI, workload identity, a service principal, managed identity.

use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::Value;

use crate::net::http::{self, Method, Protocol, RequestError, Response, TlsKind, Transport, Url};
use crate::system::{Context, process};
use crate::vocabulary::ui;
use crate::vocabulary::{CommandRecord, Text};

/// The audience of ACR's data plane.
pub const REGISTRY_AUDIENCE: &str = "https://containerregistry.azure.net";
const DEFAULT_AUTHORITY: &str = "https://login.microsoftonline.com";
const DEFAULT_IMDS: &str = "http://169.254.169.254";

/// What a token is for: its resource, and the variables that can hand one over directly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Audience<'a> {
    pub resource: &'a str,
    pub token_variable: &'static str,
    pub file_variable: &'static str,
}

/// The registry's data plane.
pub const REGISTRY: Audience<'static> = Audience {
    resource: REGISTRY_AUDIENCE,
    token_variable: "ACR_HEALTH_AAD_TOKEN",
    file_variable: "ACR_HEALTH_AAD_TOKEN_FILE",
};

/// Azure Resource Manager of a cloud (`https://management.core.windows.net/` for AzureCloud).
pub fn resource_manager(resource: &str) -> Audience<'_> {
    Audience {
        resource,
        token_variable: "ACR_HEALTH_ARM_TOKEN",
        file_variable: "ACR_HEALTH_ARM_TOKEN_FILE",
    }
}

impl Audience<'_> {
    /// The client-credentials scope: `<resource>/.default`.
    fn scope(&self) -> String {
        format!("{}/.default", self.resource.trim_end_matches('/'))
    }
}

/// Where a token came from; the report names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    EnvironmentToken(&'static str),
    TokenFile(&'static str),
    AzureCli,
    WorkloadIdentity,
    ServicePrincipal,
    ManagedIdentity,
}

impl Source {
    /// The source's name, for the report.
    pub fn describe(self) -> Text {
        match self {
            Source::EnvironmentToken(variable) => {
                Text::ui(ui::HEALTH_SOURCE_ENVIRONMENT_TOKEN).arg("variable", variable)
            }
            Source::TokenFile(variable) => {
                Text::ui(ui::HEALTH_SOURCE_TOKEN_FILE).arg("variable", variable)
            }
            Source::AzureCli => Text::ui(ui::HEALTH_SOURCE_AZURE_CLI),
            Source::WorkloadIdentity => Text::ui(ui::HEALTH_SOURCE_WORKLOAD_IDENTITY),
            Source::ServicePrincipal => Text::ui(ui::HEALTH_SOURCE_SERVICE_PRINCIPAL),
            Source::ManagedIdentity => Text::ui(ui::HEALTH_SOURCE_MANAGED_IDENTITY),
        }
    }
}

pub struct EntraToken {
    pub token: String,
    pub source: Source,
    /// The tenant, from the token's `tid` claim (or the Azure CLI's answer).
    pub tenant: Option<String>,
}

/// Why no token: each source that was tried and what it said (never a secret).
#[derive(Debug, Default)]
pub struct NoCredential {
    pub attempts: Vec<(Source, Text)>,
}

/// Tries the sources in order. A source that is not configured is passed over silently; one that
/// is configured and fails is remembered for the report.
pub async fn acquire(
    audience: Audience<'_>,
    context: &Context,
    transport: &Transport,
    records: &mut Vec<CommandRecord>,
) -> Result<EntraToken, NoCredential> {
    let mut failed = NoCredential::default();
    if let Some(token) = context.var(audience.token_variable) {
        return Ok(entra(
            token.trim(),
            Source::EnvironmentToken(audience.token_variable),
            None,
        ));
    }
    if let Some(path) = context.var(audience.file_variable) {
        match std::fs::read_to_string(path) {
            Ok(token) if !token.trim().is_empty() => {
                return Ok(entra(
                    token.trim(),
                    Source::TokenFile(audience.file_variable),
                    None,
                ));
            }
            Ok(_) => failed.attempts.push((
                Source::TokenFile(audience.file_variable),
                Text::ui(ui::HEALTH_CREDENTIAL_EMPTY_FILE).arg("path", path),
            )),
            Err(e) => failed.attempts.push((
                Source::TokenFile(audience.file_variable),
                unreadable(path, &e),
            )),
        }
    }
    let scope = audience.scope();
    match azure_cli(audience.resource, context, records).await {
        Some(Ok(token)) => return Ok(token),
        Some(Err(why)) => failed.attempts.push((Source::AzureCli, why)),
        None => {}
    }
    let authority = context
        .var("AZURE_AUTHORITY_HOST")
        .unwrap_or(DEFAULT_AUTHORITY)
        .trim_end_matches('/')
        .to_owned();
    if let (Some(client), Some(tenant), Some(file)) = (
        context.var("AZURE_CLIENT_ID"),
        context.var("AZURE_TENANT_ID"),
        context.var("AZURE_FEDERATED_TOKEN_FILE"),
    ) {
        let result = match std::fs::read_to_string(file) {
            Ok(assertion) => {
                let form = [
                    ("grant_type", "client_credentials"),
                    ("client_id", client),
                    (
                        "client_assertion_type",
                        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                    ),
                    ("client_assertion", assertion.trim()),
                    ("scope", scope.as_str()),
                ];
                token_endpoint(
                    transport,
                    &authority,
                    tenant,
                    &form,
                    Source::WorkloadIdentity,
                    records,
                )
                .await
            }
            Err(e) => Err(unreadable(file, &e)),
        };
        match result {
            Ok(token) => return Ok(token),
            Err(why) => failed.attempts.push((Source::WorkloadIdentity, why)),
        }
    }
    if let (Some(client), Some(tenant), Some(secret)) = (
        context.var("AZURE_CLIENT_ID"),
        context.var("AZURE_TENANT_ID"),
        context.var("AZURE_CLIENT_SECRET"),
    ) {
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", client),
            ("client_secret", secret),
            ("scope", scope.as_str()),
        ];
        match token_endpoint(
            transport,
            &authority,
            tenant,
            &form,
            Source::ServicePrincipal,
            records,
        )
        .await
        {
            Ok(token) => return Ok(token),
            Err(why) => failed.attempts.push((Source::ServicePrincipal, why)),
        }
    }
    match managed_identity(audience.resource, context, transport, records).await {
        Ok(token) => Ok(token),
        Err(why) => {
            failed.attempts.push((Source::ManagedIdentity, why));
            Err(failed)
        }
    }
}

fn unreadable(path: &str, error: &std::io::Error) -> Text {
    Text::ui(ui::HEALTH_CREDENTIAL_UNREADABLE_FILE)
        .arg("path", path)
        .arg("reason", error)
}

/// Another system's words about why it gave no token.
fn refused(reason: impl ToString) -> Text {
    Text::ui(ui::HEALTH_CREDENTIAL_REFUSED).arg("reason", reason)
}

fn entra(token: &str, source: Source, tenant: Option<String>) -> EntraToken {
    let tenant = tenant.or_else(|| claim(token, "tid"));
    EntraToken {
        token: token.to_owned(),
        source,
        tenant,
    }
}

/// Whom the Entra token speaks for, in which tenant, and until when, as `gh auth status` shows
/// it (from its claims; never the token): notes for the report.
pub fn signed_in(token: &EntraToken, now: u64) -> Vec<Text> {
    let Some(claims) = payload(&token.token) else {
        return Vec::new();
    };
    let text = |name: &str| {
        claims
            .get(name)
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty())
    };
    let who = ["upn", "unique_name", "preferred_username", "email"]
        .iter()
        .find_map(|name| text(name))
        .map(|user| Text::ui(ui::HEALTH_CREDENTIAL_USER).arg("name", user))
        .or_else(|| {
            ["appid", "azp"]
                .iter()
                .find_map(|name| text(name))
                .map(|app| Text::ui(ui::HEALTH_CREDENTIAL_APP).arg("id", app))
        })
        .or_else(|| text("oid").map(|oid| Text::ui(ui::HEALTH_CREDENTIAL_OBJECT).arg("id", oid)));
    let mut notes = Vec::new();
    if let Some(who) = who {
        let tenant = token.tenant.as_deref().or(text("tid")).unwrap_or("-");
        notes.push(
            Text::ui(ui::HEALTH_CREDENTIAL_SIGNED_IN)
                .arg_text("who", who)
                .arg("tenant", tenant),
        );
    }
    if let Some(expires) = claims.get("exp").and_then(Value::as_u64) {
        let date = http::utc_date(expires);
        notes.push(if expires <= now {
            Text::ui(ui::HEALTH_CREDENTIAL_EXPIRED).arg("date", date)
        } else if expires - now < SOON {
            Text::ui(ui::HEALTH_CREDENTIAL_EXPIRES_SOON)
                .arg("minutes", (expires - now).div_ceil(60))
                .arg("date", date)
        } else {
            Text::ui(ui::HEALTH_CREDENTIAL_VALID_UNTIL).arg("date", date)
        });
    }
    notes
}

/// A token that expires sooner than this is about to expire (seconds).
pub const SOON: u64 = 10 * 60;

/// A string claim from a JWT's payload, read without verifying it (we only need the tenant).
pub fn claim(token: &str, name: &str) -> Option<String> {
    payload(token)?.get(name)?.as_str().map(str::to_owned)
}

/// The payload of a JWT, decoded but not verified.
pub fn payload(token: &str) -> Option<Value> {
    let part = token.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(part.trim_end_matches('='))
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// `az account get-access-token`, when az is installed; `None` when it is not.
async fn azure_cli(
    resource: &str,
    context: &Context,
    records: &mut Vec<CommandRecord>,
) -> Option<Result<EntraToken, Text>> {
    let az = process::resolve("az", context).ok()?;
    let args = [
        "account",
        "get-access-token",
        "--resource",
        resource,
        "--output",
        "json",
    ];
    // The token is in stdout: keep it out of the debug record.
    let mut own_records = Vec::new();
    let result = process::run(&az, "az", &args, context, &mut own_records).await;
    records.extend(own_records.into_iter().map(|mut r| {
        r.stdout = String::new();
        r
    }));
    Some(match result {
        Ok(done) if done.success() => {
            let json: Value = match serde_json::from_str(&done.stdout) {
                Ok(json) => json,
                Err(_) => return Some(Err(Text::ui(ui::HEALTH_CREDENTIAL_AZ_NO_TOKEN))),
            };
            match json.get("accessToken").and_then(Value::as_str) {
                Some(token) => Ok(entra(
                    token,
                    Source::AzureCli,
                    json.get("tenant")
                        .and_then(Value::as_str)
                        .map(str::to_owned),
                )),
                None => Err(Text::ui(ui::HEALTH_CREDENTIAL_AZ_NO_TOKEN)),
            }
        }
        Ok(done) => Err(refused(
            done.stderr
                .lines()
                .find(|l| !l.trim().is_empty())
                .unwrap_or_default()
                .trim(),
        )),
        Err(error) => Err(error.describe()),
    })
}

/// Records a request to an identity endpoint for `--debug`: method, URL without its query, and
/// the status (never a header, a form or a body: they carry the secrets).
fn record(
    records: &mut Vec<CommandRecord>,
    method: &Method,
    url: &Url,
    started: Instant,
    result: Option<&Result<Response, RequestError>>,
) {
    let answer = result.and_then(|r| r.as_ref().ok()).map(Response::answer);
    records.push(http::request_record(method, url, answer, started));
}

async fn token_endpoint(
    transport: &Transport,
    authority: &str,
    tenant: &str,
    form: &[(&str, &str)],
    source: Source,
    records: &mut Vec<CommandRecord>,
) -> Result<EntraToken, Text> {
    let url = format!("{authority}/{tenant}/oauth2/v2.0/token");
    let url = Url::parse(&url).map_err(|_| invalid_url(&url))?;
    let started = Instant::now();
    let result = transport
        .send(Method::POST, &url, None, &[], Some(form))
        .await;
    record(records, &Method::POST, &url, started, Some(&result));
    let response = result.map_err(|e| describe(&e))?;
    read_token(&response.json(), response.status.as_u16(), source)
}

async fn managed_identity(
    resource: &str,
    context: &Context,
    transport: &Transport,
    records: &mut Vec<CommandRecord>,
) -> Result<EntraToken, Text> {
    let (url, header) = match (
        context.var("IDENTITY_ENDPOINT"),
        context.var("IDENTITY_HEADER"),
    ) {
        (Some(endpoint), Some(secret)) => {
            let url = Url::parse_with_params(
                endpoint,
                [("resource", resource), ("api-version", "2019-08-01")],
            )
            .map_err(|_| invalid_url(endpoint))?;
            (url, ("X-IDENTITY-HEADER", secret))
        }
        _ => {
            let base = context
                .var("IMDS_ENDPOINT")
                .unwrap_or(DEFAULT_IMDS)
                .trim_end_matches('/');
            let url = format!("{base}/metadata/identity/oauth2/token");
            let url = Url::parse_with_params(
                &url,
                [("api-version", "2018-02-01"), ("resource", resource)],
            )
            .map_err(|_| invalid_url(&url))?;
            (url, ("Metadata", "true"))
        }
    };
    // IMDS answers within milliseconds where it exists; elsewhere do not wait the full timeout.
    let probe = transport.timeout.min(Duration::from_secs(2));
    let started = Instant::now();
    let result = tokio::time::timeout(
        probe,
        transport.send(Method::GET, &url, None, &[header], None),
    )
    .await;
    record(records, &Method::GET, &url, started, result.as_ref().ok());
    let response = result
        .map_err(|_| {
            Text::ui(ui::HEALTH_REQUEST_TIMED_OUT_AT)
                .arg("url", url.origin().ascii_serialization())
                .arg("seconds", probe.as_secs().max(1))
        })?
        .map_err(|e| describe(&e))?;
    read_token(
        &response.json(),
        response.status.as_u16(),
        Source::ManagedIdentity,
    )
}

/// At most this much of an endpoint's `error` and of its `error_description` goes into the report
/// (Entra's first lines are a sentence or two; the answer itself may be a megabyte).
pub const REASON_CHARS: usize = 500;

/// A token endpoint's answer (Entra, managed identity): the token, or why there is none.
pub fn read_token(json: &Option<Value>, status: u16, source: Source) -> Result<EntraToken, Text> {
    let json = json
        .as_ref()
        .ok_or_else(|| Text::ui(ui::HEALTH_REQUEST_NOT_JSON).arg("status", status))?;
    match json.get("access_token").and_then(Value::as_str) {
        Some(token) if status == 200 => Ok(entra(token, source, None)),
        _ => {
            let error = ["error", "error_description"]
                .iter()
                .filter_map(|k| json.get(*k).and_then(Value::as_str))
                .map(|s| {
                    let line: String = s
                        .lines()
                        .next()
                        .unwrap_or_default()
                        .chars()
                        .take(REASON_CHARS)
                        .collect();
                    crate::net::http::printable(&line)
                })
                .collect::<Vec<_>>()
                .join(": ");
            Err(Text::ui(ui::HEALTH_REQUEST_STATUS)
                .arg("status", status)
                .arg("reason", error))
        }
    }
}

/// An endpoint from the environment that is not a URL (the parser's own words are English).
fn invalid_url(url: &str) -> Text {
    describe(&RequestError::InvalidUrl {
        url: http::shown(url),
    })
}

/// A secret-free description of a failed request, for the report.
pub fn describe(error: &RequestError) -> Text {
    match error {
        RequestError::Timeout { seconds } => {
            Text::ui(ui::HEALTH_REQUEST_TIMED_OUT).arg("seconds", seconds)
        }
        RequestError::Dns(reason) => crate::net::dns::failure_text(reason),
        RequestError::Tls { kind, detail } => match kind {
            TlsKind::UnknownIssuer => {
                Text::ui(ui::HEALTH_REQUEST_TLS_UNKNOWN_ISSUER).arg("reason", detail)
            }
            TlsKind::Expired {
                not_after: Some(not_after),
            } => {
                Text::ui(ui::HEALTH_REQUEST_TLS_EXPIRED_ON).arg("date", http::utc_date(*not_after))
            }
            TlsKind::Expired { not_after: None } => {
                Text::ui(ui::HEALTH_REQUEST_TLS_EXPIRED).arg("reason", detail)
            }
            TlsKind::NotYetValid { not_before } => Text::ui(ui::HEALTH_REQUEST_TLS_NOT_YET_VALID)
                .arg("date", http::utc_date(*not_before)),
            TlsKind::WrongName {
                expected: Some(expected),
                presented,
            } if !presented.is_empty() => Text::ui(ui::HEALTH_REQUEST_TLS_NAMES)
                .arg("expected", expected)
                .arg("names", presented.join(", ")),
            TlsKind::WrongName { .. } => {
                Text::ui(ui::HEALTH_REQUEST_TLS_WRONG_NAME).arg("reason", detail)
            }
            TlsKind::CaCertificate => Text::ui(ui::HEALTH_REQUEST_TLS_CA_CERTIFICATE),
            TlsKind::PlainHttp => Text::ui(ui::HEALTH_REQUEST_TLS_PLAIN_HTTP),
            TlsKind::Other => Text::ui(ui::HEALTH_REQUEST_TLS).arg("reason", detail),
        },
        RequestError::Refused => Text::ui(ui::HEALTH_REQUEST_REFUSED),
        RequestError::Reset => Text::ui(ui::HEALTH_REQUEST_RESET),
        RequestError::Proxy { proxy, reason } => Text::ui(ui::HEALTH_REQUEST_PROXY)
            .arg("proxy", proxy)
            .arg("reason", reason),
        RequestError::Unreachable => Text::ui(ui::HEALTH_REQUEST_UNREACHABLE),
        RequestError::Incomplete => Text::ui(ui::HEALTH_REQUEST_INCOMPLETE),
        RequestError::Protocol(protocol) => match protocol {
            Protocol::Version => Text::ui(ui::HEALTH_REQUEST_NOT_HTTP_VERSION),
            Protocol::Status => Text::ui(ui::HEALTH_REQUEST_NOT_HTTP_STATUS),
            Protocol::Header => Text::ui(ui::HEALTH_REQUEST_BAD_HEADER),
            Protocol::HeadTooLarge => Text::ui(ui::HEALTH_REQUEST_HEAD_TOO_LARGE),
            Protocol::Chunked => Text::ui(ui::HEALTH_REQUEST_BAD_CHUNKED),
            Protocol::Http2(code) => Text::ui(ui::HEALTH_REQUEST_HTTP2).arg("code", code),
            Protocol::Other => Text::ui(ui::HEALTH_REQUEST_NOT_HTTP),
        },
        RequestError::Body(reason) => Text::ui(ui::HEALTH_REQUEST_BODY).arg("reason", reason),
        RequestError::InvalidUrl { url } => {
            Text::ui(ui::HEALTH_REQUEST_INVALID_URL).arg("url", url)
        }
        RequestError::InvalidHeader => Text::ui(ui::HEALTH_REQUEST_INVALID_HEADER),
        RequestError::BodyTooLarge => Text::ui(ui::HEALTH_REQUEST_TOO_LARGE),
        RequestError::Other(reason) => Text::ui(ui::HEALTH_REQUEST_OTHER).arg("reason", reason),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transport_failures_are_told_in_the_users_language() {
        // Before: hyper's and url's English sentences went into the Dutch report as they were.
        let nl = crate::vocabulary::knowledge::language("nl").unwrap();
        let text = |e: RequestError| crate::report::localize(nl, &describe(&e), "");
        assert_eq!(
            text(RequestError::Incomplete),
            "De verbinding werd gesloten voordat er een volledig antwoord was."
        );
        assert_eq!(
            text(RequestError::Protocol(Protocol::Http2(
                "COMPRESSION_ERROR".into()
            ))),
            "De HTTP/2-verbinding is mislukt met foutcode COMPRESSION_ERROR."
        );
        assert_eq!(
            text(RequestError::Protocol(Protocol::Version)),
            "Het antwoord is geen HTTP: de eerste regel heeft geen geldige HTTP-versie, dus daar luistert mogelijk iets anders dan een webserver."
        );
        assert_eq!(
            crate::report::localize(
                nl,
                &invalid_url("https://u:geheim@login .example/t?x=1"),
                ""
            ),
            "https://login .example/t kan niet worden opgevraagd: het is geen geldige http- of https-URL."
        );
    }

    #[test]
    fn the_tenant_is_read_from_the_token() {
        let payload =
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(r#"{"tid":"t-1","aud":"x"}"#);
        let token = format!("eyJhbGciOiJub25lIn0.{payload}.sig");
        assert_eq!(claim(&token, "tid").as_deref(), Some("t-1"));
        assert_eq!(claim("not-a-jwt", "tid"), None);
        assert_eq!(claim("a.!!!.c", "tid"), None);
    }

    #[test]
    fn an_endpoint_error_is_one_printable_line() {
        // Before: `error_description` went to the report with its escape sequences and NULs.
        let json = serde_json::json!({
            "error": "invalid_client\u{1b}[2J",
            "error_description": "AADSTS7000215: bad\u{0}secret\r\nTrace ID: 1",
        });
        let why = read_token(&Some(json), 401, Source::ServicePrincipal)
            .err()
            .unwrap();
        assert_eq!(
            why.plain("reason"),
            Some("invalid_client\u{fffd}[2J: AADSTS7000215: bad\u{fffd}secret")
        );
    }

    #[test]
    fn an_endpoint_error_is_bounded() {
        // Found by fuzzing (token_json): a DEL (allowed raw in JSON) became three bytes of U+FFFD,
        // and a megabyte-long first line went into the report whole.
        let json = serde_json::json!({
            "error": "invalid_request",
            "error_description": "\u{7f}".repeat(1 << 20),
        });
        let why = read_token(&Some(json), 400, Source::ManagedIdentity)
            .err()
            .unwrap();
        let reason = why.plain("reason").unwrap();
        assert_eq!(
            reason.chars().count(),
            "invalid_request: ".len() + REASON_CHARS
        );
        assert!(reason.ends_with('\u{fffd}'));
    }

    #[test]
    fn the_sign_in_is_told_from_the_tokens_claims() {
        let jwt = |claims: serde_json::Value| {
            let part = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(claims.to_string());
            format!("e30.{part}.sig")
        };
        let en = crate::vocabulary::knowledge::language("en").unwrap();
        let told = |claims: serde_json::Value, now: u64| -> Vec<String> {
            let token = entra(&jwt(claims), Source::AzureCli, None);
            signed_in(&token, now)
                .iter()
                .map(|text| crate::report::localize(en, text, ""))
                .collect()
        };
        assert_eq!(
            told(
                serde_json::json!({"upn": "alice@contoso.com", "tid": "t-1", "exp": 1_800_000_000}),
                1_700_000_000
            ),
            [
                "Signed in as alice@contoso.com in tenant t-1.",
                "The token is valid until 2027-01-15 08:00 UTC.",
            ]
        );
        assert_eq!(
            told(
                serde_json::json!({"appid": "app-1", "tid": "t-1", "exp": 1_700_000_300}),
                1_700_000_000
            ),
            [
                "Signed in as the app app-1 in tenant t-1.",
                "The token expires in 5 min (2023-11-14 22:18 UTC); a run after that needs a new one.",
            ]
        );
        let expired = told(
            serde_json::json!({"oid": "o-1", "exp": 1_600_000_000}),
            1_700_000_000,
        );
        assert_eq!(expired[0], "Signed in as the object o-1 in tenant -.");
        assert!(
            expired[1].starts_with("The token expired on 2020-09-13 12:26 UTC"),
            "{expired:?}"
        );
        assert!(told(serde_json::json!({}), 0).is_empty());
    }
}
