//! Heap frames. A call from covm code to covm code pushes a `Box<Frame>`
//! onto the VM's frame stack and the same dispatch loop carries on; a
//! suspended generator keeps its `Box<Frame>` and resuming it moves the box
//! back onto the stack. Nothing is copied.

use std::cell::RefCell;
use std::rc::Rc;

use crate::code::Code;
use crate::value::{Generator, Module, Namespace, Value};

#[derive(Clone, Copy, Debug)]
pub enum Block {
    /// An active `try` (or `with`): on an exception, unwind the stack to
    /// `level` and jump to `handler`.
    Setup { handler: u32, level: u32 },
    /// An `except`/`finally` handler is running; leaving it pops the
    /// handled exception.
    ExceptHandler,
}

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
}

/// What happens when a frame returns.
pub enum ReturnTo {
    /// Push the result on the caller's stack.
    Caller,
    /// An `__init__` call: the result must be None; push the instance.
    Init(Value),
    /// A class body: build the class from the namespace.
    ClassBody {
        name: Rc<str>,
        base: Option<Rc<crate::value::Class>>,
    },
    /// A running generator; its frame goes back to it on yield.
    Generator(Rc<Generator>, Resume),
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

pub struct Frame {
    pub code: Rc<Code>,
    /// Index of the next instruction.
    pub ip: usize,
    /// The fast locals (`code.varnames`) in the first slots, then the
    /// value stack: one allocation for both.
    pub stack: Vec<Value>,
    pub globals: Rc<Module>,
    /// Active `try`/`with` blocks and running handlers, innermost last; a
    /// thin vector, one word in the frame, since most frames have none.
    pub blocks: thin_vec::ThinVec<Block>,
    pub ret: ReturnTo,
    /// What most frames never have (cells, a class namespace, handled
    /// exceptions), out of line so that a frame, and so a suspended
    /// generator, stays small. Kept (emptied) when the frame is recycled.
    rare: Option<Box<FrameRare>>,
}

/// The rarely used parts of a `Frame`.
#[derive(Default)]
struct FrameRare {
    /// Cell variables, then free variables.
    cells: Vec<Rc<RefCell<Value>>>,
    /// The class-body namespace (module frames use `globals`).
    namespace: Option<Rc<RefCell<Namespace>>>,
    /// Exceptions being handled by this frame's `except`/`finally`
    /// handlers, innermost last. Travels with a suspended generator.
    handled: Vec<Value>,
}

impl Frame {
    pub fn new(code: Rc<Code>, globals: Rc<Module>) -> Frame {
        let nlocals = code.varnames.len();
        let nslots = nlocals + code.stacksize as usize;
        let ncells = code.cellvars.len();
        let mut frame = Frame {
            ip: 0,
            stack: {
                let mut v = Vec::with_capacity(nslots);
                v.resize(nlocals, Value::Undef);
                v
            },
            globals,
            blocks: thin_vec::ThinVec::new(),
            ret: ReturnTo::Caller,
            rare: None,
            code,
        };
        if ncells > 0 {
            frame.add_cells(ncells, &[]);
        }
        frame
    }

    /// A frame for `code` with room for its locals and stack but nothing
    /// in them yet (no locals, no cells), as `recycle_frame` leaves one:
    /// the fast call path fills it.
    pub fn empty(code: &Rc<Code>, globals: &Rc<Module>) -> Frame {
        Frame {
            code: code.clone(),
            ip: 0,
            stack: Vec::with_capacity(code.varnames.len() + code.stacksize as usize),
            globals: globals.clone(),
            blocks: thin_vec::ThinVec::new(),
            ret: ReturnTo::Caller,
            rare: None,
        }
    }

    /// Makes a recycled frame ready to run `code` (keeping its vectors'
    /// capacity, which is the point of recycling). The frame is empty, as
    /// `clear` leaves it: no cells, no namespace.
    pub fn reset(&mut self, code: &Rc<Code>, globals: &Rc<Module>) {
        let nlocals = code.varnames.len();
        self.stack.clear();
        self.stack.reserve_exact(nlocals + code.stacksize as usize);
        self.stack.resize(nlocals, Value::Undef);
        if !code.cellvars.is_empty() {
            self.add_cells(code.cellvars.len(), &[]);
        }
        if !Rc::ptr_eq(&self.code, code) {
            self.code = code.clone();
        }
        if !Rc::ptr_eq(&self.globals, globals) {
            self.globals = globals.clone();
        }
        self.ip = 0;
        self.ret = ReturnTo::Caller;
    }

    /// Empties a finished frame so it can be recycled: no values, no
    /// cells, no blocks, returning to its caller.
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
        // Most frames have no cells, handled exceptions, namespace or
        // special return: test before running the drop glue.
        if let Some(r) = &mut self.rare {
            if !r.cells.is_empty() {
                r.cells.clear();
            }
            if !r.handled.is_empty() {
                r.handled.clear();
            }
            if r.namespace.is_some() {
                r.namespace = None;
            }
        }
        self.blocks.clear();
        if !matches!(self.ret, ReturnTo::Caller) {
            self.ret = ReturnTo::Caller;
        }
    }

    fn rare_mut(&mut self) -> &mut FrameRare {
        self.rare.get_or_insert_with(Default::default)
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

    /// Exceptions being handled by this frame's `except`/`finally`
    /// handlers, innermost last.
    #[inline]
    pub fn handled(&self) -> &[Value] {
        self.rare.as_ref().map_or(&[], |r| &r.handled)
    }

    pub fn push_handled(&mut self, exc: Value) {
        self.rare_mut().handled.push(exc);
    }

    #[inline]
    pub fn pop_handled(&mut self) -> Option<Value> {
        self.rare.as_mut().and_then(|r| r.handled.pop())
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

#[cfg(test)]
mod size_tests {
    /// Frames and values are the VM's hottest data: growing them costs
    /// memory per suspended generator and cache misses per instruction.
    /// Shrink these bounds when the layouts shrink; never raise them
    /// without measuring (`bench/run`, the suspended_gens workload).
    #[test]
    fn hot_structures_stay_small() {
        assert!(std::mem::size_of::<crate::value::Value>() <= 24);
        assert!(std::mem::size_of::<super::Frame>() <= 96);
        assert!(std::mem::size_of::<crate::value::Generator>() <= 40);
        assert!(std::mem::size_of::<crate::opcode::Op>() <= 8);
    }
}
