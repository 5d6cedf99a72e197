//! What the loom models (`tests/loom.rs`, `tests/loom_drain.rs`, `tests/loom_task_group.rs`,
//! `tests/loom_write.rs`)
//! share: the model runner with its preemption bound, the `Slot` instrument, a worker that
//! writes a slot then calls `done`, `assert_idle`, the `Parker` waker and `block_on` built on it, and the text
//! of a panic payload. Included by each of them with `mod loom_support;`, so it is compiled
//! only under `--cfg groupwait_loom`, like they are.

#![allow(dead_code)] // each loom target uses a different part

use groupwait::WaitGroup;
use loom::cell::UnsafeCell;
use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::sync::Arc;
use loom::thread;
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

/// Every model is explored exhaustively under this bound on preemptions.
pub const PREEMPTION_BOUND: usize = 3;

/// A timeout long enough never to fire for real: under loom a timed wait gives up whenever it
/// would sleep, whatever its deadline.
pub const TIMEOUT: Duration = Duration::from_secs(3600);

/// Runs `model` in every interleaving loom finds under [`PREEMPTION_BOUND`], with nothing that
/// could cut the exploration short, and returns how often each outcome label was seen.
pub fn explore(
    name: &str,
    model: impl Fn() -> &'static str + Sync + Send + 'static,
) -> BTreeMap<&'static str, usize> {
    let outcomes = std::sync::Arc::new(std::sync::Mutex::new(BTreeMap::new()));
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(PREEMPTION_BOUND);
    builder.max_permutations = None;
    builder.max_duration = None;
    builder.checkpoint_file = None;
    let start = Instant::now();
    {
        let outcomes = std::sync::Arc::clone(&outcomes);
        builder.check(move || {
            let outcome = model();
            *outcomes.lock().unwrap().entry(outcome).or_insert(0) += 1;
        });
    }
    let outcomes = outcomes.lock().unwrap().clone();
    eprintln!(
        "loom model {name}: {} executions in {:.2?} (preemption bound {PREEMPTION_BOUND}): {outcomes:?}",
        outcomes.values().sum::<usize>(),
        start.elapsed(),
    );
    outcomes
}

/// A task's result: written by one thread before its `done`, read by the waiter after `wait`.
/// The loom `UnsafeCell` is used only to tell loom about the accesses (it reports a write and
/// a read that are not ordered by happens-before as a data race; no pointer is dereferenced,
/// the crate denies `unsafe`), the value travels in a `Relaxed` atomic, so a missing edge also
/// shows up as a stale read.
pub struct Slot {
    access: UnsafeCell<u32>,
    value: AtomicUsize,
}

impl Slot {
    pub fn new() -> Self {
        Slot {
            access: UnsafeCell::new(0),
            value: AtomicUsize::new(0),
        }
    }

    pub fn write(&self) {
        self.access.with_mut(|_| ());
        self.value.store(1, Ordering::Relaxed);
    }

    #[track_caller]
    pub fn read(&self) {
        self.access.with(|_| ());
        assert_eq!(
            self.value.load(Ordering::Relaxed),
            1,
            "the task's write is not visible"
        );
    }
}

/// Asserts that the group is idle: counter zero, no waiter registered, no panic pending.
#[track_caller]
pub fn assert_idle(wg: &WaitGroup) {
    let text = format!("{wg:?}");
    assert!(
        text.contains("count: 0")
            && text.contains("waiters: 0")
            && text.contains("panicked: false"),
        "{text}"
    );
}

/// Starts a worker thread that writes `slot`, then calls `done` on `wg`.
pub fn spawn_worker(wg: &Arc<WaitGroup>, slot: &Arc<Slot>) -> thread::JoinHandle<()> {
    let (wg, slot) = (Arc::clone(wg), Arc::clone(slot));
    thread::spawn(move || {
        slot.write();
        wg.done();
    })
}

/// A waker for a thread that polls a future by hand: `wake` sets `woken` under the lock and
/// notifies; the polling thread sleeps on the condvar until it is set. (A spin on an atomic
/// flag with `yield_now` is not loom-friendly: loom keeps only the last 7 stores of an atomic.)
pub struct Parker {
    woken: loom::sync::Mutex<bool>,
    wakeup: loom::sync::Condvar,
}

impl Parker {
    pub fn new() -> Self {
        Parker {
            woken: loom::sync::Mutex::new(false),
            wakeup: loom::sync::Condvar::new(),
        }
    }

    /// Sleeps until woken, and consumes the wake-up.
    pub fn park(&self) {
        let mut woken = self.woken.lock().unwrap();
        while !*woken {
            woken = self.wakeup.wait(woken).unwrap();
        }
        *woken = false;
    }
}

impl Wake for Parker {
    fn wake(self: std::sync::Arc<Self>) {
        *self.woken.lock().unwrap() = true;
        self.wakeup.notify_one();
    }
}

/// Polls `fut` to completion on this loom thread, sleeping on a [`Parker`] between polls.
pub fn block_on<F: Future>(fut: F) -> F::Output {
    let parker = std::sync::Arc::new(Parker::new());
    let waker = Waker::from(std::sync::Arc::clone(&parker));
    let mut cx = Context::from_waker(&waker);
    let mut fut = pin!(fut);
    loop {
        if let Poll::Ready(out) = fut.as_mut().poll(&mut cx) {
            return out;
        }
        parker.park();
    }
}

#[path = "../support/panic_message.rs"]
mod panic_message;

#[allow(unused_imports)] // only `tests/loom.rs` uses it
pub use panic_message::panic_message;
