//! Issue 22, item 4: what the messages of a failed task say, and where they point.
//!
//! A tracked future or a `go_scoped` thread that panics hands its payload to the group and
//! fails with a fixed message of its own; that message must name both ways the waiter gets the
//! payload (`wait` re-raises it, the outcome waits return it), not only the first. A guard's
//! panic report must not repeat the crate's prefix.

mod support;

use groupwait::{TaskKind, WaitGroup};
use std::sync::Arc;
use support::{panic_message, PATIENCE};

/// The fixed message a failed task's own handle reports must not send the reader to `wait`
/// alone: here the waiter uses an outcome wait, and it gets the payload.
fn assert_points_to_both_waits(message: &str) {
    assert!(message.starts_with("groupwait: "), "{message}");
    assert!(
        !message.contains("re-raised by the WaitGroup's wait"),
        "the message says only `wait` gets the payload: {message}"
    );
    assert!(
        message.contains("`wait` re-raises it") && message.contains("wait_outcome"),
        "the message does not name both waits: {message}"
    );
}

#[test]
fn tracked_task_panic_names_the_outcome_waits() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    runtime.block_on(async {
        let wg = Arc::new(WaitGroup::new());
        let task = tokio::spawn(wg.track_owned(async {
            tokio::task::yield_now().await;
            panic!("the tracked job failed");
        }));
        let joined = tokio::time::timeout(PATIENCE, task)
            .await
            .expect("the tracked task did not end within PATIENCE");
        let error = joined.expect_err("the tracked task panicked");
        assert!(error.is_panic(), "{error}");
        assert_points_to_both_waits(&panic_message(&*error.into_panic()));

        let mut report = tokio::time::timeout(PATIENCE, wg.wait_outcome_async())
            .await
            .expect("wait_outcome_async did not return within PATIENCE")
            .expect_err("the round had a panic");
        assert_eq!(report.kind(), TaskKind::Track);
        let payload = report.take_payload().expect("this waiter gets the payload");
        assert_eq!(panic_message(&*payload), "the tracked job failed");
    });
}

#[test]
fn go_scoped_panic_names_the_outcome_waits() {
    let wg = WaitGroup::new();
    std::thread::scope(|s| {
        let handle = wg.go_scoped(s, || panic!("the scoped job failed"));
        let payload = handle.join().expect_err("the scoped task panicked");
        assert_points_to_both_waits(&panic_message(&*payload));
        let report = wg
            .wait_timeout_outcome(PATIENCE)
            .expect_err("the round had a panic");
        assert_eq!(report.kind(), TaskKind::GoScoped);
    });
}

#[test]
fn guard_panic_report_says_groupwait_once() {
    let wg = Arc::new(WaitGroup::new());
    let guard = wg.guard_owned();
    let job = std::thread::spawn(move || {
        let _guard = guard;
        panic!("the guarded job failed");
    });
    let report = wg
        .wait_timeout_outcome(PATIENCE)
        .expect_err("the round had a panic");
    assert!(job.join().is_err());
    assert_eq!(report.kind(), TaskKind::Guard);
    let text = report.to_string();
    assert_eq!(text.matches("groupwait:").count(), 1, "{text}");
    assert!(text.starts_with("groupwait: 1 task"), "{text}");
    assert!(text.contains("a task holding a guard"), "{text}");
    // The message accessor still gives the guard's fixed payload, as `wait` re-raises it.
    assert!(
        report
            .message()
            .is_some_and(|m| m.contains("guard panicked")),
        "{report:?}"
    );
}
