//! The cost of a panicked round beside many other groups holding old panic reports (issue 20,
//! item 8). Each idle group here had a task panic under a guard and its report delivered to a
//! waiter: the report stays until the group's next `add` or its drop. One sample: a round of a
//! fresh group in which a guarded task panics (on this thread, the panic hook silenced), then
//! `wait_outcome` takes the report; ns per round, median of 2,001 rounds, beside 0, 20,000 and
//! 80,000 such idle groups. `cargo bench -p benches --bench panic_reports`.

use groupwait::WaitGroup;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

const ROUNDS: usize = 2_001;

/// A round of `wg` in which a guarded task panics; the outcome wait takes its report.
fn panicked_round(wg: &WaitGroup) {
    let guard = wg.guard();
    let _ = catch_unwind(AssertUnwindSafe(|| {
        let _guard = guard;
        std::panic::panic_any(());
    }));
    assert!(wg.wait_outcome().is_err());
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn main() {
    std::panic::set_hook(Box::new(|_| {}));
    println!("\nA panicked round (a guarded task panics, `wait_outcome` takes the report), median of {ROUNDS}");
    println!("| idle groups holding a delivered report | ns per round |");
    println!("|---:|---:|");
    let mut idle: Vec<WaitGroup> = Vec::new();
    for others in [0, 20_000, 80_000] {
        while idle.len() < others {
            let wg = WaitGroup::new();
            panicked_round(&wg);
            idle.push(wg);
        }
        let samples = (0..ROUNDS)
            .map(|_| {
                let wg = WaitGroup::new();
                let start = Instant::now();
                panicked_round(&wg);
                start.elapsed()
            })
            .collect();
        println!("| {others} | {} |", median(samples).as_nanos());
    }
    let _ = std::panic::take_hook();
}
