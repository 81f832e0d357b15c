//! Constructors of the built-in types: `int(x)`, `float(s)`, `list(it)`,
//! `dict(...)`, `type(x)`, `property(...)`, `super(cls, obj)`, … Each is
//! registered with `set_native_new`, so `args[0]` is the class itself.

use std::cell::RefCell;
use std::rc::Rc;

use covm_vm::Vm;
use covm_vm::dict::{self, Dict};
use covm_vm::format::{parse_float, parse_int};
use covm_vm::value::*;
use num_bigint::BigInt;
use num_traits::ToPrimitive;

use crate::args::*;

/// The call's arguments without the class.
fn rest(args: &[Value]) -> &[Value] {
    args.get(1..).unwrap_or(&[])
}

/// A float to an int, truncating (`int(2.7)`), with CPython's errors for
/// infinities and NaN.
pub fn float_to_int(vm: &Vm, x: f64) -> PyResult<Value> {
    if x.is_nan() {
        return Err(vm.value_error("cannot convert float NaN to integer"));
    }
    if x.is_infinite() {
        return Err(vm.overflow_error("cannot convert float infinity to integer"));
    }
    let t = x.trunc();
    if t.abs() < 9.0e18 {
        return Ok(Value::Int(t as i64));
    }
    Ok(Value::from_bigint(covm_vm::arith::float_to_bigint(t)))
}

/// Calls a conversion dunder (`__int__`, `__index__`, `__float__`) and checks
/// that it returned the right kind.
fn call_conversion(
    vm: &mut Vm,
    v: &Value,
    name: &str,
    want_float: bool,
) -> PyResult<Option<Value>> {
    let Some(f) = vm.lookup_special(v, name) else {
        return Ok(None);
    };
    let r = vm.call(&f, vec![v.clone()])?;
    let ok = if want_float {
        matches!(r, Value::Float(_))
    } else {
        matches!(r, Value::Int(_) | Value::BigInt(_) | Value::Bool(_))
    };
    if !ok {
        let kind = if want_float { "float" } else { "int" };
        let msg = format!("{name} returned non-{kind} (type {})", vm.type_name(&r));
        return Err(vm.type_error(&msg));
    }
    Ok(Some(match r {
        Value::Bool(b) => Value::Int(b as i64),
        other => other,
    }))
}

/// An integer through `__index__` (ints and bools directly).
pub fn index_value(vm: &mut Vm, v: &Value) -> PyResult<Value> {
    match v {
        Value::Int(_) | Value::BigInt(_) => Ok(v.clone()),
        Value::Bool(b) => Ok(Value::Int(*b as i64)),
        Value::Instance(_) | Value::Native(_) => {
            match call_conversion(vm, v, "__index__", false)? {
                Some(r) => Ok(r),
                None => Err(not_integer(vm, v)),
            }
        }
        _ => Err(not_integer(vm, v)),
    }
}

pub fn not_integer(vm: &Vm, v: &Value) -> Value {
    vm.type_error(&format!(
        "'{}' object cannot be interpreted as an integer",
        vm.type_name(v)
    ))
}

/// A value as a BigInt, or `None` when it is not an int.
pub fn to_bigint(v: &Value) -> Option<BigInt> {
    match v {
        Value::Int(i) => Some(BigInt::from(*i)),
        Value::Bool(b) => Some(BigInt::from(*b as i64)),
        Value::BigInt(b) => Some((**b).clone()),
        _ => None,
    }
}

/// Zero code points of the Unicode decimal digit ranges most likely to
/// appear (Arabic-Indic, Devanagari, fullwidth, …).
const DIGIT_ZEROS: &[u32] = &[
    0x660, 0x6F0, 0x7C0, 0x966, 0x9E6, 0xA66, 0xAE6, 0xB66, 0xBE6, 0xC66, 0xCE6, 0xD66, 0xDE6,
    0xE50, 0xED0, 0xF20, 0x1040, 0x1090, 0x17E0, 0x1810, 0x1946, 0x19D0, 0xFF10,
];

/// Replaces non-ASCII decimal digits with ASCII ones, as `int()` and
/// `float()` accept them.
pub fn ascii_digits(s: &str) -> std::borrow::Cow<'_, str> {
    if s.is_ascii() {
        return std::borrow::Cow::Borrowed(s);
    }
    std::borrow::Cow::Owned(
        s.chars()
            .map(|c| {
                let n = c as u32;
                for z in DIGIT_ZEROS {
                    if n >= *z && n < z + 10 {
                        return char::from(b'0' + (n - z) as u8);
                    }
                }
                c
            })
            .collect(),
    )
}

fn int_from_text(vm: &mut Vm, text: &str, base: u32, shown: &Value) -> PyResult<Value> {
    match parse_int(&ascii_digits(text), base) {
        Ok(b) => {
            if text.len() > 640 {
                vm.check_int_text_digits(text.trim(), base)?;
            }
            Ok(Value::from_bigint(b))
        }
        Err(()) => {
            let r = vm.repr(shown)?;
            Err(vm.value_error(&format!("invalid literal for int() with base {base}: {r}")))
        }
    }
}

fn int_new(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let a = rest(args);
    if a.len() > 2 {
        return Err(vm.type_error(&format!(
            "int() takes at most 2 arguments ({} given)",
            a.len() + kw.len()
        )));
    }
    let base = kwarg(vm, "int", kw, &["base"], "base")?;
    if base.is_some() && a.len() == 2 {
        return Err(vm.type_error("argument for int() given by name ('base') and position (2)"));
    }
    let base = base.or_else(|| a.get(1).cloned());
    let Some(x) = a.first() else {
        if base.is_some() {
            return Err(vm.type_error("int() missing string argument"));
        }
        return Ok(Value::Int(0));
    };
    if let Some(b) = base {
        let b = index_value(vm, &b)?;
        let b = match b {
            Value::Int(i) if i == 0 || (2..=36).contains(&i) => i as u32,
            _ => return Err(vm.value_error("int() base must be >= 2 and <= 36, or 0")),
        };
        return match x {
            Value::Str(s) => int_from_text(vm, s.as_str(), b, x),
            Value::Bytes(bs) => {
                let text = String::from_utf8_lossy(bs).into_owned();
                int_from_text(vm, &text, b, x)
            }
            _ => Err(vm.type_error("int() can't convert non-string with explicit base")),
        };
    }
    to_int(vm, x)
}

/// `int(x)` for one argument.
pub fn to_int(vm: &mut Vm, x: &Value) -> PyResult<Value> {
    match x {
        Value::Int(_) | Value::BigInt(_) => Ok(x.clone()),
        Value::Bool(b) => Ok(Value::Int(*b as i64)),
        Value::Float(f) => float_to_int(vm, *f),
        Value::Str(s) => int_from_text(vm, s.as_str(), 10, x),
        Value::Bytes(bs) => {
            let text = String::from_utf8_lossy(bs).into_owned();
            int_from_text(vm, &text, 10, x)
        }
        Value::Instance(_) | Value::Native(_) => {
            for name in ["__int__", "__index__"] {
                if let Some(r) = call_conversion(vm, x, name, false)? {
                    return Ok(r);
                }
            }
            if let Some(f) = vm.lookup_special(x, "__trunc__") {
                let r = vm.call(&f, vec![x.clone()])?;
                return index_value(vm, &r);
            }
            Err(int_type_error(vm, x))
        }
        _ => Err(int_type_error(vm, x)),
    }
}

fn int_type_error(vm: &Vm, x: &Value) -> Value {
    vm.type_error(&format!(
        "int() argument must be a string, a bytes-like object or a real number, not '{}'",
        vm.type_name(x)
    ))
}

fn float_new(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    no_kwargs(vm, "float", kw)?;
    let a = rest(args);
    check_positional(vm, "float", a, 0, 1)?;
    match a.first() {
        None => Ok(Value::Float(0.0)),
        Some(x) => to_float(vm, x).map(Value::Float),
    }
}

/// `float(x)`.
pub fn to_float(vm: &mut Vm, x: &Value) -> PyResult<f64> {
    match x {
        Value::Float(f) => Ok(*f),
        Value::Int(i) => Ok(*i as f64),
        Value::Bool(b) => Ok(*b as i64 as f64),
        Value::BigInt(b) => match b.to_f64() {
            Some(f) if f.is_finite() => Ok(f),
            _ => Err(vm.overflow_error("int too large to convert to float")),
        },
        Value::Str(s) => match parse_float(&ascii_digits(s.as_str())) {
            Ok(f) => Ok(f),
            Err(()) => {
                let r = vm.repr(x)?;
                Err(vm.value_error(&format!("could not convert string to float: {r}")))
            }
        },
        Value::Instance(_) | Value::Native(_) => {
            if let Some(Value::Float(f)) = call_conversion(vm, x, "__float__", true)? {
                return Ok(f);
            }
            if let Some(r) = call_conversion(vm, x, "__index__", false)? {
                return to_float(vm, &r);
            }
            Err(float_type_error(vm, x))
        }
        _ => Err(float_type_error(vm, x)),
    }
}

fn float_type_error(vm: &Vm, x: &Value) -> Value {
    vm.type_error(&format!(
        "float() argument must be a string or a real number, not '{}'",
        vm.type_name(x)
    ))
}

fn bool_new(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    no_kwargs(vm, "bool", kw)?;
    let a = rest(args);
    check_positional(vm, "bool", a, 0, 1)?;
    match a.first() {
        None => Ok(Value::Bool(false)),
        Some(x) => Ok(Value::Bool(vm.truthy(x)?)),
    }
}

fn str_new(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let p = bind_params(vm, "str", rest(args), kw, &["object", "encoding", "errors"])?;
    for (i, what) in [(1, "encoding"), (2, "errors")] {
        if let Some(v) = &p[i]
            && !matches!(v, Value::Str(_))
        {
            return Err(vm.type_error(&format!(
                "str() argument '{what}' must be str, not {}",
                vm.type_name(v)
            )));
        }
    }
    let Some(obj) = &p[0] else {
        return Ok(Value::str(""));
    };
    if p[1].is_none() && p[2].is_none() {
        return match obj {
            Value::Str(_) => Ok(obj.clone()),
            _ => Ok(Value::str(vm.to_str(obj)?)),
        };
    }
    let Value::Bytes(b) = obj else {
        let msg = if matches!(obj, Value::Str(_)) {
            "decoding str is not supported".to_string()
        } else {
            format!(
                "decoding to str: need a bytes-like object, {} found",
                vm.type_name(obj)
            )
        };
        return Err(vm.type_error(&msg));
    };
    let errors = p[2]
        .as_ref()
        .and_then(|v| v.as_str())
        .unwrap_or("strict")
        .to_string();
    decode_bytes(
        vm,
        b,
        p[1].as_ref().and_then(|v| v.as_str()).unwrap_or("utf-8"),
        &errors,
    )
}

/// Decodes bytes as text (UTF-8, ASCII and Latin-1).
pub fn decode_bytes(vm: &mut Vm, b: &[u8], encoding: &str, errors: &str) -> PyResult<Value> {
    let enc = encoding.to_ascii_lowercase().replace(['-', '_'], "");
    match enc.as_str() {
        "utf8" => match std::str::from_utf8(b) {
            Ok(s) => Ok(Value::str(s)),
            Err(e) => {
                if errors == "replace" || errors == "ignore" {
                    let s = String::from_utf8_lossy(b);
                    return Ok(Value::str(if errors == "ignore" {
                        s.replace('\u{FFFD}', "")
                    } else {
                        s.into_owned()
                    }));
                }
                let pos = e.valid_up_to();
                let byte = b.get(pos).copied().unwrap_or(0);
                let why = if e.error_len().is_none() {
                    "unexpected end of data"
                } else if (0xc2..=0xf4).contains(&byte) {
                    "invalid continuation byte"
                } else {
                    "invalid start byte"
                };
                let cls = exc_named(vm, "UnicodeDecodeError");
                Err(vm.new_exc(
                    &cls,
                    &format!(
                        "'utf-8' codec can't decode byte 0x{byte:02x} in position {pos}: {why}"
                    ),
                ))
            }
        },
        "ascii" => {
            if let Some(pos) = b.iter().position(|c| *c >= 0x80) {
                let cls = exc_named(vm, "UnicodeDecodeError");
                return Err(vm.new_exc(
                    &cls,
                    &format!(
                        "'ascii' codec can't decode byte 0x{:02x} in position {pos}: ordinal not in range(128)",
                        b[pos]
                    ),
                ));
            }
            Ok(Value::str(String::from_utf8_lossy(b).into_owned()))
        }
        "latin1" | "iso88591" => Ok(Value::str(b.iter().map(|c| *c as char).collect::<String>())),
        _ => {
            let cls = exc_named(vm, "LookupError");
            Err(vm.new_exc(&cls, &format!("unknown encoding: {encoding}")))
        }
    }
}

/// An exception class from the builtins by name.
pub fn exc_named(vm: &Vm, name: &str) -> Rc<Class> {
    vm.exc_by_name
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, c)| c.clone())
        .unwrap_or_else(|| vm.exc.exception.clone())
}

/// Encodes text (UTF-8, ASCII and Latin-1).
pub fn encode_str(vm: &mut Vm, s: &str, encoding: &str) -> PyResult<Vec<u8>> {
    let enc = encoding.to_ascii_lowercase().replace(['-', '_'], "");
    match enc.as_str() {
        "utf8" => Ok(s.as_bytes().to_vec()),
        "ascii" | "latin1" | "iso88591" => {
            let limit = if enc == "ascii" { 0x80 } else { 0x100 };
            let mut out = Vec::with_capacity(s.len());
            for (pos, c) in s.chars().enumerate() {
                if (c as u32) < limit {
                    out.push(c as u32 as u8);
                } else {
                    let cls = exc_named(vm, "UnicodeEncodeError");
                    let name = if enc == "ascii" { "ascii" } else { "latin-1" };
                    let what = if c as u32 > 0xffff {
                        format!("\\U{:08x}", c as u32)
                    } else if c as u32 > 0xff {
                        format!("\\u{:04x}", c as u32)
                    } else {
                        format!("\\x{:02x}", c as u32)
                    };
                    return Err(vm.new_exc(
                        &cls,
                        &format!(
                            "'{name}' codec can't encode character '{what}' in position {pos}: ordinal not in range({limit})"
                        ),
                    ));
                }
            }
            Ok(out)
        }
        _ => {
            let cls = exc_named(vm, "LookupError");
            Err(vm.new_exc(&cls, &format!("unknown encoding: {encoding}")))
        }
    }
}

fn bytes_new(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let p = bind_params(
        vm,
        "bytes",
        rest(args),
        kw,
        &["source", "encoding", "errors"],
    )?;
    let Some(src) = &p[0] else {
        if p[1].is_some() || p[2].is_some() {
            return Err(vm.type_error(if p[1].is_some() {
                "encoding without a string argument"
            } else {
                "errors without a string argument"
            }));
        }
        return Ok(Value::Bytes(RcSlice::from(Vec::new())));
    };
    if let Value::Str(s) = src {
        let Some(enc) = &p[1] else {
            return Err(vm.type_error("string argument without an encoding"));
        };
        let Value::Str(enc) = enc else {
            return Err(vm.type_error(&format!(
                "bytes() argument 'encoding' must be str, not {}",
                vm.type_name(enc)
            )));
        };
        let b = encode_str(vm, s.as_str(), enc.as_str())?;
        return Ok(Value::Bytes(RcSlice::from(b)));
    }
    if p[1].is_some() {
        return Err(vm.type_error("encoding without a string argument"));
    }
    match src {
        Value::Bytes(b) => Ok(Value::Bytes(b.clone())),
        Value::Int(_) | Value::Bool(_) | Value::BigInt(_) => {
            let n = int_arg(vm, src)?;
            if n < 0 {
                return Err(vm.value_error("negative count"));
            }
            if n > 1 << 32 {
                return Err(vm.new_exc(&vm.exc.memory_error.clone(), ""));
            }
            Ok(Value::Bytes(RcSlice::from(vec![0u8; n as usize])))
        }
        _ => {
            if matches!(src, Value::Instance(_))
                && let Some(f) = vm.lookup_special(src, "__bytes__")
            {
                return vm.call(&f, vec![src.clone()]);
            }
            let items = match vm.collect(src) {
                Ok(v) => v,
                Err(e) if vm.is_instance_of(&e, &vm.exc.type_error.clone()) => {
                    return Err(vm.type_error(&format!(
                        "cannot convert '{}' object to bytes",
                        vm.type_name(src)
                    )));
                }
                Err(e) => return Err(e),
            };
            let mut out = Vec::with_capacity(items.len());
            for it in items {
                let i = index_value(vm, &it)?;
                match i {
                    Value::Int(n) if (0..256).contains(&n) => out.push(n as u8),
                    _ => return Err(vm.value_error("bytes must be in range(0, 256)")),
                }
            }
            Ok(Value::Bytes(RcSlice::from(out)))
        }
    }
}

fn list_new(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    no_kwargs(vm, "list", kw)?;
    let a = rest(args);
    check_positional(vm, "list", a, 0, 1)?;
    match a.first() {
        None => Ok(Value::list(vec![])),
        Some(x) => Ok(Value::list(vm.collect(x)?)),
    }
}

fn tuple_new(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    no_kwargs(vm, "tuple", kw)?;
    let a = rest(args);
    check_positional(vm, "tuple", a, 0, 1)?;
    match a.first() {
        None => Ok(Value::tuple(vec![])),
        Some(Value::Tuple(t)) => Ok(Value::Tuple(t.clone())),
        Some(x) => Ok(Value::tuple(vm.collect(x)?)),
    }
}

fn dict_new(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let a = rest(args);
    check_positional(vm, "dict", a, 0, 1)?;
    let d = Rc::new(RefCell::new(Dict::new()));
    if let Some(src) = a.first() {
        crate::methods_dict::update_from(vm, &d, src)?;
    }
    for (k, v) in kw {
        dict::set(vm, &d, Value::str(&**k), v.clone())?;
    }
    Ok(Value::tracked(Value::Dict(d)))
}

fn set_from(vm: &mut Vm, src: Option<&Value>) -> PyResult<Rc<RefCell<Dict>>> {
    let d = Rc::new(RefCell::new(Dict::new()));
    if let Some(x) = src {
        let items = vm.collect(x)?;
        for item in items {
            dict::add(vm, &d, item)?;
        }
    }
    Ok(d)
}

fn set_new(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    no_kwargs(vm, "set", kw)?;
    let a = rest(args);
    check_positional(vm, "set", a, 0, 1)?;
    Ok(Value::tracked(Value::Set(set_from(vm, a.first())?)))
}

fn frozenset_new(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    no_kwargs(vm, "frozenset", kw)?;
    let a = rest(args);
    check_positional(vm, "frozenset", a, 0, 1)?;
    if let Some(Value::FrozenSet(f)) = a.first() {
        return Ok(Value::FrozenSet(f.clone()));
    }
    Ok(Value::FrozenSet(set_from(vm, a.first())?))
}

fn type_new(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let a = rest(args);
    match a.len() {
        1 if kw.is_empty() => Ok(Value::Class(vm.type_of(&a[0]))),
        3 => Err(vm.type_error("covm does not support type() with 3 arguments yet")),
        _ => Err(vm.type_error("type() takes 1 or 3 arguments")),
    }
}

fn object_new(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    if rest(args).len() + kw.len() > 0 {
        return Err(vm.type_error("object() takes no arguments"));
    }
    Ok(Value::tracked(Value::Instance(Rc::new(Instance {
        class: vm.types.object.clone(),
        dict: RefCell::new(Default::default()),
        traceback: Default::default(),
        gc_mark: Default::default(),
    }))))
}

/// The error of `list.__init__(x)` (and `dict`'s, `set`'s) when `x` is
/// not one, in CPython's words for a slot wrapper.
pub(crate) fn init_receiver_error(vm: &Vm, ty: &str, args: &[Value]) -> Value {
    match args.first() {
        Some(v) => vm.type_error(&format!(
            "descriptor '__init__' requires a '{ty}' object but received a '{}'",
            vm.type_name(v)
        )),
        None => vm.type_error(&format!(
            "descriptor '__init__' of '{ty}' object needs an argument"
        )),
    }
}

/// `C() takes no keyword arguments` / `C expected at most 1 argument, got
/// N`: the checks of `list.__init__` and `set.__init__`.
pub(crate) fn init_arity(vm: &Vm, ty: &str, args: &[Value], kw: &KwArgs) -> PyResult<()> {
    if !kw.is_empty() {
        return Err(vm.type_error(&format!("{ty}() takes no keyword arguments")));
    }
    if args.len() > 2 {
        return Err(vm.type_error(&format!(
            "{ty} expected at most 1 argument, got {}",
            args.len() - 1
        )));
    }
    Ok(())
}

/// `object.__init__`: rejects arguments unless a subclass's `__init__`
/// is the one that was called.
fn object_init(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let Some(me) = args.first() else {
        return Err(vm.type_error("descriptor '__init__' of 'object' object needs an argument"));
    };
    if args.len() > 1 || !kw.is_empty() {
        let cls = vm.type_of(me);
        let found = vm.class_lookup(&cls, "__init__");
        let base = vm.types.object.dict.borrow().get("__init__").cloned();
        let own = matches!((found, base), (Some(a), Some(b)) if a.is(&b));
        if own {
            return Err(vm.type_error(&format!("{}() takes no arguments", cls.name)));
        }
        return Err(vm.type_error(
            "object.__init__() takes exactly one argument (the instance to initialize)",
        ));
    }
    Ok(Value::None)
}

/// `object.__repr__`: `<__main__.A object at 0x...>`.
fn object_repr(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let Some(me) = args.first() else {
        return Err(vm.type_error("descriptor '__repr__' of 'object' object needs an argument"));
    };
    let cls = vm.type_of(me);
    if matches!(me, Value::Instance(_)) {
        let module = if cls.module.as_ref() == "builtins" {
            String::new()
        } else {
            format!("{}.", cls.module)
        };
        return Ok(Value::str(format!(
            "<{module}{} object at {:#x}>",
            cls.qualname,
            me.addr()
        )));
    }
    Ok(Value::str(vm.repr(me)?))
}

/// `object.__str__`: the object's repr.
fn object_str(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let Some(me) = args.first() else {
        return Err(vm.type_error("descriptor '__str__' of 'object' object needs an argument"));
    };
    Ok(Value::str(vm.repr(me)?))
}

fn attr_name_arg(vm: &Vm, v: Option<&Value>) -> PyResult<String> {
    match v {
        Some(Value::Str(s)) => Ok(s.as_str().to_string()),
        Some(other) => Err(vm.type_error(&format!(
            "attribute name must be string, not '{}'",
            vm.type_name(other)
        ))),
        None => Err(vm.type_error("expected 2 arguments, got 0")),
    }
}

/// `object.__setattr__(obj, name, value)`: the plain assignment, without
/// the class's own `__setattr__`.
fn object_setattr(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    if args.len() != 3 {
        return Err(vm.type_error(&format!(
            "expected 2 arguments, got {}",
            args.len().saturating_sub(1)
        )));
    }
    let name = attr_name_arg(vm, args.get(1))?;
    match &args[0] {
        Value::Instance(inst) => {
            if let Some(Value::Property(_)) = vm.class_lookup(&inst.class, &name) {
                vm.setattr(&args[0], &name, args[2].clone())?;
                return Ok(Value::None);
            }
            let old = inst
                .dict
                .borrow_mut()
                .insert(Rc::from(name.as_str()), args[2].clone());
            drop(old);
            Ok(Value::None)
        }
        other => {
            vm.setattr(other, &name, args[2].clone())?;
            Ok(Value::None)
        }
    }
}

fn object_delattr(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    if args.len() != 2 {
        return Err(vm.type_error(&format!(
            "expected 1 argument, got {}",
            args.len().saturating_sub(1)
        )));
    }
    let name = attr_name_arg(vm, args.get(1))?;
    vm.delattr_generic(&args[0], &name)?;
    Ok(Value::None)
}

fn object_hash(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let Some(me) = args.first() else {
        return Err(vm.type_error("descriptor '__hash__' of 'object' object needs an argument"));
    };
    Ok(Value::Int(((me.addr() >> 4) as i64) & (i64::MAX >> 1)))
}

fn object_format(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let (Some(me), Some(spec)) = (args.first(), args.get(1)) else {
        return Err(vm.type_error("object.__format__() takes exactly one argument"));
    };
    match spec {
        Value::Str(s) if s.as_str().is_empty() => Ok(Value::str(vm.to_str(me)?)),
        Value::Str(_) => Err(vm.type_error(&format!(
            "unsupported format string passed to {}.__format__",
            vm.type_name(me)
        ))),
        other => Err(vm.type_error(&format!(
            "__format__() argument must be str, not {}",
            vm.type_name(other)
        ))),
    }
}

fn property_new(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let a = rest(args);
    if a.len() > 4 {
        return Err(vm.type_error(&format!(
            "property() takes at most 4 arguments ({} given)",
            a.len() + kw.len()
        )));
    }
    let p = bind_params(vm, "property", a, kw, &["fget", "fset", "fdel", "doc"])?;
    let get = |i: usize| p[i].clone().unwrap_or(Value::None);
    Ok(Value::Property(Rc::new(Property {
        fget: get(0),
        fset: get(1),
        fdel: get(2),
        name: Default::default(),
    })))
}

fn property_with(vm: &mut Vm, args: &[Value], which: usize, name: &str) -> PyResult<Value> {
    let Some(Value::Property(p)) = args.first() else {
        return Err(vm.type_error(&format!(
            "descriptor '{name}' for 'property' objects doesn't apply to this object"
        )));
    };
    if args.len() != 2 {
        return Err(vm.type_error(&format!(
            "property.{name}() takes exactly one argument ({} given)",
            args.len().saturating_sub(1)
        )));
    }
    let f = args[1].clone();
    let mut parts = [p.fget.clone(), p.fset.clone(), p.fdel.clone()];
    parts[which] = f;
    let [fget, fset, fdel] = parts;
    Ok(Value::Property(Rc::new(Property {
        fget,
        fset,
        fdel,
        name: p.name.clone(),
    })))
}

fn property_getter(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    property_with(vm, args, 0, "getter")
}
fn property_setter(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    property_with(vm, args, 1, "setter")
}
fn property_deleter(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    property_with(vm, args, 2, "deleter")
}

fn staticmethod_new(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    no_kwargs(vm, "staticmethod", kw)?;
    let a = rest(args);
    check_positional(vm, "staticmethod", a, 1, 1)?;
    Ok(Value::StaticMethod(Rc::new(a[0].clone())))
}

fn classmethod_new(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    no_kwargs(vm, "classmethod", kw)?;
    let a = rest(args);
    check_positional(vm, "classmethod", a, 1, 1)?;
    Ok(Value::ClassMethod(Rc::new(a[0].clone())))
}

fn super_new(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    no_kwargs(vm, "super", kw)?;
    let a = rest(args);
    match a.len() {
        0 => return Err(vm.runtime_error("super(): no arguments")),
        1 | 2 => {}
        n => {
            return Err(vm.type_error(&format!("super() takes at most 2 arguments ({n} given)")));
        }
    }
    let Value::Class(cls) = &a[0] else {
        return Err(vm.type_error(&format!(
            "super() argument 1 must be a type, not {}",
            vm.type_name(&a[0])
        )));
    };
    let Some(obj) = a.get(1) else {
        return Err(vm.type_error("covm does not support unbound super objects yet"));
    };
    let ok = match obj {
        Value::Class(c) => vm.is_subclass(c, cls) || vm.is_instance_of(obj, cls),
        _ => vm.is_instance_of(obj, cls),
    };
    if !ok {
        return Err(vm.type_error("super(type, obj): obj must be an instance or subtype of type"));
    }
    Ok(Value::Super(Rc::new(SuperObj {
        class: cls.clone(),
        obj: obj.clone(),
    })))
}

fn slice_new(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    no_kwargs(vm, "slice", kw)?;
    let a = rest(args);
    check_positional(vm, "slice", a, 1, 3)?;
    let (start, stop, step) = match a.len() {
        1 => (Value::None, a[0].clone(), Value::None),
        2 => (a[0].clone(), a[1].clone(), Value::None),
        _ => (a[0].clone(), a[1].clone(), a[2].clone()),
    };
    Ok(Value::Slice(Rc::new(SliceObj { start, stop, step })))
}

pub fn install(vm: &mut Vm) {
    let t = &vm.types;
    let news: Vec<(Rc<Class>, NativeFn)> = vec![
        (t.int.clone(), int_new),
        (t.float.clone(), float_new),
        (t.bool_.clone(), bool_new),
        (t.str_.clone(), str_new),
        (t.list.clone(), list_new),
        (t.tuple.clone(), tuple_new),
        (t.dict.clone(), dict_new),
        (t.set.clone(), set_new),
        (t.frozenset.clone(), frozenset_new),
        (t.type_.clone(), type_new),
        (t.object.clone(), object_new),
        (t.property.clone(), property_new),
        (t.staticmethod.clone(), staticmethod_new),
        (t.classmethod.clone(), classmethod_new),
        (t.super_.clone(), super_new),
        (t.slice.clone(), slice_new),
        (t.bytes.clone(), bytes_new),
    ];
    for (cls, f) in news {
        vm.set_native_new(&cls, f);
    }
    let object = vm.types.object.clone();
    let object_methods: [(&str, NativeFn); 7] = [
        ("__init__", object_init),
        ("__repr__", object_repr),
        ("__str__", object_str),
        ("__setattr__", object_setattr),
        ("__delattr__", object_delattr),
        ("__hash__", object_hash),
        ("__format__", object_format),
    ];
    for (name, f) in object_methods {
        vm.add_method(&object, name, f);
    }
    let prop = vm.types.property.clone();
    vm.add_method(&prop, "getter", property_getter);
    vm.add_method(&prop, "setter", property_setter);
    vm.add_method(&prop, "deleter", property_deleter);
}
