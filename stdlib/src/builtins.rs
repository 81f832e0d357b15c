//! Built-in functions (`print`, `len`, `sorted`, `min`, …) and the
//! registration of the built-in types' names. The constructors of the
//! types live in `builtins_types.rs`, `open` in `file.rs`.

use std::cell::RefCell;
use std::rc::Rc;

use covm_parser::ast::{BinOp, CmpOp};
use covm_vm::Vm;
use covm_vm::dict::{self, Dict};
use covm_vm::value::*;
use num_bigint::BigInt;
use num_integer::Integer;
use num_traits::{One, Signed, ToPrimitive, Zero};

use crate::args::*;
use crate::builtins_types::{exc_named, float_to_int, index_value, to_bigint};

// ---- output and input -------------------------------------------------------

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
    let flush = match kwarg(vm, "print", kw, &allowed, "flush")? {
        None => false,
        Some(v) => vm.truthy(&v)?,
    };
    let file = match kwarg(vm, "print", kw, &allowed, "file")? {
        None | Some(Value::None) => crate::mod_sys::redirected_stdout(vm),
        f => f,
    };
    match file {
        None => {
            let mut out = String::new();
            for (i, a) in args.iter().enumerate() {
                if i > 0 {
                    out.push_str(&sep);
                }
                out.push_str(&vm.to_str(a)?);
            }
            out.push_str(&end);
            vm.write_out(&out)?;
            if flush {
                let _ = vm.flush();
            }
        }
        Some(f) => {
            // CPython writes each piece with its own `write` call.
            let write = vm.getattr(&f, "write")?;
            for (i, a) in args.iter().enumerate() {
                if i > 0 {
                    vm.call(&write, vec![Value::str(sep.as_str())])?;
                }
                let s = vm.to_str(a)?;
                vm.call(&write, vec![Value::str(s)])?;
            }
            vm.call(&write, vec![Value::str(end)])?;
            if flush && let Some(fl) = vm.getattr_opt(&f, "flush")? {
                vm.call(&fl, vec![])?;
            }
        }
    }
    Ok(Value::None)
}

fn input(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    no_kwargs(vm, "input", kw)?;
    check_positional(vm, "input", args, 0, 1)?;
    if let Some(p) = args.first() {
        let s = vm.to_str(p)?;
        vm.write_out(&s)?;
    }
    let _ = vm.flush();
    let mut line = String::new();
    match std::io::stdin().read_line(&mut line) {
        Ok(0) => {
            let cls = exc_named(vm, "EOFError");
            Err(vm.new_exc(&cls, "EOF when reading a line"))
        }
        Ok(_) => {
            if line.ends_with('\n') {
                line.pop();
            }
            Ok(Value::str(line))
        }
        Err(e) => Err(vm.new_exc(&vm.exc.os_error.clone(), &e.to_string())),
    }
}

// ---- simple queries ------------------------------------------------------

fn len(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    no_kwargs(vm, "len", kw)?;
    check_count(vm, "len", args, 1, 1)?;
    Ok(Value::Int(vm.len(&args[0])? as i64))
}

fn range_new(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    no_kwargs(vm, "range", kw)?;
    let a = &args[1..];
    let mut ints = Vec::with_capacity(a.len());
    if a.len() <= 3 {
        for v in a {
            let i = index_value(vm, v)?;
            ints.push(int_arg(vm, &i)?);
        }
    }
    let (start, stop, step) = match ints.len() {
        _ if a.is_empty() => return Err(vm.type_error("range expected at least 1 argument, got 0")),
        _ if a.len() > 3 => {
            return Err(vm.type_error(&format!(
                "range expected at most 3 arguments, got {}",
                a.len()
            )));
        }
        1 => (0, ints[0], 1),
        2 => (ints[0], ints[1], 1),
        _ => (ints[0], ints[1], ints[2]),
    };
    if step == 0 {
        return Err(vm.value_error("range() arg 3 must not be zero"));
    }
    Ok(Value::Range(Rc::new(RangeObj { start, stop, step })))
}

fn repr(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    no_kwargs(vm, "repr", kw)?;
    check_count(vm, "repr", args, 1, 1)?;
    Ok(Value::str(vm.repr(&args[0])?))
}

fn ascii(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    no_kwargs(vm, "ascii", kw)?;
    check_count(vm, "ascii", args, 1, 1)?;
    let r = vm.repr(&args[0])?;
    Ok(Value::str(covm_vm::objects::ascii_escape(&r)))
}

fn callable(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    no_kwargs(vm, "callable", kw)?;
    check_count(vm, "callable", args, 1, 1)?;
    Ok(Value::Bool(is_callable(vm, &args[0])))
}

pub fn is_callable(vm: &Vm, v: &Value) -> bool {
    match v {
        Value::Function(_)
        | Value::Builtin(_)
        | Value::BoundMethod(_)
        | Value::Class(_)
        | Value::StaticMethod(_) => true,
        Value::Instance(_) | Value::Native(_) => vm.lookup_special(v, "__call__").is_some(),
        _ => false,
    }
}

fn hash(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    no_kwargs(vm, "hash", kw)?;
    check_count(vm, "hash", args, 1, 1)?;
    let h = vm.hash(&args[0])? as i64;
    Ok(Value::Int(if h == -1 { -2 } else { h }))
}

fn id(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    no_kwargs(vm, "id", kw)?;
    check_count(vm, "id", args, 1, 1)?;
    let v = &args[0];
    let a = match v {
        Value::None | Value::Undef => 0x7f00_0000_1000,
        Value::NotImplemented => 0x7f00_0000_1010,
        Value::Ellipsis => 0x7f00_0000_1020,
        Value::Bool(b) => 0x7f00_0000_1030 + *b as usize * 16,
        Value::Int(i) => 0x7f00_1000_0000usize.wrapping_add((*i as usize).wrapping_mul(32)),
        Value::Float(f) => (f.to_bits() >> 4) as usize,
        _ => v.addr(),
    };
    Ok(Value::Int((a & (i64::MAX as usize)) as i64))
}

fn format(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    no_kwargs(vm, "format", kw)?;
    check_positional(vm, "format", args, 1, 2)?;
    let spec = match args.get(1) {
        None => String::new(),
        Some(Value::Str(s)) => s.as_str().to_string(),
        Some(other) => {
            return Err(vm.type_error(&format!(
                "format() argument 2 must be str, not {}",
                vm.type_name(other)
            )));
        }
    };
    Ok(Value::str(vm.format(&args[0], &spec)?))
}

fn chr_(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    no_kwargs(vm, "chr", kw)?;
    check_count(vm, "chr", args, 1, 1)?;
    let i = index_value(vm, &args[0])?;
    let Value::Int(n) = i else {
        return Err(vm.overflow_error("Python int too large to convert to C int"));
    };
    if !(0..=0x10ffff).contains(&n) {
        return Err(vm.value_error("chr() arg not in range(0x110000)"));
    }
    match char::from_u32(n as u32) {
        Some(c) => Ok(Value::str(c.to_string())),
        None => Err(vm.value_error("covm does not support surrogate characters")),
    }
}

fn ord(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    no_kwargs(vm, "ord", kw)?;
    check_count(vm, "ord", args, 1, 1)?;
    match &args[0] {
        Value::Str(s) => {
            let mut it = s.as_str().chars();
            match (it.next(), it.next()) {
                (Some(c), None) => Ok(Value::Int(c as i64)),
                _ => Err(vm.type_error(&format!(
                    "ord() expected a character, but string of length {} found",
                    s.char_len()
                ))),
            }
        }
        Value::Bytes(b) if b.len() == 1 => Ok(Value::Int(b[0] as i64)),
        Value::Bytes(b) => Err(vm.type_error(&format!(
            "ord() expected a character, but string of length {} found",
            b.len()
        ))),
        other => Err(vm.type_error(&format!(
            "ord() expected string of length 1, but {} found",
            vm.type_name(other)
        ))),
    }
}

fn radix(
    vm: &mut Vm,
    args: &[Value],
    kw: &KwArgs,
    name: &str,
    base: u32,
    prefix: &str,
) -> PyResult<Value> {
    no_kwargs(vm, name, kw)?;
    check_count(vm, name, args, 1, 1)?;
    let v = index_value(vm, &args[0])?;
    let b = to_bigint(&v).unwrap_or_default();
    let sign = if b.is_negative() { "-" } else { "" };
    Ok(Value::str(format!(
        "{sign}{prefix}{}",
        b.abs().to_str_radix(base)
    )))
}

fn hex(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    radix(vm, args, kw, "hex", 16, "0x")
}
fn oct(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    radix(vm, args, kw, "oct", 8, "0o")
}
fn bin(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    radix(vm, args, kw, "bin", 2, "0b")
}

// ---- attributes and types --------------------------------------------------

fn attr_name(vm: &Vm, v: &Value) -> PyResult<String> {
    match v {
        Value::Str(s) => Ok(s.as_str().to_string()),
        other => Err(vm.type_error(&format!(
            "attribute name must be string, not '{}'",
            vm.type_name(other)
        ))),
    }
}

fn getattr(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    no_kwargs(vm, "getattr", kw)?;
    check_positional(vm, "getattr", args, 2, 3)?;
    let name = attr_name(vm, &args[1])?;
    match vm.getattr_opt(&args[0], &name) {
        Ok(Some(v)) => Ok(v),
        Ok(None) => match args.get(2) {
            Some(d) => Ok(d.clone()),
            None => Err(vm.no_attribute(&args[0], &name)),
        },
        Err(e) => match args.get(2) {
            Some(d) if vm.is_instance_of(&e, &vm.exc.attribute_error.clone()) => Ok(d.clone()),
            _ => Err(e),
        },
    }
}

fn hasattr(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    no_kwargs(vm, "hasattr", kw)?;
    check_positional(vm, "hasattr", args, 2, 2)?;
    let name = attr_name(vm, &args[1])?;
    match vm.getattr_opt(&args[0], &name) {
        Ok(v) => Ok(Value::Bool(v.is_some())),
        Err(e) if vm.is_instance_of(&e, &vm.exc.attribute_error.clone()) => Ok(Value::Bool(false)),
        Err(e) => Err(e),
    }
}

fn setattr(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    no_kwargs(vm, "setattr", kw)?;
    check_positional(vm, "setattr", args, 3, 3)?;
    let name = attr_name(vm, &args[1])?;
    vm.setattr(&args[0], &name, args[2].clone())?;
    Ok(Value::None)
}

fn delattr(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    no_kwargs(vm, "delattr", kw)?;
    check_positional(vm, "delattr", args, 2, 2)?;
    let name = attr_name(vm, &args[1])?;
    vm.delattr(&args[0], &name)?;
    Ok(Value::None)
}

/// `isinstance(obj, classinfo)` for a class or a (nested) tuple of classes;
/// `Ok(None)` when `classinfo` is neither.
fn instance_check(vm: &mut Vm, obj: &Value, info: &Value, sub: bool) -> PyResult<Option<bool>> {
    match info {
        Value::Class(c)
            if c.builtin.is_none() && vm.class_hook(c, "__class_subclasscheck__").is_some() =>
        {
            let sub_cls = match obj {
                Value::Class(o) if sub => o.clone(),
                _ => vm.type_of(obj),
            };
            if vm.is_subclass(&sub_cls, c) {
                return Ok(Some(true));
            }
            let r =
                vm.call_class_hook(c, "__class_subclasscheck__", vec![Value::Class(sub_cls)])?;
            Ok(Some(match r {
                Some(v) => vm.truthy(&v)?,
                None => false,
            }))
        }
        Value::Class(c) => Ok(Some(match obj {
            Value::Class(o) if sub => vm.is_subclass(o, c),
            _ => {
                if vm.is_instance_of(obj, c) {
                    true
                } else if let Value::Instance(_) = obj {
                    // A `__class__` property can claim another class.
                    match vm.getattr_opt(obj, "__class__")? {
                        Some(Value::Class(k)) => vm.is_subclass(&k, c),
                        _ => false,
                    }
                } else {
                    false
                }
            }
        })),
        Value::Tuple(t) => {
            for item in t.iter() {
                match instance_check(vm, obj, item, sub)? {
                    Some(true) => return Ok(Some(true)),
                    Some(false) => {}
                    None => return Ok(None),
                }
            }
            Ok(Some(false))
        }
        // `isinstance(x, int | str)`: a `types.UnionType` checks its members.
        Value::Instance(i) if &*i.class.name == "UnionType" && &*i.class.module == "types" => {
            match vm.getattr_opt(info, "__args__")? {
                Some(args @ Value::Tuple(_)) => instance_check(vm, obj, &args, sub),
                _ => Ok(None),
            }
        }
        _ => Ok(None),
    }
}

fn isinstance(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    no_kwargs(vm, "isinstance", kw)?;
    check_positional(vm, "isinstance", args, 2, 2)?;
    match instance_check(vm, &args[0], &args[1], false)? {
        Some(b) => Ok(Value::Bool(b)),
        None => {
            Err(vm.type_error("isinstance() arg 2 must be a type, a tuple of types, or a union"))
        }
    }
}

fn issubclass(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    no_kwargs(vm, "issubclass", kw)?;
    check_positional(vm, "issubclass", args, 2, 2)?;
    if !matches!(args[0], Value::Class(_)) {
        return Err(vm.type_error("issubclass() arg 1 must be a class"));
    }
    match instance_check(vm, &args[0], &args[1], true)? {
        Some(b) => Ok(Value::Bool(b)),
        None => {
            Err(vm.type_error("issubclass() arg 2 must be a class, a tuple of classes, or a union"))
        }
    }
}

fn namespace_dict(vm: &mut Vm, ns: &Namespace) -> PyResult<Value> {
    let items: Vec<(Rc<str>, Value)> = ns.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    let d = Rc::new(RefCell::new(Dict::new()));
    for (k, v) in items {
        if v.is_undef() {
            continue;
        }
        dict::set(vm, &d, Value::str(&*k), v)?;
    }
    Ok(Value::Dict(d))
}

fn globals(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    no_kwargs(vm, "globals", kw)?;
    check_count(vm, "globals", args, 0, 0)?;
    let Some(f) = vm.frames.last() else {
        return Ok(Value::Dict(Rc::new(RefCell::new(Dict::new()))));
    };
    let m = f.globals.clone();
    let ns = m.globals.borrow().clone();
    namespace_dict(vm, &ns)
}

fn locals(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    no_kwargs(vm, "locals", kw)?;
    check_count(vm, "locals", args, 0, 0)?;
    let Some(f) = vm.frames.last() else {
        return Ok(Value::Dict(Rc::new(RefCell::new(Dict::new()))));
    };
    if let Some(ns) = f.namespace() {
        let ns = ns.borrow().clone();
        return namespace_dict(vm, &ns);
    }
    if f.code.has_namespace() {
        let ns = f.globals.globals.borrow().clone();
        return namespace_dict(vm, &ns);
    }
    let mut items: Vec<(Rc<str>, Value)> = Vec::new();
    for (n, v) in f.code.varnames.iter().zip(f.locals().iter()) {
        if !v.is_undef() {
            items.push((n.clone(), v.clone()));
        }
    }
    let ncell = f.code.cellvars.len();
    for (i, n) in f
        .code
        .cellvars
        .iter()
        .chain(f.code.freevars.iter())
        .enumerate()
    {
        if let Some(c) = f.cells().get(i) {
            let v = c.borrow().clone();
            if !v.is_undef() && (i < ncell || !items.iter().any(|(k, _)| k == n)) {
                items.push((n.clone(), v));
            }
        }
    }
    let d = Rc::new(RefCell::new(Dict::new()));
    for (k, v) in items {
        dict::set(vm, &d, Value::str(&*k), v)?;
    }
    Ok(Value::Dict(d))
}

fn vars(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    no_kwargs(vm, "vars", kw)?;
    check_positional(vm, "vars", args, 0, 1)?;
    let Some(obj) = args.first() else {
        return locals(vm, &[], kw);
    };
    match obj {
        Value::Module(m) => {
            let ns = m.globals.borrow().clone();
            namespace_dict(vm, &ns)
        }
        Value::Class(c) => {
            let ns = c.dict.borrow().clone();
            namespace_dict(vm, &ns)
        }
        _ => match vm.getattr_opt(obj, "__dict__")? {
            Some(d) => Ok(d),
            None => Err(vm.type_error("vars() argument must have __dict__ attribute")),
        },
    }
}

/// `dir([obj])`: the sorted attribute names of `obj` (a user `__dir__`
/// wins), or of the caller's scope.
fn dir(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    no_kwargs(vm, "dir", kw)?;
    check_positional(vm, "dir", args, 0, 1)?;
    let mut names: Vec<String> = match args.first() {
        None => {
            let keys = locals(vm, &[], kw)?;
            match keys {
                Value::Dict(d) => d
                    .borrow()
                    .keys()
                    .into_iter()
                    .filter_map(|k| k.as_str().map(String::from))
                    .collect(),
                _ => Vec::new(),
            }
        }
        Some(obj) => {
            if let Some(f) = vm.lookup_special(obj, "__dir__")
                && matches!(f, Value::Function(_))
            {
                let r = vm.call(&f, vec![obj.clone()])?;
                let items = vm.collect(&r)?;
                let mut out = Vec::new();
                for it in items {
                    out.push(vm.to_str(&it)?);
                }
                out
            } else {
                let mut n = vm.dir_names(obj);
                if let Value::Class(_) | Value::Instance(_) = obj {
                    n.extend(["__class__", "__doc__", "__module__"].map(String::from));
                }
                // The attributes `getattr` answers for generators without a
                // class entry.
                if let Value::Generator(g) = obj {
                    use covm_vm::value::GenKind;
                    let own: &[&str] = match g.kind {
                        GenKind::Generator => &[
                            "gi_code",
                            "gi_frame",
                            "gi_running",
                            "gi_suspended",
                            "gi_yieldfrom",
                        ],
                        GenKind::Coroutine => &[
                            "cr_await",
                            "cr_code",
                            "cr_frame",
                            "cr_running",
                            "cr_suspended",
                        ],
                        GenKind::AsyncGenerator => {
                            &["ag_await", "ag_code", "ag_frame", "ag_running"]
                        }
                    };
                    n.extend(own.iter().map(|s| s.to_string()));
                    n.extend(["__name__", "__qualname__"].map(String::from));
                }
                n
            }
        }
    };
    names.sort();
    names.dedup();
    Ok(Value::list(names.into_iter().map(Value::str).collect()))
}

fn exit(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    no_kwargs(vm, "exit", kw)?;
    check_positional(vm, "exit", args, 0, 1)?;
    let code = args.first().cloned().unwrap_or(Value::None);
    let e = vm.new_exc_args(&vm.exc.system_exit.clone(), vec![code.clone()]);
    if let Value::Instance(i) = &e {
        i.dict.borrow_mut().insert(Rc::from("code"), code);
    }
    Err(e)
}

// ---- iteration ------------------------------------------------------------

fn iter(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    no_kwargs(vm, "iter", kw)?;
    check_positional(vm, "iter", args, 1, 2)?;
    if let Some(sentinel) = args.get(1) {
        if !is_callable(vm, &args[0]) {
            return Err(vm.type_error("iter(v, w): v must be callable"));
        }
        return Ok(vm.new_iter(IterState::Callable {
            func: args[0].clone(),
            sentinel: sentinel.clone(),
        }));
    }
    vm.get_iter(&args[0])
}

fn next(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    no_kwargs(vm, "next", kw)?;
    check_positional(vm, "next", args, 1, 2)?;
    let it = &args[0];
    let is_iter = match it {
        Value::Iterator(_) => true,
        Value::Generator(g) => g.kind == GenKind::Generator,
        _ => vm.lookup_special(it, "__next__").is_some(),
    };
    if !is_iter {
        return Err(vm.type_error(&format!("'{}' object is not an iterator", vm.type_name(it))));
    }
    if !matches!(it, Value::Iterator(_) | Value::Generator(_))
        && let Some(f) = vm.lookup_special(it, "__next__")
    {
        // A user `__next__`: its StopIteration propagates as raised.
        return match vm.call(&f, vec![it.clone()]) {
            Err(e) if args.len() == 2 && vm.is_instance_of(&e, &vm.exc.stop_iteration.clone()) => {
                Ok(args[1].clone())
            }
            r => r,
        };
    }
    match vm.next_or_return(it)? {
        Ok(v) => Ok(v),
        Err(ret) => match args.get(1) {
            Some(d) => Ok(d.clone()),
            None => Err(vm.new_stop_iteration(ret)),
        },
    }
}

fn enumerate_new(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let p = bind_params(vm, "enumerate", &args[1..], kw, &["iterable", "start"])?;
    let Some(src) = &p[0] else {
        return Err(vm.type_error("enumerate() missing required argument 'iterable' (pos 1)"));
    };
    let count = match &p[1] {
        None => Value::Int(0),
        Some(v) => index_value(vm, v)?,
    };
    let it = vm.get_iter(src)?;
    Ok(vm.new_iter(IterState::Enumerate { it, count }))
}

/// `zip(..., strict=True)`.
struct ZipStrict {
    its: Vec<Value>,
    done: bool,
}

impl NativeIter for ZipStrict {
    fn type_name(&self) -> &'static str {
        "zip"
    }
    fn next(&mut self, vm: &mut Vm) -> PyResult<Option<Value>> {
        if self.done || self.its.is_empty() {
            return Ok(None);
        }
        let mut items = Vec::with_capacity(self.its.len());
        for (i, it) in self.its.iter().enumerate() {
            match vm.next(it)? {
                Some(x) => items.push(x),
                None => {
                    self.done = true;
                    let plural = |k: usize| {
                        if k == 1 {
                            " ".to_string()
                        } else {
                            "s 1-".to_string()
                        }
                    };
                    if i > 0 {
                        return Err(vm.value_error(&format!(
                            "zip() argument {} is shorter than argument{}{}",
                            i + 1,
                            plural(i),
                            i
                        )));
                    }
                    for (j, other) in self.its.iter().enumerate().skip(1) {
                        if vm.next(other)?.is_some() {
                            return Err(vm.value_error(&format!(
                                "zip() argument {} is longer than argument{}{}",
                                j + 1,
                                plural(j),
                                j
                            )));
                        }
                    }
                    return Ok(None);
                }
            }
        }
        Ok(Some(Value::tuple(items)))
    }
}

fn zip_new(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let strict = match kwarg(vm, "zip", kw, &["strict"], "strict")? {
        None => false,
        Some(v) => vm.truthy(&v)?,
    };
    let mut its = Vec::with_capacity(args.len().saturating_sub(1));
    for a in &args[1..] {
        its.push(vm.get_iter(a)?);
    }
    if strict {
        return Ok(vm.new_iter(IterState::Native(Box::new(ZipStrict { its, done: false }))));
    }
    Ok(vm.new_iter(IterState::Zip { its }))
}

fn map_new(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    no_kwargs(vm, "map", kw)?;
    if args.len() < 3 {
        return Err(vm.type_error("map() must have at least two arguments."));
    }
    let mut its = Vec::with_capacity(args.len() - 2);
    for a in &args[2..] {
        its.push(vm.get_iter(a)?);
    }
    Ok(vm.new_iter(IterState::Map {
        func: args[1].clone(),
        its,
    }))
}

fn filter_new(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    no_kwargs(vm, "filter", kw)?;
    check_positional(vm, "filter", &args[1..], 2, 2)?;
    let it = vm.get_iter(&args[2])?;
    Ok(vm.new_iter(IterState::Filter {
        func: args[1].clone(),
        it,
    }))
}

/// `reversed(seq)` over a sequence with `__len__` and `__getitem__` (and
/// over ranges).
struct SeqReversed {
    seq: Value,
    index: i64,
    name: &'static str,
}

impl NativeIter for SeqReversed {
    fn type_name(&self) -> &'static str {
        self.name
    }
    fn next(&mut self, vm: &mut Vm) -> PyResult<Option<Value>> {
        if self.index <= 0 {
            return Ok(None);
        }
        self.index -= 1;
        if let Value::Range(r) = &self.seq {
            return Ok(Some(Value::Int(r.get(self.index))));
        }
        match vm.getitem(&self.seq, &Value::Int(self.index)) {
            Ok(v) => Ok(Some(v)),
            Err(e)
                if vm.is_instance_of(&e, &vm.exc.index_error.clone())
                    || vm.is_instance_of(&e, &vm.exc.stop_iteration.clone()) =>
            {
                self.index = 0;
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }
}

fn reversed_new(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    no_kwargs(vm, "reversed", kw)?;
    check_positional(vm, "reversed", &args[1..], 1, 1)?;
    let seq = &args[1];
    let native = |seq: Value, index: i64, name: &'static str| {
        IterState::Native(Box::new(SeqReversed { seq, index, name }))
    };
    let st = match seq {
        Value::List(l) => {
            let n = l.borrow().len();
            IterState::Reversed {
                seq: seq.clone(),
                index: n,
            }
        }
        Value::Tuple(t) => IterState::Reversed {
            seq: seq.clone(),
            index: t.len(),
        },
        Value::Range(r) => native(seq.clone(), r.len(), "range_iterator"),
        Value::Str(s) => {
            let chars: Vec<Value> = s
                .as_str()
                .chars()
                .map(|c| Value::str(c.to_string()))
                .collect();
            let n = chars.len();
            IterState::Reversed {
                seq: Value::tuple(chars),
                index: n,
            }
        }
        Value::Bytes(b) => native(seq.clone(), b.len() as i64, "reversed"),
        Value::Dict(d) => {
            let keys = d.borrow().keys();
            let n = keys.len();
            IterState::Reversed {
                seq: Value::tuple(keys),
                index: n,
            }
        }
        Value::Instance(_) | Value::Native(_) => {
            if let Some(f) = vm.lookup_special(seq, "__reversed__") {
                return vm.call(&f, vec![seq.clone()]);
            }
            if vm.lookup_special(seq, "__getitem__").is_some()
                && vm.lookup_special(seq, "__len__").is_some()
            {
                let n = vm.len(seq)? as i64;
                native(seq.clone(), n, "reversed")
            } else {
                return Err(not_reversible(vm, seq));
            }
        }
        _ => return Err(not_reversible(vm, seq)),
    };
    Ok(vm.new_iter(st))
}

fn not_reversible(vm: &Vm, v: &Value) -> Value {
    vm.type_error(&format!("'{}' object is not reversible", vm.type_name(v)))
}

// ---- sorting, min/max, reductions -------------------------------------------

/// Stable merge sort of `(key, value)` pairs by key with `<`; errors from
/// comparisons propagate.
fn merge_sort(vm: &mut Vm, v: Vec<(Value, Value)>) -> PyResult<Vec<(Value, Value)>> {
    let n = v.len();
    if n < 2 {
        return Ok(v);
    }
    let mut src = v;
    // Insertion sort small runs first: fewer passes for short lists.
    const RUN: usize = 8;
    let mut start = 0;
    while start < n {
        let end = (start + RUN).min(n);
        for i in start + 1..end {
            let mut j = i;
            while j > start && vm.less_than(&src[j].0, &src[j - 1].0)? {
                src.swap(j, j - 1);
                j -= 1;
            }
        }
        start = end;
    }
    let mut width = RUN;
    while width < n {
        let mut dst: Vec<(Value, Value)> = Vec::with_capacity(n);
        let mut i = 0;
        while i < n {
            // Sorting a huge list takes seconds: Ctrl-C ends it.
            vm.check_interrupt()?;
            let mid = (i + width).min(n);
            let end = (i + 2 * width).min(n);
            let (mut a, mut b) = (i, mid);
            while a < mid && b < end {
                if vm.less_than(&src[b].0, &src[a].0)? {
                    dst.push(src[b].clone());
                    b += 1;
                } else {
                    dst.push(src[a].clone());
                    a += 1;
                }
            }
            dst.extend_from_slice(&src[a..mid]);
            dst.extend_from_slice(&src[b..end]);
            i = end;
        }
        src = dst;
        width *= 2;
    }
    Ok(src)
}

/// Sorts `items` as `list.sort(key=key, reverse=reverse)` does: stable,
/// `reverse` keeps equal items in their original order.
pub fn sort_values(
    vm: &mut Vm,
    mut items: Vec<Value>,
    key: Option<&Value>,
    reverse: bool,
) -> PyResult<Vec<Value>> {
    if reverse {
        items.reverse();
    }
    let mut pairs = Vec::with_capacity(items.len());
    for it in items {
        let k = match key {
            Some(f) => vm.call(f, vec![it.clone()])?,
            None => it.clone(),
        };
        pairs.push((k, it));
    }
    let sorted = merge_sort(vm, pairs)?;
    let mut out: Vec<Value> = sorted.into_iter().map(|(_, v)| v).collect();
    if reverse {
        out.reverse();
    }
    Ok(out)
}

fn sorted(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    check_positional(vm, "sorted", args, 1, 1)?;
    let allowed = ["key", "reverse"];
    let key = match kwarg(vm, "sort", kw, &allowed, "key")? {
        None | Some(Value::None) => None,
        Some(f) => Some(f),
    };
    let reverse = match kwarg(vm, "sort", kw, &allowed, "reverse")? {
        None => false,
        Some(Value::Float(_)) => {
            return Err(vm.type_error("'float' object cannot be interpreted as an integer"));
        }
        Some(v) => vm.truthy(&v)?,
    };
    let items = vm.collect(&args[0])?;
    let out = sort_values(vm, items, key.as_ref(), reverse)?;
    Ok(Value::list(out))
}

fn min_max(vm: &mut Vm, args: &[Value], kw: &KwArgs, is_max: bool) -> PyResult<Value> {
    let name = if is_max { "max" } else { "min" };
    let allowed = ["key", "default"];
    let key = match kwarg(vm, name, kw, &allowed, "key")? {
        None | Some(Value::None) => None,
        Some(f) => Some(f),
    };
    let default = kwarg(vm, name, kw, &allowed, "default")?;
    if args.is_empty() {
        return Err(vm.type_error(&format!("{name} expected at least 1 argument, got 0")));
    }
    if args.len() > 1 && default.is_some() {
        return Err(vm.type_error(&format!(
            "Cannot specify a default for {name}() with multiple positional arguments"
        )));
    }
    let op = if is_max { CmpOp::Gt } else { CmpOp::Lt };
    let mut best: Option<(Value, Value)> = None;
    let mut consider = |vm: &mut Vm, item: Value| -> PyResult<()> {
        let k = match &key {
            Some(f) => vm.call(f, vec![item.clone()])?,
            None => item.clone(),
        };
        match &best {
            None => best = Some((k, item)),
            Some((bk, _)) => {
                let r = vm.rich_compare(&k, bk, op)?;
                if vm.truthy(&r)? {
                    best = Some((k, item));
                }
            }
        }
        Ok(())
    };
    if args.len() == 1 {
        let it = vm.get_iter(&args[0])?;
        while let Some(x) = vm.next(&it)? {
            consider(vm, x)?;
        }
    } else {
        for x in args {
            consider(vm, x.clone())?;
        }
    }
    match best {
        Some((_, v)) => Ok(v),
        None => match default {
            Some(d) => Ok(d),
            None => Err(vm.value_error(&format!("{name}() arg is an empty sequence"))),
        },
    }
}

fn max(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    min_max(vm, args, kw, true)
}
fn min(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    min_max(vm, args, kw, false)
}

fn sum(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    if args.is_empty() {
        return Err(vm.type_error("sum() takes at least 1 positional argument (0 given)"));
    }
    if args.len() > 2 {
        return Err(vm.type_error(&format!(
            "sum() takes at most 2 arguments ({} given)",
            args.len() + kw.len()
        )));
    }
    let kstart = kwarg(vm, "sum", kw, &["start"], "start")?;
    if kstart.is_some() && args.len() == 2 {
        return Err(vm.type_error("argument for sum() given by name ('start') and position (2)"));
    }
    let start = kstart
        .or_else(|| args.get(1).cloned())
        .unwrap_or(Value::Int(0));
    match &start {
        Value::Str(_) => {
            return Err(vm.type_error("sum() can't sum strings [use ''.join(seq) instead]"));
        }
        Value::Bytes(_) => {
            return Err(vm.type_error("sum() can't sum bytes [use b''.join(seq) instead]"));
        }
        _ => {}
    }
    let mut acc = start;
    let it = vm.get_iter(&args[0])?;
    while let Some(x) = vm.next(&it)? {
        acc = match (&acc, &x) {
            (Value::Int(a), Value::Int(b)) => match a.checked_add(*b) {
                Some(r) => Value::Int(r),
                None => covm_vm::arith::add_ints(&acc, &x),
            },
            (Value::Float(a), Value::Float(b)) => Value::Float(a + b),
            _ => vm.binary_op(BinOp::Add, &acc, &x)?,
        };
    }
    Ok(acc)
}

fn any(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    no_kwargs(vm, "any", kw)?;
    check_count(vm, "any", args, 1, 1)?;
    let it = vm.get_iter(&args[0])?;
    while let Some(x) = vm.next(&it)? {
        if vm.truthy(&x)? {
            return Ok(Value::Bool(true));
        }
    }
    Ok(Value::Bool(false))
}

fn all(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    no_kwargs(vm, "all", kw)?;
    check_count(vm, "all", args, 1, 1)?;
    let it = vm.get_iter(&args[0])?;
    while let Some(x) = vm.next(&it)? {
        if !vm.truthy(&x)? {
            return Ok(Value::Bool(false));
        }
    }
    Ok(Value::Bool(true))
}

// ---- numbers ---------------------------------------------------------------

fn abs(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    no_kwargs(vm, "abs", kw)?;
    check_count(vm, "abs", args, 1, 1)?;
    let x = &args[0];
    Ok(match x {
        Value::Int(i) => match i.checked_abs() {
            Some(r) => Value::Int(r),
            None => Value::from_bigint(-BigInt::from(*i)),
        },
        Value::BigInt(b) => Value::from_bigint(b.abs()),
        Value::Bool(b) => Value::Int(*b as i64),
        Value::Float(f) => Value::Float(f.abs()),
        _ => {
            if let Some(f) = vm.lookup_special(x, "__abs__") {
                return vm.call(&f, vec![x.clone()]);
            }
            return Err(vm.type_error(&format!(
                "bad operand type for abs(): '{}'",
                vm.type_name(x)
            )));
        }
    })
}

/// Rounds an int to a multiple of 10**(-ndigits), half to even.
fn round_int(x: &BigInt, ndigits: i64) -> BigInt {
    if ndigits >= 0 {
        return x.clone();
    }
    let p = num_traits::pow(BigInt::from(10), (-ndigits).min(100_000) as usize);
    let (q, r) = x.div_mod_floor(&p);
    let twice = &r * 2;
    let q = if twice > p || (twice == p && q.is_odd()) {
        q + 1
    } else {
        q
    };
    q * p
}

fn round(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let p = bind_params(vm, "round", args, kw, &["number", "ndigits"])?;
    let Some(x) = p[0].clone() else {
        return Err(vm.type_error("round() missing required argument 'number' (pos 1)"));
    };
    let nd = match &p[1] {
        None | Some(Value::None) => None,
        Some(v) => Some(v.clone()),
    };
    // ndigits clamped to i64 (huge values behave like huge values).
    let nd_int = |vm: &mut Vm, v: &Value| -> PyResult<i64> {
        let i = index_value(vm, v)?;
        Ok(match i {
            Value::Int(n) => n,
            Value::BigInt(b) => {
                if b.is_negative() {
                    i64::MIN / 2
                } else {
                    i64::MAX / 2
                }
            }
            _ => 0,
        })
    };
    match &x {
        Value::Float(f) => match nd {
            None => float_to_int(vm, f.round_ties_even()),
            Some(n) => {
                let n = nd_int(vm, &n)?;
                Ok(Value::Float(covm_vm::format::round_float(*f, n)))
            }
        },
        Value::Int(_) | Value::BigInt(_) | Value::Bool(_) => {
            let b = to_bigint(&x).unwrap_or_default();
            match nd {
                None => Ok(Value::from_bigint(b)),
                Some(n) => {
                    let n = nd_int(vm, &n)?;
                    Ok(Value::from_bigint(round_int(&b, n)))
                }
            }
        }
        _ => {
            if let Some(f) = vm.lookup_special(&x, "__round__") {
                let mut a = vec![x.clone()];
                if let Some(n) = nd {
                    a.push(n);
                }
                return vm.call(&f, a);
            }
            Err(vm.type_error(&format!(
                "type {} doesn't define __round__ method",
                vm.type_name(&x)
            )))
        }
    }
}

fn as_number_f64(vm: &Vm, v: &Value) -> PyResult<Option<f64>> {
    Ok(match v {
        Value::Float(f) => Some(*f),
        Value::Int(i) => Some(*i as f64),
        Value::Bool(b) => Some(*b as i64 as f64),
        Value::BigInt(b) => match b.to_f64() {
            Some(f) if f.is_finite() => Some(f),
            _ => return Err(vm.overflow_error("int too large to convert to float")),
        },
        _ => None,
    })
}

fn divmod(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    no_kwargs(vm, "divmod", kw)?;
    check_positional(vm, "divmod", args, 2, 2)?;
    let (a, b) = (&args[0], &args[1]);
    if let (Some(x), Some(y)) = (to_bigint(a), to_bigint(b)) {
        if y.is_zero() {
            return Err(vm.zero_division("integer division or modulo by zero"));
        }
        if let (Value::Int(p), Value::Int(q)) = (a, b)
            && !(*p == i64::MIN && *q == -1)
        {
            let (d, m) = p.div_mod_floor(q);
            return Ok(Value::tuple(vec![Value::Int(d), Value::Int(m)]));
        }
        let (d, m) = x.div_mod_floor(&y);
        return Ok(Value::tuple(vec![
            Value::from_bigint(d),
            Value::from_bigint(m),
        ]));
    }
    let numeric = |v: &Value| {
        matches!(
            v,
            Value::Float(_) | Value::Int(_) | Value::BigInt(_) | Value::Bool(_)
        )
    };
    if numeric(a) && numeric(b) {
        let x = as_number_f64(vm, a)?.unwrap_or(0.0);
        let y = as_number_f64(vm, b)?.unwrap_or(0.0);
        if y == 0.0 {
            return Err(vm.zero_division("float divmod()"));
        }
        let (d, m) = covm_vm::arith::float_divmod(x, y);
        return Ok(Value::tuple(vec![Value::Float(d), Value::Float(m)]));
    }
    if let Some(f) = vm.lookup_special(a, "__divmod__") {
        let r = vm.call(&f, vec![a.clone(), b.clone()])?;
        if !matches!(r, Value::NotImplemented) {
            return Ok(r);
        }
    }
    if let Some(f) = vm.lookup_special(b, "__rdivmod__") {
        let r = vm.call(&f, vec![b.clone(), a.clone()])?;
        if !matches!(r, Value::NotImplemented) {
            return Ok(r);
        }
    }
    Err(vm.type_error(&format!(
        "unsupported operand type(s) for divmod(): '{}' and '{}'",
        vm.type_name(a),
        vm.type_name(b)
    )))
}

/// The inverse of `a` modulo `m` (m > 0), if there is one.
fn mod_inverse(a: &BigInt, m: &BigInt) -> Option<BigInt> {
    let a = a.mod_floor(m);
    let g = a.extended_gcd(m);
    if !g.gcd.is_one() {
        return None;
    }
    Some(g.x.mod_floor(m))
}

fn pow(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let p = bind_params(vm, "pow", args, kw, &["base", "exp", "mod"])?;
    let Some(base) = p[0].clone() else {
        return Err(vm.type_error("pow() missing required argument 'base' (pos 1)"));
    };
    let Some(exp) = p[1].clone() else {
        return Err(vm.type_error("pow() missing required argument 'exp' (pos 2)"));
    };
    let m = match &p[2] {
        None | Some(Value::None) => return vm.binary_op(BinOp::Pow, &base, &exp),
        Some(m) => m.clone(),
    };
    let (Some(b), Some(e), Some(md)) = (to_bigint(&base), to_bigint(&exp), to_bigint(&m)) else {
        if matches!(base, Value::Instance(_))
            && let Some(f) = vm.lookup_special(&base, "__pow__")
        {
            let r = vm.call(&f, vec![base.clone(), exp.clone(), m.clone()])?;
            if !matches!(r, Value::NotImplemented) {
                return Ok(r);
            }
        }
        let numeric = |v: &Value| {
            matches!(
                v,
                Value::Float(_) | Value::Int(_) | Value::BigInt(_) | Value::Bool(_)
            )
        };
        if numeric(&base) && numeric(&exp) && numeric(&m) {
            return Err(
                vm.type_error("pow() 3rd argument not allowed unless all arguments are integers")
            );
        }
        return Err(vm.type_error(&format!(
            "unsupported operand type(s) for ** or pow(): '{}', '{}', '{}'",
            vm.type_name(&base),
            vm.type_name(&exp),
            vm.type_name(&m)
        )));
    };
    if md.is_zero() {
        return Err(vm.value_error("pow() 3rd argument cannot be 0"));
    }
    let (b, e) = if e.is_negative() {
        match mod_inverse(&b, &md.abs()) {
            Some(inv) => (inv, -e),
            None => return Err(vm.value_error("base is not invertible for the given modulus")),
        }
    } else {
        (b, e)
    };
    Ok(Value::from_bigint(b.modpow(&e, &md)))
}

// ---- registration ------------------------------------------------------------

/// Extra behaviour of the `OSError` family: `OSError(errno, strerror[,
/// filename])` sets those attributes and prints as `[Errno 2] No such file
/// or directory: 'x'`.
fn oserror_init(_vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    if let Some(Value::Instance(i)) = args.first() {
        let rest = args[1..].to_vec();
        let mut d = i.dict.borrow_mut();
        let (errno, strerror, filename) = if (2..=5).contains(&rest.len()) {
            (
                rest[0].clone(),
                rest[1].clone(),
                rest.get(2).cloned().unwrap_or(Value::None),
            )
        } else {
            (Value::None, Value::None, Value::None)
        };
        d.insert(Rc::from("errno"), errno);
        d.insert(Rc::from("strerror"), strerror);
        d.insert(Rc::from("filename"), filename.clone());
        let args_t = if !filename.is_none() && rest.len() >= 3 {
            rest[..2].to_vec()
        } else {
            rest
        };
        d.insert(Rc::from("args"), Value::tuple(args_t));
    }
    Ok(Value::None)
}

fn oserror_str(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let e = args.first().cloned().unwrap_or(Value::None);
    let (errno, strerror, filename) = match &e {
        Value::Instance(i) => {
            let d = i.dict.borrow();
            (
                d.get("errno").cloned().unwrap_or(Value::None),
                d.get("strerror").cloned().unwrap_or(Value::None),
                d.get("filename").cloned().unwrap_or(Value::None),
            )
        }
        _ => (Value::None, Value::None, Value::None),
    };
    if !errno.is_none() || !strerror.is_none() {
        let en = vm.to_str(&errno)?;
        let se = vm.to_str(&strerror)?;
        if !filename.is_none() {
            let f = vm.repr(&filename)?;
            return Ok(Value::str(format!("[Errno {en}] {se}: {f}")));
        }
        return Ok(Value::str(format!("[Errno {en}] {se}")));
    }
    Ok(Value::str(vm.exc_str(&e)?))
}

pub fn install(vm: &mut Vm) {
    crate::builtins_types::install(vm);
    let funcs: &[(&str, NativeFn)] = &[
        ("print", print),
        ("input", input),
        ("len", len),
        ("repr", repr),
        ("ascii", ascii),
        ("callable", callable),
        ("hash", hash),
        ("id", id),
        ("format", format),
        ("chr", chr_),
        ("ord", ord),
        ("hex", hex),
        ("oct", oct),
        ("bin", bin),
        ("getattr", getattr),
        ("hasattr", hasattr),
        ("setattr", setattr),
        ("delattr", delattr),
        ("isinstance", isinstance),
        ("issubclass", issubclass),
        ("globals", globals),
        ("locals", locals),
        ("vars", vars),
        ("dir", dir),
        ("exit", exit),
        ("quit", exit),
        ("iter", iter),
        ("sorted", sorted),
        ("max", max),
        ("min", min),
        ("sum", sum),
        ("any", any),
        ("all", all),
        ("abs", abs),
        ("round", round),
        ("divmod", divmod),
        ("pow", pow),
        ("open", crate::file::open),
    ];
    for (name, f) in funcs {
        vm.add_builtin(name, *f);
    }
    let next_fn = Value::Builtin(Rc::new(Builtin {
        name: Rc::from("next"),
        func: next,
        receiver: None,
        special: Special::Next,
    }));
    vm.builtins
        .globals
        .borrow_mut()
        .insert(Rc::from("next"), next_fn);

    let t = vm.types.range.clone();
    vm.set_native_new(&t, range_new);
    let iter_news: [(&str, NativeFn); 5] = [
        ("enumerate", enumerate_new),
        ("zip", zip_new),
        ("map", map_new),
        ("filter", filter_new),
        ("reversed", reversed_new),
    ];
    for (name, f) in iter_news {
        if let Some(cls) = vm.types.iterators.get(name).cloned() {
            vm.set_native_new(&cls, f);
            vm.builtins
                .globals
                .borrow_mut()
                .insert(Rc::from(name), Value::Class(cls));
        }
    }
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
    {
        let mut g = vm.builtins.globals.borrow_mut();
        g.insert(Rc::from("NotImplemented"), Value::NotImplemented);
        g.insert(Rc::from("Ellipsis"), Value::Ellipsis);
        g.insert(Rc::from("None"), Value::None);
        g.insert(Rc::from("True"), Value::Bool(true));
        g.insert(Rc::from("False"), Value::Bool(false));
    }
    let os_error = vm.exc.os_error.clone();
    vm.add_method(&os_error, "__init__", oserror_init);
    vm.add_method(&os_error, "__str__", oserror_str);
    // EnvironmentError and IOError are aliases of OSError.
    for alias in ["EnvironmentError", "IOError"] {
        vm.builtins
            .globals
            .borrow_mut()
            .insert(Rc::from(alias), Value::Class(os_error.clone()));
    }
    crate::file::install(vm);
}
