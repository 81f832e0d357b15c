//! Library coroutines written in Rust: `sleep`, `wait_for`, `Event.wait`,
//! `Lock.acquire`, `Queue.get`, … Each is a small state machine that
//! yields futures exactly where CPython's `async def` would `await` them,
//! so the scheduling order is the same. A `NativeCoro` behaves like a
//! coroutine object: `send`, `throw`, `close`, `__await__`, and it can be
//! the coroutine of a task.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use super::future::{self, Callback, Fut, ReturnWhen, WaitState};
use super::sync::{EventObj, LockObj, QueueObj, SemObj};
use super::{Handle, Job, Loop, Shared, group, running_loop};
use crate::value::*;
use crate::vm::Vm;

/// What the coroutine is resumed with.
pub enum Input {
    Send(Value),
    Throw(Value),
}

/// How a resumption ended (an exception is the `Err` of the result).
pub enum Step {
    Yield(Value),
    Return(Value),
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum CState {
    Created,
    Suspended,
    Running,
    Closed,
}

type Thunk = Box<dyn FnOnce(&mut Vm) -> PyResult<Value>>;
pub type StartFn = Box<dyn FnOnce(&mut Vm) -> PyResult<Machine>>;

pub enum Machine {
    Done,
    /// `sleep(0)`: yields None once.
    Sleep0 {
        result: Value,
    },
    Sleep {
        delay: f64,
        result: Value,
        fut: Option<NativeRc<Fut>>,
        handle: Option<NativeRc<Handle>>,
    },
    /// An `async def` whose body never awaits: runs at the first resume.
    Immediate(Option<Thunk>),
    /// An `async def` that checks its arguments when first resumed (as a
    /// coroutine function does, not when called) and then becomes the
    /// machine the checks return.
    Start(Option<StartFn>),
    /// `Future.__await__`.
    FutIter {
        fut: NativeRc<Fut>,
    },
    /// `await aw` of any awaitable (`wait_for(aw, None)`).
    Delegate {
        arg: Value,
        it: Option<Value>,
    },
    WaitFor(Box<WaitFor>),
    Wait(Box<Wait>),
    /// `Event.wait()`; with `join`, `Queue.join()`.
    EventWait {
        ev: NativeRc<EventObj>,
        fut: Option<NativeRc<Fut>>,
        ret: Value,
        join: Option<NativeRc<QueueObj>>,
    },
    LockAcquire {
        lock: NativeRc<LockObj>,
        fut: Option<NativeRc<Fut>>,
        ret: Value,
    },
    SemAcquire {
        sem: NativeRc<SemObj>,
        fut: Option<NativeRc<Fut>>,
        ret: Value,
    },
    QueueGet {
        q: NativeRc<QueueObj>,
        waiter: Option<NativeRc<Fut>>,
    },
    QueuePut {
        q: NativeRc<QueueObj>,
        item: Value,
        waiter: Option<NativeRc<Fut>>,
    },
    TaskGroupExit(Box<group::TgExit>),
    /// `await aw`, then `then` applied to the outcome (result or
    /// exception): `anext(it, default)`, `as_completed`'s `_wait_for_one`.
    Then {
        arg: Value,
        it: Option<Value>,
        then: Option<ThenFn>,
    },
}

/// What a `Machine::Then` does with the awaited outcome.
pub type ThenFn = Box<dyn FnOnce(&mut Vm, PyResult<Value>) -> PyResult<Value>>;

pub struct NativeCoro {
    cls: Rc<Class>,
    name: &'static str,
    state: Cell<CState>,
    m: RefCell<Machine>,
    /// For `anext(it, default)`: the `__anext__()` awaitable it wraps.
    /// CPython's anext_awaitable keeps no state of its own and hands every
    /// send, throw and close to the wrapped awaitable, so once this
    /// coroutine is finished a resume goes there (and an asend object
    /// reports its own "cannot reuse already awaited __anext__()/asend()").
    proxied: Option<Value>,
}

impl NativeCoro {
    /// `<coroutine sleep>`: the built-in coroutine's name, for `--trace`.
    pub fn trace_desc(&self) -> String {
        match self.cls.name.as_ref() {
            "FutureIter" => "<future iterator>".to_string(),
            _ => format!("<coroutine {}>", self.name),
        }
    }

    pub fn make(sh: &Shared, name: &'static str, m: Machine) -> Value {
        let cls = if matches!(m, Machine::FutIter { .. }) {
            sh.cls.future_iter.clone()
        } else {
            sh.cls.coroutine.clone()
        };
        Value::Native(
            NativeBox::new(NativeCoro {
                cls,
                name,
                state: Cell::new(CState::Created),
                m: RefCell::new(m),
                proxied: None,
            })
            .into(),
        )
    }

    /// `anext(it, default)`: awaits `aw` (the `__anext__()` awaitable) and
    /// returns `then(outcome)`; after it finishes, resumes go to `aw`.
    pub fn anext_default(sh: &Shared, aw: Value, then: ThenFn) -> Value {
        Value::Native(
            NativeBox::new(NativeCoro {
                cls: sh.cls.coroutine.clone(),
                name: "anext",
                state: Cell::new(CState::Created),
                m: RefCell::new(Machine::Then {
                    arg: aw.clone(),
                    it: None,
                    then: Some(then),
                }),
                proxied: Some(aw),
            })
            .into(),
        )
    }

    /// A coroutine that returns `v` at once.
    pub fn immediate(sh: &Shared, name: &'static str, v: Value) -> Value {
        NativeCoro::make(sh, name, Machine::Immediate(Some(Box::new(move |_| Ok(v)))))
    }

    /// A coroutine whose body is `f`, run at the first resume.
    pub fn thunk(
        sh: &Shared,
        name: &'static str,
        f: impl FnOnce(&mut Vm) -> PyResult<Value> + 'static,
    ) -> Value {
        NativeCoro::make(sh, name, Machine::Immediate(Some(Box::new(f))))
    }

    /// A coroutine that awaits `aw` and returns `then(outcome)`.
    pub fn then(sh: &Shared, name: &'static str, aw: Value, then: ThenFn) -> Value {
        NativeCoro::make(
            sh,
            name,
            Machine::Then {
                arg: aw,
                it: None,
                then: Some(then),
            },
        )
    }

    pub fn name(&self) -> &'static str {
        self.name
    }

    pub fn resume(&self, vm: &mut Vm, input: Input) -> PyResult<Step> {
        let first = match self.state.get() {
            CState::Running => {
                return Err(vm.value_error("coroutine already executing"));
            }
            CState::Closed => {
                if let Some(aw) = &self.proxied {
                    let it = vm.get_awaitable(aw.clone())?;
                    return super::task::resume_any(vm, &it, input).map(|e| match e {
                        crate::resume::Exit::Yield(v) => Step::Yield(v),
                        crate::resume::Exit::Return(v) => Step::Return(v),
                    });
                }
                return Err(vm.runtime_error("cannot reuse already awaited coroutine"));
            }
            CState::Created => {
                match input {
                    Input::Send(ref v) if !v.is_none() => {
                        return Err(
                            vm.type_error("can't send non-None value to a just-started coroutine")
                        );
                    }
                    // anext(it, default) throws into the wrapped awaitable
                    // even before it has started (its `then` sees the outcome).
                    Input::Throw(_) if self.proxied.is_some() => {}
                    Input::Throw(e) => {
                        self.finish();
                        return Err(e);
                    }
                    Input::Send(_) => {}
                }
                true
            }
            CState::Suspended => false,
        };
        self.state.set(CState::Running);
        let r = match self.m.try_borrow_mut() {
            Ok(mut m) => m.step(vm, first, input),
            Err(_) => Err(vm.value_error("coroutine already executing")),
        };
        match &r {
            Ok(Step::Yield(_)) => self.state.set(CState::Suspended),
            _ => self.finish(),
        }
        r
    }

    fn finish(&self) {
        self.state.set(CState::Closed);
        if let Ok(mut m) = self.m.try_borrow_mut() {
            let old = std::mem::replace(&mut *m, Machine::Done);
            drop(m);
            drop(old);
        }
    }

    /// `coro.close()`: GeneratorExit thrown in at the suspension point.
    pub fn close(&self, vm: &mut Vm) -> PyResult<()> {
        match self.state.get() {
            CState::Created => {
                self.finish();
                // anext(it, default) closes the awaitable it wraps.
                if let Some(aw) = &self.proxied {
                    let it = vm.get_awaitable(aw.clone())?;
                    vm.call_method(&it, "close", vec![])?;
                }
                Ok(())
            }
            CState::Closed => Ok(()),
            CState::Running => Err(vm.value_error("coroutine already executing")),
            CState::Suspended => {
                let exit = vm.new_exc(&vm.exc.generator_exit.clone(), "");
                match self.resume(vm, Input::Throw(exit)) {
                    Ok(Step::Yield(_)) => Err(vm.runtime_error("coroutine ignored GeneratorExit")),
                    Ok(Step::Return(_)) => Ok(()),
                    Err(e) if vm.is_instance_of(&e, &vm.exc.generator_exit.clone()) => Ok(()),
                    Err(e) => Err(e),
                }
            }
        }
    }
}

impl NativeObject for NativeCoro {
    fn class(&self, _vm: &Vm) -> Rc<Class> {
        self.cls.clone()
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
    fn repr(&self, _vm: &mut Vm) -> PyResult<Option<String>> {
        let addr = self as *const NativeCoro as usize;
        if self.cls.name.as_ref() == "FutureIter" {
            return Ok(Some(format!("<_asyncio.FutureIter object at {addr:#x}>")));
        }
        Ok(Some(format!(
            "<coroutine object {} at {addr:#x}>",
            self.name
        )))
    }
}

/// `asyncio.iscoroutine(x)`.
pub fn is_coroutine(v: &Value) -> bool {
    match v {
        Value::Generator(g) => g.kind == GenKind::Coroutine,
        // asend()/athrow()/aclose() awaitables are coroutines to
        // `collections.abc.Coroutine` (send, throw, close, __await__).
        Value::Native(n) => {
            n.as_any()
                .downcast_ref::<NativeCoro>()
                .is_some_and(|c| c.cls.name.as_ref() != "FutureIter")
                || n.as_any().is::<crate::asyncgen::AsyncGenAwaitable>()
        }
        _ => false,
    }
}

/// `asyncio.iscoroutine` (3.11), which decides what a task may drive:
/// coroutines, plain generators (`types.GeneratorType` is among
/// `coroutines._COROUTINE_TYPES`; `as_completed`'s native iterator stands
/// for the generator CPython's is) and whatever `collections.abc.Coroutine`
/// accepts: instances whose class defines `__await__`, `send`, `throw` and
/// `close`.
pub fn is_asyncio_coroutine(vm: &mut Vm, v: &Value) -> bool {
    match v {
        Value::Generator(g) => g.kind != GenKind::AsyncGenerator,
        Value::Instance(_) => {
            let cls = vm.type_of(v);
            ["__await__", "send", "throw", "close"]
                .iter()
                .all(|m| vm.class_lookup(&cls, m).is_some_and(|f| !f.is_none()))
        }
        _ => is_coroutine(v) || vm.type_name(v) == "generator",
    }
}

fn blocking(f: &NativeRc<Fut>) -> Step {
    f.blocking.set(true);
    Step::Yield(f.value())
}

/// What `await fut` evaluates to once the task resumes the coroutine.
fn await_result(vm: &mut Vm, fut: &NativeRc<Fut>, input: Input) -> PyResult<Value> {
    match input {
        Input::Throw(e) => Err(e),
        Input::Send(_) => {
            if !fut.done() {
                return Err(vm.runtime_error("await wasn't used with future"));
            }
            fut.result(vm)
        }
    }
}

fn is_cancelled_error(vm: &Vm, e: &Value, lp: &Loop) -> bool {
    vm.is_instance_of(e, &lp.shared.cls.cancelled_error)
}

/// Removes the first occurrence of `f` (by identity) from a deque.
pub(crate) fn remove_fut(
    q: &mut std::collections::VecDeque<NativeRc<Fut>>,
    f: &NativeRc<Fut>,
) -> bool {
    match q.iter().position(|x| Rc::ptr_eq(x, f)) {
        Some(i) => {
            q.remove(i);
            true
        }
        None => false,
    }
}

impl Machine {
    fn step(&mut self, vm: &mut Vm, first: bool, input: Input) -> PyResult<Step> {
        match self {
            Machine::Done => Err(vm.runtime_error("cannot reuse already awaited coroutine")),
            Machine::Sleep0 { result } => {
                if first {
                    return Ok(Step::Yield(Value::None));
                }
                match input {
                    Input::Send(_) => Ok(Step::Return(result.clone())),
                    Input::Throw(e) => Err(e),
                }
            }
            Machine::Sleep {
                delay,
                result,
                fut,
                handle,
            } => {
                if first {
                    let lp = running_loop(vm)?;
                    let f = lp.create_future();
                    let h = lp.call_later(
                        vm,
                        *delay,
                        Job::SetResultUnlessCancelled(f.clone(), result.clone()),
                        Value::None,
                    );
                    *fut = Some(f.clone());
                    *handle = Some(h);
                    return Ok(blocking(&f));
                }
                let Some(f) = fut.clone() else {
                    return Err(vm.runtime_error("sleep resumed before it started"));
                };
                let r = await_result(vm, &f, input);
                if let Some(h) = handle.take() {
                    h.cancel();
                }
                r.map(Step::Return)
            }
            Machine::Start(f) => match f.take() {
                Some(f) => {
                    *self = f(vm)?;
                    self.step(vm, true, input)
                }
                None => Err(vm.runtime_error("cannot reuse already awaited coroutine")),
            },
            Machine::Immediate(f) => match f.take() {
                Some(f) => f(vm).map(Step::Return),
                None => Err(vm.runtime_error("cannot reuse already awaited coroutine")),
            },
            Machine::FutIter { fut } => {
                let fut = fut.clone();
                if first {
                    if !fut.done() {
                        return Ok(blocking(&fut));
                    }
                    return fut.result(vm).map(Step::Return);
                }
                await_result(vm, &fut, input).map(Step::Return)
            }
            Machine::Delegate { arg, it } => {
                if first {
                    *it = Some(vm.get_awaitable(arg.clone())?);
                }
                let Some(inner) = it.clone() else {
                    return Err(vm.runtime_error("await resumed before it started"));
                };
                let input = if first {
                    Input::Send(Value::None)
                } else {
                    input
                };
                Ok(match super::task::resume_any(vm, &inner, input)? {
                    crate::resume::Exit::Yield(v) => Step::Yield(v),
                    crate::resume::Exit::Return(v) => Step::Return(v),
                })
            }
            Machine::Then { arg, it, then } => {
                if first {
                    *it = Some(vm.get_awaitable(arg.clone())?);
                }
                let Some(inner) = it.clone() else {
                    return Err(vm.runtime_error("await resumed before it started"));
                };
                // The first resume sends None into the awaitable, or throws
                // what anext(it, default).throw() was given.
                let input = match input {
                    Input::Send(_) if first => Input::Send(Value::None),
                    input => input,
                };
                let outcome = match super::task::resume_any(vm, &inner, input) {
                    Ok(crate::resume::Exit::Yield(v)) => return Ok(Step::Yield(v)),
                    Ok(crate::resume::Exit::Return(v)) => Ok(v),
                    Err(e) => Err(e),
                };
                let Some(f) = then.take() else {
                    return Err(vm.runtime_error("cannot reuse already awaited coroutine"));
                };
                f(vm, outcome).map(Step::Return)
            }
            Machine::WaitFor(w) => w.step(vm, first, input),
            Machine::Wait(w) => w.step(vm, first, input),
            Machine::EventWait { ev, fut, ret, join } => {
                if first {
                    if let Some(q) = join
                        && q.unfinished() <= 0
                    {
                        return Ok(Step::Return(Value::None));
                    }
                    if ev.is_set() {
                        return Ok(Step::Return(ret.clone()));
                    }
                    let lp = running_loop(vm)?;
                    let f = lp.create_future();
                    ev.waiters.borrow_mut().push_back(f.clone());
                    *fut = Some(f.clone());
                    return Ok(blocking(&f));
                }
                let Some(f) = fut.take() else {
                    return Err(vm.runtime_error("wait resumed before it started"));
                };
                let r = await_result(vm, &f, input);
                remove_fut(&mut ev.waiters.borrow_mut(), &f);
                r?;
                Ok(Step::Return(ret.clone()))
            }
            Machine::LockAcquire { lock, fut, ret } => {
                if first {
                    if lock.try_acquire_now() {
                        return Ok(Step::Return(ret.clone()));
                    }
                    let lp = running_loop(vm)?;
                    let f = lp.create_future();
                    lock.waiters.borrow_mut().push_back(f.clone());
                    *fut = Some(f.clone());
                    return Ok(blocking(&f));
                }
                let Some(f) = fut.take() else {
                    return Err(vm.runtime_error("acquire resumed before it started"));
                };
                let r = await_result(vm, &f, input);
                remove_fut(&mut lock.waiters.borrow_mut(), &f);
                match r {
                    Err(e) if is_cancelled_error(vm, &e, &f.lp) => {
                        if !lock.locked.get() {
                            lock.wake_up_first(vm)?;
                        }
                        Err(e)
                    }
                    Err(e) => Err(e),
                    Ok(_) => {
                        lock.locked.set(true);
                        Ok(Step::Return(ret.clone()))
                    }
                }
            }
            Machine::SemAcquire { sem, fut, ret } => {
                if first {
                    if !sem.locked() {
                        sem.value.set(sem.value.get() - 1);
                        return Ok(Step::Return(ret.clone()));
                    }
                    let lp = running_loop(vm)?;
                    let f = lp.create_future();
                    sem.waiters.borrow_mut().push_back(f.clone());
                    *fut = Some(f.clone());
                    return Ok(blocking(&f));
                }
                let Some(f) = fut.take() else {
                    return Err(vm.runtime_error("acquire resumed before it started"));
                };
                let r = await_result(vm, &f, input);
                remove_fut(&mut sem.waiters.borrow_mut(), &f);
                match r {
                    Err(e) if is_cancelled_error(vm, &e, &f.lp) => {
                        if !f.cancelled() {
                            sem.value.set(sem.value.get() + 1);
                            sem.wake_up_next(vm)?;
                        }
                        Err(e)
                    }
                    Err(e) => Err(e),
                    Ok(_) => {
                        if sem.value.get() > 0 {
                            sem.wake_up_next(vm)?;
                        }
                        Ok(Step::Return(ret.clone()))
                    }
                }
            }
            Machine::QueueGet { q, waiter } => {
                if !first {
                    let Some(g) = waiter.take() else {
                        return Err(vm.runtime_error("get resumed before it started"));
                    };
                    if let Err(e) = await_result(vm, &g, input) {
                        g.cancel_base(Value::None);
                        remove_fut(&mut q.getters.borrow_mut(), &g);
                        if !q.empty() && !g.cancelled() {
                            q.wakeup_next_getter(vm)?;
                        }
                        return Err(e);
                    }
                }
                if q.empty() {
                    let lp = running_loop(vm)?;
                    let g = lp.create_future();
                    q.getters.borrow_mut().push_back(g.clone());
                    *waiter = Some(g.clone());
                    return Ok(blocking(&g));
                }
                q.get_nowait(vm).map(Step::Return)
            }
            Machine::QueuePut { q, item, waiter } => {
                if !first {
                    let Some(p) = waiter.take() else {
                        return Err(vm.runtime_error("put resumed before it started"));
                    };
                    if let Err(e) = await_result(vm, &p, input) {
                        p.cancel_base(Value::None);
                        remove_fut(&mut q.putters.borrow_mut(), &p);
                        if !q.full() && !p.cancelled() {
                            q.wakeup_next_putter(vm)?;
                        }
                        return Err(e);
                    }
                }
                if q.full() {
                    let lp = running_loop(vm)?;
                    let p = lp.create_future();
                    q.putters.borrow_mut().push_back(p.clone());
                    *waiter = Some(p.clone());
                    return Ok(blocking(&p));
                }
                let item = std::mem::replace(item, Value::None);
                q.put_nowait(vm, item)?;
                Ok(Step::Return(Value::None))
            }
            Machine::TaskGroupExit(s) => group::tg_exit_step(vm, s, first, input),
        }
    }
}

// ---- wait_for ---------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq)]
enum WfStage {
    Waiting,
    /// `_cancel_and_wait` after the timeout: then TimeoutError.
    CancelAfterTimeout,
    /// `_cancel_and_wait` because wait_for itself was cancelled.
    CancelAfterCancel,
    /// `_cancel_and_wait` of the `timeout <= 0` path.
    CancelZero,
}

pub struct WaitFor {
    arg: Value,
    timeout: f64,
    stage: WfStage,
    fut: Option<NativeRc<Fut>>,
    waiter: Option<NativeRc<Fut>>,
    handle: Option<NativeRc<Handle>>,
    /// The waiter of `_cancel_and_wait`.
    cw: Option<NativeRc<Fut>>,
    /// The CancelledError to re-raise after `_cancel_and_wait`.
    pending: Value,
}

impl WaitFor {
    pub fn new(arg: Value, timeout: f64) -> WaitFor {
        WaitFor {
            arg,
            timeout,
            stage: WfStage::Waiting,
            fut: None,
            waiter: None,
            handle: None,
            cw: None,
            pending: Value::None,
        }
    }

    fn cancel_handle(&mut self) {
        if let Some(h) = self.handle.take() {
            h.cancel();
        }
    }

    /// `_cancel_and_wait(fut)`, up to its `await waiter`.
    fn start_cancel_and_wait(&mut self, vm: &mut Vm, stage: WfStage) -> PyResult<Step> {
        let Some(fut) = self.fut.clone() else {
            return Err(vm.runtime_error("wait_for without a future"));
        };
        let cw = fut.lp.create_future();
        fut.add_done_callback(Callback::ReleaseWaiter(cw.clone()));
        let r = future::cancel(vm, &fut, Value::None);
        if let Err(e) = r {
            fut.remove_callbacks(|c| matches!(c, Callback::ReleaseWaiter(w) if Rc::ptr_eq(w, &cw)));
            return Err(e);
        }
        self.stage = stage;
        self.cw = Some(cw.clone());
        if cw.done() {
            return self.step(vm, false, Input::Send(Value::None));
        }
        Ok(blocking(&cw))
    }

    /// `fut.result()`, with CancelledError turned into TimeoutError.
    fn result_or_timeout(&self, vm: &mut Vm, fut: &NativeRc<Fut>) -> PyResult<Step> {
        match fut.result(vm) {
            Ok(v) => Ok(Step::Return(v)),
            Err(e) if is_cancelled_error(vm, &e, &fut.lp) => {
                let te = vm.new_exc_args(&fut.lp.shared.cls.timeout_error, vec![]);
                set_cause(&te, &e);
                Err(te)
            }
            Err(e) => Err(e),
        }
    }

    fn step(&mut self, vm: &mut Vm, first: bool, input: Input) -> PyResult<Step> {
        if first {
            let lp = running_loop(vm)?;
            if self.timeout <= 0.0 {
                let fut = future::ensure_future(vm, &self.arg, Some(&lp))?;
                if fut.done() {
                    return fut.result(vm).map(Step::Return);
                }
                self.fut = Some(fut);
                return self.start_cancel_and_wait(vm, WfStage::CancelZero);
            }
            let waiter = lp.create_future();
            let h = lp.call_later(
                vm,
                self.timeout,
                Job::ReleaseWaiter(waiter.clone()),
                Value::None,
            );
            self.handle = Some(h);
            let fut = future::ensure_future(vm, &self.arg, Some(&lp))?;
            fut.add_done_callback(Callback::ReleaseWaiter(waiter.clone()));
            self.fut = Some(fut);
            self.waiter = Some(waiter.clone());
            self.stage = WfStage::Waiting;
            if waiter.done() {
                return self.step(vm, false, Input::Send(Value::None));
            }
            return Ok(blocking(&waiter));
        }
        let Some(fut) = self.fut.clone() else {
            return Err(vm.runtime_error("wait_for resumed before it started"));
        };
        let remove_cb = |fut: &NativeRc<Fut>, w: &Option<NativeRc<Fut>>| {
            if let Some(w) = w {
                fut.remove_callbacks(
                    |c| matches!(c, Callback::ReleaseWaiter(x) if Rc::ptr_eq(x, w)),
                );
            }
        };
        match self.stage {
            WfStage::Waiting => {
                let Some(waiter) = self.waiter.clone() else {
                    return Err(vm.runtime_error("wait_for without a waiter"));
                };
                match await_result(vm, &waiter, input) {
                    Err(e) if is_cancelled_error(vm, &e, &fut.lp) => {
                        if fut.done() {
                            self.cancel_handle();
                            return fut.result(vm).map(Step::Return);
                        }
                        remove_cb(&fut, &self.waiter);
                        self.pending = e;
                        match self.start_cancel_and_wait(vm, WfStage::CancelAfterCancel) {
                            Ok(s) => Ok(s),
                            Err(e) => {
                                self.cancel_handle();
                                Err(e)
                            }
                        }
                    }
                    Err(e) => {
                        self.cancel_handle();
                        Err(e)
                    }
                    Ok(_) => {
                        if fut.done() {
                            self.cancel_handle();
                            return fut.result(vm).map(Step::Return);
                        }
                        remove_cb(&fut, &self.waiter);
                        match self.start_cancel_and_wait(vm, WfStage::CancelAfterTimeout) {
                            Ok(s) => Ok(s),
                            Err(e) => {
                                self.cancel_handle();
                                Err(e)
                            }
                        }
                    }
                }
            }
            stage => {
                let Some(cw) = self.cw.take() else {
                    return Err(vm.runtime_error("wait_for without a waiter"));
                };
                let r = await_result(vm, &cw, input);
                remove_cb(&fut, &Some(cw));
                if let Err(e) = r {
                    self.cancel_handle();
                    return Err(e);
                }
                self.cancel_handle();
                match stage {
                    WfStage::CancelAfterCancel => {
                        Err(std::mem::replace(&mut self.pending, Value::None))
                    }
                    _ => self.result_or_timeout(vm, &fut),
                }
            }
        }
    }
}

/// `raise new from cause` (inside the handler of `cause`).
pub(crate) fn set_cause(new: &Value, cause: &Value) {
    if let Value::Instance(i) = new {
        let mut d = i.dict.borrow_mut();
        d.insert(Rc::from("__cause__"), cause.clone());
        d.insert(Rc::from("__context__"), cause.clone());
        d.insert(Rc::from("__suppress_context__"), Value::Bool(true));
    }
}

// ---- wait -------------------------------------------------------------------

pub struct Wait {
    fs: Vec<NativeRc<Fut>>,
    timeout: Option<f64>,
    return_when: ReturnWhen,
    st: Option<Rc<WaitState>>,
}

impl Wait {
    pub fn new(fs: Vec<NativeRc<Fut>>, timeout: Option<f64>, return_when: ReturnWhen) -> Wait {
        Wait {
            fs,
            timeout,
            return_when,
            st: None,
        }
    }

    fn finish(&mut self, vm: &mut Vm) -> PyResult<Step> {
        if let Some(st) = &self.st {
            if let Some(h) = st.timeout_handle.borrow().as_ref() {
                h.cancel();
            }
            for f in &self.fs {
                f.remove_callbacks(
                    |c| matches!(c, Callback::WaitCompletion(s) if Rc::ptr_eq(s, st)),
                );
            }
        }
        let mut done = Vec::new();
        let mut pending = Vec::new();
        for f in &self.fs {
            if f.done() {
                done.push(f.value());
            } else {
                pending.push(f.value());
            }
        }
        let mk = |vm: &mut Vm, items: Vec<Value>| -> PyResult<Value> {
            let set = vm.call(
                &Value::Class(vm.types.set.clone()),
                vec![Value::list(items)],
            )?;
            Ok(set)
        };
        let d = mk(vm, done)?;
        let p = mk(vm, pending)?;
        Ok(Step::Return(Value::tuple(vec![d, p])))
    }

    fn step(&mut self, vm: &mut Vm, first: bool, input: Input) -> PyResult<Step> {
        if first {
            let lp = running_loop(vm)?;
            let waiter = lp.create_future();
            let st = Rc::new(WaitState {
                waiter: waiter.clone(),
                counter: Cell::new(self.fs.len()),
                return_when: self.return_when,
                timeout_handle: RefCell::new(None),
            });
            if let Some(t) = self.timeout {
                let h = lp.call_later(vm, t, Job::ReleaseWaiter(waiter.clone()), Value::None);
                *st.timeout_handle.borrow_mut() = Some(h);
            }
            for f in &self.fs {
                f.add_done_callback(Callback::WaitCompletion(st.clone()));
            }
            self.st = Some(st);
            return Ok(blocking(&waiter));
        }
        let Some(st) = self.st.clone() else {
            return Err(vm.runtime_error("wait resumed before it started"));
        };
        let r = await_result(vm, &st.waiter, input);
        match r {
            Ok(_) => self.finish(vm),
            Err(e) => {
                let _ = self.finish(vm);
                Err(e)
            }
        }
    }
}

// ---- the coroutine type's methods ----------------------------------------------

fn this(vm: &Vm, args: &[Value], what: &str) -> PyResult<NativeHandle> {
    match args.first() {
        Some(Value::Native(n)) if n.as_any().is::<NativeCoro>() => Ok(n.clone()),
        _ => Err(vm.type_error(&format!(
            "descriptor '{what}' requires a 'coroutine' object"
        ))),
    }
}

fn nc(n: &NativeHandle) -> &NativeCoro {
    match n.as_any().downcast_ref::<NativeCoro>() {
        Some(c) => c,
        None => unreachable!("checked by this()"),
    }
}

fn step_to_value(vm: &Vm, s: Step) -> PyResult<Value> {
    match s {
        Step::Yield(v) => Ok(v),
        Step::Return(v) => Err(vm.new_stop_iteration(v)),
    }
}

fn m_send(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let n = this(vm, args, "send")?;
    if args.len() != 2 {
        return Err(vm.type_error(&format!(
            "coroutine.send() takes exactly one argument ({} given)",
            args.len() - 1
        )));
    }
    let s = nc(&n).resume(vm, Input::Send(args[1].clone()))?;
    step_to_value(vm, s)
}

fn m_next(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let n = this(vm, args, "__next__")?;
    let s = nc(&n).resume(vm, Input::Send(Value::None))?;
    step_to_value(vm, s)
}

fn m_throw(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let n = this(vm, args, "throw")?;
    if args.len() < 2 || args.len() > 4 {
        return Err(vm.type_error(&format!(
            "throw expected at least 1 argument, got {}",
            args.len() - 1
        )));
    }
    let exc = vm.throw_args(&args[1..])?;
    let s = nc(&n).resume(vm, Input::Throw(exc))?;
    step_to_value(vm, s)
}

fn m_close(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let n = this(vm, args, "close")?;
    nc(&n).close(vm)?;
    Ok(Value::None)
}

fn m_self(_vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    Ok(args.first().cloned().unwrap_or(Value::None))
}

/// `sleep(0)` awaited: yields None once, then finishes with None. A native
/// iterator finishes without a StopIteration object, which keeps the
/// hottest await of a scheduler-bound program cheap.
struct Sleep0Iter {
    yielded: bool,
}

impl NativeIter for Sleep0Iter {
    fn type_name(&self) -> &'static str {
        "sleep0_iterator"
    }
    fn next(&mut self, _vm: &mut Vm) -> PyResult<Option<Value>> {
        if self.yielded {
            return Ok(None);
        }
        self.yielded = true;
        Ok(Some(Value::None))
    }
}

fn m_await(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let n = this(vm, args, "__await__")?;
    let c = nc(&n);
    if c.state.get() == CState::Created
        && let Ok(m) = c.m.try_borrow()
        && matches!(&*m, Machine::Sleep0 { result } if result.is_none())
    {
        drop(m);
        c.finish();
        return Ok(vm.new_iter(IterState::Native(Box::new(Sleep0Iter { yielded: false }))));
    }
    Ok(args[0].clone())
}

pub(crate) fn install(vm: &Vm, cls: &Rc<Class>, future_iter: bool) {
    vm.add_method(cls, "send", m_send);
    vm.add_method(cls, "throw", m_throw);
    vm.add_method(cls, "close", m_close);
    vm.add_method(cls, "__next__", m_next);
    if future_iter {
        vm.add_method(cls, "__await__", m_self);
        vm.add_method(cls, "__iter__", m_self);
    } else {
        vm.add_method(cls, "__await__", m_await);
    }
}
