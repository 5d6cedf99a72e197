//! Panics as values: reported by the panic hook where they happen, carried to the waiter as
//! `TaskError::Panicked`, cancelling the rest, re-raised only on request. One test function:
//! the panic hook is global to the process.

mod support;

use groupwait::task_group::{Cause, TaskError, TaskGroup};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex};
use std::thread::ThreadId;

#[test]
fn panics_are_reported_where_they_happen_and_carried_as_values() {
    // Records the thread on which the hook ran and the message it saw.
    let reports: Arc<Mutex<Vec<(ThreadId, String)>>> = Arc::default();
    let sink = Arc::clone(&reports);
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        sink.lock()
            .unwrap()
            .push((std::thread::current().id(), message));
    }));
    let result = catch_unwind(AssertUnwindSafe(|| {
        thread_task_panic(&reports);
        future_task_panic(&reports);
        resume_if_panicked_re_raises_the_original_payload();
    }));
    std::panic::set_hook(previous);
    if let Err(payload) = result {
        std::panic::resume_unwind(payload);
    }
}

/// A thread task panics: the hook runs on that thread, the payload comes back as a value,
/// the group is cancelled with the message as its cause, and the waiter does not panic.
fn thread_task_panic(reports: &Mutex<Vec<(ThreadId, String)>>) {
    reports.lock().unwrap().clear();
    let group = TaskGroup::<u8, ()>::new();
    let token = group.token();
    group.spawn(move || {
        support::wait_until("the cancellation", || token.is_cancelled());
        Ok(1)
    });
    group.spawn(|| panic!("thread boom"));
    let error = group.wait().unwrap_err();
    assert_eq!(error.panic_message(), Some("thread boom"));
    assert!(matches!(error, TaskError::Panicked(_)));
    assert_eq!(
        group.token().cause(),
        Some(Cause::Panicked {
            task: 1,
            message: Some("thread boom".into())
        })
    );
    let reports = reports.lock().unwrap();
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert_eq!(reports[0].1, "thread boom");
    assert_ne!(
        reports[0].0,
        std::thread::current().id(),
        "reported on the task's thread"
    );
}

/// A future task panics while polled on a tokio runtime thread: same outcome, and the
/// executor sees a normal completion (the join handle is `Ok`).
fn future_task_panic(reports: &Mutex<Vec<(ThreadId, String)>>) {
    reports.lock().unwrap().clear();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    runtime.block_on(async {
        let group = TaskGroup::<u8, String>::new();
        let token = group.token();
        let started = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let raise = std::sync::Arc::clone(&started);
        let waiting = tokio::spawn(group.track(async move {
            raise.store(true, std::sync::atomic::Ordering::SeqCst);
            token.cancelled().await;
            Ok(1)
        }));
        let panicking = tokio::spawn(group.track(async move {
            // The first task must have started, or the cancellation would skip it.
            while !started.load(std::sync::atomic::Ordering::SeqCst) {
                tokio::task::yield_now().await;
            }
            panic!("future boom")
        }));
        let all = group.wait_all_async().await;
        assert!(waiting.await.is_ok());
        assert!(
            panicking.await.is_ok(),
            "the executor sees a normal completion"
        );
        assert!(matches!(all[0], Ok(1)), "{all:?}");
        assert_eq!(
            all[1].as_ref().unwrap_err().panic_message(),
            Some("future boom")
        );
    });
    let reports = reports.lock().unwrap();
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert_eq!(reports[0].1, "future boom");
}

/// Nothing is re-raised unless asked; asked, the original payload is re-raised.
fn resume_if_panicked_re_raises_the_original_payload() {
    let group = TaskGroup::<(), ()>::new();
    group.spawn(|| std::panic::panic_any(42_u32));
    let error = group.wait().unwrap_err();
    assert_eq!(error.panic_message(), None, "not a string payload");
    let raised = catch_unwind(AssertUnwindSafe(|| error.resume_if_panicked())).unwrap_err();
    assert_eq!(raised.downcast_ref::<u32>(), Some(&42));
}
