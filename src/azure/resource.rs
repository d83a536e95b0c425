//! The fields of Resource Manager's answers that the checks read, typed. Every field is optional
//! and read leniently: a field that is missing, null or of another type reads as absent (as ARM's
//! older API versions and other clouds leave some out), never as an error of the whole answer.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::Deserialize;
use serde::de::{DeserializeOwned, Deserializer};
use serde_json::Value;

/// `value` as `T`; a value of another shape reads as `T::default()`.
pub fn typed<T: DeserializeOwned + Default>(value: Value) -> T {
    serde_json::from_value(value).unwrap_or_default()
}

fn lenient<'de, D: Deserializer<'de>, T: DeserializeOwned + Default>(d: D) -> Result<T, D::Error> {
    Ok(typed(Value::deserialize(d)?))
}

/// A list whose entries are read one by one: an entry of another shape does not spoil the rest.
fn lenient_list<'de, D: Deserializer<'de>, T: DeserializeOwned + Default>(
    d: D,
) -> Result<Vec<T>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Array(entries) => entries.into_iter().map(typed).collect(),
        _ => Vec::new(),
    })
}

/// An object whose members are read one by one, as [`lenient_list`].
fn lenient_map<'de, D: Deserializer<'de>, T: DeserializeOwned + Default>(
    d: D,
) -> Result<BTreeMap<String, T>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Object(members) => members.into_iter().map(|(k, v)| (k, typed(v))).collect(),
        _ => BTreeMap::new(),
    })
}

/// A non-empty string.
fn some(text: &Option<String>) -> Option<&str> {
    text.as_deref().filter(|s| !s.is_empty())
}

/// `{"id": "..."}`, a reference to another resource.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Reference {
    #[serde(deserialize_with = "lenient")]
    id: Option<String>,
}

impl Reference {
    pub fn id(&self) -> Option<&str> {
        some(&self.id)
    }
}

/// A container registry (`Microsoft.ContainerRegistry/registries`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Registry {
    #[serde(deserialize_with = "lenient")]
    id: Option<String>,
    #[serde(deserialize_with = "lenient")]
    location: Option<String>,
    #[serde(deserialize_with = "lenient")]
    identity: RegistryIdentity,
    #[serde(deserialize_with = "lenient")]
    properties: RegistryProperties,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct RegistryIdentity {
    #[serde(deserialize_with = "lenient")]
    principal_id: Option<String>,
    /// By resource ID.
    #[serde(deserialize_with = "lenient_map")]
    user_assigned_identities: BTreeMap<String, AssignedIdentity>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct AssignedIdentity {
    #[serde(deserialize_with = "lenient")]
    client_id: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct RegistryProperties {
    #[serde(deserialize_with = "lenient")]
    login_server: Option<String>,
    #[serde(deserialize_with = "lenient")]
    encryption: Encryption,
    #[serde(deserialize_with = "lenient_list")]
    private_endpoint_connections: Vec<Connection>,
    #[serde(deserialize_with = "lenient")]
    public_network_access: Option<String>,
    #[serde(deserialize_with = "lenient")]
    data_endpoint_enabled: Option<bool>,
    #[serde(deserialize_with = "lenient_list")]
    data_endpoint_host_names: Vec<Option<String>>,
    #[serde(deserialize_with = "lenient")]
    network_rule_set: NetworkRuleSet,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct NetworkRuleSet {
    #[serde(deserialize_with = "lenient")]
    default_action: Option<String>,
    #[serde(deserialize_with = "lenient_list")]
    ip_rules: Vec<IpRule>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
struct IpRule {
    #[serde(deserialize_with = "lenient")]
    value: Option<String>,
    #[serde(deserialize_with = "lenient")]
    action: Option<String>,
}

/// Who the registry's firewall lets in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkAccess<'a> {
    /// `publicNetworkAccess` is `Disabled`: only private endpoints reach it.
    pub public_disabled: bool,
    /// `networkRuleSet.defaultAction` (`Allow`, `Deny`).
    pub default_action: Option<&'a str>,
    /// The addresses and ranges the IP rules allow.
    pub allowed: Vec<&'a str>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct Encryption {
    #[serde(deserialize_with = "lenient")]
    status: Option<String>,
    #[serde(deserialize_with = "lenient")]
    key_vault_properties: KeyVaultProperties,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
struct KeyVaultProperties {
    #[serde(deserialize_with = "lenient")]
    identity: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
struct Connection {
    #[serde(deserialize_with = "lenient")]
    properties: ConnectionProperties,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct ConnectionProperties {
    #[serde(deserialize_with = "lenient")]
    private_endpoint: Reference,
}

impl Registry {
    pub fn id(&self) -> Option<&str> {
        some(&self.id)
    }

    /// The login server, lower-cased, without a trailing slash.
    pub fn login_server(&self) -> Option<String> {
        some(&self.properties.login_server).map(|l| l.trim_end_matches('/').to_ascii_lowercase())
    }

    /// The identity (client ID, or `system`) that reads the customer-managed key, when
    /// encryption is enabled.
    pub fn encryption_identity(&self) -> Option<&str> {
        let encryption = &self.properties.encryption;
        some(&encryption.status)
            .is_some_and(|s| s.eq_ignore_ascii_case("enabled"))
            .then(|| some(&encryption.key_vault_properties.identity))
            .flatten()
    }

    /// The principal of the system-assigned identity.
    pub fn system_principal(&self) -> Option<&str> {
        some(&self.identity.principal_id)
    }

    /// The resource ID of the attached user-assigned identity with this client ID.
    pub fn user_identity_with_client_id(&self, client_id: &str) -> Option<&str> {
        self.identity
            .user_assigned_identities
            .iter()
            .find(|(_, identity)| {
                some(&identity.client_id).is_some_and(|c| c.eq_ignore_ascii_case(client_id))
            })
            .map(|(id, _)| id.as_str())
    }

    /// The region it lives in (`westeurope`).
    pub fn location(&self) -> Option<&str> {
        some(&self.location)
    }

    /// Its dedicated data endpoints (`<name>.<region>.data.azurecr.io`), when they are on.
    pub fn data_endpoints(&self) -> Option<Vec<&str>> {
        let properties = &self.properties;
        properties.data_endpoint_enabled.unwrap_or(false).then(|| {
            properties
                .data_endpoint_host_names
                .iter()
                .filter_map(some)
                .collect()
        })
    }

    /// Its public network access and IP rules.
    pub fn network_access(&self) -> NetworkAccess<'_> {
        let properties = &self.properties;
        NetworkAccess {
            public_disabled: some(&properties.public_network_access)
                .is_some_and(|a| a.eq_ignore_ascii_case("disabled")),
            default_action: some(&properties.network_rule_set.default_action),
            allowed: properties
                .network_rule_set
                .ip_rules
                .iter()
                .filter(|rule| some(&rule.action).is_none_or(|a| a.eq_ignore_ascii_case("allow")))
                .filter_map(|rule| some(&rule.value))
                .collect(),
        }
    }

    /// The resource IDs of its private endpoints.
    pub fn private_endpoints(&self) -> Vec<&str> {
        self.properties
            .private_endpoint_connections
            .iter()
            .filter_map(|c| c.properties.private_endpoint.id())
            .collect()
    }
}

/// A replica of a registry in another region.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Replication {
    #[serde(deserialize_with = "lenient")]
    location: Option<String>,
}

impl Replication {
    pub fn location(&self) -> Option<&str> {
        some(&self.location)
    }
}

/// A user-assigned managed identity.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct UserIdentity {
    #[serde(deserialize_with = "lenient")]
    properties: AssignedIdentity,
}

impl UserIdentity {
    pub fn client_id(&self) -> Option<&str> {
        some(&self.properties.client_id)
    }
}

/// A private endpoint.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct PrivateEndpoint {
    #[serde(deserialize_with = "lenient")]
    name: Option<String>,
    #[serde(deserialize_with = "lenient")]
    properties: EndpointProperties,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct EndpointProperties {
    #[serde(deserialize_with = "lenient")]
    subnet: Reference,
    #[serde(deserialize_with = "lenient_list")]
    network_interfaces: Vec<Reference>,
}

impl PrivateEndpoint {
    pub fn name(&self) -> Option<&str> {
        some(&self.name)
    }

    pub fn subnet(&self) -> Option<&str> {
        self.properties.subnet.id()
    }

    pub fn network_interfaces(&self) -> Vec<&str> {
        self.properties
            .network_interfaces
            .iter()
            .filter_map(Reference::id)
            .collect()
    }
}

/// A network interface of a private endpoint.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct NetworkInterface {
    #[serde(deserialize_with = "lenient")]
    properties: InterfaceProperties,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct InterfaceProperties {
    #[serde(deserialize_with = "lenient_list")]
    ip_configurations: Vec<IpConfiguration>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
struct IpConfiguration {
    #[serde(deserialize_with = "lenient")]
    properties: IpConfigurationProperties,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
struct IpConfigurationProperties {
    #[serde(rename = "privateIPAddress", deserialize_with = "lenient")]
    private_ip_address: Option<String>,
    #[serde(deserialize_with = "lenient")]
    private_link_connection_properties: LinkProperties,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
struct LinkProperties {
    #[serde(deserialize_with = "lenient")]
    fqdns: Vec<Value>,
}

impl NetworkInterface {
    /// Each private address with the names it serves.
    pub fn routes(&self) -> Vec<(IpAddr, Vec<&str>)> {
        self.properties
            .ip_configurations
            .iter()
            .filter_map(|c| {
                let address = some(&c.properties.private_ip_address)?.parse().ok()?;
                let names = &c.properties.private_link_connection_properties.fqdns;
                Some((address, names.iter().filter_map(Value::as_str).collect()))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fields_of_another_type_read_as_absent_and_the_rest_still_counts() {
        let registry: Registry = typed(json!({
            "id": 7,
            "identity": {"principalId": "p", "userAssignedIdentities": {"/u/1": {"clientId": "C1"}, "/u/2": "x"}},
            "properties": {
                "loginServer": "MyReg.azurecr.io/",
                "encryption": {"status": "Enabled", "keyVaultProperties": {"identity": "c1"}},
                "privateEndpointConnections": [{"properties": {"privateEndpoint": {"id": "/pe/1"}}}, 3]
            }
        }));
        assert_eq!(registry.id(), None);
        assert_eq!(registry.login_server().as_deref(), Some("myreg.azurecr.io"));
        assert_eq!(registry.encryption_identity(), Some("c1"));
        assert_eq!(registry.system_principal(), Some("p"));
        // An entry of another shape is passed over; the others still count.
        assert_eq!(registry.user_identity_with_client_id("c1"), Some("/u/1"));
        assert_eq!(registry.private_endpoints(), vec!["/pe/1"]);
        let disabled: Registry = typed(
            json!({"properties": {"encryption": {"status": "disabled", "keyVaultProperties": {"identity": "c1"}}}}),
        );
        assert_eq!(disabled.encryption_identity(), None);
        let not_an_object: Registry = typed(json!([1, 2]));
        assert_eq!(not_an_object.login_server(), None);
    }

    #[test]
    fn a_network_interface_gives_each_address_with_its_names() {
        let nic: NetworkInterface = typed(json!({"properties": {"ipConfigurations": [
            {"properties": {"privateIPAddress": "10.0.0.4", "privateLinkConnectionProperties": {"fqdns": ["a.azurecr.io", 1]}}},
            {"properties": {"privateIPAddress": "not an address"}}
        ]}}));
        assert_eq!(
            nic.routes(),
            vec![("10.0.0.4".parse().unwrap(), vec!["a.azurecr.io"])]
        );
    }
}
