//! Built-in modules: `math`, `time`, `sys`, `os`, `collections`, `heapq`, …
//!
//! Each module lives in its own `mod_*.rs` file and is registered here by
//! name; the VM builds a module the first time a program imports it.

use std::rc::Rc;

use covm_vm::Vm;
use covm_vm::value::*;

pub fn install(vm: &mut Vm) {
    let mods: [(&'static str, covm_vm::vm::ModuleInit); 11] = [
        ("math", crate::mod_math::init),
        ("time", crate::mod_time::init),
        ("sys", crate::mod_sys::init),
        ("os", crate::mod_os::init),
        ("collections", crate::mod_collections::init),
        ("heapq", crate::mod_heapq::init),
        ("functools", crate::mod_functools::init),
        ("itertools", crate::mod_itertools::init),
        ("inspect", crate::mod_inspect::init),
        ("string", crate::mod_misc::init_string),
        ("operator", crate::mod_misc::init_operator),
    ];
    for (name, init) in mods {
        vm.native_modules.insert(name, init);
    }
    vm.native_modules
        .insert("asyncio", crate::mod_asyncio::init);
    vm.native_modules.insert("random", crate::mod_random::init);
    vm.native_modules
        .insert("contextvars", crate::mod_contextvars::init);
    for (name, init) in [
        (
            "test",
            crate::mod_asyncio::init_test as covm_vm::vm::ModuleInit,
        ),
        ("test.test_asyncio", crate::mod_asyncio::init_test_asyncio),
        (
            "test.test_asyncio.utils",
            crate::mod_asyncio::init_test_utils,
        ),
    ] {
        vm.fallback_modules.insert(name, init);
    }
    vm.native_modules.insert("gc", crate::mod_gc::init);
    vm.native_modules.insert("re", crate::mod_re::init);
    vm.native_modules.insert("json", crate::mod_json::init);
    vm.native_modules.insert("_covm", crate::mod_covm::init);
    vm.add_builtin("__import__", crate::mod_covm::dunder_import);
    let method = vm.types.method.clone();
    vm.set_native_new(&method, crate::mod_covm::method_new);
    for (name, src) in crate::mod_covm::SOURCES {
        vm.add_source_module(name, src);
    }
    vm.native_modules.insert("_types", crate::mod_types::init);
    crate::mod_os::install_exception_methods(vm);
    crate::mod_sys::install_exception_methods(vm);
}

// ---- helpers shared by the modules ----------------------------------------

/// Sets `name` in a module's namespace.
pub(crate) fn set(m: &Module, name: &str, v: Value) {
    m.globals.borrow_mut().insert(Rc::from(name), v);
}

/// Adds a native function to a module.
pub(crate) fn func(vm: &Vm, m: &Module, name: &str, f: NativeFn) {
    let v = vm.native(name, f);
    set(m, name, v);
}

/// The class stored on the VM under `key`, created (and its methods added
/// by `setup`) the first time it is needed.
pub(crate) fn native_class(
    vm: &mut Vm,
    key: &'static str,
    name: &str,
    module: &str,
    setup: fn(&mut Vm, &Rc<Class>),
) -> Rc<Class> {
    if let Some(c) = vm.extensions.get(key)
        && let Ok(c) = c.clone().downcast::<Class>()
    {
        return c;
    }
    let cls = vm.new_native_class(name, module);
    setup(vm, &cls);
    vm.extensions.insert(key, cls.clone());
    cls
}

/// The Rust object behind a native value, if it is a `T`.
#[inline]
pub(crate) fn downcast<T: 'static>(v: &Value) -> Option<&T> {
    match v {
        // Upcast rather than `as_any()`: one virtual call, not two (every
        // `as_any` returns `self`).
        Value::Native(n) => (&**n as &dyn std::any::Any).downcast_ref::<T>(),
        _ => None,
    }
}

/// A native function with a bound first argument (like a closure over one
/// value): calling it passes `receiver` first.
pub(crate) fn bound_native(name: &str, f: NativeFn, receiver: Value) -> Value {
    Value::Builtin(Rc::new(Builtin {
        name: Rc::from(name),
        func: f,
        receiver: Some(receiver),
        special: Special::None,
    }))
}

/// Puts a comparison dunder in a class dict. The VM's comparison protocol
/// skips plain builtins (the inherited `object` defaults), so it is stored
/// as a static method, which the protocol calls with both operands.
pub(crate) fn add_cmp_method(vm: &Vm, cls: &Rc<Class>, name: &str, f: NativeFn) {
    let v = vm.native(name, f);
    cls.dict
        .borrow_mut()
        .insert(Rc::from(name), Value::StaticMethod(Rc::new(v)));
}

/// The receiver of a method call, downcast to `T`, or CPython's
/// "descriptor requires" TypeError.
#[inline]
pub(crate) fn this<'a, T: 'static>(
    vm: &Vm,
    args: &'a [Value],
    what: &str,
    method: &str,
) -> PyResult<&'a T> {
    match args.first().and_then(|v| downcast::<T>(v)) {
        Some(t) => Ok(t),
        None => Err(this_error(vm, args, what, method)),
    }
}

/// `this`'s error, out of line: every native method inlines the check.
#[cold]
#[inline(never)]
fn this_error(vm: &Vm, args: &[Value], what: &str, method: &str) -> Value {
    vm.type_error(&format!(
        "descriptor '{method}' requires a '{what}' object but received '{}'",
        args.first()
            .map(|v| vm.type_name(v))
            .unwrap_or_else(|| "nothing".into())
    ))
}

/// `a + b` for the built-in types natives combine (ints, floats, strs,
/// lists, tuples), else through `__add__`/`__radd__`.
pub(crate) fn add_values(vm: &mut Vm, a: &Value, b: &Value) -> PyResult<Value> {
    arith(vm, a, b, '+')
}

/// `a * b`, like `add_values`.
pub(crate) fn mul_values(vm: &mut Vm, a: &Value, b: &Value) -> PyResult<Value> {
    arith(vm, a, b, '*')
}

fn as_big(v: &Value) -> Option<num_bigint::BigInt> {
    match v {
        Value::Int(i) => Some((*i).into()),
        Value::Bool(b) => Some((*b as i64).into()),
        Value::BigInt(b) => Some((**b).clone()),
        _ => None,
    }
}

fn as_float(v: &Value) -> Option<f64> {
    use num_traits::ToPrimitive;
    match v {
        Value::Int(i) => Some(*i as f64),
        Value::Bool(b) => Some(*b as i64 as f64),
        Value::BigInt(b) => b.to_f64(),
        Value::Float(f) => Some(*f),
        _ => None,
    }
}

fn arith(vm: &mut Vm, a: &Value, b: &Value, op: char) -> PyResult<Value> {
    if let (Value::Int(x), Value::Int(y)) = (a, b) {
        let r = if op == '+' {
            x.checked_add(*y)
        } else {
            x.checked_mul(*y)
        };
        if let Some(r) = r {
            return Ok(Value::Int(r));
        }
    }
    if let (Some(x), Some(y)) = (as_big(a), as_big(b)) {
        return Ok(Value::from_bigint(if op == '+' { x + y } else { x * y }));
    }
    let num = |v: &Value| {
        matches!(
            v,
            Value::Int(_) | Value::Bool(_) | Value::BigInt(_) | Value::Float(_)
        )
    };
    if num(a) && num(b) {
        if let (Some(x), Some(y)) = (as_float(a), as_float(b)) {
            return Ok(Value::Float(if op == '+' { x + y } else { x * y }));
        }
        return Err(vm.overflow_error("int too large to convert to float"));
    }
    if op == '+' {
        match (a, b) {
            (Value::Str(x), Value::Str(y)) => {
                let mut s = String::with_capacity(x.s.len() + y.s.len());
                s.push_str(x.as_str());
                s.push_str(y.as_str());
                return Ok(Value::str(s));
            }
            (Value::List(x), Value::List(y)) => {
                let mut v = x.borrow().clone();
                v.extend(y.borrow().iter().cloned());
                return Ok(Value::list(v));
            }
            (Value::Tuple(x), Value::Tuple(y)) => {
                let mut v = x.to_vec();
                v.extend(y.iter().cloned());
                return Ok(Value::tuple(v));
            }
            _ => {}
        }
    }
    let (name, rname) = if op == '+' {
        ("__add__", "__radd__")
    } else {
        ("__mul__", "__rmul__")
    };
    if let Some(f) = vm.lookup_special(a, name) {
        let r = vm.call(&f, vec![a.clone(), b.clone()])?;
        if !matches!(r, Value::NotImplemented) {
            return Ok(r);
        }
    }
    if let Some(f) = vm.lookup_special(b, rname) {
        let r = vm.call(&f, vec![b.clone(), a.clone()])?;
        if !matches!(r, Value::NotImplemented) {
            return Ok(r);
        }
    }
    let msg = format!(
        "unsupported operand type(s) for {op}: '{}' and '{}'",
        vm.type_name(a),
        vm.type_name(b)
    );
    Err(vm.type_error(&msg))
}
