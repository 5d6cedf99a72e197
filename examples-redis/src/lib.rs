//! Nothing here: this package holds groupwait-redis's examples (`examples/`) and
//! integration tests (`tests/`), kept out of the published crate.
