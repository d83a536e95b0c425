//! What the Azure CLI's configuration says: the default registry (`az configure --defaults
//! acr=NAME`) from `AZURE_DEFAULTS_ACR` or the `[defaults]` section of `$AZURE_CONFIG_DIR/config`.

use std::path::PathBuf;

use crate::net::http::printable;

/// The az configuration directory: `AZURE_CONFIG_DIR`, else `~/.azure`.
pub fn config_dir(env: impl Fn(&str) -> Option<String>) -> Option<PathBuf> {
    env("AZURE_CONFIG_DIR")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            env("HOME")
                .filter(|h| !h.is_empty())
                .map(|h| PathBuf::from(h).join(".azure"))
        })
}

/// The configured default registry name, if any. An unreadable config counts as none: az's own
/// config problems are not ours to fail on. A name with control characters is not a registry name
/// and is refused as one; they are made visible (U+FFFD) first, so the refusal cannot write escape
/// sequences from a corrupt file to the terminal.
pub fn default_registry(env: impl Fn(&str) -> Option<String>) -> Option<String> {
    if let Some(name) = env("AZURE_DEFAULTS_ACR").filter(|n| !n.trim().is_empty()) {
        return Some(printable(name.trim()));
    }
    let text = std::fs::read_to_string(config_dir(&env)?.join("config")).ok()?;
    ini_value(&text, "defaults", "acr")
        .filter(|v| !v.is_empty())
        .map(|v| printable(&v))
}

/// A value from an INI file as Python's configparser reads it: `[section]`, `key = value` or
/// `key: value`, `#`/`;` comments, case-insensitive keys.
pub fn ini_value(text: &str, section: &str, key: &str) -> Option<String> {
    let mut in_section = false;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with(['#', ';']) {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            in_section = name.trim() == section;
            continue;
        }
        if !in_section {
            continue;
        }
        if let Some((_, v)) = line
            .split_once(['=', ':'])
            .filter(|(k, _)| k.trim().eq_ignore_ascii_case(key))
        {
            return Some(v.trim().to_owned());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_registry_comes_from_the_environment_then_the_config_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("config"),
            "[core]\noutput = json\n\n[defaults]\n# a comment\ngroup = rg\nACR = fromfile\n",
        )
        .unwrap();
        let dir_str = dir.path().display().to_string();
        let env = |vars: Vec<(&'static str, String)>| {
            move |name: &str| {
                vars.iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, v)| v.clone())
            }
        };
        assert_eq!(
            default_registry(env(vec![("AZURE_CONFIG_DIR", dir_str.clone())])).as_deref(),
            Some("fromfile")
        );
        assert_eq!(
            default_registry(env(vec![
                ("AZURE_CONFIG_DIR", dir_str),
                ("AZURE_DEFAULTS_ACR", "fromenv".into())
            ]))
            .as_deref(),
            Some("fromenv")
        );
        assert_eq!(
            default_registry(env(vec![("AZURE_CONFIG_DIR", "/nonexistent".into())])),
            None
        );
    }

    #[test]
    fn a_default_registry_cannot_write_escape_sequences() {
        // Before: `acr = evil<ESC>[2J` reached the usage error on stderr as it was.
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("config"),
            "[defaults]\nacr = evil\u{1b}[2Jx\n",
        )
        .unwrap();
        let dir_str = dir.path().display().to_string();
        let env = |name: &str| (name == "AZURE_CONFIG_DIR").then(|| dir_str.clone());
        assert_eq!(default_registry(env).as_deref(), Some("evil\u{fffd}[2Jx"));
    }

    #[test]
    fn keys_outside_the_section_do_not_count() {
        assert_eq!(
            ini_value("[core]\nacr = no\n[defaults]\n", "defaults", "acr"),
            None
        );
        assert_eq!(
            ini_value("[defaults]\nacr: yes\n", "defaults", "acr").as_deref(),
            Some("yes")
        );
    }
}
