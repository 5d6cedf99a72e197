//! Issue 10, item 4: a `go_scoped` task that panics in a scope that never calls `wait` makes
//! the scope panic, as a plain `Scope::spawn` would, instead of returning as if all went well.

mod support;

use groupwait::{TaskKind, WaitGroup};
use std::panic::{catch_unwind, AssertUnwindSafe};
use support::panic_message;

#[test]
fn a_scope_that_forgets_to_wait_panics_like_a_plain_spawn() {
    let wg = WaitGroup::new();
    let plain = catch_unwind(AssertUnwindSafe(|| {
        std::thread::scope(|s| {
            s.spawn(|| panic!("plain"));
        });
    }))
    .unwrap_err();
    let counted = catch_unwind(AssertUnwindSafe(|| {
        std::thread::scope(|s| {
            wg.go_scoped(s, || panic!("counted"));
        });
    }))
    .unwrap_err();
    // The same failure as the plain spawn's.
    assert_eq!(panic_message(&*counted), panic_message(&*plain));
    // The payload itself is still with the group, for its waiter.
    let mut report = wg.wait_outcome().unwrap_err();
    assert_eq!(report.kind(), TaskKind::GoScoped);
    assert_eq!(panic_message(&*report.take_payload().unwrap()), "counted");
}

#[test]
fn a_scope_that_waits_panics_with_the_original_payload() {
    let wg = WaitGroup::new();
    let caught = catch_unwind(AssertUnwindSafe(|| {
        std::thread::scope(|s| {
            wg.go_scoped(s, || std::panic::panic_any(99_u64));
            wg.wait();
        });
    }))
    .unwrap_err();
    assert_eq!(caught.downcast_ref::<u64>(), Some(&99));
}

#[test]
fn a_joined_handle_shows_the_failure_and_marks_it_handled() {
    let wg = WaitGroup::new();
    let outcome = std::thread::scope(|s| {
        let handle = wg.go_scoped(s, || panic!("joined"));
        let own = handle.join().unwrap_err();
        assert!(panic_message(&*own).contains("go_scoped task panicked"));
        wg.wait_outcome()
    });
    assert_eq!(outcome.unwrap_err().message(), Some("joined"));
}

#[test]
fn a_scope_whose_tasks_all_succeed_returns_normally() {
    let wg = WaitGroup::new();
    let sum = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4).map(|_| wg.go_scoped(s, || {})).collect();
        wg.wait();
        handles
            .into_iter()
            .map(|h| h.join())
            .filter(Result::is_ok)
            .count()
    });
    assert_eq!(sum, 4);
}

#[test]
fn the_failed_thread_gave_its_unit_back_before_failing() {
    // The waiter inside the scope is released by the panicking task's `done`, not held up by
    // the thread's own failure.
    let wg = WaitGroup::new();
    let _ = catch_unwind(AssertUnwindSafe(|| {
        std::thread::scope(|s| {
            wg.go_scoped(s, || panic!("released first"));
            assert!(wg.wait_outcome().is_err());
            assert_eq!(wg.count(), 0);
        });
    }));
}

#[test]
#[cfg_attr(miri, ignore = "tokio under Miri is slow")]
fn on_tokio_a_tracked_task_nobody_waits_for_still_fails_its_join_handle() {
    // The async counterpart: there is no scope, but the executor sees the task fail.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let wg = std::sync::Arc::new(WaitGroup::new());
    let task = runtime.spawn(wg.track_owned(async { panic!("unwaited") }));
    assert!(runtime.block_on(task).unwrap_err().is_panic());
    assert_eq!(wg.count(), 0);
    assert_eq!(wg.wait_outcome().unwrap_err().message(), Some("unwaited"));
}
