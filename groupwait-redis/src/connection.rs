//! The connections a group uses, to one Redis server or (feature `cluster`) to a Redis
//! Cluster: a client to make them, the shared command connection (scripts), and the
//! connections of waiters (one each, since `XREAD BLOCK` holds its connection).

use crate::error::{Error, Result};
use crate::options::Options;
use redis::aio::{
    ConnectionLike, ConnectionManager, ConnectionManagerConfig, MultiplexedConnection,
};
use redis::{AsyncConnectionConfig, Client, Cmd, Pipeline, RedisFuture, Value};
use std::time::Duration;

/// Where the group lives. One per group, inside the group's shared state: the variants'
/// sizes do not matter.
#[derive(Clone)]
#[allow(clippy::large_enum_variant)]
pub(crate) enum Backend {
    Node(Client),
    #[cfg(feature = "cluster")]
    Cluster(redis::cluster::ClusterClient),
}

/// The command connection: scripts, shared by every operation of a group.
#[derive(Clone)]
pub(crate) enum CommandConn {
    /// Reconnects by itself after a lost connection.
    Node(ConnectionManager),
    /// Reconnects to the node that holds the group's slot, following the cluster's moves.
    #[cfg(feature = "cluster")]
    Cluster(redis::cluster_async::ClusterConnection),
}

/// A waiter's connection (also the probe made at open, and the one a replicated `done` uses).
pub(crate) enum WaitConn {
    Node(MultiplexedConnection),
    #[cfg(feature = "cluster")]
    Cluster(redis::cluster_async::ClusterConnection),
}

impl Backend {
    /// The client for `url`: plain, or TLS for `rediss://` (with a `tls-rustls*` feature),
    /// trusting the system roots or the root certificate given in the options.
    pub(crate) fn node(url: &str, options: &Options) -> Result<Backend> {
        let bad = |e: redis::RedisError| Error::BadInput(format!("url: {e}"));
        #[cfg(feature = "tls-rustls")]
        if crate::tls::is_tls(url) {
            crate::tls::ensure_provider()?;
        }
        #[cfg(feature = "tls-rustls")]
        if let Some(root) = &options.tls_root_cert {
            let certs = redis::TlsCertificates {
                client_tls: None,
                root_cert: Some(root.clone()),
            };
            return Client::build_with_tls(url, certs)
                .map(Backend::Node)
                .map_err(bad);
        }
        #[cfg(not(feature = "tls-rustls"))]
        let _ = options;
        Client::open(url).map(Backend::Node).map_err(bad)
    }

    /// A cluster client that discovers the cluster from `nodes` (any of its nodes will do).
    #[cfg(feature = "cluster")]
    pub(crate) fn cluster(nodes: &[&str], options: &Options) -> Result<Backend> {
        let bad = |e: redis::RedisError| Error::BadInput(format!("cluster nodes: {e}"));
        if nodes.is_empty() {
            return Err(Error::BadInput("no cluster node given".into()));
        }
        #[cfg(feature = "tls-rustls")]
        if nodes.iter().any(|url| crate::tls::is_tls(url)) {
            crate::tls::ensure_provider()?;
        }
        #[allow(unused_mut)]
        let mut builder = redis::cluster::ClusterClient::builder(nodes.iter().copied());
        #[cfg(feature = "tls-rustls")]
        if let Some(root) = &options.tls_root_cert {
            builder = builder.certs(redis::TlsCertificates {
                client_tls: None,
                root_cert: Some(root.clone()),
            });
        }
        builder
            .connection_timeout(options.connect_timeout)
            .response_timeout(options.response_timeout)
            .build()
            .map(Backend::Cluster)
            .map_err(bad)
    }

    /// The command connection: bounded by the options' timeouts, retrying a lost connection.
    pub(crate) async fn command_conn(&self, options: &Options) -> Result<CommandConn> {
        match self {
            Backend::Node(client) => {
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(options.connect_timeout))
                    .set_response_timeout(Some(options.response_timeout))
                    .set_number_of_retries(3)
                    .set_max_delay(Duration::from_millis(500));
                let conn = ConnectionManager::new_with_config(client.clone(), config).await?;
                Ok(CommandConn::Node(conn))
            }
            #[cfg(feature = "cluster")]
            Backend::Cluster(client) => Ok(CommandConn::Cluster(
                bounded(options, client.get_async_connection()).await?,
            )),
        }
    }

    /// A connection of its own, whose replies may take `response_timeout` (a blocked read's
    /// longest block plus the usual timeout).
    pub(crate) async fn wait_conn(
        &self,
        options: &Options,
        response_timeout: Duration,
    ) -> Result<WaitConn> {
        match self {
            Backend::Node(client) => {
                let config = AsyncConnectionConfig::new()
                    .set_connection_timeout(Some(options.connect_timeout))
                    .set_response_timeout(Some(response_timeout));
                let conn = bounded(
                    options,
                    client.get_multiplexed_async_connection_with_config(&config),
                )
                .await;
                #[cfg(feature = "tls-rustls")]
                let conn = match conn {
                    Err(e) => Err(crate::tls::explain_timeout(
                        client.get_connection_info(),
                        e,
                        options.connect_timeout,
                    )
                    .await),
                    ok => ok,
                };
                Ok(WaitConn::Node(conn?))
            }
            #[cfg(feature = "cluster")]
            Backend::Cluster(client) => {
                let config = redis::cluster::ClusterConfig::new()
                    .set_connection_timeout(options.connect_timeout)
                    .set_response_timeout(response_timeout);
                let conn =
                    bounded(options, client.get_async_connection_with_config(config)).await?;
                Ok(WaitConn::Cluster(conn))
            }
        }
    }
}

/// The whole connect (TCP, HELLO/AUTH, the cluster's topology) is bounded, not only the TCP
/// part.
async fn bounded<T>(
    options: &Options,
    connect: impl std::future::Future<Output = redis::RedisResult<T>>,
) -> Result<T> {
    let bound = options.connect_timeout + options.response_timeout;
    match tokio::time::timeout(bound, connect).await {
        Ok(r) => Ok(r?),
        Err(_) => Err(Error::Connection(redis::RedisError::from(
            std::io::Error::new(std::io::ErrorKind::TimedOut, "connect timed out"),
        ))),
    }
}

/// Forwards every call to the connection inside.
macro_rules! forward_connection_like {
    ($ty:ident) => {
        impl ConnectionLike for $ty {
            fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
                match self {
                    $ty::Node(c) => c.req_packed_command(cmd),
                    #[cfg(feature = "cluster")]
                    $ty::Cluster(c) => c.req_packed_command(cmd),
                }
            }

            fn req_packed_commands<'a>(
                &'a mut self,
                cmd: &'a Pipeline,
                offset: usize,
                count: usize,
            ) -> RedisFuture<'a, Vec<Value>> {
                match self {
                    $ty::Node(c) => c.req_packed_commands(cmd, offset, count),
                    #[cfg(feature = "cluster")]
                    $ty::Cluster(c) => c.req_packed_commands(cmd, offset, count),
                }
            }

            fn get_db(&self) -> i64 {
                match self {
                    $ty::Node(c) => c.get_db(),
                    #[cfg(feature = "cluster")]
                    $ty::Cluster(c) => c.get_db(),
                }
            }
        }
    };
}

forward_connection_like!(CommandConn);
forward_connection_like!(WaitConn);
