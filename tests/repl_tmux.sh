#!/usr/bin/env bash
# Drives the real covm REPL in a terminal (tmux): a multi-line def, a call,
# a generator stepped with next and :step, :gens, an error followed by more
# input, history recall (Up), and tab completion (names and g.se<Tab>).
#
# Usage:  tests/repl_tmux.sh [path/to/covm]
#   default binary: target/debug/covm (run `cargo build` first).
# It prints the final screen and checks it; exit status 0 means all checks
# passed. Sleep-timed, so it is a manual smoke test, not part of CI.
# Needs tmux. History goes to a temporary file ($COVM_HISTORY), so the
# real ~/.covm_history is untouched.
set -u
cd "$(dirname "$0")/.."
COVM=${1:-${CARGO_TARGET_DIR:-target}/debug/covm}
COVM=$(realpath "$COVM")
command -v tmux >/dev/null || { echo "tmux not installed"; exit 2; }
[ -x "$COVM" ] || { echo "no binary at $COVM; run cargo build"; exit 2; }

S=covm-repl-$$
HIST=$(mktemp)
rm -f "$HIST"
export COVM_HISTORY=$HIST
P=0.4

cleanup() { tmux kill-session -t "$S" 2>/dev/null; rm -f "$HIST"; }
trap cleanup EXIT

tmux new-session -d -s "$S" -x 100 -y 60 "env NO_COLOR=1 COVM_HISTORY=$HIST $COVM"
sleep 1
type_line() { tmux send-keys -t "$S" -l "$1"; tmux send-keys -t "$S" Enter; sleep $P; }

# A multi-line def: the empty line ends the block.
type_line 'def countdown(n):'
type_line '    while n > 0:'
type_line '        yield n'
type_line '        n -= 1'
type_line ''
# A call, and a generator stepped with next and :step.
type_line 'g = countdown(3)'
type_line 'next(g)'
type_line ':step g'
type_line ':gens'
# An error, then more input: the session carries on with its state.
type_line 'next(gg)'
type_line 'next(g)'
# History recall: Up brings back `next(g)`.
tmux send-keys -t "$S" Up; sleep $P
tmux send-keys -t "$S" Enter; sleep $P
# Tab completion of a global name (coun<Tab> -> countdown) ...
tmux send-keys -t "$S" -l 'c2 = coun'; tmux send-keys -t "$S" Tab; sleep $P
tmux send-keys -t "$S" -l '(2)'; tmux send-keys -t "$S" Enter; sleep $P
# ... and of an attribute (c2.se<Tab> -> c2.send).
tmux send-keys -t "$S" -l 'c2.se'; tmux send-keys -t "$S" Tab; sleep $P
tmux send-keys -t "$S" -l '(None)'; tmux send-keys -t "$S" Enter; sleep $P
# Ctrl-C drops the current input.
tmux send-keys -t "$S" -l 'this is dropped'; tmux send-keys -t "$S" C-c; sleep $P
type_line 'print("still here", list(g))'

SCREEN=$(tmux capture-pane -p -t "$S" -S - | sed -e 's/[[:space:]]*$//')
printf '%s\n' "$SCREEN"

# Ctrl-D exits and the history file is written.
tmux send-keys -t "$S" C-d; sleep $P

fail=0
check() {
    if printf '%s\n' "$SCREEN" | grep -qF -- "$1"; then
        echo "ok: $2"
    else
        echo "FAIL: $2 (missing: $1)"; fail=1
    fi
}
echo "-----"
check '>>> next(g)' 'call echoed'
check 'yielded   2' ':step shows the value that came out'
check 'suspended at line 3: yield n' ':gens shows the paused line'
check "NameError: name 'gg' is not defined. Did you mean: 'g'?" 'error reported'
check '>>> c2 = countdown(2)' 'tab completion of a name'
check '>>> c2.send(None)' 'tab completion of an attribute'
check 'still here []' 'state intact after the error'
[ "$(printf '%s\n' "$SCREEN" | grep -c '^>>> next(g)$')" -ge 3 ] && echo "ok: history recall" || { echo "FAIL: history recall"; fail=1; }
if [ -s "$HIST" ] && grep -qF 'countdown' "$HIST"; then echo "ok: history saved to \$COVM_HISTORY"; else echo "FAIL: history file"; fail=1; fi
exit $fail
