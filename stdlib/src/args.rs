//! Helpers for natives to check and unpack their arguments with CPython's
//! error messages.

use covm_vm::value::{KwArgs, PyResult, Value};
use covm_vm::Vm;

/// Checks the number of positional arguments: `name() takes exactly one
/// argument (2 given)` and friends.
pub fn check_count(vm: &Vm, name: &str, args: &[Value], min: usize, max: usize) -> PyResult<()> {
    let n = args.len();
    if n >= min && n <= max {
        return Ok(());
    }
    let msg = if min == max {
        match min {
            0 => format!("{name}() takes no arguments ({n} given)"),
            1 => format!("{name}() takes exactly one argument ({n} given)"),
            _ => format!("{name} expected {min} arguments, got {n}"),
        }
    } else if n < min {
        format!("{name} expected at least {min} argument{}, got {n}", if min == 1 { "" } else { "s" })
    } else {
        format!("{name} expected at most {max} argument{}, got {n}", if max == 1 { "" } else { "s" })
    };
    Err(vm.type_error(&msg))
}

/// Rejects keyword arguments: `name() takes no keyword arguments`.
pub fn no_kwargs(vm: &Vm, name: &str, kw: &KwArgs) -> PyResult<()> {
    if kw.is_empty() {
        Ok(())
    } else {
        Err(vm.type_error(&format!("{name}() takes no keyword arguments")))
    }
}

/// Finds keyword `key`, rejecting any keyword not in `allowed`.
pub fn kwarg(vm: &Vm, name: &str, kw: &KwArgs, allowed: &[&str], key: &str) -> PyResult<Option<Value>> {
    for (k, _) in kw {
        if !allowed.contains(&k.as_ref()) {
            return Err(vm.type_error(&format!(
                "'{k}' is an invalid keyword argument for {name}()"
            )));
        }
    }
    Ok(kw.iter().find(|(k, _)| k.as_ref() == key).map(|(_, v)| v.clone()))
}

/// An integer argument (bools count), or a TypeError naming the type.
pub fn int_arg(vm: &Vm, v: &Value) -> PyResult<i64> {
    match v {
        Value::Int(i) => Ok(*i),
        Value::Bool(b) => Ok(*b as i64),
        Value::BigInt(_) => Err(vm.overflow_error("Python int too large to convert to C ssize_t")),
        other => Err(vm.type_error(&format!(
            "'{}' object cannot be interpreted as an integer",
            vm.type_name(other)
        ))),
    }
}
