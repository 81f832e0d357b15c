//! The `gc` module: the cycle collector's controls (vm/src/gc.rs).

use covm_vm::Vm;
use covm_vm::gc;
use covm_vm::value::*;

use crate::args::*;
use crate::modules::{func, set};

/// A C `int` argument, as CPython's `gc` functions parse theirs.
fn c_int(vm: &Vm, v: &Value) -> PyResult<i64> {
    if let Value::BigInt(_) = v {
        return Err(vm.overflow_error("Python int too large to convert to C int"));
    }
    let i = int_arg(vm, v)?;
    if i < i32::MIN as i64 || i > i32::MAX as i64 {
        let msg = if i < 0 {
            "signed integer is less than minimum"
        } else {
            "signed integer is greater than maximum"
        };
        return Err(vm.overflow_error(msg));
    }
    Ok(i)
}

fn collect(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    if args.len() > 1 {
        return Err(vm.type_error(&format!(
            "collect() takes at most 1 argument ({} given)",
            args.len()
        )));
    }
    let arg = match kwarg(vm, "collect", kw, &["generation"], "generation")? {
        Some(v) if !args.is_empty() => {
            let _ = v;
            return Err(vm.type_error(
                "argument for collect() given by name ('generation') and position (1)",
            ));
        }
        Some(v) => Some(v),
        None => args.first().cloned(),
    };
    let generation = match arg {
        Some(v) => c_int(vm, &v)?,
        None => 2,
    };
    if !(0..=2).contains(&generation) {
        return Err(vm.value_error("invalid generation"));
    }
    let n = vm.gc_collect(generation as usize)?;
    Ok(Value::Int(n as i64))
}

fn no_args(vm: &Vm, name: &str, args: &[Value], kw: &KwArgs) -> PyResult<()> {
    no_kwargs(vm, name, kw)?;
    if !args.is_empty() {
        return Err(vm.type_error(&format!(
            "{name}() takes no arguments ({} given)",
            args.len()
        )));
    }
    Ok(())
}

fn enable(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    no_args(vm, "gc.enable", args, kw)?;
    gc::set_enabled(true);
    Ok(Value::None)
}

fn disable(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    no_args(vm, "gc.disable", args, kw)?;
    gc::set_enabled(false);
    Ok(Value::None)
}

fn isenabled(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    no_args(vm, "gc.isenabled", args, kw)?;
    Ok(Value::Bool(gc::is_enabled()))
}

fn get_count(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    no_args(vm, "gc.get_count", args, kw)?;
    let c = gc::count();
    Ok(Value::tuple(
        c.iter().map(|&n| Value::Int(n as i64)).collect(),
    ))
}

fn get_threshold(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    no_args(vm, "gc.get_threshold", args, kw)?;
    let t = gc::threshold();
    Ok(Value::tuple(t.iter().map(|&n| Value::Int(n)).collect()))
}

fn set_threshold(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    no_kwargs(vm, "set_threshold", kw)?;
    match args.len() {
        0 => {
            return Err(vm.type_error("set_threshold() takes at least 1 argument (0 given)"));
        }
        1..=3 => {}
        n => {
            return Err(vm.type_error(&format!(
                "set_threshold() takes at most 3 arguments ({n} given)"
            )));
        }
    }
    let mut t = gc::threshold();
    for (i, a) in args.iter().enumerate() {
        t[i] = c_int(vm, a)?;
    }
    gc::set_threshold(t);
    Ok(Value::None)
}

pub fn init(vm: &mut Vm) -> PyResult<Value> {
    let m = vm.new_module("gc");
    let fns: &[(&str, NativeFn)] = &[
        ("collect", collect),
        ("enable", enable),
        ("disable", disable),
        ("isenabled", isenabled),
        ("get_count", get_count),
        ("get_threshold", get_threshold),
        ("set_threshold", set_threshold),
    ];
    for (name, f) in fns {
        func(vm, &m, name, *f);
    }
    // Objects the collector could not free; covm frees every cycle it
    // finds, as CPython does without DEBUG_SAVEALL, so this stays empty.
    set(&m, "garbage", Value::list(Vec::new()));
    Ok(Value::Module(m))
}
