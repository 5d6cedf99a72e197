//! Nothing here: this package holds the integration tests of `groupwait` (in `tests/`), kept
//! out of the published crate.
