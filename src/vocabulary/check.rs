//! Every check, in az's order, and which check needs which: the one graph from which the runner
//! derives what a failure skips, and `explain` what a code stops from being checked.
//!
//! Which codes each check can report is here too, typed: `explain` derives a code's checks and
//! what it skips from this file, so the knowledge base cannot disagree with the code.

/// The enum, its list and its ids from one table.
macro_rules! checks {
    ($($variant:ident => $id:literal,)*) => {
        /// A check. The declaration order is az's report order.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Check {
            $($variant,)*
        }

        impl Check {
            /// Every check, in az's order.
            pub const ALL: [Check; [$($id),*].len()] = [$(Check::$variant),*];

            /// The stable id, as in the `-o` document and in `knowledge/`: `registry.dns`.
            pub const fn id(self) -> &'static str {
                match self {
                    $(Check::$variant => $id,)*
                }
            }
        }
    };
}

checks! {
    DockerClient => "docker.client",
    DockerDaemon => "docker.daemon",
    DockerVersion => "docker.version",
    DockerPull => "docker.pull",
    CliVersion => "cli.version",
    RegistryName => "registry.name",
    RegistryLoginServer => "registry.login_server",
    RegistryDns => "registry.dns",
    RegistryChallenge => "registry.challenge",
    RegistryEndpoints => "registry.endpoints",
    RegistryRefreshToken => "registry.refresh_token",
    RegistryAccessToken => "registry.access_token",
    RegistryTokenAccepted => "registry.token_accepted",
    RegistryManifest => "registry.manifest",
    RegistryBlob => "registry.blob",
    RegistryDaemonPull => "registry.daemon_pull",
    RegistryRoundTrip => "registry.round_trip",
    RegistryCmk => "registry.cmk",
    RegistryPrivateEndpoint => "registry.private_endpoint",
    HelmCommand => "helm.command",
    HelmVersion => "helm.version",
    NotaryCommand => "notary.command",
    NotaryVersion => "notary.version",
}

use super::knowledge::Code;
use Check::*;

/// The container client's name in the names of its checks when no run has found one.
pub const DEFAULT_CONTAINER_CLIENT: &str = "Docker";

impl Check {
    pub fn from_id(id: &str) -> Option<Check> {
        Check::ALL.into_iter().find(|c| c.id() == id)
    }

    /// The checks that must have found no problem for this one to run. A failure (or a warning)
    /// skips every check that needs it, directly or through another.
    ///
    /// The test pull needs nothing: without a client or a daemon it goes through the registry
    /// API. The Resource Manager checks need the registry's resource, not a connection to it.
    pub const fn needs(self) -> &'static [Check] {
        match self {
            DockerDaemon | DockerVersion => &[DockerClient],
            RegistryDns => &[RegistryLoginServer],
            RegistryChallenge => &[RegistryDns],
            RegistryEndpoints => &[RegistryChallenge],
            RegistryRefreshToken => &[RegistryChallenge],
            RegistryAccessToken => &[RegistryRefreshToken],
            RegistryTokenAccepted => &[RegistryAccessToken],
            RegistryManifest | RegistryRoundTrip => &[RegistryTokenAccepted],
            RegistryBlob | RegistryDaemonPull => &[RegistryManifest],
            HelmVersion => &[HelmCommand],
            NotaryVersion => &[NotaryCommand],
            DockerClient
            | DockerPull
            | CliVersion
            | RegistryName
            | RegistryLoginServer
            | RegistryCmk
            | RegistryPrivateEndpoint
            | HelmCommand
            | NotaryCommand => &[],
        }
    }

    /// Every check that a problem found by this one skips, in az's order.
    pub fn dependents(self) -> Vec<Check> {
        Check::ALL
            .into_iter()
            .filter(|other| other.depends_on(self))
            .collect()
    }

    /// Whether this check needs `other`, directly or through another check.
    pub fn depends_on(self, other: Check) -> bool {
        self.needs()
            .iter()
            .any(|&need| need == other || need.depends_on(other))
    }

    /// The codes this check can report, besides `UNEXPECTED_ERROR` (which any check can).
    pub const fn codes(self) -> &'static [Code] {
        match self {
            DockerClient => &[Code::DOCKER_COMMAND_ERROR],
            DockerDaemon => &[Code::DOCKER_DAEMON_ERROR, Code::DOCKER_COMMAND_ERROR],
            DockerVersion => &[Code::DOCKER_VERSION_ERROR],
            DockerPull => &[
                Code::DOCKER_PULL_ERROR,
                Code::STORAGE_DNS_ERROR,
                Code::STORAGE_CONNECTION_ERROR,
                Code::STORAGE_SSL_ERROR,
                Code::STORAGE_TIMEOUT_ERROR,
                Code::STORAGE_FORBIDDEN_ERROR,
                Code::BLOB_DIGEST_ERROR,
            ],
            CliVersion | RegistryName => &[],
            RegistryLoginServer => &[Code::LOGIN_SERVER_ERROR],
            RegistryDns => &[Code::CONNECTIVITY_DNS_ERROR],
            RegistryChallenge => &[
                Code::CONNECTIVITY_SSL_ERROR,
                Code::CONNECTIVITY_CHALLENGE_ERROR,
                Code::CONNECTIVITY_FORBIDDEN_ERROR,
                Code::CONNECTIVITY_TOOMANYREQUESTS_ERROR,
                Code::CONNECTIVITY_WWW_AUTHENTICATE_ERROR,
            ],
            RegistryEndpoints => &[Code::ENDPOINT_UNREACHABLE_ERROR],
            RegistryDaemonPull => &[Code::DAEMON_PULL_ERROR],
            RegistryRefreshToken => &[
                Code::CONNECTIVITY_AAD_LOGIN_ERROR,
                Code::CONNECTIVITY_CREDENTIAL_ERROR,
                Code::CONNECTIVITY_REFRESH_TOKEN_ERROR,
                Code::CONNECTIVITY_TOOMANYREQUESTS_ERROR,
            ],
            RegistryAccessToken => &[
                Code::CONNECTIVITY_ACCESS_TOKEN_ERROR,
                Code::CONNECTIVITY_TOOMANYREQUESTS_ERROR,
            ],
            RegistryTokenAccepted => &[Code::CONNECTIVITY_TOKEN_REJECTED_ERROR],
            RegistryManifest => &[Code::CONNECTIVITY_MANIFEST_ERROR],
            RegistryBlob => &[
                Code::CONNECTIVITY_BLOB_ERROR,
                Code::STORAGE_DNS_ERROR,
                Code::STORAGE_CONNECTION_ERROR,
                Code::STORAGE_SSL_ERROR,
                Code::STORAGE_TIMEOUT_ERROR,
                Code::STORAGE_FORBIDDEN_ERROR,
                Code::BLOB_DIGEST_ERROR,
            ],
            RegistryRoundTrip => &[Code::ROUND_TRIP_ERROR],
            RegistryCmk => &[Code::CMK_ERROR, Code::RESOURCE_MANAGER_ERROR],
            RegistryPrivateEndpoint => &[
                Code::PRIVATE_ENDPOINT_NOT_FOUND_ERROR,
                Code::PRIVATE_ENDPOINT_DUPLICATE_ERROR,
                Code::PRIVATE_ENDPOINT_DNS_ERROR,
                Code::RESOURCE_MANAGER_ERROR,
            ],
            HelmCommand => &[Code::HELM_COMMAND_ERROR],
            HelmVersion => &[Code::HELM_VERSION_ERROR],
            NotaryCommand => &[Code::NOTARY_COMMAND_ERROR],
            NotaryVersion => &[Code::NOTARY_VERSION_ERROR],
        }
    }
}

impl Code {
    /// The checks that can report this code, in az's order; none for `UNEXPECTED_ERROR`, which
    /// any check can report.
    pub fn reported_by(self) -> Vec<Check> {
        Check::ALL
            .into_iter()
            .filter(|check| check.codes().contains(&self))
            .collect()
    }

    /// The checks that do not run when this code is found: those that need a check reporting
    /// it, in az's order.
    pub fn skips(self) -> Vec<Check> {
        Check::ALL
            .into_iter()
            .filter(|check| self.reported_by().iter().any(|&r| check.depends_on(r)))
            .collect()
    }
}

impl serde::Serialize for Check {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.id())
    }
}

impl std::fmt::Display for Check {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.id())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_round_trip() {
        for check in Check::ALL {
            assert_eq!(Check::from_id(check.id()), Some(check));
        }
        let mut sorted = Check::ALL;
        sorted.sort();
        assert_eq!(sorted, Check::ALL, "ALL is in declaration (az's) order");
    }

    #[test]
    fn a_check_only_needs_checks_reported_before_it() {
        for check in Check::ALL {
            for need in check.needs() {
                assert!(need < &check, "{check} needs {need}, which comes later");
            }
        }
    }

    #[test]
    fn a_dns_failure_skips_the_rest_of_the_connection_and_the_data_plane() {
        assert_eq!(
            RegistryDns.dependents(),
            [
                RegistryChallenge,
                RegistryEndpoints,
                RegistryRefreshToken,
                RegistryAccessToken,
                RegistryTokenAccepted,
                RegistryManifest,
                RegistryBlob,
                RegistryDaemonPull,
                RegistryRoundTrip
            ]
        );
        assert_eq!(DockerClient.dependents(), [DockerDaemon, DockerVersion]);
        assert!(DockerDaemon.dependents().is_empty());
    }

    #[test]
    fn every_code_is_reported_by_some_check() {
        for code in Code::ALL
            .into_iter()
            .filter(|&c| c != Code::UNEXPECTED_ERROR)
        {
            assert!(!code.reported_by().is_empty(), "no check reports {code:?}");
        }
    }

    #[test]
    fn a_code_skips_what_needs_the_checks_that_report_it() {
        assert_eq!(
            Code::CONNECTIVITY_TOOMANYREQUESTS_ERROR.skips(),
            [
                RegistryEndpoints,
                RegistryRefreshToken,
                RegistryAccessToken,
                RegistryTokenAccepted,
                RegistryManifest,
                RegistryBlob,
                RegistryDaemonPull,
                RegistryRoundTrip
            ]
        );
        assert_eq!(
            Code::DOCKER_COMMAND_ERROR.skips(),
            [DockerDaemon, DockerVersion]
        );
        assert!(Code::DOCKER_DAEMON_ERROR.skips().is_empty());
    }
}
