//! `Options::replicas`: a `done` that waits for replicas (`WAIT`), against a real primary
//! and replica.

mod common;

use common::{bounded, group_name, RedisServer};
use groupwait_redis::{Error, Group, Options};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn done_waits_for_the_replicas_asked_for() {
    let primary = RedisServer::start();
    let replica = RedisServer::start_replica_of(&primary);
    let name = group_name("replicas");
    let one = Options::default().replicas(1, Duration::from_secs(5));
    let group = bounded("open", Group::open_with(&primary.url(), &name, one))
        .await
        .unwrap();
    let a = group.join_adding_as("a").await.unwrap();
    let b = group.join_adding_as("b").await.unwrap();
    // One replica is there: the done returns once it has it.
    bounded("done", a.done()).await.unwrap();
    // Two are asked for, one exists: the done is recorded but reported as not replicated.
    let two = Options::default().replicas(2, Duration::from_millis(200));
    let strict = Group::open_with(&primary.url(), &name, two).await.unwrap();
    strict.add(1).await.unwrap();
    match bounded("done", strict.done()).await {
        Err(Error::NotReplicated { acked, wanted }) => {
            assert_eq!((acked, wanted), (1, 2));
        }
        other => panic!("expected NotReplicated, got {other:?}"),
    }
    assert_eq!(
        group.count().await.unwrap(),
        1,
        "the unreplicated done still counted"
    );
    b.done().await.unwrap();
    bounded("wait", group.wait()).await.unwrap();
    drop(replica);
}
