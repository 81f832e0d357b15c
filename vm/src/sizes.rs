//! Guards for sizes a program asks for: a request too large to allocate
//! raises `MemoryError` (or CPython's `OverflowError`) instead of letting
//! the allocator abort the process.

use crate::value::{PyResult, Value};
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

    /// `v.push(x)`, with `MemoryError` instead of an abort when `v` is
    /// full and cannot grow (a list fed from an endless iterator).
    #[inline]
    pub fn push_value(&self, v: &mut Vec<Value>, x: Value) -> Result<(), Value> {
        if v.len() == v.capacity() {
            v.try_reserve(1).map_err(|_| self.memory_error())?;
        }
        v.push(x);
        Ok(())
    }
}

/// The exact length of a range (it may exceed `i64::MAX`).
pub fn range_len(r: &crate::value::RangeObj) -> i128 {
    let (lo, hi, step) = (r.start as i128, r.stop as i128, r.step as i128);
    if step > 0 && lo < hi {
        (hi - lo - 1) / step + 1
    } else if step < 0 && lo > hi {
        (lo - hi - 1) / (-step) + 1
    } else {
        0
    }
}

impl Vm {
    /// `r[k]` for an integer `k`, in exact arithmetic: a range may hold
    /// more than `i64::MAX` items, and its items all fit in an i64.
    pub fn range_item(&mut self, r: &crate::value::RangeObj, k: &Value) -> PyResult<Value> {
        let len = range_len(r);
        let i: i128 = match k {
            Value::Int(i) => *i as i128,
            Value::Bool(b) => *b as i128,
            Value::BigInt(_) => return Err(self.index_error("range object index out of range")),
            _ => {
                let n = usize::try_from(len).unwrap_or(usize::MAX);
                self.seq_index(k, n, "range object")? as i128
            }
        };
        let idx = if i < 0 { i + len } else { i };
        if idx < 0 || idx >= len {
            return Err(self.index_error("range object index out of range"));
        }
        let v = r.start as i128 + idx * r.step as i128;
        Ok(Value::Int(v as i64))
    }

    /// `r[start:stop:step]` once the slice is resolved against the range's
    /// length; OverflowError where covm's i64 ranges cannot hold the result.
    pub fn range_slice(
        &mut self,
        r: &crate::value::RangeObj,
        start: i64,
        stop: i64,
        step: i64,
    ) -> PyResult<Value> {
        let at = |i: i64| i64::try_from(r.start as i128 + i as i128 * r.step as i128).ok();
        match (at(start), at(stop), r.step.checked_mul(step)) {
            (Some(start), Some(stop), Some(step)) => {
                Ok(Value::Range(std::rc::Rc::new(crate::value::RangeObj {
                    start,
                    stop,
                    step,
                })))
            }
            _ => Err(self.overflow_error("Python int too large to convert to C ssize_t")),
        }
    }
}
