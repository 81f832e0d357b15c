//! The built-in scheduler: an event loop inside the VM with a ready queue of
//! handles, a timer heap ordered by (deadline, insertion order), futures and
//! tasks. `asyncio` in the stdlib is a thin façade over it.
//!
//! Everything follows CPython 3.11's pure-Python asyncio algorithmically
//! (`base_events._run_once`, `futures.Future`, `tasks.Task.__step` and
//! `__wakeup`, `gather`, `wait_for`, the locks, queues, timeouts and task
//! groups) so that the order in which callbacks run is the same, and a
//! program interleaves exactly as it does under python3.
//!
//! A task step is a native operation: the task resumes its coroutine with
//! `Vm::resume`; awaiting a pending future suspends the coroutine's
//! whole frame chain, which yields the future out to the step, and the step
//! adds a done-callback that wakes the task. Library coroutines (`sleep`,
//! `Queue.get`, `Lock.acquire`, …) are small Rust state machines
//! (`coro::Machine`) that yield futures the same way.
//!
//! Time comes from `vm.clock`, so under `covm --virtual-time` the loop jumps
//! the clock to the next timer when nothing is ready.

pub mod agen_hooks;
pub mod api;
pub mod coro;
pub mod future;
pub mod group;
pub mod handler;
pub mod registry;
pub mod session;
pub mod sync;
pub mod task;

use std::cell::{Cell, RefCell};
use std::cmp::Ordering;
use std::collections::{BinaryHeap, VecDeque};
use std::rc::{Rc, Weak};

use crate::value::*;
use crate::vm::Vm;

pub use coro::{Input, Machine, NativeCoro, Step};
pub use future::{Callback, Fut, FutKind};

/// The classes of the scheduler's objects and asyncio's exceptions.
pub struct Classes {
    pub future: Rc<Class>,
    pub task: Rc<Class>,
    pub gathering_future: Rc<Class>,
    pub coroutine: Rc<Class>,
    pub future_iter: Rc<Class>,
    pub handle: Rc<Class>,
    pub timer_handle: Rc<Class>,
    pub event_loop: Rc<Class>,
    pub test_loop: Rc<Class>,
    pub event: Rc<Class>,
    pub lock: Rc<Class>,
    pub semaphore: Rc<Class>,
    pub bounded_semaphore: Rc<Class>,
    pub queue: Rc<Class>,
    pub priority_queue: Rc<Class>,
    pub lifo_queue: Rc<Class>,
    pub timeout: Rc<Class>,
    pub task_group: Rc<Class>,
    pub cancelled_error: Rc<Class>,
    pub invalid_state_error: Rc<Class>,
    pub queue_empty: Rc<Class>,
    pub queue_full: Rc<Class>,
    pub timeout_error: Rc<Class>,
    pub base_exception_group: Rc<Class>,
    pub exception_group: Rc<Class>,
}

/// State shared by every loop of one VM.
pub struct Shared {
    pub cls: Classes,
    /// `Task-N` names, process-wide as in CPython.
    task_counter: Cell<u64>,
    /// Creation order of tasks (for `all_tasks` and the shutdown order).
    task_ids: Cell<u64>,
    running: RefCell<Option<NativeRc<Loop>>>,
    /// The loop `get_event_loop()` returns outside a running loop.
    default_loop: RefCell<Option<NativeRc<Loop>>>,
    /// The policy's `_set_called`: once a program (or `asyncio.run`) has
    /// set the current loop, `get_event_loop()` no longer makes one.
    set_called: Cell<bool>,
    /// Task-like objects that are not native tasks, registered by
    /// `asyncio._register_task` (native tasks live in `Loop::tasks`).
    pub(crate) foreign_tasks: RefCell<Vec<Value>>,
    /// `(loop, task)` set by `asyncio._enter_task` for loops that are not
    /// native ones (a native loop keeps its own in `Loop::current`).
    pub(crate) foreign_current: RefCell<Vec<(Value, Value)>>,
}

const EXT_KEY: &str = "covm.scheduler";

/// The scheduler state of `vm`, created the first time it is needed.
pub fn shared(vm: &mut Vm) -> Rc<Shared> {
    if let Some(s) = vm.extensions.get(EXT_KEY)
        && let Ok(s) = s.clone().downcast::<Shared>()
    {
        return s;
    }
    let cls = api::make_classes(vm);
    let s = Rc::new(Shared {
        cls,
        task_counter: Cell::new(0),
        task_ids: Cell::new(0),
        running: RefCell::new(None),
        default_loop: RefCell::new(None),
        set_called: Cell::new(false),
        foreign_tasks: RefCell::new(Vec::new()),
        foreign_current: RefCell::new(Vec::new()),
    });
    vm.extensions.insert(EXT_KEY, s.clone());
    s
}

impl Shared {
    pub fn running_loop(&self) -> Option<NativeRc<Loop>> {
        self.running.borrow().clone()
    }
    fn next_task_name(&self) -> u64 {
        let n = self.task_counter.get() + 1;
        self.task_counter.set(n);
        n
    }
    fn next_task_id(&self) -> u64 {
        let n = self.task_ids.get() + 1;
        self.task_ids.set(n);
        n
    }
    /// `get_event_loop()`: the running loop, else the current default one
    /// (created on demand).
    pub fn event_loop(self: &Rc<Self>) -> NativeRc<Loop> {
        if let Some(l) = self.running_loop() {
            return l;
        }
        if let Some(l) = self.default_loop.borrow().clone()
            && !l.closed.get()
        {
            return l;
        }
        let l = Loop::new(self);
        *self.default_loop.borrow_mut() = Some(l.clone());
        l
    }
    pub fn set_default_loop(&self, l: Option<NativeRc<Loop>>) {
        self.set_called.set(true);
        *self.default_loop.borrow_mut() = l;
    }
    /// `set_event_loop_policy(None)`: a fresh default policy, which has no
    /// current loop and has not had one set (so `get_event_loop()` makes
    /// one on demand again).
    pub fn reset_policy(&self) {
        self.set_called.set(false);
        *self.default_loop.borrow_mut() = None;
    }
    /// `events._get_event_loop()` (what `get_event_loop()`, and `Future()`,
    /// `ensure_future`, `gather`, `shield` and `as_completed` without a
    /// loop use): the running loop, else the policy's current loop, made
    /// on demand only until one has been set (`asyncio.run` sets one and
    /// unsets it when done).
    pub fn get_event_loop(self: &Rc<Self>, vm: &Vm) -> PyResult<NativeRc<Loop>> {
        if let Some(l) = self.running_loop() {
            return Ok(l);
        }
        if let Some(l) = self.default_loop.borrow().clone() {
            return Ok(l);
        }
        if self.set_called.get() {
            return Err(vm.runtime_error("There is no current event loop in thread 'MainThread'."));
        }
        let l = Loop::new(self);
        self.set_default_loop(Some(l.clone()));
        Ok(l)
    }
}

/// `get_running_loop()`, or CPython's RuntimeError.
pub fn running_loop(vm: &mut Vm) -> PyResult<NativeRc<Loop>> {
    let sh = shared(vm);
    match sh.running_loop() {
        Some(l) => Ok(l),
        None => Err(vm.runtime_error("no running event loop")),
    }
}

// ---- handles and timers ---------------------------------------------------

/// What a handle in the ready queue or the timer heap does when it runs.
pub enum Job {
    /// `Task.__step(exc)`.
    Step(NativeRc<Fut>, Option<Value>),
    /// A done-callback of a future, called with the future.
    Callback(Callback, NativeRc<Fut>),
    /// `loop.call_soon(f, *args)` from a program, with the context it runs
    /// in (None: the current one).
    Call(
        Value,
        Vec<Value>,
        Option<NativeRc<crate::contextvars::Context>>,
    ),
    /// `futures._set_result_unless_cancelled` (the timer of `sleep`).
    SetResultUnlessCancelled(NativeRc<Fut>, Value),
    /// `tasks._release_waiter` (the timer of `wait_for` and `wait`).
    ReleaseWaiter(NativeRc<Fut>),
    /// `Timeout._on_timeout`.
    TimeoutFire(NativeRc<group::TimeoutObj>),
}

/// A `Handle` / `TimerHandle`: a cancellable scheduled callback.
pub struct Handle {
    cls: Rc<Class>,
    lp: Weak<NativeBox<Loop>>,
    when: Option<f64>,
    cancelled: Cell<bool>,
    /// In the timer heap.
    scheduled: Cell<bool>,
    /// The callback, for the repr of handles a program created.
    callback: Value,
}

impl Handle {
    pub fn cancel(&self) {
        if self.cancelled.get() {
            return;
        }
        self.cancelled.set(true);
        if self.when.is_some()
            && self.scheduled.get()
            && let Some(l) = self.lp.upgrade()
        {
            l.timer_cancelled.set(l.timer_cancelled.get() + 1);
        }
    }
    pub fn cancelled(&self) -> bool {
        self.cancelled.get()
    }
    pub fn when(&self) -> Option<f64> {
        self.when
    }
}

impl NativeObject for Handle {
    fn class(&self, _vm: &Vm) -> Rc<Class> {
        self.cls.clone()
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
    fn repr(&self, vm: &mut Vm) -> PyResult<Option<String>> {
        let mut info = vec![self.cls.name.to_string()];
        if self.cancelled.get() {
            info.push("cancelled".into());
        }
        if let Some(w) = self.when {
            info.push(format!("when={}", crate::format::float_repr(w)));
        }
        if !self.callback.is_none() {
            let cb = match &self.callback {
                Value::Function(f) => f.qualname.borrow().to_string(),
                Value::Builtin(b) => b.name.to_string(),
                other => vm.repr(other)?,
            };
            info.push(format!("{cb}()"));
        }
        Ok(Some(format!("<{}>", info.join(" "))))
    }
}

struct Ready {
    job: Job,
    handle: Option<NativeRc<Handle>>,
}

struct Timer {
    when: f64,
    seq: u64,
    handle: NativeRc<Handle>,
    job: Job,
}

impl PartialEq for Timer {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Timer {}
impl PartialOrd for Timer {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Timer {
    /// Reversed, so that `BinaryHeap` (a max-heap) pops the earliest
    /// deadline first, ties in insertion order.
    fn cmp(&self, other: &Self) -> Ordering {
        other
            .when
            .total_cmp(&self.when)
            .then(other.seq.cmp(&self.seq))
    }
}

// ---- the loop -------------------------------------------------------------

/// `base_events._MIN_SCHEDULED_TIMER_HANDLES`.
const MIN_SCHEDULED_TIMER_HANDLES: usize = 100;
/// The monotonic clock's resolution on Linux.
const CLOCK_RESOLUTION: f64 = 1e-9;

pub struct Loop {
    me: Weak<NativeBox<Loop>>,
    pub shared: Rc<Shared>,
    ready: RefCell<VecDeque<Ready>>,
    timers: RefCell<BinaryHeap<Timer>>,
    timer_seq: Cell<u64>,
    timer_cancelled: Cell<usize>,
    stopping: Cell<bool>,
    running: Cell<bool>,
    closed: Cell<bool>,
    current: RefCell<Option<NativeRc<Fut>>>,
    /// Tasks not yet done: the loop keeps them alive. Each task knows its
    /// slot, so removal is O(1).
    tasks: RefCell<Vec<NativeRc<Fut>>>,
    /// Running only because a REPL input that does not await runs inside it
    /// (`session::run_inside`): `asyncio.run` may then start its own loop.
    session_idle: Cell<bool>,
    /// The task `asyncio.run` drives: the first Ctrl-C cancels it
    /// (`runners.Runner._on_sigint`).
    main_task: RefCell<Option<NativeRc<Fut>>>,
    /// Ctrl-Cs the loop has turned into a cancellation of `main_task`.
    interrupts: Cell<u32>,
    /// `set_exception_handler`'s callable; None for the default handler.
    pub(crate) exception_handler: RefCell<Value>,
    /// Set for a `test_utils.TestLoop`.
    test_clock: Option<TestClock>,
    /// `loop.slow_callback_duration`: kept for programs that set it; the
    /// loop has no debug mode that would use it.
    slow_callback_duration: RefCell<Value>,
}

/// The clock of CPython's `test_utils.TestLoop`: time starts at 0; after
/// each iteration of the loop the time generator is sent the deadline of
/// every timer scheduled during it and answers how far to move the clock.
/// Waiting never sleeps.
struct TestClock {
    time: Cell<f64>,
    /// None: `TestLoop()` without a generator, whose time never moves.
    time_gen: Option<Value>,
    pending: RefCell<Vec<f64>>,
}

impl Loop {
    pub fn new(shared: &Rc<Shared>) -> NativeRc<Loop> {
        Loop::with_clock(shared, None)
    }

    /// A `test_utils.TestLoop` driven by the started generator `gen`.
    pub fn new_test(shared: &Rc<Shared>, time_gen: Option<Value>) -> NativeRc<Loop> {
        Loop::with_clock(
            shared,
            Some(TestClock {
                time: Cell::new(0.0),
                time_gen,
                pending: RefCell::new(Vec::new()),
            }),
        )
    }

    fn with_clock(shared: &Rc<Shared>, test_clock: Option<TestClock>) -> NativeRc<Loop> {
        NativeBox::new_cyclic(|me| Loop {
            me: me.clone(),
            shared: shared.clone(),
            ready: RefCell::new(VecDeque::new()),
            timers: RefCell::new(BinaryHeap::new()),
            timer_seq: Cell::new(0),
            timer_cancelled: Cell::new(0),
            stopping: Cell::new(false),
            running: Cell::new(false),
            closed: Cell::new(false),
            current: RefCell::new(None),
            tasks: RefCell::new(Vec::new()),
            session_idle: Cell::new(false),
            main_task: RefCell::new(None),
            interrupts: Cell::new(0),
            exception_handler: RefCell::new(Value::None),
            test_clock,
            slow_callback_duration: RefCell::new(Value::Float(0.1)),
        })
    }

    /// `TestLoop._run_once`'s second half: the generator is sent each new
    /// deadline and the clock moves by its answers.
    fn advance_test_clock(&self, vm: &mut Vm) -> PyResult<()> {
        let Some(tc) = &self.test_clock else {
            return Ok(());
        };
        let whens = std::mem::take(&mut *tc.pending.borrow_mut());
        let Some(time_gen) = &tc.time_gen else {
            return Ok(());
        };
        for when in whens {
            let advance = vm.call_method(time_gen, "send", vec![Value::Float(when)])?;
            if vm.truthy(&advance)? {
                let by = match advance {
                    Value::Int(i) => i as f64,
                    Value::Float(f) => f,
                    other => {
                        let t = vm.type_name(&other);
                        return Err(vm.type_error(&format!(
                            "unsupported operand type(s) for +=: 'float' and '{t}'"
                        )));
                    }
                };
                tc.time.set(tc.time.get() + by);
            }
        }
        Ok(())
    }

    /// `TestLoop.advance_time(advance)`.
    pub fn advance_test_time(&self, by: f64) -> bool {
        match &self.test_clock {
            Some(tc) => {
                tc.time.set(tc.time.get() + by);
                true
            }
            None => false,
        }
    }

    /// `TestLoop.close()`: the time generator must have finished.
    pub fn check_test_clock_on_close(&self, vm: &mut Vm) -> PyResult<()> {
        let Some(TestClock {
            time_gen: Some(time_gen),
            ..
        }) = &self.test_clock
        else {
            return Ok(());
        };
        if self.closed.get() {
            return Ok(());
        }
        let stop = vm.exc.stop_iteration.clone();
        match vm.call_method(time_gen, "send", vec![Value::Int(0)]) {
            Err(e) if vm.is_instance_of(&e, &stop) => Ok(()),
            Err(e) => Err(e),
            Ok(_) => {
                let cls = vm
                    .exc_by_name
                    .iter()
                    .find(|(n, _)| *n == "AssertionError")
                    .map(|(_, c)| c.clone())
                    .unwrap_or_else(|| vm.exc.exception.clone());
                Err(vm.new_exc(&cls, "Time generator is not finished"))
            }
        }
    }

    pub fn rc(&self) -> NativeRc<Loop> {
        match self.me.upgrade() {
            Some(l) => l,
            None => unreachable!("a loop is always owned by an Rc"),
        }
    }

    pub fn value(&self) -> Value {
        Value::Native(self.rc().into())
    }

    pub fn is_running(&self) -> bool {
        self.running.get()
    }
    pub fn is_closed(&self) -> bool {
        self.closed.get()
    }
    pub fn stop(&self) {
        self.stopping.set(true);
    }

    pub fn time(&self, vm: &Vm) -> f64 {
        if let Some(tc) = &self.test_clock {
            return tc.time.get();
        }
        vm.clock.monotonic()
    }

    /// `call_soon` without a handle object (the loop's own callbacks).
    pub fn call_soon(&self, job: Job) {
        self.ready
            .borrow_mut()
            .push_back(Ready { job, handle: None });
    }

    /// `call_soon` returning a cancellable handle.
    pub fn call_soon_handle(&self, job: Job, callback: Value) -> NativeRc<Handle> {
        let h = NativeBox::new(Handle {
            cls: self.shared.cls.handle.clone(),
            lp: self.me.clone(),
            when: None,
            cancelled: Cell::new(false),
            scheduled: Cell::new(false),
            callback,
        });
        self.ready.borrow_mut().push_back(Ready {
            job,
            handle: Some(h.clone()),
        });
        h
    }

    pub fn call_at(&self, when: f64, job: Job, callback: Value) -> NativeRc<Handle> {
        let h = NativeBox::new(Handle {
            cls: self.shared.cls.timer_handle.clone(),
            lp: self.me.clone(),
            when: Some(when),
            cancelled: Cell::new(false),
            scheduled: Cell::new(true),
            callback,
        });
        let seq = self.timer_seq.get() + 1;
        self.timer_seq.set(seq);
        self.timers.borrow_mut().push(Timer {
            when,
            seq,
            handle: h.clone(),
            job,
        });
        if let Some(tc) = &self.test_clock {
            tc.pending.borrow_mut().push(when);
        }
        h
    }

    pub fn call_later(&self, vm: &Vm, delay: f64, job: Job, callback: Value) -> NativeRc<Handle> {
        self.call_at(self.time(vm) + delay, job, callback)
    }

    pub fn create_future(&self) -> NativeRc<Fut> {
        Fut::new(&self.rc(), FutKind::Plain)
    }

    pub fn current_task(&self) -> Option<NativeRc<Fut>> {
        self.current.borrow().clone()
    }

    /// Tasks of this loop that are not done, in creation order.
    pub fn all_tasks(&self) -> Vec<NativeRc<Fut>> {
        let mut v: Vec<NativeRc<Fut>> = self
            .tasks
            .borrow()
            .iter()
            .filter(|t| !t.done())
            .cloned()
            .collect();
        v.sort_by_key(|t| t.task_data().map(|d| d.id).unwrap_or(0));
        v
    }

    fn register_task(&self, t: &NativeRc<Fut>) {
        let mut tasks = self.tasks.borrow_mut();
        if let Some(d) = t.task_data() {
            d.slot.set(tasks.len());
        }
        tasks.push(t.clone());
    }

    /// Drops the loop's reference to a finished task.
    pub(crate) fn unregister_task(&self, t: &Fut) {
        let Some(d) = t.task_data() else { return };
        let mut tasks = self.tasks.borrow_mut();
        let slot = d.slot.get();
        let mine = tasks.get(slot).is_some_and(|x| std::ptr::eq(&***x, t));
        if !mine {
            return;
        }
        let removed = tasks.swap_remove(slot);
        if let Some(moved) = tasks.get(slot)
            && let Some(md) = moved.task_data()
        {
            md.slot.set(slot);
        }
        d.slot.set(usize::MAX);
        drop(tasks);
        drop(removed);
    }

    /// `loop.create_task(coro)`: checks that `coro` is a coroutine.
    pub fn create_task(
        &self,
        vm: &mut Vm,
        coro: Value,
        name: Option<Value>,
    ) -> PyResult<NativeRc<Fut>> {
        if self.closed.get() {
            return Err(vm.runtime_error("Event loop is closed"));
        }
        if !coro::is_asyncio_coroutine(vm, &coro) {
            let r = vm.repr(&coro)?;
            return Err(vm.type_error(&format!("a coroutine was expected, got {r}")));
        }
        self.new_task(vm, coro, name)
    }

    /// A task over any resumable object (a coroutine, or the iterator an
    /// awaitable's `__await__` returned).
    pub(crate) fn new_task(
        &self,
        vm: &mut Vm,
        coro: Value,
        name: Option<Value>,
    ) -> PyResult<NativeRc<Fut>> {
        let (name, num) = match name {
            Some(n) if !n.is_none() => (Value::str(vm.to_str(&n)?), 0),
            _ => (Value::Undef, self.shared.next_task_name()),
        };
        let data = task::TaskData::new(coro, name, num, self.shared.next_task_id());
        *data.context.borrow_mut() = Some(crate::contextvars::copy_context(vm));
        let t = Fut::new(&self.rc(), FutKind::Task(Box::new(data)));
        self.call_soon(Job::Step(t.clone(), None));
        self.register_task(&t);
        Ok(t)
    }

    pub(crate) fn enter_task(&self, vm: &Vm, t: &NativeRc<Fut>) -> PyResult<()> {
        let mut cur = self.current.borrow_mut();
        if cur.is_some() {
            return Err(
                vm.runtime_error("Cannot enter into task while another task is being executed.")
            );
        }
        *cur = Some(t.clone());
        Ok(())
    }

    pub(crate) fn leave_task(&self) {
        let old = self.current.borrow_mut().take();
        drop(old);
    }

    /// Waits for the next timer; a pending Ctrl-C ends the wait at once
    /// (the real clock sleeps in short slices and looks at the flag).
    fn idle_until(&self, vm: &mut Vm, when: f64) {
        if vm.clock.is_virtual() {
            vm.clock.sleep_until(when);
            return;
        }
        // CPython's selector (epoll) waits in whole milliseconds, rounded
        // up, so timers due less than a millisecond apart come due in the
        // same iteration; waiting the same way keeps their interleaving
        // CPython's (`sleep(0.02)` started at 0.01 against a 0.03 timeout).
        let now = vm.clock.monotonic();
        let until = now + ((when - now) * 1e3).ceil() / 1e3;
        const SLICE: f64 = 0.01;
        loop {
            if vm.interrupt.load(std::sync::atomic::Ordering::Relaxed) {
                return;
            }
            let left = until - vm.clock.monotonic();
            if left <= 0.0 {
                return;
            }
            vm.clock.sleep(left.min(SLICE));
        }
    }

    /// A Ctrl-C seen between callbacks: under `asyncio.run` the first one
    /// cancels the main task (its `finally` blocks run, then `run` raises
    /// KeyboardInterrupt); otherwise KeyboardInterrupt leaves the loop.
    fn poll_interrupt(&self, vm: &mut Vm) -> PyResult<()> {
        if !vm.interrupt.load(std::sync::atomic::Ordering::Relaxed) {
            return Ok(());
        }
        let main = self.main_task.borrow().clone();
        match main {
            Some(t) if self.interrupts.get() == 0 && !t.done() => {
                vm.interrupt
                    .store(false, std::sync::atomic::Ordering::Relaxed);
                self.interrupts.set(1);
                task::cancel(vm, &t, Value::None)?;
                Ok(())
            }
            _ => vm.check_interrupt(),
        }
    }

    /// One iteration of the loop (`BaseEventLoop._run_once`).
    fn run_once(&self, vm: &mut Vm) -> PyResult<()> {
        self.drop_cancelled_timers();
        self.poll_interrupt(vm)?;
        let busy = !self.ready.borrow().is_empty() || self.stopping.get();
        if !busy {
            let next = self.timers.borrow().peek().map(|t| t.when);
            match next {
                // A TestLoop whose generator left the clock before the
                // next timer would spin for ever (its selector never
                // waits): refused.
                Some(when)
                    if self.test_clock.is_some()
                        && when >= self.time(vm) + CLOCK_RESOLUTION
                        && self
                            .test_clock
                            .as_ref()
                            .is_some_and(|t| t.pending.borrow().is_empty()) =>
                {
                    return Err(vm.runtime_error(
                        "TestLoop: the time generator left the clock before the next timer",
                    ));
                }
                Some(_) if self.test_clock.is_some() => {}
                Some(when) => {
                    self.idle_until(vm, when);
                    self.poll_interrupt(vm)?;
                }
                None => {
                    return Err(vm.runtime_error(
                        "event loop deadlock: every task is waiting and no timer or \
                         callback is pending",
                    ));
                }
            }
        }
        self.run_due(vm)?;
        self.advance_test_clock(vm)
    }

    /// Moves the timers that are due to the ready queue and runs the jobs
    /// ready at this point (the second half of `_run_once`).
    fn run_due(&self, vm: &mut Vm) -> PyResult<()> {
        let end = self.time(vm) + CLOCK_RESOLUTION;
        {
            let mut heap = self.timers.borrow_mut();
            let mut ready = self.ready.borrow_mut();
            while heap.peek().is_some_and(|t| t.when < end) {
                let Some(t) = heap.pop() else { break };
                t.handle.scheduled.set(false);
                ready.push_back(Ready {
                    job: t.job,
                    handle: Some(t.handle),
                });
            }
        }
        let ntodo = self.ready.borrow().len();
        for _ in 0..ntodo {
            let next = self.ready.borrow_mut().pop_front();
            let Some(r) = next else { break };
            if r.handle.as_ref().is_some_and(|h| h.cancelled.get()) {
                continue;
            }
            let callee = match &r.job {
                Job::Call(f, _, _) => Some(f.clone()),
                _ => None,
            };
            let handle = r.handle.clone();
            if let Err(e) = self.run_job(vm, r.job) {
                if is_exit_exception(vm, &e) {
                    return Err(e);
                }
                let what = match &callee {
                    Some(Value::Function(f)) => format!(" {}()", f.qualname.borrow()),
                    Some(Value::Builtin(b)) => format!(" {}()", b.name),
                    _ => String::new(),
                };
                let msg = Value::str(format!("Exception in callback{what}"));
                let mut ctx = vec![("message", msg), ("exception", e)];
                if let Some(h) = handle {
                    ctx.push(("handle", Value::Native(h.into())));
                }
                handler::report(vm, self, &ctx);
            }
        }
        Ok(())
    }

    fn drop_cancelled_timers(&self) {
        let mut heap = self.timers.borrow_mut();
        let n = heap.len();
        if n > MIN_SCHEDULED_TIMER_HANDLES && self.timer_cancelled.get() * 2 > n {
            let old = std::mem::take(&mut *heap).into_vec();
            let kept: Vec<Timer> = old
                .into_iter()
                .filter(|t| {
                    if t.handle.cancelled.get() {
                        t.handle.scheduled.set(false);
                        false
                    } else {
                        true
                    }
                })
                .collect();
            *heap = BinaryHeap::from(kept);
            self.timer_cancelled.set(0);
        } else {
            while heap.peek().is_some_and(|t| t.handle.cancelled.get()) {
                self.timer_cancelled
                    .set(self.timer_cancelled.get().saturating_sub(1));
                if let Some(t) = heap.pop() {
                    t.handle.scheduled.set(false);
                }
            }
        }
    }

    fn run_job(&self, vm: &mut Vm, job: Job) -> PyResult<()> {
        match job {
            Job::Step(t, exc) => task::step(vm, &t, exc),
            Job::Callback(cb, fut) => future::run_callback(vm, cb, &fut),
            Job::Call(f, args, None) => vm.call(&f, args).map(drop),
            Job::Call(f, args, Some(ctx)) => {
                crate::contextvars::run_in(vm, &ctx, |vm| vm.call(&f, args)).map(drop)
            }
            Job::SetResultUnlessCancelled(f, v) => {
                if f.cancelled() {
                    return Ok(());
                }
                f.set_result(vm, v)
            }
            Job::ReleaseWaiter(w) => {
                if !w.done() {
                    w.set_result(vm, Value::None)?;
                }
                Ok(())
            }
            Job::TimeoutFire(t) => group::timeout_fire(vm, &t),
        }
    }

    /// `loop.run_until_complete(fut)`.
    pub fn run_until_complete(&self, vm: &mut Vm, fut: &NativeRc<Fut>) -> PyResult<Value> {
        if self.closed.get() {
            return Err(vm.runtime_error("Event loop is closed"));
        }
        if self.running.get() {
            return Err(vm.runtime_error("This event loop is already running"));
        }
        if self.shared.running_loop().is_some() {
            return Err(vm.runtime_error("Cannot run the event loop while another loop is running"));
        }
        fut.add_done_callback(Callback::StopLoop);
        self.running.set(true);
        *self.shared.running.borrow_mut() = Some(self.rc());
        let r = loop {
            if let Err(e) = self.run_once(vm) {
                break Err(e);
            }
            if self.stopping.get() {
                break Ok(());
            }
        };
        self.stopping.set(false);
        self.running.set(false);
        let old = self.shared.running.borrow_mut().take();
        drop(old);
        fut.remove_callbacks(|c| matches!(c, Callback::StopLoop));
        r?;
        if !fut.done() {
            return Err(vm.runtime_error("Event loop stopped before Future completed."));
        }
        fut.result(vm)
    }

    /// `loop.close()`: drops everything still scheduled.
    pub fn close(&self, vm: &Vm) -> PyResult<()> {
        if self.running.get() {
            return Err(vm.runtime_error("Cannot close a running event loop"));
        }
        if self.closed.get() {
            return Ok(());
        }
        self.closed.set(true);
        let ready = std::mem::take(&mut *self.ready.borrow_mut());
        let timers = std::mem::take(&mut *self.timers.borrow_mut());
        let tasks = std::mem::take(&mut *self.tasks.borrow_mut());
        drop(ready);
        drop(timers);
        drop(tasks);
        Ok(())
    }
}

impl NativeObject for Loop {
    fn class(&self, _vm: &Vm) -> Rc<Class> {
        if self.test_clock.is_some() {
            return self.shared.cls.test_loop.clone();
        }
        self.shared.cls.event_loop.clone()
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
    /// `loop._ready`, which tests read to run a loop until nothing is
    /// ready: the ready queue's handles, as a list. The loop's own jobs
    /// have no handle object; they show as bare `Handle`s.
    fn set_attr(&self, _vm: &mut Vm, name: &str, v: &Value) -> PyResult<bool> {
        if name != "slow_callback_duration" {
            return Ok(false);
        }
        *self.slow_callback_duration.borrow_mut() = v.clone();
        Ok(true)
    }
    fn get_attr(&self, _vm: &mut Vm, name: &str) -> PyResult<Option<Value>> {
        if name == "slow_callback_duration" {
            return Ok(Some(self.slow_callback_duration.borrow().clone()));
        }
        if name != "_ready" {
            return Ok(None);
        }
        let ready = self.ready.borrow();
        let items = ready
            .iter()
            .map(|r| match &r.handle {
                Some(h) => Value::Native(h.clone().into()),
                None => Value::Native(
                    NativeBox::new(Handle {
                        cls: self.shared.cls.handle.clone(),
                        lp: self.me.clone(),
                        when: None,
                        cancelled: Cell::new(false),
                        scheduled: Cell::new(false),
                        callback: Value::None,
                    })
                    .into(),
                ),
            })
            .collect();
        Ok(Some(Value::list(items)))
    }
    fn repr(&self, _vm: &mut Vm) -> PyResult<Option<String>> {
        Ok(Some(format!(
            "<{} running={} closed={} debug=False>",
            if self.test_clock.is_some() {
                "TestLoop"
            } else {
                "_UnixSelectorEventLoop"
            },
            py_bool(self.running.get()),
            py_bool(self.closed.get())
        )))
    }
}

pub(crate) fn py_bool(b: bool) -> &'static str {
    if b { "True" } else { "False" }
}

/// SystemExit and KeyboardInterrupt pass through the loop; everything else
/// a callback raises is reported and the loop carries on.
pub(crate) fn is_exit_exception(vm: &Vm, e: &Value) -> bool {
    vm.is_instance_of(e, &vm.exc.system_exit) || vm.is_instance_of(e, &vm.exc.keyboard_interrupt)
}

/// The loop's default exception handler: a message and the traceback on
/// stderr.
pub(crate) fn report_exception(vm: &mut Vm, message: &str, e: &Value) {
    let _ = vm.flush();
    let text = vm.format_exception(e);
    eprintln!("{message}");
    eprint!("{text}");
}

/// `asyncio.run(main)`: a new loop runs `main` as a task, then the loop
/// cancels the tasks still pending and lets them finish (`runners.Runner`).
pub fn run(vm: &mut Vm, main: Value) -> PyResult<Value> {
    let sh = shared(vm);
    if let Some(l) = sh.running_loop() {
        if l.session_idle.get() && l.current_task().is_none() {
            return session::run_beside(vm, &l, main);
        }
        return Err(vm.runtime_error("asyncio.run() cannot be called from a running event loop"));
    }
    if !coro::is_asyncio_coroutine(vm, &main) {
        let r = vm.repr(&main)?;
        return Err(vm.value_error(&format!("a coroutine was expected, got {r}")));
    }
    let lp = Loop::new(&sh);
    sh.set_default_loop(Some(lp.clone()));
    let r = match lp.create_task(vm, main, None) {
        Ok(task) => {
            *lp.main_task.borrow_mut() = Some(task.clone());
            let r = lp.run_until_complete(vm, &task);
            lp.main_task.borrow_mut().take();
            match r {
                // `Runner.run`: the main task was cancelled by Ctrl-C.
                Err(e)
                    if lp.interrupts.get() > 0
                        && vm.is_instance_of(&e, &sh.cls.cancelled_error)
                        && task.task_data().is_some_and(|d| d.uncancel() == 0) =>
                {
                    let ki = vm.new_exc(&vm.exc.keyboard_interrupt.clone(), "");
                    if let Value::Instance(i) = &ki {
                        i.dict.borrow_mut().insert(Rc::from("__context__"), e);
                    }
                    Err(ki)
                }
                r => r,
            }
        }
        Err(e) => Err(e),
    };
    let closed = close_runner(vm, &lp);
    sh.set_default_loop(None);
    match closed {
        Err(e) => Err(e),
        Ok(()) => r,
    }
}

/// `Runner.close()`.
fn close_runner(vm: &mut Vm, lp: &NativeRc<Loop>) -> PyResult<()> {
    let r = cancel_all_tasks(vm, lp).and_then(|()| {
        agen_hooks::shutdown(vm, lp)?;
        for name in ["shutdown_asyncgens", "shutdown_default_executor"] {
            let c = coro::NativeCoro::immediate(&lp.shared, name, Value::None);
            let t = lp.new_task(vm, c, None)?;
            lp.run_until_complete(vm, &t)?;
        }
        Ok(())
    });
    let c = lp.close(vm);
    r.and(c)
}

/// `runners._cancel_all_tasks`.
fn cancel_all_tasks(vm: &mut Vm, lp: &NativeRc<Loop>) -> PyResult<()> {
    let to_cancel = lp.all_tasks();
    if to_cancel.is_empty() {
        return Ok(());
    }
    for t in &to_cancel {
        future::cancel(vm, t, Value::None)?;
    }
    let vals: Vec<Value> = to_cancel.iter().map(|t| t.value()).collect();
    let outer = future::gather(vm, &vals, true)?;
    lp.run_until_complete(vm, &outer)?;
    for t in &to_cancel {
        if t.cancelled() {
            continue;
        }
        let exc = t.exception(vm)?;
        if !exc.is_none() {
            let msg = Value::str("unhandled exception during asyncio.run() shutdown");
            let ctx = [("message", msg), ("exception", exc), ("task", t.value())];
            handler::report(vm, lp, &ctx);
        }
    }
    Ok(())
}
