//! The credentials docker keeps for a registry, found as docker finds them: a credential helper
//! named for the host (`credHelpers`), else the one for every host (`credsStore`), else the
//! `auths` entry of `config.json` itself. A helper is docker's `docker-credential-<name>`,
//! run as `docker-credential-<name> get` with the registry's host on stdin.

use std::path::{Path, PathBuf};

use base64::Engine;
use serde_json::Value;

use crate::system::Context;
use crate::system::process::{self, ProcessError};
use crate::vocabulary::{CommandRecord, Text};
use crate::vocabulary::{Ui, ui};

/// Where docker keeps the credentials for one registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stored {
    /// In `config.json`: user and password.
    InFile { user: String, password: String },
    /// Behind a credential helper: its name, `desktop` for `docker-credential-desktop`.
    Helper(String),
}

/// What docker keeps for `login_server` in the text of its `config.json`, if anything. Pure, so
/// the fuzz target reaches it.
pub fn stored(text: &str, login_server: &str) -> Option<Stored> {
    let json: Value = serde_json::from_str(text).ok()?;
    let named = json
        .get("credHelpers")
        .and_then(|helpers| helpers.get(login_server))
        .and_then(Value::as_str);
    // An empty name is no helper: docker then reads the file.
    let helper = named
        .or_else(|| json.get("credsStore").and_then(Value::as_str))
        .filter(|name| !name.is_empty());
    if let Some(helper) = helper {
        return Some(Stored::Helper(helper.to_owned()));
    }
    credentials_in_file(&json, login_server)
        .map(|(user, password)| Stored::InFile { user, password })
}

/// Basic credentials for `login_server` in the text of docker's `config.json` (`auths` only).
pub fn credentials_in_docker_config(text: &str, login_server: &str) -> Option<(String, String)> {
    credentials_in_file(&serde_json::from_str(text).ok()?, login_server)
}

/// The `auths` entry for `login_server` (an exact key first, else one written as docker writes
/// them, with a scheme or a path), from its `auth` (base64 of `user:password`) or else its
/// `username` and `password`, as docker reads them.
fn credentials_in_file(json: &Value, login_server: &str) -> Option<(String, String)> {
    let auths = json.get("auths")?.as_object()?;
    let entry = auths.get(login_server).or_else(|| {
        auths.iter().find_map(|(key, value)| {
            // docker's `ConvertToHostname`: one `http://` or `https://` off, and any path.
            let key = key
                .strip_prefix("https://")
                .or_else(|| key.strip_prefix("http://"))
                .unwrap_or(key);
            let host = key.split('/').next().unwrap_or_default();
            host.eq_ignore_ascii_case(login_server).then_some(value)
        })
    })?;
    // An empty `auth` is no `auth`: docker falls back to the other fields then.
    if let Some(auth) = entry
        .get("auth")
        .and_then(|a| a.as_str())
        .filter(|a| !a.is_empty())
    {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(auth)
            .ok()?;
        let text = String::from_utf8(decoded).ok()?;
        let (user, password) = text.split_once(':')?;
        return Some((user.to_owned(), password.to_owned()));
    }
    let user = entry.get("username")?.as_str()?;
    let password = entry.get("password")?.as_str()?;
    Some((user.to_owned(), password.to_owned()))
}

/// The user and secret a helper's `get` printed, or why there are none to use. docker's helpers
/// print `{"ServerURL", "Username", "Secret"}`; the user `<token>` marks an identity token.
pub fn helper_answer(stdout: &str) -> Result<(String, String), HelperAnswer> {
    let json: Value = serde_json::from_str(stdout).map_err(|_| HelperAnswer::Unreadable)?;
    let field = |name: &str| json.get(name).and_then(Value::as_str).unwrap_or_default();
    let (user, secret) = (field("Username"), field("Secret"));
    if user == "<token>" {
        return Err(HelperAnswer::IdentityToken);
    }
    if user.is_empty() || secret.is_empty() {
        return Err(HelperAnswer::Empty);
    }
    Ok((user.to_owned(), secret.to_owned()))
}

/// Why a helper's answer gives no user and password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HelperAnswer {
    Unreadable,
    Empty,
    IdentityToken,
}

/// The container client's credentials for `login_server`, from the first of its files that
/// keeps any ([`config_paths`]), and notes that say where they came from or why a helper gave
/// none. The helper runs within the timeout; its output is never recorded.
pub async fn credentials(
    context: &Context,
    login_server: &str,
    podman: bool,
    records: &mut Vec<CommandRecord>,
) -> (Option<(String, String)>, Vec<Text>) {
    let mut notes = Vec::new();
    for path in config_paths(context, podman) {
        let shown = path.display().to_string();
        let unreadable = |reason: String| {
            Text::ui(ui::HEALTH_REGISTRY_CONFIG_UNREADABLE)
                .arg("path", &shown)
                .arg("reason", reason)
        };
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            // No such file: nothing kept there, which needs no word.
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => continue,
            Err(error) => {
                notes.push(unreadable(error.to_string()));
                continue;
            }
        };
        if let Err(error) = serde_json::from_str::<Value>(&text) {
            notes.push(unreadable(error.to_string()));
            continue;
        }
        if stored(&text, login_server).is_some() {
            let (found, more) = from_file(context, &text, &shown, login_server, records).await;
            notes.extend(more);
            return (found, notes);
        }
    }
    (None, notes)
}

/// What the file `shown` (its `text`) keeps for `login_server`, which it keeps something for.
async fn from_file(
    context: &Context,
    text: &str,
    shown: &str,
    login_server: &str,
    records: &mut Vec<CommandRecord>,
) -> (Option<(String, String)>, Vec<Text>) {
    match stored(text, login_server) {
        None => (None, Vec::new()),
        Some(Stored::InFile { user, password }) => (
            Some((user, password)),
            vec![
                Text::ui(ui::HEALTH_REGISTRY_CREDENTIALS_FROM_CONFIG)
                    .arg("login_server", login_server)
                    .arg("path", shown),
            ],
        ),
        Some(Stored::Helper(name)) => {
            let command = format!("docker-credential-{name}");
            let note = |key: Ui| {
                Text::ui(key)
                    .arg("helper", &command)
                    .arg("login_server", login_server)
            };
            // A helper is a name on PATH, never a path a config file points at.
            let found = if command.contains('/') {
                Err(ProcessError::NotFound {
                    command: command.clone(),
                })
            } else {
                process::resolve_trusted(&command, context)
            };
            let finished = match found {
                Ok(path) => {
                    process::run_secret(&path, &command, &["get"], login_server, context, records)
                        .await
                }
                Err(error) => Err(error),
            };
            match finished {
                Ok(done) if done.success() => match helper_answer(&done.stdout) {
                    Ok(found) => (Some(found), vec![note(ui::HEALTH_REGISTRY_HELPER_USED)]),
                    Err(HelperAnswer::IdentityToken) => {
                        (None, vec![note(ui::HEALTH_REGISTRY_HELPER_IDENTITY_TOKEN)])
                    }
                    Err(HelperAnswer::Empty | HelperAnswer::Unreadable) => {
                        (None, vec![note(ui::HEALTH_REGISTRY_HELPER_NOTHING)])
                    }
                },
                // Helpers print their errors on stdout, where a secret could be too: only
                // docker's own "not found" message is recognized there, and stderr is shown.
                Ok(done) if done.stdout.contains("credentials not found") => {
                    (None, vec![note(ui::HEALTH_REGISTRY_HELPER_NOTHING)])
                }
                Ok(done) => (
                    None,
                    vec![note(ui::HEALTH_REGISTRY_HELPER_FAILED).arg("reason", done.stderr.trim())],
                ),
                Err(error) => (
                    None,
                    vec![
                        note(ui::HEALTH_REGISTRY_HELPER_NOT_RUN)
                            .arg_text("reason", error.describe()),
                    ],
                ),
            }
        }
    }
}

/// Whether the container client keeps a credentials file here at all (someone uses it on this
/// machine).
pub fn config_exists(context: &Context, podman: bool) -> bool {
    config_paths(context, podman)
        .iter()
        .any(|path| path.is_file())
}

/// Where the container client reads credentials, in its order: docker's `config.json`
/// (`DOCKER_CONFIG`, else `~/.docker`); podman's `auth.json` (`REGISTRY_AUTH_FILE` alone when
/// it is set, else `$XDG_RUNTIME_DIR/containers/auth.json`, then
/// `~/.config/containers/auth.json`), then docker's.
pub fn config_paths(context: &Context, podman: bool) -> Vec<PathBuf> {
    let home = context.var("HOME").map(Path::new);
    let docker = context
        .var("DOCKER_CONFIG")
        .map(PathBuf::from)
        .or_else(|| home.map(|h| h.join(".docker")))
        .map(|dir| dir.join("config.json"));
    if !podman {
        return docker.into_iter().collect();
    }
    if let Some(file) = context.var("REGISTRY_AUTH_FILE") {
        return vec![PathBuf::from(file)];
    }
    let runtime = context
        .var("XDG_RUNTIME_DIR")
        .map(|dir| Path::new(dir).join("containers/auth.json"));
    let user = home.map(|h| h.join(".config/containers/auth.json"));
    [runtime, user, docker].into_iter().flatten().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn podman_reads_its_auth_files_before_dockers() {
        let paths = |vars: &[(&str, &str)], podman| {
            config_paths(
                &Context::for_tests(vars, std::time::Duration::from_secs(1)),
                podman,
            )
        };
        let home = [("HOME", "/home/u"), ("XDG_RUNTIME_DIR", "/run/user/1000")];
        assert_eq!(
            paths(&home, false),
            [PathBuf::from("/home/u/.docker/config.json")]
        );
        assert_eq!(
            paths(&home, true),
            [
                "/run/user/1000/containers/auth.json",
                "/home/u/.config/containers/auth.json",
                "/home/u/.docker/config.json"
            ]
            .map(PathBuf::from)
        );
        let chosen = [
            ("HOME", "/home/u"),
            ("REGISTRY_AUTH_FILE", "/tmp/auth.json"),
        ];
        assert_eq!(paths(&chosen, true), [PathBuf::from("/tmp/auth.json")]);
        assert_eq!(
            paths(&chosen, false),
            [PathBuf::from("/home/u/.docker/config.json")]
        );
    }

    #[test]
    fn a_helper_for_the_host_comes_before_the_store_and_the_file() {
        let text = r#"{"auths": {"r.example": {"auth": "YTpi"}},
            "credsStore": "desktop", "credHelpers": {"r.example": "acr-env"}}"#;
        assert_eq!(
            stored(text, "r.example"),
            Some(Stored::Helper("acr-env".into()))
        );
        assert_eq!(
            stored(text, "other.example"),
            Some(Stored::Helper("desktop".into()))
        );
        let file_only = r#"{"auths": {"r.example": {"auth": "YTpi"}}, "credsStore": ""}"#;
        assert_eq!(
            stored(file_only, "r.example"),
            Some(Stored::InFile {
                user: "a".into(),
                password: "b".into()
            })
        );
        assert_eq!(stored(file_only, "other.example"), None);
    }

    #[tokio::test]
    async fn a_helper_named_with_a_path_is_not_run() {
        use std::sync::Arc;
        let home = tempfile::tempdir().unwrap();
        let marker = home.path().join("ran");
        std::fs::create_dir(home.path().join(".docker")).unwrap();
        std::fs::write(
            home.path().join(".docker/config.json"),
            r#"{"credsStore": "x/../../helper"}"#,
        )
        .unwrap();
        // Where the path would lead from the current directory, a helper that leaves a mark.
        let work = home.path().join("work");
        std::fs::create_dir_all(work.join("docker-credential-x")).unwrap();
        let helper = home.path().join("helper");
        std::fs::write(
            &helper,
            format!("#!/bin/sh\ntouch '{}'\n", marker.display()),
        )
        .unwrap();
        std::fs::set_permissions(
            &helper,
            <std::fs::Permissions as std::os::unix::fs::PermissionsExt>::from_mode(0o755),
        )
        .unwrap();
        let context = Context {
            timeout: std::time::Duration::from_secs(5),
            env: Arc::new([("HOME".to_owned(), home.path().display().to_string())].into()),
            cwd: work,
            confirm: crate::system::Confirm::Yes,
            pins: Default::default(),
        };
        let mut records = Vec::new();
        let (found, notes) = credentials(&context, "r.example", false, &mut records).await;
        assert_eq!(found, None);
        assert_eq!(notes.len(), 1);
        assert_eq!(notes[0].key, ui::HEALTH_REGISTRY_HELPER_NOT_RUN);
        assert!(records.is_empty() && !marker.exists());
    }

    #[test]
    fn a_helper_answer_gives_a_user_and_secret_or_says_why_not() {
        let answer = r#"{"ServerURL":"r.example","Username":"alice","Secret":"s3cret"}"#;
        assert_eq!(helper_answer(answer), Ok(("alice".into(), "s3cret".into())));
        let token = r#"{"ServerURL":"r.example","Username":"<token>","Secret":"eyJ"}"#;
        assert_eq!(helper_answer(token), Err(HelperAnswer::IdentityToken));
        assert_eq!(
            helper_answer(r#"{"Username":"","Secret":""}"#),
            Err(HelperAnswer::Empty)
        );
        assert_eq!(helper_answer("not json"), Err(HelperAnswer::Unreadable));
    }
}
