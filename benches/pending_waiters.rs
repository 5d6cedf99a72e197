//! Many pending `wait_async` futures on one group, against tokio-util's `TaskTracker::wait()`
//! doing the same (issue 9: the `select!`-on-shutdown-in-a-loop pattern).
//!
//! ```text
//! cargo bench -p benches --bench pending_waiters
//! ```
//!
//! For N = 1,000, 10,000 and 100,000 futures pending on one group (polled by hand with a no-op
//! waker, no runtime), each side measures:
//!
//! * cancel + re-register: the 1,000 most recent futures dropped and re-created (each polled
//!   once), per future;
//! * completion: the release (`done` / `close` + the last token's drop) and every future
//!   polled to completion and dropped, per future;
//! * drop pending: all N pending futures dropped, per future;
//! * for groupwait, an unrelated group's release while the N wait: the slowest of 65 other
//!   groups' release of one pending future each (65 groups: at least two share a bucket of the
//!   64, so the slowest one shared its bucket with another's waiters, though not necessarily
//!   with the N).
//!
//! Both sides' futures are boxed (`TaskTracker`'s wait future is `!Unpin`: a `Vec` of them
//! must box), so both pay one allocation per future; groupwait's `Wait` is `Unpin` and is also
//! measured unboxed. Medians of 21 samples (11 at N = 100,000 for completion and drop).

use groupwait::WaitGroup;
use std::cell::RefCell;
use std::future::Future;
use std::hint::black_box;
use std::pin::Pin;
use std::task::{Context, Waker};
use std::time::{Duration, Instant};
use tokio_util::task::task_tracker::TaskTrackerToken;
use tokio_util::task::TaskTracker;

/// How many of the most recent futures are cancelled and re-created per sample.
const CHURN: usize = 1000;

type Boxed<'a> = Pin<Box<dyn Future<Output = ()> + 'a>>;

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn per(d: Duration, n: usize) -> f64 {
    d.as_secs_f64() * 1e9 / n as f64
}

/// Polls `f` once; asserts that it is pending.
fn pend<F: Future + ?Sized>(f: Pin<&mut F>, cx: &mut Context<'_>) {
    assert!(f.poll(cx).is_pending());
}

/// Polls `f` once; asserts that it is ready.
fn ready<F: Future + ?Sized>(f: Pin<&mut F>, cx: &mut Context<'_>) {
    assert!(f.poll(cx).is_ready());
}

/// One side of the comparison: how to make pending futures and release them.
trait Side {
    /// A fresh group (or tracker) with the release held back.
    fn arm(&mut self);
    /// A new future waiting for the release.
    fn future(&self) -> Boxed<'_>;
    /// The release (through `&self`: the futures borrow the side).
    fn release(&self);
}

struct Groupwait(WaitGroup);

impl Side for Groupwait {
    fn arm(&mut self) {
        self.0 = WaitGroup::new();
        self.0.add(1);
    }
    fn future(&self) -> Boxed<'_> {
        Box::pin(self.0.wait_async())
    }
    fn release(&self) {
        self.0.done();
    }
}

/// A closed tracker holding one token: its `wait()` futures pend until the token is dropped.
struct Tracker {
    tracker: TaskTracker,
    token: RefCell<Option<TaskTrackerToken>>,
}

impl Side for Tracker {
    fn arm(&mut self) {
        self.tracker = TaskTracker::new();
        *self.token.get_mut() = Some(self.tracker.token());
        self.tracker.close();
    }
    fn future(&self) -> Boxed<'_> {
        Box::pin(self.tracker.wait())
    }
    fn release(&self) {
        // The last token: the closed tracker is now empty and notifies its waiters.
        drop(self.token.borrow_mut().take());
    }
}

/// Median ns per future of cancel + re-register of the last `CHURN` of `n` pending futures.
fn churn<S: Side>(side: &mut S, n: usize, samples: usize) -> f64 {
    let mut cx = Context::from_waker(Waker::noop());
    side.arm();
    let side = &*side;
    let mut times = Vec::new();
    let mut futures: Vec<Boxed<'_>> = (0..n).map(|_| side.future()).collect();
    for f in &mut futures {
        pend(f.as_mut(), &mut cx);
    }
    for sample in 0..samples + 3 {
        let start = Instant::now();
        futures.truncate(n - CHURN);
        for _ in 0..CHURN {
            let mut f = side.future();
            pend(f.as_mut(), &mut cx);
            futures.push(f);
        }
        if sample >= 3 {
            times.push(start.elapsed());
        }
    }
    drop(futures);
    side.release();
    per(median(times), CHURN)
}

/// Median ns per future of (release + poll to completion + drop) of `n` pending futures, and
/// of dropping `n` pending futures.
fn complete_and_drop<S: Side>(side: &mut S, n: usize, samples: usize) -> (f64, f64) {
    let mut cx = Context::from_waker(Waker::noop());
    let (mut completion, mut dropping) = (Vec::new(), Vec::new());
    for _ in 0..samples {
        side.arm();
        {
            let side = &*side;
            let mut futures: Vec<Boxed<'_>> = (0..n).map(|_| side.future()).collect();
            for f in &mut futures {
                pend(f.as_mut(), &mut cx);
            }
            let start = Instant::now();
            drop(black_box(futures));
            dropping.push(start.elapsed());
            side.release();
        }
        side.arm();
        let side = &*side;
        let mut futures: Vec<Boxed<'_>> = (0..n).map(|_| side.future()).collect();
        for f in &mut futures {
            pend(f.as_mut(), &mut cx);
        }
        let start = Instant::now();
        side.release();
        for f in &mut futures {
            ready(f.as_mut(), &mut cx);
        }
        drop(futures);
        completion.push(start.elapsed());
    }
    (per(median(completion), n), per(median(dropping), n))
}

/// Unboxed groupwait: the same three measurements with `Wait` itself in the `Vec`.
fn groupwait_unboxed(n: usize, samples: usize, big_samples: usize) -> (f64, f64, f64) {
    let mut cx = Context::from_waker(Waker::noop());
    let wg = WaitGroup::new();
    wg.add(1);
    let mut times = Vec::new();
    {
        let mut futures: Vec<_> = (0..n).map(|_| wg.wait_async()).collect();
        for f in &mut futures {
            pend(Pin::new(f), &mut cx);
        }
        for sample in 0..samples + 3 {
            let start = Instant::now();
            futures.truncate(n - CHURN);
            for _ in 0..CHURN {
                let mut f = wg.wait_async();
                pend(Pin::new(&mut f), &mut cx);
                futures.push(f);
            }
            if sample >= 3 {
                times.push(start.elapsed());
            }
        }
    }
    wg.done();
    let churn = per(median(times), CHURN);
    let (mut completion, mut dropping) = (Vec::new(), Vec::new());
    for _ in 0..big_samples {
        wg.add(1);
        let mut futures: Vec<_> = (0..n).map(|_| wg.wait_async()).collect();
        for f in &mut futures {
            pend(Pin::new(f), &mut cx);
        }
        let start = Instant::now();
        drop(black_box(futures));
        dropping.push(start.elapsed());
        let mut futures: Vec<_> = (0..n).map(|_| wg.wait_async()).collect();
        for f in &mut futures {
            pend(Pin::new(f), &mut cx);
        }
        let start = Instant::now();
        wg.done();
        for f in &mut futures {
            ready(Pin::new(f), &mut cx);
        }
        drop(futures);
        completion.push(start.elapsed());
    }
    (churn, per(median(completion), n), per(median(dropping), n))
}

/// The slowest release of 65 other groups (one pending future each) while `n` futures wait on
/// one group, in ns.
fn unrelated_release(n: usize, samples: usize) -> f64 {
    let mut cx = Context::from_waker(Waker::noop());
    let wg = WaitGroup::new();
    wg.add(1);
    let mut futures: Vec<_> = (0..n).map(|_| wg.wait_async()).collect();
    for f in &mut futures {
        pend(Pin::new(f), &mut cx);
    }
    let others: Vec<WaitGroup> = (0..65).map(|_| WaitGroup::new()).collect();
    let mut slowest = Vec::new();
    for _ in 0..samples {
        let mut worst = Duration::ZERO;
        for other in &others {
            other.add(1);
            let mut f = other.wait_async();
            pend(Pin::new(&mut f), &mut cx);
            let start = Instant::now();
            other.done();
            worst = worst.max(start.elapsed());
            ready(Pin::new(&mut f), &mut cx);
        }
        slowest.push(worst);
    }
    drop(futures);
    wg.done();
    median(slowest).as_secs_f64() * 1e9
}

fn main() {
    // Filter arguments from `cargo bench` (`--bench`) are ignored.
    println!(
        "pending_waiters: ns per future, medians (cancel+re-register: 21 samples of the last \
         {CHURN}; completion and drop: 21 samples, 11 at 100,000)"
    );
    println!(
        "| N | cancel+re-register: groupwait | TaskTracker | ratio | groupwait unboxed | \
         completion: groupwait | TaskTracker | ratio | groupwait unboxed | drop pending: \
         groupwait | TaskTracker | unrelated release (ns, worst of 65) |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|");
    for n in [1_000, 10_000, 100_000] {
        let big = if n >= 100_000 { 11 } else { 21 };
        let mut gw = Groupwait(WaitGroup::new());
        let mut tt = Tracker {
            tracker: TaskTracker::new(),
            token: RefCell::new(None),
        };
        let gw_churn = churn(&mut gw, n, 21);
        let tt_churn = churn(&mut tt, n, 21);
        let (gw_complete, gw_drop) = complete_and_drop(&mut gw, n, big);
        let (tt_complete, tt_drop) = complete_and_drop(&mut tt, n, big);
        let (unboxed_churn, unboxed_complete, _) = groupwait_unboxed(n, 21, big);
        let unrelated = unrelated_release(n, 21);
        println!(
            "| {n} | {gw_churn:.1} | {tt_churn:.1} | {:.2} | {unboxed_churn:.1} | \
             {gw_complete:.1} | {tt_complete:.1} | {:.2} | {unboxed_complete:.1} | \
             {gw_drop:.1} | {tt_drop:.1} | {unrelated:.0} |",
            gw_churn / tt_churn,
            gw_complete / tt_complete,
        );
    }
}
