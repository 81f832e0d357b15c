//! The exception table: a `try` (or `with`) costs nothing until something
//! raises, as in CPython 3.11.
//!
//! The code generator still brackets a protected body with
//! `SetupFinally`/`SetupWith` and `PopBlock`, pseudo-instructions that
//! never reach the VM. This pass walks every path through the code with
//! the block stack those brackets (and the handlers they lead to) would
//! build at run time, records for each instruction the innermost handler
//! that covers it, then removes the pseudo-instructions and renumbers the
//! jumps. The VM looks the raising instruction up in the table
//! (`Code::handler_at`) instead of popping run-time blocks.
//!
//! What stays dynamic is which `except`/`finally` handlers are running:
//! the frame keeps the block depth of each with the exception it handles
//! (`Frame::handled`), so that an exception that leaves a handler for an
//! outer `try` ends it first.

use crate::code::Handler;
use crate::compiler::stackdepth::effect;
use crate::opcode::Op;

/// An entry of the block stack the walk tracks.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Block {
    /// A `try`/`with` body: an exception jumps to `target` with the value
    /// stack cut to `level` values.
    Setup { target: u32, level: u32 },
    /// A running `except`/`finally` handler.
    Running,
}

/// The state the walk reaches an instruction in.
#[derive(Clone, Debug, PartialEq)]
struct State {
    depth: i32,
    blocks: Vec<Block>,
}

/// A handler in old instruction indices, before renumbering.
#[derive(Clone, Copy, PartialEq)]
struct Cover {
    target: u32,
    level: u32,
    depth: u32,
}

fn is_pseudo(op: &Op) -> bool {
    matches!(op, Op::SetupFinally(_) | Op::SetupWith(_) | Op::PopBlock)
}

/// The innermost handler of `blocks`: the last `Setup` (running handlers
/// above it end when it catches).
fn cover(blocks: &[Block], nlocals: u32) -> Option<Cover> {
    blocks
        .iter()
        .enumerate()
        .rev()
        .find_map(|(at, b)| match *b {
            Block::Setup { target, level } => Some(Cover {
                target,
                level: level + nlocals,
                depth: at as u32,
            }),
            Block::Running => None,
        })
}

/// Builds the exception table of `ops` (with `nlocals` fast locals below
/// the value stack), removes the pseudo-instructions from `ops` and their
/// entries from `spans`, and renumbers every jump.
pub fn assemble<S>(ops: &mut Vec<Op>, spans: &mut Vec<S>, nlocals: u32) -> Vec<Handler> {
    let n = ops.len();
    let mut seen: Vec<Option<State>> = vec![None; n];
    let mut work = vec![(
        0usize,
        State {
            depth: 0,
            blocks: Vec::new(),
        },
    )];
    while let Some((at, state)) = work.pop() {
        let Some(&op) = ops.get(at) else {
            continue;
        };
        if let Some(old) = &seen[at] {
            // Structured code reaches an instruction in one state.
            debug_assert!(
                old.blocks == state.blocks,
                "instruction {at} ({op:?}) reached with two block stacks"
            );
            continue;
        }
        seen[at] = Some(state.clone());
        let e = effect(op);
        let mut next = state.blocks.clone();
        match op {
            Op::SetupFinally(t) | Op::SetupWith(t) => {
                let with = u32::from(matches!(op, Op::SetupWith(_)));
                let level = (state.depth.max(0) as u32).saturating_sub(with);
                // The handler runs with the stack cut to `level`, the
                // exception pushed, and a running handler where the
                // `Setup` was.
                let mut handler = state.blocks.clone();
                handler.push(Block::Running);
                work.push((
                    t as usize,
                    State {
                        depth: level as i32 + 1,
                        blocks: handler,
                    },
                ));
                next.push(Block::Setup { target: t, level });
            }
            Op::PopBlock => {
                debug_assert!(matches!(next.last(), Some(Block::Setup { .. })));
                next.pop();
            }
            Op::PopExcept | Op::EndAsyncFor => {
                debug_assert!(
                    matches!(next.last(), Some(Block::Running)),
                    "{op:?} at {at} with no running handler on top"
                );
                if let Some(Block::Running) = next.last() {
                    next.pop();
                }
            }
            _ => {
                if let Some((t, delta)) = e.jump {
                    work.push((
                        t as usize,
                        State {
                            depth: state.depth + delta,
                            blocks: state.blocks.clone(),
                        },
                    ));
                }
            }
        }
        if let Some(delta) = e.next {
            work.push((
                at + 1,
                State {
                    depth: state.depth + delta,
                    blocks: next,
                },
            ));
        }
    }

    // Old index -> new index, for jump targets (a target on a removed
    // instruction lands on the next one kept).
    let mut renumber = Vec::with_capacity(n + 1);
    let mut kept = 0u32;
    for op in ops.iter() {
        renumber.push(kept);
        if !is_pseudo(op) {
            kept += 1;
        }
    }
    renumber.push(kept);

    let mut table: Vec<Handler> = Vec::new();
    for (at, op) in ops.iter().enumerate() {
        if is_pseudo(op) {
            continue;
        }
        let Some(c) = seen[at].as_ref().and_then(|s| cover(&s.blocks, nlocals)) else {
            continue;
        };
        let h = Handler {
            start: renumber[at],
            end: renumber[at] + 1,
            target: renumber[c.target as usize],
            level: c.level,
            depth: c.depth,
        };
        match table.last_mut() {
            Some(last)
                if last.end == h.start
                    && (last.target, last.level, last.depth) == (h.target, h.level, h.depth) =>
            {
                last.end = h.end;
            }
            _ => table.push(h),
        }
    }

    let keep: Vec<bool> = ops.iter().map(|op| !is_pseudo(op)).collect();
    let mut at = 0;
    spans.retain(|_| {
        at += 1;
        keep.get(at - 1).copied().unwrap_or(true)
    });
    ops.retain(|op| !is_pseudo(op));
    for t in ops.iter_mut().filter_map(Op::target_mut) {
        *t = renumber[*t as usize];
    }
    table
}
