//! The `asyncio` module: a thin façade over the VM's scheduler
//! (`covm_vm::scheduler`), which holds the event loop, futures, tasks and
//! the library coroutines.

use std::rc::Rc;

use covm_vm::Vm;
use covm_vm::scheduler::{self, api};
use covm_vm::value::*;

use crate::modules::{func, set};

pub fn init(vm: &mut Vm) -> PyResult<Value> {
    let sh = scheduler::shared(vm);
    let m = vm.new_module("asyncio");
    for (name, f) in api::FUNCTIONS {
        func(vm, &m, name, *f);
    }
    for (name, cls) in api::exported_classes(&sh.cls) {
        set(&m, name, Value::Class(cls));
    }
    func(vm, &m, "as_completed", crate::builtins_async::as_completed);
    // `asyncio.exceptions`, importable as a submodule.
    let exc = vm.new_module("asyncio.exceptions");
    for (name, cls) in api::exported_classes(&sh.cls) {
        if vm.is_subclass(&cls, &vm.exc.base_exception.clone()) {
            set(&exc, name, Value::Class(cls));
        }
    }
    vm.module_set("asyncio.exceptions", Value::Module(exc.clone()));
    set(&m, "exceptions", Value::Module(exc));
    for name in ["FIRST_COMPLETED", "FIRST_EXCEPTION", "ALL_COMPLETED"] {
        set(&m, name, Value::str(name));
    }
    // Until the builtins have exception groups, TaskGroup's live here and
    // are made visible under their builtin names.
    for (name, cls) in [
        ("BaseExceptionGroup", sh.cls.base_exception_group.clone()),
        ("ExceptionGroup", sh.cls.exception_group.clone()),
    ] {
        let mut g = vm.builtins.globals.borrow_mut();
        if !g.contains_key(name) {
            g.insert(Rc::from(name), Value::Class(cls));
        }
    }
    Ok(Value::Module(m))
}
