//! `GenRc`: a generator, coroutine or async generator object and its
//! frame in one allocation, behind one word (`Value::Generator`).
//!
//! ```text
//!   GenRc ──► ┌ strong ┬ Generator ──────────┬ Frame header ──────────┬ slots… ┐
//!             │        │ kind, state, mark,  │ code, ip, globals,     │        │
//!             │        │ frame word          │ rare, len, cap         │        │
//!             └────────┴─────────────────────┴────────────────────────┴────────┘
//! ```
//!
//! The first word is the strong count, as in std's `Rc`, so that
//! `Value::rc_count` treats every heap value alike. The embedded frame is
//! the generator's frame for its whole life: resuming lends it to the
//! frame stack as a `FrameBox` pointing into this block (see
//! `FrameBox::is_embedded`), suspending gives it back. Only a frame that
//! must grow, or one that outlives its generator (a finaliser's), moves
//! out to a block of its own (`FrameBox::detach`); the embedded header is
//! then left empty, still naming the code and globals. So the header is
//! always a valid frame, dropped with the block, and `Generator::code`
//! reads the code from it at any time.
//!
//! There are no weak references, except the collector's registry entry
//! (`GenWeak`, at most one per generator, which `Generator::tracked` says
//! exists): a generator freed while its entry is not among the last few
//! of generation 0 leaves its block allocated, its contents dropped, until
//! the registry drops the entry, as a `Weak` kept an `Rc`'s block.

use std::alloc::Layout;
use std::cell::Cell;
use std::ptr::NonNull;

use crate::frame::Frame;
use crate::value::{Generator, Value};

#[repr(C)]
struct Block {
    strong: Cell<usize>,
    generator: Generator,
    frame: Frame,
}

/// Where the embedded frame starts. A frame of its own is allocated
/// 16-aligned, and a block is too, so an embedded frame is the one whose
/// address is 8 more than a multiple of 16 (`FrameBox::is_embedded`).
pub(crate) const FRAME_AT: usize = std::mem::offset_of!(Block, frame);
const GEN_AT: usize = std::mem::offset_of!(Block, generator);
pub(crate) const BLOCK_ALIGN: usize = 16;
const _: () = {
    assert!(FRAME_AT % BLOCK_ALIGN == 8);
    assert!(std::mem::offset_of!(Block, strong) == 0);
    // The frame's slots start at its header's end, which is the block's.
    assert!(FRAME_AT + std::mem::size_of::<Frame>() == std::mem::size_of::<Block>());
    assert!(std::mem::align_of::<Block>() <= BLOCK_ALIGN);
};

/// A counted pointer to a generator (see the module).
pub struct GenRc(NonNull<Block>);

fn layout(cap: usize) -> Layout {
    let size = std::mem::size_of::<Value>()
        .checked_mul(cap)
        .and_then(|n| n.checked_add(std::mem::size_of::<Block>()));
    match size.map(|n| Layout::from_size_align(n, BLOCK_ALIGN)) {
        Some(Ok(l)) => l,
        _ => std::alloc::handle_alloc_error(Layout::new::<Block>()),
    }
}

/// Freed blocks of small generators kept for the next ones, by slot
/// count, as the VM keeps frames (`Vm::recycle_frame`): most generators
/// are short-lived, and a block bigger than malloc's fast bins costs a
/// slow allocation and free each. Each list is linked through the first
/// word of its blocks, and holds at most `POOL_DEPTH` of them.
const POOLED_CAPS: usize = 16;
const POOL_DEPTH: u32 = 32;

struct Pool([Cell<(*mut Block, u32)>; POOLED_CAPS]);

impl Drop for Pool {
    fn drop(&mut self) {
        for (cap, list) in self.0.iter().enumerate() {
            let (mut b, _) = list.replace((std::ptr::null_mut(), 0));
            while !b.is_null() {
                // SAFETY: a pooled block is allocated, with nothing in it
                // but the link to the next one.
                unsafe {
                    let next = *(b as *mut *mut Block);
                    std::alloc::dealloc(b as *mut u8, layout(cap));
                    b = next;
                }
            }
        }
    }
}

thread_local! {
    static POOL: Pool = const { Pool([const { Cell::new((std::ptr::null_mut(), 0)) }; POOLED_CAPS]) };
}

/// Memory for a block with `cap` slots.
#[inline]
fn alloc_block(cap: u32) -> NonNull<Block> {
    if (cap as usize) < POOLED_CAPS {
        let pooled = POOL.try_with(|p| {
            let list = &p.0[cap as usize];
            let (b, n) = list.get();
            if b.is_null() {
                return None;
            }
            // SAFETY: a pooled block's first word links to the next.
            list.set((unsafe { *(b as *mut *mut Block) }, n - 1));
            NonNull::new(b)
        });
        if let Ok(Some(b)) = pooled {
            return b;
        }
    }
    let l = layout(cap as usize);
    // SAFETY: the layout is never zero-sized (it holds the header).
    let p = unsafe { std::alloc::alloc(l) } as *mut Block;
    match NonNull::new(p) {
        Some(p) => p,
        None => std::alloc::handle_alloc_error(l),
    }
}

/// Frees (or pools) a block whose contents are dropped.
///
/// # Safety
/// `b` was allocated for `cap` slots and nothing refers to it.
#[inline]
unsafe fn free_block(b: NonNull<Block>, cap: usize) {
    if cap < POOLED_CAPS {
        let pooled = POOL.try_with(|p| {
            let list = &p.0[cap];
            let (head, n) = list.get();
            if n >= POOL_DEPTH {
                return false;
            }
            // SAFETY: the block is unused; its first word links it.
            unsafe { *(b.as_ptr() as *mut *mut Block) = head };
            list.set((b.as_ptr(), n + 1));
            true
        });
        if pooled == Ok(true) {
            return;
        }
    }
    // SAFETY: the caller's contract.
    unsafe { std::alloc::dealloc(b.as_ptr() as *mut u8, layout(cap)) };
}

impl GenRc {
    /// A block holding `generator` and room for a frame of `cap` values, whose
    /// header `init` writes (it gets the header's address and `cap`).
    pub(crate) fn new(generator: Generator, cap: u32, init: impl FnOnce(*mut Frame, u32)) -> GenRc {
        let p = alloc_block(cap);
        // SAFETY: fresh memory for a block with `cap` slots; `init` writes
        // the frame header.
        unsafe {
            std::ptr::addr_of_mut!((*p.as_ptr()).strong).write(Cell::new(1));
            std::ptr::addr_of_mut!((*p.as_ptr()).generator).write(generator);
            init(std::ptr::addr_of_mut!((*p.as_ptr()).frame), cap);
        }
        GenRc(p)
    }

    #[inline(always)]
    fn block(&self) -> &Block {
        // SAFETY: a `GenRc` keeps its block alive.
        unsafe { self.0.as_ref() }
    }

    #[inline(always)]
    pub fn ptr_eq(a: &GenRc, b: &GenRc) -> bool {
        a.0 == b.0
    }

    /// The generator's address (what `Rc::as_ptr` gave).
    #[inline(always)]
    pub fn as_ptr(this: &GenRc) -> *const Generator {
        &this.block().generator
    }

    pub fn strong_count(this: &GenRc) -> usize {
        this.block().strong.get()
    }

    /// Another reference to the generator `g`.
    pub fn from_ref(g: &Generator) -> GenRc {
        let b = block_of_gen(g);
        // SAFETY: `g` is borrowed, so its block is alive.
        let s = unsafe { &b.as_ref().strong };
        s.set(s.get() + 1);
        GenRc(b)
    }

    /// The registry entry for generator `g` (see `GenWeak`).
    pub(crate) fn downgrade(g: &Generator) -> GenWeak {
        debug_assert!(!g.tracked.get(), "a generator with two registry entries");
        g.tracked.set(true);
        GenWeak(block_of_gen(g))
    }

    #[cold]
    #[inline(never)]
    fn drop_slow(&mut self) {
        let b = self.0.as_ptr();
        // SAFETY: the last reference: the generator is finalised (its
        // `Drop`), then the embedded frame dropped; the block is freed
        // unless its registry entry still points to it (`GenWeak`).
        unsafe {
            let strong = &(*b).strong;
            // The drop's own reference while the generator is finalised:
            // its frame, taken out to be queued, counts as one and lets go.
            strong.set(1);
            let cap = (*b).frame.stack.capacity();
            let tracked = (*b).generator.tracked.get();
            std::ptr::drop_in_place(std::ptr::addr_of_mut!((*b).generator));
            std::ptr::drop_in_place(std::ptr::addr_of_mut!((*b).frame));
            if strong.get() != 1 {
                // Nothing a finaliser runs keeps a reference; were one
                // kept, the block would be leaked rather than freed under it.
                debug_assert!(false, "a generator brought back while freed");
                return;
            }
            strong.set(0);
            if tracked && !crate::tracking::generator_freed(std::ptr::addr_of!((*b).generator)) {
                // Freed with the entry, which finds the size here.
                (*b).generator.gc_mark.0.set(cap as u32);
                return;
            }
            free_block(self.0, cap);
        }
    }
}

/// The block `g` lives in: every `Generator` does (`Generator::new` makes
/// them only through `GenRc::new`), at `GEN_AT`.
#[inline(always)]
fn block_of_gen(g: &Generator) -> NonNull<Block> {
    // SAFETY: see above.
    unsafe { NonNull::new_unchecked((g as *const Generator as *mut u8).sub(GEN_AT) as *mut Block) }
}

/// The block of the embedded frame at `frame`.
#[inline(always)]
fn block_of(frame: *mut Frame) -> NonNull<Block> {
    // SAFETY: an embedded frame sits at `FRAME_AT` in its block.
    unsafe { NonNull::new_unchecked((frame as *mut u8).sub(FRAME_AT) as *mut Block) }
}

/// An embedded frame leaves its slot: it counts as a reference.
///
/// # Safety
/// `frame` is an embedded frame whose block is alive.
#[inline(always)]
pub(crate) unsafe fn retain_block(frame: *mut Frame) {
    // SAFETY: the caller's contract.
    let s = unsafe { &block_of(frame).as_ref().strong };
    s.set(s.get() + 1);
}

/// An embedded frame goes back into its slot: it no longer counts.
///
/// # Safety
/// `frame` is an embedded frame out of its slot, and its block has
/// another reference.
#[inline(always)]
pub(crate) unsafe fn unretain_block(frame: *mut Frame) {
    // SAFETY: the caller's contract.
    let s = unsafe { &block_of(frame).as_ref().strong };
    debug_assert!(s.get() > 1);
    s.set(s.get() - 1);
}

/// An embedded frame out of its slot is dropped: its reference goes.
///
/// # Safety
/// `frame` is an embedded frame out of its slot.
#[inline]
pub(crate) unsafe fn release_block(frame: *mut Frame) {
    drop(GenRc(block_of(frame)));
}

impl Generator {
    /// The embedded frame's header (the frame itself when suspended in
    /// place or running from the block).
    #[inline(always)]
    pub(crate) fn embedded_frame(&self) -> *mut Frame {
        // SAFETY: every generator lives in a block (see `GenRc::from_ref`).
        unsafe { (self as *const Generator as *mut u8).add(FRAME_AT - GEN_AT) as *mut Frame }
    }

    /// The code it runs: the embedded header names it for the generator's
    /// whole life (see the module).
    #[inline(always)]
    pub fn code(&self) -> &std::rc::Rc<crate::code::Code> {
        // SAFETY: the header is a valid frame while the block lives; its
        // code is set when the block is made and never changes.
        unsafe { &*std::ptr::addr_of!((*self.embedded_frame()).code) }
    }
}

impl Clone for GenRc {
    #[inline(always)]
    fn clone(&self) -> GenRc {
        let s = &self.block().strong;
        s.set(s.get() + 1);
        GenRc(self.0)
    }
}

impl Drop for GenRc {
    #[inline]
    fn drop(&mut self) {
        let s = &self.block().strong;
        let n = s.get() - 1;
        s.set(n);
        if n == 0 {
            self.drop_slow();
        }
    }
}

impl std::ops::Deref for GenRc {
    type Target = Generator;
    #[inline(always)]
    fn deref(&self) -> &Generator {
        &self.block().generator
    }
}

/// The collector's registry entry for a generator: no count, as a
/// generator has at most one (`Generator::tracked` says it does). It
/// keeps the block of a freed generator allocated until it goes.
pub(crate) struct GenWeak(NonNull<Block>);

impl GenWeak {
    /// Whether the generator is still alive.
    pub(crate) fn alive(&self) -> bool {
        // SAFETY: the entry keeps the block allocated.
        unsafe { self.0.as_ref().strong.get() > 0 }
    }

    pub(crate) fn as_ptr(&self) -> *const Generator {
        // SAFETY: the entry keeps the block allocated.
        unsafe { &self.0.as_ref().generator }
    }

    /// The generator, if alive; the entry goes either way.
    pub(crate) fn upgrade(self) -> Option<GenRc> {
        if !self.alive() {
            return None;
        }
        let g = GenRc::from_ref(
            // SAFETY: alive, so the generator is valid.
            unsafe { &*self.as_ptr() },
        );
        drop(self);
        Some(g)
    }

    /// The entry is taken out of the registry by the generator's own
    /// drop (`tracking::generator_freed`), which then frees the block.
    pub(crate) fn forget(self) {
        std::mem::forget(self);
    }
}

impl Drop for GenWeak {
    fn drop(&mut self) {
        let b = self.0.as_ptr();
        // SAFETY: the entry keeps the block allocated; a dead generator's
        // block waits only for it.
        unsafe {
            if (*b).strong.get() > 0 {
                (*b).generator.tracked.set(false);
            } else {
                let cap = (*b).generator.gc_mark.0.get() as usize;
                free_block(self.0, cap);
            }
        }
    }
}

impl std::fmt::Debug for GenRc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "GenRc({:p})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use std::rc::Rc;

    use super::*;
    use crate::value::{GenFrame, GenKind, GenState};

    /// A suspended-looking generator whose frame holds one list.
    fn generator() -> (
        GenRc,
        std::rc::Weak<std::cell::RefCell<crate::value::ListItems>>,
    ) {
        let mut frame = crate::frame::frame_box_tests::frame("x = 1\n");
        let list = Rc::new(std::cell::RefCell::new(vec![Value::Int(1)].into()));
        let weak = Rc::downgrade(&list);
        frame.push(Value::List(list));
        let g = Generator::new(
            GenKind::Generator,
            GenState::Suspended,
            GenFrame::Embed(&mut frame),
            None,
            0,
        );
        assert!(frame.stack.is_empty(), "the values moved into the block");
        (g, weak)
    }

    #[test]
    fn header_stays_small() {
        assert!(std::mem::size_of::<Generator>() <= 16);
        assert!(std::mem::size_of::<Block>() <= 64);
    }

    /// `Value::rc_count` finds the strong count as for every other kind.
    #[test]
    fn value_counts_reach_the_block() {
        let (g, weak) = generator();
        let v = Value::Generator(g);
        let w = v.heap_clone();
        let Value::Generator(g) = &v else {
            unreachable!()
        };
        assert_eq!(GenRc::strong_count(g), 2);
        w.heap_drop();
        assert_eq!(GenRc::strong_count(g), 1);
        v.heap_drop();
        assert!(weak.upgrade().is_none(), "the frame's values are dropped");
    }

    /// A frame out of its slot keeps the block: dropped after the last
    /// `GenRc`, it still finds its memory, and frees it.
    #[test]
    fn a_taken_frame_outlives_the_last_reference() {
        let (g, weak) = generator();
        let frame = g.take_frame().expect("suspended");
        assert!(frame.is_embedded());
        assert_eq!(GenRc::strong_count(&g), 2);
        drop(g);
        assert!(weak.upgrade().is_some());
        drop(frame);
        assert!(weak.upgrade().is_none());
    }

    /// Put back, the frame no longer counts; a frame that grows moves out
    /// of the block with its values, and the block's header stays valid.
    #[test]
    fn a_growing_frame_moves_out() {
        let (g, weak) = generator();
        let mut frame = g.take_frame().expect("suspended");
        let cap = frame.stack.capacity();
        for i in 0..cap as i64 + 5 {
            frame.push(Value::Int(i));
        }
        assert!(!frame.is_embedded());
        assert_eq!(GenRc::strong_count(&g), 1);
        assert!(matches!(frame.stack[0], Value::List(_)));
        g.put_frame(frame);
        assert_eq!(g.code().name.as_ref(), "<module>");
        assert_eq!(GenRc::strong_count(&g), 1);
        drop(g);
        assert!(weak.upgrade().is_none());
    }
}
