//! `--daemon-pull`: the container client's daemon pulls the image the data probe found, exactly
//! as `docker pull` does, with its own proxy, certificates and credentials. This shell's checks
//! can pass while that pull fails; then the daemon's own words say why.

use super::Chain;
use super::probe::Image;
use crate::checks::consent;
use crate::system::process;
use crate::vocabulary::ui;
use crate::vocabulary::{Check, Code, Outcome, Text};

impl Chain<'_> {
    /// Reports `registry.daemon_pull`: `image` pulled by the daemon, and removed again when it
    /// was not there before.
    pub(super) async fn daemon_pull(&mut self, image: Option<&Image>, login_server: &str) {
        let check = Check::RegistryDaemonPull;
        let Some(image) = image else {
            if !self.decided(check) {
                self.emit(Outcome::skipped(check, Text::ui(ui::HEALTH_PROBE_NOTHING)));
            }
            return;
        };
        let Some(Ok(client)) = self.client else {
            self.emit(Outcome::skipped(
                check,
                Text::ui(ui::HEALTH_DAEMON_PULL_NO_CLIENT),
            ));
            return;
        };
        let reference = format!("{login_server}/{}:{}", image.repository, image.reference);
        if let Err(skipped) = consent(self.context, self.turns, check, &reference).await {
            self.emit(skipped);
            return;
        }
        let mut records = Vec::new();
        let context = self.context;
        let (path, command) = (&client.path, &client.command);
        let inspect = ["image", "inspect", "--format", "{{.Id}}", &reference];
        let had = process::run(path, command, &inspect, context, &mut records)
            .await
            .is_ok_and(|done| done.success());
        let pull = ["pull", reference.as_str()];
        let pulled = process::run(path, command, &pull, context, &mut records).await;
        let outcome = match pulled {
            Ok(done) if done.success() => {
                let ok = Outcome::ok(
                    check,
                    Text::ui(ui::HEALTH_DAEMON_PULL_OK)
                        .arg("client", &client.title)
                        .arg("reference", &reference),
                );
                if had {
                    ok.note(Text::ui(ui::HEALTH_DAEMON_PULL_KEPT).arg("client", &client.title))
                } else {
                    let rmi = ["rmi", reference.as_str()];
                    let removed = process::run(path, command, &rmi, context, &mut records).await;
                    ok.note(match removed {
                        Ok(done) if done.success() => {
                            Text::ui(ui::HEALTH_DAEMON_PULL_REMOVED).arg("client", &client.title)
                        }
                        Ok(done) => Text::ui(ui::HEALTH_DAEMON_PULL_NOT_REMOVED)
                            .arg("reason", done.stderr.trim()),
                        Err(error) => Text::ui(ui::HEALTH_DAEMON_PULL_NOT_REMOVED)
                            .arg_text("reason", error.describe()),
                    })
                }
            }
            Ok(done) => {
                let failed = self
                    .failed(&client.title, &reference)
                    .verbatim(&done.stderr);
                let sign_in = if self.plan.target.is_acr {
                    format!("az acr login --name {}", self.plan.target.name)
                } else {
                    format!("docker login {login_server}")
                };
                match hint(&done.stderr, login_server, &sign_in) {
                    Some(hint) => failed.note(hint),
                    None => failed,
                }
            }
            Err(error) => self
                .failed(&client.title, &reference)
                .note(error.describe()),
        };
        // The chain's emit gives the outcome its time and these commands.
        self.records.extend(records);
        self.emit(outcome);
    }

    fn failed(&self, client: &str, reference: &str) -> Outcome {
        Outcome::failed(Check::RegistryDaemonPull, Code::DAEMON_PULL_ERROR)
            .message_arg("client", client)
            .message_arg("reference", reference)
    }
}

/// What the daemon's words point to: its sign-in (`sign_in`, the command that gives it
/// credentials), or its trust of the registry's certificate.
fn hint(stderr: &str, login_server: &str, sign_in: &str) -> Option<Text> {
    let lower = stderr.to_ascii_lowercase();
    if [
        "unauthorized",
        "authentication required",
        "no basic auth credentials",
    ]
    .iter()
    .any(|word| lower.contains(word))
    {
        return Some(
            Text::ui(ui::HEALTH_DAEMON_PULL_UNAUTHORIZED)
                .arg("login_server", login_server)
                .arg("command", sign_in),
        );
    }
    lower
        .contains("x509")
        .then(|| Text::ui(ui::HEALTH_DAEMON_PULL_X509).arg("login_server", login_server))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_daemons_words_point_to_the_fix() {
        let key = |stderr: &str| {
            hint(stderr, "myreg.azurecr.io", "az acr login --name myreg").map(|t| t.key)
        };
        assert_eq!(
            key(
                "Error response from daemon: Head \"https://myreg.azurecr.io/v2/app/manifests/v1\": unauthorized: authentication required"
            ),
            Some(ui::HEALTH_DAEMON_PULL_UNAUTHORIZED)
        );
        assert_eq!(
            key(
                "Error response from daemon: Get \"https://myreg.azurecr.io/v2/\": tls: failed to verify certificate: x509: certificate signed by unknown authority"
            ),
            Some(ui::HEALTH_DAEMON_PULL_X509)
        );
        assert_eq!(key("Error response from daemon: manifest unknown"), None);
    }
}
