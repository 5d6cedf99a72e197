//! The group over TLS (`rediss://`) against a real redis-server that speaks only TLS, with a
//! certificate signed by a CA made for the test; and a `rediss://` URL to a plain server.
#![cfg(feature = "tls")]

mod common;

use common::{bounded, group_name, RedisServer};
use groupwait_redis::{Error, Group, Options};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_complete_a_round_over_tls() {
    let server = RedisServer::start_tls();
    let ca = server.tls_ca.clone().unwrap();
    let options = Options::default().tls_root_certificate(ca);
    let name = group_name("tls");
    let group = bounded("open", Group::open_with(&server.url(), &name, options))
        .await
        .expect("open over TLS");
    group.add(2).await.unwrap();
    let waiter = {
        let g = group.clone();
        tokio::spawn(async move { g.wait().await })
    };
    for i in 0..2 {
        let m = group.join_as(&format!("t{i}")).await.unwrap();
        m.done().await.unwrap();
    }
    bounded("waiter", waiter).await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn untrusted_server_certificate_is_a_connection_error() {
    let server = RedisServer::start_tls();
    // The system roots do not include the test CA.
    let r = bounded(
        "open",
        Group::open(&server.url(), &group_name("tls_untrusted")),
    )
    .await;
    assert!(matches!(r, Err(Error::Connection(_))), "{r:?}");
}

/// A `rediss://` URL to a plain port: the server waits for a command and never answers the
/// TLS ClientHello, so the connect times out; the error says that the handshake failed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_url_to_a_plain_server_says_the_handshake_failed() {
    let server = RedisServer::start();
    let url = server.url().replacen("redis://", "rediss://", 1);
    let r = bounded("open", Group::open(&url, &group_name("tls_plain"))).await;
    let Err(Error::Connection(e)) = r else {
        panic!("expected Error::Connection, got {r:?}");
    };
    let message = e.to_string();
    assert!(
        message.contains("TLS handshake") && message.contains(&server.port.to_string()),
        "{message}"
    );
}
