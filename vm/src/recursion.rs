//! Depth guards for work that recurses on the Rust stack on behalf of a
//! program: repr, equality and ordering of nested containers. Each level
//! counts toward the recursion limit as CPython's `Py_EnterRecursiveCall`
//! does, so a 100,000-deep list fails at once with CPython's message
//! instead of crawling (or overflowing the stack).

use crate::value::PyResult;
use crate::vm::Vm;

/// Suffixes of CPython's RecursionError messages.
pub const IN_REPR: &str = " while getting the repr of an object";
pub const IN_COMPARISON: &str = " in comparison";
pub const CALLING: &str = " while calling a Python object";

impl Vm {
    /// Runs `f` one native recursion level deeper, or raises RecursionError
    /// ("maximum recursion depth exceeded" + `what`) at the limit.
    pub fn nested<T>(&mut self, what: &str, f: impl FnOnce(&mut Vm) -> PyResult<T>) -> PyResult<T> {
        if self.depth() >= self.recursion_limit || self.stack_exhausted() {
            return Err(self.recursion_error(what));
        }
        self.c_depth += 1;
        let r = f(self);
        self.c_depth -= 1;
        r
    }

    /// `RecursionError: maximum recursion depth exceeded` + `what`.
    pub fn recursion_error(&self, what: &str) -> crate::value::Value {
        let msg = format!("maximum recursion depth exceeded{what}");
        self.new_exc(&self.exc.recursion_error.clone(), &msg)
    }

    /// Whether the Rust stack below the outermost dispatch loop has grown
    /// past `max_native_stack`: for recursions CPython does not bound
    /// (hashing nested tuples) but that must not overflow the stack.
    pub fn stack_exhausted(&self) -> bool {
        let marker = 0u8;
        let here = std::hint::black_box(&marker) as *const u8 as usize;
        self.stack_base != 0 && self.stack_base.saturating_sub(here) > self.max_native_stack
    }
}
