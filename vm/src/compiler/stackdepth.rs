//! The deepest the value stack of a code object can get (CPython's
//! `co_stacksize`), computed from the stack effects in `opcode.rs` by
//! walking every path through the instructions. Frames reserve this many
//! slots above their locals, and pushes in the dispatch loop trust it: a
//! depth computed too small would write past the frame (debug builds
//! assert it never is).

use crate::opcode::Op;

/// What an instruction does to the stack depth: on falling through, and on
/// taking its jump (target, depth change), if it has one.
pub(crate) struct Effect {
    pub next: Option<i32>,
    pub jump: Option<(u32, i32)>,
}

fn fall(delta: i32) -> Effect {
    Effect {
        next: Some(delta),
        jump: None,
    }
}

pub(crate) fn effect(op: Op) -> Effect {
    use Op::*;
    let n = |x: u32| x as i32;
    match op {
        Nop
        | RotTwo
        | RotThree
        | RotFour
        | DeleteFast(_)
        | DeleteDeref(_)
        | DeleteName(_)
        | DeleteGlobal(_)
        | LoadAttr(_)
        | Unary(_)
        | ListToTuple
        | AddFastConst { .. }
        | GetIter
        | YieldValue
        | GetYieldFromIter
        | GetAwaitable
        | PopBlock
        | PopExcept
        | CheckExcMatch
        | GetAIter
        | AsyncGenWrap => fall(0),
        PopTop
        | StoreFast(_)
        | StoreDeref(_)
        | StoreName(_)
        | StoreGlobal(_)
        | DeleteAttr(_)
        | BinarySubscr
        | Binary(_)
        | Inplace(_)
        | BinaryStoreFast { .. }
        | InplaceStoreFast { .. }
        | Compare(_)
        | ListAppend(_)
        | SetAdd(_)
        | ListExtend(_)
        | SetUpdate(_)
        | DictUpdate(_)
        | DictMerge(_)
        | YieldFrom
        | ImportStar
        | PrintExpr => fall(-1),
        DupTop | LoadConst(_) | LoadFast(_) | LoadDeref(_) | LoadClosure(_) | LoadClassDeref(_)
        | LoadName(_) | LoadGlobal(_) | LoadMethod(_) | BeforeWith | WithExceptStart
        | BeforeAsyncWith | GetANext | LoadAssertionError | ImportName(_) | ImportFrom(_) => {
            fall(1)
        }
        DupTopTwo => fall(2),
        // What the fused instructions do together. `max_stack_depth` steps
        // over the ones skipped; walking on into them (`exctable.rs`)
        // gives the same depths after them.
        LoadFastLoadFast { .. }
        | LoadFastLoadConst { .. }
        | CompareFastFast { .. }
        | CompareFastConst { .. } => fall(1),
        // Its result; `max_stack_depth` walks on past the two it fuses.
        BinaryFastConst { .. } | BinaryFastFast { .. } => fall(1),
        // Walking on into the `YieldValue` it skips gives the same depths.
        YieldFast(_)
        | YieldConst(_)
        | LoadFastLoadMethod { .. }
        | CallLocalMethod { .. }
        | LoadGlobalLoadFast { .. } => fall(1),
        // Walking on into the `PopJumpIf*` it skips: the same depths, and
        // the same jump.
        LoadFastJumpIf(_) => fall(1),
        StoreAttr(_) | MapAdd(_) | DeleteSubscr | EndAsyncFor => fall(-2),
        StoreSubscr => fall(-3),
        BuildTuple(k) | BuildList(k) | BuildSet(k) | BuildSlice(k) | BuildString(k) => {
            fall(1 - n(k))
        }
        BuildMap(k) => fall(1 - 2 * n(k)),
        BuildConstKeyMap(k) => fall(-n(k)),
        FormatValue(flags) => fall(if flags & 4 != 0 { -1 } else { 0 }),
        UnpackSequence(k) => fall(n(k) - 1),
        UnpackEx(arg) => fall(n(arg & 0xffff) + n(arg >> 16)),
        Call(k) => fall(-n(k)),
        CallMethod(k) | CallKw(k) => fall(-n(k) - 1),
        CallEx(k) => fall(-n(k) - 1),
        MakeFunction(flags) => fall(-n((flags & 0b1011).count_ones())),
        // `(body name bases*n [meta] -- class)`.
        BuildClass(k) => {
            let meta = i32::from(k & crate::mro::META_FLAG != 0);
            fall(-n(k & !crate::mro::META_FLAG) - 1 - meta)
        }
        Jump(t) | JumpTest { target: t, .. } => Effect {
            next: None,
            jump: Some((t, 0)),
        },
        PopJumpIfFalse(t) | PopJumpIfTrue(t) => Effect {
            next: Some(-1),
            jump: Some((t, -1)),
        },
        JumpIfFalseOrPop(t) | JumpIfTrueOrPop(t) => Effect {
            next: Some(-1),
            jump: Some((t, 0)),
        },
        CompareJumpIfFalse(_, t) | CompareJumpIfTrue(_, t) => Effect {
            next: Some(-2),
            jump: Some((t, -2)),
        },
        ForIterBack(top) => Effect {
            next: Some(-1),
            jump: Some((top, 1)),
        },
        ForIter(t) => Effect {
            next: Some(1),
            jump: Some((t, -1)),
        },
        // The handler runs with the stack cut back to the depth here (less
        // the `__enter__` result for `with`) plus the exception.
        SetupFinally(t) => Effect {
            next: Some(0),
            jump: Some((t, 1)),
        },
        SetupWith(t) => Effect {
            next: Some(0),
            jump: Some((t, 0)),
        },
        ReturnValue | Reraise | Raise(_) => Effect {
            next: None,
            jump: None,
        },
    }
}

/// The maximum stack depth over every path through `ops`.
pub fn max_stack_depth(ops: &[Op]) -> u32 {
    let mut seen: Vec<Option<i32>> = vec![None; ops.len()];
    let mut work: Vec<(usize, i32)> = vec![(0, 0)];
    let mut max = 0i32;
    while let Some((at, depth)) = work.pop() {
        let Some(&op) = ops.get(at) else {
            continue;
        };
        // A deeper arrival can lead deeper: walk on; otherwise done here.
        // (Balanced code never deepens around a loop; the cap only keeps a
        // compiler bug from looping here.)
        if depth > 1 << 16 {
            continue;
        }
        match seen[at] {
            Some(d) if d >= depth => continue,
            _ => seen[at] = Some(depth),
        }
        max = max.max(depth);
        // A superinstruction goes on past the instructions it fuses (the
        // walk reaches those only through jumps to them): a skipped one may
        // itself start another superinstruction, which would not push what
        // it skips over. A fused binary operation pushes only its result,
        // on either path (`Vm::binary_fused`); two loads push both, and a
        // fused compare does on its slow path, then runs the compare.
        let skip = |n: u32, delta: i32| Effect {
            next: None,
            jump: Some((at as u32 + n, delta)),
        };
        let e = match op {
            Op::BinaryFastConst { .. } | Op::BinaryFastFast { .. } => skip(3, 1),
            Op::LoadFastLoadFast { .. }
            | Op::LoadFastLoadConst { .. }
            | Op::CompareFastFast { .. }
            | Op::CompareFastConst { .. } => skip(2, 2),
            _ => effect(op),
        };
        if let Some((t, delta)) = e.jump {
            let d = depth + delta;
            max = max.max(d);
            work.push((t as usize, d));
        }
        if let Some(delta) = e.next {
            let d = depth + delta;
            max = max.max(d);
            work.push((at + 1, d));
        }
    }
    max.max(0) as u32
}

#[cfg(test)]
mod tests {
    use super::max_stack_depth;
    use crate::opcode::Op::*;
    use covm_parser::ast::{BinOp, CmpOp};

    #[test]
    fn straight_line() {
        let ops = [LoadConst(0), LoadConst(1), Binary(BinOp::Add), ReturnValue];
        assert_eq!(max_stack_depth(&ops), 2);
    }

    #[test]
    fn loop_keeps_the_iterator_and_the_item() {
        // for x in it: f(x)
        let ops = [
            LoadFast(0),
            GetIter,
            ForIter(9),
            StoreFast(1),
            LoadGlobal(0),
            LoadFast(1),
            Call(1),
            PopTop,
            Jump(2),
            LoadConst(0),
            ReturnValue,
        ];
        assert_eq!(max_stack_depth(&ops), 3);
    }

    /// `i + 1` needs one slot: the fused operation reads its operands in
    /// place on both paths. A load pair before it skips it and runs the
    /// `LoadConst` and `Binary` after it unfused (`{n: n ** 2 ...}`).
    #[test]
    fn fused_binary_needs_one_slot() {
        let add = BinaryFastConst {
            op: BinOp::Add,
            local: 0,
            konst: 0,
        };
        let ops = [add, LoadConst(0), Binary(BinOp::Add), ReturnValue];
        assert_eq!(max_stack_depth(&ops), 1);
        let pow = BinaryFastConst {
            op: BinOp::Pow,
            local: 0,
            konst: 0,
        };
        let ops = [
            LoadFastLoadFast { a: 0, b: 0 },
            pow,
            LoadConst(0),
            Binary(BinOp::Pow),
            Binary(BinOp::Add),
            ReturnValue,
        ];
        assert_eq!(max_stack_depth(&ops), 3);
    }

    #[test]
    fn handler_runs_with_the_exception_pushed() {
        // try: (a, b) except: ...  — the handler starts one above the
        // depth at SetupFinally.
        let ops = [
            LoadConst(0),
            SetupFinally(5),
            LoadConst(0),
            PopTop,
            PopBlock,
            LoadConst(0),
            LoadConst(0),
            CompareJumpIfFalse(CmpOp::Eq, 9),
            Nop,
            ReturnValue,
        ];
        assert_eq!(max_stack_depth(&ops), 4);
    }
}
