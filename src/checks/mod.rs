//! The checks, one module per chain: the container client, helm, notary, and the registry (its
//! connection, the data probe, the round trip and the Azure resource checks). A check never
//! prints: it returns an [`Outcome`], and the report turns outcomes into text.

pub mod docker;
pub mod helm;
pub mod notary;
pub mod registry;

use crate::system::process;
pub use crate::system::{Confirm, Context};
use crate::vocabulary::{Check, Code, Outcome, Text, ui};

/// Clocks further apart than this make tokens and certificates look expired or not yet valid.
pub const CLOCK_TOLERANCE_SECONDS: u64 = 300;

/// When a check that changes something (a pull, a push) may go ahead. Stopping at the first
/// error means nothing is pulled or pushed after it in az's order: such a check waits until
/// every check before it has been reported without stopping the run. With `--ignore-errors`
/// there is nothing to wait for.
#[derive(Clone)]
pub struct Turns(Option<tokio::sync::watch::Receiver<Check>>);

impl Turns {
    /// Every check may go ahead at once.
    pub fn free() -> Turns {
        Turns(None)
    }

    /// Turns given by `reported`: the first check that has not been reported yet.
    pub fn after(reported: tokio::sync::watch::Receiver<Check>) -> Turns {
        Turns(Some(reported))
    }

    /// Waits for `check`'s turn; `false` when it never comes (the run stopped before it).
    pub async fn wait_for(&self, check: Check) -> bool {
        match &self.0 {
            None => true,
            Some(reported) => reported
                .clone()
                .wait_for(|&next| next >= check)
                .await
                .is_ok(),
        }
    }
}

/// The go-ahead for `check`'s pull of `image`: its turn, then the user's, or the outcome that
/// says why it did not run.
pub async fn consent(
    context: &Context,
    turns: &Turns,
    check: Check,
    image: &str,
) -> Result<(), Outcome> {
    if !turns.wait_for(check).await {
        return Err(Outcome::skipped(check, Text::ui(ui::HEALTH_NOT_FINISHED)));
    }
    let prompt = Text::ui(ui::HEALTH_DOCKER_PULL_PROMPT).arg("image", image);
    let go = match &context.confirm {
        Confirm::Yes => true,
        Confirm::NoTerminal => {
            return Err(Outcome::skipped(
                check,
                Text::ui(ui::HEALTH_DOCKER_PULL_NO_TERMINAL),
            ));
        }
        Confirm::Ask(ask) => {
            let ask = ask.clone();
            tokio::task::spawn_blocking(move || ask(prompt))
                .await
                .unwrap_or(false)
        }
    };
    if go {
        Ok(())
    } else {
        Err(Outcome::skipped(
            check,
            Text::ui(ui::HEALTH_DOCKER_PULL_DECLINED),
        ))
    }
}

/// `2.10.0` → `[2, 10, 0]`, for comparing versions numerically (`2.11` is `2.11.0`).
pub fn version_numbers(version: &str) -> Vec<u64> {
    let mut numbers: Vec<u64> = version
        .split('.')
        .map(|part| part.parse().unwrap_or(0))
        .collect();
    while numbers.len() < 3 {
        numbers.push(0);
    }
    numbers
}

/// The dotted version right after `marker` in `text`: `Version:"v3.14.0"` → `3.14.0`.
pub fn version_after(text: &str, marker: &str) -> Option<String> {
    text.match_indices(marker).find_map(|(at, _)| {
        let rest = text[at + marker.len()..].trim_start();
        let rest = rest.strip_prefix('v').unwrap_or(rest);
        let version: String = rest
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == '.')
            .collect();
        let version = version.trim_end_matches('.');
        (!version.is_empty() && version.starts_with(|c: char| c.is_ascii_digit()))
            .then(|| version.to_owned())
    })
}

/// A check's outcome when its tool could not be run: the code, and why.
pub fn could_not_run(check: Check, code: Code, error: &process::ProcessError) -> Outcome {
    Outcome::failed(check, code).note(error.describe())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_read_from_helm_and_notary_output() {
        let helm3 = r#"version.BuildInfo{Version:"v3.14.0", GitCommit:"3fc9f4b"}"#;
        let helm2 = r#"Client: &version.Version{SemVer:"v2.16.12", GitCommit:"47f0b88"}"#;
        assert_eq!(version_after(helm3, "Version:\""), Some("3.14.0".into()));
        assert_eq!(version_after(helm2, "SemVer:\""), Some("2.16.12".into()));
        assert_eq!(
            version_after("notary\n Version:    0.6.1\n", "Version:"),
            Some("0.6.1".into())
        );
        assert_eq!(
            version_after("notary\n Version:    \n Git commit: \n", "Version:"),
            None
        );
        assert_eq!(version_after("garbage", "Version:"), None);
        assert!(version_numbers("2.10.0") < version_numbers("2.11.0"));
        assert_eq!(version_numbers("2.11"), version_numbers("2.11.0"));
        assert!(version_numbers("10.0.0") > version_numbers("2.11.0"));
    }
}
