//! A worker: joins a group as a member, works, calls `done`.
//!
//! ```text
//! cargo run -p examples-redis --example worker -- \
//!     --url redis://127.0.0.1:6379/ --group demo --id worker-1 --work-ms 5000
//! ```
//!
//! Ctrl-C drops the member, so the coordinator sees the loss at once; `kill -9` leaves the
//! lease to expire, and the coordinator sees the loss within one lease (`--lease-ms`).

use groupwait_redis::{Group, Options};
use std::time::Duration;

struct Args {
    url: String,
    group: String,
    id: Option<String>,
    work: Duration,
    lease: Duration,
}

fn parse_args() -> Args {
    let mut args = Args {
        url: "redis://127.0.0.1:6379/".into(),
        group: "demo".into(),
        id: None,
        work: Duration::from_secs(5),
        lease: Duration::from_secs(3),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || {
            it.next()
                .unwrap_or_else(|| usage(&format!("{flag} needs a value")))
        };
        match flag.as_str() {
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
    eprintln!("worker: {problem}");
    eprintln!("usage: worker [--url URL] [--group NAME] [--id ID] [--work-ms N] [--lease-ms N]");
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
    let joined = match &args.id {
        Some(id) => group.join_as(id).await,
        None => group.join().await,
    };
    let member = match joined {
        Ok(m) => m,
        Err(e) => {
            eprintln!("worker: cannot join: {e}");
            std::process::exit(1);
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
