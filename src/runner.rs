//! Runs the plan: independent chains at the same time, the steps of a chain in order, and hands
//! the outcomes to the report in az's order, whatever order they finish in.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tokio::task::JoinSet;

use crate::checks::{self, Context, Turns};
use crate::plan::Plan;
use crate::vocabulary::ui;
use crate::vocabulary::{Check, Code, Outcome, Text};

/// What the report says after each outcome: go on, or stop here (the first error without
/// `--ignore-errors`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Continue,
    Stop,
}

/// The result of a run.
pub struct Run {
    /// Reported outcomes, in az's order.
    pub reported: Vec<Outcome>,
    /// Checks of the plan that were not reported because the run stopped early, and whether
    /// each had finished by then (it ran at the same time as those before it).
    pub not_reported: Vec<(Check, bool)>,
    pub duration: Duration,
}

type ChainFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

/// A chain: the checks it reports, and how to run it. A chain reports each of its checks once,
/// and stops reporting what needs a check that found a problem: the runner reports that.
struct Chain {
    checks: Vec<Check>,
    run: Box<dyn FnOnce(Context, Turns, Emitter) -> ChainFuture + Send>,
}

tokio::task_local! {
    /// Set while a chain runs: a panic there is the runner's to report, as `UNEXPECTED_ERROR`.
    static IN_CHAIN: ();
}

/// Whether the code running now is a chain of checks (for the panic hook).
pub fn in_chain() -> bool {
    IN_CHAIN.try_with(|()| ()).is_ok()
}

#[derive(Clone)]
pub struct Emitter(mpsc::UnboundedSender<Outcome>);

impl Emitter {
    pub fn emit(&self, outcome: Outcome) {
        // The receiver is gone only when the run stopped early; the outcome is not wanted then.
        let _ = self.0.send(outcome);
    }
}

/// Runs every check of `plan`. `on_outcome` is called in az's order and may stop the run;
/// `on_early` sees an outcome that arrives before its turn (to prepare its text while slower
/// checks run); `on_waiting` is told which checks are still out, for a spinner.
pub async fn run(
    plan: &Plan,
    context: Context,
    on_outcome: impl FnMut(&Outcome) -> Flow,
    on_early: impl FnMut(&Outcome),
    on_waiting: impl Fn(&[Check]) + Send + Sync + 'static,
) -> Run {
    #[allow(unused_mut)]
    let mut chains = chains(plan);
    #[cfg(debug_assertions)]
    if crate::system::test_panic_requested("chain")
        && let Some(first) = chains.first_mut()
    {
        first.run = Box::new(|_, _, _| Box::pin(async { panic!("ACR_HEALTH_TEST_PANIC=chain") }));
    }
    run_chains(
        plan.immediate(),
        chains,
        context,
        plan.stop_at_first_error,
        on_outcome,
        on_early,
        on_waiting,
    )
    .await
}

async fn run_chains(
    immediate: Vec<Outcome>,
    chains: Vec<Chain>,
    context: Context,
    stop_at_first_error: bool,
    mut on_outcome: impl FnMut(&Outcome) -> Flow,
    mut on_early: impl FnMut(&Outcome),
    on_waiting: impl Fn(&[Check]) + Send + Sync + 'static,
) -> Run {
    let started = Instant::now();
    let (sender, mut receiver) = mpsc::unbounded_channel();
    let emitter = Emitter(sender);

    let mut expected: Vec<Check> = Vec::new();
    for outcome in immediate {
        expected.push(outcome.check);
        emitter.emit(outcome);
    }
    for chain in &chains {
        expected.extend(chain.checks.iter().copied());
    }
    expected.sort();
    // The first check not reported yet, for the checks that wait for their turn.
    let (turn, turns) =
        tokio::sync::watch::channel(expected.first().copied().unwrap_or(Check::DockerClient));
    let turns = if stop_at_first_error {
        Turns::after(turns)
    } else {
        Turns::free()
    };
    let mut tasks = JoinSet::new();
    for chain in chains {
        let future = (chain.run)(context.clone(), turns.clone(), emitter.clone());
        tasks.spawn(IN_CHAIN.scope((), future));
    }
    drop(emitter);
    // The chains start their processes and lookups before anything is rendered: the
    // immediate outcomes can be made into text while those run.
    tokio::task::yield_now().await;

    let mut arrived = Arrived::default();
    let mut reported = Vec::new();
    let mut next = 0;
    let mut stopped = false;
    let on_waiting = std::sync::Arc::new(on_waiting);
    while next < expected.len() && !stopped {
        let waiting: Vec<Check> = expected[next..]
            .iter()
            .copied()
            .filter(|c| !arrived.has(*c))
            .collect();
        (on_waiting)(&waiting);
        match receiver.recv().await {
            Some(outcome) => {
                for outcome in arrived.take(outcome, &expected) {
                    if expected.get(next) != Some(&outcome.check) {
                        on_early(&outcome);
                    }
                    arrived.outcomes.insert(outcome.check, outcome);
                }
            }
            None => {
                // Every chain has ended. Whatever a chain did not report (it panicked, or
                // returned early by mistake) becomes a finding, never a silent gap.
                while let Some(joined) = tasks.join_next().await {
                    let _ = joined;
                }
                for &check in &expected[next..] {
                    arrived.outcomes.entry(check).or_insert_with(|| {
                        Outcome::failed(check, Code::UNEXPECTED_ERROR)
                            .note(Text::ui(ui::HEALTH_DETAIL_CRASHED))
                    });
                }
            }
        }
        while let Some(outcome) = expected
            .get(next)
            .and_then(|check| arrived.outcomes.remove(check))
        {
            next += 1;
            let flow = on_outcome(&outcome);
            reported.push(outcome);
            if flow == Flow::Stop {
                stopped = true;
                break;
            }
            if let Some(&check) = expected.get(next) {
                turn.send_replace(check);
            }
        }
    }
    (on_waiting)(&[]);
    // Dropping the tasks kills what they still run (their children are `kill_on_drop`).
    tasks.abort_all();
    Run {
        reported,
        not_reported: expected[next..]
            .iter()
            .map(|&check| (check, arrived.has(check)))
            .collect(),
        duration: started.elapsed(),
    }
}

/// The outcomes that arrived before their turn, and every check that was decided already.
#[derive(Default)]
struct Arrived {
    outcomes: BTreeMap<Check, Outcome>,
    decided: Vec<Check>,
}

impl Arrived {
    fn has(&self, check: Check) -> bool {
        self.decided.contains(&check)
    }

    /// The outcome, and when it found a problem, the checks of the plan that need its check and
    /// were not decided yet: skipped because of its code ([`Check::needs`]). A check decided
    /// already is not decided again.
    fn take(&mut self, outcome: Outcome, expected: &[Check]) -> Vec<Outcome> {
        if self.has(outcome.check) {
            return Vec::new();
        }
        self.decided.push(outcome.check);
        let mut decided = Vec::new();
        if outcome.blocks_dependents()
            && let Some(code) = outcome.code
        {
            for dependent in outcome.check.dependents() {
                if expected.contains(&dependent) && !self.has(dependent) {
                    self.decided.push(dependent);
                    decided.push(Outcome::skipped_because(dependent, code));
                }
            }
        }
        decided.insert(0, outcome);
        decided
    }
}

fn chains(plan: &Plan) -> Vec<Chain> {
    let mut chains = Vec::new();
    if let Some(registry) = plan.registry.clone() {
        let client = plan.environment.clone();
        chains.push(Chain {
            checks: crate::checks::registry::checks(&registry),
            run: Box::new(move |context, turns, emitter| {
                Box::pin(async move {
                    let emit = |o| emitter.emit(o);
                    let client = client.as_deref();
                    crate::checks::registry::chain(&registry, &context, client, &turns, &emit).await
                })
            }),
        });
    }
    if let Some(client) = plan.environment.clone() {
        chains.push(Chain {
            checks: vec![
                Check::DockerClient,
                Check::DockerDaemon,
                Check::DockerVersion,
                Check::DockerPull,
            ],
            run: Box::new(move |context, turns, emitter| {
                Box::pin(async move {
                    checks::docker::chain(&context, &client, &turns, &|o| emitter.emit(o)).await
                })
            }),
        });
        chains.push(Chain {
            checks: vec![Check::HelmCommand, Check::HelmVersion],
            run: Box::new(|context, _, emitter| {
                Box::pin(async move { checks::helm::chain(&context, &|o| emitter.emit(o)).await })
            }),
        });
        chains.push(Chain {
            checks: vec![Check::NotaryCommand, Check::NotaryVersion],
            run: Box::new(|context, _, emitter| {
                Box::pin(async move { checks::notary::chain(&context, &|o| emitter.emit(o)).await })
            }),
        });
    }
    chains
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vocabulary::CheckStatus;

    fn context() -> Context {
        Context::for_tests(&[], Duration::from_secs(5))
    }

    /// Every check of one chain: `found` reports `code`, every check before it passes, and the
    /// chain reports nothing after it (what needs it is the runner's to skip).
    fn one_finding(found: Check, code: Code) -> Chain {
        Chain {
            checks: Check::ALL.to_vec(),
            run: Box::new(move |_, _, emitter| {
                Box::pin(async move {
                    for check in Check::ALL {
                        if check == found {
                            emitter.emit(Outcome::failed(check, code));
                        } else if !check.depends_on(found) {
                            emitter.emit(Outcome::ok(check, Text::ui(ui::HEALTH_NOT_FINISHED)));
                        }
                    }
                })
            }),
        }
    }

    /// Runs `chains`; with `stop_at_first_error`, a failure stops the run.
    fn run_these(chains: Vec<Chain>, stop_at_first_error: bool) -> Run {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(run_chains(
            Vec::new(),
            chains,
            context(),
            stop_at_first_error,
            |outcome| {
                if outcome.is_failure() && stop_at_first_error {
                    Flow::Stop
                } else {
                    Flow::Continue
                }
            },
            |_| {},
            |_| {},
        ))
    }

    fn run_one(found: Check, code: Code) -> Run {
        run_these(vec![one_finding(found, code)], false)
    }

    #[test]
    fn a_code_skips_in_a_run_exactly_what_explain_says_it_skips() {
        for code in Code::ALL {
            let mut skipped_by_any = Vec::new();
            for found in code.reported_by() {
                let run = run_one(found, code);
                assert_eq!(
                    run.reported.len(),
                    Check::ALL.len(),
                    "{code:?} from {found}"
                );
                let skipped: Vec<Check> = run
                    .reported
                    .iter()
                    .filter(|o| o.skipped_because == Some(code))
                    .map(|o| o.check)
                    .collect();
                assert_eq!(skipped, found.dependents(), "{code:?} from {found}");
                assert!(
                    skipped
                        .iter()
                        .all(|&c| run.reported[c as usize].status == CheckStatus::Skipped)
                );
                skipped_by_any.extend(skipped);
            }
            skipped_by_any.sort();
            skipped_by_any.dedup();
            assert_eq!(skipped_by_any, code.skips(), "{code:?}");
        }
    }

    #[test]
    fn a_check_a_chain_reports_after_the_runner_skipped_it_is_not_reported_twice() {
        let chain = Chain {
            checks: vec![Check::HelmCommand, Check::HelmVersion],
            run: Box::new(|_, _, emitter| {
                Box::pin(async move {
                    emitter.emit(Outcome::failed(
                        Check::HelmCommand,
                        Code::HELM_COMMAND_ERROR,
                    ));
                    emitter.emit(Outcome::ok(
                        Check::HelmVersion,
                        Text::ui(ui::HEALTH_NOT_FINISHED),
                    ));
                })
            }),
        };
        let run = run_these(vec![chain], false);
        assert_eq!(run.reported.len(), 2);
        assert_eq!(
            run.reported[1].skipped_because,
            Some(Code::HELM_COMMAND_ERROR)
        );
    }

    /// Stopping at the first error: a check that pushes waits for its turn, and when a check
    /// before it in az's order stops the run, the push never happens; the check that had run at
    /// the same time is told apart from the one that had not finished. With `--ignore-errors` the
    /// push goes ahead at once.
    #[test]
    fn nothing_is_pushed_after_the_first_error_when_the_run_stops_there() {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicBool, Ordering};
        for stop_at_first_error in [true, false] {
            let pushed = Arc::new(AtomicBool::new(false));
            let push = pushed.clone();
            let slow_failure = Chain {
                checks: vec![Check::DockerClient],
                run: Box::new(|_, _, emitter| {
                    Box::pin(async move {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        emitter.emit(Outcome::failed(
                            Check::DockerClient,
                            Code::DOCKER_COMMAND_ERROR,
                        ));
                    })
                }),
            };
            let round_trip = Chain {
                checks: vec![Check::RegistryManifest, Check::RegistryRoundTrip],
                run: Box::new(move |_, turns, emitter| {
                    Box::pin(async move {
                        let ok = |check| Outcome::ok(check, Text::ui(ui::HEALTH_NOT_FINISHED));
                        emitter.emit(ok(Check::RegistryManifest));
                        if turns.wait_for(Check::RegistryRoundTrip).await {
                            push.store(true, Ordering::SeqCst);
                            emitter.emit(ok(Check::RegistryRoundTrip));
                        }
                    })
                }),
            };
            let run = run_these(vec![slow_failure, round_trip], stop_at_first_error);
            assert_eq!(pushed.load(Ordering::SeqCst), !stop_at_first_error);
            let not_reported = if stop_at_first_error {
                vec![
                    (Check::RegistryManifest, true),
                    (Check::RegistryRoundTrip, false),
                ]
            } else {
                Vec::new()
            };
            assert_eq!(run.not_reported, not_reported);
        }
    }
}
