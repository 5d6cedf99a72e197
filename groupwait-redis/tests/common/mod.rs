//! A real `redis-server` for the tests: started on a free loopback port in a temporary
//! directory, with a password for the default user and two ACL users. Never skipped: if
//! the server is missing the test fails and says how to install it.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

pub const ADMIN_PASSWORD: &str = "gw-admin-secret";
pub const USER: &str = "gwuser";
pub const USER_PASSWORD: &str = "gw-user-secret";
/// A user that may touch the keys but not run scripts.
pub const NOSCRIPT_USER: &str = "noscript";
pub const NOSCRIPT_PASSWORD: &str = "gw-noscript-secret";

/// Every bounded wait in the tests fails after this, never hangs CI.
pub const TEST_BOUND: Duration = Duration::from_secs(60);

pub struct RedisServer {
    child: Option<Child>,
    pub port: u16,
    pub dir: PathBuf,
    aof: bool,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("no free loopback port")
        .port()
}

/// A port where nothing listens (bound and released; nothing else here binds it).
pub fn closed_port() -> u16 {
    free_port()
}

impl RedisServer {
    /// A server without persistence.
    pub fn start() -> RedisServer {
        RedisServer::start_inner(false)
    }

    /// A server with `appendonly yes` and `appendfsync always`, for the restart test.
    pub fn start_with_aof() -> RedisServer {
        RedisServer::start_inner(true)
    }

    fn start_inner(aof: bool) -> RedisServer {
        static N: AtomicU32 = AtomicU32::new(0);
        let port = free_port();
        let dir = std::env::temp_dir().join(format!(
            "groupwait-redis-test-{}-{}-{}",
            std::process::id(),
            port,
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).expect("create the server's temp dir");
        let mut server = RedisServer {
            child: None,
            port,
            dir,
            aof,
        };
        server.launch();
        server
    }

    fn launch(&mut self) {
        let mut cmd = Command::new("redis-server");
        cmd.arg("--port")
            .arg(self.port.to_string())
            .arg("--bind")
            .arg("127.0.0.1")
            .arg("--dir")
            .arg(&self.dir)
            .arg("--save")
            .arg("")
            .arg("--daemonize")
            .arg("no")
            .arg("--logfile")
            .arg("")
            .arg("--requirepass")
            .arg(ADMIN_PASSWORD)
            .args([
                "--user",
                USER,
                "on",
                &format!(">{USER_PASSWORD}"),
                "~gw:*",
                "+@all",
            ])
            .args([
                "--user",
                NOSCRIPT_USER,
                "on",
                &format!(">{NOSCRIPT_PASSWORD}"),
                "~gw:*",
                "+@all",
                "-@scripting",
            ]);
        if self.aof {
            cmd.args(["--appendonly", "yes", "--appendfsync", "always"]);
        } else {
            cmd.args(["--appendonly", "no"]);
        }
        cmd.stdout(Stdio::piped()).stderr(Stdio::null());
        let mut child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) => panic!(
                "cannot start redis-server ({e}): these tests need a real Redis. \
                 Install it with scripts/install-test-deps.sh (Debian: apt-get install redis-server)"
            ),
        };
        // Drain the server's log so it never blocks on a full pipe; keep it for failures.
        let out = child.stdout.take().expect("piped stdout");
        let port = self.port;
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if std::env::var_os("GW_TEST_REDIS_LOG").is_some() {
                    eprintln!("[redis {port}] {line}");
                }
            }
        });
        self.child = Some(child);
        self.wait_ready();
    }

    fn wait_ready(&mut self) {
        let start = Instant::now();
        loop {
            let ok = redis::Client::open(self.admin_url())
                .and_then(|c| c.get_connection_with_timeout(Duration::from_millis(200)))
                .and_then(|mut c| redis::cmd("PING").query::<String>(&mut c));
            if ok.is_ok() {
                return;
            }
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                panic!(
                    "redis-server on port {} exited at start: {status}",
                    self.port
                );
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "redis-server on port {} not ready after 20 s: {ok:?}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The ACL user the library runs as in the tests.
    pub fn url(&self) -> String {
        format!("redis://{USER}:{USER_PASSWORD}@127.0.0.1:{}/", self.port)
    }

    /// The default user, with the server's password (for the tests' own checks).
    pub fn admin_url(&self) -> String {
        format!("redis://:{ADMIN_PASSWORD}@127.0.0.1:{}/", self.port)
    }

    pub fn url_on_port(&self, port: u16) -> String {
        format!("redis://{USER}:{USER_PASSWORD}@127.0.0.1:{port}/")
    }

    /// A synchronous admin connection for assertions on the raw keys.
    pub fn admin(&self) -> redis::Connection {
        redis::Client::open(self.admin_url())
            .and_then(|c| c.get_connection_with_timeout(Duration::from_secs(2)))
            .expect("admin connection")
    }

    /// SIGKILL the server (no shutdown, no final save).
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Start again on the same port and directory (the AOF is replayed).
    pub fn restart(&mut self) {
        self.kill();
        self.launch();
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A unique group name per test.
pub fn group_name(test: &str) -> String {
    format!("{test}-{}", std::process::id())
}

/// Bounds a future by [`TEST_BOUND`], failing with `what` instead of hanging.
pub async fn bounded<F: std::future::Future>(what: &str, f: F) -> F::Output {
    match tokio::time::timeout(TEST_BOUND, f).await {
        Ok(v) => v,
        Err(_) => panic!("{what}: no result within {TEST_BOUND:?}"),
    }
}
