//! covm's standard library: the built-in functions, the methods of the
//! built-in types and the modules, written against the VM's native API
//! (`fn(&mut Vm, &[Value], &KwArgs) -> PyResult<Value>`).
//!
//! `install` is what an embedder calls after `Vm::new()`.

pub mod args;
pub mod builtins;
pub mod builtins_types;
pub mod file;
pub mod methods;
pub mod methods_dict;
pub mod methods_list;
pub mod methods_num;
pub mod methods_set;
pub mod methods_str;
pub mod mod_asyncio;
pub mod mod_collections;
pub mod mod_functools;
pub mod mod_heapq;
pub mod mod_inspect;
pub mod mod_itertools;
pub mod mod_math;
pub mod mod_misc;
pub mod mod_os;
pub mod mod_sys;
pub mod mod_time;
pub mod mod_types;
pub mod modules;

use covm_vm::Vm;

/// Registers every built-in function, type method and module on `vm`.
pub fn install(vm: &mut Vm) {
    builtins::install(vm);
    methods::install(vm);
    modules::install(vm);
}
