//! The container client: found (docker, else podman, or `DOCKER_COMMAND`), its daemon reachable
//! and its version readable, and a test pull.
//!
//! az runs `ps` for the daemon and `version` for the version. One `version --format '{{json .}}'` answers
//! both: it asks the daemon (and fails like `ps` when it cannot reach it), and its client part is
//! there either way. One child instead of two is what makes this check as fast as the client.

use std::path::Path;
use std::time::Instant;

use serde_json::Value;

use super::{CLOCK_TOLERANCE_SECONDS, Context, Turns, consent, could_not_run};
use crate::system::container::Client;
use crate::system::daemon::DaemonSettings;
use crate::system::process::{self, ProcessError};
use crate::vocabulary::check::DEFAULT_CONTAINER_CLIENT;
use crate::vocabulary::ui;
use crate::vocabulary::{Check, CheckStatus, Code, CommandRecord, Outcome, Text};

pub const IMAGE: &str = "mcr.microsoft.com/mcr/hello-world:latest";

/// Runs the chain with the client the plan found (or why it found none: `system::container`), and
/// hands each outcome to `emit` as soon as it is known.
pub async fn chain(
    context: &Context,
    lookup: &Result<Client, ProcessError>,
    turns: &Turns,
    emit: &(dyn Fn(Outcome) + Sync),
) {
    let started = Instant::now();
    // Ready in case there is no daemon to pull with.
    let early = crate::checks::registry::pull::look_up_early(context, IMAGE);
    let without_daemon = |early| {
        let title = lookup
            .as_ref()
            .map_or(DEFAULT_CONTAINER_CLIENT, |client| client.title.as_str());
        pull_without_daemon(context, title, turns, early)
    };
    let client = match lookup {
        Ok(client) => client,
        Err(error) => {
            let mut outcome = could_not_run(Check::DockerClient, Code::DOCKER_COMMAND_ERROR, error);
            outcome.duration = started.elapsed();
            emit(outcome);
            emit(without_daemon(early).await);
            return;
        }
    };
    let found = Outcome::ok(
        Check::DockerClient,
        Text::ui(ui::HEALTH_DOCKER_CLIENT)
            .arg("client", &client.title)
            .arg("path", client.path.display()),
    );
    // Reported as soon as the child has started, so that its line is made while the child
    // works; a client that does not start is the client's finding.
    let mut found = Some(found);
    let mut announce = || {
        if let Some(found) = found.take() {
            emit(finish(found, started, Vec::new()));
        }
    };
    let answers = daemon_and_version(client, context, &mut announce).await;
    let (daemon, version) = match answers {
        Ok(answers) => answers,
        Err((error, records)) if found.is_some() => {
            let not_started =
                could_not_run(Check::DockerClient, Code::DOCKER_COMMAND_ERROR, &error);
            emit(finish(not_started, started, records));
            emit(without_daemon(early).await);
            return;
        }
        // Started, then failed: the daemon's line says so.
        Err((error, records)) => (
            finish(
                could_not_run(Check::DockerDaemon, Code::DOCKER_COMMAND_ERROR, &error),
                started,
                records,
            ),
            not_started(client),
        ),
    };
    let daemon_ok = daemon.status == CheckStatus::Ok;
    emit(daemon);
    emit(version);
    if daemon_ok {
        emit(pull(client, context, turns).await);
    } else {
        emit(without_daemon(early).await);
    }
}

/// The daemon's and the version's outcomes from one `version --format '{{json .}}'` (docker 20.10
/// prints the word `json` for `--format json`), `spawned` called
/// once the child has started; the client's finding when it could not be started at all. A
/// client that starts but whose shell cannot run it (126, 127) is `DOCKER_COMMAND_ERROR` on the
/// daemon's line, as az reports a failing `docker ps`, and its version is unknown.
async fn daemon_and_version(
    client: &Client,
    context: &Context,
    spawned: &mut (dyn FnMut() + Send),
) -> Result<(Outcome, Outcome), (ProcessError, Vec<CommandRecord>)> {
    let started = Instant::now();
    let mut records = Vec::new();
    let args = ["version", "--format", "{{json .}}"];
    let result = process::run_announced(
        &client.path,
        &client.command,
        &args,
        context,
        &mut records,
        spawned,
    )
    .await;
    let done = match result {
        Ok(done) => done,
        Err(error @ ProcessError::TimedOut { .. }) => {
            // A client that waits for its daemon until the time bound says nothing, not even
            // its own version.
            let daemon = finish(
                could_not_run(Check::DockerDaemon, Code::DOCKER_DAEMON_ERROR, &error),
                started,
                records,
            );
            let version = Outcome::skipped(
                Check::DockerVersion,
                Text::ui(ui::HEALTH_DOCKER_VERSION_NO_ANSWER).arg("client", &client.title),
            );
            return Ok((daemon, version));
        }
        Err(error) => return Err((error, records)),
    };
    if matches!(done.exit, Some(126 | 127)) {
        // The shell could not run the client itself.
        let daemon =
            Outcome::failed(Check::DockerDaemon, Code::DOCKER_COMMAND_ERROR).verbatim(&done.stderr);
        return Ok((finish(daemon, started, records), not_started(client)));
    }
    let daemon = if done.success() {
        // A warning on stderr does not make the daemon unavailable (az says it does).
        Outcome::ok(
            Check::DockerDaemon,
            Text::ui(ui::HEALTH_DOCKER_DAEMON).arg("client", &client.title),
        )
        .verbatim(&done.stderr)
    } else {
        let failed =
            Outcome::failed(Check::DockerDaemon, Code::DOCKER_DAEMON_ERROR).verbatim(&done.stderr);
        if client.is_podman() {
            failed.note(Text::ui(ui::HEALTH_DOCKER_PODMAN_SERVICE))
        } else if let Some(refused) = socket_refused(&done.stderr) {
            failed.note(refused)
        } else {
            failed
        }
    };
    // The client's part is valid even when the daemon's is missing (exit 1): the daemon has its
    // own finding, and a version line is still worth having.
    let version = match parse_version(&done.stdout, &client.title) {
        Some(line) => Outcome::ok(Check::DockerVersion, line),
        None => Outcome::failed(Check::DockerVersion, Code::DOCKER_VERSION_ERROR)
            .note(
                Text::ui(ui::HEALTH_DETAIL_UNREADABLE_OUTPUT)
                    .arg("command", format!("{} {}", client.command, args.join(" "))),
            )
            .verbatim(&done.stdout),
    };
    let mut version = version;
    version.duration = started.elapsed();
    Ok((finish(daemon, started, records), version))
}

/// A daemon that refuses this user (`permission denied` on its socket): the socket, the group it
/// belongs to, and how to join it.
fn socket_refused(stderr: &str) -> Option<Text> {
    if !stderr.contains("permission denied") {
        return None;
    }
    let socket = stderr
        .split("unix://")
        .nth(1)?
        .split([':', '"', ' '])
        .next()?;
    Some(match owning_group(Path::new(socket)) {
        Some(group) => Text::ui(ui::HEALTH_DOCKER_SOCKET_GROUP)
            .arg("socket", socket)
            .arg("group", group),
        None => Text::ui(ui::HEALTH_DOCKER_SOCKET_DENIED).arg("socket", socket),
    })
}

/// The name of the group that owns `path`, from `/etc/group`.
fn owning_group(path: &Path) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let gid = std::fs::metadata(path).ok()?.gid();
    let groups = std::fs::read_to_string("/etc/group").ok()?;
    groups.lines().find_map(|line| {
        let mut fields = line.split(':');
        let name = fields.next()?;
        let id: u32 = fields.nth(1)?.parse().ok()?;
        (id == gid).then(|| name.to_owned())
    })
}

fn not_started(client: &Client) -> Outcome {
    Outcome::skipped(
        Check::DockerVersion,
        Text::ui(ui::HEALTH_DOCKER_VERSION_NOT_STARTED).arg("client", &client.title),
    )
}

/// The client's version, build and platform from `version --format '{{json .}}'`.
pub fn parse_version(stdout: &str, title: &str) -> Option<Text> {
    let document: Value = serde_json::from_str(stdout.trim()).ok()?;
    let client = document.get("Client")?.as_object()?;
    let field = |name: &str| {
        client
            .get(name)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    };
    let version = field("Version")?;
    let build: String = field("GitCommit")
        .unwrap_or("unknown")
        .chars()
        .take(7)
        .collect();
    // Docker gives Os and Arch; Podman gives OsArch.
    let (os, arch) = match (
        field("Os"),
        field("Arch"),
        field("OsArch").and_then(|s| s.split_once('/')),
    ) {
        (Some(os), Some(arch), _) => (os, arch),
        (_, _, Some((os, arch))) => (os, arch),
        (os, arch, None) => (os.unwrap_or("unknown"), arch.unwrap_or("unknown")),
    };
    Some(
        Text::ui(ui::HEALTH_DOCKER_VERSION)
            .arg("client", title)
            .arg("version", version)
            .arg("build", build)
            .arg("os", os)
            .arg("arch", arch),
    )
}

/// Without a client or a daemon, the test pull goes through the registry API instead, as
/// containerd or a CI runner would pull.
async fn pull_without_daemon(
    context: &Context,
    client: &str,
    turns: &Turns,
    early: crate::checks::registry::pull::EarlyLookup,
) -> Outcome {
    match consent(context, turns, Check::DockerPull, IMAGE).await {
        Ok(()) => {
            crate::checks::registry::pull::without_daemon(context, IMAGE, client, early).await
        }
        Err(skipped) => skipped,
    }
}

async fn pull(client: &Client, context: &Context, turns: &Turns) -> Outcome {
    if let Err(skipped) = consent(context, turns, Check::DockerPull, IMAGE).await {
        return skipped;
    }
    let started = Instant::now();
    let mut records = Vec::new();
    // The daemon's own settings, read while it pulls: they decide the pull, not this shell's.
    let (result, (settings, info_records)) = tokio::join!(
        process::run(
            &client.path,
            &client.command,
            &["pull", IMAGE],
            context,
            &mut records,
        ),
        client.daemon_settings(context),
    );
    records.extend(info_records.iter().cloned());
    let pulled = Text::ui(ui::HEALTH_DOCKER_PULL_OK)
        .arg("client", &client.title)
        .arg("image", IMAGE);
    let outcome = match result {
        Ok(done) if done.success() => Outcome::ok(Check::DockerPull, pulled),
        // The image exists for other platforms only: the pull path works, which is the point.
        Ok(done) if done.stderr.contains("cannot be used on this platform") => {
            Outcome::ok(Check::DockerPull, pulled)
                .note(Text::ui(ui::HEALTH_DOCKER_PULL_PLATFORM).arg("image", IMAGE))
        }
        Ok(done) => {
            let failed = Outcome::failed(Check::DockerPull, Code::DOCKER_PULL_ERROR)
                .note(
                    Text::ui(ui::HEALTH_DETAIL_COMMAND_FAILED)
                        .arg("command", format!("{} pull {IMAGE}", client.command)),
                )
                .verbatim(&done.stderr);
            if client.is_podman() {
                failed.note(Text::ui(ui::HEALTH_DOCKER_PODMAN_PULL).arg("image", IMAGE))
            } else {
                failed
            }
        }
        Err(error) => could_not_run(Check::DockerPull, Code::DOCKER_PULL_ERROR, &error),
    };
    let outcome = match settings {
        Some(settings) => daemon_notes(outcome, context, settings),
        None => outcome,
    };
    finish(outcome, started, records)
}

/// What the daemon does differently from this shell: its proxy, and its clock.
fn daemon_notes(outcome: Outcome, context: &Context, settings: &DaemonSettings) -> Outcome {
    let outcome = match proxy_note(context, settings) {
        Some(note) => outcome.note(note),
        None => outcome,
    };
    match settings.clock_offset(std::time::SystemTime::now()) {
        Some(offset) if offset.unsigned_abs() > CLOCK_TOLERANCE_SECONDS => {
            let key = if offset > 0 {
                ui::HEALTH_DOCKER_DAEMON_CLOCK_AHEAD
            } else {
                ui::HEALTH_DOCKER_DAEMON_CLOCK_BEHIND
            };
            outcome
                .note(Text::ui(key).arg("minutes", offset.unsigned_abs().div_ceil(60)))
                .data("daemon_clock_offset_seconds", offset.into())
        }
        _ => outcome,
    }
}

/// The daemon's HTTPS proxy against this shell's, when they differ: the checks here go one way,
/// `docker pull` the other.
fn proxy_note(context: &Context, settings: &DaemonSettings) -> Option<Text> {
    let shell = crate::net::http::https_proxy_of(&context.env);
    let daemon = Some(settings.https_proxy.as_str())
        .filter(|p| !p.is_empty())
        .map(crate::net::http::without_credentials);
    match (shell, daemon) {
        (Some(shell), None) => {
            Some(Text::ui(ui::HEALTH_DOCKER_PROXY_SHELL_ONLY).arg("shell", shell))
        }
        (None, Some(daemon)) => {
            Some(Text::ui(ui::HEALTH_DOCKER_PROXY_DAEMON_ONLY).arg("daemon", daemon))
        }
        (Some(shell), Some(daemon)) if shell != daemon => Some(
            Text::ui(ui::HEALTH_DOCKER_PROXY_DIFFERS)
                .arg("shell", shell)
                .arg("daemon", daemon),
        ),
        _ => None,
    }
}

fn finish(mut outcome: Outcome, started: Instant, records: Vec<CommandRecord>) -> Outcome {
    outcome.duration = started.elapsed();
    outcome.commands(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_and_podman_version_documents_are_read() {
        let docker = r#"{"Client":{"Version":"28.2.2","GitCommit":"e6534b4a1","Os":"linux","Arch":"amd64"},"Server":null}"#;
        let values = |line: &Text| {
            ["client", "version", "build", "os", "arch"]
                .map(|n| line.plain(n).unwrap_or_default().to_owned())
        };
        let line = parse_version(docker, "Docker").unwrap();
        assert_eq!(
            values(&line),
            ["Docker", "28.2.2", "e6534b4", "linux", "amd64"]
        );
        let podman = r#"{"Client":{"Version":"4.3.1","GitCommit":"","OsArch":"linux/arm64"}}"#;
        let line = parse_version(podman, "Podman").unwrap();
        assert_eq!(
            values(&line),
            ["Podman", "4.3.1", "unknown", "linux", "arm64"]
        );
    }

    #[test]
    fn garbage_is_not_a_version() {
        for text in [
            "",
            "not json",
            "{}",
            r#"{"Client":{}}"#,
            r#"{"Client":"x"}"#,
            "'Docker version ",
        ] {
            assert!(parse_version(text, "Docker").is_none(), "{text}");
        }
    }

    #[test]
    fn a_daemon_clock_minutes_away_is_told_with_its_offset() {
        let context = Context::for_tests(&[], std::time::Duration::from_secs(1));
        let settings = |time: &str| DaemonSettings {
            system_time: time.to_owned(),
            ..DaemonSettings::default()
        };
        let pulled = || Outcome::ok(Check::DockerPull, Text::ui(ui::HEALTH_DOCKER_PULL_OK));
        let notes = |outcome: &Outcome| -> Vec<Text> {
            outcome
                .details
                .iter()
                .filter_map(|d| match d {
                    crate::vocabulary::outcome::Detail::Text(text) => Some(text.clone()),
                    crate::vocabulary::outcome::Detail::Verbatim(_) => None,
                })
                .collect()
        };
        let behind = daemon_notes(pulled(), &context, &settings("2000-01-01T00:00:00Z"));
        assert_eq!(
            notes(&behind).iter().map(|n| n.key).collect::<Vec<_>>(),
            [ui::HEALTH_DOCKER_DAEMON_CLOCK_BEHIND]
        );
        assert!(
            behind
                .data
                .iter()
                .any(|(name, value)| *name == "daemon_clock_offset_seconds"
                    && value.as_i64().is_some_and(|s| s < -800_000_000))
        );
        // In the same second as this machine's clock (the daemon here is this machine): nothing.
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let same = daemon_notes(pulled(), &context, &settings(&rfc3339(now)));
        assert!(same.details.is_empty() && same.data.is_empty());
        let ahead = daemon_notes(pulled(), &context, &settings(&rfc3339(now + 3600)));
        let ahead = notes(&ahead);
        assert_eq!(ahead[0].key, ui::HEALTH_DOCKER_DAEMON_CLOCK_AHEAD);
        assert_eq!(ahead[0].plain("minutes"), Some("60"));
    }

    /// `seconds` since the epoch as docker writes its `SystemTime` (UTC).
    fn rfc3339(seconds: u64) -> String {
        let days = seconds / 86_400;
        let (hours, minutes, secs) = (seconds % 86_400 / 3600, seconds % 3600 / 60, seconds % 60);
        // Civil date from days (Howard Hinnant's algorithm), for 1970 onwards.
        let z = days + 719_468;
        let era = z / 146_097;
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + u64::from(month <= 2);
        format!("{year:04}-{month:02}-{day:02}T{hours:02}:{minutes:02}:{secs:02}.5Z")
    }

    #[test]
    fn the_daemons_proxy_is_set_against_the_shells() {
        let context = |proxy: Option<&str>| {
            let vars: Vec<(&str, &str)> = proxy.map(|p| ("HTTPS_PROXY", p)).into_iter().collect();
            Context::for_tests(&vars, std::time::Duration::from_secs(1))
        };
        let info = |proxy: &str| DaemonSettings {
            https_proxy: proxy.to_owned(),
            ..DaemonSettings::default()
        };
        let key = |note: Option<Text>| note.map(|n| n.key);
        assert_eq!(key(proxy_note(&context(None), &info(""))), None);
        assert_eq!(
            key(proxy_note(&context(Some("http://p:3128")), &info(""))),
            Some(ui::HEALTH_DOCKER_PROXY_SHELL_ONLY)
        );
        assert_eq!(
            key(proxy_note(
                &context(None),
                &info("http://xxxxx:xxxxx@p:3128")
            )),
            Some(ui::HEALTH_DOCKER_PROXY_DAEMON_ONLY)
        );
        // The daemon masks credentials; the same proxy is the same proxy.
        assert_eq!(
            key(proxy_note(
                &context(Some("http://u:s@p:3128")),
                &info("http://xxxxx:xxxxx@p:3128")
            )),
            None
        );
        assert_eq!(
            key(proxy_note(
                &context(Some("http://q:3128")),
                &info("http://p:3128")
            )),
            Some(ui::HEALTH_DOCKER_PROXY_DIFFERS)
        );
    }
}
