//! Azure Resource Manager, for what only it knows: the registry's real login server, the
//! identity behind its encryption key, its private endpoints. Every failure is a value the report
//! shows with ARM's own code and message; none of them ends the run.

use reqwest::{Method, StatusCode, Url};
use serde_json::Value;

use crate::azconfig;
use crate::checks::Text;
use crate::registry::credential;
use crate::registry::http::{RequestError, Transport};

/// API versions: resources list as az uses it; registries, network and identities at GA versions
/// whose shape the checks read.
const RESOURCES_API: &str = "2024-11-01";
const REGISTRY_API: &str = "2023-07-01";
const NETWORK_API: &str = "2022-01-01";
const IDENTITY_API: &str = "2023-01-31";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArmError {
    Request(RequestError),
    /// ARM answered with an error: its status, code and message.
    Status {
        status: u16,
        code: String,
        message: String,
    },
    NotJson {
        status: u16,
    },
}

impl ArmError {
    /// The finding's detail, in the user's language (ARM's code and message stay as ARM wrote them).
    pub fn describe(&self) -> Text {
        match self {
            ArmError::Request(error) => credential::describe(error),
            ArmError::Status {
                status,
                code,
                message,
            } => Text::ui("health.arm.status")
                .arg("status", status)
                .arg("code", code)
                .arg("message", message),
            ArmError::NotJson { status } => {
                Text::ui("health.request.not_json").arg("status", status)
            }
        }
    }
}

/// The subscription to search: `--subscription` (a name or an id), else az's default
/// (`azureProfile.json`), else `AZURE_SUBSCRIPTION_ID`.
pub fn subscription(flag: Option<&str>, env: impl Fn(&str) -> Option<String>) -> Option<String> {
    let profile: Vec<(String, String, bool)> = azconfig::config_dir(&env)
        .and_then(|dir| std::fs::read(dir.join("azureProfile.json")).ok())
        .and_then(|bytes| {
            // az writes this file with a byte-order mark.
            let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(&bytes);
            serde_json::from_slice::<Value>(bytes).ok()
        })
        .and_then(|json| json.get("subscriptions")?.as_array().cloned())
        .unwrap_or_default()
        .iter()
        .filter_map(|s| {
            Some((
                s.get("id")?.as_str()?.to_owned(),
                s.get("name")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                s.get("isDefault").and_then(Value::as_bool).unwrap_or(false),
            ))
        })
        .collect();
    if let Some(wanted) = flag {
        return Some(
            profile
                .iter()
                .find(|(id, name, _)| {
                    id.eq_ignore_ascii_case(wanted) || name.eq_ignore_ascii_case(wanted)
                })
                .map_or_else(|| wanted.to_owned(), |(id, _, _)| id.clone()),
        );
    }
    profile
        .iter()
        .find(|(_, _, default)| *default)
        .map(|(id, _, _)| id.clone())
        .or_else(|| env("AZURE_SUBSCRIPTION_ID").filter(|s| !s.is_empty()))
}

/// A signed-in connection to one cloud's Resource Manager.
pub struct Arm<'a> {
    transport: &'a Transport,
    base: String,
    authorization: String,
    pub subscription: String,
}

impl<'a> Arm<'a> {
    pub fn new(transport: &'a Transport, base: &str, token: &str, subscription: &str) -> Arm<'a> {
        Arm {
            transport,
            base: base.trim_end_matches('/').to_owned(),
            authorization: format!("Bearer {token}"),
            subscription: subscription.to_owned(),
        }
    }

    /// `GET <endpoint><path>` with `api-version` added to its query, as JSON.
    pub async fn get(&self, path: &str, api_version: &str) -> Result<Value, ArmError> {
        let separator = if path.contains('?') { '&' } else { '?' };
        let url = Url::parse(&format!(
            "{}{path}{separator}api-version={api_version}",
            self.base
        ))
        .map_err(|e| ArmError::Request(RequestError::Other(e.to_string())))?;
        let response = self
            .transport
            .send(Method::GET, &url, Some(&self.authorization), &[], None)
            .await
            .map_err(ArmError::Request)?;
        let json = response.json();
        if response.status != StatusCode::OK {
            let error = json.as_ref().and_then(|j| j.get("error"));
            let field = |name: &str| {
                error
                    .and_then(|e| e.get(name))
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .chars()
                    .take(400)
                    .collect::<String>()
            };
            return Err(ArmError::Status {
                status: response.status.as_u16(),
                code: field("code"),
                message: field("message"),
            });
        }
        json.ok_or(ArmError::NotJson {
            status: response.status.as_u16(),
        })
    }

    /// The registry named `name` (any case) in the subscription, in full; `None` when there is
    /// no such registry.
    pub async fn find_registry(&self, name: &str) -> Result<Option<Value>, ArmError> {
        let filter = "resourceType eq 'Microsoft.ContainerRegistry/registries'";
        let mut path = format!("/subscriptions/{}/resources", self.subscription);
        path.push_str("?$filter=");
        path.push_str(&filter.replace(' ', "%20").replace('\'', "%27"));
        let list = self.get(&path, RESOURCES_API).await?;
        let id = list
            .get("value")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find(|r| {
                r.get("name")
                    .and_then(Value::as_str)
                    .is_some_and(|n| n.eq_ignore_ascii_case(name))
            })
            .and_then(|r| r.get("id")?.as_str().map(str::to_owned));
        match id {
            Some(id) => self.get(&id, REGISTRY_API).await.map(Some),
            None => Ok(None),
        }
    }

    pub async fn user_identity(&self, resource_id: &str) -> Result<Value, ArmError> {
        self.get(resource_id, IDENTITY_API).await
    }

    pub async fn network(&self, resource_id: &str) -> Result<Value, ArmError> {
        self.get(resource_id, NETWORK_API).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_subscription_comes_from_the_flag_the_profile_then_the_environment() {
        let dir = tempfile::tempdir().unwrap();
        let profile = "\u{feff}{\"subscriptions\":[{\"id\":\"11111111-1111-1111-1111-111111111111\",\"name\":\"Dev\",\"isDefault\":false},{\"id\":\"22222222-2222-2222-2222-222222222222\",\"name\":\"Prod\",\"isDefault\":true}]}";
        std::fs::write(dir.path().join("azureProfile.json"), profile).unwrap();
        let path = dir.path().display().to_string();
        let env = |extra: Option<&'static str>| {
            let path = path.clone();
            move |n: &str| match n {
                "AZURE_CONFIG_DIR" => Some(path.clone()),
                "AZURE_SUBSCRIPTION_ID" => extra.map(str::to_owned),
                _ => None,
            }
        };
        assert_eq!(
            subscription(None, env(None)).as_deref(),
            Some("22222222-2222-2222-2222-222222222222")
        );
        assert_eq!(
            subscription(Some("dev"), env(None)).as_deref(),
            Some("11111111-1111-1111-1111-111111111111")
        );
        assert_eq!(
            subscription(Some("other-id"), env(None)).as_deref(),
            Some("other-id")
        );
        let empty = |n: &str| (n == "AZURE_SUBSCRIPTION_ID").then(|| "33".to_owned());
        assert_eq!(subscription(None, empty).as_deref(), Some("33"));
    }
}
