//! Wake latency of a sleeping waiter: from just before the `done` that brings the counter to
//! zero until the waiter's `wait` returns on another thread, both read from one monotonic
//! clock. The same use on every side.
//!
//! Each round the releasing thread busy-waits 100 µs first (untimed), so the waiter has long
//! finished spinning and sleeps in the kernel. `futex` is the same round on a raw futex word
//! (`FUTEX_WAIT`/`FUTEX_WAKE`, no spinning): the floor. `futex ping-pong` is two threads
//! waking each other through futexes, the time per one-way hand-off (a round trip halved), for
//! reference. crossbeam's group cannot be reused, so its round builds a new one, untimed.
//!
//! ```text
//! cargo bench -p benches --bench wake                         # 15 blocks of 100 rounds per implementation
//! cargo bench -p benches --bench wake -- --quick --out w.tsv  # fewer blocks; keep the samples
//! ```

// The futex system calls of the floor; each unsafe block has a SAFETY comment.
#![allow(unsafe_code)]

use benches::{cores, interleave, pin_to_core, CondvarGroup, Group, Opts, PollingWorker, Sink};
use crossbeam_utils::sync::WaitGroup as CbWaitGroup;
use groupwait::WaitGroup;
use std::hint::spin_loop;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

fn main() {
    cores(); // before any thread is pinned
    let opts = Opts::parse();
    if !opts.selects("sleeping waiter") {
        return;
    }
    let mut sink = Sink::new(opts.out.clone());
    let blocks = opts.reps(15);
    let ping_pongs = opts.reps(7);
    type Case = (&'static str, fn(u64) -> Vec<f64>);
    let mut cases: Vec<Case> = vec![
        ("groupwait", |r| wake_rounds(WaitGroup::new(), r)),
        ("condvar", |r| wake_rounds(CondvarGroup::new(), r)),
        ("crossbeam", |r| wake_rounds(CbWake::default(), r)),
    ];
    #[cfg(target_os = "linux")]
    cases.push(("futex", |r| wake_rounds(FutexWake::default(), r)));
    // The releasing side runs on a thread pinned to core 0; the waiters pin themselves to
    // core 1.
    let (samples, ping_pong) = thread::spawn(move || {
        pin_to_core(0);
        let samples = interleave(blocks, cases.len(), |i, out| out.extend(cases[i].1(100)));
        #[cfg(target_os = "linux")]
        let ping_pong: Vec<f64> = (0..ping_pongs).map(|_| futex_ping_pong(5_000)).collect();
        #[cfg(not(target_os = "linux"))]
        let ping_pong: Vec<f64> = Vec::new();
        let names: Vec<&str> = cases.iter().map(|(name, _)| *name).collect();
        (
            names.into_iter().zip(samples).collect::<Vec<_>>(),
            ping_pong,
        )
    })
    .join()
    .expect("the wake benchmarks do not panic");
    for (name, s) in &samples {
        sink.record("wake", "sleeping waiter", 2, name, s);
    }
    if !ping_pong.is_empty() {
        sink.record("wake", "sleeping waiter", 2, "futex ping-pong", &ping_pong);
    }
}

/// One round of the benchmark, split by thread: the releasing thread calls `arm` (untimed),
/// lets the waiter start `wait`, waits until the waiter sleeps, then calls `release` (timed
/// from just before it until `wait` returns on the other thread).
trait WakeCase: Send + Sync + 'static {
    fn arm(&self);
    fn wait(&self);
    fn release(&self);
}

impl<G: Group> WakeCase for G {
    fn arm(&self) {
        self.add1();
    }
    fn wait(&self) {
        Group::wait(self);
    }
    fn release(&self) {
        self.done();
    }
}

/// crossbeam: a new group each round; the waiter takes its handle from one slot, the releaser
/// keeps the other handle in the second slot and drops it to release.
#[derive(Default)]
struct CbWake {
    waiter: Mutex<Option<CbWaitGroup>>,
    releaser: Mutex<Option<CbWaitGroup>>,
}

fn take(slot: &Mutex<Option<CbWaitGroup>>) -> Option<CbWaitGroup> {
    slot.lock().unwrap_or_else(PoisonError::into_inner).take()
}

impl WakeCase for CbWake {
    fn arm(&self) {
        let wg = CbWaitGroup::new();
        *self.releaser.lock().unwrap_or_else(PoisonError::into_inner) = Some(wg.clone());
        *self.waiter.lock().unwrap_or_else(PoisonError::into_inner) = Some(wg);
    }
    fn wait(&self) {
        take(&self.waiter).expect("armed").wait();
    }
    fn release(&self) {
        drop(take(&self.releaser));
    }
}

/// How long the releasing thread stays busy before each release: far longer than any waiter's
/// spin (groupwait's is about 2 µs), so the waiter is asleep in the kernel.
const SETTLE: Duration = Duration::from_micros(100);

/// What the waiter thread shares with the releasing one.
struct Waiter<C> {
    case: C,
    /// The last round whose `wait` returned.
    returned: AtomicU64,
    /// When it returned, in ns since `base`.
    stamp: AtomicU64,
    base: Instant,
}

/// Runs `rounds` rounds of `case` with one waiter thread; returns each round's latency in ns.
fn wake_rounds<C: WakeCase>(case: C, rounds: u64) -> Vec<f64> {
    let shared = Waiter {
        case,
        returned: AtomicU64::new(0),
        stamp: AtomicU64::new(0),
        base: Instant::now(),
    };
    let mut waiter = PollingWorker::spawn(1, shared, |w, round| {
        w.case.wait();
        let t1 = w.base.elapsed().as_nanos() as u64;
        w.stamp.store(t1, Ordering::Relaxed);
        // Release: the stamp is visible to whoever sees the round returned.
        w.returned.store(round, Ordering::Release);
    });
    let mut latencies = Vec::with_capacity(rounds as usize);
    for _ in 0..rounds {
        let w = waiter.value();
        w.case.arm();
        let round = waiter.signal();
        let w = waiter.value();
        let settle = Instant::now();
        while settle.elapsed() < SETTLE {
            spin_loop();
        }
        let t0 = w.base.elapsed().as_nanos() as u64;
        w.case.release();
        while w.returned.load(Ordering::Acquire) != round {
            spin_loop();
        }
        let t1 = w.stamp.load(Ordering::Relaxed);
        latencies.push(t1.saturating_sub(t0) as f64);
    }
    latencies
}

/// The floor: a raw futex word. 0 = keep sleeping, 1 = released. The waiter never spins.
#[derive(Default)]
struct FutexWake(AtomicU32);

#[cfg(target_os = "linux")]
fn futex_wait(word: &AtomicU32, expected: u32) {
    // SAFETY: FUTEX_WAIT reads the 4-byte word at a valid, aligned address (an `AtomicU32`
    // borrowed for the whole call) and takes no other pointers (null timeout: no deadline).
    // Spurious returns (EAGAIN, EINTR) are handled by the callers' loops.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAIT | libc::FUTEX_PRIVATE_FLAG,
            expected,
            std::ptr::null::<libc::timespec>(),
        );
    }
}

#[cfg(target_os = "linux")]
fn futex_wake(word: &AtomicU32, n: i32) {
    // SAFETY: FUTEX_WAKE only uses the address as a key; the word is a live `AtomicU32`.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            word.as_ptr(),
            libc::FUTEX_WAKE | libc::FUTEX_PRIVATE_FLAG,
            n,
        );
    }
}

#[cfg(target_os = "linux")]
impl WakeCase for FutexWake {
    fn arm(&self) {
        self.0.store(0, Ordering::Relaxed);
    }
    fn wait(&self) {
        while self.0.load(Ordering::Acquire) == 0 {
            futex_wait(&self.0, 0);
        }
    }
    fn release(&self) {
        self.0.store(1, Ordering::Release);
        futex_wake(&self.0, 1);
    }
}

/// Two threads waking each other through futexes, each always sleeping in `FUTEX_WAIT` when it
/// has nothing to do: ns per one-way hand-off (a round trip halved).
#[cfg(target_os = "linux")]
fn futex_ping_pong(round_trips: u32) -> f64 {
    // 0: the pinger's turn, 1: the ponger's turn, 2: stop.
    let turn = Arc::new(AtomicU32::new(0));
    let ponger = {
        let turn = Arc::clone(&turn);
        thread::spawn(move || {
            pin_to_core(1);
            loop {
                let mut now = turn.load(Ordering::Acquire);
                while now == 0 {
                    futex_wait(&turn, 0);
                    now = turn.load(Ordering::Acquire);
                }
                if now == 2 {
                    break;
                }
                turn.store(0, Ordering::Release);
                futex_wake(&turn, 1);
            }
        })
    };
    let start = Instant::now();
    for _ in 0..round_trips {
        turn.store(1, Ordering::Release);
        futex_wake(&turn, 1);
        while turn.load(Ordering::Acquire) == 1 {
            futex_wait(&turn, 1);
        }
    }
    let took = start.elapsed();
    turn.store(2, Ordering::Release);
    futex_wake(&turn, 1);
    ponger.join().expect("the ponger does not panic");
    took.as_nanos() as f64 / (2.0 * f64::from(round_trips))
}
