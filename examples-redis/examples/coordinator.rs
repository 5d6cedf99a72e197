//! A coordinator: reserves one unit per expected worker, waits, and shows a live count.
//!
//! ```text
//! cargo run -p examples-redis --example coordinator -- \
//!     --url redis://127.0.0.1:6379/ --group demo --workers 3
//! ```
//!
//! Then start workers in other terminals. Exit status: 0 when all are done, 2 when a worker
//! was lost (its id is printed), 1 on any other error.

use groupwait_redis::Error;
use std::time::Duration;

fn main() {
    let mut url = "redis://127.0.0.1:6379/".to_string();
    let mut name = "demo".to_string();
    let mut workers = 3u64;
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it
            .next()
            .unwrap_or_else(|| fail(&format!("{flag} needs a value")));
        match flag.as_str() {
            "--url" => url = value,
            "--group" => name = value,
            "--workers" => workers = value.parse().unwrap_or_else(|_| fail("--workers N")),
            _ => fail(&format!("unknown argument {flag}")),
        }
    }
    // The blocking API: no async runtime needed here.
    let group = groupwait_redis::blocking::Group::open(&url, &name)
        .unwrap_or_else(|e| fail(&format!("cannot open group {name}: {e}")));
    group
        .add(workers)
        .unwrap_or_else(|e| fail(&format!("cannot add: {e}")));
    println!("waiting for {workers} workers on group {name}");
    loop {
        // Waiting in one-second slices only to refresh the display; the wait itself blocks
        // on the group's log and returns as soon as the count reaches zero.
        match group.wait_timeout(Duration::from_secs(1)) {
            Ok(()) => {
                println!("all workers done");
                return;
            }
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

fn fail(problem: &str) -> ! {
    eprintln!("coordinator: {problem}");
    std::process::exit(1)
}
