//! A fake Azure Resource Manager: the subscription's resource list, container registries, user-
//! assigned identities, private endpoints and network interfaces, in the shapes of the API
//! versions `acr-health` asks for, with ARM's own error documents. And [`VnetGateway`], a CONNECT
//! proxy that stands for a virtual network: a private endpoint's address is reached through it,
//! so no test ever sends a packet past loopback.
//!
//! Like real ARM, paths are matched without regard to case, every request needs
//! `Authorization: Bearer <token>`, and a wrong or missing `api-version` is a `400`. Knobs:
//! [`FakeArm::fail`] (401, 403 `AuthorizationFailed`, 404, 429, any ARM error, a non-JSON page,
//! a hang) per path, [`FakeArm::page_size`] (the resource list in pages with `nextLink`).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::HeaderValue;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::http::{
    BodySpec, Outcome, RecordedRequest, Responder, Serve, Server, build_response, json_response,
    recording_methods,
};
use super::identity::OBJECT_ID;
use super::pki::TestCa;

/// The subscription the fake serves.
pub const SUBSCRIPTION: &str = "5d1e7a00-0000-4000-8000-0000000a2b1c";
/// The API versions the fake accepts, per kind of resource (those `acr-health` asks for).
pub const RESOURCES_API: &str = "2024-11-01";
pub const REGISTRY_API: &str = "2023-07-01";
pub const IDENTITY_API: &str = "2023-01-31";
pub const NETWORK_API: &str = "2022-01-01";

pub const REGISTRY_TYPE: &str = "Microsoft.ContainerRegistry/registries";
pub const IDENTITY_TYPE: &str = "Microsoft.ManagedIdentity/userAssignedIdentities";
pub const ENDPOINT_TYPE: &str = "Microsoft.Network/privateEndpoints";
pub const NIC_TYPE: &str = "Microsoft.Network/networkInterfaces";

/// `/subscriptions/<SUBSCRIPTION>/resourceGroups/<group>/providers/<kind>/<name>`.
pub fn resource_id(group: &str, kind: &str, name: &str) -> String {
    format!("/subscriptions/{SUBSCRIPTION}/resourceGroups/{group}/providers/{kind}/{name}")
}

/// A virtual network's ID.
pub fn vnet_id(group: &str, vnet: &str) -> String {
    resource_id(group, "Microsoft.Network/virtualNetworks", vnet)
}

/// A subnet's ID.
pub fn subnet_id(group: &str, vnet: &str, subnet: &str) -> String {
    format!("{}/subnets/{subnet}", vnet_id(group, vnet))
}

/// The path of the subscription's resource list.
pub fn resources_path() -> String {
    format!("/subscriptions/{SUBSCRIPTION}/resources")
}

/// What a path answers instead of its resource.
#[derive(Clone, Debug)]
pub enum ArmFailure {
    /// `401 InvalidAuthenticationToken`.
    Unauthorized,
    /// `403 AuthorizationFailed`, naming the read action and the scope, as ARM does.
    Forbidden,
    /// `404 ResourceNotFound`.
    NotFound,
    /// `429 SubscriptionRequestsThrottled` with `Retry-After`.
    Throttled { retry_after: u64 },
    /// Any status with an ARM error document.
    Error {
        status: u16,
        code: String,
        message: String,
    },
    /// A status with an HTML page (a gateway in the way), not JSON.
    Html(u16),
    /// Read the request, never answer.
    Hang,
}

/// A container registry as ARM describes it (API 2023-07-01).
#[derive(Clone, Debug)]
pub struct ArmRegistry {
    pub group: String,
    pub name: String,
    pub login_server: String,
    pub location: String,
    /// `properties.encryption`: status and `keyVaultProperties.identity` (a client ID or
    /// `system`).
    encryption: Option<(String, String)>,
    /// The system-assigned identity: `None` = none; `Some(None)` = declared without a principal.
    system: Option<Option<String>>,
    /// `(resource id, client id, principal id)`.
    user: Vec<(String, String, String)>,
    endpoints: Vec<String>,
    /// `networkRuleSet.ipRules[].value`, each with `action: Allow`.
    ip_rules: Vec<String>,
    /// `publicNetworkAccess`; by default `Disabled` exactly when it has private endpoints.
    public_access: Option<bool>,
    data_endpoints: bool,
    /// Regions it is replicated to besides its own, each with a data endpoint.
    replicas: Vec<String>,
}

impl ArmRegistry {
    /// A Premium registry `name` in `group`, login server `<name>.azurecr.io`, in West Europe.
    pub fn new(group: &str, name: &str) -> ArmRegistry {
        ArmRegistry {
            group: group.to_owned(),
            name: name.to_owned(),
            login_server: format!("{}.azurecr.io", name.to_ascii_lowercase()),
            location: "westeurope".to_owned(),
            encryption: None,
            system: None,
            user: Vec::new(),
            endpoints: Vec::new(),
            ip_rules: Vec::new(),
            public_access: None,
            data_endpoints: false,
            replicas: Vec::new(),
        }
    }

    /// IP rules that allow these addresses or ranges.
    pub fn ip_rules(mut self, rules: &[&str]) -> Self {
        self.ip_rules = rules.iter().map(|r| r.to_string()).collect();
        self
    }

    /// `dataEndpointEnabled` (off by default: every data endpoint a run sees must be served).
    pub fn data_endpoints(mut self, enabled: bool) -> Self {
        self.data_endpoints = enabled;
        self
    }

    /// Replicated to `region` too (its data endpoint, when those are on).
    pub fn replica(mut self, region: &str) -> Self {
        self.replicas.push(region.to_owned());
        self
    }

    /// `dataEndpointHostNames`: one per region.
    pub fn data_endpoint_hosts(&self) -> Vec<String> {
        std::iter::once(&self.location)
            .chain(&self.replicas)
            .map(|region| {
                format!(
                    "{}.{region}.data.azurecr.io",
                    self.name.to_ascii_lowercase()
                )
            })
            .collect()
    }

    /// `publicNetworkAccess`: `Enabled` or `Disabled`.
    pub fn public_access(mut self, enabled: bool) -> Self {
        self.public_access = Some(enabled);
        self
    }

    pub fn id(&self) -> String {
        resource_id(&self.group, REGISTRY_TYPE, &self.name)
    }

    /// `properties.loginServer` (e.g. with a domain-name-label hash).
    pub fn login_server(mut self, login_server: &str) -> Self {
        self.login_server = login_server.to_owned();
        self
    }

    /// Encrypted with a customer-managed key through `identity` (a client ID, or `system`).
    pub fn cmk(mut self, identity: &str) -> Self {
        self.encryption = Some(("enabled".to_owned(), identity.to_owned()));
        self
    }

    /// `encryption.status: disabled` (the default of a registry without CMK).
    pub fn without_cmk(mut self) -> Self {
        self.encryption = None;
        self
    }

    /// A system-assigned identity with this principal ID (`None`: declared, no principal).
    pub fn system_identity(mut self, principal: Option<&str>) -> Self {
        self.system = Some(principal.map(str::to_owned));
        self
    }

    /// A user-assigned identity attached to the registry.
    pub fn user_identity(mut self, resource_id: &str, client_id: &str) -> Self {
        let principal = format!("9a1c0000-0000-4000-8000-{:012x}", self.user.len() + 1);
        self.user
            .push((resource_id.to_owned(), client_id.to_owned(), principal));
        self
    }

    /// A private endpoint connection to this private endpoint.
    pub fn private_endpoint(mut self, endpoint_id: &str) -> Self {
        self.endpoints.push(endpoint_id.to_owned());
        self
    }

    /// The resource, as `GET <id>?api-version=2023-07-01` answers it.
    pub fn resource(&self) -> Value {
        let id = self.id();
        let encryption = match &self.encryption {
            Some((status, identity)) => json!({
                "status": status,
                "keyVaultProperties": {
                    "keyIdentifier": "https://kv-acr-keys.vault.azure.net/keys/acr-key",
                    "versionedKeyIdentifier": "https://kv-acr-keys.vault.azure.net/keys/acr-key/0a1b2c3d4e5f",
                    "identity": identity,
                    "keyRotationEnabled": true,
                    "lastKeyRotationTimestamp": "2026-01-12T08:15:00Z",
                }
            }),
            None => json!({"status": "disabled"}),
        };
        let mut body = json!({
            "sku": {"name": "Premium", "tier": "Premium"},
            "type": REGISTRY_TYPE,
            "id": id,
            "name": self.name,
            "location": self.location,
            "tags": {},
            "systemData": {"createdBy": "dev@contoso.com", "createdAt": "2025-03-01T10:00:00Z"},
            "properties": {
                "loginServer": self.login_server,
                "creationDate": "2025-03-01T10:00:00Z",
                "provisioningState": "Succeeded",
                "adminUserEnabled": false,
                "networkRuleSet": {
                    "defaultAction": "Deny",
                    "ipRules": self.ip_rules.iter().map(|value| json!({"action": "Allow", "value": value})).collect::<Vec<_>>(),
                },
                "policies": {},
                "encryption": encryption,
                "dataEndpointEnabled": self.data_endpoints,
                "dataEndpointHostNames": if self.data_endpoints {
                    self.data_endpoint_hosts()
                } else {
                    Vec::new()
                },
                "privateEndpointConnections": self.endpoints.iter().enumerate().map(|(i, pe)| {
                    json!({
                        "id": format!("{id}/privateEndpointConnections/pec-{i}"),
                        "name": format!("pec-{i}"),
                        "type": "Microsoft.ContainerRegistry/registries/privateEndpointConnections",
                        "properties": {
                            "privateEndpoint": {"id": pe},
                            "privateLinkServiceConnectionState": {
                                "status": "Approved",
                                "description": "Auto-Approved",
                                "actionsRequired": "None"
                            },
                            "provisioningState": "Succeeded"
                        }
                    })
                }).collect::<Vec<_>>(),
                "publicNetworkAccess": if self.public_access.unwrap_or(self.endpoints.is_empty()) { "Enabled" } else { "Disabled" },
                "networkRuleBypassOptions": "AzureServices",
                "zoneRedundancy": "Disabled",
                "anonymousPullEnabled": false
            }
        });
        let mut kinds = Vec::new();
        let mut identity = serde_json::Map::new();
        if let Some(principal) = &self.system {
            kinds.push("SystemAssigned");
            if let Some(principal) = principal {
                identity.insert("principalId".into(), json!(principal));
            }
            identity.insert(
                "tenantId".into(),
                json!("72f988bf-0000-4000-8000-00000000c0de"),
            );
        }
        if !self.user.is_empty() {
            kinds.push("UserAssigned");
            let users: serde_json::Map<String, Value> = self
                .user
                .iter()
                .map(|(id, client, principal)| {
                    (
                        id.clone(),
                        json!({"clientId": client, "principalId": principal}),
                    )
                })
                .collect();
            identity.insert("userAssignedIdentities".into(), Value::Object(users));
        }
        if !kinds.is_empty() {
            identity.insert("type".into(), json!(kinds.join(", ")));
            body["identity"] = Value::Object(identity);
        }
        body
    }
}

/// A stored resource.
#[derive(Clone)]
struct Stored {
    id: String,
    kind: String,
    name: String,
    location: String,
    api_version: &'static str,
    body: Value,
}

#[derive(Default)]
struct State {
    /// The bearer token ARM accepts (`None`: any non-empty one).
    token: Mutex<Option<String>>,
    resources: Mutex<Vec<Stored>>,
    /// Failures by lower-case path.
    failures: Mutex<Vec<(String, ArmFailure)>>,
    page_size: Mutex<Option<usize>>,
    /// The origin of `nextLink` (default: the one the request came to).
    next_link_origin: Mutex<Option<String>>,
}

/// A fake ARM on `https://localhost:<port>`; see the module's documentation.
pub struct FakeArm {
    state: Arc<State>,
    server: Server,
}

impl FakeArm {
    /// HTTPS on `127.0.0.1:<ephemeral>` with a leaf from `ca` for localhost.
    pub fn start(ca: &TestCa) -> FakeArm {
        let state = Arc::new(State::default());
        let server = Server::start(Serve::tls(ca), state.clone());
        FakeArm { state, server }
    }

    /// `endpoint_resource_manager` of the custom cloud: `https://localhost:<port>/`.
    pub fn endpoint(&self) -> String {
        format!("{}/", self.base_url())
    }

    /// Accepts only `Bearer <token>` (default: any non-empty bearer token).
    pub fn accept_token(&self, token: &str) -> &Self {
        *self.state.token.lock().unwrap() = Some(token.to_owned());
        self
    }

    /// Stores a resource of any kind; `GET <id>?api-version=<api_version>` answers `body`.
    pub fn add_resource(&self, id: &str, kind: &str, api_version: &'static str, body: Value) {
        let name = id.rsplit('/').next().unwrap_or_default().to_owned();
        let location = body["location"].as_str().unwrap_or("westeurope").to_owned();
        let mut resources = self.state.resources.lock().unwrap();
        resources.retain(|r| !r.id.eq_ignore_ascii_case(id));
        resources.push(Stored {
            id: id.to_owned(),
            kind: kind.to_owned(),
            name,
            location,
            api_version,
            body,
        });
    }

    /// Deletes a resource (its ID then answers `404 ResourceNotFound`).
    pub fn remove(&self, id: &str) {
        self.state
            .resources
            .lock()
            .unwrap()
            .retain(|r| !r.id.eq_ignore_ascii_case(id));
    }

    /// Stores a registry; gives its ID.
    pub fn add_registry(&self, registry: &ArmRegistry) -> String {
        let id = registry.id();
        self.add_resource(&id, REGISTRY_TYPE, REGISTRY_API, registry.resource());
        id
    }

    /// Stores a user-assigned identity with this client ID; gives its ID.
    pub fn add_identity(&self, group: &str, name: &str, client_id: &str) -> String {
        let id = resource_id(group, IDENTITY_TYPE, name);
        let body = json!({
            "location": "westeurope",
            "tags": {},
            "id": id,
            "name": name,
            "type": IDENTITY_TYPE,
            "properties": {
                "tenantId": "72f988bf-0000-4000-8000-00000000c0de",
                "principalId": "51f00000-0000-4000-8000-0000000000aa",
                "clientId": client_id,
                "isolationScope": "None"
            }
        });
        self.add_resource(&id, IDENTITY_TYPE, IDENTITY_API, body);
        id
    }

    /// Stores a private endpoint in `subnet` with these network interfaces; gives its ID.
    pub fn add_private_endpoint(
        &self,
        group: &str,
        name: &str,
        subnet: &str,
        interfaces: &[&str],
    ) -> String {
        let id = resource_id(group, ENDPOINT_TYPE, name);
        let body = json!({
            "name": name,
            "id": id,
            "etag": "W/\"00000000-0000-0000-0000-000000000001\"",
            "type": ENDPOINT_TYPE,
            "location": "westeurope",
            "properties": {
                "provisioningState": "Succeeded",
                "resourceGuid": "7e3d0000-0000-4000-8000-000000000001",
                "privateLinkServiceConnections": [{
                    "name": name,
                    "properties": {"groupIds": ["registry"], "privateLinkServiceConnectionState": {"status": "Approved"}}
                }],
                "manualPrivateLinkServiceConnections": [],
                "subnet": {"id": subnet},
                "networkInterfaces": interfaces.iter().map(|nic| json!({"id": nic})).collect::<Vec<_>>(),
                "customDnsConfigs": []
            }
        });
        self.add_resource(&id, ENDPOINT_TYPE, NETWORK_API, body);
        id
    }

    /// Stores a private endpoint's network interface: one IP configuration per
    /// `(private IP, FQDNs)`; gives its ID.
    pub fn add_nic(&self, group: &str, name: &str, configurations: &[(&str, &[&str])]) -> String {
        let id = resource_id(group, NIC_TYPE, name);
        let configurations: Vec<Value> = configurations
            .iter()
            .enumerate()
            .map(|(i, (ip, fqdns))| {
                let member = if i == 0 {
                    "registry".to_owned()
                } else {
                    format!("registry_data_{i}")
                };
                json!({
                    "name": format!("privateEndpointIpConfig.{i}"),
                    "id": format!("{id}/ipConfigurations/privateEndpointIpConfig.{i}"),
                    "type": "Microsoft.Network/networkInterfaces/ipConfigurations",
                    "properties": {
                        "provisioningState": "Succeeded",
                        "privateIPAddress": ip,
                        "privateIPAllocationMethod": "Dynamic",
                        "primary": i == 0,
                        "privateIPAddressVersion": "IPv4",
                        "privateLinkConnectionProperties": {
                            "groupId": "registry",
                            "requiredMemberName": member,
                            "fqdns": fqdns
                        }
                    }
                })
            })
            .collect();
        let body = json!({
            "name": name,
            "id": id,
            "type": NIC_TYPE,
            "location": "westeurope",
            "kind": "Regular",
            "properties": {
                "provisioningState": "Succeeded",
                "ipConfigurations": configurations,
                "enableAcceleratedNetworking": false,
                "nicType": "Standard"
            }
        });
        self.add_resource(&id, NIC_TYPE, NETWORK_API, body);
        id
    }

    /// `path` (any case; the resource list is [`resources_path`]) answers `failure` from now on.
    pub fn fail(&self, path: &str, failure: ArmFailure) -> &Self {
        let path = path.to_ascii_lowercase();
        let mut failures = self.state.failures.lock().unwrap();
        failures.retain(|(p, _)| *p != path);
        failures.push((path, failure));
        self
    }

    /// The resource list comes in pages of `size`, linked by `nextLink`.
    pub fn page_size(&self, size: usize) -> &Self {
        *self.state.page_size.lock().unwrap() = Some(size);
        self
    }

    /// `nextLink` points to `origin` (`https://host:port`) instead of this server: a link a
    /// client must not follow with its token.
    pub fn next_link_origin(&self, origin: &str) -> &Self {
        *self.state.next_link_origin.lock().unwrap() =
            Some(origin.trim_end_matches('/').to_owned());
        self
    }

    /// Each request as `GET <path> api-version=<v>`, in order.
    pub fn summary(&self) -> Vec<String> {
        self.requests()
            .iter()
            .map(|r| {
                format!(
                    "{} {} api-version={}",
                    r.method,
                    r.path,
                    r.query_param("api-version").unwrap_or_default()
                )
            })
            .collect()
    }

    recording_methods!();
}

fn arm_error(status: u16, code: &str, message: &str) -> axum::response::Response {
    let mut response = json_response(
        status,
        &json!({"error": {"code": code, "message": message}}),
    );
    response.headers_mut().insert(
        "x-ms-request-id",
        HeaderValue::from_static("0d3c0000-0000-4000-8000-00000000beef"),
    );
    response
}

/// The `<provider>/<type>/read` action a path reads, for `AuthorizationFailed`.
fn read_action(path: &str) -> String {
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    match parts
        .iter()
        .position(|p| p.eq_ignore_ascii_case("providers"))
    {
        Some(at) if parts.len() >= at + 3 => format!("{}/{}/read", parts[at + 1], parts[at + 2]),
        _ => "Microsoft.Resources/subscriptions/resources/read".to_owned(),
    }
}

impl State {
    fn failure(&self, request: &RecordedRequest, failure: &ArmFailure) -> Outcome {
        let response = match failure {
            ArmFailure::Unauthorized => arm_error(
                401,
                "InvalidAuthenticationToken",
                "The access token is invalid.",
            ),
            ArmFailure::Forbidden => arm_error(
                403,
                "AuthorizationFailed",
                &format!(
                    "The client 'dev@contoso.com' with object id '{OBJECT_ID}' does not have authorization to perform action '{}' over scope '{}' or the scope is invalid. If access was recently granted, please refresh your credentials.",
                    read_action(&request.path),
                    request.path
                ),
            ),
            ArmFailure::NotFound => not_found(&request.path),
            ArmFailure::Throttled { retry_after } => {
                let mut response = arm_error(
                    429,
                    "SubscriptionRequestsThrottled",
                    &format!(
                        "Number of 'read' requests for subscription '{SUBSCRIPTION}' actor '{OBJECT_ID}' exceeded. Please try again after '{retry_after}' seconds after additional '{retry_after}' requests. Please see https://aka.ms/arm-throttling for more information."
                    ),
                );
                response
                    .headers_mut()
                    .insert("retry-after", HeaderValue::from(*retry_after));
                response
            }
            ArmFailure::Error {
                status,
                code,
                message,
            } => arm_error(*status, code, message),
            ArmFailure::Html(status) => build_response(
                *status,
                &[("content-type".into(), "text/html".into())],
                &BodySpec::Bytes(b"<html><body><h1>502 Bad Gateway</h1></body></html>".to_vec()),
            ),
            ArmFailure::Hang => return Outcome::Never,
        };
        Outcome::Now(response)
    }

    fn list(&self, request: &RecordedRequest) -> axum::response::Response {
        let kind = match request.query_param("$filter") {
            None => None,
            Some(filter) => {
                let filter = filter.trim();
                let inner = filter
                    .get(..17)
                    .filter(|p| p.eq_ignore_ascii_case("resourceType eq '"))
                    .and_then(|_| filter[17..].strip_suffix('\''));
                match inner {
                    Some(kind) => Some(kind.to_owned()),
                    None => {
                        return arm_error(
                            400,
                            "InvalidFilterInQueryString",
                            &format!("Invalid $filter '{filter}' specified in the query string."),
                        );
                    }
                }
            }
        };
        let all: Vec<Value> = self
            .resources
            .lock()
            .unwrap()
            .iter()
            .filter(|r| kind.as_ref().is_none_or(|k| r.kind.eq_ignore_ascii_case(k)))
            .map(|r| {
                json!({
                    "id": r.id,
                    "name": r.name,
                    "type": r.kind,
                    "location": r.location,
                    "tags": {}
                })
            })
            .collect();
        let skip: usize = request
            .query_param("$skiptoken")
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let page_size = self.page_size.lock().unwrap().unwrap_or(usize::MAX);
        let page: Vec<Value> = all.iter().skip(skip).take(page_size).cloned().collect();
        let mut body = json!({ "value": page });
        if skip.saturating_add(page_size) < all.len() {
            let mut next = form_urlencoded::Serializer::new(String::new());
            for (k, v) in request.query_pairs() {
                if k != "$skiptoken" {
                    next.append_pair(&k, &v);
                }
            }
            next.append_pair("$skiptoken", &(skip + page_size).to_string());
            let origin = self
                .next_link_origin
                .lock()
                .unwrap()
                .clone()
                .unwrap_or_else(|| {
                    format!("https://{}", request.authority.clone().unwrap_or_default())
                });
            body["nextLink"] = json!(format!("{origin}{}?{}", request.path, next.finish()));
        }
        json_response(200, &body)
    }
}

fn not_found(path: &str) -> axum::response::Response {
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let group = parts.get(3).copied().unwrap_or_default();
    let what = match parts
        .iter()
        .position(|p| p.eq_ignore_ascii_case("providers"))
    {
        Some(at) => parts[at + 1..].join("/"),
        None => path.to_owned(),
    };
    arm_error(
        404,
        "ResourceNotFound",
        &format!(
            "The Resource '{what}' under resource group '{group}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix"
        ),
    )
}

impl Responder for State {
    fn respond(&self, request: &RecordedRequest) -> Outcome {
        let path = request.path.to_ascii_lowercase();
        // Authentication comes first, as in ARM.
        let expected = self.token.lock().unwrap().clone();
        match request.authorization() {
            None => {
                return Outcome::Now(arm_error(
                    401,
                    "AuthenticationFailed",
                    "Authentication failed. The 'Authorization' header is missing.",
                ));
            }
            Some(value) => {
                let token = value.strip_prefix("Bearer ").unwrap_or_default();
                let good = match &expected {
                    Some(expected) => token == expected,
                    None => !token.is_empty(),
                };
                if !good {
                    return Outcome::Now(arm_error(
                        401,
                        "InvalidAuthenticationToken",
                        "The access token is invalid.",
                    ));
                }
            }
        }
        let failure = self
            .failures
            .lock()
            .unwrap()
            .iter()
            .find(|(p, _)| *p == path)
            .map(|(_, f)| f.clone());
        if let Some(failure) = failure {
            return self.failure(request, &failure);
        }
        if request.method != "GET" {
            return Outcome::Now(arm_error(
                405,
                "MethodNotAllowed",
                "The requested resource does not support this method.",
            ));
        }
        let Some(api_version) = request.query_param("api-version") else {
            return Outcome::Now(arm_error(
                400,
                "MissingApiVersionParameter",
                "The api-version query parameter (?api-version=) is required for all requests.",
            ));
        };
        let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
        if let ["subscriptions", subscription, "resources"] = segments.as_slice() {
            if !subscription.eq_ignore_ascii_case(SUBSCRIPTION) {
                return Outcome::Now(arm_error(
                    404,
                    "SubscriptionNotFound",
                    &format!("The subscription '{subscription}' could not be found."),
                ));
            }
            if api_version != RESOURCES_API {
                return Outcome::Now(arm_error(
                    400,
                    "InvalidApiVersionParameter",
                    &format!(
                        "The api-version '{api_version}' is invalid. The supported versions are '{RESOURCES_API}'."
                    ),
                ));
            }
            return Outcome::Now(self.list(request));
        }
        let stored = self
            .resources
            .lock()
            .unwrap()
            .iter()
            .find(|r| r.id.eq_ignore_ascii_case(&request.path))
            .cloned();
        let Some(stored) = stored else {
            return Outcome::Now(not_found(&request.path));
        };
        if api_version != stored.api_version {
            return Outcome::Now(arm_error(
                400,
                "NoRegisteredProviderFound",
                &format!(
                    "No registered resource provider found for location '{}' and API version '{api_version}' for type '{}'. The supported api-versions are '{}'.",
                    stored.location,
                    stored.kind.rsplit('/').next().unwrap_or_default(),
                    stored.api_version
                ),
            ));
        }
        Outcome::Now(json_response(200, &stored.body))
    }
}

// ---------------------------------------------------------------------------------------------
// The virtual network, as a CONNECT proxy

/// An HTTP CONNECT proxy on loopback that stands for a virtual network: `host:port` goes to the
/// loopback address routed for it; anything else is refused (`403`). Point `HTTPS_PROXY` at
/// [`VnetGateway::url`] (with `NO_PROXY=localhost` for the fake ARM) and a login server pinned
/// to a private endpoint's address is reached without a packet leaving loopback.
pub struct VnetGateway {
    addr: SocketAddr,
    routes: Arc<Mutex<HashMap<String, SocketAddr>>>,
    connects: Arc<Mutex<Vec<String>>>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl VnetGateway {
    pub fn start() -> VnetGateway {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind gateway");
        listener.set_nonblocking(true).expect("nonblocking");
        let addr = listener.local_addr().expect("gateway addr");
        let routes: Arc<Mutex<HashMap<String, SocketAddr>>> = Arc::default();
        let connects: Arc<Mutex<Vec<String>>> = Arc::default();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("vnet-gateway")
            .enable_all()
            .build()
            .expect("gateway runtime");
        let (r, c) = (routes.clone(), connects.clone());
        runtime.spawn(async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                };
                tokio::spawn(tunnel(stream, r.clone(), c.clone()));
            }
        });
        VnetGateway {
            addr,
            routes,
            connects,
            runtime: Some(runtime),
        }
    }

    /// `CONNECT host:port` is tunnelled to `to`.
    pub fn route(&self, host_port: &str, to: SocketAddr) -> &Self {
        self.routes
            .lock()
            .unwrap()
            .insert(host_port.to_ascii_lowercase(), to);
        self
    }

    /// `http://127.0.0.1:<port>`, for `HTTPS_PROXY`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The `CONNECT` targets asked for, in order.
    pub fn connects(&self) -> Vec<String> {
        self.connects.lock().unwrap().clone()
    }
}

impl Drop for VnetGateway {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

async fn tunnel(
    mut client: tokio::net::TcpStream,
    routes: Arc<Mutex<HashMap<String, SocketAddr>>>,
    connects: Arc<Mutex<Vec<String>>>,
) {
    let mut head = Vec::new();
    let mut buffer = [0u8; 1024];
    let end = loop {
        match client.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buffer[..n]),
        }
        if let Some(at) = head.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        if head.len() > 16 * 1024 {
            return;
        }
    };
    let text = String::from_utf8_lossy(&head[..end]).into_owned();
    let mut first = text.lines().next().unwrap_or_default().split(' ');
    let (method, target) = (
        first.next().unwrap_or_default(),
        first.next().unwrap_or_default(),
    );
    let target = target.to_ascii_lowercase();
    connects.lock().unwrap().push(target.clone());
    let to = routes.lock().unwrap().get(&target).copied();
    let (Some(to), "CONNECT") = (to, method) else {
        let _ = client
            .write_all(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
            .await;
        return;
    };
    let Ok(mut upstream) = tokio::net::TcpStream::connect(to).await else {
        let _ = client
            .write_all(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
            .await;
        return;
    };
    if client
        .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
        .await
        .is_err()
    {
        return;
    }
    if end < head.len() && upstream.write_all(&head[end..]).await.is_err() {
        return;
    }
    let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
}
