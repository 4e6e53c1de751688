//! Paths of the WASM components built from `tests/fixtures/hostile/*` and `plugins/*`
//! by this crate's build script, for tests and benchmarks. Nothing is committed as
//! `.wasm`; everything is compiled from source once per build of this crate.

include!(concat!(env!("OUT_DIR"), "/fixtures.rs"));
