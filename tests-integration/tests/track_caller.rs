//! Misuse panics point at the caller's line (`#[track_caller]`). Its own test binary, since it
//! installs a process-wide panic hook.

use groupwait::WaitGroup;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex};

#[test]
fn misuse_panics_point_at_the_callers_line() {
    let seen: Arc<Mutex<Vec<(String, u32)>>> = Arc::default();
    let record = Arc::clone(&seen);
    std::panic::set_hook(Box::new(move |info| {
        if let Some(location) = info.location() {
            record
                .lock()
                .unwrap()
                .push((location.file().to_string(), location.line()));
        }
    }));
    let wg = WaitGroup::new();
    let done_line = line!() + 1;
    let done = catch_unwind(AssertUnwindSafe(|| wg.done()));
    let add_line = line!() + 1;
    let add = catch_unwind(AssertUnwindSafe(|| wg.add(isize::MIN)));
    let guard_line = line!() + 1;
    let guard = catch_unwind(AssertUnwindSafe(|| {
        wg.add(i32::MAX as isize);
        let _guard = wg.guard();
    }));
    drop(std::panic::take_hook());
    assert!(done.is_err() && add.is_err() && guard.is_err());
    let seen = seen.lock().unwrap();
    let file = file!().to_string();
    assert_eq!(
        *seen,
        [
            (file.clone(), done_line),
            (file.clone(), add_line),
            (file, guard_line + 2)
        ]
    );
}
