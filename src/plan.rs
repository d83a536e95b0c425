//! From arguments to the plan of checks: which chains run, and the lines known before anything
//! runs (our version, the note that no registry was named, Cloud Shell).

use crate::checks::registry::RegistryPlan;
use crate::vocabulary::ui;
use crate::vocabulary::{Check, Outcome, Text};

#[derive(Debug, Clone)]
pub struct Plan {
    /// Check the machine itself (docker, helm, notary); not in Azure Cloud Shell, as az.
    pub environment: bool,
    pub cloud_shell: bool,
    /// The registry to check, when one was named.
    pub registry: Option<RegistryPlan>,
}

impl Plan {
    pub fn new(registry: Option<RegistryPlan>, cloud_shell: bool) -> Plan {
        Plan {
            environment: !cloud_shell,
            cloud_shell,
            registry,
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
