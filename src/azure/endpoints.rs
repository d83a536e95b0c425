//! The hosts a registry's clients need, as `az acr show-endpoints` lists them: the login server,
//! and where the layers come from (each region's dedicated data endpoint, or blob storage).

use serde_json::{Value, json};

use super::cloud::Cloud;
use super::resource::{Registry, Replication};

/// What the test pull of check-health downloads from (Microsoft Container Registry).
pub const TEST_PULL_HOSTS: [&str; 2] = ["mcr.microsoft.com", "*.data.mcr.microsoft.com"];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    pub login_server: String,
    /// `(region, host)`: a dedicated data endpoint, or the storage wildcard of a replica.
    pub data: Vec<(String, String)>,
    /// The data endpoints are dedicated ones (otherwise blob storage, by wildcard).
    pub dedicated: bool,
}

impl Endpoints {
    /// As az: the dedicated data endpoints when they are on (the region is the host's second
    /// label), else blob storage's wildcard for each replica (the home region when there is none).
    pub fn of(registry: &Registry, replications: &[Replication], cloud: &Cloud) -> Endpoints {
        let login_server = registry.login_server().unwrap_or_default();
        if let Some(hosts) = registry.data_endpoints() {
            let data = hosts
                .iter()
                .map(|host| {
                    let region = host.split('.').nth(1).unwrap_or_default();
                    (region.to_owned(), (*host).to_owned())
                })
                .collect();
            return Endpoints {
                login_server,
                data,
                dedicated: true,
            };
        }
        let storage = format!(
            "*.blob.{}",
            cloud
                .storage_suffix
                .as_deref()
                .unwrap_or("core.windows.net")
        );
        let mut regions: Vec<&str> = replications
            .iter()
            .filter_map(Replication::location)
            .collect();
        if regions.is_empty() {
            regions.extend(registry.location());
        }
        Endpoints {
            login_server,
            data: regions
                .into_iter()
                .map(|region| (region.to_owned(), storage.clone()))
                .collect(),
            dedicated: false,
        }
    }

    /// az's document (`loginServer`, `dataEndpoints`), and what az leaves out: the hosts of the
    /// test pull.
    pub fn document(&self) -> Value {
        json!({
            "loginServer": self.login_server,
            "dataEndpoints": self.data.iter().map(|(region, endpoint)| {
                json!({"region": region, "endpoint": endpoint})
            }).collect::<Vec<_>>(),
            "testPullEndpoints": TEST_PULL_HOSTS,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registry(properties: Value) -> Registry {
        serde_json::from_value(json!({"location": "westeurope", "properties": properties})).unwrap()
    }

    #[test]
    fn dedicated_data_endpoints_are_listed_with_their_region() {
        let registry = registry(json!({
            "loginServer": "myreg.azurecr.io",
            "dataEndpointEnabled": true,
            "dataEndpointHostNames": ["myreg.westeurope.data.azurecr.io", "myreg.northeurope.data.azurecr.io"],
        }));
        let cloud = Cloud::named("AzureCloud", None);
        let endpoints = Endpoints::of(&registry, &[], &cloud);
        assert_eq!(
            endpoints.document(),
            json!({
                "loginServer": "myreg.azurecr.io",
                "dataEndpoints": [
                    {"region": "westeurope", "endpoint": "myreg.westeurope.data.azurecr.io"},
                    {"region": "northeurope", "endpoint": "myreg.northeurope.data.azurecr.io"},
                ],
                "testPullEndpoints": ["mcr.microsoft.com", "*.data.mcr.microsoft.com"],
            })
        );
    }

    #[test]
    fn without_them_each_replica_has_the_clouds_storage_wildcard() {
        let registry =
            registry(json!({"loginServer": "myreg.azurecr.cn", "dataEndpointEnabled": false}));
        let china = Cloud::named("AzureChinaCloud", None);
        let replicas: Vec<Replication> = serde_json::from_value(
            json!([{"location": "chinaeast2"}, {"location": "chinanorth3"}]),
        )
        .unwrap();
        let endpoints = Endpoints::of(&registry, &replicas, &china);
        assert_eq!(
            endpoints.data,
            [
                (
                    "chinaeast2".to_owned(),
                    "*.blob.core.chinacloudapi.cn".to_owned()
                ),
                (
                    "chinanorth3".to_owned(),
                    "*.blob.core.chinacloudapi.cn".to_owned()
                ),
            ]
        );
        assert!(!endpoints.dedicated);
        // No replica: the home region.
        let home = Endpoints::of(&registry, &[], &china);
        assert_eq!(
            home.data,
            [(
                "westeurope".to_owned(),
                "*.blob.core.chinacloudapi.cn".to_owned()
            )]
        );
    }
}
