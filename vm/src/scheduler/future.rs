//! Futures (`asyncio.Future`, and the future half of tasks and of
//! `gather`'s outer future), their done-callbacks, `gather` and `shield`.

use rustc_hash::FxHashMap as HashMap;
use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};

use super::task::TaskData;
use super::{Job, Loop, group, task};
use crate::value::*;
use crate::vm::Vm;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum FutState {
    Pending,
    Cancelled,
    Finished,
}

impl FutState {
    pub fn name(self) -> &'static str {
        match self {
            FutState::Pending => "PENDING",
            FutState::Cancelled => "CANCELLED",
            FutState::Finished => "FINISHED",
        }
    }
}

/// What kind of future: a plain one, a task, or `gather`'s outer future.
pub enum FutKind {
    Plain,
    Task(Box<TaskData>),
    Gather(Rc<GatherState>),
}

/// A done-callback. The loop's own callbacks are native so that they cost
/// no Python objects.
#[derive(Clone)]
pub enum Callback {
    /// `Task.__wakeup`.
    Wakeup(NativeRc<Fut>),
    /// A callable a program added, with the context it runs in (a copy of
    /// the current one when it was added, or `add_done_callback`'s
    /// `context=`); None for the library's own Python-level callbacks.
    Py(Value, Option<NativeRc<crate::contextvars::Context>>),
    /// `gather`'s `_done_callback`.
    Gather(Rc<GatherState>),
    /// `functools.partial(_release_waiter, waiter)`.
    ReleaseWaiter(NativeRc<Fut>),
    /// `_run_until_complete_cb`.
    StopLoop,
    /// `TaskGroup._on_task_done`.
    TaskGroupDone(NativeRc<group::TaskGroupObj>),
    /// `shield`'s `_inner_done_callback(inner)`, holding the outer future.
    ShieldInner(NativeRc<Fut>),
    /// `shield`'s `_outer_done_callback(outer)`, holding the inner future.
    ShieldOuter(NativeRc<Fut>),
    /// `wait`'s `_on_completion`.
    WaitCompletion(Rc<WaitState>),
}

pub struct Fut {
    me: Weak<NativeBox<Fut>>,
    pub lp: NativeRc<Loop>,
    state: Cell<FutState>,
    /// The result, or the exception when `has_exc`.
    value: RefCell<Value>,
    has_exc: Cell<bool>,
    callbacks: RefCell<Vec<Callback>>,
    cancel_message: RefCell<Value>,
    cancelled_exc: RefCell<Value>,
    pub(crate) blocking: Cell<bool>,
    /// `__log_traceback`: an exception was set and nobody has asked for it
    /// yet; dropping the future then reports it (`drop_reports.rs`).
    pub(crate) log_tb: Cell<bool>,
    gc_mark: crate::tracking::Mark,
    pub kind: FutKind,
}

impl Drop for Fut {
    /// `Future.__del__`: an exception nobody retrieved is reported.
    fn drop(&mut self) {
        if self.log_tb.get() {
            let copy = self.resurrect();
            crate::drop_reports::later(move |vm| log_unretrieved(vm, &copy));
        }
    }
}

impl Fut {
    /// A finished copy of a dropped future that never had its exception
    /// retrieved, so that the report can show it (`__del__` resurrects
    /// the future the same way). Takes the task data out of `self`.
    pub(crate) fn resurrect(&mut self) -> NativeRc<Fut> {
        let kind = std::mem::replace(&mut self.kind, FutKind::Plain);
        let f = Fut::untracked(&self.lp, kind);
        *f.value.borrow_mut() = std::mem::replace(self.value.get_mut(), Value::None);
        f.has_exc.set(self.has_exc.get());
        f.state.set(self.state.get());
        f
    }

    /// A new future, tracked by the cycle collector (a task's coroutine
    /// often holds its own task; a callback often holds its future).
    pub fn new(lp: &NativeRc<Loop>, kind: FutKind) -> NativeRc<Fut> {
        let f = Fut::untracked(lp, kind);
        crate::tracking::track(&Value::Native(f.clone().into()));
        f
    }

    fn untracked(lp: &NativeRc<Loop>, kind: FutKind) -> NativeRc<Fut> {
        NativeBox::new_cyclic(|me| Fut {
            me: me.clone(),
            lp: lp.clone(),
            state: Cell::new(FutState::Pending),
            value: RefCell::new(Value::None),
            has_exc: Cell::new(false),
            callbacks: RefCell::new(Vec::new()),
            cancel_message: RefCell::new(Value::None),
            cancelled_exc: RefCell::new(Value::None),
            blocking: Cell::new(false),
            log_tb: Cell::new(false),
            gc_mark: Default::default(),
            kind,
        })
    }

    pub fn rc(&self) -> NativeRc<Fut> {
        match self.me.upgrade() {
            Some(f) => f,
            None => unreachable!("a future is always owned by an Rc"),
        }
    }

    pub fn value(&self) -> Value {
        Value::Native(self.rc().into())
    }

    /// A task's `context=`, given after it was made.
    pub(crate) fn set_task_context(&self, ctx: NativeRc<crate::contextvars::Context>) {
        if let Some(d) = self.task_data() {
            *d.context.borrow_mut() = Some(ctx);
        }
    }

    pub fn task_data(&self) -> Option<&TaskData> {
        match &self.kind {
            FutKind::Task(d) => Some(d),
            _ => None,
        }
    }

    pub fn is_task(&self) -> bool {
        matches!(self.kind, FutKind::Task(_))
    }

    pub fn state(&self) -> FutState {
        self.state.get()
    }
    pub fn done(&self) -> bool {
        self.state.get() != FutState::Pending
    }
    pub fn cancelled(&self) -> bool {
        self.state.get() == FutState::Cancelled
    }
    pub fn cancel_message(&self) -> Value {
        self.cancel_message.borrow().clone()
    }
    pub(crate) fn set_cancel_message(&self, msg: Value) {
        *self.cancel_message.borrow_mut() = msg;
    }
    pub(crate) fn set_cancelled_exc(&self, e: Value) {
        *self.cancelled_exc.borrow_mut() = e;
    }

    /// `_make_cancelled_error`: the saved CancelledError (once), else a new
    /// one carrying the cancel message.
    pub fn make_cancelled_error(&self, vm: &Vm) -> Value {
        let saved = std::mem::replace(&mut *self.cancelled_exc.borrow_mut(), Value::None);
        if !saved.is_none() {
            return saved;
        }
        let cls = self.lp.shared.cls.cancelled_error.clone();
        let msg = self.cancel_message.borrow().clone();
        if msg.is_none() {
            vm.new_exc_args(&cls, vec![])
        } else {
            vm.new_exc_args(&cls, vec![msg])
        }
    }

    pub fn result(&self, vm: &Vm) -> PyResult<Value> {
        match self.state.get() {
            FutState::Cancelled => Err(self.make_cancelled_error(vm)),
            FutState::Pending => Err(vm.new_exc(
                &self.lp.shared.cls.invalid_state_error,
                "Result is not set.",
            )),
            FutState::Finished => {
                self.log_tb.set(false);
                let v = self.value.borrow().clone();
                if self.has_exc.get() { Err(v) } else { Ok(v) }
            }
        }
    }

    pub fn exception(&self, vm: &Vm) -> PyResult<Value> {
        match self.state.get() {
            FutState::Cancelled => Err(self.make_cancelled_error(vm)),
            FutState::Pending => Err(vm.new_exc(
                &self.lp.shared.cls.invalid_state_error,
                "Exception is not set.",
            )),
            FutState::Finished => Ok(if self.has_exc.get() {
                self.log_tb.set(false);
                self.value.borrow().clone()
            } else {
                Value::None
            }),
        }
    }

    pub fn add_done_callback(&self, cb: Callback) {
        if self.done() {
            self.lp.call_soon(Job::Callback(cb, self.rc()));
        } else {
            self.callbacks.borrow_mut().push(cb);
        }
    }

    /// Removes every callback `pred` matches; returns how many.
    pub fn remove_callbacks(&self, pred: impl Fn(&Callback) -> bool) -> usize {
        let mut cbs = self.callbacks.borrow_mut();
        let before = cbs.len();
        cbs.retain(|c| !pred(c));
        before - cbs.len()
    }

    pub fn callback_count(&self) -> usize {
        self.callbacks.borrow().len()
    }

    pub fn callback_at(&self, i: usize) -> Option<Callback> {
        self.callbacks.borrow().get(i).cloned()
    }

    /// Removes the callbacks whose position is true in `mask`.
    pub fn remove_callbacks_by_mask(&self, mask: &[bool]) -> usize {
        let mut cbs = self.callbacks.borrow_mut();
        let before = cbs.len();
        let mut i = 0;
        cbs.retain(|_| {
            let keep = !mask.get(i).copied().unwrap_or(false);
            i += 1;
            keep
        });
        before - cbs.len()
    }

    fn schedule_callbacks(&self) {
        let cbs = std::mem::take(&mut *self.callbacks.borrow_mut());
        if cbs.is_empty() {
            return;
        }
        let me = self.rc();
        for cb in cbs {
            self.lp.call_soon(Job::Callback(cb, me.clone()));
        }
    }

    fn became_done(&self) {
        if self.is_task() {
            self.lp.unregister_task(self);
        }
        self.schedule_callbacks();
    }

    fn invalid_state(&self, vm: &mut Vm) -> Value {
        let r = vm.repr(&self.value()).unwrap_or_default();
        let msg = format!("{}: {}", self.state.get().name(), r);
        vm.new_exc(&self.lp.shared.cls.invalid_state_error, &msg)
    }

    /// `Future.set_result` (tasks use it for their own result).
    pub fn set_result(&self, vm: &mut Vm, v: Value) -> PyResult<()> {
        if self.done() {
            return Err(self.invalid_state(vm));
        }
        *self.value.borrow_mut() = v;
        self.has_exc.set(false);
        self.state.set(FutState::Finished);
        self.became_done();
        Ok(())
    }

    /// `Future.set_exception` without the argument checks.
    pub fn set_exception_raw(&self, vm: &mut Vm, e: Value) -> PyResult<()> {
        if self.done() {
            return Err(self.invalid_state(vm));
        }
        *self.value.borrow_mut() = e;
        self.has_exc.set(true);
        self.log_tb.set(true);
        self.state.set(FutState::Finished);
        self.became_done();
        Ok(())
    }

    /// `Future.set_exception(exc)`: a class is instantiated; StopIteration
    /// is refused.
    pub fn set_exception(&self, vm: &mut Vm, e: Value) -> PyResult<()> {
        if self.done() {
            return Err(self.invalid_state(vm));
        }
        let e = match &e {
            Value::Class(_) => vm.call(&e, vec![])?,
            _ => e,
        };
        if !vm.is_exception(&e) {
            return Err(vm.type_error("invalid exception object"));
        }
        if Rc::ptr_eq(&vm.type_of(&e), &vm.exc.stop_iteration) {
            return Err(vm.type_error(
                "StopIteration interacts badly with generators and cannot be raised into a Future",
            ));
        }
        self.set_exception_raw(vm, e)
    }

    /// `Future.cancel(msg)` (the base version, whatever the kind).
    pub fn cancel_base(&self, msg: Value) -> bool {
        if self.done() {
            return false;
        }
        self.state.set(FutState::Cancelled);
        *self.cancel_message.borrow_mut() = msg;
        self.became_done();
        true
    }

    /// The callbacks, as `_format_callbacks` shows them.
    fn format_callbacks(&self, vm: &mut Vm) -> PyResult<String> {
        let cbs = self.callbacks.borrow().clone();
        let mut names = Vec::new();
        for cb in &cbs {
            names.push(match cb {
                Callback::Wakeup(_) => "Task.task_wakeup()".to_string(),
                Callback::Py(f, _) => match f {
                    Value::Function(func) => format!("{}()", func.qualname.borrow()),
                    Value::Builtin(b) => format!("{}()", b.name),
                    other => vm.repr(other)?,
                },
                Callback::Gather(_) => "gather.<locals>._done_callback()".into(),
                Callback::ReleaseWaiter(_) => "_release_waiter(<Future pending>)()".into(),
                Callback::StopLoop => "_run_until_complete_cb()".into(),
                Callback::TaskGroupDone(_) => "TaskGroup._on_task_done()".into(),
                Callback::ShieldInner(_) => "shield.<locals>._inner_done_callback()".into(),
                Callback::ShieldOuter(_) => "shield.<locals>._outer_done_callback()".into(),
                Callback::WaitCompletion(_) => "_wait.<locals>._on_completion()".into(),
            });
        }
        let shown = match names.len() {
            0 => return Ok(String::new()),
            1 | 2 => names.join(", "),
            n => format!("{}, <{} more>, {}", names[0], n - 2, names[n - 1]),
        };
        Ok(format!("cb=[{shown}]"))
    }

    /// `_future_repr_info`.
    pub fn repr_info(&self, vm: &mut Vm) -> PyResult<Vec<String>> {
        let mut info = vec![self.state.get().name().to_lowercase()];
        if self.state.get() == FutState::Finished {
            let v = self.value.borrow().clone();
            if self.has_exc.get() {
                info.push(format!("exception={}", vm.repr(&v)?));
            } else {
                info.push(format!("result={}", short_repr(vm, &v)?));
            }
        }
        let cb = self.format_callbacks(vm)?;
        if !cb.is_empty() {
            info.push(cb);
        }
        Ok(info)
    }
}

/// `reprlib.repr`, roughly: long reprs are cut in the middle.
fn short_repr(vm: &mut Vm, v: &Value) -> PyResult<String> {
    let s = vm.repr(v)?;
    let n = s.chars().count();
    if matches!(v, Value::Str(_)) && n > 30 {
        let head: String = s.chars().take(13).collect();
        let tail: String = s.chars().skip(n - 14).collect();
        return Ok(format!("{head}...{tail}"));
    }
    Ok(s)
}

impl NativeObject for Fut {
    fn gc_traverse(&self, visit: &mut dyn FnMut(&Value)) -> bool {
        let (Ok(value), Ok(msg), Ok(exc), Ok(cbs)) = (
            self.value.try_borrow(),
            self.cancel_message.try_borrow(),
            self.cancelled_exc.try_borrow(),
            self.callbacks.try_borrow(),
        ) else {
            return false;
        };
        use crate::tracking::may_refer;
        for v in [&*value, &*msg, &*exc] {
            if may_refer(v) {
                visit(v);
            }
        }
        for cb in cbs.iter() {
            match cb {
                Callback::Py(v, _) => visit(v),
                Callback::Wakeup(f)
                | Callback::ReleaseWaiter(f)
                | Callback::ShieldInner(f)
                | Callback::ShieldOuter(f) => visit(&Value::Native(f.clone().into())),
                _ => {}
            }
        }
        if let FutKind::Task(d) = &self.kind {
            visit(&d.coro);
            let (Ok(name), Ok(waiter)) = (d.name.try_borrow(), d.fut_waiter.try_borrow()) else {
                return false;
            };
            if may_refer(&name) {
                visit(&name);
            }
            if let Some(w) = waiter.as_ref() {
                visit(&Value::Native(w.clone().into()));
            }
        }
        true
    }
    fn gc_mark(&self) -> Option<&crate::tracking::Mark> {
        Some(&self.gc_mark)
    }
    fn gc_clear(&self, out: &mut Vec<Value>) {
        // A failed future nobody retrieved keeps its exception for the
        // report its drop makes (CPython finalises before clearing).
        let value = (!self.log_tb.get()).then_some(&self.value);
        for cell in value
            .into_iter()
            .chain([&self.cancel_message, &self.cancelled_exc])
        {
            if let Ok(mut v) = cell.try_borrow_mut() {
                out.push(std::mem::replace(&mut *v, Value::None));
            }
        }
        if let Ok(mut cbs) = self.callbacks.try_borrow_mut() {
            for cb in cbs.drain(..) {
                match cb {
                    Callback::Py(v, _) => out.push(v),
                    Callback::Wakeup(f)
                    | Callback::ReleaseWaiter(f)
                    | Callback::ShieldInner(f)
                    | Callback::ShieldOuter(f) => out.push(Value::Native(f.into())),
                    _ => {}
                }
            }
        }
        if let FutKind::Task(d) = &self.kind
            && let Ok(mut w) = d.fut_waiter.try_borrow_mut()
            && let Some(w) = w.take()
        {
            out.push(Value::Native(w.into()));
        }
    }
    fn class(&self, _vm: &Vm) -> Rc<Class> {
        let c = &self.lp.shared.cls;
        match self.kind {
            FutKind::Plain => c.future.clone(),
            FutKind::Task(_) => c.task.clone(),
            FutKind::Gather(_) => c.gathering_future.clone(),
        }
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
    /// The private attributes CPython's futures and tasks expose (both the C
    /// and the Python classes have them, and programs and tests read them).
    fn get_attr(&self, _vm: &mut Vm, name: &str) -> PyResult<Option<Value>> {
        let task = self.task_data();
        Ok(Some(match name {
            "_loop" => self.lp.value(),
            "_state" => Value::str(self.state.get().name()),
            "_log_traceback" => Value::Bool(self.log_tb.get()),
            "_cancel_message" => self.cancel_message(),
            "_asyncio_future_blocking" => Value::Bool(self.blocking.get()),
            // The callbacks as CPython lists them, (callback, context)
            // pairs; the loop's own callbacks, which are not Python
            // objects here, show as None.
            "_callbacks" => {
                let cbs = self.callbacks.borrow();
                Value::list(
                    cbs.iter()
                        .map(|cb| {
                            let f = match cb {
                                Callback::Py(v, _) => v.clone(),
                                _ => Value::None,
                            };
                            Value::tuple(vec![f, Value::None])
                        })
                        .collect(),
                )
            }
            "_must_cancel" if task.is_some() => Value::Bool(task.is_some_and(|d| d.must_cancel())),
            "_fut_waiter" if task.is_some() => task
                .and_then(|d| d.fut_waiter.borrow().clone())
                .map(|w| Value::Native(w.into()))
                .unwrap_or(Value::None),
            "_coro" if task.is_some() => task.map(|d| d.coro()).unwrap_or(Value::None),
            _ => return Ok(None),
        }))
    }
    fn set_attr(&self, vm: &mut Vm, name: &str, v: &Value) -> PyResult<bool> {
        match name {
            "_log_traceback" => {
                if vm.truthy(v)? {
                    return Err(vm.value_error("_log_traceback can only be set to False"));
                }
                self.log_tb.set(false);
            }
            "_cancel_message" => self.set_cancel_message(v.clone()),
            "_asyncio_future_blocking" => self.blocking.set(vm.truthy(v)?),
            _ => return Ok(false),
        }
        Ok(true)
    }
    fn repr(&self, vm: &mut Vm) -> PyResult<Option<String>> {
        let info = match &self.kind {
            FutKind::Task(_) => task::repr_info(vm, self)?,
            _ => self.repr_info(vm)?,
        };
        let name = match self.kind {
            FutKind::Plain => "Future",
            FutKind::Task(_) => "Task",
            FutKind::Gather(_) => "_GatheringFuture",
        };
        Ok(Some(format!("<{} {}>", name, info.join(" "))))
    }
}

/// The future behind a value, if it is one.
pub fn as_fut(v: &Value) -> Option<NativeRc<Fut>> {
    match v {
        Value::Native(n) => n.as_any().downcast_ref::<Fut>().map(|f| f.rc()),
        _ => None,
    }
}

/// `fut.cancel(msg)`, dispatched on the kind as the subclasses override it.
pub fn cancel(vm: &mut Vm, f: &NativeRc<Fut>, msg: Value) -> PyResult<bool> {
    match &f.kind {
        FutKind::Plain => {
            f.log_tb.set(false);
            Ok(f.cancel_base(msg))
        }
        FutKind::Task(_) => {
            f.log_tb.set(false);
            task::cancel(vm, f, msg)
        }
        FutKind::Gather(st) => {
            let st = st.clone();
            gather_cancel(vm, f, &st, msg)
        }
    }
}

/// Runs one done-callback of `fut`.
pub(crate) fn run_callback(vm: &mut Vm, cb: Callback, fut: &NativeRc<Fut>) -> PyResult<()> {
    match cb {
        Callback::Wakeup(t) => task::wakeup(vm, &t, fut),
        Callback::Py(f, None) => vm.call(&f, vec![fut.value()]).map(drop),
        Callback::Py(f, Some(ctx)) => {
            let arg = fut.value();
            crate::contextvars::run_in(vm, &ctx, |vm| vm.call(&f, vec![arg])).map(drop)
        }
        Callback::Gather(st) => gather_done(vm, &st, fut),
        Callback::ReleaseWaiter(w) => {
            if !w.done() {
                w.set_result(vm, Value::None)?;
            }
            Ok(())
        }
        Callback::StopLoop => {
            if !fut.cancelled() {
                let exc = fut.exception(vm)?;
                if super::is_exit_exception(vm, &exc) {
                    return Ok(());
                }
            }
            fut.lp.stop();
            Ok(())
        }
        Callback::TaskGroupDone(tg) => group::tg_on_task_done(vm, &tg, fut),
        Callback::ShieldInner(outer) => {
            let inner = fut;
            if outer.cancelled() {
                if !inner.cancelled() {
                    inner.exception(vm)?;
                }
                return Ok(());
            }
            if inner.cancelled() {
                outer.cancel_base(Value::None);
            } else {
                let exc = inner.exception(vm)?;
                if !exc.is_none() {
                    outer.set_exception_raw(vm, exc)?;
                } else {
                    let r = inner.result(vm)?;
                    outer.set_result(vm, r)?;
                }
            }
            Ok(())
        }
        Callback::ShieldOuter(inner) => {
            if !inner.done() {
                let outer = fut.clone();
                inner.remove_callbacks(
                    |c| matches!(c, Callback::ShieldInner(o) if Rc::ptr_eq(o, &outer)),
                );
            }
            Ok(())
        }
        Callback::WaitCompletion(st) => wait_on_completion(vm, &st, fut),
    }
}

// ---- ensure_future, gather, shield ------------------------------------------

/// `ensure_future(x)`: a future as is, a coroutine wrapped in a task, an
/// awaitable driven by a task through its `__await__` iterator.
pub fn ensure_future(
    vm: &mut Vm,
    arg: &Value,
    lp: Option<&NativeRc<Loop>>,
) -> PyResult<NativeRc<Fut>> {
    if let Some(f) = as_fut(arg) {
        if let Some(l) = lp
            && !Rc::ptr_eq(l, &f.lp)
        {
            return Err(vm.value_error(
                "The future belongs to a different loop than the one specified as the loop argument",
            ));
        }
        return Ok(f);
    }
    let coro = if super::coro::is_asyncio_coroutine(vm, arg) {
        arg.clone()
    } else if let Some(aw) = vm.lookup_special(arg, "__await__") {
        vm.call(&aw, vec![arg.clone()])?
    } else {
        return Err(vm.type_error("An asyncio.Future, a coroutine or an awaitable is required"));
    };
    let lp = match lp {
        Some(l) => l.clone(),
        None => {
            let sh = super::shared(vm);
            sh.get_event_loop(vm)?
        }
    };
    lp.new_task(vm, coro, None)
}

/// The shared state of one `gather` call.
pub struct GatherState {
    outer: RefCell<Option<NativeRc<Fut>>>,
    children: RefCell<Vec<NativeRc<Fut>>>,
    nfuts: Cell<usize>,
    nfinished: Cell<usize>,
    return_exceptions: bool,
    cancel_requested: Cell<bool>,
}

/// `asyncio.gather(*aws, return_exceptions=...)`.
pub fn gather(vm: &mut Vm, args: &[Value], return_exceptions: bool) -> PyResult<NativeRc<Fut>> {
    if args.is_empty() {
        let lp = {
            let sh = super::shared(vm);
            sh.get_event_loop(vm)?
        };
        let outer = lp.create_future();
        outer.set_result(vm, Value::list(vec![]))?;
        return Ok(outer);
    }
    let st = Rc::new(GatherState {
        outer: RefCell::new(None),
        children: RefCell::new(Vec::with_capacity(args.len())),
        nfuts: Cell::new(0),
        nfinished: Cell::new(0),
        return_exceptions,
        cancel_requested: Cell::new(false),
    });
    let mut seen: HashMap<usize, NativeRc<Fut>> = HashMap::default();
    let mut lp: Option<NativeRc<Loop>> = None;
    for arg in args {
        let key = arg.addr();
        let known = if key != 0 {
            seen.get(&key).cloned()
        } else {
            None
        };
        let fut = match known {
            Some(f) => f,
            None => {
                let f = ensure_future(vm, arg, lp.as_ref())?;
                if lp.is_none() {
                    lp = Some(f.lp.clone());
                }
                st.nfuts.set(st.nfuts.get() + 1);
                if key != 0 {
                    seen.insert(key, f.clone());
                }
                f.add_done_callback(Callback::Gather(st.clone()));
                f
            }
        };
        st.children.borrow_mut().push(fut);
    }
    let Some(lp) = lp else {
        return Err(vm.runtime_error("gather() without a loop"));
    };
    let outer = Fut::new(&lp, FutKind::Gather(st.clone()));
    *st.outer.borrow_mut() = Some(outer.clone());
    Ok(outer)
}

fn gather_done(vm: &mut Vm, st: &Rc<GatherState>, fut: &NativeRc<Fut>) -> PyResult<()> {
    st.nfinished.set(st.nfinished.get() + 1);
    let outer = st.outer.borrow().clone();
    let Some(outer) = outer.filter(|o| !o.done()) else {
        if !fut.cancelled() {
            fut.exception(vm)?;
        }
        return Ok(());
    };
    if !st.return_exceptions {
        if fut.cancelled() {
            let exc = fut.make_cancelled_error(vm);
            outer.set_exception_raw(vm, exc)?;
            st.outer.borrow_mut().take();
            return Ok(());
        }
        let exc = fut.exception(vm)?;
        if !exc.is_none() {
            outer.set_exception_raw(vm, exc)?;
            st.outer.borrow_mut().take();
            return Ok(());
        }
    }
    if st.nfinished.get() == st.nfuts.get() {
        let children = st.children.borrow().clone();
        let mut results = Vec::with_capacity(children.len());
        for child in &children {
            let res = if child.cancelled() {
                let msg = child.cancel_message();
                let msg = if msg.is_none() { Value::str("") } else { msg };
                vm.new_exc_args(&fut.lp.shared.cls.cancelled_error, vec![msg])
            } else {
                let e = child.exception(vm)?;
                if e.is_none() { child.result(vm)? } else { e }
            };
            results.push(res);
        }
        if st.cancel_requested.get() {
            let last = children.last().cloned().unwrap_or_else(|| fut.clone());
            let exc = last.make_cancelled_error(vm);
            outer.set_exception_raw(vm, exc)?;
        } else {
            outer.set_result(vm, Value::list(results))?;
        }
        st.outer.borrow_mut().take();
    }
    Ok(())
}

fn gather_cancel(
    vm: &mut Vm,
    outer: &NativeRc<Fut>,
    st: &Rc<GatherState>,
    msg: Value,
) -> PyResult<bool> {
    if outer.done() {
        return Ok(false);
    }
    let children = st.children.borrow().clone();
    let mut ret = false;
    for child in &children {
        if cancel(vm, child, msg.clone())? {
            ret = true;
        }
    }
    if ret {
        st.cancel_requested.set(true);
    }
    Ok(ret)
}

/// `asyncio.shield(aw)`.
pub fn shield(vm: &mut Vm, arg: &Value) -> PyResult<NativeRc<Fut>> {
    let inner = ensure_future(vm, arg, None)?;
    if inner.done() {
        return Ok(inner);
    }
    let outer = inner.lp.create_future();
    inner.add_done_callback(Callback::ShieldInner(outer.clone()));
    outer.add_done_callback(Callback::ShieldOuter(inner.clone()));
    Ok(outer)
}

// ---- wait -----------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum ReturnWhen {
    FirstCompleted,
    FirstException,
    AllCompleted,
}

/// The state `_wait`'s `_on_completion` closure shares.
pub struct WaitState {
    pub(crate) waiter: NativeRc<Fut>,
    pub(crate) counter: Cell<usize>,
    pub(crate) return_when: ReturnWhen,
    pub(crate) timeout_handle: RefCell<Option<NativeRc<super::Handle>>>,
}

fn wait_on_completion(vm: &mut Vm, st: &Rc<WaitState>, f: &NativeRc<Fut>) -> PyResult<()> {
    st.counter.set(st.counter.get().saturating_sub(1));
    let fire = st.counter.get() == 0
        || st.return_when == ReturnWhen::FirstCompleted
        || (st.return_when == ReturnWhen::FirstException
            && !f.cancelled()
            && !f.exception(vm)?.is_none());
    if fire {
        if let Some(h) = st.timeout_handle.borrow().as_ref() {
            h.cancel();
        }
        if !st.waiter.done() {
            st.waiter.set_result(vm, Value::None)?;
        }
    }
    Ok(())
}

/// A future as `--trace` and the timeline show it: its kind, state and
/// (for a task) its name and coroutine, without running covm code.
pub fn trace_desc(v: &Value) -> Option<String> {
    if let Value::Native(n) = v
        && let Some(c) = n.as_any().downcast_ref::<super::coro::NativeCoro>()
    {
        return Some(c.trace_desc());
    }
    let f = as_fut(v)?;
    let state = f.state.get().name().to_lowercase();
    Some(match &f.kind {
        FutKind::Plain => format!("<Future {state}>"),
        FutKind::Task(d) => {
            let name = match &*d.name.borrow() {
                Value::Str(s) => s.as_str().to_string(),
                _ => format!("Task-{}", d.num),
            };
            format!("<Task {state} {}>", super::task::task_label(&name, &d.coro))
        }
        FutKind::Gather(g) => format!(
            "<gather {state}: {} of {} done>",
            g.nfinished.get(),
            g.nfuts.get()
        ),
    })
}

/// `Future.__del__` of a future whose exception was never retrieved: the
/// loop's exception handler gets the report.
fn log_unretrieved(vm: &mut Vm, f: &NativeRc<Fut>) {
    let what = if f.is_task() { "Task" } else { "Future" };
    let exc = f.exception(vm).unwrap_or(Value::None);
    let msg = Value::str(format!("{what} exception was never retrieved"));
    let ctx = [("message", msg), ("exception", exc), ("future", f.value())];
    super::handler::report(vm, &f.lp, &ctx);
}
