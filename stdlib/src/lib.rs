//! covm's standard library: the built-in functions, the methods of the
//! built-in types and the modules, written against the VM's native API
//! (`fn(&mut Vm, &[Value], &KwArgs) -> PyResult<Value>`).
//!
//! `install` is what an embedder calls after `Vm::new()`.

pub mod args;
pub mod builtins;
pub mod builtins_async;
pub mod builtins_types;
pub mod file;
pub mod methods;
pub mod methods_bytes;
pub mod methods_dict;
pub mod methods_list;
pub mod methods_num;
pub mod methods_set;
pub mod methods_str;
pub mod mod_asyncio;
pub mod mod_collections;
pub mod mod_contextvars;
pub mod mod_covm;
pub mod mod_functools;
pub mod mod_gc;
pub mod mod_heapq;
pub mod mod_inspect;
pub mod mod_itertools;
pub mod mod_json;
pub mod mod_math;
pub mod mod_misc;
pub mod mod_os;
pub mod mod_random;
pub mod mod_re;
pub mod mod_sys;
pub mod mod_time;
pub mod mod_time_struct;
pub mod mod_types;
pub mod modules;
pub mod mt19937;
pub mod re_translate;

use covm_vm::Vm;

/// Registers every built-in function, type method and module on `vm`.
pub fn install(vm: &mut Vm) {
    builtins::install(vm);
    builtins_async::install(vm);
    methods::install(vm);
    modules::install(vm);
}
