//! Helm: the client is there (`helm`), and `helm version --client` names a version of at least
//! 2.11.0 (helm 2 says `SemVer:"v2.16.12"`, helm 3 `Version:"v3.14.0"`).

use std::time::Instant;

use super::{Context, could_not_run, version_after, version_numbers};
use crate::system::process::{self, ProcessError};
use crate::vocabulary::ui;
use crate::vocabulary::{Check, Code, Outcome, Text};

pub const MINIMUM: &str = "2.11.0";

pub async fn chain(context: &Context, emit: &(dyn Fn(Outcome) + Sync)) {
    let started = Instant::now();
    let path = match process::resolve_trusted("helm", context) {
        Ok(path) => path,
        Err(error) => {
            let mut outcome = could_not_run(Check::HelmCommand, Code::HELM_COMMAND_ERROR, &error);
            outcome.duration = started.elapsed();
            emit(outcome);
            return;
        }
    };
    let mut found = Outcome::ok(
        Check::HelmCommand,
        Text::ui(ui::HEALTH_HELM_CLIENT).arg("path", path.display()),
    );
    found.duration = started.elapsed();
    emit(found);

    let started = Instant::now();
    let mut records = Vec::new();
    let result = process::run(
        &path,
        "helm",
        &["version", "--client"],
        context,
        &mut records,
    )
    .await;
    let mut outcome = match result {
        Ok(done) if done.success() => judge(&done.stdout).verbatim(&done.stderr),
        Ok(done) => Outcome::failed(Check::HelmVersion, Code::HELM_VERSION_ERROR)
            .note(
                Text::ui(ui::HEALTH_DETAIL_COMMAND_FAILED).arg("command", "helm version --client"),
            )
            .verbatim(&done.stderr),
        Err(error @ ProcessError::Spawn { .. }) => {
            could_not_run(Check::HelmVersion, Code::HELM_COMMAND_ERROR, &error)
        }
        Err(error) => could_not_run(Check::HelmVersion, Code::HELM_VERSION_ERROR, &error),
    };
    outcome.duration = started.elapsed();
    emit(outcome.commands(records));
}

/// The outcome for what `helm version --client` printed.
pub fn judge(stdout: &str) -> Outcome {
    let version =
        version_after(stdout, "SemVer:\"").or_else(|| version_after(stdout, "Version:\""));
    let Some(version) = version else {
        return Outcome::failed(Check::HelmVersion, Code::HELM_VERSION_ERROR)
            .note(
                Text::ui(ui::HEALTH_DETAIL_UNREADABLE_OUTPUT)
                    .arg("command", "helm version --client"),
            )
            .verbatim(stdout);
    };
    let line = Text::ui(ui::HEALTH_HELM_VERSION).arg("version", &version);
    if version_numbers(&version) < version_numbers(MINIMUM) {
        let mut outcome = Outcome::failed(Check::HelmVersion, Code::HELM_VERSION_ERROR).note(
            Text::ui(ui::HEALTH_HELM_TOO_OLD)
                .arg("version", &version)
                .arg("minimum", MINIMUM),
        );
        outcome.line = Some(line);
        return outcome;
    }
    Outcome::ok(Check::HelmVersion, line)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vocabulary::CheckStatus;

    #[test]
    fn helm_3_and_helm_2_versions_pass_and_2_10_is_too_old() {
        let helm3 = judge(
            r#"version.BuildInfo{Version:"v3.14.0", GitCommit:"3fc9f4b", GitTreeState:"clean", GoVersion:"go1.21.5"}"#,
        );
        assert_eq!(helm3.status, CheckStatus::Ok);
        assert_eq!(helm3.line.unwrap().plain("version"), Some("3.14.0"));
        let helm2 = judge(
            r#"Client: &version.Version{SemVer:"v2.16.12", GitCommit:"47f0b88", GitTreeState:"clean"}"#,
        );
        assert_eq!(helm2.status, CheckStatus::Ok);
        let old = judge(r#"Client: &version.Version{SemVer:"v2.10.0", GitCommit:"9ad53aa"}"#);
        assert_eq!(
            (old.status, old.code),
            (CheckStatus::Error, Some(Code::HELM_VERSION_ERROR))
        );
        assert!(old.line.is_some(), "the version is still shown");
    }

    #[test]
    fn output_without_a_version_is_a_version_error() {
        let garbage = judge("something else entirely");
        assert_eq!(garbage.code, Some(Code::HELM_VERSION_ERROR));
    }
}
