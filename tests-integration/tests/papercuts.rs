//! Issue 10, item 5: a count-typed `add`, and the waiter limit.

use groupwait::{Error, WaitGroup};

#[test]
fn add_count_takes_a_length_without_a_cast() {
    let jobs = vec!["a", "b", "c"];
    let wg = WaitGroup::new();
    wg.add_count(jobs.len());
    assert_eq!(wg.count(), jobs.len());
    std::thread::scope(|s| {
        for _ in &jobs {
            s.spawn(|| wg.done());
        }
    });
    wg.wait();
    wg.add_count(0);
    assert_eq!(wg.count(), 0);
}

#[test]
fn try_add_count_refuses_what_does_not_fit_and_leaves_the_group() {
    let wg = WaitGroup::new();
    assert_eq!(
        wg.try_add_count(usize::MAX),
        Err(Error::CounterOverflow { delta: isize::MAX })
    );
    // One past the counter: its delta as an `isize` (on 32-bit targets `isize::MAX` itself,
    // the length not fitting an `isize` there).
    let past = i32::MAX as usize + 1;
    assert_eq!(
        wg.try_add_count(past),
        Err(Error::CounterOverflow {
            delta: isize::try_from(past).unwrap_or(isize::MAX)
        })
    );
    assert_eq!(wg.count(), 0);
    assert_eq!(wg.try_add_count(i32::MAX as usize), Ok(()));
    assert!(matches!(
        wg.try_add_count(1),
        Err(Error::CounterOverflow { .. })
    ));
    wg.add(-(i32::MAX as isize));
}

#[test]
#[should_panic(expected = "WaitGroup counter overflow")]
fn add_count_panics_on_overflow() {
    WaitGroup::new().add_count(usize::MAX);
}
