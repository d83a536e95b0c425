//! Which registry: an ACR name (`-n`) with the active cloud's suffix, or any registry by its
//! login server (`--login-server HOST[:PORT]`).

use crate::azure::cloud::{self, Cloud};

/// The registry to check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The registry's name (for messages and `az acr show --name`).
    pub name: String,
    /// `host` or `host:port`; `None` when the cloud has no suffix (LOGIN_SERVER_ERROR).
    pub login_server: Option<String>,
    /// An Azure container registry (its rules for a non-Entra challenge differ).
    pub is_acr: bool,
    /// Where the login server came from, for the report.
    pub source: Source,
    pub cloud: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    CloudSuffix,
    GivenWithSuffix,
    LoginServerFlag,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    #[error("bad registry name {0:?}")]
    BadName(String),
    #[error("suffix {given:?} is not {expected:?}")]
    WrongSuffix { given: String, expected: String },
    #[error("bad login server {0:?}")]
    BadLoginServer(String),
}

/// `-n NAME`: `myregistry`, or `myregistry.azurecr.io` (also with a domain-name-label hash,
/// `myregistry-abc123.azurecr.io`, which az drops and we keep).
pub fn from_name(input: &str, cloud: &Cloud) -> Result<Target, TargetError> {
    let input = input.trim();
    // A pasted URL (`https://myreg.azurecr.io/`) or image (`myreg.azurecr.io/app:v1`): the
    // registry is its host.
    let input = input
        .strip_prefix("https://")
        .or_else(|| input.strip_prefix("http://"))
        .unwrap_or(input);
    let input = input.split('/').next().unwrap_or(input);
    let suffix = cloud.acr_suffix.as_deref();
    match input.split_once('.') {
        Some((label, rest)) => {
            let given = format!(".{rest}");
            let Some(expected) = suffix.filter(|s| s.eq_ignore_ascii_case(&given)) else {
                return Err(TargetError::WrongSuffix {
                    given,
                    expected: suffix.unwrap_or_default().to_owned(),
                });
            };
            let (name, hash) = match label.split_once('-') {
                Some((name, hash)) => (name, Some(hash)),
                None => (label, None),
            };
            if !valid_name(name)
                || hash
                    .is_some_and(|h| h.is_empty() || !h.chars().all(|c| c.is_ascii_alphanumeric()))
            {
                return Err(TargetError::BadName(input.to_owned()));
            }
            Ok(Target {
                name: name.to_owned(),
                login_server: Some(format!("{}{expected}", label.to_ascii_lowercase())),
                is_acr: true,
                source: Source::GivenWithSuffix,
                cloud: cloud.name.clone(),
            })
        }
        None => {
            if !valid_name(input) {
                return Err(TargetError::BadName(input.to_owned()));
            }
            Ok(Target {
                name: input.to_owned(),
                login_server: suffix.map(|s| format!("{}{s}", input.to_ascii_lowercase())),
                is_acr: true,
                source: Source::CloudSuffix,
                cloud: cloud.name.clone(),
            })
        }
    }
}

/// ACR names: 5 to 50 letters and digits.
fn valid_name(name: &str) -> bool {
    (5..=50).contains(&name.len()) && name.chars().all(|c| c.is_ascii_alphanumeric())
}

/// `--login-server HOST[:PORT]`, also pasted as `https://host:port/`.
pub fn from_login_server(input: &str, cloud: &Cloud) -> Result<Target, TargetError> {
    let bad = || TargetError::BadLoginServer(input.to_owned());
    let trimmed = input.trim();
    let without_scheme = match trimmed.split_once("://") {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("https") => rest,
        Some(_) => return Err(bad()),
        None => trimmed,
    };
    let authority = without_scheme.trim_end_matches('/');
    if authority.is_empty() || authority.contains(['/', '@', ' ', '?', '#']) {
        return Err(bad());
    }
    let (host, port) = split_host_port(authority).ok_or_else(bad)?;
    let host_ok = if host.starts_with('[') {
        host.trim_matches(['[', ']'])
            .parse::<std::net::Ipv6Addr>()
            .is_ok()
    } else {
        host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !label.starts_with('-')
        })
    };
    if !host_ok {
        return Err(bad());
    }
    let host = host.to_ascii_lowercase();
    let is_acr = cloud::known_suffixes().any(|suffix| host.ends_with(suffix))
        || cloud
            .acr_suffix
            .as_deref()
            .is_some_and(|suffix| host.ends_with(suffix));
    let login_server = match port {
        Some(port) if port != 443 => format!("{host}:{port}"),
        _ => host.clone(),
    };
    Ok(Target {
        name: host.split('.').next().unwrap_or(&host).to_owned(),
        login_server: Some(login_server),
        is_acr,
        source: Source::LoginServerFlag,
        cloud: cloud.name.clone(),
    })
}

/// `host:port`, `[v6]:port` or a bare host; the port must be a number from 1 to 65535.
pub fn split_host_port(authority: &str) -> Option<(&str, Option<u16>)> {
    if authority.starts_with('[') {
        let end = authority.find(']')?;
        let (host, rest) = authority.split_at(end + 1);
        return match rest.strip_prefix(':') {
            Some(port) => Some((host, Some(port.parse().ok().filter(|p| *p != 0)?))),
            None if rest.is_empty() => Some((host, None)),
            None => None,
        };
    }
    match authority.rsplit_once(':') {
        Some((host, port)) => Some((host, Some(port.parse().ok().filter(|p| *p != 0)?))),
        None => Some((authority, None)),
    }
}

/// A repository name as the distribution spec allows it: lowercase path components of
/// letters and digits joined by `.`, `_`, `__` or `-` runs, separated by `/`.
pub fn is_repository_name(name: &str) -> bool {
    name.len() <= 255
        && name.split('/').all(|component| {
            let bytes = component.as_bytes();
            let alphanumeric = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
            !bytes.is_empty()
                && bytes.first().is_some_and(alphanumeric)
                && bytes.last().is_some_and(alphanumeric)
                && bytes
                    .iter()
                    .all(|b| alphanumeric(b) || matches!(b, b'.' | b'_' | b'-'))
                && !component.contains("..")
        })
}

/// A tag: `[A-Za-z0-9_][A-Za-z0-9._-]{0,127}`.
pub fn is_tag(tag: &str) -> bool {
    let bytes = tag.as_bytes();
    (1..=128).contains(&bytes.len())
        && (bytes[0].is_ascii_alphanumeric() || bytes[0] == b'_')
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repository_names_and_tags_follow_the_distribution_grammar() {
        for good in [
            "hello-world",
            "acr-health/probe",
            "a",
            "team/app_1",
            "a__b",
            "x.y/z-9",
        ] {
            assert!(is_repository_name(good), "{good}");
        }
        for bad in [
            "", "Upper", "/lead", "trail/", "a//b", "-a", "a-", "a b", "a..b", "ä",
        ] {
            assert!(!is_repository_name(bad), "{bad}");
        }
        for good in ["latest", "v1.2.3", "_x", "A-b_c.d", &"t".repeat(128)] {
            assert!(is_tag(good), "{good}");
        }
        for bad in ["", ".x", "-x", "a/b", "a:b", &"t".repeat(129)] {
            assert!(!is_tag(bad), "{bad}");
        }
    }

    #[test]
    fn a_plain_name_takes_the_cloud_suffix() {
        let t = from_name("MyRegistry", &Cloud::named("AzureCloud", None)).unwrap();
        assert_eq!(t.login_server.as_deref(), Some("myregistry.azurecr.io"));
        assert_eq!(t.name, "MyRegistry");
        let t = from_name("example", &Cloud::named("AzureChinaCloud", None)).unwrap();
        assert_eq!(t.login_server.as_deref(), Some("example.azurecr.cn"));
        let t = from_name("example", &Cloud::named("AzureGermanCloud", None)).unwrap();
        assert_eq!(
            t.login_server, None,
            "no suffix: LOGIN_SERVER_ERROR at run time"
        );
    }

    #[test]
    fn a_full_login_server_keeps_its_domain_name_label_hash() {
        let t = from_name("myreg-abc123.azurecr.io", &Cloud::named("AzureCloud", None)).unwrap();
        assert_eq!(t.login_server.as_deref(), Some("myreg-abc123.azurecr.io"));
        assert_eq!(t.name, "myreg");
        assert_eq!(t.source, Source::GivenWithSuffix);
    }

    #[test]
    fn a_pasted_url_or_image_reference_names_its_registry() {
        for pasted in [
            "https://myreg.azurecr.io/",
            "https://MyReg.azurecr.io/v2/",
            "myreg.azurecr.io/app:v1",
            "myreg.azurecr.io/team/app@sha256:abc",
        ] {
            let t = from_name(pasted, &Cloud::named("AzureCloud", None)).unwrap();
            assert_eq!(
                t.login_server.as_deref(),
                Some("myreg.azurecr.io"),
                "{pasted}"
            );
            assert_eq!(t.name.to_ascii_lowercase(), "myreg", "{pasted}");
        }
    }

    #[test]
    fn bad_names_and_foreign_suffixes_are_refused() {
        for bad in [
            "abc",
            "my-reg",
            "localhost:5000",
            "a".repeat(51).as_str(),
            "reg_istry",
            "",
        ] {
            assert!(
                matches!(
                    from_name(bad, &Cloud::named("AzureCloud", None)),
                    Err(TargetError::BadName(_))
                ),
                "{bad}"
            );
        }
        assert_eq!(
            from_name("example.azurecr.cn", &Cloud::named("AzureCloud", None)),
            Err(TargetError::WrongSuffix {
                given: ".azurecr.cn".into(),
                expected: ".azurecr.io".into()
            })
        );
    }

    #[test]
    fn login_servers_with_ports_and_pasted_urls() {
        let t = from_login_server(
            "https://Registry.Example.com:5443/",
            &Cloud::named("AzureCloud", None),
        )
        .unwrap();
        assert_eq!(t.login_server.as_deref(), Some("registry.example.com:5443"));
        assert!(!t.is_acr);
        assert_eq!(
            from_login_server("localhost:443", &Cloud::named("AzureCloud", None))
                .unwrap()
                .login_server
                .as_deref(),
            Some("localhost")
        );
        assert!(
            from_login_server("myreg.azurecr.io", &Cloud::named("AzureCloud", None))
                .unwrap()
                .is_acr
        );
        assert_eq!(
            from_login_server("[::1]:5000", &Cloud::named("AzureCloud", None))
                .unwrap()
                .login_server
                .as_deref(),
            Some("[::1]:5000")
        );
        for bad in [
            "http://x",
            "x:0",
            "x:70000",
            "a b",
            "user@host",
            "-bad.example",
            "x/y",
            "",
        ] {
            assert!(
                from_login_server(bad, &Cloud::named("AzureCloud", None)).is_err(),
                "{bad}"
            );
        }
    }
}
