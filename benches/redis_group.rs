//! groupwait-redis on loopback, next to two baselines written here (not in the library), in
//! one run against one `redis-server` this bench starts itself (Debian's package; install it
//! with `scripts/install-test-deps.sh`):
//!
//! * `groupwait-redis`: a member's `done` (one Lua script: record, decrement, XADD);
//!   the waiter blocked in `wait` (`XREAD BLOCK` on the group's stream).
//! * `INCR-and-poll`: `done` = `INCR counter`; the waiter `GET`s every 1 ms until the target.
//! * `DECR+PUBLISH` (Redisson's `RCountDownLatch` algorithm): `done` = a script doing `DECR`,
//!   and at zero `DEL` + `PUBLISH`; the waiter `SUBSCRIBE`s, re-checks with `GET`, then waits
//!   for the message.
//! * `round trip`: `PING` on one connection, the unit the latency target is stated in: back
//!   to back (a hot loop, every thread awake) and after 5 ms idle (as the timed `done`s below
//!   are sent: the client's runtime and the server sleep in between and must be woken).
//! * `trivial script`: `EVALSHA` of `return 1` after 5 ms idle: the cost of entering Lua at
//!   all, which every script-based `done` (this library's, Redisson's) pays.
//! * `XADD -> XREAD`: the stream wake-up alone, with no script and no library: one connection
//!   blocked in `XREAD BLOCK`, another sends `XADD` after 5 ms idle. The floor of any waiter
//!   that reads a Redis stream through the `redis` crate.
//!
//! Measured: `done`s per second from one client (sequential) and from 16 concurrent clients
//! (16 connections, each with its own members), and the latency from the moment the last
//! `done` is sent to the moment the waiter returns (median and p90 of many rounds). Every
//! measure runs in five slices, the slices of all measures interleaved, so a busy period of
//! a shared machine falls on all of them alike.
//!
//! `cargo bench -p benches --bench redis_group` (prints a table; BENCH_QUICK=1 for a short run).

use groupwait_redis::{Group, Options};
use redis::aio::MultiplexedConnection;
use redis::AsyncCommands;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const PASSWORD: &str = "bench-secret";

struct Server {
    child: Child,
    port: u16,
    dir: std::path::PathBuf,
}

impl Server {
    fn start() -> Server {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let dir = std::env::temp_dir().join(format!("groupwait-redis-bench-{port}"));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .arg("--dir")
            .arg(&dir)
            .args([
                "--save",
                "",
                "--appendonly",
                "no",
                "--requirepass",
                PASSWORD,
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start redis-server ({e}): run scripts/install-test-deps.sh")
            });
        let server = Server { child, port, dir };
        let start = Instant::now();
        while redis::Client::open(server.url())
            .and_then(|c| c.get_connection_with_timeout(Duration::from_millis(200)))
            .and_then(|mut c| redis::cmd("PING").query::<String>(&mut c))
            .is_err()
        {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "redis-server not ready"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        server
    }

    fn url(&self) -> String {
        format!("redis://:{PASSWORD}@127.0.0.1:{}/", self.port)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn median(v: &mut [Duration]) -> Duration {
    v.sort_unstable();
    v[v.len() / 2]
}

fn p90(v: &mut [Duration]) -> Duration {
    v.sort_unstable();
    v[v.len() * 9 / 10]
}

async fn conn(url: &str) -> MultiplexedConnection {
    redis::Client::open(url)
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

const REDISSON_DONE: &str = r#"
local v = redis.call('DECR', KEYS[1])
if v <= 0 then
  redis.call('DEL', KEYS[1])
  redis.call('PUBLISH', KEYS[2], '0')
end
return v
"#;

struct Sizes {
    ops: usize,
    per_client: usize,
    rounds: usize,
}

async fn round_trip(url: &str, n: usize) -> Vec<Duration> {
    let mut c = conn(url).await;
    let mut v = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        let _: String = redis::cmd("PING").query_async(&mut c).await.unwrap();
        v.push(t.elapsed());
    }
    v
}

fn options() -> Options {
    // Long leases: renewals stay out of the measured window.
    Options::default().lease(Duration::from_secs(120))
}

/// groupwait-redis member `done`s per second from `clients` concurrent clients.
async fn gw_throughput(url: &str, name: &str, clients: usize, per_client: usize) -> f64 {
    let coordinator = Group::open_with(url, name, options()).await.unwrap();
    coordinator
        .add((clients * per_client) as u64)
        .await
        .unwrap();
    let mut sets = Vec::new();
    for c in 0..clients {
        let g = Group::open_with(url, name, options()).await.unwrap();
        let mut members = Vec::with_capacity(per_client);
        for i in 0..per_client {
            members.push(g.join_as(&format!("c{c}-{i}")).await.unwrap());
        }
        sets.push(members);
    }
    let start = Instant::now();
    let tasks: Vec<_> = sets
        .into_iter()
        .map(|members| {
            tokio::spawn(async move {
                for m in members {
                    m.done().await.unwrap();
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let rate = (clients * per_client) as f64 / start.elapsed().as_secs_f64();
    coordinator
        .wait_timeout(Duration::from_secs(30))
        .await
        .unwrap();
    rate
}

/// Baseline `done`s per second: `INCR` (INCR-and-poll) or the DECR+PUBLISH script.
async fn baseline_throughput(url: &str, redisson: bool, clients: usize, per_client: usize) -> f64 {
    let key = format!(
        "bench:{}:{clients}",
        if redisson { "latch" } else { "incr" }
    );
    let mut admin = conn(url).await;
    let _: () = admin
        .set(&key, (clients * per_client) as i64 + 1)
        .await
        .unwrap();
    let script = redis::Script::new(REDISSON_DONE);
    let mut conns = Vec::new();
    for _ in 0..clients {
        conns.push(conn(url).await);
    }
    let start = Instant::now();
    let tasks: Vec<_> = conns
        .into_iter()
        .map(|mut c| {
            let key = key.clone();
            let script = script.clone();
            tokio::spawn(async move {
                for _ in 0..per_client {
                    if redisson {
                        let _: i64 = script
                            .key(&key)
                            .key("bench:channel:tp")
                            .invoke_async(&mut c)
                            .await
                            .unwrap();
                    } else {
                        let _: i64 = c.incr(&key, 1).await.unwrap();
                    }
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    (clients * per_client) as f64 / start.elapsed().as_secs_f64()
}

/// `PING` sent after 5 ms idle, as the timed `done`s are: the round trip from idle threads.
async fn idle_round_trip(url: &str, n: usize) -> Vec<Duration> {
    let mut c = conn(url).await;
    let mut v = Vec::with_capacity(n);
    for _ in 0..n {
        tokio::time::sleep(Duration::from_millis(5)).await;
        let t = Instant::now();
        let _: String = redis::cmd("PING").query_async(&mut c).await.unwrap();
        v.push(t.elapsed());
    }
    v
}

/// A trivial script (`return 1`) sent after 5 ms idle: what any Lua-script `done` pays over
/// a `PING` from idle, before its own work.
async fn idle_script_round_trip(url: &str, n: usize) -> Vec<Duration> {
    let mut c = conn(url).await;
    let script = redis::Script::new("return 1");
    let mut v = Vec::with_capacity(n);
    for _ in 0..n {
        tokio::time::sleep(Duration::from_millis(5)).await;
        let t = Instant::now();
        let _: i64 = script.invoke_async(&mut c).await.unwrap();
        v.push(t.elapsed());
    }
    v
}

/// The bare `XADD` both stream measures send: one one-field entry.
async fn bare_xadd(conn: &mut MultiplexedConnection, key: &str) {
    let _: String = redis::cmd("XADD")
        .arg(key)
        .arg("*")
        .arg("n")
        .arg("2")
        .query_async(conn)
        .await
        .unwrap();
}

/// The stream wake-up alone: `XADD` on one connection to a waiter blocked in `XREAD BLOCK`
/// on another (from an explicit id, so an entry added before the block is not missed).
async fn xread_latency(url: &str, rounds: usize) -> Vec<Duration> {
    let mut worker = conn(url).await;
    let mut reader = conn(url).await;
    let key = "bench:xread";
    let mut v = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let last: String = redis::cmd("XADD")
            .arg(key)
            .arg("*")
            .arg("n")
            .arg("1")
            .query_async(&mut worker)
            .await
            .unwrap();
        let mut r = reader.clone();
        let waiter = tokio::spawn(async move {
            let _: redis::Value = redis::cmd("XREAD")
                .arg("BLOCK")
                .arg(30_000)
                .arg("STREAMS")
                .arg(key)
                .arg(&last)
                .query_async(&mut r)
                .await
                .unwrap();
            Instant::now()
        });
        tokio::time::sleep(Duration::from_millis(5)).await;
        let t = Instant::now();
        bare_xadd(&mut worker, key).await;
        let woke = waiter.await.unwrap();
        v.push(woke.saturating_duration_since(t));
    }
    let _: () = redis::cmd("DEL")
        .arg(key)
        .query_async(&mut reader)
        .await
        .unwrap();
    v
}

/// Microseconds per call that the server itself charges (`INFO commandstats`) to `cmd`.
async fn server_usec_per_call(admin: &mut MultiplexedConnection, cmd: &str) -> f64 {
    let stats: String = redis::cmd("INFO")
        .arg("commandstats")
        .query_async(admin)
        .await
        .unwrap();
    let prefix = format!("cmdstat_{cmd}:");
    stats
        .lines()
        .find_map(|l| l.strip_prefix(prefix.as_str()))
        .and_then(|rest| {
            rest.split(',')
                .find_map(|kv| kv.strip_prefix("usec_per_call="))
        })
        .and_then(|v| v.parse().ok())
        .unwrap_or(f64::NAN)
}

/// The server's own time per call, each call sent after 5 ms idle (as the timed `done`s are):
/// a bare `XADD` (the one of the stream wake below), then a member's `done` (the fast script,
/// neither the round's first nor its last). The statistics are reset before each, so neither
/// counts the other's commands (a script's `redis.call`s are counted as commands too).
async fn server_time_from_idle(url: &str, rounds: usize) -> (f64, f64) {
    let mut admin = conn(url).await;
    let mut worker = conn(url).await;
    let reset = |admin: &mut MultiplexedConnection| {
        let mut admin = admin.clone();
        async move {
            let _: () = redis::cmd("CONFIG")
                .arg("RESETSTAT")
                .query_async(&mut admin)
                .await
                .unwrap();
        }
    };
    reset(&mut admin).await;
    for _ in 0..rounds {
        tokio::time::sleep(Duration::from_millis(5)).await;
        bare_xadd(&mut worker, "bench:server-time").await;
    }
    let xadd = server_usec_per_call(&mut admin, "xadd").await;
    let group = Group::open_with(url, "server-time", options())
        .await
        .unwrap();
    let mut members = Vec::with_capacity(rounds + 1);
    for _ in 0..=rounds {
        members.push(group.join_adding().await.unwrap());
    }
    let last = members.pop().unwrap();
    reset(&mut admin).await;
    for m in members {
        tokio::time::sleep(Duration::from_millis(5)).await;
        m.done().await.unwrap();
    }
    let done = server_usec_per_call(&mut admin, "evalsha").await;
    last.done().await.unwrap();
    let _: () = redis::cmd("DEL")
        .arg("bench:server-time")
        .query_async(&mut admin)
        .await
        .unwrap();
    (xadd, done)
}

/// Last-`done`-to-wake latency of groupwait-redis: two members, the first done before the
/// waiter blocks, the second timed. Also returns when the timed `done`'s own reply arrived.
async fn gw_latency(url: &str, rounds: usize) -> (Vec<Duration>, Vec<Duration>) {
    let group = Group::open_with(url, "latency", options()).await.unwrap();
    let waiter_group = Group::open_with(url, "latency", options()).await.unwrap();
    let mut v = Vec::with_capacity(rounds);
    let mut replies = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let a = group.join_adding().await.unwrap();
        let b = group.join_adding().await.unwrap();
        a.done().await.unwrap();
        let wg = waiter_group.clone();
        let waiter = tokio::spawn(async move {
            wg.wait_timeout(Duration::from_secs(30)).await.unwrap();
            Instant::now()
        });
        // Let the waiter reach XREAD BLOCK.
        tokio::time::sleep(Duration::from_millis(5)).await;
        let t = Instant::now();
        b.done().await.unwrap();
        replies.push(t.elapsed());
        let woke = waiter.await.unwrap();
        v.push(woke.saturating_duration_since(t));
    }
    (v, replies)
}

async fn poll_latency(url: &str, rounds: usize) -> Vec<Duration> {
    let mut worker = conn(url).await;
    let mut v = Vec::with_capacity(rounds);
    for r in 0..rounds {
        let key = format!("bench:poll:{r}");
        // Fresh each round (the same keys serve every pass).
        let _: () = worker.del(&key).await.unwrap();
        let mut poller = conn(url).await;
        let k = key.clone();
        let waiter = tokio::spawn(async move {
            loop {
                let n: Option<i64> = poller.get(&k).await.unwrap();
                if n == Some(2) {
                    return Instant::now();
                }
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        });
        let _: i64 = worker.incr(&key, 1).await.unwrap();
        tokio::time::sleep(Duration::from_millis(5)).await;
        let t = Instant::now();
        let _: i64 = worker.incr(&key, 1).await.unwrap();
        let woke = tokio::time::timeout(Duration::from_secs(30), waiter)
            .await
            .expect("poller")
            .unwrap();
        v.push(woke.saturating_duration_since(t));
    }
    v
}

async fn redisson_latency(url: &str, rounds: usize) -> Vec<Duration> {
    let client = redis::Client::open(url).unwrap();
    let mut worker = conn(url).await;
    let script = redis::Script::new(REDISSON_DONE);
    let mut v = Vec::with_capacity(rounds);
    for r in 0..rounds {
        let key = format!("bench:latch:{r}");
        let channel = format!("bench:channel:{r}");
        let _: () = worker.set(&key, 2).await.unwrap();
        let _: i64 = script
            .key(&key)
            .key(&channel)
            .invoke_async(&mut worker)
            .await
            .unwrap();
        let mut pubsub = client.get_async_pubsub().await.unwrap();
        pubsub.subscribe(&channel).await.unwrap();
        // Re-check after subscribing (Redisson's order): still 1.
        let mut check = conn(url).await;
        let n: Option<i64> = check.get(&key).await.unwrap();
        assert_eq!(n, Some(1));
        let waiter = tokio::spawn(async move {
            use futures_util::StreamExt;
            let mut messages = pubsub.on_message();
            let _ = messages.next().await;
            Instant::now()
        });
        tokio::time::sleep(Duration::from_millis(5)).await;
        let t = Instant::now();
        let _: i64 = script
            .key(&key)
            .key(&channel)
            .invoke_async(&mut worker)
            .await
            .unwrap();
        let woke = tokio::time::timeout(Duration::from_secs(30), waiter)
            .await
            .expect("subscriber")
            .unwrap();
        v.push(woke.saturating_duration_since(t));
    }
    v
}

fn us(d: Duration) -> String {
    format!("{:.0} µs", d.as_secs_f64() * 1e6)
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        // `cargo bench` harness protocol: nothing to list for name filtering.
        return;
    }
    let quick = std::env::var_os("BENCH_QUICK").is_some();
    let sizes = if quick {
        Sizes {
            ops: 500,
            per_client: 100,
            rounds: 50,
        }
    } else {
        Sizes {
            ops: 5000,
            per_client: 1000,
            rounds: 300,
        }
    };
    let server = Server::start();
    let url = server.url();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        // Every measure runs in PASSES slices, the slices of all measures interleaved, so a
        // busy or quiet period of the machine falls on all of them alike; medians over all
        // slices. Throughputs are medians of the passes' rates.
        const PASSES: usize = 5;
        let (ops, per_client, rounds) = (
            sizes.ops / PASSES,
            sizes.per_client / PASSES,
            sizes.rounds / PASSES,
        );
        let mut rtt = Vec::new();
        let mut tp: [Vec<f64>; 6] = Default::default();
        let (mut idle_rtt, mut idle_script, mut xread_lat) = (Vec::new(), Vec::new(), Vec::new());
        let (mut gw_lat, mut gw_reply, mut poll_lat, mut latch_lat) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for _ in 0..PASSES {
            rtt.extend(round_trip(&url, ops).await);
            tp[0].push(gw_throughput(&url, "tp1", 1, ops).await);
            tp[1].push(gw_throughput(&url, "tp16", 16, per_client).await);
            tp[2].push(baseline_throughput(&url, false, 1, ops).await);
            tp[3].push(baseline_throughput(&url, false, 16, per_client).await);
            tp[4].push(baseline_throughput(&url, true, 1, ops).await);
            tp[5].push(baseline_throughput(&url, true, 16, per_client).await);
            idle_rtt.extend(idle_round_trip(&url, rounds).await);
            idle_script.extend(idle_script_round_trip(&url, rounds).await);
            xread_lat.extend(xread_latency(&url, rounds).await);
            let (lat, reply) = gw_latency(&url, rounds).await;
            gw_lat.extend(lat);
            gw_reply.extend(reply);
            poll_lat.extend(poll_latency(&url, rounds).await);
            latch_lat.extend(redisson_latency(&url, rounds).await);
        }
        // Resets the server's statistics: after the passes, so the totals printed below
        // are of this last measure only.
        let (mut xadd_server, mut done_server) = (Vec::new(), Vec::new());
        for _ in 0..PASSES {
            let (x, d) = server_time_from_idle(&url, rounds).await;
            xadd_server.push(x);
            done_server.push(d);
        }
        let rtt_median = median(&mut rtt);
        let [gw_one, gw_16, incr_one, incr_16, latch_one, latch_16] = tp.map(|mut rates| {
            rates.sort_by(f64::total_cmp);
            rates[rates.len() / 2]
        });

        println!(
            "groupwait-redis on loopback (one redis-server, one run of {PASSES} interleaved passes)"
        );
        println!("round trip (PING) median: {}", us(rtt_median));
        println!(
            "round trip (PING after 5 ms idle): median {}, p90 {}",
            us(median(&mut idle_rtt)),
            us(p90(&mut idle_rtt))
        );
        println!(
            "trivial script (EVALSHA, return 1) after 5 ms idle: median {}, p90 {}",
            us(median(&mut idle_script)),
            us(p90(&mut idle_script))
        );
        println!(
            "XADD -> XREAD BLOCK wake (no script, no library): median {}, p90 {}",
            us(median(&mut xread_lat)),
            us(p90(&mut xread_lat))
        );
        println!(
            "groupwait-redis: the last done's own reply: median {}, p90 {}",
            us(median(&mut gw_reply)),
            us(p90(&mut gw_reply))
        );
        println!();
        println!("| | groupwait-redis | INCR-and-poll (1 ms) | DECR+PUBLISH (Redisson) |");
        println!("|---|---|---|---|");
        println!("| dones/s, 1 client | {gw_one:.0} | {incr_one:.0} | {latch_one:.0} |");
        println!("| dones/s, 16 clients | {gw_16:.0} | {incr_16:.0} | {latch_16:.0} |");
        println!(
            "| last done -> waiter returns, median | {} | {} | {} |",
            us(median(&mut gw_lat)),
            us(median(&mut poll_lat)),
            us(median(&mut latch_lat))
        );
        println!(
            "| last done -> waiter returns, p90 | {} | {} | {} |",
            us(p90(&mut gw_lat)),
            us(p90(&mut poll_lat)),
            us(p90(&mut latch_lat))
        );
        let med = |v: &mut Vec<f64>| {
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        };
        let (xadd_us, done_us) = (med(&mut xadd_server), med(&mut done_server));
        println!(
            "server time per call from 5 ms idle (INFO commandstats, median of {PASSES} slices): \
             bare XADD {xadd_us:.1} µs, a member's done {done_us:.1} µs = {:.2}x (target: <= 4)",
            done_us / xadd_us
        );
        let wake_ratio = median(&mut gw_lat).as_secs_f64() / median(&mut xread_lat).as_secs_f64();
        println!(
            "last done -> waiter wake = {wake_ratio:.2}x the bare XADD -> XREAD BLOCK wake \
             (target: <= 1.15)"
        );
        // Server-side cost per call, from the server's own accounting (the last measure's).
        let mut admin = conn(&url).await;
        let stats: String = redis::cmd("INFO")
            .arg("commandstats")
            .query_async(&mut admin)
            .await
            .unwrap();
        for line in stats.lines() {
            for cmd in [
                "cmdstat_evalsha:",
                "cmdstat_incr:",
                "cmdstat_ping:",
                "cmdstat_xread:",
                "cmdstat_xadd:",
            ] {
                if let Some(rest) = line.strip_prefix(cmd) {
                    println!("server {cmd} {rest}");
                }
            }
        }
        let ratio = median(&mut gw_lat).as_secs_f64() / rtt_median.as_secs_f64();
        let idle_ratio = median(&mut gw_lat).as_secs_f64() / median(&mut idle_rtt).as_secs_f64();
        println!();
        println!(
            "groupwait-redis wake latency = {ratio:.2} back-to-back round trips (target: <= 2), \
             {idle_ratio:.2} idle round trips; 16-client dones/s = {gw_16:.0} (target: >= 20000)"
        );
    });
    drop(server);
}
