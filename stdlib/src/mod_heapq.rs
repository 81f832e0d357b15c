//! The `heapq` module: binary min-heaps on lists, with CPython's exact
//! sift algorithms (so lists end up in the same order) and `<` comparisons.

use std::cell::RefCell;
use std::rc::Rc;

use covm_vm::Vm;
use covm_vm::value::*;

use crate::args::*;
use crate::modules::func;

type List = Rc<RefCell<ListItems>>;

fn heap_arg(vm: &Vm, fname: &str, v: &Value) -> PyResult<List> {
    match v {
        Value::List(l) => Ok(l.clone()),
        other => Err(vm.type_error(&format!(
            "{fname}() argument 1 must be list, not {}",
            vm.type_name(other)
        ))),
    }
}

fn get(vm: &Vm, heap: &List, i: usize) -> PyResult<Value> {
    heap.borrow()
        .get(i)
        .cloned()
        .ok_or_else(|| vm.runtime_error("list changed size during iteration"))
}

fn swap(heap: &List, i: usize, j: usize) {
    let mut h = heap.borrow_mut();
    if i < h.len() && j < h.len() {
        h.swap(i, j);
    }
}

/// Compares `heap[a] < heap[b]`, noticing a heap that shrank meanwhile.
fn lt_at(vm: &mut Vm, heap: &List, a: usize, b: usize, max: bool) -> PyResult<bool> {
    let x = get(vm, heap, a)?;
    let y = get(vm, heap, b)?;
    let n = heap.borrow().len();
    let r = if max {
        vm.less_than(&y, &x)?
    } else {
        vm.less_than(&x, &y)?
    };
    if heap.borrow().len() != n {
        return Err(vm.runtime_error("list changed size during iteration"));
    }
    Ok(r)
}

/// Moves the item at `pos` up towards `startpos` (CPython's `_siftdown`).
fn sift_down(vm: &mut Vm, heap: &List, startpos: usize, mut pos: usize, max: bool) -> PyResult<()> {
    while pos > startpos {
        let parent = (pos - 1) >> 1;
        if lt_at(vm, heap, pos, parent, max)? {
            swap(heap, pos, parent);
            pos = parent;
            continue;
        }
        break;
    }
    Ok(())
}

/// Moves the item at `pos` down to a leaf, then up (CPython's `_siftup`).
fn sift_up(vm: &mut Vm, heap: &List, mut pos: usize, max: bool) -> PyResult<()> {
    let endpos = heap.borrow().len();
    let startpos = pos;
    let mut child = 2 * pos + 1;
    while child < endpos {
        let right = child + 1;
        if right < endpos && !lt_at(vm, heap, child, right, max)? {
            child = right;
        }
        swap(heap, pos, child);
        pos = child;
        child = 2 * pos + 1;
    }
    sift_down(vm, heap, startpos, pos, max)
}

fn two<'a>(
    vm: &Vm,
    name: &str,
    args: &'a [Value],
    kw: &KwArgs,
) -> PyResult<(&'a Value, &'a Value)> {
    no_kwargs(vm, name, kw)?;
    if args.len() != 2 {
        return Err(vm.type_error(&format!("{name} expected 2 arguments, got {}", args.len())));
    }
    Ok((&args[0], &args[1]))
}

fn one<'a>(vm: &Vm, name: &str, args: &'a [Value], kw: &KwArgs) -> PyResult<&'a Value> {
    no_kwargs(vm, name, kw)?;
    if args.len() != 1 {
        return Err(vm.type_error(&format!(
            "{name}() takes exactly one argument ({} given)",
            args.len()
        )));
    }
    Ok(&args[0])
}

fn heappush(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let (h, item) = two(vm, "heappush", args, kw)?;
    let heap = heap_arg(vm, "heappush", h)?;
    heap.borrow_mut().push(item.clone());
    let n = heap.borrow().len();
    sift_down(vm, &heap, 0, n - 1, false)?;
    Ok(Value::None)
}

fn pop_impl(vm: &mut Vm, name: &str, args: &[Value], kw: &KwArgs, max: bool) -> PyResult<Value> {
    let h = one(vm, name, args, kw)?;
    let heap = heap_arg(vm, name, h)?;
    let last = heap.borrow_mut().pop();
    let Some(last) = last else {
        return Err(vm.index_error("index out of range"));
    };
    if heap.borrow().is_empty() {
        return Ok(last);
    }
    let ret = std::mem::replace(&mut heap.borrow_mut()[0], last);
    sift_up(vm, &heap, 0, max)?;
    Ok(ret)
}

fn heappop(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    pop_impl(vm, "heappop", args, kw, false)
}

fn heapify_impl(
    vm: &mut Vm,
    name: &str,
    args: &[Value],
    kw: &KwArgs,
    max: bool,
) -> PyResult<Value> {
    let h = one(vm, name, args, kw)?;
    let heap = heap_arg(vm, name, h)?;
    let n = heap.borrow().len();
    for i in (0..n / 2).rev() {
        sift_up(vm, &heap, i, max)?;
    }
    Ok(Value::None)
}

fn heapify(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    heapify_impl(vm, "heapify", args, kw, false)
}

fn heapreplace_impl(
    vm: &mut Vm,
    name: &str,
    args: &[Value],
    kw: &KwArgs,
    max: bool,
) -> PyResult<Value> {
    let (h, item) = two(vm, name, args, kw)?;
    let heap = heap_arg(vm, name, h)?;
    if heap.borrow().is_empty() {
        return Err(vm.index_error("index out of range"));
    }
    let ret = std::mem::replace(&mut heap.borrow_mut()[0], item.clone());
    sift_up(vm, &heap, 0, max)?;
    Ok(ret)
}

fn heapreplace(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    heapreplace_impl(vm, "heapreplace", args, kw, false)
}

fn heappushpop(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let (h, item) = two(vm, "heappushpop", args, kw)?;
    let heap = heap_arg(vm, "heappushpop", h)?;
    let top = heap.borrow().first().cloned();
    let Some(top) = top else {
        return Ok(item.clone());
    };
    if !vm.less_than(&top, item)? {
        return Ok(item.clone());
    }
    if heap.borrow().is_empty() {
        return Err(vm.index_error("index out of range"));
    }
    let ret = std::mem::replace(&mut heap.borrow_mut()[0], item.clone());
    sift_up(vm, &heap, 0, false)?;
    Ok(ret)
}

fn heappop_max(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    pop_impl(vm, "_heappop_max", args, kw, true)
}

fn heapify_max(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    heapify_impl(vm, "_heapify_max", args, kw, true)
}

fn heapreplace_max(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    heapreplace_impl(vm, "_heapreplace_max", args, kw, true)
}

/// A stable merge sort on precomputed keys; `reverse` keeps equal items in
/// their original order, as `sorted(..., reverse=True)` does.
pub(crate) fn stable_sort(
    vm: &mut Vm,
    items: Vec<(Value, Value)>,
    reverse: bool,
) -> PyResult<Vec<(Value, Value)>> {
    if items.len() <= 1 {
        return Ok(items);
    }
    let mid = items.len() / 2;
    let mut left = items;
    let right = left.split_off(mid);
    let left = stable_sort(vm, left, reverse)?;
    let right = stable_sort(vm, right, reverse)?;
    let mut out = Vec::with_capacity(left.len() + right.len());
    let mut li = left.into_iter().peekable();
    let mut ri = right.into_iter().peekable();
    while let (Some(l), Some(r)) = (li.peek(), ri.peek()) {
        // Take from the right only when it is strictly before the left.
        let take_right = if reverse {
            vm.less_than(&l.0, &r.0)?
        } else {
            vm.less_than(&r.0, &l.0)?
        };
        let next = if take_right { ri.next() } else { li.next() };
        if let Some(x) = next {
            out.push(x);
        }
    }
    out.extend(li);
    out.extend(ri);
    Ok(out)
}

fn n_select(
    vm: &mut Vm,
    name: &str,
    args: &[Value],
    kw: &KwArgs,
    largest: bool,
) -> PyResult<Value> {
    let key = kwarg(vm, name, kw, &["key"], "key")?.filter(|k| !k.is_none());
    if args.len() != 2 {
        return Err(vm.type_error(&format!(
            "{name}() takes 2 positional arguments but {} were given",
            args.len()
        )));
    }
    let n = int_arg(vm, &args[0])?;
    let items = vm.collect(&args[1])?;
    if n <= 0 {
        return Ok(Value::list(vec![]));
    }
    let mut keyed = Vec::with_capacity(items.len());
    for it in items {
        let k = match &key {
            Some(f) => vm.call(f, vec![it.clone()])?,
            None => it.clone(),
        };
        keyed.push((k, it));
    }
    let mut sorted = stable_sort(vm, keyed, largest)?;
    sorted.truncate(n as usize);
    Ok(Value::list(sorted.into_iter().map(|(_, v)| v).collect()))
}

fn nsmallest(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    n_select(vm, "nsmallest", args, kw, false)
}

fn nlargest(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    n_select(vm, "nlargest", args, kw, true)
}

fn merge(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let key = kwarg(vm, "merge", kw, &["key", "reverse"], "key")?.filter(|k| !k.is_none());
    let reverse = match kwarg(vm, "merge", kw, &["key", "reverse"], "reverse")? {
        Some(v) => vm.truthy(&v)?,
        None => false,
    };
    let mut keyed = Vec::new();
    for a in args {
        for it in vm.collect(a)? {
            let k = match &key {
                Some(f) => vm.call(f, vec![it.clone()])?,
                None => it.clone(),
            };
            keyed.push((k, it));
        }
    }
    let sorted = stable_sort(vm, keyed, reverse)?;
    let list = Value::list(sorted.into_iter().map(|(_, v)| v).collect());
    vm.get_iter(&list)
}

pub fn init(vm: &mut Vm) -> PyResult<Value> {
    let m = vm.new_module("heapq");
    let fns: &[(&str, NativeFn)] = &[
        ("heappush", heappush),
        ("heappop", heappop),
        ("heapify", heapify),
        ("heapreplace", heapreplace),
        ("heappushpop", heappushpop),
        ("nsmallest", nsmallest),
        ("nlargest", nlargest),
        ("merge", merge),
        ("_heappop_max", heappop_max),
        ("_heapify_max", heapify_max),
        ("_heapreplace_max", heapreplace_max),
    ];
    for (name, f) in fns {
        func(vm, &m, name, *f);
    }
    Ok(Value::Module(m))
}
