//! az's own files: the INI `config` (`azconfig::ini_value`, `azconfig::default_registry`) and
//! `azureProfile.json` (`arm::subscription`, read from `AZURE_CONFIG_DIR` as the binary does).
//! The same bytes are tried as both files.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use acr_health::azure::{arm, config as azconfig};
use libfuzzer_sys::fuzz_target;

fn dir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().expect("temp dir").keep())
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    // `section\nkey\nfile…` for ini_value with any section and key.
    let mut parts = text.splitn(3, '\n');
    let (section, key, rest) = (
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
    );
    if let Some(value) = azconfig::ini_value(rest, section, key) {
        assert_eq!(value, value.trim());
        assert!(rest.contains(&value));
    }
    if let Some(value) = azconfig::ini_value(&text, "defaults", "acr") {
        assert!(text.contains(&value));
    }

    let dir = dir();
    std::fs::write(dir.join("config"), data).expect("write config");
    std::fs::write(dir.join("azureProfile.json"), data).expect("write profile");
    let config_dir = dir.display().to_string();
    let env = |name: &str| (name == "AZURE_CONFIG_DIR").then(|| config_dir.clone());
    if let Some(name) = azconfig::default_registry(env) {
        assert!(!name.is_empty());
    }
    if let Some(id) = arm::subscription(None, "AzureCloud", env) {
        assert!(!id.is_empty());
    }
    let flag = key;
    if let Some(id) = arm::subscription(Some(flag), section, env) {
        assert!(!id.is_empty() || flag.is_empty());
    }
});
