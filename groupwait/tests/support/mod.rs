//! The bounded-wait helpers of the unit tests, shared with the integration tests, and what
//! integration tests can observe of a group and of a thread from outside.

#![allow(dead_code)] // each test target uses a different part

#[path = "../../src/test_support.rs"]
mod test_support;

#[allow(unused_imports)] // each test target uses a different part
pub use test_support::*;

use groupwait::WaitGroup;
use std::path::{Path, PathBuf};

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
