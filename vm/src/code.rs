//! Code objects: what the compiler produces for each function, class body,
//! comprehension and module.

use std::ops::Range;
use std::rc::Rc;

use crate::opcode::Op;
use crate::value::Value;

pub const FLAG_VARARGS: u32 = 1;
pub const FLAG_VARKW: u32 = 2;
pub const FLAG_GENERATOR: u32 = 4;
pub const FLAG_COROUTINE: u32 = 8;
pub const FLAG_ASYNC_GENERATOR: u32 = 16;
/// The frame's names live in a namespace dict (module and class bodies).
pub const FLAG_NAMESPACE: u32 = 32;

/// A cached `LoadGlobal` result: the stamps (`Globals::version`) of the
/// module's namespace and of the builtins' when the name was looked up,
/// and where its value sat. The stamps are unique to one namespace's
/// contents, so while both match, the value is still there: a pointer,
/// not a value, so that the cache never keeps an object alive.
#[derive(Clone, Copy)]
pub struct GlobalSlot {
    pub module: u64,
    pub builtins: u64,
    pub value: *const crate::value::Value,
}

impl GlobalSlot {
    /// Matches no namespace (no stamp is 0).
    pub const EMPTY: GlobalSlot = GlobalSlot {
        module: 0,
        builtins: 0,
        value: std::ptr::null(),
    };
}

/// A cached class lookup: (class address, class epoch, what was found,
/// and for `LoadAttr` the slot the name had in the last instance dict
/// read through it: instances of a class made by one `__init__` hold
/// their attributes in the same order).
pub type MethodSlot = (usize, u64, Option<Value>, std::cell::Cell<u32>);

/// An exception table entry (see `compiler/exctable.rs`): an exception
/// raised by instructions `start..end` is caught by the `try` (or `with`)
/// at block depth `depth`, whose handler starts at `target` with the
/// frame's slots cut to `level` (locals included).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Handler {
    pub start: u32,
    pub end: u32,
    pub target: u32,
    pub level: u32,
    pub depth: u32,
}

pub struct Code {
    pub name: Rc<str>,
    pub qualname: Rc<str>,
    pub filename: Rc<str>,
    pub flags: u32,
    pub ops: Vec<Op>,
    /// The deepest the value stack gets (see `compiler/stackdepth.rs`).
    pub stacksize: u32,
    /// Source span of each instruction, for tracebacks.
    pub spans: Vec<Range<usize>>,
    /// The exception table, by instruction range, in order.
    pub handlers: Vec<Handler>,
    pub consts: Vec<Value>,
    pub names: Vec<Rc<str>>,
    /// Local variable names; parameters come first, in order: positional,
    /// keyword-only, `*args`, `**kwargs`.
    pub varnames: Vec<Rc<str>>,
    /// Variables of this scope captured by inner functions.
    pub cellvars: Vec<Rc<str>>,
    /// Variables captured from enclosing scopes.
    pub freevars: Vec<Rc<str>>,
    /// For each cellvar that is also a parameter: (cell index, local index).
    pub cell_params: Vec<(u32, u32)>,
    pub argcount: u32,
    pub posonlyargcount: u32,
    pub kwonlyargcount: u32,
    /// The source text of the file, for tracebacks that show lines.
    pub source: Rc<str>,
    /// The line of the `def` (or 1 for a module).
    pub first_line: u32,
    /// The docstring, when the body starts with a string literal.
    pub doc: Option<Rc<str>>,
    /// `LoadGlobal` cache, one entry per name.
    pub global_cache: Box<[std::cell::Cell<GlobalSlot>]>,
    /// `LoadMethod` cache, by name index: what the class lookup found for
    /// the class at this address, valid while the class epoch is unchanged.
    pub method_cache: std::cell::RefCell<Vec<Option<MethodSlot>>>,
    /// Positional parameters only, no cells among them, not a generator:
    /// a call can move its arguments straight into the frame's locals.
    pub fast_call: bool,
    /// The same for a generator, coroutine or async generator function:
    /// a call moves its arguments straight into the new generator's frame.
    pub fast_gen_call: bool,
}

impl Code {
    /// The handler covering instruction `at`, if a `try` or `with` does.
    pub fn handler_at(&self, at: usize) -> Option<&Handler> {
        let at = u32::try_from(at).ok()?;
        let i = self.handlers.partition_point(|h| h.end <= at);
        self.handlers.get(i).filter(|h| h.start <= at)
    }

    pub fn is_generator(&self) -> bool {
        self.flags & (FLAG_GENERATOR | FLAG_COROUTINE | FLAG_ASYNC_GENERATOR) != 0
    }
    pub fn has_namespace(&self) -> bool {
        self.flags & FLAG_NAMESPACE != 0
    }
    /// The 1-based line of byte offset `pos` in the source.
    pub fn line_of(&self, pos: usize) -> usize {
        let end = pos.min(self.source.len());
        self.source.as_bytes()[..end]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1
    }
    /// The span of instruction `ip`, or an empty span at 0.
    pub fn span_at(&self, ip: usize) -> Range<usize> {
        self.spans.get(ip).cloned().unwrap_or(0..0)
    }
    pub fn total_args(&self) -> usize {
        (self.argcount
            + self.kwonlyargcount
            + u32::from(self.flags & FLAG_VARARGS != 0)
            + u32::from(self.flags & FLAG_VARKW != 0)) as usize
    }
}
