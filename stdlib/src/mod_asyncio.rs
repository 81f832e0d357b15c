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
    for (name, f) in api::FUNCTIONS.iter().chain(scheduler::registry::FUNCTIONS) {
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

/// CPython's `test` package, as far as ported tests need it:
/// `test.test_asyncio.utils.TestLoop`. Found only when no `test` module is
/// on `sys.path` (`Vm::fallback_modules`).
pub fn init_test(vm: &mut Vm) -> PyResult<Value> {
    Ok(Value::Module(package(vm, "test")))
}

pub fn init_test_asyncio(vm: &mut Vm) -> PyResult<Value> {
    Ok(Value::Module(package(vm, "test.test_asyncio")))
}

fn package(vm: &Vm, name: &str) -> Rc<covm_vm::value::Module> {
    let m = vm.new_module(name);
    set(&m, "__name__", Value::str(name));
    set(&m, "__package__", Value::str(name));
    set(&m, "__path__", Value::list(vec![]));
    m
}

pub fn init_test_utils(vm: &mut Vm) -> PyResult<Value> {
    let sh = scheduler::shared(vm);
    let m = vm.new_module("test.test_asyncio.utils");
    set(&m, "__name__", Value::str("test.test_asyncio.utils"));
    vm.set_native_new(&sh.cls.test_loop, api::test_loop_new);
    vm.add_method(
        &sh.cls.test_loop,
        "advance_time",
        api::test_loop_advance_time,
    );
    set(&m, "TestLoop", Value::Class(sh.cls.test_loop.clone()));
    Ok(Value::Module(m))
}
