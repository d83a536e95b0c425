//! Notary, for Docker Content Trust: az 2.86 dropped this check; we keep it, as warnings that
//! never fail a run, since content trust is deprecated but still in use.

use std::time::Instant;

use super::{Context, could_not_run, version_after, version_numbers};
use crate::system::process;
use crate::vocabulary::ui;
use crate::vocabulary::{Check, Code, Outcome, Text};

/// az (up to 2.85) required exactly this version.
pub const RECOMMENDED: &str = "0.6.0";

pub async fn chain(context: &Context, emit: &(dyn Fn(Outcome) + Sync)) {
    let started = Instant::now();
    let path = match process::resolve_trusted("notary", context) {
        Ok(path) => path,
        Err(error) => {
            let mut outcome =
                could_not_run(Check::NotaryCommand, Code::NOTARY_COMMAND_ERROR, &error);
            outcome.duration = started.elapsed();
            emit(outcome);
            return;
        }
    };
    let mut found = Outcome::ok(
        Check::NotaryCommand,
        Text::ui(ui::HEALTH_NOTARY_CLIENT).arg("path", path.display()),
    );
    found.duration = started.elapsed();
    emit(found);

    let started = Instant::now();
    let mut records = Vec::new();
    let result = process::run(&path, "notary", &["version"], context, &mut records).await;
    let mut outcome = match result {
        Ok(done) if done.success() => judge(&done.stdout),
        Ok(done) => Outcome::failed(Check::NotaryVersion, Code::NOTARY_VERSION_ERROR)
            .note(Text::ui(ui::HEALTH_DETAIL_COMMAND_FAILED).arg("command", "notary version"))
            .verbatim(&done.stderr),
        Err(error) => could_not_run(Check::NotaryVersion, Code::NOTARY_VERSION_ERROR, &error),
    };
    outcome.duration = started.elapsed();
    emit(outcome.commands(records));
}

/// The outcome for what `notary version` printed.
pub fn judge(stdout: &str) -> Outcome {
    // Debian's notary 0.7.0 prints an empty version: that is unreadable, not compatible.
    let Some(version) = version_after(stdout, "Version:") else {
        return Outcome::failed(Check::NotaryVersion, Code::NOTARY_VERSION_ERROR)
            .note(Text::ui(ui::HEALTH_DETAIL_UNREADABLE_OUTPUT).arg("command", "notary version"))
            .verbatim(stdout);
    };
    let line = Text::ui(ui::HEALTH_NOTARY_VERSION).arg("version", &version);
    // Same major and minor version as the recommended one.
    if version_numbers(&version)[..2] != version_numbers(RECOMMENDED)[..2] {
        let mut outcome = Outcome::failed(Check::NotaryVersion, Code::NOTARY_VERSION_ERROR).note(
            Text::ui(ui::HEALTH_NOTARY_NOT_RECOMMENDED)
                .arg("version", &version)
                .arg("recommended", RECOMMENDED),
        );
        outcome.line = Some(line);
        return outcome;
    }
    Outcome::ok(Check::NotaryVersion, line)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vocabulary::CheckStatus;

    #[test]
    fn the_recommended_version_passes_others_warn() {
        assert_eq!(
            judge("notary\n Version:    0.6.1\n Git commit: abc\n").status,
            CheckStatus::Ok
        );
        let other = judge("notary\n Version:    0.7.0\n");
        assert_eq!(
            (other.status, other.code),
            (CheckStatus::Warning, Some(Code::NOTARY_VERSION_ERROR))
        );
        let empty = judge("notary\n Version:    \n Git commit: \n Go version: go1.19.8\n");
        assert_eq!(empty.status, CheckStatus::Warning);
    }
}
