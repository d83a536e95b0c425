//! Runs the plan: independent chains at the same time, the steps of a chain in order, and hands
//! the outcomes to the report in az's order, whatever order they finish in.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;
use tokio::task::JoinSet;

use crate::checks::{self, Context, Outcome, Text};
use crate::knowledge::Code;
use crate::plan::Plan;

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
    /// Checks of the plan that were not reported because the run stopped early.
    pub not_run: Vec<&'static str>,
    pub duration: Duration,
}

type ChainFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

/// A chain: the checks it reports, in order, and how to run it.
struct Chain {
    checks: Vec<&'static str>,
    run: Box<dyn FnOnce(Context, Emitter) -> ChainFuture + Send>,
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
    mut on_outcome: impl FnMut(&Outcome) -> Flow,
    mut on_early: impl FnMut(&Outcome),
    on_waiting: impl Fn(&[&'static str]) + Send + Sync + 'static,
) -> Run {
    let started = Instant::now();
    let (sender, mut receiver) = mpsc::unbounded_channel();
    let emitter = Emitter(sender);

    let mut expected: Vec<&'static str> = Vec::new();
    for outcome in plan.immediate() {
        expected.push(outcome.check);
        emitter.emit(outcome);
    }
    let mut tasks = JoinSet::new();
    for chain in chains(plan) {
        expected.extend(chain.checks.iter().copied());
        tasks.spawn((chain.run)(context.clone(), emitter.clone()));
    }
    drop(emitter);
    // The chains start their processes and lookups before anything is rendered: the
    // immediate outcomes can be made into text while those run.
    tokio::task::yield_now().await;
    expected.sort_by_key(|c| checks::position(c));

    let mut arrived: BTreeMap<usize, Outcome> = BTreeMap::new();
    let mut reported = Vec::new();
    let mut next = 0;
    let mut stopped = false;
    let on_waiting = std::sync::Arc::new(on_waiting);
    while next < expected.len() && !stopped {
        let waiting: Vec<&'static str> = expected[next..]
            .iter()
            .copied()
            .filter(|c| !arrived.contains_key(&checks::position(c)))
            .collect();
        (on_waiting)(&waiting);
        match receiver.recv().await {
            Some(outcome) => {
                if expected.get(next) != Some(&outcome.check) {
                    on_early(&outcome);
                }
                arrived.insert(checks::position(outcome.check), outcome);
            }
            None => {
                // Every chain has ended. Whatever a chain did not report (it panicked, or
                // returned early by mistake) becomes a finding, never a silent gap.
                while let Some(joined) = tasks.join_next().await {
                    let _ = joined;
                }
                for check in &expected[next..] {
                    arrived.entry(checks::position(check)).or_insert_with(|| {
                        Outcome::failed(check, Code::UNEXPECTED_ERROR)
                            .note(Text::ui("health.detail.crashed"))
                    });
                }
            }
        }
        while let Some(outcome) = expected
            .get(next)
            .and_then(|check| arrived.remove(&checks::position(check)))
        {
            next += 1;
            let flow = on_outcome(&outcome);
            reported.push(outcome);
            if flow == Flow::Stop {
                stopped = true;
                break;
            }
        }
    }
    (on_waiting)(&[]);
    // Dropping the tasks kills what they still run (their children are `kill_on_drop`).
    tasks.abort_all();
    Run {
        reported,
        not_run: expected[next..].to_vec(),
        duration: started.elapsed(),
    }
}

fn chains(plan: &Plan) -> Vec<Chain> {
    let mut chains = Vec::new();
    if let Some(registry) = plan.registry.clone() {
        chains.push(Chain {
            checks: crate::registry::checks(&registry),
            run: Box::new(move |context, emitter| {
                Box::pin(async move {
                    crate::registry::chain(&registry, &context, &|o| emitter.emit(o)).await
                })
            }),
        });
    }
    if plan.environment {
        chains.push(Chain {
            checks: vec![
                "docker.client",
                "docker.daemon",
                "docker.version",
                "docker.pull",
            ],
            run: Box::new(|context, emitter| {
                Box::pin(async move { checks::docker::chain(&context, &|o| emitter.emit(o)).await })
            }),
        });
        chains.push(Chain {
            checks: vec!["helm.command", "helm.version"],
            run: Box::new(|context, emitter| {
                Box::pin(async move { checks::helm::chain(&context, &|o| emitter.emit(o)).await })
            }),
        });
        chains.push(Chain {
            checks: vec!["notary.command", "notary.version"],
            run: Box::new(|context, emitter| {
                Box::pin(async move { checks::notary::chain(&context, &|o| emitter.emit(o)).await })
            }),
        });
    }
    chains
}
