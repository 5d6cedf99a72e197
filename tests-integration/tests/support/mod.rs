//! The bounded-wait helpers of the unit tests, shared with the integration tests, and what
//! integration tests can observe of a group and of a thread from outside.

#![allow(dead_code)] // each test target uses a different part

#[path = "../../../groupwait/src/test_support.rs"]
mod test_support;

#[allow(unused_imports)] // each test target uses a different part
pub use test_support::*;

mod panic_message;

#[allow(unused_imports)] // each test target uses a different part
pub use panic_message::panic_message;

use groupwait::WaitGroup;
use std::path::{Path, PathBuf};

/// A multi-thread tokio runtime with two workers and the time driver.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .unwrap()
}

/// The number of registered waiters, read from the group's `Debug` output (the only place the
/// public API shows it).
pub fn waiters(wg: &WaitGroup) -> u64 {
    let text = format!("{wg:?}");
    text.split("waiters: ")
        .nth(1)
        .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no waiter count in {text}"))
}

/// Fails the test (after [`PATIENCE`]) unless `wg` gets exactly `n` registered waiters.
#[track_caller]
pub fn wait_for_waiters(wg: &WaitGroup, n: u64) {
    wait_for("the registered waiters", n, || waiters(wg));
}

/// The calling thread's scheduler state file (`/proc/.../stat`), so that another thread can
/// tell when this one is blocked in the kernel (asleep) rather than running or spinning.
/// `None` where that cannot be read (not Linux, or Miri's isolation): callers then only know
/// that the waiter registered, and the test may exercise the spinning path instead.
pub fn this_thread_state() -> Option<PathBuf> {
    if cfg!(miri) || !cfg!(target_os = "linux") {
        return None;
    }
    // "/proc/thread-self" links to "<pid>/task/<tid>".
    let task = std::fs::read_link("/proc/thread-self").ok()?;
    Some(Path::new("/proc").join(task).join("stat"))
}

/// Whether the thread of `state` (from [`this_thread_state`]) is blocked: state `S` or `D`.
/// Without a state file, `true`: there is nothing more to observe.
pub fn is_blocked(state: Option<&Path>) -> bool {
    let Some(path) = state else { return true };
    let Ok(stat) = std::fs::read_to_string(path) else {
        return false;
    };
    // "<tid> (<name>) <state> ...": the name may hold spaces and parentheses.
    stat.rsplit_once(')')
        .is_some_and(|(_, rest)| rest.trim_start().starts_with(['S', 'D']))
}

/// Fails the test (after [`PATIENCE`]) unless `wg` gets one registered waiter and the thread
/// of `state` blocks: the waiter is past its spin and asleep (when that can be observed).
#[track_caller]
pub fn wait_for_sleeping_waiter(wg: &WaitGroup, state: Option<&Path>) {
    wait_for("(registered waiters, waiter asleep)", (1, true), || {
        (waiters(wg), is_blocked(state))
    });
}

/// Runs `future` on this thread; fails the test if, while it is pending, its waker is not
/// called within [`PATIENCE`]. Unlike an executor's timeout, it never re-polls a future that
/// was not woken, so a lost wake-up fails here even if a re-poll would find the future ready.
#[track_caller]
pub fn block_on_woken<F: std::future::Future>(what: &str, future: F) -> F::Output {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    use std::task::{Context, Poll, Wake, Waker};

    struct Unpark {
        thread: std::thread::Thread,
        woken: AtomicBool,
    }
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.wake_by_ref();
        }
        fn wake_by_ref(self: &Arc<Self>) {
            self.woken.store(true, Ordering::Release);
            self.thread.unpark();
        }
    }

    let unpark = Arc::new(Unpark {
        thread: std::thread::current(),
        woken: AtomicBool::new(false),
    });
    let waker = Waker::from(Arc::clone(&unpark));
    let mut cx = Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        unpark.woken.store(false, Ordering::Relaxed);
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
        let deadline = std::time::Instant::now() + PATIENCE;
        while !unpark.woken.load(Ordering::Acquire) {
            let now = std::time::Instant::now();
            assert!(
                now < deadline,
                "not woken within {PATIENCE:?} while waiting for: {what}"
            );
            std::thread::park_timeout(deadline - now);
        }
    }
}
