//! The bounded-wait helpers of the unit tests, shared with the integration tests.

#[path = "../../src/test_support.rs"]
mod test_support;

#[allow(unused_imports)] // each test target uses a different part
pub use test_support::*;
