//! The group against a real redis-server: counting, members, rounds, failures, errors.

mod common;

use common::{bounded, group_name, lossy_proxy, RedisServer};
use groupwait_redis::{Error, Group, LostPolicy, Options};
use redis::Commands;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

async fn open(server: &RedisServer, name: &str) -> Group {
    bounded("open", Group::open(&server.url(), name))
        .await
        .expect("open the group")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn add_done_wait_counts_to_zero() {
    let server = RedisServer::start();
    let group = open(&server, &group_name("add_done")).await;
    group.add(3).await.unwrap();
    assert_eq!(group.count().await.unwrap(), 3);
    let waiter = {
        let g = group.clone();
        tokio::spawn(async move { g.wait().await })
    };
    for _ in 0..3 {
        group.done().await.unwrap();
    }
    bounded("waiter", waiter).await.unwrap().unwrap();
    assert_eq!(group.count().await.unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn done_without_add_is_bad_input() {
    let server = RedisServer::start();
    let group = open(&server, &group_name("negative")).await;
    group.add(1).await.unwrap();
    group.done().await.unwrap();
    assert!(matches!(group.done().await, Err(Error::BadInput(_))));
    assert!(matches!(group.add(0).await, Err(Error::BadInput(_))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_on_a_zero_count_returns_at_once() {
    let server = RedisServer::start();
    let group = open(&server, &group_name("zero")).await;
    group.add(2).await.unwrap();
    group.done().await.unwrap();
    group.done().await.unwrap();
    bounded("wait", group.wait()).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_that_was_never_created_is_not_a_finished_one() {
    let server = RedisServer::start();
    let group = open(&server, &group_name("never")).await;
    // Nothing was ever added: there is no round that reached zero to report.
    for (what, r) in [
        ("wait", bounded("wait", group.wait()).await),
        ("done", group.done().await),
        ("count", group.count().await.map(|_| ())),
    ] {
        assert!(
            matches!(r, Err(Error::GroupLost { .. })),
            "{what}: expected GroupLost, got {r:?}"
        );
    }
    // None of those created it: it is still missing.
    let mut admin = server.admin();
    let exists: u64 = admin
        .exists(format!("gw:{{{}}}:state", group.name()))
        .unwrap();
    assert_eq!(exists, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_claim_reserved_units_and_wake_the_waiter() {
    let server = RedisServer::start();
    let group = open(&server, &group_name("members")).await;
    group.add(4).await.unwrap();
    let waiter = {
        let g = group.clone();
        tokio::spawn(async move { g.wait().await })
    };
    let mut tasks = Vec::new();
    for i in 0..4 {
        let g = group.clone();
        tasks.push(tokio::spawn(async move {
            let m = g.join_as(&format!("w{i}")).await?;
            tokio::time::sleep(Duration::from_millis(20 * i)).await;
            m.done().await
        }));
    }
    for t in tasks {
        bounded("member", t).await.unwrap().unwrap();
    }
    bounded("waiter", waiter).await.unwrap().unwrap();
    // The members claimed the 4 reserved units: none was added on top.
    assert_eq!(group.count().await.unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timed_wait_never_returns_early() {
    let server = RedisServer::start();
    let group = open(&server, &group_name("timed")).await;
    group.add(1).await.unwrap();
    let start = Instant::now();
    let r = bounded("timed wait", group.wait_timeout(Duration::from_millis(300))).await;
    assert!(matches!(r, Err(Error::TimedOut)), "{r:?}");
    assert!(start.elapsed() >= Duration::from_millis(300));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_member_fails_the_waiter_naming_it() {
    let server = RedisServer::start();
    let group = open(&server, &group_name("dropped")).await;
    let waiter_group = group.clone();
    let keep = group.join_adding_as("keeper").await.unwrap();
    let gone = group.join_adding_as("quitter").await.unwrap();
    let waiter = tokio::spawn(async move { waiter_group.wait().await });
    drop(gone);
    match bounded("waiter", waiter).await.unwrap() {
        Err(Error::LostMember { id }) => assert_eq!(id, "quitter"),
        other => panic!("expected LostMember, got {other:?}"),
    }
    // The failed round refuses new work until reset; the keeper's done is still accepted.
    assert!(matches!(group.add(1).await, Err(Error::LostMember { .. })));
    keep.done().await.unwrap();
    assert_eq!(
        group.status().await.unwrap().lost.as_deref(),
        Some("quitter")
    );
}

#[test]
fn panicking_worker_is_a_failure_not_a_success() {
    let server = RedisServer::start();
    let group =
        groupwait_redis::blocking::Group::open(&server.url(), &group_name("panic")).expect("open");
    group.add(1).unwrap();
    let g = group.clone();
    let worker = std::thread::spawn(move || {
        let _member = g.join_as("panicker").unwrap();
        panic!("the work failed");
    });
    assert!(worker.join().is_err());
    match group.wait_timeout(Duration::from_secs(30)) {
        Err(Error::LostMember { id }) => assert_eq!(id, "panicker"),
        other => panic!("expected LostMember, got {other:?}"),
    }
}

#[test]
fn blocking_api_completes_a_round() {
    let server = RedisServer::start();
    let group =
        groupwait_redis::blocking::Group::open(&server.url(), &group_name("blocking")).unwrap();
    group.add(3).unwrap();
    let workers: Vec<_> = (0..3)
        .map(|i| {
            let g = group.clone();
            std::thread::spawn(move || g.join_as(&format!("t{i}")).and_then(|m| m.done()))
        })
        .collect();
    for w in workers {
        w.join().unwrap().unwrap();
    }
    group.wait_timeout(Duration::from_secs(30)).unwrap();
    assert_eq!(group.count().unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_member_counts_as_done_under_count_policy() {
    let server = RedisServer::start();
    let options = Options::default().policy(LostPolicy::CountAsDone);
    let group = Group::open_with(&server.url(), &group_name("count_policy"), options)
        .await
        .unwrap();
    let a = group.join_adding_as("a").await.unwrap();
    let b = group.join_adding_as("b").await.unwrap();
    let waiter = {
        let g = group.clone();
        tokio::spawn(async move { g.wait().await })
    };
    a.done().await.unwrap();
    drop(b);
    bounded("waiter", waiter).await.unwrap().unwrap();
    // Opening the same group with the other policy is refused.
    let other = Group::open(&server.url(), &group_name("count_policy")).await;
    assert!(matches!(other, Err(Error::BadInput(_))), "{other:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_lease_fails_the_waiter_by_the_server_clock() {
    let server = RedisServer::start();
    let name = group_name("expiry");
    let group = Group::open_with(
        &server.url(),
        &name,
        Options::default().lease(Duration::from_millis(500)),
    )
    .await
    .unwrap();
    let m = group.join_adding_as("silent").await.unwrap();
    // As if the member had stopped renewing long ago: its lease deadline in the past, both in
    // the lease set and in the state's copy of the earliest deadline (which every script
    // trusts until it is due, so changing the lease set alone would not be seen). The next
    // script to run (the waiter's observe or the member's own renewal) expires it by the
    // server's clock. The killed-process test covers a real silent member.
    let mut admin = server.admin();
    let leases = format!("gw:{{{name}}}:leases");
    let _: () = admin.zadd(&leases, "silent", 0).unwrap();
    let state = format!("gw:{{{name}}}:state");
    let _: () = admin.hset(&state, "earliest", 0).unwrap();
    let start = Instant::now();
    match bounded("waiter", group.wait()).await {
        Err(Error::LostMember { id }) => assert_eq!(id, "silent"),
        other => panic!("expected LostMember, got {other:?}"),
    }
    assert!(start.elapsed() < Duration::from_secs(5));
    // Its late done is refused: the server already declared it lost.
    assert!(matches!(m.done().await, Err(Error::LostMember { .. })));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn member_of_round_one_cannot_count_in_round_two() {
    let server = RedisServer::start();
    let group = open(&server, &group_name("rounds")).await;
    let old = group.join_adding_as("old").await.unwrap();
    let round1 = old.round();
    let finished = group.join_adding_as("finisher").await.unwrap();
    // Round 1 is abandoned (e.g. the coordinator gave up) and round 2 starts.
    let round2 = group.reset().await.unwrap();
    assert!(round2 > round1);
    group.add(1).await.unwrap();
    match old.done().await {
        Err(Error::StaleRound { member, current }) => {
            assert_eq!(member, round1);
            assert_eq!(current, round2);
        }
        other => panic!("expected StaleRound, got {other:?}"),
    }
    drop(finished);
    // Round 2's count is untouched by round 1's members.
    assert_eq!(group.count().await.unwrap(), 1);
    group.done().await.unwrap();
    bounded("wait", group.wait()).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_completed_round_is_reused_by_the_next_add() {
    let server = RedisServer::start();
    let group = open(&server, &group_name("reuse")).await;
    let m = group.join_adding().await.unwrap();
    let r1 = m.round();
    m.done().await.unwrap();
    let m2 = group.join_adding().await.unwrap();
    assert_eq!(m2.round(), r1 + 1);
    m2.done().await.unwrap();
    bounded("wait", group.wait()).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousand_members_on_one_group() {
    let server = RedisServer::start();
    let group = open(&server, &group_name("thousand")).await;
    group.add(1000).await.unwrap();
    let waiter = {
        let g = group.clone();
        tokio::spawn(async move { g.wait().await })
    };
    let mut members = Vec::with_capacity(1000);
    let mut joins = tokio::task::JoinSet::new();
    for i in 0..1000 {
        let g = group.clone();
        joins.spawn(async move { g.join_as(&format!("m{i}")).await });
    }
    while let Some(r) = bounded("join", joins.join_next()).await {
        members.push(r.unwrap().unwrap());
    }
    assert_eq!(group.count().await.unwrap(), 1000);
    let mut dones = tokio::task::JoinSet::new();
    for m in members {
        dones.spawn(m.done());
    }
    while let Some(r) = bounded("done", dones.join_next()).await {
        r.unwrap().unwrap();
    }
    bounded("waiter", waiter).await.unwrap().unwrap();
    assert_eq!(group.count().await.unwrap(), 0);
    // The finished round keeps its log and member records (about 100 KB here) for 10
    // minutes, for late retries, not for the keys' whole TTL (24 h).
    let mut admin = server.admin();
    let tag = format!("gw:{{{}}}", group.name());
    for key in ["members", "log"] {
        let ttl: i64 = admin.pttl(format!("{tag}:{key}")).unwrap();
        assert!(ttl > 0 && ttl <= 600_000, "{key} kept for {ttl} ms");
    }
    // The next round starts as usual.
    let late = group.join_adding_as("late").await.unwrap();
    assert_eq!(late.round(), 2);
    late.done().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_of_an_abandoned_group_expire() {
    let server = RedisServer::start();
    let name = group_name("ttl");
    let group = Group::open_with(
        &server.url(),
        &name,
        Options::default().key_ttl(Duration::from_secs(2)),
    )
    .await
    .unwrap();
    let m = group.join_adding().await.unwrap();
    let mut admin = server.admin();
    for key in ["state", "members", "leases", "log"] {
        let ttl: i64 = admin.pttl(format!("gw:{{{name}}}:{key}")).unwrap();
        assert!(ttl > 0 && ttl <= 2000, "{key} has pttl {ttl}");
    }
    m.done().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_password_is_an_auth_error_within_two_seconds() {
    let server = RedisServer::start();
    let url = format!("redis://{}:wrong@127.0.0.1:{}/", common::USER, server.port);
    let start = Instant::now();
    let r = bounded("open", Group::open(&url, "x")).await;
    assert!(matches!(r, Err(Error::Auth(_))), "{r:?}");
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_port_is_a_connection_error_within_two_seconds() {
    let server = RedisServer::start();
    let url = server.url_on_port(common::closed_port());
    let start = Instant::now();
    let r = bounded("open", Group::open(&url, "x")).await;
    assert!(matches!(r, Err(Error::Connection(_))), "{r:?}");
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_acl_permission_is_an_auth_error() {
    let server = RedisServer::start();
    let url = format!(
        "redis://{}:{}@127.0.0.1:{}/",
        common::NOSCRIPT_USER,
        common::NOSCRIPT_PASSWORD,
        server.port
    );
    let r = bounded("open", Group::open(&url, "x")).await;
    assert!(matches!(r, Err(Error::Auth(_))), "{r:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_url_and_name_are_bad_input() {
    let r = Group::open("http://nowhere", "x").await;
    assert!(matches!(r, Err(Error::BadInput(_))), "{r:?}");
    let r = Group::open("redis://127.0.0.1:1/", "a{b}").await;
    assert!(matches!(r, Err(Error::BadInput(_))), "{r:?}");
    // Without a TLS feature, a rediss:// URL is refused up front, never tried in clear.
    if cfg!(not(feature = "tls")) {
        let r = Group::open("rediss://127.0.0.1:1/", "x").await;
        assert!(matches!(r, Err(Error::BadInput(_))), "{r:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_of_the_wrong_type_is_a_protocol_error() {
    let server = RedisServer::start();
    let name = group_name("wrongtype");
    let mut admin = server.admin();
    let _: () = admin
        .set(format!("gw:{{{name}}}:state"), "not a hash")
        .unwrap();
    let r = bounded("open", Group::open(&server.url(), &name)).await;
    assert!(matches!(r, Err(Error::Protocol(_))), "{r:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retried_done_after_dropped_connection_counts_once() {
    let server = RedisServer::start();
    let armed = Arc::new(AtomicBool::new(false));
    let trap = b"retried-member".to_vec();
    let port = lossy_proxy(server.port, trap, armed.clone()).await;
    let url = server.url_on_port(port);
    let name = group_name("retry");
    let group = Group::open(&url, &name).await.unwrap();
    let retried = group.join_adding_as("retried-member").await.unwrap();
    let other = group.join_adding_as("other-member").await.unwrap();
    assert_eq!(group.count().await.unwrap(), 2);
    armed.store(true, Ordering::SeqCst);
    // The first attempt lands but its reply is lost; the retry finds it recorded.
    bounded("done", retried.done()).await.unwrap();
    assert!(
        !armed.load(Ordering::SeqCst),
        "the proxy never dropped the reply"
    );
    let direct = open(&server, &name).await;
    assert_eq!(
        direct.count().await.unwrap(),
        1,
        "the done counted twice or not at all"
    );
    other.done().await.unwrap();
    bounded("wait", direct.wait()).await.unwrap();
    assert_eq!(direct.count().await.unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_killed_and_restarted_mid_job_loses_nothing() {
    let mut server = RedisServer::start_with_aof();
    let name = group_name("restart");
    let group = open(&server, &name).await;
    group.add(3).await.unwrap();
    let a = group.join_as("a").await.unwrap();
    let b = group.join_as("b").await.unwrap();
    let c = group.join_as("c").await.unwrap();
    a.done().await.unwrap();
    let waiter = {
        let g = group.clone();
        tokio::spawn(async move { g.wait().await })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    server.kill();
    // The done sent while the server is down is retried until it is back.
    let b_done = tokio::spawn(b.done());
    tokio::time::sleep(Duration::from_millis(300)).await;
    let server = tokio::task::spawn_blocking(move || {
        server.restart();
        server
    })
    .await
    .unwrap();
    bounded("b done", b_done).await.unwrap().unwrap();
    // a's done survived the restart (AOF, fsync always) and b's landed once.
    assert_eq!(bounded("count", group.count()).await.unwrap(), 1);
    c.done().await.unwrap();
    bounded("waiter", waiter).await.unwrap().unwrap();
    assert_eq!(group.count().await.unwrap(), 0);
    drop(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_gone_mid_wait_is_a_connection_error_after_the_retry_window() {
    let mut server = RedisServer::start();
    let options = Options::default().retry_for(Duration::from_millis(500));
    let group = Group::open_with(&server.url(), &group_name("gone"), options)
        .await
        .unwrap();
    group.add(1).await.unwrap();
    let waiter = {
        let g = group.clone();
        tokio::spawn(async move { g.wait().await })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    tokio::task::spawn_blocking(move || {
        server.kill();
        server
    })
    .await
    .unwrap();
    let start = Instant::now();
    let r = bounded("waiter", waiter).await.unwrap();
    assert!(matches!(r, Err(Error::Connection(_))), "{r:?}");
    // The retry window (0.5 s) plus at most one connect timeout (2 s).
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "{:?}",
        start.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiter_racing_the_last_done_always_wakes() {
    // The waiter's observe and the last done race; whichever lands first, the waiter must
    // return (the done is either in the state it read or in the log after its position).
    let server = RedisServer::start();
    let group = open(&server, &group_name("race")).await;
    for i in 0..100u64 {
        let m = group.join_adding_as(&format!("r{i}")).await.unwrap();
        let waiter = {
            let g = group.clone();
            tokio::spawn(async move { g.wait().await })
        };
        if i % 2 == 0 {
            tokio::task::yield_now().await;
        }
        m.done().await.unwrap();
        bounded("waiter racing the last done", waiter)
            .await
            .unwrap()
            .unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reset_of_a_pending_round_is_not_a_success_for_its_waiter() {
    let server = RedisServer::start();
    let group = open(&server, &group_name("reset_waiter")).await;
    group.add(2).await.unwrap();
    let round = group.status().await.unwrap().round;
    let waiter = {
        let g = group.clone();
        tokio::spawn(async move { g.wait().await })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    let next = group.reset().await.unwrap();
    assert_eq!(next, round + 1);
    match bounded("waiter", waiter).await.unwrap() {
        Err(Error::RoundReset { round: r }) => assert_eq!(r, round),
        other => panic!("expected RoundReset, got {other:?}"),
    }
    // A waiter that starts after the reset waits on the new (empty) round: done at once.
    bounded("wait", group.wait()).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blocking_handles_dropped_inside_a_runtime_do_not_panic() {
    let server = RedisServer::start();
    let url = server.url();
    let (group, member) = tokio::task::spawn_blocking(move || {
        let g = groupwait_redis::blocking::Group::open(&url, &group_name("drop_in_rt")).unwrap();
        let m = g.join_adding_as("held").unwrap();
        (g, m)
    })
    .await
    .unwrap();
    // Both dropped on a runtime thread: the member hands its leave to the group's runtime,
    // the runtime shuts down in the background.
    drop(member);
    drop(group);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outstanding_names_a_member_that_holds_its_lease_until_it_is_done() {
    let server = RedisServer::start();
    let name = group_name("outstanding");
    let lease = Duration::from_secs(3);
    let group = Group::open_with(&server.url(), &name, Options::default().lease(lease))
        .await
        .unwrap();
    group.add(3).await.unwrap();
    let stuck = group.join_as("stuck").await.unwrap();
    let quick = group.join_as("quick").await.unwrap();
    quick.done().await.unwrap();
    // Still renewing its lease but not done: the straggler a timed wait leaves behind.
    let r = group.wait_timeout(Duration::from_millis(300)).await;
    assert!(matches!(r, Err(Error::TimedOut)), "{r:?}");
    let out = group.outstanding().await.unwrap();
    assert_eq!((out.count, out.unclaimed), (2, 1), "{out:?}");
    let ids: Vec<&str> = out.members.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(ids, ["stuck"]);
    let m = &out.members[0];
    assert!(m.lease_left <= lease, "{m:?}");
    let joined = m.joined_ago.expect("a join time");
    assert!(joined >= Duration::from_millis(300), "{m:?}");
    stuck.done().await.unwrap();
    let out = group.outstanding().await.unwrap();
    assert!(out.members.is_empty(), "{out:?}");
    assert_eq!((out.count, out.unclaimed), (1, 1));
}
