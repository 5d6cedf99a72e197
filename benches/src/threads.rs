//! Where the measuring threads run (one per core) and how they busy-wait.

use std::hint::spin_loop;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;
use std::thread;

/// How a busy-waiting loop ([`idle_pause`]) behaves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SpinPolicy {
    /// Spin for (practically) ever: the default, for when every busy thread has a core of its
    /// own; a yield would only hand the core to an unrelated process for a whole time slice.
    Patient,
    /// Yield after a few tens of µs of spinning (about 2,000 polls): for more busy threads
    /// than cores, so that spinners do not starve the threads they wait for.
    Oversubscribed,
}

/// Polls a busy-waiting loop makes before it starts yielding.
static YIELD_AFTER: AtomicU32 = AtomicU32::new(u32::MAX);

/// Sets how every [`idle_pause`] loop of the process behaves from now on.
pub fn set_spin_policy(policy: SpinPolicy) {
    let polls = match policy {
        SpinPolicy::Patient => u32::MAX,
        SpinPolicy::Oversubscribed => 2048,
    };
    YIELD_AFTER.store(polls, Ordering::Relaxed);
}

/// One poll of a busy-waiting loop: `spin_loop`, or `yield_now` once the loop has polled
/// more times than the [`SpinPolicy`] allows. `idle` counts the loop's polls (start at 0).
#[inline]
pub fn idle_pause(idle: &mut u32) {
    *idle = idle.saturating_add(1);
    if *idle < YIELD_AFTER.load(Ordering::Relaxed) {
        spin_loop();
    } else {
        thread::yield_now();
    }
}

/// The machine's cores, as seen the first time this is called: call it before any thread is
/// pinned (`available_parallelism` asks the calling thread's affinity, which a pinned
/// thread, and every thread it spawns, has narrowed to one core).
pub fn cores() -> usize {
    static CORES: OnceLock<usize> = OnceLock::new();
    *CORES.get_or_init(|| thread::available_parallelism().map_or(1, |n| n.get()))
}

/// Pins the calling thread to one core (`index` modulo the number of cores).
///
/// The measuring threads of the spinning shapes are pinned one per core, and a worker to the
/// core next to its waiter's. Otherwise, on a machine busy with other work, the kernel places
/// a new thread on its parent's core and may leave two spinning threads of ours on one core for
/// several milliseconds (a whole time slice per hand-off) before its load balancer separates
/// them. On an idle machine it places them on idle cores anyway. Does nothing off Linux.
#[cfg(target_os = "linux")]
#[allow(unsafe_code)] // sched_setaffinity; see the SAFETY comment
pub fn pin_to_core(index: usize) {
    let cores = cores();
    // SAFETY: `cpu_set_t` is a plain bit array, valid when zeroed; CPU_SET writes one bit
    // inside it (the index is below the number of online cores, far below CPU_SETSIZE);
    // sched_setaffinity(0, ..) reads `size_of::<cpu_set_t>()` bytes from the live local.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(index % cores, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
}

/// Pins the calling thread to one core: does nothing off Linux.
#[cfg(not(target_os = "linux"))]
pub fn pin_to_core(_index: usize) {}
