//! The instruction set: one table, every instruction with its stack effect.
//!
//! Stack effects are written `(before -- after)`, top of stack rightmost.
//! Jump targets are absolute instruction indices. An instruction is 8 bytes:
//! the opcode and a 32-bit operand live in one enum value.

use covm_parser::ast::{BinOp, CmpOp, UnaryOp};

/// `CallLocalMethod`'s `arg` for a call without arguments.
pub const NO_ARG: u16 = u16::MAX;

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Op {
    /// `( -- )`
    Nop,
    /// `(v -- )`
    PopTop,
    /// `(v -- v v)`
    DupTop,
    /// `(a b -- a b a b)`
    DupTopTwo,
    /// `(a b -- b a)`
    RotTwo,
    /// `(a b c -- c a b)`
    RotThree,
    /// `(a b c d -- d a b c)`
    RotFour,

    /// `( -- consts[i])`
    LoadConst(u32),
    /// `( -- locals[i])`; UnboundLocalError when unset.
    LoadFast(u32),
    /// `(v -- )` into `locals[i]`.
    StoreFast(u32),
    /// `( -- )` unbinds `locals[i]`.
    DeleteFast(u32),
    /// `( -- cells[i].value)`; cells are cellvars then freevars.
    LoadDeref(u32),
    /// `(v -- )` into `cells[i]`.
    StoreDeref(u32),
    /// `( -- )` unbinds `cells[i]`.
    DeleteDeref(u32),
    /// `( -- cell)` pushes the cell itself, to build a closure.
    LoadClosure(u32),
    /// `( -- v)` in a class body: the namespace's `names[i]` if set, else
    /// the free variable `cells[i >> 16]`... see `LoadClassDeref`.
    /// `( -- v)` class-body read of a free variable: the class namespace
    /// first (name `names[n]` where the operand is `cell | n << 16`), then
    /// the cell.
    LoadClassDeref(u32),
    /// `( -- v)` namespace (class body), then globals, then builtins.
    LoadName(u32),
    /// `(v -- )` into the frame's namespace.
    StoreName(u32),
    /// `( -- )`
    DeleteName(u32),
    /// `( -- v)` globals, then builtins.
    LoadGlobal(u32),
    /// `(v -- )`
    StoreGlobal(u32),
    /// `( -- )`
    DeleteGlobal(u32),
    /// `(obj -- obj.name)`
    LoadAttr(u32),
    /// `(v obj -- )` sets `obj.name = v`.
    StoreAttr(u32),
    /// `(obj -- )`
    DeleteAttr(u32),
    /// `(obj -- method self)` when `name` is a plain method found on the
    /// class, else `(obj -- attr undef)`; `CallMethod` consumes either.
    LoadMethod(u32),

    /// `(container key -- container[key])`
    BinarySubscr,
    /// `(v container key -- )`
    StoreSubscr,
    /// `(container key -- )`
    DeleteSubscr,
    /// `(a b -- a op b)`
    Binary(BinOp),
    /// `(a b -- a op= b)`: tries `__iop__` first, mutates lists in place.
    Inplace(BinOp),
    /// `(v -- op v)`
    Unary(UnaryOp),
    /// `(a b -- a op b)` for every comparison, `is`, `in`.
    Compare(CmpOp),

    /// `(items*n -- tuple)`
    BuildTuple(u32),
    /// `(items*n -- list)`
    BuildList(u32),
    /// `(items*n -- set)`
    BuildSet(u32),
    /// `(k1 v1 .. kn vn -- dict)`
    BuildMap(u32),
    /// `(k1 .. kn values_tuple -- dict)` keys from the tuple on top.
    BuildConstKeyMap(u32),
    /// `(start stop -- slice)` with n = 2, `(start stop step -- slice)` with 3.
    BuildSlice(u32),
    /// `(parts*n -- str)` concatenates n strings.
    BuildString(u32),
    /// `(list .. v -- list ..)` appends v to the list `n` deep below it.
    ListAppend(u32),
    /// `(set .. v -- set ..)`
    SetAdd(u32),
    /// `(dict .. k v -- dict ..)`
    MapAdd(u32),
    /// `(list .. iterable -- list ..)` extends the list n deep.
    ListExtend(u32),
    /// `(set .. iterable -- set ..)`
    SetUpdate(u32),
    /// `(dict .. mapping -- dict ..)` for `{**m}`.
    DictUpdate(u32),
    /// `(dict .. mapping -- dict ..)` for `f(**m)`: duplicate keys are a
    /// TypeError.
    DictMerge(u32),
    /// `(list -- tuple)`
    ListToTuple,
    /// `(value -- str)` or `(value spec -- str)` when bit 2 of the operand is
    /// set; bits 0-1: 0 none, 1 `!s`, 2 `!r`, 3 `!a`.
    FormatValue(u32),

    /// `(seq -- vn .. v1)` exactly n items, first item on top.
    UnpackSequence(u32),
    /// `(seq -- after.. list before..)` for `a, *b, c`: operand is
    /// `before | after << 16`.
    UnpackEx(u32),

    /// `( -- )` jump to target.
    Jump(u32),
    /// `(cond -- )` jump when falsy.
    PopJumpIfFalse(u32),
    /// `(cond -- )` jump when truthy.
    PopJumpIfTrue(u32),
    /// `(cond -- cond)` jump if falsy, else pop: for `and`.
    JumpIfFalseOrPop(u32),
    /// `(cond -- cond)` jump if truthy, else pop: for `or`.
    JumpIfTrueOrPop(u32),
    /// `(a b -- )` compares and jumps to the target when the result is
    /// falsy: `Compare` + `PopJumpIfFalse` in one instruction.
    CompareJumpIfFalse(CmpOp, u32),
    /// `(a b -- )` compares and jumps when the result is truthy.
    CompareJumpIfTrue(CmpOp, u32),
    /// `(iterable -- iterator)`
    GetIter,
    /// `(iterator -- iterator next)`, or `(iterator -- )` and jump to the
    /// target when exhausted. Resumes a generator without recursing.
    ForIter(u32),

    /// `(func args*n -- result)`
    Call(u32),
    /// `(method self_or_undef args*n -- result)`
    CallMethod(u32),
    /// `(func args*n kwnames -- result)`: the last `len(kwnames)` of the n
    /// arguments are keyword arguments.
    CallKw(u32),
    /// `(func args_tuple -- result)` or `(func args_tuple kwargs -- result)`
    /// when the operand is 1.
    CallEx(u32),
    /// `(defaults? kwdefaults? closure? code -- function)`; operand bits:
    /// 1 defaults tuple, 2 kwdefaults dict, 8 closure tuple.
    MakeFunction(u32),
    /// `(body_function name bases*n -- class)` runs the class body in a new
    /// frame with a fresh namespace, then builds the class.
    BuildClass(u32),

    /// `(v -- )` returns v to the caller.
    ReturnValue,
    /// `(v -- sent)` suspends the generator, handing v to its resumer; the
    /// value sent in on resumption replaces it.
    YieldValue,
    /// `(iter sent -- iter)` and stay on this instruction while the
    /// delegate yields (its values pass straight out to our resumer);
    /// `(iter sent -- result)` and move on when it returns.
    YieldFrom,
    /// `(iterable -- iter)` for `yield from`: generators and coroutines
    /// stay themselves; other iterables become iterators.
    GetYieldFromIter,
    /// `(awaitable -- iter)` for `await`: a coroutine, or the iterator from
    /// `__await__`.
    GetAwaitable,

    /// `( -- )` compiler pseudo-instruction: code from here to the matching
    /// PopBlock is protected by the handler at the target, which gets the
    /// stack as it is here. `compiler/exctable.rs` turns it into an
    /// exception-table entry and deletes it; the VM never runs it.
    SetupFinally(u32),
    /// `( -- )` pseudo-instruction like SetupFinally, for `with`: the
    /// handler's depth excludes the `__enter__` result on top.
    SetupWith(u32),
    /// `( -- )` pseudo-instruction: ends the innermost protected range.
    PopBlock,
    /// `( -- )` leaves an except handler: pops the running handler's block
    /// and the handled exception.
    PopExcept,
    /// `(exc -- )` re-raises exc keeping its traceback.
    Reraise,
    /// `( -- )` bare raise; `(exc -- )`; `(exc cause -- )` for n = 0, 1, 2.
    Raise(u32),
    /// `(exc type -- exc matches)` for an `except` clause.
    CheckExcMatch,
    /// `(mgr -- exit enter_result)` calls `__enter__`.
    BeforeWith,
    /// `(exit exc -- exit exc result)` calls `exit(type, exc, tb)`.
    WithExceptStart,
    /// `(mgr -- aexit aenter_awaitable)` for `async with`.
    BeforeAsyncWith,
    /// `(iterable -- aiter)` calls `__aiter__`.
    GetAIter,
    /// `(aiter -- aiter awaitable)` calls `__anext__`.
    GetANext,
    /// `(aiter exc -- )` ends an `async for` on StopAsyncIteration, else
    /// re-raises exc.
    EndAsyncFor,
    /// `(v -- wrapped)` marks a value an async generator yields to its
    /// consumer, as opposed to one an `await` passes to the event loop.
    AsyncGenWrap,
    /// `( -- AssertionError)`
    LoadAssertionError,

    /// `( -- module)` imports `names[i]`.
    ImportName(u32),
    /// `(module -- module attr)` `from module import names[i]`.
    ImportFrom(u32),
    /// `(module -- )` copies public names into the namespace.
    ImportStar,
    /// `(v -- )` REPL echo: prints `repr(v)` unless None.
    PrintExpr,

    // Superinstructions: the work of a few instructions that run often
    // together, in one dispatch. All but `AddFastConst` are written by the
    // compiler's last pass (`fuse_superinstructions`) over the first of
    // the instructions they stand for, which stay in place behind them.
    /// `( -- locals[a] locals[b])`: two `LoadFast`s in one dispatch. The
    /// compiler writes it over the first of a `LoadFast a; LoadFast b`
    /// pair and leaves the second in place (a jump may land on it); this
    /// instruction skips it.
    LoadFastLoadFast { a: u16, b: u16 },
    /// `( -- locals[local] consts[konst])`: a `LoadFast` and a `LoadConst`
    /// in one dispatch (`n - 1`, `i < 10`, `f(x, 0)`), written over the
    /// `LoadFast` of such a pair; skips the `LoadConst` left in place.
    LoadFastLoadConst { local: u16, konst: u16 },
    /// `( -- )` when `locals[a]` and `locals[b]` are small ints: compares
    /// them and jumps as the `CompareJumpIf*` two instructions on says, in
    /// one dispatch. Written over the `LoadFast a` of a `LoadFast a;
    /// LoadFast b; CompareJumpIf*` triple (`while i < n`), which stays in
    /// place; otherwise runs as `LoadFastLoadFast`.
    CompareFastFast { a: u16, b: u16 },
    /// `( -- )` as `CompareFastFast`, comparing `locals[local]` with
    /// `consts[konst]` (`if n < 2`); otherwise runs as `LoadFastLoadConst`.
    CompareFastConst { local: u16, konst: u16 },
    /// `( -- locals[local] op consts[konst])` when both are small ints and
    /// the result is one (`n - 1`, `i * 2`): a `LoadFast`, `LoadConst`,
    /// `Binary(op)` triple in one dispatch, written over the `LoadFast`;
    /// otherwise runs as `LoadFastLoadConst`.
    BinaryFastConst { op: BinOp, local: u16, konst: u16 },
    /// `( -- locals[a] op locals[b])` when both are small ints and the
    /// result is one (`x ^ i`, `a + b`): a `LoadFast`, `LoadFast`,
    /// `Binary(op)` triple in one dispatch, written over the first
    /// `LoadFast`; otherwise runs as `LoadFastLoadFast`.
    BinaryFastFast { op: BinOp, a: u16, b: u16 },
    /// `( -- sent)` yields `locals[i]`: a `LoadFast` and the `YieldValue`
    /// after it in one dispatch, written over the `LoadFast`. Resumed, the
    /// generator goes on after the `YieldValue`. Off the fast resume path
    /// it runs as `LoadFast` and lets the `YieldValue` run.
    YieldFast(u32),
    /// `( -- sent)` yields `consts[i]` (`yield`, `yield None`): a
    /// `LoadConst` and the `YieldValue` after it, as `YieldFast`.
    YieldConst(u32),
    /// `( -- method self)` or `( -- attr undef)`: a `LoadFast` and the
    /// `LoadMethod name` after it in one dispatch (`queue.append(x)` on a
    /// local), written over the `LoadFast`, when the method cache knows
    /// the receiver's class; otherwise runs as `LoadFast` and lets the
    /// `LoadMethod` run.
    LoadFastLoadMethod { local: u16, name: u16 },
    /// `( -- result)`: `locals[local].name()` or `locals[local].name(locals[arg])`
    /// in one dispatch when the method cache finds a plain built-in method
    /// (`queue.popleft()`, `queue.append(t)`), called straight through its
    /// function with nothing cloned. Written over the `LoadFast` of a
    /// `LoadFast`, `LoadMethod`, [`LoadFast arg`,] `CallMethod` run;
    /// `arg` is `NO_ARG` for a call without arguments. Otherwise runs as
    /// `LoadFastLoadMethod`.
    CallLocalMethod { local: u16, name: u16, arg: u16 },
    /// `( -- globals[global] locals[local])`: a `LoadGlobal` and the
    /// `LoadFast` after it in one dispatch (`len(x)`, `next(it)`), written
    /// over the `LoadGlobal`; skips the `LoadFast` left in place when the
    /// global cache answers, else runs as `LoadGlobal`.
    LoadGlobalLoadFast { global: u16, local: u16 },
    /// `( -- )` tests `locals[i]` and jumps as the `PopJumpIf*` after it
    /// says (`while queue:`), in one dispatch, written over the `LoadFast`
    /// of the pair, when the value's truth needs no protocol call (a
    /// bool, None, an int, a list, a native that knows its length);
    /// otherwise runs as `LoadFast` and lets the jump run.
    LoadFastJumpIf(u32),
    /// `( -- )` a `Jump` to a `LoadFastJumpIf` pair at `target` (a loop
    /// body ending in `if`/`else` or `try`/`except` going back to the
    /// loop's test): runs the test here and jumps where it leads, one
    /// dispatch fewer; otherwise jumps to `target`.
    JumpTest { local: u16, target: u32 },
    /// `(iterator -- iterator next)` and jump to `top`, or `(iterator -- )`
    /// and go on when exhausted: a loop's closing `Jump` and the `ForIter`
    /// it jumps to, in one dispatch. Written over a `Jump h` where
    /// `ForIter(t)` at `h` exits to the instruction after the `Jump`
    /// (`t = i + 1`); `top` is `h + 1`. A generator it resumes returns to
    /// `top` with its value, or to the instruction after this one.
    ForIterBack(u32),
    /// `(a b -- )` `Binary(op)` with the result stored into
    /// `locals[local]`: written over the first of a `Binary; StoreFast`
    /// pair, which stays in place (a jump may land on it) and is skipped.
    /// Off the small-int path it runs as `Binary` and lets the `StoreFast`
    /// run.
    BinaryStoreFast { op: BinOp, local: u16 },
    /// `(a b -- )` `Inplace(op)` then `StoreFast`, as `BinaryStoreFast`
    /// (`total += x` on locals).
    InplaceStoreFast { op: BinOp, local: u16 },
    /// `( -- )` `locals[local] += delta` for a small int constant delta
    /// (`i += 1`): `LoadFast`, `LoadConst`, `Inplace(+)`, `StoreFast` in
    /// one instruction.
    AddFastConst { local: u16, delta: i16 },
}

impl Op {
    /// The instruction index a jump names (or, before the exception table
    /// replaces them, a `Setup*` pseudo-instruction's handler), to read or
    /// renumber; `None` for the other instructions.
    pub fn target_mut(&mut self) -> Option<&mut u32> {
        match self {
            Op::Jump(t)
            | Op::PopJumpIfFalse(t)
            | Op::PopJumpIfTrue(t)
            | Op::JumpIfFalseOrPop(t)
            | Op::JumpIfTrueOrPop(t)
            | Op::ForIter(t)
            | Op::ForIterBack(t)
            | Op::SetupFinally(t)
            | Op::SetupWith(t)
            | Op::CompareJumpIfFalse(_, t)
            | Op::CompareJumpIfTrue(_, t)
            | Op::JumpTest { target: t, .. } => Some(t),
            _ => None,
        }
    }

    /// The instruction index a jump names.
    pub fn target(mut self) -> Option<u32> {
        self.target_mut().copied()
    }
}
