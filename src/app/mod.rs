//! The program around the commands: the language, the arguments, where output goes, how a
//! failure is told, and the exit code.

mod az_extension;
mod docker_plugin;
mod endpoints;
mod health;

use std::io::{self, Write};

use clap::Parser;
use serde::Serialize;

use crate::cli::{AcrCommand, Cli, Command, ExplainArgs, GlobalArgs, KbCommand};
use crate::output::{Format, Query};
use crate::render::TextMode;
use crate::vocabulary::knowledge::Language;
use crate::vocabulary::ui;

/// Exit codes, as documented in `--help` and the README: 1 is a check that failed (or any other
/// failure), 2 a usage error.
pub const EXIT_SUCCESS: u8 = 0;
pub const EXIT_FAILURE: u8 = 1;
pub const EXIT_USAGE: u8 = 2;

/// What went wrong, in the user's language, with the fix and the exit code.
#[derive(Debug)]
pub struct Failure {
    pub message: String,
    pub fix: Option<String>,
    pub exit: u8,
}

/// The variable the Azure CLI extension's launcher sets: acr-health runs as `az acr …`.
const INVOKED_BY: &str = "ACR_HEALTH_INVOKED_BY";

/// The program: arguments to exit code.
pub fn main() -> u8 {
    let args = std::env::args_os().collect::<Vec<_>>();
    let env = |name: &str| std::env::var(name).ok();
    // The explain command our texts suggest is the one the user types: through az or docker, theirs.
    let explain_command = if docker_plugin::is_plugin(&args) {
        "docker acr explain"
    } else if env(INVOKED_BY).as_deref() == Some("az") {
        "az acr explain"
    } else {
        "acr-health explain"
    };
    let args = docker_plugin::arguments(args);
    let language = match crate::locale::resolve(crate::cli::early_lang(&args).as_deref(), env) {
        Ok(language) => language,
        Err(crate::locale::LocaleError::Unsupported { requested }) => {
            // No language of the user's to speak in; English is the reference.
            let english = crate::vocabulary::knowledge::reference_language();
            return report(english, &unsupported_language(english, &requested));
        }
    };
    install_panic_hook(language);
    if docker_plugin::asked_for_metadata(&args) {
        println!("{}", docker_plugin::metadata(language));
        return EXIT_SUCCESS;
    }
    // Arguments that parse need no help texts: the command is localized (every argument's help
    // looked up and set) only to print the help or the version someone asked for.
    let cli = match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(error) if crate::usage::is_requested_text(&error) => {
            let shown = crate::cli::command(language)
                .try_get_matches_from(&args)
                .err()
                .unwrap_or(error);
            let _ = shown.print();
            return u8::try_from(shown.exit_code()).unwrap_or(EXIT_USAGE);
        }
        Err(error) => {
            let (message, fix) = crate::usage::explain(&error, &args, language);
            return report(
                language,
                &Failure {
                    message,
                    fix: Some(fix),
                    exit: EXIT_USAGE,
                },
            );
        }
    };
    match run(cli, language, explain_command) {
        Ok(code) => code,
        Err(failure) => report(language, &failure),
    }
}

fn run(
    cli: Cli,
    language: &'static Language,
    explain_command: &'static str,
) -> Result<u8, Failure> {
    let query = match &cli.global.query {
        Some(expression) => Some(Query::compile(expression).map_err(|e| Failure {
            message: language.format(ui::ERROR_INVALID_QUERY, &[("reason", &e.to_string())]),
            fix: Some(language.ui(ui::ERROR_INVALID_QUERY_FIX).to_owned()),
            exit: EXIT_USAGE,
        })?),
        None => None,
    };
    let out = Out {
        language,
        global: &cli.global,
        query: query.as_ref(),
        explain: explain_command,
    };
    let list = ExplainArgs {
        code: None,
        list: true,
    };
    match &cli.command {
        Command::Acr {
            command: AcrCommand::CheckHealth(args),
        }
        | Command::CheckHealth(args) => health::check_health(&out, args),
        Command::Acr {
            command: AcrCommand::ShowEndpoints(args),
        } => endpoints::show_endpoints(&out, args),
        Command::Explain(args) => explain(&out, args).map(|()| EXIT_SUCCESS),
        Command::Codes => explain(&out, &list).map(|()| EXIT_SUCCESS),
        Command::Kb {
            command: KbCommand::Export,
        } => kb_export(&out).map(|()| EXIT_SUCCESS),
        Command::Completions { shell } => {
            let mut command = crate::cli::command(language);
            let mut script = Vec::new();
            clap_complete::generate(*shell, &mut command, "acr-health", &mut script);
            let mut script = String::from_utf8_lossy(&script).into_owned();
            if *shell == clap_complete::Shell::Bash {
                // clap_complete 4.6 spells a hyphenated program's subcommands `acr__health__…`
                // where it tracks them and `acr__subcmd__health__…` in the labels it matches
                // against, so bash would complete nothing after the first word.
                script = script.replace("acr__subcmd__health", "acr__health");
            }
            out.stdout(&script).map(|()| EXIT_SUCCESS)
        }
        Command::AzCommands => {
            let commands = az_extension::commands(language);
            let text =
                serde_json::to_string(&commands).map_err(|e| out.output_failure(&e.to_string()))?;
            out.stdout(&text).map(|()| EXIT_SUCCESS)
        }
        Command::Man => {
            let mut page = Vec::new();
            clap_mangen::Man::new(crate::cli::command(language))
                .render(&mut page)
                .map_err(|e| out.output_failure(&e.to_string()))?;
            out.stdout(&String::from_utf8_lossy(&page))
                .map(|()| EXIT_SUCCESS)
        }
    }
}

/// The environment; variables that are not UTF-8 cannot matter to any check and are left out.
fn environment() -> std::collections::HashMap<String, String> {
    std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .collect()
}

/// Where and how results are written.
pub struct Out<'a> {
    pub language: &'static Language,
    pub global: &'a GlobalArgs,
    query: Option<&'a Query>,
    /// The explain command as the user types it: `acr-health explain`, `az acr explain` or
    /// `docker acr explain`.
    pub explain: &'static str,
}

impl Out<'_> {
    pub fn has_query(&self) -> bool {
        self.query.is_some()
    }

    /// The structured format, when the user asked for one (`--query` alone means JSON, as in az).
    pub fn structured(&self) -> Option<Format> {
        self.global.output.or(self.query.map(|_| Format::Json))
    }

    pub fn document(&self, value: &impl Serialize, format: Format) -> Result<(), Failure> {
        let value = serde_json::to_value(value).map_err(|e| self.output_failure(&e.to_string()))?;
        let value = match self.query {
            Some(query) => query.apply(&value).map_err(|e| Failure {
                message: self
                    .language
                    .format(ui::ERROR_INVALID_QUERY, &[("reason", &e.to_string())]),
                fix: Some(self.language.ui(ui::ERROR_INVALID_QUERY_FIX).to_owned()),
                exit: EXIT_USAGE,
            })?,
            None => value,
        };
        let text = crate::output::format(&value, format)
            .map_err(|e| self.output_failure(&e.to_string()))?;
        self.stdout(&text)
    }

    /// Markdown for people on stdout: rendered on a terminal, as it is when piped.
    fn markdown(&self, template: &str, context: &impl Serialize) -> Result<(), Failure> {
        let markdown = crate::templates::Templates::new(self.language)
            .and_then(|t| t.render(template, context))
            .map_err(|e| self.template_failure(&e))?;
        let mode = TextMode::detect(&io::stdout(), |n| std::env::var(n).ok());
        self.stdout(&crate::render::render(&markdown, mode))
    }

    fn stdout(&self, text: &str) -> Result<(), Failure> {
        let mut stdout = io::stdout().lock();
        match stdout
            .write_all(text.as_bytes())
            .and_then(|()| stdout.flush())
        {
            Ok(()) => Ok(()),
            // The reader has gone (`| head`): it has what it wanted.
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
            Err(e) => Err(self.output_failure(&e.to_string())),
        }
    }

    pub fn output_failure(&self, reason: &str) -> Failure {
        Failure {
            message: self
                .language
                .format(ui::ERROR_OUTPUT, &[("reason", reason)]),
            fix: None,
            exit: EXIT_FAILURE,
        }
    }

    pub fn template_failure(&self, error: &crate::templates::TemplateError) -> Failure {
        Failure {
            message: self
                .language
                .format(ui::ERROR_TEMPLATE, &[("reason", &error.to_string())]),
            fix: None,
            exit: EXIT_FAILURE,
        }
    }
}

fn explain(out: &Out, args: &ExplainArgs) -> Result<(), Failure> {
    let language = out.language;
    if args.list {
        let codes = crate::explain::summaries(language);
        return match out.structured() {
            Some(format) => out.document(&codes, format),
            None => out.markdown(
                "explain-list.md",
                &crate::explain::SummaryList {
                    codes,
                    explain: out.explain,
                },
            ),
        };
    }
    let Some(input) = &args.code else {
        return Err(Failure {
            message: language.format(ui::ERROR_MISSING_CODE, &[("explain", out.explain)]),
            fix: None,
            exit: EXIT_USAGE,
        });
    };
    let code = crate::explain::lookup(input).map_err(|unknown| Failure {
        message: language.format(ui::ERROR_UNKNOWN_CODE, &[("code", &unknown.input)]),
        fix: Some(match unknown.suggestion {
            Some(code) => language.format(ui::ERROR_DID_YOU_MEAN, &[("suggestion", code.as_str())]),
            None => language.format(ui::ERROR_LIST_CODES, &[("explain", out.explain)]),
        }),
        exit: EXIT_USAGE,
    })?;
    let explanation = crate::explain::Explanation::new(code, language);
    match out.structured() {
        Some(format) => out.document(&explanation, format),
        None => out.markdown("explain.md", &explanation),
    }
}

fn kb_export(out: &Out) -> Result<(), Failure> {
    match out.structured() {
        Some(format) => {
            let all: Vec<_> = crate::vocabulary::knowledge::Code::ALL
                .iter()
                .map(|&c| crate::explain::Explanation::new(c, out.language))
                .collect();
            out.document(&all, format)
        }
        None => {
            let page = crate::kb::export(out.language).map_err(|e| out.template_failure(&e))?;
            out.stdout(&page)
        }
    }
}

fn unsupported_language(language: &Language, requested: &str) -> Failure {
    let available = crate::vocabulary::knowledge::language_tags().join(", ");
    Failure {
        message: language.format(
            ui::ERROR_UNSUPPORTED_LANGUAGE,
            &[("lang", requested), ("available", &available)],
        ),
        fix: Some(language.ui(ui::ERROR_UNSUPPORTED_LANGUAGE_FIX).to_owned()),
        exit: EXIT_USAGE,
    }
}

/// Ends the process with `code` once what was written is flushed. The optimized build (feature
/// `fast-exit`, packaging/build-optimized.sh) ends with `_exit`, skipping the C libraries' exit
/// handlers, which have nothing to do that a process ending here needs. Every other build runs
/// them: a coverage build writes its profile from one.
pub fn exit(code: u8) -> ! {
    let _ = io::stdout().flush();
    let _ = io::stderr().flush();
    #[cfg(feature = "fast-exit")]
    // SAFETY: _exit(2) ends the process at once and touches no memory of ours.
    unsafe {
        libc::_exit(i32::from(code))
    }
    #[cfg(not(feature = "fast-exit"))]
    std::process::exit(i32::from(code))
}

/// A panic ends in a short message in the user's language and exit code 1, never a backtrace
/// (unless `RUST_BACKTRACE` asks for one). A panic inside a chain of checks is the runner's to
/// report, as `UNEXPECTED_ERROR` for that check; the hook stays quiet then.
fn install_panic_hook(language: &'static Language) {
    if std::env::var_os("RUST_BACKTRACE").is_some_and(|v| v != "0") {
        return;
    }
    std::panic::set_hook(Box::new(move |info| {
        if crate::runner::in_chain() {
            return;
        }
        let place = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let failure = Failure {
            message: language.format(ui::ERROR_INTERNAL, &[("place", &place)]),
            fix: Some(language.ui(ui::ERROR_INTERNAL_FIX).to_owned()),
            exit: EXIT_FAILURE,
        };
        report(language, &failure);
        std::process::exit(i32::from(EXIT_FAILURE));
    }));
}

/// Writes a failure to stderr as `error: message` and the fix on the next line.
fn report(language: &Language, failure: &Failure) -> u8 {
    let mode = TextMode::detect(&io::stderr(), |n| std::env::var(n).ok());
    let prefix = crate::render::paint(
        mode.color(),
        crate::render::ansi::RED,
        &format!("{}:", language.ui(ui::ERROR_PREFIX)),
    );
    let mut text = format!("{prefix} {}\n", failure.message);
    if let Some(fix) = &failure.fix {
        text.push_str(fix);
        text.push('\n');
    }
    let _ = io::stderr().write_all(text.as_bytes());
    failure.exit
}
