//! The user's own values that a solution can name. The knowledge writes each as its language's
//! placeholder (`fact.registry`: `<registry>`, in Dutch `<register>`), the tidy refuses any other
//! placeholder, and a run fills in the ones it knows, so the report says
//! `nslookup myregistry.azurecr.io` where the knowledge says `nslookup <registry>.azurecr.io`.

use super::knowledge::Language;
use super::outcome::Outcome;
use super::text::Arg;
use super::{Ui, ui};

/// Every fact a solution may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fact {
    Registry,
    LoginServer,
    ResourceGroup,
    Subscription,
    Repository,
    Tag,
    Vnet,
    Subnet,
    IpAddress,
    Address,
    Region,
    StorageHost,
    Cloud,
    UserOrAppId,
    Username,
    TenantId,
    RegistryResourceId,
    PrivateEndpoint,
    Connection,
    Link,
    ScopeMap,
    Identity,
    IdentityResourceId,
    KeyUri,
    Digest,
}

impl Fact {
    pub const ALL: [Fact; 25] = [
        Fact::Registry,
        Fact::LoginServer,
        Fact::ResourceGroup,
        Fact::Subscription,
        Fact::Repository,
        Fact::Tag,
        Fact::Vnet,
        Fact::Subnet,
        Fact::IpAddress,
        Fact::Address,
        Fact::Region,
        Fact::StorageHost,
        Fact::Cloud,
        Fact::UserOrAppId,
        Fact::Username,
        Fact::TenantId,
        Fact::RegistryResourceId,
        Fact::PrivateEndpoint,
        Fact::Connection,
        Fact::Link,
        Fact::ScopeMap,
        Fact::Identity,
        Fact::IdentityResourceId,
        Fact::KeyUri,
        Fact::Digest,
    ];

    /// The placeholder that stands for it in the knowledge (`fact.<name>`).
    pub fn placeholder(self) -> Ui {
        match self {
            Fact::Registry => ui::FACT_REGISTRY,
            Fact::LoginServer => ui::FACT_LOGIN_SERVER,
            Fact::ResourceGroup => ui::FACT_RESOURCE_GROUP,
            Fact::Subscription => ui::FACT_SUBSCRIPTION,
            Fact::Repository => ui::FACT_REPOSITORY,
            Fact::Tag => ui::FACT_TAG,
            Fact::Vnet => ui::FACT_VNET,
            Fact::Subnet => ui::FACT_SUBNET,
            Fact::IpAddress => ui::FACT_IP_ADDRESS,
            Fact::Address => ui::FACT_ADDRESS,
            Fact::Region => ui::FACT_REGION,
            Fact::StorageHost => ui::FACT_STORAGE_HOST,
            Fact::Cloud => ui::FACT_CLOUD,
            Fact::UserOrAppId => ui::FACT_USER_OR_APP_ID,
            Fact::Username => ui::FACT_USERNAME,
            Fact::TenantId => ui::FACT_TENANT_ID,
            Fact::RegistryResourceId => ui::FACT_REGISTRY_RESOURCE_ID,
            Fact::PrivateEndpoint => ui::FACT_PRIVATE_ENDPOINT,
            Fact::Connection => ui::FACT_CONNECTION,
            Fact::Link => ui::FACT_LINK,
            Fact::ScopeMap => ui::FACT_SCOPE_MAP,
            Fact::Identity => ui::FACT_IDENTITY,
            Fact::IdentityResourceId => ui::FACT_IDENTITY_RESOURCE_ID,
            Fact::KeyUri => ui::FACT_KEY_URI,
            Fact::Digest => ui::FACT_DIGEST,
        }
    }
}

/// The facts a run knows.
#[derive(Debug, Clone, Default)]
pub struct Facts(Vec<(Fact, String)>);

impl Facts {
    /// `fact` as `value`, in place of what was known of it; an empty value is not a fact.
    pub fn set(&mut self, fact: Fact, value: &str) {
        if value.is_empty() {
            return;
        }
        self.0.retain(|(known, _)| *known != fact);
        self.0.push((fact, value.to_owned()));
    }

    pub fn get(&self, fact: Fact) -> Option<&str> {
        self.0
            .iter()
            .find(|(known, _)| *known == fact)
            .map(|(_, value)| value.as_str())
    }

    /// Learns what `outcome` tells of the user's values: the login server and repository it
    /// names (the login server Resource Manager gave can differ from the one the plan built),
    /// and the address a firewall refused when a rule for it would let it in (not when public
    /// access is off or a rule admits it already: the generic advice must not read as the fix
    /// then).
    pub fn learn(&mut self, outcome: &Outcome) {
        let line_args = outcome.line.iter().flat_map(|line| {
            line.args.iter().filter_map(|(name, arg)| match arg {
                Arg::Plain(value) => Some((*name, value.as_str())),
                Arg::Text(_) => None,
            })
        });
        let message_args = outcome
            .message_args
            .iter()
            .map(|(name, value)| (*name, value.as_str()));
        for (name, value) in line_args.chain(message_args) {
            match name {
                "login_server" => self.set(Fact::LoginServer, value),
                "repository" => self.set(Fact::Repository, value),
                _ => {}
            }
        }
        let client_ip = outcome
            .data
            .iter()
            .find(|(name, _)| *name == "firewall")
            .filter(|(_, firewall)| firewall.get("command").is_some_and(|c| !c.is_null()))
            .and_then(|(_, firewall)| firewall.get("client_ip")?.as_str());
        if let Some(ip) = client_ip {
            self.set(Fact::IpAddress, ip);
        }
    }

    /// `text` with every placeholder of a known fact replaced by its value, in `language`. An
    /// ACR's `<registry>.azurecr.io` is the login server when that is known (another cloud's
    /// registries end otherwise), and its other hosts begin as the login server does.
    pub fn fill(&self, language: &Language, text: &str) -> String {
        let mut text = text.to_owned();
        if let Some(login_server) = self.get(Fact::LoginServer) {
            let registry = language.ui(Fact::Registry.placeholder());
            text = text.replace(&format!("{registry}.azurecr.io"), login_server);
            // The registry's other hosts (`<registry>.privatelink.azurecr.io`, its data
            // endpoints) begin with the login server's first label, which is not always the
            // name (a domain name label hash: `myreg-abc123`).
            if let Some((label, _)) = login_server.split_once('.') {
                text = text.replace(&format!("{registry}."), &format!("{label}."));
            }
        }
        for (fact, value) in &self.0 {
            text = text.replace(language.ui(fact.placeholder()), value);
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vocabulary::knowledge::source::angle_placeholders;
    use crate::vocabulary::knowledge::{Code, LANGUAGES};

    /// A value for every fact, to fill every text with.
    fn every_fact() -> Facts {
        let mut facts = Facts::default();
        for (index, fact) in Fact::ALL.iter().enumerate() {
            facts.set(*fact, &format!("value{index}"));
        }
        facts
    }

    #[test]
    fn every_code_and_interface_string_is_filled_where_a_fact_exists() {
        let facts = every_fact();
        for language in &LANGUAGES {
            for code in Code::ALL {
                let text = language.text(code);
                for solution in text.solutions.iter().chain([&text.meaning]) {
                    let filled = facts.fill(language, solution);
                    // The tidy's own reading of a placeholder.
                    assert!(
                        angle_placeholders(&filled).is_empty(),
                        "{} {code:?}: a placeholder is left in {filled:?}",
                        language.tag
                    );
                }
            }
        }
    }

    #[test]
    fn the_login_server_stands_for_an_acrs_name_with_its_suffix() {
        let mut facts = Facts::default();
        facts.set(Fact::Registry, "myregistry");
        for language in &LANGUAGES {
            let registry = language.ui(Fact::Registry.placeholder());
            let text = format!("nslookup {registry}.azurecr.io; az acr show --name {registry}");
            assert_eq!(
                facts.fill(language, &text),
                "nslookup myregistry.azurecr.io; az acr show --name myregistry"
            );
            facts.set(Fact::LoginServer, "myregistry.azurecr.cn");
            assert_eq!(
                facts.fill(language, &text),
                "nslookup myregistry.azurecr.cn; az acr show --name myregistry"
            );
            facts.set(Fact::LoginServer, "myregistry-abc123.azurecr.io");
            let hosts =
                format!("{registry}.privatelink.azurecr.io {registry}.westeurope.data.azurecr.io");
            assert_eq!(
                facts.fill(language, &hosts),
                "myregistry-abc123.privatelink.azurecr.io myregistry-abc123.westeurope.data.azurecr.io"
            );
            facts = Facts::default();
            facts.set(Fact::Registry, "myregistry");
        }
        // Without facts, the placeholders stay (explain, without a run).
        assert_eq!(
            Facts::default().fill(&LANGUAGES[1], "az acr show --name <register>"),
            "az acr show --name <register>"
        );
    }
}
