//! A real `redis-server` for the tests: started on a free loopback port in a temporary
//! directory, with a password for the default user and two ACL users. Never skipped: if
//! the server is missing the test fails and says how to install it.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener as AsyncListener, TcpStream};

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
    /// TLS only (no plain port): the CA certificate (PEM) that signed the server's.
    pub tls_ca: Option<Vec<u8>>,
    /// A replica: the primary's port.
    replica_of: Option<u16>,
    /// A Redis Cluster node (`cluster-enabled yes`) that holds every slot.
    cluster: bool,
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
        RedisServer::start_inner(false, false)
    }

    /// A server that speaks only TLS, with a certificate for IP 127.0.0.1 signed by a CA made
    /// for this test (with the `openssl` command).
    pub fn start_tls() -> RedisServer {
        RedisServer::start_inner(false, true)
    }

    /// A server with `appendonly yes` and `appendfsync always`, for the restart test.
    pub fn start_with_aof() -> RedisServer {
        RedisServer::start_inner(true, false)
    }

    /// A replica of `primary` (plain, same passwords), returned once its link is up.
    pub fn start_replica_of(primary: &RedisServer) -> RedisServer {
        let server = RedisServer::start_inner_with(false, false, Some(primary.port), false);
        let start = Instant::now();
        loop {
            let info: String = redis::cmd("INFO")
                .arg("replication")
                .query(&mut server.admin())
                .expect("INFO replication");
            if info.contains("master_link_status:up") {
                return server;
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "replica link not up after 20 s: {info}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// A one-node Redis Cluster: `cluster-enabled yes`, every slot assigned to this node, and
    /// returned once the cluster state is `ok`. A cluster node enforces what a multi-node
    /// cluster needs of a script: all its keys in one slot, declared in `KEYS`.
    pub fn start_cluster_node() -> RedisServer {
        let server = RedisServer::start_inner_with(false, false, None, true);
        let mut admin = server.admin();
        let _: () = redis::cmd("CLUSTER")
            .arg("ADDSLOTSRANGE")
            .arg(0)
            .arg(16383)
            .query(&mut admin)
            .expect("CLUSTER ADDSLOTSRANGE");
        let start = Instant::now();
        loop {
            let info: String = redis::cmd("CLUSTER")
                .arg("INFO")
                .query(&mut admin)
                .expect("CLUSTER INFO");
            if info.contains("cluster_state:ok") {
                return server;
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "cluster state not ok after 20 s: {info}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// A Redis Cluster of `n` primaries (no replicas), the slots split evenly between them,
    /// returned once every node reports the cluster state `ok`.
    pub fn start_cluster(n: usize) -> Vec<RedisServer> {
        let nodes: Vec<RedisServer> = (0..n)
            .map(|_| RedisServer::start_inner_with(false, false, None, true))
            .collect();
        let per = 16384 / n;
        for (i, node) in nodes.iter().enumerate() {
            let first = i * per;
            let last = if i + 1 == n { 16383 } else { first + per - 1 };
            let _: () = redis::cmd("CLUSTER")
                .arg("ADDSLOTSRANGE")
                .arg(first)
                .arg(last)
                .query(&mut node.admin())
                .expect("CLUSTER ADDSLOTSRANGE");
        }
        for node in &nodes[1..] {
            let _: () = redis::cmd("CLUSTER")
                .arg("MEET")
                .arg("127.0.0.1")
                .arg(node.port)
                .query(&mut nodes[0].admin())
                .expect("CLUSTER MEET");
        }
        let start = Instant::now();
        for node in &nodes {
            loop {
                let info: String = redis::cmd("CLUSTER")
                    .arg("INFO")
                    .query(&mut node.admin())
                    .expect("CLUSTER INFO");
                if info.contains("cluster_state:ok")
                    && info.contains(&format!("cluster_known_nodes:{n}"))
                {
                    break;
                }
                assert!(
                    start.elapsed() < Duration::from_secs(30),
                    "cluster not ok after 30 s: {info}"
                );
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        nodes
    }

    fn start_inner(aof: bool, tls: bool) -> RedisServer {
        RedisServer::start_inner_with(aof, tls, None, false)
    }

    fn start_inner_with(
        aof: bool,
        tls: bool,
        replica_of: Option<u16>,
        cluster: bool,
    ) -> RedisServer {
        static N: AtomicU32 = AtomicU32::new(0);
        // A cluster node also listens on its port + 10000 (the cluster bus).
        let port = loop {
            let port = free_port();
            if !cluster
                || (port < 55_535 && TcpListener::bind(("127.0.0.1", port + 10_000)).is_ok())
            {
                break port;
            }
        };
        let dir = std::env::temp_dir().join(format!(
            "groupwait-redis-test-{}-{}-{}",
            std::process::id(),
            port,
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).expect("create the server's temp dir");
        let tls_ca = tls.then(|| make_certificates(&dir));
        let mut server = RedisServer {
            child: None,
            port,
            dir,
            aof,
            tls_ca,
            replica_of,
            cluster,
        };
        server.launch();
        server
    }

    fn launch(&mut self) {
        let mut cmd = Command::new("redis-server");
        if self.tls_ca.is_some() {
            let file = |name: &str| self.dir.join(name).display().to_string();
            cmd.args(["--port", "0", "--tls-port", &self.port.to_string()])
                .args(["--tls-cert-file", &file("server.crt")])
                .args(["--tls-key-file", &file("server.key")])
                .args(["--tls-ca-cert-file", &file("ca.crt")])
                .args(["--tls-auth-clients", "no"]);
        } else {
            cmd.arg("--port").arg(self.port.to_string());
        }
        cmd.arg("--bind")
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
        // A replica's first sync starts at once (the default waits 5 s for more replicas).
        cmd.args(["--repl-diskless-sync-delay", "0"]);
        if let Some(primary) = self.replica_of {
            cmd.args(["--replicaof", "127.0.0.1", &primary.to_string()])
                .args(["--masterauth", ADMIN_PASSWORD]);
        }
        if self.cluster {
            cmd.args(["--cluster-enabled", "yes", "--cluster-config-file"])
                .arg(self.dir.join("nodes.conf"));
        }
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

    /// Ready: a plain server answers `PING`; a TLS server accepts a TCP connection (a TLS
    /// client here would need a rustls provider, and `tests/tls_provider.rs` needs that
    /// nothing in the process installs one before the group does).
    fn wait_ready(&mut self) {
        let start = Instant::now();
        loop {
            let ok = if self.tls_ca.is_some() {
                std::net::TcpStream::connect_timeout(
                    &([127, 0, 0, 1], self.port).into(),
                    Duration::from_millis(200),
                )
                .map(drop)
                .map_err(|e| e.to_string())
            } else {
                self.client(&self.admin_url())
                    .and_then(|c| c.get_connection_with_timeout(Duration::from_millis(200)))
                    .and_then(|mut c| redis::cmd("PING").query::<String>(&mut c))
                    .map(drop)
                    .map_err(|e| e.to_string())
            };
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

    fn scheme(&self) -> &'static str {
        if self.tls_ca.is_some() {
            "rediss"
        } else {
            "redis"
        }
    }

    /// The ACL user the library runs as in the tests.
    pub fn url(&self) -> String {
        format!(
            "{}://{USER}:{USER_PASSWORD}@127.0.0.1:{}/",
            self.scheme(),
            self.port
        )
    }

    /// The default user, with the server's password (for the tests' own checks).
    pub fn admin_url(&self) -> String {
        format!(
            "{}://:{ADMIN_PASSWORD}@127.0.0.1:{}/",
            self.scheme(),
            self.port
        )
    }

    /// A client for the tests' own checks (trusting the test CA on a TLS server).
    fn client(&self, url: &str) -> redis::RedisResult<redis::Client> {
        match &self.tls_ca {
            #[cfg(feature = "tls")]
            Some(ca) => redis::Client::build_with_tls(
                url,
                redis::TlsCertificates {
                    client_tls: None,
                    root_cert: Some(ca.clone()),
                },
            ),
            #[cfg(not(feature = "tls"))]
            Some(_) => panic!("a TLS server needs the `tls` feature"),
            None => redis::Client::open(url),
        }
    }

    pub fn url_on_port(&self, port: u16) -> String {
        format!("redis://{USER}:{USER_PASSWORD}@127.0.0.1:{port}/")
    }

    /// A synchronous admin connection for assertions on the raw keys.
    pub fn admin(&self) -> redis::Connection {
        self.client(&self.admin_url())
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

/// A CA and a server certificate for IP 127.0.0.1 in `dir` (ca.crt, server.crt,
/// server.key), made with the `openssl` command; returns the CA certificate (PEM).
fn make_certificates(dir: &std::path::Path) -> Vec<u8> {
    let run = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .unwrap_or_else(|e| {
                panic!("cannot run openssl ({e}): run scripts/install-test-deps.sh")
            });
        assert!(
            out.status.success(),
            "openssl {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    run(&[
        &["req", "-x509"][..],
        &ec[..],
        &[
            "-keyout",
            "ca.key",
            "-out",
            "ca.crt",
            "-days",
            "2",
            "-subj",
            "/CN=groupwait test CA",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ],
    ]
    .concat());
    run(&[
        &["req"][..],
        &ec[..],
        &[
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=127.0.0.1",
        ],
    ]
    .concat());
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n\
         keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
    )
    .expect("write server.ext");
    run(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.crt",
        "-days",
        "2",
        "-extfile",
        "server.ext",
    ]);
    std::fs::read(dir.join("ca.crt")).expect("read ca.crt")
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

/// What a test proxy does to the links through it ([`proxy`]).
#[derive(Clone, Default)]
pub struct ProxyFaults {
    /// Once armed, the first request containing these bytes is forwarded to the server, then
    /// both sides are closed without forwarding the reply: a call that landed but whose reply
    /// was lost.
    pub lose_reply_of: Option<(Vec<u8>, Arc<AtomicBool>)>,
    /// While this says false, every link is closed and new ones are closed at once: a network
    /// cut between the proxy's clients and the server (clients connected directly still
    /// reach it).
    pub up: Option<tokio::sync::watch::Receiver<bool>>,
}

/// A loopback proxy to the server on `upstream`, with `faults`; returns its port.
pub async fn proxy(upstream: u16, faults: ProxyFaults) -> u16 {
    let listener = AsyncListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let is_up =
        |up: &Option<tokio::sync::watch::Receiver<bool>>| up.as_ref().is_none_or(|u| *u.borrow());
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            let ProxyFaults {
                lose_reply_of,
                mut up,
            } = faults.clone();
            if !is_up(&up) {
                continue; // cut: closed at once
            }
            tokio::spawn(async move {
                let Ok(mut server) = TcpStream::connect(("127.0.0.1", upstream)).await else {
                    return;
                };
                let (mut a, mut b) = ([0u8; 16384], [0u8; 16384]);
                loop {
                    tokio::select! {
                        Ok(()) = async { match up.as_mut() {
                            Some(u) => u.changed().await.map_err(drop),
                            None => std::future::pending().await,
                        } } => {
                            if !is_up(&up) { return; }
                        }
                        n = client.read(&mut a) => {
                            let Ok(n @ 1..) = n else { return };
                            let chunk = &a[..n];
                            if server.write_all(chunk).await.is_err() { return; }
                            if let Some((trap, armed)) = &lose_reply_of {
                                let hit = chunk.windows(trap.len()).any(|w| w == trap.as_slice());
                                if hit && armed.swap(false, Ordering::SeqCst) {
                                    // Let the server run it, then drop the reply and the link.
                                    tokio::time::sleep(Duration::from_millis(300)).await;
                                    return;
                                }
                            }
                        }
                        n = server.read(&mut b) => {
                            let Ok(n @ 1..) = n else { return };
                            if client.write_all(&b[..n]).await.is_err() { return; }
                        }
                    }
                }
            });
        }
    });
    port
}

/// A proxy that, once armed, loses the reply of the first request containing `trap`.
pub async fn lossy_proxy(upstream: u16, trap: Vec<u8>, armed: Arc<AtomicBool>) -> u16 {
    let faults = ProxyFaults {
        lose_reply_of: Some((trap, armed)),
        up: None,
    };
    proxy(upstream, faults).await
}
