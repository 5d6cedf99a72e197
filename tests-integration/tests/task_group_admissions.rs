//! Admissions racing the wait, on real threads: several threads add tasks (`try_spawn` to the
//! task pool, `try_track` run by the adder itself) while another thread waits, round after
//! round. Every task admitted is in the wait's values (and in its adder's submission order);
//! every refusal is `Closed`, and comes only once the wait has begun and nothing runs; a task's
//! child, added while its parent runs, is never refused. Every wait is bounded
//! ([`PATIENCE`]), so a lost task or a gate that never opens fails a named test.
//!
//! The loom models of the same races, exhaustive on a tiny program, are models 11 to 13 of
//! `tests/loom_task_group.rs`.

mod support;

use groupwait::task_group::{TaskGroup, TrySpawnError};
use std::collections::{BTreeSet, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use support::{wait_until, PATIENCE};

/// A task's value: its adder, its number in that adder's admissions, and whether it is the
/// child of that task (added by the task while it ran).
type Id = (usize, usize, bool);

type Group = TaskGroup<Id, ()>;

type TaskFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Rounds (each a new group), adders per round, and the most attempts an adder makes in one
/// round (a bound: admissions allowed while tasks run could otherwise go on as long as the
/// adders keep a task running).
fn sizes() -> (usize, usize, usize) {
    if cfg!(miri) {
        (3, 2, 20)
    } else {
        (300, 4, 20_000)
    }
}

/// The most pool tasks of one adder queued and not yet run.
const QUEUED: usize = 4;

/// What one adder did in a round.
struct Adder {
    /// The tasks it had admitted, in its submission order (numbers `0..admitted`).
    admitted: usize,
    /// The numbers of its pool tasks that add a child.
    parents: Vec<usize>,
    /// Whether its last attempt was refused `Closed` (rather than it giving up at the bound).
    refused: bool,
}

/// Adds tasks to `group` until refused (or `attempts` made): even numbers to the pool (every
/// fourth of those adds a child while it runs), odd ones as futures this thread runs, up to
/// two held unfinished while it adds more, and none once `waiting` (so that the group can
/// drain and close). A refusal must be `Closed` and must find this adder holding no
/// unfinished task: while one runs the group cannot close.
fn add_until_refused(
    group: &Arc<Group>,
    adder: usize,
    attempts: usize,
    waiting: &AtomicBool,
) -> Adder {
    let mut held: VecDeque<TaskFuture> = VecDeque::new();
    // This adder's pool tasks not run yet: kept to a few, so that adders on every core do not
    // queue thousands of jobs and the pool's growth stays out of this test (the pool's first
    // version gave each job queued at a stall a thread; now a stall at most doubles it).
    let queued = Arc::new(AtomicUsize::new(0));
    let mut done = Adder {
        admitted: 0,
        parents: Vec::new(),
        refused: false,
    };
    for _ in 0..attempts {
        let n = done.admitted;
        let refusal = if n.is_multiple_of(2) {
            let parent = n.is_multiple_of(8);
            wait_until("this adder's pool tasks to run", || {
                // Relaxed: a count to keep the queue short; nothing is read on its strength.
                queued.load(Ordering::Relaxed) < QUEUED
            });
            let (inner, ran) = (Arc::clone(group), Arc::clone(&queued));
            let task = move || {
                ran.fetch_sub(1, Ordering::Relaxed);
                if parent {
                    let child = move || Ok((adder, n, true));
                    if inner.try_spawn(child).is_err() {
                        panic!("task ({adder}, {n}) was refused its child while it ran");
                    }
                }
                Ok((adder, n, false))
            };
            queued.fetch_add(1, Ordering::Relaxed);
            match group.try_spawn(task) {
                Ok(()) => {
                    if parent {
                        done.parents.push(n);
                    }
                    None
                }
                Err(refused) => {
                    queued.fetch_sub(1, Ordering::Relaxed);
                    Some(matches!(refused, TrySpawnError::Closed(_)))
                }
            }
        } else {
            match group.try_track(async move { Ok((adder, n, false)) }) {
                Ok(task) => {
                    held.push_back(Box::pin(task));
                    None
                }
                Err(refused) => Some(matches!(refused, TrySpawnError::Closed(_))),
            }
        };
        if let Some(closed) = refusal {
            assert!(closed, "adder {adder}: task {n} refused, but not `Closed`");
            assert!(
                held.is_empty(),
                "adder {adder}: task {n} refused while this adder holds {} unfinished tasks",
                held.len()
            );
            done.refused = true;
            return done;
        }
        done.admitted += 1;
        // Relaxed: only a hint to stop holding tasks; nothing is read on its strength.
        let keep = if waiting.load(Ordering::Relaxed) {
            0
        } else {
            2
        };
        while held.len() > keep {
            futures::executor::block_on(held.pop_front().expect("a held task"));
        }
    }
    held.into_iter().for_each(futures::executor::block_on);
    done
}

/// The values the wait must return: every admitted task, and a child for each parent.
fn expected(adders: &[Adder]) -> BTreeSet<Id> {
    let mut all = BTreeSet::new();
    for (a, adder) in adders.iter().enumerate() {
        all.extend((0..adder.admitted).map(|n| (a, n, false)));
        all.extend(adder.parents.iter().map(|&n| (a, n, true)));
    }
    all
}

#[test]
fn every_admitted_task_is_waited_for_and_every_refusal_is_closed() {
    let (rounds, adders, attempts) = sizes();
    let (mut refused, mut tasks) = (0, 0);
    for round in 0..rounds {
        let group = Arc::new(Group::new());
        let waiting = AtomicBool::new(false);
        let start = Barrier::new(adders + 1);
        let (values, done) = std::thread::scope(|s| {
            let handles: Vec<_> = (0..adders)
                .map(|a| {
                    let (group, waiting, start) = (&group, &waiting, &start);
                    s.spawn(move || {
                        start.wait();
                        add_until_refused(group, a, attempts, waiting)
                    })
                })
                .collect();
            start.wait();
            // A different moment in the adders' run each round.
            for _ in 0..round % 17 * 20 {
                std::thread::yield_now();
            }
            waiting.store(true, Ordering::Relaxed);
            let values = group.wait_timeout(PATIENCE);
            let done: Vec<Adder> = handles.into_iter().map(|h| h.join().unwrap()).collect();
            (values, done)
        });
        let values = values
            .unwrap_or_else(|| panic!("round {round}: the wait did not return in {PATIENCE:?}"))
            .unwrap_or_else(|e| panic!("round {round}: the wait failed: {e:?}"));
        let expected = expected(&done);
        let seen: BTreeSet<Id> = values.iter().copied().collect();
        assert_eq!(seen.len(), values.len(), "round {round}: a value twice");
        assert_eq!(
            seen.difference(&expected).collect::<Vec<_>>(),
            Vec::<&Id>::new(),
            "round {round}: values of tasks never admitted"
        );
        assert_eq!(
            expected.difference(&seen).collect::<Vec<_>>(),
            Vec::<&Id>::new(),
            "round {round}: admitted tasks missing from the wait's values"
        );
        for a in 0..adders {
            let order: Vec<usize> = values
                .iter()
                .filter(|&&(adder, _, child)| adder == a && !child)
                .map(|&(_, n, _)| n)
                .collect();
            assert!(
                order.windows(2).all(|w| w[0] < w[1]),
                "round {round}: adder {a}'s tasks out of submission order: {order:?}"
            );
        }
        assert_eq!(group.running(), 0, "round {round}");
        assert!(group.pending().is_empty(), "round {round}");
        // Closed for good: one more attempt from here is refused too.
        assert!(matches!(
            group.try_track(async { Ok((0, 0, false)) }),
            Err(TrySpawnError::Closed(_))
        ));
        refused += done.iter().filter(|d| d.refused).count();
        tasks += values.len();
    }
    eprintln!(
        "{rounds} rounds, {tasks} tasks waited for, {refused} of {} adders refused `Closed` \
         (the others stopped at {attempts} attempts)",
        rounds * adders
    );
    // The wait returns only once no task runs, and every adder keeps trying until refused or
    // at the bound: with the bound far above a round's admissions, refusals happen.
    assert!(
        refused > 0,
        "no admission was ever refused: the close was never raced"
    );
}
