//! covm's standard library: the built-in functions, the methods of the
//! built-in types and the modules, written against the VM's native API
//! (`fn(&mut Vm, &[Value], &KwArgs) -> PyResult<Value>`).
//!
//! `install` is what an embedder calls after `Vm::new()`.

pub mod args;
pub mod builtins;
pub mod methods;
pub mod modules;

use covm_vm::Vm;

/// Registers every built-in function, type method and module on `vm`.
pub fn install(vm: &mut Vm) {
    builtins::install(vm);
    methods::install(vm);
    modules::install(vm);
}
