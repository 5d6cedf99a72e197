//! A group on a Redis Cluster node (`cluster-enabled yes`, holding every slot): such a node
//! refuses a command or script whose keys span slots (`CROSSSLOT`), so every operation
//! passing here shows the group's keys share one slot, as a multi-node cluster needs. The
//! library talks to the node with its ordinary client (one node: no redirections). What one
//! node cannot show: a script touching an undeclared key that lives on another node (the
//! scripts touch only their declared keys), and routing by a cluster client (not wired up).

mod common;

use common::{bounded, group_name, RedisServer};
use groupwait_redis::{Error, Group, Options};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_runs_on_a_cluster_node() {
    let server = RedisServer::start_cluster_node();
    let mut admin = server.admin();
    // The node does enforce the slot rules (else this test would prove nothing).
    let cross: redis::RedisResult<()> = redis::cmd("EVAL")
        .arg("return redis.call('MSET', KEYS[1], 1, KEYS[2], 2)")
        .arg(2)
        .arg("gw:one")
        .arg("gw:two")
        .query(&mut admin);
    let refused = cross.expect_err("a cross-slot script must be refused");
    assert_eq!(
        refused.code(),
        Some("CROSSSLOT"),
        "unexpected refusal: {refused}"
    );

    let name = group_name("cluster");
    let options = Options::default().lease(Duration::from_millis(500));
    let group = bounded("open", Group::open_with(&server.url(), &name, options))
        .await
        .unwrap();
    // add, anonymous done, join, a member's done (fast path and full script), count, wait.
    group.add(2).await.unwrap();
    group.done().await.unwrap();
    let a = group.join_as("a").await.unwrap();
    let b = group.join_adding_as("b").await.unwrap();
    assert_eq!(group.count().await.unwrap(), 2);
    let waiter = {
        let g = group.clone();
        tokio::spawn(async move { g.wait().await })
    };
    a.done().await.unwrap();
    b.done().await.unwrap();
    bounded("wait", waiter).await.unwrap().unwrap();

    // A new round; a member dropped without done fails it (leave: the lost-member path).
    let c = group.join_adding_as("c").await.unwrap();
    drop(c);
    match bounded("wait after a leave", group.wait()).await {
        Err(Error::LostMember { id }) => assert_eq!(id, "c"),
        other => panic!("expected LostMember, got {other:?}"),
    }
    // reset, and a round after it completes.
    group.reset().await.unwrap();
    let d = group.join_adding_as("d").await.unwrap();
    d.done().await.unwrap();
    bounded("wait after a reset", group.wait()).await.unwrap();
}

/// The node of a three-node cluster that holds `key`'s slot.
fn node_of(nodes: &[RedisServer], key: &str) -> u16 {
    let slot: u16 = redis::cmd("CLUSTER")
        .arg("KEYSLOT")
        .arg(key)
        .query(&mut nodes[0].admin())
        .unwrap();
    let per = 16384 / nodes.len() as u16;
    nodes[(slot / per).min(nodes.len() as u16 - 1) as usize].port
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn groups_on_different_nodes_of_a_three_node_cluster() {
    let nodes = RedisServer::start_cluster(3);
    // Two groups whose slots live on different nodes, each opened through the first node
    // only: the cluster client finds the rest, and routes scripts and blocking reads to the
    // node of the group's slot.
    let first = nodes[0].url();
    let names: Vec<String> = (0..)
        .map(|i| group_name(&format!("spread{i}")))
        .scan(Vec::new(), |seen: &mut Vec<u16>, name| {
            let node = node_of(&nodes, &format!("gw:{{{name}}}:state"));
            let new = !seen.contains(&node);
            seen.push(node);
            Some((name, new))
        })
        .filter(|(_, new)| *new)
        .map(|(name, _)| name)
        .take(2)
        .collect();
    for name in &names {
        let options = Options::default().lease(Duration::from_millis(500));
        let group = bounded(
            "open",
            Group::open_cluster_with(&[first.as_str()], name, options),
        )
        .await
        .unwrap();
        let a = group.join_adding_as("a").await.unwrap();
        let b = group.join_adding_as("b").await.unwrap();
        let waiter = {
            let g = group.clone();
            tokio::spawn(async move { g.wait().await })
        };
        a.done().await.unwrap();
        assert_eq!(group.count().await.unwrap(), 1);
        b.done().await.unwrap();
        bounded("wait", waiter).await.unwrap().unwrap();
        // A member dropped without done is reported to a waiter on the cluster too.
        let lost = group.join_adding_as("lost").await.unwrap();
        drop(lost);
        match bounded("wait after a leave", group.wait()).await {
            Err(Error::LostMember { id }) => assert_eq!(id, "lost"),
            other => panic!("expected LostMember, got {other:?}"),
        }
    }
    // The blocking API on the cluster, and a refused option.
    let blocking = tokio::task::spawn_blocking({
        let first = first.clone();
        let name = names[0].clone();
        move || {
            let g = groupwait_redis::blocking::Group::open_cluster_with(
                &[first.as_str()],
                &name,
                Options::default(),
            )?;
            g.reset()?;
            g.add(1)?;
            g.done()?;
            g.wait()
        }
    });
    bounded("blocking", blocking).await.unwrap().unwrap();
    let replicas = Options::default().replicas(1, Duration::from_secs(1));
    assert!(matches!(
        Group::open_cluster_with(&[first.as_str()], &names[0], replicas).await,
        Err(Error::BadInput(_))
    ));
}
