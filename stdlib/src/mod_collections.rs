//! The `collections` module: `deque`, `defaultdict`, `Counter`,
//! `OrderedDict` and `namedtuple`.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;

use covm_vm::Vm;
use covm_vm::dict::{self, Dict};
use covm_vm::value::*;

use crate::args::*;
use crate::modules::{add_cmp_method, add_values, downcast, func, native_class, set, this};

// ---- deque -------------------------------------------------------------------

pub struct Deque {
    cls: Rc<Class>,
    items: RefCell<VecDeque<Value>>,
    maxlen: Option<usize>,
    /// Bumped on every change of length, so iterators notice mutation.
    state: Cell<u64>,
}

impl Deque {
    fn bump(&self) {
        self.state.set(self.state.get().wrapping_add(1));
    }
    fn snapshot(&self) -> Vec<Value> {
        self.items.borrow().iter().cloned().collect()
    }
    /// `append`/`appendleft` (the methods' fast path is `add`): a full
    /// bounded deque drops an item from the other end.
    fn push(&self, v: Value, end: End) {
        self.bump();
        if self.maxlen == Some(0) {
            return;
        }
        let mut it = self.items.borrow_mut();
        let full = self.maxlen.is_some_and(|m| it.len() >= m);
        // The dropped item is freed after the borrow ends: its drop may
        // run code that looks at the deque.
        let old = match end {
            End::Back => {
                let old = if full { it.pop_front() } else { None };
                it.push_back(v);
                old
            }
            End::Front => {
                let old = if full { it.pop_back() } else { None };
                it.push_front(v);
                old
            }
        };
        drop(it);
        drop(old);
    }
}

impl NativeObject for Deque {
    fn class_addr(&self, _vm: &Vm) -> usize {
        Rc::as_ptr(&self.cls) as usize
    }
    fn gc_traverse(&self, visit: &mut dyn FnMut(&Value)) -> bool {
        match self.items.try_borrow() {
            Ok(items) => items.iter().for_each(visit),
            Err(_) => return false,
        }
        true
    }
    fn gc_clear(&self, out: &mut Vec<Value>) {
        if let Ok(mut items) = self.items.try_borrow_mut() {
            out.extend(items.drain(..));
        }
    }
    fn class(&self, _vm: &Vm) -> Rc<Class> {
        self.cls.clone()
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
    fn len(&self) -> Option<usize> {
        Some(self.items.borrow().len())
    }
    // `while queue:`: one virtual call, not `truthy` then `len`.
    fn truthy(&self) -> Option<bool> {
        Some(!self.items.borrow().is_empty())
    }
    fn repr(&self, vm: &mut Vm) -> PyResult<Option<String>> {
        let addr = self as *const Deque as usize;
        if vm.repr_guard.contains(&addr) {
            return Ok(Some("[...]".into()));
        }
        vm.repr_guard.push(addr);
        let items = self.snapshot();
        let r = vm.repr(&Value::list(items));
        vm.repr_guard.pop();
        let inner = r?;
        Ok(Some(match self.maxlen {
            Some(m) => format!("deque({inner}, maxlen={m})"),
            None => format!("deque({inner})"),
        }))
    }
    fn iter(&self, vm: &mut Vm, me: &Value) -> PyResult<Option<Value>> {
        Ok(Some(vm.new_iter(IterState::Native(Box::new(DequeIter {
            deque: me.clone(),
            index: 0,
            state: self.state.get(),
            reverse: false,
        })))))
    }
    fn get_attr(&self, _vm: &mut Vm, name: &str) -> PyResult<Option<Value>> {
        Ok(match name {
            "maxlen" => Some(match self.maxlen {
                Some(m) => Value::Int(m as i64),
                None => Value::None,
            }),
            _ => None,
        })
    }
}

struct DequeIter {
    deque: Value,
    index: usize,
    state: u64,
    reverse: bool,
}

impl NativeIter for DequeIter {
    fn type_name(&self) -> &'static str {
        if self.reverse {
            "_deque_reverse_iterator"
        } else {
            "_deque_iterator"
        }
    }
    fn next(&mut self, vm: &mut Vm) -> PyResult<Option<Value>> {
        let Some(d) = downcast::<Deque>(&self.deque) else {
            return Ok(None);
        };
        if d.state.get() != self.state {
            return Err(vm.runtime_error("deque mutated during iteration"));
        }
        let items = d.items.borrow();
        let n = items.len();
        if self.index >= n {
            return Ok(None);
        }
        let i = if self.reverse {
            n - 1 - self.index
        } else {
            self.index
        };
        self.index += 1;
        Ok(items.get(i).cloned())
    }
}

#[inline]
fn deq<'a>(vm: &Vm, args: &'a [Value], method: &str) -> PyResult<&'a Deque> {
    this::<Deque>(vm, args, "collections.deque", method)
}

fn deque_class(vm: &mut Vm) -> Rc<Class> {
    native_class(vm, "collections.deque", "deque", "collections", setup_deque)
}

fn new_deque(vm: &mut Vm, items: VecDeque<Value>, maxlen: Option<usize>) -> Value {
    let cls = deque_class(vm);
    Value::tracked(Value::Native(
        NativeBox::new(Deque {
            cls,
            items: RefCell::new(items),
            maxlen,
            state: Cell::new(0),
        })
        .into(),
    ))
}

fn deque_new(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let a = &args[1..];
    if a.len() > 2 {
        return Err(vm.type_error(&format!(
            "deque() takes at most 2 arguments ({} given)",
            a.len()
        )));
    }
    let mut iterable = a.first().cloned();
    let mut maxlen_v = a.get(1).cloned();
    for (k, v) in kw {
        match k.as_ref() {
            "iterable" => iterable = Some(v.clone()),
            "maxlen" => maxlen_v = Some(v.clone()),
            other => {
                return Err(vm.type_error(&format!(
                    "deque() got an unexpected keyword argument '{other}'"
                )));
            }
        }
    }
    let maxlen = match maxlen_v {
        None | Some(Value::None) => None,
        Some(Value::Int(i)) => {
            if i < 0 {
                return Err(vm.value_error("maxlen must be non-negative"));
            }
            Some(i as usize)
        }
        Some(Value::Bool(b)) => Some(b as usize),
        Some(_) => return Err(vm.type_error("an integer is required")),
    };
    let d = new_deque(vm, VecDeque::new(), maxlen);
    if let Some(it) = iterable {
        let items = vm.collect(&it)?;
        if let Some(dq) = downcast::<Deque>(&d) {
            for x in items {
                dq.push(x, End::Back);
            }
        }
    }
    Ok(d)
}

// The argument checks inline into every method; their error paths stay
// out of line so the common case is a compare and a branch.
#[inline]
fn one<'a>(vm: &Vm, name: &str, args: &'a [Value]) -> PyResult<&'a Value> {
    match args {
        [_, v] => Ok(v),
        _ => Err(arg_count_error(vm, name, "exactly one argument", args)),
    }
}

#[inline]
fn none_args(vm: &Vm, name: &str, args: &[Value]) -> PyResult<()> {
    if args.len() != 1 {
        return Err(arg_count_error(vm, name, "no arguments", args));
    }
    Ok(())
}

#[cold]
#[inline(never)]
fn arg_count_error(vm: &Vm, name: &str, takes: &str, args: &[Value]) -> Value {
    vm.type_error(&format!(
        "deque.{name}() takes {takes} ({} given)",
        args.len().saturating_sub(1)
    ))
}

// `append`, `appendleft`, `pop` and `popleft` are the hot methods (a deque
// is a queue). Each matches its common call in one chain of checks: a deque
// receiver (`deque_fast`), the right number of positional arguments and no
// keywords, no `maxlen`, a free slot or an item to pop, an item that clones
// without a call. The chain makes no call, so the fast path saves no
// registers; anything else tail-calls the general path (`add_any`,
// `take_any`), which does the same work the long way and raises the
// errors.

/// `v` as a deque, if its vtable pointer is `Deque`'s: one compare against a
/// constant, where `downcast_ref` makes a virtual `type_id` call and a
/// 128-bit compare. Vtables may be duplicated (one per codegen unit), so
/// `None` does not mean "not a deque": callers fall back to `as_deque`.
/// Equal pointers do mean `Deque`: its vtable holds `<Deque as Any>::type_id`,
/// which no other type's vtable holds, so no other type's vtable can be
/// merged with it.
#[inline(always)]
fn deque_fast(v: &Value) -> Option<&Deque> {
    let Value::Native(n) = v else {
        return None;
    };
    let p = &**n as *const dyn NativeObject;
    if std::ptr::eq(p, p as *const Deque as *const dyn NativeObject) {
        // SAFETY: the vtable is `Deque`'s (see above), so the object is a
        // `Deque`, borrowed for as long as `v`.
        return Some(unsafe { &*(p as *const Deque) });
    }
    None
}

/// `v` as a deque: `deque_fast`, else the type-id check.
#[inline]
fn as_deque(v: &Value) -> Option<&Deque> {
    deque_fast(v).or_else(|| downcast::<Deque>(v))
}

/// Which end of the deque a hot method works on.
#[derive(Clone, Copy)]
enum End {
    Back,
    Front,
}

/// `append`/`appendleft`: the fast path, else `add_any`.
#[inline(always)]
fn add(vm: &mut Vm, args: &[Value], kw: &KwArgs, end: End) -> PyResult<Value> {
    if let [d, x] = args
        && kw.is_empty()
        && let Some(d) = deque_fast(d)
        && d.maxlen.is_none()
        && let Ok(mut items) = d.items.try_borrow_mut()
        && items.len() < items.capacity()
    {
        let x = x.clone_whole();
        match end {
            End::Back => items.push_back(x),
            End::Front => items.push_front(x),
        }
        d.bump();
        return Ok(Value::None);
    }
    add_any(vm, args, kw, end)
}

#[inline(never)]
fn add_any(vm: &mut Vm, args: &[Value], kw: &KwArgs, end: End) -> PyResult<Value> {
    if let [d, x] = args
        && kw.is_empty()
        && let Some(d) = as_deque(d)
    {
        d.push(x.clone(), end);
        return Ok(Value::None);
    }
    let name = match end {
        End::Back => "append",
        End::Front => "appendleft",
    };
    Err(call_error(vm, name, args, kw, 1))
}

// CPython changes a deque's mutation state only when `pop`/`popleft`
// removes an item: a failed pop does not break an iterator.

/// `pop`/`popleft`: the fast path, else `take_any`.
#[inline(always)]
fn take(vm: &mut Vm, args: &[Value], kw: &KwArgs, end: End) -> PyResult<Value> {
    if let [d] = args
        && kw.is_empty()
        && let Some(d) = deque_fast(d)
        && let Ok(mut items) = d.items.try_borrow_mut()
        && let Some(v) = match end {
            End::Back => items.pop_back(),
            End::Front => items.pop_front(),
        }
    {
        d.bump();
        return Ok(v);
    }
    take_any(vm, args, kw, end)
}

#[inline(never)]
fn take_any(vm: &mut Vm, args: &[Value], kw: &KwArgs, end: End) -> PyResult<Value> {
    if let [d] = args
        && kw.is_empty()
        && let Some(d) = as_deque(d)
    {
        let mut items = d.items.borrow_mut();
        let v = match end {
            End::Back => items.pop_back(),
            End::Front => items.pop_front(),
        };
        drop(items);
        return match v {
            Some(v) => {
                d.bump();
                Ok(v)
            }
            None => Err(empty_pop_error(vm)),
        };
    }
    let name = match end {
        End::Back => "pop",
        End::Front => "popleft",
    };
    Err(call_error(vm, name, args, kw, 0))
}

fn d_append(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    add(vm, args, kw, End::Back)
}

fn d_appendleft(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    add(vm, args, kw, End::Front)
}

fn d_pop(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    take(vm, args, kw, End::Back)
}

fn d_popleft(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    take(vm, args, kw, End::Front)
}

#[cold]
#[inline(never)]
fn empty_pop_error(vm: &Vm) -> Value {
    vm.index_error("pop from an empty deque")
}

/// The error of a hot method's call that is not its common case, checked in
/// CPython's order: the receiver, keywords, the argument count (`takes`:
/// 0 or 1 arguments besides the receiver).
#[cold]
#[inline(never)]
fn call_error(vm: &Vm, name: &str, args: &[Value], kw: &KwArgs, takes: usize) -> Value {
    match args.first() {
        None => {
            return vm.type_error(&format!("unbound method deque.{name}() needs an argument"));
        }
        Some(d) if as_deque(d).is_none() => {
            return vm.type_error(&format!(
                "descriptor '{name}' for 'collections.deque' objects doesn't apply to a '{}' object",
                vm.type_name(d)
            ));
        }
        Some(_) => {}
    }
    if !kw.is_empty() {
        return vm.type_error(&format!("deque.{name}() takes no keyword arguments"));
    }
    let what = if takes == 0 {
        "no arguments"
    } else {
        "exactly one argument"
    };
    arg_count_error(vm, name, what, args)
}

fn d_extend(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let d = deq(vm, args, "extend")?;
    let src = one(vm, "extend", args)?;
    let items = vm.collect(src)?;
    for x in items {
        d.push(x, End::Back);
    }
    Ok(Value::None)
}

fn d_extendleft(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let d = deq(vm, args, "extendleft")?;
    let src = one(vm, "extendleft", args)?;
    let items = vm.collect(src)?;
    for x in items {
        d.push(x, End::Front);
    }
    Ok(Value::None)
}

fn d_rotate(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let d = deq(vm, args, "rotate")?;
    if args.len() > 2 {
        return Err(vm.type_error(&format!(
            "rotate expected at most 1 argument, got {}",
            args.len() - 1
        )));
    }
    let n = match args.get(1) {
        Some(v) => int_arg(vm, v)?,
        None => 1,
    };
    let mut it = d.items.borrow_mut();
    let len = it.len() as i64;
    if len > 1 {
        let k = n.rem_euclid(len) as usize;
        it.rotate_right(k);
    }
    Ok(Value::None)
}

fn d_clear(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let d = deq(vm, args, "clear")?;
    none_args(vm, "clear", args)?;
    d.bump();
    let old = std::mem::take(&mut *d.items.borrow_mut());
    drop(old);
    Ok(Value::None)
}

fn d_count(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let d = deq(vm, args, "count")?;
    let x = one(vm, "count", args)?;
    let state = d.state.get();
    let mut n = 0;
    for v in d.snapshot() {
        if v.is(x) || vm.eq(&v, x)? {
            n += 1;
        }
        if d.state.get() != state {
            return Err(vm.runtime_error("deque mutated during iteration"));
        }
    }
    Ok(Value::Int(n))
}

fn d_index(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let d = deq(vm, args, "index")?;
    if args.len() < 2 || args.len() > 4 {
        return Err(vm.type_error(&format!(
            "index expected at least 1 argument, got {}",
            args.len().saturating_sub(1)
        )));
    }
    let x = &args[1];
    let items = d.snapshot();
    let n = items.len() as i64;
    let norm = |i: i64| if i < 0 { (i + n).max(0) } else { i.min(n) };
    let start = match args.get(2) {
        Some(v) => norm(int_arg(vm, v)?),
        None => 0,
    };
    let stop = match args.get(3) {
        Some(v) => norm(int_arg(vm, v)?),
        None => n,
    };
    let state = d.state.get();
    for i in start..stop {
        let v = &items[i as usize];
        if v.is(x) || vm.eq(v, x)? {
            return Ok(Value::Int(i));
        }
        if d.state.get() != state {
            return Err(vm.runtime_error("deque mutated during iteration"));
        }
    }
    let msg = format!("{} is not in deque", vm.repr(x)?);
    Err(vm.value_error(&msg))
}

fn d_remove(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let d = deq(vm, args, "remove")?;
    let x = one(vm, "remove", args)?;
    let items = d.snapshot();
    let state = d.state.get();
    for (i, v) in items.iter().enumerate() {
        let same = v.is(x) || vm.eq(v, x)?;
        if d.state.get() != state {
            return Err(vm.index_error("deque mutated during remove()."));
        }
        if same {
            d.bump();
            let old = d.items.borrow_mut().remove(i);
            drop(old);
            return Ok(Value::None);
        }
    }
    let msg = format!("{} is not in deque", vm.repr(x)?);
    Err(vm.value_error(&msg))
}

fn d_reverse(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let d = deq(vm, args, "reverse")?;
    none_args(vm, "reverse", args)?;
    let mut it = d.items.borrow_mut();
    let v: VecDeque<Value> = it.drain(..).rev().collect();
    *it = v;
    Ok(Value::None)
}

fn d_copy(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let d = deq(vm, args, "copy")?;
    let items = d.items.borrow().clone();
    let maxlen = d.maxlen;
    Ok(new_deque(vm, items, maxlen))
}

fn d_insert(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let d = deq(vm, args, "insert")?;
    if args.len() != 3 {
        return Err(vm.type_error(&format!(
            "insert expected 2 arguments, got {}",
            args.len().saturating_sub(1)
        )));
    }
    let i = int_arg(vm, &args[1])?;
    let n = d.items.borrow().len() as i64;
    if d.maxlen == Some(n as usize) {
        return Err(vm.index_error("deque already at its maximum size"));
    }
    let pos = if i < 0 { (i + n).max(0) } else { i.min(n) } as usize;
    d.bump();
    d.items.borrow_mut().insert(pos, args[2].clone());
    Ok(Value::None)
}

fn d_index_of(vm: &mut Vm, d: &Deque, key: &Value) -> PyResult<usize> {
    let i = match key {
        Value::Int(i) => *i,
        Value::Bool(b) => *b as i64,
        other => {
            if let Some(f) = vm.lookup_special(other, "__index__") {
                let r = vm.call(&f, vec![other.clone()])?;
                int_arg(vm, &r)?
            } else {
                let msg = format!(
                    "sequence index must be integer, not '{}'",
                    vm.type_name(other)
                );
                return Err(vm.type_error(&msg));
            }
        }
    };
    let n = d.items.borrow().len() as i64;
    let j = if i < 0 { i + n } else { i };
    if j < 0 || j >= n {
        return Err(vm.index_error("deque index out of range"));
    }
    Ok(j as usize)
}

fn d_getitem(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let d = deq(vm, args, "__getitem__")?;
    let key = one(vm, "__getitem__", args)?;
    let i = d_index_of(vm, d, key)?;
    let v = d.items.borrow().get(i).cloned();
    v.ok_or_else(|| vm.index_error("deque index out of range"))
}

fn d_setitem(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let d = deq(vm, args, "__setitem__")?;
    if args.len() != 3 {
        return Err(vm.type_error("expected 2 arguments"));
    }
    let i = d_index_of(vm, d, &args[1])?;
    let old = {
        let mut it = d.items.borrow_mut();
        it.get_mut(i)
            .map(|slot| std::mem::replace(slot, args[2].clone()))
    };
    drop(old);
    Ok(Value::None)
}

fn d_delitem(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let d = deq(vm, args, "__delitem__")?;
    let key = one(vm, "__delitem__", args)?;
    let i = d_index_of(vm, d, key)?;
    d.bump();
    let old = d.items.borrow_mut().remove(i);
    drop(old);
    Ok(Value::None)
}

fn d_contains(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let d = deq(vm, args, "__contains__")?;
    let x = one(vm, "__contains__", args)?;
    let state = d.state.get();
    for v in d.snapshot() {
        if v.is(x) || vm.eq(&v, x)? {
            return Ok(Value::Bool(true));
        }
        if d.state.get() != state {
            return Err(vm.runtime_error("deque mutated during iteration"));
        }
    }
    Ok(Value::Bool(false))
}

fn d_reversed(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let d = deq(vm, args, "__reversed__")?;
    let state = d.state.get();
    Ok(vm.new_iter(IterState::Native(Box::new(DequeIter {
        deque: args[0].clone(),
        index: 0,
        state,
        reverse: true,
    }))))
}

fn d_eq(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let (Some(a), Some(b)) = (
        args.first().and_then(downcast::<Deque>),
        args.get(1).and_then(downcast::<Deque>),
    ) else {
        return Ok(Value::NotImplemented);
    };
    let (x, y) = (Value::list(a.snapshot()), Value::list(b.snapshot()));
    Ok(Value::Bool(vm.eq(&x, &y)?))
}

fn d_ne(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    match d_eq(vm, args, kw)? {
        Value::Bool(b) => Ok(Value::Bool(!b)),
        other => Ok(other),
    }
}

fn d_add(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let d = deq(vm, args, "__add__")?;
    let Some(other) = args.get(1).and_then(downcast::<Deque>) else {
        let msg = format!(
            "can only concatenate deque (not \"{}\") to deque",
            args.get(1).map(|v| vm.type_name(v)).unwrap_or_default()
        );
        return Err(vm.type_error(&msg));
    };
    let mut items = d.items.borrow().clone();
    items.extend(other.snapshot());
    let maxlen = d.maxlen;
    let r = new_deque(vm, VecDeque::new(), maxlen);
    if let Some(rd) = downcast::<Deque>(&r) {
        for x in items {
            rd.push(x, End::Back);
        }
    }
    Ok(r)
}

fn d_iadd(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    d_extend(vm, args, kw)?;
    Ok(args[0].clone())
}

fn setup_deque(vm: &mut Vm, cls: &Rc<Class>) {
    let methods: &[(&str, NativeFn)] = &[
        ("append", d_append),
        ("appendleft", d_appendleft),
        ("pop", d_pop),
        ("popleft", d_popleft),
        ("extend", d_extend),
        ("extendleft", d_extendleft),
        ("rotate", d_rotate),
        ("clear", d_clear),
        ("count", d_count),
        ("index", d_index),
        ("remove", d_remove),
        ("reverse", d_reverse),
        ("copy", d_copy),
        ("__copy__", d_copy),
        ("insert", d_insert),
        ("__getitem__", d_getitem),
        ("__setitem__", d_setitem),
        ("__delitem__", d_delitem),
        ("__contains__", d_contains),
        ("__reversed__", d_reversed),
        ("__add__", d_add),
        ("__iadd__", d_iadd),
    ];
    for (name, f) in methods {
        vm.add_method(cls, name, *f);
    }
    add_cmp_method(vm, cls, "__eq__", d_eq);
    add_cmp_method(vm, cls, "__ne__", d_ne);
    cls.dict
        .borrow_mut()
        .insert(Rc::from("__hash__"), Value::None);
    vm.set_native_new(cls, deque_new);
}

// ---- defaultdict, Counter, OrderedDict ---------------------------------------

#[derive(Clone, Copy, PartialEq, Eq)]
enum DictKind {
    Default,
    Counter,
    Ordered,
}

pub struct DictLike {
    cls: Rc<Class>,
    kind: DictKind,
    factory: RefCell<Value>,
    d: Rc<RefCell<Dict>>,
}

impl DictLike {
    pub(crate) fn dict(&self) -> Value {
        Value::Dict(self.d.clone())
    }
}

impl NativeObject for DictLike {
    fn gc_traverse(&self, visit: &mut dyn FnMut(&Value)) -> bool {
        match self.factory.try_borrow() {
            Ok(f) => visit(&f),
            Err(_) => return false,
        }
        visit(&Value::Dict(self.d.clone()));
        true
    }
    fn gc_clear(&self, out: &mut Vec<Value>) {
        if let Ok(mut f) = self.factory.try_borrow_mut() {
            out.push(std::mem::replace(&mut *f, Value::None));
        }
    }
    fn class(&self, _vm: &Vm) -> Rc<Class> {
        self.cls.clone()
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
    fn len(&self) -> Option<usize> {
        Some(self.d.borrow().len())
    }
    fn repr(&self, vm: &mut Vm) -> PyResult<Option<String>> {
        let addr = self as *const DictLike as usize;
        if vm.repr_guard.contains(&addr) {
            return Ok(Some("...".into()));
        }
        vm.repr_guard.push(addr);
        let r = self.repr_inner(vm);
        vm.repr_guard.pop();
        r.map(Some)
    }
    fn iter(&self, vm: &mut Vm, _me: &Value) -> PyResult<Option<Value>> {
        vm.get_iter(&self.dict()).map(Some)
    }
    fn get_attr(&self, vm: &mut Vm, name: &str) -> PyResult<Option<Value>> {
        if name == "default_factory" && self.kind == DictKind::Default {
            return Ok(Some(self.factory.borrow().clone()));
        }
        if vm.class_lookup(&self.cls, name).is_some() {
            return Ok(None);
        }
        // Every other dict method works on the underlying dict.
        let d = self.dict();
        vm.getattr_opt(&d, name)
    }
}

impl DictLike {
    fn repr_inner(&self, vm: &mut Vm) -> PyResult<String> {
        let d = self.dict();
        match self.kind {
            DictKind::Default => {
                let f = self.factory.borrow().clone();
                let fr = vm.repr(&f)?;
                let dr = vm.repr(&d)?;
                Ok(format!("defaultdict({fr}, {dr})"))
            }
            DictKind::Counter => {
                if self.d.borrow().is_empty() {
                    return Ok("Counter()".into());
                }
                let items = most_common_items(vm, &self.d)?;
                let mut out = String::from("Counter({");
                for (i, (k, v)) in items.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    out.push_str(&vm.repr(k)?);
                    out.push_str(": ");
                    out.push_str(&vm.repr(v)?);
                }
                out.push_str("})");
                Ok(out)
            }
            DictKind::Ordered => {
                let items = self.d.borrow().items();
                if items.is_empty() {
                    return Ok("OrderedDict()".into());
                }
                let list = Value::list(
                    items
                        .into_iter()
                        .map(|(k, v)| Value::tuple(vec![k, v]))
                        .collect(),
                );
                Ok(format!("OrderedDict({})", vm.repr(&list)?))
            }
        }
    }
}

/// Items sorted by count, largest first, ties in insertion order.
fn most_common_items(vm: &mut Vm, d: &RefCell<Dict>) -> PyResult<Vec<(Value, Value)>> {
    let items = d.borrow().items();
    // Stable insertion sort keyed on "b's count < a's count".
    let mut out: Vec<(Value, Value)> = Vec::with_capacity(items.len());
    for it in items {
        let mut pos = out.len();
        while pos > 0 {
            if vm.less_than(&out[pos - 1].1, &it.1)? {
                pos -= 1;
            } else {
                break;
            }
        }
        out.insert(pos, it);
    }
    Ok(out)
}

fn dl<'a>(vm: &Vm, args: &'a [Value], method: &str) -> PyResult<&'a DictLike> {
    this::<DictLike>(vm, args, "dict", method)
}

fn dict_class(vm: &mut Vm, kind: DictKind) -> Rc<Class> {
    match kind {
        DictKind::Default => native_class(
            vm,
            "collections.defaultdict",
            "defaultdict",
            "collections",
            setup_defaultdict,
        ),
        DictKind::Counter => native_class(
            vm,
            "collections.Counter",
            "Counter",
            "collections",
            setup_counter,
        ),
        DictKind::Ordered => native_class(
            vm,
            "collections.OrderedDict",
            "OrderedDict",
            "collections",
            setup_ordered,
        ),
    }
}

fn new_dictlike(vm: &mut Vm, kind: DictKind, factory: Value, d: Dict) -> Value {
    let cls = dict_class(vm, kind);
    Value::tracked(Value::Native(
        NativeBox::new(DictLike {
            cls,
            kind,
            factory: RefCell::new(factory),
            d: Rc::new(RefCell::new(d)),
        })
        .into(),
    ))
}

/// The (key, value) pairs of a mapping or an iterable of pairs.
fn pairs_of(vm: &mut Vm, src: &Value) -> PyResult<Vec<(Value, Value)>> {
    match src {
        Value::Dict(d) => return Ok(d.borrow().items()),
        Value::Native(_) => {
            if let Some(x) = downcast::<DictLike>(src) {
                return Ok(x.d.borrow().items());
            }
        }
        _ => {}
    }
    if matches!(src, Value::Instance(_)) && vm.lookup_special(src, "keys").is_some() {
        let keys = vm.call_method(src, "keys", vec![])?;
        let keys = vm.collect(&keys)?;
        let mut out = Vec::new();
        for k in keys {
            let v = vm.getitem(src, &k)?;
            out.push((k, v));
        }
        return Ok(out);
    }
    let items = vm.collect(src)?;
    let mut out = Vec::with_capacity(items.len());
    for (i, it) in items.into_iter().enumerate() {
        let kv = match vm.collect(&it) {
            Ok(kv) => kv,
            Err(_) => {
                let msg =
                    format!("cannot convert dictionary update sequence element #{i} to a sequence");
                return Err(vm.type_error(&msg));
            }
        };
        if kv.len() != 2 {
            let msg = format!(
                "dictionary update sequence element #{i} has length {}; 2 is required",
                kv.len()
            );
            return Err(vm.value_error(&msg));
        }
        out.push((kv[0].clone(), kv[1].clone()));
    }
    Ok(out)
}

fn fill(vm: &mut Vm, d: &RefCell<Dict>, src: Option<&Value>, kw: &KwArgs) -> PyResult<()> {
    if let Some(src) = src {
        for (k, v) in pairs_of(vm, src)? {
            dict::set(vm, d, k, v)?;
        }
    }
    for (k, v) in kw {
        dict::set(vm, d, Value::str(&**k), v.clone())?;
    }
    Ok(())
}

fn defaultdict_new(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let a = &args[1..];
    let factory = a.first().cloned().unwrap_or(Value::None);
    let callable = match &factory {
        Value::None
        | Value::Function(_)
        | Value::Builtin(_)
        | Value::BoundMethod(_)
        | Value::Class(_) => true,
        other => vm.lookup_special(other, "__call__").is_some(),
    };
    if !callable {
        return Err(vm.type_error("first argument must be callable or None"));
    }
    if a.len() > 2 {
        return Err(vm.type_error(&format!(
            "dict expected at most 1 argument, got {}",
            a.len() - 1
        )));
    }
    let v = new_dictlike(vm, DictKind::Default, factory, Dict::new());
    if let Some(x) = downcast::<DictLike>(&v) {
        fill(vm, &x.d, a.get(1), kw)?;
    }
    Ok(v)
}

fn ordered_new(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let a = &args[1..];
    if a.len() > 1 {
        return Err(vm.type_error(&format!(
            "OrderedDict expected at most 1 argument, got {}",
            a.len()
        )));
    }
    let v = new_dictlike(vm, DictKind::Ordered, Value::None, Dict::new());
    if let Some(x) = downcast::<DictLike>(&v) {
        fill(vm, &x.d, a.first(), kw)?;
    }
    Ok(v)
}

fn counter_new(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let a = &args[1..];
    if a.len() > 1 {
        return Err(vm.type_error(&format!("expected at most 1 argument, got {}", a.len())));
    }
    let v = new_dictlike(vm, DictKind::Counter, Value::None, Dict::new());
    if let Some(x) = downcast::<DictLike>(&v) {
        counter_add_from(vm, &x.d, a.first(), kw, false)?;
    }
    Ok(v)
}

fn counter_add_from(
    vm: &mut Vm,
    d: &RefCell<Dict>,
    src: Option<&Value>,
    kw: &KwArgs,
    subtract: bool,
) -> PyResult<()> {
    let combine = |vm: &mut Vm, d: &RefCell<Dict>, k: Value, n: Value| -> PyResult<()> {
        let cur = dict::get(vm, d, &k)?.unwrap_or(Value::Int(0));
        let n = if subtract {
            match n {
                Value::Int(i) => Value::Int(-i),
                Value::Float(f) => Value::Float(-f),
                other => crate::modules::mul_values(vm, &other, &Value::Int(-1))?,
            }
        } else {
            n
        };
        let r = add_values(vm, &cur, &n)?;
        dict::set(vm, d, k, r)
    };
    if let Some(src) = src {
        let is_mapping = matches!(src, Value::Dict(_)) || downcast::<DictLike>(src).is_some();
        if is_mapping {
            for (k, n) in pairs_of(vm, src)? {
                combine(vm, d, k, n)?;
            }
        } else {
            let it = vm.get_iter(src)?;
            while let Some(k) = vm.next(&it)? {
                combine(vm, d, k, Value::Int(1))?;
            }
        }
    }
    for (k, n) in kw {
        combine(vm, d, Value::str(&**k), n.clone())?;
    }
    Ok(())
}

fn dl_getitem(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let x = dl(vm, args, "__getitem__")?;
    check_count(vm, "__getitem__", &args[1..], 1, 1)?;
    let key = &args[1];
    if let Some(v) = dict::get(vm, &x.d, key)? {
        return Ok(v);
    }
    match x.kind {
        DictKind::Counter => Ok(Value::Int(0)),
        DictKind::Ordered => Err(vm.key_error(key.clone())),
        DictKind::Default => {
            let f = x.factory.borrow().clone();
            if f.is_none() {
                return Err(vm.key_error(key.clone()));
            }
            let v = vm.call(&f, vec![])?;
            dict::set(vm, &x.d, key.clone(), v.clone())?;
            Ok(v)
        }
    }
}

fn dl_missing(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    dl(vm, args, "__missing__")?;
    check_count(vm, "__missing__", &args[1..], 1, 1)?;
    dl_getitem(vm, args, &[])
}

fn dl_setitem(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let x = dl(vm, args, "__setitem__")?;
    check_count(vm, "__setitem__", &args[1..], 2, 2)?;
    dict::set(vm, &x.d, args[1].clone(), args[2].clone())?;
    Ok(Value::None)
}

fn dl_delitem(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let x = dl(vm, args, "__delitem__")?;
    check_count(vm, "__delitem__", &args[1..], 1, 1)?;
    match dict::remove(vm, &x.d, &args[1])? {
        Some(e) => {
            drop(e);
            Ok(Value::None)
        }
        None if x.kind == DictKind::Counter => Ok(Value::None),
        None => Err(vm.key_error(args[1].clone())),
    }
}

fn dl_contains(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let x = dl(vm, args, "__contains__")?;
    check_count(vm, "__contains__", &args[1..], 1, 1)?;
    Ok(Value::Bool(dict::contains(vm, &x.d, &args[1])?))
}

/// The plain dict behind a dict-like value (or the dict itself).
fn as_plain_dict(v: &Value) -> Option<Value> {
    match v {
        Value::Dict(_) => Some(v.clone()),
        _ => downcast::<DictLike>(v).map(|x| x.dict()),
    }
}

fn dl_eq(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let (Some(a), Some(b)) = (
        args.first().and_then(as_plain_dict),
        args.get(1).and_then(as_plain_dict),
    ) else {
        return Ok(Value::NotImplemented);
    };
    let both_ordered = args
        .iter()
        .take(2)
        .all(|v| downcast::<DictLike>(v).is_some_and(|x| x.kind == DictKind::Ordered));
    if both_ordered {
        let (Value::Dict(x), Value::Dict(y)) = (&a, &b) else {
            return Ok(Value::NotImplemented);
        };
        let kx = Value::list(x.borrow().keys());
        let ky = Value::list(y.borrow().keys());
        if !vm.eq(&kx, &ky)? {
            return Ok(Value::Bool(false));
        }
    }
    Ok(Value::Bool(vm.eq(&a, &b)?))
}

fn dl_ne(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    match dl_eq(vm, args, kw)? {
        Value::Bool(b) => Ok(Value::Bool(!b)),
        other => Ok(other),
    }
}

fn dl_copy(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let x = dl(vm, args, "copy")?;
    let d = x.d.borrow().clone();
    let f = x.factory.borrow().clone();
    Ok(new_dictlike(vm, x.kind, f, d))
}

fn dl_update(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let x = dl(vm, args, "update")?;
    if args.len() > 2 {
        return Err(vm.type_error(&format!(
            "update expected at most 1 argument, got {}",
            args.len() - 1
        )));
    }
    if x.kind == DictKind::Counter {
        counter_add_from(vm, &x.d, args.get(1), kw, false)?;
    } else {
        fill(vm, &x.d, args.get(1), kw)?;
    }
    Ok(Value::None)
}

fn c_subtract(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let x = dl(vm, args, "subtract")?;
    counter_add_from(vm, &x.d, args.get(1), kw, true)?;
    Ok(Value::None)
}

fn c_most_common(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let x = dl(vm, args, "most_common")?;
    let n = match args.get(1).cloned().or_else(|| {
        kw.iter()
            .find(|(k, _)| k.as_ref() == "n")
            .map(|(_, v)| v.clone())
    }) {
        None | Some(Value::None) => None,
        Some(v) => Some(int_arg(vm, &v)?.max(0) as usize),
    };
    let mut items = most_common_items(vm, &x.d)?;
    if let Some(n) = n {
        items.truncate(n);
    }
    Ok(Value::list(
        items
            .into_iter()
            .map(|(k, v)| Value::tuple(vec![k, v]))
            .collect(),
    ))
}

fn c_elements(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let x = dl(vm, args, "elements")?;
    let mut out = Vec::new();
    for (k, v) in x.d.borrow().items() {
        let n = match v {
            Value::Int(i) => i,
            Value::Bool(b) => b as i64,
            _ => 0,
        };
        for _ in 0..n.max(0) {
            out.push(k.clone());
        }
    }
    vm.get_iter(&Value::list(out))
}

fn c_total(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let x = dl(vm, args, "total")?;
    let mut acc = Value::Int(0);
    for v in x.d.borrow().values() {
        acc = add_values(vm, &acc, &v)?;
    }
    Ok(acc)
}

/// `Counter + Counter` / `Counter - Counter`: keeps positive counts.
fn counter_binop(vm: &mut Vm, args: &[Value], subtract: bool) -> PyResult<Value> {
    let (Some(a), Some(b)) = (
        args.first().and_then(downcast::<DictLike>),
        args.get(1).and_then(downcast::<DictLike>),
    ) else {
        return Ok(Value::NotImplemented);
    };
    if a.kind != DictKind::Counter || b.kind != DictKind::Counter {
        return Ok(Value::NotImplemented);
    }
    let tmp = RefCell::new(a.d.borrow().clone());
    counter_add_from(vm, &tmp, Some(&b.dict()), &[], subtract)?;
    let mut out = Dict::new();
    let outc = RefCell::new(std::mem::take(&mut out));
    for (k, v) in tmp.borrow().items() {
        if vm.less_than(&Value::Int(0), &v)? {
            dict::set(vm, &outc, k, v)?;
        }
    }
    Ok(new_dictlike(
        vm,
        DictKind::Counter,
        Value::None,
        outc.into_inner(),
    ))
}

fn c_add(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    counter_binop(vm, args, false)
}

fn c_sub(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    counter_binop(vm, args, true)
}

fn od_move_to_end(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let x = dl(vm, args, "move_to_end")?;
    let Some(key) = args.get(1) else {
        return Err(vm.type_error("move_to_end() missing required argument 'key' (pos 1)"));
    };
    let last = match args.get(2).cloned().or_else(|| {
        kw.iter()
            .find(|(k, _)| k.as_ref() == "last")
            .map(|(_, v)| v.clone())
    }) {
        Some(v) => vm.truthy(&v)?,
        None => true,
    };
    let Some(e) = dict::remove(vm, &x.d, key)? else {
        return Err(vm.key_error(key.clone()));
    };
    if last {
        dict::set(vm, &x.d, e.key, e.value)?;
    } else {
        let rest = x.d.borrow().items();
        let fresh = RefCell::new(Dict::new());
        dict::set(vm, &fresh, e.key, e.value)?;
        for (k, v) in rest {
            dict::set(vm, &fresh, k, v)?;
        }
        *x.d.borrow_mut() = fresh.into_inner();
    }
    Ok(Value::None)
}

fn od_popitem(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let x = dl(vm, args, "popitem")?;
    let last = match args.get(1).cloned().or_else(|| {
        kw.iter()
            .find(|(k, _)| k.as_ref() == "last")
            .map(|(_, v)| v.clone())
    }) {
        Some(v) => vm.truthy(&v)?,
        None => true,
    };
    let e = if last {
        x.d.borrow_mut().pop_last()
    } else {
        x.d.borrow_mut().pop_first()
    };
    match e {
        Some(e) => Ok(Value::tuple(vec![e.key, e.value])),
        None => {
            let msg = if x.kind == DictKind::Ordered {
                "dictionary is empty"
            } else {
                "popitem(): dictionary is empty"
            };
            Err(vm.new_exc(&vm.exc.key_error.clone(), msg))
        }
    }
}

fn setup_dictlike(vm: &mut Vm, cls: &Rc<Class>) {
    let methods: &[(&str, NativeFn)] = &[
        ("__getitem__", dl_getitem),
        ("__setitem__", dl_setitem),
        ("__delitem__", dl_delitem),
        ("__contains__", dl_contains),
        ("copy", dl_copy),
        ("__copy__", dl_copy),
        ("update", dl_update),
    ];
    for (name, f) in methods {
        vm.add_method(cls, name, *f);
    }
    add_cmp_method(vm, cls, "__eq__", dl_eq);
    add_cmp_method(vm, cls, "__ne__", dl_ne);
    cls.dict
        .borrow_mut()
        .insert(Rc::from("__hash__"), Value::None);
}

fn setup_defaultdict(vm: &mut Vm, cls: &Rc<Class>) {
    setup_dictlike(vm, cls);
    vm.add_method(cls, "__missing__", dl_missing);
    vm.set_native_new(cls, defaultdict_new);
}

fn setup_counter(vm: &mut Vm, cls: &Rc<Class>) {
    setup_dictlike(vm, cls);
    vm.add_method(cls, "most_common", c_most_common);
    vm.add_method(cls, "elements", c_elements);
    vm.add_method(cls, "subtract", c_subtract);
    vm.add_method(cls, "total", c_total);
    vm.add_method(cls, "__add__", c_add);
    vm.add_method(cls, "__sub__", c_sub);
    vm.set_native_new(cls, counter_new);
}

fn setup_ordered(vm: &mut Vm, cls: &Rc<Class>) {
    setup_dictlike(vm, cls);
    vm.add_method(cls, "move_to_end", od_move_to_end);
    vm.add_method(cls, "popitem", od_popitem);
    vm.set_native_new(cls, ordered_new);
}

// ---- namedtuple --------------------------------------------------------------

pub struct NamedTuple {
    cls: Rc<Class>,
    fields: Rc<[Rc<str>]>,
    values: RcSlice<Value>,
}

impl NamedTuple {
    pub(crate) fn tuple(&self) -> Value {
        Value::Tuple(self.values.clone())
    }
}

impl NativeObject for NamedTuple {
    fn gc_traverse(&self, visit: &mut dyn FnMut(&Value)) -> bool {
        visit(&Value::Tuple(self.values.clone()));
        true
    }
    fn class(&self, _vm: &Vm) -> Rc<Class> {
        self.cls.clone()
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
    fn len(&self) -> Option<usize> {
        Some(self.values.len())
    }
    fn repr(&self, vm: &mut Vm) -> PyResult<Option<String>> {
        let mut out = format!("{}(", self.cls.name);
        for (i, (f, v)) in self.fields.iter().zip(self.values.iter()).enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            out.push_str(f);
            out.push('=');
            out.push_str(&vm.repr(v)?);
        }
        out.push(')');
        Ok(Some(out))
    }
    fn iter(&self, vm: &mut Vm, _me: &Value) -> PyResult<Option<Value>> {
        vm.get_iter(&self.tuple()).map(Some)
    }
    fn get_attr(&self, _vm: &mut Vm, name: &str) -> PyResult<Option<Value>> {
        Ok(self
            .fields
            .iter()
            .position(|f| f.as_ref() == name)
            .and_then(|i| self.values.get(i).cloned()))
    }
}

/// The field names stored on a namedtuple class.
fn nt_fields(cls: &Rc<Class>) -> Rc<[Rc<str>]> {
    match cls.dict.borrow().get("_fields") {
        Some(Value::Tuple(t)) => t
            .iter()
            .map(|v| Rc::from(v.as_str().unwrap_or("")))
            .collect(),
        _ => Rc::from(Vec::new()),
    }
}

fn nt_make_value(cls: &Rc<Class>, values: Vec<Value>) -> Value {
    Value::Native(
        NativeBox::new(NamedTuple {
            cls: cls.clone(),
            fields: nt_fields(cls),
            values: values.into(),
        })
        .into(),
    )
}

fn nt_new(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let Some(Value::Class(cls)) = args.first() else {
        return Err(vm.type_error("namedtuple.__new__(X): X is not a type object"));
    };
    let fields = nt_fields(cls);
    let defaults: Vec<(Rc<str>, Value)> = match cls.dict.borrow().get("_field_defaults") {
        Some(Value::Dict(d)) => d
            .borrow()
            .items()
            .into_iter()
            .map(|(k, v)| (Rc::from(k.as_str().unwrap_or("")), v))
            .collect(),
        _ => Vec::new(),
    };
    let pos = &args[1..];
    let name = cls.name.clone();
    if pos.len() > fields.len() {
        return Err(vm.type_error(&format!(
            "{name}.__new__() takes {} positional arguments but {} were given",
            fields.len() + 1,
            pos.len() + 1
        )));
    }
    let mut vals: Vec<Option<Value>> = vec![None; fields.len()];
    for (i, v) in pos.iter().enumerate() {
        vals[i] = Some(v.clone());
    }
    for (k, v) in kw {
        match fields.iter().position(|f| f == k) {
            Some(i) => {
                if vals[i].is_some() {
                    return Err(vm.type_error(&format!(
                        "{name}.__new__() got multiple values for argument '{k}'"
                    )));
                }
                vals[i] = Some(v.clone());
            }
            None => {
                return Err(vm.type_error(&format!(
                    "{name}.__new__() got an unexpected keyword argument '{k}'"
                )));
            }
        }
    }
    let mut missing = Vec::new();
    for (i, slot) in vals.iter_mut().enumerate() {
        if slot.is_none() {
            match defaults.iter().find(|(k, _)| *k == fields[i]) {
                Some((_, d)) => *slot = Some(d.clone()),
                None => missing.push(format!("'{}'", fields[i])),
            }
        }
    }
    if !missing.is_empty() {
        let list = match missing.len() {
            1 => missing[0].clone(),
            2 => format!("{} and {}", missing[0], missing[1]),
            _ => {
                let (last, rest) = missing
                    .split_last()
                    .map(|(l, r)| (l.clone(), r.join(", ")))
                    .unwrap_or_default();
                format!("{rest}, and {last}")
            }
        };
        return Err(vm.type_error(&format!(
            "{name}.__new__() missing {} required positional argument{}: {list}",
            missing.len(),
            if missing.len() == 1 { "" } else { "s" }
        )));
    }
    Ok(nt_make_value(cls, vals.into_iter().flatten().collect()))
}

fn nt<'a>(vm: &Vm, args: &'a [Value], method: &str) -> PyResult<&'a NamedTuple> {
    this::<NamedTuple>(vm, args, "tuple", method)
}

fn nt_getitem(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let x = nt(vm, args, "__getitem__")?;
    check_count(vm, "__getitem__", &args[1..], 1, 1)?;
    vm.getitem(&x.tuple(), &args[1])
}

fn nt_contains(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let x = nt(vm, args, "__contains__")?;
    check_count(vm, "__contains__", &args[1..], 1, 1)?;
    Ok(Value::Bool(vm.contains(&x.tuple(), &args[1])?))
}

/// A namedtuple or tuple as a plain tuple.
fn as_tuple(v: &Value) -> Option<Value> {
    match v {
        Value::Tuple(_) => Some(v.clone()),
        _ => downcast::<NamedTuple>(v).map(|x| x.tuple()),
    }
}

fn nt_operands(args: &[Value]) -> Option<(Value, Value)> {
    Some((as_tuple(args.first()?)?, as_tuple(args.get(1)?)?))
}

fn nt_eq(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    match nt_operands(args) {
        Some((a, b)) => Ok(Value::Bool(vm.eq(&a, &b)?)),
        None => Ok(Value::NotImplemented),
    }
}

fn nt_ne(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    match nt_operands(args) {
        Some((a, b)) => Ok(Value::Bool(!vm.eq(&a, &b)?)),
        None => Ok(Value::NotImplemented),
    }
}

fn nt_lt(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    match nt_operands(args) {
        Some((a, b)) => Ok(Value::Bool(vm.less_than(&a, &b)?)),
        None => Ok(Value::NotImplemented),
    }
}

fn nt_gt(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    match nt_operands(args) {
        Some((a, b)) => Ok(Value::Bool(vm.less_than(&b, &a)?)),
        None => Ok(Value::NotImplemented),
    }
}

fn nt_le(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    match nt_operands(args) {
        Some((a, b)) => Ok(Value::Bool(!vm.less_than(&b, &a)?)),
        None => Ok(Value::NotImplemented),
    }
}

fn nt_ge(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    match nt_operands(args) {
        Some((a, b)) => Ok(Value::Bool(!vm.less_than(&a, &b)?)),
        None => Ok(Value::NotImplemented),
    }
}

/// `__hash__`, stored as a method bound to None (the VM only calls
/// covm-level callables for `__hash__`): the object is the last argument.
fn nt_hash(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let Some(x) = args.last().and_then(downcast::<NamedTuple>) else {
        return Err(vm.type_error("descriptor '__hash__' requires a 'tuple' object"));
    };
    let h = vm.hash(&x.tuple())?;
    Ok(Value::Int((h >> 1) as i64))
}

fn nt_asdict(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let x = nt(vm, args, "_asdict")?;
    let d = Rc::new(RefCell::new(Dict::new()));
    for (f, v) in x.fields.iter().zip(x.values.iter()) {
        dict::set(vm, &d, Value::str(&**f), v.clone())?;
    }
    Ok(Value::Dict(d))
}

fn nt_replace(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let x = nt(vm, args, "_replace")?;
    let mut vals = x.values.to_vec();
    for (k, v) in kw {
        match x.fields.iter().position(|f| f == k) {
            Some(i) => vals[i] = v.clone(),
            None => {
                let msg = format!("Got unexpected field names: ['{k}']");
                return Err(vm.value_error(&msg));
            }
        }
    }
    Ok(nt_make_value(&x.cls, vals))
}

fn nt_make(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let Some(Value::Class(cls)) = args.first() else {
        return Err(vm.type_error("_make() needs a class"));
    };
    check_count(vm, "_make", &args[1..], 1, 1)?;
    let vals = vm.collect(&args[1])?;
    let n = nt_fields(cls).len();
    if vals.len() != n {
        let msg = format!("Expected {n} arguments, got {}", vals.len());
        return Err(vm.type_error(&msg));
    }
    Ok(nt_make_value(cls, vals))
}

fn nt_count(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let x = nt(vm, args, "count")?;
    check_count(vm, "count", &args[1..], 1, 1)?;
    let mut n = 0;
    for v in x.values.iter() {
        if v.is(&args[1]) || vm.eq(v, &args[1])? {
            n += 1;
        }
    }
    Ok(Value::Int(n))
}

fn nt_index(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let x = nt(vm, args, "index")?;
    check_count(vm, "index", &args[1..], 1, 1)?;
    for (i, v) in x.values.iter().enumerate() {
        if v.is(&args[1]) || vm.eq(v, &args[1])? {
            return Ok(Value::Int(i as i64));
        }
    }
    Err(vm.value_error("tuple.index(x): x not in tuple"))
}

fn nt_add(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    match nt_operands(args) {
        Some((a, b)) => add_values(vm, &a, &b),
        None => Ok(Value::NotImplemented),
    }
}

fn is_identifier(s: &str) -> bool {
    let mut cs = s.chars();
    match cs.next() {
        Some(c) if c == '_' || c.is_alphabetic() => {}
        _ => return false,
    }
    cs.all(|c| c == '_' || c.is_alphanumeric())
}

const KEYWORDS: &[&str] = &[
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue",
    "def", "del", "elif", "else", "except", "finally", "for", "from", "global", "if", "import",
    "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise", "return", "try", "while",
    "with", "yield",
];

fn namedtuple(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let allowed = ["typename", "field_names", "rename", "defaults", "module"];
    let typename = match args.first().cloned() {
        Some(v) => v,
        None => kwarg(vm, "namedtuple", kw, &allowed, "typename")?.ok_or_else(|| {
            vm.type_error("namedtuple() missing 2 required positional arguments: 'typename' and 'field_names'")
        })?,
    };
    let field_names = match args.get(1).cloned() {
        Some(v) => v,
        None => kwarg(vm, "namedtuple", kw, &allowed, "field_names")?.ok_or_else(|| {
            vm.type_error("namedtuple() missing 1 required positional argument: 'field_names'")
        })?,
    };
    let rename = match kwarg(vm, "namedtuple", kw, &allowed, "rename")? {
        Some(v) => vm.truthy(&v)?,
        None => false,
    };
    let defaults = kwarg(vm, "namedtuple", kw, &allowed, "defaults")?;
    let module = kwarg(vm, "namedtuple", kw, &allowed, "module")?;
    let Value::Str(tn) = &typename else {
        return Err(vm.type_error("Type names and field names must be strings"));
    };
    let names: Vec<String> = match &field_names {
        Value::Str(s) => s
            .as_str()
            .replace(',', " ")
            .split_whitespace()
            .map(str::to_string)
            .collect(),
        other => {
            let items = vm.collect(other)?;
            let mut out = Vec::new();
            for it in items {
                match it.as_str() {
                    Some(s) => out.push(s.to_string()),
                    None => {
                        return Err(vm.type_error("Type names and field names must be strings"));
                    }
                }
            }
            out
        }
    };
    let mut fields: Vec<String> = Vec::new();
    for (i, n) in names.into_iter().enumerate() {
        let bad = !is_identifier(&n)
            || KEYWORDS.contains(&n.as_str())
            || n.starts_with('_')
            || fields.contains(&n);
        if rename && bad {
            fields.push(format!("_{i}"));
        } else {
            fields.push(n);
        }
    }
    for n in std::iter::once(tn.as_str()).chain(fields.iter().map(String::as_str)) {
        if !is_identifier(n) {
            let msg = format!("Type names and field names must be valid identifiers: '{n}'");
            return Err(vm.value_error(&msg));
        }
        if KEYWORDS.contains(&n) {
            let msg = format!("Type names and field names cannot be a keyword: '{n}'");
            return Err(vm.value_error(&msg));
        }
    }
    let mut seen: Vec<&str> = Vec::new();
    for n in &fields {
        if n.starts_with('_') {
            let msg = format!("Field names cannot start with an underscore: '{n}'");
            return Err(vm.value_error(&msg));
        }
        if seen.contains(&n.as_str()) {
            let msg = format!("Encountered duplicate field name: '{n}'");
            return Err(vm.value_error(&msg));
        }
        seen.push(n);
    }
    let module_name = match &module {
        Some(Value::Str(s)) => s.as_str().to_string(),
        _ => "__main__".to_string(),
    };
    let cls = vm.new_native_class(tn.as_str(), &module_name);
    let field_vals: Vec<Value> = fields.iter().map(|f| Value::str(f.as_str())).collect();
    let field_defaults = Rc::new(RefCell::new(Dict::new()));
    if let Some(dv) = defaults
        && !dv.is_none()
    {
        let dvals = vm.collect(&dv)?;
        if dvals.len() > fields.len() {
            return Err(vm.type_error("Got more default values than field names"));
        }
        let start = fields.len() - dvals.len();
        for (f, v) in fields[start..].iter().zip(dvals) {
            dict::set(vm, &field_defaults, Value::str(f.as_str()), v)?;
        }
    }
    {
        let mut d = cls.dict.borrow_mut();
        d.insert(Rc::from("_fields"), Value::tuple(field_vals));
        d.insert(Rc::from("_field_defaults"), Value::Dict(field_defaults));
        d.insert(
            Rc::from("__hash__"),
            Value::BoundMethod(Rc::new(BoundMethod {
                receiver: Value::None,
                func: vm.native("__hash__", nt_hash),
            })),
        );
        d.insert(
            Rc::from("_make"),
            Value::ClassMethod(Rc::new(vm.native("_make", nt_make))),
        );
    }
    let methods: &[(&str, NativeFn)] = &[
        ("__getitem__", nt_getitem),
        ("__contains__", nt_contains),
        ("__add__", nt_add),
        ("_asdict", nt_asdict),
        ("_replace", nt_replace),
        ("count", nt_count),
        ("index", nt_index),
    ];
    for (name, f) in methods {
        vm.add_method(&cls, name, *f);
    }
    let cmps: &[(&str, NativeFn)] = &[
        ("__eq__", nt_eq),
        ("__ne__", nt_ne),
        ("__lt__", nt_lt),
        ("__le__", nt_le),
        ("__gt__", nt_gt),
        ("__ge__", nt_ge),
    ];
    for (name, f) in cmps {
        add_cmp_method(vm, &cls, name, *f);
    }
    vm.set_native_new(&cls, nt_new);
    Ok(Value::Class(cls))
}

pub fn init(vm: &mut Vm) -> PyResult<Value> {
    let m = vm.new_module("collections");
    let deque = deque_class(vm);
    set(&m, "deque", Value::Class(deque));
    for kind in [DictKind::Default, DictKind::Counter, DictKind::Ordered] {
        let cls = dict_class(vm, kind);
        let name = cls.name.to_string();
        set(&m, &name, Value::Class(cls));
    }
    func(vm, &m, "namedtuple", namedtuple);
    Ok(Value::Module(m))
}
