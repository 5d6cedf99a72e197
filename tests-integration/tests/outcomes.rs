//! Issue 10, item 1: a round's panic reaches every waiter of the round, and the outcome waits
//! (blocking, timed, async) return it as a value instead of panicking.

mod support;

use groupwait::{Panicked, TaskKind, WaitGroup};
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::{panic_message, runtime, wait_until, PATIENCE};

const fn assert_error<T: std::error::Error + Send + Sync + 'static>() {}
const _: () = assert_error::<Panicked>();

/// How many waiters `wg` has registered, from its `Debug`.
fn waiters(wg: &WaitGroup) -> usize {
    let text = format!("{wg:?}");
    let from = text.find("waiters: ").unwrap() + "waiters: ".len();
    text[from..]
        .split(|c: char| !c.is_ascii_digit())
        .next()
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn two_registered_waiters_both_learn_of_the_panic_and_one_gets_the_payload() {
    let wg = WaitGroup::new();
    let guard = wg.guard(); // holds the round open until both waiters sleep
    std::thread::scope(|s| {
        let waiters_: Vec<_> = (0..2).map(|_| s.spawn(|| wg.wait_outcome())).collect();
        wait_until("both waiters registered", || waiters(&wg) == 2);
        let task = wg.go_scoped(s, || std::panic::panic_any(5_i32));
        assert!(task.join().is_err()); // the thread fails too (item 4); joined: handled
        drop(guard);
        let mut reports: Vec<Panicked> = waiters_
            .into_iter()
            .map(|w| w.join().unwrap().unwrap_err())
            .collect();
        assert!(reports.iter().all(|r| r.count() == 1));
        assert!(reports.iter().all(|r| r.kind() == TaskKind::GoScoped));
        let with_payload: Vec<_> = reports
            .iter_mut()
            .filter_map(|r| r.take_payload())
            .collect();
        assert_eq!(with_payload.len(), 1);
        assert_eq!(with_payload[0].downcast_ref::<i32>(), Some(&5));
        assert_eq!(reports.iter().filter(|r| r.handed_elsewhere()).count(), 1);
    });
}

#[test]
fn the_second_re_raising_waiter_panics_saying_where_the_payload_went() {
    let wg = WaitGroup::new();
    let guard = wg.guard();
    std::thread::scope(|s| {
        let raise = || catch_unwind(AssertUnwindSafe(|| wg.wait())).map_err(|p| panic_message(&*p));
        let a = s.spawn(raise);
        let b = s.spawn(raise);
        wait_until("both waiters registered", || waiters(&wg) == 2);
        wg.go_scoped(s, || panic!("handler failed"))
            .join()
            .unwrap_err();
        drop(guard);
        let mut messages = [
            a.join().unwrap().unwrap_err(),
            b.join().unwrap().unwrap_err(),
        ];
        messages.sort();
        assert_eq!(messages[1], "handler failed");
        assert!(
            messages[0].contains("1 task of the WaitGroup panicked")
                && messages[0].contains("handler failed")
                && messages[0].contains("handed to another waiter"),
            "{}",
            messages[0]
        );
    });
}

#[test]
fn the_report_counts_the_panics_and_names_the_first_kind() {
    let wg = Arc::new(WaitGroup::new());
    wg.go(|| panic!("first")).join().unwrap();
    wg.go(|| panic!("second")).join().unwrap();
    wg.go(|| {}).join().unwrap();
    let report = wg.wait_outcome().unwrap_err();
    assert_eq!(report.count(), 2);
    assert_eq!(report.kind(), TaskKind::Go);
    assert_eq!(report.message(), Some("first"));
    let text = report.to_string();
    assert!(
        text.contains("2 tasks") && text.contains("`go` thread"),
        "{text}"
    );
    assert_eq!(
        report.into_payload().unwrap().downcast_ref(),
        Some(&"first")
    );
}

#[test]
fn each_task_kind_is_named() {
    static GROUP: WaitGroup = WaitGroup::new();
    let kind = |start: &dyn Fn()| {
        start();
        let kind = GROUP.wait_outcome().unwrap_err().kind();
        drop(GROUP.guard()); // the next round starts clean
        assert!(GROUP.wait_outcome().is_ok());
        kind
    };
    assert_eq!(
        kind(&|| GROUP.go_static(|| panic!("go")).join().unwrap()),
        TaskKind::Go
    );
    assert_eq!(
        kind(&|| {
            std::thread::scope(|s| GROUP.go_scoped(s, || panic!("scoped")).join().unwrap_err());
        }),
        TaskKind::GoScoped
    );
    assert_eq!(
        kind(&|| {
            let tracked = GROUP.track(async { panic!("tracked") });
            catch_unwind(AssertUnwindSafe(|| futures::executor::block_on(tracked))).unwrap_err();
        }),
        TaskKind::Track
    );
    assert_eq!(
        kind(&|| {
            let guard = GROUP.guard_static();
            std::thread::spawn(move || {
                let _guard = guard;
                panic!("guarded");
            })
            .join()
            .unwrap_err();
        }),
        TaskKind::Guard
    );
}

#[test]
fn a_tracked_future_dropped_by_an_unwinding_counts_as_a_failure() {
    // Unpolled, then dropped while its holder panics (its own future never ran): as a guard.
    let wg = Arc::new(WaitGroup::new());
    let owned = wg.track_owned(std::future::pending::<()>());
    let borrowed = wg.track(std::future::pending::<()>());
    assert_eq!(wg.count(), 2);
    catch_unwind(AssertUnwindSafe(move || {
        let _held = (owned, borrowed);
        panic!("the holder");
    }))
    .unwrap_err();
    assert_eq!(wg.count(), 0);
    let report = wg.wait_outcome().unwrap_err();
    assert_eq!(report.kind(), TaskKind::Guard);
    assert_eq!(report.count(), 2);
    // While nothing unwinds, a drop is a plain `done`.
    drop(wg.guard());
    drop(wg.track_owned(std::future::pending::<()>()));
    assert!(wg.wait_outcome().is_ok());
}

#[test]
fn timed_outcome_waits_tell_a_timeout_from_a_finish_and_from_a_panic() {
    let wg = WaitGroup::new();
    let guard = wg.guard();
    assert_eq!(
        wg.wait_timeout_outcome(Duration::from_millis(5)).ok(),
        Some(false)
    );
    let deadline = Instant::now() + Duration::from_millis(5);
    assert_eq!(wg.wait_deadline_outcome(deadline).ok(), Some(false));
    assert!(Instant::now() >= deadline);
    std::thread::scope(|s| {
        let waiter = s.spawn(|| wg.wait_timeout_outcome(PATIENCE));
        wait_until("the timed waiter registered", || waiters(&wg) == 1);
        s.spawn(move || {
            let _guard = guard;
            panic!("timed round");
        })
        .join()
        .unwrap_err();
        let report = waiter.join().unwrap().unwrap_err();
        assert_eq!(report.kind(), TaskKind::Guard);
        assert!(!report.handed_elsewhere());
    });
    // The round's later waiters, timed or not, are told too.
    let later = wg.wait_deadline_outcome(Instant::now()).unwrap_err();
    assert!(later.handed_elsewhere());
    // A clean round.
    drop(wg.guard());
    assert_eq!(wg.wait_timeout_outcome(Duration::ZERO).ok(), Some(true));
}

#[test]
fn a_payload_nobody_took_is_kept_into_the_next_round_and_then_cleared() {
    let wg = Arc::new(WaitGroup::new());
    wg.go(|| panic!("round one")).join().unwrap();
    // Round two starts before anyone waited: the payload is kept for its waiter.
    wg.go(|| {}).join().unwrap();
    let mut report = wg.wait_outcome().unwrap_err();
    assert_eq!(panic_message(&*report.take_payload().unwrap()), "round one");
    // Round three: delivered, so cleared by its `add`.
    wg.go(|| {}).join().unwrap();
    assert!(wg.wait_outcome().is_ok());
    wg.wait();
}

#[test]
fn the_outcome_wait_panics_only_on_misuse() {
    let wg = WaitGroup::new();
    wg.add(1);
    std::thread::scope(|s| {
        let waiter = s.spawn(|| catch_unwind(AssertUnwindSafe(|| wg.wait_outcome())));
        wait_until("the waiter registered", || waiters(&wg) == 1);
        // Starting a next round the instant this one ends, before the waiter returned, is
        // Go's misuse; whichever way the race goes, nothing hangs and no report is invented.
        wg.done();
        let _ = wg.try_add(1);
        match waiter.join().unwrap() {
            Ok(outcome) => assert!(outcome.is_ok()),
            Err(payload) => {
                assert!(panic_message(&*payload).contains("reused before previous Wait"))
            }
        }
    });
}

// ---- async ------------------------------------------------------------------------------

/// A toy server: handlers run under `track_owned`; one of them panics. Its shutdown code
/// waits for the handlers with `wait_outcome_async` and reports the failure as a value,
/// instead of going down with it (the first scenario).
#[test]
#[cfg_attr(miri, ignore = "tokio's multi-thread runtime is too slow under Miri")]
fn a_server_whose_handler_panics_shuts_down_cleanly_and_is_told() {
    runtime().block_on(async {
        let handlers = Arc::new(WaitGroup::new());
        let mut joins = Vec::new();
        for request in 0..20_u32 {
            joins.push(tokio::spawn(handlers.track_owned(async move {
                tokio::task::yield_now().await;
                assert!(request != 7, "request {request}: bad input");
                request
            })));
        }
        // Shutdown: stop accepting (no more spawns), then wait for the handlers.
        let outcome = tokio::time::timeout(PATIENCE, handlers.wait_outcome_async())
            .await
            .expect("the handlers finished");
        let report = outcome.unwrap_err();
        assert_eq!(report.count(), 1);
        assert_eq!(report.kind(), TaskKind::Track);
        assert_eq!(report.message(), Some("request 7: bad input"));
        // The executor saw the failed handler too; the others returned their results.
        let mut failed = 0;
        for join in joins {
            if join.await.is_err() {
                failed += 1;
            }
        }
        assert_eq!(failed, 1);
    });
}

#[test]
#[cfg_attr(miri, ignore = "tokio's multi-thread runtime is too slow under Miri")]
fn async_and_blocking_waiters_of_one_round_all_learn_of_it() {
    let rt = runtime();
    let wg = Arc::new(WaitGroup::new());
    let gate = wg.guard_owned();
    let async_waiters: Vec<_> = (0..3)
        .map(|_| {
            let wg = Arc::clone(&wg);
            rt.spawn(async move { wg.wait_outcome_async().await })
        })
        .collect();
    let blocking = {
        let wg = Arc::clone(&wg);
        std::thread::spawn(move || wg.wait_outcome())
    };
    wait_until("all four waiters registered", || waiters(&wg) == 4);
    rt.block_on(async {
        let failed = tokio::spawn(wg.track_owned(async { panic!("async job") }));
        assert!(failed.await.unwrap_err().is_panic());
    });
    drop(gate);
    let mut reports = vec![blocking.join().unwrap().unwrap_err()];
    for waiter in async_waiters {
        reports.push(rt.block_on(waiter).unwrap().unwrap_err());
    }
    assert_eq!(reports.iter().filter(|r| !r.handed_elsewhere()).count(), 1);
    assert!(reports
        .iter()
        .all(|r| r.count() == 1 && r.message() == Some("async job")));
}

#[test]
fn a_dropped_pending_outcome_future_takes_nothing_from_the_others() {
    let wg = WaitGroup::new();
    let guard = wg.guard();
    {
        let mut pending = Box::pin(wg.wait_outcome_async());
        let waker = futures::task::noop_waker();
        let mut cx = std::task::Context::from_waker(&waker);
        assert!(pending.as_mut().poll(&mut cx).is_pending());
        assert_eq!(waiters(&wg), 1);
    }
    assert_eq!(waiters(&wg), 0);
    std::thread::scope(|s| {
        s.spawn(move || {
            let _guard = guard;
            panic!("kept for the next waiter");
        })
        .join()
        .unwrap_err();
    });
    let mut report = futures::executor::block_on(wg.wait_outcome_async()).unwrap_err();
    assert!(report.take_payload().is_some());
}

#[test]
fn an_outcome_future_on_an_idle_group_is_ready_at_once_and_a_re_raising_one_still_raises() {
    let wg = Arc::new(WaitGroup::new());
    assert!(futures::executor::block_on(wg.wait_outcome_async()).is_ok());
    wg.go(|| panic!("raised")).join().unwrap();
    // The plain `Wait` future still re-raises (first waiter: the payload)...
    let caught = catch_unwind(AssertUnwindSafe(|| {
        futures::executor::block_on(wg.wait_async());
    }))
    .unwrap_err();
    assert_eq!(panic_message(&*caught), "raised");
    // ...and the outcome future of the same round is told, without raising.
    let report = futures::executor::block_on(wg.wait_outcome_async()).unwrap_err();
    assert!(report.handed_elsewhere());
}

#[test]
fn panicked_converts_into_boxed_errors() {
    fn shutdown(wg: &WaitGroup) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        wg.wait_outcome()?;
        Ok(())
    }
    let wg = Arc::new(WaitGroup::new());
    assert!(shutdown(&wg).is_ok());
    wg.go(|| panic!("io error")).join().unwrap();
    let error = shutdown(&wg).unwrap_err();
    assert!(error.to_string().contains("io error"));
    assert!(error.downcast_ref::<Panicked>().is_some());
}

// ---- released futures polled late (issue 20, item 7) ---------------------------------------

/// A future registered in a round that ends with a panic (its payload taken by a blocking
/// waiter), released, and not polled again until `later` has run.
fn released_by_a_panicked_round<F: Future>(
    wg: &Arc<WaitGroup>,
    future: F,
) -> impl Future<Output = F::Output> {
    let mut future = Box::pin(future);
    let waker = std::task::Waker::noop();
    wg.add(1);
    assert!(future
        .as_mut()
        .poll(&mut std::task::Context::from_waker(waker))
        .is_pending());
    assert!(wg.go(|| panic!("round one")).join().is_ok());
    wg.done(); // the release
    let mut taken = wg.wait_outcome().unwrap_err();
    assert!(
        taken.take_payload().is_some(),
        "a blocking waiter took the payload"
    );
    future
}

/// Polls `future` once; it must be ready.
fn poll_ready<F: Future + Unpin>(mut future: F) -> F::Output {
    match std::pin::Pin::new(&mut future)
        .poll(&mut std::task::Context::from_waker(std::task::Waker::noop()))
    {
        std::task::Poll::Ready(output) => output,
        std::task::Poll::Pending => panic!("a released future pends"),
    }
}

#[test]
fn a_released_outcome_future_polled_after_the_next_round_ended_reports_its_round() {
    let wg = Arc::new(WaitGroup::new());
    let late = released_by_a_panicked_round(&wg, wg.wait_outcome_async());
    // The next round: its `add` removes the delivered report; it ends cleanly.
    assert!(wg.go(|| {}).join().is_ok());
    assert!(wg.wait_outcome().is_ok(), "the next round had no panic");
    let report = poll_ready(Box::pin(late)).expect_err("its own round panicked");
    assert_eq!(report.message(), Some("round one"));
    assert!(report.handed_elsewhere());
    assert_eq!(report.kind(), TaskKind::Go);
}

#[test]
fn a_released_outcome_future_polled_during_the_next_round_reports_its_round() {
    let wg = Arc::new(WaitGroup::new());
    let late = released_by_a_panicked_round(&wg, wg.wait_outcome_async());
    wg.add(1); // the next round is running
    let report = poll_ready(Box::pin(late)).expect_err("its own round panicked, no reuse panic");
    assert_eq!(report.message(), Some("round one"));
    wg.done();
    assert!(wg.wait_outcome().is_ok());
}

#[test]
fn a_released_wait_polled_after_the_next_round_ended_re_raises_its_rounds_panic() {
    let wg = Arc::new(WaitGroup::new());
    let late = released_by_a_panicked_round(&wg, wg.wait_async());
    assert!(wg.go(|| {}).join().is_ok());
    let payload = catch_unwind(AssertUnwindSafe(|| poll_ready(Box::pin(late))))
        .expect_err("its own round panicked");
    assert!(
        panic_message(&*payload).contains("round one"),
        "{}",
        panic_message(&*payload)
    );
}

#[test]
fn a_released_outcome_future_of_a_clean_round_stays_clean_after_a_panicked_next_round() {
    let wg = Arc::new(WaitGroup::new());
    let mut late = Box::pin(wg.wait_outcome_async());
    wg.add(1);
    assert!(late
        .as_mut()
        .poll(&mut std::task::Context::from_waker(std::task::Waker::noop()))
        .is_pending());
    wg.done(); // a clean round
    assert!(wg.go(|| panic!("round two")).join().is_ok());
    assert!(poll_ready(late).is_ok(), "its round had no panic");
    assert!(wg.wait_outcome().is_err());
}
