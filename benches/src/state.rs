//! The captured state of the fan-out sweeps: each task carries `N` bytes, so its future (and
//! the wrapper a group puts around it) grows with `N`, as a real task's does with what it
//! owns.

use std::hint::black_box;

/// The sizes the async fan-out benches sweep, in bytes.
pub const STATE_SIZES: [usize; 5] = [0, 16, 64, 256, 1024];

/// `N` bytes a task captures and reads once (through `black_box`, so they are kept).
#[derive(Clone, Copy)]
pub struct State<const N: usize>([u8; N]);

impl<const N: usize> State<N> {
    /// `N` bytes of 7.
    pub fn new() -> Self {
        State([7; N])
    }

    /// Reads the state.
    #[inline]
    pub fn touch(&self) {
        black_box(&self.0);
    }
}

impl<const N: usize> Default for State<N> {
    fn default() -> Self {
        Self::new()
    }
}

/// The name of the cell of a sweep for `bytes` of state: the 0-byte cell keeps the name the
/// fan-out benches used before the sweep, so earlier results and the report's tables match.
pub fn state_cell(tasks: usize, bytes: usize) -> String {
    if bytes == 0 {
        format!("{tasks} tasks")
    } else {
        format!("{tasks} tasks, {bytes} B state")
    }
}

/// Calls `$body` with `$n` bound as a `const` to each size of [`STATE_SIZES`] in turn, for
/// a run-time `$bytes`: `with_state_size!(bytes, N => round::<N>(rt))`.
#[macro_export]
macro_rules! with_state_size {
    ($bytes:expr, $n:ident => $body:expr) => {
        match $bytes {
            0 => {
                const $n: usize = 0;
                $body
            }
            16 => {
                const $n: usize = 16;
                $body
            }
            64 => {
                const $n: usize = 64;
                $body
            }
            256 => {
                const $n: usize = 256;
                $body
            }
            1024 => {
                const $n: usize = 1024;
                $body
            }
            other => panic!("no state size {other} in STATE_SIZES"),
        }
    };
}
