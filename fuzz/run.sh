#!/bin/sh
# Runs one cargo-fuzz target for a set time, seeded from the conformance
# corpus: fuzz/run.sh TARGET SECONDS [extra libFuzzer flags]
# TARGET is parse, compile or run. Crashes go to fuzz/artifacts/TARGET/,
# the grown corpus to fuzz/corpus/TARGET/ (neither is committed).
# Needs the nightly toolchain and `cargo install cargo-fuzz`.
set -eu
target=${1:?usage: fuzz/run.sh TARGET SECONDS}
secs=${2:?usage: fuzz/run.sh TARGET SECONDS}
shift 2
here=$(cd "$(dirname "$0")" && pwd)
"$here/seed.sh" "$target"
cd "$here"
cargo +nightly fuzz build --sanitizer none --debug-assertions "$target"
bin="$here/target/x86_64-unknown-linux-gnu/release/$target"
mkdir -p "$here/artifacts/$target"
# Programs run in an empty scratch folder with no stdin.
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
cd "$scratch"
"$bin" -max_total_time="$secs" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="$here/artifacts/$target/" "$@" \
    "$here/corpus/$target" </dev/null
