//! The builtins `aiter` and `anext`, and `asyncio.as_completed` (CPython
//! 3.11's algorithm: a queue filled by done-callbacks, one `_wait_for_one`
//! coroutine per future).

use std::cell::RefCell;
use std::rc::Rc;

use covm_vm::Vm;
use covm_vm::scheduler::coro::NativeCoro;
use covm_vm::scheduler::future::{self, Callback, Fut};
use covm_vm::scheduler::{self, Job};
use covm_vm::value::*;

use crate::modules::{bound_native, downcast};

fn aiter(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    crate::args::no_kwargs(vm, "aiter", kw)?;
    crate::args::check_count(vm, "aiter", args, 1, 1)?;
    let x = &args[0];
    let Some(f) = vm.lookup_special(x, "__aiter__") else {
        return Err(vm.type_error(&format!(
            "'{}' object is not an async iterable",
            vm.type_name(x)
        )));
    };
    let it = vm.call(&f, vec![x.clone()])?;
    if vm.lookup_special(&it, "__anext__").is_none() {
        return Err(vm.type_error(&format!(
            "aiter() returned not an async iterator of type '{}'",
            vm.type_name(&it)
        )));
    }
    Ok(it)
}

fn anext(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    crate::args::no_kwargs(vm, "anext", kw)?;
    crate::args::check_count(vm, "anext", args, 1, 2)?;
    let x = &args[0];
    let Some(f) = vm.lookup_special(x, "__anext__") else {
        return Err(vm.type_error(&format!(
            "'{}' object is not an async iterator",
            vm.type_name(x)
        )));
    };
    let aw = vm.call(&f, vec![x.clone()])?;
    let Some(default) = args.get(1).cloned() else {
        return Ok(aw);
    };
    let sh = scheduler::shared(vm);
    Ok(NativeCoro::anext_default(
        &sh,
        aw,
        Box::new(move |vm, r| match r {
            Err(e) if vm.is_instance_of(&e, &vm.exc.stop_async_iteration.clone()) => Ok(default),
            other => other,
        }),
    ))
}

pub fn install(vm: &mut Vm) {
    vm.add_builtin("aiter", aiter);
    vm.add_builtin("anext", anext);
    // The run-time side of `except*`, which the compiler calls by name.
    use covm_vm::exc_star as st;
    vm.add_builtin("__covm_star_begin__", st::star_begin);
    vm.add_builtin("__covm_star_match__", st::star_match);
    vm.add_builtin("__covm_star_raised__", st::star_raised);
    vm.add_builtin("__covm_star_end__", st::star_end);
}

// ---- asyncio.as_completed ---------------------------------------------------------

/// The state `as_completed`'s closures share.
struct AsCompleted {
    queue: Value,
    todo: RefCell<Vec<NativeRc<Fut>>>,
    on_completion: RefCell<Value>,
    timeout_handle: RefCell<Option<NativeRc<scheduler::Handle>>>,
}

impl NativeObject for AsCompleted {
    fn class(&self, vm: &Vm) -> Rc<Class> {
        vm.types.object.clone()
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// `_on_completion(f)`.
fn on_completion(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let (Some(st), Some(f)) = (args.first().and_then(downcast::<AsCompleted>), args.get(1)) else {
        return Ok(Value::None);
    };
    let Some(fut) = future::as_fut(f) else {
        return Ok(Value::None);
    };
    {
        let mut todo = st.todo.borrow_mut();
        if todo.is_empty() {
            return Ok(Value::None);
        }
        if let Some(i) = todo.iter().position(|x| Rc::ptr_eq(x, &fut)) {
            todo.remove(i);
        }
    }
    vm.call_method(&st.queue, "put_nowait", vec![f.clone()])?;
    if st.todo.borrow().is_empty()
        && let Some(h) = st.timeout_handle.borrow().as_ref()
    {
        h.cancel();
    }
    Ok(Value::None)
}

/// `_on_timeout()`.
fn on_timeout(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let Some(st) = args.first().and_then(downcast::<AsCompleted>) else {
        return Ok(Value::None);
    };
    let todo: Vec<NativeRc<Fut>> = std::mem::take(&mut *st.todo.borrow_mut());
    let cb = st.on_completion.borrow().clone();
    for f in todo {
        f.remove_callbacks(|c| matches!(c, Callback::Py(v, _) if v.is(&cb)));
        vm.call_method(&st.queue, "put_nowait", vec![Value::None])?;
    }
    Ok(Value::None)
}

/// `as_completed` is a generator in CPython: nothing runs before the
/// first `next`, which does the set-up and yields the first coroutine.
struct AsCompletedIter {
    args: Option<(Value, Option<Value>)>,
    coros: std::collections::VecDeque<Value>,
}

impl covm_vm::value::NativeIter for AsCompletedIter {
    fn type_name(&self) -> &'static str {
        "generator"
    }
    fn next(&mut self, vm: &mut Vm) -> PyResult<Option<Value>> {
        if let Some((fs, timeout)) = self.args.take() {
            self.coros = start(vm, fs, timeout)?.into();
        }
        Ok(self.coros.pop_front())
    }
}

pub fn as_completed(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let p = crate::args::bind_params(vm, "as_completed", args, kw, &["fs", "timeout"])?;
    let Some(fs) = p[0].clone() else {
        return Err(vm.type_error("as_completed() missing 1 required positional argument: 'fs'"));
    };
    Ok(vm.new_iter(IterState::Native(Box::new(AsCompletedIter {
        args: Some((fs, p[1].clone())),
        coros: Default::default(),
    }))))
}

fn start(vm: &mut Vm, fs: Value, timeout: Option<Value>) -> PyResult<Vec<Value>> {
    if future::as_fut(&fs).is_some() || scheduler::coro::is_coroutine(&fs) {
        return Err(vm.type_error(&format!(
            "expect an iterable of futures, not {}",
            vm.type_of(&fs).name
        )));
    }
    let timeout = match &timeout {
        None | Some(Value::None) => None,
        Some(v) => Some(crate::mod_math::to_f64(vm, v)?),
    };
    let sh = scheduler::shared(vm);
    let lp = sh.get_event_loop(vm)?;
    let queue = vm.call(&Value::Class(sh.cls.queue.clone()), vec![])?;
    // `set(fs)`: duplicates (by identity) count once.
    let mut items: Vec<Value> = Vec::new();
    for it in vm.collect(&fs)? {
        if !items.iter().any(|x| x.is(&it)) {
            items.push(it);
        }
    }
    let mut todo = Vec::with_capacity(items.len());
    for it in &items {
        let f = future::ensure_future(vm, it, Some(&lp))?;
        if !todo.iter().any(|x: &NativeRc<Fut>| Rc::ptr_eq(x, &f)) {
            todo.push(f);
        }
    }
    let n = todo.len();
    let st = NativeBox::new(AsCompleted {
        queue: queue.clone(),
        todo: RefCell::new(todo.clone()),
        on_completion: RefCell::new(Value::None),
        timeout_handle: RefCell::new(None),
    });
    let stv = Value::Native(st.clone().into());
    let cb = bound_native("_on_completion", on_completion, stv.clone());
    *st.on_completion.borrow_mut() = cb.clone();
    for f in &todo {
        f.add_done_callback(Callback::Py(cb.clone(), None));
    }
    if n > 0
        && let Some(t) = timeout
    {
        let tcb = bound_native("_on_timeout", on_timeout, stv.clone());
        let h = lp.call_later(vm, t, Job::Call(tcb.clone(), vec![], None), tcb);
        *st.timeout_handle.borrow_mut() = Some(h);
    }
    let timeout_error = vm
        .exc_by_name
        .iter()
        .find(|(n, _)| *n == "TimeoutError")
        .map(|(_, c)| c.clone())
        .unwrap_or_else(|| vm.exc.exception.clone());
    let mut coros = Vec::with_capacity(n);
    for _ in 0..n {
        let get = vm.call_method(&queue, "get", vec![])?;
        let te = timeout_error.clone();
        coros.push(NativeCoro::then(
            &sh,
            "_wait_for_one",
            get,
            Box::new(move |vm, r| {
                let f = r?;
                if f.is_none() {
                    return Err(vm.new_exc(&te, ""));
                }
                match future::as_fut(&f) {
                    Some(fut) => fut.result(vm),
                    None => Ok(f),
                }
            }),
        ));
    }
    Ok(coros)
}
