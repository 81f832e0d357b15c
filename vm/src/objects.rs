//! The object protocols every value takes part in: type, attributes,
//! truth, repr/str, equality and ordering, hashing, containment, items,
//! iteration, length and formatting.

use std::cell::RefCell;
use std::rc::Rc;

use covm_parser::ast::CmpOp;
use num_bigint::BigInt;
use num_traits::{Signed, ToPrimitive, Zero};

use crate::dict;
use crate::value::*;
use crate::vm::Vm;

const HASH_MODULUS: u64 = (1u64 << 61) - 1;

pub use crate::strformat::ascii_escape;

/// `str.isprintable()` for one character: not a control, format,
/// surrogate, private-use, unassigned or separator character (space is
/// printable).
pub fn is_printable(c: char) -> bool {
    use unicode_general_category::{GeneralCategory as G, get_general_category};
    if c == ' ' {
        return true;
    }
    !matches!(
        get_general_category(c),
        G::Control
            | G::Format
            | G::Surrogate
            | G::PrivateUse
            | G::Unassigned
            | G::LineSeparator
            | G::ParagraphSeparator
            | G::SpaceSeparator
    )
}

/// Python's `repr` of a str.
pub fn repr_str(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if !is_printable(c) => {
                let n = c as u32;
                if n < 256 {
                    out.push_str(&format!("\\x{n:02x}"));
                } else if n < 0x10000 {
                    out.push_str(&format!("\\u{n:04x}"));
                } else {
                    out.push_str(&format!("\\U{n:08x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

pub fn repr_bytes(b: &[u8]) -> String {
    let quote = if b.contains(&b'\'') && !b.contains(&b'"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::from("b");
    out.push(quote);
    for &c in b {
        match c {
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            c if c as char == quote => {
                out.push('\\');
                out.push(c as char);
            }
            32..=126 => out.push(c as char),
            c => out.push_str(&format!("\\x{c:02x}")),
        }
    }
    out.push(quote);
    out
}

/// CPython's hash of an integer: its value modulo 2**61 - 1, keeping the
/// sign, with -1 mapped to -2.
pub fn hash_bigint(b: &BigInt) -> i64 {
    let m = BigInt::from(HASH_MODULUS);
    let r = (b.abs() % &m).to_i64().unwrap_or(0);
    let r = if b.is_negative() { -r } else { r };
    if r == -1 { -2 } else { r }
}

pub fn hash_int(i: i64) -> i64 {
    if i.unsigned_abs() < HASH_MODULUS {
        if i == -1 { -2 } else { i }
    } else {
        hash_bigint(&BigInt::from(i))
    }
}

/// CPython's hash of a float (equal to the int hash for integral values).
pub fn hash_float(x: f64) -> i64 {
    if x.is_nan() {
        return 0;
    }
    if x.is_infinite() {
        return if x > 0.0 { 314159 } else { -314159 };
    }
    if x.fract() == 0.0 && x.abs() < 9.2e18 {
        return hash_int(x as i64);
    }
    // Follow CPython's _Py_HashDouble.
    let (mut m, mut e) = frexp(x.abs());
    let mut h: u64 = 0;
    while m != 0.0 {
        h = ((h << 28) & HASH_MODULUS) | (h >> (61 - 28));
        m *= 268435456.0;
        e -= 28;
        let y = m as u64;
        m -= y as f64;
        h += y;
        if h >= HASH_MODULUS {
            h -= HASH_MODULUS;
        }
    }
    let e = if e >= 0 {
        e % 61
    } else {
        61 - 1 - ((-1 - e) % 61)
    };
    h = ((h << e) & HASH_MODULUS) | (h >> (61 - e));
    let mut r = h as i64;
    if x < 0.0 {
        r = -r;
    }
    if r == -1 { -2 } else { r }
}

fn frexp(x: f64) -> (f64, i32) {
    if x == 0.0 {
        return (0.0, 0);
    }
    let bits = x.to_bits();
    let exp = ((bits >> 52) & 0x7ff) as i32;
    if exp == 0 {
        let (m, e) = frexp(x * (1u64 << 54) as f64);
        return (m, e - 54);
    }
    let m = f64::from_bits((bits & !(0x7ffu64 << 52)) | (1022u64 << 52));
    (m, exp - 1022)
}

fn str_hash(s: &str) -> u64 {
    // FNV-1a: stable across runs (CPython randomises; programs must not
    // depend on it).
    let mut h: u64 = 0xcbf29ce484222325;
    for b in s.as_bytes() {
        h ^= *b as u64;
        h = h.wrapping_mul(0x100000001b3);
    }
    h
}

impl Vm {
    // ---- types -------------------------------------------------------

    pub fn type_of(&self, v: &Value) -> Rc<Class> {
        let t = &self.types;
        match v {
            Value::Undef | Value::None => t.none.clone(),
            Value::NotImplemented => t.not_implemented.clone(),
            Value::Ellipsis => t.ellipsis.clone(),
            Value::Bool(_) => t.bool_.clone(),
            Value::Int(_) | Value::BigInt(_) => t.int.clone(),
            Value::Float(_) => t.float.clone(),
            Value::Str(_) => t.str_.clone(),
            Value::Bytes(_) => t.bytes.clone(),
            Value::List(_) => t.list.clone(),
            Value::Tuple(_) => t.tuple.clone(),
            Value::Dict(_) => t.dict.clone(),
            Value::Set(_) => t.set.clone(),
            Value::FrozenSet(_) => t.frozenset.clone(),
            Value::Range(_) => t.range.clone(),
            Value::Slice(_) => t.slice.clone(),
            Value::Function(_) => t.function.clone(),
            Value::Builtin(_) => t.builtin_function.clone(),
            Value::BoundMethod(_) => t.method.clone(),
            Value::Class(_) => t.type_.clone(),
            Value::Instance(i) => i.class.clone(),
            Value::Generator(g) => match g.kind {
                GenKind::Generator => t.generator.clone(),
                GenKind::Coroutine => t.coroutine.clone(),
                GenKind::AsyncGenerator => t.async_generator.clone(),
            },
            Value::Module(_) => t.module.clone(),
            Value::Iterator(it) => {
                let name = iter_type_name(&it.borrow());
                t.iterators
                    .get(name)
                    .cloned()
                    .unwrap_or_else(|| t.object.clone())
            }
            Value::Property(_) => t.property.clone(),
            Value::StaticMethod(_) => t.staticmethod.clone(),
            Value::ClassMethod(_) => t.classmethod.clone(),
            Value::Super(_) => t.super_.clone(),
            Value::Cell(_) => t.cell.clone(),
            Value::Code(_) => t.code.clone(),
            Value::Native(n) => n.class(self),
        }
    }

    /// The type's name as CPython's messages show it: `deque` is
    /// `collections.deque` there, user classes are bare.
    pub fn type_name(&self, v: &Value) -> String {
        match v {
            Value::Iterator(it) => iter_type_name(&it.borrow()).to_string(),
            _ => {
                let c = self.type_of(v);
                if c.builtin == Some(BuiltinType::Native) && c.module.as_ref() != "builtins" {
                    format!("{}.{}", c.module, c.name)
                } else {
                    c.name.to_string()
                }
            }
        }
    }

    pub fn is_subclass(&self, a: &Rc<Class>, b: &Rc<Class>) -> bool {
        Rc::ptr_eq(a, b) || a.mro.iter().any(|k| Rc::ptr_eq(k, b))
    }

    pub fn is_instance_of(&self, v: &Value, cls: &Rc<Class>) -> bool {
        self.is_subclass(&self.type_of(v), cls)
    }

    /// Looks `name` up along the class chain.
    pub fn class_lookup(&self, cls: &Rc<Class>, name: &str) -> Option<Value> {
        self.type_cache
            .lookup(cls, name, || self.class_lookup_uncached(cls, name))
    }

    /// `class_lookup` without the type cache: the class's dict, then its
    /// MRO's.
    pub(crate) fn class_lookup_uncached(&self, cls: &Rc<Class>, name: &str) -> Option<Value> {
        if let Some(v) = cls.dict.borrow().get(name) {
            return Some(v.clone());
        }
        for k in &cls.mro {
            if let Some(v) = k.dict.borrow().get(name) {
                return Some(v.clone());
            }
        }
        None
    }

    /// A method looked up on the type, not the instance (how CPython finds
    /// dunder methods).
    pub fn lookup_special(&self, v: &Value, name: &str) -> Option<Value> {
        match self.class_lookup(&self.type_of(v), name) {
            Some(Value::None) => None,
            other => other,
        }
    }

    /// Binds a class attribute found for `obj` the way attribute access
    /// does.
    pub fn bind(&self, attr: Value, obj: &Value) -> Value {
        match attr {
            Value::Function(_) | Value::Builtin(_) => Value::BoundMethod(Rc::new(BoundMethod {
                receiver: obj.clone(),
                func: attr,
            })),
            Value::StaticMethod(f) => (*f).clone(),
            Value::ClassMethod(f) => Value::BoundMethod(Rc::new(BoundMethod {
                receiver: Value::Class(self.type_of(obj)),
                func: (*f).clone(),
            })),
            other => other,
        }
    }

    // ---- attributes --------------------------------------------------

    pub fn getattr(&mut self, obj: &Value, name: &str) -> PyResult<Value> {
        match self.getattr_opt(obj, name)? {
            Some(v) => Ok(v),
            None => Err(self.no_attribute(obj, name)),
        }
    }

    pub fn no_attribute(&self, obj: &Value, name: &str) -> Value {
        let msg = match obj {
            Value::Class(c) => format!("type object '{}' has no attribute '{}'", c.name, name),
            Value::Module(m) if self.import_state.initializing.contains(&m.name) => format!(
                "partially initialized module '{}' has no attribute '{}' (most likely due to a circular import)",
                m.name, name
            ),
            Value::Module(m) => format!("module '{}' has no attribute '{}'", m.name, name),
            _ => format!(
                "'{}' object has no attribute '{}'",
                self.type_name(obj),
                name
            ),
        };
        let e = self.attribute_error(&msg);
        if let Value::Instance(i) = &e {
            let mut d = i.dict.borrow_mut();
            d.insert(Rc::from("name"), Value::str(name));
            d.insert(Rc::from("obj"), obj.clone());
        }
        e
    }

    /// Attribute lookup; `Ok(None)` when there is no such attribute.
    pub fn getattr_opt(&mut self, obj: &Value, name: &str) -> PyResult<Option<Value>> {
        if name == "__class__" {
            return Ok(Some(Value::Class(self.type_of(obj))));
        }
        match obj {
            Value::Instance(inst) => {
                let cls_attr = self.class_lookup(&inst.class, name);
                if let Some(Value::Property(p)) = &cls_attr {
                    if p.fget.is_none() {
                        let msg = p.missing(&inst.class, "getter");
                        return Err(self.attribute_error(&msg));
                    }
                    return self.call(&p.fget, vec![obj.clone()]).map(Some);
                }
                if name == "__traceback__" && self.is_exception(obj) {
                    return Ok(Some(self.traceback_of(obj)));
                }
                if let Some(v) = inst.dict.borrow().get(name) {
                    return Ok(Some(v.clone()));
                }
                if name == "__dict__" {
                    let d = Rc::new(RefCell::new(dict::Dict::new()));
                    // An exception's slots live in its dict here; CPython's
                    // `__dict__` does not show them.
                    let slots: &[&str] = if self.is_subclass(&inst.class, &self.exc.stop_iteration)
                    {
                        // StopIteration's `value` is a member slot too.
                        &[
                            "args",
                            "__traceback__",
                            "__cause__",
                            "__context__",
                            "__suppress_context__",
                            "value",
                        ]
                    } else if self.is_exception(obj) {
                        &[
                            "args",
                            "__traceback__",
                            "__cause__",
                            "__context__",
                            "__suppress_context__",
                        ]
                    } else {
                        &[]
                    };
                    let items: Vec<(Rc<str>, Value)> = inst
                        .dict
                        .borrow()
                        .iter()
                        .filter(|(k, _)| !slots.contains(&k.as_ref()))
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect();
                    for (k, v) in items {
                        dict::set(self, &d, Value::str(&*k), v)?;
                    }
                    return Ok(Some(Value::Dict(d)));
                }
                if name == "__traceback__" && self.is_exception(obj) {
                    return Ok(Some(self.traceback_of(obj)));
                }
                if let Some(a) = cls_attr {
                    return Ok(Some(self.bind(a, obj)));
                }
                if self.is_exception(obj) {
                    match name {
                        // Not stored when empty (`exc_instance`).
                        "args" => return Ok(Some(crate::exceptions::args_tuple(Vec::new()))),
                        "__cause__" | "__context__" => return Ok(Some(Value::None)),
                        "__suppress_context__" => return Ok(Some(Value::Bool(false))),
                        _ => {}
                    }
                }
                if let Some(ga) = self.class_lookup(&inst.class, "__getattr__") {
                    let r = self.call(&ga, vec![obj.clone(), Value::str(name)]);
                    return match r {
                        Ok(v) => Ok(Some(v)),
                        Err(e) => Err(e),
                    };
                }
                Ok(None)
            }
            Value::Class(cls) => {
                match name {
                    "__name__" => return Ok(Some(Value::str(&*cls.name))),
                    "__qualname__" => return Ok(Some(Value::str(&*cls.qualname))),
                    "__module__" => return Ok(Some(Value::str(&*cls.module))),
                    "__base__" => {
                        return Ok(Some(match &cls.base {
                            Some(b) => Value::Class(b.clone()),
                            None => Value::None,
                        }));
                    }
                    "__bases__" => {
                        return Ok(Some(Value::tuple(
                            cls.bases.iter().map(|b| Value::Class(b.clone())).collect(),
                        )));
                    }
                    "__mro__" => return Ok(Some(Value::tuple(crate::mro::mro_values(cls)))),
                    "__annotations__" if cls.builtin.is_none() => {
                        // Since 3.10 a class's own, created empty on demand.
                        let own = cls.dict.borrow().get("__annotations__").cloned();
                        if let Some(a) = own {
                            return Ok(Some(a));
                        }
                        let d = Value::Dict(Rc::new(RefCell::new(crate::dict::Dict::new())));
                        cls.dict
                            .borrow_mut()
                            .insert(Rc::from("__annotations__"), d.clone());
                        return Ok(Some(d));
                    }
                    "__dict__" => {
                        // A snapshot, where CPython gives a read-only live view.
                        let ns = cls.dict.borrow().clone();
                        return self.namespace_dict(&ns).map(Some);
                    }
                    "__doc__" => {
                        return Ok(Some(
                            cls.dict
                                .borrow()
                                .get("__doc__")
                                .cloned()
                                .unwrap_or(Value::None),
                        ));
                    }
                    _ => {}
                }
                let found = self.class_lookup(cls, name).map(|a| match a {
                    Value::StaticMethod(f) => (*f).clone(),
                    Value::ClassMethod(f) => Value::BoundMethod(Rc::new(BoundMethod {
                        receiver: obj.clone(),
                        func: (*f).clone(),
                    })),
                    other => other,
                });
                // Methods of `type` itself, below the class's own attributes.
                let type_method: Option<NativeFn> = match name {
                    "mro" => Some(crate::mro::type_mro),
                    "__subclasses__" => Some(crate::mro::type_subclasses),
                    _ => None,
                };
                Ok(found.or_else(|| {
                    type_method.map(|f| {
                        Value::Builtin(Rc::new(Builtin {
                            name: Rc::from(name),
                            func: f,
                            receiver: Some(obj.clone()),
                            special: Special::None,
                        }))
                    })
                }))
            }
            Value::Module(m) => {
                if name == "__name__" {
                    return Ok(Some(Value::str(&*m.name)));
                }
                if name == "__dict__" {
                    // A snapshot of the namespace (CPython's is live).
                    let ns = m.globals.borrow().clone();
                    return self.namespace_dict(&ns).map(Some);
                }
                Ok(m.globals.borrow().get(name).cloned())
            }
            Value::Function(f) => Ok(match name {
                "__name__" => Some(Value::str(&**f.name.borrow())),
                "__qualname__" => Some(Value::str(&**f.qualname.borrow())),
                "__module__" => Some(
                    f.globals
                        .globals
                        .borrow()
                        .get("__name__")
                        .cloned()
                        .unwrap_or(Value::None),
                ),
                "__code__" => Some(Value::Code(f.code.clone())),
                "__defaults__" => Some(if f.defaults.is_empty() {
                    Value::None
                } else {
                    Value::tuple(f.defaults.clone())
                }),
                "__doc__" => Some(
                    f.dict
                        .borrow()
                        .get("__doc__")
                        .cloned()
                        .unwrap_or(Value::None),
                ),
                "__dict__" => {
                    let d = Rc::new(RefCell::new(dict::Dict::new()));
                    let items: Vec<(Rc<str>, Value)> = f
                        .dict
                        .borrow()
                        .iter()
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect();
                    for (k, v) in items {
                        dict::set(self, &d, Value::str(&*k), v)?;
                    }
                    Some(Value::Dict(d))
                }
                _ => match f.dict.borrow().get(name) {
                    Some(v) => Some(v.clone()),
                    None => self
                        .class_lookup(&self.types.function, name)
                        .map(|a| self.bind(a, obj)),
                },
            }),
            Value::Builtin(b) => Ok(match name {
                "__name__" | "__qualname__" => Some(Value::str(&*b.name)),
                "__self__" => Some(b.receiver.clone().unwrap_or(Value::None)),
                _ => None,
            }),
            Value::BoundMethod(m) => Ok(match name {
                "__self__" => Some(m.receiver.clone()),
                "__func__" => Some(m.func.clone()),
                _ => return self.getattr_opt(&m.func.clone(), name),
            }),
            Value::Generator(g) => Ok(match name {
                "__name__" => Some(Value::str(&*self.gen_names(g).0)),
                "__qualname__" => Some(Value::str(&*self.gen_names(g).1)),
                "gi_running" | "cr_running" => {
                    Some(Value::Bool(g.state.get() == GenState::Running))
                }
                "gi_suspended" | "cr_suspended" => {
                    Some(Value::Bool(g.state.get() == GenState::Suspended))
                }
                // CPython's ag_running is true while an asend()/athrow()
                // awaitable runs it, including while it awaits inside.
                "ag_running" => Some(Value::Bool(match g.state.get() {
                    GenState::Running => true,
                    GenState::Suspended => {
                        g.peek_frame(|f| f.is_some_and(|f| f.yield_from_target().is_some()))
                    }
                    _ => false,
                })),
                "gi_yieldfrom" | "cr_await" | "ag_await" => Some(
                    g.peek_frame(|f| f.and_then(|f| f.yield_from_target().cloned()))
                        .unwrap_or(Value::None),
                ),
                "gi_frame" | "cr_frame" | "ag_frame" => Some(self.gen_frame_object(g)),
                "gi_code" | "cr_code" | "ag_code" => Some(Value::Code(g.code().clone())),
                _ => self
                    .class_lookup(&self.type_of(obj), name)
                    .map(|a| self.bind(a, obj)),
            }),
            Value::Code(c) => Ok(match name {
                "co_name" => Some(Value::str(&*c.name)),
                "co_qualname" => Some(Value::str(&*c.qualname)),
                "co_filename" => Some(Value::str(&*c.filename)),
                "co_firstlineno" | "f_lineno" => Some(Value::Int(c.first_line as i64)),
                "co_argcount" => Some(Value::Int(c.argcount as i64)),
                "co_varnames" => Some(Value::tuple(
                    c.varnames.iter().map(|n| Value::str(&**n)).collect(),
                )),
                _ => None,
            }),
            Value::Property(p) => Ok(match name {
                "fget" => Some(p.fget.clone()),
                "fset" => Some(p.fset.clone()),
                "fdel" => Some(p.fdel.clone()),
                _ => self
                    .class_lookup(&self.types.property, name)
                    .map(|a| self.bind(a, obj)),
            }),
            Value::Super(s) => {
                let of = match &s.obj {
                    Value::Class(c) => c.clone(),
                    o => self.type_of(o),
                };
                match crate::mro::lookup_after(&of, &s.class, name) {
                    Some(Value::Property(p)) => self.call(&p.fget, vec![s.obj.clone()]).map(Some),
                    Some(Value::ClassMethod(f)) => {
                        let recv = match &s.obj {
                            Value::Class(_) => s.obj.clone(),
                            o => Value::Class(self.type_of(o)),
                        };
                        Ok(Some(Value::BoundMethod(Rc::new(BoundMethod {
                            receiver: recv,
                            func: (*f).clone(),
                        }))))
                    }
                    Some(a) => Ok(Some(match &s.obj {
                        Value::Class(_) => match a {
                            Value::StaticMethod(f) => (*f).clone(),
                            other => other,
                        },
                        o => self.bind(a, o),
                    })),
                    None => Ok(None),
                }
            }
            Value::Slice(s) => Ok(match name {
                "start" => Some(s.start.clone()),
                "stop" => Some(s.stop.clone()),
                "step" => Some(s.step.clone()),
                _ => self
                    .class_lookup(&self.types.slice, name)
                    .map(|a| self.bind(a, obj)),
            }),
            Value::Range(r) => Ok(match name {
                "start" => Some(Value::Int(r.start)),
                "stop" => Some(Value::Int(r.stop)),
                "step" => Some(Value::Int(r.step)),
                _ => self
                    .class_lookup(&self.types.range, name)
                    .map(|a| self.bind(a, obj)),
            }),
            Value::Native(n) => {
                let n = n.clone();
                if let Some(v) = n.get_attr(self, name)? {
                    return Ok(Some(v));
                }
                let cls = n.class(self);
                Ok(self.class_lookup(&cls, name).map(|a| self.bind(a, obj)))
            }
            Value::Int(_) | Value::BigInt(_) | Value::Bool(_) => Ok(match name {
                "real" | "numerator" => Some(match obj {
                    Value::Bool(b) => Value::Int(*b as i64),
                    o => o.clone(),
                }),
                "imag" => Some(Value::Int(0)),
                "denominator" => Some(Value::Int(1)),
                _ => self
                    .class_lookup(&self.type_of(obj), name)
                    .map(|a| self.bind(a, obj)),
            }),
            Value::Float(f) => Ok(match name {
                "real" => Some(Value::Float(*f)),
                "imag" => Some(Value::Float(0.0)),
                _ => self
                    .class_lookup(&self.types.float, name)
                    .map(|a| self.bind(a, obj)),
            }),
            _ => {
                let cls = self.type_of(obj);
                Ok(self.class_lookup(&cls, name).map(|a| self.bind(a, obj)))
            }
        }
    }

    /// `LoadMethod`: avoids creating a bound method for plain method calls.
    pub(crate) fn load_method(&mut self, obj: Value, name: &str) -> PyResult<(Value, Value)> {
        self.load_method_impl(obj, name, None)
    }

    /// `load_method` with the instruction's cache of class lookups.
    pub(crate) fn load_method_cached(
        &mut self,
        obj: Value,
        name: &str,
        code: &Rc<crate::code::Code>,
        index: usize,
    ) -> PyResult<(Value, Value)> {
        self.load_method_impl(obj, name, Some((code, index)))
    }

    /// `class_lookup` through a `LoadMethod` cache entry.
    pub(crate) fn class_lookup_cached(
        &self,
        cls: &Rc<Class>,
        name: &str,
        cache: Option<(&Rc<crate::code::Code>, usize)>,
    ) -> Option<Value> {
        let Some((code, index)) = cache else {
            return self.class_lookup(cls, name);
        };
        let key = Rc::as_ptr(cls) as usize;
        let epoch = class_epoch();
        if let Some(Some((k, e, found, _))) = code.method_cache.borrow().get(index)
            && *k == key
            && *e == epoch
        {
            return found.clone();
        }
        let found = self.class_lookup(cls, name);
        let mut c = code.method_cache.borrow_mut();
        if c.len() <= index {
            c.resize(code.names.len().max(index + 1), None);
        }
        c[index] = Some((key, epoch, found.clone(), Default::default()));
        found
    }

    fn load_method_impl(
        &mut self,
        obj: Value,
        name: &str,
        cache: Option<(&Rc<crate::code::Code>, usize)>,
    ) -> PyResult<(Value, Value)> {
        let cls = match &obj {
            Value::Instance(i) => {
                if i.dict.borrow().contains_key(name) {
                    let v = self.getattr(&obj, name)?;
                    return Ok((v, Value::Undef));
                }
                Some(i.class.clone())
            }
            Value::List(_) => Some(self.types.list.clone()),
            Value::Str(_) => Some(self.types.str_.clone()),
            Value::Dict(_) => Some(self.types.dict.clone()),
            Value::Generator(g) => Some(match g.kind {
                GenKind::Generator => self.types.generator.clone(),
                GenKind::Coroutine => self.types.coroutine.clone(),
                GenKind::AsyncGenerator => self.types.async_generator.clone(),
            }),
            Value::Tuple(_) => Some(self.types.tuple.clone()),
            Value::Set(_) => Some(self.types.set.clone()),
            Value::Native(n) => Some(n.class(self)),
            _ => None,
        };
        if let Some(cls) = cls
            && let Some(a) = self.class_lookup_cached(&cls, name, cache)
        {
            match a {
                Value::Function(_) | Value::Builtin(_) => return Ok((a, obj)),
                Value::Property(_) => {}
                other => {
                    let v = self.bind(other, &obj);
                    return Ok((v, Value::Undef));
                }
            }
        }
        let v = self.getattr(&obj, name)?;
        Ok((v, Value::Undef))
    }

    /// A dict holding a copy of a namespace (`cls.__dict__`, a module's
    /// `__dict__`).
    fn namespace_dict(&mut self, ns: &Namespace) -> PyResult<Value> {
        let d = Rc::new(RefCell::new(crate::dict::Dict::new()));
        for (k, v) in ns {
            crate::dict::set(self, &d, Value::str(&**k), v.clone())?;
        }
        Ok(Value::Dict(d))
    }

    /// Whether a store on an instance of `cls` goes straight to the
    /// instance dict: not an exception class (those have special
    /// attributes), no property and no `__setattr__` but object's anywhere
    /// in the MRO. Cached in the class until any class changes.
    fn plain_setattr(&self, cls: &Rc<Class>) -> bool {
        let epoch = crate::value::class_epoch();
        if let Some(v) = cls.dict.plain_setattr_cached(epoch) {
            return v;
        }
        let no_property = std::iter::once(cls).chain(cls.mro.iter()).all(|k| {
            !k.dict
                .borrow()
                .values()
                .any(|v| matches!(v, Value::Property(_)))
        });
        let plain = no_property
            && !self.is_subclass(cls, &self.exc.base_exception)
            && matches!(
                self.class_lookup(cls, "__setattr__"),
                None | Some(Value::Builtin(_))
            );
        cls.dict.cache_plain_setattr(epoch, plain);
        plain
    }

    /// `setattr` with the name already interned (`StoreAttr`): a plain
    /// store shares the name instead of allocating a copy for the key.
    #[inline]
    pub fn setattr_interned(&mut self, obj: &Value, name: &Rc<str>, v: Value) -> PyResult<()> {
        match obj {
            Value::Instance(inst) if self.plain_setattr(&inst.class) => {
                let old = inst.dict.borrow_mut().insert(name.clone(), v);
                drop(old);
                self.run_finalizers()
            }
            _ => self.setattr(obj, name, v),
        }
    }

    pub fn setattr(&mut self, obj: &Value, name: &str, v: Value) -> PyResult<()> {
        match obj {
            Value::Instance(inst) if self.plain_setattr(&inst.class) => {
                let old = inst.dict.borrow_mut().insert(Rc::from(name), v);
                drop(old);
                self.run_finalizers()
            }
            Value::Instance(inst) => {
                if let Some(Value::Property(p)) = self.class_lookup(&inst.class, name) {
                    if p.fset.is_none() {
                        let msg = p.missing(&inst.class, "setter");
                        return Err(self.attribute_error(&msg));
                    }
                    self.call(&p.fset, vec![obj.clone(), v])?;
                    return Ok(());
                }
                if let Some(sa) = self.class_lookup(&inst.class, "__setattr__")
                    && !matches!(sa, Value::Builtin(_))
                {
                    self.call(&sa, vec![obj.clone(), Value::str(name), v])?;
                    return Ok(());
                }
                if self.is_exception(obj) && self.exc_setattr(obj, name, &v)? {
                    return Ok(());
                }
                let old = inst.dict.borrow_mut().insert(Rc::from(name), v);
                drop(old);
                self.run_finalizers()?;
                Ok(())
            }
            Value::Class(cls) => {
                if cls.builtin.is_some() {
                    let msg = format!(
                        "cannot set '{}' attribute of immutable type '{}'",
                        name, cls.name
                    );
                    return Err(self.type_error(&msg));
                }
                cls.dict.borrow_mut().insert(Rc::from(name), v);
                Ok(())
            }
            Value::Function(f) => {
                match name {
                    "__name__" => {
                        if let Value::Str(s) = &v {
                            *f.name.borrow_mut() = Rc::from(s.as_str());
                        }
                    }
                    "__qualname__" => {
                        if let Value::Str(s) = &v {
                            *f.qualname.borrow_mut() = Rc::from(s.as_str());
                        }
                    }
                    _ => {
                        f.dict.borrow_mut().insert(Rc::from(name), v);
                    }
                }
                Ok(())
            }
            Value::Module(m) => {
                m.globals.borrow_mut().insert(Rc::from(name), v);
                Ok(())
            }
            Value::Generator(g) if self.set_gen_name(g, name, &v)? => Ok(()),
            Value::Native(n) if n.clone().set_attr(self, name, &v)? => Ok(()),
            _ => {
                let msg = if self.getattr_opt(obj, name)?.is_some() {
                    format!(
                        "'{}' object attribute '{}' is read-only",
                        self.type_name(obj),
                        name
                    )
                } else {
                    format!(
                        "'{}' object has no attribute '{}'",
                        self.type_name(obj),
                        name
                    )
                };
                Err(self.attribute_error(&msg))
            }
        }
    }

    pub fn delattr(&mut self, obj: &Value, name: &str) -> PyResult<()> {
        if let Value::Instance(inst) = obj
            && let Some(da) = self.class_lookup(&inst.class, "__delattr__")
            && !matches!(da, Value::Builtin(_))
        {
            self.call(&da, vec![obj.clone(), Value::str(name)])?;
            return Ok(());
        }
        self.delattr_generic(obj, name)
    }

    /// `object.__delattr__`: deletion without the class's `__delattr__`.
    pub fn delattr_generic(&mut self, obj: &Value, name: &str) -> PyResult<()> {
        match obj {
            Value::Instance(inst) => {
                if let Some(Value::Property(p)) = self.class_lookup(&inst.class, name) {
                    if p.fdel.is_none() {
                        let msg = p.missing(&inst.class, "deleter");
                        return Err(self.attribute_error(&msg));
                    }
                    self.call(&p.fdel, vec![obj.clone()])?;
                    return Ok(());
                }
                if name == "args" && self.is_exception(obj) {
                    return Err(self.type_error("args may not be deleted"));
                }
                let old = inst.dict.borrow_mut().shift_remove(name);
                if old.is_none() {
                    return Err(self.no_attribute(obj, name));
                }
                drop(old);
                self.run_finalizers()
            }
            Value::Class(cls) => {
                if cls.dict.borrow_mut().shift_remove(name).is_none() {
                    return Err(self.no_attribute(obj, name));
                }
                Ok(())
            }
            Value::Function(f) => {
                f.dict.borrow_mut().shift_remove(name);
                Ok(())
            }
            // Deleting a name or a member is refused as setting a non-string.
            Value::Generator(g) if self.set_gen_name(g, name, &Value::None)? => Ok(()),
            _ => Err(self.no_attribute(obj, name)),
        }
    }

    /// Calls method `name` of `obj` with `args`.
    pub fn call_method(&mut self, obj: &Value, name: &str, args: Vec<Value>) -> PyResult<Value> {
        let (m, recv) = self.load_method(obj.clone(), name)?;
        let mut a = Vec::with_capacity(args.len() + 1);
        if !recv.is_undef() {
            a.push(recv);
        }
        a.extend(args);
        self.call(&m, a)
    }

    // ---- truth, length ------------------------------------------------

    pub fn truthy(&mut self, v: &Value) -> PyResult<bool> {
        Ok(match v {
            Value::Undef | Value::None => false,
            Value::Bool(b) => *b,
            Value::Int(i) => *i != 0,
            Value::BigInt(b) => !b.is_zero(),
            Value::Float(f) => *f != 0.0,
            Value::Str(s) => !s.s.is_empty(),
            Value::Bytes(b) => !b.is_empty(),
            Value::List(l) => !l.borrow().is_empty(),
            Value::Tuple(t) => !t.is_empty(),
            Value::Dict(d) | Value::Set(d) | Value::FrozenSet(d) => !d.borrow().is_empty(),
            Value::Range(r) => !r.is_empty(),
            Value::Instance(_) => {
                if let Some(b) = self.lookup_special(v, "__bool__") {
                    let r = self.call(&b, vec![v.clone()])?;
                    return match r {
                        Value::Bool(b) => Ok(b),
                        other => {
                            let msg = format!(
                                "__bool__ should return bool, returned {}",
                                self.type_name(&other)
                            );
                            Err(self.type_error(&msg))
                        }
                    };
                }
                if self.lookup_special(v, "__len__").is_some() {
                    return Ok(self.len(v)? > 0);
                }
                true
            }
            Value::Native(n) => match n.truthy() {
                Some(b) => b,
                None => {
                    if let Some(b) = self.lookup_special(v, "__bool__") {
                        let r = self.call(&b, vec![v.clone()])?;
                        return self.truthy(&r);
                    }
                    if self.lookup_special(v, "__len__").is_some() {
                        return Ok(self.len(v)? > 0);
                    }
                    true
                }
            },
            _ => true,
        })
    }

    pub fn len(&mut self, v: &Value) -> PyResult<usize> {
        Ok(match v {
            Value::Str(s) => s.char_len(),
            Value::Bytes(b) => b.len(),
            Value::List(l) => l.borrow().len(),
            Value::Tuple(t) => t.len(),
            Value::Dict(d) | Value::Set(d) | Value::FrozenSet(d) => d.borrow().len(),
            Value::Range(r) => {
                let n = crate::sizes::range_len(r);
                if n > i64::MAX as i128 {
                    return Err(self.overflow_error("Python int too large to convert to C ssize_t"));
                }
                n as usize
            }
            Value::Native(n) if n.len().is_some() => n.len().unwrap_or(0),
            Value::Class(c) if self.class_hook(c, "__class_len__").is_some() => {
                let c = c.clone();
                let r = self.call_class_hook(&c, "__class_len__", vec![])?;
                return match r {
                    Some(Value::Int(i)) if i >= 0 => Ok(i as usize),
                    _ => Err(self.value_error("__len__() should return >= 0")),
                };
            }
            _ => {
                if let Some(f) = self.lookup_special(v, "__len__") {
                    let r = self.call(&f, vec![v.clone()])?;
                    return match r {
                        Value::Int(i) if i >= 0 => Ok(i as usize),
                        Value::Int(_) => Err(self.value_error("__len__() should return >= 0")),
                        Value::Bool(b) => Ok(b as usize),
                        other => {
                            let msg = format!(
                                "'{}' object cannot be interpreted as an integer",
                                self.type_name(&other)
                            );
                            Err(self.type_error(&msg))
                        }
                    };
                }
                let msg = format!("object of type '{}' has no len()", self.type_name(v));
                return Err(self.type_error(&msg));
            }
        })
    }

    // ---- repr and str --------------------------------------------------

    pub fn repr(&mut self, v: &Value) -> PyResult<String> {
        match v {
            Value::List(_)
            | Value::Tuple(_)
            | Value::Dict(_)
            | Value::Set(_)
            | Value::FrozenSet(_)
            | Value::Native(_) => self.nested(crate::recursion::IN_REPR, |vm| vm.repr_impl(v)),
            _ => self.repr_impl(v),
        }
    }

    fn repr_impl(&mut self, v: &Value) -> PyResult<String> {
        Ok(match v {
            Value::Undef => "<undefined>".into(),
            Value::None => "None".into(),
            Value::NotImplemented => "NotImplemented".into(),
            Value::Ellipsis => "Ellipsis".into(),
            Value::Bool(b) => if *b { "True" } else { "False" }.into(),
            Value::Int(i) => i.to_string(),
            Value::BigInt(b) => self.bigint_to_decimal(b)?,
            Value::Float(f) => crate::format::float_repr(*f),
            Value::Str(s) => repr_str(s.as_str()),
            Value::Bytes(b) => repr_bytes(b),
            Value::List(l) => {
                let addr = v.addr();
                if self.repr_guard.contains(&addr) {
                    return Ok("[...]".into());
                }
                self.repr_guard.push(addr);
                let items = l.borrow().clone();
                let r = self.repr_items(&items, "[", "]");
                self.repr_guard.pop();
                r?
            }
            Value::Tuple(t) => {
                if t.len() == 1 {
                    format!("({},)", self.repr(&t[0])?)
                } else {
                    self.repr_items(t, "(", ")")?
                }
            }
            Value::Dict(d) => {
                let addr = v.addr();
                if self.repr_guard.contains(&addr) {
                    return Ok("{...}".into());
                }
                self.repr_guard.push(addr);
                let items = d.borrow().items();
                let mut out = String::from("{");
                let mut r = Ok(());
                for (i, (k, val)) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    match (self.repr(k), self.repr(val)) {
                        (Ok(a), Ok(b)) => {
                            out.push_str(&a);
                            out.push_str(": ");
                            out.push_str(&b);
                        }
                        (Err(e), _) | (_, Err(e)) => {
                            r = Err(e);
                            break;
                        }
                    }
                }
                self.repr_guard.pop();
                r?;
                out.push('}');
                out
            }
            Value::Set(d) => {
                let keys = d.borrow().keys();
                if keys.is_empty() {
                    "set()".into()
                } else {
                    self.repr_items(&keys, "{", "}")?
                }
            }
            Value::FrozenSet(d) => {
                let keys = d.borrow().keys();
                if keys.is_empty() {
                    "frozenset()".into()
                } else {
                    format!("frozenset({})", self.repr_items(&keys, "{", "}")?)
                }
            }
            Value::Range(r) => {
                if r.step == 1 {
                    format!("range({}, {})", r.start, r.stop)
                } else {
                    format!("range({}, {}, {})", r.start, r.stop, r.step)
                }
            }
            Value::Slice(s) => format!(
                "slice({}, {}, {})",
                self.repr(&s.start)?,
                self.repr(&s.stop)?,
                self.repr(&s.step)?
            ),
            Value::Function(f) => {
                format!("<function {} at {:#x}>", f.qualname.borrow(), v.addr())
            }
            Value::Builtin(b) => match &b.receiver {
                Some(r) => format!(
                    "<built-in method {} of {} object at {:#x}>",
                    b.name,
                    self.type_name(r),
                    r.addr()
                ),
                None => format!("<built-in function {}>", b.name),
            },
            Value::BoundMethod(m) => {
                let fname = match &m.func {
                    Value::Function(f) => f.qualname.borrow().to_string(),
                    Value::Builtin(b) => b.name.to_string(),
                    other => self.repr(other)?,
                };
                let recv = self.repr(&m.receiver)?;
                match &m.func {
                    Value::Builtin(b) => format!(
                        "<built-in method {} of {} object at {:#x}>",
                        b.name,
                        self.type_name(&m.receiver),
                        m.receiver.addr()
                    ),
                    _ => format!("<bound method {fname} of {recv}>"),
                }
            }
            Value::Class(c) => {
                if c.builtin.is_none()
                    && let Some(r) = self.call_class_hook(c, "__class_repr__", vec![])?
                {
                    return self.to_str(&r);
                }
                if c.module.as_ref() == "builtins" {
                    format!("<class '{}'>", c.qualname)
                } else {
                    format!("<class '{}.{}'>", c.module, c.qualname)
                }
            }
            Value::Instance(i) => {
                if let Some(r) = self.class_lookup(&i.class, "__repr__") {
                    let s = self.call(&r, vec![v.clone()])?;
                    return match s {
                        Value::Str(s) => Ok(s.as_str().to_string()),
                        other => {
                            let msg = format!(
                                "__repr__ returned non-string (type {})",
                                self.type_name(&other)
                            );
                            Err(self.type_error(&msg))
                        }
                    };
                }
                format!(
                    "<{}.{} object at {:#x}>",
                    i.class.module,
                    i.class.qualname,
                    v.addr()
                )
            }
            Value::Generator(g) => {
                let what = match g.kind {
                    GenKind::Generator => "generator",
                    GenKind::Coroutine => "coroutine",
                    GenKind::AsyncGenerator => "async_generator",
                };
                format!(
                    "<{} object {} at {:#x}>",
                    what,
                    self.gen_names(g).1,
                    v.addr()
                )
            }
            Value::Module(m) => match m.globals.borrow().get("__file__") {
                Some(Value::Str(f)) => format!("<module '{}' from '{}'>", m.name, f.as_str()),
                _ if m.globals.borrow().contains_key("__path__") => {
                    format!("<module '{}' (namespace)>", m.name)
                }
                _ => format!("<module '{}' (built-in)>", m.name),
            },
            Value::Iterator(it) => {
                format!(
                    "<{} object at {:#x}>",
                    iter_type_name(&it.borrow()),
                    v.addr()
                )
            }
            Value::Property(_) => format!("<property object at {:#x}>", v.addr()),
            Value::StaticMethod(_) => format!("<staticmethod object at {:#x}>", v.addr()),
            Value::ClassMethod(_) => format!("<classmethod object at {:#x}>", v.addr()),
            Value::Super(s) => format!(
                "<super: <class '{}'>, <{} object>>",
                s.class.name,
                self.type_name(&s.obj)
            ),
            Value::Cell(_) => format!("<cell at {:#x}>", v.addr()),
            Value::Code(c) => format!("<code object {} at {:#x}>", c.name, v.addr()),
            Value::Native(n) => {
                let n = n.clone();
                match n.repr(self)? {
                    Some(s) => s,
                    None => {
                        let cls = n.class(self);
                        if let Some(r) = self.class_lookup(&cls, "__repr__") {
                            let s = self.call(&r, vec![v.clone()])?;
                            return self.to_str(&s);
                        }
                        format!("<{}.{} object at {:#x}>", cls.module, cls.name, v.addr())
                    }
                }
            }
        })
    }

    fn repr_items(&mut self, items: &[Value], open: &str, close: &str) -> PyResult<String> {
        let mut out = String::from(open);
        for (i, it) in items.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            out.push_str(&self.repr(it)?);
        }
        out.push_str(close);
        Ok(out)
    }

    /// `str(v)`.
    pub fn to_str(&mut self, v: &Value) -> PyResult<String> {
        match v {
            Value::Str(s) => Ok(s.as_str().to_string()),
            Value::Instance(i) => {
                if let Some(f) = self.class_lookup(&i.class, "__str__") {
                    let s = self.call(&f, vec![v.clone()])?;
                    return match s {
                        Value::Str(s) => Ok(s.as_str().to_string()),
                        other => {
                            let msg = format!(
                                "__str__ returned non-string (type {})",
                                self.type_name(&other)
                            );
                            Err(self.type_error(&msg))
                        }
                    };
                }
                self.repr(v)
            }
            Value::Native(n) => {
                let cls = n.class(self);
                if let Some(f) = self.class_lookup(&cls, "__str__") {
                    let s = self.call(&f, vec![v.clone()])?;
                    return self.to_str(&s);
                }
                self.repr(v)
            }
            _ => self.repr(v),
        }
    }

    // ---- equality, ordering, hashing -------------------------------------

    pub fn eq(&mut self, a: &Value, b: &Value) -> PyResult<bool> {
        use Value::*;
        match (a, b) {
            (List(_), List(_)) | (Tuple(_), Tuple(_)) | (Dict(_), Dict(_)) => {
                self.nested(crate::recursion::IN_COMPARISON, |vm| vm.eq_impl(a, b))
            }
            _ => self.eq_impl(a, b),
        }
    }

    fn eq_impl(&mut self, a: &Value, b: &Value) -> PyResult<bool> {
        use Value::*;
        Ok(match (a, b) {
            (Int(x), Int(y)) => x == y,
            (Str(x), Str(y)) => x.as_str() == y.as_str(),
            (None, None) => true,
            (Bool(x), Bool(y)) => x == y,
            (Float(x), Float(y)) => x == y,
            (Int(_) | Bool(_) | BigInt(_) | Float(_), Int(_) | Bool(_) | BigInt(_) | Float(_)) => {
                crate::arith::num_cmp(a, b) == Some(std::cmp::Ordering::Equal)
            }
            (List(x), List(y)) => {
                if Rc::ptr_eq(x, y) {
                    return Ok(true);
                }
                let (x, y) = (x.borrow().clone(), y.borrow().clone());
                self.seq_eq(&x, &y)?
            }
            (Tuple(x), Tuple(y)) => self.seq_eq(x, y)?,
            (Dict(x), Dict(y)) => {
                if x.borrow().len() != y.borrow().len() {
                    return Ok(false);
                }
                let items = x.borrow().items();
                for (k, v) in items {
                    match dict::get(self, y, &k)? {
                        Some(v2) => {
                            if !(v.is(&v2) || self.eq(&v, &v2)?) {
                                return Ok(false);
                            }
                        }
                        Option::None => return Ok(false),
                    }
                }
                true
            }
            (Set(x) | FrozenSet(x), Set(y) | FrozenSet(y)) => {
                if x.borrow().len() != y.borrow().len() {
                    return Ok(false);
                }
                let keys = x.borrow().keys();
                for k in keys {
                    if !dict::contains(self, y, &k)? {
                        return Ok(false);
                    }
                }
                true
            }
            (Range(x), Range(y)) => {
                let (lx, ly) = (x.len(), y.len());
                lx == ly && (lx == 0 || (x.start == y.start && (lx == 1 || x.step == y.step)))
            }
            (Bytes(x), Bytes(y)) => x == y,
            (Instance(_), _) | (_, Instance(_)) | (Native(_), _) | (_, Native(_)) => {
                let r = self.rich_compare(a, b, CmpOp::Eq)?;
                self.truthy(&r)?
            }
            (Slice(x), Slice(y)) => {
                self.eq(&x.start, &y.start)?
                    && self.eq(&x.stop, &y.stop)?
                    && self.eq(&x.step, &y.step)?
            }
            _ => a.is(b),
        })
    }

    fn seq_eq(&mut self, x: &[Value], y: &[Value]) -> PyResult<bool> {
        if x.len() != y.len() {
            return Ok(false);
        }
        for (p, q) in x.iter().zip(y) {
            if !(p.is(q) || self.eq(p, q)?) {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Comparison through dunder methods with CPython's reflection rules.
    pub fn rich_compare(&mut self, a: &Value, b: &Value, op: CmpOp) -> PyResult<Value> {
        let (name, reflected) = match op {
            CmpOp::Eq => ("__eq__", "__eq__"),
            CmpOp::NotEq => ("__ne__", "__ne__"),
            CmpOp::Lt => ("__lt__", "__gt__"),
            CmpOp::LtE => ("__le__", "__ge__"),
            CmpOp::Gt => ("__gt__", "__lt__"),
            CmpOp::GtE => ("__ge__", "__le__"),
            _ => return Err(self.type_error("bad comparison")),
        };
        let user = |v: &Value| matches!(v, Value::Instance(_) | Value::Native(_));
        if user(a) || user(b) {
            // A subclass's reflected method goes first.
            let b_first = user(b)
                && !Rc::ptr_eq(&self.type_of(a), &self.type_of(b))
                && self.is_subclass(&self.type_of(b), &self.type_of(a));
            let order: [(&Value, &Value, &str); 2] = if b_first {
                [(b, a, reflected), (a, b, name)]
            } else {
                [(a, b, name), (b, a, reflected)]
            };
            for (x, y, m) in order {
                if let Some(f) = self.lookup_special(x, m) {
                    let r = self.call(&f, vec![x.clone(), y.clone()])?;
                    if !matches!(r, Value::NotImplemented) {
                        return Ok(r);
                    }
                }
            }
            return match op {
                CmpOp::Eq => Ok(Value::Bool(a.is(b))),
                CmpOp::NotEq => {
                    // __ne__ defaults to the inverse of __eq__.
                    if let Some(f) = self.lookup_special(a, "__eq__") {
                        let r = self.call(&f, vec![a.clone(), b.clone()])?;
                        if !matches!(r, Value::NotImplemented) {
                            return Ok(Value::Bool(!self.truthy(&r)?));
                        }
                    }
                    Ok(Value::Bool(!a.is(b)))
                }
                _ => Err(self.cmp_error(a, b, op)),
            };
        }
        match op {
            CmpOp::Eq => return Ok(Value::Bool(self.eq(a, b)?)),
            CmpOp::NotEq => return Ok(Value::Bool(!self.eq(a, b)?)),
            _ => {}
        }
        let ord = self.order(a, b, op)?;
        Ok(Value::Bool(match op {
            CmpOp::Lt => ord == std::cmp::Ordering::Less,
            CmpOp::LtE => ord != std::cmp::Ordering::Greater,
            CmpOp::Gt => ord == std::cmp::Ordering::Greater,
            CmpOp::GtE => ord != std::cmp::Ordering::Less,
            _ => false,
        }))
    }

    fn cmp_error(&self, a: &Value, b: &Value, op: CmpOp) -> Value {
        let msg = format!(
            "'{}' not supported between instances of '{}' and '{}'",
            op.symbol(),
            self.type_name(a),
            self.type_name(b)
        );
        self.type_error(&msg)
    }

    /// Ordering of built-in values (the NaN case answers false through
    /// `partial`).
    fn order(&mut self, a: &Value, b: &Value, op: CmpOp) -> PyResult<std::cmp::Ordering> {
        use Value::*;
        use std::cmp::Ordering;
        match (a, b) {
            (Int(_) | Bool(_) | BigInt(_) | Float(_), Int(_) | Bool(_) | BigInt(_) | Float(_)) => {
                match crate::arith::num_cmp(a, b) {
                    Some(o) => Ok(o),
                    // NaN: every ordering comparison is false.
                    Option::None => Ok(match op {
                        CmpOp::Lt | CmpOp::LtE => Ordering::Greater,
                        _ => Ordering::Less,
                    }),
                }
            }
            (Str(x), Str(y)) => Ok(x.as_str().cmp(y.as_str())),
            (Bytes(x), Bytes(y)) => Ok(x.cmp(y)),
            (List(x), List(y)) => {
                let (x, y) = (x.borrow().clone(), y.borrow().clone());
                self.nested(crate::recursion::IN_COMPARISON, |vm| vm.seq_order(&x, &y))
            }
            (Tuple(x), Tuple(y)) => {
                let (x, y) = (x.clone(), y.clone());
                self.nested(crate::recursion::IN_COMPARISON, |vm| vm.seq_order(&x, &y))
            }
            (Set(x) | FrozenSet(x), Set(y) | FrozenSet(y)) => {
                let xs = x.borrow().keys();
                let (lx, ly) = (xs.len(), y.borrow().len());
                let mut subset = true;
                for k in xs {
                    if !dict::contains(self, y, &k)? {
                        subset = false;
                        break;
                    }
                }
                let ys = y.borrow().keys();
                let mut superset = true;
                for k in ys {
                    if !dict::contains(self, x, &k)? {
                        superset = false;
                        break;
                    }
                }
                // Map subset relations onto an ordering for the operator.
                Ok(match op {
                    CmpOp::Lt => {
                        if subset && lx < ly {
                            Ordering::Less
                        } else {
                            Ordering::Greater
                        }
                    }
                    CmpOp::LtE => {
                        if subset {
                            Ordering::Less
                        } else {
                            Ordering::Greater
                        }
                    }
                    CmpOp::Gt => {
                        if superset && lx > ly {
                            Ordering::Greater
                        } else {
                            Ordering::Less
                        }
                    }
                    _ => {
                        if superset {
                            Ordering::Greater
                        } else {
                            Ordering::Less
                        }
                    }
                })
            }
            _ => Err(self.cmp_error(a, b, op)),
        }
    }

    fn seq_order(&mut self, x: &[Value], y: &[Value]) -> PyResult<std::cmp::Ordering> {
        for (p, q) in x.iter().zip(y) {
            if p.is(q) || self.eq(p, q)? {
                continue;
            }
            let lt = self.rich_compare(p, q, CmpOp::Lt)?;
            if self.truthy(&lt)? {
                return Ok(std::cmp::Ordering::Less);
            }
            // Not equal and not less: greater (as far as `op` cares).
            return Ok(std::cmp::Ordering::Greater);
        }
        Ok(x.len().cmp(&y.len()))
    }

    /// `a < b` as a bool, for sorting and min/max.
    pub fn less_than(&mut self, a: &Value, b: &Value) -> PyResult<bool> {
        if let (Value::Int(x), Value::Int(y)) = (a, b) {
            return Ok(x < y);
        }
        let r = self.rich_compare(a, b, CmpOp::Lt)?;
        self.truthy(&r)
    }

    pub fn hash(&mut self, v: &Value) -> PyResult<u64> {
        use Value::*;
        Ok(match v {
            Int(i) => hash_int(*i) as u64,
            Bool(b) => *b as u64,
            BigInt(b) => hash_bigint(b) as u64,
            Float(f) => hash_float(*f) as u64,
            Str(s) => str_hash(s.as_str()),
            Bytes(b) => {
                let mut h: u64 = 0xcbf29ce484222325;
                for x in b.iter() {
                    h ^= *x as u64;
                    h = h.wrapping_mul(0x100000001b3);
                }
                h
            }
            None => 0xfc94_6b7a,
            Tuple(items) => {
                // CPython does not bound this recursion; covm stops before
                // the stack runs out.
                if self.stack_exhausted() {
                    return Err(self.recursion_error(""));
                }
                // CPython's xxHash-based tuple hash, so sets of tuples
                // iterate in CPython's order.
                const P1: u64 = 11400714785074694791;
                const P2: u64 = 14029467366897019727;
                const P5: u64 = 2870177450012600261;
                let mut acc: u64 = P5;
                for it in items.iter() {
                    let lane = self.hash(it)?;
                    acc = acc.wrapping_add(lane.wrapping_mul(P2));
                    acc = acc.rotate_left(31);
                    acc = acc.wrapping_mul(P1);
                }
                acc = acc.wrapping_add((items.len() as u64) ^ (P5 ^ 3527539));
                if acc == u64::MAX { 1546275796 } else { acc }
            }
            FrozenSet(d) => {
                if self.stack_exhausted() {
                    return Err(self.recursion_error(""));
                }
                let keys = d.borrow().keys();
                let mut h: u64 = 0;
                for k in keys {
                    h ^= self.hash(&k)?.wrapping_mul(0x9e3779b97f4a7c15);
                }
                h
            }
            List(_) | Dict(_) | Set(_) => {
                let msg = format!("unhashable type: '{}'", self.type_name(v));
                return Err(self.type_error(&msg));
            }
            Instance(_) | Native(_) => match self.class_lookup(&self.type_of(v), "__hash__") {
                Some(Value::None) => {
                    let msg = format!("unhashable type: '{}'", self.type_name(v));
                    return Err(self.type_error(&msg));
                }
                Some(f @ (Value::Function(_) | Value::BoundMethod(_) | Value::Builtin(_))) => {
                    let r = self.call(&f, vec![v.clone()])?;
                    match r {
                        Value::Int(i) => i as u64,
                        Value::BigInt(b) => hash_bigint(&b) as u64,
                        Value::Bool(b) => b as u64,
                        _ => {
                            return Err(self.type_error("__hash__ method should return an integer"));
                        }
                    }
                }
                _ => (v.addr() >> 4) as u64,
            },
            Range(r) => {
                let t = Value::tuple(vec![
                    Value::Int(r.start),
                    Value::Int(r.stop),
                    Value::Int(r.step),
                ]);
                self.hash(&t)?
            }
            _ => (v.addr() >> 4) as u64 ^ 0x5bd1e995,
        })
    }

    // ---- containment and items -------------------------------------------

    /// `item in container`.
    pub fn contains(&mut self, container: &Value, item: &Value) -> PyResult<bool> {
        if let Value::Class(c) = container
            && let Some(r) = self.call_class_hook(c, "__class_contains__", vec![item.clone()])?
        {
            return self.truthy(&r);
        }
        match container {
            Value::List(l) => {
                let items = l.borrow().clone();
                for x in &items {
                    if x.is(item) || self.eq(x, item)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            Value::Tuple(t) => {
                for x in t.iter() {
                    if x.is(item) || self.eq(x, item)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            Value::Str(s) => match item {
                Value::Str(sub) => Ok(s.as_str().contains(sub.as_str())),
                other => {
                    let msg = format!(
                        "'in <string>' requires string as left operand, not {}",
                        self.type_name(other)
                    );
                    Err(self.type_error(&msg))
                }
            },
            Value::Dict(d) | Value::Set(d) | Value::FrozenSet(d) => dict::contains(self, d, item),
            Value::Range(r) => {
                let i = match item {
                    Value::Int(i) => *i,
                    Value::Bool(b) => *b as i64,
                    Value::Float(f) if f.fract() == 0.0 => *f as i64,
                    _ => return Ok(false),
                };
                Ok(if r.step > 0 {
                    i >= r.start && i < r.stop && (i - r.start) % r.step == 0
                } else {
                    i <= r.start && i > r.stop && (r.start - i) % (-r.step) == 0
                })
            }
            Value::Bytes(b) => match item {
                Value::Int(i) => Ok(b.contains(&(*i as u8))),
                Value::Bytes(sub) => {
                    Ok(sub.is_empty() || b.windows(sub.len()).any(|w| w == &sub[..]))
                }
                _ => Err(self.type_error("a bytes-like object is required")),
            },
            _ => {
                if let Some(f) = self.lookup_special(container, "__contains__") {
                    let r = self.call(&f, vec![container.clone(), item.clone()])?;
                    return self.truthy(&r);
                }
                let it = match self.get_iter(container) {
                    Ok(it) => it,
                    Err(_) => {
                        let msg = format!(
                            "argument of type '{}' is not iterable",
                            self.type_name(container)
                        );
                        return Err(self.type_error(&msg));
                    }
                };
                while let Some(x) = self.next(&it)? {
                    if x.is(item) || self.eq(&x, item)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
        }
    }

    /// An index into a sequence of length `len`, negative from the end.
    pub fn seq_index(&mut self, key: &Value, len: usize, what: &str) -> PyResult<usize> {
        let i = match key {
            Value::Int(i) => *i,
            Value::Bool(b) => *b as i64,
            Value::BigInt(_) => {
                return Err(self.index_error("cannot fit 'int' into an index-sized integer"));
            }
            other => {
                if let Some(f) = self.lookup_special(other, "__index__") {
                    let r = self.call(&f, vec![other.clone()])?;
                    return self.seq_index(&r, len, what);
                }
                let msg = format!(
                    "{} indices must be integers or slices, not {}",
                    what,
                    self.type_name(other)
                );
                return Err(self.type_error(&msg));
            }
        };
        let idx = if i < 0 {
            i.saturating_add(len as i64)
        } else {
            i
        };
        if idx < 0 || idx >= len as i64 {
            let msg = format!("{what} index out of range");
            return Err(self.index_error(&msg));
        }
        Ok(idx as usize)
    }

    /// Resolves a slice against a length: (start, stop, step) as Python's
    /// `slice.indices`.
    pub fn slice_indices(&mut self, s: &SliceObj, len: usize) -> PyResult<(i64, i64, i64)> {
        let len = len as i64;
        let get = |vm: &mut Vm, v: &Value| -> PyResult<Option<i64>> {
            match v {
                Value::None => Ok(None),
                Value::Int(i) => Ok(Some(*i)),
                Value::Bool(b) => Ok(Some(*b as i64)),
                Value::BigInt(b) => Ok(Some(if b.is_negative() {
                    i64::MIN / 2
                } else {
                    i64::MAX / 2
                })),
                _ => Err(vm.type_error(
                    "slice indices must be integers or None or have an __index__ method",
                )),
            }
        };
        let step = get(self, &s.step)?.unwrap_or(1);
        if step == 0 {
            return Err(self.value_error("slice step cannot be zero"));
        }
        let (lo, hi) = if step < 0 { (-1, len - 1) } else { (0, len) };
        let fix = |v: Option<i64>, default: i64| -> i64 {
            match v {
                None => default,
                Some(i) if i < 0 => (i + len).max(lo),
                Some(i) => i.min(hi),
            }
        };
        let start = fix(get(self, &s.start)?, if step < 0 { hi } else { lo });
        let stop = fix(get(self, &s.stop)?, if step < 0 { lo } else { hi });
        Ok((start, stop, step))
    }

    fn slice_positions(&mut self, s: &SliceObj, len: usize) -> PyResult<Vec<usize>> {
        let (start, stop, step) = self.slice_indices(s, len)?;
        let mut out = Vec::new();
        let mut i = start;
        while (step > 0 && i < stop) || (step < 0 && i > stop) {
            out.push(i as usize);
            i += step;
        }
        Ok(out)
    }

    /// Removes `lst[s]` in one pass (O(len), not O(k * len)) and returns
    /// the removed items, to be dropped after the list is consistent again
    /// (in CPython's order: a contiguous slice's items last to first).
    fn delete_slice(
        &mut self,
        l: &Rc<RefCell<ListItems>>,
        s: &SliceObj,
        len: usize,
    ) -> PyResult<Vec<Value>> {
        let (start, stop, step) = self.slice_indices(s, len)?;
        let mut lb = l.borrow_mut();
        let n = lb.len();
        if step == 1 || step == -1 {
            // A contiguous run: lo..hi.
            let (lo, hi) = if step == 1 {
                (start, stop.max(start))
            } else {
                (stop + 1, (start + 1).max(stop + 1))
            };
            let (lo, hi) = ((lo.max(0) as usize).min(n), (hi.max(0) as usize).min(n));
            let mut removed: Vec<Value> = lb.drain(lo..hi).collect();
            // Released as CPython does: a plain slice from its end
            // (`list_ass_slice`), a reversed one in index order.
            if step == 1 {
                removed.reverse();
            }
            return Ok(removed);
        }
        let mut doomed = vec![false; n];
        let mut count = 0;
        let mut i = start;
        while (step > 0 && i < stop) || (step < 0 && i > stop) {
            if let Some(d) = doomed.get_mut(i as usize) {
                *d = true;
                count += 1;
            }
            i += step;
        }
        let mut removed = Vec::with_capacity(count);
        let mut k = 0;
        lb.retain_mut(|v| {
            let gone = doomed[k];
            k += 1;
            if gone {
                removed.push(std::mem::take(v));
            }
            !gone
        });
        Ok(removed)
    }

    pub fn getitem(&mut self, obj: &Value, key: &Value) -> PyResult<Value> {
        match (obj, key) {
            (Value::List(l), Value::Int(i)) => {
                let l = l.borrow();
                let idx = if *i < 0 { *i + l.len() as i64 } else { *i };
                match l.get(idx as usize) {
                    Some(v) if idx >= 0 => Ok(v.clone()),
                    _ => Err(self.index_error("list index out of range")),
                }
            }
            (Value::List(l), Value::Slice(s)) => {
                // Positions first (they may run `__index__`), then copy
                // only the k items: O(k), not O(len).
                let n = l.borrow().len();
                let pos = self.slice_positions(s, n)?;
                let items = l.borrow();
                Ok(Value::list(
                    pos.into_iter()
                        .filter_map(|i| items.get(i).cloned())
                        .collect(),
                ))
            }
            (Value::List(l), k) => {
                let n = l.borrow().len();
                let i = self.seq_index(k, n, "list")?;
                Ok(l.borrow()[i].clone())
            }
            (Value::Tuple(t), Value::Slice(s)) => {
                let pos = self.slice_positions(s, t.len())?;
                Ok(Value::tuple(
                    pos.into_iter().map(|i| t[i].clone()).collect(),
                ))
            }
            (Value::Tuple(t), k) => {
                let i = self.seq_index(k, t.len(), "tuple")?;
                Ok(t[i].clone())
            }
            (Value::Str(s), Value::Slice(sl)) if s.ascii => {
                // ASCII text: bytes are characters, copy only the slice.
                let b = s.as_str().as_bytes();
                let pos = self.slice_positions(sl, b.len())?;
                let out: Vec<u8> = pos.into_iter().map(|i| b[i]).collect();
                Ok(Value::str(String::from_utf8(out).unwrap_or_default()))
            }
            (Value::Str(s), Value::Slice(sl)) => {
                let chars: Vec<char> = s.as_str().chars().collect();
                let pos = self.slice_positions(sl, chars.len())?;
                Ok(Value::str(
                    pos.into_iter().map(|i| chars[i]).collect::<String>(),
                ))
            }
            (Value::Str(s), k) => {
                let n = s.char_len();
                let i = self.seq_index(k, n, "string")?;
                let c = if s.ascii {
                    s.as_str()[i..i + 1].to_string()
                } else {
                    s.as_str()
                        .chars()
                        .nth(i)
                        .map(String::from)
                        .unwrap_or_default()
                };
                Ok(Value::str(c))
            }
            (Value::Bytes(b), Value::Slice(sl)) => {
                let pos = self.slice_positions(sl, b.len())?;
                Ok(Value::Bytes(
                    pos.into_iter().map(|i| b[i]).collect::<Vec<u8>>().into(),
                ))
            }
            (Value::Bytes(b), k) => {
                // CPython: "byte indices must be ...", but plain
                // "index out of range".
                let i = match self.seq_index(k, b.len(), "byte") {
                    Err(e)
                        if !matches!(k, Value::BigInt(_))
                            && self.is_instance_of(&e, &self.exc.index_error.clone()) =>
                    {
                        return Err(self.index_error("index out of range"));
                    }
                    r => r?,
                };
                Ok(Value::Int(b[i] as i64))
            }
            (Value::Dict(d), k) => match dict::get(self, d, k)? {
                Some(v) => Ok(v),
                None => Err(self.key_error(k.clone())),
            },
            (Value::Range(r), Value::Slice(s)) => {
                let (start, stop, step) = self.slice_indices(s, r.len() as usize)?;
                self.range_slice(r, start, stop, step)
            }
            (Value::Range(r), k) => self.range_item(r, k),
            (Value::Class(c), _) if c.builtin.is_none() => {
                if let Some(r) = self.call_class_hook(c, "__class_getitem__", vec![key.clone()])? {
                    return Ok(r);
                }
                let msg = format!("type '{}' is not subscriptable", c.name);
                Err(self.type_error(&msg))
            }
            (Value::Class(c), _)
                if c.builtin.is_some() && c.builtin != Some(BuiltinType::BaseException) =>
            {
                // `list[int]`: a `types.GenericAlias`.
                self.stdlib_types_call("GenericAlias", vec![obj.clone(), key.clone()])
            }
            (Value::Class(c), _) => {
                let msg = format!("type '{}' is not subscriptable", c.name);
                Err(self.type_error(&msg))
            }
            _ => {
                if let Some(f) = self.lookup_special(obj, "__getitem__") {
                    return self.call(&f, vec![obj.clone(), key.clone()]);
                }
                let msg = format!("'{}' object is not subscriptable", self.type_name(obj));
                Err(self.type_error(&msg))
            }
        }
    }

    pub fn setitem(&mut self, obj: &Value, key: Value, v: Value) -> PyResult<()> {
        match obj {
            Value::List(l) => {
                if let Value::Slice(s) = &key {
                    let new_items = self.collect(&v)?;
                    let len = l.borrow().len();
                    let (start, stop, step) = self.slice_indices(s, len)?;
                    if step == 1 {
                        let stop = stop.max(start);
                        let mut old: Vec<Value> = l
                            .borrow_mut()
                            .splice(start as usize..stop as usize, new_items)
                            .collect();
                        crate::value::release_from_last(&mut old);
                        return Ok(());
                    }
                    let pos = self.slice_positions(s, len)?;
                    if pos.len() != new_items.len() {
                        let msg = format!(
                            "attempt to assign sequence of size {} to extended slice of size {}",
                            new_items.len(),
                            pos.len()
                        );
                        return Err(self.value_error(&msg));
                    }
                    let mut lb = l.borrow_mut();
                    for (i, x) in pos.into_iter().zip(new_items) {
                        lb[i] = x;
                    }
                    return Ok(());
                }
                let n = l.borrow().len();
                let i = match self.seq_index(&key, n, "list") {
                    Ok(i) => i,
                    Err(e) => {
                        if self.is_instance_of(&e, &self.exc.index_error.clone()) {
                            return Err(self.index_error("list assignment index out of range"));
                        }
                        return Err(e);
                    }
                };
                let old = std::mem::replace(&mut l.borrow_mut()[i], v);
                drop(old);
                self.run_finalizers()
            }
            Value::Dict(d) => dict::set(self, d, key, v),
            _ => {
                if let Some(f) = self.lookup_special(obj, "__setitem__") {
                    self.call(&f, vec![obj.clone(), key, v])?;
                    return Ok(());
                }
                let msg = format!(
                    "'{}' object does not support item assignment",
                    self.type_name(obj)
                );
                Err(self.type_error(&msg))
            }
        }
    }

    pub fn delitem(&mut self, obj: &Value, key: &Value) -> PyResult<()> {
        match obj {
            Value::List(l) => {
                if let Value::Slice(s) = key {
                    let len = l.borrow().len();
                    let removed = self.delete_slice(l, s, len)?;
                    drop(removed);
                    return self.run_finalizers();
                }
                let n = l.borrow().len();
                let i = match self.seq_index(key, n, "list") {
                    Ok(i) => i,
                    Err(e) => {
                        if self.is_instance_of(&e, &self.exc.index_error.clone()) {
                            return Err(self.index_error("list assignment index out of range"));
                        }
                        return Err(e);
                    }
                };
                let old = l.borrow_mut().remove(i);
                drop(old);
                self.run_finalizers()
            }
            Value::Dict(d) => match dict::remove(self, d, key)? {
                Some(e) => {
                    drop(e);
                    self.run_finalizers()
                }
                None => Err(self.key_error(key.clone())),
            },
            _ => {
                if let Some(f) = self.lookup_special(obj, "__delitem__") {
                    self.call(&f, vec![obj.clone(), key.clone()])?;
                    return Ok(());
                }
                let msg = format!(
                    "'{}' object doesn't support item deletion",
                    self.type_name(obj)
                );
                Err(self.type_error(&msg))
            }
        }
    }

    // ---- iteration -------------------------------------------------------

    pub fn new_iter(&self, st: IterState) -> Value {
        Value::Iterator(Rc::new(RefCell::new(st)))
    }

    pub fn get_iter(&mut self, v: &Value) -> PyResult<Value> {
        if let Value::Class(c) = v
            && let Some(r) = self.call_class_hook(c, "__class_iter__", vec![])?
        {
            return self.get_iter(&r);
        }
        Ok(match v {
            Value::List(_) | Value::Tuple(_) => self.new_iter(IterState::Seq {
                seq: v.clone(),
                index: 0,
            }),
            Value::Str(s) => self.new_iter(IterState::Str {
                s: s.clone(),
                byte_pos: 0,
            }),
            Value::Bytes(_) => self.new_iter(IterState::Seq {
                seq: v.clone(),
                index: 0,
            }),
            Value::Range(r) => self.new_iter(IterState::Range {
                next: r.start,
                stop: r.stop,
                step: r.step,
            }),
            Value::Dict(d) | Value::Set(d) | Value::FrozenSet(d) => {
                let len = d.borrow().len();
                self.new_iter(IterState::DictIter {
                    dict: d.clone(),
                    index: 0,
                    kind: DictIterKind::Keys,
                    len_at_start: len,
                    yielded: 0,
                })
            }
            Value::Iterator(_) => v.clone(),
            Value::Generator(g) if g.kind == GenKind::Generator => v.clone(),
            Value::Native(n) => {
                let n = n.clone();
                match n.iter(self, v)? {
                    Some(it) => it,
                    None => return self.iter_via_dunder(v),
                }
            }
            _ => return self.iter_via_dunder(v),
        })
    }

    fn iter_via_dunder(&mut self, v: &Value) -> PyResult<Value> {
        if let Some(g) = self.instance_iter_fast(v) {
            return Ok(g);
        }
        if let Some(f) = self.lookup_special(v, "__iter__") {
            let it = self.call(&f, vec![v.clone()])?;
            let ok = matches!(it, Value::Iterator(_) | Value::Generator(_))
                || self.lookup_special(&it, "__next__").is_some();
            if !ok {
                let msg = format!(
                    "iter() returned non-iterator of type '{}'",
                    self.type_name(&it)
                );
                return Err(self.type_error(&msg));
            }
            return Ok(it);
        }
        if self.lookup_special(v, "__getitem__").is_some() {
            // The old sequence protocol: index from 0 until IndexError.
            return Ok(self.new_iter(IterState::SeqProto {
                obj: v.clone(),
                index: 0,
            }));
        }
        let msg = format!("'{}' object is not iterable", self.type_name(v));
        Err(self.type_error(&msg))
    }

    /// The next item, or `None` when exhausted.
    pub fn next(&mut self, it: &Value) -> PyResult<Option<Value>> {
        // Natives that drain an iterator (list(), sum(), sorted(), ...)
        // may run for ever on an unbounded one: Ctrl-C ends them.
        self.check_interrupt()?;
        match it {
            Value::Iterator(st) => self.iter_next(st),
            Value::Generator(g) => {
                let g = g.clone();
                match self.resume(&g, crate::resume::Action::Send(Value::None))? {
                    crate::resume::Exit::Yield(v) => Ok(Some(v)),
                    crate::resume::Exit::Return(_) => Ok(None),
                }
            }
            _ => {
                let Some(f) = self.lookup_special(it, "__next__") else {
                    let msg = format!("'{}' object is not an iterator", self.type_name(it));
                    return Err(self.type_error(&msg));
                };
                match self.call(&f, vec![it.clone()]) {
                    Ok(v) => Ok(Some(v)),
                    Err(e) if self.is_instance_of(&e, &self.exc.stop_iteration.clone()) => Ok(None),
                    Err(e) => Err(e),
                }
            }
        }
    }

    fn iter_next(&mut self, st: &Rc<RefCell<IterState>>) -> PyResult<Option<Value>> {
        // Natives that call covm code must not hold the borrow.
        let mut s = st.borrow_mut();
        let r = match &mut *s {
            IterState::Exhausted => None,
            IterState::Seq { seq, index } => {
                let item = match seq {
                    Value::List(l) => l.borrow().get(*index).cloned(),
                    Value::Tuple(t) => t.get(*index).cloned(),
                    Value::Bytes(b) => b.get(*index).map(|x| Value::Int(*x as i64)),
                    _ => None,
                };
                *index += 1;
                item
            }
            IterState::Str { s: text, byte_pos } => {
                let rest = &text.as_str()[*byte_pos..];
                match rest.chars().next() {
                    Some(c) => {
                        *byte_pos += c.len_utf8();
                        Some(Value::str(c.to_string()))
                    }
                    None => None,
                }
            }
            IterState::Range { next, stop, step } => {
                if (*step > 0 && *next < *stop) || (*step < 0 && *next > *stop) {
                    let v = *next;
                    *next += *step;
                    Some(Value::Int(v))
                } else {
                    None
                }
            }
            IterState::DictIter {
                dict: d,
                index,
                kind,
                len_at_start,
                yielded,
            } => {
                let db = d.borrow();
                if db.len() != *len_at_start {
                    let what = if db.is_set() { "Set" } else { "dictionary" };
                    drop(db);
                    *len_at_start = usize::MAX;
                    let msg = format!("{what} changed size during iteration");
                    drop(s);
                    return Err(self.runtime_error(&msg));
                }
                let mut out = None;
                while *index < db.raw_len() {
                    let i = *index;
                    *index += 1;
                    if let Some(Some(e)) = db.entry_at(i) {
                        if *yielded == *len_at_start && !db.is_set() {
                            drop(db);
                            *len_at_start = usize::MAX;
                            drop(s);
                            let msg = "dictionary keys changed during iteration";
                            return Err(self.runtime_error(msg));
                        }
                        *yielded += 1;
                        out = Some(match kind {
                            DictIterKind::Keys => e.key.clone(),
                            DictIterKind::Values => e.value.clone(),
                            DictIterKind::Items => {
                                Value::tuple(vec![e.key.clone(), e.value.clone()])
                            }
                        });
                        break;
                    }
                }
                out
            }
            IterState::Reversed { seq, index } => {
                if *index == 0 {
                    None
                } else {
                    *index -= 1;
                    match seq {
                        Value::List(l) => l.borrow().get(*index).cloned(),
                        Value::Tuple(t) => t.get(*index).cloned(),
                        _ => None,
                    }
                }
            }
            _ => {
                drop(s);
                return self.iter_next_slow(st);
            }
        };
        if r.is_none() {
            *s = IterState::Exhausted;
        }
        Ok(r)
    }

    /// Iterators whose step runs covm code.
    fn iter_next_slow(&mut self, st: &Rc<RefCell<IterState>>) -> PyResult<Option<Value>> {
        let snapshot = {
            let s = st.borrow();
            match &*s {
                IterState::Enumerate { it, count } => Some((1, vec![it.clone(), count.clone()])),
                IterState::Zip { its } => Some((2, its.clone())),
                IterState::Map { func, its } => {
                    let mut v = vec![func.clone()];
                    v.extend(its.iter().cloned());
                    Some((3, v))
                }
                IterState::Filter { func, it } => Some((4, vec![func.clone(), it.clone()])),
                IterState::Callable { func, sentinel } => {
                    Some((5, vec![func.clone(), sentinel.clone()]))
                }
                IterState::SeqProto { obj, index } => {
                    Some((6, vec![obj.clone(), Value::Int(*index)]))
                }
                _ => None,
            }
        };
        let result = match snapshot {
            Some((1, v)) => match self.next(&v[0])? {
                Some(x) => {
                    let next_count = crate::arith::add_ints(&v[1], &Value::Int(1));
                    if let IterState::Enumerate { count, .. } = &mut *st.borrow_mut() {
                        *count = next_count;
                    }
                    Some(Value::tuple(vec![v[1].clone(), x]))
                }
                None => None,
            },
            Some((2, its)) => {
                let mut items = Vec::with_capacity(its.len());
                let mut done = its.is_empty();
                for it in &its {
                    match self.next(it)? {
                        Some(x) => items.push(x),
                        None => {
                            done = true;
                            break;
                        }
                    }
                }
                if done {
                    None
                } else {
                    Some(Value::tuple(items))
                }
            }
            Some((3, v)) => {
                let mut args = Vec::with_capacity(v.len() - 1);
                let mut done = false;
                for it in &v[1..] {
                    match self.next(it)? {
                        Some(x) => args.push(x),
                        None => {
                            done = true;
                            break;
                        }
                    }
                }
                if done {
                    None
                } else {
                    Some(self.call(&v[0], args)?)
                }
            }
            Some((4, v)) => {
                let mut out = None;
                while let Some(x) = self.next(&v[1])? {
                    let keep = if v[0].is_none() {
                        self.truthy(&x)?
                    } else {
                        let r = self.call(&v[0], vec![x.clone()])?;
                        self.truthy(&r)?
                    };
                    if keep {
                        out = Some(x);
                        break;
                    }
                }
                out
            }
            Some((5, v)) => {
                let x = self.call(&v[0], vec![])?;
                if self.eq(&x, &v[1])? { None } else { Some(x) }
            }
            Some((6, v)) => match self.getitem(&v[0], &v[1]) {
                Ok(x) => {
                    if let IterState::SeqProto { index, .. } = &mut *st.borrow_mut() {
                        *index += 1;
                    }
                    Some(x)
                }
                Err(e)
                    if self.is_instance_of(&e, &self.exc.index_error.clone())
                        || self.is_instance_of(&e, &self.exc.stop_iteration.clone()) =>
                {
                    None
                }
                Err(e) => return Err(e),
            },
            _ => {
                // Native iterators: take the state out while it runs, so
                // covm code it calls may touch this iterator.
                let mut taken = std::mem::replace(&mut *st.borrow_mut(), IterState::Exhausted);
                let r = match &mut taken {
                    IterState::Native(n) => n.next(self),
                    _ => Ok(None),
                };
                if let Ok(Some(_)) = &r {
                    *st.borrow_mut() = taken;
                }
                return r;
            }
        };
        if result.is_none() {
            *st.borrow_mut() = IterState::Exhausted;
        }
        Ok(result)
    }

    /// Drains an iterable into a Vec.
    pub fn collect(&mut self, v: &Value) -> PyResult<Vec<Value>> {
        match v {
            Value::List(l) => Ok(l.borrow().clone()),
            Value::Tuple(t) => Ok(t.to_vec()),
            Value::Range(r) => {
                let n = r.len();
                let mut out = Vec::new();
                out.try_reserve_exact(n as usize)
                    .map_err(|_| self.memory_error())?;
                out.extend((0..n).map(|i| Value::Int(r.get(i))));
                Ok(out)
            }
            Value::Dict(d) | Value::Set(d) | Value::FrozenSet(d) => Ok(d.borrow().keys()),
            _ => {
                let it = self.get_iter(v)?;
                let mut out = Vec::new();
                while let Some(x) = self.next(&it)? {
                    self.push_value(&mut out, x)?;
                }
                Ok(out)
            }
        }
    }

    // ---- formatting --------------------------------------------------------

    /// `format(v, spec)`.
    pub fn format(&mut self, v: &Value, spec: &str) -> PyResult<String> {
        let r = match v {
            Value::Int(i) => crate::format::format_int(&BigInt::from(*i), spec),
            Value::BigInt(b) => crate::format::format_int(b, spec),
            Value::Bool(b) => {
                if spec.is_empty() {
                    return Ok(if *b { "True" } else { "False" }.into());
                }
                crate::format::format_int(&BigInt::from(*b as i64), spec)
            }
            Value::Float(f) => crate::format::format_float(*f, spec),
            Value::Str(s) => crate::format::format_str(s.as_str(), spec),
            Value::Instance(_) | Value::Native(_) => {
                if let Some(f) = self.lookup_special(v, "__format__")
                    && !matches!(f, Value::Builtin(_))
                {
                    let r = self.call(&f, vec![v.clone(), Value::str(spec)])?;
                    return self.to_str(&r);
                }
                if spec.is_empty() {
                    return self.to_str(v);
                }
                let msg = format!(
                    "unsupported format string passed to {}.__format__",
                    self.type_name(v)
                );
                return Err(self.type_error(&msg));
            }
            _ => {
                if spec.is_empty() {
                    return self.to_str(v);
                }
                let msg = format!(
                    "unsupported format string passed to {}.__format__",
                    self.type_name(v)
                );
                return Err(self.type_error(&msg));
            }
        };
        r.map_err(|m| self.format_error(&m))
    }
}

fn iter_type_name(st: &IterState) -> &'static str {
    match st {
        IterState::Seq { seq, .. } => match seq {
            Value::Tuple(_) => "tuple_iterator",
            Value::Bytes(_) => "bytes_iterator",
            _ => "list_iterator",
        },
        IterState::Str { s, .. } => {
            if s.ascii {
                "str_ascii_iterator"
            } else {
                "str_iterator"
            }
        }
        IterState::Range { .. } => "range_iterator",
        IterState::DictIter { kind, .. } => match kind {
            DictIterKind::Keys => "dict_keyiterator",
            DictIterKind::Values => "dict_valueiterator",
            DictIterKind::Items => "dict_itemiterator",
        },
        IterState::Enumerate { .. } => "enumerate",
        IterState::Zip { .. } => "zip",
        IterState::Map { .. } => "map",
        IterState::Filter { .. } => "filter",
        IterState::Reversed { .. } => "list_reverseiterator",
        IterState::Callable { .. } => "callable_iterator",
        IterState::SeqProto { .. } => "iterator",
        IterState::Native(n) => n.type_name(),
        IterState::Exhausted => "iterator",
    }
}
