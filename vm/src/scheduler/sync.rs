//! `asyncio.Event`, `Lock`, `Semaphore`, `BoundedSemaphore` and the queues
//! (`locks.py`, `queues.py`).

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;

use super::coro::{Machine, NativeCoro};
use super::future::Fut;
use super::{Shared, shared};
use crate::value::*;
use crate::vm::Vm;

fn addr<T>(x: &T) -> usize {
    x as *const T as usize
}

// ---- Event --------------------------------------------------------------------

pub struct EventObj {
    cls: Rc<Class>,
    value: Cell<bool>,
    pub(crate) waiters: RefCell<VecDeque<NativeRc<Fut>>>,
}

impl EventObj {
    pub fn new(sh: &Shared) -> NativeRc<EventObj> {
        NativeBox::new(EventObj {
            cls: sh.cls.event.clone(),
            value: Cell::new(false),
            waiters: RefCell::new(VecDeque::new()),
        })
    }
    pub fn is_set(&self) -> bool {
        self.value.get()
    }
    pub fn set(&self, vm: &mut Vm) -> PyResult<()> {
        if self.value.get() {
            return Ok(());
        }
        self.value.set(true);
        let waiters: Vec<NativeRc<Fut>> = self.waiters.borrow().iter().cloned().collect();
        for f in waiters {
            if !f.done() {
                f.set_result(vm, Value::Bool(true))?;
            }
        }
        Ok(())
    }
    pub fn clear(&self) {
        self.value.set(false);
    }
}

impl NativeObject for EventObj {
    fn class(&self, _vm: &Vm) -> Rc<Class> {
        self.cls.clone()
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
    fn repr(&self, _vm: &mut Vm) -> PyResult<Option<String>> {
        let mut extra = if self.value.get() { "set" } else { "unset" }.to_string();
        let n = self.waiters.borrow().len();
        if n > 0 {
            extra = format!("{extra}, waiters:{n}");
        }
        Ok(Some(format!(
            "<asyncio.locks.Event object at {:#x} [{extra}]>",
            addr(self)
        )))
    }
}

// ---- Lock -----------------------------------------------------------------------

pub struct LockObj {
    cls: Rc<Class>,
    pub(crate) locked: Cell<bool>,
    pub(crate) waiters: RefCell<VecDeque<NativeRc<Fut>>>,
}

impl LockObj {
    /// The fast path of `acquire`: free and nobody (uncancelled) waiting.
    pub(crate) fn try_acquire_now(&self) -> bool {
        if !self.locked.get() && self.waiters.borrow().iter().all(|w| w.cancelled()) {
            self.locked.set(true);
            return true;
        }
        false
    }
    pub(crate) fn wake_up_first(&self, vm: &mut Vm) -> PyResult<()> {
        let first = self.waiters.borrow().front().cloned();
        if let Some(f) = first
            && !f.done()
        {
            f.set_result(vm, Value::Bool(true))?;
        }
        Ok(())
    }
    pub fn release(&self, vm: &mut Vm) -> PyResult<()> {
        if self.locked.get() {
            self.locked.set(false);
            self.wake_up_first(vm)
        } else {
            Err(vm.runtime_error("Lock is not acquired."))
        }
    }
}

impl NativeObject for LockObj {
    fn class(&self, _vm: &Vm) -> Rc<Class> {
        self.cls.clone()
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
    fn repr(&self, _vm: &mut Vm) -> PyResult<Option<String>> {
        let mut extra = if self.locked.get() {
            "locked"
        } else {
            "unlocked"
        }
        .to_string();
        let n = self.waiters.borrow().len();
        if n > 0 {
            extra = format!("{extra}, waiters:{n}");
        }
        Ok(Some(format!(
            "<asyncio.locks.Lock object at {:#x} [{extra}]>",
            addr(self)
        )))
    }
}

// ---- Semaphore --------------------------------------------------------------------

pub struct SemObj {
    cls: Rc<Class>,
    pub(crate) value: Cell<i64>,
    bound: Option<i64>,
    pub(crate) waiters: RefCell<VecDeque<NativeRc<Fut>>>,
}

impl SemObj {
    pub fn locked(&self) -> bool {
        self.value.get() == 0 || self.waiters.borrow().iter().any(|w| !w.cancelled())
    }
    pub(crate) fn wake_up_next(&self, vm: &mut Vm) -> PyResult<()> {
        let waiters: Vec<NativeRc<Fut>> = self.waiters.borrow().iter().cloned().collect();
        for f in waiters {
            if !f.done() {
                self.value.set(self.value.get() - 1);
                f.set_result(vm, Value::Bool(true))?;
                return Ok(());
            }
        }
        Ok(())
    }
    pub fn release(&self, vm: &mut Vm) -> PyResult<()> {
        if let Some(b) = self.bound
            && self.value.get() >= b
        {
            return Err(vm.value_error("BoundedSemaphore released too many times"));
        }
        self.value.set(self.value.get() + 1);
        self.wake_up_next(vm)
    }
}

impl NativeObject for SemObj {
    fn class(&self, _vm: &Vm) -> Rc<Class> {
        self.cls.clone()
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
    fn repr(&self, _vm: &mut Vm) -> PyResult<Option<String>> {
        let mut extra = if self.locked() {
            "locked".to_string()
        } else {
            format!("unlocked, value:{}", self.value.get())
        };
        let n = self.waiters.borrow().len();
        if n > 0 {
            extra = format!("{extra}, waiters:{n}");
        }
        Ok(Some(format!(
            "<asyncio.locks.{} object at {:#x} [{extra}]>",
            self.cls.name,
            addr(self)
        )))
    }
}

// ---- Queue ----------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum QueueKind {
    Fifo,
    Lifo,
    Priority,
}

pub struct QueueObj {
    cls: Rc<Class>,
    kind: QueueKind,
    maxsize: Value,
    max: i64,
    items: RefCell<VecDeque<Value>>,
    pub(crate) getters: RefCell<VecDeque<NativeRc<Fut>>>,
    pub(crate) putters: RefCell<VecDeque<NativeRc<Fut>>>,
    unfinished: Cell<i64>,
    finished: NativeRc<EventObj>,
}

impl QueueObj {
    pub fn unfinished(&self) -> i64 {
        self.unfinished.get()
    }
    pub fn qsize(&self) -> usize {
        self.items.borrow().len()
    }
    pub fn empty(&self) -> bool {
        self.items.borrow().is_empty()
    }
    pub fn full(&self) -> bool {
        self.max > 0 && self.qsize() as i64 >= self.max
    }

    fn wakeup_next(vm: &mut Vm, waiters: &RefCell<VecDeque<NativeRc<Fut>>>) -> PyResult<()> {
        loop {
            let w = waiters.borrow_mut().pop_front();
            let Some(w) = w else { return Ok(()) };
            if !w.done() {
                w.set_result(vm, Value::None)?;
                return Ok(());
            }
        }
    }
    pub(crate) fn wakeup_next_getter(&self, vm: &mut Vm) -> PyResult<()> {
        QueueObj::wakeup_next(vm, &self.getters)
    }
    pub(crate) fn wakeup_next_putter(&self, vm: &mut Vm) -> PyResult<()> {
        QueueObj::wakeup_next(vm, &self.putters)
    }

    fn put_item(&self, vm: &mut Vm, item: Value) -> PyResult<()> {
        match self.kind {
            QueueKind::Fifo | QueueKind::Lifo => {
                self.items.borrow_mut().push_back(item);
                Ok(())
            }
            QueueKind::Priority => {
                // heapq.heappush, comparing with `<` as heapq does.
                let mut heap: Vec<Value> = std::mem::take(&mut *self.items.borrow_mut()).into();
                heap.push(item);
                let mut pos = heap.len() - 1;
                let r = (|| {
                    while pos > 0 {
                        let parent = (pos - 1) / 2;
                        if vm.less_than(&heap[pos], &heap[parent])? {
                            heap.swap(pos, parent);
                            pos = parent;
                        } else {
                            break;
                        }
                    }
                    Ok(())
                })();
                *self.items.borrow_mut() = heap.into();
                r
            }
        }
    }

    fn get_item(&self, vm: &mut Vm) -> PyResult<Value> {
        match self.kind {
            QueueKind::Fifo => Ok(self.items.borrow_mut().pop_front().unwrap_or(Value::None)),
            QueueKind::Lifo => Ok(self.items.borrow_mut().pop_back().unwrap_or(Value::None)),
            QueueKind::Priority => {
                let mut heap: Vec<Value> = std::mem::take(&mut *self.items.borrow_mut()).into();
                let Some(last) = heap.pop() else {
                    return Ok(Value::None);
                };
                if heap.is_empty() {
                    return Ok(last);
                }
                let top = std::mem::replace(&mut heap[0], last);
                let r = sift_up_heapq(vm, &mut heap);
                *self.items.borrow_mut() = heap.into();
                r.map(|()| top)
            }
        }
    }

    pub fn put_nowait(&self, vm: &mut Vm, item: Value) -> PyResult<()> {
        if self.full() {
            let cls = shared(vm).cls.queue_full.clone();
            return Err(vm.new_exc_args(&cls, vec![]));
        }
        self.put_item(vm, item)?;
        self.unfinished.set(self.unfinished.get() + 1);
        self.finished.clear();
        self.wakeup_next_getter(vm)
    }

    pub fn get_nowait(&self, vm: &mut Vm) -> PyResult<Value> {
        if self.empty() {
            let cls = shared(vm).cls.queue_empty.clone();
            return Err(vm.new_exc_args(&cls, vec![]));
        }
        let item = self.get_item(vm)?;
        self.wakeup_next_putter(vm)?;
        Ok(item)
    }

    pub fn task_done(&self, vm: &mut Vm) -> PyResult<()> {
        if self.unfinished.get() <= 0 {
            return Err(vm.value_error("task_done() called too many times"));
        }
        self.unfinished.set(self.unfinished.get() - 1);
        if self.unfinished.get() == 0 {
            self.finished.set(vm)?;
        }
        Ok(())
    }

    fn format(&self, vm: &mut Vm) -> PyResult<String> {
        let mut s = format!("maxsize={}", vm.repr(&self.maxsize)?);
        let items: Vec<Value> = self.items.borrow().iter().cloned().collect();
        if !items.is_empty() {
            s.push_str(&format!(" _queue={}", vm.repr(&Value::list(items))?));
        }
        let g = self.getters.borrow().len();
        if g > 0 {
            s.push_str(&format!(" _getters[{g}]"));
        }
        let p = self.putters.borrow().len();
        if p > 0 {
            s.push_str(&format!(" _putters[{p}]"));
        }
        if self.unfinished.get() != 0 {
            s.push_str(&format!(" tasks={}", self.unfinished.get()));
        }
        Ok(s)
    }
}

/// heapq's `_siftup(heap, 0)`: move the smaller child up until a leaf, then
/// `_siftdown` the item back.
fn sift_up_heapq(vm: &mut Vm, heap: &mut [Value]) -> PyResult<()> {
    let end = heap.len();
    let mut pos = 0;
    let mut child = 1;
    while child < end {
        let right = child + 1;
        if right < end && !vm.less_than(&heap[child], &heap[right])? {
            child = right;
        }
        heap.swap(pos, child);
        pos = child;
        child = 2 * pos + 1;
    }
    while pos > 0 {
        let parent = (pos - 1) / 2;
        if vm.less_than(&heap[pos], &heap[parent])? {
            heap.swap(pos, parent);
            pos = parent;
        } else {
            break;
        }
    }
    Ok(())
}

impl NativeObject for QueueObj {
    fn class(&self, _vm: &Vm) -> Rc<Class> {
        self.cls.clone()
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
    fn repr(&self, vm: &mut Vm) -> PyResult<Option<String>> {
        let f = self.format(vm)?;
        Ok(Some(format!(
            "<{} at {:#x} {f}>",
            self.cls.name,
            addr(self)
        )))
    }
    fn get_attr(&self, _vm: &mut Vm, name: &str) -> PyResult<Option<Value>> {
        Ok((name == "maxsize").then(|| self.maxsize.clone()))
    }
}

// ---- Python-visible methods ---------------------------------------------------

fn this<'a, T: 'static>(vm: &Vm, args: &'a [Value], cls: &str, m: &str) -> PyResult<&'a T> {
    match args.first() {
        Some(Value::Native(n)) => match n.as_any().downcast_ref::<T>() {
            Some(t) => Ok(t),
            None => Err(vm.type_error(&format!(
                "descriptor '{m}' requires a '{cls}' object but received '{}'",
                vm.type_name(&args[0])
            ))),
        },
        _ => Err(vm.type_error(&format!("descriptor '{m}' requires a '{cls}' object"))),
    }
}

/// The typed `Rc` of the receiver.
fn rc_as<T: NativeObject>(vm: &Vm, args: &[Value], cls: &str, m: &str) -> PyResult<NativeRc<T>> {
    args.first()
        .and_then(Value::downcast_native)
        .ok_or_else(|| vm.type_error(&format!("descriptor '{m}' requires a '{cls}' object")))
}

fn no_args(vm: &Vm, name: &str, args: &[Value], n: usize) -> PyResult<()> {
    if args.len() != n + 1 {
        let given = args.len().saturating_sub(1);
        return Err(vm.type_error(&format!(
            "{name}() takes {} positional argument{} but {} were given",
            n + 1,
            if n == 0 { "" } else { "s" },
            given + 1
        )));
    }
    Ok(())
}

fn ev_new(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    if args.len() > 1 {
        return Err(vm.type_error(&format!(
            "Event.__init__() takes 1 positional argument but {} were given",
            args.len()
        )));
    }
    let sh = shared(vm);
    Ok(Value::Native(EventObj::new(&sh).into()))
}
fn ev_is_set(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let e = this::<EventObj>(vm, args, "Event", "is_set")?;
    Ok(Value::Bool(e.is_set()))
}
fn ev_set(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let e = rc_as::<EventObj>(vm, args, "Event", "set")?;
    e.set(vm)?;
    Ok(Value::None)
}
fn ev_clear(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let e = this::<EventObj>(vm, args, "Event", "clear")?;
    e.clear();
    Ok(Value::None)
}
fn ev_wait(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let e = rc_as::<EventObj>(vm, args, "Event", "wait")?;
    no_args(vm, "Event.wait", args, 0)?;
    let sh = shared(vm);
    Ok(NativeCoro::make(
        &sh,
        "Event.wait",
        Machine::EventWait {
            ev: e,
            fut: None,
            ret: Value::Bool(true),
            join: None,
        },
    ))
}

fn lock_new(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    if args.len() > 1 {
        return Err(vm.type_error(&format!(
            "Lock.__init__() takes 1 positional argument but {} were given",
            args.len()
        )));
    }
    let sh = shared(vm);
    Ok(Value::Native(
        NativeBox::new(LockObj {
            cls: sh.cls.lock.clone(),
            locked: Cell::new(false),
            waiters: RefCell::new(VecDeque::new()),
        })
        .into(),
    ))
}
fn lock_locked(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let l = this::<LockObj>(vm, args, "Lock", "locked")?;
    Ok(Value::Bool(l.locked.get()))
}
fn lock_acquire_with(
    vm: &mut Vm,
    args: &[Value],
    ret: Value,
    name: &'static str,
) -> PyResult<Value> {
    let l = rc_as::<LockObj>(vm, args, "Lock", "acquire")?;
    let sh = shared(vm);
    Ok(NativeCoro::make(
        &sh,
        name,
        Machine::LockAcquire {
            lock: l,
            fut: None,
            ret,
        },
    ))
}
fn lock_acquire(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    no_args(vm, "Lock.acquire", args, 0)?;
    lock_acquire_with(vm, args, Value::Bool(true), "Lock.acquire")
}
fn lock_aenter(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    lock_acquire_with(vm, args, Value::None, "_ContextManagerMixin.__aenter__")
}
fn lock_release(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let l = rc_as::<LockObj>(vm, args, "Lock", "release")?;
    l.release(vm)?;
    Ok(Value::None)
}
fn lock_aexit(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let sh = shared(vm);
    if let Ok(l) = rc_as::<LockObj>(vm, args, "Lock", "__aexit__") {
        return Ok(NativeCoro::thunk(
            &sh,
            "_ContextManagerMixin.__aexit__",
            move |vm| l.release(vm).map(|()| Value::None),
        ));
    }
    let s = rc_as::<SemObj>(vm, args, "Semaphore", "__aexit__")?;
    Ok(NativeCoro::thunk(
        &sh,
        "_ContextManagerMixin.__aexit__",
        move |vm| s.release(vm).map(|()| Value::None),
    ))
}

fn sem_make(vm: &mut Vm, args: &[Value], kw: &KwArgs, bounded: bool) -> PyResult<Value> {
    let name = if bounded {
        "BoundedSemaphore"
    } else {
        "Semaphore"
    };
    let mut value = args.get(1).cloned();
    for (k, v) in kw {
        if k.as_ref() == "value" && value.is_none() {
            value = Some(v.clone());
        } else {
            return Err(vm.type_error(&format!(
                "{name}.__init__() got an unexpected keyword argument '{k}'"
            )));
        }
    }
    if args.len() > 2 {
        return Err(vm.type_error(&format!(
            "{name}.__init__() takes from 1 to 2 positional arguments but {} were given",
            args.len()
        )));
    }
    let v = match value {
        None => 1,
        Some(Value::Int(i)) => i,
        Some(Value::Bool(b)) => b as i64,
        Some(other) => {
            return Err(vm.type_error(&format!(
                "'<' not supported between instances of '{}' and 'int'",
                vm.type_name(&other)
            )));
        }
    };
    if v < 0 {
        return Err(vm.value_error("Semaphore initial value must be >= 0"));
    }
    let sh = shared(vm);
    Ok(Value::Native(
        NativeBox::new(SemObj {
            cls: if bounded {
                sh.cls.bounded_semaphore.clone()
            } else {
                sh.cls.semaphore.clone()
            },
            value: Cell::new(v),
            bound: bounded.then_some(v),
            waiters: RefCell::new(VecDeque::new()),
        })
        .into(),
    ))
}
fn sem_new(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    sem_make(vm, args, kw, false)
}
fn bsem_new(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    sem_make(vm, args, kw, true)
}
fn sem_locked(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let s = this::<SemObj>(vm, args, "Semaphore", "locked")?;
    Ok(Value::Bool(s.locked()))
}
fn sem_acquire_with(
    vm: &mut Vm,
    args: &[Value],
    ret: Value,
    name: &'static str,
) -> PyResult<Value> {
    let s = rc_as::<SemObj>(vm, args, "Semaphore", "acquire")?;
    let sh = shared(vm);
    Ok(NativeCoro::make(
        &sh,
        name,
        Machine::SemAcquire {
            sem: s,
            fut: None,
            ret,
        },
    ))
}
fn sem_acquire(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    no_args(vm, "Semaphore.acquire", args, 0)?;
    sem_acquire_with(vm, args, Value::Bool(true), "Semaphore.acquire")
}
fn sem_aenter(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    sem_acquire_with(vm, args, Value::None, "_ContextManagerMixin.__aenter__")
}
fn sem_release(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let s = rc_as::<SemObj>(vm, args, "Semaphore", "release")?;
    s.release(vm)?;
    Ok(Value::None)
}

fn queue_make(vm: &mut Vm, args: &[Value], kw: &KwArgs, kind: QueueKind) -> PyResult<Value> {
    let sh = shared(vm);
    let cls = match kind {
        QueueKind::Fifo => sh.cls.queue.clone(),
        QueueKind::Lifo => sh.cls.lifo_queue.clone(),
        QueueKind::Priority => sh.cls.priority_queue.clone(),
    };
    let mut maxsize = args.get(1).cloned();
    for (k, v) in kw {
        if k.as_ref() == "maxsize" && maxsize.is_none() {
            maxsize = Some(v.clone());
        } else {
            return Err(vm.type_error(&format!(
                "{}.__init__() got an unexpected keyword argument '{k}'",
                cls.name
            )));
        }
    }
    if args.len() > 2 {
        return Err(vm.type_error(&format!(
            "{}.__init__() takes from 1 to 2 positional arguments but {} were given",
            cls.name,
            args.len()
        )));
    }
    let maxsize = maxsize.unwrap_or(Value::Int(0));
    let max = match &maxsize {
        Value::Int(i) => *i,
        Value::Bool(b) => *b as i64,
        Value::Float(f) => f.ceil() as i64,
        other => {
            return Err(vm.type_error(&format!(
                "'<=' not supported between instances of '{}' and 'int'",
                vm.type_name(other)
            )));
        }
    };
    let finished = EventObj::new(&sh);
    finished.value.set(true);
    Ok(Value::Native(
        NativeBox::new(QueueObj {
            cls,
            kind,
            maxsize,
            max,
            items: RefCell::new(VecDeque::new()),
            getters: RefCell::new(VecDeque::new()),
            putters: RefCell::new(VecDeque::new()),
            unfinished: Cell::new(0),
            finished,
        })
        .into(),
    ))
}
fn queue_new(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    queue_make(vm, args, kw, QueueKind::Fifo)
}
fn lifo_new(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    queue_make(vm, args, kw, QueueKind::Lifo)
}
fn prio_new(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    queue_make(vm, args, kw, QueueKind::Priority)
}

fn q_qsize(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let q = this::<QueueObj>(vm, args, "Queue", "qsize")?;
    Ok(Value::Int(q.qsize() as i64))
}
fn q_empty(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let q = this::<QueueObj>(vm, args, "Queue", "empty")?;
    Ok(Value::Bool(q.empty()))
}
fn q_full(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let q = this::<QueueObj>(vm, args, "Queue", "full")?;
    Ok(Value::Bool(q.full()))
}
fn q_put_nowait(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let q = rc_as::<QueueObj>(vm, args, "Queue", "put_nowait")?;
    no_args(vm, "Queue.put_nowait", args, 1)?;
    q.put_nowait(vm, args[1].clone())?;
    Ok(Value::None)
}
fn q_get_nowait(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let q = rc_as::<QueueObj>(vm, args, "Queue", "get_nowait")?;
    no_args(vm, "Queue.get_nowait", args, 0)?;
    q.get_nowait(vm)
}
fn q_put(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let q = rc_as::<QueueObj>(vm, args, "Queue", "put")?;
    no_args(vm, "Queue.put", args, 1)?;
    let sh = shared(vm);
    Ok(NativeCoro::make(
        &sh,
        "Queue.put",
        Machine::QueuePut {
            q,
            item: args[1].clone(),
            waiter: None,
        },
    ))
}
fn q_get(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let q = rc_as::<QueueObj>(vm, args, "Queue", "get")?;
    no_args(vm, "Queue.get", args, 0)?;
    let sh = shared(vm);
    Ok(NativeCoro::make(
        &sh,
        "Queue.get",
        Machine::QueueGet { q, waiter: None },
    ))
}
fn q_task_done(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let q = rc_as::<QueueObj>(vm, args, "Queue", "task_done")?;
    q.task_done(vm)?;
    Ok(Value::None)
}
fn q_join(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let q = rc_as::<QueueObj>(vm, args, "Queue", "join")?;
    let sh = shared(vm);
    let ev = q.finished.clone();
    Ok(NativeCoro::make(
        &sh,
        "Queue.join",
        Machine::EventWait {
            ev,
            fut: None,
            ret: Value::None,
            join: Some(q),
        },
    ))
}
fn q_str(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let q = rc_as::<QueueObj>(vm, args, "Queue", "__str__")?;
    let f = q.format(vm)?;
    Ok(Value::str(format!("<{} {f}>", q.cls.name)))
}

/// Fills in the classes' methods.
pub(crate) fn install(vm: &Vm, c: &super::Classes) {
    vm.set_native_new(&c.event, ev_new);
    vm.add_method(&c.event, "is_set", ev_is_set);
    vm.add_method(&c.event, "set", ev_set);
    vm.add_method(&c.event, "clear", ev_clear);
    vm.add_method(&c.event, "wait", ev_wait);

    vm.set_native_new(&c.lock, lock_new);
    vm.add_method(&c.lock, "locked", lock_locked);
    vm.add_method(&c.lock, "acquire", lock_acquire);
    vm.add_method(&c.lock, "release", lock_release);
    vm.add_method(&c.lock, "__aenter__", lock_aenter);
    vm.add_method(&c.lock, "__aexit__", lock_aexit);

    vm.set_native_new(&c.semaphore, sem_new);
    vm.set_native_new(&c.bounded_semaphore, bsem_new);
    vm.add_method(&c.semaphore, "locked", sem_locked);
    vm.add_method(&c.semaphore, "acquire", sem_acquire);
    vm.add_method(&c.semaphore, "release", sem_release);
    vm.add_method(&c.semaphore, "__aenter__", sem_aenter);
    vm.add_method(&c.semaphore, "__aexit__", lock_aexit);

    vm.set_native_new(&c.queue, queue_new);
    vm.set_native_new(&c.lifo_queue, lifo_new);
    vm.set_native_new(&c.priority_queue, prio_new);
    for (name, f) in [
        ("qsize", q_qsize as NativeFn),
        ("empty", q_empty),
        ("full", q_full),
        ("put_nowait", q_put_nowait),
        ("get_nowait", q_get_nowait),
        ("put", q_put),
        ("get", q_get),
        ("task_done", q_task_done),
        ("join", q_join),
        ("__str__", q_str),
    ] {
        vm.add_method(&c.queue, name, f);
    }
}
