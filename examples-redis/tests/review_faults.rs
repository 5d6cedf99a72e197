//! Faults found in review: a waiter that was away while its round was reset and the log was
//! trimmed, and a member's `done` retried after its round ended and the next began.

mod common;

use common::{bounded, group_name, lossy_proxy, proxy, ProxyFaults, RedisServer};
use groupwait_redis::{Error, Group, Options};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

fn options() -> Options {
    Options::default().retry_for(Duration::from_secs(30))
}

/// A loopback proxy that can be taken down (every open link closed, new ones closed at once)
/// and brought back: a network cut between one client and the server, while other clients
/// reach the server directly.
async fn switchable_proxy(upstream: u16, up: watch::Receiver<bool>) -> u16 {
    let faults = ProxyFaults {
        lose_reply_of: None,
        up: Some(up),
    };
    proxy(upstream, faults).await
}

/// A waiter cut off from the server while its round is reset, whose log entries are gone when
/// it comes back (a finished round's log expires after 10 minutes; the log keeps about 1,000
/// entries; eviction: here the log is deleted), must not take the later rounds for its own
/// round's completion.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_waiter_away_while_its_round_is_reset_and_the_log_trimmed_is_not_ok() {
    let server = RedisServer::start();
    let name = group_name("trimmed-reset");
    let (set_up, up) = watch::channel(true);
    let port = switchable_proxy(server.port, up).await;
    let coordinator = bounded("open", Group::open_with(&server.url(), &name, options()))
        .await
        .unwrap();
    coordinator.add(1).await.unwrap();
    let watcher = bounded(
        "open",
        Group::open_with(&server.url_on_port(port), &name, options()),
    )
    .await
    .unwrap();
    let w = {
        let g = watcher.clone();
        tokio::spawn(async move { g.wait().await })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    set_up.send(false).unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    // Round 1 (the waiter's) is reset while pending: its waiters must get RoundReset.
    coordinator.reset().await.unwrap();
    // Round 2 runs to zero ...
    coordinator.add(1).await.unwrap();
    coordinator.done().await.unwrap();
    // ... round 3 is reset while pending (`abandoned` now names round 3) ...
    coordinator.add(1).await.unwrap();
    coordinator.reset().await.unwrap();
    // ... and round 4 runs to zero; then the log, with every entry naming round 1's reset,
    // is gone.
    coordinator.add(2).await.unwrap();
    coordinator.done().await.unwrap();
    coordinator.done().await.unwrap();
    let _: () = redis::cmd("DEL")
        .arg(format!("gw:{{{name}}}:log"))
        .query(&mut server.admin())
        .unwrap();
    set_up.send(true).unwrap();
    let r = bounded("the waiter", w).await.expect("the waiter task");
    // Its round's outcome cannot be told any more: GroupLost, never Ok.
    assert!(
        matches!(r, Err(Error::GroupLost { .. })),
        "the waiter of round 1, which was reset, returned {r:?}"
    );
}

/// A member's `done` whose reply is lost, where that done finished the round and the
/// coordinator began the next round before the retry: the done counted, so the retry is
/// `Ok`, not `StaleRound`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_done_after_its_round_ended_and_the_next_began_is_ok() {
    let server = RedisServer::start();
    let name = group_name("retry-next-round");
    let armed = Arc::new(AtomicBool::new(false));
    let port = lossy_proxy(server.port, b"member-x".to_vec(), armed.clone()).await;
    let worker = bounded(
        "open",
        Group::open_with(&server.url_on_port(port), &name, options()),
    )
    .await
    .unwrap();
    let coordinator = bounded("open", Group::open_with(&server.url(), &name, options()))
        .await
        .unwrap();
    coordinator.add(2).await.unwrap();
    let x = worker.join_as("member-x").await.unwrap();
    let y = coordinator.join_as("member-y").await.unwrap();
    armed.store(true, Ordering::SeqCst);
    // x's done lands (count 2 -> 1); its reply is held for 300 ms, then lost.
    let done = tokio::spawn(async move { x.done().await });
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!armed.load(Ordering::SeqCst), "the proxy never cut a reply");
    // Meanwhile the round ends and the coordinator begins the next one.
    y.done().await.unwrap();
    bounded("round 1", coordinator.wait()).await.unwrap();
    coordinator.add(1).await.unwrap();
    let r = bounded("x's done", done).await.expect("the done task");
    assert!(r.is_ok(), "x's done counted in round 1, but reported {r:?}");
    assert_eq!(coordinator.count().await.unwrap(), 1);
}

/// Only the leases key lost (evicted, deleted by hand) while members work: DESIGN.md's fault
/// table promises `GroupLost` for a member's `done`, as the full script answers. The fast
/// `done` script did not look at the leases and counted the done.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_members_done_after_the_leases_were_lost_is_group_lost_on_the_fast_path_too() {
    let server = RedisServer::start();
    let group = bounded(
        "open",
        Group::open_with(&server.url(), &group_name("fast-no-leases"), options()),
    )
    .await
    .unwrap();
    group.add(3).await.unwrap();
    let a = group.join_as("a").await.unwrap();
    let _b = group.join_as("b").await.unwrap();
    let _c = group.join_as("c").await.unwrap();
    let leases = format!("gw:{{{}}}:leases", group.name());
    let _: () = redis::Commands::del(&mut server.admin(), leases).unwrap();
    let r = bounded("a's done", a.done()).await;
    assert!(matches!(r, Err(Error::GroupLost { .. })), "{r:?}");
}

/// A member cut off past its lease under `LostPolicy::CountAsDone`: the server counts it, its
/// round finishes, and the round's member records expire (10 minutes later; deleted here to
/// stand for that). When the member's process reaches the server again, its renewal finds no
/// record in a finished round: that is not a state that forgot writes, and must not mark the
/// group damaged (which made the coordinator's next `add` fail with `GroupLost`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_renewal_after_a_finished_rounds_records_expired_does_not_damage_the_group() {
    let server = RedisServer::start();
    let name = group_name("late-renewal");
    let (set_up, up) = watch::channel(true);
    let port = switchable_proxy(server.port, up).await;
    let opts = options()
        .lease(Duration::from_millis(300))
        .policy(groupwait_redis::LostPolicy::CountAsDone);
    let coordinator = bounded("open", Group::open_with(&server.url(), &name, opts.clone()))
        .await
        .unwrap();
    let worker = bounded(
        "open",
        Group::open_with(&server.url_on_port(port), &name, opts),
    )
    .await
    .unwrap();
    coordinator.add(1).await.unwrap();
    let m = worker.join_as("paused").await.unwrap();
    set_up.send(false).unwrap();
    // The lease ends; the member counts as done and the round finishes.
    bounded("round 1", coordinator.wait()).await.unwrap();
    let members = format!("gw:{{{name}}}:members");
    let _: () = redis::Commands::del(&mut server.admin(), members).unwrap();
    set_up.send(true).unwrap();
    // Its renewal task retries every 25 ms; give it time to reach the server.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let r = coordinator.add(1).await;
    assert!(r.is_ok(), "the next round refused: {r:?}");
    drop(m);
}
