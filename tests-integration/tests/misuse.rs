//! Misuse is reported, and leaves the group as it was: the refused write is undone before the
//! call returns, and correct calls that land on it meanwhile back off instead of failing.

mod support;

use groupwait::{Error, WaitGroup};
use std::panic::{catch_unwind, AssertUnwindSafe};

fn debug(wg: &WaitGroup) -> String {
    format!("{wg:?}")
}

#[test]
fn try_add_refuses_a_negative_counter_and_changes_nothing() {
    let wg = WaitGroup::new();
    assert_eq!(wg.try_add(-1), Err(Error::NegativeCounter));
    wg.add(2);
    assert_eq!(wg.try_add(-3), Err(Error::NegativeCounter));
    assert_eq!(wg.count(), 2);
    assert_eq!(wg.try_add(-2), Ok(()));
    assert_eq!(wg.count(), 0);
}

#[test]
fn deltas_outside_the_counter_range_are_refused() {
    let wg = WaitGroup::new();
    wg.add(1);
    // Wider than the 32-bit counter in either direction (on a 32-bit target only the
    // negative extreme of `isize` is).
    let deltas: Vec<isize> = [
        1_i64 << 32,
        i32::MAX as i64 + 1,
        isize::MAX as i64,
        isize::MIN as i64,
        -(1_i64 << 32),
        i32::MIN as i64,
    ]
    .into_iter()
    .filter_map(|d| isize::try_from(d).ok())
    .filter(|d| d.unsigned_abs() > i32::MAX as usize)
    .collect();
    assert!(deltas.contains(&isize::MIN));
    for delta in deltas {
        assert_eq!(
            wg.try_add(delta),
            Err(Error::CounterOverflow { delta }),
            "{delta}"
        );
        assert_eq!(wg.count(), 1);
    }
}

#[test]
fn counter_overflow_is_refused_not_truncated() {
    let wg = WaitGroup::new();
    wg.add(i32::MAX as isize);
    assert_eq!(wg.count(), i32::MAX as usize);
    assert_eq!(wg.try_add(1), Err(Error::CounterOverflow { delta: 1 }));
    assert_eq!(wg.count(), i32::MAX as usize);
    wg.add(-(i32::MAX as isize));
    assert_eq!(
        debug(&wg),
        "WaitGroup { count: 0, waiters: 0, panicked: false }"
    );
}

#[test]
fn add_panics_with_the_overflow_message_and_leaves_the_state() {
    let wg = WaitGroup::new();
    wg.add(5);
    let before = debug(&wg);
    let caught = catch_unwind(AssertUnwindSafe(|| wg.add(isize::MIN))).unwrap_err();
    let text = caught.downcast_ref::<String>().unwrap();
    assert!(text.contains("WaitGroup counter overflow"), "{text}");
    assert_eq!(debug(&wg), before);
}

#[test]
fn a_failed_done_leaves_the_state_and_the_group_keeps_working() {
    let wg = WaitGroup::new();
    let caught = catch_unwind(AssertUnwindSafe(|| wg.done())).unwrap_err();
    assert!(caught
        .downcast_ref::<String>()
        .unwrap()
        .contains("negative WaitGroup counter"));
    assert_eq!(
        debug(&wg),
        "WaitGroup { count: 0, waiters: 0, panicked: false }"
    );
    wg.add(1);
    std::thread::scope(|s| {
        s.spawn(|| wg.done());
        wg.wait();
    });
}

#[test]
fn add_zero_is_a_no_op() {
    let wg = WaitGroup::new();
    wg.add(0);
    assert_eq!(wg.try_add(0), Ok(()));
    assert_eq!(wg.count(), 0);
}

#[test]
fn errors_read_like_gos_panics() {
    assert!(Error::NegativeCounter
        .to_string()
        .contains("negative WaitGroup counter"));
    assert!(Error::AddDuringWait
        .to_string()
        .contains("WaitGroup misuse: Add called concurrently with Wait"));
    assert!(Error::CounterOverflow { delta: 7 }
        .to_string()
        .contains("WaitGroup counter overflow"));
    let boxed: Box<dyn std::error::Error> = Box::new(Error::NegativeCounter);
    assert!(boxed.source().is_none());
}

#[test]
fn refused_adds_never_disturb_correct_calls_on_other_threads() {
    // A misusing thread hammers the group with deltas that must be refused; a correct thread
    // adds and finishes work at the same time. Each refused call writes its delta (the counter
    // wraps negative or goes below zero) and undoes it; a correct call that lands on such a
    // value sees a negative counter, takes its own write back, waits for the undo and writes
    // again: the correct thread never fails, and the count ends exact.
    let rounds = if cfg!(miri) { 200 } else { 200_000 };
    let wg = WaitGroup::new();
    wg.add(1);
    let stop = support::Stop::default();
    std::thread::scope(|s| {
        // Raised also when this thread panics, so the misusing thread stops and the failure
        // is reported instead of the scope waiting for it forever.
        let _stop = stop.on_drop();
        s.spawn(|| {
            while !stop.raised() {
                assert!(wg.try_add(i32::MAX as isize).is_err());
                assert!(wg.try_add(-(i32::MAX as isize)).is_err());
            }
        });
        for _ in 0..rounds {
            wg.add(1);
            wg.done();
        }
    });
    assert_eq!(wg.count(), 1);
    wg.done();
    wg.wait();
}
