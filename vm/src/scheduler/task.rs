//! Tasks: a future that drives a coroutine (`tasks.Task`). One step resumes
//! the coroutine natively until it yields a future (the task then waits for
//! it with a done-callback), yields None (`sleep(0)`: the task is
//! rescheduled at once), returns or raises.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use super::Job;
use super::coro::{self, Input};
use super::future::{self, Callback, Fut, as_fut};
use crate::resume::Exit;
use crate::value::*;
use crate::vm::Vm;

pub struct TaskData {
    pub(crate) coro: Value,
    /// The name once set or asked for; `Undef` means `Task-{num}`.
    pub(crate) name: RefCell<Value>,
    pub(crate) num: u64,
    pub(crate) id: u64,
    pub(crate) slot: Cell<usize>,
    num_cancels: Cell<u32>,
    must_cancel: Cell<bool>,
    pub(crate) fut_waiter: RefCell<Option<NativeRc<Fut>>>,
    /// The context every step runs in: a copy of the creator's, or the
    /// `context=` given.
    pub(crate) context: RefCell<Option<NativeRc<crate::contextvars::Context>>>,
}

impl TaskData {
    pub(crate) fn new(coro: Value, name: Value, num: u64, id: u64) -> TaskData {
        TaskData {
            coro,
            name: RefCell::new(name),
            num,
            id,
            slot: Cell::new(usize::MAX),
            num_cancels: Cell::new(0),
            must_cancel: Cell::new(false),
            fut_waiter: RefCell::new(None),
            context: RefCell::new(None),
        }
    }

    pub fn name(&self) -> Value {
        let mut n = self.name.borrow_mut();
        if n.is_undef() {
            *n = Value::str(format!("Task-{}", self.num));
        }
        n.clone()
    }

    pub fn set_name(&self, v: Value) {
        *self.name.borrow_mut() = v;
    }

    pub fn must_cancel(&self) -> bool {
        self.must_cancel.get()
    }

    pub fn cancelling(&self) -> u32 {
        self.num_cancels.get()
    }

    pub fn uncancel(&self) -> u32 {
        let n = self.num_cancels.get();
        if n > 0 {
            self.num_cancels.set(n - 1);
        }
        self.num_cancels.get()
    }

    pub fn coro(&self) -> Value {
        self.coro.clone()
    }
}

fn data(t: &Fut) -> &TaskData {
    match t.task_data() {
        Some(d) => d,
        None => unreachable!("task operation on a plain future"),
    }
}

/// `Task.cancel(msg)`.
pub fn cancel(vm: &mut Vm, t: &NativeRc<Fut>, msg: Value) -> PyResult<bool> {
    if t.done() {
        return Ok(false);
    }
    let d = data(t);
    d.num_cancels.set(d.num_cancels.get() + 1);
    let waiter = d.fut_waiter.borrow().clone();
    if let Some(w) = waiter
        && future::cancel(vm, &w, msg.clone())?
    {
        // Leave fut_waiter: it may be a task that ignores the
        // cancellation and has to be cancelled again.
        return Ok(true);
    }
    d.must_cancel.set(true);
    t.set_cancel_message(msg);
    Ok(true)
}

/// `Task.__wakeup(future)`.
pub(crate) fn wakeup(vm: &mut Vm, t: &NativeRc<Fut>, fut: &NativeRc<Fut>) -> PyResult<()> {
    match fut.result(vm) {
        Ok(_) => step(vm, t, None),
        Err(e) => step(vm, t, Some(e)),
    }
}

/// Resumes a task's coroutine (any kind) once.
pub(crate) fn resume_any(vm: &mut Vm, c: &Value, input: Input) -> PyResult<Exit> {
    match c {
        Value::Generator(g) => {
            let action = match input {
                Input::Send(v) => crate::resume::Action::Send(v),
                Input::Throw(e) => crate::resume::Action::Throw(e),
            };
            vm.resume(g, action)
        }
        Value::Native(n) => {
            if let Some(nc) = n.as_any().downcast_ref::<coro::NativeCoro>() {
                return nc.resume(vm, input).map(|s| match s {
                    coro::Step::Yield(v) => Exit::Yield(v),
                    coro::Step::Return(v) => Exit::Return(v),
                });
            }
            resume_generic(vm, c, input)
        }
        _ => resume_generic(vm, c, input),
    }
}

/// Drives an iterator through its `send`/`__next__`/`throw` methods.
fn resume_generic(vm: &mut Vm, it: &Value, input: Input) -> PyResult<Exit> {
    let stop = vm.exc.stop_iteration.clone();
    let r = match input {
        // A task drives a coroutine-like object that is no iterator (it
        // only has `send`, as `collections.abc.Coroutine` requires) with
        // `send(None)`, as `Task.__step` does.
        Input::Send(v)
            if v.is_none()
                && vm.lookup_special(it, "__next__").is_none()
                && let Some(send) = vm.lookup_special(it, "send") =>
        {
            vm.call(&send, vec![it.clone(), v])
        }
        Input::Send(v) if v.is_none() => {
            return Ok(match vm.next_or_return(it)? {
                Ok(v) => Exit::Yield(v),
                Err(v) => Exit::Return(v),
            });
        }
        Input::Send(v) => {
            let send = vm.getattr(it, "send")?;
            vm.call(&send, vec![v])
        }
        Input::Throw(e) => match vm.lookup_special(it, "throw") {
            Some(throw) => vm.call(&throw, vec![it.clone(), e]),
            None => return Err(e),
        },
    };
    match r {
        Ok(v) => Ok(Exit::Yield(v)),
        Err(e) if vm.is_instance_of(&e, &stop) => Ok(Exit::Return(vm.stop_iteration_value(&e))),
        Err(e) => Err(e),
    }
}

/// `Task.__step(exc)`.
pub(crate) fn step(vm: &mut Vm, t: &NativeRc<Fut>, exc: Option<Value>) -> PyResult<()> {
    let ctx = data(t).context.borrow().clone();
    match ctx {
        Some(ctx) => crate::contextvars::run_in(vm, &ctx, |vm| step_in_context(vm, t, exc)),
        None => step_in_context(vm, t, exc),
    }
}

fn step_in_context(vm: &mut Vm, t: &NativeRc<Fut>, exc: Option<Value>) -> PyResult<()> {
    let d = data(t);
    let cls = t.lp.shared.cls.cancelled_error.clone();
    if t.done() {
        let r = vm.repr(&t.value())?;
        let msg = format!("_step(): already done: {r}");
        return Err(vm.new_exc(&t.lp.shared.cls.invalid_state_error, &msg));
    }
    let mut exc = exc;
    if d.must_cancel.get() {
        if !exc.as_ref().is_some_and(|e| vm.is_instance_of(e, &cls)) {
            exc = Some(t.make_cancelled_error(vm));
        }
        d.must_cancel.set(false);
    }
    let old = d.fut_waiter.borrow_mut().take();
    drop(old);
    let lp = t.lp.clone();
    lp.enter_task(vm, t)?;
    if vm.tracing {
        let name = d.name();
        let name = vm.to_str(&name).unwrap_or_default();
        let what = match &exc {
            None => "step".to_string(),
            Some(e) => format!("step, throwing {}", vm.trace_repr(e)),
        };
        let label = task_label(&name, &d.coro);
        vm.trace(crate::trace::Kind::Step, label, String::new(), None, what);
    }
    let input = match exc {
        None => Input::Send(Value::None),
        Some(e) => Input::Throw(e),
    };
    let r = resume_any(vm, &d.coro, input);
    lp.leave_task();
    match r {
        Ok(Exit::Return(v)) => {
            if d.must_cancel.get() {
                d.must_cancel.set(false);
                t.cancel_base(t.cancel_message());
            } else {
                t.set_result(vm, v)?;
            }
        }
        Err(e) if vm.is_instance_of(&e, &cls) => {
            t.set_cancelled_exc(e);
            t.cancel_base(Value::None);
        }
        Err(e) if super::is_exit_exception(vm, &e) => {
            t.set_exception_raw(vm, e.clone())?;
            return Err(e);
        }
        Err(e) => t.set_exception_raw(vm, e)?,
        Ok(Exit::Yield(v)) => yielded(vm, t, v)?,
    }
    Ok(())
}

fn yielded(vm: &mut Vm, t: &NativeRc<Fut>, v: Value) -> PyResult<()> {
    let d = data(t);
    let lp = t.lp.clone();
    if let Some(f) = as_fut(&v) {
        if !Rc::ptr_eq(&f.lp, &lp) {
            let msg = format!(
                "Task {} got Future {} attached to a different loop",
                vm.repr(&t.value())?,
                vm.repr(&v)?
            );
            let e = vm.runtime_error(&msg);
            lp.call_soon(Job::Step(t.clone(), Some(e)));
        } else if f.blocking.get() {
            if Rc::ptr_eq(&f, t) {
                let msg = format!("Task cannot await on itself: {}", vm.repr(&t.value())?);
                let e = vm.runtime_error(&msg);
                lp.call_soon(Job::Step(t.clone(), Some(e)));
            } else {
                f.blocking.set(false);
                f.add_done_callback(Callback::Wakeup(t.clone()));
                *d.fut_waiter.borrow_mut() = Some(f.clone());
                if d.must_cancel.get() && future::cancel(vm, &f, t.cancel_message())? {
                    d.must_cancel.set(false);
                }
            }
        } else {
            let msg = format!(
                "yield was used instead of yield from in task {} with {}",
                vm.repr(&t.value())?,
                vm.repr(&v)?
            );
            let e = vm.runtime_error(&msg);
            lp.call_soon(Job::Step(t.clone(), Some(e)));
        }
    } else if v.is_none() {
        lp.call_soon(Job::Step(t.clone(), None));
    } else if matches!(&v, Value::Generator(g) if g.kind == GenKind::Generator) {
        let msg = format!(
            "yield was used instead of yield from for generator in task {} with {}",
            vm.repr(&t.value())?,
            vm.repr(&v)?
        );
        let e = vm.runtime_error(&msg);
        lp.call_soon(Job::Step(t.clone(), Some(e)));
    } else {
        let msg = format!("Task got bad yield: {}", vm.repr(&v)?);
        let e = vm.runtime_error(&msg);
        lp.call_soon(Job::Step(t.clone(), Some(e)));
    }
    Ok(())
}

/// `base_tasks._task_repr_info`.
pub(crate) fn repr_info(vm: &mut Vm, t: &Fut) -> PyResult<Vec<String>> {
    let d = data(t);
    let mut info = t.repr_info(vm)?;
    if d.cancelling() > 0 && !t.done() {
        info[0] = "cancelling".into();
    }
    let name = d.name();
    info.insert(1, format!("name={}", vm.repr(&name)?));
    info.insert(2, format!("coro=<{}>", format_coro(&d.coro, t.done())));
    let waiter = d.fut_waiter.borrow().clone();
    if let Some(w) = waiter {
        info.insert(3, format!("wait_for={}", vm.repr(&w.value())?));
    }
    Ok(info)
}

/// `coroutines._format_coroutine`.
fn format_coro(c: &Value, done: bool) -> String {
    match c {
        Value::Generator(g) => {
            let file = &g.code().filename;
            if done || g.state.get() == GenState::Closed {
                format!(
                    "{}() done, defined at {}:{}",
                    g.qualname(),
                    file,
                    g.code().first_line
                )
            } else if g.state.get() == GenState::Created {
                format!(
                    "{}() running at {}:{}",
                    g.qualname(),
                    file,
                    g.code().first_line
                )
            } else {
                let line = g
                    .peek_frame(|f| f.map(|f| f.current_line()))
                    .unwrap_or(g.code().first_line as usize);
                format!("{}() running at {}:{}", g.qualname(), file, line)
            }
        }
        Value::Native(n) => match n.as_any().downcast_ref::<coro::NativeCoro>() {
            Some(nc) => format!("{}() {}", nc.name(), if done { "done" } else { "running" }),
            None => match n
                .as_any()
                .downcast_ref::<crate::asyncgen::AsyncGenAwaitable>()
            {
                Some(a) => format!("<{} without __name__>()", a.type_name()),
                None => "<awaitable>".into(),
            },
        },
        _ => "<awaitable>".into(),
    }
}

/// The label of the task whose step is running `g` as its coroutine, if
/// any (for "resumed by Task-1 (main)'s step" in tracebacks).
pub fn stepping_task(vm: &Vm, g: &crate::value::GenRc) -> Option<String> {
    let sh = vm.extensions.get(super::EXT_KEY)?.clone();
    let sh = sh.downcast::<super::Shared>().ok()?;
    let task = sh.running_loop()?.current_task()?;
    let super::FutKind::Task(d) = &task.kind else {
        return None;
    };
    match &d.coro {
        Value::Generator(c) if GenRc::ptr_eq(c, g) => {
            let name = match &*d.name.borrow() {
                Value::Str(s) => s.as_str().to_string(),
                _ => format!("Task-{}", d.num),
            };
            Some(task_label(&name, &d.coro))
        }
        _ => None,
    }
}

/// A task's lane: its name and its coroutine (`Task-1 (main)`).
pub fn task_label(name: &str, coro: &crate::value::Value) -> String {
    match coro {
        crate::value::Value::Generator(g) => format!("{name} ({})", g.qualname()),
        crate::value::Value::Native(n) => {
            match n.as_any().downcast_ref::<super::coro::NativeCoro>() {
                Some(c) => format!("{name} ({})", c.name()),
                None => name.to_string(),
            }
        }
        _ => name.to_string(),
    }
}
