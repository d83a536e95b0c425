//! One token service for the registry chain, the data probe and the daemonless pull: ACR's
//! exchange of an Entra token for a refresh token, and an access token for a scope (ACR's
//! `/oauth2/token`, or the Docker token specification's `GET <realm>?service=&scope=`). Every
//! request is recorded (`Transport::send_recorded`); what a refusal means is the caller's to say.

use crate::net::http::{Method, RequestError, Response, StatusCode, Transport, Url};
use crate::oci::token::token_in_answer;
use crate::vocabulary::CommandRecord;

/// How to get an `Authorization` for a scope, once the connectivity checks got into the registry.
pub enum Authorizer {
    /// ACR: the refresh token from the Entra exchange, at `<realm origin>/oauth2/token`.
    Entra {
        token_url: Url,
        service: String,
        refresh: String,
    },
    /// The Docker token spec, with the credentials the access-token check used (if any).
    Standard {
        realm: Url,
        service: String,
        authorization: Option<String>,
    },
    /// The same Basic credentials for everything.
    Basic(String),
    Open,
}

/// Why the token service gave no token.
pub enum TokenError {
    Request(RequestError),
    /// It answered, but not with 200: its answer, for its status, its own error and
    /// `Retry-After`.
    Refused(Box<Response>),
    /// A 200 without the token: the field that was missing.
    NoToken(&'static str),
}

impl Authorizer {
    /// An access token for `scope` (ACR's and the token spec's flows); `None` for a registry that
    /// needs none or takes the same Basic credentials for every scope.
    pub async fn access_token(
        &self,
        transport: &Transport,
        records: &mut Vec<CommandRecord>,
        scope: &str,
    ) -> Result<Option<String>, TokenError> {
        match self {
            Authorizer::Open | Authorizer::Basic(_) => Ok(None),
            Authorizer::Entra {
                token_url,
                service,
                refresh,
            } => {
                let form = [
                    ("grant_type", "refresh_token"),
                    ("service", service.as_str()),
                    ("scope", scope),
                    ("refresh_token", refresh.as_str()),
                ];
                let answer =
                    transport.send_recorded(records, Method::POST, token_url, None, Some(&form));
                token(answer.await, "access_token").map(Some)
            }
            Authorizer::Standard {
                realm,
                service,
                authorization,
            } => {
                let mut url = realm.clone();
                url.query_pairs_mut()
                    .append_pair("service", service)
                    .append_pair("scope", scope);
                let answer = transport.send_recorded(
                    records,
                    Method::GET,
                    &url,
                    authorization.as_deref(),
                    None,
                );
                token(answer.await, "token").map(Some)
            }
        }
    }

    /// The `Authorization` header for `scope`.
    pub async fn authorization(
        &self,
        transport: &Transport,
        records: &mut Vec<CommandRecord>,
        scope: &str,
    ) -> Result<Option<String>, TokenError> {
        if let Authorizer::Basic(header) = self {
            return Ok(Some(header.clone()));
        }
        let token = self.access_token(transport, records, scope).await?;
        Ok(token.map(|token| format!("Bearer {token}")))
    }
}

/// ACR: the Entra token exchanged at `<realm origin>/oauth2/exchange` for a refresh token.
pub async fn exchange(
    transport: &Transport,
    records: &mut Vec<CommandRecord>,
    realm: &Url,
    service: &str,
    tenant: Option<&str>,
    entra_token: &str,
) -> Result<String, TokenError> {
    let mut form = vec![("grant_type", "access_token"), ("service", service)];
    if let Some(tenant) = tenant {
        form.push(("tenant", tenant));
    }
    form.push(("access_token", entra_token));
    let url = endpoint(realm, "/oauth2/exchange");
    let answer = transport
        .send_recorded(records, Method::POST, &url, None, Some(&form))
        .await;
    token(answer, "refresh_token")
}

/// `<scheme>://<host>[:port]<path>`: ACR's token endpoints are on the realm's origin.
pub fn endpoint(realm: &Url, path: &str) -> Url {
    let mut url = realm.clone();
    url.set_path(path);
    url.set_query(None);
    url
}

fn token(
    answer: Result<Response, RequestError>,
    field: &'static str,
) -> Result<String, TokenError> {
    let response = answer.map_err(TokenError::Request)?;
    if response.status != StatusCode::OK {
        return Err(TokenError::Refused(Box::new(response)));
    }
    response
        .json()
        .as_ref()
        .and_then(|json| token_in_answer(json, field))
        .map(str::to_owned)
        .ok_or(TokenError::NoToken(field))
}
