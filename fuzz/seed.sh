#!/bin/sh
# Copies every conformance program (tests/conformance/**/*.co) and every
# example into fuzz/corpus/TARGET/ as seeds: fuzz/seed.sh TARGET
set -eu
target=${1:?usage: fuzz/seed.sh TARGET}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$here/corpus/$target"
find "$here/../tests/conformance" "$here/../examples" -name '*.co' | while read -r f; do
    # Flatten the path into a file name: feature_NAME.co.
    name=$(echo "${f#"$here/../"}" | tr '/' '_')
    cp "$f" "$here/corpus/$target/$name"
done
