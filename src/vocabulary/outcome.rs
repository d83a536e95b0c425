//! What a check found: its status, its code, the facts under it and the commands it ran. A check
//! never prints; the report turns outcomes into text in the user's language.

use std::time::Duration;

use serde::Serialize;

use super::knowledge::{Code, Severity};
use super::{Check, Text};
use crate::vocabulary::ui;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckStatus {
    Ok,
    Error,
    Warning,
    Skipped,
}

/// A fact under a finding: another program's own words, kept as they are, or our text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Detail {
    Verbatim(String),
    Text(Text),
}

/// A command a check ran, or an HTTP request it made, for `--debug`.
#[derive(Debug, Clone)]
pub struct CommandRecord {
    pub command: String,
    pub exit: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub duration: Duration,
    /// For an HTTP request (`exit` is its status): how long each phase took.
    pub timings: Option<Timings>,
    /// A request that is part of what the check found (the data probe's): shown among its
    /// details at every verbosity, not only with `--verbose`.
    pub part_of_finding: bool,
}

/// How long an HTTP request took, in milliseconds: the phases of opening its connection each on
/// its own, the first byte and the whole from the start of the request (as curl's `-w` times).
/// A connection phase is `None` when the request opened no connection (it reused one) or the
/// phase did not happen (no name to look up, no TLS).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Timings {
    pub dns_ms: Option<u64>,
    pub connect_ms: Option<u64>,
    pub tls_ms: Option<u64>,
    /// Until the status and headers arrived.
    pub first_byte_ms: Option<u64>,
    pub total_ms: u64,
    pub reused_connection: bool,
}

impl Timings {
    /// A request that got no answer: only its total time is known.
    pub fn unanswered(elapsed: Duration) -> Timings {
        Timings {
            total_ms: Timings::millis(elapsed),
            ..Timings::default()
        }
    }

    /// A duration as this struct counts it: whole milliseconds.
    pub fn millis(duration: Duration) -> u64 {
        u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
    }
}

/// What one check found.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub check: Check,
    pub status: CheckStatus,
    pub code: Option<Code>,
    /// The line for people: what passed, or why it was skipped.
    pub line: Option<Text>,
    /// Values for the code's message (`message.<CODE>`).
    pub message_args: Vec<(&'static str, String)>,
    pub details: Vec<Detail>,
    pub duration: Duration,
    pub commands: Vec<CommandRecord>,
    /// For a check that did not run because a check it needs found a problem: that code.
    pub skipped_because: Option<Code>,
    /// Facts for scripts, each a member of the check's object in the `-o` document.
    pub data: Vec<(&'static str, serde_json::Value)>,
}

impl Outcome {
    pub fn ok(check: Check, line: Text) -> Outcome {
        Outcome::new(check, CheckStatus::Ok, None, Some(line))
    }

    /// A finding with a code; its severity decides whether it is an error or a warning.
    pub fn failed(check: Check, code: Code) -> Outcome {
        debug_assert!(
            code == Code::UNEXPECTED_ERROR || check.codes().contains(&code),
            "{check} reports {code:?}, which Check::codes does not list for it"
        );
        let status = match code.facts().severity {
            Severity::Error => CheckStatus::Error,
            Severity::Warning => CheckStatus::Warning,
        };
        Outcome::new(check, status, Some(code), None)
    }

    pub fn skipped(check: Check, why: Text) -> Outcome {
        Outcome::new(check, CheckStatus::Skipped, None, Some(why))
    }

    /// A check that did not run because `code` was found by a check it needs ([`Check::needs`]).
    pub fn skipped_because(check: Check, code: Code) -> Outcome {
        let why = Text::ui(ui::HEALTH_SKIPPED_BECAUSE).arg("code", code.as_str());
        Outcome {
            skipped_because: Some(code),
            ..Outcome::skipped(check, why)
        }
    }

    /// Whether this outcome found a problem that skips the checks that need this one.
    pub fn blocks_dependents(&self) -> bool {
        self.code.is_some() && matches!(self.status, CheckStatus::Error | CheckStatus::Warning)
    }

    fn new(check: Check, status: CheckStatus, code: Option<Code>, line: Option<Text>) -> Outcome {
        Outcome {
            check,
            status,
            code,
            line,
            message_args: Vec::new(),
            details: Vec::new(),
            duration: Duration::ZERO,
            commands: Vec::new(),
            skipped_because: None,
            data: Vec::new(),
        }
    }

    /// `value` as the member `name` of the check's object in the `-o` document.
    pub fn data(mut self, name: &'static str, value: serde_json::Value) -> Outcome {
        self.data.push((name, value));
        self
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

    /// Adds commands the check ran or requests it made, after those it has.
    pub fn commands(mut self, commands: Vec<CommandRecord>) -> Outcome {
        self.commands.extend(commands);
        self
    }

    pub fn is_failure(&self) -> bool {
        self.status == CheckStatus::Error
    }
}
