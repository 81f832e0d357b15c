//! Methods of the built-in types (`str.split`, `list.append`, …).
//!
//! Each type's methods live in their own file; this one holds the argument
//! helpers they share and registers them all.

use std::rc::Rc;

use covm_vm::Vm;
use covm_vm::value::{Class, KwArgs, PyResult, Value};

use crate::{methods_bytes, methods_dict, methods_list, methods_num, methods_set, methods_str};

pub fn install(vm: &mut Vm) {
    methods_str::install(vm);
    methods_list::install(vm);
    methods_dict::install(vm);
    methods_set::install(vm);
    methods_num::install(vm);
    methods_bytes::install(vm);
}

/// Registers `func` as a class method (`dict.fromkeys`).
pub(crate) fn add_classmethod(
    vm: &Vm,
    cls: &Rc<Class>,
    name: &str,
    func: covm_vm::value::NativeFn,
) {
    let f = vm.native(name, func);
    cls.dict
        .borrow_mut()
        .insert(Rc::from(name), Value::ClassMethod(Rc::new(f)));
}

/// Registers `func` as a static method (`str.maketrans`).
pub(crate) fn add_staticmethod(
    vm: &Vm,
    cls: &Rc<Class>,
    name: &str,
    func: covm_vm::value::NativeFn,
) {
    let f = vm.native(name, func);
    cls.dict
        .borrow_mut()
        .insert(Rc::from(name), Value::StaticMethod(Rc::new(f)));
}

/// The error for a method called on the wrong kind of receiver
/// (`str.upper(1)`).
#[cold]
#[inline(never)]
pub(crate) fn descriptor_error(vm: &Vm, ty: &str, name: &str, args: &[Value]) -> Value {
    match args.first() {
        Some(v) => vm.type_error(&format!(
            "descriptor '{name}' for '{ty}' objects doesn't apply to a '{}' object",
            vm.type_name(v)
        )),
        None => vm.type_error(&format!("unbound method {ty}.{name}() needs an argument")),
    }
}

/// `qual() takes no arguments (N given)` for a method without parameters.
#[inline]
pub(crate) fn no_args(vm: &Vm, qual: &str, args: &[Value], kw: &KwArgs) -> PyResult<()> {
    if kw.is_empty() && args.len() <= 1 {
        return Ok(());
    }
    Err(arg_count_error(vm, qual, args, kw, "no arguments"))
}

/// `qual() takes exactly one argument (N given)`.
#[inline]
pub(crate) fn one_arg(vm: &Vm, qual: &str, args: &[Value], kw: &KwArgs) -> PyResult<()> {
    if kw.is_empty() && args.len() == 2 {
        return Ok(());
    }
    Err(arg_count_error(vm, qual, args, kw, "exactly one argument"))
}

/// The errors of `no_args` and `one_arg`, out of line: the checks inline
/// into every method, the formatting does not.
#[cold]
#[inline(never)]
fn arg_count_error(vm: &Vm, qual: &str, args: &[Value], kw: &KwArgs, takes: &str) -> Value {
    if !kw.is_empty() {
        return vm.type_error(&format!("{qual}() takes no keyword arguments"));
    }
    let n = args.len().saturating_sub(1);
    vm.type_error(&format!("{qual}() takes {takes} ({n} given)"))
}

/// Argument-clinic style count check: `name expected at least 1 argument,
/// got 0` (self excluded from `args`' count).
pub(crate) fn count_args(
    vm: &Vm,
    name: &str,
    args: &[Value],
    kw: &KwArgs,
    min: usize,
    max: usize,
) -> PyResult<()> {
    if !kw.is_empty() {
        return Err(vm.type_error(&format!("{name}() takes no keyword arguments")));
    }
    let n = args.len().saturating_sub(1);
    let s = |k: usize| if k == 1 { "" } else { "s" };
    if n < min {
        if min == max {
            return Err(vm.type_error(&format!(
                "{name} expected {min} argument{}, got {n}",
                s(min)
            )));
        }
        return Err(vm.type_error(&format!(
            "{name} expected at least {min} argument{}, got {n}",
            s(min)
        )));
    }
    if n > max {
        if min == max {
            return Err(vm.type_error(&format!(
                "{name} expected {max} argument{}, got {n}",
                s(max)
            )));
        }
        return Err(vm.type_error(&format!(
            "{name} expected at most {max} argument{}, got {n}",
            s(max)
        )));
    }
    Ok(())
}

/// Old-style count check: `name() takes at least 1 argument (0 given)`.
pub(crate) fn count_args_old(
    vm: &Vm,
    name: &str,
    args: &[Value],
    kw: &KwArgs,
    min: usize,
    max: usize,
) -> PyResult<()> {
    if !kw.is_empty() {
        return Err(vm.type_error(&format!("{name}() takes no keyword arguments")));
    }
    let n = args.len().saturating_sub(1);
    let s = |k: usize| if k == 1 { "" } else { "s" };
    if n < min {
        return Err(vm.type_error(&format!(
            "{name}() takes at least {min} argument{} ({n} given)",
            s(min)
        )));
    }
    if n > max {
        return Err(vm.type_error(&format!(
            "{name}() takes at most {max} argument{} ({n} given)",
            s(max)
        )));
    }
    Ok(())
}

/// The fill before and after a text of `len` that `center` (`'^'`),
/// `ljust` (`'<'`) or `rjust` (`'>'`) pads to `width` (more than `len`),
/// for str and bytes. An odd margin is split as CPython's `center` does.
pub(crate) fn pad_sides(width: i64, len: i64, how: char) -> (i64, i64) {
    let marg = width - len;
    let left = match how {
        '<' => 0,
        '>' => marg,
        _ => marg / 2 + (marg & width & 1),
    };
    (left, marg - left)
}

/// Positional-or-keyword parameters: fills `names.len()` slots from the
/// positional arguments after `self` and the keywords.
pub(crate) fn bind_args(
    vm: &Vm,
    name: &str,
    args: &[Value],
    kw: &KwArgs,
    names: &[&str],
) -> PyResult<Vec<Option<Value>>> {
    crate::args::bind_params(vm, name, args.get(1..).unwrap_or(&[]), kw, names)
}

/// An integer argument, through `__index__` for instances.
pub(crate) fn index_arg(vm: &mut Vm, v: &Value) -> PyResult<i64> {
    match v {
        Value::Int(i) => Ok(*i),
        Value::Bool(b) => Ok(*b as i64),
        Value::BigInt(_) => Err(vm.overflow_error("Python int too large to convert to C ssize_t")),
        other => {
            if matches!(other, Value::Instance(_))
                && let Some(f) = vm.lookup_special(other, "__index__")
            {
                let r = vm.call(&f, vec![other.clone()])?;
                return index_arg(vm, &r);
            }
            Err(vm.type_error(&format!(
                "'{}' object cannot be interpreted as an integer",
                vm.type_name(other)
            )))
        }
    }
}

/// A slice bound (`None` or an integer), as `str.find`'s start/end take.
pub(crate) fn slice_bound(vm: &mut Vm, v: Option<&Value>) -> PyResult<Option<i64>> {
    match v {
        None | Some(Value::None) => Ok(None),
        Some(Value::Int(i)) => Ok(Some(*i)),
        Some(Value::Bool(b)) => Ok(Some(*b as i64)),
        Some(Value::BigInt(b)) => {
            use num_traits::Signed;
            Ok(Some(if b.is_negative() {
                i64::MIN / 2
            } else {
                i64::MAX / 2
            }))
        }
        Some(other) => {
            if matches!(other, Value::Instance(_))
                && let Some(f) = vm.lookup_special(other, "__index__")
            {
                let r = vm.call(&f, vec![other.clone()])?;
                return slice_bound(vm, Some(&r));
            }
            Err(vm.type_error("slice indices must be integers or None or have an __index__ method"))
        }
    }
}

/// CPython's ADJUST_INDICES: clamps optional start/end against `len`.
pub(crate) fn adjust_indices(start: Option<i64>, end: Option<i64>, len: usize) -> (i64, i64) {
    let len = len as i64;
    let mut s = start.unwrap_or(0);
    let mut e = end.unwrap_or(len);
    if e > len {
        e = len;
    } else if e < 0 {
        e += len;
        if e < 0 {
            e = 0;
        }
    }
    if s < 0 {
        s += len;
        if s < 0 {
            s = 0;
        }
    }
    (s, e)
}

/// Looks up an exception class by name (for the less common ones).
pub(crate) fn exc_class(vm: &Vm, name: &str) -> Rc<Class> {
    vm.exc_by_name
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, c)| c.clone())
        .unwrap_or_else(|| vm.exc.exception.clone())
}
