//! Helpers for natives to check and unpack their arguments with CPython's
//! error messages.

use covm_vm::Vm;
use covm_vm::value::{KwArgs, PyResult, Value};

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
        format!(
            "{name} expected at least {min} argument{}, got {n}",
            if min == 1 { "" } else { "s" }
        )
    } else {
        format!(
            "{name} expected at most {max} argument{}, got {n}",
            if max == 1 { "" } else { "s" }
        )
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
pub fn kwarg(
    vm: &Vm,
    name: &str,
    kw: &KwArgs,
    allowed: &[&str],
    key: &str,
) -> PyResult<Option<Value>> {
    for (k, _) in kw {
        if !allowed.contains(&k.as_ref()) {
            return Err(vm.type_error(&format!(
                "'{k}' is an invalid keyword argument for {name}()"
            )));
        }
    }
    Ok(kw
        .iter()
        .find(|(k, _)| k.as_ref() == key)
        .map(|(_, v)| v.clone()))
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

/// Argument-clinic style count check on a whole argument list: `name
/// expected at least 1 argument, got 0`, `name expected 2 arguments, got 1`.
pub fn check_positional(
    vm: &Vm,
    name: &str,
    args: &[Value],
    min: usize,
    max: usize,
) -> PyResult<()> {
    let n = args.len();
    let s = |k: usize| if k == 1 { "" } else { "s" };
    if n >= min && n <= max {
        return Ok(());
    }
    let msg = if min == max {
        format!("{name} expected {min} argument{}, got {n}", s(min))
    } else if n < min {
        format!("{name} expected at least {min} argument{}, got {n}", s(min))
    } else {
        format!("{name} expected at most {max} argument{}, got {n}", s(max))
    };
    Err(vm.type_error(&msg))
}

/// Binds positional-or-keyword parameters `names` from `args` and `kw`
/// (CPython's messages for builtins: `'x' is an invalid keyword argument
/// for name()`, `argument for name() given by name ('x') and position (1)`).
pub fn bind_params(
    vm: &Vm,
    name: &str,
    args: &[Value],
    kw: &KwArgs,
    names: &[&str],
) -> PyResult<Vec<Option<Value>>> {
    let mut out: Vec<Option<Value>> = vec![None; names.len()];
    if args.len() > names.len() {
        let n = names.len();
        return Err(vm.type_error(&format!(
            "{name}() takes at most {n} argument{} ({} given)",
            if n == 1 { "" } else { "s" },
            args.len() + kw.len()
        )));
    }
    for (i, v) in args.iter().enumerate() {
        out[i] = Some(v.clone());
    }
    for (k, v) in kw {
        match names.iter().position(|n| *n == k.as_ref()) {
            Some(i) => {
                if out[i].is_some() {
                    return Err(vm.type_error(&format!(
                        "argument for {name}() given by name ('{k}') and position ({})",
                        i + 1
                    )));
                }
                out[i] = Some(v.clone());
            }
            None => {
                return Err(vm.type_error(&format!(
                    "'{k}' is an invalid keyword argument for {name}()"
                )));
            }
        }
    }
    Ok(out)
}

/// The `OSError` subclass CPython raises for an I/O error, with `errno`,
/// `strerror` and `filename` set, so `str(e)` reads
/// `[Errno 2] No such file or directory: 'x'`.
pub fn os_error(
    vm: &Vm,
    err: &std::io::Error,
    filename: Option<Value>,
    filename2: Option<Value>,
) -> Value {
    let errno = err.raw_os_error();
    let cls_name = match errno {
        Some(2) => "FileNotFoundError",
        Some(17) => "FileExistsError",
        Some(21) => "IsADirectoryError",
        Some(20) => "NotADirectoryError",
        Some(1) | Some(13) => "PermissionError",
        Some(110) => "TimeoutError",
        _ => "OSError",
    };
    let cls = vm
        .exc_by_name
        .iter()
        .find(|(n, _)| *n == cls_name)
        .map(|(_, c)| c.clone())
        .unwrap_or_else(|| vm.exc.os_error.clone());
    let text = err.to_string();
    let strerror = match text.find(" (os error") {
        Some(i) => text[..i].to_string(),
        None => text,
    };
    let Some(errno) = errno else {
        return vm.new_exc(&cls, &strerror);
    };
    let e = vm.new_exc_args(
        &cls,
        vec![Value::Int(errno as i64), Value::str(strerror.as_str())],
    );
    if let Value::Instance(i) = &e {
        let mut d = i.dict.borrow_mut();
        d.insert(std::rc::Rc::from("errno"), Value::Int(errno as i64));
        d.insert(std::rc::Rc::from("strerror"), Value::str(strerror.as_str()));
        d.insert(
            std::rc::Rc::from("filename"),
            filename.unwrap_or(Value::None),
        );
        d.insert(
            std::rc::Rc::from("filename2"),
            filename2.unwrap_or(Value::None),
        );
    }
    e
}
