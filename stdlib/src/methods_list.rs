//! Methods of `list` and `tuple`.

use std::cell::RefCell;
use std::rc::Rc;

use covm_vm::Vm;
use covm_vm::value::{KwArgs, PyResult, Value};

use crate::methods::{
    adjust_indices, bind_args, count_args, descriptor_error, index_arg, no_args, one_arg,
    slice_bound,
};

pub fn install(vm: &mut Vm) {
    let l = vm.types.list.clone();
    let m: &[(&str, covm_vm::value::NativeFn)] = &[
        ("__init__", list_init),
        ("append", list_append),
        ("extend", list_extend),
        ("insert", list_insert),
        ("remove", list_remove),
        ("pop", list_pop),
        ("index", list_index),
        ("count", list_count),
        ("sort", list_sort),
        ("reverse", list_reverse),
        ("copy", list_copy),
        ("clear", list_clear),
    ];
    for (name, f) in m {
        vm.add_method(&l, name, *f);
    }
    let t = vm.types.tuple.clone();
    vm.add_method(&t, "index", tuple_index);
    vm.add_method(&t, "count", tuple_count);
    let r = vm.types.range.clone();
    vm.add_method(&r, "index", range_index);
    vm.add_method(&r, "count", range_count);
    let sl = vm.types.slice.clone();
    vm.add_method(&sl, "indices", slice_indices);
}

type ListRef = Rc<RefCell<covm_vm::value::ListItems>>;

#[inline]
fn this(vm: &Vm, args: &[Value], name: &str) -> PyResult<ListRef> {
    match args.first() {
        Some(Value::List(l)) => Ok(l.clone()),
        _ => Err(descriptor_error(vm, "list", name, args)),
    }
}

// `append` and `pop()` are the hot methods. Each matches its common call in
// one chain of checks (a list receiver, the right number of positional
// arguments and no keywords, a free slot or an item to pop, an item that
// clones without a call) that makes no call, so the fast path saves no
// registers; anything else tail-calls the general path, which does the
// same work the long way and raises the errors. The list is borrowed
// through the receiver, not cloned: no reference count changes.

fn list_append(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    if let [Value::List(l), x] = args
        && kw.is_empty()
        && let Ok(mut b) = l.try_borrow_mut()
        && let Some(slot) = b.spare_capacity_mut().first_mut()
    {
        // Into the free slot, not `Vec::push`, which is not inlined here.
        slot.write(x.clone());
        let n = b.len() + 1;
        // SAFETY: the slot after the last item is initialised, and within
        // the capacity.
        unsafe { b.set_len(n) };
        return Ok(Value::None);
    }
    list_append_any(vm, args, kw)
}

/// `append` to a full buffer (a failed allocation is a `MemoryError`), of
/// any item, and the errors.
#[inline(never)]
fn list_append_any(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let l = this(vm, args, "append")?;
    one_arg(vm, "list.append", args, kw)?;
    vm.push_value(&mut l.borrow_mut(), args[1].clone())?;
    Ok(Value::None)
}

fn list_extend(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let l = this(vm, args, "extend")?;
    one_arg(vm, "list.extend", args, kw)?;
    let items = match &args[1] {
        Value::List(o) => o.borrow().clone(),
        Value::Tuple(t) => t.to_vec(),
        other => vm.collect(other)?,
    };
    l.borrow_mut().extend(items);
    Ok(Value::None)
}

fn list_insert(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let l = this(vm, args, "insert")?;
    count_args(vm, "insert", args, kw, 2, 2)?;
    let i = index_arg(vm, &args[1])?;
    let mut v = l.borrow_mut();
    let n = v.len() as i64;
    let idx = if i < 0 { (i + n).max(0) } else { i.min(n) };
    v.insert(idx as usize, args[2].clone());
    Ok(Value::None)
}

/// The index of the first item equal to `x` in `l[start..stop]`.
fn find_item(
    vm: &mut Vm,
    l: &ListRef,
    x: &Value,
    start: usize,
    stop: usize,
) -> PyResult<Option<usize>> {
    let mut i = start;
    loop {
        let item = {
            let b = l.borrow();
            if i >= stop.min(b.len()) {
                return Ok(None);
            }
            b[i].clone()
        };
        if item.is(x) || vm.eq(&item, x)? {
            return Ok(Some(i));
        }
        i += 1;
    }
}

fn list_remove(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let l = this(vm, args, "remove")?;
    one_arg(vm, "list.remove", args, kw)?;
    match find_item(vm, &l, &args[1], 0, usize::MAX)? {
        Some(i) => {
            let removed = {
                let mut b = l.borrow_mut();
                if i < b.len() { Some(b.remove(i)) } else { None }
            };
            drop(removed);
            Ok(Value::None)
        }
        None => Err(vm.value_error("list.remove(x): x not in list")),
    }
}

fn list_pop(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    if let [Value::List(l)] = args
        && kw.is_empty()
        && let Ok(mut b) = l.try_borrow_mut()
        && let Some(v) = b.pop()
    {
        return Ok(v);
    }
    list_pop_at(vm, args, kw)
}

#[cold]
#[inline(never)]
fn empty_pop_error(vm: &Vm) -> Value {
    vm.index_error("pop from empty list")
}

/// `pop(i)`, and the errors of `pop`.
#[inline(never)]
fn list_pop_at(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let l = this(vm, args, "pop")?;
    if !kw.is_empty() {
        return Err(vm.type_error("list.pop() takes no keyword arguments"));
    }
    count_args(vm, "pop", args, kw, 0, 1)?;
    let i = match args.get(1) {
        Some(v) => index_arg(vm, v)?,
        None => -1,
    };
    let mut b = l.borrow_mut();
    if b.is_empty() {
        drop(b);
        return Err(empty_pop_error(vm));
    }
    let n = b.len() as i64;
    let idx = if i < 0 { i + n } else { i };
    if idx < 0 || idx >= n {
        drop(b);
        return Err(vm.index_error("pop index out of range"));
    }
    if idx == n - 1 {
        return Ok(b.pop().expect("the list is not empty"));
    }
    Ok(b.remove(idx as usize))
}

fn list_index(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let l = this(vm, args, "index")?;
    count_args(vm, "index", args, kw, 1, 3)?;
    let start = slice_bound(vm, args.get(2))?;
    let stop = slice_bound(vm, args.get(3))?;
    let len = l.borrow().len();
    let (a, b) = adjust_indices(start, stop, len);
    if a < b
        && let Some(i) = find_item(vm, &l, &args[1], a as usize, b as usize)?
    {
        return Ok(Value::Int(i as i64));
    }
    let r = vm.repr(&args[1])?;
    Err(vm.value_error(&format!("{r} is not in list")))
}

fn list_count(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let l = this(vm, args, "count")?;
    one_arg(vm, "list.count", args, kw)?;
    let items = l.borrow().clone();
    let mut n = 0;
    for it in &items {
        if it.is(&args[1]) || vm.eq(it, &args[1])? {
            n += 1;
        }
    }
    Ok(Value::Int(n))
}

fn list_reverse(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let l = this(vm, args, "reverse")?;
    no_args(vm, "list.reverse", args, kw)?;
    l.borrow_mut().reverse();
    Ok(Value::None)
}

fn list_copy(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let l = this(vm, args, "copy")?;
    no_args(vm, "list.copy", args, kw)?;
    let v = l.borrow().clone();
    Ok(Value::list(v))
}

/// `l.__init__(iterable=())`: as CPython, empties the list first (from
/// its last item), then extends it, so `l.__init__(l)` leaves it empty.
fn list_init(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let Some(Value::List(l)) = args.first() else {
        return Err(crate::builtins_types::init_receiver_error(vm, "list", args));
    };
    crate::builtins_types::init_arity(vm, "list", args, kw)?;
    let mut old = std::mem::take(&mut **l.borrow_mut());
    covm_vm::value::release_from_last(&mut old);
    if let Some(it) = args.get(1) {
        let items = vm.collect(it)?;
        l.borrow_mut().extend(items);
    }
    Ok(Value::None)
}

fn list_clear(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let l = this(vm, args, "clear")?;
    no_args(vm, "list.clear", args, kw)?;
    let old = std::mem::take(&mut *l.borrow_mut());
    drop(old);
    Ok(Value::None)
}

// ---- sort -----------------------------------------------------------------

fn list_sort(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let l = this(vm, args, "sort")?;
    if args.len() > 1 {
        return Err(vm.type_error("sort() takes no positional arguments"));
    }
    let a = bind_args(vm, "sort", &args[..1], kw, &["key", "reverse"])?;
    let key = match &a[0] {
        None | Some(Value::None) => None,
        Some(f) => Some(f.clone()),
    };
    let reverse = match &a[1] {
        None => false,
        Some(v) => index_arg(vm, v)? != 0,
    };
    // As CPython: the list looks empty while it is sorted.
    let values = std::mem::take(&mut **l.borrow_mut());
    let r = sort_values(vm, values, key.as_ref(), reverse);
    let (sorted, err) = match r {
        Ok(v) => (v, None),
        Err((v, e)) => (v, Some(e)),
    };
    let modified = !l.borrow().is_empty();
    let mut old = std::mem::replace(&mut **l.borrow_mut(), sorted);
    covm_vm::value::release_from_last(&mut old);
    if let Some(e) = err {
        return Err(e);
    }
    if modified {
        return Err(vm.value_error("list modified during sort"));
    }
    Ok(Value::None)
}

/// Sorts `values` (by `key` when given) stably. On error, returns the
/// values in whatever order they reached, with the exception.
pub fn sort_values(
    vm: &mut Vm,
    values: Vec<Value>,
    key: Option<&Value>,
    reverse: bool,
) -> Result<Vec<Value>, (Vec<Value>, Value)> {
    let mut keys: Option<Vec<Value>> = None;
    if let Some(f) = key {
        let mut ks = Vec::with_capacity(values.len());
        for v in &values {
            match vm.call(f, vec![v.clone()]) {
                Ok(k) => ks.push(k),
                Err(e) => return Err((values, e)),
            }
        }
        keys = Some(ks);
    }
    let mut pairs: Vec<(Value, Value)> = match keys {
        Some(ks) => ks.into_iter().zip(values).collect(),
        None => values.into_iter().map(|v| (v.clone(), v)).collect(),
    };
    if reverse {
        pairs.reverse();
    }
    let r = timsort(vm, &mut pairs);
    if reverse {
        pairs.reverse();
    }
    let out: Vec<Value> = pairs.into_iter().map(|(_, v)| v).collect();
    match r {
        Ok(()) => Ok(out),
        Err(e) => Err((out, e)),
    }
}

fn lt(vm: &mut Vm, a: &(Value, Value), b: &(Value, Value)) -> PyResult<bool> {
    vm.less_than(&a.0, &b.0)
}

fn min_run(mut n: usize) -> usize {
    let mut r = 0;
    while n >= 64 {
        r |= n & 1;
        n >>= 1;
    }
    n + r
}

/// CPython's run detection and binary insertion sort (so comparisons
/// happen in the same order for short lists), with plain stable merges.
fn timsort(vm: &mut Vm, a: &mut [(Value, Value)]) -> PyResult<()> {
    let n = a.len();
    if n < 2 {
        return Ok(());
    }
    let minrun = min_run(n);
    let mut runs: Vec<(usize, usize)> = Vec::new();
    let mut lo = 0;
    while lo < n {
        let (mut run, desc) = count_run(vm, a, lo, n)?;
        if desc {
            a[lo..lo + run].reverse();
        }
        if run < minrun {
            let force = (n - lo).min(minrun);
            binary_sort(vm, a, lo, lo + force, lo + run)?;
            run = force;
        }
        runs.push((lo, lo + run));
        lo += run;
    }
    while runs.len() > 1 {
        let mut next = Vec::with_capacity(runs.len().div_ceil(2));
        let mut i = 0;
        while i < runs.len() {
            if i + 1 < runs.len() {
                let (l0, m) = runs[i];
                let (_, h) = runs[i + 1];
                merge(vm, a, l0, m, h)?;
                next.push((l0, h));
                i += 2;
            } else {
                next.push(runs[i]);
                i += 1;
            }
        }
        runs = next;
    }
    Ok(())
}

fn count_run(vm: &mut Vm, a: &[(Value, Value)], lo: usize, hi: usize) -> PyResult<(usize, bool)> {
    if lo + 1 == hi {
        return Ok((1, false));
    }
    let mut n = 2;
    let mut i = lo + 2;
    if lt(vm, &a[lo + 1], &a[lo])? {
        while i < hi {
            if !lt(vm, &a[i], &a[i - 1])? {
                break;
            }
            i += 1;
            n += 1;
        }
        Ok((n, true))
    } else {
        while i < hi {
            if lt(vm, &a[i], &a[i - 1])? {
                break;
            }
            i += 1;
            n += 1;
        }
        Ok((n, false))
    }
}

fn binary_sort(
    vm: &mut Vm,
    a: &mut [(Value, Value)],
    lo: usize,
    hi: usize,
    start: usize,
) -> PyResult<()> {
    let mut start = start;
    if start == lo {
        start += 1;
    }
    while start < hi {
        let mut l = lo;
        let mut r = start;
        while l < r {
            let p = l + ((r - l) >> 1);
            if lt(vm, &a[start], &a[p])? {
                r = p;
            } else {
                l = p + 1;
            }
        }
        a[l..=start].rotate_right(1);
        start += 1;
    }
    Ok(())
}

fn merge(vm: &mut Vm, a: &mut [(Value, Value)], lo: usize, mid: usize, hi: usize) -> PyResult<()> {
    // A sort of a huge list takes seconds: Ctrl-C ends it between merges.
    vm.check_interrupt()?;
    let left: Vec<(Value, Value)> = a[lo..mid].to_vec();
    let (mut i, mut j, mut k) = (0, mid, lo);
    while i < left.len() && j < hi {
        match lt(vm, &a[j], &left[i]) {
            Ok(true) => {
                a[k] = a[j].clone();
                j += 1;
            }
            Ok(false) => {
                a[k] = left[i].clone();
                i += 1;
            }
            Err(e) => {
                for x in &left[i..] {
                    a[k] = x.clone();
                    k += 1;
                }
                return Err(e);
            }
        }
        k += 1;
    }
    for x in &left[i..] {
        a[k] = x.clone();
        k += 1;
    }
    Ok(())
}

// ---- tuple ------------------------------------------------------------------

fn tuple_index(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let Some(Value::Tuple(t)) = args.first() else {
        return Err(descriptor_error(vm, "tuple", "index", args));
    };
    let t = t.clone();
    count_args(vm, "index", args, kw, 1, 3)?;
    let start = slice_bound(vm, args.get(2))?;
    let stop = slice_bound(vm, args.get(3))?;
    let (a, b) = adjust_indices(start, stop, t.len());
    let mut i = a.max(0);
    while i < b {
        let item = &t[i as usize];
        if item.is(&args[1]) || vm.eq(item, &args[1])? {
            return Ok(Value::Int(i));
        }
        i += 1;
    }
    Err(vm.value_error("tuple.index(x): x not in tuple"))
}

fn tuple_count(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let Some(Value::Tuple(t)) = args.first() else {
        return Err(descriptor_error(vm, "tuple", "count", args));
    };
    let t = t.clone();
    one_arg(vm, "tuple.count", args, kw)?;
    let mut n = 0;
    for it in t.iter() {
        if it.is(&args[1]) || vm.eq(it, &args[1])? {
            n += 1;
        }
    }
    Ok(Value::Int(n))
}

// ---- range / slice ------------------------------------------------------------

/// The position of `x` in range `r`, comparing as `==` does.
fn range_find(vm: &mut Vm, r: &covm_vm::value::RangeObj, x: &Value) -> PyResult<Option<i64>> {
    let i = match x {
        Value::Int(i) => Some(*i),
        Value::Bool(b) => Some(*b as i64),
        _ => None,
    };
    if let Some(i) = i {
        let inside = if r.step > 0 {
            i >= r.start && i < r.stop
        } else {
            i <= r.start && i > r.stop
        };
        if inside && (i - r.start) % r.step == 0 {
            return Ok(Some((i - r.start) / r.step));
        }
        return Ok(None);
    }
    let n = r.len();
    for k in 0..n {
        if vm.eq(&Value::Int(r.get(k)), x)? {
            return Ok(Some(k));
        }
    }
    Ok(None)
}

fn range_index(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let Some(Value::Range(r)) = args.first() else {
        return Err(descriptor_error(vm, "range", "index", args));
    };
    let r = r.clone();
    one_arg(vm, "range.index", args, kw)?;
    match range_find(vm, &r, &args[1])? {
        Some(k) => Ok(Value::Int(k)),
        None => {
            if matches!(args[1], Value::Int(_) | Value::Bool(_)) {
                let s = vm.repr(&args[1])?;
                Err(vm.value_error(&format!("{s} is not in range")))
            } else {
                Err(vm.value_error("sequence.index(x): x not in sequence"))
            }
        }
    }
}

fn range_count(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let Some(Value::Range(r)) = args.first() else {
        return Err(descriptor_error(vm, "range", "count", args));
    };
    let r = r.clone();
    one_arg(vm, "range.count", args, kw)?;
    if matches!(args[1], Value::Int(_) | Value::Bool(_)) {
        return Ok(Value::Int(range_find(vm, &r, &args[1])?.is_some() as i64));
    }
    let mut c = 0;
    for k in 0..r.len() {
        if vm.eq(&Value::Int(r.get(k)), &args[1])? {
            c += 1;
        }
    }
    Ok(Value::Int(c))
}

fn slice_indices(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let Some(Value::Slice(s)) = args.first() else {
        return Err(descriptor_error(vm, "slice", "indices", args));
    };
    let s = s.clone();
    one_arg(vm, "slice.indices", args, kw)?;
    let n = index_arg(vm, &args[1])?;
    if n < 0 {
        return Err(vm.value_error("length should not be negative"));
    }
    let (a, b, c) = vm.slice_indices(&s, n as usize)?;
    Ok(Value::tuple(vec![
        Value::Int(a),
        Value::Int(b),
        Value::Int(c),
    ]))
}
