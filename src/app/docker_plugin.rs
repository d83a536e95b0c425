//! acr-health as a Docker CLI plugin: placed as `~/.docker/cli-plugins/docker-acr`, it answers
//! `docker acr check-health …` as az answers `az acr check-health …`, and `docker acr explain …`.
//! docker asks a plugin for its metadata with the argument `docker-cli-plugin-metadata`, and runs
//! it with the plugin's name as the first argument (plugin names are lower-case letters and
//! digits only, so not `acr-health`).

use std::ffi::OsString;

use serde_json::json;

use crate::vocabulary::knowledge::Language;
use crate::vocabulary::ui;

/// The name docker knows the plugin by (`docker acr`), and the file docker runs for it.
const PLUGIN: &str = "acr";
const PLUGIN_FILE: &str = "docker-acr";

/// Whether docker runs acr-health as its plugin (the program is `docker-acr`).
pub fn is_plugin(args: &[OsString]) -> bool {
    args.first()
        .and_then(|program| std::path::Path::new(program).file_name())
        .is_some_and(|name| name == PLUGIN_FILE)
}

/// The arguments as acr-health reads them. docker runs `docker-acr acr ARGS`: `acr check-health`
/// is acr-health's own command, and anything else (`acr explain`) loses the plugin's name.
pub fn arguments(mut args: Vec<OsString>) -> Vec<OsString> {
    let as_plugin = is_plugin(&args);
    let own = |arg: &OsString| arg == "check-health" || arg == "show-endpoints";
    if as_plugin
        && args.get(1).is_some_and(|first| first == PLUGIN)
        && !args.get(2).is_some_and(own)
    {
        args.remove(1);
    }
    args
}

/// Whether docker asks for the plugin's metadata.
pub fn asked_for_metadata(args: &[OsString]) -> bool {
    args.len() == 2 && args[1] == "docker-cli-plugin-metadata"
}

/// What docker shows of the plugin in `docker --help`.
pub fn metadata(language: &Language) -> String {
    json!({
        "SchemaVersion": "0.1.0",
        "Vendor": "acr-health",
        "Version": env!("CARGO_PKG_VERSION"),
        "ShortDescription": language.ui(ui::HELP_DOCKER_PLUGIN),
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_puts_the_plugins_name_first() {
        let os = |args: &[&str]| args.iter().map(OsString::from).collect::<Vec<_>>();
        let plugin = "/home/u/.docker/cli-plugins/docker-acr";
        assert_eq!(
            arguments(os(&[plugin, "acr", "explain", "X"])),
            os(&[plugin, "explain", "X"])
        );
        assert_eq!(
            arguments(os(&[plugin, "acr", "check-health", "-n", "r"])),
            os(&[plugin, "acr", "check-health", "-n", "r"])
        );
        assert_eq!(
            arguments(os(&["acr-health", "acr", "--help"])),
            os(&["acr-health", "acr", "--help"])
        );
        assert!(asked_for_metadata(&os(&[
            plugin,
            "docker-cli-plugin-metadata"
        ])));
        assert!(!asked_for_metadata(&os(&["acr-health", "explain"])));
    }
}
