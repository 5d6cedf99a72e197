//! Go's `b.RunParallel`, and its `b.N` search: the timing of the `shapes` bench.

use crate::threads::pin_to_core;
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

/// Go's padded private group: 128 bytes of alignment keep neighbouring threads' groups on
/// separate cache lines (Go pads with a 128-byte array after the group).
#[repr(align(128))]
pub struct Padded<T>(pub T);

/// Go's local work: 100 rounds of `x *= 2; x /= 2` on a local, each step through
/// `black_box` so that the compiler cannot fold the rounds away.
#[inline(always)]
pub fn local_work(x: &mut i64) {
    for _ in 0..100 {
        *x = black_box(*x * 2);
        *x = black_box(*x / 2);
    }
}

/// Runs `total` iterations on `threads` threads the way Go's `b.RunParallel` does: each thread
/// builds its own state (`init`, untimed), then takes batches of `grain` iterations from a
/// shared budget until it is spent. Returns the wall time from the first thread's start to the
/// end of the last thread's last batch (state teardown is not timed).
///
/// The threads start together, each as soon as it sees every thread ready (no one sleeps in a
/// barrier, so no wake-up is timed). A thread that another process keeps off its core at that
/// moment starts late, and the others take its share of the batches meanwhile, as in Go.
/// With `pin`, thread `i` is pinned to core `i` (see [`pin_to_core`]).
pub fn run_parallel<S>(
    threads: usize,
    pin: bool,
    total: u64,
    grain: u64,
    init: impl Fn(usize) -> S + Sync,
    body: impl Fn(&mut S, u64) + Sync,
) -> Duration {
    let next = AtomicU64::new(0);
    let ready = AtomicUsize::new(0);
    let span = Mutex::new(None::<(Instant, Instant)>);
    let init = &init;
    let body = &body;
    let (next, ready, span_ref) = (&next, &ready, &span);
    thread::scope(|s| {
        for index in 0..threads {
            s.spawn(move || {
                if pin {
                    pin_to_core(index);
                }
                let mut state = init(index);
                ready.fetch_add(1, Ordering::AcqRel);
                while ready.load(Ordering::Acquire) != threads {
                    // Untimed: yield, the other thread may still need this core.
                    thread::yield_now();
                }
                let start = Instant::now();
                loop {
                    let first = next.fetch_add(grain, Ordering::Relaxed);
                    if first >= total {
                        break;
                    }
                    body(&mut state, grain.min(total - first));
                }
                let end = Instant::now();
                let mut span = span_ref.lock().unwrap_or_else(PoisonError::into_inner);
                *span = Some(span.map_or((start, end), |(s, e)| (s.min(start), e.max(end))));
                drop(span);
                drop(state);
            });
        }
    });
    let (start, end) = span
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner)
        .expect("at least one thread");
    end - start
}

/// One implementation of a cell of the `shapes` bench: given the iteration budget and the
/// grain, runs it and returns the wall time.
pub type Runner<'a> = Box<dyn Fn(u64, u64) -> Duration + 'a>;

/// Go's `b.N` search, shortened: grow `N` until one run takes a fifth of `target`, then scale
/// it to `target` by the fastest of three runs of that size (a run slowed by another process
/// would otherwise shrink every sample). The grain is Go's: the iterations of about 100 µs,
/// between 1 and 10,000.
pub fn calibrate(run: &Runner<'_>, target: Duration) -> (u64, u64) {
    let mut n: u64 = 1;
    let mut grain: u64 = 1;
    loop {
        let took = run(n, grain).max(Duration::from_nanos(1));
        grain = ((1e5 * n as f64 / took.as_nanos() as f64) as u64).clamp(1, 10_000);
        if took >= target / 5 || n >= 1 << 40 {
            let best = (0..2).map(|_| run(n, grain)).fold(took, Duration::min);
            let ns = best.as_nanos().max(1) as f64;
            grain = ((1e5 * n as f64 / ns) as u64).clamp(1, 10_000);
            let scaled = (n as f64 * target.as_nanos() as f64 / ns).ceil() as u64;
            return (scaled.max(1), grain);
        }
        let predicted = n as f64 * 1.2 * (target / 5).as_nanos() as f64 / took.as_nanos() as f64;
        n = (predicted as u64).clamp(n + 1, n * 100);
    }
}
