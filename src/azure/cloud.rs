//! The Azure clouds: each one's registry suffix, Resource Manager endpoint and audience, from the
//! clouds az knows and from az's custom clouds (`az cloud register`, kept in `clouds.config`).

use crate::azure::config;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cloud {
    pub name: String,
    /// `.azurecr.io`; `None` for a cloud without one (LOGIN_SERVER_ERROR).
    pub acr_suffix: Option<String>,
    /// `https://management.azure.com`, without a trailing slash.
    pub resource_manager: Option<String>,
    /// The token audience for Resource Manager.
    pub resource_manager_audience: Option<String>,
    /// `core.windows.net`: blob storage is `*.blob.<suffix>`.
    pub storage_suffix: Option<String>,
}

/// name, suffix, Resource Manager endpoint, its audience, the storage suffix.
const KNOWN: &[(&str, &str, &str, &str, &str)] = &[
    (
        "AzureCloud",
        ".azurecr.io",
        "https://management.azure.com",
        "https://management.core.windows.net/",
        "core.windows.net",
    ),
    (
        "AzureChinaCloud",
        ".azurecr.cn",
        "https://management.chinacloudapi.cn",
        "https://management.core.chinacloudapi.cn/",
        "core.chinacloudapi.cn",
    ),
    (
        "AzureUSGovernment",
        ".azurecr.us",
        "https://management.usgovcloudapi.net",
        "https://management.core.usgovcloudapi.net/",
        "core.usgovcloudapi.net",
    ),
    (
        "AzureBleuCloud",
        ".azurecr.sovcloud-azure.fr",
        "https://management.sovcloud-api.fr",
        "https://management.core.sovcloud-api.fr/",
        "core.sovcloud-api.fr",
    ),
];

/// Every registry suffix of the known clouds, to recognize an ACR by its login server.
pub fn known_suffixes() -> impl Iterator<Item = &'static str> {
    KNOWN.iter().map(|(_, suffix, ..)| *suffix)
}

impl Cloud {
    /// The active cloud: `--cloud`, else az's configuration (`[cloud] name`), else AzureCloud.
    pub fn active(flag: Option<&str>, env: impl Fn(&str) -> Option<String>) -> Cloud {
        let config_dir = config::config_dir(&env);
        let name = flag.map(str::to_owned).unwrap_or_else(|| {
            config_dir
                .as_ref()
                .and_then(|dir| std::fs::read_to_string(dir.join("config")).ok())
                .and_then(|text| config::ini_value(&text, "cloud", "name"))
                .filter(|name| !name.is_empty())
                .unwrap_or_else(|| "AzureCloud".to_owned())
        });
        let custom =
            config_dir.and_then(|dir| std::fs::read_to_string(dir.join("clouds.config")).ok());
        Cloud::named(&name, custom.as_deref())
    }

    /// A cloud by name: a known one, or a custom one from the text of `clouds.config`.
    pub fn named(name: &str, clouds_config: Option<&str>) -> Cloud {
        if let Some((known, suffix, arm, audience, storage)) =
            KNOWN.iter().find(|(n, ..)| n.eq_ignore_ascii_case(name))
        {
            return Cloud {
                name: (*known).to_owned(),
                acr_suffix: Some((*suffix).to_owned()),
                resource_manager: Some((*arm).to_owned()),
                resource_manager_audience: Some((*audience).to_owned()),
                storage_suffix: Some((*storage).to_owned()),
            };
        }
        let value = |key: &str| {
            clouds_config
                .and_then(|text| config::ini_value(text, name, key))
                .filter(|v| !v.is_empty())
        };
        let resource_manager =
            value("endpoint_resource_manager").map(|e| e.trim_end_matches('/').to_owned());
        Cloud {
            name: name.to_owned(),
            // az adds the leading dot to a custom cloud's suffix.
            acr_suffix: value("suffix_acr_login_server_endpoint")
                .map(|s| format!(".{}", s.trim_start_matches('.'))),
            resource_manager_audience: value("endpoint_active_directory_resource_id")
                .or_else(|| resource_manager.clone().map(|e| format!("{e}/"))),
            resource_manager,
            storage_suffix: value("suffix_storage_endpoint")
                .map(|s| s.trim_start_matches('.').to_owned()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_clouds_have_their_suffix_and_endpoint() {
        let china = Cloud::named("azurechinacloud", None);
        assert_eq!(china.acr_suffix.as_deref(), Some(".azurecr.cn"));
        assert_eq!(
            china.resource_manager.as_deref(),
            Some("https://management.chinacloudapi.cn")
        );
        let german = Cloud::named("AzureGermanCloud", None);
        assert_eq!(german.acr_suffix, None);
        assert_eq!(german.resource_manager, None);
    }

    #[test]
    fn a_custom_cloud_comes_from_clouds_config() {
        let config = "[Lab]\nendpoint_resource_manager = https://localhost:8443/\n\
                      suffix_acr_login_server_endpoint = azurecr.lab\n";
        let lab = Cloud::named("Lab", Some(config));
        assert_eq!(lab.acr_suffix.as_deref(), Some(".azurecr.lab"));
        assert_eq!(
            lab.resource_manager.as_deref(),
            Some("https://localhost:8443")
        );
        assert_eq!(
            lab.resource_manager_audience.as_deref(),
            Some("https://localhost:8443/")
        );
    }

    #[test]
    fn the_active_cloud_comes_from_the_flag_then_az_config() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("config"),
            "[cloud]\nname = AzureChinaCloud\n",
        )
        .unwrap();
        let path = dir.path().display().to_string();
        let env = move |n: &str| (n == "AZURE_CONFIG_DIR").then(|| path.clone());
        assert_eq!(Cloud::active(None, &env).name, "AzureChinaCloud");
        assert_eq!(
            Cloud::active(Some("AzureUSGovernment"), &env).name,
            "AzureUSGovernment"
        );
        assert_eq!(Cloud::active(None, |_| None).name, "AzureCloud");
    }
}
