//! Methods of `dict` and its views (`dict_keys`, `dict_values`,
//! `dict_items`).

use std::cell::RefCell;
use std::rc::Rc;

use covm_vm::Vm;
use covm_vm::dict::{self, Dict};
use covm_vm::value::{Class, DictIterKind, IterState, KwArgs, NativeObject, PyResult, Value};

use crate::methods::{add_classmethod, count_args, descriptor_error, no_args, one_arg};
use covm_vm::value::NativeBox;

pub fn install(vm: &mut Vm) {
    let d = vm.types.dict.clone();
    let m: &[(&str, covm_vm::value::NativeFn)] = &[
        ("keys", dict_keys),
        ("values", dict_values),
        ("items", dict_items),
        ("get", dict_get),
        ("setdefault", dict_setdefault),
        ("pop", dict_pop),
        ("popitem", dict_popitem),
        ("update", dict_update),
        ("__init__", dict_init),
        ("copy", dict_copy),
        ("clear", dict_clear),
    ];
    for (name, f) in m {
        vm.add_method(&d, name, *f);
    }
    add_classmethod(vm, &d, "fromkeys", dict_fromkeys);

    for cls in [
        vm.types.dict_keys.clone(),
        vm.types.dict_values.clone(),
        vm.types.dict_items.clone(),
    ] {
        vm.add_method(&cls, "__iter__", view_iter);
        vm.add_method(&cls, "__len__", view_len);
        vm.add_method(&cls, "__reversed__", view_reversed);
        if !Rc::ptr_eq(&cls, &vm.types.dict_values) {
            cls.dict
                .borrow_mut()
                .insert(Rc::from("__hash__"), Value::None);
            vm.add_method(&cls, "__contains__", view_contains);
            vm.add_method(&cls, "__eq__", view_eq);
            vm.add_method(&cls, "__ne__", view_ne);
            vm.add_method(&cls, "__and__", view_and);
            vm.add_method(&cls, "__rand__", view_and);
            vm.add_method(&cls, "__or__", view_or);
            vm.add_method(&cls, "__ror__", view_or);
            vm.add_method(&cls, "__sub__", view_sub);
            vm.add_method(&cls, "__rsub__", view_rsub);
            vm.add_method(&cls, "__xor__", view_xor);
            vm.add_method(&cls, "__rxor__", view_xor);
            vm.add_method(&cls, "isdisjoint", view_isdisjoint);
        }
    }
}

// ---- views --------------------------------------------------------------------

/// A live view of a dict's keys, values or items.
pub struct DictView {
    pub dict: Rc<RefCell<Dict>>,
    pub kind: DictIterKind,
}

impl NativeObject for DictView {
    fn class(&self, vm: &Vm) -> Rc<Class> {
        match self.kind {
            DictIterKind::Keys => vm.types.dict_keys.clone(),
            DictIterKind::Values => vm.types.dict_values.clone(),
            DictIterKind::Items => vm.types.dict_items.clone(),
        }
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
    fn repr(&self, vm: &mut Vm) -> PyResult<Option<String>> {
        let name = match self.kind {
            DictIterKind::Keys => "dict_keys",
            DictIterKind::Values => "dict_values",
            DictIterKind::Items => "dict_items",
        };
        let addr = Rc::as_ptr(&self.dict) as *const u8 as usize;
        if vm.repr_guard.contains(&addr) {
            return Ok(Some("...".into()));
        }
        let items = self.items();
        vm.repr_guard.push(addr);
        let mut out = format!("{name}([");
        let mut r = Ok(());
        for (i, it) in items.iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            match vm.repr(it) {
                Ok(s) => out.push_str(&s),
                Err(e) => {
                    r = Err(e);
                    break;
                }
            }
        }
        vm.repr_guard.pop();
        r?;
        out.push_str("])");
        Ok(Some(out))
    }
    fn len(&self) -> Option<usize> {
        Some(self.dict.borrow().len())
    }
    fn iter(&self, vm: &mut Vm, _me: &Value) -> PyResult<Option<Value>> {
        Ok(Some(self.new_iter(vm)))
    }
}

impl DictView {
    fn items(&self) -> Vec<Value> {
        let d = self.dict.borrow();
        match self.kind {
            DictIterKind::Keys => d.keys(),
            DictIterKind::Values => d.values(),
            DictIterKind::Items => d
                .items()
                .into_iter()
                .map(|(k, v)| Value::tuple(vec![k, v]))
                .collect(),
        }
    }
    fn new_iter(&self, vm: &Vm) -> Value {
        let len = self.dict.borrow().len();
        vm.new_iter(IterState::DictIter {
            dict: self.dict.clone(),
            index: 0,
            kind: self.kind,
            len_at_start: len,
            yielded: 0,
        })
    }
}

fn make_view(d: &Rc<RefCell<Dict>>, kind: DictIterKind) -> Value {
    Value::Native(
        NativeBox::new(DictView {
            dict: d.clone(),
            kind,
        })
        .into(),
    )
}

fn view_of(v: &Value) -> Option<(Rc<RefCell<Dict>>, DictIterKind)> {
    if let Value::Native(n) = v
        && let Some(dv) = n.as_any().downcast_ref::<DictView>()
    {
        return Some((dv.dict.clone(), dv.kind));
    }
    None
}

fn this_view(vm: &Vm, args: &[Value], name: &str) -> PyResult<(Rc<RefCell<Dict>>, DictIterKind)> {
    match args.first().and_then(view_of) {
        Some(v) => Ok(v),
        None => Err(descriptor_error(vm, "dict_keys", name, args)),
    }
}

fn view_items(d: &Rc<RefCell<Dict>>, kind: DictIterKind) -> Vec<Value> {
    DictView {
        dict: d.clone(),
        kind,
    }
    .items()
}

fn view_iter(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let (d, kind) = this_view(vm, args, "__iter__")?;
    Ok(DictView { dict: d, kind }.new_iter(vm))
}

fn view_len(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let (d, _) = this_view(vm, args, "__len__")?;
    let n = d.borrow().len();
    Ok(Value::Int(n as i64))
}

fn view_reversed(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let (d, kind) = this_view(vm, args, "__reversed__")?;
    let mut items = view_items(&d, kind);
    items.reverse();
    Ok(vm.new_iter(IterState::Seq {
        seq: Value::list(items),
        index: 0,
    }))
}

fn view_has(vm: &mut Vm, d: &Rc<RefCell<Dict>>, kind: DictIterKind, x: &Value) -> PyResult<bool> {
    match kind {
        DictIterKind::Keys => dict::contains(vm, d, x),
        DictIterKind::Items => {
            let Value::Tuple(t) = x else {
                return Ok(false);
            };
            if t.len() != 2 {
                return Ok(false);
            }
            match dict::get(vm, d, &t[0])? {
                Some(v) => Ok(v.is(&t[1]) || vm.eq(&v, &t[1])?),
                None => Ok(false),
            }
        }
        DictIterKind::Values => {
            let vals = d.borrow().values();
            for v in vals {
                if v.is(x) || vm.eq(&v, x)? {
                    return Ok(true);
                }
            }
            Ok(false)
        }
    }
}

fn view_contains(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let (d, kind) = this_view(vm, args, "__contains__")?;
    one_arg(vm, "__contains__", args, kw)?;
    Ok(Value::Bool(view_has(vm, &d, kind, &args[1])?))
}

/// The elements of any iterable as a new set table.
fn to_set(vm: &mut Vm, v: &Value) -> PyResult<Rc<RefCell<Dict>>> {
    let items = match view_of(v) {
        Some((d, kind)) => view_items(&d, kind),
        None => vm.collect(v)?,
    };
    let s = Rc::new(RefCell::new(Dict::new()));
    for it in items {
        dict::add(vm, &s, it)?;
    }
    Ok(s)
}

fn is_setlike(v: &Value) -> bool {
    matches!(v, Value::Set(_) | Value::FrozenSet(_))
        || matches!(view_of(v), Some((_, k)) if k != DictIterKind::Values)
}

fn view_eq(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let (d, kind) = this_view(vm, args, "__eq__")?;
    let Some(other) = args.get(1) else {
        return Err(vm.type_error("expected 1 argument, got 0"));
    };
    if !is_setlike(other) {
        return Ok(Value::NotImplemented);
    }
    let theirs = to_set(vm, other)?;
    if theirs.borrow().len() != d.borrow().len() {
        return Ok(Value::Bool(false));
    }
    let keys = theirs.borrow().keys();
    for k in keys {
        if !view_has(vm, &d, kind, &k)? {
            return Ok(Value::Bool(false));
        }
    }
    Ok(Value::Bool(true))
}

fn view_ne(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    match view_eq(vm, args, kw)? {
        Value::Bool(b) => Ok(Value::Bool(!b)),
        other => Ok(other),
    }
}

fn view_binop(vm: &mut Vm, args: &[Value], op: char, swap: bool) -> PyResult<Value> {
    if args.len() != 2 {
        return Err(vm.type_error("expected 1 argument"));
    }
    let (a, b) = if swap {
        (&args[1], &args[0])
    } else {
        (&args[0], &args[1])
    };
    if vm.get_iter(b).is_err() || vm.get_iter(a).is_err() {
        return Ok(Value::NotImplemented);
    }
    let left = to_set(vm, a)?;
    let right = to_set(vm, b)?;
    let out = Rc::new(RefCell::new(Dict::new()));
    let lk = left.borrow().keys();
    let rk = right.borrow().keys();
    match op {
        '&' => {
            for k in lk {
                if dict::contains(vm, &right, &k)? {
                    dict::add(vm, &out, k)?;
                }
            }
        }
        '|' => {
            for k in lk.into_iter().chain(rk) {
                dict::add(vm, &out, k)?;
            }
        }
        '-' => {
            for k in lk {
                if !dict::contains(vm, &right, &k)? {
                    dict::add(vm, &out, k)?;
                }
            }
        }
        _ => {
            for k in lk {
                if !dict::contains(vm, &right, &k)? {
                    dict::add(vm, &out, k)?;
                }
            }
            for k in rk {
                if !dict::contains(vm, &left, &k)? {
                    dict::add(vm, &out, k)?;
                }
            }
        }
    }
    Ok(Value::Set(out))
}

fn view_and(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    view_binop(vm, args, '&', false)
}

fn view_or(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    view_binop(vm, args, '|', false)
}

fn view_sub(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    view_binop(vm, args, '-', false)
}

fn view_rsub(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    view_binop(vm, args, '-', true)
}

fn view_xor(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    view_binop(vm, args, '^', false)
}

fn view_isdisjoint(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let (d, kind) = this_view(vm, args, "isdisjoint")?;
    one_arg(vm, "isdisjoint", args, kw)?;
    let other = vm.collect(&args[1])?;
    for x in other {
        if view_has(vm, &d, kind, &x)? {
            return Ok(Value::Bool(false));
        }
    }
    Ok(Value::Bool(true))
}

// ---- dict methods -----------------------------------------------------------------

fn this(vm: &Vm, args: &[Value], name: &str) -> PyResult<Rc<RefCell<Dict>>> {
    match args.first() {
        Some(Value::Dict(d)) => Ok(d.clone()),
        _ => Err(descriptor_error(vm, "dict", name, args)),
    }
}

fn dict_keys(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let d = this(vm, args, "keys")?;
    no_args(vm, "dict.keys", args, kw)?;
    Ok(make_view(&d, DictIterKind::Keys))
}

fn dict_values(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let d = this(vm, args, "values")?;
    no_args(vm, "dict.values", args, kw)?;
    Ok(make_view(&d, DictIterKind::Values))
}

fn dict_items(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let d = this(vm, args, "items")?;
    no_args(vm, "dict.items", args, kw)?;
    Ok(make_view(&d, DictIterKind::Items))
}

fn dict_get(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let d = this(vm, args, "get")?;
    count_args(vm, "get", args, kw, 1, 2)?;
    Ok(match dict::get(vm, &d, &args[1])? {
        Some(v) => v,
        None => args.get(2).cloned().unwrap_or(Value::None),
    })
}

fn dict_setdefault(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let d = this(vm, args, "setdefault")?;
    count_args(vm, "setdefault", args, kw, 1, 2)?;
    if let Some(v) = dict::get(vm, &d, &args[1])? {
        return Ok(v);
    }
    let dflt = args.get(2).cloned().unwrap_or(Value::None);
    dict::set(vm, &d, args[1].clone(), dflt.clone())?;
    Ok(dflt)
}

fn dict_pop(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let d = this(vm, args, "pop")?;
    count_args(vm, "pop", args, kw, 1, 2)?;
    match dict::remove(vm, &d, &args[1])? {
        Some(e) => Ok(e.value),
        None => match args.get(2) {
            Some(v) => Ok(v.clone()),
            None => Err(vm.key_error(args[1].clone())),
        },
    }
}

fn dict_popitem(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let d = this(vm, args, "popitem")?;
    no_args(vm, "dict.popitem", args, kw)?;
    let e = d.borrow_mut().pop_last();
    match e {
        Some(e) => Ok(Value::tuple(vec![e.key, e.value])),
        None => Err(vm.key_error(Value::str("popitem(): dictionary is empty"))),
    }
}

/// `d.update(other)`: a mapping, an object with `keys()`, or pairs.
pub fn update_from(vm: &mut Vm, d: &Rc<RefCell<Dict>>, other: &Value) -> PyResult<()> {
    match other {
        Value::Dict(o) => {
            let items = o.borrow().items();
            for (k, v) in items {
                dict::set(vm, d, k, v)?;
            }
            return Ok(());
        }
        Value::Instance(_) | Value::Native(_) => {
            if view_of(other).is_none()
                && let Some(keys) = vm.getattr_opt(other, "keys")?
            {
                let ks = vm.call(&keys, vec![])?;
                let ks = vm.collect(&ks)?;
                for k in ks {
                    let v = vm.getitem(other, &k)?;
                    dict::set(vm, d, k, v)?;
                }
                return Ok(());
            }
        }
        _ => {}
    }
    let it = vm.get_iter(other)?;
    let mut i = 0;
    while let Some(item) = vm.next(&it)? {
        let pair = match &item {
            Value::Tuple(t) => t.to_vec(),
            Value::List(l) => l.borrow().clone(),
            Value::Str(_) | Value::Dict(_) | Value::Set(_) | Value::FrozenSet(_) => {
                vm.collect(&item)?
            }
            other => match vm.get_iter(other) {
                Ok(_) => vm.collect(other)?,
                Err(_) => {
                    return Err(vm.type_error(&format!(
                        "cannot convert dictionary update sequence element #{i} to a sequence"
                    )));
                }
            },
        };
        if pair.len() != 2 {
            return Err(vm.value_error(&format!(
                "dictionary update sequence element #{i} has length {}; 2 is required",
                pair.len()
            )));
        }
        let mut p = pair.into_iter();
        if let (Some(k), Some(v)) = (p.next(), p.next()) {
            dict::set(vm, d, k, v)?;
        }
        i += 1;
    }
    Ok(())
}

fn dict_update(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let d = this(vm, args, "update")?;
    update_with(vm, &d, "update", args, kw)
}

/// `d.__init__(other=(), **kw)`: `update` under `dict`'s name; the dict
/// is not emptied first, as in CPython.
fn dict_init(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let Some(Value::Dict(d)) = args.first() else {
        return Err(crate::builtins_types::init_receiver_error(vm, "dict", args));
    };
    update_with(vm, &d.clone(), "dict", args, kw)
}

/// What `update` and `__init__` do: at most one positional argument
/// (`{name} expected at most 1 argument`), then the keywords.
fn update_with(
    vm: &mut Vm,
    d: &Rc<RefCell<Dict>>,
    name: &str,
    args: &[Value],
    kw: &KwArgs,
) -> PyResult<Value> {
    if args.len() > 2 {
        return Err(vm.type_error(&format!(
            "{name} expected at most 1 argument, got {}",
            args.len() - 1
        )));
    }
    if let Some(o) = args.get(1) {
        update_from(vm, d, o)?;
    }
    for (k, v) in kw {
        dict::set(vm, d, Value::str(k.as_ref()), v.clone())?;
    }
    Ok(Value::None)
}

fn dict_copy(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let d = this(vm, args, "copy")?;
    no_args(vm, "dict.copy", args, kw)?;
    let c = d.borrow().clone();
    Ok(Value::Dict(Rc::new(RefCell::new(c))))
}

fn dict_clear(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let d = this(vm, args, "clear")?;
    no_args(vm, "dict.clear", args, kw)?;
    let old = std::mem::take(&mut *d.borrow_mut());
    drop(old);
    Ok(Value::None)
}

fn dict_fromkeys(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    // args[0] is the class.
    count_args(vm, "fromkeys", args, kw, 1, 2)?;
    let keys = vm.collect(&args[1])?;
    let v = args.get(2).cloned().unwrap_or(Value::None);
    let d = Rc::new(RefCell::new(Dict::new()));
    for k in keys {
        dict::set(vm, &d, k, v.clone())?;
    }
    let out = Value::Dict(d);
    // A subclass of dict: build an instance of it and fill it.
    if let Some(Value::Class(c)) = args.first()
        && !Rc::ptr_eq(c, &vm.types.dict)
    {
        let inst = vm.call(&args[0], vec![])?;
        if let Value::Dict(_) = inst {
            return Ok(inst);
        }
        if let Some(upd) = vm.getattr_opt(&inst, "update")? {
            vm.call(&upd, vec![out])?;
        }
        return Ok(inst);
    }
    Ok(out)
}
