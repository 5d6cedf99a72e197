//! Issue 10, item 2: a guard that owns its group, for `'static` jobs (thread pools,
//! `tokio::task::spawn_blocking`), and `go` on a `static` group.

mod support;

use groupwait::{OwnedGuard, TaskKind, WaitGroup};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use support::PATIENCE;

const fn assert_send_sync_static<T: Send + Sync + 'static>() {}
const _: () = assert_send_sync_static::<OwnedGuard>();

/// A job for a pool that, like `rayon::spawn` or a thread pool, only takes `'static` jobs.
type Job = Box<dyn FnOnce() + Send + 'static>;

/// A minimal pool of `'static` jobs: `workers` threads taking jobs from a channel. A job that
/// panics kills its worker (no `catch_unwind` here); the other workers go on.
fn pool(workers: usize) -> (mpsc::Sender<Job>, Vec<std::thread::JoinHandle<()>>) {
    let (sender, receiver) = mpsc::channel::<Job>();
    let receiver = Arc::new(Mutex::new(receiver));
    let handles = (0..workers)
        .map(|_| {
            let receiver = Arc::clone(&receiver);
            std::thread::spawn(move || loop {
                let job = receiver.lock().unwrap().recv();
                match job {
                    Ok(job) => job(),
                    Err(_) => return,
                }
            })
        })
        .collect();
    (sender, handles)
}

#[test]
fn owned_guards_count_static_jobs_on_a_pool_and_report_a_panicking_one() {
    let wg = Arc::new(WaitGroup::new());
    let ran = Arc::new(AtomicUsize::new(0));
    let (jobs, workers) = pool(3);
    let n = if cfg!(miri) { 6 } else { 60 };
    for i in 0..n {
        let guard = wg.guard_owned(); // counted in the submitting thread
        let ran = Arc::clone(&ran);
        jobs.send(Box::new(move || {
            let _guard = guard; // `done` when the job ends, also by a panic
            assert!(i != n / 2, "job {i} failed");
            ran.fetch_add(1, Ordering::Relaxed);
        }))
        .unwrap();
    }
    drop(jobs);
    let report = wg.wait_outcome().unwrap_err();
    assert_eq!(report.kind(), TaskKind::Guard);
    assert_eq!(report.count(), 1);
    assert_eq!(ran.load(Ordering::Relaxed), n - 1);
    // The panicking job took its worker down; the others end when the channel closes.
    let failed = workers.into_iter().map(|w| w.join().is_err());
    assert_eq!(failed.filter(|&f| f).count(), 1);
}

#[test]
fn an_owned_guard_keeps_the_group_alive_after_the_last_other_reference_is_gone() {
    let wg = Arc::new(WaitGroup::new());
    let guard = wg.guard_owned();
    let weak = Arc::downgrade(&wg);
    let waiter = {
        let wg = Arc::clone(&wg);
        std::thread::spawn(move || wg.wait_timeout(PATIENCE))
    };
    drop(wg);
    assert!(weak.upgrade().is_some());
    assert_eq!(guard.group().count(), 1);
    drop(guard);
    assert!(waiter.join().unwrap());
    assert!(weak.upgrade().is_none());
}

#[test]
fn guard_static_and_go_static_work_on_a_static_group() {
    static BACKGROUND: WaitGroup = WaitGroup::new();
    static HITS: AtomicUsize = AtomicUsize::new(0);
    let guard = BACKGROUND.guard_static();
    let job = std::thread::spawn(move || {
        let _guard = guard;
        HITS.fetch_add(1, Ordering::Relaxed);
    });
    for _ in 0..3 {
        BACKGROUND.go_static(|| {
            HITS.fetch_add(1, Ordering::Relaxed);
        });
    }
    BACKGROUND.wait();
    assert_eq!(HITS.load(Ordering::Relaxed), 4);
    job.join().unwrap();
    // A panicking `go_static` task is carried to the waiter like a `go` task's.
    BACKGROUND
        .go_static(|| panic!("static task"))
        .join()
        .unwrap();
    let mut report = BACKGROUND.wait_outcome().unwrap_err();
    assert_eq!(report.kind(), TaskKind::Go);
    assert!(report.take_payload().is_some());
}

#[test]
#[cfg_attr(miri, ignore = "tokio's blocking pool is too slow under Miri")]
fn owned_guards_count_spawn_blocking_jobs_on_tokio() {
    let runtime = support::runtime();
    runtime.block_on(async {
        let wg = Arc::new(WaitGroup::new());
        let mut handles = Vec::new();
        for i in 0..8_u32 {
            let guard = wg.guard_owned();
            handles.push(tokio::task::spawn_blocking(move || {
                let _guard = guard;
                assert!(i != 5, "blocking job {i} failed");
                i
            }));
        }
        let report = tokio::time::timeout(PATIENCE, wg.wait_outcome_async())
            .await
            .expect("the blocking jobs finished")
            .unwrap_err();
        assert_eq!(report.kind(), TaskKind::Guard);
        let mut failed = 0;
        for handle in handles {
            failed += usize::from(handle.await.is_err());
        }
        assert_eq!(failed, 1);
    });
}

#[test]
fn debug_shows_the_group() {
    let wg = Arc::new(WaitGroup::new());
    let guard = wg.guard_owned();
    assert!(format!("{guard:?}").contains("count: 1"));
}
