//! What the other container clients' configuration says of a registry: podman's
//! `registries.conf` (blocked, insecure, redirected or mirrored registries) and containerd's
//! `certs.d/<host>/hosts.toml` (the hosts a Kubernetes node or nerdctl pulls from, and how it
//! trusts them). A pull by those clients goes by these files, not by this shell's settings.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::Context;

/// podman's `registries.conf`, version 2 (`[[registry]]` tables) and the version 1 lists it still
/// reads (`[registries.insecure]`, `[registries.block]`).
#[derive(Debug, Default, Deserialize)]
struct RegistriesConf {
    #[serde(default)]
    registry: Vec<RegistryEntry>,
    registries: Option<VersionOne>,
}

#[derive(Debug, Deserialize)]
struct RegistryEntry {
    prefix: Option<String>,
    location: Option<String>,
    #[serde(default)]
    insecure: bool,
    #[serde(default)]
    blocked: bool,
    #[serde(default)]
    mirror: Vec<MirrorEntry>,
}

#[derive(Debug, Deserialize)]
struct MirrorEntry {
    location: String,
}

#[derive(Debug, Default, Deserialize)]
struct VersionOne {
    insecure: Option<Listed>,
    block: Option<Listed>,
}

#[derive(Debug, Default, Deserialize)]
struct Listed {
    #[serde(default)]
    registries: Vec<String>,
}

/// What one file of podman's says of a registry: the entry's prefix (the registry, a namespace
/// of it, or a `*.domain` wildcard) and what it does.
#[derive(Debug, PartialEq, Eq)]
pub struct PodmanRule {
    pub file: PathBuf,
    pub prefix: String,
    pub blocked: bool,
    pub insecure: bool,
    /// Pulls go to this location instead of the prefix's own.
    pub redirected_to: Option<String>,
    pub mirrors: Vec<String>,
}

/// The rules of the `registries.conf` text `text` (read from `file`) that apply to
/// `login_server`: entries for it, a namespace of it or a wildcard domain that covers it. An
/// unreadable file gives `Err` with the parser's words.
pub fn podman_rules(
    text: &str,
    file: &Path,
    login_server: &str,
) -> Result<Vec<PodmanRule>, String> {
    let conf: RegistriesConf = toml::from_str(text).map_err(|e| e.message().to_owned())?;
    let mut rules = Vec::new();
    for entry in &conf.registry {
        let Some(prefix) = entry.prefix.as_deref().or(entry.location.as_deref()) else {
            continue;
        };
        if !covers(prefix, login_server) {
            continue;
        }
        let redirected_to = entry
            .location
            .as_deref()
            .filter(|location| {
                entry.prefix.is_some() && !location.is_empty() && *location != prefix
            })
            .map(str::to_owned);
        let rule = PodmanRule {
            file: file.to_owned(),
            prefix: prefix.to_owned(),
            blocked: entry.blocked,
            insecure: entry.insecure,
            redirected_to,
            mirrors: entry.mirror.iter().map(|m| m.location.clone()).collect(),
        };
        if rule.blocked || rule.insecure || rule.redirected_to.is_some() || !rule.mirrors.is_empty()
        {
            rules.push(rule);
        }
    }
    let listed = |list: &Option<Listed>| {
        list.as_ref()
            .is_some_and(|l| l.registries.iter().any(|r| covers(r, login_server)))
    };
    if let Some(old) = &conf.registries {
        let (insecure, blocked) = (listed(&old.insecure), listed(&old.block));
        if insecure || blocked {
            rules.push(PodmanRule {
                file: file.to_owned(),
                prefix: login_server.to_owned(),
                blocked,
                insecure,
                redirected_to: None,
                mirrors: Vec::new(),
            });
        }
    }
    Ok(rules)
}

/// Whether a `registries.conf` prefix applies to images of `login_server`: the same host (and
/// port), with or without a namespace after it, or `*.domain` for a host under that domain.
fn covers(prefix: &str, login_server: &str) -> bool {
    let host = prefix.split('/').next().unwrap_or_default();
    match host.strip_prefix("*.") {
        Some(domain) => login_server
            .split(':')
            .next()
            .is_some_and(|name| name.ends_with(&format!(".{domain}"))),
        None => host.eq_ignore_ascii_case(login_server),
    }
}

/// podman's `registries.conf` files, as podman reads them: `CONTAINERS_REGISTRIES_CONF` alone
/// when it is set; else the user's file when there is one, else the system's, each followed by
/// the drop-ins of its `registries.conf.d`, in name order (later ones override earlier ones).
pub fn podman_files(context: &Context) -> Vec<PathBuf> {
    if let Some(file) = context.var("CONTAINERS_REGISTRIES_CONF") {
        return vec![PathBuf::from(file)];
    }
    let user = context
        .var("HOME")
        .map(|home| Path::new(home).join(".config/containers/registries.conf"));
    let main = user
        .filter(|file| file.is_file())
        .unwrap_or_else(|| PathBuf::from("/etc/containers/registries.conf"));
    let mut files = vec![main.clone()];
    let drop_ins = main.with_extension("conf.d");
    if let Ok(entries) = std::fs::read_dir(&drop_ins) {
        let mut extra: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "conf"))
            .collect();
        extra.sort();
        files.extend(extra);
    }
    files
}

/// What containerd's `hosts.toml` for a registry says: where it pulls from, in order, and how it
/// trusts each host.
#[derive(Debug, PartialEq, Eq)]
pub struct ContainerdHosts {
    pub file: PathBuf,
    /// The registry's own address when `server` names another one.
    pub server: Option<String>,
    /// The hosts tried before the server, in the file's order.
    pub hosts: Vec<ContainerdHost>,
}

#[derive(Debug, PartialEq, Eq)]
pub struct ContainerdHost {
    pub url: String,
    pub skip_verify: bool,
    /// CA files it trusts for that host.
    pub ca: Vec<String>,
}

/// containerd's hosts directory: where `config_path` points in the CRI plugin's configuration by
/// convention (Kubernetes nodes, nerdctl).
pub const CONTAINERD_CERTS_D: &str = "/etc/containerd/certs.d";

/// containerd's `hosts.toml` for `login_server` under `certs_d`: the registry's own directory
/// (`host:port` as written), else `_default`. `None` when neither exists.
pub fn containerd_file(certs_d: &Path, login_server: &str) -> Option<PathBuf> {
    [login_server, "_default"]
        .iter()
        .map(|dir| certs_d.join(dir).join("hosts.toml"))
        .find(|file| file.is_file())
}

/// Reads a `hosts.toml` text (from `file`); `Err` with the parser's words.
pub fn containerd_hosts(
    text: &str,
    file: &Path,
    login_server: &str,
) -> Result<ContainerdHosts, String> {
    let table: toml::Table = toml::from_str(text).map_err(|e| e.message().to_owned())?;
    let strings = |value: Option<&toml::Value>| -> Vec<String> {
        match value {
            Some(toml::Value::String(one)) => vec![one.clone()],
            Some(toml::Value::Array(many)) => many
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
            _ => Vec::new(),
        }
    };
    let server = table
        .get("server")
        .and_then(toml::Value::as_str)
        .filter(|server| {
            let own = server
                .strip_prefix("https://")
                .or_else(|| server.strip_prefix("http://"))
                .unwrap_or(server);
            own.trim_end_matches('/') != login_server
        })
        .map(str::to_owned);
    let hosts = table
        .get("host")
        .and_then(toml::Value::as_table)
        .map(|hosts| {
            hosts
                .iter()
                .map(|(url, settings)| ContainerdHost {
                    url: url.clone(),
                    skip_verify: settings
                        .get("skip_verify")
                        .and_then(toml::Value::as_bool)
                        .unwrap_or(false),
                    ca: strings(settings.get("ca")),
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(ContainerdHosts {
        file: file.to_owned(),
        server,
        hosts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const REGISTRIES_CONF: &str = r#"
unqualified-search-registries = ["docker.io"]

[[registry]]
prefix = "myreg.azurecr.io"
location = "myreg.azurecr.io"
insecure = true

[[registry.mirror]]
location = "mirror.corp.example:5000"

[[registry]]
prefix = "myreg.azurecr.io/team"
location = "copy.corp.example/team"

[[registry]]
location = "blocked.azurecr.io"
blocked = true

[[registry]]
prefix = "*.azurecr.io"
location = ""

[[registry]]
location = "other.example"
insecure = true
"#;

    #[test]
    fn podman_rules_apply_by_registry_namespace_and_wildcard() {
        let file = Path::new("/etc/containers/registries.conf");
        let rules = podman_rules(REGISTRIES_CONF, file, "myreg.azurecr.io").unwrap();
        assert_eq!(rules.len(), 2, "{rules:#?}");
        assert!(rules[0].insecure && rules[0].redirected_to.is_none());
        assert_eq!(rules[0].mirrors, ["mirror.corp.example:5000"]);
        assert_eq!(rules[1].prefix, "myreg.azurecr.io/team");
        assert_eq!(
            rules[1].redirected_to.as_deref(),
            Some("copy.corp.example/team")
        );
        let blocked = podman_rules(REGISTRIES_CONF, file, "blocked.azurecr.io").unwrap();
        assert!(blocked.len() == 1 && blocked[0].blocked, "{blocked:#?}");
        // `*.azurecr.io` with an empty location redirects nothing, blocks nothing.
        assert!(
            podman_rules(REGISTRIES_CONF, file, "third.azurecr.io")
                .unwrap()
                .is_empty()
        );
        assert!(
            podman_rules(REGISTRIES_CONF, file, "localhost:5000")
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn podman_reads_the_version_one_lists_too() {
        let text = "[registries.insecure]\nregistries = ['localhost:5000']\n[registries.block]\nregistries = ['evil.example']\n";
        let file = Path::new("r.conf");
        let rules = podman_rules(text, file, "localhost:5000").unwrap();
        assert!(rules.len() == 1 && rules[0].insecure && !rules[0].blocked);
        assert!(podman_rules(text, file, "evil.example").unwrap()[0].blocked);
        assert!(podman_rules("registry = 5", file, "x").is_err());
    }

    #[test]
    fn containerd_hosts_keep_their_order_and_trust() {
        let text = r#"
server = "https://registry-1.docker.io"

[host."https://mirror-b.corp"]
  capabilities = ["pull", "resolve"]
  skip_verify = true

[host."https://mirror-a.corp"]
  capabilities = ["pull"]
  ca = ["/etc/certs/a.crt", "/etc/certs/b.crt"]
"#;
        let file = Path::new("/etc/containerd/certs.d/docker.io/hosts.toml");
        let hosts = containerd_hosts(text, file, "docker.io").unwrap();
        assert_eq!(
            hosts.server.as_deref(),
            Some("https://registry-1.docker.io")
        );
        assert_eq!(hosts.hosts[0].url, "https://mirror-b.corp");
        assert!(hosts.hosts[0].skip_verify && hosts.hosts[0].ca.is_empty());
        assert_eq!(hosts.hosts[1].ca, ["/etc/certs/a.crt", "/etc/certs/b.crt"]);
        let own = containerd_hosts(
            "server = \"https://localhost:5000\"\n",
            file,
            "localhost:5000",
        )
        .unwrap();
        assert!(own.server.is_none() && own.hosts.is_empty());
        assert!(containerd_hosts("[host", file, "x").is_err());
    }
}
