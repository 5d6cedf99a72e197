//! A re-poll decides "same waker as before" by the identity of the clone kept in the table,
//! never by that of an earlier poll's waker, which may be gone (issue 20, item 1).
//!
//! The executor here hands out a per-poll waker whose `clone` is a new handle (another data
//! pointer, which is legal), and reuses a freed handle for the next waker it makes, as an
//! allocator reuses a freed address. A future moved to another task whose waker lands on the
//! first task's freed per-poll handle must still be re-registered: the release wakes the new
//! task, not the old one.

// `Waker::from_raw` is the only way to make a waker whose clone has another data pointer; the
// data pointers here are plain numbers (handle indices), never dereferenced.
#![allow(unsafe_code)]

use groupwait::WaitGroup;
use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, RawWaker, RawWakerVTable, Waker};

/// A task of the hand-made executor: how often it was woken.
#[derive(Default)]
struct Task {
    woken: AtomicUsize,
}

/// The executor's live waker handles: index `i` is the waker whose data pointer is `i + 1`.
/// A new handle takes the lowest free index, so a freed handle's identity comes back at once.
static HANDLES: Mutex<Vec<Option<Arc<Task>>>> = Mutex::new(Vec::new());

/// The tests of this file share [`HANDLES`]; each holds this for its whole run.
fn serial() -> MutexGuard<'static, ()> {
    static SERIAL: Mutex<()> = Mutex::new(());
    SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn handles() -> MutexGuard<'static, Vec<Option<Arc<Task>>>> {
    HANDLES
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A new handle for `task`, at the lowest free index.
fn new_handle(task: Arc<Task>) -> *const () {
    let mut handles = handles();
    let index = match handles.iter().position(Option::is_none) {
        Some(free) => free,
        None => {
            handles.push(None);
            handles.len() - 1
        }
    };
    handles[index] = Some(task);
    std::ptr::without_provenance(index + 1)
}

fn task_of(data: *const ()) -> Arc<Task> {
    let handles = handles();
    Arc::clone(
        handles[data.addr() - 1]
            .as_ref()
            .expect("a live waker's handle"),
    )
}

fn free_handle(data: *const ()) {
    handles()[data.addr() - 1] = None;
}

const VTABLE: RawWakerVTable = RawWakerVTable::new(clone, wake, wake_by_ref, drop_handle);

fn clone(data: *const ()) -> RawWaker {
    RawWaker::new(new_handle(task_of(data)), &VTABLE)
}

fn wake(data: *const ()) {
    wake_by_ref(data);
    free_handle(data);
}

fn wake_by_ref(data: *const ()) {
    task_of(data).woken.fetch_add(1, Ordering::Relaxed);
}

fn drop_handle(data: *const ()) {
    free_handle(data);
}

/// A per-poll waker of `task`, on a new handle.
fn waker_of(task: &Arc<Task>) -> Waker {
    let raw = RawWaker::new(new_handle(Arc::clone(task)), &VTABLE);
    // SAFETY: the vtable's functions follow `RawWaker`'s contract: `clone` makes a new handle
    // of the same task, `wake` and `drop` free the handle they are given (once: each handle
    // belongs to one waker), `wake_by_ref` frees nothing; the data pointer is an index, never
    // dereferenced, and the table is behind a lock, so any thread may call them.
    unsafe { Waker::from_raw(raw) }
}

/// Polls `future` once with a per-poll waker of `task`, dropped after the poll; `true` if ready.
fn poll_once<F: Future>(future: std::pin::Pin<&mut F>, task: &Arc<Task>) -> bool {
    let waker = waker_of(task);
    future.poll(&mut Context::from_waker(&waker)).is_ready()
}

/// The scenario: task A polls the future (the table keeps a clone of A's per-poll waker, on
/// its own handle), A's per-poll waker is freed, the future moves to task B, whose per-poll
/// waker takes the freed handle, and B polls. Returns the wake-ups of A and B after `release`.
fn moved_after_a_freed_waker_was_reused<F: Future>(
    future: F,
    release: impl FnOnce(),
) -> (usize, usize) {
    let (a, b) = (Arc::new(Task::default()), Arc::new(Task::default()));
    let mut future = pin!(future);
    let waker_a = waker_of(&a);
    let a_handle = waker_a.data();
    assert!(future
        .as_mut()
        .poll(&mut Context::from_waker(&waker_a))
        .is_pending());
    drop(waker_a);
    let waker_b = waker_of(&b);
    assert_eq!(
        waker_b.data(),
        a_handle,
        "the instrument: B's waker reuses A's freed handle"
    );
    assert!(future
        .as_mut()
        .poll(&mut Context::from_waker(&waker_b))
        .is_pending());
    drop(waker_b);
    release();
    let woken = (
        a.woken.load(Ordering::Relaxed),
        b.woken.load(Ordering::Relaxed),
    );
    // The future completes once polled by its (new) task.
    assert!(poll_once(future, &b));
    woken
}

#[test]
fn a_wait_moved_to_a_task_whose_waker_reuses_a_freed_address_wakes_that_task() {
    let _serial = serial();
    let wg = WaitGroup::new();
    wg.add(1);
    let woken = moved_after_a_freed_waker_was_reused(wg.wait_async(), || wg.done());
    assert_eq!(woken, (0, 1), "(task A, task B) woken by the release");
}

#[test]
fn a_drain_moved_to_a_task_whose_waker_reuses_a_freed_address_wakes_that_task() {
    let _serial = serial();
    let wg = WaitGroup::new();
    wg.add(1);
    let woken = moved_after_a_freed_waker_was_reused(wg.wait_drained_async(), || wg.done());
    assert_eq!(woken, (0, 1), "(task A, task B) woken by the drain");
}

#[test]
fn an_outcome_wait_moved_to_a_task_whose_waker_reuses_a_freed_address_wakes_that_task() {
    let _serial = serial();
    let wg = WaitGroup::new();
    wg.add(1);
    let woken = moved_after_a_freed_waker_was_reused(wg.wait_outcome_async(), || wg.done());
    assert_eq!(woken, (0, 1), "(task A, task B) woken by the release");
}

#[test]
fn every_handle_is_given_back() {
    let _serial = serial();
    let wg = WaitGroup::new();
    wg.add(1);
    moved_after_a_freed_waker_was_reused(wg.wait_async(), || wg.done());
    assert!(
        handles().iter().all(Option::is_none),
        "the table kept or leaked a waker"
    );
}
