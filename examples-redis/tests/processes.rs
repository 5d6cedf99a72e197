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
        let line = rx
            .recv_timeout(common::TEST_BOUND)
            .unwrap_or_else(|_| panic!("worker {id} did not join within the test bound"));
        assert!(line.starts_with("joined "), "worker {id} said {line:?}");
        Worker { child }
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

#[test]
fn coordinator_example_reports_a_lost_worker() {
    let server = RedisServer::start();
    let name = group_name("coord");
    let mut coordinator = Command::new(example("coordinator"))
        .args(["--url", &server.url(), "--group", &name, "--workers", "2"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the coordinator example");
    let out = coordinator.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let first = rx
        .recv_timeout(common::TEST_BOUND)
        .expect("coordinator started");
    assert!(first.starts_with("waiting for 2"), "{first:?}");
    let _ok = Worker::start(&server.url(), &name, "good", 100, 1000);
    let mut bad = Worker::start(&server.url(), &name, "doomed", 60_000, 1000);
    bad.child.kill().unwrap();
    let start = Instant::now();
    let mut lines = Vec::new();
    let status = loop {
        while let Ok(l) = rx.try_recv() {
            lines.push(l);
        }
        if let Some(s) = coordinator.try_wait().unwrap() {
            break s;
        }
        assert!(
            start.elapsed() < common::TEST_BOUND,
            "coordinator hung: {lines:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    while let Ok(l) = rx.recv_timeout(Duration::from_millis(200)) {
        lines.push(l);
    }
    assert_eq!(status.code(), Some(2), "{lines:?}");
    assert!(lines.iter().any(|l| l == "lost worker doomed"), "{lines:?}");
}
