//! Outcomes into words: for people on stderr (az's line grammar, localized, with the fix under
//! each finding), and one document for scripts on stdout.

use std::io::{self, Write};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Serialize;
use serde_json::{Value, json};

use crate::render::{self, TextMode, ansi, paint};
use crate::templates::{TemplateError, Templates};
use crate::vocabulary::ui;
use crate::vocabulary::{
    Arg, Check, CheckStatus, Code, CommandRecord, Detail, Facts, Language, Outcome, Text,
};

/// What the user asked to see.
#[derive(Debug, Clone, Copy, Default)]
pub struct Verbosity {
    pub only_errors: bool,
    pub verbose: bool,
    pub debug: bool,
}

pub struct Report {
    language: &'static Language,
    /// The container client's name, for the names of its checks.
    client: String,
    /// The user's own values, for the solutions: the plan's, and what the outcomes so far told.
    facts: Mutex<Facts>,
    /// The explain command as the user types it (`az acr explain` through az).
    explain: &'static str,
    templates: Templates,
    mode: TextMode,
    verbosity: Verbosity,
    screen: Arc<Mutex<Screen>>,
}

/// Fills in a text in the report's language. The name of the check it belongs to is available
/// to every text as `{check}`.
pub fn localize(language: &Language, text: &Text, check_name: &str) -> String {
    let values: Vec<(&str, String)> = text
        .args
        .iter()
        .map(|(n, v)| match v {
            Arg::Plain(value) => (*n, value.clone()),
            Arg::Text(inner) => (*n, localize(language, inner, check_name)),
        })
        .collect();
    let mut args: Vec<(&str, &str)> = values.iter().map(|(n, v)| (*n, v.as_str())).collect();
    args.push(("check", check_name));
    language.format(text.key, &args)
}

/// The message of a finding: the code's sentence with the facts filled in.
pub fn message(language: &Language, outcome: &Outcome) -> Option<String> {
    let code = outcome.code?;
    let args: Vec<(&str, &str)> = outcome
        .message_args
        .iter()
        .map(|(n, v)| (*n, v.as_str()))
        .collect();
    Some(language.format_named(&format!("message.{}", code.as_str()), &args))
}

#[derive(Serialize)]
struct DetailView {
    text: String,
    verbatim: bool,
}

/// A program a check ran (`--debug`), or a request it made (`--verbose`), as a line.
#[derive(Serialize)]
struct CommandView {
    command: String,
    exit: String,
    /// A request's line, in full; `None` for a program.
    request: Option<String>,
    ms: u128,
    stdout: Vec<String>,
    stderr: Vec<String>,
}

#[derive(Serialize)]
struct CheckView {
    mark: String,
    line: Option<String>,
    code: Option<&'static str>,
    severity: Option<&'static str>,
    message: Option<String>,
    details: Vec<DetailView>,
    solutions: Vec<String>,
    url: Option<String>,
    explain: &'static str,
    duration: String,
    commands: Vec<CommandView>,
}

#[derive(Serialize)]
struct SummaryView {
    stopped_at: Option<&'static str>,
    only_errors: bool,
    total: Option<String>,
    count: usize,
}

impl Report {
    pub fn new(
        language: &'static Language,
        client: &str,
        facts: Facts,
        explain: &'static str,
        mode: TextMode,
        verbosity: Verbosity,
        screen: Arc<Mutex<Screen>>,
    ) -> Result<Report, TemplateError> {
        Ok(Report {
            language,
            client: client.to_owned(),
            facts: Mutex::new(facts),
            explain,
            templates: Templates::new(language)?,
            mode,
            verbosity,
            screen,
        })
    }

    pub fn screen(&self) -> Arc<Mutex<Screen>> {
        self.screen.clone()
    }

    /// The text of one outcome as it is written (wrapped for the terminal), or `None` when
    /// `--only-show-errors` leaves it out. It depends on the outcome alone, so an outcome that
    /// arrives before its turn can be made into text while slower checks still run.
    pub fn text(&self, outcome: &Outcome) -> Result<Option<String>, TemplateError> {
        // The summary's template compiles with the first outcome's text, while the checks still
        // run, not after the last one; later calls find it compiled.
        self.templates.compile("summary.txt")?;
        if self.verbosity.only_errors && outcome.status != CheckStatus::Error {
            return Ok(None);
        }
        Ok(Some(self.wrapped(self.render(outcome)?)))
    }

    /// Writes a text made by [`Report::text`].
    pub fn print(&self, text: &str) {
        let mut screen = self.screen.lock().unwrap_or_else(|e| e.into_inner());
        screen.print(text);
    }

    /// The text of one outcome, before wrapping.
    pub fn render(&self, outcome: &Outcome) -> Result<String, TemplateError> {
        self.templates.render("check.txt", &self.view(outcome))
    }

    /// The closing lines: where the run stopped, the total time, and the FAQ link.
    pub fn summary(
        &self,
        stopped_at: Option<Code>,
        count: usize,
        total: Duration,
    ) -> Result<(), TemplateError> {
        let view = SummaryView {
            stopped_at: stopped_at.map(Code::as_str),
            only_errors: self.verbosity.only_errors,
            total: self
                .verbosity
                .verbose
                .then(|| format!("{:.2}", total.as_secs_f64())),
            count,
        };
        let text = self.templates.render("summary.txt", &view)?;
        self.print(&self.wrapped(text));
        Ok(())
    }

    fn view(&self, outcome: &Outcome) -> CheckView {
        let language = self.language;
        // Every outcome may tell a value of the user's (the login server); a finding's
        // solutions name all that is known by then.
        let facts = {
            let mut facts = self.facts.lock().unwrap_or_else(|e| e.into_inner());
            facts.learn(outcome);
            facts.clone()
        };
        let check_name = language.check_name(outcome.check, &self.client);
        let color = self.mode.color();
        let terminal = matches!(self.mode, TextMode::Terminal { .. });
        let (symbol, style) = match outcome.status {
            CheckStatus::Ok => ("✓", ansi::GREEN),
            CheckStatus::Error => ("✗", ansi::RED),
            CheckStatus::Warning => ("!", ansi::YELLOW),
            CheckStatus::Skipped => ("-", ansi::DIM),
        };
        // Marks only on a terminal; piped lines keep az's grammar exactly.
        let mark = if terminal {
            format!("{} ", paint(color, style, symbol))
        } else {
            String::new()
        };
        let details: Vec<DetailView> = outcome
            .details
            .iter()
            .flat_map(|detail| match detail {
                Detail::Verbatim(text) => text
                    .lines()
                    .map(|l| DetailView {
                        text: l.trim_end().to_owned(),
                        verbatim: true,
                    })
                    .collect::<Vec<_>>(),
                Detail::Text(text) => vec![DetailView {
                    text: render::inline(&localize(language, text, &check_name), self.mode),
                    verbatim: false,
                }],
            })
            .collect();
        let solutions = outcome
            .code
            .map(|code| {
                language
                    .text(code)
                    .solutions
                    .iter()
                    .map(|s| render::inline(&facts.fill(language, s), self.mode))
                    .collect()
            })
            .unwrap_or_default();
        // The requests that are part of a finding (the data probe's) are among its details at
        // every verbosity; the others, and the programs, only when asked for.
        let with_phases = self.verbosity.verbose || self.verbosity.debug;
        let details = details
            .into_iter()
            .chain(
                outcome
                    .commands
                    .iter()
                    .filter(|c| c.part_of_finding)
                    .filter_map(|c| request_line(language, c, with_phases))
                    .map(|text| DetailView {
                        text,
                        verbatim: false,
                    }),
            )
            .collect();
        let commands = outcome
            .commands
            .iter()
            .filter(|c| !c.part_of_finding)
            .filter(|c| self.verbosity.debug || (self.verbosity.verbose && c.timings.is_some()))
            .map(|c| CommandView {
                command: c.command.clone(),
                exit: c.exit.map_or_else(|| "-".to_owned(), |e| e.to_string()),
                request: request_line(language, c, with_phases),
                ms: c.duration.as_millis(),
                stdout: c.stdout.lines().map(str::to_owned).collect(),
                stderr: c.stderr.lines().map(str::to_owned).collect(),
            })
            .collect();
        CheckView {
            mark,
            line: outcome
                .line
                .as_ref()
                .map(|l| localize(language, l, &check_name)),
            code: outcome.code.map(Code::as_str),
            severity: outcome.code.map(|c| c.facts().severity.key()),
            message: message(language, outcome),
            details,
            solutions,
            url: outcome.code.map(Code::reference_url),
            explain: self.explain,
            duration: if self.verbosity.verbose || self.verbosity.debug {
                format!(" ({} ms)", outcome.duration.as_millis())
            } else {
                String::new()
            },
            commands,
        }
    }

    fn wrapped(&self, text: String) -> String {
        match self.mode {
            TextMode::Terminal { width, .. } => render::wrap_lines(&text, width),
            TextMode::Markdown => text,
        }
    }
}

/// A request as a line: its answer and time, and with `phases` how long each phase took.
/// `None` for a program.
fn request_line(language: &Language, record: &CommandRecord, phases: bool) -> Option<String> {
    let timings = record.timings?;
    let ms = format!("{:.0}", record.duration.as_secs_f64() * 1000.0);
    let line = match record.exit {
        Some(status) => Text::ui(ui::HEALTH_TIMING_ANSWERED).arg("status", status),
        None => Text::ui(ui::HEALTH_TIMING_UNANSWERED),
    }
    .arg("request", &record.command)
    .arg("ms", ms);
    if !phases {
        return Some(localize(language, &line, ""));
    }
    let phase =
        |key, ms: Option<u64>| ms.map(|ms| localize(language, &Text::ui(key).arg("ms", ms), ""));
    let mut parts: Vec<String> = [
        phase(ui::HEALTH_TIMING_DNS, timings.dns_ms),
        phase(ui::HEALTH_TIMING_CONNECT, timings.connect_ms),
        phase(ui::HEALTH_TIMING_TLS, timings.tls_ms),
        phase(ui::HEALTH_TIMING_FIRST_BYTE, timings.first_byte_ms),
    ]
    .into_iter()
    .flatten()
    .collect();
    if timings.reused_connection {
        parts.insert(
            0,
            localize(language, &Text::ui(ui::HEALTH_TIMING_REUSED), ""),
        );
    }
    if parts.is_empty() {
        return Some(localize(language, &line, ""));
    }
    let with_phases = Text::ui(ui::HEALTH_TIMING_PHASES)
        .arg_text("request", line)
        .arg("phases", parts.join(", "));
    Some(localize(language, &with_phases, ""))
}

/// The document for scripts: every check of the plan, and a summary.
pub fn document(
    language: &Language,
    client: &str,
    reported: &[Outcome],
    not_reported: &[(Check, bool)],
    total: Duration,
    exit_code: u8,
    tls_verification: bool,
) -> Value {
    let mut checks: Vec<Value> = reported
        .iter()
        .map(|outcome| {
            let check_name = language.check_name(outcome.check, client);
            let message = message(language, outcome).or_else(|| {
                outcome
                    .line
                    .as_ref()
                    .map(|l| localize(language, l, &check_name))
            });
            // As the text has them: the requests that are part of the finding come last.
            let details: Vec<String> = outcome
                .details
                .iter()
                .map(|d| match d {
                    Detail::Verbatim(text) => text.clone(),
                    Detail::Text(text) => localize(language, text, &check_name),
                })
                .chain(
                    outcome
                        .commands
                        .iter()
                        .filter(|c| c.part_of_finding)
                        .filter_map(|c| request_line(language, c, false)),
                )
                .collect();
            let mut check = json!({
                "name": outcome.check,
                "status": outcome.status,
                "code": outcome.code.map(Code::as_str),
                "message": message,
                "details": details,
                "duration_ms": outcome.duration.as_millis() as u64,
                "skipped_because": outcome.skipped_because.map(Code::as_str),
            });
            let requests: Vec<Value> = outcome
                .commands
                .iter()
                .filter_map(|c| {
                    let timings = c.timings?;
                    Some(json!({"request": c.command, "status": c.exit, "timings": timings}))
                })
                .collect();
            if !requests.is_empty() {
                check["requests"] = Value::Array(requests);
            }
            for (name, value) in &outcome.data {
                check[*name] = value.clone();
            }
            check
        })
        .collect();
    for &(check, finished) in not_reported {
        let why = if finished {
            ui::HEALTH_NOT_REPORTED
        } else {
            ui::HEALTH_NOT_FINISHED
        };
        checks.push(json!({
            "name": check,
            "status": CheckStatus::Skipped,
            "code": null,
            "message": localize(language, &Text::ui(why), &language.check_name(check, client)),
            "details": [],
            "duration_ms": 0,
            "skipped_because": null,
        }));
    }
    let count = |status: CheckStatus| reported.iter().filter(|o| o.status == status).count();
    let errors = count(CheckStatus::Error);
    let warnings = count(CheckStatus::Warning);
    let overall = if errors > 0 {
        "error"
    } else if warnings > 0 {
        "warning"
    } else {
        "ok"
    };
    json!({
        "checks": checks,
        "summary": {
            "status": overall,
            "errors": errors,
            "warnings": warnings,
            "ok": count(CheckStatus::Ok),
            "skipped": count(CheckStatus::Skipped) + not_reported.len(),
            "duration_ms": total.as_millis() as u64,
            "exit_code": exit_code,
            "tls_verification": tls_verification,
        }
    })
}

/// stderr, shared by the report, the spinner and the prompt, so their writes never interleave.
#[derive(Default)]
pub struct Screen {
    /// The spinner line currently drawn, if any.
    spinner_shown: bool,
    paused: bool,
}

impl Screen {
    pub fn print(&mut self, text: &str) {
        let mut err = io::stderr().lock();
        if self.spinner_shown {
            let _ = err.write_all(b"\r\x1b[K");
            self.spinner_shown = false;
        }
        let _ = err.write_all(text.as_bytes());
        let _ = err.flush();
    }

    /// Draws the spinner line (no newline), unless paused by a prompt.
    pub fn spin(&mut self, line: &str) {
        if self.paused {
            return;
        }
        let mut err = io::stderr().lock();
        let _ = err.write_all(format!("\r\x1b[K{line}").as_bytes());
        let _ = err.flush();
        self.spinner_shown = !line.is_empty();
    }

    pub fn pause(&mut self) {
        self.spin("");
        self.paused = true;
    }

    pub fn resume(&mut self) {
        self.paused = false;
    }
}
