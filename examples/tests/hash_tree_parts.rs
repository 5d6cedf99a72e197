//! The unit tests of the `hash_tree` demo (`hash_tree/tests.rs`). An example's own tests
//! would need `test = true`, with which `cargo test` builds the example only as a test, not
//! the binary that `hash_tree_report.rs` runs; so the demo is compiled here as a module.

#[allow(dead_code)] // `main` and the report are used by the binary, not here
#[path = "../hash_tree/main.rs"]
mod hash_tree;

#[path = "support/temp_dir.rs"]
mod temp_dir;
