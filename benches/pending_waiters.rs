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
//! measured unboxed. Medians of 41 samples for cancel + re-register, 21 for completion and
//! drop (11 at N = 100,000); the two sides' samples are interleaved, so that a change of load
//! on a shared machine hits both alike.

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

/// `n` pending futures of `side`, and a function that takes one sample of cancel +
/// re-register of the last `CHURN` of them.
struct Churn<'a, S: Side> {
    side: &'a S,
    futures: Vec<Boxed<'a>>,
}

impl<'a, S: Side> Churn<'a, S> {
    fn new(side: &'a S, n: usize) -> Self {
        let mut cx = Context::from_waker(Waker::noop());
        let mut futures: Vec<Boxed<'a>> = (0..n).map(|_| side.future()).collect();
        for f in &mut futures {
            pend(f.as_mut(), &mut cx);
        }
        Churn { side, futures }
    }

    fn sample(&mut self) -> Duration {
        let mut cx = Context::from_waker(Waker::noop());
        let n = self.futures.len();
        let start = Instant::now();
        self.futures.truncate(n - CHURN);
        for _ in 0..CHURN {
            let mut f = self.side.future();
            pend(f.as_mut(), &mut cx);
            self.futures.push(f);
        }
        start.elapsed()
    }
}

/// Median ns per future of cancel + re-register of the last `CHURN` of `n` pending futures,
/// for both sides, their samples interleaved (so that a change of the machine's load hits
/// both alike).
fn churn<A: Side, B: Side>(a: &mut A, b: &mut B, n: usize, samples: usize) -> (f64, f64) {
    a.arm();
    b.arm();
    let (mut times_a, mut times_b) = (Vec::new(), Vec::new());
    {
        let (mut churn_a, mut churn_b) = (Churn::new(&*a, n), Churn::new(&*b, n));
        for sample in 0..samples + 3 {
            let (ta, tb) = (churn_a.sample(), churn_b.sample());
            if sample >= 3 {
                times_a.push(ta);
                times_b.push(tb);
            }
        }
    }
    a.release();
    b.release();
    (per(median(times_a), CHURN), per(median(times_b), CHURN))
}

/// One sample of `side`, in total time for `n` futures.
struct Sample {
    /// `n` futures made and polled once each (each registers) on a fresh group.
    register: Duration,
    /// The release alone (`done` / the last token's drop), waking the `n`.
    release: Duration,
    /// The release, every future polled to completion and dropped.
    completion: Duration,
    /// `n` pending futures dropped.
    dropping: Duration,
}

/// `n` futures of `side`, each polled once (pending), and the time that took.
fn register<S: Side>(side: &S, n: usize) -> (Vec<Boxed<'_>>, Duration) {
    let mut cx = Context::from_waker(Waker::noop());
    let mut futures: Vec<Boxed<'_>> = Vec::with_capacity(n);
    let start = Instant::now();
    for _ in 0..n {
        let mut f = side.future();
        pend(f.as_mut(), &mut cx);
        futures.push(f);
    }
    (futures, start.elapsed())
}

/// One sample of `side`: register, release, completion and drop pending of `n` futures.
fn complete_and_drop_once<S: Side>(side: &mut S, n: usize) -> Sample {
    let mut cx = Context::from_waker(Waker::noop());
    side.arm();
    let dropping = {
        let side = &*side;
        let (futures, _) = register(side, n);
        let start = Instant::now();
        drop(black_box(futures));
        let dropping = start.elapsed();
        side.release();
        dropping
    };
    side.arm();
    let side = &*side;
    let (mut futures, register) = register(side, n);
    let start = Instant::now();
    side.release();
    let release = start.elapsed();
    for f in &mut futures {
        ready(f.as_mut(), &mut cx);
    }
    drop(futures);
    Sample {
        register,
        release,
        completion: start.elapsed(),
        dropping,
    }
}

/// Medians in ns per future of each column of [`Sample`], for one side.
#[derive(Clone, Copy)]
struct PerFuture {
    register: f64,
    release: f64,
    completion: f64,
    dropping: f64,
}

fn per_future(samples: &[Sample], n: usize) -> PerFuture {
    let column = |f: fn(&Sample) -> Duration| per(median(samples.iter().map(f).collect()), n);
    PerFuture {
        register: column(|s| s.register),
        release: column(|s| s.release),
        completion: column(|s| s.completion),
        dropping: column(|s| s.dropping),
    }
}

/// [`complete_and_drop_once`]'s medians per future for both sides, samples interleaved.
fn complete_and_drop<A: Side, B: Side>(
    a: &mut A,
    b: &mut B,
    n: usize,
    samples: usize,
) -> (PerFuture, PerFuture) {
    let (mut a_samples, mut b_samples) = (Vec::new(), Vec::new());
    for _ in 0..samples {
        a_samples.push(complete_and_drop_once(a, n));
        b_samples.push(complete_and_drop_once(b, n));
    }
    (per_future(&a_samples, n), per_future(&b_samples, n))
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

/// `--profile N`: each side's register, release + completion, register + drop pending and
/// cancel + re-register of `n` futures, a few times and untimed, for callgrind (each phase is a
/// function of its own in the report).
fn profile(n: usize) {
    let mut gw = Groupwait(WaitGroup::new());
    let mut tt = Tracker {
        tracker: TaskTracker::new(),
        token: RefCell::new(None),
    };
    for _ in 0..3 {
        black_box(complete_and_drop_once(&mut gw, n));
        black_box(complete_and_drop_once(&mut tt, n));
    }
    black_box(churn(&mut gw, &mut tt, n, 3));
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--profile") {
        let n = args.get(i + 1).and_then(|n| n.parse().ok());
        profile(n.expect("--profile N (a number of futures)"));
        return;
    }
    // Other arguments (cargo's `--bench`) are ignored.
    println!(
        "pending_waiters: ns per future, medians (register, release, completion and drop: 21 \
         samples, 11 at 100,000; cancel+re-register: 41 samples of the last {CHURN}; the sides \
         interleaved)"
    );
    println!(
        "| N | register: groupwait | TaskTracker | ratio | release: groupwait | TaskTracker | \
         ratio | cancel+re-register: groupwait | TaskTracker | ratio | groupwait unboxed | \
         completion: groupwait | TaskTracker | ratio | groupwait unboxed | drop pending: \
         groupwait | TaskTracker | ratio | unrelated release (ns, worst of 65) |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for n in [1_000, 10_000, 100_000] {
        let big = if n >= 100_000 { 11 } else { 21 };
        let mut gw = Groupwait(WaitGroup::new());
        let mut tt = Tracker {
            tracker: TaskTracker::new(),
            token: RefCell::new(None),
        };
        let (gw_churn, tt_churn) = churn(&mut gw, &mut tt, n, 41);
        let (g, t) = complete_and_drop(&mut gw, &mut tt, n, big);
        let (unboxed_churn, unboxed_complete, _) = groupwait_unboxed(n, 21, big);
        let unrelated = unrelated_release(n, 21);
        println!(
            "| {n} | {:.1} | {:.1} | {:.2} | {:.1} | {:.1} | {:.2} | {gw_churn:.1} | \
             {tt_churn:.1} | {:.2} | {unboxed_churn:.1} | {:.1} | {:.1} | {:.2} | \
             {unboxed_complete:.1} | {:.1} | {:.1} | {:.2} | {unrelated:.0} |",
            g.register,
            t.register,
            g.register / t.register,
            g.release,
            t.release,
            g.release / t.release,
            gw_churn / tt_churn,
            g.completion,
            t.completion,
            g.completion / t.completion,
            g.dropping,
            t.dropping,
            g.dropping / t.dropping,
        );
    }
}
