//! Many pending `wait_async` futures on one group, against tokio-util's `TaskTracker::wait()`
//! doing the same (issue 9: the `select!`-on-shutdown-in-a-loop pattern; issue 21, part 3:
//! registration at scale).
//!
//! ```text
//! cargo bench -p benches --bench pending_waiters                 # the table on stdout
//! cargo bench -p benches --bench pending_waiters -- --out FILE   # also the samples (TSV)
//! cargo bench -p benches --bench pending_waiters -- --quick      # fewer samples
//! cargo bench -p benches --bench pending_waiters -- --callgrind N  # untimed, for callgrind
//! ```
//!
//! For N = 1,000, 10,000 and 100,000 futures pending on one group (polled by hand with a no-op
//! waker, no runtime), each side measures, in ns per future:
//!
//! * register: N futures made and polled once each (pending) on a fresh group or tracker;
//! * release: the release alone (`done` / the last token's drop), which wakes the N;
//! * cancel + re-register: the 1,000 most recent futures dropped and re-created (each polled
//!   once);
//! * completion: the release and every future polled to completion and dropped;
//! * drop pending: all N pending futures dropped;
//! * for groupwait, an unrelated group's release while the N wait: the slowest of 65 other
//!   groups' release of one pending future each (65 groups: at least two share a bucket of the
//!   64, so the slowest one shared its bucket with another's waiters, though not necessarily
//!   with the N).
//!
//! Both sides' futures are boxed (`TaskTracker`'s wait future is `!Unpin`: a `Vec` of them
//! must box), so both pay one allocation per future; groupwait's `Wait` is `Unpin` and is also
//! measured unboxed. Samples: 41 for cancel + re-register, 21 for the others (11 at N =
//! 100,000), a quarter with `--quick`; the two sides' samples are interleaved, so that a change
//! of load on a shared machine hits both alike. `--out` appends every sample to the TSV that
//! `scripts/bench.sh` collects (section `pending`, cell `OPERATION N`), from which the report
//! writes BENCHMARKS.md's section on pending waiters.

use benches::{median, Opts, Sink};
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

/// ns per future of cancel + re-register of the last `CHURN` of `n` pending futures, one per
/// sample, for both sides, their samples interleaved (so that a change of the machine's load
/// hits both alike).
fn churn<A: Side, B: Side>(a: &mut A, b: &mut B, n: usize, samples: usize) -> (Vec<f64>, Vec<f64>) {
    a.arm();
    b.arm();
    let (mut times_a, mut times_b) = (Vec::new(), Vec::new());
    {
        let (mut churn_a, mut churn_b) = (Churn::new(&*a, n), Churn::new(&*b, n));
        for sample in 0..samples + 3 {
            let (ta, tb) = (churn_a.sample(), churn_b.sample());
            if sample >= 3 {
                times_a.push(per(ta, CHURN));
                times_b.push(per(tb, CHURN));
            }
        }
    }
    a.release();
    b.release();
    (times_a, times_b)
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

/// ns per future of each column of [`Sample`], one per sample, for one side.
struct PerFuture {
    register: Vec<f64>,
    release: Vec<f64>,
    completion: Vec<f64>,
    dropping: Vec<f64>,
}

fn per_future(samples: &[Sample], n: usize) -> PerFuture {
    let column = |f: fn(&Sample) -> Duration| samples.iter().map(|s| per(f(s), n)).collect();
    PerFuture {
        register: column(|s| s.register),
        release: column(|s| s.release),
        completion: column(|s| s.completion),
        dropping: column(|s| s.dropping),
    }
}

/// [`complete_and_drop_once`]'s samples per future for both sides, interleaved.
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

/// Unboxed groupwait: cancel + re-register and completion with `Wait` itself in the `Vec`, ns
/// per future, one per sample.
fn groupwait_unboxed(n: usize, samples: usize, big_samples: usize) -> (Vec<f64>, Vec<f64>) {
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
                times.push(per(start.elapsed(), CHURN));
            }
        }
    }
    wg.done();
    let mut completion = Vec::new();
    for _ in 0..big_samples {
        wg.add(1);
        let mut futures: Vec<_> = (0..n).map(|_| wg.wait_async()).collect();
        for f in &mut futures {
            pend(Pin::new(f), &mut cx);
        }
        drop(black_box(futures));
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
        completion.push(per(start.elapsed(), n));
    }
    (times, completion)
}

/// The slowest release of 65 other groups (one pending future each) while `n` futures wait on
/// one group, in ns, one per sample.
fn unrelated_release(n: usize, samples: usize) -> Vec<f64> {
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
        slowest.push(worst.as_secs_f64() * 1e9);
    }
    drop(futures);
    wg.done();
    slowest
}

/// `--callgrind N`: each side's register, release + completion, register + drop pending and
/// cancel + re-register of `n` futures, a few times and untimed, for callgrind (each phase is a
/// function of its own in its report).
fn callgrind(n: usize) {
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

/// The future counts measured.
const SIZES: [usize; 3] = [1_000, 10_000, 100_000];

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--callgrind") {
        let n = args.get(i + 1).and_then(|n| n.parse().ok());
        callgrind(n.expect("--callgrind N (a number of futures)"));
        return;
    }
    let opts = Opts::parse();
    let mut sink = Sink::new(opts.out.clone());
    let (churn_samples, samples) = (opts.reps(41), opts.reps(21));
    println!(
        "pending_waiters: ns per future, medians ({churn_samples} samples of cancel + \
         re-register of the last {CHURN}, {samples} of the others, fewer at 100,000; the sides \
         interleaved)"
    );
    let mut table = Vec::new();
    for n in SIZES {
        let big = if n >= 100_000 {
            samples.div_ceil(2)
        } else {
            samples
        };
        let mut gw = Groupwait(WaitGroup::new());
        let mut tt = Tracker {
            tracker: TaskTracker::new(),
            token: RefCell::new(None),
        };
        let (gw_churn, tt_churn) = churn(&mut gw, &mut tt, n, churn_samples);
        let (g, t) = complete_and_drop(&mut gw, &mut tt, n, big);
        let (unboxed_churn, unboxed_complete) = groupwait_unboxed(n, samples, big);
        let unrelated = unrelated_release(n, samples);
        let mut record = |op: &str, imp: &str, values: &[f64]| {
            sink.record("pending", &format!("{op} {n}"), 1, imp, values);
            median(values)
        };
        let mut row = vec![n as f64];
        for (op, gw, tt, unboxed) in [
            ("register", &g.register, &t.register, None),
            ("release", &g.release, &t.release, None),
            (
                "cancel+re-register",
                &gw_churn,
                &tt_churn,
                Some(&unboxed_churn),
            ),
            (
                "completion",
                &g.completion,
                &t.completion,
                Some(&unboxed_complete),
            ),
            ("drop pending", &g.dropping, &t.dropping, None),
        ] {
            let (a, b) = (record(op, "groupwait", gw), record(op, "TaskTracker", tt));
            row.extend([a, b, a / b]);
            if let Some(unboxed) = unboxed {
                row.push(record(op, "groupwait unboxed", unboxed));
            }
        }
        row.push(record("unrelated release", "groupwait", &unrelated));
        table.push(row);
    }
    println!(
        "\n| N | register: groupwait | TaskTracker | ratio | release: groupwait | TaskTracker | \
         ratio | cancel+re-register: groupwait | TaskTracker | ratio | groupwait unboxed | \
         completion: groupwait | TaskTracker | ratio | groupwait unboxed | drop pending: \
         groupwait | TaskTracker | ratio | unrelated release (ns, worst of 65) |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for row in table {
        let cells: Vec<String> = row[1..]
            .iter()
            .enumerate()
            .map(|(i, v)| match i {
                2 | 5 | 8 | 12 | 16 => format!("{v:.2}"), // ratios
                _ => format!("{v:.1}"),
            })
            .collect();
        println!("| {} | {} |", row[0], cells.join(" | "));
    }
}
