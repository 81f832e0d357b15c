//! Built-in modules: `math`, `time`, `sys`, `os`, `collections`, `heapq`, …

use covm_vm::Vm;

pub fn install(_vm: &mut Vm) {}
