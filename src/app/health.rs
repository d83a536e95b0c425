//! `acr check-health`: arguments → plan → runner → report, with the prompt and the spinner that
//! a terminal gets.

use std::collections::HashMap;
use std::io::{self, BufRead, IsTerminal};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::app::{EXIT_FAILURE, EXIT_SUCCESS, EXIT_USAGE, Failure, Out};
use crate::azure::cloud::Cloud;
use crate::azure::{arm, config as azconfig};
use crate::checks::registry::RegistryPlan;
use crate::checks::registry::azure;
use crate::checks::registry::target::{self, TargetError};
use crate::cli::CheckHealthArgs;
use crate::net::pin::{BadPin, Pins};
use crate::output::Format;
use crate::plan::Plan;
use crate::render::TextMode;
use crate::report::{self, Report, Screen, Verbosity};
use crate::runner::{self, Flow};
use crate::system::{Confirm, Context, process};
use crate::vocabulary::knowledge::Language;
use crate::vocabulary::{Check, Outcome, Text};
use crate::vocabulary::{Ui, ui};

/// The run's exit code, as documented: 0, or 1 when it stopped at an error.
pub fn check_health(out: &Out, args: &CheckHealthArgs) -> Result<u8, Failure> {
    let language = out.language;
    let env = super::environment();
    let lookup = |name: &str| env.get(name).cloned();
    let pins = pinned_addresses(args, language)?;
    let registry = registry_plan(args, language, &lookup)?;
    let cloud_shell = env.get("ACC_CLOUD").is_some_and(|v| !v.is_empty());
    let mode = TextMode::detect(&io::stderr(), lookup);
    let verbosity = Verbosity {
        only_errors: out.global.only_show_errors,
        verbose: out.global.verbose,
        debug: out.global.debug,
    };
    let screen = Arc::new(Mutex::new(Screen::default()));
    let confirm = if args.yes {
        Confirm::Yes
    } else if io::stdin().is_terminal() && io::stderr().is_terminal() {
        Confirm::Ask(Arc::new(prompt(language, screen.clone())))
    } else {
        Confirm::NoTerminal
    };
    let context = Context {
        timeout: Duration::from_secs(args.timeout),
        env: Arc::new(env.clone()),
        cwd: std::env::current_dir().unwrap_or_else(|_| ".".into()),
        confirm,
        pins: Arc::new(pins),
    };
    let plan = Plan::new(registry, cloud_shell, args.ignore_errors, &context);
    let client = plan.container_client();
    let report = Report::new(
        language,
        client,
        plan.facts(),
        out.explain,
        mode,
        verbosity,
        screen,
    )
    .map_err(|e| out.template_failure(&e))?;
    let spinner = mode.color() && out.structured().is_none();
    let width = match mode {
        TextMode::Terminal { width, .. } => width,
        TextMode::Markdown => 80,
    };

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| out.output_failure(&e.to_string()))?;
    let mut render_error = None;
    // Texts of outcomes that arrived before their turn, made while slower checks ran.
    let early_texts = std::cell::RefCell::new(HashMap::<Check, String>::new());
    // Said before anything else, whether or not a request is made to which it applies.
    let verification_off = crate::net::http::verification_disabled(&env);
    if verification_off {
        report.print(&format!(
            "{}\n",
            language.ui(ui::HEALTH_REGISTRY_TRUST_DISABLED)
        ));
    }
    let run = runtime.block_on(async {
        let mut interrupts = process::Interrupts::new();
        let waiting = Arc::new(Mutex::new(Vec::<Check>::new()));
        let ticker = spinner.then(|| {
            let client = client.to_owned();
            tokio::spawn(spin(
                language,
                client,
                width,
                report.screen(),
                waiting.clone(),
            ))
        });
        let run = runner::run(
            &plan,
            context,
            |outcome: &Outcome| {
                #[cfg(debug_assertions)]
                if crate::system::test_panic_requested("report") {
                    panic!("ACR_HEALTH_TEST_PANIC=report");
                }
                let early = early_texts.borrow_mut().remove(&outcome.check);
                match early
                    .map(|text| Ok(Some(text)))
                    .unwrap_or_else(|| report.text(outcome))
                {
                    Ok(Some(text)) => report.print(&text),
                    Ok(None) => {}
                    Err(e) => {
                        render_error.get_or_insert(e);
                    }
                }
                if outcome.is_failure() && !args.ignore_errors {
                    Flow::Stop
                } else {
                    Flow::Continue
                }
            },
            |outcome: &Outcome| {
                // A template error is reported when the outcome's turn comes.
                if let Ok(Some(text)) = report.text(outcome) {
                    early_texts.borrow_mut().insert(outcome.check, text);
                }
            },
            move |checks| {
                if let Ok(mut w) = waiting.lock() {
                    *w = checks.to_vec();
                }
            },
        );
        let run = tokio::select! {
            run = run => Ok(run),
            signal = interrupts.next() => {
                // Before the checks' tasks are dropped, while their children are still known.
                process::kill_all_children();
                Err(signal)
            }
        };
        if let Some(ticker) = ticker {
            ticker.abort();
        }
        run
    });
    // What is still running (a name lookup nobody waits for) is not waited for either: every
    // step is bounded by --timeout, and the process ends here.
    runtime.shutdown_background();
    let run = match run {
        Ok(run) => run,
        Err((number, name)) => {
            report.print(&format!(
                "{}\n",
                language.format(ui::HEALTH_INTERRUPTED, &[("signal", name)])
            ));
            // As a shell reports a process ended by a signal.
            return Ok(128 + u8::try_from(number).unwrap_or(0));
        }
    };
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
        EXIT_FAILURE
    } else {
        EXIT_SUCCESS
    };
    if let Some(format) = out.structured() {
        let document = report::document(
            language,
            plan.container_client(),
            &run.reported,
            &run.not_reported,
            run.duration,
            exit,
            !verification_off,
        );
        // A table has rows: the checks, unless a query chose something else.
        let rows = matches!(format, Format::Table | Format::Tsv) && !out.has_query();
        out.document(if rows { &document["checks"] } else { &document }, format)?;
    }
    Ok(exit)
}

/// The registry to check, from `--login-server`, `-n` or az's default; wrong values are usage
/// errors that say how to write them.
fn registry_plan(
    args: &CheckHealthArgs,
    language: &Language,
    lookup: &impl Fn(&str) -> Option<String>,
) -> Result<Option<RegistryPlan>, Failure> {
    let usage = |key: Ui, fix: Ui, facts: &[(&str, &str)]| Failure {
        message: language.format(key, facts),
        fix: Some(language.format(fix, facts)),
        exit: EXIT_USAGE,
    };
    let cloud = Cloud::active(args.cloud.as_deref(), lookup);
    let name = args
        .name
        .clone()
        .or_else(|| azconfig::default_registry(lookup));
    let target = match (&args.login_server, name) {
        (Some(server), _) => target::from_login_server(server, &cloud),
        (None, Some(name)) => target::from_name(&name, &cloud),
        (None, None) if args.vnet.is_some() => {
            return Err(usage(
                ui::ERROR_VNET_NEEDS_NAME,
                ui::ERROR_VNET_NEEDS_NAME_FIX,
                &[],
            ));
        }
        (None, None) => {
            // A flag that only means something for a registry is not silently ignored.
            let given = [
                ("--repository", args.repository.is_some()),
                ("--tag", args.tag.is_some()),
                ("--round-trip", args.round_trip),
                ("--daemon-pull", args.daemon_pull),
            ];
            return match given.iter().find(|(_, given)| *given) {
                Some((flag, _)) => Err(usage(
                    ui::ERROR_NEEDS_REGISTRY,
                    ui::ERROR_NEEDS_REGISTRY_FIX,
                    &[("flag", flag)],
                )),
                None => Ok(None),
            };
        }
    };
    let target = target.map_err(|error| bad_target(language, &cloud, error))?;
    let basic = match (&args.username, args.password_stdin) {
        (Some(user), true) => {
            let mut password = String::new();
            let _ = io::stdin().lock().read_line(&mut password);
            let password = password.trim_end_matches(['\n', '\r']).to_owned();
            if password.is_empty() {
                return Err(usage(
                    ui::ERROR_PASSWORD_STDIN,
                    ui::ERROR_PASSWORD_STDIN_FIX,
                    &[],
                ));
            }
            Some((user.clone(), password))
        }
        _ => None,
    };
    if let Some(vnet) = args
        .vnet
        .as_deref()
        .filter(|v| v.starts_with('/') && !azure::is_vnet_id(v))
    {
        return Err(usage(ui::ERROR_VNET, ui::ERROR_VNET_FIX, &[("vnet", vnet)]));
    }
    for repository in args
        .repository
        .iter()
        .chain(args.round_trip.then_some(&args.round_trip_repository))
    {
        if !target::is_repository_name(repository) {
            return Err(usage(
                ui::ERROR_REPOSITORY_NAME,
                ui::ERROR_REPOSITORY_NAME_FIX,
                &[("value", repository)],
            ));
        }
    }
    if let Some(tag) = args.tag.as_deref().filter(|t| !target::is_tag(t)) {
        return Err(usage(
            ui::ERROR_TAG_NAME,
            ui::ERROR_TAG_NAME_FIX,
            &[("value", tag)],
        ));
    }
    Ok(Some(RegistryPlan {
        target,
        repository: args.repository.clone(),
        tag: args.tag.clone(),
        round_trip: args.round_trip,
        round_trip_repository: args.round_trip_repository.clone(),
        daemon_pull: args.daemon_pull,
        basic,
        subscription: arm::subscription(args.subscription.as_deref(), &cloud.name, lookup),
        cloud,
        vnet: args.vnet.clone(),
    }))
}

/// The `--resolve` entries; a malformed one is a usage error that shows the form.
fn pinned_addresses(args: &CheckHealthArgs, language: &Language) -> Result<Pins, Failure> {
    Pins::parse(&args.resolve).map_err(|BadPin(entry)| Failure {
        message: language.format(ui::ERROR_RESOLVE, &[("value", &entry)]),
        fix: Some(language.format(ui::ERROR_RESOLVE_FIX, &[("value", &entry)])),
        exit: EXIT_USAGE,
    })
}

/// Asks on the terminal until the answer is yes or no; end of input counts as no.
fn prompt(
    language: &'static Language,
    screen: Arc<Mutex<Screen>>,
) -> impl Fn(Text) -> bool + Send + Sync {
    let answers = |key: Ui| -> Vec<String> {
        language
            .ui(key)
            .split('|')
            .map(|a| a.trim().to_lowercase())
            .collect()
    };
    let yes = answers(ui::HEALTH_PROMPT_YES);
    let no = answers(ui::HEALTH_PROMPT_NO);
    move |question: Text| {
        let mut screen = screen.lock().unwrap_or_else(|e| e.into_inner());
        screen.pause();
        let asked = format!(
            "{} {}",
            report::localize(language, &question, ""),
            language.ui(ui::HEALTH_PROMPT_CHOICES)
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
    client: String,
    width: usize,
    screen: Arc<Mutex<Screen>>,
    waiting: Arc<Mutex<Vec<Check>>>,
) {
    const FRAMES: [char; 10] = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
    let mut frame = 0;
    let mut interval = tokio::time::interval(Duration::from_millis(100));
    loop {
        interval.tick().await;
        let names: Vec<String> = match waiting.lock() {
            Ok(w) => w.iter().map(|&c| language.check_name(c, &client)).collect(),
            Err(_) => continue,
        };
        // The prompt holds the screen while the user types; skip the frame rather than wait.
        if let Ok(mut screen) = screen.try_lock() {
            if names.is_empty() {
                screen.spin("");
            } else {
                let text = language.format(ui::HEALTH_SPINNER, &[("checks", &names.join(", "))]);
                let line = format!("{} {text}", FRAMES[frame % FRAMES.len()]);
                // One line only: a wrapped spinner could not be erased with \r.
                let fitted: String = line.chars().take(width.saturating_sub(1)).collect();
                screen.spin(&fitted);
            }
        }
        frame += 1;
    }
}

/// A name or login server that cannot be a registry's: a usage error that says how to write it.
pub(super) fn bad_target(language: &Language, cloud: &Cloud, error: TargetError) -> Failure {
    let usage = |key: Ui, fix: Ui, facts: &[(&str, &str)]| Failure {
        message: language.format(key, facts),
        fix: Some(language.format(fix, facts)),
        exit: EXIT_USAGE,
    };
    match error {
        TargetError::BadName(name) => usage(
            ui::ERROR_REGISTRY_NAME,
            ui::ERROR_REGISTRY_NAME_FIX,
            &[("name", &name)],
        ),
        TargetError::WrongSuffix { given, expected } => usage(
            ui::ERROR_REGISTRY_SUFFIX,
            ui::ERROR_REGISTRY_SUFFIX_FIX,
            &[
                ("given", &given),
                ("expected", &expected),
                ("cloud", &cloud.name),
            ],
        ),
        TargetError::BadLoginServer(value) => usage(
            ui::ERROR_LOGIN_SERVER,
            ui::ERROR_LOGIN_SERVER_FIX,
            &[("value", &value)],
        ),
    }
}
