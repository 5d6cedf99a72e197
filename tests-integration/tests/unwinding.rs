//! A `done` made by a destructor during unwinding (a guard, a task group's ticket) whose
//! release meets a panicking `wake` does not abort the process (issue 20, item 6): the waker's
//! panic is not resumed while the thread is already unwinding.
//!
//! An abort would take the whole test binary down, so each scenario runs in a child process:
//! the test binary re-runs itself, filtered to the one test, with [`CHILD`] set; the child
//! runs the scenario and checks that the original panic came out of it; the parent checks
//! that the child exited normally, not by a signal (SIGABRT).

mod support;

use groupwait::task_group::TaskGroup;
use groupwait::WaitGroup;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::{pin, Pin};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::task::{Context, Wake, Waker};
use std::time::Instant;
use support::{panic_message, PATIENCE};

/// Set in the child process: the scenario to run.
const CHILD: &str = "GROUPWAIT_UNWINDING_SCENARIO";

/// A waker whose `wake` panics.
struct Panics;
impl Wake for Panics {
    fn wake(self: Arc<Self>) {
        panic!("a waker panicked");
    }
}

/// Polls `future` once with a panicking waker; it must pend.
fn pend_with_a_panicking_waker<F: Future>(future: Pin<&mut F>) {
    let waker = Waker::from(Arc::new(Panics));
    assert!(future.poll(&mut Context::from_waker(&waker)).is_pending());
}

/// Runs `unwinding` (which panics with "the task") and checks that exactly that panic came out.
fn assert_the_tasks_panic_comes_out(unwinding: impl FnOnce()) {
    let payload = catch_unwind(AssertUnwindSafe(unwinding)).expect_err("the task panicked");
    assert_eq!(panic_message(&*payload), "the task");
}

/// In the child: `true` (after running `scenario`) if this process is the child for `name`.
/// In the parent: runs the child for `name` and checks that it exited normally.
fn in_child_process(name: &str, scenario: fn()) {
    if std::env::var(CHILD).as_deref() == Ok(name) {
        scenario();
        return;
    }
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD, name)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + PATIENCE;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() >= deadline {
            child.kill().unwrap();
            panic!("the child process for {name} did not finish within {PATIENCE:?}");
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(
            status.signal(),
            None,
            "the child was killed by a signal (6 is SIGABRT: a panic resumed while unwinding):\n{stderr}"
        );
    }
    assert!(status.success(), "the child failed ({status}):\n{stderr}");
    assert!(
        stderr.contains("the task"),
        "the child's scenario did not run:\n{stderr}"
    );
}

#[test]
#[cfg_attr(miri, ignore = "starts a process")]
fn a_guard_dropped_by_a_panic_whose_release_meets_a_panicking_waker_does_not_abort() {
    in_child_process(
        "a_guard_dropped_by_a_panic_whose_release_meets_a_panicking_waker_does_not_abort",
        || {
            let wg = WaitGroup::new();
            let guard = wg.guard();
            let mut wait = pin!(wg.wait_async());
            pend_with_a_panicking_waker(wait.as_mut());
            assert_the_tasks_panic_comes_out(|| {
                let _guard = guard; // its `done` releases the waker, during the unwinding
                panic!("the task");
            });
            // The round ended: the waiter is released and learns of the guard's panic.
            let waker = Waker::from(Arc::new(Panics));
            let outcome = catch_unwind(AssertUnwindSafe(|| {
                let _ = wait.as_mut().poll(&mut Context::from_waker(&waker));
            }));
            assert!(outcome.is_err(), "the waiter re-raises the guard's panic");
        },
    );
}

#[test]
#[cfg_attr(miri, ignore = "starts a process")]
fn a_task_dropped_by_a_panic_whose_cancellation_meets_a_panicking_waker_does_not_abort() {
    in_child_process(
        "a_task_dropped_by_a_panic_whose_cancellation_meets_a_panicking_waker_does_not_abort",
        || {
            let group = TaskGroup::<u8, ()>::new();
            let token = group.token();
            let mut cancelled = pin!(token.cancelled());
            pend_with_a_panicking_waker(cancelled.as_mut());
            let mut task = Box::pin(group.track(std::future::pending()));
            pend_with_a_panicking_waker(task.as_mut()); // started: its drop is `Abandoned`
            assert_the_tasks_panic_comes_out(|| {
                let _task = task; // dropped during the unwinding: the first error cancels
                panic!("the task");
            });
            assert!(group.is_cancelled());
            assert!(group.wait().is_err(), "the abandoned task is the error");
        },
    );
}

#[test]
#[cfg_attr(miri, ignore = "starts a process")]
fn a_task_dropped_by_a_panic_whose_slot_release_meets_a_panicking_waker_does_not_abort() {
    in_child_process(
        "a_task_dropped_by_a_panic_whose_slot_release_meets_a_panicking_waker_does_not_abort",
        || {
            let group = TaskGroup::<u8, ()>::builder().limit(1).keep_going().build();
            let mut task = Box::pin(group.track(std::future::pending()));
            pend_with_a_panicking_waker(task.as_mut()); // started, holding the slot
            let mut adder = pin!(group.track_async(async { Ok(1) }));
            pend_with_a_panicking_waker(adder.as_mut());
            assert_the_tasks_panic_comes_out(|| {
                let _task = task; // dropped during the unwinding: gives the slot back
                panic!("the task");
            });
            assert!(
                group.wait_idle_deadline(Instant::now()),
                "its `done` was made"
            );
        },
    );
}
