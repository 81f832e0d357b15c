//! Guards for sizes a program asks for: a request too large to allocate
//! raises `MemoryError` (or CPython's `OverflowError`) instead of letting
//! the allocator abort the process.

use crate::value::Value;
use crate::vm::Vm;

impl Vm {
    /// A bare `MemoryError`, as CPython raises when an allocation fails.
    pub fn memory_error(&self) -> Value {
        self.new_exc(&self.exc.memory_error.clone(), "")
    }

    /// An empty string with room for `bytes` bytes, or `MemoryError` when
    /// the allocator refuses (never an abort).
    pub fn string_with_capacity(&self, bytes: usize) -> Result<String, Value> {
        let mut s = String::new();
        s.try_reserve_exact(bytes)
            .map_err(|_| self.memory_error())?;
        Ok(s)
    }
}

impl Vm {
    /// `MemoryError` unless `n` values of `T` could be allocated now. The
    /// probe reserves and frees address space without touching it.
    pub fn check_alloc<T>(&self, n: usize) -> Result<(), Value> {
        let mut v: Vec<T> = Vec::new();
        v.try_reserve_exact(n).map_err(|_| self.memory_error())
    }
}
