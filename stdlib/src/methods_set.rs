//! Methods of `set` and `frozenset`.

use std::cell::RefCell;
use std::rc::Rc;

use covm_vm::Vm;
use covm_vm::dict::{self, Dict};
use covm_vm::value::{KwArgs, PyResult, Value};

use crate::methods::{descriptor_error, no_args, one_arg};

type Table = Rc<RefCell<Dict>>;

pub fn install(vm: &mut Vm) {
    let s = vm.types.set.clone();
    let f = vm.types.frozenset.clone();
    let shared: &[(&str, covm_vm::value::NativeFn)] = &[
        ("copy", set_copy),
        ("union", set_union),
        ("intersection", set_intersection),
        ("difference", set_difference),
        ("symmetric_difference", set_symmetric_difference),
        ("issubset", set_issubset),
        ("issuperset", set_issuperset),
        ("isdisjoint", set_isdisjoint),
    ];
    for (name, func) in shared {
        vm.add_method(&s, name, *func);
        vm.add_method(&f, name, *func);
    }
    let mutating: &[(&str, covm_vm::value::NativeFn)] = &[
        ("add", set_add),
        ("discard", set_discard),
        ("remove", set_remove),
        ("pop", set_pop),
        ("__init__", set_init),
        ("clear", set_clear),
        ("update", set_update),
        ("intersection_update", set_intersection_update),
        ("difference_update", set_difference_update),
        (
            "symmetric_difference_update",
            set_symmetric_difference_update,
        ),
    ];
    for (name, func) in mutating {
        vm.add_method(&s, name, *func);
    }
}

/// The receiver: (table, is_frozen).
fn this_any(vm: &Vm, args: &[Value], name: &str) -> PyResult<(Table, bool)> {
    match args.first() {
        Some(Value::Set(d)) => Ok((d.clone(), false)),
        Some(Value::FrozenSet(d)) => Ok((d.clone(), true)),
        _ => Err(descriptor_error(vm, "set", name, args)),
    }
}

fn this(vm: &Vm, args: &[Value], name: &str) -> PyResult<Table> {
    match args.first() {
        Some(Value::Set(d)) => Ok(d.clone()),
        _ => Err(descriptor_error(vm, "set", name, args)),
    }
}

fn wrap(t: Table, frozen: bool) -> Value {
    if frozen {
        Value::FrozenSet(t)
    } else {
        Value::Set(t)
    }
}

fn copy_table(t: &Table) -> Table {
    Rc::new(RefCell::new(t.borrow().clone()))
}

/// The elements of an iterable argument.
fn elements(vm: &mut Vm, v: &Value) -> PyResult<Vec<Value>> {
    match v {
        Value::Set(d) | Value::FrozenSet(d) | Value::Dict(d) => Ok(d.borrow().keys()),
        Value::List(l) => Ok(l.borrow().clone()),
        Value::Tuple(t) => Ok(t.to_vec()),
        other => vm.collect(other),
    }
}

/// An iterable argument as a table to look things up in.
fn as_table(vm: &mut Vm, v: &Value) -> PyResult<Table> {
    match v {
        Value::Set(d) | Value::FrozenSet(d) | Value::Dict(d) => Ok(d.clone()),
        other => {
            let items = elements(vm, other)?;
            let t = Rc::new(RefCell::new(Dict::new()));
            for it in items {
                dict::add(vm, &t, it)?;
            }
            Ok(t)
        }
    }
}

/// A set used as a key to look up (`{1} in s`, `s.remove({1})`): CPython
/// retries with a frozenset.
fn key_of(v: &Value) -> Value {
    match v {
        Value::Set(d) => Value::FrozenSet(copy_table(d)),
        other => other.clone(),
    }
}

fn set_add(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let t = this(vm, args, "add")?;
    one_arg(vm, "set.add", args, kw)?;
    dict::add(vm, &t, args[1].clone())?;
    Ok(Value::None)
}

fn set_discard(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let t = this(vm, args, "discard")?;
    one_arg(vm, "set.discard", args, kw)?;
    let k = key_of(&args[1]);
    let removed = dict::remove(vm, &t, &k)?;
    drop(removed);
    Ok(Value::None)
}

fn set_remove(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let t = this(vm, args, "remove")?;
    one_arg(vm, "set.remove", args, kw)?;
    let k = key_of(&args[1]);
    match dict::remove(vm, &t, &k)? {
        Some(_) => Ok(Value::None),
        None => Err(vm.key_error(args[1].clone())),
    }
}

fn set_pop(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let t = this(vm, args, "pop")?;
    no_args(vm, "set.pop", args, kw)?;
    let e = t.borrow_mut().pop_first();
    match e {
        Some(e) => Ok(e.key),
        None => Err(vm.key_error(Value::str("pop from an empty set"))),
    }
}

fn set_clear(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let t = this(vm, args, "clear")?;
    no_args(vm, "set.clear", args, kw)?;
    let old = std::mem::take(&mut *t.borrow_mut());
    drop(old);
    Ok(Value::None)
}

/// `s.__init__(iterable=())`: empties the set, then adds the items.
fn set_init(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let Some(Value::Set(t)) = args.first() else {
        return Err(crate::builtins_types::init_receiver_error(vm, "set", args));
    };
    crate::builtins_types::init_arity(vm, "set", args, kw)?;
    let t = t.clone();
    let old = std::mem::take(&mut *t.borrow_mut());
    drop(old);
    union_into(vm, &t, &args[1..])?;
    Ok(Value::None)
}

fn set_copy(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let (t, frozen) = this_any(vm, args, "copy")?;
    no_args(vm, "set.copy", args, kw)?;
    if frozen {
        return Ok(args[0].clone());
    }
    Ok(wrap(copy_table(&t), false))
}

fn check_no_kw(vm: &Vm, name: &str, kw: &KwArgs) -> PyResult<()> {
    if kw.is_empty() {
        Ok(())
    } else {
        Err(vm.type_error(&format!("{name}() takes no keyword arguments")))
    }
}

fn union_into(vm: &mut Vm, t: &Table, others: &[Value]) -> PyResult<()> {
    for o in others {
        let items = elements(vm, o)?;
        for it in items {
            dict::add(vm, t, it)?;
        }
    }
    Ok(())
}

fn intersect(vm: &mut Vm, t: &Table, other: &Value) -> PyResult<Table> {
    let out = Rc::new(RefCell::new(Dict::new()));
    match other {
        Value::Set(o) | Value::FrozenSet(o) | Value::Dict(o) => {
            // Iterate the smaller one, as CPython does.
            let (small, big) = if o.borrow().len() < t.borrow().len() {
                (o.clone(), t.clone())
            } else {
                (t.clone(), o.clone())
            };
            let keys = small.borrow().keys();
            for k in keys {
                if dict::contains(vm, &big, &k)? {
                    dict::add(vm, &out, k)?;
                }
            }
        }
        _ => {
            let items = elements(vm, other)?;
            for k in items {
                if dict::contains(vm, t, &k)? {
                    dict::add(vm, &out, k)?;
                }
            }
        }
    }
    Ok(out)
}

fn difference(vm: &mut Vm, t: &Table, others: &[Value]) -> PyResult<Table> {
    let mut cur = copy_table(t);
    for o in others {
        let ot = as_table(vm, o)?;
        let out = Rc::new(RefCell::new(Dict::new()));
        let keys = cur.borrow().keys();
        for k in keys {
            if !dict::contains(vm, &ot, &k)? {
                dict::add(vm, &out, k)?;
            }
        }
        cur = out;
    }
    Ok(cur)
}

fn sym_difference(vm: &mut Vm, t: &Table, other: &Value) -> PyResult<Table> {
    let ot = as_table(vm, other)?;
    let out = copy_table(t);
    let keys = ot.borrow().keys();
    for k in keys {
        if dict::remove(vm, &out, &k)?.is_none() {
            dict::add(vm, &out, k)?;
        }
    }
    Ok(out)
}

fn set_union(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let (t, frozen) = this_any(vm, args, "union")?;
    check_no_kw(vm, "union", kw)?;
    let out = copy_table(&t);
    union_into(vm, &out, &args[1..])?;
    Ok(wrap(out, frozen))
}

fn set_update(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let t = this(vm, args, "update")?;
    check_no_kw(vm, "update", kw)?;
    union_into(vm, &t, &args[1..])?;
    Ok(Value::None)
}

fn set_intersection(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let (t, frozen) = this_any(vm, args, "intersection")?;
    check_no_kw(vm, "intersection", kw)?;
    let mut cur = copy_table(&t);
    for o in &args[1..] {
        cur = intersect(vm, &cur, o)?;
    }
    Ok(wrap(cur, frozen))
}

fn set_intersection_update(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let t = this(vm, args, "intersection_update")?;
    check_no_kw(vm, "intersection_update", kw)?;
    let mut cur = copy_table(&t);
    for o in &args[1..] {
        cur = intersect(vm, &cur, o)?;
    }
    let new = cur.borrow().clone();
    let old = std::mem::replace(&mut *t.borrow_mut(), new);
    drop(old);
    Ok(Value::None)
}

fn set_difference(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let (t, frozen) = this_any(vm, args, "difference")?;
    check_no_kw(vm, "difference", kw)?;
    let out = difference(vm, &t, &args[1..])?;
    Ok(wrap(out, frozen))
}

fn set_difference_update(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let t = this(vm, args, "difference_update")?;
    check_no_kw(vm, "difference_update", kw)?;
    for o in &args[1..] {
        let items = if let Value::Set(d) = o
            && Rc::ptr_eq(d, &t)
        {
            let old = std::mem::take(&mut *t.borrow_mut());
            drop(old);
            continue;
        } else {
            elements(vm, o)?
        };
        for k in items {
            let r = dict::remove(vm, &t, &k)?;
            drop(r);
        }
    }
    Ok(Value::None)
}

fn set_symmetric_difference(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let (t, frozen) = this_any(vm, args, "symmetric_difference")?;
    one_arg(vm, "set.symmetric_difference", args, kw)?;
    let out = sym_difference(vm, &t, &args[1])?;
    Ok(wrap(out, frozen))
}

fn set_symmetric_difference_update(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let t = this(vm, args, "symmetric_difference_update")?;
    one_arg(vm, "set.symmetric_difference_update", args, kw)?;
    let ot = as_table(vm, &args[1])?;
    if Rc::ptr_eq(&ot, &t) {
        let old = std::mem::take(&mut *t.borrow_mut());
        drop(old);
        return Ok(Value::None);
    }
    let keys = ot.borrow().keys();
    for k in keys {
        if dict::remove(vm, &t, &k)?.is_none() {
            dict::add(vm, &t, k)?;
        }
    }
    Ok(Value::None)
}

fn subset(vm: &mut Vm, a: &Table, b: &Table) -> PyResult<bool> {
    if a.borrow().len() > b.borrow().len() {
        return Ok(false);
    }
    let keys = a.borrow().keys();
    for k in keys {
        if !dict::contains(vm, b, &k)? {
            return Ok(false);
        }
    }
    Ok(true)
}

fn set_issubset(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let (t, _) = this_any(vm, args, "issubset")?;
    one_arg(vm, "set.issubset", args, kw)?;
    let o = as_table(vm, &args[1])?;
    Ok(Value::Bool(subset(vm, &t, &o)?))
}

fn set_issuperset(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let (t, _) = this_any(vm, args, "issuperset")?;
    one_arg(vm, "set.issuperset", args, kw)?;
    let o = as_table(vm, &args[1])?;
    Ok(Value::Bool(subset(vm, &o, &t)?))
}

fn set_isdisjoint(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let (t, _) = this_any(vm, args, "isdisjoint")?;
    one_arg(vm, "set.isdisjoint", args, kw)?;
    let items = elements(vm, &args[1])?;
    for k in items {
        if dict::contains(vm, &t, &k)? {
            return Ok(Value::Bool(false));
        }
    }
    Ok(Value::Bool(true))
}
