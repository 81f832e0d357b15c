//! Built-in functions (`print`, `len`, `range`, …) and the constructors of
//! the built-in types.

use std::rc::Rc;

use covm_vm::value::*;
use covm_vm::Vm;

use crate::args::*;

fn print(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let allowed = ["sep", "end", "file", "flush"];
    let sep = match kwarg(vm, "print", kw, &allowed, "sep")? {
        None | Some(Value::None) => " ".to_string(),
        Some(Value::Str(s)) => s.as_str().to_string(),
        Some(other) => {
            return Err(vm.type_error(&format!(
                "sep must be None or a string, not {}",
                vm.type_name(&other)
            )));
        }
    };
    let end = match kwarg(vm, "print", kw, &allowed, "end")? {
        None | Some(Value::None) => "\n".to_string(),
        Some(Value::Str(s)) => s.as_str().to_string(),
        Some(other) => {
            return Err(vm.type_error(&format!(
                "end must be None or a string, not {}",
                vm.type_name(&other)
            )));
        }
    };
    let mut out = String::new();
    for (i, a) in args.iter().enumerate() {
        if i > 0 {
            out.push_str(&sep);
        }
        out.push_str(&vm.to_str(a)?);
    }
    out.push_str(&end);
    match kwarg(vm, "print", kw, &allowed, "file")? {
        None | Some(Value::None) => vm.write_out(&out)?,
        Some(f) => {
            vm.call_method(&f, "write", vec![Value::str(out)])?;
        }
    }
    Ok(Value::None)
}

fn len(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    no_kwargs(vm, "len", kw)?;
    check_count(vm, "len", args, 1, 1)?;
    Ok(Value::Int(vm.len(&args[0])? as i64))
}

fn range_new(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    no_kwargs(vm, "range", kw)?;
    let a = &args[1..];
    let (start, stop, step) = match a.len() {
        1 => (0, int_arg(vm, &a[0])?, 1),
        2 => (int_arg(vm, &a[0])?, int_arg(vm, &a[1])?, 1),
        3 => (int_arg(vm, &a[0])?, int_arg(vm, &a[1])?, int_arg(vm, &a[2])?),
        0 => return Err(vm.type_error("range expected at least 1 argument, got 0")),
        n => return Err(vm.type_error(&format!("range expected at most 3 arguments, got {n}"))),
    };
    if step == 0 {
        return Err(vm.value_error("range() arg 3 must not be zero"));
    }
    Ok(Value::Range(Rc::new(RangeObj { start, stop, step })))
}

fn repr(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    check_count(vm, "repr", args, 1, 1)?;
    Ok(Value::str(vm.repr(&args[0])?))
}

fn str_new(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    match args.get(1) {
        None => Ok(Value::str("")),
        Some(v) => Ok(Value::str(vm.to_str(v)?)),
    }
}

pub fn install(vm: &mut Vm) {
    vm.add_builtin("print", print);
    vm.add_builtin("len", len);
    vm.add_builtin("repr", repr);
    let t = vm.types.range.clone();
    vm.set_native_new(&t, range_new);
    let t = vm.types.str_.clone();
    vm.set_native_new(&t, str_new);
    for (name, cls) in [
        ("range", vm.types.range.clone()),
        ("str", vm.types.str_.clone()),
        ("int", vm.types.int.clone()),
        ("float", vm.types.float.clone()),
        ("bool", vm.types.bool_.clone()),
        ("list", vm.types.list.clone()),
        ("tuple", vm.types.tuple.clone()),
        ("dict", vm.types.dict.clone()),
        ("set", vm.types.set.clone()),
        ("frozenset", vm.types.frozenset.clone()),
        ("object", vm.types.object.clone()),
        ("type", vm.types.type_.clone()),
        ("bytes", vm.types.bytes.clone()),
        ("slice", vm.types.slice.clone()),
        ("property", vm.types.property.clone()),
        ("staticmethod", vm.types.staticmethod.clone()),
        ("classmethod", vm.types.classmethod.clone()),
        ("super", vm.types.super_.clone()),
    ] {
        vm.builtins
            .globals
            .borrow_mut()
            .insert(Rc::from(name), Value::Class(cls));
    }
    let _ = Special::None;
}
