//! `wait_async`: the `Wait` future, an async waiter on the same group as blocking ones.

use crate::parking::{self, Registration};
use crate::wait_group::{TooManyWaiters, WaitGroup};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// A future that resolves when the group's counter reaches zero. Made by
/// [`WaitGroup::wait_async`].
///
/// It works with any executor: it stores the task's `Waker` in the same address-keyed table
/// that blocking waiters sleep in, and the `done` that brings the counter to zero wakes every
/// blocking and async waiter of the round together.
///
/// Registering, re-polling (with the same or a new waker) and cancelling cost O(1) whatever the
/// number of pending futures; a re-poll with the same waker, and the poll that completes a
/// released future, take no lock.
///
/// # Cancel safety
///
/// Dropping a pending `Wait` takes back its registration: the group's waiter count is restored
/// and its waker is removed, nothing leaks, and no wake-up meant for another waiter is lost
/// (each waiter is woken through its own entry). If the group was released while the future was
/// being dropped, the release simply counts it as released. So a `Wait` can be used in
/// `select!` or under a timeout and polled again as a new `wait_async()` later.
///
/// A released future stays released: the release takes its entry out of the table, and a
/// `Wait` whose entry is gone completes when polled, however many rounds later (and its drop
/// touches nothing of the group), so a stale future can never take part in a later round. A
/// late poll is ordinary, not Go's reuse: it completes with its own round's outcome (the
/// round's panic re-raised, if it had one), also once a next round has begun or ended.
///
/// # Panics
///
/// When polled, as [`WaitGroup::wait`]: it re-raises a panic of a `go`/`track`ed task once the
/// counter is zero (in every waiter of the round: see [`WaitGroup::wait`]), and panics with `too many waiters on one WaitGroup` at its
/// first poll if 2^23 - 1 waiters (blocking and async together) are already registered on the
/// group. For the outcome as a value, use [`WaitGroup::wait_outcome_async`].
///
/// # Examples
///
/// A `Wait` is a value: it can be raced against a timer or a shutdown signal, and dropped.
///
/// ```
/// use groupwait::{Wait, WaitGroup};
/// use std::sync::Arc;
/// use std::time::Duration;
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let wg = Arc::new(WaitGroup::new());
/// let job = tokio::spawn(wg.track_owned(tokio::time::sleep(Duration::from_millis(5))));
/// let wait: Wait<'_> = wg.wait_async();
/// tokio::select! {
///     () = wait => {}
///     () = tokio::time::sleep(Duration::from_secs(20)) => panic!("the job took too long"),
/// }
/// job.await.unwrap();
/// # });
/// ```
#[must_use = "futures do nothing unless you `.await` or poll them"]
pub struct Wait<'a> {
    wg: &'a WaitGroup,
    /// Set while registered: the entry in the table.
    registration: Option<Registration>,
}

impl WaitGroup {
    /// Waits asynchronously until the counter is zero: the async form of
    /// [`wait`](Self::wait), on the same group, alongside blocking waiters.
    ///
    /// A group whose counter is already zero makes the future ready at its first poll, with
    /// no allocation and no lock. Otherwise the waiter registers in the group and its waker is
    /// stored in a global table, whose storage is reused (a steady state allocates nothing)
    /// and given back when mostly empty. Use the executor's timer for a timeout; the future is
    /// cancel safe (see [`Wait`]).
    ///
    /// At most 2^23 - 1 waiters, blocking and async together, can be registered on one group
    /// at once.
    ///
    /// # Panics
    ///
    /// As [`wait`](Self::wait), when the future is polled: a task's panic of its round
    /// re-raised, and `too many waiters on one WaitGroup` if 2^23 - 1 waiters are already
    /// registered when it is first polled. Not Go's reuse check: a released future polled late
    /// (even during a next round) is ordinary, and completes with its own round's outcome.
    ///
    /// # Examples
    ///
    /// ```
    /// use groupwait::WaitGroup;
    /// use std::sync::Arc;
    ///
    /// # futures::executor::block_on(async {
    /// let wg = Arc::new(WaitGroup::new());
    /// wg.add(2);
    /// for _ in 0..2 {
    ///     let wg = Arc::clone(&wg);
    ///     std::thread::spawn(move || wg.done());
    /// }
    /// wg.wait_async().await;
    /// assert_eq!(wg.count(), 0);
    /// # });
    /// ```
    ///
    /// With a timeout from tokio's timer:
    ///
    /// ```
    /// use groupwait::WaitGroup;
    /// use std::time::Duration;
    ///
    /// # tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(async {
    /// let wg = WaitGroup::new();
    /// wg.add(1);
    /// let outcome = tokio::time::timeout(Duration::from_millis(10), wg.wait_async()).await;
    /// assert!(outcome.is_err()); // timed out; the dropped future left no trace
    /// wg.done();
    /// wg.wait_async().await;
    /// # });
    /// ```
    pub fn wait_async(&self) -> Wait<'_> {
        Wait {
            wg: self,
            registration: None,
        }
    }
}

impl Future for Wait<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let wg = this.wg;
        let Some(registration) = &mut this.registration else {
            // First poll. An idle group: ready, without a lock or a waker clone.
            if wg.count() == 0 {
                wg.raise_pending_panic();
                return Poll::Ready(());
            }
            // Counted in the group and stored in the table under the bucket lock, together:
            // a release either came before (then the counter reads zero, or a later round's,
            // and nothing is registered) or finds the entry. No wake-up can be lost between.
            return match parking::register_waker(
                wg.key(),
                || wg.try_register().map(|registered| registered.is_some()),
                cx.waker(),
            ) {
                Ok(Some(registration)) => {
                    this.registration = Some(registration);
                    Poll::Pending
                }
                Ok(None) => {
                    // The counter was zero: nothing to wait for.
                    wg.raise_pending_panic();
                    Poll::Ready(())
                }
                Err(TooManyWaiters) => panic!("groupwait: too many waiters on one WaitGroup"),
            };
        };
        // Released (the release freed our slot)? No lock: an atomic load of our ticket.
        let released = registration.released(wg.key())
            // Same waker: pending, without a lock. A release that has not reached our entry
            // yet will wake this very waker (it takes it out after this load or not at all).
            || (!registration.stores(cx.waker())
                // A new waker: stored in place of the old one under the lock, unless a release
                // got there first (then it is not stored and we are released).
                && !parking::replace_waker(wg.key(), registration, cx.waker()));
        if released {
            let registration = this.registration.take().expect("registered");
            // Its own round's outcome, however late (issue 20, item 7): no reuse check.
            wg.finish_released_async(registration);
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

impl Drop for Wait<'_> {
    fn drop(&mut self) {
        if let Some(registration) = self.registration.take() {
            let wg = self.wg;
            if registration.released(wg.key()) {
                // Released, never polled since: let go of the report its release may have
                // left it (dropped here, outside the lock).
                drop(wg.late_report(&registration));
                return;
            }
            // Removes the entry and takes back the waiter's count together, under the bucket
            // lock, unless a release took the entry first (then the release counted it and
            // there is nothing to take back).
            parking::cancel_waker(wg.key(), registration, || wg.withdraw());
        }
    }
}

impl fmt::Debug for Wait<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Wait")
            .field("group", self.wg)
            .field("registered", &self.registration.is_some())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parking::tests::Counting;
    use crate::test_support::wait_until;
    use std::sync::Arc;
    use std::task::{Wake, Waker};

    struct Noop;
    impl Wake for Noop {
        fn wake(self: Arc<Self>) {}
    }

    #[test]
    fn dropped_pending_waits_leave_no_waker_and_no_waiter() {
        let _serial = parking::serialize_sleeping_tests();
        let wg = WaitGroup::new();
        wg.add(1);
        let waker = Waker::from(Arc::new(Noop));
        let mut cx = Context::from_waker(&waker);
        let mut futures: Vec<_> = (0..10).map(|_| wg.wait_async()).collect();
        for f in &mut futures {
            assert!(Pin::new(f).poll(&mut cx).is_pending());
        }
        assert_eq!(parking::registered_wakers(wg.key()), 10);
        assert!(format!("{wg:?}").contains("waiters: 10"));
        drop(futures);
        assert_eq!(parking::registered_wakers(wg.key()), 0);
        assert!(format!("{wg:?}").contains("waiters: 0"));
        wg.done();
    }

    #[test]
    fn a_re_poll_with_a_new_waker_moves_the_wake_up_to_it() {
        let _serial = parking::serialize_sleeping_tests();
        let wg = WaitGroup::new();
        wg.add(1);
        let (old, new) = (Arc::new(Counting::default()), Arc::new(Counting::default()));
        let old_waker = Waker::from(Arc::clone(&old));
        let new_waker = Waker::from(Arc::clone(&new));
        let mut wait = wg.wait_async();
        assert!(Pin::new(&mut wait)
            .poll(&mut Context::from_waker(&old_waker))
            .is_pending());
        // Moved to another task (a `select!` in a new task, a runtime's work stealing).
        assert!(Pin::new(&mut wait)
            .poll(&mut Context::from_waker(&new_waker))
            .is_pending());
        assert_eq!(parking::registered_wakers(wg.key()), 1);
        wg.done();
        assert_eq!(new.0.load(std::sync::atomic::Ordering::Relaxed), 1);
        assert_eq!(old.0.load(std::sync::atomic::Ordering::Relaxed), 0);
        assert!(Pin::new(&mut wait)
            .poll(&mut Context::from_waker(&new_waker))
            .is_ready());
    }

    #[test]
    fn a_release_with_only_async_waiters_wakes_each_once_without_a_wake_call() {
        let _serial = parking::serialize_sleeping_tests();
        let wg = WaitGroup::new();
        wg.add(1);
        let counters: Vec<Arc<Counting>> = (0..5).map(|_| Arc::default()).collect();
        let mut futures: Vec<_> = counters
            .iter()
            .map(|c| {
                let mut f = wg.wait_async();
                let waker = Waker::from(Arc::clone(c));
                assert!(Pin::new(&mut f)
                    .poll(&mut Context::from_waker(&waker))
                    .is_pending());
                f
            })
            .collect();
        wg.done();
        for c in &counters {
            assert_eq!(c.0.load(std::sync::atomic::Ordering::Relaxed), 1);
        }
        assert!(!crate::sync::lock(&parking::NOTIFIED).contains(&wg.key()));
        let waker = Waker::from(Arc::new(Noop));
        for f in &mut futures {
            assert!(Pin::new(f)
                .poll(&mut Context::from_waker(&waker))
                .is_ready());
        }
    }

    #[test]
    fn a_release_with_a_sleeping_thread_makes_the_wake_call() {
        let _serial = parking::serialize_sleeping_tests();
        // The instrument works: with a thread asleep, the release does notify.
        let wg = WaitGroup::new();
        wg.add(1);
        std::thread::scope(|s| {
            let waiter = s.spawn(|| wg.wait());
            // Past its spin: counted asleep in the bucket (the serial lock keeps other tests'
            // sleepers out of it).
            wait_until("the waiter asleep in its bucket", || {
                parking::sleepers(wg.key()) == 1
            });
            wg.done();
            waiter.join().unwrap();
        });
        assert!(crate::sync::lock(&parking::NOTIFIED).contains(&wg.key()));
    }

    #[test]
    fn a_release_wakes_no_task_of_another_group() {
        let _serial = parking::serialize_sleeping_tests();
        let (a, b) = (WaitGroup::new(), WaitGroup::new());
        a.add(1);
        b.add(1);
        let (woken_a, woken_b) = (Arc::new(Counting::default()), Arc::new(Counting::default()));
        let mut wait_a = a.wait_async();
        let mut wait_b = b.wait_async();
        let waker_a = Waker::from(Arc::clone(&woken_a));
        let waker_b = Waker::from(Arc::clone(&woken_b));
        assert!(Pin::new(&mut wait_a)
            .poll(&mut Context::from_waker(&waker_a))
            .is_pending());
        assert!(Pin::new(&mut wait_b)
            .poll(&mut Context::from_waker(&waker_b))
            .is_pending());
        a.done();
        assert_eq!(woken_a.0.load(std::sync::atomic::Ordering::Relaxed), 1);
        assert_eq!(woken_b.0.load(std::sync::atomic::Ordering::Relaxed), 0);
        assert_eq!(parking::registered_wakers(b.key()), 1);
        b.done();
        assert_eq!(woken_b.0.load(std::sync::atomic::Ordering::Relaxed), 1);
    }

    #[test]
    fn a_panicked_rounds_report_left_for_a_released_wait_goes_when_it_is_polled_or_dropped() {
        let _serial = parking::serialize_sleeping_tests();
        let wg = WaitGroup::new();
        let waker = Waker::from(Arc::new(Noop));
        let mut cx = Context::from_waker(&waker);
        let mut polled = (wg.wait_async(), wg.wait_outcome_async());
        let mut dropped = wg.wait_async();
        wg.add(1);
        assert!(Pin::new(&mut polled.0).poll(&mut cx).is_pending());
        assert!(Pin::new(&mut polled.1).poll(&mut cx).is_pending());
        assert!(Pin::new(&mut dropped).poll(&mut cx).is_pending());
        wg.record_panic(Box::new("a task"), crate::TaskKind::Go);
        wg.done();
        assert_eq!(
            parking::late_reports(wg.key()),
            3,
            "one per released waiter"
        );
        assert!(
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                let _ = Pin::new(&mut polled.0).poll(&mut cx);
            }))
            .is_err(),
            "re-raised"
        );
        assert!(matches!(
            Pin::new(&mut polled.1).poll(&mut cx),
            Poll::Ready(Err(_))
        ));
        assert_eq!(parking::late_reports(wg.key()), 1);
        drop(dropped);
        assert_eq!(parking::late_reports(wg.key()), 0);
        // A clean round leaves none.
        let mut clean = wg.wait_async();
        wg.add(1);
        assert!(Pin::new(&mut clean).poll(&mut cx).is_pending());
        wg.done();
        assert_eq!(parking::late_reports(wg.key()), 0);
    }

    #[test]
    fn release_removes_every_waker_of_the_group() {
        let _serial = parking::serialize_sleeping_tests();
        let wg = WaitGroup::new();
        wg.add(1);
        let waker = Waker::from(Arc::new(Noop));
        let mut cx = Context::from_waker(&waker);
        let mut futures: Vec<_> = (0..40).map(|_| wg.wait_async()).collect();
        for f in &mut futures {
            assert!(Pin::new(f).poll(&mut cx).is_pending());
        }
        wg.done();
        assert_eq!(parking::registered_wakers(wg.key()), 0);
        for f in &mut futures {
            assert!(Pin::new(f).poll(&mut cx).is_ready());
        }
    }
}
