//! Thread fan-out: one round is `add(N)`, spawn `N` threads that each call `done`, `wait`;
//! timed until `wait` returns (the threads are joined after, untimed). The same use on every
//! side; the round is dominated by thread creation.
//!
//! `scope` is `std::thread::scope` spawning the same `N` threads, `join` spawns them and joins
//! every handle, `atomic` counts down an atomic and spins (yielding) until it is zero.
//! `N` = 2, 4, 16, 64, 256, 1024; a sample is enough rounds for 10 ms, in µs per round.
//!
//! ```text
//! cargo bench -p benches --bench fanout                  # all N, about 10 s
//! cargo bench -p benches --bench fanout -- --quick 1024  # fewer, shorter samples; N = 1024 only
//! ```

use benches::{
    cores, interleave, set_spin_policy, AtomicGroup, CondvarGroup, Group, Opts, Sink, SpinPolicy,
};
use crossbeam_utils::sync::WaitGroup as CbWaitGroup;
use groupwait::WaitGroup;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

fn main() {
    cores();
    let opts = Opts::parse();
    let mut sink = Sink::new(opts.out.clone());
    // Up to 1024 threads at once: the spinning waiter of `atomic` must let them run.
    set_spin_policy(SpinPolicy::Oversubscribed);
    type Round = fn(u32) -> Duration;
    let cases: [(&str, Round); 6] = [
        ("groupwait", fanout_group::<WaitGroup>),
        ("atomic", fanout_group::<AtomicGroup>),
        ("crossbeam", fanout_crossbeam),
        ("condvar", fanout_group::<CondvarGroup>),
        ("scope", fanout_scope),
        ("join", fanout_join),
    ];
    let min_sample = opts.sample_time(Duration::from_millis(10));
    for n in [2, 4, 16, 64, 256, 1024] {
        let cell = n.to_string();
        if !opts.selects(&cell) {
            continue;
        }
        // Rounds per sample: enough for `min_sample`, judged from one warm-up round each.
        let rounds: Vec<u32> = cases
            .iter()
            .map(|(_, round)| {
                let one = round(n).max(Duration::from_micros(1));
                (min_sample.as_nanos() / one.as_nanos()).clamp(1, 1000) as u32
            })
            .collect();
        let samples = interleave(opts.reps(11), cases.len(), |i, out| {
            let total: Duration = (0..rounds[i]).map(|_| cases[i].1(n)).sum();
            out.push(total.as_nanos() as f64 / f64::from(rounds[i]));
        });
        for ((name, _), s) in cases.iter().zip(&samples) {
            sink.record("fanout", &cell, 1, name, s);
        }
    }
}

fn fanout_group<G: Group>(n: u32) -> Duration {
    let g = Arc::new(G::create());
    let start = Instant::now();
    g.add_n(n);
    let workers: Vec<_> = (0..n)
        .map(|_| {
            let g = Arc::clone(&g);
            thread::spawn(move || g.done())
        })
        .collect();
    g.wait();
    let took = start.elapsed();
    for w in workers {
        w.join().expect("the worker only calls done");
    }
    took
}

fn fanout_crossbeam(n: u32) -> Duration {
    let start = Instant::now();
    let wg = CbWaitGroup::new();
    let workers: Vec<_> = (0..n)
        .map(|_| {
            let handle = wg.clone();
            thread::spawn(move || drop(handle))
        })
        .collect();
    wg.wait();
    let took = start.elapsed();
    for w in workers {
        w.join().expect("the worker only drops its handle");
    }
    took
}

fn fanout_scope(n: u32) -> Duration {
    let start = Instant::now();
    thread::scope(|s| {
        for _ in 0..n {
            s.spawn(|| {});
        }
    });
    start.elapsed()
}

fn fanout_join(n: u32) -> Duration {
    let start = Instant::now();
    let workers: Vec<_> = (0..n).map(|_| thread::spawn(|| {})).collect();
    for w in workers {
        w.join().expect("the worker does nothing");
    }
    start.elapsed()
}
