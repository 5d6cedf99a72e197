//! A worker: joins a group as a member, works, calls `done`.
//!
//! ```text
//! cargo run -p examples-redis --example worker -- \
//!     --url redis://127.0.0.1:6379/ --group demo --id worker-1 --work-ms 5000
//! ```
//!
//! `--help` lists the flags. Ctrl-C drops the member, so the coordinator sees the loss at
//! once; `kill -9` leaves the lease to expire, and the coordinator sees the loss within one
//! lease (`--lease-ms`).

use groupwait_redis::{Error, Group, Options};
use std::time::Duration;

const DEFAULT_URL: &str = "redis://127.0.0.1:6379/";
const DEFAULT_GROUP: &str = "demo";
const DEFAULT_WORK_MS: u64 = 5000;
const DEFAULT_LEASE_MS: u64 = 3000;
/// How long a worker started before the coordinator waits for a unit to claim.
const WAIT_FOR_ADD: Duration = Duration::from_secs(60);

struct Args {
    url: String,
    group: String,
    id: Option<String>,
    work: Duration,
    lease: Duration,
}

fn help() -> String {
    format!(
        "usage: worker [--url URL] [--group NAME] [--id ID] [--work-ms N] [--lease-ms N]

Joins a wait group kept in Redis as a member (claiming a unit the coordinator added; if
the coordinator has not added yet, waiting up to a minute for it), works for a while,
then calls `done`. Ctrl-C leaves the group: the coordinator sees the
worker lost at once.

  --url URL       the Redis server (default {DEFAULT_URL})
  --group NAME    the group's name (default {DEFAULT_GROUP})
  --id ID         the member's id, named by the coordinator if the worker is lost
                  (default: an id the group makes up)
  --work-ms N     how long the work takes, in milliseconds (default {DEFAULT_WORK_MS})
  --lease-ms N    the member's lease, in milliseconds: a worker killed without leaving is
                  reported lost within it (default {DEFAULT_LEASE_MS})
  -h, --help      print this help and exit

Exit status: 0 done, 130 interrupted, 64 bad arguments, 1 other errors."
    )
}

fn parse_args() -> Args {
    let mut args = Args {
        url: DEFAULT_URL.into(),
        group: DEFAULT_GROUP.into(),
        id: None,
        work: Duration::from_millis(DEFAULT_WORK_MS),
        lease: Duration::from_millis(DEFAULT_LEASE_MS),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || {
            it.next()
                .unwrap_or_else(|| usage(&format!("{flag} needs a value")))
        };
        match flag.as_str() {
            "-h" | "--help" => {
                println!("{}", help());
                std::process::exit(0);
            }
            "--url" => args.url = value(),
            "--group" => args.group = value(),
            "--id" => args.id = Some(value()),
            "--work-ms" => args.work = Duration::from_millis(number(&value())),
            "--lease-ms" => args.lease = Duration::from_millis(number(&value())),
            _ => usage(&format!("unknown argument {flag}")),
        }
    }
    args
}

fn number(s: &str) -> u64 {
    s.parse()
        .unwrap_or_else(|_| usage(&format!("{s:?} is not a number")))
}

fn usage(problem: &str) -> ! {
    eprintln!("worker: {problem}\n\n{}", help());
    std::process::exit(64)
}

#[tokio::main]
async fn main() {
    let args = parse_args();
    let options = Options::default().lease(args.lease);
    let group = match Group::open_with(&args.url, &args.group, options).await {
        Ok(g) => g,
        Err(e) => {
            eprintln!("worker: cannot open group {}: {e}", args.group);
            std::process::exit(1);
        }
    };
    // A worker started before the coordinator's `add` finds no unit to claim yet: it waits
    // for one (a minute at most), rather than adding a unit the coordinator does not expect.
    let give_up = std::time::Instant::now() + WAIT_FOR_ADD;
    let mut told = false;
    let member = loop {
        let joined = match &args.id {
            Some(id) => group.join_as(id).await,
            None => group.join().await,
        };
        match joined {
            Ok(m) => break m,
            Err(Error::NothingToClaim { .. }) if std::time::Instant::now() < give_up => {
                if !told {
                    println!("waiting for the coordinator to add units to {}", args.group);
                    told = true;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => {
                eprintln!("worker: cannot join: {e}");
                std::process::exit(1);
            }
        }
    };
    // The tests wait for this line before killing the process.
    println!("joined {} round {}", member.id(), member.round());
    tokio::select! {
        _ = tokio::time::sleep(args.work) => {}
        _ = tokio::signal::ctrl_c() => {
            println!("interrupted: leaving, the coordinator will see {} lost", member.id());
            drop(member);
            // Give the background `leave` a moment to reach Redis before the runtime ends.
            tokio::time::sleep(Duration::from_millis(200)).await;
            std::process::exit(130);
        }
    }
    match member.done().await {
        Ok(()) => println!("done"),
        Err(e) => {
            eprintln!("worker: done failed: {e}");
            std::process::exit(1);
        }
    }
}
