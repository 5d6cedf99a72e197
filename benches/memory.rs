//! Memory per group: `size_of` of each group type, the heap its constructor allocates, and the
//! heap one whole use allocates (a counting global allocator; single-threaded, so every count
//! is the measured code's).
//!
//! ```text
//! cargo bench -p benches --bench memory                   # print the table
//! cargo bench -p benches --bench memory -- --out mem.tsv  # also write it as tab-separated rows
//! ```
//!
//! Rows of the output file: `type, size_of, heap bytes at creation, heap blocks at creation,
//! heap bytes of one use, note`. "One use" is `add(1); done(); wait()` for the blocking
//! groups, and for the async trackers, tracking one future that is polled to completion and
//! awaiting the tracker (no runtime involved: the future is polled by hand).

#![allow(unsafe_code)] // the counting allocator; each unsafe block has a SAFETY comment

use benches::{CondvarGroup, Group, Opts};
use groupwait::WaitGroup;
use std::alloc::{GlobalAlloc, Layout, System};
use std::fmt::Write as _;
use std::future::Future;
use std::hint::black_box;
use std::mem::size_of;
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

/// Counts bytes and blocks handed out (frees are not subtracted: we want what was asked for).
struct Counting;

static BYTES: AtomicUsize = AtomicUsize::new(0);
static BLOCKS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every method forwards to `System` with the caller's arguments unchanged, so the
// `GlobalAlloc` contract is `System`'s; the counters are plain atomics.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        BYTES.fetch_add(layout.size(), Ordering::Relaxed);
        BLOCKS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: forwarded as is; the caller upholds `alloc`'s contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System.alloc` (above) with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        BYTES.fetch_add(new_size, Ordering::Relaxed);
        BLOCKS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: forwarded as is; `ptr` came from `System` with `layout`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// Heap bytes and blocks allocated while `f` runs; `f`'s result is dropped after counting.
fn heap<T>(f: impl FnOnce() -> T) -> (usize, usize, T) {
    let (b0, n0) = (
        BYTES.load(Ordering::Relaxed),
        BLOCKS.load(Ordering::Relaxed),
    );
    let out = black_box(f());
    let (b1, n1) = (
        BYTES.load(Ordering::Relaxed),
        BLOCKS.load(Ordering::Relaxed),
    );
    (b1 - b0, n1 - n0, out)
}

/// Polls a future to completion on this thread, with a no-op waker (it must not need one).
fn poll_ready<F: Future>(fut: F) -> F::Output {
    let mut fut = pin!(fut);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return v;
        }
    }
}

struct Row {
    name: &'static str,
    size: usize,
    new_bytes: usize,
    new_blocks: usize,
    use_bytes: usize,
    note: &'static str,
}

/// The row of a blocking group: its size, its constructor's heap, and the heap of one
/// `add(1); done(); wait()`.
fn blocking_row<G: Group>(name: &'static str, note: &'static str) -> Row {
    let (new_bytes, new_blocks, wg) = heap(G::create);
    let (use_bytes, _, ()) = heap(|| {
        wg.add1();
        wg.done();
        wg.wait();
    });
    Row {
        name,
        size: size_of::<G>(),
        new_bytes,
        new_blocks,
        use_bytes,
        note,
    }
}

/// `size_of_val` of `TaskGroup::track(async { Ok(1) })` (the task is dropped unpolled).
fn task_group_track_size() -> usize {
    let group = groupwait::task_group::TaskGroup::<u8, ()>::new();
    let task = group.track(async { Ok(1) });
    size_of_val(&task)
}

fn main() {
    let out = Opts::parse().out;
    let mut rows = Vec::new();

    // Warm up what is allocated once per process (thread-locals, lazily built statics), so it
    // is not charged to the first row.
    {
        let wg = WaitGroup::new();
        wg.add(1);
        wg.done();
        wg.wait();
        poll_ready(wg.wait_async());
    }

    rows.push(blocking_row::<WaitGroup>(
        "groupwait::WaitGroup",
        "state word + panic id; waiters sleep in a static table",
    ));
    {
        let (new_bytes, new_blocks, wg) = heap(|| Arc::new(WaitGroup::new()));
        let (use_bytes, _, ()) = heap(|| {
            poll_ready(wg.track_owned(async {}));
            poll_ready(wg.wait_async());
        });
        rows.push(Row {
            name: "Arc<groupwait::WaitGroup> (track_owned)",
            size: size_of::<Arc<WaitGroup>>(),
            new_bytes,
            new_blocks,
            use_bytes,
            note: "the Arc that track_owned needs",
        });
    }
    {
        let (new_bytes, new_blocks, wg) = heap(crossbeam_utils::sync::WaitGroup::new);
        let (use_bytes, _, ()) = heap(|| {
            let handle = wg.clone();
            drop(handle);
        });
        // `wait` consumes the group: a new group per round is part of every use.
        let (round_bytes, _, ()) = heap(|| {
            let wg = crossbeam_utils::sync::WaitGroup::new();
            drop(wg.clone());
            wg.wait();
        });
        rows.push(Row {
            name: "crossbeam_utils::sync::WaitGroup",
            size: size_of::<crossbeam_utils::sync::WaitGroup>(),
            new_bytes,
            new_blocks,
            use_bytes: use_bytes + round_bytes,
            note: "Arc<{Mutex<usize>, Condvar}>; wait(self) consumes it, so each round allocates",
        });
        wg.wait();
    }
    rows.push(blocking_row::<CondvarGroup>(
        "Mutex<usize> + Condvar",
        "std's futex-based Mutex and Condvar",
    ));
    {
        let (new_bytes, new_blocks, tracker) = heap(tokio_util::task::TaskTracker::new);
        let (use_bytes, _, ()) = heap(|| {
            poll_ready(tracker.track_future(async {}));
            tracker.close();
            poll_ready(tracker.wait());
        });
        rows.push(Row {
            name: "tokio_util::task::TaskTracker",
            size: size_of::<tokio_util::task::TaskTracker>(),
            new_bytes,
            new_blocks,
            use_bytes,
            note: "Arc<{AtomicUsize, Notify}>",
        });
    }
    {
        let (new_bytes, new_blocks, set) = heap(tokio::task::JoinSet::<()>::new);
        rows.push(Row {
            name: "tokio::task::JoinSet<()>",
            size: size_of::<tokio::task::JoinSet<()>>(),
            new_bytes,
            new_blocks,
            use_bytes: 0,
            note: "use needs a runtime: not measured here (each spawn adds a list entry)",
        });
        drop(set);
    }

    // Sizes of the counted futures (what each tracked task carries in addition to its own).
    let wg = Arc::new(WaitGroup::new());
    let tracker = tokio_util::task::TaskTracker::new();
    let futures = [
        (
            "future of wg.track_owned(async {})",
            size_of_val(&wg.track_owned(async {})),
        ),
        (
            "future of tracker.track_future(async {})",
            size_of_val(&tracker.track_future(async {})),
        ),
        (
            "future of TaskGroup::track(async { Ok(1) })",
            task_group_track_size(),
        ),
        (
            "groupwait::Wait (wait_async)",
            size_of_val(&wg.wait_async()),
        ),
    ];

    let mut text = String::new();
    let mut tsv = String::new();
    writeln!(
        text,
        "{:<42} {:>7} {:>10} {:>11} {:>13}  note",
        "type", "size_of", "heap (new)", "blocks (new)", "heap (1 use)"
    )
    .unwrap();
    for r in &rows {
        writeln!(
            text,
            "{:<42} {:>7} {:>10} {:>11} {:>13}  {}",
            r.name, r.size, r.new_bytes, r.new_blocks, r.use_bytes, r.note
        )
        .unwrap();
        writeln!(
            tsv,
            "group\t{}\t{}\t{}\t{}\t{}\t{}",
            r.name, r.size, r.new_bytes, r.new_blocks, r.use_bytes, r.note
        )
        .unwrap();
    }
    for (name, size) in futures {
        writeln!(text, "{name:<42} {size:>7}").unwrap();
        writeln!(tsv, "future\t{name}\t{size}\t\t\t\t").unwrap();
    }
    print!("{text}");
    if let Some(path) = out {
        std::fs::write(&path, tsv)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
    }
}
