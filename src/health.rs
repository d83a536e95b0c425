//! `acr check-health`: arguments → plan → runner → report, with the prompt and the spinner that
//! a terminal gets.

use std::collections::HashMap;
use std::io::{self, BufRead, IsTerminal};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::checks::{Confirm, Context, Outcome, Text};
use crate::cli::CheckHealthArgs;
use crate::knowledge::Language;
use crate::plan::Plan;
use crate::render::TextMode;
use crate::report::{self, Report, Screen, Verbosity};
use crate::runner::{self, Flow};
use crate::{Failure, Out, azconfig};

const EXIT_CHECK_FAILED: u8 = 1;

pub fn check_health(out: &Out, args: &CheckHealthArgs) -> Result<ExitCode, Failure> {
    let language = out.language;
    // Variables that are not UTF-8 cannot matter to any check; leave them out.
    let env: HashMap<String, String> = std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .collect();
    let lookup = |name: &str| env.get(name).cloned();
    let name = args
        .name
        .clone()
        .or_else(|| azconfig::default_registry(lookup));
    let cloud_shell = env.get("ACC_CLOUD").is_some_and(|v| !v.is_empty());
    let plan = Plan::new(name, cloud_shell);

    let mode = TextMode::detect(&io::stderr(), lookup);
    let verbosity = Verbosity {
        only_errors: out.global.only_show_errors,
        verbose: out.global.verbose,
        debug: out.global.debug,
    };
    let report = Report::new(language, mode, verbosity).map_err(|e| out.template_failure(&e))?;
    let confirm = if args.yes {
        Confirm::Yes
    } else if io::stdin().is_terminal() && io::stderr().is_terminal() {
        Confirm::Ask(Arc::new(prompt(language, report.screen())))
    } else {
        Confirm::NoTerminal
    };
    let context = Context {
        timeout: Duration::from_secs(args.timeout),
        env: Arc::new(env.clone()),
        cwd: std::env::current_dir().unwrap_or_else(|_| ".".into()),
        confirm,
    };
    let spinner = mode.color() && out.structured().is_none();
    let width = match mode {
        TextMode::Terminal { width, .. } => width,
        TextMode::Markdown => 80,
    };

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| out_failure(language, &e.to_string()))?;
    let mut render_error = None;
    let run = runtime.block_on(async {
        let waiting = Arc::new(Mutex::new(Vec::<&'static str>::new()));
        let ticker =
            spinner.then(|| tokio::spawn(spin(language, width, report.screen(), waiting.clone())));
        let run = runner::run(
            &plan,
            context,
            |outcome: &Outcome| {
                if let Err(e) = report.outcome(outcome) {
                    render_error.get_or_insert(e);
                }
                if outcome.is_failure() && !args.ignore_errors {
                    Flow::Stop
                } else {
                    Flow::Continue
                }
            },
            move |checks| {
                if let Ok(mut w) = waiting.lock() {
                    *w = checks.to_vec();
                }
            },
        )
        .await;
        if let Some(ticker) = ticker {
            ticker.abort();
        }
        run
    });
    if let Some(error) = render_error {
        return Err(out.template_failure(&error));
    }
    let stopped_at = run
        .reported
        .last()
        .filter(|o| o.is_failure() && !args.ignore_errors)
        .and_then(|o| o.code);
    report
        .summary(stopped_at, run.reported.len(), run.duration)
        .map_err(|e| out.template_failure(&e))?;
    let exit = if stopped_at.is_some() {
        EXIT_CHECK_FAILED
    } else {
        0
    };
    if let Some(format) = out.structured() {
        let document = report::document(language, &run.reported, &run.not_run, run.duration, exit);
        out.document(&document, format)?;
    }
    Ok(ExitCode::from(exit))
}

fn out_failure(language: &Language, reason: &str) -> Failure {
    Failure {
        message: language.format("error.output", &[("reason", reason)]),
        fix: None,
        exit: 1,
    }
}

/// Asks on the terminal until the answer is yes or no; end of input counts as no.
fn prompt(
    language: &'static Language,
    screen: Arc<Mutex<Screen>>,
) -> impl Fn(Text) -> bool + Send + Sync {
    let answers = |key: &str| -> Vec<String> {
        language
            .ui(key)
            .split('|')
            .map(|a| a.trim().to_lowercase())
            .collect()
    };
    let yes = answers("health.prompt.yes");
    let no = answers("health.prompt.no");
    move |question: Text| {
        let mut screen = screen.lock().unwrap_or_else(|e| e.into_inner());
        screen.pause();
        let asked = format!(
            "{} {}",
            report::localize(language, &question, "docker.pull"),
            language.ui("health.prompt.choices")
        );
        let answer = loop {
            screen.print(&asked);
            let mut line = String::new();
            match io::stdin().lock().read_line(&mut line) {
                Ok(0) | Err(_) => break false,
                Ok(_) => {}
            }
            let line = line.trim().to_lowercase();
            if yes.contains(&line) {
                break true;
            }
            if no.contains(&line) {
                break false;
            }
        };
        screen.resume();
        answer
    }
}

/// Redraws the spinner line with the checks still out, ten times a second.
async fn spin(
    language: &'static Language,
    width: usize,
    screen: Arc<Mutex<Screen>>,
    waiting: Arc<Mutex<Vec<&'static str>>>,
) {
    const FRAMES: [char; 10] = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
    let mut frame = 0;
    let mut interval = tokio::time::interval(Duration::from_millis(100));
    loop {
        interval.tick().await;
        let names: Vec<String> = match waiting.lock() {
            Ok(w) => w.iter().map(|c| language.check_name(c)).collect(),
            Err(_) => continue,
        };
        // The prompt holds the screen while the user types; skip the frame rather than wait.
        if let Ok(mut screen) = screen.try_lock() {
            if names.is_empty() {
                screen.spin("");
            } else {
                let text = language.format("health.spinner", &[("checks", &names.join(", "))]);
                let line = format!("{} {text}", FRAMES[frame % FRAMES.len()]);
                // One line only: a wrapped spinner could not be erased with \r.
                let fitted: String = line.chars().take(width.saturating_sub(1)).collect();
                screen.spin(&fitted);
            }
        }
        frame += 1;
    }
}
