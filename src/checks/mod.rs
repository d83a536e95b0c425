//! The checks and their typed outcomes. A check never prints: it returns an [`Outcome`] (the
//! check, its status, the code, the facts, the time it took), and the report turns outcomes into
//! text in the user's language.

pub mod docker;
pub mod helm;
pub mod notary;
pub mod process;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use crate::knowledge::{Code, Severity};

/// Checks in az's order; the report follows it whatever order the checks finish in.
pub const ORDER: &[&str] = &[
    "docker.client",
    "docker.daemon",
    "docker.version",
    "docker.pull",
    "cli.version",
    "registry.name",
    "registry.login_server",
    "registry.dns",
    "registry.challenge",
    "registry.refresh_token",
    "registry.access_token",
    "registry.token_accepted",
    "registry.manifest",
    "registry.blob",
    "registry.round_trip",
    "registry.cmk",
    "registry.private_endpoint",
    "helm.command",
    "helm.version",
    "notary.command",
    "notary.version",
];

pub fn position(check: &str) -> usize {
    ORDER
        .iter()
        .position(|c| *c == check)
        .unwrap_or(ORDER.len())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckStatus {
    Ok,
    Error,
    Warning,
    Skipped,
}

/// A text for people, named by its interface-string key and filled in when it is reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text {
    pub key: &'static str,
    pub args: Vec<(&'static str, Arg)>,
}

/// A value for a placeholder: a fact, or another interface string (localized too).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Arg {
    Plain(String),
    /// Another text with its own placeholders.
    Text(Box<Text>),
}

impl Text {
    pub fn ui(key: &'static str) -> Text {
        Text {
            key,
            args: Vec::new(),
        }
    }

    pub fn arg(mut self, name: &'static str, value: impl ToString) -> Text {
        self.args.push((name, Arg::Plain(value.to_string())));
        self
    }

    pub fn arg_text(mut self, name: &'static str, text: Text) -> Text {
        self.args.push((name, Arg::Text(Box::new(text))));
        self
    }

    /// The plain value of a placeholder.
    #[cfg(test)]
    pub fn plain(&self, name: &str) -> Option<&str> {
        self.args.iter().find_map(|(n, v)| match v {
            Arg::Plain(value) if *n == name => Some(value.as_str()),
            _ => None,
        })
    }
}

/// A fact under a finding: another program's own words, kept as they are, or our text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Detail {
    Verbatim(String),
    Text(Text),
}

/// A command a check ran, for `--debug`.
#[derive(Debug, Clone)]
pub struct CommandRecord {
    pub command: String,
    pub exit: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub duration: Duration,
}

/// What one check found.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub check: &'static str,
    pub status: CheckStatus,
    pub code: Option<Code>,
    /// The line for people: what passed, or why it was skipped.
    pub line: Option<Text>,
    /// Values for the code's message (`message.<CODE>`).
    pub message_args: Vec<(&'static str, String)>,
    pub details: Vec<Detail>,
    pub duration: Duration,
    pub commands: Vec<CommandRecord>,
}

impl Outcome {
    pub fn ok(check: &'static str, line: Text) -> Outcome {
        Outcome::new(check, CheckStatus::Ok, None, Some(line))
    }

    /// A finding with a code; its severity decides whether it is an error or a warning.
    pub fn failed(check: &'static str, code: Code) -> Outcome {
        let status = match code.facts().severity {
            Severity::Error => CheckStatus::Error,
            Severity::Warning => CheckStatus::Warning,
        };
        Outcome::new(check, status, Some(code), None)
    }

    pub fn skipped(check: &'static str, why: Text) -> Outcome {
        Outcome::new(check, CheckStatus::Skipped, None, Some(why))
    }

    fn new(
        check: &'static str,
        status: CheckStatus,
        code: Option<Code>,
        line: Option<Text>,
    ) -> Outcome {
        Outcome {
            check,
            status,
            code,
            line,
            message_args: Vec::new(),
            details: Vec::new(),
            duration: Duration::ZERO,
            commands: Vec::new(),
        }
    }

    pub fn detail(mut self, detail: Detail) -> Outcome {
        self.details.push(detail);
        self
    }

    pub fn verbatim(self, text: &str) -> Outcome {
        let text = text.trim_end();
        if text.is_empty() {
            self
        } else {
            self.detail(Detail::Verbatim(text.to_owned()))
        }
    }

    pub fn message_arg(mut self, name: &'static str, value: impl ToString) -> Outcome {
        self.message_args.push((name, value.to_string()));
        self
    }

    pub fn note(self, text: Text) -> Outcome {
        self.detail(Detail::Text(text))
    }

    pub fn commands(mut self, commands: Vec<CommandRecord>) -> Outcome {
        self.commands = commands;
        self
    }

    pub fn is_failure(&self) -> bool {
        self.status == CheckStatus::Error
    }
}

/// How the pull check gets its confirmation.
#[derive(Clone)]
pub enum Confirm {
    /// `--yes`.
    Yes,
    /// Ask on the terminal.
    Ask(Arc<dyn Fn(Text) -> bool + Send + Sync>),
    /// No terminal to ask on and no `--yes`: skip, and say so (az crashes here).
    NoTerminal,
}

/// What every check may use: the time bound, the environment, the working directory.
#[derive(Clone)]
pub struct Context {
    pub timeout: Duration,
    pub env: Arc<HashMap<String, String>>,
    pub cwd: PathBuf,
    pub confirm: Confirm,
    /// `--resolve` entries: host, port, and where to connect instead.
    pub pinned: Arc<Vec<(String, u16, SocketAddr)>>,
}

impl Context {
    /// The `--resolve` pins as the HTTP client takes them: host and address (the client pins a
    /// name for every port).
    pub fn pins_by_host(&self) -> Vec<(String, SocketAddr)> {
        self.pinned
            .iter()
            .map(|(h, _, a)| (h.clone(), *a))
            .collect()
    }

    pub fn var(&self, name: &str) -> Option<&str> {
        self.env
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }
}

/// `2.10.0` → `[2, 10, 0]`, for comparing versions numerically (`2.11` is `2.11.0`).
pub fn version_numbers(version: &str) -> Vec<u64> {
    let mut numbers: Vec<u64> = version
        .split('.')
        .map(|part| part.parse().unwrap_or(0))
        .collect();
    while numbers.len() < 3 {
        numbers.push(0);
    }
    numbers
}

/// The dotted version right after `marker` in `text`: `Version:"v3.14.0"` → `3.14.0`.
pub fn version_after(text: &str, marker: &str) -> Option<String> {
    text.match_indices(marker).find_map(|(at, _)| {
        let rest = text[at + marker.len()..].trim_start();
        let rest = rest.strip_prefix('v').unwrap_or(rest);
        let version: String = rest
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == '.')
            .collect();
        let version = version.trim_end_matches('.');
        (!version.is_empty() && version.starts_with(|c: char| c.is_ascii_digit()))
            .then(|| version.to_owned())
    })
}

/// A check's outcome when its tool could not be run: the code, and why.
pub fn could_not_run(check: &'static str, code: Code, error: &process::ProcessError) -> Outcome {
    Outcome::failed(check, code).note(error.describe())
}

/// The outcome of a check that did not run because an earlier one failed.
pub fn skipped_because(check: &'static str, code: Code) -> Outcome {
    Outcome::skipped(
        check,
        Text::ui("health.skipped_because").arg("code", code.as_str()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_read_from_helm_and_notary_output() {
        let helm3 = r#"version.BuildInfo{Version:"v3.14.0", GitCommit:"3fc9f4b"}"#;
        let helm2 = r#"Client: &version.Version{SemVer:"v2.16.12", GitCommit:"47f0b88"}"#;
        assert_eq!(version_after(helm3, "Version:\""), Some("3.14.0".into()));
        assert_eq!(version_after(helm2, "SemVer:\""), Some("2.16.12".into()));
        assert_eq!(
            version_after("notary\n Version:    0.6.1\n", "Version:"),
            Some("0.6.1".into())
        );
        assert_eq!(
            version_after("notary\n Version:    \n Git commit: \n", "Version:"),
            None
        );
        assert_eq!(version_after("garbage", "Version:"), None);
        assert!(version_numbers("2.10.0") < version_numbers("2.11.0"));
        assert_eq!(version_numbers("2.11"), version_numbers("2.11.0"));
        assert!(version_numbers("10.0.0") > version_numbers("2.11.0"));
    }
}
