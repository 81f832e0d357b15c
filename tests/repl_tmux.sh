#!/usr/bin/env bash
# Drives the real covm REPL in a terminal (tmux): a multi-line def, a call,
# a generator stepped with next and :step, :gens, an error followed by more
# input, history recall (Up), tab completion (names and g.se<Tab>, the list
# on a second Tab, indentation on an empty line), typed-ahead and pasted
# lines sent in one burst, an asyncio task that lives across lines,
# print(end=""), quit's repr, :timeline, and Ctrl-D.
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
# Typed ahead / pasted without bracketed paste: every line arrives in one
# burst while the REPL is still busy; none may be lost.
burst() { tmux send-keys -t "$S" -l "$1"; sleep 1; }
burst $'def g():\n    yield 1\n\nit = g()\nnext(it)\n'
burst $'a = 1\nb = 2\na + b\n'
# A burst that arrives while a line is running.
burst $'import time; time.sleep(0.5)\nprint("after the sleep")\n'
# One event loop for the session: a task made on one line runs while a
# later line awaits, and is awaited on a third.
burst $'import asyncio\nasync def work():\n    await asyncio.sleep(0.3)\n    print("work done")\n    return 42\n\n'
type_line 't = asyncio.create_task(work())'
type_line 'await asyncio.sleep(0.5)'
type_line 'await t'
# Ctrl-C interrupts a line that awaits; the input task is cancelled.
burst $'async def long():\n    try:\n        await asyncio.sleep(100)\n    finally:\n        print("cleaned up")\n\nawait long()\n'
tmux send-keys -t "$S" C-c; sleep 1
# end="" leaves the text before the next prompt.
type_line 'print("x", end="")'
type_line 'quit'
# Tab on an empty line inside a block indents; a second Tab lists.
type_line 'if True:'
tmux send-keys -t "$S" Tab; sleep $P
tmux send-keys -t "$S" -l 'print("indented")'; tmux send-keys -t "$S" Enter; sleep $P
tmux send-keys -t "$S" Enter; sleep $P
tmux send-keys -t "$S" -l 'pr'; tmux send-keys -t "$S" Tab; sleep $P; tmux send-keys -t "$S" Tab; sleep $P
tmux send-keys -t "$S" C-u; sleep $P
# The session's timeline so far, as a page.
TL=$(mktemp --suffix=.html)
type_line ":timeline $TL"

SCREEN=$(tmux capture-pane -p -t "$S" -S - | sed -e 's/[[:space:]]*$//')
printf '%s\n' "$SCREEN"

# Ctrl-D exits and the history file is written.
tmux send-keys -t "$S" C-d; sleep $P
if tmux has-session -t "$S" 2>/dev/null; then ended=0; else ended=1; fi

fail=0
check() {
    # A substring test, so that a check can span several lines.
    if [[ "$SCREEN" == *"$1"* ]]; then
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
check $'>>> it = g()\n>>> next(it)\n1' 'typed-ahead burst: every line ran'
check $'>>> a = 1\n>>> b = 2\n>>> a + b\n3' 'pasted lines: every line ran'
check 'after the sleep' 'input typed while a line runs is kept'
check $'>>> await asyncio.sleep(0.5)\nwork done' 'a task runs while a later line awaits'
check $'>>> await t\n42' 'the task is awaited on a later line'
check $'KeyboardInterrupt\ncleaned up' 'Ctrl-C cancels an awaiting line'
check 'x>>> quit' 'print(end="") shows before the prompt'
check 'Use quit() or Ctrl-D (i.e. EOF) to exit' 'quit repr'
check $'    print("indented")\n\nindented' 'Tab indents an empty line in a block'
check 'print     property' 'second Tab lists the candidates'
check "written to $TL" ':timeline writes the page'
if grep -q 'generator #' "$TL" && grep -q 'Task-' "$TL"; then echo "ok: the timeline shows the generators and tasks"; else echo "FAIL: timeline content"; fail=1; fi
rm -f "$TL"
[ "$ended" = 1 ] && echo "ok: Ctrl-D exits" || { echo "FAIL: Ctrl-D did not exit"; fail=1; }
[ "$(printf '%s\n' "$SCREEN" | grep -c '^>>> next(g)$')" -ge 3 ] && echo "ok: history recall" || { echo "FAIL: history recall"; fail=1; }
if [ -s "$HIST" ] && grep -qF 'countdown' "$HIST"; then echo "ok: history saved to \$COVM_HISTORY"; else echo "FAIL: history file"; fail=1; fi
exit $fail
