//! The dispatch loop: one flat `loop { match }` over the top frame's
//! instructions, one small method per non-trivial instruction.
//!
//! Calls into covm code, generator resumption, `yield` and `return` only
//! push or pop heap frames; the loop never recurses on the Rust stack for
//! them. Natives that call back into covm code (a `key=` function, `__eq__`
//! in a dict lookup) start a nested `run` with a `ReturnTo::Native` frame
//! at its base.

use std::cell::RefCell;
use std::rc::Rc;

use covm_parser::ast::{BinOp, CmpOp};

use crate::call::Prepared;
use crate::frame::{Activation, Frame, FrameBox, Resume, ReturnTo};
use crate::opcode::{NO_ARG, Op};
use crate::resume::Exit;
use crate::trace::Kind;
use crate::value::*;
use crate::vm::Vm;

/// How many values (receiver and arguments) `native_method_call` passes
/// from an array on the Rust stack rather than a heap buffer.
const SMALL_ARGS: usize = 4;

/// Moves `n` values from `src` to `dst` (non-overlapping). The usual
/// counts (a call's few arguments) are moved one by one: a plain
/// `copy_nonoverlapping` of a run-time count compiles to a `memcpy` call,
/// which costs more than the values it moves.
///
/// # Safety
/// As `std::ptr::copy_nonoverlapping(src, dst, n)`.
#[inline(always)]
unsafe fn move_values(src: *const Value, dst: *mut Value, n: usize) {
    // SAFETY: the caller's contract; each slot below `n` is read once.
    unsafe {
        if n > 4 {
            std::ptr::copy_nonoverlapping(src, dst, n);
            return;
        }
        if n > 0 {
            dst.write(Value::read_words(src));
        }
        if n > 1 {
            dst.add(1).write(Value::read_words(src.add(1)));
        }
        if n > 2 {
            dst.add(2).write(Value::read_words(src.add(2)));
        }
        if n > 3 {
            dst.add(3).write(Value::read_words(src.add(3)));
        }
    }
}

/// The second operand of a fused binary operation.
#[derive(Clone, Copy)]
enum Operand {
    Local(u16),
    Const(u16),
}

/// The plain instruction a `BinaryStoreFast`/`InplaceStoreFast` fuses
/// with the `StoreFast` after it.
#[cold]
fn unfused(op: Op) -> Op {
    match op {
        Op::BinaryStoreFast { op, .. } => Op::Binary(op),
        Op::InplaceStoreFast { op, .. } => Op::Inplace(op),
        other => other,
    }
}

macro_rules! top {
    ($vm:expr) => {
        match $vm.frames.last_mut() {
            Some(f) => f,
            None => unreachable!("dispatch with no frame"),
        }
    };
}

macro_rules! pop {
    ($vm:expr) => {
        match top!($vm).stack.pop() {
            Some(v) => v,
            None => unreachable!("value stack underflow"),
        }
    };
}

macro_rules! push {
    ($vm:expr, $v:expr) => {{
        let v = $v;
        top!($vm).push(v)
    }};
}

impl Vm {
    /// Runs until the frame at index `base` returns or yields.
    pub(crate) fn run(&mut self, base: usize) -> PyResult<Exit> {
        // Nested loops recurse on the Rust stack: refuse before it runs out.
        let marker = 0u8;
        let here = &marker as *const u8 as usize;
        if self.stack_base == 0 || self.native_depth <= 1 {
            self.stack_base = self.stack_base.max(here);
        } else if self.stack_base.saturating_sub(here) > self.max_native_stack {
            // Drop the frames this loop was asked to run; a generator whose
            // frame goes is finished.
            self.drop_frames_above(base);
            return Err(self.new_exc(
                &self.exc.recursion_error.clone(),
                "maximum recursion depth exceeded",
            ));
        }
        loop {
            let step = match self.pending_raise.take() {
                Some(e) => Err(e),
                None => self.dispatch(base),
            };
            match step {
                Ok(exit) => return Ok(exit),
                Err(exc) => {
                    let reraise = std::mem::take(&mut self.reraising);
                    let thrown = std::mem::take(&mut self.throwing);
                    if !reraise && !thrown {
                        self.set_context(&exc);
                    } else if thrown {
                        self.chain_thrown(&exc);
                    }
                    if let Some(exit) = self.unwind(exc, base, !reraise)? {
                        return Ok(exit);
                    }
                }
            }
        }
    }

    /// The dispatch loop. The running frame's instruction pointer, locals
    /// and stack pointer are cached in locals of this function, so a simple
    /// instruction touches no `Vm` field. They are written back to the
    /// frame (`sync!`) before anything that can look at the frame, raise or
    /// switch frames, and read again (`reload!`) after it.
    ///
    /// Invariants while the cache is live: `fp` is the top frame (a `Box`,
    /// so its address survives pushes to `self.frames`); `locals` is the
    /// start of its `stack` vector, `sp` one past the top value and `end` the
    /// end of the vector's capacity; the vector's stored length is stale
    /// until `sync!`. Only the code in this function touches the stack
    /// between a `reload!` and the next `sync!`.
    fn dispatch(&mut self, base: usize) -> PyResult<Exit> {
        let mut fp: *mut Frame;
        let mut ops: *const Op;
        let mut consts: *const Value;
        let mut ip: *const Op;
        let mut locals: *mut Value;
        let mut sp: *mut Value;
        let mut end: *mut Value;
        macro_rules! reload {
            () => {{
                let f: &mut Frame = top!(self);
                fp = f;
                ops = f.code.ops.as_ptr();
                consts = f.code.consts.as_ptr();
                let len = f.stack.len();
                let cap = f.stack.capacity();
                locals = f.stack.as_mut_ptr();
                // SAFETY: ip < ops.len() (code always ends in a return), and
                // len <= cap.
                unsafe {
                    ip = ops.add(f.ip);
                    sp = locals.add(len);
                    end = locals.add(cap);
                }
            }};
        }
        macro_rules! sync {
            () => {{
                // SAFETY: see the invariants above; sp - locals <= capacity.
                unsafe {
                    (*fp).ip = ip.offset_from(ops) as usize;
                    (*fp).stack.set_len(sp.offset_from(locals) as usize);
                }
            }};
        }
        macro_rules! push {
            // `$v` is evaluated in each branch, not bound before them:
            // a binding made LLVM keep a second copy of the value on the
            // hot path for the cold call's sake.
            ($v:expr) => {{
                debug_assert!(sp < end, "value stack deeper than its stacksize");
                // SAFETY: frames reserve `code.stacksize` slots past the
                // locals, the compiler's bound on the stack's depth
                // (`compiler/stackdepth.rs`), so sp < end.
                unsafe {
                    sp.write($v);
                    sp = sp.add(1);
                }
            }};
        }
        // Values leave the stack as two words (`Value::read_words`): the
        // slot may have been written by narrower stores, which a 16-byte
        // load cannot forward from (ARCHITECTURE.md, "Speed").
        macro_rules! pop {
            () => {
                // SAFETY: the compiler balances the stack: never below the
                // locals.
                unsafe {
                    sp = sp.sub(1);
                    Value::read_words(sp)
                }
            };
        }
        // The value n slots below the top (1 = the top).
        macro_rules! peek {
            ($n:expr) => {
                // SAFETY: as for pop.
                unsafe { &mut *sp.sub($n) }
            };
        }
        macro_rules! local {
            ($i:expr) => {
                // SAFETY: the compiler emits local indices < nlocals, and
                // the stack vector always holds the locals first.
                unsafe { &mut *locals.add($i as usize) }
            };
        }
        macro_rules! raise {
            ($e:expr) => {{
                sync!();
                return Err($e);
            }};
        }
        // A heap value was just dropped: a generator it held may need its
        // `finally` run now.
        macro_rules! after_drop {
            () => {
                if crate::generator::finalizers_pending() {
                    sync!();
                    let r = self.run_finalizers();
                    reload!();
                    r?;
                }
            };
        }
        // Drops a value popped off the stack.
        macro_rules! drop_value {
            ($v:expr) => {{
                let v = $v;
                if v.is_heap() {
                    v.heap_drop();
                    after_drop!();
                } else {
                    std::mem::forget(v);
                }
            }};
        }
        // Two small ints on top were replaced by r (ints own nothing).
        macro_rules! replace_top_two {
            ($r:expr) => {{
                let r = $r;
                // SAFETY: the two slots hold immediates; overwrite them
                // without running drop glue.
                unsafe {
                    sp = sp.sub(1);
                    sp.sub(1).write(r);
                }
            }};
        }
        // A loop's back edge: a poll point for Ctrl-C and the limits,
        // every `limits::CHECK_EVERY` steps at most (limits.rs). A pause
        // resumes at instruction `$resume`.
        macro_rules! poll_back_edge {
            ($resume:expr) => {{
                self.limits.countdown -= 1;
                if self.limits.countdown <= 0 {
                    sync!();
                    if self.poll_limits()? {
                        // SAFETY: fp is the top frame (see reload).
                        unsafe { (*fp).ip = $resume };
                        return Ok(Exit::Yield(Value::Undef));
                    }
                }
            }};
        }
        macro_rules! jump {
            ($t:expr) => {{
                // SAFETY: jump targets are instruction indices in this code.
                let target = unsafe { ops.add($t as usize) };
                // A backward jump closes a loop; a pause resumes at the
                // target.
                if target < ip {
                    poll_back_edge!($t as usize);
                }
                ip = target;
            }};
        }
        // The fused compare-and-jump of `CompareFastFast`/`CompareFastConst`
        // on two small ints: the comparison and the jump come from the
        // `CompareJumpIf*` two instructions on (the compiler fuses only
        // the int-comparable operators).
        macro_rules! compare_jump {
            ($x:expr, $y:expr) => {{
                // SAFETY: the fused triple is in the code.
                let next = unsafe { *ip.add(1) };
                let (Op::CompareJumpIfFalse(cmp, t) | Op::CompareJumpIfTrue(cmp, t)) = next else {
                    unreachable!("CompareFast* without its CompareJumpIf*")
                };
                let r = int_compare(cmp, $x, $y).unwrap_or(false);
                // SAFETY: past the triple, still in the code.
                ip = unsafe { ip.add(2) };
                if r == matches!(next, Op::CompareJumpIfTrue(..)) {
                    jump!(t);
                }
            }};
        }
        // A value's truth when no protocol call is needed: lists and
        // natives that know their truth (a deque's length) answer as
        // `truthy` would.
        macro_rules! known_truth {
            ($v:expr) => {
                match &*$v {
                    Value::Bool(b) => Some(*b),
                    Value::None => Some(false),
                    Value::Int(i) => Some(*i != 0),
                    Value::List(l) => Some(!l.borrow().is_empty()),
                    Value::Native(n) => n.truthy(),
                    _ => None,
                }
            };
        }
        // Whether a yield takes the fast path: the generator was resumed by
        // a `for` loop or a `next()`/`send()` call, and nothing traces.
        macro_rules! fast_yield {
            () => {
                // SAFETY: the loop runs with its frame on the stack.
                matches!(
                    unsafe { &self.frames.last().unwrap_unchecked().ret },
                    ReturnTo::Generator(_, Resume::ForIter(_) | Resume::Call)
                ) && !self.tracing
            };
        }
        // The fast path of a yield: the frame goes back into its generator
        // and v goes to the resumer, which carries on in this loop.
        macro_rules! yield_fast {
            ($v:expr) => {{
                let v = $v;
                sync!();
                self.suspend_top();
                reload!();
                after_drop!();
                push_item!(v);
            }};
        }
        // `LoadFast`: push a clone of local i (UnboundLocalError if unset).
        macro_rules! load_fast {
            ($i:expr) => {{
                let i = $i;
                let v = local!(i);
                if v.is_heap() {
                    // SAFETY: a heap value holds an `Rc` (`Value::rc_count`);
                    // read as words, see `Value::read_words`.
                    let v = unsafe {
                        *v.rc_count() += 1;
                        Value::read_words(v)
                    };
                    push!(v);
                } else if v.is_undef() {
                    // SAFETY: fp is the live top frame.
                    let f = unsafe { &*fp };
                    let name = f.code.varnames[i as usize].clone();
                    raise!(self.unbound_local(&name));
                } else {
                    debug_assert!(sp < end, "value stack deeper than its stacksize");
                    // SAFETY: an immediate owns nothing, so a bitwise
                    // copy is a clone; sp < end (see `push!`).
                    unsafe {
                        sp.write(Value::read_words(locals.add(i as usize)));
                        sp = sp.add(1);
                    }
                }
            }};
        }
        // `LoadFastLoadFast`: locals a and b, skipping the `LoadFast b`
        // left in place.
        macro_rules! load_fast_load_fast {
            ($a:expr, $b:expr) => {{
                load_fast!($a);
                // SAFETY: the skipped `LoadFast b` follows.
                ip = unsafe { ip.add(1) };
                load_fast!($b);
            }};
        }
        // `LoadFastLoadConst`: a local and a constant, skipping the
        // `LoadConst` left in place.
        macro_rules! load_fast_load_const {
            ($local:expr, $konst:expr) => {{
                load_fast!($local);
                // SAFETY: the skipped `LoadConst konst` follows, and
                // constant indices come from the compiler.
                ip = unsafe { ip.add(1) };
                let v = unsafe { (*consts.add($konst as usize)).fast_clone() };
                push!(v);
            }};
        }
        // `StoreFast`: v into local i, dropping what it held.
        macro_rules! store_fast {
            ($i:expr, $v:expr) => {{
                let old = std::mem::replace(local!($i), $v);
                if old.is_heap() {
                    old.heap_drop();
                    after_drop!();
                } else {
                    std::mem::forget(old);
                }
            }};
        }
        // Pushes a value an iteration, a call or a resumption produced;
        // when the next instruction stores it into a local (`for x in ...`,
        // `t = d.popleft()`) or drops it (`d.append(x)`, `next(g)` as a
        // statement), does that here and skips it.
        macro_rules! push_item {
            ($v:expr) => {{
                let v = $v;
                // SAFETY: ip points into the code; anything that pushes is
                // followed by at least a return.
                if let Op::StoreFast(i) = unsafe { *ip } {
                    ip = unsafe { ip.add(1) };
                    store_fast!(i, v);
                } else if let Op::PopTop = unsafe { *ip } {
                    ip = unsafe { ip.add(1) };
                    drop_value!(v);
                } else {
                    push!(v);
                }
            }};
        }
        // `LoadFastLoadMethod`: the method and its receiver from the cache,
        // skipping the `LoadMethod`, else just the `LoadFast`.
        macro_rules! load_fast_load_method {
            ($local:expr, $name:expr) => {{
                let local = $local;
                // SAFETY: fp is the live top frame.
                let code = unsafe { &(*fp).code };
                if let Some(m) = self.cached_method(local!(local), code, $name as usize) {
                    let recv = local!(local).fast_clone();
                    push!(m);
                    push!(recv);
                    // SAFETY: the skipped `LoadMethod` follows.
                    ip = unsafe { ip.add(1) };
                } else {
                    load_fast!(local);
                }
            }};
        }
        // `ForIter` with the frame set to go on at `ip` with an item, and
        // at `exit` when the iterator is exhausted.
        macro_rules! for_iter {
            ($exit:expr) => {{
                let exit: u32 = $exit;
                let it = &*peek!(1);
                if let Value::Generator(g) = it
                    && g.state.get() == GenState::Suspended
                    && !self.tracing
                {
                    let g = g.clone();
                    sync!();
                    self.resume_suspended(g, Resume::ForIter(exit))?;
                    reload!();
                } else if let Value::Iterator(st) = it
                    && let Ok(mut st) = st.try_borrow_mut()
                    && let IterState::Range { next, stop, step } = &mut *st
                {
                    if (*step > 0 && *next < *stop) || (*step < 0 && *next > *stop) {
                        let v = *next;
                        *next += *step;
                        drop(st);
                        push_item!(Value::Int(v));
                    } else {
                        drop(st);
                        let it = pop!();
                        drop(it);
                        jump!(exit);
                        after_drop!();
                    }
                } else {
                    sync!();
                    self.slow_op(Op::ForIter(exit))?;
                    reload!();
                }
            }};
        }
        // Calls a native function with positional arguments, counting it
        // toward the recursion limit as CPython counts a C call.
        macro_rules! invoke_native {
            ($func:expr, $args:expr) => {{
                self.c_depth += 1;
                let r = $func(self, $args, &[]);
                self.c_depth -= 1;
                r
            }};
        }
        // A plain built-in (no receiver, nothing special) called with the
        // top `count` values as its arguments, its own slot `cut` slots
        // down (`Call`: just below them; `CallMethod`: below a receiver
        // slot, which is empty when it does not count): the values move
        // into an array on the Rust stack (no argument vector) and the
        // function pointer runs from here.
        macro_rules! call_native {
            ($func:expr, $count:expr, $cut:expr) => {{
                let func: NativeFn = $func;
                let count: usize = $count;
                let mut buf = [const { std::mem::MaybeUninit::<Value>::uninit() }; SMALL_ARGS];
                // SAFETY: the top `count` values move into `buf`, the
                // callable is read out of its slot, and the stack is cut
                // below it (an empty receiver slot owns nothing) before
                // anything can observe it.
                let callable = unsafe {
                    move_values(sp.sub(count), buf.as_mut_ptr() as *mut Value, count);
                    sp = sp.sub($cut);
                    Value::read_words(sp)
                };
                sync!();
                // SAFETY: the first `count` slots of `buf` are initialised.
                let args = unsafe {
                    std::slice::from_raw_parts_mut(buf.as_mut_ptr() as *mut Value, count)
                };
                let r = invoke_native!(func, &*args);
                for v in args.iter() {
                    // SAFETY: the arguments are dropped once, here; `buf`
                    // never drops its contents.
                    let v = unsafe { Value::read_words(v) };
                    if v.is_heap() {
                        v.heap_drop();
                    } else {
                        std::mem::forget(v);
                    }
                }
                callable.heap_drop();
                reload!();
                push_item!(r?);
                after_drop!();
            }};
        }
        reload!();
        loop {
            // The instruction is matched in place through a reference, so
            // each arm loads just the operand it uses. (`match unsafe {
            // *p }` matches a copy: the block makes the scrutinee a value,
            // and LLVM then decoded every operand layout, four loads, in
            // every copy of the dispatch jump.)
            // No second pointer to the instruction is kept: one made LLVM
            // spill the pair across the arms.
            // SAFETY: ip points into the code (see reload).
            ip = unsafe { ip.add(1) };
            // The instruction being run, re-read where an arm needs it
            // whole: only before the arm moves `ip`.
            macro_rules! op {
                () => {
                    // SAFETY: the instruction just dispatched.
                    unsafe { *ip.sub(1) }
                };
            }
            match *unsafe { &*ip.sub(1) } {
                Op::PopTop => {
                    let v = pop!();
                    if v.is_heap() {
                        v.heap_drop();
                        after_drop!();
                    } else {
                        std::mem::forget(v);
                    }
                }
                Op::DupTop => {
                    let v = peek!(1).fast_clone();
                    push!(v);
                }
                Op::RotTwo => {
                    // SAFETY: two values on the stack.
                    unsafe { std::ptr::swap(sp.sub(1), sp.sub(2)) };
                }
                Op::LoadConst(i) => {
                    // SAFETY: constant indices come from the compiler.
                    let v = unsafe { (*consts.add(i as usize)).fast_clone() };
                    push!(v);
                }
                Op::LoadFast(i) => load_fast!(i),
                Op::LoadFastLoadFast { a, b } => load_fast_load_fast!(a, b),
                Op::LoadFastLoadConst { local, konst } => load_fast_load_const!(local, konst),
                Op::CompareFastFast { a, b } => {
                    if let (Value::Int(x), Value::Int(y)) = (&*local!(a), &*local!(b)) {
                        compare_jump!(*x, *y);
                    } else {
                        load_fast_load_fast!(a, b);
                    }
                }
                Op::CompareFastConst { local, konst } => {
                    // SAFETY: constant indices come from the compiler.
                    let k = unsafe { &*consts.add(konst as usize) };
                    if let (Value::Int(x), Value::Int(y)) = (&*local!(local), k) {
                        compare_jump!(*x, *y);
                    } else {
                        load_fast_load_const!(local, konst);
                    }
                }
                Op::BinaryFastConst {
                    op: bop,
                    local,
                    konst,
                } => {
                    // SAFETY: constant indices come from the compiler.
                    let k = unsafe { &*consts.add(konst as usize) };
                    if let (Value::Int(x), Value::Int(y)) = (&*local!(local), k)
                        && let Some(r) = int_binop(bop, *x, *y)
                    {
                        // SAFETY: past the skipped `LoadConst` and `Binary`,
                        // still in the code.
                        ip = unsafe { ip.add(2) };
                        push!(Value::Int(r));
                    } else {
                        sync!();
                        self.binary_fused(bop, local, Operand::Const(konst))?;
                        reload!();
                    }
                }
                Op::BinaryFastFast { op: bop, a, b } => {
                    if let (Value::Int(x), Value::Int(y)) = (&*local!(a), &*local!(b))
                        && let Some(r) = int_binop(bop, *x, *y)
                    {
                        // SAFETY: past the skipped `LoadFast` and `Binary`,
                        // still in the code.
                        ip = unsafe { ip.add(2) };
                        push!(Value::Int(r));
                    } else {
                        sync!();
                        self.binary_fused(bop, a, Operand::Local(b))?;
                        reload!();
                    }
                }
                Op::StoreFast(i) => {
                    let v = pop!();
                    store_fast!(i, v);
                }
                Op::LoadGlobal(i) => {
                    // SAFETY: fp is the live top frame.
                    let f = unsafe { &*fp };
                    // The cached value is cloned straight into its stack
                    // slot: returned as an `Option<Value>`, it went through
                    // four stack temporaries on the way.
                    // SAFETY: sp < end leaves room for one value.
                    if unsafe { self.cached_global_to(f, i as usize, sp) } {
                        sp = unsafe { sp.add(1) };
                    } else {
                        sync!();
                        self.slow_op(op!())?;
                        reload!();
                    }
                }
                Op::LoadGlobalLoadFast { global, local } => {
                    // SAFETY: fp is the live top frame; sp < end (as for
                    // `LoadGlobal`).
                    if unsafe { self.cached_global_to(&*fp, global as usize, sp) } {
                        sp = unsafe { sp.add(1) };
                        // SAFETY: the skipped `LoadFast` follows.
                        ip = unsafe { ip.add(1) };
                        load_fast!(local);
                    } else {
                        sync!();
                        self.slow_op(Op::LoadGlobal(global as u32))?;
                        reload!();
                    }
                }
                Op::Binary(bop) | Op::Inplace(bop) => {
                    if let (Value::Int(a), Value::Int(b)) = (&*peek!(2), &*peek!(1))
                        && let Some(r) = int_binop(bop, *a, *b)
                    {
                        replace_top_two!(Value::Int(r));
                    } else {
                        sync!();
                        self.slow_op(op!())?;
                        reload!();
                    }
                }
                Op::BinaryStoreFast { op: bop, local }
                | Op::InplaceStoreFast { op: bop, local } => {
                    if let (Value::Int(a), Value::Int(b)) = (&*peek!(2), &*peek!(1))
                        && let Some(r) = int_binop(bop, *a, *b)
                    {
                        let slot = local!(local);
                        if slot.is_heap() {
                            // The `StoreFast` drops what the local held.
                            replace_top_two!(Value::Int(r));
                        } else {
                            // SAFETY: two immediates popped and an immediate
                            // overwritten: nothing to drop; the skipped
                            // `StoreFast local` follows.
                            unsafe {
                                sp = sp.sub(2);
                                std::ptr::write(slot, Value::Int(r));
                                ip = ip.add(1);
                            }
                        }
                    } else {
                        // The unfused instruction; the `StoreFast` then runs.
                        sync!();
                        self.slow_op(unfused(op!()))?;
                        reload!();
                    }
                }
                Op::Compare(cmp) => {
                    if let (Value::Int(a), Value::Int(b)) = (&*peek!(2), &*peek!(1))
                        && let Some(r) = int_compare(cmp, *a, *b)
                    {
                        replace_top_two!(Value::Bool(r));
                    } else {
                        sync!();
                        self.slow_op(op!())?;
                        reload!();
                    }
                }
                Op::Jump(t) => jump!(t),
                Op::JumpTest { local, target } => {
                    if let Some(b) = known_truth!(local!(local)) {
                        // SAFETY: the compiler wrote this over a `Jump` to
                        // a `LoadFastJumpIf; PopJumpIf*` pair at `target`.
                        let test = unsafe { *ops.add(target as usize + 1) };
                        let (Op::PopJumpIfFalse(t) | Op::PopJumpIfTrue(t)) = test else {
                            unreachable!("JumpTest to a pair without its PopJumpIf*")
                        };
                        if b == matches!(test, Op::PopJumpIfTrue(_)) {
                            jump!(t);
                        } else {
                            jump!(target + 2);
                        }
                    } else {
                        jump!(target);
                    }
                }
                Op::PopJumpIfFalse(t) | Op::PopJumpIfTrue(t) => {
                    let jump_on = matches!(op!(), Op::PopJumpIfTrue(_));
                    // Tested in its slot, then popped: matching the popped
                    // value moved it through stack temporaries, which LLVM
                    // wrote and read back in different widths (a stalled
                    // store forward on every `while queue:`).
                    let b = if let Some(b) = known_truth!(peek!(1)) {
                        drop_value!(pop!());
                        b
                    } else {
                        let other = pop!();
                        sync!();
                        let r = self.truthy(&other);
                        drop(other);
                        reload!();
                        r?
                    };
                    if b == jump_on {
                        jump!(t);
                    }
                }
                Op::CompareJumpIfFalse(cmp, t) | Op::CompareJumpIfTrue(cmp, t) => {
                    let jump_on = matches!(op!(), Op::CompareJumpIfTrue(..));
                    let b = if let (Value::Int(a), Value::Int(b)) = (&*peek!(2), &*peek!(1))
                        && let Some(r) = int_compare(cmp, *a, *b)
                    {
                        // SAFETY: two immediates: drop nothing.
                        sp = unsafe { sp.sub(2) };
                        r
                    } else if let CmpOp::Is | CmpOp::IsNot = cmp {
                        // Identity never calls covm code.
                        let rhs = pop!();
                        let lhs = pop!();
                        let r = lhs.is(&rhs) == (cmp == CmpOp::Is);
                        drop_value!(rhs);
                        drop_value!(lhs);
                        r
                    } else {
                        let rhs = pop!();
                        let lhs = pop!();
                        sync!();
                        let r = self.compare_truth(cmp, &lhs, &rhs);
                        drop((lhs, rhs));
                        reload!();
                        r?
                    };
                    if b == jump_on {
                        jump!(t);
                    }
                }
                Op::AddFastConst { local, delta } => {
                    let slot = local!(local);
                    if let Value::Int(i) = slot
                        && let Some(r) = i.checked_add(delta as i64)
                    {
                        *i = r;
                    } else {
                        sync!();
                        self.slow_op(op!())?;
                        reload!();
                    }
                }
                Op::ForIter(t) => for_iter!(t),
                Op::ForIterBack(top) => {
                    // SAFETY: ip is one past this instruction, in the code.
                    let exit = unsafe { ip.offset_from(ops) } as u32;
                    // A pause resumes on this instruction.
                    poll_back_edge!(exit as usize - 1);
                    // SAFETY: the loop's first instruction, in this code.
                    ip = unsafe { ops.add(top as usize) };
                    for_iter!(exit);
                }
                Op::YieldFast(i) => {
                    if fast_yield!() && !local!(i).is_undef() {
                        let v = local!(i).fast_clone();
                        // SAFETY: the skipped `YieldValue` follows; the
                        // generator resumes after it.
                        ip = unsafe { ip.add(1) };
                        yield_fast!(v);
                    } else {
                        load_fast!(i);
                    }
                }
                Op::YieldConst(k) => {
                    // SAFETY: constant indices come from the compiler.
                    let v = unsafe { (*consts.add(k as usize)).fast_clone() };
                    if fast_yield!() {
                        // SAFETY: as for `YieldFast`.
                        ip = unsafe { ip.add(1) };
                        yield_fast!(v);
                    } else {
                        push!(v);
                    }
                }
                Op::LoadFastLoadMethod { local, name } => load_fast_load_method!(local, name),
                Op::CallLocalMethod { local, name, arg } => {
                    // SAFETY: fp is the live top frame.
                    let code = unsafe { &(*fp).code };
                    if let Some(func) =
                        self.cached_native_method(local!(local), code, name as usize)
                        && (arg == NO_ARG || !local!(arg).is_undef())
                    {
                        // The arguments are bitwise copies that own
                        // nothing: natives only borrow their arguments, and
                        // nothing can rebind this frame's locals while it
                        // waits for the call.
                        let mut buf = [const { std::mem::MaybeUninit::<Value>::uninit() }; 2];
                        let count = if arg == NO_ARG { 1 } else { 2 };
                        // SAFETY: both locals are initialised values; the
                        // copies are never dropped. Past the `LoadMethod`,
                        // [`LoadFast`,] `CallMethod` the call stands for, so
                        // that an error is the call's.
                        let recv: *const Value = local!(local);
                        let arg_slot: *const Value =
                            local!(if arg == NO_ARG { local } else { arg });
                        let args = unsafe {
                            buf[0] = std::mem::MaybeUninit::new(Value::read_words(recv));
                            if count == 2 {
                                buf[1] = std::mem::MaybeUninit::new(Value::read_words(arg_slot));
                            }
                            ip = ip.add(count + 1);
                            std::slice::from_raw_parts(buf.as_ptr() as *const Value, count)
                        };
                        sync!();
                        let r = invoke_native!(func, args);
                        reload!();
                        push_item!(r?);
                        after_drop!();
                    } else {
                        load_fast_load_method!(local, name);
                    }
                }
                Op::LoadFastJumpIf(i) => {
                    if let Some(b) = known_truth!(local!(i)) {
                        // SAFETY: the fused `PopJumpIf*` follows.
                        let next = unsafe { *ip };
                        let (Op::PopJumpIfFalse(t) | Op::PopJumpIfTrue(t)) = next else {
                            unreachable!("LoadFastJumpIf without its PopJumpIf*")
                        };
                        // SAFETY: past the pair, still in the code.
                        ip = unsafe { ip.add(1) };
                        if b == matches!(next, Op::PopJumpIfTrue(_)) {
                            jump!(t);
                        }
                    } else {
                        load_fast!(i);
                    }
                }
                Op::YieldValue => {
                    if fast_yield!() {
                        yield_fast!(pop!());
                    } else {
                        let v = pop!();
                        sync!();
                        if let Some(exit) = self.yield_value(v)? {
                            return Ok(exit);
                        }
                        reload!();
                    }
                }
                Op::GetAwaitable => {
                    // A coroutine that has not started is its own awaitable
                    // and cannot be awaited elsewhere yet (`get_awaitable`).
                    if let Value::Generator(g) = &*peek!(1)
                        && g.kind == GenKind::Coroutine
                        && g.state.get() == GenState::Created
                        && !self.tracing
                    {
                        continue;
                    }
                    sync!();
                    self.slow_op(op!())?;
                    reload!();
                }
                Op::GetYieldFromIter => {
                    // `yield from obj` of an instance whose `__iter__` is a
                    // generator function: make the generator here (what
                    // `get_iter` does for it, without the general path).
                    if let Value::Instance(_) = &*peek!(1) {
                        sync!();
                        // SAFETY: the instance stays in its slot (alive)
                        // while the generator is made; nothing runs covm
                        // code or moves the stack meanwhile.
                        let obj: &Value = unsafe { &*sp.sub(1) };
                        if let Some(g) = self.instance_iter_fast(obj) {
                            let obj = pop!();
                            push!(g);
                            drop_value!(obj);
                            continue;
                        }
                    }
                    sync!();
                    self.slow_op(op!())?;
                    reload!();
                }
                Op::YieldFrom => {
                    // The first `YieldFrom` over a generator or coroutine
                    // that has not started (`yield from gen()`, `await
                    // coro`): enter it at once, staying on this instruction.
                    if let Value::Generator(g) = &*peek!(2)
                        && g.state.get() == GenState::Created
                        && g.kind != GenKind::AsyncGenerator
                        && peek!(1).is_none()
                        && !self.tracing
                    {
                        let g = g.clone();
                        // The None sent in: an immediate, nothing to drop.
                        std::mem::forget(pop!());
                        // SAFETY: ip is past this instruction.
                        ip = unsafe { ip.sub(1) };
                        sync!();
                        let r = self.start_delegate(g);
                        reload!();
                        r?;
                        continue;
                    }
                    sync!();
                    if let Some(exit) = self.op_yield_from()? {
                        return Ok(exit);
                    }
                    reload!();
                }
                Op::Call(n) => {
                    sync!();
                    // Poll point (limits.rs); a pause re-runs this call.
                    self.limits.countdown -= 1;
                    if self.limits.countdown <= 0 && self.poll_limits()? {
                        // SAFETY: fp is the top frame; ip is past this op.
                        unsafe { (*fp).ip -= 1 };
                        return Ok(Exit::Yield(Value::Undef));
                    }
                    // SAFETY: the callee is below its n arguments.
                    let first = unsafe { sp.offset_from(locals) } as usize - n as usize - 1;
                    let done = match &*peek!(n as usize + 1) {
                        Value::Function(_) => self.fast_call(n as usize)?,
                        Value::Class(_) => self.fast_instantiate(n as usize)?,
                        // `next(g)` on a suspended generator resumes it from
                        // here (what `gen_special_call` does, without looking
                        // the slots up again).
                        Value::Builtin(b)
                            if n == 1
                                && b.special == Special::Next
                                && b.receiver.is_none()
                                && let Value::Generator(g) = &*peek!(1)
                                && g.kind == GenKind::Generator
                                && g.state.get() == GenState::Suspended
                                && !self.tracing =>
                        {
                            let Value::Generator(g) = pop!() else {
                                unreachable!("checked above")
                            };
                            let callee = pop!();
                            sync!();
                            // A builtin without a receiver owns no covm value.
                            drop(callee);
                            let r = self.resume_suspended(g, Resume::Call);
                            reload!();
                            r?;
                            continue;
                        }
                        // A plain built-in function (`len(x)`, `abs(x)`).
                        Value::Builtin(b)
                            if (n as usize) < SMALL_ARGS
                                && b.special == Special::None
                                && b.receiver.is_none() =>
                        {
                            let func = b.func;
                            call_native!(func, n as usize, n as usize + 1);
                            continue;
                        }
                        Value::Builtin(_) => self.gen_special_call(first)?,
                        _ => false,
                    };
                    if !done {
                        self.slow_op(op!())?;
                    }
                    reload!();
                }
                Op::LoadMethod(i) => {
                    // SAFETY: fp is the live top frame.
                    let code = unsafe { &(*fp).code };
                    if let Some(m) = self.cached_method(peek!(1), code, i as usize) {
                        // [obj] -> [method, obj]: the receiver moves up a
                        // slot in place (popped and pushed, it went through
                        // a stack temporary).
                        debug_assert!(sp < end, "value stack deeper than its stacksize");
                        // SAFETY: the receiver is on the stack and there is
                        // room for one more (see `push!`).
                        unsafe {
                            sp.write(Value::read_words(sp.sub(1)));
                            sp.sub(1).write(m);
                            sp = sp.add(1);
                        }
                        continue;
                    }
                    let obj = pop!();
                    sync!();
                    // SAFETY: the frame (and so its code) stays alive while
                    // the lookup runs, even if it runs covm code.
                    let code: &Rc<crate::code::Code> = unsafe { &(*fp).code };
                    let r = self.load_method_cached(obj, &code.names[i as usize], code, i as usize);
                    reload!();
                    let (m, recv) = r?;
                    push!(m);
                    push!(recv);
                }
                Op::LoadAttr(i) => {
                    let obj = pop!();
                    sync!();
                    // SAFETY: as for LoadMethod.
                    let code: &Rc<crate::code::Code> = unsafe { &(*fp).code };
                    let r = self.load_attr_cached(&obj, code, i as usize);
                    drop(obj);
                    reload!();
                    push!(r?);
                    after_drop!();
                }
                Op::CallMethod(n) => {
                    let n = n as usize;
                    // A plain built-in method with few arguments
                    // (`d.append(x)`, `d.popleft()`); with more, the
                    // general arm below passes them in a reused buffer
                    // (`native_method_call`).
                    if n < SMALL_ARGS
                        && let Value::Builtin(b) = &*peek!(n + 2)
                        && b.special == Special::None
                        && b.receiver.is_none()
                    {
                        let func = b.func;
                        // The receiver slot is empty when `LoadMethod` found
                        // a plain attribute (the builtin takes no self).
                        let count = if peek!(n + 1).is_undef() { n } else { n + 1 };
                        call_native!(func, count, n + 2);
                        continue;
                    }
                    sync!();
                    // SAFETY: the method and receiver are below the n arguments.
                    let first = unsafe { sp.offset_from(locals) } as usize - n - 2;
                    let done = match &*peek!(n + 2) {
                        // `(method self args*n)` is a call of the method
                        // with n + 1 positional arguments.
                        Value::Function(_) if !peek!(n + 1).is_undef() => self.fast_call(n + 1)?,
                        Value::Builtin(b) if b.special != Special::None => {
                            self.gen_special_call(first)?
                        }
                        Value::Builtin(_) => self.native_method_call(n)?,
                        _ => false,
                    };
                    if !done {
                        self.slow_op(op!())?;
                    }
                    reload!();
                }
                Op::ReturnValue => {
                    // SAFETY: the loop runs with its frame on the stack.
                    let ret = unsafe { &self.frames.last().unwrap_unchecked().ret };
                    if let ReturnTo::Caller = ret {
                        // Read by words: the value was often just written
                        // by an arithmetic arm as two narrow stores.
                        // SAFETY: as for pop; the slot is given up.
                        let v = unsafe {
                            sp = sp.sub(1);
                            Value::read_words(sp)
                        };
                        sync!();
                        self.return_to_caller();
                        reload!();
                        push!(v);
                        after_drop!();
                    } else if let ReturnTo::Await(None) = ret {
                        let v = pop!();
                        sync!();
                        self.return_to_caller();
                        reload!();
                        // The caller sits on its `YieldFrom` with the `Undef`
                        // it kept for the coroutine object: the result takes
                        // that slot and the caller moves past the await.
                        // SAFETY: the slot holds an immediate (nothing to
                        // drop); ip points at the YieldFrom.
                        unsafe {
                            sp.sub(1).write(v);
                            ip = ip.add(1);
                        }
                        after_drop!();
                    } else {
                        let v = pop!();
                        sync!();
                        if let Some(exit) = self.op_return(v, base)? {
                            return Ok(exit);
                        }
                        reload!();
                    }
                }
                // Every other instruction, named rather than `_`: with no
                // wildcard the optimiser knows the jump table covers every
                // opcode and drops the range check before each dispatch.
                Op::Nop
                | Op::PopExcept
                | Op::SetupFinally(_)
                | Op::SetupWith(_)
                | Op::PopBlock
                | Op::DupTopTwo
                | Op::RotThree
                | Op::RotFour
                | Op::DeleteFast(..)
                | Op::LoadDeref(..)
                | Op::StoreDeref(..)
                | Op::DeleteDeref(..)
                | Op::LoadClosure(..)
                | Op::LoadClassDeref(..)
                | Op::LoadName(..)
                | Op::StoreName(..)
                | Op::DeleteName(..)
                | Op::StoreGlobal(..)
                | Op::DeleteGlobal(..)
                | Op::StoreAttr(..)
                | Op::DeleteAttr(..)
                | Op::BinarySubscr
                | Op::StoreSubscr
                | Op::DeleteSubscr
                | Op::Unary(..)
                | Op::BuildTuple(..)
                | Op::BuildList(..)
                | Op::BuildSet(..)
                | Op::BuildMap(..)
                | Op::BuildConstKeyMap(..)
                | Op::BuildSlice(..)
                | Op::BuildString(..)
                | Op::ListAppend(..)
                | Op::SetAdd(..)
                | Op::MapAdd(..)
                | Op::ListExtend(..)
                | Op::SetUpdate(..)
                | Op::DictUpdate(..)
                | Op::DictMerge(..)
                | Op::ListToTuple
                | Op::FormatValue(..)
                | Op::UnpackSequence(..)
                | Op::UnpackEx(..)
                | Op::JumpIfFalseOrPop(..)
                | Op::JumpIfTrueOrPop(..)
                | Op::GetIter
                | Op::CallKw(..)
                | Op::CallEx(..)
                | Op::MakeFunction(..)
                | Op::BuildClass(..)
                | Op::Reraise
                | Op::Raise(..)
                | Op::CheckExcMatch
                | Op::BeforeWith
                | Op::WithExceptStart
                | Op::BeforeAsyncWith
                | Op::GetAIter
                | Op::GetANext
                | Op::EndAsyncFor
                | Op::AsyncGenWrap
                | Op::LoadAssertionError
                | Op::ImportName(..)
                | Op::ImportFrom(..)
                | Op::ImportStar
                | Op::PrintExpr => {
                    sync!();
                    self.slow_op(op!())?;
                    reload!();
                    // A store or delete may have freed generators: their
                    // `finally` runs now, before the next statement, as
                    // CPython runs it where the last reference goes.
                    after_drop!();
                }
            }
        }
    }

    /// `LoadGlobal`'s cache hit: clones into `dst` the value in the slot
    /// cached for name `i` while neither the module's nor the builtins'
    /// namespace changed. False on a miss.
    ///
    /// # Safety
    /// `dst` is a free slot the caller then counts as holding the value.
    #[inline(always)]
    unsafe fn cached_global_to(&self, f: &Frame, i: usize, dst: *mut Value) -> bool {
        let Some(slot) = f.code.global_cache.get(i) else {
            return false;
        };
        let slot = slot.get();
        if slot.module == f.globals.globals.version()
            && slot.builtins == self.builtins.globals.version()
        {
            // SAFETY: both namespaces are unchanged since the lookup that
            // filled the slot (their stamps), so the value is where it
            // was; the caller's promise for `dst`.
            unsafe { dst.write((*slot.value).fast_clone()) };
            true
        } else {
            false
        }
    }

    /// `a cmp b` as a truth value, for the fused compare-and-jump.
    fn compare_truth(&mut self, cmp: CmpOp, a: &Value, b: &Value) -> PyResult<bool> {
        match self.compare_op(cmp, a, b)? {
            Value::Bool(b) => Ok(b),
            other => self.truthy(&other),
        }
    }

    /// Executes one instruction the fast loop does not handle inline, with
    /// the frame state saved in the frame (`ip` past the instruction, the
    /// stack length current).
    #[inline(never)]
    fn slow_op(&mut self, op: Op) -> PyResult<()> {
        match op {
            Op::Nop
            | Op::PopTop
            | Op::DupTop
            | Op::RotTwo
            | Op::LoadConst(_)
            | Op::LoadFast(_)
            | Op::LoadFastLoadFast { .. }
            | Op::LoadFastLoadConst { .. }
            | Op::CompareFastFast { .. }
            | Op::CompareFastConst { .. }
            | Op::BinaryFastConst { .. }
            | Op::BinaryFastFast { .. }
            | Op::YieldFast(_)
            | Op::YieldConst(_)
            | Op::LoadFastLoadMethod { .. }
            | Op::CallLocalMethod { .. }
            | Op::LoadFastJumpIf(_)
            | Op::LoadGlobalLoadFast { .. }
            | Op::JumpTest { .. }
            | Op::ForIterBack(_)
            | Op::StoreFast(_)
            | Op::Jump(_)
            | Op::PopJumpIfFalse(_)
            | Op::PopJumpIfTrue(_)
            | Op::CompareJumpIfFalse(..)
            | Op::CompareJumpIfTrue(..)
            | Op::BinaryStoreFast { .. }
            | Op::InplaceStoreFast { .. }
            | Op::LoadAttr(_)
            | Op::LoadMethod(_)
            | Op::ReturnValue
            | Op::YieldValue
            | Op::YieldFrom => unreachable!("handled in dispatch"),
            Op::PopExcept => {
                let f = top!(self);
                let exc = f.pop_handled();
                drop(exc);
                self.run_finalizers()?;
            }
            // Removed by the compiler (`compiler/exctable.rs`).
            Op::SetupFinally(_) | Op::SetupWith(_) | Op::PopBlock => {
                return Err(self.runtime_error("a block instruction reached the VM"));
            }
            Op::DupTopTwo => {
                let f = top!(self);
                let n = f.stack.len();
                let a = f.stack[n - 2].clone();
                let b = f.stack[n - 1].clone();
                f.push(a);
                f.push(b);
            }
            Op::RotThree => {
                let v = pop!(self);
                let f = top!(self);
                let n = f.stack.len();
                f.insert(n - 2, v);
            }
            Op::RotFour => {
                let v = pop!(self);
                let f = top!(self);
                let n = f.stack.len();
                f.insert(n - 3, v);
            }
            Op::DeleteFast(i) => {
                let f = top!(self);
                let old = std::mem::take(&mut f.stack[i as usize]);
                if old.is_undef() {
                    let name = f.code.varnames[i as usize].clone();
                    return Err(self.unbound_local(&name));
                }
                drop(old);
                self.run_finalizers()?;
            }
            Op::LoadDeref(i) => {
                let f = top!(self);
                let v = f.cells()[i as usize].borrow().clone();
                if v.is_undef() {
                    return Err(self.unbound_deref(i as usize));
                }
                push!(self, v);
            }
            Op::StoreDeref(i) => {
                let v = pop!(self);
                let f = top!(self);
                let old = std::mem::replace(&mut *f.cells()[i as usize].borrow_mut(), v);
                drop(old);
            }
            Op::DeleteDeref(i) => {
                let f = top!(self);
                let old = std::mem::take(&mut *f.cells()[i as usize].borrow_mut());
                if old.is_undef() {
                    return Err(self.unbound_deref(i as usize));
                }
            }
            Op::LoadClosure(i) => {
                let f = top!(self);
                let c = f.cells()[i as usize].clone();
                f.push(Value::Cell(c));
            }
            Op::LoadClassDeref(arg) => {
                let f = top!(self);
                let cell = (arg & 0xffff) as usize;
                let name = f.code.names[(arg >> 16) as usize].clone();
                let found = f.namespace().and_then(|ns| ns.borrow().get(&name).cloned());
                let v = match found {
                    Some(v) => v,
                    None => {
                        let v = f.cells()[cell].borrow().clone();
                        if v.is_undef() {
                            return Err(self.unbound_deref(cell));
                        }
                        v
                    }
                };
                push!(self, v);
            }
            Op::LoadName(i) => {
                let f = top!(self);
                let name = &f.code.names[i as usize];
                let found = f.namespace().and_then(|ns| ns.borrow().get(name).cloned());
                let v = match found {
                    Some(v) => v,
                    None => {
                        let name = name.clone();
                        self.load_global(&name)?
                    }
                };
                push!(self, v);
            }
            Op::StoreName(i) => {
                let v = pop!(self);
                let f = top!(self);
                let name = f.code.names[i as usize].clone();
                match f.namespace() {
                    Some(ns) => {
                        ns.borrow_mut().insert(name, v);
                    }
                    None => {
                        let old = f.globals.globals.borrow_mut().insert(name, v);
                        drop(old);
                        self.run_finalizers()?;
                    }
                }
            }
            Op::DeleteName(i) => {
                let f = top!(self);
                let name = f.code.names[i as usize].clone();
                let removed = match f.namespace() {
                    Some(ns) => ns.borrow_mut().shift_remove(&name),
                    None => f.globals.globals.borrow_mut().shift_remove(&name),
                };
                if removed.is_none() {
                    return Err(self.name_error(&name));
                }
            }
            Op::LoadGlobal(i) => {
                let f = top!(self);
                let name = &f.code.names[i as usize];
                let stamps = (f.globals.globals.version(), self.builtins.globals.version());
                let module = f.globals.globals.borrow();
                let builtins;
                let found = match module.get(name) {
                    Some(v) => v,
                    None => {
                        builtins = self.builtins.globals.borrow();
                        match builtins.get(name) {
                            Some(v) => v,
                            None => {
                                let name = name.clone();
                                drop(module);
                                return Err(self.name_error(&name));
                            }
                        }
                    }
                };
                if let Some(slot) = f.code.global_cache.get(i as usize) {
                    slot.set(crate::code::GlobalSlot {
                        module: stamps.0,
                        builtins: stamps.1,
                        value: found as *const Value,
                    });
                }
                let v = found.clone();
                drop(module);
                f.push(v);
            }
            Op::StoreGlobal(i) => {
                let v = pop!(self);
                let f = top!(self);
                let name = f.code.names[i as usize].clone();
                let old = f.globals.globals.borrow_mut().insert(name, v);
                drop(old);
                self.run_finalizers()?;
            }
            Op::DeleteGlobal(i) => {
                let f = top!(self);
                let name = f.code.names[i as usize].clone();
                let old = f.globals.globals.borrow_mut().shift_remove(&name);
                if old.is_none() {
                    return Err(self.name_error(&name));
                }
                drop(old);
                self.run_finalizers()?;
            }
            Op::StoreAttr(i) => {
                let name = top!(self).code.names[i as usize].clone();
                let obj = pop!(self);
                let v = pop!(self);
                self.setattr_interned(&obj, &name, v)?;
            }
            Op::DeleteAttr(i) => {
                let name = top!(self).code.names[i as usize].clone();
                let obj = pop!(self);
                self.delattr(&obj, &name)?;
            }
            Op::BinarySubscr => {
                let key = pop!(self);
                let obj = pop!(self);
                let v = self.getitem(&obj, &key)?;
                push!(self, v);
            }
            Op::StoreSubscr => {
                let key = pop!(self);
                let obj = pop!(self);
                let v = pop!(self);
                self.setitem(&obj, key, v)?;
            }
            Op::DeleteSubscr => {
                let key = pop!(self);
                let obj = pop!(self);
                self.delitem(&obj, &key)?;
            }
            Op::Binary(op) => {
                let b = pop!(self);
                let a = pop!(self);
                let v = self.binary_op(op, &a, &b)?;
                push!(self, v);
            }
            Op::Inplace(op) => {
                let b = pop!(self);
                let a = pop!(self);
                let v = self.inplace_op(op, a, &b)?;
                push!(self, v);
            }
            Op::Unary(op) => {
                let a = pop!(self);
                let v = self.unary_op(op, &a)?;
                push!(self, v);
            }
            Op::Compare(op) => {
                let b = pop!(self);
                let a = pop!(self);
                let v = self.compare_op(op, &a, &b)?;
                push!(self, v);
            }
            Op::BuildTuple(n) => {
                let f = top!(self);
                let at = f.stack.len() - n as usize;
                let items = RcSlice::from_exact(f.stack.drain(at..));
                f.push(Value::Tuple(items));
            }
            Op::BuildList(n) => {
                let f = top!(self);
                let at = f.stack.len() - n as usize;
                let items: Vec<Value> = f.stack.drain(at..).collect();
                f.push(Value::list(items));
            }
            Op::BuildSet(n) => {
                let f = top!(self);
                let at = f.stack.len() - n as usize;
                let items: Vec<Value> = f.stack.drain(at..).collect();
                let set = Rc::new(RefCell::new(crate::dict::Dict::new()));
                for it in items {
                    crate::dict::add(self, &set, it)?;
                }
                push!(self, Value::tracked(Value::Set(set)));
            }
            Op::BuildMap(n) => {
                let f = top!(self);
                let at = f.stack.len() - 2 * n as usize;
                let items: Vec<Value> = f.stack.drain(at..).collect();
                let d = Rc::new(RefCell::new(crate::dict::Dict::new()));
                let mut it = items.into_iter();
                while let (Some(k), Some(v)) = (it.next(), it.next()) {
                    crate::dict::set(self, &d, k, v)?;
                }
                push!(self, Value::tracked(Value::Dict(d)));
            }
            Op::BuildConstKeyMap(n) => {
                let keys = pop!(self);
                let f = top!(self);
                let at = f.stack.len() - n as usize;
                let vals: Vec<Value> = f.stack.drain(at..).collect();
                let d = Rc::new(RefCell::new(crate::dict::Dict::new()));
                if let Value::Tuple(ks) = keys {
                    for (k, v) in ks.iter().zip(vals) {
                        crate::dict::set(self, &d, k.clone(), v)?;
                    }
                }
                push!(self, Value::tracked(Value::Dict(d)));
            }
            Op::BuildSlice(n) => {
                let step = if n == 3 { pop!(self) } else { Value::None };
                let stop = pop!(self);
                let start = pop!(self);
                push!(self, Value::Slice(Rc::new(SliceObj { start, stop, step })));
            }
            Op::BuildString(n) => {
                let f = top!(self);
                let at = f.stack.len() - n as usize;
                let mut s = String::new();
                for v in f.stack.drain(at..) {
                    if let Value::Str(p) = v {
                        s.push_str(p.as_str());
                    }
                }
                f.push(Value::str(s));
            }
            Op::ListAppend(n) => {
                let v = pop!(self);
                let f = top!(self);
                let at = f.stack.len() - n as usize;
                if let Value::List(l) = &f.stack[at] {
                    let mut l = l.borrow_mut();
                    if l.len() == l.capacity() && l.try_reserve(1).is_err() {
                        drop(l);
                        return Err(self.memory_error());
                    }
                    l.push(v);
                }
            }
            Op::SetAdd(n) => {
                let v = pop!(self);
                let f = top!(self);
                let at = f.stack.len() - n as usize;
                if let Value::Set(s) = f.stack[at].clone() {
                    crate::dict::add(self, &s, v)?;
                }
            }
            Op::MapAdd(n) => {
                let v = pop!(self);
                let k = pop!(self);
                let f = top!(self);
                let at = f.stack.len() - n as usize;
                if let Value::Dict(d) = f.stack[at].clone() {
                    crate::dict::set(self, &d, k, v)?;
                }
            }
            Op::ListExtend(arg) => {
                let n = arg & !crate::compiler::CALL_ARGS;
                let it = pop!(self);
                let items = match self.collect(&it) {
                    Ok(items) => items,
                    Err(e) => {
                        let not_iterable = self.is_instance_of(&e, &self.exc.type_error.clone())
                            && self.get_iter(&it).is_err();
                        if !not_iterable {
                            return Err(e);
                        }
                        let f = top!(self);
                        let msg = if arg & crate::compiler::CALL_ARGS != 0 {
                            let func = f.stack[f.stack.len() - 2].clone();
                            format!(
                                "{} argument after * must be an iterable, not {}",
                                self.func_desc(&func),
                                self.type_name(&it)
                            )
                        } else {
                            format!(
                                "Value after * must be an iterable, not {}",
                                self.type_name(&it)
                            )
                        };
                        return Err(self.type_error(&msg));
                    }
                };
                let f = top!(self);
                let at = f.stack.len() - n as usize;
                if let Value::List(l) = &f.stack[at] {
                    l.borrow_mut().extend(items);
                }
            }
            Op::SetUpdate(n) => {
                let it = pop!(self);
                let items = self.collect(&it)?;
                let f = top!(self);
                let at = f.stack.len() - n as usize;
                if let Value::Set(s) = f.stack[at].clone() {
                    for v in items {
                        crate::dict::add(self, &s, v)?;
                    }
                }
            }
            Op::DictUpdate(n) | Op::DictMerge(n) => {
                let src = pop!(self);
                let f = top!(self);
                let at = f.stack.len() - n as usize;
                let target = f.stack[at].clone();
                // For a call, the function sits below its arguments.
                let func = if matches!(op, Op::DictMerge(_)) && at >= 2 {
                    Some(f.stack[at - 2].clone())
                } else {
                    None
                };
                self.op_dict_update(&target, &src, func)?;
            }
            Op::ListToTuple => {
                let l = pop!(self);
                let t = match l {
                    Value::List(l) => Value::tuple(std::mem::take(&mut *l.borrow_mut())),
                    other => other,
                };
                push!(self, t);
            }
            Op::FormatValue(flags) => {
                let spec = if flags & 4 != 0 {
                    Some(pop!(self))
                } else {
                    None
                };
                let v = pop!(self);
                let s = self.op_format_value(v, flags & 3, spec)?;
                push!(self, s);
            }
            Op::UnpackSequence(n) => {
                let seq = pop!(self);
                self.op_unpack(seq, n as usize)?;
            }
            Op::UnpackEx(arg) => {
                let seq = pop!(self);
                self.op_unpack_ex(seq, (arg & 0xffff) as usize, (arg >> 16) as usize)?;
            }
            Op::JumpIfFalseOrPop(t) | Op::JumpIfTrueOrPop(t) => {
                let f = top!(self);
                let v = f.stack[f.stack.len() - 1].clone();
                let b = self.truthy(&v)?;
                let jump_on = matches!(op, Op::JumpIfTrueOrPop(_));
                let f = top!(self);
                if b == jump_on {
                    f.ip = t as usize;
                } else {
                    f.stack.pop();
                }
            }
            Op::AddFastConst { local, delta } => {
                let f = top!(self);
                let slot = &mut f.stack[local as usize];
                if let Value::Int(i) = slot
                    && let Some(r) = i.checked_add(delta as i64)
                {
                    *i = r;
                    return Ok(());
                }
                let cur = slot.clone();
                if cur.is_undef() {
                    let name = f.code.varnames[local as usize].clone();
                    return Err(self.unbound_local(&name));
                }
                // The general path is exactly `x += c` or `x -= c`
                // (the compiler only fuses a nonzero c, so the sign
                // tells which); on error the local keeps its value.
                let (bop, c) = if delta < 0 {
                    (covm_parser::ast::BinOp::Sub, -(delta as i64))
                } else {
                    (covm_parser::ast::BinOp::Add, delta as i64)
                };
                let v = self.inplace_op(bop, cur, &Value::Int(c))?;
                top!(self).stack[local as usize] = v;
            }
            Op::GetIter => {
                let v = pop!(self);
                let it = self.get_iter(&v)?;
                push!(self, it);
            }
            Op::ForIter(t) => self.op_for_iter(t)?,
            Op::Call(n) => {
                self.check_interrupt()?;
                if self.fast_call(n as usize)? {
                    return Ok(());
                }
                let f = top!(self);
                let at = f.stack.len() - n as usize;
                let args: Vec<Value> = f.stack.drain(at..).collect();
                let callee = pop!(self);
                self.call_from_op(callee, args, Vec::new())?;
            }
            Op::CallMethod(n) => {
                if self.native_method_call(n as usize)? {
                    return Ok(());
                }
                let f = top!(self);
                let at = f.stack.len() - n as usize;
                let mut args: Vec<Value> = Vec::with_capacity(n as usize + 1);
                let recv_at = at - 1;
                let recv = std::mem::take(&mut f.stack[recv_at]);
                if !recv.is_undef() {
                    args.push(recv);
                }
                args.extend(f.stack.drain(at..));
                f.stack.pop();
                let callee = pop!(self);
                self.call_from_op(callee, args, Vec::new())?;
            }
            Op::CallKw(n) => {
                let names = pop!(self);
                let f = top!(self);
                let at = f.stack.len() - n as usize;
                let mut args: Vec<Value> = f.stack.drain(at..).collect();
                let callee = pop!(self);
                let kwnames = match names {
                    Value::Tuple(t) => t,
                    _ => RcSlice::from_vec(Vec::new()),
                };
                let kvals = args.split_off(args.len() - kwnames.len());
                let kwargs = kwnames
                    .iter()
                    .zip(kvals)
                    .map(|(k, v)| (Rc::from(k.as_str().unwrap_or("")), v))
                    .collect();
                self.call_from_op(callee, args, kwargs)?;
            }
            Op::CallEx(has_kw) => {
                let kw = if has_kw == 1 { Some(pop!(self)) } else { None };
                let args = pop!(self);
                let callee = pop!(self);
                let args = match args {
                    Value::Tuple(t) => t.to_vec(),
                    other => self.collect(&other)?,
                };
                let mut kwargs = Vec::new();
                if let Some(Value::Dict(d)) = kw {
                    for (k, v) in d.borrow().items() {
                        match k {
                            Value::Str(s) => kwargs.push((Rc::from(s.as_str()), v)),
                            _ => return Err(self.type_error("keywords must be strings")),
                        }
                    }
                }
                self.call_from_op(callee, args, kwargs)?;
            }
            Op::MakeFunction(flags) => self.op_make_function(flags)?,
            Op::BuildClass(n) => self.op_build_class(n as usize)?,
            Op::GetYieldFromIter => {
                let v = pop!(self);
                let it = match v {
                    Value::Generator(ref g) if g.kind == GenKind::Coroutine => {
                        let is_coro_frame = top!(self).code.flags & crate::code::FLAG_COROUTINE
                            != 0
                            || self.in_iterable_coroutine();
                        if !is_coro_frame {
                            return Err(self.type_error(
                                "cannot 'yield from' a coroutine object in a non-coroutine generator",
                            ));
                        }
                        v
                    }
                    Value::Generator(_) => v,
                    other => self.get_iter(&other)?,
                };
                push!(self, it);
            }
            Op::GetAwaitable => {
                let v = pop!(self);
                if self.tracing {
                    let here = match &top!(self).ret {
                        ReturnTo::Generator(g, _) => Vm::gen_label(g),
                        _ => "<module>".to_string(),
                    };
                    let (shown, line) = (self.trace_repr(&v), top!(self).current_line());
                    self.trace(Kind::Await, here, shown, Some(line), String::new());
                }
                let it = match self.get_awaitable(v.clone()) {
                    Ok(it) => it,
                    Err(e) => return Err(self.await_protocol_error(e, &v)),
                };
                push!(self, it);
            }
            Op::Reraise => {
                let exc = pop!(self);
                self.reraising = true;
                return Err(exc);
            }
            Op::Raise(n) => return Err(self.op_raise(n)),
            Op::CheckExcMatch => {
                let typ = pop!(self);
                let f = top!(self);
                let exc = f.stack[f.stack.len() - 1].clone();
                let m = self.exception_matches(&exc, &typ)?;
                push!(self, Value::Bool(m));
            }
            Op::BeforeWith => {
                let mgr = pop!(self);
                let exit = match self.lookup_special(&mgr, "__exit__") {
                    Some(e) => e,
                    None => {
                        let missed = match self.lookup_special(&mgr, "__enter__") {
                            Some(_) => " (missed __exit__ method)",
                            None => "",
                        };
                        let msg = format!(
                            "'{}' object does not support the context manager protocol{missed}",
                            self.type_name(&mgr)
                        );
                        return Err(self.type_error(&msg));
                    }
                };
                let enter = self.lookup_special(&mgr, "__enter__");
                let bound_exit = self.bind(exit, &mgr);
                push!(self, bound_exit);
                let r = match enter {
                    Some(e) => self.call(&e, vec![mgr])?,
                    None => {
                        let msg = format!(
                            "'{}' object does not support the context manager protocol",
                            self.type_name(&mgr)
                        );
                        return Err(self.type_error(&msg));
                    }
                };
                push!(self, r);
            }
            Op::WithExceptStart => {
                let f = top!(self);
                let n = f.stack.len();
                let exc = f.stack[n - 1].clone();
                let exit = f.stack[n - 2].clone();
                let typ = Value::Class(self.type_of(&exc));
                let tb = self.traceback_of(&exc);
                let r = self.call(&exit, vec![typ, exc, tb])?;
                push!(self, r);
            }
            Op::BeforeAsyncWith => {
                let mgr = pop!(self);
                let (Some(exit), Some(enter)) = (
                    self.lookup_special(&mgr, "__aexit__"),
                    self.lookup_special(&mgr, "__aenter__"),
                ) else {
                    let missed = match self.lookup_special(&mgr, "__aenter__") {
                        Some(_) => " (missed __aexit__ method)",
                        None => "",
                    };
                    let msg = format!(
                        "'{}' object does not support the asynchronous context manager protocol{missed}",
                        self.type_name(&mgr)
                    );
                    return Err(self.type_error(&msg));
                };
                let bound_exit = self.bind(exit, &mgr);
                push!(self, bound_exit);
                let r = self.call(&enter, vec![mgr])?;
                push!(self, r);
            }
            Op::GetAIter => {
                let v = pop!(self);
                let Some(f) = self.lookup_special(&v, "__aiter__") else {
                    let msg = format!(
                        "'async for' requires an object with __aiter__ method, got {}",
                        self.type_name(&v)
                    );
                    return Err(self.type_error(&msg));
                };
                let it = self.call(&f, vec![v])?;
                push!(self, it);
            }
            Op::GetANext => {
                let f = top!(self);
                let it = f.stack[f.stack.len() - 1].clone();
                let Some(m) = self.lookup_special(&it, "__anext__") else {
                    let msg = format!(
                        "'async for' requires an iterator with __anext__ method, got {}",
                        self.type_name(&it)
                    );
                    return Err(self.type_error(&msg));
                };
                let aw = self.call(&m, vec![it])?;
                push!(self, aw);
            }
            Op::EndAsyncFor => {
                let exc = pop!(self);
                if self.is_instance_of(&exc, &self.exc.stop_async_iteration.clone()) {
                    let f = top!(self);
                    f.pop_handled();
                    f.stack.pop();
                } else {
                    self.reraising = true;
                    return Err(exc);
                }
            }
            Op::AsyncGenWrap => {
                let v = pop!(self);
                push!(self, Value::native(crate::resume::Wrapped(v)));
            }
            Op::LoadAssertionError => {
                push!(self, Value::Class(self.exc.assertion_error.clone()));
            }
            Op::ImportName(i) => {
                let f = top!(self);
                let (name, g) = (f.code.names[i as usize].clone(), f.globals.clone());
                let m = self.import_in(&name, &g)?;
                push!(self, m);
            }
            Op::ImportFrom(i) => {
                let name = top!(self).code.names[i as usize].clone();
                let f = top!(self);
                let m = f.stack[f.stack.len() - 1].clone();
                let v = self.import_from(&m, &name)?;
                push!(self, v);
            }
            Op::ImportStar => {
                let m = pop!(self);
                let g = top!(self).globals.clone();
                self.import_star(&m, &g)?;
            }
            Op::PrintExpr => {
                let v = pop!(self);
                if !v.is_none() {
                    let s = self.repr(&v)?;
                    self.write_out(&s)?;
                    self.write_out("\n")?;
                    self.builtins.globals.borrow_mut().insert(Rc::from("_"), v);
                }
            }
        }
        Ok(())
    }

    // ---- names -----------------------------------------------------------

    fn load_global(&mut self, name: &Rc<str>) -> PyResult<Value> {
        let f = top!(self);
        let found = f.globals.globals.borrow().get(name).cloned();
        match found {
            Some(v) => Ok(v),
            None => self.load_builtin(name),
        }
    }

    fn load_builtin(&mut self, name: &Rc<str>) -> PyResult<Value> {
        let found = self.builtins.globals.borrow().get(name).cloned();
        match found {
            Some(v) => Ok(v),
            None => Err(self.name_error(name)),
        }
    }

    pub fn name_error(&self, name: &str) -> Value {
        let msg = format!("name '{name}' is not defined");
        let e = self.new_exc(&self.exc.name_error, &msg);
        if let Value::Instance(i) = &e {
            i.dict
                .borrow_mut()
                .insert(Rc::from("name"), Value::str(name));
        }
        e
    }

    /// The slow path of `BinaryFastConst`/`BinaryFastFast` (operands that
    /// are not both small ints): as the `LoadFast`, `LoadFast`/`LoadConst`
    /// and `Binary` they fuse would do, raising where each would, but the
    /// operands are read in place, never pushed. So a fused triple needs
    /// one stack slot, not two (`stackdepth.rs` counts it so).
    #[cold]
    #[inline(never)]
    fn binary_fused(&mut self, op: BinOp, a: u16, b: Operand) -> PyResult<()> {
        let a = self.fused_local(a)?;
        self.top_frame().ip += 1;
        let b = match b {
            Operand::Local(i) => self.fused_local(i)?,
            Operand::Const(k) => self.top_frame().code.consts[k as usize].clone(),
        };
        self.top_frame().ip += 1;
        let v = self.binary_op(op, &a, &b)?;
        self.top_frame().push(v);
        Ok(())
    }

    fn fused_local(&mut self, i: u16) -> PyResult<Value> {
        let f = self.top_frame();
        let v = f.stack[i as usize].clone();
        if v.is_undef() {
            let name = f.code.varnames[i as usize].clone();
            return Err(self.unbound_local(&name));
        }
        Ok(v)
    }

    fn unbound_local(&self, name: &str) -> Value {
        let msg = format!(
            "cannot access local variable '{name}' where it is not associated with a value"
        );
        self.new_exc(&self.exc.unbound_local_error, &msg)
    }

    fn unbound_deref(&mut self, i: usize) -> Value {
        let f = top!(self);
        let code = f.code.clone();
        let ncell = code.cellvars.len();
        let (name, free) = if i < ncell {
            (code.cellvars[i].clone(), false)
        } else {
            (code.freevars[i - ncell].clone(), true)
        };
        if free {
            let msg = format!(
                "cannot access free variable '{name}' where it is not associated with a value in enclosing scope"
            );
            self.new_exc(&self.exc.name_error, &msg)
        } else {
            self.unbound_local(&name)
        }
    }

    // ---- calls -----------------------------------------------------------

    /// A call made by an instruction: covm frames are pushed, generators
    /// are resumed in place, natives run at once.
    pub(crate) fn call_from_op(
        &mut self,
        callee: Value,
        args: Vec<Value>,
        kwargs: Vec<(Rc<str>, Value)>,
    ) -> PyResult<()> {
        if let Value::Builtin(b) = &callee {
            if b.special != Special::None
                && kwargs.is_empty()
                && self.try_special_call(b.special, &args)?
            {
                return Ok(());
            }
            self.c_depth += 1;
            let r = self.prepare_call(callee, args, kwargs);
            self.c_depth -= 1;
            if let Prepared::Done(v) = r? {
                push!(self, v);
            }
            // Temporaries the call dropped may have been suspended
            // generators whose `finally` must run now.
            return self.run_finalizers();
        }
        match self.prepare_call(callee, args, kwargs)? {
            Prepared::Done(v) => {
                push!(self, v);
                self.run_finalizers()
            }
            Prepared::Frame(f) => {
                self.push_frame(f, ReturnTo::Caller);
                Ok(())
            }
            Prepared::Init(f, inst) => {
                self.push_frame(f, ReturnTo::Init(inst));
                Ok(())
            }
        }
    }

    /// `Call` of a plain covm function with positional arguments: the
    /// arguments move from the caller's stack into a recycled frame's
    /// locals. Returns false when the callee needs the general path.
    /// (Inlined into the loop's two call sites: the hottest path of calls.)
    #[inline(always)]
    fn fast_call(&mut self, n: usize) -> PyResult<bool> {
        let depth = self.frames.len() + self.c_depth;
        let f = top!(self);
        let callee_at = f.stack.len() - n - 1;
        let Value::Function(func) = &f.stack[callee_at] else {
            return Ok(false);
        };
        // SAFETY: the callee stays in its stack slot (keeping the function
        // alive) until the end, where it is popped.
        let func: &Function = unsafe { &*Rc::as_ptr(func) };
        if !Self::fits_fast_call(func, n) {
            return Ok(false);
        }
        if depth >= self.recursion_limit {
            return Err(self.new_exc(
                &self.exc.recursion_error.clone(),
                "maximum recursion depth exceeded",
            ));
        }
        // SAFETY: the n arguments above the callee are moved into the
        // frame; the caller's stack is cut below them at once.
        let args = unsafe { f.stack.as_ptr().add(callee_at + 1) };
        let frame = unsafe { self.frame_from_args(func, args, n) };
        let f = top!(self);
        // The callee itself goes too: the frame holds what it needs of it.
        // SAFETY: the slot at callee_at holds the function (checked above).
        let callee: Rc<Function> = unsafe {
            f.stack.set_len(callee_at);
            match f.stack.as_ptr().add(callee_at).read() {
                Value::Function(rc) => rc,
                _ => unreachable!("checked above"),
            }
        };
        if func.code.fast_gen_call {
            if func.code.flags & crate::code::FLAG_COROUTINE != 0 && self.awaited_at_once() {
                self.enter_awaited(func, frame);
            } else {
                let g = self.new_generator(func, frame);
                top!(self).push(g);
            }
        } else {
            self.push_frame(frame, ReturnTo::Caller);
        }
        drop(callee);
        Ok(true)
    }

    /// `Call` of a class whose instances are plain (`Vm::plain_init`) with
    /// `n` positional arguments `__init__` takes: the new instance takes
    /// the class's stack slot and `__init__`'s frame takes it and the
    /// arguments straight from the stack, as `fast_call` does; its return
    /// pushes the instance (`ReturnTo::Init`). False when the general path
    /// must run (it also raises whatever errors the call has).
    #[inline(never)]
    fn fast_instantiate(&mut self, n: usize) -> PyResult<bool> {
        let depth = self.frames.len() + self.c_depth;
        let f = top!(self);
        let callee_at = f.stack.len() - n - 1;
        let Value::Class(cls) = &f.stack[callee_at] else {
            return Ok(false);
        };
        let cls = cls.clone();
        let init = self.plain_init(&cls);
        // SAFETY: the class's dict holds the function (`Class::plain_init`)
        // and nothing below changes a class.
        let Some(init) = (unsafe { init.as_ref() }) else {
            return Ok(false);
        };
        if !Self::fits_fast_call(init, n + 1) || depth >= self.recursion_limit {
            return Ok(false);
        }
        let inst = Rc::new(Instance {
            class: cls,
            dict: RefCell::new(Default::default()),
            traceback: Default::default(),
            gc_mark: Default::default(),
        });
        let inst_value = Value::tracked(Value::Instance(inst.clone()));
        let f = top!(self);
        let callee = std::mem::replace(&mut f.stack[callee_at], inst_value);
        // SAFETY: fits_fast_call(init, n + 1); the instance and the n
        // arguments move into the frame and the caller's stack is cut
        // below them at once.
        let frame = unsafe {
            let args = f.stack.as_ptr().add(callee_at);
            let frame = self.frame_from_args(init, args, n + 1);
            top!(self).stack.set_len(callee_at);
            frame
        };
        self.push_frame(frame, ReturnTo::Init(inst));
        drop(callee);
        Ok(true)
    }

    /// Whether the top frame's next instructions await the value its call
    /// just made (`GetAwaitable; LoadConst None; YieldFrom`, what `await
    /// f(...)` compiles to), so a coroutine it made could be entered at once
    /// (`enter_awaited`). Not while tracing or listing generators, which
    /// name every coroutine object from its creation.
    #[inline(never)]
    fn awaited_at_once(&mut self) -> bool {
        if self.tracing || self.live_generators {
            return false;
        }
        let f = top!(self);
        let code = &*f.code;
        matches!(
            code.ops.get(f.ip..f.ip + 3),
            Some([Op::GetAwaitable, Op::LoadConst(k), Op::YieldFrom])
                if matches!(code.consts.get(*k as usize), Some(Value::None))
        )
    }

    /// `await f(...)` of a coroutine function: runs `frame` at once, as
    /// `YieldFrom` would run the new coroutine, without making the object
    /// (`ReturnTo::Await`). The caller moves onto its `YieldFrom` with an
    /// `Undef` in the object's slot.
    #[inline(never)]
    fn enter_awaited(&mut self, func: &Function, frame: FrameBox) {
        let f = top!(self);
        f.push_undef();
        f.ip += 2;
        let names = Generator::names_for(&func.code, &func.name.borrow(), &func.qualname.borrow());
        self.push_frame(frame, ReturnTo::Await(names));
    }

    /// Whether `func` can take `n` positional arguments on the fast path
    /// (`frame_from_args`).
    #[inline]
    pub(crate) fn fits_fast_call(func: &Function, n: usize) -> bool {
        let code = &func.code;
        let argcount = code.argcount as usize;
        (code.fast_call || code.fast_gen_call)
            && n <= argcount
            && n + func.defaults.len() >= argcount
    }

    /// A (recycled) frame running `func` with the `n` values at `args` as
    /// its first positional arguments, defaults filling the rest.
    ///
    /// # Safety
    /// `fits_fast_call(func, n)`; `args` points to `n` values that are
    /// moved (not copied): the caller must forget them.
    #[inline(always)]
    pub(crate) unsafe fn frame_from_args(
        &mut self,
        func: &Function,
        args: *const Value,
        n: usize,
    ) -> FrameBox {
        let code = &func.code;
        let argcount = code.argcount as usize;
        let mut frame = match self.frame_pool.pop() {
            Some(fr) => fr,
            None => Frame::empty(code, &func.globals),
        };
        // The pooled frame is empty (`recycle_frame`); point it at the callee.
        if !Rc::ptr_eq(&frame.code, code) {
            frame.code = code.clone();
        }
        if !Rc::ptr_eq(&frame.globals, &func.globals) {
            frame.globals = func.globals.clone();
        }
        frame.ip = 0;
        let nlocals = code.varnames.len();
        // The stack is empty here: make room for what the code needs (a
        // recycled frame may have more).
        frame.ensure_capacity(nlocals + code.stacksize as usize);
        // SAFETY: the callee's stack is empty with room for its locals;
        // the caller gives up the n arguments.
        unsafe {
            let dst = frame.stack.as_mut_ptr();
            move_values(args, dst, n);
            for i in n..nlocals {
                dst.add(i).write(Value::Undef);
            }
            frame.stack.set_len(nlocals);
        }
        if n < argcount {
            let first_default = argcount - func.defaults.len();
            for i in n..argcount {
                frame.stack[i] = func.defaults[i - first_default].clone();
            }
        }
        // Most functions have no cells: skip the vector's growth checks.
        if !code.cellvars.is_empty() || !func.closure.is_empty() {
            frame.add_cells(code.cellvars.len(), &func.closure);
        }
        frame
    }

    /// `next(g)`, `g.__next__()`, `g.send(v)` and `g.throw(exc)` on a
    /// generator or coroutine, called by `Call` (`first` = the callee's
    /// slot) or `CallMethod` (`first` = the method's slot, then the
    /// receiver): the generator resumes straight from the stack slots,
    /// with no argument vector. Returns false when the call is not one of
    /// these.
    #[inline]
    fn gen_special_call(&mut self, first: usize) -> PyResult<bool> {
        let f = top!(self);
        let len = f.stack.len();
        let Value::Builtin(b) = &f.stack[first] else {
            return Ok(false);
        };
        let special = b.special;
        if special == Special::None || b.receiver.is_some() {
            return Ok(false);
        }
        // The arguments as the native would see them: skip an empty
        // receiver slot of `CallMethod`.
        let mut at = first + 1;
        if at < len && f.stack[at].is_undef() {
            at += 1;
        }
        let Some(Value::Generator(g)) = f.stack.get(at) else {
            return Ok(false);
        };
        let ok = match (special, len - at) {
            (Special::Next, 1) => g.kind == GenKind::Generator,
            (Special::GenNext, 1) | (Special::GenSend, 2) => true,
            _ => false,
        };
        if !ok {
            if special == Special::GenThrow && len - at == 2 {
                return self.gen_throw_call(first, at);
            }
            if special == Special::GenClose && len - at == 1 {
                return self.gen_close_call(first, at);
            }
            return Ok(false);
        }
        // SAFETY: slots first..len are initialised: the builtin, maybe an
        // empty (Undef) receiver slot, the generator, maybe the sent
        // value. Each is read out once and the length cut below them.
        let (g, sent, callee) = unsafe {
            let base = f.stack.as_mut_ptr();
            let sent = if len - at == 2 {
                Value::read_words(base.add(at + 1))
            } else {
                Value::None
            };
            let Value::Generator(g) = Value::read_words(base.add(at)) else {
                unreachable!("checked above")
            };
            let callee = Value::read_words(base.add(first));
            f.stack.set_len(first);
            (g, sent, callee)
        };
        drop(callee);
        if sent.is_none() && g.state.get() == GenState::Suspended && !self.tracing {
            self.resume_suspended(g, crate::frame::Resume::Call)?;
        } else {
            self.resume_frame(&g, sent, crate::frame::Resume::Call)?;
        }
        Ok(true)
    }

    /// `gen_special_call` for `g.throw(exc)`: slot `at` holds the
    /// generator, `at + 1` the exception (the top of the stack), `first`
    /// the callee. Kept out of line so `next`/`send` stay lean.
    #[inline(never)]
    fn gen_throw_call(&mut self, first: usize, at: usize) -> PyResult<bool> {
        let f = top!(self);
        let (Some(exc), Some(Value::Generator(g))) = (f.stack.pop(), f.stack.get(at).cloned())
        else {
            unreachable!("checked by gen_special_call")
        };
        f.stack.truncate(first);
        let exc = self.throw_args(std::slice::from_ref(&exc))?;
        self.throw_in_loop(&g, exc, crate::frame::Resume::Call)?;
        Ok(true)
    }

    /// `gen_special_call` for `g.close()` (slot `at` holds the generator,
    /// the top of the stack): a generator suspended inside `try`/`with`
    /// gets its GeneratorExit in this loop (`Resume::Close`), without a
    /// nested one. The other cases (not started, finished, delegating,
    /// nothing to run, tracing) take the general `gen_close`.
    #[inline(never)]
    fn gen_close_call(&mut self, first: usize, at: usize) -> PyResult<bool> {
        let f = top!(self);
        let Some(Value::Generator(g)) = f.stack.get(at) else {
            unreachable!("checked by gen_special_call")
        };
        let runs_handlers = g.state.get() == GenState::Suspended
            && !self.tracing
            && g.peek_frame(|fr| {
                fr.is_some_and(|fr| fr.in_try_or_handler() && fr.yield_from_target().is_none())
            });
        if !runs_handlers {
            return Ok(false);
        }
        let g = g.clone();
        f.stack.truncate(first);
        let exit = self.new_exc(&self.exc.generator_exit.clone(), "");
        self.throw_in_loop(&g, exit, crate::frame::Resume::Close)?;
        Ok(true)
    }

    /// `ReturnValue` from a frame whose caller takes the result: the frame
    /// goes back to the pool (the loop pushes the result on the caller's
    /// stack). Its `ret` is `Caller` or `Await(None)`, which own nothing.
    #[inline]
    fn return_to_caller(&mut self) {
        let Some(Activation { frame, ret }) = self.frames.pop() else {
            unreachable!("return with no frame")
        };
        debug_assert!(matches!(ret, ReturnTo::Caller | ReturnTo::Await(None)));
        std::mem::forget(ret);
        self.recycle_frame(frame);
    }

    /// A frame for `code`, recycled when one is available.
    pub(crate) fn alloc_frame(
        &mut self,
        code: &Rc<crate::code::Code>,
        globals: &Rc<Module>,
    ) -> FrameBox {
        match self.frame_pool.pop() {
            Some(mut fr) => {
                fr.reset(code, globals);
                fr
            }
            None => Frame::new(code.clone(), globals.clone()),
        }
    }

    /// `CallMethod` on a plain built-in method with more values than the
    /// dispatch loop's `call_native!` takes: the receiver (unless its slot
    /// is empty) and the arguments go into a reused buffer instead of a
    /// fresh Vec. Returns false when the callee needs the general path.
    #[inline(never)]
    fn native_method_call(&mut self, n: usize) -> PyResult<bool> {
        let f = top!(self);
        let at = f.stack.len() - n;
        let func = match &f.stack[at - 2] {
            Value::Builtin(b) if b.special == Special::None && b.receiver.is_none() => b.func,
            _ => return Ok(false),
        };
        let from = if f.stack[at - 1].is_undef() {
            at
        } else {
            at - 1
        };
        let mut args = std::mem::take(&mut self.arg_buf);
        let f = top!(self);
        let count = f.stack.len() - from;
        args.reserve(count);
        // SAFETY: the top `count` values move into the buffer's spare
        // capacity; the stack's length is cut below them (and below the
        // method, dropped by the pop) before anything can observe it.
        unsafe {
            std::ptr::copy_nonoverlapping(f.stack.as_ptr().add(from), args.as_mut_ptr(), count);
            args.set_len(count);
            f.stack.set_len(at - 1);
        }
        let method = f.stack.pop();
        self.c_depth += 1;
        let r = func(self, &args, &[]);
        self.c_depth -= 1;
        drop(method);
        args.clear();
        // A nested call may have left its own buffer; either will do.
        self.arg_buf = args;
        push!(self, r?);
        self.run_finalizers()?;
        Ok(true)
    }

    /// Keeps a finished frame for the next call.
    pub(crate) fn recycle_frame(&mut self, mut frame: FrameBox) {
        if frame.is_embedded() {
            self.recycle_embedded(frame);
            return;
        }
        if self.frame_pool.len() < 64 {
            frame.clear();
            self.frame_pool.push(frame);
        }
    }

    /// A generator's frame stays in its block (dropping the box empties
    /// it there), but its rare part, which a pooled frame lent it when the
    /// generator was made (`Frame::move_into`), goes back to the pool, so
    /// that generators that handle exceptions allocate none.
    #[inline(never)]
    fn recycle_embedded(&mut self, mut frame: FrameBox) {
        if let Some(pooled) = self.frame_pool.last_mut() {
            frame.give_rare(pooled);
        }
    }

    fn op_make_function(&mut self, flags: u32) -> PyResult<()> {
        let code = match pop!(self) {
            Value::Code(c) => c,
            _ => return Err(self.type_error("MakeFunction expects a code object")),
        };
        let closure = if flags & 8 != 0 {
            match pop!(self) {
                Value::Tuple(t) => t
                    .iter()
                    .filter_map(|c| match c {
                        Value::Cell(c) => Some(c.clone()),
                        _ => None,
                    })
                    .collect(),
                _ => Vec::new(),
            }
        } else {
            Vec::new()
        };
        let kwdefaults = if flags & 2 != 0 {
            match pop!(self) {
                Value::Dict(d) => d
                    .borrow()
                    .items()
                    .into_iter()
                    .map(|(k, v)| (Rc::from(k.as_str().unwrap_or("")), v))
                    .collect(),
                _ => Vec::new(),
            }
        } else {
            Vec::new()
        };
        let defaults = if flags & 1 != 0 {
            match pop!(self) {
                Value::Tuple(t) => t.to_vec(),
                _ => Vec::new(),
            }
        } else {
            Vec::new()
        };
        let globals = top!(self).globals.clone();
        let f = Function {
            name: RefCell::new(code.name.clone()),
            qualname: RefCell::new(code.qualname.clone()),
            code,
            globals,
            defaults,
            kwdefaults,
            closure,
            dict: RefCell::new(Namespace::default()),
        };
        if let Some(d) = &f.code.doc {
            f.dict
                .borrow_mut()
                .insert(Rc::from("__doc__"), Value::str(&**d));
        }
        push!(self, Value::tracked(Value::Function(Rc::new(f))));
        Ok(())
    }

    fn op_build_class(&mut self, nbases: usize) -> PyResult<()> {
        let meta = if nbases & crate::mro::META_FLAG as usize != 0 {
            Some(pop!(self))
        } else {
            None
        };
        let nbases = nbases & !(crate::mro::META_FLAG as usize);
        let f = top!(self);
        let at = f.stack.len() - nbases;
        let mut bases: Vec<Value> = f.stack.drain(at..).collect();
        if let Some(m) = meta {
            crate::mro::apply_metaclass(self, &mut bases, m)?;
        }
        let name = pop!(self);
        let body = pop!(self);
        let name: Rc<str> = Rc::from(name.as_str().unwrap_or("?"));
        let (all_bases, value_type) = crate::mro::check_bases(self, &bases)?;
        let base = all_bases.first().cloned();
        let Value::Function(func) = body else {
            return Err(self.type_error("class body is not a function"));
        };
        let mut frame = Frame::new(func.code.clone(), func.globals.clone());
        frame.cells_mut().extend(func.closure.iter().cloned());
        let ns = Rc::new(RefCell::new(Namespace::default()));
        ns.borrow_mut().insert(
            Rc::from("__module__"),
            func.globals
                .globals
                .borrow()
                .get("__name__")
                .cloned()
                .unwrap_or(Value::None),
        );
        if let Some(t) = value_type {
            ns.borrow_mut()
                .insert(Rc::from("_member_type_"), Value::Class(t));
        }
        if all_bases.len() > 1 {
            // Bases after the first travel in the namespace, under a key
            // no program can write; `finish_class` takes them out.
            let t = all_bases.into_iter().map(Value::Class).collect();
            ns.borrow_mut()
                .insert(Rc::from(crate::mro::BASES_KEY), Value::tuple(t));
        }
        frame.set_namespace(ns);
        if self.depth() >= self.recursion_limit {
            return Err(self.new_exc(
                &self.exc.recursion_error.clone(),
                "maximum recursion depth exceeded",
            ));
        }
        let body = Box::new(crate::frame::ClassBody { name, base });
        self.push_frame(frame, ReturnTo::ClassBody(body));
        Ok(())
    }

    /// `ReturnValue`: pops the frame and delivers `v` as its `ret` says.
    fn op_return(&mut self, v: Value, base: usize) -> PyResult<Option<Exit>> {
        let Some(Activation { mut frame, ret }) = self.frames.pop() else {
            unreachable!("return with no frame")
        };
        match ret {
            ReturnTo::Caller => {
                self.recycle_frame(frame);
                push!(self, v);
            }
            ReturnTo::Native => {
                drop(frame);
                return Ok(Some(Exit::Return(v)));
            }
            ReturnTo::Init(inst) => {
                drop(frame);
                self.check_init_result(&v)?;
                let inst = Value::Instance(inst);
                if self.frames.len() <= base {
                    return Ok(Some(Exit::Return(inst)));
                }
                push!(self, inst);
            }
            ReturnTo::ClassBody(body) => {
                let cls = self.finish_class(&mut frame, body.name, body.base)?;
                drop(frame);
                push!(self, cls);
            }
            ReturnTo::Await(_) => {
                self.recycle_frame(frame);
                if crate::generator::finalizers_pending() {
                    self.run_finalizers()?;
                }
                return self.generator_returned(v, Resume::YieldFrom);
            }
            ReturnTo::Generator(g, resume) => {
                g.state.set(GenState::Closed);
                self.recycle_frame(frame);
                if resume.is_call() {
                    self.c_depth -= 1;
                }
                if self.tracing {
                    let (label, shown) = (Vm::gen_label(&g), self.trace_repr(&v));
                    self.trace(Kind::Return, label, shown, None, String::new());
                }
                // The frame's locals are gone: their finalisers run now, as
                // CPython's do when the frame is released.
                if crate::generator::finalizers_pending() {
                    self.run_finalizers()?;
                }
                return self.generator_returned(v, resume);
            }
        }
        self.run_finalizers()?;
        Ok(None)
    }

    fn finish_class(
        &mut self,
        frame: &mut Frame,
        name: Rc<str>,
        base: Option<Rc<Class>>,
    ) -> PyResult<Value> {
        let mut ns = match frame.take_namespace() {
            Some(ns) => std::mem::take(&mut *ns.borrow_mut()),
            None => Namespace::default(),
        };
        let bases = match ns.shift_remove(crate::mro::BASES_KEY) {
            Some(Value::Tuple(t)) => t
                .iter()
                .filter_map(|b| match b {
                    Value::Class(c) => Some(c.clone()),
                    _ => None,
                })
                .collect(),
            _ => base.into_iter().collect(),
        };
        // Defining __eq__ without __hash__ makes instances unhashable.
        if ns.contains_key("__eq__") && !ns.contains_key("__hash__") {
            ns.insert(Rc::from("__hash__"), Value::None);
        }
        let cls = self.build_class(&name, bases, ns)?;
        // Methods using super() see the class through the __class__ cell.
        if let Some(i) = frame
            .code
            .cellvars
            .iter()
            .position(|n| n.as_ref() == "__class__")
        {
            *frame.cells()[i].borrow_mut() = Value::Class(cls.clone());
        }
        self.class_created(&cls)?;
        Ok(Value::Class(cls))
    }

    // ---- exceptions ------------------------------------------------------

    fn op_raise(&mut self, n: u32) -> Value {
        match n {
            0 => match self.current_handled() {
                Some(e) => {
                    self.reraising = true;
                    e
                }
                None => self.new_exc(
                    &self.exc.runtime_error.clone(),
                    "No active exception to reraise",
                ),
            },
            1 => {
                let e = pop!(self);
                self.make_exception(e).unwrap_or_else(|e| e)
            }
            _ => {
                let cause = pop!(self);
                let e = pop!(self);
                let exc = match self.make_exception(e) {
                    Ok(e) => e,
                    Err(e) => return e,
                };
                let cause = match cause {
                    Value::None => Value::None,
                    c => match self.make_exception(c) {
                        Ok(c) => c,
                        Err(_) => {
                            return self
                                .type_error("exception causes must derive from BaseException");
                        }
                    },
                };
                if let Value::Instance(i) = &exc {
                    let mut d = i.dict.borrow_mut();
                    d.insert(Rc::from("__cause__"), cause);
                    d.insert(Rc::from("__suppress_context__"), Value::Bool(true));
                }
                exc
            }
        }
    }

    /// The exception being handled, innermost first, across frames.
    pub fn current_handled(&self) -> Option<Value> {
        self.frames
            .iter()
            .rev()
            .find_map(|f| f.last_handled().cloned())
    }

    /// Sets `__context__` of a newly raised exception to the one being
    /// handled, as CPython does.
    fn set_context(&mut self, exc: &Value) {
        let Some(ctx) = self.current_handled() else {
            return;
        };
        if ctx.is(exc) {
            return;
        }
        // Avoid a cycle: cut the chain where it reaches exc.
        let mut cur = ctx.clone();
        for _ in 0..100 {
            let next = match &cur {
                Value::Instance(i) => i.dict.borrow().get("__context__").cloned(),
                _ => None,
            };
            match next {
                Some(n) if n.is(exc) => {
                    if let Value::Instance(i) = &cur {
                        i.dict
                            .borrow_mut()
                            .insert(Rc::from("__context__"), Value::None);
                    }
                    break;
                }
                Some(n) if !n.is_none() => cur = n,
                _ => break,
            }
        }
        if let Value::Instance(i) = exc {
            i.dict.borrow_mut().insert(Rc::from("__context__"), ctx);
        }
    }

    /// Finds a handler for `exc`, popping frames that have none. Returns
    /// `Ok(None)` when a handler was found (dispatch continues there),
    /// `Ok(Some(exit))` never for now, `Err(exc)` when the exception leaves
    /// the frame at `base`.
    fn unwind(&mut self, mut exc: Value, base: usize, mut add_tb: bool) -> PyResult<Option<Exit>> {
        loop {
            let native = match &top!(self).ret {
                ReturnTo::Generator(g, Resume::Native) if add_tb => Some(g.clone()),
                _ => None,
            };
            let native = native.map(|g| crate::resumer::native_resumer(self, &g));
            let f = top!(self);
            if add_tb && let Value::Instance(i) = &exc {
                let resumed_by = match &f.ret {
                    ReturnTo::Generator(_, how) => Some(match how {
                        Resume::Call => ResumedBy::Text("next()/send()/throw()".into()),
                        Resume::ForIter(_) => ResumedBy::Text("a for loop".into()),
                        Resume::YieldFrom => ResumedBy::Text("yield from/await".into()),
                        Resume::Native => native.unwrap_or(ResumedBy::Text("a built-in".into())),
                        Resume::Close => ResumedBy::Text("close()".into()),
                    }),
                    ReturnTo::Await(_) => Some(ResumedBy::Text("yield from/await".into())),
                    _ => None,
                };
                i.push_traceback(TbEntry {
                    code: f.code.clone(),
                    ip: f.ip.saturating_sub(1),
                    resumed_by,
                });
            }
            add_tb = true;
            // The raising instruction is the one before `ip`. The handlers
            // running inside the `try` that catches (all of them when none
            // does) end first.
            let caught =
                f.ip.checked_sub(1)
                    .and_then(|at| f.code.handler_at(at))
                    .copied();
            f.end_handlers_from(caught.map_or(0, |h| h.depth));
            if let Some(h) = caught {
                f.stack.truncate(h.level as usize);
                f.push_handled(h.depth, exc.clone());
                f.push(exc);
                f.ip = h.target as usize;
                return Ok(None);
            }
            let Some(Activation { frame, ret }) = self.frames.pop() else {
                return Err(exc);
            };
            let at_base = self.frames.len() < base + 1;
            // A frame left by an exception is recycled as a returning one
            // is: its values go as its drop would drop them, and the next
            // call (or generator) reuses its allocations.
            match ret {
                ReturnTo::Native => {
                    self.recycle_frame(frame);
                    return Err(exc);
                }
                ReturnTo::Generator(g, resume) => {
                    g.state.set(GenState::Closed);
                    self.recycle_frame(frame);
                    if resume.is_call() {
                        self.c_depth -= 1;
                    }
                    if self.tracing {
                        let (label, shown) = (Vm::gen_label(&g), self.trace_repr(&exc));
                        self.trace(Kind::Raise, label, shown, None, String::new());
                    }
                    exc = self.pep479(exc, g.kind);
                    if resume == Resume::Native {
                        return Err(exc);
                    }
                    // `close()` is answered by the GeneratorExit it threw
                    // (or a StopIteration) coming back out: it returns None.
                    if resume == Resume::Close && self.closes_quietly(&exc) {
                        drop(exc);
                        top!(self).push(Value::None);
                        drop(g);
                        self.run_finalizers()?;
                        return Ok(None);
                    }
                }
                ReturnTo::Await(_) => {
                    self.recycle_frame(frame);
                    exc = self.pep479(exc, GenKind::Coroutine);
                }
                _ => self.recycle_frame(frame),
            }
            if at_base || self.frames.is_empty() {
                return Err(exc);
            }
        }
    }

    /// Whether an exception leaving a generator ends its `close()` call
    /// quietly.
    fn closes_quietly(&self, exc: &Value) -> bool {
        self.is_instance_of(exc, &self.exc.generator_exit.clone())
            || self.is_instance_of(exc, &self.exc.stop_iteration.clone())
    }

    fn pep479(&self, exc: Value, kind: GenKind) -> Value {
        let is_stop = |c: &Rc<Class>| self.is_subclass(&self.type_of(&exc), c);
        let msg = match kind {
            GenKind::Generator if is_stop(&self.exc.stop_iteration) => {
                "generator raised StopIteration"
            }
            GenKind::Coroutine if is_stop(&self.exc.stop_iteration) => {
                "coroutine raised StopIteration"
            }
            GenKind::AsyncGenerator if is_stop(&self.exc.stop_iteration) => {
                "async generator raised StopIteration"
            }
            GenKind::AsyncGenerator if is_stop(&self.exc.stop_async_iteration) => {
                "async generator raised StopAsyncIteration"
            }
            _ => return exc,
        };
        let new = self.new_exc(&self.exc.runtime_error, msg);
        if let Value::Instance(i) = &new {
            let mut d = i.dict.borrow_mut();
            d.insert(Rc::from("__cause__"), exc.clone());
            d.insert(Rc::from("__context__"), exc);
            d.insert(Rc::from("__suppress_context__"), Value::Bool(true));
        }
        new
    }

    // ---- iteration ---------------------------------------------------------

    fn op_for_iter(&mut self, target: u32) -> PyResult<()> {
        let f = top!(self);
        let it = f.stack[f.stack.len() - 1].clone();
        match &it {
            Value::Iterator(state) => {
                let fast = {
                    let mut st = state.borrow_mut();
                    match &mut *st {
                        IterState::Range { next, stop, step } => {
                            if (*step > 0 && *next < *stop) || (*step < 0 && *next > *stop) {
                                let v = *next;
                                *next += *step;
                                Some(Some(Value::Int(v)))
                            } else {
                                Some(None)
                            }
                        }
                        IterState::Seq { seq, index } => {
                            let item = match seq {
                                Value::List(l) => l.borrow().get(*index).cloned(),
                                Value::Tuple(t) => t.get(*index).cloned(),
                                _ => return self.for_iter_slow(&it, target),
                            };
                            if item.is_some() {
                                *index += 1;
                            } else {
                                *st = IterState::Exhausted;
                            }
                            Some(item)
                        }
                        _ => None,
                    }
                };
                match fast {
                    Some(Some(v)) => push!(self, v),
                    Some(None) => {
                        let f = top!(self);
                        f.stack.pop();
                        f.ip = target as usize;
                    }
                    None => return self.for_iter_slow(&it, target),
                }
                Ok(())
            }
            Value::Generator(g) => {
                let g = g.clone();
                self.resume_frame(&g, Value::None, Resume::ForIter(target))
                    .map(|_| ())
            }
            _ => self.for_iter_slow(&it, target),
        }
    }

    fn for_iter_slow(&mut self, it: &Value, target: u32) -> PyResult<()> {
        match self.next(it)? {
            Some(v) => push!(self, v),
            None => {
                let f = top!(self);
                f.stack.pop();
                f.ip = target as usize;
            }
        }
        Ok(())
    }

    fn op_unpack(&mut self, seq: Value, n: usize) -> PyResult<()> {
        let items = match &seq {
            Value::Tuple(t) => t.to_vec(),
            Value::List(l) => l.borrow().clone(),
            _ => self.collect_for_unpack(&seq, n)?,
        };
        if items.len() != n {
            let msg = if items.len() > n {
                format!("too many values to unpack (expected {n})")
            } else {
                format!(
                    "not enough values to unpack (expected {n}, got {})",
                    items.len()
                )
            };
            return Err(self.new_exc(&self.exc.value_error.clone(), &msg));
        }
        let f = top!(self);
        f.extend(items.into_iter().rev());
        Ok(())
    }

    /// As CPython's `unpack_iterable`: a TypeError from `iter()` of an
    /// object with neither `__iter__` nor `__getitem__` is reworded; any
    /// other error (one `__iter__` raised) passes through.
    fn unpack_iter_error(&mut self, seq: &Value, e: Value) -> Value {
        let iterable = matches!(seq, Value::Instance(_))
            && (self.lookup_special(seq, "__iter__").is_some()
                || self.lookup_special(seq, "__getitem__").is_some());
        if iterable || !self.is_instance_of(&e, &self.exc.type_error.clone()) {
            return e;
        }
        let msg = format!("cannot unpack non-iterable {} object", self.type_name(seq));
        self.type_error(&msg)
    }

    /// Collects at most n + 1 items, so unpacking an infinite generator
    /// into too few names still fails cleanly.
    fn collect_for_unpack(&mut self, seq: &Value, n: usize) -> PyResult<Vec<Value>> {
        let it = match self.get_iter(seq) {
            Ok(it) => it,
            Err(e) => return Err(self.unpack_iter_error(seq, e)),
        };
        let mut out = Vec::new();
        while let Some(v) = self.next(&it)? {
            out.push(v);
            if out.len() > n {
                break;
            }
        }
        Ok(out)
    }

    fn op_unpack_ex(&mut self, seq: Value, before: usize, after: usize) -> PyResult<()> {
        let items = match self.collect(&seq) {
            Ok(v) => v,
            Err(e) => return Err(self.unpack_iter_error(&seq, e)),
        };
        if items.len() < before + after {
            let msg = format!(
                "not enough values to unpack (expected at least {}, got {})",
                before + after,
                items.len()
            );
            return Err(self.new_exc(&self.exc.value_error.clone(), &msg));
        }
        let mid_end = items.len() - after;
        let mut out: Vec<Value> = Vec::with_capacity(before + after + 1);
        out.extend(items[..before].iter().cloned());
        out.push(Value::list(items[before..mid_end].to_vec()));
        out.extend(items[mid_end..].iter().cloned());
        let f = top!(self);
        f.extend(out.into_iter().rev());
        Ok(())
    }

    /// `f()` as CPython names a callable in argument errors:
    /// `__main__.g()`.
    pub fn func_desc(&self, f: &Value) -> String {
        match f {
            Value::Function(func) => {
                let module = func
                    .globals
                    .globals
                    .borrow()
                    .get("__name__")
                    .and_then(|v| v.as_str().map(String::from))
                    .unwrap_or_default();
                format!("{}.{}()", module, func.qualname.borrow())
            }
            Value::Builtin(b) => format!("{}()", b.name),
            Value::BoundMethod(m) => self.func_desc(&m.func),
            Value::Class(c) => format!("{}()", c.name),
            other => format!("{} object", self.type_name(other)),
        }
    }

    fn op_dict_update(&mut self, target: &Value, src: &Value, func: Option<Value>) -> PyResult<()> {
        let merge = func.is_some();
        let Value::Dict(t) = target else {
            return Ok(());
        };
        let items: Vec<(Value, Value)> = match src {
            Value::Dict(d) => d.borrow().items(),
            other => {
                let keys_m = self.lookup_special(other, "keys");
                let Some(keys_m) = keys_m else {
                    let msg = if let Some(f) = &func {
                        format!(
                            "{} argument after ** must be a mapping, not {}",
                            self.func_desc(f),
                            self.type_name(other)
                        )
                    } else {
                        format!("'{}' object is not a mapping", self.type_name(other))
                    };
                    return Err(self.type_error(&msg));
                };
                let keys = self.call(&keys_m, vec![other.clone()])?;
                let keys = self.collect(&keys)?;
                let mut out = Vec::new();
                for k in keys {
                    let v = self.getitem(other, &k)?;
                    out.push((k, v));
                }
                out
            }
        };
        for (k, v) in items {
            if merge && crate::dict::contains(self, t, &k)? {
                let desc = func.as_ref().map(|f| self.func_desc(f)).unwrap_or_default();
                let msg = format!(
                    "{desc} got multiple values for keyword argument '{}'",
                    self.to_str(&k)?
                );
                return Err(self.type_error(&msg));
            }
            crate::dict::set(self, t, k, v)?;
        }
        Ok(())
    }

    fn op_format_value(&mut self, v: Value, conv: u32, spec: Option<Value>) -> PyResult<Value> {
        let v = match conv {
            1 => Value::str(self.to_str(&v)?),
            2 => Value::str(self.repr(&v)?),
            3 => Value::str(crate::strformat::ascii_escape(&self.repr(&v)?)),
            _ => v,
        };
        let spec_s = match &spec {
            Some(Value::Str(s)) => s.as_str().to_string(),
            _ => String::new(),
        };
        if spec_s.is_empty()
            && let Value::Str(_) = v
        {
            return Ok(v);
        }
        Ok(Value::str(self.format(&v, &spec_s)?))
    }

    /// `==` as a value, for `Compare` fast paths.
    pub(crate) fn compare_op(&mut self, op: CmpOp, a: &Value, b: &Value) -> PyResult<Value> {
        match (op, a, b) {
            (CmpOp::Lt, Value::Int(x), Value::Int(y)) => Ok(Value::Bool(x < y)),
            (CmpOp::LtE, Value::Int(x), Value::Int(y)) => Ok(Value::Bool(x <= y)),
            (CmpOp::Gt, Value::Int(x), Value::Int(y)) => Ok(Value::Bool(x > y)),
            (CmpOp::GtE, Value::Int(x), Value::Int(y)) => Ok(Value::Bool(x >= y)),
            (CmpOp::Eq, Value::Int(x), Value::Int(y)) => Ok(Value::Bool(x == y)),
            (CmpOp::NotEq, Value::Int(x), Value::Int(y)) => Ok(Value::Bool(x != y)),
            (CmpOp::Is, _, _) => Ok(Value::Bool(a.is(b))),
            (CmpOp::IsNot, _, _) => Ok(Value::Bool(!a.is(b))),
            (CmpOp::In, _, _) => Ok(Value::Bool(self.contains(b, a)?)),
            (CmpOp::NotIn, _, _) => Ok(Value::Bool(!self.contains(b, a)?)),
            _ => self.rich_compare(a, b, op),
        }
    }
}

/// `a op b` for two small ints when the result fits; `None` sends the
/// instruction down the general path.
#[inline(always)]
fn int_binop(op: covm_parser::ast::BinOp, a: i64, b: i64) -> Option<i64> {
    use covm_parser::ast::BinOp;
    Some(match op {
        BinOp::Add => a.checked_add(b)?,
        BinOp::Sub => a.checked_sub(b)?,
        BinOp::Mult => a.checked_mul(b)?,
        BinOp::BitAnd => a & b,
        BinOp::BitOr => a | b,
        BinOp::BitXor => a ^ b,
        BinOp::FloorDiv if b > 0 => a.div_euclid(b),
        BinOp::Mod if b > 0 => a.rem_euclid(b),
        _ => return None,
    })
}

/// `a cmp b` for two small ints; `None` for `is`, `in` and friends.
#[inline(always)]
fn int_compare(cmp: CmpOp, a: i64, b: i64) -> Option<bool> {
    Some(match cmp {
        CmpOp::Lt => a < b,
        CmpOp::LtE => a <= b,
        CmpOp::Gt => a > b,
        CmpOp::GtE => a >= b,
        CmpOp::Eq => a == b,
        CmpOp::NotEq => a != b,
        _ => return None,
    })
}
