//! The `inspect` module: generator and coroutine states and the `is*`
//! predicates.

use covm_vm::Vm;
use covm_vm::code::{FLAG_ASYNC_GENERATOR, FLAG_COROUTINE, FLAG_GENERATOR};
use covm_vm::value::*;

use crate::args::*;
use crate::modules::{func, set};

fn one<'a>(vm: &Vm, name: &str, args: &'a [Value], kw: &KwArgs) -> PyResult<&'a Value> {
    no_kwargs(vm, name, kw)?;
    if args.len() != 1 {
        return Err(vm.type_error(&format!(
            "{name}() takes 1 positional argument but {} were given",
            args.len()
        )));
    }
    Ok(&args[0])
}

/// The state through the attribute protocol (`gi_running`, `gi_suspended`,
/// `gi_frame`), as CPython's inspect does it, for objects that are not the
/// expected generator kind.
fn state_by_attrs(vm: &mut Vm, obj: &Value, prefix: &str, names: [&str; 4]) -> PyResult<Value> {
    let running = vm.getattr(obj, &format!("{prefix}_running"))?;
    if vm.truthy(&running)? {
        return Ok(Value::str(names[1]));
    }
    let suspended = vm.getattr(obj, &format!("{prefix}_suspended"))?;
    if vm.truthy(&suspended)? {
        return Ok(Value::str(names[2]));
    }
    let frame = vm.getattr(obj, &format!("{prefix}_frame"))?;
    if frame.is_none() {
        return Ok(Value::str(names[3]));
    }
    Ok(Value::str(names[0]))
}

fn state_name(g: &Generator, names: [&str; 4]) -> Value {
    Value::str(match g.state.get() {
        GenState::Created => names[0],
        GenState::Running => names[1],
        GenState::Suspended => names[2],
        GenState::Closed => names[3],
    })
}

const GEN_NAMES: [&str; 4] = ["GEN_CREATED", "GEN_RUNNING", "GEN_SUSPENDED", "GEN_CLOSED"];
const CORO_NAMES: [&str; 4] = [
    "CORO_CREATED",
    "CORO_RUNNING",
    "CORO_SUSPENDED",
    "CORO_CLOSED",
];

fn getgeneratorstate(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let g = one(vm, "getgeneratorstate", args, kw)?;
    match g {
        Value::Generator(g) if g.kind == GenKind::Generator => Ok(state_name(g, GEN_NAMES)),
        other => state_by_attrs(vm, other, "gi", GEN_NAMES),
    }
}

fn getcoroutinestate(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let g = one(vm, "getcoroutinestate", args, kw)?;
    match g {
        Value::Generator(g) if g.kind == GenKind::Coroutine => Ok(state_name(g, CORO_NAMES)),
        other => state_by_attrs(vm, other, "cr", CORO_NAMES),
    }
}

fn getasyncgenstate(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let g = one(vm, "getasyncgenstate", args, kw)?;
    const NAMES: [&str; 4] = [
        "AGEN_CREATED",
        "AGEN_RUNNING",
        "AGEN_SUSPENDED",
        "AGEN_CLOSED",
    ];
    match g {
        Value::Generator(g) if g.kind == GenKind::AsyncGenerator => Ok(state_name(g, NAMES)),
        other => state_by_attrs(vm, other, "ag", NAMES),
    }
}

/// The code flags of a function (through bound methods), if it is one.
fn code_flags(v: &Value) -> Option<u32> {
    match v {
        Value::Function(f) => Some(f.code.flags),
        Value::BoundMethod(m) => code_flags(&m.func),
        Value::StaticMethod(f) | Value::ClassMethod(f) => code_flags(f),
        _ => None,
    }
}

fn pred(
    vm: &mut Vm,
    name: &str,
    args: &[Value],
    kw: &KwArgs,
    f: fn(&Value) -> bool,
) -> PyResult<Value> {
    let v = one(vm, name, args, kw)?;
    Ok(Value::Bool(f(v)))
}

macro_rules! predicate {
    ($rust:ident, $name:literal, $f:expr) => {
        fn $rust(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
            pred(vm, $name, args, kw, $f)
        }
    };
}

predicate!(
    isgenerator,
    "isgenerator",
    |v| matches!(v, Value::Generator(g) if g.kind == GenKind::Generator)
);
predicate!(
    iscoroutine,
    "iscoroutine",
    |v| matches!(v, Value::Generator(g) if g.kind == GenKind::Coroutine)
);
predicate!(
    isasyncgen,
    "isasyncgen",
    |v| matches!(v, Value::Generator(g) if g.kind == GenKind::AsyncGenerator)
);
predicate!(isgeneratorfunction, "isgeneratorfunction", |v| code_flags(
    v
)
.is_some_and(|f| f & FLAG_GENERATOR != 0));
predicate!(iscoroutinefunction, "iscoroutinefunction", |v| code_flags(
    v
)
.is_some_and(|f| f & FLAG_COROUTINE != 0));
predicate!(isasyncgenfunction, "isasyncgenfunction", |v| code_flags(v)
    .is_some_and(|f| f & FLAG_ASYNC_GENERATOR != 0));
predicate!(isfunction, "isfunction", |v| matches!(
    v,
    Value::Function(_)
));
predicate!(
    ismethod,
    "ismethod",
    |v| matches!(v, Value::BoundMethod(m) if matches!(m.func, Value::Function(_)))
);
predicate!(isclass, "isclass", |v| matches!(v, Value::Class(_)));
predicate!(ismodule, "ismodule", |v| matches!(v, Value::Module(_)));
predicate!(isbuiltin, "isbuiltin", |v| matches!(v, Value::Builtin(_))
    || matches!(v, Value::BoundMethod(m) if matches!(m.func, Value::Builtin(_))));
predicate!(iscode, "iscode", |v| matches!(v, Value::Code(_)));
predicate!(isroutine, "isroutine", |v| matches!(
    v,
    Value::Function(_) | Value::Builtin(_) | Value::BoundMethod(_)
));

fn isawaitable(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let v = one(vm, "isawaitable", args, kw)?;
    Ok(Value::Bool(match v {
        Value::Generator(g) => g.kind == GenKind::Coroutine,
        other => vm.lookup_special(other, "__await__").is_some(),
    }))
}

fn getdoc(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let v = one(vm, "getdoc", args, kw)?;
    let doc = vm.getattr_opt(v, "__doc__")?.unwrap_or(Value::None);
    let Value::Str(s) = &doc else {
        return Ok(Value::None);
    };
    Ok(Value::str(cleandoc(s.as_str())))
}

/// `inspect.cleandoc`: strips the common indentation of the lines after
/// the first, and leading/trailing blank lines.
fn cleandoc(doc: &str) -> String {
    let expanded = doc.replace('\t', "        ");
    let lines: Vec<&str> = expanded.split('\n').collect();
    let margin = lines
        .iter()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    let mut out: Vec<String> = Vec::with_capacity(lines.len());
    if let Some(first) = lines.first() {
        out.push(first.trim_start().to_string());
    }
    for l in lines.iter().skip(1) {
        out.push(if l.len() >= margin {
            l[margin..].to_string()
        } else {
            l.trim_start().to_string()
        });
    }
    while out.last().is_some_and(|l| l.trim().is_empty()) {
        out.pop();
    }
    while out.first().is_some_and(|l| l.trim().is_empty()) {
        out.remove(0);
    }
    out.join("\n")
}

fn cleandoc_fn(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let v = one(vm, "cleandoc", args, kw)?;
    match v {
        Value::Str(s) => Ok(Value::str(cleandoc(s.as_str()))),
        other => {
            let msg = format!(
                "'{}' object has no attribute 'expandtabs'",
                vm.type_name(other)
            );
            Err(vm.attribute_error(&msg))
        }
    }
}

pub fn init(vm: &mut Vm) -> PyResult<Value> {
    let m = vm.new_module("inspect");
    let fns: &[(&str, NativeFn)] = &[
        ("getgeneratorstate", getgeneratorstate),
        ("getcoroutinestate", getcoroutinestate),
        ("getasyncgenstate", getasyncgenstate),
        ("isgenerator", isgenerator),
        ("iscoroutine", iscoroutine),
        ("isasyncgen", isasyncgen),
        ("isgeneratorfunction", isgeneratorfunction),
        ("iscoroutinefunction", iscoroutinefunction),
        ("isasyncgenfunction", isasyncgenfunction),
        ("isfunction", isfunction),
        ("ismethod", ismethod),
        ("isclass", isclass),
        ("ismodule", ismodule),
        ("isbuiltin", isbuiltin),
        ("iscode", iscode),
        ("isroutine", isroutine),
        ("isawaitable", isawaitable),
        ("getdoc", getdoc),
        ("cleandoc", cleandoc_fn),
    ];
    for (name, f) in fns {
        func(vm, &m, name, *f);
    }
    for names in [GEN_NAMES, CORO_NAMES] {
        for n in names {
            set(&m, n, Value::str(n));
        }
    }
    Ok(Value::Module(m))
}
