//! A coordinator: reserves one unit per expected worker, waits, and shows a live count.
//!
//! ```text
//! cargo run -p examples-redis --example coordinator -- \
//!     --url redis://127.0.0.1:6379/ --group demo --workers 3
//! ```
//!
//! Then start workers in other terminals. `--help` lists the flags. Exit status: 0 when all
//! are done, 2 when a worker was lost (its id is printed), 64 for a bad command line, 1 on
//! any other error.

use groupwait_redis::Error;
use std::time::Duration;

const DEFAULT_URL: &str = "redis://127.0.0.1:6379/";
const DEFAULT_GROUP: &str = "demo";
const DEFAULT_WORKERS: u64 = 3;

struct Args {
    url: String,
    group: String,
    workers: u64,
    reset: bool,
}

fn help() -> String {
    format!(
        "usage: coordinator [--url URL] [--group NAME] [--workers N] [--reset]

Reserves one unit per worker on a wait group kept in Redis, then waits for the workers'
`done`, printing the count each second.

  --url URL      the Redis server (default {DEFAULT_URL})
  --group NAME   the group's name (default {DEFAULT_GROUP})
  --workers N    how many workers to wait for (default {DEFAULT_WORKERS})
  --reset        start a new round first, ending the group's current one, for example
                 a round that failed on a lost worker (default: off)
  -h, --help     print this help and exit

Exit status: 0 all workers done, 2 a worker was lost, 64 bad arguments, 1 other errors."
    )
}

fn parse_args() -> Args {
    let mut args = Args {
        url: DEFAULT_URL.into(),
        group: DEFAULT_GROUP.into(),
        workers: DEFAULT_WORKERS,
        reset: false,
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
            "--workers" => {
                let n = value();
                args.workers = n
                    .parse()
                    .unwrap_or_else(|_| usage(&format!("--workers {n:?} is not a number")));
            }
            "--reset" => args.reset = true,
            _ => usage(&format!("unknown argument {flag}")),
        }
    }
    args
}

fn main() {
    let args = parse_args();
    let name = &args.group;
    // The blocking API: no async runtime needed here.
    let group = groupwait_redis::blocking::Group::open(&args.url, name)
        .unwrap_or_else(|e| fail(&format!("cannot open group {name}: {e}")));
    if args.reset {
        let round = group
            .reset()
            .unwrap_or_else(|e| fail(&format!("cannot reset: {e}")));
        println!("reset group {name}: round {round}");
    }
    match group.add(args.workers) {
        Ok(()) => {}
        Err(e @ (Error::LostMember { .. } | Error::GroupLost { .. })) => fail(&format!(
            "cannot add: {e}\nrerun with --reset to start a new round"
        )),
        Err(e) => fail(&format!("cannot add: {e}")),
    }
    println!("waiting for {} workers on group {name}", args.workers);
    for slice in 1.. {
        // Waiting in one-second slices only to refresh the display; the wait itself blocks
        // on the group's log and returns as soon as the count reaches zero. Every third
        // slice, who is still out.
        match group.wait_timeout(Duration::from_secs(1)) {
            Ok(()) => {
                println!("all workers done");
                return;
            }
            Err(Error::TimedOut) if slice % 3 == 0 => match group.outstanding() {
                Ok(out) => println!("{}", still_out(&out)),
                Err(e) => fail(&format!("cannot read who is out: {e}")),
            },
            Err(Error::TimedOut) => match group.count() {
                Ok(n) => println!("{n} to go"),
                Err(e) => fail(&format!("cannot read the count: {e}")),
            },
            Err(Error::LostMember { id }) => {
                println!("lost worker {id}");
                std::process::exit(2);
            }
            Err(e) => fail(&format!("wait failed: {e}")),
        }
    }
}

/// `2 to go: w2 (joined 4.1 s ago, lease ends in 2.3 s), 1 not claimed by any worker`.
fn still_out(out: &groupwait_redis::Outstanding) -> String {
    let mut parts: Vec<String> = out
        .members
        .iter()
        .map(|m| {
            let joined = m.joined_ago.map_or(String::new(), |d| {
                format!("joined {:.1} s ago, ", d.as_secs_f64())
            });
            format!(
                "{} ({joined}lease ends in {:.1} s)",
                m.id,
                m.lease_left.as_secs_f64()
            )
        })
        .collect();
    if out.unclaimed > 0 {
        parts.push(format!("{} not claimed by any worker", out.unclaimed));
    }
    format!("{} to go: {}", out.count, parts.join(", "))
}

fn usage(problem: &str) -> ! {
    eprintln!("coordinator: {problem}\n\n{}", help());
    std::process::exit(64)
}

fn fail(problem: &str) -> ! {
    eprintln!("coordinator: {problem}");
    std::process::exit(1)
}
