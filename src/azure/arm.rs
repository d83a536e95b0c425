//! Azure Resource Manager, for what only it knows: the registry's real login server, the
//! identity behind its encryption key, its private endpoints. Every failure is a value the report
//! shows with ARM's own code and message; none of them ends the run.

use std::sync::Mutex;
use std::time::Instant;

use serde_json::Value;

use crate::azure::config;
use crate::azure::credential;
use crate::azure::resource::{
    NetworkInterface, PrivateEndpoint, Registry, Replication, UserIdentity, typed,
};
use crate::net::http::{self, Method, RequestError, Response, Transport, Url};
use crate::vocabulary::ui;
use crate::vocabulary::{CommandRecord, Text};

/// API versions: resources list as az uses it; registries, network and identities at GA versions
/// whose shape the checks read.
const RESOURCES_API: &str = "2024-11-01";
const REGISTRY_API: &str = "2023-07-01";
const NETWORK_API: &str = "2022-01-01";
const IDENTITY_API: &str = "2023-01-31";
/// The most pages of the resource list that are read (ARM pages it, linked by `nextLink`).
const MAX_PAGES: usize = 100;
/// The most characters of ARM's error code or message that are shown.
pub const MAX_MESSAGE: usize = 4000;

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
    /// A path that is not a resource ID on this Resource Manager (refused, never sent).
    NotAResourceId {
        path: String,
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
            } if code.is_empty() && message.is_empty() => {
                Text::ui(ui::HEALTH_ARM_STATUS_BARE).arg("status", status)
            }
            ArmError::Status {
                status,
                code,
                message,
            } => Text::ui(ui::HEALTH_ARM_STATUS)
                .arg("status", status)
                .arg("code", code)
                .arg("message", message),
            ArmError::NotJson { status } => {
                Text::ui(ui::HEALTH_REQUEST_NOT_JSON).arg("status", status)
            }
            ArmError::NotAResourceId { path } => {
                Text::ui(ui::HEALTH_ARM_NOT_A_RESOURCE_ID).arg("path", http::printable(path))
            }
        }
    }
}

/// The subscription to search: `--subscription` (a name or an id), else az's default
/// (`azureProfile.json`, among the subscriptions of the active cloud, as az keeps one default per
/// cloud), else `AZURE_SUBSCRIPTION_ID`.
pub fn subscription(
    flag: Option<&str>,
    cloud: &str,
    env: impl Fn(&str) -> Option<String>,
) -> Option<String> {
    let profile: Vec<(String, String, bool)> = config::config_dir(&env)
        .and_then(|dir| std::fs::read(dir.join("azureProfile.json")).ok())
        .and_then(|bytes| {
            // az writes this file with a byte-order mark.
            let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(&bytes);
            serde_json::from_slice::<Value>(bytes).ok()
        })
        .and_then(|json| json.get("subscriptions")?.as_array().cloned())
        .unwrap_or_default()
        .iter()
        .filter(|s| {
            s.get("environmentName")
                .and_then(Value::as_str)
                .is_none_or(|e| e.eq_ignore_ascii_case(cloud))
        })
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
    /// The requests made, for `--debug` (method, URL without its query, status).
    records: Mutex<Vec<CommandRecord>>,
}

impl<'a> Arm<'a> {
    pub fn new(transport: &'a Transport, base: &str, token: &str, subscription: &str) -> Arm<'a> {
        Arm {
            transport,
            base: base.trim_end_matches('/').to_owned(),
            authorization: format!("Bearer {token}"),
            subscription: subscription.to_owned(),
            records: Mutex::new(Vec::new()),
        }
    }

    /// The requests made since the last call, for `--debug`.
    pub fn take_records(&self) -> Vec<CommandRecord> {
        std::mem::take(&mut *self.records.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// `GET <endpoint><path>` with `api-version` added to its query, as JSON. `path` is a
    /// resource ID (from ARM's own answers); one that would lead the token off this Resource
    /// Manager's origin (`@host/…`, `//host/…`) is refused, not sent.
    pub async fn get(&self, path: &str, api_version: &str) -> Result<Value, ArmError> {
        let separator = if path.contains('?') { '&' } else { '?' };
        let not_an_id = || ArmError::NotAResourceId {
            path: path.to_owned(),
        };
        if !path.starts_with('/') || path.starts_with("//") {
            return Err(not_an_id());
        }
        let url = format!("{}{path}{separator}api-version={api_version}", self.base);
        let url = Url::parse(&url).map_err(|_| {
            ArmError::Request(RequestError::InvalidUrl {
                url: http::shown(&url),
            })
        })?;
        if !self.is_ours(&url) {
            return Err(not_an_id());
        }
        self.fetch(&url).await
    }

    /// Whether `url` is on this Resource Manager's origin: the token goes nowhere else.
    fn is_ours(&self, url: &Url) -> bool {
        Url::parse(&self.base).is_ok_and(|base| base.origin() == url.origin())
    }

    /// `GET url` with the token, as JSON; recorded for `--debug` without its query.
    async fn fetch(&self, url: &Url) -> Result<Value, ArmError> {
        let started = Instant::now();
        let result = self
            .transport
            .send(Method::GET, url, Some(&self.authorization), &[], None)
            .await;
        let answer = result.as_ref().ok().map(Response::answer);
        self.records
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(http::request_record(&Method::GET, url, answer, started));
        let response = result.map_err(ArmError::Request)?;
        read_answer(response.status.as_u16(), &response.body)
    }

    /// The registry named `name` (any case) in the subscription, in full; `None` when there is
    /// no such registry. The list comes in pages; each `nextLink` on this Resource Manager's
    /// origin is followed until the registry turns up.
    pub async fn find_registry(&self, name: &str) -> Result<Option<Registry>, ArmError> {
        let filter = "resourceType eq 'Microsoft.ContainerRegistry/registries'";
        let mut path = format!("/subscriptions/{}/resources", self.subscription);
        path.push_str("?$filter=");
        path.push_str(&filter.replace(' ', "%20").replace('\'', "%27"));
        let mut page = self.get(&path, RESOURCES_API).await?;
        let mut id = None;
        for _ in 0..MAX_PAGES {
            let (found, next) = read_page(&page, name);
            id = found;
            let next = next
                .and_then(|link| Url::parse(link).ok())
                .filter(|link| self.is_ours(link));
            match next {
                Some(next) if id.is_none() => page = self.fetch(&next).await?,
                _ => break,
            }
        }
        match id {
            Some(id) => self.get(&id, REGISTRY_API).await.map(|r| Some(typed(r))),
            None => Ok(None),
        }
    }

    /// The registry `name` in resource group `group`; `None` when Resource Manager does not
    /// know it there.
    pub async fn registry_in(&self, group: &str, name: &str) -> Result<Option<Registry>, ArmError> {
        let id = format!(
            "/subscriptions/{}/resourceGroups/{group}/providers/Microsoft.ContainerRegistry/registries/{name}",
            self.subscription
        );
        match self.get(&id, REGISTRY_API).await {
            Ok(registry) => Ok(Some(typed(registry))),
            Err(ArmError::Status { status: 404, .. }) => Ok(None),
            Err(error) => Err(error),
        }
    }

    /// The replicas of the registry `registry_id` (its first page: a registry has few).
    pub async fn replications(&self, registry_id: &str) -> Result<Vec<Replication>, ArmError> {
        let list = self
            .get(&format!("{registry_id}/replications"), REGISTRY_API)
            .await?;
        Ok(list
            .get("value")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|replication| typed(replication.clone()))
            .collect())
    }

    pub async fn user_identity(&self, resource_id: &str) -> Result<UserIdentity, ArmError> {
        self.get(resource_id, IDENTITY_API).await.map(typed)
    }

    pub async fn private_endpoint(&self, resource_id: &str) -> Result<PrivateEndpoint, ArmError> {
        self.get(resource_id, NETWORK_API).await.map(typed)
    }

    pub async fn network_interface(&self, resource_id: &str) -> Result<NetworkInterface, ArmError> {
        self.get(resource_id, NETWORK_API).await.map(typed)
    }
}

/// A Resource Manager answer: the JSON of a 200, or the error it is. An error's `code` and
/// `message` (`{"error":{"code","message"}}`) are kept as ARM wrote them, printable and bounded.
pub fn read_answer(status: u16, body: &[u8]) -> Result<Value, ArmError> {
    let json = serde_json::from_slice::<Value>(body).ok();
    if status != 200 {
        let Some(json) = json else {
            return Err(ArmError::NotJson { status });
        };
        let error = json.get("error");
        // ARM's messages name the action and the whole scope; they run to several hundred
        // characters and must not lose their end. Only a runaway one is cut, visibly.
        let field = |name: &str| {
            let text = error
                .and_then(|e| e.get(name))
                .and_then(Value::as_str)
                .unwrap_or_default();
            // Another service's words reach the terminal: no control characters.
            let text = http::printable(text);
            match text.char_indices().nth(MAX_MESSAGE) {
                Some((at, _)) => format!("{}…", &text[..at]),
                None => text,
            }
        };
        return Err(ArmError::Status {
            status,
            code: field("code"),
            message: field("message"),
        });
    }
    json.ok_or(ArmError::NotJson { status })
}

/// One page of a resource list: the ID of the resource named `name` (any case) on it, and the
/// `nextLink` to the next page, unchecked (the caller keeps the token on its own origin).
pub fn read_page<'a>(page: &'a Value, name: &str) -> (Option<String>, Option<&'a str>) {
    let id = page
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
    let next = page.get("nextLink").and_then(Value::as_str);
    (id, next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_is_its_json_or_arms_own_error() {
        assert_eq!(
            read_answer(200, br#"{"value":[]}"#),
            Ok(serde_json::json!({"value": []}))
        );
        assert_eq!(
            read_answer(200, b"<html>"),
            Err(ArmError::NotJson { status: 200 })
        );
        assert_eq!(
            read_answer(502, b"<html>"),
            Err(ArmError::NotJson { status: 502 })
        );
        let denied = br#"{"error":{"code":"AuthorizationFailed","message":"The client 'a' does not have authorization."}}"#;
        assert_eq!(
            read_answer(403, denied),
            Err(ArmError::Status {
                status: 403,
                code: "AuthorizationFailed".into(),
                message: "The client 'a' does not have authorization.".into(),
            })
        );
        // A 201 is not the 200 the reads expect: its body is not taken for the resource.
        assert!(matches!(
            read_answer(201, b"{}"),
            Err(ArmError::Status { status: 201, .. })
        ));
    }

    #[test]
    fn arms_words_are_printable_and_a_runaway_message_is_cut_visibly() {
        let body = serde_json::json!({"error": {
            "code": "Bad\u{1b}[2J",
            "message": "x".repeat(MAX_MESSAGE + 10),
        }});
        let Err(ArmError::Status { code, message, .. }) =
            read_answer(400, body.to_string().as_bytes())
        else {
            panic!("not a status error")
        };
        assert_eq!(code, "Bad\u{fffd}[2J");
        assert_eq!(message.chars().count(), MAX_MESSAGE + 1);
        assert!(message.ends_with("x…"));
    }

    #[test]
    fn a_page_gives_the_registry_in_any_case_and_the_next_link() {
        let page = serde_json::json!({
            "value": [
                {"name": "other", "id": "/subscriptions/s/other"},
                {"name": "MyReg", "id": "/subscriptions/s/myreg"},
            ],
            "nextLink": "https://management.azure.com/next",
        });
        assert_eq!(
            read_page(&page, "myreg"),
            (
                Some("/subscriptions/s/myreg".to_owned()),
                Some("https://management.azure.com/next")
            )
        );
        assert_eq!(
            read_page(&page, "absent"),
            (None, Some("https://management.azure.com/next"))
        );
        assert_eq!(read_page(&serde_json::json!([1]), "myreg"), (None, None));
    }

    #[test]
    fn a_path_that_is_not_a_resource_id_has_its_own_text() {
        // Before: an English sentence made in Rust, the same in every language.
        let text = ArmError::NotAResourceId {
            path: "@evil.example/x\u{1b}[2J".into(),
        }
        .describe();
        assert_eq!(text.key, ui::HEALTH_ARM_NOT_A_RESOURCE_ID);
        assert_eq!(text.plain("path"), Some("@evil.example/x\u{fffd}[2J"));
    }

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
            subscription(None, "AzureCloud", env(None)).as_deref(),
            Some("22222222-2222-2222-2222-222222222222")
        );
        assert_eq!(
            subscription(Some("dev"), "AzureCloud", env(None)).as_deref(),
            Some("11111111-1111-1111-1111-111111111111")
        );
        assert_eq!(
            subscription(Some("other-id"), "AzureCloud", env(None)).as_deref(),
            Some("other-id")
        );
        let empty = |n: &str| (n == "AZURE_SUBSCRIPTION_ID").then(|| "33".to_owned());
        assert_eq!(
            subscription(None, "AzureCloud", empty).as_deref(),
            Some("33")
        );
    }

    #[test]
    fn the_default_subscription_is_the_one_of_the_active_cloud() {
        let dir = tempfile::tempdir().unwrap();
        let profile = r#"{"subscriptions":[
            {"id":"pub","name":"Public","isDefault":true,"environmentName":"AzureCloud"},
            {"id":"cn","name":"China","isDefault":true,"environmentName":"AzureChinaCloud"}]}"#;
        std::fs::write(dir.path().join("azureProfile.json"), profile).unwrap();
        let path = dir.path().display().to_string();
        let env = move |n: &str| (n == "AZURE_CONFIG_DIR").then(|| path.clone());
        assert_eq!(
            subscription(None, "AzureChinaCloud", &env).as_deref(),
            Some("cn")
        );
        assert_eq!(
            subscription(None, "AzureCloud", &env).as_deref(),
            Some("pub")
        );
    }
}
