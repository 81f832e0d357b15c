//! Heap frames. A call from covm code to covm code pushes a `FrameBox`
//! onto the VM's frame stack (as an `Activation`, with where it returns
//! to) and the same dispatch loop carries on; a suspended generator keeps
//! its `FrameBox` and resuming it moves the box back onto the stack.
//! Nothing is copied.
//!
//! A `FrameBox` is one allocation: the `Frame` header, then its value
//! slots (the fast locals, then the value stack), sized by the compiler's
//! `stacksize`:
//!
//! ```text
//!   FrameBox ──► ┌──────────────────────────────┐
//!                │ code, ip, globals, rare      │ Frame (header)
//!                │ stack: Slots { len, cap }    │ its last field
//!                ├──────────────────────────────┤
//!                │ local 0 … local n-1          │ cap values
//!                │ stack 0 … (up to len)        │
//!                │ spare, up to cap             │
//!                └──────────────────────────────┘
//! ```
//!
//! so a frame is one block, not a frame and a vector. A generator's frame
//! is embedded in the generator's own block (`gen_rc.rs`): its `FrameBox`
//! points there, and dropping it empties the frame rather than freeing it
//! (`FrameBox::is_embedded`).
//! Where a frame returns to is not in the block: it matters only while the
//! frame is on the frame stack (or lent to a chain), so it lives there, in
//! the `Activation`, and a suspended generator does not carry it.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use crate::code::Code;
use crate::value::{GenRc, Generator, Module, Namespace, Value};

/// How a generator frame was resumed: where its next yielded value, return
/// value or exception goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resume {
    /// `next()`/`send()`/`throw()` from covm code: a yield pushes the value
    /// on the resumer's stack, a return raises StopIteration there.
    Call,
    /// A `for` loop: a return jumps the resumer to this target.
    ForIter(u32),
    /// `yield from`/`await`: a yield passes straight out of the delegating
    /// generator, a return becomes the `yield from` result.
    YieldFrom,
    /// Resumed from Rust (a native like `list(gen)`): the nested dispatch
    /// loop returns on yield or return.
    Native,
    /// `g.close()` from covm code, GeneratorExit thrown in: a return or a
    /// GeneratorExit (or StopIteration) leaving the frame pushes None on
    /// the resumer's stack, a yield raises RuntimeError there.
    Close,
}

impl Resume {
    /// Resumed by a call from covm code (`next()`, `send()`, `throw()`,
    /// `close()`), which counts one level of recursion while the
    /// generator runs, as the C call does in CPython.
    #[inline]
    pub fn is_call(self) -> bool {
        matches!(self, Resume::Call | Resume::Close)
    }
}

/// What happens when a frame returns.
pub enum ReturnTo {
    /// Push the result on the caller's stack.
    Caller,
    /// An `__init__` call: the result must be None; push the instance.
    /// An `Rc`, not a `Value`: one word, so that `ReturnTo` fits in two
    /// (the `Generator` variant's `Resume` tag holds the discriminant).
    Init(Rc<crate::value::Instance>),
    /// A class body: build the class from the namespace. Boxed: class
    /// bodies are rare, and inline the name and base made every frame's
    /// header a word larger.
    ClassBody(Box<ClassBody>),
    /// A running generator; its frame goes back to it on yield.
    Generator(GenRc, Resume),
    /// A coroutine called by `await f(...)` and entered at once, without
    /// its coroutine object: the caller sits on its `YieldFrom` with an
    /// `Undef` where the object would be. A return delivers the value as
    /// `Generator(_, Resume::YieldFrom)` would; the object is made only if
    /// the coroutine suspends (`Vm::yield_value`), with these names when
    /// they differ from the code's (see `Generator::names`).
    Await(Option<Box<(Rc<str>, Rc<str>)>>),
    /// Return to the Rust code that started this frame.
    Native,
}

/// A chain's root gives its lent frames back: each goes back into its
/// generator, which then holds it as any suspended generator does.
pub(crate) fn give_back_chain(chain: &mut Vec<Activation>) {
    for Activation { frame, ret } in chain.drain(..) {
        let ReturnTo::Generator(g, _) = ret else {
            unreachable!("a chained frame that is not a generator's")
        };
        crate::tracking::track_suspended(&g);
        g.put_frame(frame);
    }
}

thread_local! {
    /// Frames of generators dropped while suspended inside `try`/`with`,
    /// waiting for their `finally` blocks (`Vm::run_finalizers`).
    #[allow(clippy::vec_box)]
    pub(crate) static PENDING: Rc<RefCell<Vec<FrameBox>>> = Rc::new(RefCell::new(Vec::new()));
    pub(crate) static HAS_PENDING: Cell<bool> = const { Cell::new(false) };
}

/// True when a dropped generator's frame waits for its `finally` blocks:
/// the dispatch loop checks this after dropping a heap value.
#[inline(always)]
pub fn finalizers_pending() -> bool {
    HAS_PENDING.with(|h| h.get())
}

/// Makes the dispatch loop call `run_finalizers` soon (`drop_reports`).
pub(crate) fn request_finalizers() {
    HAS_PENDING.with(|h| h.set(true));
}

pub fn finalizer_queue() -> Rc<RefCell<Vec<FrameBox>>> {
    PENDING.with(|p| p.clone())
}

/// The class a class-body frame builds when it returns.
pub struct ClassBody {
    pub name: Rc<str>,
    pub base: Option<Rc<crate::value::Class>>,
}

/// `repr(C)` with `stack` last: the slots' values start right after the
/// header (see `Slots`).
#[repr(C)]
pub struct Frame {
    pub code: Rc<Code>,
    /// Index of the next instruction.
    pub ip: usize,
    pub globals: Rc<Module>,
    /// What most frames never have (cells, a class namespace, handled
    /// exceptions), out of line so that a frame, and so a suspended
    /// generator, stays small. Kept (emptied) when the frame is recycled.
    rare: Option<Box<FrameRare>>,
    /// The fast locals (`code.varnames`) in the first slots, then the
    /// value stack, stored after the header in the same allocation.
    pub stack: Slots,
}

/// The rarely used parts of a `Frame`.
#[derive(Default)]
struct FrameRare {
    /// Cell variables, then free variables.
    cells: Vec<Rc<RefCell<Value>>>,
    /// The class-body namespace (module frames use `globals`).
    namespace: Option<Rc<RefCell<Namespace>>>,
    /// The running `except`/`finally` handlers, innermost last: the block
    /// depth of the `try` each belongs to (see `Code::handlers`) and the
    /// exception it handles. An exception caught by a `try` at depth d
    /// ends the handlers at depth d and deeper. Travels with a suspended
    /// generator.
    handled: Vec<(u32, Value)>,
    /// The suspended frames of the `yield from`/`await` chain below this
    /// one, outermost first, when this is the chain's root: lent to it by
    /// their generators (see `FrameSlot`), so that resuming the
    /// root puts the whole chain back on the frame stack at once. Empty
    /// while the frame runs.
    chain: Vec<Activation>,
}

impl FrameRare {
    /// Empties it for another frame, keeping its vectors' room. Most
    /// frames have no cells, handled exceptions, namespace or chain: each
    /// is tested before running its drop glue.
    #[inline]
    fn empty(&mut self) {
        if !self.cells.is_empty() {
            self.cells.clear();
        }
        if !self.handled.is_empty() {
            self.handled.clear();
        }
        if self.namespace.is_some() {
            self.namespace = None;
        }
        if !self.chain.is_empty() {
            give_back_chain(&mut self.chain);
        }
    }
}

impl Drop for FrameRare {
    fn drop(&mut self) {
        // A root dropped without going through `Generator::take_frame`
        // still gives its chain back: a lent frame belongs to its
        // generator.
        if !self.chain.is_empty() {
            give_back_chain(&mut self.chain);
        }
    }
}

impl Frame {
    /// A frame for `code` with its locals unbound (and its cells made).
    #[allow(clippy::new_ret_no_self)]
    pub fn new(code: Rc<Code>, globals: Rc<Module>) -> FrameBox {
        let cap = code.varnames.len() + code.stacksize as usize;
        let mut frame = FrameBox::alloc(code, globals, cap);
        frame.fill_locals();
        let ncells = frame.code.cellvars.len();
        if ncells > 0 {
            frame.add_cells(ncells, &[]);
        }
        frame
    }

    /// A frame for `code` with room for its locals and stack but nothing
    /// in them yet (no locals, no cells), as `recycle_frame` leaves one:
    /// the fast call path fills it.
    pub fn empty(code: &Rc<Code>, globals: &Rc<Module>) -> FrameBox {
        let cap = code.varnames.len() + code.stacksize as usize;
        FrameBox::alloc(code.clone(), globals.clone(), cap)
    }

    /// Unbinds all the locals of an empty frame with room for them.
    fn fill_locals(&mut self) {
        let nlocals = self.code.varnames.len();
        debug_assert!(self.stack.is_empty() && nlocals <= self.stack.capacity());
        // SAFETY: the slots below nlocals are spare capacity; each is
        // written once before the length covers it.
        unsafe {
            let p = self.stack.as_mut_ptr();
            for i in 0..nlocals {
                p.add(i).write(Value::Undef);
            }
            self.stack.set_len(nlocals);
        }
    }

    /// Empties a finished frame so it can be recycled: no values, no
    /// cells, no blocks.
    pub fn clear(&mut self) {
        // Most slots hold immediates: drop only the heap values, inline.
        let n = self.stack.len();
        // SAFETY: the length is cut first, then each of the n initialised
        // slots is dropped at most once.
        unsafe {
            self.stack.set_len(0);
            let p = self.stack.as_mut_ptr();
            for i in 0..n {
                if (*p.add(i)).is_heap() {
                    p.add(i).read().heap_drop();
                }
            }
        }
        if let Some(r) = &mut self.rare {
            r.empty();
        }
    }

    /// Gives this frame's rare part, emptied, to `other` if it has none.
    pub(crate) fn give_rare(&mut self, other: &mut Frame) {
        if other.rare.is_none()
            && let Some(mut r) = self.rare.take()
        {
            r.empty();
            other.rare = Some(r);
        }
    }

    fn rare_mut(&mut self) -> &mut FrameRare {
        self.rare.get_or_insert_with(Default::default)
    }

    /// The chain lent to this root frame (empty unless it is a suspended
    /// root of a `yield from` chain).
    #[inline]
    pub fn chain(&self) -> &[Activation] {
        self.rare.as_ref().map_or(&[], |r| &r.chain)
    }

    /// Whether closing this suspended (or unstarted) frame would run a
    /// handler: it stopped inside a `try`/`with` body or in a running
    /// `except`/`finally`. The instruction before `ip` is the `yield` it
    /// stopped at; a frame at 0 has not started.
    pub fn in_try_or_handler(&self) -> bool {
        !self.handled().is_empty() || (self.ip > 0 && self.code.handler_at(self.ip - 1).is_some())
    }

    /// Whether this is the root of a suspended chain (see `chain`).
    #[inline]
    pub fn has_chain(&self) -> bool {
        self.rare.as_ref().is_some_and(|r| !r.chain.is_empty())
    }

    /// The chain, if this frame has room for one (see `chain`).
    #[inline]
    pub fn chain_mut(&mut self) -> Option<&mut Vec<Activation>> {
        self.rare.as_mut().map(|r| &mut r.chain)
    }

    /// The chain, making room for it.
    pub fn chain_room(&mut self) -> &mut Vec<Activation> {
        &mut self.rare_mut().chain
    }

    /// Cell variables, then free variables.
    #[inline]
    pub fn cells(&self) -> &[Rc<RefCell<Value>>] {
        self.rare.as_ref().map_or(&[], |r| &r.cells)
    }

    pub fn cells_mut(&mut self) -> &mut Vec<Rc<RefCell<Value>>> {
        &mut self.rare_mut().cells
    }

    /// Appends `ncellvars` fresh (unbound) cell variables, then the
    /// function's `closure` cells as free variables.
    pub fn add_cells(&mut self, ncellvars: usize, closure: &[Rc<RefCell<Value>>]) {
        let cells = self.cells_mut();
        cells.extend((0..ncellvars).map(|_| Rc::new(RefCell::new(Value::Undef))));
        cells.extend(closure.iter().cloned());
    }

    /// The class-body namespace (module frames use `globals`).
    #[inline]
    pub fn namespace(&self) -> Option<&Rc<RefCell<Namespace>>> {
        self.rare.as_ref().and_then(|r| r.namespace.as_ref())
    }

    pub fn set_namespace(&mut self, ns: Rc<RefCell<Namespace>>) {
        self.rare_mut().namespace = Some(ns);
    }

    pub fn take_namespace(&mut self) -> Option<Rc<RefCell<Namespace>>> {
        self.rare.as_mut().and_then(|r| r.namespace.take())
    }

    /// The running handlers (block depth, exception handled), innermost
    /// last.
    #[inline]
    pub fn handled(&self) -> &[(u32, Value)] {
        self.rare.as_ref().map_or(&[], |r| &r.handled)
    }

    /// The exception the innermost running handler handles.
    #[inline]
    pub fn last_handled(&self) -> Option<&Value> {
        self.handled().last().map(|(_, e)| e)
    }

    /// A handler of the `try` at block depth `depth` starts running on
    /// `exc`.
    pub fn push_handled(&mut self, depth: u32, exc: Value) {
        self.rare_mut().handled.push((depth, exc));
    }

    /// The innermost running handler ends; its exception is returned.
    #[inline]
    pub fn pop_handled(&mut self) -> Option<Value> {
        self.rare
            .as_mut()
            .and_then(|r| r.handled.pop())
            .map(|(_, e)| e)
    }

    /// An exception is caught by a `try` at block depth `depth` (or by
    /// none, depth 0): the handlers running inside that `try` end.
    pub fn end_handlers_from(&mut self, depth: u32) {
        if let Some(r) = &mut self.rare {
            while r.handled.last().is_some_and(|&(d, _)| d >= depth) {
                r.handled.pop();
            }
        }
    }

    /// The fast locals, in `code.varnames` order.
    pub fn locals(&self) -> &[Value] {
        let n = self.code.varnames.len().min(self.stack.len());
        &self.stack[..n]
    }

    /// The line being executed, for tracebacks and `:gens`.
    pub fn current_line(&self) -> usize {
        let ip = self.ip.saturating_sub(1);
        self.code.line_of(self.code.span_at(ip).start)
    }

    /// The delegate of a generator suspended in `yield from`/`await`.
    pub fn yield_from_target(&self) -> Option<&Value> {
        match self.code.ops.get(self.ip) {
            Some(crate::opcode::Op::YieldFrom) => self.stack.last(),
            _ => None,
        }
    }
}

/// The value slots of a frame: `len` initialised values with room for
/// `cap`, stored right after the `Frame` header in its `FrameBox`.
///
/// Invariant: a `Slots` only exists as the last field of a `Frame` inside
/// a `FrameBox` allocated with room for `cap` values after the header.
/// Nothing else can make a `Frame` (its fields are not all public), and a
/// frame is never moved out of its box (no `mem::swap` of two frames: the
/// values would stay behind).
pub struct Slots {
    len: u32,
    cap: u32,
}

// The values start exactly at the end of the header.
const _: () = {
    assert!(
        std::mem::offset_of!(Frame, stack) + std::mem::size_of::<Slots>()
            == std::mem::size_of::<Frame>()
    );
    assert!(std::mem::align_of::<Value>() <= std::mem::align_of::<Frame>());
    assert!(std::mem::size_of::<Frame>().is_multiple_of(std::mem::align_of::<Value>()));
};

impl Slots {
    #[inline(always)]
    pub fn len(&self) -> usize {
        self.len as usize
    }

    #[inline(always)]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    #[inline(always)]
    pub fn capacity(&self) -> usize {
        self.cap as usize
    }

    /// The first slot: the locals, then the stack, then spare room.
    #[inline(always)]
    pub fn as_ptr(&self) -> *const Value {
        // SAFETY: by the type's invariant the values follow `self`.
        unsafe { (self as *const Slots).add(1) as *const Value }
    }

    #[inline(always)]
    pub fn as_mut_ptr(&mut self) -> *mut Value {
        // SAFETY: as for `as_ptr`.
        unsafe { (self as *mut Slots).add(1) as *mut Value }
    }

    /// # Safety
    /// `n <= capacity()`, the first `n` slots are initialised, and values
    /// cut off are forgotten or moved out by the caller.
    #[inline(always)]
    pub unsafe fn set_len(&mut self, n: usize) {
        debug_assert!(n <= self.capacity());
        self.len = n as u32;
    }

    /// Pushes `v` when there is room; the `FrameBox` grows when there is
    /// not (`FrameBox::push`).
    #[inline(always)]
    fn push_within(&mut self, v: Value) {
        debug_assert!(self.len < self.cap);
        // SAFETY: len < cap: a spare slot.
        unsafe {
            self.as_mut_ptr().add(self.len()).write(v);
        }
        self.len += 1;
    }

    #[inline]
    pub fn pop(&mut self) -> Option<Value> {
        if self.len == 0 {
            return None;
        }
        self.len -= 1;
        // SAFETY: the slot was initialised and the length no longer covers it.
        Some(unsafe { self.as_mut_ptr().add(self.len()).read() })
    }

    /// Drops the values from slot `n` on.
    pub fn truncate(&mut self, n: usize) {
        let len = self.len();
        if n >= len {
            return;
        }
        // SAFETY: slots n..len are initialised; the length is cut first so
        // a panicking drop cannot see them twice.
        unsafe {
            self.len = n as u32;
            let tail = std::ptr::slice_from_raw_parts_mut(self.as_mut_ptr().add(n), len - n);
            std::ptr::drop_in_place(tail);
        }
    }

    pub fn clear(&mut self) {
        self.truncate(0);
    }

    /// Moves the values from slot `from` on out, in order, as `Vec::drain`.
    pub fn drain(&mut self, from: std::ops::RangeFrom<usize>) -> Drain<'_> {
        let len = self.len();
        let start = from.start.min(len);
        // SAFETY: the length no longer covers start..len, which the
        // iterator reads out (and drops the rest of when dropped).
        unsafe {
            self.len = start as u32;
            Drain {
                next: self.as_mut_ptr().add(start),
                end: self.as_mut_ptr().add(len),
                _slots: std::marker::PhantomData,
            }
        }
    }
}

impl std::ops::Deref for Slots {
    type Target = [Value];
    #[inline(always)]
    fn deref(&self) -> &[Value] {
        // SAFETY: the first len slots are initialised.
        unsafe { std::slice::from_raw_parts(self.as_ptr(), self.len()) }
    }
}

impl std::ops::DerefMut for Slots {
    #[inline(always)]
    fn deref_mut(&mut self) -> &mut [Value] {
        // SAFETY: as for `deref`.
        unsafe { std::slice::from_raw_parts_mut(self.as_mut_ptr(), self.len()) }
    }
}

impl Drop for Slots {
    fn drop(&mut self) {
        self.clear();
    }
}

/// `Slots::drain`'s iterator.
pub struct Drain<'a> {
    next: *mut Value,
    end: *mut Value,
    _slots: std::marker::PhantomData<&'a mut Slots>,
}

impl Iterator for Drain<'_> {
    type Item = Value;
    #[inline]
    fn next(&mut self) -> Option<Value> {
        if self.next == self.end {
            return None;
        }
        // SAFETY: next < end: an initialised slot no one else reads.
        unsafe {
            let v = self.next.read();
            self.next = self.next.add(1);
            Some(v)
        }
    }

    #[inline]
    fn size_hint(&self) -> (usize, Option<usize>) {
        // SAFETY: both point into the same slots, next <= end.
        let n = unsafe { self.end.offset_from(self.next) } as usize;
        (n, Some(n))
    }
}

impl ExactSizeIterator for Drain<'_> {}

impl Drop for Drain<'_> {
    fn drop(&mut self) {
        // SAFETY: the values not taken are still owned here.
        unsafe {
            let n = self.end.offset_from(self.next) as usize;
            std::ptr::drop_in_place(std::ptr::slice_from_raw_parts_mut(self.next, n));
        }
    }
}

/// Where a generator's frame is, in one word: the frame it owns, nothing
/// (it runs, or it is done), or, while its frame is lent to the root of a
/// `yield from` chain (`Frame::chain`), that root generator. Frames and
/// generators are aligned, so the low bit tells a root (set) from a frame.
pub struct FrameSlot(std::cell::Cell<usize>);

const LENT: usize = 1;

impl FrameSlot {
    pub fn new(frame: Option<FrameBox>) -> FrameSlot {
        FrameSlot(std::cell::Cell::new(frame.map_or(0, FrameBox::into_raw)))
    }

    /// Moves the owned frame out; `None` when there is none or it is lent
    /// (which the slot keeps saying).
    ///
    /// An embedded frame out of its slot counts as a reference to its
    /// generator's block (see `FrameBox::is_embedded`), so that it never
    /// outlives the block, whatever order things are dropped in.
    #[inline]
    pub fn take(&self) -> Option<FrameBox> {
        let w = self.0.get();
        if w == 0 || w & LENT != 0 {
            return None;
        }
        self.0.set(0);
        // SAFETY: an even non-zero word is a frame this slot owns; an
        // embedded one's block is alive (the slot is in it).
        unsafe {
            let f = FrameBox::from_raw(w);
            if f.is_embedded() {
                crate::gen_rc::retain_block(f.0.as_ptr());
            }
            Some(f)
        }
    }

    /// Gives the slot a frame: it had none, or had lent it.
    #[inline]
    pub fn put(&self, frame: FrameBox) {
        debug_assert!(
            self.0.get() == 0 || self.0.get() & LENT != 0,
            "a generator with two frames"
        );
        if frame.is_embedded() {
            // SAFETY: the caller holds the generator, so this is not the
            // block's last reference.
            unsafe { crate::gen_rc::unretain_block(frame.0.as_ptr()) };
        }
        self.0.set(FrameBox::into_raw(frame));
    }

    /// Gives an empty slot the frame just embedded in its block, which
    /// never counted as a reference.
    pub(crate) fn put_owned(&self, frame: FrameBox) {
        debug_assert!(self.0.get() == 0);
        self.0.set(FrameBox::into_raw(frame));
    }

    /// The frame (the slot has none now) is lent to `root`'s chain.
    #[inline]
    pub fn lend(&self, root: *const Generator) {
        debug_assert!(self.0.get() == 0);
        self.0.set(root as usize | LENT);
    }

    /// The root the frame is lent to, if it is.
    #[inline]
    pub fn lent_to(&self) -> Option<*const Generator> {
        let w = self.0.get();
        (w & LENT != 0).then_some((w & !LENT) as *const Generator)
    }

    /// The lent frame runs again on the frame stack: the slot is empty.
    #[inline]
    pub fn unlend(&self) {
        debug_assert!(self.0.get() & LENT != 0);
        self.0.set(0);
    }
}

impl Drop for FrameSlot {
    fn drop(&mut self) {
        let w = self.0.get();
        if w == 0 || w & LENT != 0 {
            return;
        }
        // SAFETY: a frame this slot owns. The block it may be embedded in
        // is being freed: its contents go, not the count or the memory.
        unsafe {
            let mut f = FrameBox::from_raw(w);
            if f.is_embedded() {
                f.empty();
                std::mem::forget(f);
            } else {
                drop(f);
            }
        }
    }
}

/// An owned frame: one allocation holding the `Frame` header and its
/// value slots (see the module's picture).
pub struct FrameBox(std::ptr::NonNull<Frame>);

impl FrameBox {
    fn into_raw(self) -> usize {
        let p = self.0.as_ptr() as usize;
        std::mem::forget(self);
        p
    }

    /// SAFETY: `w` came from `into_raw` and is used once.
    unsafe fn from_raw(w: usize) -> FrameBox {
        // SAFETY: non-null, as it came from a frame.
        FrameBox(unsafe { std::ptr::NonNull::new_unchecked(w as *mut Frame) })
    }

    /// A frame of its own is 16-aligned, an embedded one is not (see
    /// `gen_rc::FRAME_AT`).
    fn layout(cap: usize) -> std::alloc::Layout {
        let size = std::mem::size_of::<Value>()
            .checked_mul(cap)
            .and_then(|n| n.checked_add(std::mem::size_of::<Frame>()));
        match size.map(|n| std::alloc::Layout::from_size_align(n, crate::gen_rc::BLOCK_ALIGN)) {
            Some(Ok(l)) => l,
            _ => std::alloc::handle_alloc_error(std::alloc::Layout::new::<Frame>()),
        }
    }

    /// Memory for a frame of its own with room for `cap` values, its
    /// header not written yet.
    fn alloc_uninit(cap: u32) -> std::ptr::NonNull<Frame> {
        let layout = Self::layout(cap as usize);
        // SAFETY: the layout is never zero-sized (it holds the header).
        let p = unsafe { std::alloc::alloc(layout) } as *mut Frame;
        match std::ptr::NonNull::new(p) {
            Some(p) => p,
            None => std::alloc::handle_alloc_error(layout),
        }
    }

    /// A frame for `code` with room for `cap` values and none in them.
    pub(crate) fn alloc(code: Rc<Code>, globals: Rc<Module>, cap: usize) -> FrameBox {
        let cap = u32::try_from(cap).unwrap_or(u32::MAX);
        let p = Self::alloc_uninit(cap);
        // SAFETY: fresh memory for a header and `cap` values.
        unsafe { Self::write_empty(p.as_ptr(), code, globals, cap) };
        FrameBox(p)
    }

    /// Whether this is a generator's embedded frame (`gen_rc.rs`), which
    /// is never freed or recycled on its own: dropping the box empties it
    /// and lets go of the block.
    #[inline(always)]
    pub fn is_embedded(&self) -> bool {
        self.0.as_ptr() as usize % crate::gen_rc::BLOCK_ALIGN == 8
    }

    /// Drops the values and the rare part (the header keeps its code and
    /// globals): what an embedded frame is left as.
    fn empty(&mut self) {
        self.stack.clear();
        self.ip = 0;
        drop(self.rare.take());
    }

    /// Writes at `dst` a header for a frame of `cap` slots (a generator's
    /// embedded frame, or one moving out of it), taking over this frame's
    /// state and values (this one is left empty).
    ///
    /// # Safety
    /// `dst` is a frame's place with room for `cap` slots, and `cap` at
    /// least this frame's length.
    pub(crate) unsafe fn move_into(&mut self, dst: *mut Frame, cap: u32) {
        let len = self.stack.len;
        debug_assert!(len <= cap);
        // SAFETY: the caller's contract; the values are moved bitwise
        // and cut off here, so each keeps one owner.
        unsafe {
            dst.write(Frame {
                code: self.code.clone(),
                ip: self.ip,
                globals: self.globals.clone(),
                rare: self.rare.take(),
                stack: Slots { len: 0, cap },
            });
            std::ptr::copy_nonoverlapping(
                self.stack.as_ptr(),
                (*dst).stack.as_mut_ptr(),
                len as usize,
            );
            self.stack.len = 0;
            (*dst).stack.len = len;
        }
    }

    /// Writes at `dst` an empty header naming `code` and `globals`, with
    /// room for `cap` slots.
    ///
    /// # Safety
    /// `dst` is a frame's place with room for `cap` slots.
    pub(crate) unsafe fn write_empty(
        dst: *mut Frame,
        code: Rc<Code>,
        globals: Rc<Module>,
        cap: u32,
    ) {
        // SAFETY: the caller's contract.
        unsafe {
            dst.write(Frame {
                code,
                ip: 0,
                globals,
                rare: None,
                stack: Slots { len: 0, cap },
            })
        };
    }

    /// The slot's box for a generator's embedded frame, owned by its slot.
    ///
    /// # Safety
    /// `p` is a valid embedded frame, owned by no other box.
    pub(crate) unsafe fn embedded(p: *mut Frame) -> FrameBox {
        // SAFETY: non-null, as it is in a block.
        FrameBox(unsafe { std::ptr::NonNull::new_unchecked(p) })
    }

    /// This frame in a block of its own with room for `cap` values: an
    /// embedded frame moves out (its header stays, empty); any other is
    /// returned as it is.
    pub(crate) fn detach(mut self, cap: usize) -> FrameBox {
        if !self.is_embedded() {
            return self;
        }
        let cap = u32::try_from(cap.max(self.stack.len())).unwrap_or(u32::MAX);
        let p = Self::alloc_uninit(cap);
        // SAFETY: fresh memory for a header and `cap` >= len values.
        unsafe { self.move_into(p.as_ptr(), cap) };
        FrameBox(p)
    }

    /// A suspended frame that will run after its generator is gone (its
    /// `finally`, run by `run_finalizers` or an event loop): out of the
    /// generator's block, if embedded in it.
    pub(crate) fn outliving(self) -> FrameBox {
        let need = self.code.varnames.len() + self.code.stacksize as usize;
        self.detach(need)
    }

    /// Makes room for at least `n` values (a recycled frame meeting a
    /// bigger function, a stack deeper than its code said).
    #[inline]
    pub fn ensure_capacity(&mut self, n: usize) {
        if n > self.stack.capacity() {
            self.grow(n);
        }
    }

    #[cold]
    #[inline(never)]
    fn grow(&mut self, n: usize) {
        if self.is_embedded() {
            // A block cannot grow: the frame moves out of it.
            // SAFETY: the box is read out and its place written again
            // before anything can see it (`detach` does not unwind: an
            // allocation failure aborts).
            unsafe {
                let moved = std::ptr::read(self);
                std::ptr::write(self, moved.detach(n));
            }
            return;
        }
        let old = Self::layout(self.stack.capacity());
        let cap = u32::try_from(n).unwrap_or(u32::MAX);
        let new = Self::layout(cap as usize);
        // SAFETY: the block was allocated with `old`; the header and the
        // values move bitwise with it (nothing points into a frame).
        let p = unsafe { std::alloc::realloc(self.0.as_ptr() as *mut u8, old, new.size()) };
        let Some(p) = std::ptr::NonNull::new(p as *mut Frame) else {
            std::alloc::handle_alloc_error(new)
        };
        self.0 = p;
        self.stack.cap = cap;
    }

    /// Resumption with None sent in: pushes it, except where the next
    /// instruction would drop it at once (`yield` as a statement), which
    /// is skipped instead, saving a push and a dispatch per resumption.
    /// True when the frame is parked on `YieldFrom` (it then passes the
    /// None on down, `Vm::descend_delegation`).
    #[inline(always)]
    pub fn resume_with_none(&mut self) -> bool {
        let next = self.code.ops.get(self.ip).copied();
        match next {
            Some(crate::opcode::Op::PopTop) => {
                self.ip += 1;
                false
            }
            next => {
                self.push(Value::None);
                matches!(next, Some(crate::opcode::Op::YieldFrom))
            }
        }
    }

    /// Pushes on the value stack, growing the frame if it is full.
    #[inline]
    pub fn push(&mut self, v: Value) {
        if self.stack.len == self.stack.cap {
            self.grow(self.stack.capacity() + 8);
        }
        self.stack.push_within(v);
    }

    /// Pushes `Value::Undef`, built after the room check so that it is
    /// written straight into its slot as one word. (`push(Value::Undef)`
    /// builds it in a stack temporary for the grow path's sake, one word
    /// written and two read back: a store-forwarding stall on every
    /// `await` of a coroutine call.)
    #[inline]
    pub fn push_undef(&mut self) {
        if self.stack.len == self.stack.cap {
            self.grow(self.stack.capacity() + 8);
        }
        self.stack.push_within(Value::Undef);
    }

    pub fn insert(&mut self, at: usize, v: Value) {
        self.ensure_capacity(self.stack.len() + 1);
        let len = self.stack.len();
        assert!(at <= len, "insert past the stack's top");
        // SAFETY: room for one more; the tail moves up one slot.
        unsafe {
            let p = self.stack.as_mut_ptr().add(at);
            std::ptr::copy(p, p.add(1), len - at);
            p.write(v);
            self.stack.set_len(len + 1);
        }
    }

    pub fn extend(&mut self, items: impl IntoIterator<Item = Value>) {
        for v in items {
            self.push(v);
        }
    }

    /// Makes a recycled frame ready to run `code` (keeping its room for
    /// values, which is the point of recycling). The frame is empty, as
    /// `clear` leaves it: no cells, no namespace.
    pub fn reset(&mut self, code: &Rc<Code>, globals: &Rc<Module>) {
        self.stack.clear();
        self.ensure_capacity(code.varnames.len() + code.stacksize as usize);
        if !Rc::ptr_eq(&self.code, code) {
            self.code = code.clone();
        }
        if !Rc::ptr_eq(&self.globals, globals) {
            self.globals = globals.clone();
        }
        self.fill_locals();
        if !code.cellvars.is_empty() {
            self.add_cells(code.cellvars.len(), &[]);
        }
        self.ip = 0;
    }
}

impl std::ops::Deref for FrameBox {
    type Target = Frame;
    #[inline(always)]
    fn deref(&self) -> &Frame {
        // SAFETY: the box owns a live frame.
        unsafe { self.0.as_ref() }
    }
}

impl std::ops::DerefMut for FrameBox {
    #[inline(always)]
    fn deref_mut(&mut self) -> &mut Frame {
        // SAFETY: the box owns a live frame, uniquely.
        unsafe { self.0.as_mut() }
    }
}

/// A frame on the VM's frame stack (or lent to a chain's root, see
/// `Frame::chain`): the frame and where it returns to. It dereferences to
/// the frame's box.
pub struct Activation {
    pub frame: FrameBox,
    pub ret: ReturnTo,
}

impl Activation {
    #[inline(always)]
    pub fn new(frame: FrameBox, ret: ReturnTo) -> Activation {
        Activation { frame, ret }
    }
}

impl std::ops::Deref for Activation {
    type Target = FrameBox;
    #[inline(always)]
    fn deref(&self) -> &FrameBox {
        &self.frame
    }
}

impl std::ops::DerefMut for Activation {
    #[inline(always)]
    fn deref_mut(&mut self) -> &mut FrameBox {
        &mut self.frame
    }
}

impl Drop for FrameBox {
    fn drop(&mut self) {
        if self.is_embedded() {
            self.empty();
            // SAFETY: an embedded frame out of its slot counts as a
            // reference to its block (`FrameSlot::take`).
            unsafe { crate::gen_rc::release_block(self.0.as_ptr()) };
            return;
        }
        let layout = Self::layout(self.stack.capacity());
        // SAFETY: the frame is dropped once (its slots drop their values),
        // then its block is freed with the layout it was allocated with.
        unsafe {
            std::ptr::drop_in_place(self.0.as_ptr());
            std::alloc::dealloc(self.0.as_ptr() as *mut u8, layout);
        }
    }
}

#[cfg(test)]
mod size_tests {
    /// Frames and values are the VM's hottest data: growing them costs
    /// memory per suspended generator and cache misses per instruction.
    /// Shrink these bounds when the layouts shrink; never raise them
    /// without measuring (`bench/run`, the suspended_gens workload).
    #[test]
    fn hot_structures_stay_small() {
        assert!(std::mem::size_of::<crate::value::Value>() <= 16);
        assert!(std::mem::size_of::<super::ReturnTo>() <= 16);
        assert!(std::mem::size_of::<super::Frame>() <= 40);
        assert!(std::mem::size_of::<super::Activation>() <= 24);
        assert!(std::mem::size_of::<crate::value::Generator>() <= 16);
        assert!(std::mem::size_of::<crate::opcode::Op>() <= 8);
        // Four attributes inline (`attrs.rs`), each a name and a value.
        assert!(std::mem::size_of::<crate::value::Instance>() <= 184);
    }
}

#[cfg(test)]
pub(crate) mod frame_box_tests {
    use super::*;
    use crate::compiler::{self, Mode};
    use crate::value::Globals;

    /// A module frame for `src` (also `gen_rc::tests`').
    pub(crate) fn frame(src: &str) -> FrameBox {
        let ast = covm_parser::parse_module(src).expect("parses");
        let code =
            compiler::compile(&ast, Rc::from(src), Rc::from("t.co"), Mode::File).expect("compiles");
        let module = Rc::new(Module {
            name: Rc::from("t"),
            globals: Globals::new(Default::default()),
        });
        Frame::new(code, module)
    }

    fn heap(n: i64) -> (Value, std::rc::Weak<RefCell<crate::value::ListItems>>) {
        let rc = Rc::new(RefCell::new(vec![Value::Int(n)].into()));
        let weak = Rc::downgrade(&rc);
        (Value::List(rc), weak)
    }

    /// Pushing past the reserved room moves the frame to a bigger block
    /// with its values; `insert`, `drain`, `truncate` and dropping the
    /// frame each drop every value exactly once.
    #[test]
    fn slots_grow_move_and_drop_their_values() {
        let mut f = frame("x = 1\n");
        let cap = f.stack.capacity();
        let mut weaks = Vec::new();
        for i in 0..(cap as i64 + 20) {
            let (v, w) = heap(i);
            f.push(v);
            weaks.push(w);
        }
        assert!(f.stack.capacity() >= cap + 20);
        assert_eq!(f.stack.len(), cap + 20);
        let Value::List(first) = &f.stack[0] else {
            panic!("not the pushed list")
        };
        assert!(matches!(first.borrow()[0], Value::Int(0)));
        f.insert(1, Value::Int(-1));
        assert!(matches!(f.stack[1], Value::Int(-1)));
        let Value::List(second) = &f.stack[2] else {
            panic!("insert did not shift the tail")
        };
        assert!(matches!(second.borrow()[0], Value::Int(1)));
        // A drain dropped half-way drops the rest.
        let mut d = f.stack.drain(10..);
        assert!(d.next().is_some());
        drop(d);
        assert_eq!(f.stack.len(), 10);
        assert!(weaks[20].upgrade().is_none());
        f.stack.truncate(5);
        assert!(weaks[5].upgrade().is_none());
        assert!(weaks[3].upgrade().is_some());
        assert!(f.stack.pop().is_some());
        drop(f);
        assert!(weaks.iter().all(|w| w.upgrade().is_none()));
    }

    /// A recycled frame grows to fit a bigger function and keeps its room.
    #[test]
    fn reset_makes_room_for_the_locals() {
        let mut f = frame("x = 1\n");
        let big = frame("def g():\n    a = b = c = d = e = 1\n    return (a, b, c, d, e)\n");
        let Some(Value::Code(g)) = big.code.consts.iter().find(|c| matches!(c, Value::Code(_)))
        else {
            panic!("no function code")
        };
        let g = g.clone();
        f.clear();
        f.reset(&g, &big.globals);
        assert_eq!(f.stack.len(), g.varnames.len());
        assert!(f.stack.capacity() >= g.varnames.len() + g.stacksize as usize);
        assert!(f.stack.iter().all(Value::is_undef));
    }
}
