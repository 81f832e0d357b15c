//! asyncio's semi-private task registry: `_register_task`,
//! `_unregister_task`, `_enter_task` and `_leave_task`
//! (CPython 3.11 `asyncio/tasks.py`).
//!
//! Native tasks and loops keep this state natively (`Loop::tasks`,
//! `Loop::current`): a native task is registered from its creation until it
//! is done, and the loop sets its current task around each step. What these
//! functions add is the state of *other* objects — task-like objects and
//! loops a program makes itself — which lives in `Shared::foreign_tasks`
//! and `Shared::foreign_current`. `all_tasks(loop)` and
//! `current_task(loop)` read both.
//!
//! Changing the native state from Python (entering a native task, or
//! unregistering one) would break the scheduler's invariants, so those
//! calls are refused with an error naming the limitation.

use super::future::as_fut;
use super::{Loop, shared};
use crate::value::*;
use crate::vm::Vm;

/// The arguments `names` of `fname`, given by position or by keyword.
fn params(
    vm: &Vm,
    args: &[Value],
    kw: &KwArgs,
    fname: &str,
    names: &[&str],
) -> PyResult<Vec<Value>> {
    if args.len() > names.len() {
        return Err(vm.type_error(&format!(
            "{fname}() takes at most {} arguments ({} given)",
            names.len(),
            args.len() + kw.len()
        )));
    }
    let mut out: Vec<Option<Value>> = args.iter().cloned().map(Some).collect();
    out.resize(names.len(), None);
    for (k, v) in kw {
        match names.iter().position(|n| *n == k.as_ref()) {
            Some(i) if out[i].is_none() => out[i] = Some(v.clone()),
            Some(_) => {
                return Err(vm.type_error(&format!(
                    "argument for {fname}() given by name ('{k}') and position"
                )));
            }
            None => {
                return Err(vm.type_error(&format!(
                    "{fname}() got an unexpected keyword argument '{k}'"
                )));
            }
        }
    }
    out.into_iter()
        .zip(names)
        .enumerate()
        .map(|(i, (v, n))| {
            v.ok_or_else(|| {
                vm.type_error(&format!(
                    "{fname}() missing required argument '{n}' (pos {})",
                    i + 1
                ))
            })
        })
        .collect()
}

// `params` returns exactly as many values as names.
fn one(v: Vec<Value>) -> [Value; 1] {
    let mut it = v.into_iter();
    [it.next().unwrap_or(Value::None)]
}

fn two(v: Vec<Value>) -> [Value; 2] {
    let mut it = v.into_iter();
    [
        it.next().unwrap_or(Value::None),
        it.next().unwrap_or(Value::None),
    ]
}

/// The native loop `v` is, if it is one.
pub(crate) fn native_loop(v: &Value) -> Option<NativeRc<Loop>> {
    if let Value::Native(n) = v {
        return n.downcast::<Loop>();
    }
    None
}

/// `futures._get_loop(fut)`: `fut.get_loop()`, else `fut._loop`.
fn loop_of(vm: &mut Vm, t: &Value) -> PyResult<Value> {
    if let Some(f) = as_fut(t) {
        return Ok(f.lp.value());
    }
    match vm.getattr_opt(t, "get_loop")? {
        Some(m) => vm.call(&m, vec![]),
        None => vm.getattr(t, "_loop"),
    }
}

/// The registered non-native tasks whose loop is `lp` and that are not
/// done, in registration order (CPython's `all_tasks` filter).
pub(crate) fn foreign_tasks_of(vm: &mut Vm, lp: &Value) -> PyResult<Vec<Value>> {
    let regs = shared(vm).foreign_tasks.borrow().clone();
    let mut out = Vec::new();
    for t in regs {
        if loop_of(vm, &t)?.is(lp) {
            let done = vm.call_method(&t, "done", vec![])?;
            if !vm.truthy(&done)? {
                out.push(t);
            }
        }
    }
    Ok(out)
}

/// `current_task(loop)` of a loop that is not a native one.
pub(crate) fn foreign_current(vm: &mut Vm, lp: &Value) -> Value {
    shared(vm)
        .foreign_current
        .borrow()
        .iter()
        .find(|(l, _)| l.is(lp))
        .map(|(_, t)| t.clone())
        .unwrap_or(Value::None)
}

/// The current task of `lp`, native or not.
fn current_of(vm: &mut Vm, lp: &Value) -> Value {
    match native_loop(lp) {
        Some(l) => l.current_task().map(|t| t.value()).unwrap_or(Value::None),
        None => foreign_current(vm, lp),
    }
}

fn refuse(vm: &Vm, fname: &str, what: &str) -> Value {
    vm.type_error(&format!("covm does not support {fname}() on {what} yet"))
}

fn a_register_task(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let [t] = one(params(vm, args, kw, "_register_task", &["task"])?);
    // A native task is registered with its loop until it is done.
    if as_fut(&t).is_some_and(|f| f.is_task()) {
        return Ok(Value::None);
    }
    let sh = shared(vm);
    let mut regs = sh.foreign_tasks.borrow_mut();
    if !regs.iter().any(|r| r.is(&t)) {
        regs.push(t);
    }
    Ok(Value::None)
}

fn a_unregister_task(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let [t] = one(params(vm, args, kw, "_unregister_task", &["task"])?);
    if let Some(f) = as_fut(&t)
        && f.is_task()
    {
        if f.done() {
            return Ok(Value::None);
        }
        return Err(refuse(vm, "_unregister_task", "a pending native Task"));
    }
    // `WeakSet.discard`: no error when it was not registered.
    shared(vm).foreign_tasks.borrow_mut().retain(|r| !r.is(&t));
    Ok(Value::None)
}

fn a_enter_task(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let [lp, t] = two(params(vm, args, kw, "_enter_task", &["loop", "task"])?);
    let cur = current_of(vm, &lp);
    if !cur.is_none() {
        let (tr, cr) = (vm.repr(&t)?, vm.repr(&cur)?);
        return Err(vm.runtime_error(&format!(
            "Cannot enter into task {tr} while another task {cr} is being executed."
        )));
    }
    if native_loop(&lp).is_some() {
        return Err(refuse(vm, "_enter_task", "a native event loop"));
    }
    shared(vm).foreign_current.borrow_mut().push((lp, t));
    Ok(Value::None)
}

fn a_leave_task(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let [lp, t] = two(params(vm, args, kw, "_leave_task", &["loop", "task"])?);
    let cur = current_of(vm, &lp);
    if !cur.is(&t) {
        let (tr, cr) = (vm.repr(&t)?, vm.repr(&cur)?);
        return Err(vm.runtime_error(&format!(
            "Leaving task {tr} does not match the current task {cr}."
        )));
    }
    if native_loop(&lp).is_some() {
        return Err(refuse(vm, "_leave_task", "a native event loop"));
    }
    shared(vm)
        .foreign_current
        .borrow_mut()
        .retain(|(l, _)| !l.is(&lp));
    Ok(Value::None)
}

/// The registry functions of the `asyncio` module.
pub const FUNCTIONS: &[(&str, NativeFn)] = &[
    ("_register_task", a_register_task),
    ("_unregister_task", a_unregister_task),
    ("_enter_task", a_enter_task),
    ("_leave_task", a_leave_task),
];
