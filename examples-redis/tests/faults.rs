//! The fault matrix: what the waiter, the members and the anonymous `done` see when Redis
//! forgets or goes back in time, against real `redis-server` processes started here. The one
//! rule every test checks: a waiter returns `Ok` only after its own round of its own
//! incarnation reached zero; any lost, replaced or older state is a typed error
//! (`Error::GroupLost`), within a bounded time, never `Ok` and never a hang.

mod common;

use common::{bounded, group_name, lossy_proxy, RedisServer};
use groupwait_redis::{Error, Group, Options};
use redis::Commands;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinHandle;

/// Short retry windows, so that a waiter cut off by a restart reconnects quickly.
fn options() -> Options {
    Options::default().retry_for(Duration::from_secs(5))
}

async fn open(server: &RedisServer, name: &str) -> Group {
    bounded("open", Group::open_with(&server.url(), name, options()))
        .await
        .unwrap()
}

fn waiter(group: &Group) -> JoinHandle<Result<(), Error>> {
    let g = group.clone();
    tokio::spawn(async move { g.wait().await })
}

/// Lets a waiter read the state and block on the log.
async fn settle() {
    tokio::time::sleep(Duration::from_millis(300)).await;
}

#[track_caller]
fn assert_group_lost<T: std::fmt::Debug>(what: &str, r: Result<T, Error>) {
    assert!(
        matches!(r, Err(Error::GroupLost { .. })),
        "{what}: expected GroupLost, got {r:?}"
    );
}

async fn waiter_result(w: JoinHandle<Result<(), Error>>) -> Result<(), Error> {
    bounded("the waiter", w).await.expect("the waiter task")
}

fn key(group: &Group, which: &str) -> String {
    format!("gw:{{{}}}:{which}", group.name())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_without_persistence_after_joins_is_group_lost_for_everyone() {
    let mut server = RedisServer::start();
    let name = group_name("restart-joined");
    let coordinator = open(&server, &name).await;
    coordinator.add(3).await.unwrap();
    let a = coordinator.join_as("a").await.unwrap();
    let b = coordinator.join_as("b").await.unwrap();
    let w = waiter(&coordinator);
    settle().await;
    server.restart();
    assert_group_lost("waiter", waiter_result(w).await);
    // The members still working find their group gone: their done counts nowhere.
    assert_group_lost("member a's done", bounded("done", a.done()).await);
    assert_group_lost("member b's done", bounded("done", b.done()).await);
    // The handle that knew the group keeps reporting it lost, even once a worker recreates it.
    let late_worker = open(&server, &name).await;
    let c = late_worker.join_adding_as("c").await.unwrap();
    assert_group_lost("add", coordinator.add(1).await);
    assert_group_lost("a new wait", bounded("wait", coordinator.wait()).await);
    c.done().await.unwrap();
    // `reset` is the way on: the handle adopts the group as it is now.
    coordinator.reset().await.unwrap();
    coordinator.add(1).await.unwrap();
    coordinator.done().await.unwrap();
    bounded("wait after reset", coordinator.wait())
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_without_persistence_before_any_join_is_group_lost() {
    let mut server = RedisServer::start();
    let name = group_name("restart-unjoined");
    let coordinator = open(&server, &name).await;
    coordinator.add(3).await.unwrap();
    let w = waiter(&coordinator);
    settle().await;
    server.restart();
    assert_group_lost("waiter", waiter_result(w).await);
    // A worker that comes after the restart finds no unit to claim (and creates nothing).
    let worker = open(&server, &name).await;
    let r = worker.join_as("w1").await;
    assert!(matches!(r, Err(Error::NothingToClaim { .. })), "{r:?}");
    let exists: u64 = server.admin().exists(key(&worker, "state")).unwrap();
    assert_eq!(exists, 0, "a refused claim left a group behind");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flushall_while_waiting_is_group_lost() {
    let server = RedisServer::start();
    let group = open(&server, &group_name("flushall")).await;
    group.add(1).await.unwrap();
    let w = waiter(&group);
    settle().await;
    let _: () = redis::cmd("FLUSHALL").query(&mut server.admin()).unwrap();
    // Noticed at the waiter's next contact with the server (at most one blocking read, 10 s).
    assert_group_lost("waiter", waiter_result(w).await);
    assert_group_lost("done", group.done().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_recreated_under_a_blocked_waiter_wakes_it_with_group_lost() {
    let server = RedisServer::start();
    let name = group_name("recreated");
    let group = open(&server, &name).await;
    group.add(1).await.unwrap();
    let w = waiter(&group);
    settle().await;
    let _: () = redis::cmd("FLUSHALL").query(&mut server.admin()).unwrap();
    // A worker's self-adding join creates a new incarnation; its log entry wakes the waiter,
    // which must not take the new group's round for its own.
    let other = open(&server, &name).await;
    let m = other.join_adding_as("newcomer").await.unwrap();
    let r = tokio::time::timeout(Duration::from_secs(5), w).await;
    let r = r.expect("the new incarnation's entry wakes the waiter at once");
    assert_group_lost("waiter", r.unwrap());
    m.done().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn eviction_of_the_group_under_maxmemory_allkeys_lru_is_group_lost() {
    let server = RedisServer::start();
    let mut admin = server.admin();
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("maxmemory")
        .arg("3mb")
        .query(&mut admin)
        .unwrap();
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("maxmemory-policy")
        .arg("allkeys-lru")
        .query(&mut admin)
        .unwrap();
    let group = open(&server, &group_name("evicted")).await;
    group.add(2).await.unwrap();
    let w = waiter(&group);
    settle().await;
    // Other data until the group's state is evicted (bounded: 2,000 values of 64 KiB).
    let state = key(&group, "state");
    let filler = vec![b'x'; 64 * 1024];
    let mut evicted = false;
    for i in 0..2000 {
        let _: () = admin.set(format!("filler:{i}"), &filler).unwrap();
        let exists: u64 = admin.exists(&state).unwrap();
        if exists == 0 {
            evicted = true;
            break;
        }
        if i % 50 == 0 {
            // Keep the filler older than nothing: the group is idle, as in a real job.
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    assert!(evicted, "the group's state was never evicted");
    assert_group_lost("waiter", waiter_result(w).await);
    assert_group_lost("done", group.done().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_leases_or_member_records_are_group_lost_not_a_hang() {
    let server = RedisServer::start();
    let mut admin = server.admin();
    for which in ["leases", "members"] {
        let group = open(&server, &group_name(&format!("partial-{which}"))).await;
        group.add(2).await.unwrap();
        let a = group.join_as("a").await.unwrap();
        let w = waiter(&group);
        settle().await;
        // Only one key of the group is lost (evicted, deleted by hand): nobody could then
        // notice member a die, so the state cannot be trusted.
        let _: () = admin.del(key(&group, which)).unwrap();
        assert_group_lost(&format!("status without {which}"), group.status().await);
        drop(a);
        assert_group_lost(&format!("waiter without {which}"), waiter_result(w).await);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_from_a_snapshot_of_an_earlier_round_is_group_lost() {
    let mut server = RedisServer::start();
    let group = open(&server, &group_name("rdb-round")).await;
    group.add(1).await.unwrap();
    group.done().await.unwrap();
    group.wait().await.unwrap();
    // An RDB snapshot (Redis's default persistence) taken after round 1 finished ...
    let _: () = redis::cmd("SAVE").query(&mut server.admin()).unwrap();
    // ... and round 2 under way when the server dies and comes back from it.
    group.add(3).await.unwrap();
    let w = waiter(&group);
    settle().await;
    server.restart();
    assert_group_lost("round-2 waiter", waiter_result(w).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_from_a_snapshot_taken_earlier_in_the_same_round_is_group_lost() {
    let mut server = RedisServer::start();
    let group = open(&server, &group_name("rdb-mid")).await;
    group.add(3).await.unwrap();
    let _: () = redis::cmd("SAVE").query(&mut server.admin()).unwrap();
    // After the snapshot: a join the waiter sees; the restore loses it.
    let a = group.join_as("a").await.unwrap();
    let w = waiter(&group);
    settle().await;
    server.restart();
    assert_group_lost("waiter", waiter_result(w).await);
    // The member that joined after the snapshot is unknown to the restored state: its done
    // counts nowhere, and marks the group damaged, so that a waiter that never saw the lost
    // join (a new one here) does not wait for ever for the unit a had claimed.
    assert_group_lost("member a's done", bounded("done", a.done()).await);
    let fresh = open(&server, group.name()).await;
    assert_group_lost(
        "a waiter that never saw the join",
        bounded("wait", fresh.wait()).await,
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_expired_by_their_ttl_are_group_lost() {
    let server = RedisServer::start();
    let name = group_name("ttl-expiry");
    let options = options().key_ttl(Duration::from_secs(2));
    let group = bounded("open", Group::open_with(&server.url(), &name, options))
        .await
        .unwrap();
    group.add(1).await.unwrap();
    // Nobody calls done; the keys expire while the waiter blocks (it sees it at its next
    // read of the state, within one blocking read of 10 s).
    let r = waiter_result(waiter(&group)).await;
    assert_group_lost("waiter", r);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ids_reused_from_a_finished_round_after_the_coordinators_add() {
    let server = RedisServer::start();
    let group = open(&server, &group_name("reuse-after")).await;
    for round in 1..=2u64 {
        group.add(2).await.unwrap();
        let s0 = group.join_as("shard-0").await.unwrap();
        let s1 = group.join_as("shard-1").await.unwrap();
        assert_eq!((s0.round(), s1.round()), (round, round));
        // Both still working: the wait must not return.
        let r = group.wait_timeout(Duration::from_millis(300)).await;
        assert!(matches!(r, Err(Error::TimedOut)), "round {round}: {r:?}");
        s0.done().await.unwrap();
        s1.done().await.unwrap();
        bounded("wait", group.wait()).await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ids_reused_from_a_finished_round_before_the_coordinators_add() {
    let server = RedisServer::start();
    let group = open(&server, &group_name("reuse-before")).await;
    group.add(1).await.unwrap();
    group
        .join_as("shard-0")
        .await
        .unwrap()
        .done()
        .await
        .unwrap();
    bounded("round 1", group.wait()).await.unwrap();
    // Round 1 is over; the coordinator has not added for round 2 yet. A claiming join is
    // refused at the join (before, it joined the ended round and failed only at its done).
    let r = group.join_as("shard-0").await;
    assert!(matches!(r, Err(Error::NothingToClaim { .. })), "{r:?}");
    // A self-adding join with the same id starts round 2 as a new member of it.
    let again = group.join_adding_as("shard-0").await.unwrap();
    assert_eq!(again.round(), 2);
    let r = group.wait_timeout(Duration::from_millis(300)).await;
    assert!(
        matches!(r, Err(Error::TimedOut)),
        "waited with shard-0 working: {r:?}"
    );
    again.done().await.unwrap();
    bounded("round 2", group.wait()).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_id_held_twice_is_refused_and_the_holder_stays_watched() {
    let server = RedisServer::start();
    let name = group_name("dup");
    let first_process = open(&server, &name).await;
    let second_process = open(&server, &name).await;
    first_process.add(2).await.unwrap();
    let holder = first_process.join_as("w").await.unwrap();
    let r = second_process.join_as("w").await;
    assert!(
        matches!(&r, Err(Error::DuplicateMember { id }) if id == "w"),
        "{r:?}"
    );
    let r = second_process.join_adding_as("w").await;
    assert!(matches!(r, Err(Error::DuplicateMember { .. })), "{r:?}");
    // The holder is still the member: its loss is reported.
    let w = waiter(&first_process);
    settle().await;
    drop(holder);
    match waiter_result(w).await {
        Err(Error::LostMember { id }) => assert_eq!(id, "w"),
        other => panic!("expected LostMember, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_member_cannot_rejoin_its_round() {
    let server = RedisServer::start();
    let group = open(&server, &group_name("rejoin")).await;
    group.add(2).await.unwrap();
    let keep = group.join_as("w1").await.unwrap();
    drop(group.join_as("w2").await.unwrap());
    match bounded("wait", group.wait()).await {
        Err(Error::LostMember { id }) => assert_eq!(id, "w2"),
        other => panic!("expected LostMember, got {other:?}"),
    }
    for r in [group.join_as("w2").await, group.join_adding_as("w2").await] {
        assert!(
            matches!(&r, Err(Error::LostMember { id }) if id == "w2"),
            "{r:?}"
        );
    }
    drop(keep);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_done_once_after_a_lost_reply_counts_once() {
    let server = RedisServer::start();
    let armed = Arc::new(AtomicBool::new(false));
    let port = lossy_proxy(server.port, b"job-17".to_vec(), armed.clone()).await;
    let name = group_name("done-once");
    let group = Group::open_with(&server.url_on_port(port), &name, options())
        .await
        .unwrap();
    group.add(2).await.unwrap();
    armed.store(true, Ordering::SeqCst);
    // The first attempt lands, its reply is lost; the retry finds it recorded.
    bounded("done_once", group.done_once("job-17"))
        .await
        .unwrap();
    assert!(!armed.load(Ordering::SeqCst), "the proxy never cut a reply");
    assert_eq!(
        group.count().await.unwrap(),
        1,
        "counted twice or not at all"
    );
    let r = group.wait_timeout(Duration::from_millis(300)).await;
    assert!(matches!(r, Err(Error::TimedOut)), "{r:?}");
    // The same key again in the same round is another call, not a retry: refused.
    let r = group.done_once("job-17").await;
    assert!(matches!(r, Err(Error::BadInput(_))), "{r:?}");
    group.done_once("job-18").await.unwrap();
    bounded("wait", group.wait()).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_member_done_after_a_lost_reply_counts_once() {
    let server = RedisServer::start();
    let armed = Arc::new(AtomicBool::new(false));
    let port = lossy_proxy(server.port, b"member-x".to_vec(), armed.clone()).await;
    let group = Group::open_with(
        &server.url_on_port(port),
        &group_name("member-retry"),
        options(),
    )
    .await
    .unwrap();
    group.add(2).await.unwrap();
    let x = group.join_as("member-x").await.unwrap();
    let y = group.join_as("member-y").await.unwrap();
    armed.store(true, Ordering::SeqCst);
    bounded("done", x.done()).await.unwrap();
    assert!(!armed.load(Ordering::SeqCst), "the proxy never cut a reply");
    assert_eq!(group.count().await.unwrap(), 1);
    y.done().await.unwrap();
    bounded("wait", group.wait()).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counts_past_two_to_the_53_are_refused_at_the_add() {
    let server = RedisServer::start();
    let group = open(&server, &group_name("big")).await;
    let max = (1u64 << 53) - 1;
    assert!(matches!(group.add(max + 1).await, Err(Error::BadInput(_))));
    // 10^14 was stored as "1e+14" and broke every later read.
    group.add(100_000_000_000_000).await.unwrap();
    assert_eq!(group.count().await.unwrap(), 100_000_000_000_000);
    let r = group.add(max).await;
    assert!(matches!(r, Err(Error::BadInput(_))), "{r:?}");
    assert_eq!(group.count().await.unwrap(), 100_000_000_000_000);
    let long = "n".repeat(300);
    let r = Group::open(&server.url(), &long).await;
    assert!(matches!(r, Err(Error::BadInput(_))), "{r:?}");
    let r = group.join_adding_as(&long).await;
    assert!(matches!(r, Err(Error::BadInput(_))), "{r:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_removes_the_keys_and_wakes_waiters_with_group_lost() {
    let server = RedisServer::start();
    let name = group_name("delete");
    let group = open(&server, &name).await;
    let other = open(&server, &name).await;
    group.add(1).await.unwrap();
    let m = other.join_adding_as("m").await.unwrap();
    let w = waiter(&other);
    settle().await;
    group.delete().await.unwrap();
    // The waiter is woken by the deletion itself, not by its next read of the state.
    let r = tokio::time::timeout(Duration::from_secs(5), w)
        .await
        .expect("the delete wakes the waiter at once");
    assert_group_lost("waiter", r.unwrap());
    assert_group_lost("the member's done", m.done().await);
    let mut admin = server.admin();
    for which in ["state", "members", "leases"] {
        let exists: u64 = admin.exists(key(&group, which)).unwrap();
        assert_eq!(exists, 0, "{which} left behind");
    }
    // Deleting again is harmless; the next add creates the group anew for this handle.
    group.delete().await.unwrap();
    group.add(1).await.unwrap();
    let m = group.join_adding_as("m2").await.unwrap();
    group.done().await.unwrap();
    m.done().await.unwrap();
    bounded("wait", group.wait()).await.unwrap();
    // What is left of a group whose state hash alone was lost is deleted too.
    let _: () = admin.del(key(&group, "state")).unwrap();
    group.delete().await.unwrap();
    for which in ["members", "leases"] {
        let exists: u64 = admin.exists(key(&group, which)).unwrap();
        assert_eq!(exists, 0, "{which} left behind by a delete without state");
    }
}
