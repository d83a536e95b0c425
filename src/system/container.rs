//! The container client of this machine (docker, else podman, or `DOCKER_COMMAND`): where it is,
//! what the user types for it and what the report calls it. Found once, when the run is planned.

use std::path::{Path, PathBuf};

use tokio::sync::OnceCell;

use super::Context;
use super::daemon::DaemonSettings;
use super::process::{self, ProcessError};
use crate::vocabulary::CommandRecord;

/// The container client a run uses.
#[derive(Debug)]
pub struct Client {
    /// What the user would type: `docker`, `podman`, or `DOCKER_COMMAND`'s value.
    pub command: String,
    pub path: PathBuf,
    /// For the report's lines: `Docker`, `Podman`.
    pub title: String,
    /// `docker info`, run once for every check that asks.
    daemon: OnceCell<(Option<DaemonSettings>, Vec<CommandRecord>)>,
}

impl Client {
    /// Podman has no daemon: its pull and its failures take other fixes than Docker's.
    pub fn is_podman(&self) -> bool {
        self.path
            .file_name()
            .and_then(|name| name.to_str())
            .is_some_and(|name| name.starts_with("podman"))
    }

    /// The daemon's own settings (`docker info`), asked once per run by whichever check needs
    /// them first, the others waiting for that answer; with the record of the command. `None`
    /// when the daemon does not answer, and for podman, which has no daemon.
    pub async fn daemon_settings(
        &self,
        context: &Context,
    ) -> &(Option<DaemonSettings>, Vec<CommandRecord>) {
        self.daemon
            .get_or_init(|| async {
                let mut records = Vec::new();
                if self.is_podman() {
                    return (None, records);
                }
                let args = ["info", "--format", "{{json .}}"];
                let done =
                    process::run(&self.path, &self.command, &args, context, &mut records).await;
                let settings = done
                    .ok()
                    .filter(process::Finished::success)
                    .and_then(|done| DaemonSettings::parse(&done.stdout));
                (settings, records)
            })
            .await
    }
}

/// `DOCKER_COMMAND`, else `docker`, else `podman`, on `PATH`.
pub fn find_client(context: &Context) -> Result<Client, ProcessError> {
    let chosen = match context.var("DOCKER_COMMAND") {
        Some(command) => {
            process::resolve_trusted(command, context).map(|p| (command.to_owned(), p))
        }
        None => process::resolve_trusted("docker", context)
            .map(|p| ("docker".to_owned(), p))
            .or_else(|docker_error| match docker_error {
                ProcessError::NotFound { .. } => {
                    process::resolve_trusted("podman", context).map(|p| ("podman".to_owned(), p))
                }
                other => Err(other),
            })
            .map_err(|e| match e {
                // Say what was looked for first.
                ProcessError::NotFound { .. } => ProcessError::NotFound {
                    command: "docker".into(),
                },
                other => other,
            }),
    };
    chosen.map(|(command, path)| Client {
        title: title_of(&path),
        command,
        path,
        daemon: OnceCell::new(),
    })
}

/// `docker` → `Docker`, `/usr/bin/podman` → `Podman` (az's `.title()` gives `/Usr/Bin/Docker`).
fn title_of(path: &Path) -> String {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("docker");
    let mut chars = name.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().collect::<String>() + chars.as_str())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_title_comes_from_the_file_name() {
        assert_eq!(title_of(Path::new("/usr/bin/docker")), "Docker");
        assert_eq!(title_of(Path::new("podman")), "Podman");
    }
}
