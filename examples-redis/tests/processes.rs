//! Worker processes (the `worker` example binary, started as children) and a coordinator,
//! against a real redis-server.

mod common;

use common::{bounded, group_name, RedisServer};
use groupwait_redis::{Error, Group};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The example binaries, which `cargo test` builds next to the test binaries
/// (`target/<profile>/examples/`).
fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("test binary in target/<profile>/deps");
    let path = profile_dir.join("examples").join(name);
    assert!(
        path.exists(),
        "example binary {} not built: run the tests with `cargo test -p examples-redis`, \
         which builds the examples",
        path.display()
    );
    path
}

struct Worker {
    child: Child,
}

impl Worker {
    /// Starts a worker and returns once it has joined (its "joined" line).
    fn start(url: &str, group: &str, id: &str, work_ms: u64, lease_ms: u64) -> Worker {
        let (worker, lines) = Worker::spawn(url, group, id, work_ms, lease_ms);
        let line = lines
            .recv_timeout(common::TEST_BOUND)
            .unwrap_or_else(|_| panic!("worker {id} did not join within the test bound"));
        assert!(line.starts_with("joined "), "worker {id} said {line:?}");
        worker
    }

    /// Starts a worker; returns it and its stdout lines.
    fn spawn(
        url: &str,
        group: &str,
        id: &str,
        work_ms: u64,
        lease_ms: u64,
    ) -> (Worker, std::sync::mpsc::Receiver<String>) {
        let mut child = Command::new(example("worker"))
            .args(["--url", url, "--group", group, "--id", id])
            .args(["--work-ms", &work_ms.to_string()])
            .args(["--lease-ms", &lease_ms.to_string()])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the worker example");
        let out = child.stdout.take().expect("piped stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        (Worker { child }, rx)
    }

    fn wait_exit(&mut self) -> std::process::ExitStatus {
        let start = Instant::now();
        loop {
            if let Some(s) = self.child.try_wait().expect("try_wait") {
                return s;
            }
            assert!(start.elapsed() < common::TEST_BOUND, "worker did not exit");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn worker_processes_complete_the_coordinators_wait() {
    let server = RedisServer::start();
    let name = group_name("procs");
    let group = Group::open(&server.url(), &name).await.unwrap();
    group.add(3).await.unwrap();
    let url = server.url();
    let workers: Vec<Worker> = tokio::task::spawn_blocking({
        let name = name.clone();
        move || {
            (0..3)
                .map(|i| Worker::start(&url, &name, &format!("proc-{i}"), 200, 3000))
                .collect()
        }
    })
    .await
    .unwrap();
    bounded("wait", group.wait()).await.unwrap();
    for mut w in workers {
        assert!(w.wait_exit().success());
    }
}

/// Two worker processes join (`first`, then `second`, each `(id, lease)`), a waiter blocks,
/// then the one named `victim` is SIGKILLed (no Drop, no leave): the waiter must get
/// `LostMember` naming it within its lease + 1 s.
async fn sigkill_is_reported_within_the_lease(
    tag: &str,
    first: (&'static str, Duration),
    second: (&'static str, Duration),
    victim: &str,
) {
    let server = RedisServer::start();
    let name = group_name(tag);
    let group = Group::open(&server.url(), &name).await.unwrap();
    group.add(2).await.unwrap();
    let url = server.url();
    let workers = tokio::task::spawn_blocking({
        let name = name.clone();
        move || {
            [first, second].map(|(id, lease)| {
                let worker = Worker::start(&url, &name, id, 60_000, lease.as_millis() as u64);
                (id, lease, worker)
            })
        }
    })
    .await
    .unwrap();
    let waiter = {
        let g = group.clone();
        tokio::spawn(async move { g.wait().await })
    };
    // Let the waiter block on the log, then SIGKILL the victim.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut lease = Duration::ZERO;
    let mut survivors = Vec::new();
    for (id, worker_lease, mut worker) in workers {
        if id == victim {
            worker.child.kill().expect("SIGKILL the worker");
            lease = worker_lease;
        } else {
            survivors.push(worker);
        }
    }
    let killed_at = Instant::now();
    let r = bounded("waiter", waiter).await.unwrap();
    let took = killed_at.elapsed();
    match r {
        Err(Error::LostMember { id }) => assert_eq!(id, victim),
        other => panic!("expected LostMember, got {other:?}"),
    }
    assert!(
        took <= lease + Duration::from_secs(1),
        "the loss took {took:?}, more than the victim's lease ({lease:?}) + 1 s"
    );
    drop(survivors);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn short_lease_joined_after_a_long_one_is_reported_within_its_own_lease() {
    // The group keeps a copy of the earliest lease deadline so scripts need not read the lease
    // set; a member joining with a shorter lease than those already held must lower it, or
    // its loss would be noticed only at the long lease's deadline.
    let (long, short) = (Duration::from_secs(15), Duration::from_secs(1));
    sigkill_is_reported_within_the_lease(
        "short-lease",
        ("long-lease", long),
        ("short-lease", short),
        "short-lease",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn worker_sigkilled_mid_job_is_reported_within_lease_plus_one_second() {
    let lease = Duration::from_secs(1);
    sigkill_is_reported_within_the_lease(
        "sigkill",
        ("victim", lease),
        ("survivor", lease),
        "victim",
    )
    .await;
}

/// The coordinator example as a child process, its stdout read line by line.
struct Coordinator {
    child: Child,
    lines: std::sync::mpsc::Receiver<String>,
}

impl Coordinator {
    fn start(url: &str, group: &str, workers: u64, extra: &[&str]) -> Coordinator {
        let mut child = Command::new(example("coordinator"))
            .args(["--url", url, "--group", group])
            .args(["--workers", &workers.to_string()])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the coordinator example");
        let (tx, lines) = std::sync::mpsc::channel();
        for out in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(out).lines().map_while(Result::ok) {
                    let _ = tx.send(line);
                }
            });
        }
        Coordinator { child, lines }
    }

    /// The next line (stdout or stderr), within the test bound.
    fn line(&self) -> String {
        self.lines
            .recv_timeout(common::TEST_BOUND)
            .expect("a line from the coordinator within the test bound")
    }

    /// Waits (bounded) for the coordinator to exit: its status and every line it printed.
    fn finish(mut self) -> (std::process::ExitStatus, Vec<String>) {
        let start = Instant::now();
        let mut lines = Vec::new();
        let status = loop {
            while let Ok(l) = self.lines.try_recv() {
                lines.push(l);
            }
            if let Some(s) = self.child.try_wait().unwrap() {
                break s;
            }
            assert!(
                start.elapsed() < common::TEST_BOUND,
                "coordinator hung: {lines:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        // The readers end at the pipes' end of file.
        while let Ok(l) = self.lines.recv_timeout(common::TEST_BOUND) {
            lines.push(l);
        }
        (status, lines)
    }
}

impl Drop for Coordinator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs a coordinator for two workers of which one is SIGKILLed: it reports the loss.
fn round_with_a_lost_worker(url: &str, name: &str) {
    let coordinator = Coordinator::start(url, name, 2, &[]);
    let first = coordinator.line();
    assert!(first.starts_with("waiting for 2"), "{first:?}");
    let _ok = Worker::start(url, name, "good", 100, 1000);
    let mut bad = Worker::start(url, name, "doomed", 60_000, 1000);
    bad.child.kill().unwrap();
    let (status, lines) = coordinator.finish();
    assert_eq!(status.code(), Some(2), "{lines:?}");
    assert!(lines.iter().any(|l| l == "lost worker doomed"), "{lines:?}");
}

#[test]
fn coordinator_example_reports_a_lost_worker() {
    let server = RedisServer::start();
    round_with_a_lost_worker(&server.url(), &group_name("coord"));
}

/// The README's demo run twice on one group: after a round failed on a lost worker, the
/// coordinator's `add` is refused and it names `--reset`; with `--reset` it runs again.
#[test]
fn coordinator_example_reruns_after_a_lost_worker_with_reset() {
    let server = RedisServer::start();
    let (url, name) = (server.url(), group_name("coord-rerun"));
    round_with_a_lost_worker(&url, &name);

    let (status, lines) = Coordinator::start(&url, &name, 1, &[]).finish();
    assert_eq!(status.code(), Some(1), "{lines:?}");
    assert!(lines.iter().any(|l| l.contains("--reset")), "{lines:?}");

    let coordinator = Coordinator::start(&url, &name, 1, &["--reset"]);
    let reset = coordinator.line();
    assert!(reset.starts_with("reset group"), "{reset:?}");
    let waiting = coordinator.line();
    assert!(waiting.starts_with("waiting for 1"), "{waiting:?}");
    let mut worker = Worker::start(&url, &name, "again", 100, 1000);
    let (status, lines) = coordinator.finish();
    assert!(status.success(), "{lines:?}");
    assert!(lines.iter().any(|l| l == "all workers done"), "{lines:?}");
    assert!(worker.wait_exit().success());
}

/// A worker started before the coordinator finds no unit to claim: it waits for the
/// coordinator's `add` (before, it added a unit of its own, and the coordinator waited for
/// ever for the one nobody claimed).
#[test]
fn a_worker_started_before_the_coordinator_waits_for_its_add() {
    let server = RedisServer::start();
    let (url, name) = (server.url(), group_name("early-worker"));
    let (mut worker, lines) = Worker::spawn(&url, &name, "early", 100, 1000);
    let first = lines.recv_timeout(common::TEST_BOUND).unwrap();
    assert!(
        first.starts_with("waiting for the coordinator"),
        "{first:?}"
    );
    let coordinator = Coordinator::start(&url, &name, 1, &[]);
    let joined = lines.recv_timeout(common::TEST_BOUND).unwrap();
    assert!(joined.starts_with("joined early"), "{joined:?}");
    let (status, out) = coordinator.finish();
    assert!(status.success(), "{out:?}");
    assert!(out.iter().any(|l| l == "all workers done"), "{out:?}");
    assert!(worker.wait_exit().success());
}

/// One id given to two live worker processes: the second is refused at its join
/// (`DuplicateMember`), the first stays the member, and its SIGKILL is reported.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_id_in_two_worker_processes_is_refused_and_a_kill_of_the_holder_is_seen() {
    let server = RedisServer::start();
    let name = group_name("dup-procs");
    let group = Group::open(&server.url(), &name).await.unwrap();
    group.add(2).await.unwrap();
    let url = server.url();
    let (mut holder, second) = tokio::task::spawn_blocking({
        let name = name.clone();
        move || {
            let holder = Worker::start(&url, &name, "twin", 60_000, 1000);
            let (mut second, lines) = Worker::spawn(&url, &name, "twin", 100, 1000);
            let status = second.wait_exit();
            let said: Vec<String> = lines.try_iter().collect();
            (holder, (status, said))
        }
    })
    .await
    .unwrap();
    let (status, said) = second;
    assert_eq!(status.code(), Some(1), "the second twin said {said:?}");
    assert!(said.iter().all(|l| !l.starts_with("joined")), "{said:?}");
    let waiter = {
        let g = group.clone();
        tokio::spawn(async move { g.wait().await })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    holder.child.kill().expect("SIGKILL the holder");
    match bounded("waiter", waiter).await.unwrap() {
        Err(Error::LostMember { id }) => assert_eq!(id, "twin"),
        other => panic!("expected LostMember, got {other:?}"),
    }
}

/// While it waits, the coordinator names the workers still out, every few seconds.
#[test]
fn coordinator_example_names_the_workers_still_out() {
    let server = RedisServer::start();
    let (url, name) = (server.url(), group_name("coord-out"));
    let coordinator = Coordinator::start(&url, &name, 2, &[]);
    let first = coordinator.line();
    assert!(first.starts_with("waiting for 2"), "{first:?}");
    let _slow = Worker::start(&url, &name, "slowpoke", 60_000, 3000);
    let mut quick = Worker::start(&url, &name, "quick", 10, 3000);
    assert!(quick.wait_exit().success());
    // Within three one-second slices, a line naming the one still out.
    let named = (0..6)
        .map(|_| coordinator.line())
        .find(|l| l.contains("to go:"))
        .expect("a line naming who is out");
    assert!(
        named.starts_with("1 to go: slowpoke (joined") && named.contains("lease ends in"),
        "{named:?}"
    );
    assert!(!named.contains("quick"), "{named:?}");
}

/// `--help` prints every flag with its default and exits 0; an unknown flag exits 64 with
/// the usage.
#[test]
fn examples_have_a_help_and_refuse_unknown_flags() {
    for (name, flags) in [
        (
            "coordinator",
            &["--url", "--group", "--workers", "--reset"][..],
        ),
        (
            "worker",
            &["--url", "--group", "--id", "--work-ms", "--lease-ms"][..],
        ),
    ] {
        let help = run_bounded(name, &["--help"]);
        let text = String::from_utf8_lossy(&help.stdout);
        assert_eq!(help.status.code(), Some(0), "{name} --help: {text}");
        for flag in flags {
            // The flag's entry: its line and the indented lines that continue it.
            let mut entry = text
                .lines()
                .skip_while(|l| !l.trim_start().starts_with(flag))
                .take_while(|l| !l.trim().is_empty());
            let first = entry
                .next()
                .unwrap_or_else(|| panic!("{name} --help does not describe {flag}: {text}"));
            let entry: String = std::iter::once(first)
                .chain(entry.take_while(|l| !l.trim_start().starts_with('-')))
                .collect();
            assert!(entry.contains("(default"), "{name} --help, {flag}: {entry}");
        }
        assert!(text.contains("(default redis://127.0.0.1:6379/)"), "{text}");

        let bad = run_bounded(name, &["--no-such-flag"]);
        let err = String::from_utf8_lossy(&bad.stderr);
        assert_eq!(bad.status.code(), Some(64), "{name}: {err}");
        assert!(
            err.contains("--no-such-flag") && err.contains("usage:"),
            "{err}"
        );
    }
}

/// Runs an example to its end (killed after the test bound) and collects its output.
fn run_bounded(name: &str, args: &[&str]) -> std::process::Output {
    let mut child = Command::new(example(name))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the example");
    let start = Instant::now();
    while child.try_wait().expect("try_wait").is_none() {
        if start.elapsed() > common::TEST_BOUND {
            let _ = child.kill();
            panic!("{name} {args:?} did not exit within the test bound");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("the example's output")
}
