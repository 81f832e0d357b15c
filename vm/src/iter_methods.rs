//! `__iter__` and `__next__` as attributes of the built-in iterator types
//! (`iter([]).__next__()`), which the interpreter otherwise steps natively.

use crate::value::*;
use crate::vm::Vm;

fn it_iter(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    args.first()
        .cloned()
        .ok_or_else(|| vm.type_error("descriptor '__iter__' needs an argument"))
}

fn it_next(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let Some(it) = args.first().cloned() else {
        return Err(vm.type_error("descriptor '__next__' needs an argument"));
    };
    match vm.next(&it)? {
        Some(v) => Ok(v),
        None => Err(vm.new_exc(&vm.exc.stop_iteration.clone(), "")),
    }
}

pub(crate) fn install_methods(vm: &mut Vm) {
    let classes: Vec<_> = vm.types.iterators.values().cloned().collect();
    for cls in classes {
        vm.add_method(&cls, "__iter__", it_iter);
        vm.add_method(&cls, "__next__", it_next);
    }
}
