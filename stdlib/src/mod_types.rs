//! `_types`, behind the `types` module (`stdlib/py/types.py`): the
//! built-in types by name, and `coroutine`, which makes a generator
//! function's generators awaitable (CPython's CO_ITERABLE_COROUTINE).

use std::rc::Rc;

use covm_vm::Vm;
use covm_vm::code::{FLAG_ASYNC_GENERATOR, FLAG_COROUTINE};
use covm_vm::value::*;

use crate::modules::{func, set};

/// Calls the wrapped function (the builtin's receiver); a generator it
/// returns is marked as an iterable coroutine.
fn call_marked(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let Some(f) = args.first() else {
        return Err(vm.type_error("types.coroutine wrapper called without its function"));
    };
    let r = vm.call_kw(f, args[1..].to_vec(), kw.to_vec())?;
    if let Value::Generator(g) = &r
        && g.kind == GenKind::Generator
    {
        vm.mark_iterable_coroutine(g);
    }
    Ok(r)
}

fn coroutine(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let [f] = args else {
        return Err(vm.type_error("coroutine() takes exactly one argument"));
    };
    if !crate::builtins::is_callable(vm, f) {
        return Err(vm.type_error("types.coroutine() expects a callable"));
    }
    if let Value::Function(func) = f
        && func.code.flags & (FLAG_COROUTINE | FLAG_ASYNC_GENERATOR) != 0
    {
        return Ok(f.clone());
    }
    let name = match vm.getattr_opt(f, "__name__")? {
        Some(Value::Str(s)) => Rc::from(s.as_str()),
        _ => Rc::from("coroutine"),
    };
    Ok(Value::Builtin(Rc::new(Builtin {
        name,
        func: call_marked,
        receiver: Some(f.clone()),
        special: Special::None,
    })))
}

pub fn init(vm: &mut Vm) -> PyResult<Value> {
    let m = vm.new_module("_types");
    let t = &vm.types;
    for (name, cls) in [
        ("GeneratorType", t.generator.clone()),
        ("CoroutineType", t.coroutine.clone()),
        ("AsyncGeneratorType", t.async_generator.clone()),
        ("FunctionType", t.function.clone()),
        ("LambdaType", t.function.clone()),
        ("BuiltinFunctionType", t.builtin_function.clone()),
        ("MethodType", t.method.clone()),
        ("ModuleType", t.module.clone()),
        ("CodeType", t.code.clone()),
        ("NoneType", t.none.clone()),
    ] {
        set(&m, name, Value::Class(cls));
    }
    func(vm, &m, "coroutine", coroutine);
    Ok(Value::Module(m))
}
