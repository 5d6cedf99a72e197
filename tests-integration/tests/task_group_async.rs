//! Task groups on executors: tokio (current-thread and multi-thread), futures' `block_on`
//! and async-executor. Results, first error, the token awaited, the async limit and its
//! wake-up by cancellation, dropped tasks, cancel-safe waits.

mod support;

use futures::executor::block_on;
use groupwait::task_group::{Cause, TaskError, TaskGroup, TrySpawnError};
use std::convert::Infallible;
use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

/// Miri is slow: smaller sizes there, the same assertions.
const fn size(full: usize, miri: usize) -> usize {
    if cfg!(miri) {
        miri
    } else {
        full
    }
}

fn assert_send<T: Send>(t: T) -> T {
    t
}

fn current_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
}

fn multi_thread() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap()
}

/// Results in submission order, the first error cancelling the rest (which await the
/// token), on a given runtime.
async fn results_and_first_error() {
    let n = size(20, 4);
    let group = TaskGroup::<usize, String>::new();
    for i in 0..n {
        tokio::spawn(assert_send(group.track(async move {
            tokio::task::yield_now().await;
            Ok(i)
        })));
    }
    assert_eq!(
        group.wait_async().await.unwrap(),
        (0..n).collect::<Vec<_>>()
    );

    let group = TaskGroup::<usize, String>::new();
    let token = group.token();
    tokio::spawn(group.track(async move {
        token.cancelled().await;
        Err("after the cancel".to_string())
    }));
    tokio::spawn(group.track(async { Err("first".to_string()) }));
    assert_eq!(
        group.wait_async().await,
        Err(TaskError::Failed("first".into()))
    );
    assert_eq!(group.token().cause(), Some(Cause::Failed { task: 1 }));
}

#[test]
fn tokio_current_thread_results_and_first_error() {
    current_thread().block_on(results_and_first_error());
}

#[test]
fn tokio_multi_thread_results_and_first_error() {
    multi_thread().block_on(results_and_first_error());
}

/// The limit, waited for asynchronously: never more than `limit` tasks admitted at once.
async fn async_limit(spawn: impl Fn(std::pin::Pin<Box<dyn Future<Output = ()> + Send>>)) {
    let n = size(24, 6);
    let group = TaskGroup::<(), Infallible>::with_limit(2);
    let now = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    for _ in 0..n {
        let (now, peak) = (Arc::clone(&now), Arc::clone(&peak));
        let task = group
            .track_async(async move {
                let running = now.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(running, Ordering::SeqCst);
                futures::future::ready(()).await;
                now.fetch_sub(1, Ordering::SeqCst);
                Ok(())
            })
            .await;
        spawn(Box::pin(task));
    }
    assert_eq!(group.wait_async().await.unwrap().len(), n);
    assert!(peak.load(Ordering::SeqCst) <= 2);
}

#[test]
fn tokio_multi_thread_limit_waits_asynchronously() {
    multi_thread().block_on(async_limit(|t| drop(tokio::spawn(t))));
}

#[test]
fn tokio_current_thread_limit_waits_asynchronously() {
    current_thread().block_on(async_limit(|t| drop(tokio::spawn(t))));
}

#[test]
fn async_executor_limit_and_results() {
    let ex = Arc::new(async_executor::Executor::new());
    let spawner = Arc::clone(&ex);
    let stop = support::Stop::default();
    std::thread::scope(|s| {
        let _stop = stop.on_drop();
        let runner = Arc::clone(&ex);
        let stop = &stop;
        s.spawn(move || {
            block_on(runner.run(async {
                while !stop.raised() {
                    futures::future::ready(()).await;
                    std::thread::yield_now();
                    // Yield to the executor so spawned tasks run.
                    YieldOnce(false).await;
                }
            }))
        });
        block_on(async_limit(move |t| spawner.spawn(t).detach()));
    });
}

/// Returns Pending once (waking itself), then Ready.
struct YieldOnce(bool);
impl Future for YieldOnce {
    type Output = ();
    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            Poll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

#[test]
fn futures_block_on_awaits_tasks_in_place() {
    block_on(async {
        let group = TaskGroup::<&str, ()>::new();
        let a = group.track(async { Ok("a") });
        let b = group.track(async { Ok("b") });
        b.await; // completion order b, a: results still in submission order
        a.await;
        assert_eq!(group.wait_async().await, Ok(vec!["a", "b"]));
    });
}

/// conc #88 in async form: the only slot is held by a task awaiting the cancellation; an
/// adder awaits a slot; the cancel wakes the adder, whose task is reported cancelled.
#[test]
fn cancellation_wakes_tasks_awaiting_a_slot() {
    multi_thread().block_on(async {
        let group = Arc::new(TaskGroup::<(), ()>::with_limit(1));
        let token = group.token();
        let started = Arc::new(AtomicBool::new(false));
        let raise = Arc::clone(&started);
        tokio::spawn(
            group
                .track_async(async move {
                    raise.store(true, Ordering::SeqCst);
                    token.cancelled().await;
                    Ok(())
                })
                .await,
        );
        // The slot holder must have started, or the cancellation would skip it.
        while !started.load(Ordering::SeqCst) {
            tokio::task::yield_now().await;
        }
        let adder_waiting = Arc::new(AtomicBool::new(false));
        let adder = {
            let (group, waiting) = (Arc::clone(&group), Arc::clone(&adder_waiting));
            tokio::spawn(async move {
                let mut admit = pin!(group.track_async(async { unreachable!("cancelled") }));
                // First poll: pending on the full limit.
                let first = std::future::poll_fn(|cx| Poll::Ready(admit.as_mut().poll(cx))).await;
                assert!(first.is_pending(), "the only slot is taken");
                waiting.store(true, Ordering::SeqCst);
                admit.await.await;
            })
        };
        while !adder_waiting.load(Ordering::SeqCst) {
            tokio::task::yield_now().await;
        }
        group.cancel();
        adder.await.unwrap();
        let all = group.wait_all_async().await;
        assert!(
            matches!(all[..], [Ok(()), Err(TaskError::Cancelled)]),
            "{all:?}"
        );
    });
}

#[test]
fn try_track_at_the_limit_hands_the_future_back() {
    block_on(async {
        let group = TaskGroup::<u8, ()>::with_limit(1);
        let first = group.try_track(async { Ok(1) }).unwrap();
        let refused = group.try_track(async { Ok(2) }).err().unwrap();
        assert!(matches!(refused, TrySpawnError::Full(_)));
        first.await;
        group.try_track(refused.into_inner()).unwrap().await;
        assert_eq!(group.wait_async().await, Ok(vec![1, 2]));
    });
}

#[test]
fn a_task_dropped_before_its_first_poll_is_cancelled_and_one_dropped_later_abandoned() {
    block_on(async {
        let group = TaskGroup::<u8, ()>::builder().keep_going().build();
        drop(group.track(async { Ok(1) }));
        let mut started = Box::pin(group.track(async {
            futures::future::pending::<()>().await;
            Ok(2)
        }));
        let waker = Waker::noop();
        assert!(started
            .as_mut()
            .poll(&mut Context::from_waker(waker))
            .is_pending());
        drop(started);
        let all = group.wait_all_async().await;
        assert!(
            matches!(
                all[..],
                [Err(TaskError::Cancelled), Err(TaskError::Abandoned)]
            ),
            "{all:?}"
        );
    });
}

#[test]
fn a_tokio_abort_is_reported_as_abandoned_and_cancels_the_group() {
    multi_thread().block_on(async {
        let group = TaskGroup::<(), ()>::new();
        let started = Arc::new(AtomicBool::new(false));
        let s = Arc::clone(&started);
        let handle = tokio::spawn(group.track(async move {
            s.store(true, Ordering::SeqCst);
            futures::future::pending::<()>().await;
            Ok(())
        }));
        while !started.load(Ordering::SeqCst) {
            tokio::task::yield_now().await;
        }
        handle.abort();
        assert_eq!(group.wait_async().await, Err(TaskError::Abandoned));
        assert_eq!(group.token().cause(), Some(Cause::Abandoned { task: 0 }));
    });
}

#[test]
fn wait_async_is_cancel_safe() {
    block_on(async {
        let group = TaskGroup::<u8, ()>::new();
        let task = group.track(async { Ok(5) });
        {
            let mut wait = pin!(group.wait_async());
            let waker = Waker::noop();
            assert!(wait
                .as_mut()
                .poll(&mut Context::from_waker(waker))
                .is_pending());
        } // dropped while pending: takes nothing
        task.await;
        assert_eq!(group.wait_async().await, Ok(vec![5]));
    });
}

#[test]
fn blocking_and_async_waiters_share_one_group() {
    let rt = multi_thread();
    let group = Arc::new(TaskGroup::<u8, ()>::new());
    let (open, gate) = tokio::sync::oneshot::channel::<()>();
    let task = group.track(async move { gate.await.map(|()| 3).map_err(drop) });
    let blocking = {
        let group = Arc::clone(&group);
        std::thread::spawn(move || group.wait_idle())
    };
    rt.block_on(async {
        let idle = tokio::spawn({
            let group = Arc::clone(&group);
            async move { group.wait_idle_async().await }
        });
        tokio::spawn(task);
        open.send(()).unwrap();
        idle.await.unwrap();
        assert_eq!(group.wait_async().await, Ok(vec![3]));
    });
    blocking.join().unwrap();
}

#[test]
fn the_token_is_awaitable_on_any_executor() {
    let group = TaskGroup::<(), ()>::new();
    let token = group.token();
    let waiter = std::thread::spawn(move || block_on(token.cancelled()));
    group.cancel();
    waiter.join().unwrap();
    current_thread().block_on(group.token().cancelled());
}
