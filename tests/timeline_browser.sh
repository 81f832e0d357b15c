#!/usr/bin/env bash
# Renders the timeline page (`covm --timeline`) of every example in headless
# Chromium and fails on any JavaScript error: the page's script records
# errors into <body data-timeline-errors> and, once it has wired up every
# mark, sets <body data-timeline-ready>; Chromium's console log (stderr) is
# checked too. Keeps a screenshot of the round-robin example at
# docs/timeline.png (the README shows it).
#
# Usage:  tests/timeline_browser.sh [path/to/covm]
#   default binary: target/debug/covm (run `cargo build` first).
# Installs Debian's chromium package when it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
COVM=${1:-${CARGO_TARGET_DIR:-target}/debug/covm}
COVM=$(realpath "$COVM")
[ -x "$COVM" ] || { echo "no binary at $COVM; run cargo build" >&2; exit 2; }

BROWSER=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$BROWSER" ]; then
    echo "timeline_browser: chromium is missing; installing Debian's chromium package" >&2
    if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } >/tmp/timeline-chromium-install.log 2>&1; then
        echo "timeline_browser: FAILED to install chromium (no network, or not root?);" >&2
        echo "  see /tmp/timeline-chromium-install.log; install it with: apt-get install -y chromium" >&2
        exit 1
    fi
    BROWSER=$(command -v chromium)
fi

OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
flags=(--headless --disable-gpu --no-sandbox --hide-scrollbars --no-first-run
       --disable-extensions --user-data-dir="$OUT/profile")
fail=0
for src in examples/*.co; do
    name=$(basename "$src" .co)
    page="$OUT/$name.html"
    (cd examples && "$COVM" --virtual-time --timeline "$page" "$name.co" >/dev/null 2>&1) || true
    if [ ! -s "$page" ]; then
        echo "FAIL: $name: no timeline written"; fail=1; continue
    fi
    dom="$OUT/$name.dom"
    log="$OUT/$name.log"
    timeout 60 "$BROWSER" "${flags[@]}" --enable-logging=stderr --v=0 \
        --dump-dom "file://$page" >"$dom" 2>"$log" || true
    errors=$(sed -n 's/.*data-timeline-errors="\([^"]*\)".*/\1/p' "$dom" | head -1)
    console=$(grep -E 'CONSOLE|Uncaught' "$log" | grep -iE 'error|uncaught' || true)
    if ! grep -q 'data-timeline-ready="[0-9]' "$dom"; then
        echo "FAIL: $name: the page's script did not finish"; fail=1
    elif [ -n "$errors" ] || [ -n "$console" ]; then
        echo "FAIL: $name: browser errors: $errors $console"; fail=1
    else
        echo "ok: $name ($(sed -n 's/.*data-timeline-ready="\([0-9]*\)".*/\1/p' "$dom" | head -1) marks)"
    fi
done

# The README's picture: round robin, one mark pinned to show its details.
(cd examples && "$COVM" --virtual-time --timeline "$OUT/shot.html" round_robin.co >/dev/null 2>&1)
timeout 60 "$BROWSER" "${flags[@]}" --window-size=1100,560 \
    --screenshot="$OUT/timeline.png" "file://$OUT/shot.html#pin=21" >/dev/null 2>&1 || true
if [ -s "$OUT/timeline.png" ]; then
    mkdir -p docs
    cp "$OUT/timeline.png" docs/timeline.png
    echo "ok: screenshot at docs/timeline.png"
else
    echo "FAIL: no screenshot"; fail=1
fi
exit $fail
