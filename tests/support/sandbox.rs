//! The one harness of the end-to-end tests: a [`Sandbox`] (a temporary directory with the fake
//! tools in `bin/`, the few system tools they use in `sys/`, an empty `home/` and a `work/` that is
//! the current directory) in which the binary runs on an empty environment, and the [`Run`] it
//! gives, with assertions on the report for people and the document for scripts.

use std::borrow::BorrowMut;
use std::ffi::{OsStr, OsString};
use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use assert_cmd::Command;
use serde_json::Value;

use super::tools::{docker_client, working_tools};
use super::{redact_dir, refused_addr, without_timing};

/// Where `DOCKER_HOST` points for runs with the real client and no daemon: nothing is there.
pub const NO_DAEMON: &str = "unix:///nonexistent.sock";

/// The registry checks, in the report's order.
pub const REGISTRY_CHECKS: [&str; 6] = [
    "registry.login_server",
    "registry.dns",
    "registry.challenge",
    "registry.refresh_token",
    "registry.access_token",
    "registry.token_accepted",
];

/// A run is killed after this, whatever it was waiting for.
const RUN_LIMIT: Duration = Duration::from_secs(60);

/// A temporary directory with `bin/` (the fake tools), `sys/` (`sh`, `sleep` and `cat`, which the
/// fakes use, so PATH holds nothing else of this machine), an empty `home/` and an empty `work/`.
pub struct Sandbox {
    dir: tempfile::TempDir,
    /// Where `IMDS_ENDPOINT` points unless a run sets it: nothing listens there, so no run ever
    /// talks to 169.254.169.254.
    pub imds: SocketAddr,
    /// Set on every run (before what a run sets itself).
    env: Vec<(String, OsString)>,
}

impl Sandbox {
    /// No tool in `bin/`.
    pub fn new() -> Sandbox {
        let sandbox = Sandbox {
            dir: tempfile::tempdir().unwrap(),
            imds: refused_addr(),
            env: Vec::new(),
        };
        for sub in ["bin", "sys", "home", "work"] {
            std::fs::create_dir(sandbox.path(sub)).unwrap();
        }
        for tool in ["sh", "sleep", "cat"] {
            let real = ["/usr/bin", "/bin"]
                .iter()
                .map(|d| Path::new(d).join(tool))
                .find(|p| p.exists())
                .unwrap_or_else(|| panic!("{tool} is not in /usr/bin or /bin"));
            std::os::unix::fs::symlink(real, sandbox.path("sys").join(tool)).unwrap();
        }
        sandbox
    }

    /// `tools` (name and `sh` body) in `bin/`.
    pub fn with_tools(tools: &[(&str, String)]) -> Sandbox {
        let sandbox = Sandbox::new();
        for (name, body) in tools {
            sandbox.tool(name, body);
        }
        sandbox
    }

    /// [`working_tools`] in `bin/`.
    pub fn with_working_tools() -> Sandbox {
        Sandbox::with_tools(&working_tools())
    }

    /// Sets `name` on every run of this sandbox.
    pub fn with_env(mut self, name: &str, value: impl AsRef<OsStr>) -> Sandbox {
        self.env.push((name.to_owned(), value.as_ref().to_owned()));
        self
    }

    pub fn path(&self, sub: &str) -> PathBuf {
        self.dir.path().join(sub)
    }

    /// Writes an executable `#!/bin/sh` script (and the directories it needs).
    pub fn script(&self, path: &Path, body: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    /// Writes a script into `bin/`, on the run's PATH.
    pub fn tool(&self, name: &str, body: &str) {
        self.script(&self.path("bin").join(name), body);
    }

    /// Writes a file under `home/` (bytes as given) and gives its path.
    pub fn home_file(&self, name: &str, content: impl AsRef<[u8]>) -> PathBuf {
        let path = self.path("home").join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, content).unwrap();
        path
    }

    /// `bin:sys`: the fakes and nothing else.
    pub fn default_path(&self) -> String {
        format!(
            "{}:{}",
            self.path("bin").display(),
            self.path("sys").display()
        )
    }

    /// The directory of the real Docker client, then `sys/`. Nothing else of this machine may be
    /// found there: the tests expect no helm and no notary.
    pub fn path_with_real_docker(&self) -> String {
        let docker = docker_client();
        let dir = docker.parent().unwrap();
        for other in ["helm", "notary"] {
            assert!(
                !dir.join(other).exists(),
                "{} is next to the Docker client {}, and these tests expect none: put a `docker` \
                 (a symlink will do) in a directory of its own first on PATH",
                dir.join(other).display(),
                docker.display()
            );
        }
        format!("{}:{}", dir.display(), self.path("sys").display())
    }

    /// `program` on an empty environment but PATH, HOME, `IMDS_ENDPOINT` and the sandbox's own
    /// variables, in `work/`, as std's Command (for what only it can do, such as `pre_exec`;
    /// [`limited`] makes it one to run).
    pub fn std_command_running(
        &self,
        program: impl AsRef<OsStr>,
        path: &str,
    ) -> std::process::Command {
        let mut cmd = std::process::Command::new(program);
        cmd.env_clear()
            .env("PATH", path)
            .env("HOME", self.path("home"))
            .env("IMDS_ENDPOINT", format!("http://{}", self.imds))
            .current_dir(self.path("work"));
        for (name, value) in &self.env {
            cmd.env(name, value);
        }
        cmd
    }

    /// [`Sandbox::std_command_running`], killed after a minute.
    pub fn command_running(&self, program: impl AsRef<OsStr>, path: &str) -> Command {
        limited(self.std_command_running(program, path))
    }

    /// The binary on the fakes' PATH, as std's Command.
    pub fn std_command(&self) -> std::process::Command {
        self.std_command_running(
            assert_cmd::cargo::cargo_bin("acr-health"),
            &self.default_path(),
        )
    }

    /// The binary on `path`.
    pub fn command_on_path(&self, path: &str) -> Command {
        self.command_running(assert_cmd::cargo::cargo_bin("acr-health"), path)
    }

    /// The binary on the fakes' PATH.
    pub fn command(&self) -> Command {
        self.command_on_path(&self.default_path())
    }

    /// `acr-health acr check-health ARGS` on the fakes' PATH.
    pub fn check_health(&self, args: &[&str]) -> Command {
        let mut cmd = self.command();
        cmd.args(["acr", "check-health"]).args(args);
        cmd
    }

    /// The binary with the real Docker client of this machine, talking to a daemon that is not
    /// there ([`NO_DAEMON`]).
    pub fn real_docker_without_daemon(&self) -> Command {
        let mut cmd = self.command_on_path(&self.path_with_real_docker());
        cmd.env("DOCKER_HOST", NO_DAEMON);
        cmd
    }

    /// A run's output as text, with this sandbox's directory written as `[TMP]`.
    pub fn clean(&self, bytes: &[u8]) -> String {
        redact_dir(bytes, self.dir.path())
    }

    /// Runs `cmd`; checks nothing.
    pub fn output(&self, mut cmd: impl BorrowMut<Command>) -> Run {
        let started = Instant::now();
        let output = cmd.borrow_mut().output().expect("run acr-health");
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: self.clean(&output.stdout),
            stderr: self.clean(&output.stderr),
            elapsed: started.elapsed(),
        }
    }

    /// Runs `cmd` and checks its exit code.
    pub fn run(&self, cmd: impl BorrowMut<Command>, code: i32) -> Run {
        let run = self.output(cmd);
        assert_eq!(
            run.code, code,
            "exit code; stdout:\n{}\nstderr:\n{}",
            run.stdout, run.stderr
        );
        run
    }
}

/// `cmd` to run with [`Sandbox::output`] or [`Sandbox::run`], killed after a minute whatever it
/// waits for.
pub fn limited(cmd: std::process::Command) -> Command {
    let mut cmd = Command::from_std(cmd);
    cmd.timeout(RUN_LIMIT);
    cmd
}

/// What a run gave: its exit code (-1 when killed), stdout and stderr with the sandbox written
/// as `[TMP]`, and how long it took.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

/// `text` as JSON.
pub fn json_document(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}):\n{text}"))
}

/// The entry of the check `name` in a document for scripts.
pub fn check_in<'a>(document: &'a Value, name: &str) -> &'a Value {
    document["checks"]
        .as_array()
        .expect("a checks array")
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no check {name} in {document:#}"))
}

/// The status of the check `name` in a document for scripts.
pub fn status_in<'a>(document: &'a Value, name: &str) -> &'a str {
    check_in(document, name)["status"].as_str().unwrap()
}

impl Run {
    /// The report's lines, trimmed, without timings.
    pub fn lines(&self) -> Vec<&str> {
        self.stderr
            .lines()
            .map(|l| without_timing(l.trim_end()).trim())
            .collect()
    }

    /// Asserts that the report has this line (trimmed, without timing).
    pub fn line(&self, expected: &str) {
        assert!(
            self.lines().contains(&expected),
            "no line {expected:?} in:\n{}",
            self.stderr
        );
    }

    /// Asserts that a line of the report starts with `prefix`, and gives it.
    pub fn line_starting(&self, prefix: &str) -> &str {
        self.lines()
            .into_iter()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no line starting {prefix:?} in:\n{}", self.stderr))
    }

    pub fn no_line_containing(&self, needle: &str) {
        assert!(
            !self.stderr.contains(needle),
            "{needle:?} is in:\n{}",
            self.stderr
        );
    }

    /// The lines of the finding `code`: from `An error occurred: CODE` to the `More:` hint.
    pub fn finding(&self, code: &str) -> Vec<&str> {
        let lines = self.lines();
        let start = lines
            .iter()
            .position(|l| *l == format!("An error occurred: {code}"))
            .unwrap_or_else(|| panic!("no finding {code} in:\n{}", self.stderr));
        let end = lines[start..]
            .iter()
            .position(|l| l.starts_with("More: acr-health explain "))
            .expect("a More: line")
            + start;
        lines[start..=end].to_vec()
    }

    /// The `-o json` document.
    pub fn doc(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\n{}",
                self.stdout, self.stderr
            )
        })
    }

    pub fn check(&self, name: &str) -> Value {
        check_in(&self.doc(), name).clone()
    }

    pub fn status(&self, name: &str) -> String {
        self.check(name)["status"].as_str().unwrap().to_owned()
    }

    pub fn code_of(&self, name: &str) -> Value {
        self.check(name)["code"].clone()
    }

    pub fn details(&self, name: &str) -> Vec<String> {
        self.check(name)["details"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_str().unwrap().to_owned())
            .collect()
    }

    /// Asserts that `check`'s details include `detail`.
    pub fn detail(&self, check: &str, detail: &str) {
        let details = self.details(check);
        assert!(
            details.iter().any(|d| d == detail),
            "{check}: no detail {detail:?} in {details:#?}"
        );
    }

    /// Asserts that a detail of `check` starts with `prefix`, and gives it.
    pub fn detail_starting(&self, check: &str, prefix: &str) -> String {
        let details = self.details(check);
        details
            .iter()
            .find(|d| d.starts_with(prefix))
            .cloned()
            .unwrap_or_else(|| panic!("{check}: no detail starting {prefix:?} in {details:#?}"))
    }

    /// The check names of the document, in order, with their status.
    pub fn statuses(&self) -> Vec<(String, String)> {
        self.doc()["checks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["name"].as_str().unwrap().to_owned(),
                    c["status"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    }

    /// No panic, no backtrace, no unexpected error, whatever the run was.
    pub fn no_crash(&self) {
        for text in [&self.stdout, &self.stderr] {
            for sign in [
                "panicked",
                "RUST_BACKTRACE",
                "stack backtrace",
                "UNEXPECTED_ERROR",
                "Traceback",
            ] {
                assert!(!text.contains(sign), "{sign} in:\n{text}");
            }
        }
    }

    /// `check` failed with `code`, and its first detail is `detail`.
    pub fn failed(&self, check: &str, code: &str, detail: &str) {
        let found = self.check(check);
        assert_eq!(found["status"], "error", "{check}:\n{}", self.stderr);
        assert_eq!(found["code"], code, "{check}:\n{}", self.stderr);
        let details = self.details(check);
        assert_eq!(
            details.first().map(String::as_str),
            Some(detail),
            "{check}: {details:#?}"
        );
        assert!(
            self.stderr.contains(&format!("An error occurred: {code}")),
            "{}",
            self.stderr
        );
    }

    /// Every registry check passed.
    pub fn connectivity_ok(&self) {
        for check in REGISTRY_CHECKS {
            assert_eq!(self.status(check), "ok", "{check}:\n{}", self.stderr);
        }
    }

    /// Asserts that every registry check passed, that the report says so with a time on each
    /// line when asked to (`--verbose`, `--debug`), and that the run had no error.
    pub fn all_registry_ok(&self) {
        for check in REGISTRY_CHECKS {
            assert_eq!(self.status(check), "ok", "{check}:\n{}", self.stderr);
            assert_eq!(self.check(check)["code"], Value::Null);
            assert!(self.check(check)["duration_ms"].is_u64());
        }
        let summary = &self.doc()["summary"];
        assert_eq!(summary["errors"], 0, "{}", self.stderr);
        assert_eq!(summary["exit_code"], 0);
        assert!(
            !self.stderr.contains("An error occurred"),
            "{}",
            self.stderr
        );
    }

    /// Asserts that the registry chain failed at `check` with `code` (and nowhere else), that
    /// the checks before it did not fail and the ones after it were not checked.
    pub fn failed_at(&self, check: &str, code: &str) {
        let at = REGISTRY_CHECKS.iter().position(|c| *c == check).unwrap();
        for earlier in &REGISTRY_CHECKS[..at] {
            assert_ne!(self.status(earlier), "error", "{earlier}:\n{}", self.stderr);
        }
        let failed = self.check(check);
        assert_eq!(failed["status"], "error", "{check}:\n{}", self.stderr);
        assert_eq!(failed["code"], code, "{check}:\n{}", self.stderr);
        for later in &REGISTRY_CHECKS[at + 1..] {
            assert_eq!(self.status(later), "skipped", "{later}:\n{}", self.stderr);
            assert_eq!(self.check(later)["code"], Value::Null);
        }
        assert_eq!(self.doc()["summary"]["errors"], 1, "{}", self.stderr);
        self.line(&format!("An error occurred: {code}"));
        if self.code == 1 {
            assert!(
                self.stderr.trim_end().ends_with(&format!(
                    "Stopped at the first error ({code}): nothing was pushed or pulled after it, and the checks after it are not reported. Add --ignore-errors to run them all."
                )),
                "{}",
                self.stderr
            );
        } else {
            // --ignore-errors: the rest of the chain says why it was not checked, and the run
            // goes on to helm and notary.
            for later in &REGISTRY_CHECKS[at + 1..] {
                let name = self.check(later)["message"].as_str().unwrap().to_owned();
                assert!(
                    name.ends_with(&format!(": not checked because of {code}")),
                    "{later}: {name}"
                );
            }
            self.line("Notary version: 0.6.1");
        }
    }

    /// Without `--ignore-errors`: the run stopped at `code`, which is the last check reported.
    pub fn stopped_at(&self, check: &str, code: &str) {
        assert_eq!(self.code, 1, "{}", self.stderr);
        assert!(
            self.stderr.trim_end().ends_with(&format!(
                "Stopped at the first error ({code}): nothing was pushed or pulled after it, and the checks after it are not reported. Add --ignore-errors to run them all."
            )),
            "{}",
            self.stderr
        );
        let doc = self.doc();
        let checks = doc["checks"].as_array().unwrap();
        let not_run = |c: &Value| {
            c["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("Not reported: the run stopped at the first error"))
        };
        let first_not_run = checks.iter().position(not_run).unwrap_or(checks.len());
        assert!(
            checks[first_not_run..].iter().all(not_run),
            "{}",
            self.stdout
        );
        let last_reported = &checks[first_not_run - 1];
        assert_eq!(last_reported["name"], check, "{}", self.stdout);
        assert_eq!(last_reported["code"], code, "{}", self.stdout);
        assert_eq!(doc["summary"]["exit_code"], 1);
    }
}

/// The filters of every snapshotted report (what varies between runs: times, the version), then
/// `extra`: regular expressions and their replacements, applied in order.
pub fn report_filters(extra: &[(&str, &str)]) -> Vec<(String, String)> {
    [
        (r"\b\d+ ms\b", "[MS] ms"),
        (r"(\d+) (checks|controles) in \d+\.\d+ s", "$1 $2 in [S] s"),
        (
            r"(acr-health version|acr-health-versie): \S+",
            "$1: [VERSION]",
        ),
    ]
    .iter()
    .chain(extra)
    .map(|(regex, replacement)| (regex.to_string(), replacement.to_string()))
    .collect()
}

/// What else varies in reports of runs against the test servers: loopback ports, the test CA's
/// directory, the round trip's tag, and what this machine's resolver answers for a name that does
/// not resolve.
pub const SERVER_FILTERS: &[(&str, &str)] = &[
    (r"127\.0\.0\.1:\d+", "127.0.0.1:[PORT]"),
    (r"localhost:\d+", "localhost:[PORT]"),
    (r"/tmp/acr-health-ca-\w+/", "[CA]/"),
    (r"storage\.test:\d+", "storage.test:[PORT]"),
    (r"acr-health-\d+-\d+", "acr-health-[TAG]"),
    (
        concat!(
            r"(The name does not exist, according to the DNS server \(or /etc/hosts\)\.",
            r"|The name exists in DNS but has no address\.|No DNS server answered: .*",
            r"|The name does not resolve: .*",
            r"|Volgens de DNS-server \(of /etc/hosts\) bestaat de naam niet\.",
            r"|De naam bestaat in DNS, maar heeft geen adres\.",
            r"|Geen enkele DNS-server gaf antwoord: .*|De naam wordt niet omgezet in een adres: .*)"
        ),
        "[RESOLVER]",
    ),
];

/// Snapshots a report for people with [`report_filters`] applied (and the extra filters given).
#[macro_export]
macro_rules! assert_report {
    ($name:expr, $text:expr) => {
        $crate::assert_report!($name, $text, &[])
    };
    ($name:expr, $text:expr, $extra:expr) => {{
        let mut settings = insta::Settings::clone_current();
        for (regex, replacement) in $crate::support::sandbox::report_filters($extra) {
            settings.add_filter(&regex, replacement);
        }
        settings.bind(|| insta::assert_snapshot!($name, $text));
    }};
}
