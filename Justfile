# Warden tasks. `just --list` shows them all.

# Run the gateway on the built-in default config.
run *ARGS:
    cargo run --release -- {{ARGS}}

# The whole test suite (what README.md and CI run).
test:
    cargo test --workspace --all-targets

# Unit tests only: no end-to-end runs of the binary.
test-fast:
    cargo test --workspace --lib

# Criterion benchmarks (plugin call costs; every default guardrail on 1 KiB / 64 KiB).
bench:
    cargo bench -p warden-host --bench plugin_call
    cargo bench -p warden-host --bench guardrails

# End-to-end benchmarks (crates/warden-bench): MCP calls direct to an echo upstream and
# through `warden serve` (no plugins, the full default chain, each plugin alone), cold
# start, RSS. Tables for BENCHMARKS.md in benchmarks/e2e.md, everything in
# benchmarks/e2e.json. `just bench-e2e --quick` for a short run; see --help for sizes.
bench-e2e *ARGS:
    cargo build --release -p warden -p warden-bench
    mkdir -p benchmarks
    target/release/warden-bench --warden target/release/warden --json benchmarks/e2e.json {{ARGS}} > benchmarks/e2e.md
    cat benchmarks/e2e.md

# Detector quality on tests/cases (recall / false positives per category and kind).
quality:
    cargo test -p warden --test guardrail_quality -- --nocapture

# Build the default plugins to wasm32-wasip2 (build.rs does this for `cargo build`).
plugins:
    cargo build --release --target wasm32-wasip2 --manifest-path plugins/Cargo.toml --target-dir target/wasm

fmt:
    cargo fmt --all
    cd plugins && cargo fmt --all
    cd tests/fixtures && cargo fmt --all

lint:
    cargo clippy --workspace --all-targets -- -D warnings

# Exactly what CI runs.
ci:
    bash .ci/run
