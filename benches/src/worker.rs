//! A thread that is already running, waiting for a signal: the other side of a hand-off.

use crate::threads::{idle_pause, pin_to_core};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};

/// Value of the "go" counter that tells the worker to exit.
const STOP: u64 = u64::MAX;

/// A worker thread that is already running, polling a "go" counter (with [`idle_pause`]);
/// each time [`signal`](Self::signal) moves the counter it calls `on_signal` once, with the
/// shared value and the round's number (1, 2, ...). Pinned to `core`; stopped and joined on
/// drop.
pub struct PollingWorker<T: Send + Sync + 'static> {
    shared: Arc<(AtomicU64, T)>,
    round: u64,
    thread: Option<JoinHandle<()>>,
}

impl<T: Send + Sync + 'static> PollingWorker<T> {
    /// Starts the worker and returns once it runs on its core.
    pub fn spawn(core: usize, value: T, on_signal: impl Fn(&T, u64) + Send + 'static) -> Self {
        let shared = Arc::new((AtomicU64::new(0), value));
        let running = Arc::new(AtomicU64::new(0));
        let thread = {
            let shared = Arc::clone(&shared);
            let running = Arc::clone(&running);
            thread::spawn(move || {
                pin_to_core(core);
                running.store(1, Ordering::Release);
                let mut seen = 0;
                let mut idle = 0;
                loop {
                    // Acquire: pairs with `signal`'s Release, so whatever the signalling
                    // thread did before (the round's `add(1)`, a group put in a slot) is
                    // visible to `on_signal`.
                    let now = shared.0.load(Ordering::Acquire);
                    if now == STOP {
                        break;
                    }
                    if now == seen {
                        idle_pause(&mut idle);
                    } else {
                        seen = now;
                        idle = 0;
                        on_signal(&shared.1, now);
                    }
                }
            })
        };
        // Return only once the worker runs on its core: a new thread can wait a whole time
        // slice for its first turn on a busy machine, and that must not be timed.
        // Yield meanwhile: the new thread starts on this thread's core (it inherits the
        // affinity) and moves to its own only once it runs.
        while running.load(Ordering::Acquire) == 0 {
            thread::yield_now();
        }
        PollingWorker {
            shared,
            round: 0,
            thread: Some(thread),
        }
    }

    /// Starts the next round; returns its number.
    #[inline]
    pub fn signal(&mut self) -> u64 {
        self.round += 1;
        self.shared.0.store(self.round, Ordering::Release);
        self.round
    }

    /// The value shared with the worker.
    #[inline]
    pub fn value(&self) -> &T {
        &self.shared.1
    }
}

impl<T: Send + Sync + 'static> Drop for PollingWorker<T> {
    fn drop(&mut self) {
        self.shared.0.store(STOP, Ordering::Release);
        if let Some(t) = self.thread.take() {
            t.join().expect("the worker does not panic");
        }
    }
}
