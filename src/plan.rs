//! From arguments to the plan of checks: which chains run, and the lines known before anything
//! runs (our version, the note that no registry was named, Cloud Shell).

use std::sync::Arc;

use crate::checks::Context;
use crate::checks::registry::RegistryPlan;
use crate::system::container::{self, Client};
use crate::system::process::ProcessError;
use crate::vocabulary::check::DEFAULT_CONTAINER_CLIENT;
use crate::vocabulary::ui;
use crate::vocabulary::{Check, Fact, Facts, Outcome, Text};

#[derive(Debug, Clone)]
pub struct Plan {
    /// Check the machine itself (docker, helm, notary), with the container client found on it
    /// (or why none was); not in Azure Cloud Shell, as az.
    pub environment: Option<Arc<Result<Client, ProcessError>>>,
    pub cloud_shell: bool,
    /// The registry to check, when one was named.
    pub registry: Option<RegistryPlan>,
    /// Stop at the first error in az's order (no `--ignore-errors`): nothing after it pulls
    /// or pushes.
    pub stop_at_first_error: bool,
}

impl Plan {
    pub fn new(
        registry: Option<RegistryPlan>,
        cloud_shell: bool,
        ignore_errors: bool,
        context: &Context,
    ) -> Plan {
        Plan {
            environment: (!cloud_shell).then(|| Arc::new(container::find_client(context))),
            cloud_shell,
            registry,
            stop_at_first_error: !ignore_errors,
        }
    }

    /// The user's own values the plan knows, for the solutions of what the run finds: an ACR's
    /// name and login server, and what the flags named.
    pub fn facts(&self) -> Facts {
        let mut facts = Facts::default();
        let Some(registry) = &self.registry else {
            return facts;
        };
        let target = &registry.target;
        if target.is_acr {
            facts.set(Fact::Registry, &target.name);
        }
        let given = [
            (Fact::LoginServer, target.login_server.as_deref()),
            (Fact::Repository, registry.repository.as_deref()),
            (Fact::Tag, registry.tag.as_deref()),
            (Fact::Vnet, registry.vnet.as_deref()),
            (Fact::Subscription, registry.subscription.as_deref()),
        ];
        for (fact, value) in given {
            if let Some(value) = value {
                facts.set(fact, value);
            }
        }
        facts
    }

    /// The container client's name for the names of its checks (`Docker`, `Podman`).
    pub fn container_client(&self) -> &str {
        match self.environment.as_deref() {
            Some(Ok(client)) => &client.title,
            _ => DEFAULT_CONTAINER_CLIENT,
        }
    }

    /// Outcomes that need no work.
    pub fn immediate(&self) -> Vec<Outcome> {
        let mut outcomes = Vec::new();
        if self.cloud_shell {
            outcomes.push(Outcome::skipped(
                Check::DockerClient,
                Text::ui(ui::HEALTH_CLOUD_SHELL),
            ));
        }
        outcomes.push(Outcome::ok(
            Check::CliVersion,
            Text::ui(ui::HEALTH_CLI_VERSION).arg("version", env!("CARGO_PKG_VERSION")),
        ));
        if self.registry.is_none() {
            outcomes.push(Outcome::skipped(
                Check::RegistryName,
                Text::ui(ui::HEALTH_NO_REGISTRY),
            ));
        }
        outcomes
    }
}
