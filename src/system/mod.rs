//! The local machine as the checks see it: the environment, the working directory, the time
//! bound of every external step, the `--resolve` pins, how to ask the user, and child processes.

pub mod client_config;
pub mod container;
pub mod daemon;
pub mod process;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::net::pin::Pins;
use crate::vocabulary::Text;

/// How the pull check gets its confirmation.
#[derive(Clone)]
pub enum Confirm {
    /// `--yes`.
    Yes,
    /// Ask on the terminal.
    Ask(Arc<dyn Fn(Text) -> bool + Send + Sync>),
    /// No terminal to ask on and no `--yes`: skip, and say so (az crashes here).
    NoTerminal,
}

/// What every check may use: the time bound, the environment, the working directory.
#[derive(Clone)]
pub struct Context {
    pub timeout: Duration,
    pub env: Arc<HashMap<String, String>>,
    pub cwd: PathBuf,
    pub confirm: Confirm,
    /// `--resolve` entries.
    pub pins: Arc<Pins>,
}

impl Context {
    /// For unit tests: these variables and nothing else, `--yes`, a bound of `timeout`, the
    /// current directory.
    #[cfg(test)]
    pub fn for_tests(vars: &[(&str, &str)], timeout: Duration) -> Context {
        Context {
            timeout,
            env: Arc::new(
                vars.iter()
                    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                    .collect(),
            ),
            cwd: ".".into(),
            confirm: Confirm::Yes,
            pins: Default::default(),
        }
    }

    pub fn var(&self, name: &str) -> Option<&str> {
        self.env
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }
}

/// Debug builds only: whether the tests asked for a panic at `place` (`ACR_HEALTH_TEST_PANIC`),
/// to prove that a panic anywhere still ends in a report, never a silent exit.
#[cfg(debug_assertions)]
pub fn test_panic_requested(place: &str) -> bool {
    std::env::var("ACR_HEALTH_TEST_PANIC").is_ok_and(|v| v == place)
}
