//! `acr-health acr check-health`, end to end through the binary: the environment checks (docker or
//! podman, helm, notary) against fake clients on a private PATH, and once against the real docker
//! client of this machine with no daemon.

mod support;

use std::path::Path;
use std::time::{Duration, Instant};

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;
use support::*;

/// `12 ms` → `[MS] ms`: request times differ from run to run.
fn without_times(text: &str) -> String {
    text.split(" ms")
        .map(|part| part.trim_end_matches(|c: char| c.is_ascii_digit()))
        .collect::<Vec<_>>()
        .join("[MS] ms")
}

/// The test pull without a daemon, through the registry API.
const PULLED_WITHOUT_DAEMON: &str = "  With no Docker daemon to pull with, acr-health downloaded mcr.microsoft.com/mcr/hello-world:latest through the registry API instead, and that failed:";

/// A proxy address where nothing listens (port 1 on loopback).
const NO_PROXY_HERE: &str = "http://127.0.0.1:1";

const FAKE_DAEMON_DOWN: &str = r#"echo "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?" >&2; exit 1"#;
/// A pull that works, and leaves a mark so a test can tell that it ran.
const PULL_AND_MARK: &str = r#": > "$HOME/pulled"; echo "Status: Image is up to date for $2""#;
const HELM_2: &str =
    r#"Client: &version.Version{SemVer:"v2.16.12", GitCommit:"47f0b88", GitTreeState:"clean"}"#;
const HELM_2_10: &str =
    r#"Client: &version.Version{SemVer:"v2.10.0", GitCommit:"9ad53aa", GitTreeState:"clean"}"#;

/// docker, helm 3 and notary 0.6.1, all working; docker's pull leaves its mark.
fn working() -> Vec<(&'static str, String)> {
    with_tool(
        working_tools(),
        "docker",
        fake_docker(DAEMON_UP, PULL_AND_MARK),
    )
}

/// A sandbox with `tools` in `bin/`. Without a daemon the test pull goes through the registry
/// API; a proxy where nothing listens keeps it on loopback (it is refused at once).
fn sandbox_with(tools: &[(&str, String)]) -> Sandbox {
    Sandbox::with_tools(tools).with_env("HTTPS_PROXY", NO_PROXY_HERE)
}

/// Whether the fake docker's pull ran.
fn pulled(sandbox: &Sandbox) -> bool {
    sandbox.path("home").join("pulled").exists()
}

// ---------------------------------------------------------------------------------------------
// The real docker client, no daemon

/// `acr check-health ARGS` with the real docker of this machine and nothing else of it, talking
/// to a socket that does not exist.
fn real_docker(sandbox: &Sandbox, args: &[&str]) -> Command {
    let mut cmd = sandbox.real_docker_without_daemon();
    cmd.args(["acr", "check-health"]).args(args);
    cmd
}

/// The report's first line with the real docker.
fn real_docker_client_line() -> String {
    format!("Docker client: {}", docker_client().display())
}

const DAEMON_DOWN: &str = "Cannot connect to the Docker daemon at unix:///nonexistent.sock. Is the docker daemon running?";

#[test]
fn the_real_docker_without_a_daemon_gives_the_daemon_error_and_the_run_goes_on() {
    let sandbox = sandbox_with(&[]);
    let Run { stdout, stderr, .. } =
        sandbox.run(real_docker(&sandbox, &["--ignore-errors", "--yes"]), 0);
    assert_eq!(stdout, "");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines[0], real_docker_client_line());
    assert_eq!(lines[1], "An error occurred: DOCKER_DAEMON_ERROR");
    assert!(
        lines.contains(&format!("    {DAEMON_DOWN}").as_str()),
        "docker's own words are kept:\n{stderr}"
    );
    for line in [
        // No daemon: the test pull goes through the registry API (refused here by the proxy).
        "An error occurred: DOCKER_PULL_ERROR",
        PULLED_WITHOUT_DAEMON,
        "An error occurred: HELM_COMMAND_ERROR",
        "  'helm' was not found on PATH.",
        "Helm version: not checked because of HELM_COMMAND_ERROR",
        "Warning: NOTARY_COMMAND_ERROR",
        "Notary version: not checked because of NOTARY_COMMAND_ERROR",
        "Please refer to https://aka.ms/acr/health-check for more information.",
    ] {
        assert!(lines.contains(&line), "no line {line:?} in:\n{stderr}");
    }
    assert!(!stderr.contains("Stopped at the first error"), "{stderr}");

    let Run {
        stdout,
        stderr: stderr_with_json,
        ..
    } = sandbox.run(
        real_docker(&sandbox, &["--ignore-errors", "--yes", "-o", "json"]),
        0,
    );
    assert_eq!(
        without_times(&stderr_with_json),
        without_times(&stderr),
        "-o changes only stdout"
    );
    let document = json_document(&stdout);
    let names: Vec<&str> = document["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "docker.client",
            "docker.daemon",
            "docker.version",
            "docker.pull",
            "cli.version",
            "registry.name",
            "helm.command",
            "helm.version",
            "notary.command",
            "notary.version"
        ]
    );
    let daemon = check_in(&document, "docker.daemon");
    assert_eq!(daemon["status"], "error");
    assert_eq!(daemon["code"], "DOCKER_DAEMON_ERROR");
    assert_eq!(daemon["details"], serde_json::json!([DAEMON_DOWN]));
    assert_eq!(
        check_in(&document, "helm.command")["code"],
        "HELM_COMMAND_ERROR"
    );
    assert_eq!(status_in(&document, "notary.command"), "warning");
    assert_eq!(
        check_in(&document, "notary.command")["code"],
        "NOTARY_COMMAND_ERROR"
    );
    assert_eq!(
        check_in(&document, "docker.pull")["code"],
        "DOCKER_PULL_ERROR"
    );
    let summary = &document["summary"];
    assert_eq!(summary["status"], "error");
    // The daemon, the pull through the registry API (refused: no network here) and helm.
    assert_eq!(summary["errors"], 3);
    assert_eq!(summary["warnings"], 1);
    assert_eq!(summary["exit_code"], 0);
}

#[test]
fn the_real_docker_without_a_daemon_stops_the_run_without_ignore_errors() {
    let sandbox = sandbox_with(&[]);
    let Run { stdout, stderr, .. } = sandbox.run(real_docker(&sandbox, &["--yes"]), 1);
    assert_eq!(stdout, "");
    assert!(
        stderr.starts_with(&format!(
            "{}\nAn error occurred: DOCKER_DAEMON_ERROR\n",
            real_docker_client_line()
        )),
        "{stderr}"
    );
    assert!(stderr.contains(DAEMON_DOWN), "{stderr}");
    assert!(
        stderr.ends_with(
            "\n\nStopped at the first error (DOCKER_DAEMON_ERROR): nothing was pushed or pulled after it, and the checks after it are not reported. Add --ignore-errors to run them all.\n"
        ),
        "{stderr}"
    );
    // Nothing after the error is reported, so nothing can look as if it passed.
    for later in [
        "Docker version",
        "Helm",
        "Notary",
        "acr-health version",
        "Please refer to",
    ] {
        assert!(
            !stderr.contains(later),
            "{later:?} reported after the stop:\n{stderr}"
        );
    }

    let Run { stdout, .. } = sandbox.run(real_docker(&sandbox, &["--yes", "-o", "json"]), 1);
    let document = json_document(&stdout);
    assert_eq!(status_in(&document, "docker.client"), "ok");
    assert_eq!(status_in(&document, "docker.daemon"), "error");
    for later in [
        "docker.version",
        "docker.pull",
        "cli.version",
        "registry.name",
        "helm.command",
        "helm.version",
        "notary.command",
        "notary.version",
    ] {
        assert_eq!(status_in(&document, later), "skipped", "{later}");
        let message = check_in(&document, later)["message"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(
            message.starts_with("Not reported: the run stopped at the first error"),
            "{later}: {message}"
        );
    }
    assert_eq!(document["summary"]["exit_code"], 1);
    assert_eq!(document["summary"]["skipped"], 8);
}

#[test]
fn the_report_in_dutch_by_flag_and_by_locale() {
    let sandbox = sandbox_with(&[]);
    let Run {
        stderr: by_flag, ..
    } = sandbox.run(
        real_docker(&sandbox, &["--ignore-errors", "--yes", "--lang", "nl"]),
        0,
    );
    assert!(by_flag.contains("  Mogelijke oplossingen:\n"), "{by_flag}");
    assert!(
        by_flag.contains("Er is een fout opgetreden: DOCKER_DAEMON_ERROR\n"),
        "{by_flag}"
    );
    assert!(
        by_flag.contains("Waarschuwing: NOTARY_COMMAND_ERROR\n"),
        "{by_flag}"
    );
    // The docker client's version is this machine's; the rest is ours.
    let snapshot: String = by_flag
        .lines()
        .map(|l| match l.strip_prefix("Docker-versie: ") {
            Some(_) => "Docker-versie: [VERSION OF THE REAL DOCKER]\n".to_owned(),
            None => format!("{l}\n"),
        })
        .collect();
    // So is its path.
    let docker = regex_literal(&docker_client().display().to_string());
    assert_report!("dutch", &snapshot, &[(docker.as_str(), "[DOCKER]")]);

    let Run {
        stderr: by_locale, ..
    } = sandbox.run(
        real_docker(&sandbox, &["--ignore-errors", "--yes"]).env("LANG", "nl_NL.UTF-8"),
        0,
    );
    assert_eq!(without_times(&by_locale), without_times(&by_flag));
}

// ---------------------------------------------------------------------------------------------
// A working machine

#[test]
fn a_working_machine_passes_every_check() {
    let sandbox = sandbox_with(&working());
    let Run { stdout, stderr, .. } = sandbox.run(sandbox.check_health(&["--yes"]), 0);
    assert_eq!(stdout, "");
    for line in [
        "Docker client: [TMP]/bin/docker",
        "Docker daemon status: available",
        "Docker version: 28.2.2, build e6534b4, platform linux/amd64",
        "Docker pull of 'mcr.microsoft.com/mcr/hello-world:latest' : OK",
        &format!("acr-health version: {}", env!("CARGO_PKG_VERSION")),
        "Helm version: 3.14.0",
        "Notary version: 0.6.1",
    ] {
        assert!(
            stderr.lines().any(|l| l == line),
            "no line {line:?} in:\n{stderr}"
        );
    }
    assert!(pulled(&sandbox));
    assert!(!stderr.contains("An error occurred"), "{stderr}");
    assert_report!("working_machine", &stderr);
}

#[test]
fn only_show_errors_prints_nothing_when_every_check_passed() {
    let sandbox = sandbox_with(&working());
    let Run { stdout, stderr, .. } =
        sandbox.run(sandbox.check_health(&["--yes", "--only-show-errors"]), 0);
    assert_eq!((stdout.as_str(), stderr.as_str()), ("", ""));
}

#[test]
fn only_show_errors_prints_the_errors_and_nothing_else() {
    // helm is missing (an error) and notary too (a warning); docker works.
    let tools = without_tool(without_tool(working(), "helm"), "notary");
    let sandbox = sandbox_with(&tools);
    let Run { stderr, .. } = sandbox.run(
        sandbox.check_health(&["--yes", "--ignore-errors", "--only-show-errors"]),
        0,
    );
    assert!(
        stderr.starts_with("An error occurred: HELM_COMMAND_ERROR\n"),
        "{stderr}"
    );
    assert_eq!(stderr.matches("An error occurred").count(), 1, "{stderr}");
    for hidden in [
        " : OK",
        "Docker daemon status",
        "not checked because",
        "NOTARY_COMMAND_ERROR",
        "Registry name must be provided",
        "Please refer to",
    ] {
        assert!(!stderr.contains(hidden), "{hidden:?} shown:\n{stderr}");
    }

    // Without --ignore-errors the line that says where the run stopped is an error line too.
    let Run { stderr, .. } = sandbox.run(sandbox.check_health(&["--yes", "--only-show-errors"]), 1);
    assert!(
        stderr.starts_with("An error occurred: HELM_COMMAND_ERROR\n"),
        "{stderr}"
    );
    assert!(
        stderr.ends_with(
            "Stopped at the first error (HELM_COMMAND_ERROR): nothing was pushed or pulled after it, and the checks after it are not reported. Add --ignore-errors to run them all.\n"
        ),
        "{stderr}"
    );
}

// ---------------------------------------------------------------------------------------------
// Docker

#[test]
fn a_failed_pull_is_a_pull_error_with_the_clients_own_words() {
    let pull = r#"echo 'Error response from daemon: Get "https://mcr.microsoft.com/v2/": dial tcp: lookup mcr.microsoft.com: no such host' >&2; exit 1"#;
    let sandbox = sandbox_with(&with_tool(
        working(),
        "docker",
        fake_docker(DAEMON_UP, pull),
    ));
    let Run { stderr, .. } = sandbox.run(sandbox.check_health(&["--yes"]), 1);
    assert!(
        stderr.contains(
            "An error occurred: DOCKER_PULL_ERROR\n  The sample image could not be pulled."
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("  'docker pull mcr.microsoft.com/mcr/hello-world:latest' failed:\n    Error response from daemon: Get \"https://mcr.microsoft.com/v2/\": dial tcp: lookup mcr.microsoft.com: no such host\n"),
        "{stderr}"
    );
    assert!(!stderr.contains(" : OK"), "{stderr}");
    assert_report!("failed_pull", &stderr);
}

#[test]
fn a_pull_of_an_image_for_another_platform_passes_with_a_note() {
    let pull = r#"echo "image with reference $2 was found but does not match the specified platform: wanted linux/riscv64; the image cannot be used on this platform" >&2; exit 1"#;
    let sandbox = sandbox_with(&with_tool(
        working(),
        "docker",
        fake_docker(DAEMON_UP, pull),
    ));
    let Run { stderr, .. } = sandbox.run(sandbox.check_health(&["--yes"]), 0);
    assert!(
        stderr.contains(
            "Docker pull of 'mcr.microsoft.com/mcr/hello-world:latest' : OK\n  Image 'mcr.microsoft.com/mcr/hello-world:latest' can be pulled but cannot be used on this platform.\n"
        ),
        "{stderr}"
    );
    assert!(!stderr.contains("DOCKER_PULL_ERROR"), "{stderr}");
}

/// Debian 12's docker.io 20.10 prints the word `json` for `version --format json`; the version is
/// asked for with the template every client knows, so its version line is right.
#[test]
fn docker_20_10_gives_its_version() {
    let docker = r#"case "$1 $2" in
  "version --format") case "$3" in
      json) echo json ;;
      "{{json .}}") echo '{"Client":{"Version":"20.10.24+dfsg1","GitCommit":"297e128","Os":"linux","Arch":"amd64"},"Server":{"Version":"20.10.24+dfsg1"}}' ;;
      *) exit 64 ;;
    esac ;;
  "pull mcr.microsoft.com/mcr/hello-world:latest") echo "Status: Image is up to date" ;;
  *) exit 64 ;;
esac"#;
    let mut tools = without_tool(working(), "docker");
    tools.push(("docker", docker.to_owned()));
    let sandbox = sandbox_with(&tools);
    let Run { stderr, .. } = sandbox.run(sandbox.check_health(&["--yes"]), 0);
    assert!(
        stderr.contains("Docker version: 20.10.24+dfsg1, build 297e128, platform linux/amd64\n"),
        "{stderr}"
    );
}

/// This shell uses a proxy and this machine's real daemon does not: the test pull (which fails
/// here, with no way out) says that docker pull goes direct, and how to give the daemon the proxy.
#[test]
fn a_proxy_in_the_shell_only_is_named_beside_the_daemons_pull() {
    let sandbox = sandbox_with(&[]);
    let mut cmd = sandbox.command_on_path(&sandbox.path_with_real_docker());
    cmd.env("HTTPS_PROXY", "http://user:secret@127.0.0.1:9")
        .args([
            "acr",
            "check-health",
            "--yes",
            "--ignore-errors",
            "--timeout",
            "5",
            "-o",
            "json",
        ]);
    let run = sandbox.run(cmd, 0);
    let pull = run.check("docker.pull");
    let details: Vec<&str> = pull["details"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        details.iter().any(|d| d.starts_with(
            "This shell uses the proxy http://127.0.0.1:9, the Docker daemon none: docker pull goes direct."
        )),
        "{details:#?}\n{}",
        run.stderr
    );
    assert!(!run.stderr.contains("secret") && !run.stdout.contains("secret"));
}

/// Placed as docker's CLI plugin `acr`, acr-health answers `docker acr check-health …` (as
/// `az acr check-health`) and `docker acr explain …` through the real docker client, which lists
/// it with its metadata.
#[test]
fn acr_health_is_a_docker_cli_plugin() {
    let sandbox = sandbox_with(&[]);
    let plugin = sandbox.path("home/.docker/cli-plugins/docker-acr");
    std::fs::create_dir_all(plugin.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink(assert_cmd::cargo::cargo_bin("acr-health"), &plugin).unwrap();
    let docker = |args: &[&str]| {
        let mut cmd = sandbox.command_running(docker_client(), &sandbox.path_with_real_docker());
        cmd.env("DOCKER_HOST", NO_DAEMON).args(args);
        cmd
    };
    let listed = sandbox.output(docker(&["--help"]));
    assert!(
        listed.stdout.contains("acr*") && listed.stdout.contains("Checks like az acr check-health"),
        "{}{}",
        listed.stdout,
        listed.stderr
    );
    let explained = sandbox.run(
        docker(&["acr", "explain", "CONNECTIVITY_SSL_ERROR", "--lang", "nl"]),
        0,
    );
    assert!(
        explained.stdout.contains("Mogelijke oplossingen"),
        "{}",
        explained.stdout
    );
    let checked = sandbox.run(
        docker(&[
            "acr",
            "check-health",
            "--ignore-errors",
            "--yes",
            "-o",
            "json",
        ]),
        0,
    );
    assert_eq!(checked.status("docker.client"), "ok", "{}", checked.stderr);
    // Its hints name the command the user has: docker's.
    assert!(
        checked
            .stderr
            .contains("More: docker acr explain DOCKER_DAEMON_ERROR · "),
        "{}",
        checked.stderr
    );
}

/// A user outside the docker group, against this machine's real daemon (its socket belongs to
/// the group `docker`): DOCKER_DAEMON_ERROR names the socket and its group, with the command that
/// joins it.
#[test]
fn a_user_outside_the_docker_group_is_told_how_to_join_it() {
    let docker = support::tools::docker_client();
    let path = format!("{}:/usr/bin:/bin", docker.parent().unwrap().display());
    let output = std::process::Command::new("runuser")
        .args(["-u", "nobody", "--", "env", "-i"])
        .args([
            format!("PATH={path}"),
            "HOME=/tmp".into(),
            "IMDS_ENDPOINT=http://127.0.0.1:9".into(),
        ])
        .arg(assert_cmd::cargo::cargo_bin("acr-health"))
        .args(["check-health", "--yes", "--timeout", "5"])
        .current_dir("/tmp")
        .output()
        .expect("runuser (the tests run as root)");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("An error occurred: DOCKER_DAEMON_ERROR"),
        "{stderr}"
    );
    assert!(
        stderr.contains("This user may not use the daemon's socket /var/run/docker.sock, which belongs to the group docker. Join it with `sudo usermod -aG docker $USER`"),
        "{stderr}"
    );
}

#[test]
fn podman_is_used_when_there_is_no_docker() {
    let podman = r#"case "$1" in
  ps) echo "CONTAINER ID  IMAGE       COMMAND     CREATED     STATUS      PORTS       NAMES" ;;
  version) [ "$2 $3" = "--format {{json .}}" ] || exit 64; echo '{"Client":{"APIVersion":"4.3.1","Version":"4.3.1","GoVersion":"go1.19.8","GitCommit":"","BuiltTime":"Thu Jan  1 00:00:00 1970","Built":0,"OsArch":"linux/arm64","Os":"linux"}}' ;;
  pull) echo "Trying to pull $2..." >&2; echo "d2c94e258dcb" ;;
  *) exit 64 ;;
esac"#;
    let mut tools = without_tool(working(), "docker");
    tools.push(("podman", podman.to_owned()));
    let sandbox = sandbox_with(&tools);
    let Run { stderr, .. } = sandbox.run(sandbox.check_health(&["--yes"]), 0);
    assert!(
        stderr.starts_with(
            "Podman client: [TMP]/bin/podman\n\
             Podman daemon status: available\n\
             Podman version: 4.3.1, build unknown, platform linux/arm64\n\
             Podman pull of 'mcr.microsoft.com/mcr/hello-world:latest' : OK\n"
        ),
        "{stderr}"
    );
}

/// Podman's failures get Podman's fixes: a pull that fails says Podman pulls without a daemon,
/// with the shell's proxy, and gives `podman pull`; a client that cannot reach its service says
/// how to start it. In Dutch as well.
#[test]
fn podman_failures_come_with_podmans_fixes() {
    let podman = r#"case "$1" in
  version) [ "$2 $3" = "--format {{json .}}" ] || exit 64; echo '{"Client":{"Version":"4.3.1","OsArch":"linux/amd64"}}'; [ -z "$NO_SERVICE" ] || { echo "Cannot connect to Podman." >&2; exit 125; } ;;
  pull) echo "Error: initializing source: pinging container registry: proxy refused" >&2; exit 125 ;;
  *) exit 64 ;;
esac"#;
    let mut tools = without_tool(working(), "docker");
    tools.push(("podman", podman.to_owned()));
    let sandbox = sandbox_with(&tools);
    let Run { stderr, .. } = sandbox.run(sandbox.check_health(&["--yes"]), 1);
    assert!(
        stderr.contains("An error occurred: DOCKER_PULL_ERROR"),
        "{stderr}"
    );
    assert!(
        stderr.contains("Podman pulls without a daemon, with this shell's proxy settings"),
        "{stderr}"
    );
    assert!(
        stderr.contains("podman pull mcr.microsoft.com/mcr/hello-world:latest"),
        "{stderr}"
    );
    let Run { stderr, .. } = sandbox.run(
        sandbox
            .check_health(&["--yes", "--lang", "nl"])
            .env("NO_SERVICE", "1"),
        1,
    );
    assert!(
        stderr.contains("Er is een fout opgetreden: DOCKER_DAEMON_ERROR"),
        "{stderr}"
    );
    assert!(
        stderr.contains("De remote client van Podman heeft zijn service nodig"),
        "{stderr}"
    );
}

#[test]
fn docker_command_names_the_client_by_its_absolute_path() {
    // No docker on PATH; the one named by DOCKER_COMMAND is used.
    let sandbox = sandbox_with(&without_tool(working(), "docker"));
    let named = sandbox.path("opt/docker");
    sandbox.script(&named, &fake_docker(DAEMON_UP, PULL_AND_MARK));
    let Run { stderr, .. } = sandbox.run(
        sandbox
            .check_health(&["--yes"])
            .env("DOCKER_COMMAND", &named),
        0,
    );
    assert!(
        stderr.starts_with(
            "Docker client: [TMP]/opt/docker\n\
             Docker daemon status: available\n\
             Docker version: 28.2.2, build e6534b4, platform linux/amd64\n\
             Docker pull of 'mcr.microsoft.com/mcr/hello-world:latest' : OK\n"
        ),
        "{stderr}"
    );
    assert!(pulled(&sandbox));
}

#[test]
fn a_docker_planted_in_the_current_directory_is_refused() {
    let sandbox = sandbox_with(&without_tool(working(), "docker"));
    let planted = sandbox.path("work/docker");
    sandbox.script(&planted, &fake_docker(DAEMON_UP, PULL_AND_MARK));
    let path = format!(".:{}", sandbox.default_path());
    let Run { stderr, .. } = sandbox.run(
        sandbox
            .command_on_path(&path)
            .args(["acr", "check-health", "--yes", "--ignore-errors"]),
        0,
    );
    assert!(
        stderr.starts_with(
            "An error occurred: DOCKER_COMMAND_ERROR\n  No working Docker client was found. Check that Docker is installed and on PATH.\n  Refusing to use 'docker' found at '[TMP]/work/docker' because it is in the current directory. Put the trusted program on PATH, or, for docker, set DOCKER_COMMAND to its absolute path.\n"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("Docker daemon: not checked because of DOCKER_COMMAND_ERROR\n"),
        "{stderr}"
    );
    assert!(!pulled(&sandbox), "the planted docker ran");

    // A relative DOCKER_COMMAND into the current directory is refused too ...
    let Run { stderr, .. } = sandbox.run(
        sandbox
            .check_health(&["--yes", "--ignore-errors"])
            .env("DOCKER_COMMAND", "./docker"),
        0,
    );
    assert!(
        stderr.contains("  Refusing to use './docker' found at '[TMP]/work/docker'"),
        "{stderr}"
    );
    // ... and the same binary named by its absolute path is trusted.
    let Run { stderr, .. } = sandbox.run(
        sandbox
            .check_health(&["--yes"])
            .env("DOCKER_COMMAND", &planted),
        0,
    );
    assert!(
        stderr.starts_with("Docker client: [TMP]/work/docker\nDocker daemon status: available\n"),
        "{stderr}"
    );
}

#[test]
fn a_tool_found_through_a_relative_path_entry_is_shown_by_its_clean_path() {
    let sandbox = sandbox_with(&without_tool(working(), "helm"));
    sandbox.script(&sandbox.path("work/tools/helm"), &fake_helm(HELM_3));
    let path = format!("./tools:{}", sandbox.default_path());
    let Run { stderr, .. } = sandbox.run(
        sandbox
            .command_on_path(&path)
            .args(["acr", "check-health", "--yes"]),
        0,
    );
    assert!(
        stderr.contains("Helm client: [TMP]/work/tools/helm\nHelm version: 3.14.0\n"),
        "{stderr}"
    );
}

#[test]
fn a_helm_planted_in_the_current_directory_is_refused_too() {
    let sandbox = sandbox_with(&without_tool(working(), "helm"));
    sandbox.script(&sandbox.path("work/helm"), &fake_helm(HELM_3));
    let path = format!(".:{}", sandbox.default_path());
    let Run { stderr, .. } = sandbox.run(
        sandbox
            .command_on_path(&path)
            .args(["acr", "check-health", "--yes", "--ignore-errors"]),
        0,
    );
    assert!(
        stderr.contains(
            "An error occurred: HELM_COMMAND_ERROR\n  No working Helm client was found. Check that Helm is installed and on PATH.\n  Refusing to use 'helm' found at '[TMP]/work/helm'"
        ),
        "{stderr}"
    );
    assert!(!stderr.contains("Helm version: 3.14.0"), "{stderr}");
}

#[test]
fn no_container_client_is_a_command_error_and_the_rest_of_the_chain_is_skipped() {
    let sandbox = sandbox_with(&without_tool(working(), "docker"));
    let Run { stderr, .. } = sandbox.run(sandbox.check_health(&["--yes", "--ignore-errors"]), 0);
    assert!(
        stderr.starts_with(
            "An error occurred: DOCKER_COMMAND_ERROR\n  No working Docker client was found. Check that Docker is installed and on PATH.\n  'docker' was not found on PATH.\n"
        ),
        "{stderr}"
    );
    for line in [
        "Docker daemon: not checked because of DOCKER_COMMAND_ERROR",
        "Docker version: not checked because of DOCKER_COMMAND_ERROR",
        "An error occurred: DOCKER_PULL_ERROR",
        PULLED_WITHOUT_DAEMON,
        "Helm version: 3.14.0",
    ] {
        assert!(
            stderr.lines().any(|l| l == line),
            "no {line:?} in:\n{stderr}"
        );
    }

    let Run { stdout, .. } = sandbox.run(
        sandbox.check_health(&["--yes", "--ignore-errors", "-o", "json"]),
        0,
    );
    let document = json_document(&stdout);
    assert_eq!(status_in(&document, "docker.client"), "error");
    assert_eq!(
        check_in(&document, "docker.client")["code"],
        "DOCKER_COMMAND_ERROR"
    );
    for skipped in ["docker.daemon", "docker.version"] {
        assert_eq!(status_in(&document, skipped), "skipped", "{skipped}");
    }
    // No client: the test pull goes through the registry API.
    assert_eq!(
        check_in(&document, "docker.pull")["code"],
        "DOCKER_PULL_ERROR"
    );

    let Run { stderr, .. } = sandbox.run(sandbox.check_health(&["--yes"]), 1);
    assert!(
        stderr.ends_with("Stopped at the first error (DOCKER_COMMAND_ERROR): nothing was pushed or pulled after it, and the checks after it are not reported. Add --ignore-errors to run them all.\n"),
        "{stderr}"
    );
}

#[test]
fn a_warning_from_docker_does_not_make_the_daemon_unavailable() {
    let warning = r#"echo "WARNING: Error loading config file: /root/.docker/config.json: permission denied" >&2"#;
    let sandbox = sandbox_with(&with_tool(
        working(),
        "docker",
        fake_docker(warning, PULL_AND_MARK),
    ));
    let Run { stderr, .. } = sandbox.run(sandbox.check_health(&["--yes"]), 0);
    assert!(
        stderr.contains("Docker daemon status: available\n    WARNING: Error loading config file: /root/.docker/config.json: permission denied\n"),
        "{stderr}"
    );
    assert!(!stderr.contains("An error occurred"), "{stderr}");
}

#[test]
fn a_hanging_client_is_stopped_at_the_timeout() {
    // The daemon never answers, and what the client started in the background must go with it.
    let hang = r#"sleep 30 & echo $! > "$HOME/ps.pid"; wait"#;
    let sandbox = sandbox_with(&with_tool(
        working(),
        "docker",
        fake_docker(hang, PULL_AND_MARK),
    ));
    let started = Instant::now();
    let Run { stderr, .. } = sandbox.run(
        sandbox.check_health(&["--yes", "--ignore-errors", "--timeout", "1"]),
        0,
    );
    let took = started.elapsed();
    assert!(took < Duration::from_secs(10), "took {took:?}");
    assert!(
        stderr.contains("An error occurred: DOCKER_DAEMON_ERROR\n  The Docker daemon cannot be reached. Check that it is running, or restart it.\n  'docker version --format \"{{json .}}\"' timed out after 1 s.\n"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("{PULLED_WITHOUT_DAEMON}\n")),
        "{stderr}"
    );
    // The other checks were not held up.
    assert!(stderr.contains("Helm version: 3.14.0\n"), "{stderr}");
    // The hanging child and its own child were killed, not left behind.
    let pid = std::fs::read_to_string(sandbox.path("home/ps.pid")).unwrap();
    let state = std::fs::read_to_string(format!("/proc/{}/stat", pid.trim())).unwrap_or_default();
    assert!(
        state.is_empty() || state.contains(") Z "),
        "the sleep still runs: {state}"
    );
}

// ---------------------------------------------------------------------------------------------
// The pull prompt

#[test]
fn without_a_terminal_and_without_yes_the_pull_is_skipped() {
    let sandbox = sandbox_with(&working());
    let Run { stderr, .. } = sandbox.run(sandbox.check_health(&[]), 0);
    assert!(
        stderr.contains("Docker version: 28.2.2, build e6534b4, platform linux/amd64\nSkipping the pull check: there is no terminal to ask for confirmation. Add --yes to pull without asking.\n"),
        "{stderr}"
    );
    assert!(!pulled(&sandbox));
    let Run { stdout, .. } = sandbox.run(sandbox.check_health(&["-o", "json"]), 0);
    assert_eq!(status_in(&json_document(&stdout), "docker.pull"), "skipped");
}

/// Runs check-health on a pseudo-terminal (util-linux `script`), with `answer` typed in.
fn on_a_terminal(sandbox: &Sandbox, answer: &str) -> String {
    let script = ["/usr/bin/script", "/bin/script"]
        .into_iter()
        .find(|p| Path::new(p).is_file())
        .expect("this test needs util-linux `script` in /usr/bin or /bin");
    let command = format!("'{}' acr check-health", env!("CARGO_BIN_EXE_acr-health"));
    let mut cmd = sandbox.command_running(script, &sandbox.default_path());
    cmd.env("NO_COLOR", "1")
        .args(["-qec", &command, "/dev/null"])
        .write_stdin(answer);
    sandbox
        .run(cmd, 0)
        .stdout
        .replace("\r\x1b[K", "")
        .replace("\r\n", "\n")
}

const PROMPT: &str =
    "This will pull the image mcr.microsoft.com/mcr/hello-world:latest. Proceed? (y/n): ";

#[test]
fn the_prompt_answered_yes_pulls() {
    let sandbox = sandbox_with(&working());
    // An answer that is neither yes nor no asks again.
    let screen = on_a_terminal(&sandbox, "maybe\ny\n");
    assert_eq!(screen.matches(PROMPT).count(), 2, "{screen}");
    assert!(
        screen.contains("✓ Docker pull of 'mcr.microsoft.com/mcr/hello-world:latest' : OK\n"),
        "{screen}"
    );
    assert!(pulled(&sandbox));
}

#[test]
fn the_prompt_answered_no_skips_the_pull() {
    let sandbox = sandbox_with(&working());
    let screen = on_a_terminal(&sandbox, "n\n");
    assert!(screen.contains(PROMPT), "{screen}");
    assert!(screen.contains("- Skipping pull check.\n"), "{screen}");
    assert!(!screen.contains("pull of"), "{screen}");
    assert!(!pulled(&sandbox));
}

// ---------------------------------------------------------------------------------------------
// Helm

fn helm_report(helm_script: String, code: i32) -> String {
    let sandbox = sandbox_with(&with_tool(working(), "helm", helm_script));
    let Run { stderr, .. } = sandbox.run(sandbox.check_health(&["--yes"]), code);
    stderr
}

#[test]
fn helm_2_passes() {
    let stderr = helm_report(fake_helm(HELM_2), 0);
    assert!(
        stderr.contains("Helm client: [TMP]/bin/helm\nHelm version: 2.16.12\nNotary"),
        "{stderr}"
    );
}

#[test]
fn helm_2_10_is_too_old() {
    let stderr = helm_report(fake_helm(HELM_2_10), 1);
    assert!(
        stderr.contains("Helm version: 2.10.0\nAn error occurred: HELM_VERSION_ERROR\n"),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "  Helm 2.10.0 is older than 2.11.0, the oldest version that is supported. Upgrade the Helm client.\n"
        ),
        "{stderr}"
    );
    assert!(
        stderr.ends_with("Stopped at the first error (HELM_VERSION_ERROR): nothing was pushed or pulled after it, and the checks after it are not reported. Add --ignore-errors to run them all.\n"),
        "{stderr}"
    );
}

#[test]
fn a_helm_version_that_cannot_be_read_is_a_version_error() {
    let stderr = helm_report(fake_helm("something else entirely"), 1);
    assert!(
        stderr.contains("Helm client: [TMP]/bin/helm\nAn error occurred: HELM_VERSION_ERROR\n"),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "  No version could be read from the output of 'helm version --client':\n    something else entirely\n"
        ),
        "{stderr}"
    );
}

#[test]
fn a_warning_from_helm_is_shown_but_is_not_an_error() {
    let script = format!(
        "echo 'WARNING: Kubernetes configuration file is group-readable. This is insecure. Location: /root/.kube/config' >&2\n{}",
        fake_helm(HELM_3)
    );
    let stderr = helm_report(script, 0);
    assert!(
        stderr.contains("Helm version: 3.14.0\n    WARNING: Kubernetes configuration file is group-readable. This is insecure. Location: /root/.kube/config\n"),
        "{stderr}"
    );
    assert!(!stderr.contains("HELM_COMMAND_ERROR"), "{stderr}");
    assert!(!stderr.contains("HELM_VERSION_ERROR"), "{stderr}");
}

// ---------------------------------------------------------------------------------------------
// Notary

#[test]
fn a_missing_notary_is_a_warning_that_never_fails_the_run() {
    let sandbox = sandbox_with(&without_tool(working(), "notary"));
    let Run { stderr, .. } = sandbox.run(sandbox.check_health(&["--yes"]), 0);
    assert!(
        stderr.contains(
            "Warning: NOTARY_COMMAND_ERROR\n  No notary client was found. It is only needed for Docker Content Trust.\n  'notary' was not found on PATH.\n"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("Notary version: not checked because of NOTARY_COMMAND_ERROR\n"),
        "{stderr}"
    );
    assert!(!stderr.contains("Stopped at the first error"), "{stderr}");
    let Run { stdout, .. } = sandbox.run(sandbox.check_health(&["--yes", "-o", "json"]), 0);
    let summary = &json_document(&stdout)["summary"];
    assert_eq!(
        (&summary["status"], &summary["errors"], &summary["warnings"]),
        (&Value::from("warning"), &Value::from(0), &Value::from(1))
    );
}

#[test]
fn a_notary_without_a_version_is_a_version_warning() {
    // Debian's notary 0.7.0 prints an empty version.
    let empty = fake_notary(r"notary\n Version:    \n Git commit: \n");
    let sandbox = sandbox_with(&with_tool(working(), "notary", empty));
    let Run { stderr, .. } = sandbox.run(sandbox.check_health(&["--yes"]), 0);
    assert!(
        stderr.contains("Notary client: [TMP]/bin/notary\nWarning: NOTARY_VERSION_ERROR\n"),
        "{stderr}"
    );
    assert!(
        stderr.contains("  No version could be read from the output of 'notary version':\n"),
        "{stderr}"
    );
    assert!(!stderr.contains("Stopped at the first error"), "{stderr}");
}

// ---------------------------------------------------------------------------------------------
// Where the checks do not run

#[test]
fn in_azure_cloud_shell_the_environment_checks_are_skipped() {
    // Every tool would leave a mark if it ran.
    let mark = r#": > "$HOME/ran-${0##*/}"; exit 1"#;
    let sandbox = sandbox_with(&[
        ("docker", mark.to_owned()),
        ("helm", mark.to_owned()),
        ("notary", mark.to_owned()),
    ]);
    let Run { stdout, stderr, .. } =
        sandbox.run(sandbox.check_health(&[]).env("ACC_CLOUD", "1"), 0);
    assert_eq!(stdout, "");
    assert_report!("cloud_shell", &stderr);
    assert!(
        stderr.starts_with("Environment checks are not supported in Azure Cloud Shell.\n"),
        "{stderr}"
    );
    for tool in ["Docker", "Helm", "Notary"] {
        assert!(!stderr.contains(tool), "{tool} checked:\n{stderr}");
    }
    let marks: Vec<_> = std::fs::read_dir(sandbox.path("home")).unwrap().collect();
    assert!(marks.is_empty(), "a tool ran: {marks:?}");
}

#[test]
fn without_a_registry_name_the_connectivity_checks_are_skipped_and_say_why() {
    let sandbox = sandbox_with(&working());
    let Run { stderr, .. } = sandbox.run(sandbox.check_health(&["--yes"]), 0);
    assert!(
        stderr.contains(&format!(
            "acr-health version: {}\nRegistry name must be provided to check connectivity.\n",
            env!("CARGO_PKG_VERSION")
        )),
        "{stderr}"
    );
    let Run { stdout, .. } = sandbox.run(sandbox.check_health(&["--yes", "-o", "json"]), 0);
    let registry = check_in(&json_document(&stdout), "registry.name").clone();
    assert_eq!(registry["status"], "skipped");
    assert_eq!(
        registry["message"],
        "Registry name must be provided to check connectivity."
    );
}

// ---------------------------------------------------------------------------------------------
// --verbose, --debug

#[test]
fn verbose_shows_how_long_each_check_took_and_the_total() {
    let sandbox = sandbox_with(&working());
    let Run { stderr, .. } = sandbox.run(sandbox.check_health(&["--yes", "--verbose"]), 0);
    assert!(
        stderr
            .lines()
            .any(|l| l.starts_with("Docker daemon status: available (") && l.ends_with(" ms)")),
        "{stderr}"
    );
    assert!(
        stderr
            .lines()
            .any(|l| l.starts_with("10 checks in ") && l.ends_with(" s")),
        "{stderr}"
    );
    assert!(!stderr.contains("ran '"), "{stderr}");
    assert_report!("verbose", &stderr);
}

#[test]
fn debug_shows_the_commands_that_ran_and_their_output() {
    let sandbox = sandbox_with(&with_tool(
        working(),
        "docker",
        fake_docker(FAKE_DAEMON_DOWN, PULL_AND_MARK),
    ));
    let Run { stderr, .. } = sandbox.run(sandbox.check_health(&["--yes", "--debug"]), 1);
    assert!(
        stderr.lines().any(|l| l
            .starts_with("  ran 'docker version --format \"{{json .}}\"': exit code 1, ")
            && l.ends_with(" ms")),
        "{stderr}"
    );
    assert!(
        stderr.contains("    stderr | Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?\n"),
        "{stderr}"
    );
    assert_report!("debug", &stderr);

    // Every command, with what it printed, when the run goes on.
    let Run { stderr, .. } = sandbox.run(
        sandbox.check_health(&["--yes", "--debug", "--ignore-errors"]),
        0,
    );
    for line in [
        "  ran 'docker version --format \"{{json .}}\"': exit code 1, [MS] ms",
        &format!("    stdout | {DOCKER_VERSION_JSON}"),
        "  ran 'helm version --client': exit code 0, [MS] ms",
        &format!("    stdout | {HELM_3}"),
        "  ran 'notary version': exit code 0, [MS] ms",
        "    stdout |  Version:    0.6.1",
    ] {
        let found = stderr.lines().any(|l| match line.split_once("[MS] ms") {
            Some((head, _)) => l.starts_with(head) && l.ends_with(" ms"),
            None => l == line,
        });
        assert!(found, "no {line:?} in:\n{stderr}");
    }
}

// ---------------------------------------------------------------------------------------------
// Output for scripts, usage errors, the short command

#[test]
fn yaml_output_holds_the_same_document() {
    let sandbox = sandbox_with(&without_tool(working(), "notary"));
    let Run { stdout: yaml, .. } = sandbox.run(sandbox.check_health(&["--yes", "-o", "yaml"]), 0);
    let document: Value = serde_saphyr::from_str(&yaml).unwrap();
    assert_eq!(status_in(&document, "docker.pull"), "ok");
    assert_eq!(
        check_in(&document, "notary.command")["code"],
        "NOTARY_COMMAND_ERROR"
    );
    assert_eq!(document["summary"]["status"], "warning");
    assert_eq!(document["summary"]["exit_code"], 0);
}

#[test]
fn a_query_picks_from_the_document() {
    let sandbox = sandbox_with(&without_tool(without_tool(working(), "helm"), "notary"));
    let query = "checks[?status=='error'].code";
    let Run { stdout, stderr, .. } = sandbox.run(
        sandbox.check_health(&["--yes", "--ignore-errors", "--query", query]),
        0,
    );
    // --query alone means JSON, as in az.
    assert_eq!(
        json_document(&stdout),
        serde_json::json!(["HELM_COMMAND_ERROR"])
    );
    assert!(
        stderr.contains("An error occurred: HELM_COMMAND_ERROR"),
        "{stderr}"
    );
    let Run { stdout, .. } = sandbox.run(
        sandbox.check_health(&[
            "--yes",
            "--ignore-errors",
            "-o",
            "tsv",
            "--query",
            "checks[?status=='warning'].code",
        ]),
        0,
    );
    assert_eq!(stdout, "NOTARY_COMMAND_ERROR\n");
}

#[test]
fn usage_errors_exit_2_before_any_check_runs() {
    let mark = r#": > "$HOME/ran-${0##*/}"; exit 1"#;
    let sandbox = sandbox_with(&[("docker", mark.to_owned())]);
    sandbox
        .check_health(&["--timeout", "0"])
        .assert()
        .code(2)
        .stdout("")
        .stderr(
            "error: \"0\" is not a valid value for --timeout.\n\
             --timeout takes a whole number of seconds from 1 to 3600.\n",
        );
    sandbox
        .check_health(&["--bogus"])
        .assert()
        .code(2)
        .stdout("")
        .stderr(
            "error: Unrecognized argument: --bogus.\n\
             Run `acr-health acr check-health --help` to see its arguments.\n",
        );
    sandbox
        .check_health(&["--lang", "nl", "--ignore-error"])
        .assert()
        .code(2)
        .stdout("")
        .stderr("fout: Onbekend argument: --ignore-error.\nBedoelt u --ignore-errors?\n");
    sandbox
        .check_health(&["--yes", "--query", "checks[?status=="])
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains("not valid JMESPath"));
    let marks: Vec<_> = std::fs::read_dir(sandbox.path("home")).unwrap().collect();
    assert!(marks.is_empty(), "a check ran: {marks:?}");
}

#[test]
fn check_health_alone_is_acr_check_health() {
    let sandbox = sandbox_with(&without_tool(working(), "notary"));
    let Run { stderr: long, .. } = sandbox.run(sandbox.check_health(&["--yes"]), 0);
    let Run { stderr: short, .. } =
        sandbox.run(sandbox.command().args(["check-health", "--yes"]), 0);
    assert_eq!(short, long);
    assert!(long.contains("NOTARY_COMMAND_ERROR"), "{long}");
}

#[test]
fn a_ca_bundle_that_cannot_be_read_is_named_with_the_variable() {
    let sandbox = sandbox_with(&working());
    // The challenge's first detail when REQUESTS_CA_BUNDLE names `bundle`.
    let detail = |bundle: &Path, lang: &str| {
        let Run { stdout, .. } = sandbox.run(
            sandbox
                .check_health(&[
                    "--yes",
                    "--ignore-errors",
                    "--login-server",
                    "localhost:1",
                    "-o",
                    "json",
                    "--lang",
                    lang,
                ])
                .env("REQUESTS_CA_BUNDLE", bundle)
                .env("IMDS_ENDPOINT", "http://127.0.0.1:1"),
            0,
        );
        let document = json_document(&stdout);
        let challenge = check_in(&document, "registry.challenge");
        assert_eq!(challenge["code"], "CONNECTIVITY_SSL_ERROR");
        challenge["details"][0]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    let details = detail(Path::new("/nonexistent/ca.pem"), "en");
    assert!(
        details.starts_with("REQUESTS_CA_BUNDLE names /nonexistent/ca.pem, which cannot be used: "),
        "{details}"
    );
    // A file with no certificate in it, told in Dutch without a word of English.
    let empty = sandbox.path("empty.pem");
    std::fs::write(&empty, "not a certificate\n").unwrap();
    assert_eq!(
        detail(&empty, "nl"),
        "REQUESTS_CA_BUNDLE verwijst naar [TMP]/empty.pem, waarin geen certificaat staat"
    );
}

/// The Docker daemon's clock, as `docker info` tells it beside the test pull, far from this
/// machine's: the pull check says how far and how to set it right, in both languages, and gives
/// the offset to scripts.
#[test]
fn a_daemon_clock_far_from_this_machines_is_told() {
    let docker = format!(
        r#"case "$1" in
  version) echo '{DOCKER_VERSION_JSON}' ;;
  pull) echo "Status: Image is up to date for $2" ;;
  info) [ "$2 $3" = "--format {{{{json .}}}}" ] || exit 64
        echo '{{"HTTPSProxy":"","SystemTime":"2001-02-03T04:05:06.789+01:00","RegistryConfig":{{"Mirrors":null}}}}' ;;
  *) exit 64 ;;
esac"#
    );
    let sandbox = Sandbox::with_tools(&with_tool(working_tools(), "docker", docker));
    let run = sandbox.run(sandbox.check_health(&["--yes", "-o", "json"]), 0);
    assert_eq!(run.status("docker.pull"), "ok", "{}", run.stderr);
    let note = run.detail_starting("docker.pull", "The Docker daemon's clock is ");
    assert!(
        note.contains(" min behind this machine's.")
            && note.contains("sudo timedatectl set-ntp true"),
        "{note}"
    );
    let offset = run.check("docker.pull")["daemon_clock_offset_seconds"].as_i64();
    assert!(offset.is_some_and(|s| s < -700_000_000), "{offset:?}");
    let dutch = sandbox.run(
        sandbox.check_health(&["--yes", "--lang", "nl", "-o", "json"]),
        0,
    );
    dutch.detail_starting("docker.pull", "De klok van de Docker-daemon loopt ");
}
