//! The `functools` module: `wraps`, `reduce`, `partial`, `lru_cache`,
//! `cache`, `cmp_to_key` (as a key wrapper) and `total_ordering` (identity).

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use covm_vm::Vm;
use covm_vm::dict::{self, Dict};
use covm_vm::value::*;

use crate::args::*;
use crate::modules::{add_cmp_method, bound_native, downcast, func, native_class, this};

const WRAPPER_ASSIGNMENTS: &[&str] = &["__module__", "__name__", "__qualname__", "__doc__"];

/// `update_wrapper(wrapper, wrapped)`.
fn update_wrapper_impl(vm: &mut Vm, wrapper: &Value, wrapped: &Value) -> PyResult<()> {
    for name in WRAPPER_ASSIGNMENTS {
        if *name == "__module__" && matches!(wrapper, Value::Function(_)) {
            // covm functions take their module from their globals.
            continue;
        }
        if let Some(v) = vm.getattr_opt(wrapped, name)? {
            vm.setattr(wrapper, name, v)?;
        }
    }
    if let Value::Function(f) = wrapped {
        let items: Vec<(Rc<str>, Value)> = f
            .dict
            .borrow()
            .iter()
            .filter(|(k, _)| k.as_ref() != "__doc__")
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for (k, v) in items {
            vm.setattr(wrapper, &k, v)?;
        }
    }
    vm.setattr(wrapper, "__wrapped__", wrapped.clone())?;
    Ok(())
}

/// The decorator `wraps(wrapped)` returns: args = [wrapped, wrapper].
fn wraps_apply(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    if args.len() != 2 {
        return Err(vm.type_error(&format!(
            "update_wrapper() takes 1 positional argument but {} were given",
            args.len().saturating_sub(1)
        )));
    }
    update_wrapper_impl(vm, &args[1], &args[0])?;
    Ok(args[1].clone())
}

fn wraps(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    if args.len() != 1 {
        return Err(vm.type_error(&format!(
            "wraps() takes 1 positional argument but {} were given",
            args.len()
        )));
    }
    Ok(bound_native("update_wrapper", wraps_apply, args[0].clone()))
}

fn update_wrapper(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    if args.len() != 2 {
        return Err(vm.type_error("update_wrapper() takes 2 positional arguments"));
    }
    update_wrapper_impl(vm, &args[0], &args[1])?;
    Ok(args[0].clone())
}

fn reduce(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    no_kwargs(vm, "reduce", kw)?;
    if args.len() < 2 {
        return Err(vm.type_error(&format!(
            "reduce expected at least 2 arguments, got {}",
            args.len()
        )));
    }
    if args.len() > 3 {
        return Err(vm.type_error(&format!(
            "reduce expected at most 3 arguments, got {}",
            args.len()
        )));
    }
    let f = &args[0];
    let it = vm.get_iter(&args[1])?;
    let mut acc = match args.get(2) {
        Some(v) => v.clone(),
        None => match vm.next(&it)? {
            Some(v) => v,
            None => {
                return Err(vm.type_error("reduce() of empty iterable with no initial value"));
            }
        },
    };
    while let Some(x) = vm.next(&it)? {
        acc = vm.call(f, vec![acc, x])?;
    }
    Ok(acc)
}

// ---- partial ------------------------------------------------------------------

pub struct Partial {
    cls: Rc<Class>,
    func: Value,
    args: Vec<Value>,
    kwargs: Vec<(Rc<str>, Value)>,
}

impl NativeObject for Partial {
    fn gc_traverse(&self, visit: &mut dyn FnMut(&Value)) -> bool {
        visit(&self.func);
        self.args.iter().for_each(&mut *visit);
        for (_, v) in &self.kwargs {
            visit(v);
        }
        true
    }
    fn class(&self, _vm: &Vm) -> Rc<Class> {
        self.cls.clone()
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
    fn repr(&self, vm: &mut Vm) -> PyResult<Option<String>> {
        let mut parts = vec![vm.repr(&self.func)?];
        for a in &self.args {
            parts.push(vm.repr(a)?);
        }
        for (k, v) in &self.kwargs {
            parts.push(format!("{k}={}", vm.repr(v)?));
        }
        Ok(Some(format!("functools.partial({})", parts.join(", "))))
    }
    fn get_attr(&self, vm: &mut Vm, name: &str) -> PyResult<Option<Value>> {
        Ok(match name {
            "func" => Some(self.func.clone()),
            "args" => Some(Value::tuple(self.args.clone())),
            "keywords" => {
                let d = Rc::new(RefCell::new(Dict::new()));
                for (k, v) in &self.kwargs {
                    dict::set(vm, &d, Value::str(&**k), v.clone())?;
                }
                Some(Value::Dict(d))
            }
            _ => None,
        })
    }
}

fn is_callable(vm: &Vm, v: &Value) -> bool {
    match v {
        Value::Function(_) | Value::Builtin(_) | Value::BoundMethod(_) | Value::Class(_) => true,
        other => vm.lookup_special(other, "__call__").is_some(),
    }
}

fn partial_new(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let Some(f) = args.get(1) else {
        return Err(vm.type_error("type 'partial' takes at least one argument"));
    };
    if !is_callable(vm, f) {
        return Err(vm.type_error("the first argument must be callable"));
    }
    let cls = partial_class(vm);
    // Flatten partial(partial(f, a), b) as CPython does.
    let (func, mut pargs, mut pkw) = match downcast::<Partial>(f) {
        Some(p) => (p.func.clone(), p.args.clone(), p.kwargs.clone()),
        None => (f.clone(), Vec::new(), Vec::new()),
    };
    pargs.extend(args[2..].iter().cloned());
    for (k, v) in kw {
        match pkw.iter_mut().find(|(x, _)| x == k) {
            Some(slot) => slot.1 = v.clone(),
            None => pkw.push((k.clone(), v.clone())),
        }
    }
    Ok(Value::tracked(Value::Native(
        NativeBox::new(Partial {
            cls,
            func,
            args: pargs,
            kwargs: pkw,
        })
        .into(),
    )))
}

fn partial_call(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let p = this::<Partial>(vm, args, "functools.partial", "__call__")?;
    let mut a = p.args.clone();
    a.extend(args[1..].iter().cloned());
    let mut k = p.kwargs.clone();
    for (name, v) in kw {
        match k.iter_mut().find(|(x, _)| x == name) {
            Some(slot) => slot.1 = v.clone(),
            None => k.push((name.clone(), v.clone())),
        }
    }
    let f = p.func.clone();
    vm.call_kw(&f, a, k)
}

fn setup_partial(vm: &mut Vm, cls: &Rc<Class>) {
    vm.add_method(cls, "__call__", partial_call);
    vm.set_native_new(cls, partial_new);
}

fn partial_class(vm: &mut Vm) -> Rc<Class> {
    native_class(
        vm,
        "functools.partial",
        "partial",
        "functools",
        setup_partial,
    )
}

// ---- lru_cache ------------------------------------------------------------------

pub struct LruCache {
    cls: Rc<Class>,
    func: Value,
    maxsize: Option<usize>,
    typed: bool,
    cache: Rc<RefCell<Dict>>,
    hits: Cell<i64>,
    misses: Cell<i64>,
}

impl NativeObject for LruCache {
    fn class(&self, _vm: &Vm) -> Rc<Class> {
        self.cls.clone()
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
    fn repr(&self, _vm: &mut Vm) -> PyResult<Option<String>> {
        Ok(Some(format!(
            "<functools._lru_cache_wrapper object at {:#x}>",
            self as *const LruCache as usize
        )))
    }
    fn get_attr(&self, vm: &mut Vm, name: &str) -> PyResult<Option<Value>> {
        match name {
            "__wrapped__" => Ok(Some(self.func.clone())),
            "__name__" | "__qualname__" | "__doc__" | "__module__" => {
                let f = self.func.clone();
                vm.getattr_opt(&f, name)
            }
            _ => Ok(None),
        }
    }
}

fn cache_key(vm: &mut Vm, lc: &LruCache, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let mut parts: Vec<Value> = args.to_vec();
    if !kw.is_empty() {
        parts.push(Value::str("\u{0}kwmark"));
        for (k, v) in kw {
            parts.push(Value::str(&**k));
            parts.push(v.clone());
        }
    }
    if lc.typed {
        for a in args {
            parts.push(Value::Class(vm.type_of(a)));
        }
    }
    if parts.len() == 1 && kw.is_empty() && matches!(parts[0], Value::Int(_) | Value::Str(_)) {
        return Ok(parts.swap_remove(0));
    }
    Ok(Value::tuple(parts))
}

fn lru_call(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let Some(me) = args.first().cloned() else {
        return Err(vm.type_error("lru_cache wrapper needs an object"));
    };
    let Some(lc) = downcast::<LruCache>(&me) else {
        return Err(vm.type_error("descriptor '__call__' requires a '_lru_cache_wrapper' object"));
    };
    let rest = &args[1..];
    if lc.maxsize == Some(0) {
        lc.misses.set(lc.misses.get() + 1);
        let f = lc.func.clone();
        return vm.call_kw(&f, rest.to_vec(), kw.to_vec());
    }
    let key = cache_key(vm, lc, rest, kw)?;
    if let Some(v) = dict::get(vm, &lc.cache, &key)? {
        lc.hits.set(lc.hits.get() + 1);
        if lc.maxsize.is_some() {
            // Most recently used goes last.
            if let Some(e) = dict::remove(vm, &lc.cache, &key)? {
                dict::set(vm, &lc.cache, e.key, e.value)?;
            }
        }
        return Ok(v);
    }
    lc.misses.set(lc.misses.get() + 1);
    let f = lc.func.clone();
    let v = vm.call_kw(&f, rest.to_vec(), kw.to_vec())?;
    if !dict::contains(vm, &lc.cache, &key)? {
        dict::set(vm, &lc.cache, key, v.clone())?;
        if let Some(m) = lc.maxsize {
            while lc.cache.borrow().len() > m {
                let old = lc.cache.borrow_mut().pop_first();
                drop(old);
            }
        }
    }
    Ok(v)
}

fn lru_cache_info(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let lc = this::<LruCache>(vm, args, "functools._lru_cache_wrapper", "cache_info")?;
    let info = CacheInfo {
        cls: cache_info_class(vm),
        hits: lc.hits.get(),
        misses: lc.misses.get(),
        maxsize: lc.maxsize,
        currsize: lc.cache.borrow().len(),
    };
    Ok(Value::native(info))
}

fn lru_cache_clear(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let lc = this::<LruCache>(vm, args, "functools._lru_cache_wrapper", "cache_clear")?;
    let old = std::mem::take(&mut *lc.cache.borrow_mut());
    lc.hits.set(0);
    lc.misses.set(0);
    drop(old);
    Ok(Value::None)
}

fn setup_lru(vm: &mut Vm, cls: &Rc<Class>) {
    vm.add_method(cls, "__call__", lru_call);
    vm.add_method(cls, "cache_info", lru_cache_info);
    vm.add_method(cls, "cache_clear", lru_cache_clear);
}

struct CacheInfo {
    cls: Rc<Class>,
    hits: i64,
    misses: i64,
    maxsize: Option<usize>,
    currsize: usize,
}

impl CacheInfo {
    fn values(&self) -> Vec<Value> {
        vec![
            Value::Int(self.hits),
            Value::Int(self.misses),
            match self.maxsize {
                Some(m) => Value::Int(m as i64),
                None => Value::None,
            },
            Value::Int(self.currsize as i64),
        ]
    }
}

impl NativeObject for CacheInfo {
    fn class(&self, _vm: &Vm) -> Rc<Class> {
        self.cls.clone()
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
    fn len(&self) -> Option<usize> {
        Some(4)
    }
    fn repr(&self, vm: &mut Vm) -> PyResult<Option<String>> {
        let v = self.values();
        Ok(Some(format!(
            "CacheInfo(hits={}, misses={}, maxsize={}, currsize={})",
            vm.repr(&v[0])?,
            vm.repr(&v[1])?,
            vm.repr(&v[2])?,
            vm.repr(&v[3])?
        )))
    }
    fn iter(&self, vm: &mut Vm, _me: &Value) -> PyResult<Option<Value>> {
        vm.get_iter(&Value::tuple(self.values())).map(Some)
    }
    fn get_attr(&self, _vm: &mut Vm, name: &str) -> PyResult<Option<Value>> {
        let v = self.values();
        Ok(match name {
            "hits" => Some(v[0].clone()),
            "misses" => Some(v[1].clone()),
            "maxsize" => Some(v[2].clone()),
            "currsize" => Some(v[3].clone()),
            _ => None,
        })
    }
}

fn ci_getitem(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let ci = this::<CacheInfo>(vm, args, "CacheInfo", "__getitem__")?;
    check_count(vm, "__getitem__", &args[1..], 1, 1)?;
    vm.getitem(&Value::tuple(ci.values()), &args[1])
}

fn ci_eq(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let as_t = |v: &Value| match v {
        Value::Tuple(_) => Some(v.clone()),
        _ => downcast::<CacheInfo>(v).map(|c| Value::tuple(c.values())),
    };
    match (args.first().and_then(as_t), args.get(1).and_then(as_t)) {
        (Some(a), Some(b)) => Ok(Value::Bool(vm.eq(&a, &b)?)),
        _ => Ok(Value::NotImplemented),
    }
}

fn setup_cache_info(vm: &mut Vm, cls: &Rc<Class>) {
    vm.add_method(cls, "__getitem__", ci_getitem);
    add_cmp_method(vm, cls, "__eq__", ci_eq);
}

fn cache_info_class(vm: &mut Vm) -> Rc<Class> {
    native_class(
        vm,
        "functools.CacheInfo",
        "CacheInfo",
        "functools",
        setup_cache_info,
    )
}

fn make_lru(vm: &mut Vm, f: Value, maxsize: Option<usize>, typed: bool) -> PyResult<Value> {
    if !is_callable(vm, &f) {
        return Err(vm.type_error("the first argument must be callable"));
    }
    let cls = native_class(
        vm,
        "functools._lru_cache_wrapper",
        "_lru_cache_wrapper",
        "functools",
        setup_lru,
    );
    Ok(Value::Native(
        NativeBox::new(LruCache {
            cls,
            func: f,
            maxsize,
            typed,
            cache: Rc::new(RefCell::new(Dict::new())),
            hits: Cell::new(0),
            misses: Cell::new(0),
        })
        .into(),
    ))
}

/// The decorator `lru_cache(maxsize)` returns; the receiver packs
/// (maxsize, typed).
fn lru_apply(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let (maxsize, typed) = match args.first() {
        Some(Value::Tuple(t)) if t.len() == 2 => (
            match &t[0] {
                Value::Int(i) => Some((*i).max(0) as usize),
                _ => None,
            },
            matches!(t[1], Value::Bool(true)),
        ),
        _ => (Some(128), false),
    };
    let Some(f) = args.get(1) else {
        return Err(vm.type_error("decorator expects a function"));
    };
    make_lru(vm, f.clone(), maxsize, typed)
}

fn lru_cache(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let allowed = ["maxsize", "typed"];
    let typed = match kwarg(vm, "lru_cache", kw, &allowed, "typed")? {
        Some(v) => vm.truthy(&v)?,
        None => false,
    };
    let first = match args.first() {
        Some(v) => Some(v.clone()),
        None => kwarg(vm, "lru_cache", kw, &allowed, "maxsize")?,
    };
    let maxsize = match &first {
        None => Value::Int(128),
        Some(Value::None) => Value::None,
        Some(Value::Int(i)) => Value::Int(*i),
        Some(Value::Bool(b)) => Value::Int(*b as i64),
        Some(f) if is_callable(vm, f) && kw.is_empty() => {
            return make_lru(vm, f.clone(), Some(128), typed);
        }
        Some(_) => {
            return Err(
                vm.type_error("Expected first argument to be an integer, a callable, or None")
            );
        }
    };
    let packed = Value::tuple(vec![maxsize, Value::Bool(typed)]);
    Ok(bound_native("decorating_function", lru_apply, packed))
}

fn cache(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    no_kwargs(vm, "cache", kw)?;
    check_count(vm, "cache", args, 1, 1)?;
    make_lru(vm, args[0].clone(), None, false)
}

// ---- cmp_to_key ---------------------------------------------------------------

struct CmpKey {
    cls: Rc<Class>,
    cmp: Value,
    obj: Value,
}

impl NativeObject for CmpKey {
    fn class(&self, _vm: &Vm) -> Rc<Class> {
        self.cls.clone()
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
    fn get_attr(&self, _vm: &mut Vm, name: &str) -> PyResult<Option<Value>> {
        Ok((name == "obj").then(|| self.obj.clone()))
    }
}

fn cmp_key_compare(vm: &mut Vm, args: &[Value]) -> PyResult<Option<std::cmp::Ordering>> {
    let (Some(a), Some(b)) = (
        args.first().and_then(downcast::<CmpKey>),
        args.get(1).and_then(downcast::<CmpKey>),
    ) else {
        return Ok(None);
    };
    let r = vm.call(&a.cmp, vec![a.obj.clone(), b.obj.clone()])?;
    let zero = Value::Int(0);
    Ok(Some(if vm.less_than(&r, &zero)? {
        std::cmp::Ordering::Less
    } else if vm.less_than(&zero, &r)? {
        std::cmp::Ordering::Greater
    } else {
        std::cmp::Ordering::Equal
    }))
}

macro_rules! cmp_fn {
    ($name:ident, $pred:expr) => {
        fn $name(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
            Ok(match cmp_key_compare(vm, args)? {
                Some(o) => Value::Bool($pred(o)),
                None => Value::NotImplemented,
            })
        }
    };
}

cmp_fn!(ck_lt, |o| o == std::cmp::Ordering::Less);
cmp_fn!(ck_le, |o| o != std::cmp::Ordering::Greater);
cmp_fn!(ck_gt, |o| o == std::cmp::Ordering::Greater);
cmp_fn!(ck_ge, |o| o != std::cmp::Ordering::Less);
cmp_fn!(ck_eq, |o| o == std::cmp::Ordering::Equal);

fn setup_cmp_key(vm: &mut Vm, cls: &Rc<Class>) {
    add_cmp_method(vm, cls, "__lt__", ck_lt);
    add_cmp_method(vm, cls, "__le__", ck_le);
    add_cmp_method(vm, cls, "__gt__", ck_gt);
    add_cmp_method(vm, cls, "__ge__", ck_ge);
    add_cmp_method(vm, cls, "__eq__", ck_eq);
    cls.dict
        .borrow_mut()
        .insert(Rc::from("__hash__"), Value::None);
}

fn cmp_key_make(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let (Some(cmp), Some(obj)) = (args.first(), args.get(1)) else {
        return Err(vm.type_error("K() missing required argument 'obj' (pos 1)"));
    };
    let cls = native_class(
        vm,
        "functools.KeyWrapper",
        "functools.KeyWrapper",
        "functools",
        setup_cmp_key,
    );
    Ok(Value::Native(
        NativeBox::new(CmpKey {
            cls,
            cmp: cmp.clone(),
            obj: obj.clone(),
        })
        .into(),
    ))
}

fn cmp_to_key(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    no_kwargs(vm, "cmp_to_key", kw)?;
    check_count(vm, "cmp_to_key", args, 1, 1)?;
    Ok(bound_native("K", cmp_key_make, args[0].clone()))
}

fn total_ordering(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    check_count(vm, "total_ordering", args, 1, 1)?;
    let Value::Class(cls) = &args[0] else {
        return Ok(args[0].clone());
    };
    // Fill in the missing comparisons from __lt__ (or __gt__) and __eq__ by
    // plain covm-level helpers is not possible from Rust without code;
    // only the common `__lt__` + `__eq__` case is completed here.
    let has = |n: &str| cls.dict.borrow().contains_key(n);
    if has("__lt__") {
        let lt = cls.dict.borrow().get("__lt__").cloned();
        if let Some(lt) = lt {
            let mut d = cls.dict.borrow_mut();
            if !d.contains_key("__gt__") {
                d.insert(
                    Rc::from("__gt__"),
                    Value::BoundMethod(Rc::new(BoundMethod {
                        receiver: Value::tuple(vec![lt.clone(), Value::Int(0)]),
                        func: vm.native("__gt__", derived_cmp),
                    })),
                );
            }
            if !d.contains_key("__le__") {
                d.insert(
                    Rc::from("__le__"),
                    Value::BoundMethod(Rc::new(BoundMethod {
                        receiver: Value::tuple(vec![lt.clone(), Value::Int(1)]),
                        func: vm.native("__le__", derived_cmp),
                    })),
                );
            }
            if !d.contains_key("__ge__") {
                d.insert(
                    Rc::from("__ge__"),
                    Value::BoundMethod(Rc::new(BoundMethod {
                        receiver: Value::tuple(vec![lt, Value::Int(2)]),
                        func: vm.native("__ge__", derived_cmp),
                    })),
                );
            }
        }
    }
    Ok(args[0].clone())
}

/// A comparison derived from `__lt__` and `==`; the receiver packs the
/// `__lt__` function and which comparison this is.
fn derived_cmp(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let (Some(Value::Tuple(spec)), Some(a), Some(b)) = (args.first(), args.get(1), args.get(2))
    else {
        return Ok(Value::NotImplemented);
    };
    let (lt, which) = (
        spec[0].clone(),
        spec.get(1).cloned().unwrap_or(Value::Int(0)),
    );
    let call_lt = |vm: &mut Vm, x: &Value, y: &Value| -> PyResult<Option<bool>> {
        let r = vm.call(&lt, vec![x.clone(), y.clone()])?;
        if matches!(r, Value::NotImplemented) {
            return Ok(None);
        }
        Ok(Some(vm.truthy(&r)?))
    };
    let r = match which {
        // a > b  ==  not (a < b) and a != b
        Value::Int(0) => match call_lt(vm, a, b)? {
            None => return Ok(Value::NotImplemented),
            Some(l) => !l && !vm.eq(a, b)?,
        },
        // a <= b  ==  a < b or a == b
        Value::Int(1) => match call_lt(vm, a, b)? {
            None => return Ok(Value::NotImplemented),
            Some(l) => l || vm.eq(a, b)?,
        },
        // a >= b  ==  not a < b
        _ => match call_lt(vm, a, b)? {
            None => return Ok(Value::NotImplemented),
            Some(l) => !l,
        },
    };
    Ok(Value::Bool(r))
}

pub fn init(vm: &mut Vm) -> PyResult<Value> {
    let m = vm.new_module("functools");
    let fns: &[(&str, NativeFn)] = &[
        ("wraps", wraps),
        ("update_wrapper", update_wrapper),
        ("reduce", reduce),
        ("lru_cache", lru_cache),
        ("cache", cache),
        ("cmp_to_key", cmp_to_key),
        ("total_ordering", total_ordering),
    ];
    for (name, f) in fns {
        func(vm, &m, name, *f);
    }
    let p = partial_class(vm);
    crate::modules::set(&m, "partial", Value::Class(p));
    Ok(Value::Module(m))
}
