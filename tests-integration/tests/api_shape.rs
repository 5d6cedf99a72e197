//! The promises of the type itself: size, traits, `const`.

use groupwait::{Error, Guard, WaitGroup};

const fn assert_send_sync<T: Send + Sync>() {}
const fn assert_send<T: Send>() {}
const _: () = assert_send_sync::<WaitGroup>();
const _: () = assert_send::<Guard<'static>>();
const _: () = assert_send_sync::<Error>();

#[test]
fn a_group_is_at_most_sixteen_bytes() {
    assert!(std::mem::size_of::<WaitGroup>() <= 16);
    assert!(std::mem::size_of::<Guard<'_>>() <= std::mem::size_of::<usize>());
}

#[test]
fn a_tracked_small_future_is_at_most_16_bytes() {
    // A spawned future's size sets its task's: at 24 bytes or less, a tokio task of
    // `track_owned(async {})` is a 128-byte cell, as one of `async {}` alone; 32 bytes take
    // it to 256 (benches/async_fanout.rs measures what that costs). 16 is the future and the
    // unit, as `TaskTracker::track_future`'s. Not a timing: a layout. (The bound for larger
    // futures is a unit test next to the wrapper, `src/track.rs`.)
    let wg = std::sync::Arc::new(WaitGroup::new());
    assert!(std::mem::size_of_val(&wg.track_owned(async {})) <= 16);
    assert!(std::mem::size_of_val(&wg.track(async {})) <= 16);
}

#[test]
fn new_is_const_and_default_is_new() {
    static GROUP: WaitGroup = WaitGroup::new();
    let wg = &GROUP;
    assert_eq!(wg.count(), 0);
    assert_eq!(format!("{:?}", WaitGroup::default()), format!("{wg:?}"));
}

#[test]
fn debug_shows_counter_and_waiters() {
    let wg = WaitGroup::new();
    wg.add(3);
    assert_eq!(
        format!("{wg:?}"),
        "WaitGroup { count: 3, waiters: 0, panicked: false }"
    );
    let guard = wg.guard();
    assert!(format!("{guard:?}").contains("count: 4"));
}

#[test]
fn a_wait_future_is_at_most_48_bytes() {
    // BENCHMARKS.md's "Futures" table: groupwait::Wait (wait_async) | 48.
    let wg = WaitGroup::new();
    assert!(
        std::mem::size_of_val(&wg.wait_async()) <= 48,
        "Wait is {} bytes",
        std::mem::size_of_val(&wg.wait_async())
    );
}

#[test]
#[cfg_attr(
    miri,
    ignore = "reads the repository's documents (Miri isolates the file system)"
)]
fn every_document_states_the_same_waiter_limit() {
    // The state word counts waiters in 23 bits (groupwait/src/state.rs); DESIGN.md once said
    // 2^24 - 1 (issue 20, item 9). Each document that states the limit states this one.
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    for file in [
        "DESIGN.md",
        "README.md",
        "groupwait/src/state.rs",
        "groupwait/src/wait_group.rs",
    ] {
        let text = std::fs::read_to_string(root.join(file)).unwrap();
        assert!(text.contains("2^23 - 1"), "{file} does not state the limit");
        for wrong in ["2^24 - 1", "2^22 - 1", "2^32 - 1 waiters"] {
            assert!(!text.contains(wrong), "{file} says {wrong}");
        }
    }
}
