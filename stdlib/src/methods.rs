//! Methods of the built-in types (`str.split`, `list.append`, …).

use covm_vm::Vm;

pub fn install(_vm: &mut Vm) {}
