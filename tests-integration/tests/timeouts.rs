//! Timed waits: never early, woken by `done`, and leaving no trace when they give up.

mod support;

use groupwait::WaitGroup;
use std::sync::Barrier;
use std::time::{Duration, Instant};

#[test]
fn timed_wait_never_returns_false_before_the_timeout() {
    let wg = WaitGroup::new();
    wg.add(1);
    for millis in [0, 1, 5, 20] {
        let timeout = Duration::from_millis(millis);
        let start = Instant::now();
        assert!(!wg.wait_timeout(timeout));
        assert!(start.elapsed() >= timeout, "gave up early for {timeout:?}");
    }
    let deadline = Instant::now() + Duration::from_millis(10);
    assert!(!wg.wait_deadline(deadline));
    assert!(Instant::now() >= deadline);
}

#[test]
fn timed_wait_on_zero_is_true_even_with_a_past_deadline() {
    let wg = WaitGroup::new();
    assert!(wg.wait_timeout(Duration::ZERO));
    assert!(wg.wait_deadline(Instant::now() - Duration::from_millis(1)));
}

#[test]
fn timed_wait_is_woken_by_the_last_done() {
    let wg = WaitGroup::new();
    wg.add(2);
    let me = support::this_thread_state();
    std::thread::scope(|s| {
        s.spawn(|| {
            wg.done();
            // The last `done` comes once the waiter is asleep (where that can be observed).
            support::wait_for_sleeping_waiter(&wg, me.as_deref());
            wg.done();
        });
        // Far longer than the wake-up takes: only the `done` ends this wait in a passing run.
        assert!(wg.wait_timeout(support::PATIENCE));
    });
    assert_eq!(wg.count(), 0);
}

#[test]
fn huge_timeout_waits_like_wait() {
    let wg = WaitGroup::new();
    wg.add(1);
    std::thread::scope(|s| {
        s.spawn(|| wg.done());
        assert!(wg.wait_timeout(Duration::MAX));
    });
}

#[test]
fn timed_out_waiter_leaves_no_trace() {
    let wg = WaitGroup::new();
    wg.add(1);
    std::thread::scope(|s| {
        let timers: Vec<_> = (0..4)
            .map(|_| s.spawn(|| wg.wait_timeout(Duration::from_millis(10))))
            .collect();
        for timer in timers {
            assert!(!timer.join().unwrap());
        }
    });
    // The waiter count is back to zero, and nothing else changed.
    assert_eq!(
        format!("{wg:?}"),
        "WaitGroup { count: 1, waiters: 0, panicked: false }"
    );
    wg.done();
    assert_eq!(
        format!("{wg:?}"),
        "WaitGroup { count: 0, waiters: 0, panicked: false }"
    );
}

#[test]
fn timed_out_waiter_leaves_no_stray_wakeup_for_the_next_waiter() {
    let wg = WaitGroup::new();
    wg.add(1);
    assert!(!wg.wait_timeout(Duration::from_millis(5)));
    // A later waiter must not be let through by anything the timed-out one left behind: it
    // times out too, as long as the counter is not zero.
    std::thread::scope(|s| {
        let later = s.spawn(|| wg.wait_timeout(Duration::from_millis(30)));
        assert!(!later.join().unwrap());
    });
    assert_eq!(wg.count(), 1);
    wg.done();
    assert!(wg.wait_timeout(Duration::ZERO));
}

#[test]
fn timeouts_racing_the_last_done_all_settle() {
    // Waiters whose timeouts expire around the moment of the last `done`: each one either
    // times out or sees zero, and afterwards the group is clean and reusable. A barrier starts
    // the waiters and the `done` together, so the short timeouts really race it.
    // At least `rounds` rounds, and more (up to `max_rounds`) until both outcomes were seen.
    let (rounds, max_rounds): (u32, u32) = if cfg!(miri) { (5, 100) } else { (500, 50_000) };
    let wg = WaitGroup::new();
    let start = Barrier::new(4);
    let mut outcomes = [0_u32; 2];
    let mut round = 0;
    while round < rounds || outcomes.contains(&0) {
        assert!(
            round < max_rounds,
            "after {round} rounds, timed out {} times and released {} times: the race was not run",
            outcomes[0],
            outcomes[1]
        );
        wg.add(1);
        std::thread::scope(|s| {
            let waiters: Vec<_> = (0..3_u32)
                .map(|i| {
                    let timeout = Duration::from_micros(u64::from((round % 5) * 10 + i * 5));
                    let (wg, start) = (&wg, &start);
                    s.spawn(move || {
                        start.wait();
                        let released = wg.wait_timeout(timeout);
                        (released, wg.count())
                    })
                })
                .collect();
            start.wait();
            // Give the waiters a head start of 0, 1 or 200 yields: 200 outlast a waiter's
            // spin (under Miri, whose scheduler otherwise lets the `done` come first).
            for _ in 0..[0, 1, 200][round as usize % 3] {
                std::thread::yield_now();
            }
            wg.done();
            for waiter in waiters {
                let (released, count_after) = waiter.join().unwrap();
                // `true` only once the counter is zero; `false` is allowed either way.
                if released {
                    assert_eq!(count_after, 0);
                }
                outcomes[usize::from(released)] += 1;
            }
        });
        assert_eq!(
            format!("{wg:?}"),
            "WaitGroup { count: 0, waiters: 0, panicked: false }"
        );
        round += 1;
    }
}
