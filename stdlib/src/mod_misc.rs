//! Small modules: `string` (constants) and `operator` (the common part).

use covm_vm::Vm;
use covm_vm::value::*;

use crate::args::*;
use crate::modules::{add_values, bound_native, func, mul_values, set};

pub fn init_string(vm: &mut Vm) -> PyResult<Value> {
    let m = vm.new_module("string");
    let lower = "abcdefghijklmnopqrstuvwxyz";
    let upper = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let digits = "0123456789";
    let punct = r##"!"#$%&'()*+,-./:;<=>?@[\]^_`{|}~"##;
    set(&m, "ascii_lowercase", Value::str(lower));
    set(&m, "ascii_uppercase", Value::str(upper));
    set(&m, "ascii_letters", Value::str(format!("{lower}{upper}")));
    set(&m, "digits", Value::str(digits));
    set(&m, "hexdigits", Value::str("0123456789abcdefABCDEF"));
    set(&m, "octdigits", Value::str("01234567"));
    set(&m, "punctuation", Value::str(punct));
    set(&m, "whitespace", Value::str(" \t\n\r\x0b\x0c"));
    set(
        &m,
        "printable",
        Value::str(format!("{digits}{lower}{upper}{punct} \t\n\r\x0b\x0c")),
    );
    func(vm, &m, "capwords", capwords);
    Ok(Value::Module(m))
}

fn capwords(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    no_kwargs(vm, "capwords", kw)?;
    check_count(vm, "capwords", args, 1, 2)?;
    let Value::Str(s) = &args[0] else {
        let msg = format!(
            "descriptor 'split' for 'str' objects doesn't apply to a '{}' object",
            vm.type_name(&args[0])
        );
        return Err(vm.type_error(&msg));
    };
    let cap = |w: &str| {
        let mut cs = w.chars();
        match cs.next() {
            Some(c) => c.to_uppercase().collect::<String>() + &cs.as_str().to_lowercase(),
            None => String::new(),
        }
    };
    let out: Vec<String> = match args.get(1) {
        Some(Value::Str(sep)) => s.as_str().split(sep.as_str()).map(cap).collect(),
        _ => s.as_str().split_whitespace().map(cap).collect(),
    };
    let sep = match args.get(1) {
        Some(Value::Str(sep)) => sep.as_str().to_string(),
        _ => " ".to_string(),
    };
    Ok(Value::str(out.join(&sep)))
}

// ---- operator ------------------------------------------------------------------

fn two<'a>(vm: &Vm, name: &str, args: &'a [Value]) -> PyResult<(&'a Value, &'a Value)> {
    if args.len() != 2 {
        return Err(vm.type_error(&format!("{name} expected 2 arguments, got {}", args.len())));
    }
    Ok((&args[0], &args[1]))
}

fn op_add(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let (a, b) = two(vm, "add", args)?;
    add_values(vm, a, b)
}

fn op_mul(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let (a, b) = two(vm, "mul", args)?;
    mul_values(vm, a, b)
}

fn op_eq(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let (a, b) = two(vm, "eq", args)?;
    Ok(Value::Bool(vm.eq(a, b)?))
}

fn op_ne(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let (a, b) = two(vm, "ne", args)?;
    Ok(Value::Bool(!vm.eq(a, b)?))
}

fn op_lt(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let (a, b) = two(vm, "lt", args)?;
    Ok(Value::Bool(vm.less_than(a, b)?))
}

fn op_gt(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let (a, b) = two(vm, "gt", args)?;
    Ok(Value::Bool(vm.less_than(b, a)?))
}

fn op_is(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let (a, b) = two(vm, "is_", args)?;
    Ok(Value::Bool(a.is(b)))
}

fn op_is_not(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let (a, b) = two(vm, "is_not", args)?;
    Ok(Value::Bool(!a.is(b)))
}

fn op_not(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    check_count(vm, "not_", args, 1, 1)?;
    Ok(Value::Bool(!vm.truthy(&args[0])?))
}

fn op_truth(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    check_count(vm, "truth", args, 1, 1)?;
    Ok(Value::Bool(vm.truthy(&args[0])?))
}

fn op_getitem(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let (a, b) = two(vm, "getitem", args)?;
    vm.getitem(a, b)
}

fn op_contains(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let (a, b) = two(vm, "contains", args)?;
    Ok(Value::Bool(vm.contains(a, b)?))
}

/// The callable `itemgetter(...)` returns; the receiver is the items tuple.
fn itemgetter_call(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let (Some(Value::Tuple(items)), Some(obj)) = (args.first(), args.get(1)) else {
        return Err(vm.type_error("itemgetter expected 1 argument, got 0"));
    };
    if args.len() != 2 {
        return Err(vm.type_error(&format!(
            "itemgetter expected 1 argument, got {}",
            args.len() - 1
        )));
    }
    if items.len() == 1 {
        return vm.getitem(obj, &items[0]);
    }
    let mut out = Vec::with_capacity(items.len());
    for k in items.iter() {
        out.push(vm.getitem(obj, k)?);
    }
    Ok(Value::tuple(out))
}

fn itemgetter(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    no_kwargs(vm, "itemgetter", kw)?;
    if args.is_empty() {
        return Err(vm.type_error("itemgetter expected 1 argument, got 0"));
    }
    Ok(bound_native(
        "itemgetter",
        itemgetter_call,
        Value::tuple(args.to_vec()),
    ))
}

fn attr_path(vm: &mut Vm, obj: &Value, path: &Value) -> PyResult<Value> {
    let Value::Str(p) = path else {
        return Err(vm.type_error("attribute name must be a string"));
    };
    let mut cur = obj.clone();
    for part in p.as_str().split('.') {
        cur = vm.getattr(&cur, part)?;
    }
    Ok(cur)
}

fn attrgetter_call(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let (Some(Value::Tuple(names)), Some(obj)) = (args.first(), args.get(1)) else {
        return Err(vm.type_error("attrgetter expected 1 argument, got 0"));
    };
    if names.len() == 1 {
        return attr_path(vm, obj, &names[0]);
    }
    let mut out = Vec::with_capacity(names.len());
    for n in names.iter() {
        out.push(attr_path(vm, obj, n)?);
    }
    Ok(Value::tuple(out))
}

fn attrgetter(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    no_kwargs(vm, "attrgetter", kw)?;
    if args.is_empty() {
        return Err(vm.type_error("attrgetter expected 1 argument, got 0"));
    }
    for a in args {
        if !matches!(a, Value::Str(_)) {
            return Err(vm.type_error("attribute name must be a string"));
        }
    }
    Ok(bound_native(
        "attrgetter",
        attrgetter_call,
        Value::tuple(args.to_vec()),
    ))
}

fn methodcaller_call(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let (Some(Value::Tuple(spec)), Some(obj)) = (args.first(), args.get(1)) else {
        return Err(vm.type_error("methodcaller expected 1 argument, got 0"));
    };
    let Some(Value::Str(name)) = spec.first() else {
        return Err(vm.type_error("method name must be a string"));
    };
    let m = vm.getattr(obj, name.as_str())?;
    vm.call(&m, spec[1..].to_vec())
}

fn methodcaller(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    no_kwargs(vm, "methodcaller", kw)?;
    if !matches!(args.first(), Some(Value::Str(_))) {
        return Err(vm.type_error("method name must be a string"));
    }
    Ok(bound_native(
        "methodcaller",
        methodcaller_call,
        Value::tuple(args.to_vec()),
    ))
}

pub fn init_operator(vm: &mut Vm) -> PyResult<Value> {
    let m = vm.new_module("operator");
    let fns: &[(&str, NativeFn)] = &[
        ("add", op_add),
        ("mul", op_mul),
        ("concat", op_add),
        ("eq", op_eq),
        ("ne", op_ne),
        ("lt", op_lt),
        ("gt", op_gt),
        ("is_", op_is),
        ("is_not", op_is_not),
        ("not_", op_not),
        ("truth", op_truth),
        ("getitem", op_getitem),
        ("contains", op_contains),
        ("itemgetter", itemgetter),
        ("attrgetter", attrgetter),
        ("methodcaller", methodcaller),
    ];
    for (name, f) in fns {
        func(vm, &m, name, *f);
    }
    Ok(Value::Module(m))
}
