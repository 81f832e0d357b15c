//! `_covm`: helpers the stdlib modules written in covm source
//! (`stdlib/py/*.py`) need and the language does not offer.

use std::cell::RefCell;
use std::rc::Rc;

use covm_vm::Vm;
use covm_vm::value::*;

use crate::args::*;
use crate::modules::func;

/// The modules written in covm source, embedded in the binary and
/// compiled the first time a program imports them.
pub const SOURCES: &[(&str, &str)] = &[
    ("__future__", include_str!("../py/__future__.py")),
    ("abc", include_str!("../py/abc.py")),
    ("types", include_str!("../py/types.py")),
    ("queue", include_str!("../py/queue.py")),
    ("collections.abc", include_str!("../py/collections_abc.py")),
    ("typing", include_str!("../py/typing.py")),
    ("contextlib", include_str!("../py/contextlib.py")),
    ("dataclasses", include_str!("../py/dataclasses.py")),
    ("enum", include_str!("../py/enum.py")),
    ("importlib", include_str!("../py/importlib.py")),
];

pub fn init(vm: &mut Vm) -> PyResult<Value> {
    let m = vm.new_module("_covm");
    func(vm, &m, "new_instance", new_instance);
    func(vm, &m, "is_generator_function", is_generator_function);
    func(vm, &m, "import_module", import_module);
    func(vm, &m, "make_class", make_class);
    Ok(Value::Module(m))
}

/// `new_instance(cls)`: an instance of a class defined in covm code,
/// without running `__init__` (what `object.__new__(cls)` gives).
fn new_instance(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    no_kwargs(vm, "new_instance", kw)?;
    check_count(vm, "new_instance", args, 1, 1)?;
    match &args[0] {
        Value::Class(c) if c.builtin.is_none() => {
            Ok(Value::tracked(Value::Instance(Rc::new(Instance {
                class: c.clone(),
                dict: RefCell::new(Default::default()),
                traceback: Default::default(),
                gc_mark: Default::default(),
            }))))
        }
        other => {
            let msg = format!(
                "new_instance() needs a class, not '{}'",
                vm.type_name(other)
            );
            Err(vm.type_error(&msg))
        }
    }
}

/// True for a function defined with `def` that contains `yield`.
fn is_generator_function(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    no_kwargs(vm, "is_generator_function", kw)?;
    check_count(vm, "is_generator_function", args, 1, 1)?;
    Ok(Value::Bool(match &args[0] {
        Value::Function(f) => f.code.flags & covm_vm::code::FLAG_GENERATOR != 0,
        _ => false,
    }))
}

/// `_covm.import_module(name)`: imports an absolute dotted name and
/// returns the module itself (the last component).
fn import_module(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    no_kwargs(vm, "import_module", kw)?;
    check_count(vm, "import_module", args, 1, 1)?;
    match &args[0] {
        Value::Str(s) => vm.import(s.as_str()),
        other => {
            let msg = format!("module name must be str, not {}", vm.type_name(other));
            Err(vm.type_error(&msg))
        }
    }
}

/// The builtin `__import__(name, globals=None, locals=None, fromlist=(),
/// level=0)`: imports `name` and returns its top-level package, or the
/// module itself when `fromlist` is not empty.
pub fn dunder_import(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    check_count(vm, "__import__", args, 1, 5)?;
    let get = |i: usize, key: &str| -> Value {
        args.get(i)
            .cloned()
            .or_else(|| kw.iter().find(|(k, _)| &**k == key).map(|(_, v)| v.clone()))
            .unwrap_or(Value::None)
    };
    let Value::Str(name) = &args[0] else {
        let msg = format!(
            "__import__() argument 1 must be str, not {}",
            vm.type_name(&args[0])
        );
        return Err(vm.type_error(&msg));
    };
    let level = match get(4, "level") {
        Value::Int(i) => i.max(0) as usize,
        _ => 0,
    };
    let fromlist = get(3, "fromlist");
    let m = if level > 0 {
        // Relative to the calling module.
        let Some(globals) = vm.frames.last().map(|f| f.globals.clone()) else {
            return Err(vm.type_error("__import__() with a level needs a caller"));
        };
        let dotted = format!("{}{}", ".".repeat(level), name.as_str());
        vm.import_in(&dotted, &globals)?
    } else {
        vm.import(name.as_str())?
    };
    let has_fromlist = match &fromlist {
        Value::None => false,
        v => !vm.collect(v)?.is_empty(),
    };
    if has_fromlist || level > 0 {
        return Ok(m);
    }
    let top = name.as_str().split('.').next().unwrap_or("");
    vm.import(top)
}

/// `make_class(name, bases, namespace)`: a class built at run time, as a
/// class statement would build it.
fn make_class(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    no_kwargs(vm, "make_class", kw)?;
    check_count(vm, "make_class", args, 3, 3)?;
    let Value::Str(name) = &args[0] else {
        return Err(vm.type_error("make_class() name must be a str"));
    };
    let mut bases = Vec::new();
    for b in vm.collect(&args[1])? {
        match b {
            Value::Class(c) => bases.push(c),
            other => {
                let msg = format!("bases must be classes, not '{}'", vm.type_name(&other));
                return Err(vm.type_error(&msg));
            }
        }
    }
    let mut ns = Namespace::default();
    let Value::Dict(d) = &args[2] else {
        return Err(vm.type_error("make_class() namespace must be a dict"));
    };
    let items = d.borrow().items();
    for (k, v) in items {
        let Value::Str(k) = k else {
            return Err(vm.type_error("make_class() namespace keys must be str"));
        };
        ns.insert(Rc::from(k.as_str()), v);
    }
    vm.make_class(name.as_str(), bases, ns).map(Value::Class)
}

/// `types.MethodType(func, obj)`: `func` bound to `obj`.
pub fn method_new(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    no_kwargs(vm, "method", kw)?;
    // args[0] is the class itself.
    if args.len() != 3 {
        let msg = format!(
            "method expected 2 arguments, got {}",
            args.len().saturating_sub(1)
        );
        return Err(vm.type_error(&msg));
    }
    if !crate::builtins::is_callable(vm, &args[1]) {
        return Err(vm.type_error("first argument must be callable"));
    }
    if args[2].is_none() {
        return Err(vm.type_error("instance must not be None"));
    }
    Ok(Value::BoundMethod(Rc::new(BoundMethod {
        receiver: args[2].clone(),
        func: args[1].clone(),
    })))
}
