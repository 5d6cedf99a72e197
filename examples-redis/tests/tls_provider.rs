//! A group opened over TLS in a process where rustls cannot pick a crypto provider by
//! itself: this package's feature `tls-both-backends` enables both of rustls's backends
//! (`ring` and `aws_lc_rs`), as two dependencies of one application may, and nothing installs a
//! process default. Opening must still work (groupwait-redis installs the backend its
//! feature names), never panic. One test in its own binary: the process default is
//! process-wide and can be installed only once.
#![cfg(feature = "tls-both-backends")]

mod common;

use common::{bounded, group_name, RedisServer};
use groupwait_redis::{Group, Options};
use rustls::crypto::CryptoProvider;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_over_tls_with_both_rustls_backends_and_no_default_provider() {
    assert!(
        CryptoProvider::get_default().is_none(),
        "the precondition: no process-level provider yet"
    );
    let server = RedisServer::start_tls();
    let options = Options::default().tls_root_certificate(server.tls_ca.clone().unwrap());
    let name = group_name("tls_provider");
    // A panic inside `open` would fail this test with rustls's message.
    let group = bounded("open", Group::open_with(&server.url(), &name, options))
        .await
        .expect("open over TLS");
    group.add(1).await.unwrap();
    group.done().await.unwrap();
    bounded("wait", group.wait()).await.unwrap();
    assert!(
        CryptoProvider::get_default().is_some(),
        "the group installed a provider"
    );
}
