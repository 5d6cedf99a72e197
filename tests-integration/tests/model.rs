//! Random programs checked against a sequential model of the counter (a plain `i64`).
//!
//! A program is a list of rounds on ONE group, reused from round to round. Each round has:
//!
//! 1. a sequential prefix on the test thread: `add`/`try_add` with any delta (valid ones, and
//!    ones that would take the counter below zero or past `i32::MAX`, or that do not fit at
//!    all), `done`, zero-timeout and past-deadline waits, a single poll of `wait_async`, and
//!    guards. Every result, every error and the count after every step must equal the model's;
//! 2. a concurrent phase whose outcome is still deterministic: the test thread adds one unit
//!    per worker, then workers (each keeping at least its one unit until its very last step,
//!    so the counter cannot reach zero early and no `add` races a release), the test thread
//!    (giving back what the prefix left) and waiters of every kind run at once. Every `add` in
//!    this phase must succeed, every waiter must return, and a waiter that reports the counter
//!    at zero must see every participant finished (each one marks itself finished, with a
//!    `Relaxed` store, just before its last `done`: the group's own ordering must carry it);
//! 3. after joining everything, the count is zero (the model's value) and the group is ready
//!    for the next round.
//!
//! A thread holding units never panics (failures are collected and reported after the join,
//! and a count left above zero is drained), so a group that miscounts fails the case instead
//! of leaving the waiters blocked on a unit nobody gives back. A lost wake-up, by contrast,
//! blocks a waiter: the timed-wait loops give up after the test patience, and a blocking
//! waiter is stopped by the runner's per-test limit (`.config/nextest.toml`), which names the
//! test. Nothing here asserts on elapsed time.

mod support;

use groupwait::{Error, Guard, WaitGroup};
use proptest::prelude::*;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Barrier;
use std::task::{Context, Poll, Waker};
use std::thread;
use std::time::{Duration, Instant};

/// The largest counter value (Go's counter is 32 bits).
const MAX: i64 = i32::MAX as i64;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: if cfg!(miri) { 2 } else { 64 }, // Miri: each case costs about a minute
        // No `proptest-regressions` files in the repository: a failure prints its input.
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

// ---------------------------------------------------------------------------------------------
// The model
// ---------------------------------------------------------------------------------------------

/// What `try_add(delta)` must do to a group whose counter is `counter` when nobody waits:
/// the new counter, or the error (and then the group is unchanged).
fn model_try_add(counter: i64, delta: isize) -> Result<i64, Error> {
    if delta == 0 {
        return Ok(counter);
    }
    let wide = delta as i128;
    // A delta that does not fit in the 32-bit counter is refused whatever the counter.
    if wide.unsigned_abs() > MAX as u128 {
        return Err(Error::CounterOverflow { delta });
    }
    let new = i128::from(counter) + wide;
    if new > i128::from(MAX) {
        Err(Error::CounterOverflow { delta })
    } else if new < 0 {
        Err(Error::NegativeCounter)
    } else {
        Ok(new as i64)
    }
}

/// `v` as an `isize`, saturated (on 32-bit targets the deltas beyond `i32` become `isize`'s
/// bounds, which are themselves out of range for the counter).
fn saturate(v: i64) -> isize {
    isize::try_from(v).unwrap_or(if v < 0 { isize::MIN } else { isize::MAX })
}

// ---------------------------------------------------------------------------------------------
// Programs
// ---------------------------------------------------------------------------------------------

/// A delta, possibly relative to the model's counter so that the boundaries are hit exactly.
#[derive(Clone, Copy, Debug)]
enum Delta {
    Fixed(isize),
    /// `-counter + offset`: lands on zero, or just past it either way.
    FromZero(i8),
    /// `MAX - counter + offset`: lands on `i32::MAX`, or just past it either way.
    FromMax(i8),
}

impl Delta {
    fn resolve(self, counter: i64) -> isize {
        match self {
            Delta::Fixed(d) => d,
            Delta::FromZero(o) => saturate(-counter + i64::from(o)),
            Delta::FromMax(o) => saturate(MAX - counter + i64::from(o)),
        }
    }
}

/// One step of a round's sequential prefix.
#[derive(Clone, Copy, Debug)]
enum SeqOp {
    /// `try_add`, compared with the model.
    TryAdd(Delta),
    /// `add` when the model accepts the delta (it must not panic), otherwise `try_add`,
    /// which must return the model's error.
    Add(Delta),
    /// `done` when the counter is positive, otherwise `try_add(-1)`, which must fail.
    Done,
    /// `wait_timeout(Duration::ZERO)`: `true` iff the counter is zero.
    WaitZeroTimeout,
    /// `wait_deadline(now)`: `true` iff the counter is zero.
    WaitPastDeadline,
    /// `wait()` when the counter is zero (it must return), else a zero-timeout wait.
    Wait,
    /// One poll of `wait_async()`, then the future is dropped: ready iff the counter is zero.
    PollAsyncOnce,
    /// `guard()` kept until `GuardClose` or the end of the prefix.
    GuardOpen,
    /// Drops the most recent open guard (or makes and drops one if none is open).
    GuardClose,
}

/// One step of a worker in the concurrent phase. A worker holds `held` plain units (one to
/// begin with, never fewer until its last step) and some guards.
#[derive(Clone, Copy, Debug)]
enum WorkerOp {
    /// `add(m)`.
    Add(u8),
    /// `done()`, if the worker holds a unit beyond its first.
    Done,
    /// `add(m)` then `m` times `done()`.
    AddThenDones(u8),
    /// `guard()`, then drop it at once.
    GuardPair,
    /// `guard()`, kept until `GuardRelease` or the end.
    GuardHold,
    /// Drops the most recent guard held, if any.
    GuardRelease,
    /// `try_add(m)`: must be `Ok`.
    TryAdd(u8),
    /// `try_add(-m)` for some `m` within the units beyond the first: must be `Ok`.
    TryGiveBack(u8),
    /// `count()`: at least what this worker holds.
    Count,
    Yield,
    SleepMicros(u8),
}

/// A waiter of the concurrent phase.
#[derive(Clone, Copy, Debug)]
enum WaiterKind {
    Blocking,
    /// `wait_timeout(µs)` until it returns `true`.
    TimeoutLoop(u8),
    /// `wait_deadline(now + µs)` until it returns `true`.
    DeadlineLoop(u8),
    /// `block_on(wait_async())`.
    Async,
    /// One poll of `wait_async()`, dropped if pending (a cancellation), then `block_on` of a
    /// fresh one.
    AsyncCancelThenAwait,
}

#[derive(Clone, Debug)]
struct Round {
    prefix: Vec<SeqOp>,
    /// How many of the units left by the prefix the test thread gives back concurrently
    /// (at most); the rest it takes back with one `try_add` before the phase starts.
    keep: u8,
    workers: Vec<Vec<WorkerOp>>,
    waiters: Vec<WaiterKind>,
}

fn delta() -> impl Strategy<Value = Delta> {
    let fixed = prop_oneof![
        4 => -6isize..=6,
        1 => Just(i32::MAX as isize),
        1 => Just(-(i32::MAX as isize)),
        1 => Just(i32::MIN as isize),
        1 => Just(saturate(MAX + 1)),
        1 => Just(saturate(1 << 32)),
        1 => Just(saturate(-(1 << 32))),
        1 => Just(isize::MIN),
        1 => Just(isize::MAX),
        1 => any::<isize>(),
    ];
    prop_oneof![
        3 => fixed.prop_map(Delta::Fixed),
        2 => (-2i8..=2).prop_map(Delta::FromZero),
        2 => (-2i8..=2).prop_map(Delta::FromMax),
    ]
}

fn seq_op() -> impl Strategy<Value = SeqOp> {
    prop_oneof![
        4 => delta().prop_map(SeqOp::TryAdd),
        3 => delta().prop_map(SeqOp::Add),
        3 => Just(SeqOp::Done),
        1 => Just(SeqOp::WaitZeroTimeout),
        1 => Just(SeqOp::WaitPastDeadline),
        1 => Just(SeqOp::Wait),
        1 => Just(SeqOp::PollAsyncOnce),
        2 => Just(SeqOp::GuardOpen),
        2 => Just(SeqOp::GuardClose),
    ]
}

fn worker_op() -> impl Strategy<Value = WorkerOp> {
    prop_oneof![
        2 => (1u8..=4).prop_map(WorkerOp::Add),
        2 => Just(WorkerOp::Done),
        2 => (1u8..=4).prop_map(WorkerOp::AddThenDones),
        2 => Just(WorkerOp::GuardPair),
        1 => Just(WorkerOp::GuardHold),
        1 => Just(WorkerOp::GuardRelease),
        2 => (1u8..=4).prop_map(WorkerOp::TryAdd),
        2 => any::<u8>().prop_map(WorkerOp::TryGiveBack),
        1 => Just(WorkerOp::Count),
        1 => Just(WorkerOp::Yield),
        1 => (0u8..=50).prop_map(WorkerOp::SleepMicros),
    ]
}

fn waiter_kind() -> impl Strategy<Value = WaiterKind> {
    prop_oneof![
        Just(WaiterKind::Blocking),
        (0u8..200).prop_map(WaiterKind::TimeoutLoop),
        (0u8..200).prop_map(WaiterKind::DeadlineLoop),
        Just(WaiterKind::Async),
        Just(WaiterKind::AsyncCancelThenAwait),
    ]
}

fn round() -> impl Strategy<Value = Round> {
    (
        prop::collection::vec(seq_op(), 0..24),
        0u8..=3,
        prop::collection::vec(prop::collection::vec(worker_op(), 0..16), 1..=4),
        prop::collection::vec(waiter_kind(), 0..=3),
    )
        .prop_map(|(prefix, keep, workers, waiters)| Round {
            prefix,
            keep,
            workers,
            waiters,
        })
}

// ---------------------------------------------------------------------------------------------
// The sequential prefix
// ---------------------------------------------------------------------------------------------

/// The group's count, as the model's type.
fn count(wg: &WaitGroup) -> i64 {
    i64::try_from(wg.count()).expect("the count fits in i64")
}

/// Whether no waiter is registered, read from the public `Debug` output. Between sequential
/// steps nobody waits, so a zero-timeout wait or a cancelled `wait_async` that left its
/// registration behind shows up here (nothing else reveals it until the next release).
fn no_waiter_registered(wg: &WaitGroup) -> bool {
    format!("{wg:?}").contains("waiters: 0")
}

/// One poll of a fresh `wait_async()`; the future is dropped (cancelled) if pending.
fn poll_once(wg: &WaitGroup) -> Poll<()> {
    let mut future = pin!(wg.wait_async());
    future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
}

/// Runs `ops` on the test thread, checking each step against `model`, which it updates.
fn run_prefix(wg: &WaitGroup, model: &mut i64, ops: &[SeqOp]) -> Result<(), TestCaseError> {
    let mut guards: Vec<Guard<'_>> = Vec::new();
    for (step, &op) in ops.iter().enumerate() {
        let before = *model;
        match op {
            SeqOp::TryAdd(d) => {
                let delta = d.resolve(before);
                let expected = model_try_add(before, delta);
                prop_assert_eq!(
                    wg.try_add(delta),
                    expected.map(drop),
                    "step {}: try_add({}) on {}",
                    step,
                    delta,
                    before
                );
                *model = expected.unwrap_or(before);
            }
            SeqOp::Add(d) => {
                let delta = d.resolve(before);
                match model_try_add(before, delta) {
                    Ok(after) => {
                        wg.add(delta);
                        *model = after;
                    }
                    Err(error) => prop_assert_eq!(
                        wg.try_add(delta),
                        Err(error),
                        "step {}: try_add({}) on {}",
                        step,
                        delta,
                        before
                    ),
                }
            }
            SeqOp::Done => {
                if before > 0 {
                    wg.done();
                    *model -= 1;
                } else {
                    prop_assert_eq!(wg.try_add(-1), Err(Error::NegativeCounter), "step {}", step);
                }
            }
            SeqOp::WaitZeroTimeout => prop_assert_eq!(
                wg.wait_timeout(Duration::ZERO),
                before == 0,
                "step {}: wait_timeout(0) on {}",
                step,
                before
            ),
            SeqOp::WaitPastDeadline => prop_assert_eq!(
                wg.wait_deadline(Instant::now()),
                before == 0,
                "step {}: wait_deadline(now) on {}",
                step,
                before
            ),
            SeqOp::Wait => {
                if before == 0 {
                    wg.wait();
                } else {
                    prop_assert!(!wg.wait_timeout(Duration::ZERO), "step {}", step);
                }
            }
            SeqOp::PollAsyncOnce => prop_assert_eq!(
                poll_once(wg).is_ready(),
                before == 0,
                "step {}: wait_async polled on {}",
                step,
                before
            ),
            SeqOp::GuardOpen => {
                if before < MAX {
                    guards.push(wg.guard());
                    *model += 1;
                } else {
                    prop_assert_eq!(
                        wg.try_add(1),
                        Err(Error::CounterOverflow { delta: 1 }),
                        "step {}",
                        step
                    );
                }
            }
            SeqOp::GuardClose => match guards.pop() {
                Some(guard) => drop_guard(wg, model, guard)?,
                None if before < MAX => {
                    let guard = wg.guard();
                    prop_assert_eq!(count(wg), before + 1, "step {}: with a guard", step);
                    drop(guard);
                }
                None => {}
            },
        }
        prop_assert_eq!(count(wg), *model, "step {}: count after {:?}", step, op);
        prop_assert!(
            no_waiter_registered(wg),
            "step {}: a waiter left registered after {:?}: {:?}",
            step,
            op,
            wg
        );
    }
    while let Some(guard) = guards.pop() {
        drop_guard(wg, model, guard)?;
        prop_assert_eq!(count(wg), *model, "count after dropping a guard");
    }
    Ok(())
}

/// Drops a guard of the prefix. Its `done` succeeds while the counter is positive; once other
/// steps took the counter to zero under it, the drop panics with Go's words and changes
/// nothing.
fn drop_guard(wg: &WaitGroup, model: &mut i64, guard: Guard<'_>) -> Result<(), TestCaseError> {
    if *model > 0 {
        drop(guard);
        *model -= 1;
    } else {
        let outcome = catch_unwind(AssertUnwindSafe(|| drop(guard)));
        prop_assert!(
            outcome.is_err(),
            "dropping a guard on a zero counter must panic"
        );
        let text = outcome.err().map(|p| message(&*p)).unwrap_or_default();
        prop_assert!(text.contains("negative WaitGroup counter"), "{}", text);
        prop_assert_eq!(count(wg), 0, "count after the refused done");
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The concurrent phase
// ---------------------------------------------------------------------------------------------

/// What the threads of a round share.
struct Shared<'a> {
    wg: &'a WaitGroup,
    /// Participants (workers, and the test thread if it gives units back) that have reached
    /// their last `done`. Written and read `Relaxed`: only the group orders it.
    finished: AtomicUsize,
    /// How many participants there are.
    participants: usize,
    start: Barrier,
}

/// Runs `f`, turning a panic into a failure message instead of unwinding through a thread
/// that still holds units.
fn no_panic<T>(failures: &mut Vec<String>, what: &str, f: impl FnOnce() -> T) -> Option<T> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(value) => Some(value),
        Err(payload) => {
            failures.push(format!("{what} panicked: {}", message(&*payload)));
            None
        }
    }
}

fn message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(non-string payload)".to_owned())
}

/// A worker: starts holding one unit (added for it by the test thread), runs `ops` without
/// ever letting its own units drop below one, gives everything back, and returns the failures
/// it saw. Never panics.
fn run_worker(shared: &Shared<'_>, ops: &[WorkerOp]) -> Vec<String> {
    let wg = shared.wg;
    let mut failures = Vec::new();
    let mut held: usize = 1;
    let mut guards: Vec<Guard<'_>> = Vec::new();
    shared.start.wait();
    for (step, &op) in ops.iter().enumerate() {
        match op {
            WorkerOp::Add(m) => {
                if no_panic(&mut failures, "add", || wg.add(isize::from(m))).is_some() {
                    held += usize::from(m);
                }
            }
            WorkerOp::Done => {
                if held > 1 && no_panic(&mut failures, "done", || wg.done()).is_some() {
                    held -= 1;
                }
            }
            WorkerOp::AddThenDones(m) => {
                if no_panic(&mut failures, "add", || wg.add(isize::from(m))).is_some() {
                    held += usize::from(m);
                    for _ in 0..m {
                        let seen = wg.count();
                        if seen < held + guards.len() {
                            failures.push(format!(
                                "step {step}: count {seen} below the {} units this worker holds",
                                held + guards.len()
                            ));
                        }
                        if no_panic(&mut failures, "done", || wg.done()).is_some() {
                            held -= 1;
                        }
                    }
                }
            }
            WorkerOp::GuardPair => {
                if let Some(guard) = no_panic(&mut failures, "guard", || wg.guard()) {
                    let seen = wg.count();
                    if seen < held + guards.len() + 1 {
                        failures.push(format!("step {step}: count {seen} with a guard"));
                    }
                    no_panic(&mut failures, "dropping a guard", || drop(guard));
                }
            }
            WorkerOp::GuardHold => {
                if let Some(guard) = no_panic(&mut failures, "guard", || wg.guard()) {
                    guards.push(guard);
                }
            }
            WorkerOp::GuardRelease => {
                if let Some(guard) = guards.pop() {
                    no_panic(&mut failures, "dropping a guard", || drop(guard));
                }
            }
            WorkerOp::TryAdd(m) => match wg.try_add(isize::from(m)) {
                Ok(()) => held += usize::from(m),
                Err(e) => failures.push(format!("step {step}: try_add({m}) = Err({e:?})")),
            },
            WorkerOp::TryGiveBack(k) => {
                if held > 1 {
                    let m = 1 + usize::from(k) % (held - 1);
                    match wg.try_add(-(m as isize)) {
                        Ok(()) => held -= m,
                        Err(e) => failures.push(format!(
                            "step {step}: try_add(-{m}) holding {held} = Err({e:?})"
                        )),
                    }
                }
            }
            WorkerOp::Count => {
                let seen = wg.count();
                if seen < held + guards.len() {
                    failures.push(format!(
                        "step {step}: count {seen} below the {} units this worker holds",
                        held + guards.len()
                    ));
                }
            }
            WorkerOp::Yield => thread::yield_now(),
            WorkerOp::SleepMicros(us) => thread::sleep(Duration::from_micros(u64::from(us))),
        }
    }
    while let Some(guard) = guards.pop() {
        no_panic(&mut failures, "dropping a guard", || drop(guard));
    }
    if held > 1 {
        if let Err(e) = wg.try_add(-((held - 1) as isize)) {
            failures.push(format!("giving back {} units: Err({e:?})", held - 1));
        }
    }
    // Marked before the last `done`: a waiter released by the counter's zero must see it.
    shared.finished.fetch_add(1, Ordering::Relaxed);
    no_panic(&mut failures, "the last done", || wg.done());
    failures
}

/// A waiter: returns once it has seen the counter at zero, and checks that by then every
/// participant had finished.
fn run_waiter(shared: &Shared<'_>, kind: WaiterKind) -> Result<(), String> {
    let wg = shared.wg;
    let all_finished = || {
        let finished = shared.finished.load(Ordering::Relaxed);
        if finished == shared.participants {
            Ok(())
        } else {
            Err(format!(
                "{kind:?} returned with {finished} of {} participants finished",
                shared.participants
            ))
        }
    };
    shared.start.wait();
    match kind {
        WaiterKind::Blocking => wg.wait(),
        WaiterKind::TimeoutLoop(us) => support::wait_until("a timed wait's release", || {
            wg.wait_timeout(Duration::from_micros(u64::from(us)))
        }),
        WaiterKind::DeadlineLoop(us) => support::wait_until("a timed wait's release", || {
            wg.wait_deadline(Instant::now() + Duration::from_micros(u64::from(us)))
        }),
        WaiterKind::Async => futures::executor::block_on(wg.wait_async()),
        WaiterKind::AsyncCancelThenAwait => {
            if poll_once(wg).is_pending() {
                futures::executor::block_on(wg.wait_async());
            }
        }
    }
    all_finished()
}

/// The concurrent phase of a round, started with `keep` units on the counter that the test
/// thread gives back while the workers run. Returns every failure seen.
fn run_concurrent(wg: &WaitGroup, keep: usize, round: &Round) -> Vec<String> {
    let workers = round.workers.len();
    let mut failures = Vec::new();
    if let Err(e) = wg.try_add(workers as isize) {
        return vec![format!(
            "adding {workers} units for the workers: Err({e:?})"
        )];
    }
    let shared = Shared {
        wg,
        finished: AtomicUsize::new(0),
        participants: workers + usize::from(keep > 0),
        start: Barrier::new(1 + workers + round.waiters.len()),
    };
    let shared = &shared;
    thread::scope(|s| {
        let waiters: Vec<_> = round
            .waiters
            .iter()
            .map(|&kind| (kind, s.spawn(move || run_waiter(shared, kind))))
            .collect();
        let workers: Vec<_> = round
            .workers
            .iter()
            .map(|ops| s.spawn(move || run_worker(shared, ops)))
            .collect();
        shared.start.wait();
        // The test thread gives back the prefix's leftover while the others run.
        for left in (0..keep).rev() {
            let seen = wg.count();
            if seen < left + 1 {
                failures.push(format!("count {seen} below the {} units kept", left + 1));
            }
            if left == 0 {
                shared.finished.fetch_add(1, Ordering::Relaxed);
            }
            if let Err(e) = wg.try_add(-1) {
                failures.push(format!("giving back a kept unit: Err({e:?})"));
            }
        }
        for (i, worker) in workers.into_iter().enumerate() {
            match worker.join() {
                Ok(seen) => failures.extend(seen.into_iter().map(|f| format!("worker {i}: {f}"))),
                Err(payload) => {
                    failures.push(format!("worker {i} panicked: {}", message(&*payload)))
                }
            }
        }
        let left = wg.count();
        if left != 0 {
            failures.push(format!(
                "count {left} after every worker finished, expected 0"
            ));
            // Let the waiters go, so that the failure is reported rather than a hang.
            let _ = wg.try_add(-(left as isize));
        }
        for (kind, waiter) in waiters {
            match waiter.join() {
                Ok(Ok(())) => {}
                Ok(Err(f)) => failures.push(f),
                Err(payload) => failures.push(format!("{kind:?} panicked: {}", message(&*payload))),
            }
        }
    });
    failures
}

/// Runs a whole program on one group.
fn run_rounds(rounds: &[Round]) -> Result<(), TestCaseError> {
    let wg = WaitGroup::new();
    for (r, round) in rounds.iter().enumerate() {
        let mut model = 0;
        run_prefix(&wg, &mut model, &round.prefix)
            .map_err(|e| TestCaseError::fail(format!("round {r}, prefix: {e}")))?;
        // Take back what the prefix left beyond `keep`, sequentially.
        let keep = model.min(i64::from(round.keep));
        if model > keep {
            prop_assert_eq!(
                wg.try_add(-((model - keep) as isize)),
                Ok(()),
                "round {}",
                r
            );
        }
        prop_assert_eq!(count(&wg), keep, "round {}", r);
        let failures = run_concurrent(&wg, keep as usize, round);
        prop_assert!(failures.is_empty(), "round {}: {:#?}", r, failures);
        // Back to the model's zero, and ready for the next round.
        prop_assert_eq!(count(&wg), 0, "round {}: count after the round", r);
        prop_assert!(no_waiter_registered(&wg), "round {}: {:?}", r, wg);
        prop_assert!(wg.wait_timeout(Duration::ZERO), "round {}", r);
        prop_assert!(poll_once(&wg).is_ready(), "round {}", r);
        prop_assert_eq!(wg.try_add(1), Ok(()), "round {}: an add after the round", r);
        prop_assert_eq!(wg.try_add(-1), Ok(()), "round {}", r);
    }
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    /// Long sequential programs, valid and invalid deltas mixed: every result, error and count
    /// equals the model's, and the group is never left changed by a refused call.
    #[test]
    fn sequential_adds_dones_waits_and_guards_match_a_plain_counter(
        ops in prop::collection::vec(seq_op(), 0..200),
    ) {
        let wg = WaitGroup::new();
        let mut model = 0;
        run_prefix(&wg, &mut model, &ops)?;
        prop_assert_eq!(count(&wg), model);
    }

    /// Rounds on one reused group: a checked sequential prefix, then workers, the test thread
    /// and waiters of every kind at once; every waiter returns, only after every participant
    /// finished, and the count ends at the model's zero.
    #[test]
    fn reused_group_rounds_release_every_waiter_only_after_every_worker(
        rounds in prop::collection::vec(round(), 1..=6),
    ) {
        run_rounds(&rounds)?;
    }
}
