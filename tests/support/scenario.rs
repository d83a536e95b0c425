//! A [`Scenario`]: one `check-health` run in its own [`Sandbox`] (with the working tools)
//! against the servers it needs, with its command line, environment, exit code, time bound, the
//! secrets it handles and what it must show.

use std::any::Any;
use std::ffi::{OsStr, OsString};
use std::sync::Arc;
use std::time::Duration;

use assert_cmd::Command;

use super::acr::AcrTokens;
use super::pki::TestCa;
use super::sandbox::{Run, Sandbox};

/// The ACR the fakes play (`-n example`, reached through `--resolve`).
pub const ACR: &str = "example.azurecr.io";

/// `--timeout` of a scenario unless it sets its own.
pub const SCENARIO_TIMEOUT: u64 = 5;

/// A check of a run.
pub type Check = Box<dyn Fn(&Run)>;

pub struct Scenario {
    /// Named in failure messages (the tests made by [`scenario_tests!`](crate::scenario_tests)
    /// give their own name).
    pub name: &'static str,
    pub sandbox: Sandbox,
    pub args: Vec<String>,
    env: Vec<(String, OsString)>,
    stdin: Option<String>,
    /// `--timeout`.
    timeout: u64,
    /// How much longer than `timeout` a run may take.
    grace: Duration,
    /// The run must end within this.
    within: Duration,
    pub exit: i32,
    /// Secrets the run was given; none may appear in its output.
    pub secrets: Vec<String>,
    /// Read back the secrets the fakes issued (tokens); none may appear either.
    issued: Vec<Box<dyn Fn() -> Vec<String>>>,
    before_every_run: Vec<Box<dyn Fn()>>,
    /// Checked after every run, whatever its arguments.
    after_every_run: Vec<Check>,
    /// Checked by [`Scenario::run`] and [`Scenario::verify`]: what the scenario must show.
    expect: Vec<Check>,
    /// Servers, CAs and files the run needs, kept alive as long as the scenario.
    keep: Vec<Box<dyn Any>>,
}

impl Scenario {
    /// `check-health --yes --timeout 5` ([`SCENARIO_TIMEOUT`]) with the working tools, expecting
    /// exit 0 within 30 s.
    pub fn new() -> Scenario {
        Scenario {
            name: "scenario",
            sandbox: Sandbox::with_working_tools(),
            args: vec!["--yes".into()],
            env: Vec::new(),
            stdin: None,
            timeout: SCENARIO_TIMEOUT,
            grace: Duration::from_secs(2),
            within: Duration::from_secs(30),
            exit: 0,
            secrets: Vec::new(),
            issued: Vec::new(),
            before_every_run: Vec::new(),
            after_every_run: Vec::new(),
            expect: Vec::new(),
            keep: Vec::new(),
        }
    }

    pub fn named(mut self, name: &'static str) -> Self {
        self.name = name;
        self
    }

    pub fn args(mut self, args: &[&str]) -> Self {
        self.args.extend(args.iter().map(|a| a.to_string()));
        self
    }

    pub fn env(mut self, name: &str, value: impl AsRef<OsStr>) -> Self {
        self.env.push((name.to_owned(), value.as_ref().to_owned()));
        self
    }

    /// Without the variable `name` (that the scenario was made with).
    pub fn without_env(mut self, name: &str) -> Self {
        self.env.retain(|(n, _)| n != name);
        self
    }

    /// Trusts the test CA through `REQUESTS_CA_BUNDLE`.
    pub fn trust(self, ca: &Arc<TestCa>) -> Self {
        self.env("REQUESTS_CA_BUNDLE", ca.pem_path())
            .keep(ca.clone())
    }

    /// `ACR_HEALTH_AAD_TOKEN`.
    pub fn entra(self, token: &str) -> Self {
        self.env("ACR_HEALTH_AAD_TOKEN", token).secret(token)
    }

    /// `-n example --resolve example.azurecr.io:443:127.0.0.1:<port>`.
    pub fn acr(self, port: u16) -> Self {
        let resolve = format!("{ACR}:443:127.0.0.1:{port}");
        self.args(&["-n", "example", "--resolve", &resolve])
    }

    pub fn login_server(self, server: &str) -> Self {
        self.args(&["--login-server", server])
    }

    pub fn stdin(mut self, text: &str) -> Self {
        self.stdin = Some(text.to_owned());
        self
    }

    pub fn exit(mut self, code: i32) -> Self {
        self.exit = code;
        self
    }

    /// `--timeout seconds`, and the run must end within it plus the grace (two seconds unless
    /// set).
    pub fn timeout(mut self, seconds: u64) -> Self {
        self.timeout = seconds;
        self.within = Duration::from_secs(seconds) + self.grace;
        self
    }

    /// The run must end within `--timeout` plus `grace`.
    pub fn grace(mut self, grace: Duration) -> Self {
        self.grace = grace;
        self.within = Duration::from_secs(self.timeout) + grace;
        self
    }

    pub fn secret(mut self, secret: &str) -> Self {
        self.secrets.push(secret.to_owned());
        self
    }

    pub fn issued(mut self, read_back: impl Fn() -> Vec<String> + 'static) -> Self {
        self.issued.push(Box::new(read_back));
        self
    }

    /// The refresh and access tokens `tokens` issued.
    pub fn issued_by(self, tokens: &AcrTokens) -> Self {
        let tokens = tokens.clone();
        self.issued(move || {
            let mut all = tokens.issued_refresh_tokens();
            all.extend(tokens.issued_access_tokens());
            all
        })
    }

    pub fn keep(mut self, thing: impl Any) -> Self {
        self.keep.push(Box::new(thing));
        self
    }

    /// The first thing of type `T` the scenario keeps.
    pub fn kept<T: 'static>(&self) -> Option<&T> {
        self.keep.iter().find_map(|thing| thing.downcast_ref())
    }

    pub fn expect(mut self, expect: impl Fn(&Run) + 'static) -> Self {
        self.expect.push(Box::new(expect));
        self
    }

    /// Runs `prepare` before every run (to forget what a server saw in an earlier one).
    pub fn before_every_run(mut self, prepare: impl Fn() + 'static) -> Self {
        self.before_every_run.push(Box::new(prepare));
        self
    }

    /// Checks every run, whatever its arguments, with `check`.
    pub fn after_every_run(mut self, check: impl Fn(&Run) + 'static) -> Self {
        self.after_every_run.push(Box::new(check));
        self
    }

    /// `check-health ARGS --timeout T EXTRA` in the sandbox, with the scenario's environment.
    /// Another command than check-health (`args`), in the scenario's sandbox and environment.
    pub fn other_command(&self, args: &[&str]) -> Command {
        let mut cmd = self.sandbox.command();
        for (name, value) in &self.env {
            cmd.env(name, value);
        }
        cmd.args(args);
        cmd
    }

    pub fn command(&self, extra: &[&str]) -> Command {
        let mut cmd = self.sandbox.command();
        for (name, value) in &self.env {
            cmd.env(name, value);
        }
        cmd.arg("check-health")
            .args(&self.args)
            .args(["--timeout", &self.timeout.to_string()])
            .args(extra);
        if let Some(stdin) = &self.stdin {
            cmd.write_stdin(stdin.clone());
        }
        cmd
    }

    /// Runs it with `extra` arguments and checks what every run must show: the exit code, the
    /// time bound, no crash, and the checks of [`Scenario::after_every_run`].
    pub fn output(&self, extra: &[&str]) -> Run {
        for prepare in &self.before_every_run {
            prepare();
        }
        let run = self.sandbox.output(self.command(extra));
        assert_eq!(
            run.code, self.exit,
            "{}: exit code of {:?} {extra:?}:\n{}",
            self.name, self.args, run.stderr
        );
        assert!(
            run.elapsed < self.within,
            "{}: took {:?}, more than {:?}:\n{}",
            self.name,
            run.elapsed,
            self.within,
            run.stderr
        );
        run.no_crash();
        for check in &self.after_every_run {
            check(&run);
        }
        run
    }

    /// Runs it with `extra` arguments (which must include `-o json` unless the run exits 2)
    /// and checks everything it must show.
    pub fn run(&self, extra: &[&str]) -> Run {
        let run = self.output(extra);
        for expect in &self.expect {
            expect(&run);
        }
        run
    }

    /// The run for its own test: `-o json`, so both the report and the document are checked.
    pub fn verify(self) -> Run {
        self.run(&["-o", "json"])
    }

    /// Every secret of the run: given, and issued by the fakes (read after the run).
    pub fn all_secrets(&self) -> Vec<String> {
        let mut all = self.secrets.clone();
        for read_back in &self.issued {
            all.extend(read_back());
        }
        all
    }
}

/// A test per scenario (`scenario::NAME()`, verified), and `SCENARIOS`: every one with its name,
/// for the tests that run them all again.
#[macro_export]
macro_rules! scenario_tests {
    ($($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                scenario::$name().named(stringify!($name)).verify();
            }
        )*

        const SCENARIOS: &[(&str, fn() -> $crate::support::Scenario)] =
            &[$((stringify!($name), scenario::$name)),*];
    };
}
