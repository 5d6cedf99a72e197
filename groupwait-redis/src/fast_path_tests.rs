//! The fast path of a member's `done` against the full script, on a real `redis-server`
//! started here: from the same state (copied key by key with `DUMP`/`RESTORE`), both must give
//! the same reply, state hash, member and lease records, log entry and key TTLs (times within
//! a few ms); and the fast path must answer `slow` exactly in the cases it leaves to the full
//! script.

use crate::scripts::{
    JOIN_SCRIPT, LEAVE_SCRIPT, MEMBER_DONE_FAST_SCRIPT, MEMBER_DONE_SCRIPT, RESET_SCRIPT,
};
use redis::{Commands, Connection, Script};
use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Keys' TTL of the groups these tests create, unless a test asks for another.
const TTL_MS: u64 = 600_000;

struct Server {
    child: Child,
    dir: std::path::PathBuf,
    conn: Connection,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn start() -> Server {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let dir = std::env::temp_dir().join(format!("groupwait-redis-unit-{port}"));
    std::fs::create_dir_all(&dir).expect("a temp dir");
    let child = Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .arg("--dir")
        .arg(&dir)
        .args(["--save", "", "--appendonly", "no"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot start redis-server ({e}): run scripts/install-test-deps.sh")
        });
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}/")).unwrap();
    let start = Instant::now();
    let conn = loop {
        if let Ok(mut c) = client.get_connection_with_timeout(Duration::from_millis(200)) {
            if redis::cmd("PING").query::<String>(&mut c).is_ok() {
                break c;
            }
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "redis-server did not answer within 20 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    Server { child, dir, conn }
}

fn keys(tag: &str) -> [String; 4] {
    ["state", "members", "leases", "log"].map(|k| format!("gw:{{{tag}}}:{k}"))
}

fn run(c: &mut Connection, script: &Script, tag: &str, ttl_ms: u64, args: &[&str]) -> Vec<String> {
    run_expecting(c, script, tag, ttl_ms, "", args)
}

/// As `run`, with the incarnation the caller expects (a member's calls send the one of its
/// join).
fn run_expecting(
    c: &mut Connection,
    script: &Script,
    tag: &str,
    ttl_ms: u64,
    expected: &str,
    args: &[&str],
) -> Vec<String> {
    let mut inv = script.prepare_invoke();
    for k in keys(tag) {
        inv.key(k);
    }
    inv.arg("fail")
        .arg(ttl_ms)
        .arg(expected)
        .arg(format!("inc-{tag}"));
    for a in args {
        inv.arg(*a);
    }
    inv.invoke(c).expect("script runs")
}

/// Joins `id` (its token is `tok-<id>`) with a lease of `lease_ms`, adding a unit of its own;
/// returns its round.
fn join(c: &mut Connection, tag: &str, ttl_ms: u64, id: &str, lease_ms: u64) -> String {
    let token = format!("tok-{id}");
    let reply = run(
        c,
        &JOIN_SCRIPT,
        tag,
        ttl_ms,
        &[id, &lease_ms.to_string(), &token, "add"],
    );
    assert_eq!(reply[0], "ok", "join {id}: {reply:?}");
    reply[1].clone()
}

/// Copies the group `from` to `to`, TTLs included.
fn copy(c: &mut Connection, from: &str, to: &str) {
    for (src, dst) in keys(from).iter().zip(keys(to)) {
        let dump: Option<Vec<u8>> = redis::cmd("DUMP").arg(src).query(c).unwrap();
        let Some(dump) = dump else { continue };
        let pttl: i64 = c.pttl(src).unwrap();
        let _: () = redis::cmd("RESTORE")
            .arg(&dst)
            .arg(pttl.max(0))
            .arg(dump)
            .arg("REPLACE")
            .query(c)
            .unwrap();
    }
}

/// Everything a `done` may change in a group, with the times that depend on the moment of
/// the call set apart.
#[derive(Debug, PartialEq)]
struct Snapshot {
    state: HashMap<String, String>,
    members: HashMap<String, String>,
    leases: Vec<(String, String)>,
    log_len: u64,
    last_entry: HashMap<String, String>,
}

struct Times {
    touched: i64,
    next: i64,
    pttl: Vec<i64>,
}

fn snapshot(c: &mut Connection, tag: &str) -> (Snapshot, Times) {
    let [state_key, members_key, leases_key, log_key] = keys(tag);
    let mut state: HashMap<String, String> = c.hgetall(&state_key).unwrap();
    let last = state.remove("last");
    let touched = state
        .remove("touched")
        .and_then(|t| t.parse().ok())
        .unwrap_or(0);
    let entries: redis::streams::StreamRangeReply =
        c.xrevrange_count(&log_key, "+", "-", 1).unwrap();
    let mut last_entry = HashMap::new();
    let mut next = 0;
    if let Some(e) = entries.ids.first() {
        assert_eq!(Some(&e.id), last.as_ref(), "`last` names the newest entry");
        for (k, v) in &e.map {
            let v: String = redis::from_redis_value(v.clone()).unwrap();
            if k == "next" {
                next = v.parse().unwrap();
            } else {
                last_entry.insert(k.clone(), v);
            }
        }
    }
    let pttl = keys(tag)
        .iter()
        .map(|k| c.pttl(k).unwrap())
        .collect::<Vec<i64>>();
    (
        Snapshot {
            state,
            members: c.hgetall(&members_key).unwrap(),
            leases: c.zrange_withscores(&leases_key, 0, -1).unwrap(),
            log_len: c.xlen(&log_key).unwrap(),
            last_entry,
        },
        Times {
            touched,
            next,
            pttl,
        },
    )
}

/// From the group `src`, runs the full `done` on a copy and the fast path (then the full
/// script if it answered `slow`) on another; asserts they agree and that the fast path
/// answered `slow` exactly when `expect_slow`. Returns the reply.
fn compare(
    c: &mut Connection,
    src: &str,
    ttl_ms: u64,
    args: &[&str],
    expect_slow: bool,
) -> Vec<String> {
    let (full, fast) = (format!("{src}-full"), format!("{src}-fast"));
    copy(c, src, &full);
    copy(c, src, &fast);
    let inc = format!("inc-{src}");
    let full_reply = run_expecting(c, &MEMBER_DONE_SCRIPT, &full, ttl_ms, &inc, args);
    let mut fast_reply = run_expecting(c, &MEMBER_DONE_FAST_SCRIPT, &fast, ttl_ms, &inc, args);
    let slow = fast_reply == ["slow"];
    assert_eq!(slow, expect_slow, "fast path's first reply: {fast_reply:?}");
    if slow {
        fast_reply = run_expecting(c, &MEMBER_DONE_SCRIPT, &fast, ttl_ms, &inc, args);
    }
    assert_eq!(fast_reply, full_reply);
    let (a, ta) = snapshot(c, &full);
    let (b, tb) = snapshot(c, &fast);
    assert_eq!(b, a);
    assert!((ta.touched - tb.touched).abs() <= 50, "touched");
    assert!(
        (ta.next - tb.next).abs() <= 50,
        "next: {} vs {}",
        ta.next,
        tb.next
    );
    for (x, y) in ta.pttl.iter().zip(&tb.pttl) {
        assert!(
            (x - y).abs() <= 100,
            "key TTLs: {:?} vs {:?}",
            ta.pttl,
            tb.pttl
        );
    }
    full_reply
}

#[test]
fn fast_done_agrees_with_the_full_script_in_every_case() {
    let mut s = start();
    let c = &mut s.conn;

    // A live member: the fast path's own case.
    let round = join(c, "live", TTL_MS, "m1", 60_000);
    join(c, "live", TTL_MS, "m2", 60_000);
    let reply = compare(c, "live", TTL_MS, &["m1", &round, "tok-m1"], false);
    assert_eq!(reply, ["ok", "1", "1", "inc-live"]);

    // Already done (a retried done whose first reply was lost).
    let round = join(c, "again", TTL_MS, "m1", 60_000);
    join(c, "again", TTL_MS, "m2", 60_000);
    run(
        c,
        &MEMBER_DONE_SCRIPT,
        "again",
        TTL_MS,
        &["m1", &round, "tok-m1"],
    );
    assert_eq!(
        compare(c, "again", TTL_MS, &["m1", &round, "tok-m1"], true),
        ["again", "1", "1", "inc-again"]
    );

    // A member that left (lost): its done is refused.
    let round = join(c, "lost", TTL_MS, "m1", 60_000);
    join(c, "lost", TTL_MS, "m2", 60_000);
    run(c, &LEAVE_SCRIPT, "lost", TTL_MS, &["m1", &round, "tok-m1"]);
    assert_eq!(
        compare(c, "lost", TTL_MS, &["m1", &round, "tok-m1"], true)[0],
        "lost"
    );

    // The round's last done, which keeps the finished round's log and records less long.
    let round = join(c, "last", TTL_MS, "m1", 60_000);
    assert_eq!(
        compare(c, "last", TTL_MS, &["m1", &round, "tok-m1"], false),
        ["ok", "1", "0", "inc-last"]
    );
    let log_ttl: i64 = c.pttl(keys("last-fast")[3].as_str()).unwrap();
    assert!(log_ttl > 0 && log_ttl <= 600_000, "log pttl {log_ttl}");

    // A late retry in a finished round whose member records expired: it was counted.
    let round = join(c, "expired-records", TTL_MS, "m1", 60_000);
    run_expecting(
        c,
        &MEMBER_DONE_SCRIPT,
        "expired-records",
        TTL_MS,
        "inc-expired-records",
        &["m1", &round, "tok-m1"],
    );
    let _: () = c.del(keys("expired-records")[1].as_str()).unwrap();
    assert_eq!(
        compare(
            c,
            "expired-records",
            TTL_MS,
            &["m1", &round, "tok-m1"],
            true
        )[0],
        "again"
    );

    // Another join's token: not this member.
    let round = join(c, "impostor", TTL_MS, "m1", 60_000);
    assert_eq!(
        compare(c, "impostor", TTL_MS, &["m1", &round, "tok-other"], true)[0],
        "duplicate"
    );

    // A member of an earlier round, and a member nobody knows.
    let old = join(c, "stale", TTL_MS, "m1", 60_000);
    run(c, &RESET_SCRIPT, "stale", TTL_MS, &[]);
    join(c, "stale", TTL_MS, "m2", 60_000);
    assert_eq!(
        compare(c, "stale", TTL_MS, &["m1", &old, "tok-m1"], true)[0],
        "stale"
    );
    assert_eq!(
        compare(c, "stale", TTL_MS, &["nobody", "2", "tok-nobody"], true)[0],
        "forgotten"
    );
    // ... which marks the group damaged: every later call is `gone`.
    let reply = run(
        c,
        &MEMBER_DONE_SCRIPT,
        "stale-full",
        TTL_MS,
        &["m2", "2", "tok-m2"],
    );
    assert_eq!(reply[..2], ["gone", "damaged"]);

    // Left to the full script: a group that does not exist (it is not created: gone) ...
    assert_eq!(
        compare(c, "missing", TTL_MS, &["m1", "1", "tok-m1"], true)[..2],
        ["gone", "missing"]
    );

    // ... a lease past its deadline (the full script expires it first) ...
    let round = join(c, "expired", TTL_MS, "m1", 60_000);
    join(c, "expired", TTL_MS, "m2", 1);
    std::thread::sleep(Duration::from_millis(20));
    // (Under the `fail` policy the lost member fails the round and still counts.)
    assert_eq!(
        compare(c, "expired", TTL_MS, &["m1", &round, "tok-m1"], true),
        ["ok", "1", "1", "inc-expired"]
    );
    let failed: String = c.hget(keys("expired-fast")[0].as_str(), "failed").unwrap();
    assert_eq!(failed, "m2");

    // ... keys whose TTL is due for renewal (half of it passed since the last one) ...
    let short_ttl = 1_000;
    let round = join(c, "touch", short_ttl, "m1", 60_000);
    join(c, "touch", short_ttl, "m2", 60_000);
    std::thread::sleep(Duration::from_millis(600));
    compare(c, "touch", short_ttl, &["m1", &round, "tok-m1"], true);

    // ... and a state written before it kept the earliest deadline.
    let round = join(c, "older", TTL_MS, "m1", 60_000);
    let _: () = c.hdel(keys("older")[0].as_str(), "earliest").unwrap();
    compare(c, "older", TTL_MS, &["m1", &round, "tok-m1"], true);
}
