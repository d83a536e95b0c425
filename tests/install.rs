//! Installing acr-health where az users are: the wheel into a fresh virtual environment, and the
//! same wheel as an extension of the real Azure CLI 2.91.0 from PyPI, which then runs acr-health
//! for `az acr check-health` and `az acr explain`, until the extension is removed.

mod support;

use std::path::Path;

use assert_cmd::Command;
use support::python::{azure_cli, succeed, virtual_environment, wheel};
use support::{NO_DAEMON, Run, Sandbox, json_document};

/// The wheel installs into a fresh virtual environment without an index, and puts the optimized
/// binary it carries on that environment's PATH.
#[test]
fn the_wheel_puts_acr_health_on_a_virtual_environments_path() {
    let (wheel, binary) = wheel();
    let sandbox = Sandbox::new();
    let venv = sandbox.path("venv");
    virtual_environment(&venv);
    succeed(
        std::process::Command::new(venv.join("bin/python"))
            .args([
                "-m",
                "pip",
                "install",
                "-q",
                "--no-index",
                "--disable-pip-version-check",
            ])
            .arg(wheel),
        "pip install <wheel>",
    );
    let installed = venv.join("bin/acr-health");
    assert_eq!(
        std::fs::read(&installed).unwrap(),
        std::fs::read(binary).unwrap(),
        "the wheel carries another binary than the optimized build's"
    );
    // Found by name on the environment's PATH, as an activated environment finds it.
    let path = format!(
        "{}:{}",
        venv.join("bin").display(),
        sandbox.path("sys").display()
    );
    let mut explain = sandbox.command_running("acr-health", &path);
    explain.args(["explain", "CONNECTIVITY_SSL_ERROR", "--lang", "nl"]);
    let explained = sandbox.run(explain, 0);
    says(&explained.stdout, "Mogelijke oplossingen");
    let mut version = sandbox.command_running("acr-health", &path);
    let version = sandbox.run(version.arg("--version"), 0);
    assert_eq!(
        version.stdout.trim(),
        format!("acr-health {}", env!("CARGO_PKG_VERSION"))
    );
}

/// `az` of the test's Azure CLI with its configuration in the sandbox, the real Docker client
/// (talking to no daemon) and nothing else of this machine on PATH.
fn az(sandbox: &Sandbox, args: &[&str]) -> Command {
    let mut cmd = sandbox.command_running(azure_cli(), &sandbox.path_with_real_docker());
    cmd.env("AZURE_CONFIG_DIR", sandbox.path("home/.azure"))
        .env("AZURE_CORE_COLLECT_TELEMETRY", "false")
        .env("DOCKER_HOST", NO_DAEMON)
        .env("ACR_HEALTH_LANG", "en")
        .args(args);
    cmd
}

/// `text` (a run's stdout or stderr) holds `needle`.
fn says(text: &str, needle: &str) {
    assert!(text.contains(needle), "{needle:?} not in:\n{text}");
}

fn az_run(sandbox: &Sandbox, args: &[&str], code: i32) -> Run {
    sandbox.run(az(sandbox, args), code)
}

/// After one `az extension add --source <wheel>`, `az acr check-health` and `az acr explain` are
/// acr-health's: its flags, its report on stderr, its document formatted by az's `-o` and
/// `--query`, its exit codes; `az extension remove` gives az its own check-health back.
#[test]
fn azure_cli_runs_acr_health_as_its_extension() {
    let (wheel, _) = wheel();
    let sandbox = Sandbox::new();
    let wheel = wheel.to_str().unwrap();
    az_run(
        &sandbox,
        &["extension", "add", "--source", wheel, "--yes"],
        0,
    );
    let listed = az_run(
        &sandbox,
        &["extension", "list", "--query", "[].name", "-o", "tsv"],
        0,
    );
    assert_eq!(listed.stdout.trim(), "acr-health");

    // Every check runs; the report for people is acr-health's, on stderr; the document on stdout.
    let all = az_run(
        &sandbox,
        &["acr", "check-health", "--ignore-errors", "--yes"],
        0,
    );
    says(&all.stderr, "acr-health version: ");
    says(&all.stderr, "An error occurred: DOCKER_DAEMON_ERROR");
    // Its hints name the command the user has: az's.
    says(&all.stderr, "More: az acr explain DOCKER_DAEMON_ERROR · ");
    let document = json_document(&all.stdout);
    assert_eq!(document["summary"]["exit_code"], 0, "{}", all.stdout);
    assert!(
        document["checks"].as_array().unwrap().len() >= 8,
        "{}",
        all.stdout
    );

    // Without --ignore-errors the first error ends the run with exit 1, as az's does; az still
    // prints the document of the checks reported.
    let first = az_run(&sandbox, &["acr", "check-health", "--yes"], 1);
    says(&first.stderr, "An error occurred: DOCKER_DAEMON_ERROR");
    assert_eq!(json_document(&first.stdout)["summary"]["exit_code"], 1);

    // az's -o and --query apply to acr-health's document.
    let codes = az_run(
        &sandbox,
        &[
            "acr",
            "check-health",
            "--ignore-errors",
            "-y",
            "-o",
            "json",
            "--query",
            "checks[?status=='error'].code",
        ],
        0,
    );
    let codes = json_document(&codes.stdout);
    assert!(
        codes
            .as_array()
            .unwrap()
            .contains(&"DOCKER_DAEMON_ERROR".into()),
        "{codes}"
    );
    let tsv = az_run(
        &sandbox,
        &[
            "acr",
            "check-health",
            "--ignore-errors",
            "-y",
            "-o",
            "tsv",
            "--query",
            "summary.status",
        ],
        0,
    );
    assert_eq!(tsv.stdout, "error\n");

    // az's --only-show-errors is acr-health's: no passing check is shown, the errors are.
    let quiet = az_run(
        &sandbox,
        &[
            "acr",
            "check-health",
            "--ignore-errors",
            "-y",
            "-o",
            "none",
            "--only-show-errors",
        ],
        0,
    );
    assert!(quiet.stdout.is_empty(), "{}", quiet.stdout);
    assert!(
        !quiet.stderr.contains("Docker client: "),
        "{}",
        quiet.stderr
    );
    says(&quiet.stderr, "DOCKER_DAEMON_ERROR");

    // acr-health's own flags pass through: a login server it refuses is its usage error (exit 2),
    // and its --timeout range is its own.
    let refused = az_run(
        &sandbox,
        &["acr", "check-health", "--login-server", "bad host"],
        2,
    );
    says(&refused.stderr, "is not a login server");
    az_run(&sandbox, &["acr", "check-health", "--timeout", "0"], 2);
    let help = az_run(&sandbox, &["acr", "check-health", "--help"], 0);
    for flag in [
        "--login-server",
        "--round-trip",
        "--resolve",
        "--daemon-pull",
        "--lang",
    ] {
        says(&help.stdout, flag);
    }

    // az acr explain: the text for people on stderr, in the language asked for; the document on
    // stdout.
    let explained = az_run(
        &sandbox,
        &["acr", "explain", "CONNECTIVITY_SSL_ERROR", "--lang", "nl"],
        0,
    );
    says(&explained.stderr, "Mogelijke oplossingen");
    assert_eq!(
        json_document(&explained.stdout)["code"],
        "CONNECTIVITY_SSL_ERROR"
    );
    let title = az_run(
        &sandbox,
        &[
            "acr",
            "explain",
            "connectivity_ssl_error",
            "--lang",
            "nl",
            "--query",
            "title",
            "-o",
            "tsv",
        ],
        0,
    );
    assert_eq!(
        title.stdout,
        "Geen beveiligde verbinding met het register\n"
    );
    let list = az_run(
        &sandbox,
        &["acr", "explain", "--list", "--query", "length(@)"],
        0,
    );
    let mut own = sandbox.command();
    let own = sandbox.run(own.args(["explain", "--list", "-o", "json"]), 0);
    assert_eq!(
        json_document(&list.stdout),
        json_document(&own.stdout).as_array().unwrap().len()
    );
    let unknown = az_run(&sandbox, &["acr", "explain", "NO_SUCH_CODE"], 2);
    says(
        &unknown.stderr,
        "NO_SUCH_CODE is not a known error code.\nRun `az acr explain --list` to see every code.",
    );

    // Removed, az's own check-health answers again, and az acr explain is gone.
    az_run(
        &sandbox,
        &["extension", "remove", "--name", "acr-health"],
        0,
    );
    let own = az_run(
        &sandbox,
        &["acr", "check-health", "--ignore-errors", "--yes"],
        0,
    );
    assert!(!own.stderr.contains("acr-health"), "{}", own.stderr);
    says(&own.stderr, "Azure CLI version: ");
    let gone = az(&sandbox, &["acr", "explain", "--list"])
        .output()
        .unwrap();
    assert_eq!(gone.status.code(), Some(2));
    assert!(!Path::new(&sandbox.path("home/.azure/cliextensions/acr-health")).exists());
}
