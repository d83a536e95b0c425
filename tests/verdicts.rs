//! What a finding skips, end to end: for every code these runs provoke, the checks the `-o json`
//! document skips because of it (`skipped_because`) are exactly those `explain CODE -o json`
//! lists under `skips` (the runner and `explain` read one check graph). And a panic, wherever it
//! happens, still ends in a report: `UNEXPECTED_ERROR` inside a chain, one line and exit 1 outside.

mod support;

use std::os::unix::fs::PermissionsExt;

use serde_json::Value;
use support::sandbox::{NO_DAEMON, Run, Sandbox, json_document};
use support::tools::{fake_helm, with_tool, without_tool, working_tools};

/// `explain CODE -o json`'s `skips`.
fn explained_skips(sandbox: &Sandbox, code: &str) -> Vec<String> {
    let mut cmd = sandbox.command();
    cmd.args(["explain", code, "-o", "json"]);
    let run = sandbox.run(cmd, 0);
    names(&json_document(&run.stdout)["skips"])
}

/// The checks of a run's document skipped because of `code`, in the document's order.
fn skipped_because(run: &Run, code: &str) -> Vec<String> {
    run.doc()["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .filter(|check| check["skipped_because"] == code)
        .map(|check| {
            assert_eq!(check["status"], "skipped", "{check}");
            check["name"].as_str().unwrap().to_owned()
        })
        .collect()
}

fn names(list: &Value) -> Vec<String> {
    list.as_array()
        .expect("a list")
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}

/// Runs check-health with `-o json --ignore-errors --yes` and `args`, and compares.
fn provoke(sandbox: &Sandbox, args: &[&str], code: &str, env: &[(&str, &str)]) {
    let mut cmd = sandbox.check_health(&["-o", "json", "--ignore-errors", "--yes"]);
    cmd.args(args);
    for (name, value) in env {
        cmd.env(name, value);
    }
    let run = sandbox.run(cmd, 0);
    let document = run.doc();
    let provoked = document["checks"]
        .as_array()
        .unwrap()
        .iter()
        .any(|check| check["code"] == code);
    assert!(provoked, "{code} was not provoked:\n{}", run.stdout);
    let skipped = skipped_because(&run, code);
    assert_eq!(skipped, explained_skips(sandbox, code), "{code}");
}

#[test]
fn every_provoked_code_skips_in_a_run_what_explain_says_it_skips() {
    // The container client, helm and notary, with fakes.
    let no_client = Sandbox::with_tools(&without_tool(working_tools(), "docker"));
    provoke(&no_client, &[], "DOCKER_COMMAND_ERROR", &[]);

    // A client that is found but cannot be started is the client's finding, as a missing one.
    let unstartable = Sandbox::with_tools(&without_tool(working_tools(), "docker"));
    let docker = unstartable.path("bin").join("docker");
    std::fs::write(&docker, b"\x7fELF, but not a program").unwrap();
    std::fs::set_permissions(&docker, std::fs::Permissions::from_mode(0o755)).unwrap();
    provoke(&unstartable, &[], "DOCKER_COMMAND_ERROR", &[]);

    let broken_helm = Sandbox::with_tools(&with_tool(
        working_tools(),
        "helm",
        fake_helm("no version here"),
    ));
    provoke(&broken_helm, &[], "HELM_VERSION_ERROR", &[]);

    let no_helm = Sandbox::with_tools(&without_tool(working_tools(), "helm"));
    provoke(&no_helm, &[], "HELM_COMMAND_ERROR", &[]);

    let no_notary = Sandbox::with_tools(&without_tool(working_tools(), "notary"));
    provoke(&no_notary, &[], "NOTARY_COMMAND_ERROR", &[]);

    // The real docker client without a daemon: the pull goes through the registry API instead,
    // so nothing is skipped.
    let real_docker = Sandbox::new();
    let mut cmd = real_docker.real_docker_without_daemon();
    cmd.args(["acr", "check-health", "-o", "json", "--ignore-errors"]);
    let run = real_docker.run(cmd, 0);
    assert_eq!(run.code_of("docker.daemon"), "DOCKER_DAEMON_ERROR");
    assert_eq!(
        skipped_because(&run, "DOCKER_DAEMON_ERROR"),
        explained_skips(&real_docker, "DOCKER_DAEMON_ERROR")
    );
    assert!(explained_skips(&real_docker, "DOCKER_DAEMON_ERROR").is_empty());

    // A login server that does not resolve skips the rest of the connection and the data
    // plane, the daemon pull and the round trip included.
    let registry = Sandbox::with_working_tools();
    provoke(
        &registry,
        &[
            "--login-server",
            "no-such-registry.invalid",
            "--round-trip",
            "--daemon-pull",
            "--timeout",
            "5",
        ],
        "CONNECTIVITY_DNS_ERROR",
        &[("DOCKER_HOST", NO_DAEMON)],
    );
    assert_eq!(
        explained_skips(&registry, "CONNECTIVITY_DNS_ERROR"),
        [
            "registry.challenge",
            "registry.endpoints",
            "registry.refresh_token",
            "registry.access_token",
            "registry.token_accepted",
            "registry.manifest",
            "registry.blob",
            "registry.daemon_pull",
            "registry.round_trip"
        ]
    );
}

#[test]
fn a_panic_on_the_main_thread_is_one_line_and_exit_1() {
    let sandbox = Sandbox::with_working_tools();
    let mut cmd = sandbox.check_health(&["--yes"]);
    cmd.env("ACR_HEALTH_TEST_PANIC", "report");
    let run = sandbox.run(cmd, 1);
    let errors: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("error:"))
        .collect();
    assert_eq!(errors.len(), 1, "{}", run.stderr);
    assert!(errors[0].contains("internal error"), "{}", run.stderr);
    for noise in ["panicked", "stack backtrace", "RUST_BACKTRACE"] {
        assert!(!run.stderr.contains(noise), "{}", run.stderr);
    }
}

#[test]
fn a_panic_in_a_chain_is_reported_as_unexpected_error_and_the_rest_runs() {
    let sandbox = Sandbox::with_working_tools();
    let mut cmd = sandbox.check_health(&["--yes", "--ignore-errors", "-o", "json"]);
    cmd.env("ACR_HEALTH_TEST_PANIC", "chain");
    let run = sandbox.run(cmd, 0);
    // The first chain is the container client's: each of its checks is told, none is lost.
    for check in [
        "docker.client",
        "docker.daemon",
        "docker.version",
        "docker.pull",
    ] {
        assert_eq!(run.code_of(check), "UNEXPECTED_ERROR", "{check}");
    }
    assert_eq!(run.status("helm.version"), "ok");
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
}

#[test]
fn a_flag_that_needs_a_registry_is_a_usage_error_without_one() {
    let sandbox = Sandbox::with_working_tools();
    for (flag, args) in [
        ("--repository", &["--repository", "app"][..]),
        ("--tag", &["--tag", "v1"][..]),
        ("--round-trip", &["--round-trip"][..]),
    ] {
        let run = sandbox.run(sandbox.check_health(args), 2);
        assert!(
            run.stderr
                .starts_with(&format!("error: {flag} needs a registry to check")),
            "{}",
            run.stderr
        );
        assert!(
            run.stderr.contains("-n NAME or --login-server HOST"),
            "{}",
            run.stderr
        );
    }
    let mut dutch = sandbox.check_health(&["--round-trip"]);
    dutch.env("LANG", "nl_NL.UTF-8");
    let run = sandbox.run(dutch, 2);
    assert!(
        run.stderr
            .contains("--round-trip heeft een register nodig om te controleren"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_table_of_a_run_has_a_row_per_check() {
    let sandbox = Sandbox::with_working_tools();
    let run = sandbox.run(sandbox.check_health(&["--yes", "-o", "table"]), 0);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert!(lines[0].starts_with("Name "), "{}", run.stdout);
    assert!(lines[0].contains("Status"), "{}", run.stdout);
    assert!(lines[2].starts_with("docker.client "), "{}", run.stdout);
    assert!(run.stdout.contains("\nhelm.version "), "{}", run.stdout);
    let tsv = sandbox.run(sandbox.check_health(&["--yes", "-o", "tsv"]), 0);
    assert!(
        tsv.stdout.starts_with("docker.client\tok\t"),
        "{}",
        tsv.stdout
    );
    // A query still chooses what the table shows.
    let mut query = sandbox.check_health(&["--yes", "-o", "table", "--query", "summary"]);
    query.env("NO_COLOR", "1");
    let summary = sandbox.run(query, 0);
    assert!(summary.stdout.starts_with("Status "), "{}", summary.stdout);
}

/// A docker that starts a child of its own and waits for it, as a pull stuck on a proxy does.
const HANGING_DOCKER: &str = r#"echo $$ > "$HOME/docker.pid"
sleep 30 &
echo $! > "$HOME/sleep.pid"
wait"#;

/// Whether process `pid` is gone or dead (a zombie waiting to be reaped by whoever adopted it).
fn dead(pid: &str) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
        Err(_) => true,
    }
}

#[test]
fn a_signal_stops_the_run_and_every_program_it_started() {
    for (signal, exit, name) in [
        (libc::SIGINT, 130, "SIGINT"),
        (libc::SIGTERM, 143, "SIGTERM"),
        (libc::SIGHUP, 129, "SIGHUP"),
    ] {
        let sandbox = Sandbox::with_tools(&with_tool(
            working_tools(),
            "docker",
            HANGING_DOCKER.to_owned(),
        ));
        let mut cmd = sandbox.std_command();
        cmd.args([
            "acr",
            "check-health",
            "--yes",
            "--ignore-errors",
            "--timeout",
            "20",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
        let child = cmd.spawn().expect("start acr-health");
        let pid_file = sandbox.path("home").join("sleep.pid");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while !pid_file.exists() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        assert!(pid_file.exists(), "docker never started");
        let started = std::time::Instant::now();
        // SAFETY: kill(2) on the child we started.
        unsafe {
            libc::kill(i32::try_from(child.id()).unwrap(), signal);
        }
        let output = child.wait_with_output().unwrap();
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "{name}"
        );
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(exit), "{name}:\n{stderr}");
        assert_eq!(
            stderr.matches(&format!("Interrupted by {name}")).count(),
            1,
            "{stderr}"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
        for program in ["docker", "sleep"] {
            let pid = std::fs::read_to_string(sandbox.path("home").join(format!("{program}.pid")))
                .unwrap();
            assert!(
                dead(pid.trim()),
                "{name}: {program} ({}) still runs",
                pid.trim()
            );
        }
    }
}

#[test]
fn switched_off_verification_is_said_first_and_in_the_document() {
    let sandbox = Sandbox::with_working_tools();
    let mut off = sandbox.check_health(&["--yes", "-o", "json"]);
    off.env("AZURE_CLI_DISABLE_CONNECTION_VERIFICATION", "1");
    let run = sandbox.run(off, 0);
    assert!(
        run.stderr
            .starts_with("WARNING: certificate verification is OFF"),
        "{}",
        run.stderr
    );
    assert_eq!(run.doc()["summary"]["tls_verification"], false);
    let on = sandbox.run(sandbox.check_health(&["--yes", "-o", "json"]), 0);
    assert!(!on.stderr.contains("verification is OFF"), "{}", on.stderr);
    assert_eq!(on.doc()["summary"]["tls_verification"], true);
}

#[test]
fn a_registry_that_speaks_plain_http_is_named_as_such() {
    let plain = support::fake_registry::FakeRegistry::start_plain();
    let sandbox = Sandbox::with_working_tools();
    let server = format!("localhost:{}", plain.port());
    let run = sandbox.run(
        sandbox.check_health(&[
            "--yes",
            "--ignore-errors",
            "-o",
            "json",
            "--login-server",
            &server,
        ]),
        0,
    );
    assert_eq!(run.code_of("registry.challenge"), "CONNECTIVITY_SSL_ERROR");
    let detail = &run.details("registry.challenge")[0];
    assert!(
        detail.starts_with("What answered speaks plain HTTP, not TLS"),
        "{detail}"
    );
}
