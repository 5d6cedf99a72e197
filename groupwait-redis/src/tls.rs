//! TLS (`rediss://`): the rustls crypto provider the connections use, chosen here rather than
//! left to rustls's crate features (which panic when they name two backends or none), and
//! a failed handshake reported as one.

use crate::error::{Error, Result};
use redis::{ConnectionAddr, ConnectionInfo, IntoConnectionInfo};
use rustls::crypto::CryptoProvider;
use std::time::Duration;

/// Whether `url` is a TLS address (`rediss://`). A URL that does not parse is left to the
/// client, which reports it.
pub(crate) fn is_tls(url: &str) -> bool {
    url.into_connection_info()
        .is_ok_and(|info| matches!(info.addr(), ConnectionAddr::TcpTls { .. }))
}

/// Makes sure rustls has a process-level crypto provider before the redis crate builds a
/// TLS configuration (it asks rustls for the process default, and rustls panics if there is
/// none and its crate features do not name exactly one backend: two crates in one
/// application enabling `ring` and `aws_lc_rs` is enough).
///
/// A provider the application installed is kept. Otherwise the one our feature names is
/// installed: `aws-lc-rs` if `tls-rustls-aws-lc-rs` is on, else `ring`; with neither,
/// [`Error::BadInput`] says what to do.
pub(crate) fn ensure_provider() -> Result<()> {
    if CryptoProvider::get_default().is_some() {
        return Ok(());
    }
    #[cfg(feature = "tls-rustls-aws-lc-rs")]
    let provider = Some(rustls::crypto::aws_lc_rs::default_provider());
    #[cfg(all(feature = "tls-rustls-ring", not(feature = "tls-rustls-aws-lc-rs")))]
    let provider = Some(rustls::crypto::ring::default_provider());
    #[cfg(not(any(feature = "tls-rustls-ring", feature = "tls-rustls-aws-lc-rs")))]
    let provider: Option<CryptoProvider> = None;
    match provider {
        // An Err means another thread installed one first: that one is used, as here.
        Some(provider) => {
            let _ = provider.install_default();
            Ok(())
        }
        None => Err(Error::BadInput(
            "a rediss:// URL needs a rustls crypto provider: enable groupwait-redis's feature \
             `tls-rustls-ring` or `tls-rustls-aws-lc-rs`, or install one with \
             `rustls::crypto::CryptoProvider::install_default` before opening the group"
                .into(),
        )),
    }
}

/// A connect to a TLS address that timed out: if the TCP port accepts a connection within
/// `connect_timeout`, the TLS handshake is what did not finish (a plain Redis port waits for
/// a command and never answers a ClientHello), and the error says so. Any other error is
/// returned as it is.
pub(crate) async fn explain_timeout(
    info: &ConnectionInfo,
    error: Error,
    connect_timeout: Duration,
) -> Error {
    let timed_out = matches!(&error, Error::Connection(e) if e.is_timeout());
    let ConnectionAddr::TcpTls { host, port, .. } = info.addr() else {
        return error;
    };
    if !timed_out {
        return error;
    }
    let tcp = tokio::net::TcpStream::connect((host.as_str(), *port));
    if !matches!(tokio::time::timeout(connect_timeout, tcp).await, Ok(Ok(_))) {
        return error;
    }
    Error::Connection(redis::RedisError::from(std::io::Error::new(
        std::io::ErrorKind::TimedOut,
        format!(
            "the TLS handshake with {host}:{port} did not complete (the TCP connection did): \
             does this port speak TLS? A plain Redis port needs a redis:// URL"
        ),
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_rediss_urls_are_tls() {
        assert!(is_tls("rediss://:pw@127.0.0.1:6380/"));
        assert!(!is_tls("redis://:pw@127.0.0.1:6379/"));
        assert!(!is_tls("redis+unix:///tmp/redis.sock"));
        assert!(!is_tls("http://nowhere"));
    }

    /// With a backend feature, the first TLS open installs that backend (or keeps the one
    /// installed before).
    #[cfg(any(feature = "tls-rustls-ring", feature = "tls-rustls-aws-lc-rs"))]
    #[test]
    fn a_backend_feature_provides_the_process_default() {
        ensure_provider().unwrap();
        assert!(CryptoProvider::get_default().is_some());
    }

    /// `tls-rustls` alone, and no provider installed by the application: a typed error that
    /// names the way out, not rustls's panic. (`cargo test -p groupwait-redis --lib
    /// --features tls-rustls`; nothing in this crate's tests installs a provider then.)
    #[cfg(not(any(feature = "tls-rustls-ring", feature = "tls-rustls-aws-lc-rs")))]
    #[tokio::test]
    async fn without_a_backend_or_an_installed_provider_rediss_is_bad_input() {
        let r = crate::Group::open("rediss://127.0.0.1:1/", "x").await;
        let Err(Error::BadInput(message)) = r else {
            panic!("expected Error::BadInput, got {r:?}");
        };
        assert!(message.contains("tls-rustls-ring"), "{message}");
        assert!(CryptoProvider::get_default().is_none());
    }
}
