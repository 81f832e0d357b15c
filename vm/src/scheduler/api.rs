//! The Python-visible side of the scheduler: the classes, the methods of
//! futures, tasks, handles and loops, and the functions the `asyncio`
//! module exposes (`FUNCTIONS`).

use std::rc::Rc;

use super::coro::{Machine, NativeCoro, Wait, WaitFor};
use super::future::{self, Callback, Fut, ReturnWhen, as_fut};
use super::{Classes, Handle, Job, Loop, group, registry, running_loop, shared, sync};
use crate::value::*;
use crate::vm::Vm;

fn class(name: &str, module: &str, base: &Rc<Class>, builtin: BuiltinType) -> Rc<Class> {
    Class::native(name, module, base, builtin)
}

fn builtin_exc(vm: &Vm, name: &str) -> Rc<Class> {
    vm.exc_by_name
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, c)| c.clone())
        .unwrap_or_else(|| vm.exc.exception.clone())
}

/// An exception group class: the builtin one when the VM has it.
fn group_class(vm: &Vm, name: &str, base: &Rc<Class>) -> Rc<Class> {
    if let Some(Value::Class(c)) = vm.builtins.globals.borrow().get(name) {
        return c.clone();
    }
    class(name, "builtins", base, BuiltinType::BaseException)
}

pub(crate) fn make_classes(vm: &mut Vm) -> Classes {
    let o = vm.types.object.clone();
    let n = BuiltinType::Native;
    let e = BuiltinType::BaseException;
    let future = class("Future", "_asyncio", &o, n);
    let event_loop = class("_UnixSelectorEventLoop", "asyncio.unix_events", &o, n);
    let queue = class("Queue", "asyncio.queues", &o, n);
    let semaphore = class("Semaphore", "asyncio.locks", &o, n);
    let base_eg = group_class(vm, "BaseExceptionGroup", &vm.exc.base_exception.clone());
    let eg = group_class(vm, "ExceptionGroup", &vm.exc.exception.clone());
    let c = Classes {
        task: class("Task", "_asyncio", &future, n),
        gathering_future: class("_GatheringFuture", "asyncio.tasks", &future, n),
        future,
        coroutine: class("coroutine", "builtins", &o, n),
        future_iter: class("FutureIter", "_asyncio", &o, n),
        handle: class("Handle", "asyncio.events", &o, n),
        timer_handle: class("TimerHandle", "asyncio.events", &o, n),
        event_loop: event_loop.clone(),
        test_loop: class("TestLoop", "test.test_asyncio.utils", &event_loop, n),
        event: class("Event", "asyncio.locks", &o, n),
        lock: class("Lock", "asyncio.locks", &o, n),
        bounded_semaphore: class("BoundedSemaphore", "asyncio.locks", &semaphore, n),
        semaphore,
        priority_queue: class("PriorityQueue", "asyncio.queues", &queue, n),
        lifo_queue: class("LifoQueue", "asyncio.queues", &queue, n),
        queue,
        timeout: class("Timeout", "asyncio.timeouts", &o, n),
        task_group: class("TaskGroup", "asyncio.taskgroups", &o, n),
        cancelled_error: class(
            "CancelledError",
            "asyncio.exceptions",
            &vm.exc.base_exception.clone(),
            e,
        ),
        invalid_state_error: class(
            "InvalidStateError",
            "asyncio.exceptions",
            &vm.exc.exception.clone(),
            e,
        ),
        queue_empty: class("QueueEmpty", "asyncio.queues", &vm.exc.exception.clone(), e),
        queue_full: class("QueueFull", "asyncio.queues", &vm.exc.exception.clone(), e),
        timeout_error: builtin_exc(vm, "TimeoutError"),
        base_exception_group: base_eg,
        exception_group: eg,
    };
    // The timer handle inherits the handle's methods.
    install_future(vm, &c);
    install_loop(vm, &c);
    super::coro::install(vm, &c.coroutine, false);
    super::coro::install(vm, &c.future_iter, true);
    sync::install(vm, &c);
    group::install(vm, &c);
    c
}

// ---- argument helpers -------------------------------------------------------

fn kwarg(
    vm: &Vm,
    fname: &str,
    kw: &KwArgs,
    allowed: &[&str],
    key: &str,
) -> PyResult<Option<Value>> {
    for (k, _) in kw {
        if !allowed.contains(&k.as_ref()) {
            return Err(vm.type_error(&format!(
                "{fname}() got an unexpected keyword argument '{k}'"
            )));
        }
    }
    Ok(kw
        .iter()
        .find(|(k, _)| k.as_ref() == key)
        .map(|(_, v)| v.clone()))
}

/// A `context=` argument: the Context given, or a copy of the current one.
pub(crate) fn context_arg(
    vm: &mut Vm,
    v: Option<Value>,
) -> PyResult<NativeRc<crate::contextvars::Context>> {
    match v {
        None | Some(Value::None) => Ok(crate::contextvars::copy_context(vm)),
        Some(v) => match crate::contextvars::as_native::<crate::contextvars::Context>(&v) {
            Some(c) => Ok(c),
            None => Err(vm.type_error(&format!(
                "an instance of Context was expected, got {}",
                vm.type_name(&v)
            ))),
        },
    }
}

/// Gives a new task the `context=` it was created with, if any.
pub(crate) fn set_task_context(vm: &mut Vm, t: &NativeRc<Fut>, v: Option<Value>) -> PyResult<()> {
    if v.as_ref().is_none_or(|v| v.is_none()) {
        return Ok(());
    }
    let ctx = context_arg(vm, v)?;
    t.set_task_context(ctx);
    Ok(())
}

fn number(vm: &Vm, v: &Value) -> PyResult<f64> {
    match v {
        Value::Int(i) => Ok(*i as f64),
        Value::Bool(b) => Ok(*b as i64 as f64),
        Value::Float(f) => Ok(*f),
        Value::BigInt(_) => Ok(f64::INFINITY),
        other => Err(vm.type_error(&format!(
            "'<=' not supported between instances of '{}' and 'int'",
            vm.type_name(other)
        ))),
    }
}

fn missing(vm: &Vm, fname: &str, what: &str) -> Value {
    vm.type_error(&format!(
        "{fname}() missing 1 required positional argument: '{what}'"
    ))
}

fn this_fut(vm: &Vm, args: &[Value], m: &str) -> PyResult<NativeRc<Fut>> {
    match args.first().and_then(as_fut) {
        Some(f) => Ok(f),
        None => Err(vm.type_error(&format!(
            "descriptor '{m}' requires a '_asyncio.Future' object"
        ))),
    }
}

fn this_task(vm: &Vm, args: &[Value], m: &str) -> PyResult<NativeRc<Fut>> {
    match args.first().and_then(as_fut) {
        Some(f) if f.is_task() => Ok(f),
        _ => Err(vm.type_error(&format!(
            "descriptor '{m}' requires a '_asyncio.Task' object"
        ))),
    }
}

fn this_handle(vm: &Vm, args: &[Value]) -> PyResult<NativeRc<Handle>> {
    args.first()
        .and_then(Value::downcast_native)
        .ok_or_else(|| vm.type_error("descriptor requires a 'Handle' object"))
}

fn this_loop(vm: &Vm, args: &[Value]) -> PyResult<NativeRc<Loop>> {
    args.first()
        .and_then(Value::downcast_native)
        .ok_or_else(|| vm.type_error("descriptor requires an event loop object"))
}

// ---- Future and Task methods ----------------------------------------------------

fn fut_new(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let lp = kwarg(vm, "Future", kw, &["loop"], "loop")?;
    if args.len() > 1 {
        return Err(vm.type_error("Future() takes no positional arguments"));
    }
    let lp = match lp {
        Some(l) if !l.is_none() => this_loop(vm, &[l])?,
        _ => {
            let sh = shared(vm);
            sh.get_event_loop(vm)?
        }
    };
    Ok(lp.create_future().value())
}

fn fut_result(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    this_fut(vm, args, "result")?.result(vm)
}
fn fut_exception(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    this_fut(vm, args, "exception")?.exception(vm)
}
fn fut_done(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    Ok(Value::Bool(this_fut(vm, args, "done")?.done()))
}
fn fut_cancelled(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    Ok(Value::Bool(this_fut(vm, args, "cancelled")?.cancelled()))
}
fn fut_cancel(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let f = this_fut(vm, args, "cancel")?;
    let mut msg = args.get(1).cloned();
    if let Some(m) = kwarg(vm, "cancel", kw, &["msg"], "msg")? {
        msg = Some(m);
    }
    let r = future::cancel(vm, &f, msg.unwrap_or(Value::None))?;
    Ok(Value::Bool(r))
}
fn fut_add_done_callback(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let f = this_fut(vm, args, "add_done_callback")?;
    let ctx = context_arg(
        vm,
        kwarg(vm, "add_done_callback", kw, &["context"], "context")?,
    )?;
    let Some(cb) = args.get(1).cloned() else {
        return Err(missing(vm, "add_done_callback", "fn"));
    };
    f.add_done_callback(Callback::Py(cb, Some(ctx)));
    Ok(Value::None)
}
fn fut_remove_done_callback(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let f = this_fut(vm, args, "remove_done_callback")?;
    let Some(target) = args.get(1).cloned() else {
        return Err(missing(vm, "remove_done_callback", "fn"));
    };
    // Compare with `==` outside the borrow of the callback list.
    let n = f.callback_count();
    let mut matches = Vec::with_capacity(n);
    for i in 0..n {
        let cb = f.callback_at(i);
        let m = match cb {
            Some(Callback::Py(v, _)) => v.is(&target) || vm.eq(&v, &target)?,
            _ => false,
        };
        matches.push(m);
    }
    let removed = f.remove_callbacks_by_mask(&matches);
    Ok(Value::Int(removed as i64))
}
fn fut_set_result(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let f = this_fut(vm, args, "set_result")?;
    if f.is_task() {
        return Err(vm.runtime_error("Task does not support set_result operation"));
    }
    let Some(v) = args.get(1).cloned() else {
        return Err(missing(vm, "set_result", "result"));
    };
    f.set_result(vm, v)?;
    Ok(Value::None)
}
fn fut_set_exception(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let f = this_fut(vm, args, "set_exception")?;
    if f.is_task() {
        return Err(vm.runtime_error("Task does not support set_exception operation"));
    }
    let Some(v) = args.get(1).cloned() else {
        return Err(missing(vm, "set_exception", "exception"));
    };
    f.set_exception(vm, v)?;
    Ok(Value::None)
}
fn fut_await(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let f = this_fut(vm, args, "__await__")?;
    let sh = f.lp.shared.clone();
    let _ = vm;
    Ok(NativeCoro::make(
        &sh,
        "Future.__await__",
        Machine::FutIter { fut: f },
    ))
}
fn fut_get_loop(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    Ok(this_fut(vm, args, "get_loop")?.lp.value())
}

fn task_new(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let Some(coro) = args.get(1).cloned() else {
        return Err(missing(vm, "Task", "coro"));
    };
    let name = kwarg(vm, "Task", kw, &["loop", "name", "context"], "name")?;
    let ctx = kwarg(vm, "Task", kw, &["loop", "name", "context"], "context")?;
    let lp = match kwarg(vm, "Task", kw, &["loop", "name", "context"], "loop")? {
        Some(l) if !l.is_none() => this_loop(vm, &[l])?,
        _ => {
            let sh = shared(vm);
            sh.get_event_loop(vm)?
        }
    };
    let t = lp.create_task(vm, coro, name)?;
    set_task_context(vm, &t, ctx)?;
    Ok(t.value())
}
fn task_get_name(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let t = this_task(vm, args, "get_name")?;
    Ok(t.task_data().map(|d| d.name()).unwrap_or(Value::None))
}
fn task_set_name(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let t = this_task(vm, args, "set_name")?;
    let Some(v) = args.get(1) else {
        return Err(missing(vm, "set_name", "value"));
    };
    let s = Value::str(vm.to_str(v)?);
    if let Some(d) = t.task_data() {
        d.set_name(s);
    }
    Ok(Value::None)
}
fn task_get_coro(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let t = this_task(vm, args, "get_coro")?;
    Ok(t.task_data().map(|d| d.coro()).unwrap_or(Value::None))
}
fn task_cancelling(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let t = this_task(vm, args, "cancelling")?;
    Ok(Value::Int(
        t.task_data().map(|d| d.cancelling()).unwrap_or(0) as i64,
    ))
}
fn task_uncancel(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let t = this_task(vm, args, "uncancel")?;
    Ok(Value::Int(
        t.task_data().map(|d| d.uncancel()).unwrap_or(0) as i64
    ))
}

fn install_future(vm: &Vm, c: &Classes) {
    vm.set_native_new(&c.future, fut_new);
    for (name, f) in [
        ("result", fut_result as NativeFn),
        ("exception", fut_exception),
        ("done", fut_done),
        ("cancelled", fut_cancelled),
        ("cancel", fut_cancel),
        ("add_done_callback", fut_add_done_callback),
        ("remove_done_callback", fut_remove_done_callback),
        ("set_result", fut_set_result),
        ("set_exception", fut_set_exception),
        ("__await__", fut_await),
        ("__iter__", fut_await),
        ("get_loop", fut_get_loop),
    ] {
        vm.add_method(&c.future, name, f);
    }
    vm.set_native_new(&c.task, task_new);
    for (name, f) in [
        ("get_name", task_get_name as NativeFn),
        ("set_name", task_set_name),
        ("get_coro", task_get_coro),
        ("cancelling", task_cancelling),
        ("uncancel", task_uncancel),
    ] {
        vm.add_method(&c.task, name, f);
    }
    vm.add_method(&c.handle, "cancel", h_cancel);
    vm.add_method(&c.handle, "cancelled", h_cancelled);
    vm.add_method(&c.timer_handle, "cancel", h_cancel);
    vm.add_method(&c.timer_handle, "cancelled", h_cancelled);
    vm.add_method(&c.timer_handle, "when", h_when);
}

fn h_cancel(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    this_handle(vm, args)?.cancel();
    Ok(Value::None)
}
fn h_cancelled(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    Ok(Value::Bool(this_handle(vm, args)?.cancelled()))
}
fn h_when(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    Ok(this_handle(vm, args)?
        .when()
        .map(Value::Float)
        .unwrap_or(Value::None))
}

// ---- loop methods -------------------------------------------------------------

fn l_time(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let l = this_loop(vm, args)?;
    Ok(Value::Float(l.time(vm)))
}
fn l_call_soon(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let l = this_loop(vm, args)?;
    let ctx = context_arg(vm, kwarg(vm, "call_soon", kw, &["context"], "context")?)?;
    let Some(cb) = args.get(1).cloned() else {
        return Err(missing(vm, "call_soon", "callback"));
    };
    let h = l.call_soon_handle(Job::Call(cb.clone(), args[2..].to_vec(), Some(ctx)), cb);
    Ok(Value::Native(h.into()))
}
fn l_call_later(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let l = this_loop(vm, args)?;
    let ctx = context_arg(vm, kwarg(vm, "call_later", kw, &["context"], "context")?)?;
    if args.len() < 3 {
        return Err(missing(vm, "call_later", "callback"));
    }
    let delay = number(vm, &args[1])?;
    let cb = args[2].clone();
    let job = Job::Call(cb.clone(), args[3..].to_vec(), Some(ctx));
    let h = l.call_later(vm, delay, job, cb);
    Ok(Value::Native(h.into()))
}
fn l_call_at(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let l = this_loop(vm, args)?;
    let ctx = context_arg(vm, kwarg(vm, "call_at", kw, &["context"], "context")?)?;
    if args.len() < 3 {
        return Err(missing(vm, "call_at", "callback"));
    }
    let when = number(vm, &args[1])?;
    let cb = args[2].clone();
    let h = l.call_at(
        when,
        Job::Call(cb.clone(), args[3..].to_vec(), Some(ctx)),
        cb,
    );
    Ok(Value::Native(h.into()))
}
fn l_shutdown_asyncgens(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let l = this_loop(vm, args)?;
    let sh = shared(vm);
    Ok(NativeCoro::make(
        &sh,
        "shutdown_asyncgens",
        super::agen_hooks::shutdown_coro(l),
    ))
}
fn l_create_future(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    Ok(this_loop(vm, args)?.create_future().value())
}
fn l_create_task(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let l = this_loop(vm, args)?;
    let name = kwarg(vm, "create_task", kw, &["name", "context"], "name")?;
    let ctx = kwarg(vm, "create_task", kw, &["name", "context"], "context")?;
    let Some(coro) = args.get(1).cloned() else {
        return Err(missing(vm, "create_task", "coro"));
    };
    let t = l.create_task(vm, coro, name)?;
    set_task_context(vm, &t, ctx)?;
    Ok(t.value())
}
fn l_run_until_complete(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let l = this_loop(vm, args)?;
    let Some(arg) = args.get(1) else {
        return Err(missing(vm, "run_until_complete", "future"));
    };
    let f = future::ensure_future(vm, arg, Some(&l))?;
    l.run_until_complete(vm, &f)
}
fn l_stop(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    this_loop(vm, args)?.stop();
    Ok(Value::None)
}
fn l_is_running(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    Ok(Value::Bool(this_loop(vm, args)?.is_running()))
}
fn l_is_closed(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    Ok(Value::Bool(this_loop(vm, args)?.is_closed()))
}
fn l_close(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let l = this_loop(vm, args)?;
    l.check_test_clock_on_close(vm)?;
    l.close(vm)?;
    Ok(Value::None)
}

/// `TestLoop.advance_time(advance)`.
pub fn test_loop_advance_time(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let l = this_loop(vm, args)?;
    let Some(v) = args.get(1) else {
        return Err(missing(vm, "advance_time", "advance"));
    };
    if vm.truthy(v)? {
        let by = number(vm, v)?;
        l.advance_test_time(by);
    }
    Ok(Value::None)
}

/// `test_utils.TestLoop(gen)`: a loop on a clock of its own that starts at
/// 0 and moves only by what the time generator answers (see `TestClock`).
pub fn test_loop_new(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let sh = shared(vm);
    let time_gen = match args.get(1) {
        Some(g) if !g.is_none() => Some(vm.call(g, vec![])?),
        _ => None,
    };
    if let Some(g) = &time_gen {
        vm.call_method(g, "__next__", vec![])?;
    }
    Ok(Loop::new_test(&sh, time_gen).value())
}
fn l_get_debug(_vm: &mut Vm, _args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    Ok(Value::Bool(false))
}

/// `loop.set_debug(enabled)`: the loop has no debug mode (slow-callback
/// warnings, creation tracebacks), so only turning it off is accepted.
fn l_set_debug(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    this_loop(vm, args)?;
    let Some(v) = args.get(1) else {
        return Err(missing(vm, "set_debug", "enabled"));
    };
    if vm.truthy(v)? {
        let cls = builtin_exc(vm, "NotImplementedError");
        return Err(vm.new_exc(&cls, "covm's event loop has no debug mode"));
    }
    Ok(Value::None)
}

fn install_loop(vm: &Vm, c: &Classes) {
    for (name, f) in [
        ("time", l_time as NativeFn),
        ("call_soon", l_call_soon),
        ("call_later", l_call_later),
        ("call_at", l_call_at),
        ("create_future", l_create_future),
        ("create_task", l_create_task),
        ("run_until_complete", l_run_until_complete),
        ("shutdown_asyncgens", l_shutdown_asyncgens),
        ("stop", l_stop),
        ("is_running", l_is_running),
        ("is_closed", l_is_closed),
        ("close", l_close),
        ("get_debug", l_get_debug),
        ("set_debug", l_set_debug),
    ] {
        vm.add_method(&c.event_loop, name, f);
    }
    for (name, f) in super::handler::methods() {
        vm.add_method(&c.event_loop, name, f);
    }
}

// ---- module functions ------------------------------------------------------------

fn a_run(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    kwarg(vm, "run", kw, &["debug"], "debug")?;
    let Some(main) = args.first().cloned() else {
        return Err(missing(vm, "run", "main"));
    };
    if args.len() > 1 {
        return Err(vm.type_error(&format!(
            "run() takes 1 positional argument but {} were given",
            args.len()
        )));
    }
    super::run(vm, main)
}

fn a_sleep(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let mut delay = args.first().cloned();
    let mut result = args.get(1).cloned();
    for (k, v) in kw {
        match k.as_ref() {
            "delay" if delay.is_none() => delay = Some(v.clone()),
            "result" if result.is_none() => result = Some(v.clone()),
            _ => {
                return Err(
                    vm.type_error(&format!("sleep() got an unexpected keyword argument '{k}'"))
                );
            }
        }
    }
    if args.len() > 2 {
        return Err(vm.type_error(&format!(
            "sleep() takes from 1 to 2 positional arguments but {} were given",
            args.len()
        )));
    }
    let Some(delay) = delay else {
        return Err(missing(vm, "sleep", "delay"));
    };
    let delay = number(vm, &delay)?;
    let result = result.unwrap_or(Value::None);
    let sh = shared(vm);
    let m = if delay <= 0.0 {
        Machine::Sleep0 { result }
    } else {
        Machine::Sleep {
            delay,
            result,
            fut: None,
            handle: None,
        }
    };
    Ok(NativeCoro::make(&sh, "sleep", m))
}

fn a_create_task(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let name = kwarg(vm, "create_task", kw, &["name", "context"], "name")?;
    let ctx = kwarg(vm, "create_task", kw, &["name", "context"], "context")?;
    let Some(coro) = args.first().cloned() else {
        return Err(missing(vm, "create_task", "coro"));
    };
    let lp = running_loop(vm)?;
    let t = lp.create_task(vm, coro, None)?;
    set_task_context(vm, &t, ctx)?;
    if let Some(n) = name
        && !n.is_none()
    {
        let s = Value::str(vm.to_str(&n)?);
        if let Some(d) = t.task_data() {
            d.set_name(s);
        }
    }
    Ok(t.value())
}

fn a_ensure_future(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let lp = kwarg(vm, "ensure_future", kw, &["loop"], "loop")?;
    let Some(arg) = args.first() else {
        return Err(missing(vm, "ensure_future", "coro_or_future"));
    };
    let lp = match lp {
        Some(l) if !l.is_none() => Some(this_loop(vm, &[l])?),
        _ => None,
    };
    Ok(future::ensure_future(vm, arg, lp.as_ref())?.value())
}

fn a_gather(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let re = kwarg(
        vm,
        "gather",
        kw,
        &["return_exceptions"],
        "return_exceptions",
    )?;
    let re = match re {
        Some(v) => vm.truthy(&v)?,
        None => false,
    };
    Ok(future::gather(vm, args, re)?.value())
}

fn a_shield(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let Some(arg) = args.first() else {
        return Err(missing(vm, "shield", "arg"));
    };
    Ok(future::shield(vm, arg)?.value())
}

fn a_wait_for(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let mut fut = args.first().cloned();
    let mut timeout = args.get(1).cloned();
    for (k, v) in kw {
        match k.as_ref() {
            "fut" if fut.is_none() => fut = Some(v.clone()),
            "timeout" if timeout.is_none() => timeout = Some(v.clone()),
            _ => {
                return Err(vm.type_error(&format!(
                    "wait_for() got an unexpected keyword argument '{k}'"
                )));
            }
        }
    }
    let Some(fut) = fut else {
        return Err(missing(vm, "wait_for", "fut"));
    };
    let Some(timeout) = timeout else {
        return Err(missing(vm, "wait_for", "timeout"));
    };
    let sh = shared(vm);
    if timeout.is_none() {
        return Ok(NativeCoro::make(
            &sh,
            "wait_for",
            Machine::Delegate { arg: fut, it: None },
        ));
    }
    let t = number(vm, &timeout)?;
    Ok(NativeCoro::make(
        &sh,
        "wait_for",
        Machine::WaitFor(Box::new(WaitFor::new(fut, t))),
    ))
}

fn a_wait(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let allowed = ["timeout", "return_when"];
    let timeout = kwarg(vm, "wait", kw, &allowed, "timeout")?;
    let rw = kwarg(vm, "wait", kw, &allowed, "return_when")?;
    let Some(fs) = args.first().cloned() else {
        return Err(missing(vm, "wait", "fs"));
    };
    // `wait` is a coroutine function: its checks raise when it is awaited.
    let sh = shared(vm);
    Ok(NativeCoro::make(
        &sh,
        "wait",
        Machine::Start(Some(Box::new(move |vm| wait_start(vm, fs, timeout, rw)))),
    ))
}

fn wait_start(
    vm: &mut Vm,
    fs: Value,
    timeout: Option<Value>,
    rw: Option<Value>,
) -> PyResult<Machine> {
    if as_fut(&fs).is_some() || super::coro::is_coroutine(&fs) {
        return Err(vm.type_error(&format!(
            "expect a list of futures, not {}",
            vm.type_of(&fs).name
        )));
    }
    let items = vm.collect(&fs)?;
    if items.is_empty() {
        return Err(vm.value_error("Set of Tasks/Futures is empty."));
    }
    let return_when = match rw.as_ref().and_then(|v| v.as_str()) {
        None if rw.is_none() => ReturnWhen::AllCompleted,
        Some("FIRST_COMPLETED") => ReturnWhen::FirstCompleted,
        Some("FIRST_EXCEPTION") => ReturnWhen::FirstException,
        Some("ALL_COMPLETED") => ReturnWhen::AllCompleted,
        _ => {
            let r = match &rw {
                Some(v) => vm.to_str(v)?,
                None => "None".into(),
            };
            return Err(vm.value_error(&format!("Invalid return_when value: {r}")));
        }
    };
    let timeout = match timeout {
        Some(v) if !v.is_none() => Some(number(vm, &v)?),
        _ => None,
    };
    let lp = running_loop(vm)?;
    if items.iter().any(super::coro::is_coroutine) {
        return Err(vm.type_error("Passing coroutines is forbidden, use tasks explicitly."));
    }
    let mut fs_v: Vec<NativeRc<Fut>> = Vec::with_capacity(items.len());
    for it in &items {
        let f = future::ensure_future(vm, it, Some(&lp))?;
        if !fs_v.iter().any(|x| Rc::ptr_eq(x, &f)) {
            fs_v.push(f);
        }
    }
    Ok(Machine::Wait(Box::new(Wait::new(
        fs_v,
        timeout,
        return_when,
    ))))
}

fn a_current_task(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let lp = kwarg(vm, "current_task", kw, &["loop"], "loop")?.or(args.first().cloned());
    let lp = match lp {
        Some(l) if !l.is_none() => match registry::native_loop(&l) {
            Some(n) => n,
            None => return Ok(registry::foreign_current(vm, &l)),
        },
        _ => running_loop(vm)?,
    };
    Ok(lp.current_task().map(|t| t.value()).unwrap_or(Value::None))
}

fn a_all_tasks(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let lp = kwarg(vm, "all_tasks", kw, &["loop"], "loop")?.or(args.first().cloned());
    let (lp, lpv) = match lp {
        Some(l) if !l.is_none() => match registry::native_loop(&l) {
            Some(n) => (Some(n), l),
            None => (None, l),
        },
        _ => {
            let n = running_loop(vm)?;
            let v = n.value();
            (Some(n), v)
        }
    };
    // Native tasks first (creation order), then those `_register_task` added.
    let mut items: Vec<Value> = match &lp {
        Some(n) => n.all_tasks().iter().map(|t| t.value()).collect(),
        None => Vec::new(),
    };
    items.extend(registry::foreign_tasks_of(vm, &lpv)?);
    vm.call(
        &Value::Class(vm.types.set.clone()),
        vec![Value::list(items)],
    )
}

fn a_get_running_loop(vm: &mut Vm, _args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    Ok(running_loop(vm)?.value())
}

fn a_get_event_loop(vm: &mut Vm, _args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    Ok({
        let sh = shared(vm);
        sh.get_event_loop(vm)?
    }
    .value())
}

fn a_new_event_loop(vm: &mut Vm, _args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let sh = shared(vm);
    Ok(Loop::new(&sh).value())
}

fn a_set_event_loop(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let sh = shared(vm);
    match args.first() {
        None | Some(Value::None) => sh.set_default_loop(None),
        Some(l) => {
            let l = this_loop(vm, std::slice::from_ref(l))?;
            sh.set_default_loop(Some(l));
        }
    }
    Ok(Value::None)
}

/// Only `None` (back to the default policy): covm has no policy classes,
/// so any other argument is CPython's error for a non-policy.
fn a_set_event_loop_policy(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    match args.first() {
        None => Err(missing(vm, "set_event_loop_policy", "policy")),
        Some(Value::None) => {
            shared(vm).reset_policy();
            Ok(Value::None)
        }
        Some(v) => {
            let msg = format!(
                "policy must be an instance of AbstractEventLoopPolicy or None, not '{}'",
                vm.type_name(v)
            );
            Err(vm.type_error(&msg))
        }
    }
}

fn a_iscoroutine(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let Some(v) = args.first() else {
        return Err(missing(vm, "iscoroutine", "obj"));
    };
    Ok(Value::Bool(super::coro::is_asyncio_coroutine(vm, v)))
}

fn a_iscoroutinefunction(_vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let r = match args.first() {
        Some(Value::Function(f)) => f.code.flags & crate::code::FLAG_COROUTINE != 0,
        Some(Value::BoundMethod(m)) => matches!(
            &m.func,
            Value::Function(f) if f.code.flags & crate::code::FLAG_COROUTINE != 0
        ),
        _ => false,
    };
    Ok(Value::Bool(r))
}

fn a_isfuture(_vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    Ok(Value::Bool(args.first().and_then(as_fut).is_some()))
}

fn a_timeout(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let Some(d) = args.first() else {
        return Err(missing(vm, "timeout", "delay"));
    };
    let lp = running_loop(vm)?;
    let when = match d {
        Value::None => None,
        v => Some(lp.time(vm) + number(vm, v)?),
    };
    Ok(Value::Native(group::TimeoutObj::new(vm, when).into()))
}

fn a_timeout_at(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let Some(w) = args.first() else {
        return Err(missing(vm, "timeout_at", "when"));
    };
    let when = match w {
        Value::None => None,
        v => Some(number(vm, v)?),
    };
    Ok(Value::Native(group::TimeoutObj::new(vm, when).into()))
}

/// The module-level functions of `asyncio`.
pub const FUNCTIONS: &[(&str, NativeFn)] = &[
    ("run", a_run),
    ("sleep", a_sleep),
    ("create_task", a_create_task),
    ("ensure_future", a_ensure_future),
    ("gather", a_gather),
    ("shield", a_shield),
    ("wait_for", a_wait_for),
    ("wait", a_wait),
    ("current_task", a_current_task),
    ("all_tasks", a_all_tasks),
    ("get_running_loop", a_get_running_loop),
    ("get_event_loop", a_get_event_loop),
    ("new_event_loop", a_new_event_loop),
    ("set_event_loop", a_set_event_loop),
    ("set_event_loop_policy", a_set_event_loop_policy),
    ("iscoroutine", a_iscoroutine),
    ("iscoroutinefunction", a_iscoroutinefunction),
    ("isfuture", a_isfuture),
    ("timeout", a_timeout),
    ("timeout_at", a_timeout_at),
];

/// The classes and exceptions `asyncio` exposes by name.
pub fn exported_classes(c: &Classes) -> Vec<(&'static str, Rc<Class>)> {
    vec![
        ("Future", c.future.clone()),
        ("Task", c.task.clone()),
        ("Handle", c.handle.clone()),
        ("TimerHandle", c.timer_handle.clone()),
        ("Event", c.event.clone()),
        ("Lock", c.lock.clone()),
        ("Semaphore", c.semaphore.clone()),
        ("BoundedSemaphore", c.bounded_semaphore.clone()),
        ("Queue", c.queue.clone()),
        ("PriorityQueue", c.priority_queue.clone()),
        ("LifoQueue", c.lifo_queue.clone()),
        ("Timeout", c.timeout.clone()),
        ("TaskGroup", c.task_group.clone()),
        ("CancelledError", c.cancelled_error.clone()),
        ("InvalidStateError", c.invalid_state_error.clone()),
        ("QueueEmpty", c.queue_empty.clone()),
        ("QueueFull", c.queue_full.clone()),
        ("TimeoutError", c.timeout_error.clone()),
    ]
}
