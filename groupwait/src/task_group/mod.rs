//! Task groups: Go's `errgroup` for Rust, with results, the first error, a limit,
//! cancellation and panics as values, for threads and for futures on any executor.
//! (Placeholder docs; the full page follows.)

mod cancel;
mod error;
mod future;
mod group;
mod limit;
mod thread;

pub use cancel::{CancelToken, Cancelled, Cause};
pub use error::{Payload, TaskError, TrySpawnError};
pub use group::{Builder, TaskGroup};
