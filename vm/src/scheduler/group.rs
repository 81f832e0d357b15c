//! `asyncio.timeout` (`timeouts.py`), `asyncio.TaskGroup`
//! (`taskgroups.py`) and the exception groups a task group raises.

use rustc_hash::FxHashMap as HashMap;
use std::cell::{Cell, RefCell};
use std::rc::Rc;

use super::coro::{Input, Machine, NativeCoro, Step, set_cause};
use super::future::{self, Callback, Fut};
use super::{Handle, Job, Loop, running_loop, shared};
use crate::value::*;
use crate::vm::Vm;

// ---- Timeout --------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq)]
enum TState {
    Created,
    Entered,
    Expiring,
    Expired,
    Exited,
}

impl TState {
    fn value(self) -> &'static str {
        match self {
            TState::Created => "created",
            TState::Entered => "active",
            TState::Expiring => "expiring",
            TState::Expired => "expired",
            TState::Exited => "finished",
        }
    }
}

pub struct TimeoutObj {
    cls: Rc<Class>,
    state: Cell<TState>,
    handler: RefCell<Option<NativeRc<Handle>>>,
    task: RefCell<Option<NativeRc<Fut>>>,
    when: Cell<Option<f64>>,
    cancelling: Cell<u32>,
}

impl TimeoutObj {
    pub fn new(vm: &mut Vm, when: Option<f64>) -> NativeRc<TimeoutObj> {
        let sh = shared(vm);
        NativeBox::new(TimeoutObj {
            cls: sh.cls.timeout.clone(),
            state: Cell::new(TState::Created),
            handler: RefCell::new(None),
            task: RefCell::new(None),
            when: Cell::new(when),
            cancelling: Cell::new(0),
        })
    }

    pub fn when(&self) -> Option<f64> {
        self.when.get()
    }

    pub fn expired(&self) -> bool {
        matches!(self.state.get(), TState::Expiring | TState::Expired)
    }
}

/// The methods that hand out the timeout itself (its handler keeps it).
impl NativeBox<TimeoutObj> {
    pub fn reschedule(self: &Rc<Self>, vm: &mut Vm, when: Option<f64>) -> PyResult<()> {
        match self.state.get() {
            TState::Entered => {}
            TState::Created => return Err(vm.runtime_error("Timeout has not been entered")),
            s => {
                let msg = format!("Cannot change state of {} Timeout", s.value());
                return Err(vm.runtime_error(&msg));
            }
        }
        self.when.set(when);
        if let Some(h) = self.handler.borrow_mut().take() {
            h.cancel();
        }
        if let Some(when) = when {
            let lp = running_loop(vm)?;
            let h = if when <= lp.time(vm) {
                lp.call_soon_handle(Job::TimeoutFire(self.clone()), Value::None)
            } else {
                lp.call_at(when, Job::TimeoutFire(self.clone()), Value::None)
            };
            *self.handler.borrow_mut() = Some(h);
        }
        Ok(())
    }

    fn enter(self: &Rc<Self>, vm: &mut Vm) -> PyResult<Value> {
        if self.state.get() != TState::Created {
            return Err(vm.runtime_error("Timeout has already been entered"));
        }
        let lp = running_loop(vm)?;
        let Some(task) = lp.current_task() else {
            return Err(vm.runtime_error("Timeout should be used inside a task"));
        };
        self.state.set(TState::Entered);
        let cancelling = task.task_data().map(|d| d.cancelling()).unwrap_or(0);
        self.cancelling.set(cancelling);
        *self.task.borrow_mut() = Some(task);
        self.reschedule(vm, self.when.get())?;
        Ok(Value::Native(self.clone().into()))
    }
}

impl TimeoutObj {
    fn exit(&self, vm: &mut Vm, et: &Value, ev: &Value) -> PyResult<Value> {
        if let Some(h) = self.handler.borrow_mut().take() {
            h.cancel();
        }
        match self.state.get() {
            TState::Expiring => {
                self.state.set(TState::Expired);
                let task = self.task.borrow().clone();
                let n = task
                    .as_ref()
                    .and_then(|t| t.task_data().map(|d| d.uncancel()))
                    .unwrap_or(0);
                let sh = shared(vm);
                let is_cancel =
                    matches!(et, Value::Class(c) if Rc::ptr_eq(c, &sh.cls.cancelled_error));
                if n <= self.cancelling.get() && is_cancel {
                    let te = vm.new_exc_args(&sh.cls.timeout_error, vec![]);
                    set_cause(&te, ev);
                    return Err(te);
                }
            }
            TState::Entered => self.state.set(TState::Exited),
            _ => {}
        }
        Ok(Value::None)
    }
}

/// `Timeout._on_timeout`.
pub(crate) fn timeout_fire(vm: &mut Vm, t: &NativeRc<TimeoutObj>) -> PyResult<()> {
    let task = t.task.borrow().clone();
    if let Some(task) = task {
        future::cancel(vm, &task, Value::None)?;
    }
    t.state.set(TState::Expiring);
    t.handler.borrow_mut().take();
    Ok(())
}

impl NativeObject for TimeoutObj {
    fn class(&self, _vm: &Vm) -> Rc<Class> {
        self.cls.clone()
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
    fn repr(&self, _vm: &mut Vm) -> PyResult<Option<String>> {
        let mut s = format!("<Timeout [{}]", self.state.get().value());
        if self.state.get() == TState::Entered {
            let w = match self.when.get() {
                Some(w) => crate::format::float_repr((w * 1000.0).round() / 1000.0),
                None => "None".into(),
            };
            s.push_str(&format!(" when={w}"));
        }
        s.push('>');
        Ok(Some(s))
    }
}

fn timeout_this(vm: &Vm, args: &[Value]) -> PyResult<NativeRc<TimeoutObj>> {
    args.first()
        .and_then(Value::downcast_native)
        .ok_or_else(|| vm.type_error("descriptor requires a 'Timeout' object"))
}

fn opt_time(vm: &Vm, v: Option<&Value>) -> PyResult<Option<f64>> {
    match v {
        None | Some(Value::None) => Ok(None),
        Some(Value::Int(i)) => Ok(Some(*i as f64)),
        Some(Value::Bool(b)) => Ok(Some(*b as i64 as f64)),
        Some(Value::Float(f)) => Ok(Some(*f)),
        Some(other) => Err(vm.type_error(&format!(
            "'{}' object cannot be interpreted as a number",
            vm.type_name(other)
        ))),
    }
}

fn t_new(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let when = opt_time(vm, args.get(1))?;
    Ok(Value::Native(TimeoutObj::new(vm, when).into()))
}
fn t_when(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let t = timeout_this(vm, args)?;
    Ok(t.when().map(Value::Float).unwrap_or(Value::None))
}
fn t_expired(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let t = timeout_this(vm, args)?;
    Ok(Value::Bool(t.expired()))
}
fn t_reschedule(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let t = timeout_this(vm, args)?;
    let when = opt_time(vm, args.get(1))?;
    t.reschedule(vm, when)?;
    Ok(Value::None)
}
fn t_aenter(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let t = timeout_this(vm, args)?;
    let sh = shared(vm);
    Ok(NativeCoro::thunk(&sh, "Timeout.__aenter__", move |vm| {
        t.enter(vm)
    }))
}
fn t_aexit(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let t = timeout_this(vm, args)?;
    let et = args.get(1).cloned().unwrap_or(Value::None);
    let ev = args.get(2).cloned().unwrap_or(Value::None);
    let sh = shared(vm);
    Ok(NativeCoro::thunk(&sh, "Timeout.__aexit__", move |vm| {
        t.exit(vm, &et, &ev)
    }))
}

// ---- TaskGroup ----------------------------------------------------------------------

pub struct TaskGroupObj {
    cls: Rc<Class>,
    entered: Cell<bool>,
    exiting: Cell<bool>,
    aborting: Cell<bool>,
    lp: RefCell<Option<NativeRc<Loop>>>,
    parent_task: RefCell<Option<NativeRc<Fut>>>,
    parent_cancel_requested: Cell<bool>,
    /// `_tasks`, in insertion order with holes; `index` finds a task's slot.
    tasks: RefCell<Vec<Option<NativeRc<Fut>>>>,
    index: RefCell<HashMap<usize, usize>>,
    ntasks: Cell<usize>,
    errors: RefCell<Vec<Value>>,
    base_error: RefCell<Value>,
    on_completed_fut: RefCell<Option<NativeRc<Fut>>>,
}

impl TaskGroupObj {
    fn add_task(&self, t: &NativeRc<Fut>) {
        let key = Rc::as_ptr(t) as usize;
        if self.index.borrow().contains_key(&key) {
            return;
        }
        let mut tasks = self.tasks.borrow_mut();
        self.index.borrow_mut().insert(key, tasks.len());
        tasks.push(Some(t.clone()));
        self.ntasks.set(self.ntasks.get() + 1);
    }

    fn discard(&self, t: &NativeRc<Fut>) {
        let key = Rc::as_ptr(t) as usize;
        let Some(i) = self.index.borrow_mut().remove(&key) else {
            return;
        };
        let mut tasks = self.tasks.borrow_mut();
        if let Some(slot) = tasks.get_mut(i) {
            *slot = None;
        }
        self.ntasks.set(self.ntasks.get().saturating_sub(1));
        if self.ntasks.get() == 0 {
            tasks.clear();
        } else if tasks.len() > 32 && self.ntasks.get() * 2 < tasks.len() {
            tasks.retain(|x| x.is_some());
            let mut index = self.index.borrow_mut();
            for (j, x) in tasks.iter().enumerate() {
                if let Some(x) = x {
                    index.insert(Rc::as_ptr(x) as usize, j);
                }
            }
        }
    }

    fn live_tasks(&self) -> Vec<NativeRc<Fut>> {
        self.tasks.borrow().iter().flatten().cloned().collect()
    }

    fn abort(&self, vm: &mut Vm) -> PyResult<()> {
        self.aborting.set(true);
        for t in self.live_tasks() {
            if !t.done() {
                future::cancel(vm, &t, Value::None)?;
            }
        }
        Ok(())
    }

    fn repr_string(&self) -> String {
        let mut info = vec![String::new()];
        if self.ntasks.get() > 0 {
            info.push(format!("tasks={}", self.ntasks.get()));
        }
        let ne = self.errors.borrow().len();
        if ne > 0 {
            info.push(format!("errors={ne}"));
        }
        if self.aborting.get() {
            info.push("cancelling".into());
        } else if self.entered.get() {
            info.push("entered".into());
        }
        format!("<TaskGroup{}>", info.join(" "))
    }
}

impl NativeObject for TaskGroupObj {
    fn class(&self, _vm: &Vm) -> Rc<Class> {
        self.cls.clone()
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
    fn repr(&self, _vm: &mut Vm) -> PyResult<Option<String>> {
        Ok(Some(self.repr_string()))
    }
}

fn is_base_error(vm: &Vm, e: &Value) -> bool {
    super::is_exit_exception(vm, e)
}

/// `TaskGroup._on_task_done`.
pub(crate) fn tg_on_task_done(
    vm: &mut Vm,
    tg: &NativeRc<TaskGroupObj>,
    task: &NativeRc<Fut>,
) -> PyResult<()> {
    tg.discard(task);
    let ocf = tg.on_completed_fut.borrow().clone();
    if let Some(f) = ocf
        && tg.ntasks.get() == 0
        && !f.done()
    {
        f.set_result(vm, Value::Bool(true))?;
    }
    if task.cancelled() {
        return Ok(());
    }
    let exc = task.exception(vm)?;
    if exc.is_none() {
        return Ok(());
    }
    tg.errors.borrow_mut().push(exc.clone());
    if is_base_error(vm, &exc) && tg.base_error.borrow().is_none() {
        *tg.base_error.borrow_mut() = exc.clone();
    }
    let parent = tg.parent_task.borrow().clone();
    let Some(parent) = parent else { return Ok(()) };
    if parent.done() {
        let msg = format!(
            "Task {} has errored out but its parent task {} is already completed",
            vm.repr(&task.value())?,
            vm.repr(&parent.value())?
        );
        let ctx = [
            ("message", Value::str(msg)),
            ("exception", exc),
            ("task", task.value()),
        ];
        super::handler::report(vm, &task.lp, &ctx);
        return Ok(());
    }
    if !tg.aborting.get() && !tg.parent_cancel_requested.get() {
        tg.abort(vm)?;
        tg.parent_cancel_requested.set(true);
        future::cancel(vm, &parent, Value::None)?;
    }
    Ok(())
}

/// The state of `TaskGroup.__aexit__` across its awaits.
pub struct TgExit {
    tg: NativeRc<TaskGroupObj>,
    et: Value,
    exc: Value,
    propagate: Value,
    waiting: Option<NativeRc<Fut>>,
}

pub(crate) fn tg_exit_step(
    vm: &mut Vm,
    s: &mut TgExit,
    first: bool,
    input: Input,
) -> PyResult<Step> {
    let tg = s.tg.clone();
    let sh = shared(vm);
    let cancelled_cls = sh.cls.cancelled_error.clone();
    let et_is_cancel = matches!(&s.et, Value::Class(c) if Rc::ptr_eq(c, &cancelled_cls));
    if first {
        tg.exiting.set(true);
        if !s.exc.is_none() && is_base_error(vm, &s.exc) && tg.base_error.borrow().is_none() {
            *tg.base_error.borrow_mut() = s.exc.clone();
        }
        s.propagate = if et_is_cancel {
            s.exc.clone()
        } else {
            Value::None
        };
        if tg.parent_cancel_requested.get() {
            let parent = tg.parent_task.borrow().clone();
            let n = parent
                .as_ref()
                .and_then(|p| p.task_data().map(|d| d.uncancel()))
                .unwrap_or(0);
            if n == 0 {
                s.propagate = Value::None;
            }
        }
        if !s.et.is_none() && !tg.aborting.get() {
            tg.abort(vm)?;
        }
    } else {
        let Some(f) = s.waiting.take() else {
            return Err(vm.runtime_error("TaskGroup.__aexit__ resumed before it started"));
        };
        let r = match input {
            Input::Throw(e) => Err(e),
            Input::Send(_) => f.result(vm),
        };
        after_wait(vm, &tg, s, r, &cancelled_cls)?;
    }
    loop {
        if tg.ntasks.get() == 0 {
            break;
        }
        let existing = tg.on_completed_fut.borrow().clone();
        let f = match existing {
            Some(f) => f,
            None => {
                let lp = tg.lp.borrow().clone();
                let lp = match lp {
                    Some(l) => l,
                    None => running_loop(vm)?,
                };
                let f = lp.create_future();
                *tg.on_completed_fut.borrow_mut() = Some(f.clone());
                f
            }
        };
        if !f.done() {
            f.blocking.set(true);
            s.waiting = Some(f.clone());
            return Ok(Step::Yield(f.value()));
        }
        let r = f.result(vm);
        after_wait(vm, &tg, s, r, &cancelled_cls)?;
    }
    let base = tg.base_error.borrow().clone();
    if !base.is_none() {
        return Err(base);
    }
    let no_errors = tg.errors.borrow().is_empty();
    if !s.propagate.is_none() && vm.truthy(&s.propagate.clone())? && no_errors {
        return Err(std::mem::replace(&mut s.propagate, Value::None));
    }
    if !s.et.is_none() && !et_is_cancel {
        tg.errors.borrow_mut().push(s.exc.clone());
    }
    let errors = std::mem::take(&mut *tg.errors.borrow_mut());
    if !errors.is_empty() {
        let eg = new_exception_group(vm, "unhandled errors in a TaskGroup", errors)?;
        if let Value::Instance(i) = &eg {
            let mut d = i.dict.borrow_mut();
            d.insert(Rc::from("__cause__"), Value::None);
            d.insert(Rc::from("__suppress_context__"), Value::Bool(true));
        }
        return Err(eg);
    }
    Ok(Step::Return(Value::None))
}

fn after_wait(
    vm: &mut Vm,
    tg: &NativeRc<TaskGroupObj>,
    s: &mut TgExit,
    r: PyResult<Value>,
    cancelled_cls: &Rc<Class>,
) -> PyResult<()> {
    match r {
        Ok(_) => {}
        Err(e) if vm.is_instance_of(&e, cancelled_cls) => {
            if !tg.aborting.get() {
                s.propagate = e;
                tg.abort(vm)?;
            }
        }
        Err(e) => return Err(e),
    }
    tg.on_completed_fut.borrow_mut().take();
    Ok(())
}

fn tg_this(vm: &Vm, args: &[Value]) -> PyResult<NativeRc<TaskGroupObj>> {
    args.first()
        .and_then(Value::downcast_native)
        .ok_or_else(|| vm.type_error("descriptor requires a 'TaskGroup' object"))
}

fn tg_new(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    if args.len() > 1 {
        return Err(vm.type_error(&format!(
            "TaskGroup.__init__() takes 1 positional argument but {} were given",
            args.len()
        )));
    }
    let sh = shared(vm);
    Ok(Value::Native(
        NativeBox::new(TaskGroupObj {
            cls: sh.cls.task_group.clone(),
            entered: Cell::new(false),
            exiting: Cell::new(false),
            aborting: Cell::new(false),
            lp: RefCell::new(None),
            parent_task: RefCell::new(None),
            parent_cancel_requested: Cell::new(false),
            tasks: RefCell::new(Vec::new()),
            index: RefCell::new(HashMap::default()),
            ntasks: Cell::new(0),
            errors: RefCell::new(Vec::new()),
            base_error: RefCell::new(Value::None),
            on_completed_fut: RefCell::new(None),
        })
        .into(),
    ))
}

fn tg_aenter(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let tg = tg_this(vm, args)?;
    let sh = shared(vm);
    Ok(NativeCoro::thunk(&sh, "TaskGroup.__aenter__", move |vm| {
        if tg.entered.get() {
            let msg = format!("TaskGroup {} has already been entered", tg.repr_string());
            return Err(vm.runtime_error(&msg));
        }
        let lp = {
            let existing = tg.lp.borrow().clone();
            match existing {
                Some(l) => l,
                None => running_loop(vm)?,
            }
        };
        *tg.lp.borrow_mut() = Some(lp.clone());
        let Some(parent) = lp.current_task() else {
            let msg = format!(
                "TaskGroup {} cannot determine the parent task",
                tg.repr_string()
            );
            return Err(vm.runtime_error(&msg));
        };
        *tg.parent_task.borrow_mut() = Some(parent);
        tg.entered.set(true);
        Ok(Value::Native(tg.clone().into()))
    }))
}

fn tg_aexit(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let tg = tg_this(vm, args)?;
    let sh = shared(vm);
    let st = TgExit {
        tg,
        et: args.get(1).cloned().unwrap_or(Value::None),
        exc: args.get(2).cloned().unwrap_or(Value::None),
        propagate: Value::None,
        waiting: None,
    };
    Ok(NativeCoro::make(
        &sh,
        "TaskGroup.__aexit__",
        Machine::TaskGroupExit(Box::new(st)),
    ))
}

fn tg_create_task(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let tg = tg_this(vm, args)?;
    let Some(coro) = args.get(1).cloned() else {
        return Err(
            vm.type_error("TaskGroup.create_task() missing 1 required positional argument: 'coro'")
        );
    };
    let mut name = None;
    let mut context = None;
    for (k, v) in kw {
        match k.as_ref() {
            "name" => name = Some(v.clone()),
            "context" => context = Some(v.clone()),
            _ => {
                return Err(vm.type_error(&format!(
                    "TaskGroup.create_task() got an unexpected keyword argument '{k}'"
                )));
            }
        }
    }
    if !tg.entered.get() {
        let msg = format!("TaskGroup {} has not been entered", tg.repr_string());
        return Err(vm.runtime_error(&msg));
    }
    if tg.exiting.get() && tg.ntasks.get() == 0 {
        let msg = format!("TaskGroup {} is finished", tg.repr_string());
        return Err(vm.runtime_error(&msg));
    }
    if tg.aborting.get() {
        let msg = format!("TaskGroup {} is shutting down", tg.repr_string());
        return Err(vm.runtime_error(&msg));
    }
    let lp = tg.lp.borrow().clone();
    let lp = match lp {
        Some(l) => l,
        None => running_loop(vm)?,
    };
    let task = lp.create_task(vm, coro, None)?;
    super::api::set_task_context(vm, &task, context)?;
    if let Some(n) = name
        && !n.is_none()
        && let Some(d) = task.task_data()
    {
        d.set_name(Value::str(vm.to_str(&n)?));
    }
    task.add_done_callback(Callback::TaskGroupDone(tg.clone()));
    tg.add_task(&task);
    Ok(task.value())
}

// ---- exception groups ---------------------------------------------------------------

/// `BaseExceptionGroup(msg, excs)`: an ExceptionGroup when every member is
/// an Exception.
pub fn new_exception_group(vm: &mut Vm, msg: &str, excs: Vec<Value>) -> PyResult<Value> {
    let sh = shared(vm);
    let all_exc = excs
        .iter()
        .all(|e| vm.is_instance_of(e, &vm.exc.exception.clone()));
    let cls = if all_exc {
        sh.cls.exception_group.clone()
    } else {
        sh.cls.base_exception_group.clone()
    };
    let e = vm.new_exc_args(&cls, vec![Value::str(msg), Value::list(excs.clone())]);
    if let Value::Instance(i) = &e {
        let mut d = i.dict.borrow_mut();
        d.insert(Rc::from("message"), Value::str(msg));
        d.insert(Rc::from("exceptions"), Value::tuple(excs));
    }
    Ok(e)
}

fn eg_init(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let Some(Value::Instance(inst)) = args.first() else {
        return Err(vm.type_error("ExceptionGroup.__init__ needs an instance"));
    };
    let name = inst.class.name.clone();
    if args.len() != 3 {
        return Err(vm.type_error(&format!(
            "{name} expected 2 arguments, got {}",
            args.len().saturating_sub(1)
        )));
    }
    let Value::Str(msg) = &args[1] else {
        return Err(vm.type_error(&format!(
            "argument 1 must be str, not {}",
            vm.type_name(&args[1])
        )));
    };
    let excs = vm.collect(&args[2])?;
    if excs.is_empty() {
        return Err(vm.value_error("second argument (exceptions) must be a non-empty sequence"));
    }
    for (i, e) in excs.iter().enumerate() {
        if !vm.is_exception(e) {
            return Err(vm.value_error(&format!(
                "Item {i} of second argument (exceptions) is not an exception"
            )));
        }
    }
    let sh = shared(vm);
    if Rc::ptr_eq(&inst.class, &sh.cls.exception_group) {
        let exc_cls = vm.exc.exception.clone();
        if excs.iter().any(|e| !vm.is_instance_of(e, &exc_cls)) {
            return Err(vm.type_error("Cannot nest BaseExceptions in an ExceptionGroup"));
        }
    }
    let mut d = inst.dict.borrow_mut();
    d.insert(
        Rc::from("args"),
        Value::tuple(vec![args[1].clone(), args[2].clone()]),
    );
    d.insert(Rc::from("message"), Value::Str(msg.clone()));
    d.insert(Rc::from("exceptions"), Value::tuple(excs));
    Ok(Value::None)
}

fn eg_str(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let Some(Value::Instance(inst)) = args.first() else {
        return Err(vm.type_error("ExceptionGroup.__str__ needs an instance"));
    };
    let d = inst.dict.borrow();
    let msg = d
        .get("message")
        .and_then(|m| m.as_str().map(str::to_string))
        .unwrap_or_default();
    let n = match d.get("exceptions") {
        Some(Value::Tuple(t)) => t.len(),
        _ => 0,
    };
    Ok(Value::str(format!(
        "{msg} ({n} sub-exception{})",
        if n == 1 { "" } else { "s" }
    )))
}

fn eg_repr(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let Some(Value::Instance(inst)) = args.first() else {
        return Err(vm.type_error("ExceptionGroup.__repr__ needs an instance"));
    };
    let a = inst
        .dict
        .borrow()
        .get("args")
        .cloned()
        .unwrap_or(Value::None);
    let name = inst.class.name.clone();
    let r = vm.repr(&a)?;
    Ok(Value::str(format!("{name}{r}")))
}

/// Gives the built-in `BaseExceptionGroup`/`ExceptionGroup` classes their
/// methods (called when the VM starts).
pub(crate) fn install_exception_groups(vm: &Vm) {
    for name in ["BaseExceptionGroup", "ExceptionGroup"] {
        if let Some((_, cls)) = vm.exc_by_name.iter().find(|(n, _)| *n == name) {
            vm.add_method(cls, "__init__", eg_init);
            vm.add_method(cls, "__str__", eg_str);
            vm.add_method(cls, "__repr__", eg_repr);
            crate::exc_star::install_methods(vm, cls);
        }
    }
}

/// Fills in the classes' methods.
pub(crate) fn install(vm: &Vm, c: &super::Classes) {
    vm.set_native_new(&c.timeout, t_new);
    vm.add_method(&c.timeout, "when", t_when);
    vm.add_method(&c.timeout, "expired", t_expired);
    vm.add_method(&c.timeout, "reschedule", t_reschedule);
    vm.add_method(&c.timeout, "__aenter__", t_aenter);
    vm.add_method(&c.timeout, "__aexit__", t_aexit);

    vm.set_native_new(&c.task_group, tg_new);
    vm.add_method(&c.task_group, "__aenter__", tg_aenter);
    vm.add_method(&c.task_group, "__aexit__", tg_aexit);
    vm.add_method(&c.task_group, "create_task", tg_create_task);

    for cls in [&c.base_exception_group, &c.exception_group] {
        vm.add_method(cls, "__init__", eg_init);
        vm.add_method(cls, "__str__", eg_str);
        vm.add_method(cls, "__repr__", eg_repr);
        crate::exc_star::install_methods(vm, cls);
    }
}
