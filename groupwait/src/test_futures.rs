//! Futures of a chosen size, for the task wrappers' layout tests (`track.rs`,
//! `task_group/future.rs`).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// A future of exactly `N` bytes, alignment 1, with no spare bit patterns (no niche for an
/// enum around it to use): the worst case for a wrapper's layout. Ready at once with `Ok` of
/// its first byte.
pub(crate) struct Bytes<const N: usize>(pub(crate) [u8; N]);

impl<const N: usize> Future for Bytes<N> {
    type Output = Result<u8, ()>;
    fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Self::Output> {
        Poll::Ready(Ok(self.0.first().copied().unwrap_or(0)))
    }
}

/// A future holding `N` bytes across an await (its size is about `N` and a state byte).
pub(crate) async fn holding<const N: usize>() -> Result<u8, ()> {
    let buf = [1u8; N];
    std::future::ready(()).await;
    Ok(buf.iter().fold(0, |a, b| a ^ b))
}
