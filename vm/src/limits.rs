//! Resource limits for untrusted scripts: fuel (a step budget that pauses
//! the VM when it runs out), a wall-clock deadline, a host-triggered stop
//! that a script cannot catch, and a memory cap.
//!
//! The dispatch loop polls at its two existing interrupt points (backward
//! jumps and calls): it decrements `Limits::countdown` and takes the slow
//! path (`Vm::poll_limits`) when it reaches zero. The countdown never
//! starts above `CHECK_EVERY`, so the interrupt flag (Ctrl-C, the host's
//! stop, the memory cap) is looked at within that many steps, and the hot
//! path is one decrement and one branch.
//!
//! One *step* is one poll: a loop iteration or a call. Fuel is counted in
//! steps.

use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use crate::value::*;
use crate::vm::Vm;

/// How often (in steps) the slow path runs at least: it looks at the
/// interrupt flag and the deadline, which the hot path does not.
pub const CHECK_EVERY: i64 = 1 << 10;

/// Steps a nested dispatch loop (a native calling back into covm code) may
/// run past the end of the fuel before the run is stopped: a pause can only
/// happen in the loop the host started.
const NESTED_OVERDRAFT: u64 = 1 << 20;

/// Steps `finally` blocks may run while the stop unwinds through them.
const STOP_GRACE: u32 = 1 << 16;

/// Why a run was stopped for good.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StopReason {
    /// The host called `StopHandle::stop`.
    Host,
    /// The wall-clock deadline passed.
    Deadline,
    /// The step budget ran out where the run could not pause (`--max-steps`,
    /// or deep inside a native call).
    Steps(u64),
}

impl std::fmt::Display for StopReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StopReason::Host => write!(f, "stopped by the host"),
            StopReason::Deadline => write!(f, "deadline exceeded"),
            StopReason::Steps(n) => write!(f, "step limit of {n} exceeded"),
        }
    }
}

/// A handle that stops a running VM from another thread (or from a native
/// callback). The stop unwinds the script through its `finally` blocks;
/// no `except` clause can catch it.
#[derive(Clone)]
pub struct StopHandle {
    stop: Arc<AtomicBool>,
    interrupt: Arc<AtomicBool>,
}

impl StopHandle {
    /// Requests the stop; the script notices it at its next loop iteration
    /// or call.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
        self.interrupt.store(true, Ordering::SeqCst);
    }
}

/// The limits state kept on the VM (`Vm::limits`).
pub struct Limits {
    /// Steps until the dispatch loop takes the slow path. Decremented at
    /// every poll point.
    pub countdown: i64,
    /// The value `countdown` was last set to: `window - countdown` steps
    /// have run since.
    window: i64,
    /// Fuel not yet handed to `countdown`; `None`: unlimited.
    fuel: Option<u64>,
    /// Total steps run since the limits were created.
    used: u64,
    /// When fuel runs out: pause (true) or stop (false, `--max-steps`).
    pub pause_on_fuel: bool,
    /// The step budget as the user gave it, for the stop message.
    pub step_limit: u64,
    /// `native_depth` of the loop the host started: only there can a run
    /// pause.
    pub host_depth: usize,
    /// Set by the poll that paused the run; the host entry point reads and
    /// clears it.
    pub paused: bool,
    deadline: Option<Instant>,
    stop: Arc<AtomicBool>,
    /// Set once a stop is raised; the host entry point reports it even if a
    /// bare `except:` swallowed the exception.
    pub stopped: Option<StopReason>,
    /// The stop exception in flight.
    stop_exc: Option<Value>,
    stop_class: Option<Rc<Class>>,
    /// Set when the memory cap raised MemoryError, for the host to see.
    pub memory_exceeded: bool,
    /// Steps a `finally` block may still run while the stop unwinds.
    stop_grace: u32,
    /// Steps left to run past the end of the fuel in a nested loop.
    overdraft: u64,
    /// `frames.len()` below the paused run's first frame.
    paused_base: Option<usize>,
}

impl Limits {
    /// No limits: fuel unlimited, no deadline, no stop requested.
    pub fn new() -> Limits {
        Limits {
            countdown: CHECK_EVERY,
            window: CHECK_EVERY,
            fuel: None,
            used: 0,
            pause_on_fuel: true,
            step_limit: 0,
            host_depth: 0,
            paused: false,
            deadline: None,
            stop: Arc::new(AtomicBool::new(false)),
            stopped: None,
            stop_exc: None,
            stop_class: None,
            memory_exceeded: false,
            stop_grace: 0,
            overdraft: NESTED_OVERDRAFT,
            paused_base: None,
        }
    }

    /// Steps run so far (loop iterations and calls).
    pub fn steps_used(&self) -> u64 {
        self.used + (self.window - self.countdown).max(0) as u64
    }

    /// Fuel left, or `None` when unlimited.
    pub fn fuel(&self) -> Option<u64> {
        self.fuel
            .map(|f| (f + self.countdown.max(0) as u64).saturating_sub(self.overdrawn()))
    }

    fn overdrawn(&self) -> u64 {
        if self.countdown < 0 {
            (-self.countdown) as u64
        } else {
            0
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits::new()
    }
}

impl Vm {
    /// A handle that stops this VM's current run (see `StopHandle`).
    pub fn stop_handle(&self) -> StopHandle {
        StopHandle {
            stop: self.limits.stop.clone(),
            interrupt: self.interrupt.clone(),
        }
    }

    /// Sets the fuel (in steps); `None` removes the budget.
    pub fn set_fuel(&mut self, fuel: Option<u64>) {
        self.bank_steps();
        self.limits.fuel = fuel;
        self.limits.step_limit = fuel.unwrap_or(0);
        self.limits.overdraft = NESTED_OVERDRAFT;
        self.rearm();
    }

    /// Adds fuel to the budget (a paused run can then resume).
    pub fn add_fuel(&mut self, more: u64) {
        self.bank_steps();
        let f = self.limits.fuel.unwrap_or(0);
        self.limits.fuel = Some(f.saturating_add(more));
        self.rearm();
    }

    /// Fuel left (`None`: unlimited).
    pub fn fuel(&self) -> Option<u64> {
        self.limits.fuel()
    }

    /// Sets or clears the wall-clock deadline.
    pub fn set_deadline(&mut self, deadline: Option<Instant>) {
        self.bank_steps();
        self.limits.deadline = deadline;
        self.rearm();
    }

    /// Clears a stop (requested or raised) so the VM can run again.
    pub fn clear_stop(&mut self) {
        self.limits.stop.store(false, Ordering::SeqCst);
        self.limits.stopped = None;
        self.limits.stop_exc = None;
    }

    /// Moves the steps run in the current window into `used`/`fuel`.
    fn bank_steps(&mut self) {
        let l = &mut self.limits;
        let ran = (l.window - l.countdown).max(0) as u64;
        l.used += ran;
        if let Some(f) = l.fuel {
            // The window was taken out of the fuel when it was armed; give
            // back what was not run.
            let unrun = l.countdown.max(0) as u64;
            l.fuel = Some(f + unrun);
            if l.countdown < 0 {
                l.fuel = Some(l.fuel.unwrap_or(0).saturating_sub(l.overdrawn()));
            }
        }
        l.window = 0;
        l.countdown = 0;
    }

    /// Starts a new countdown window from the fuel, the deadline and the
    /// memory cap.
    fn rearm(&mut self) {
        let l = &mut self.limits;
        let mut w = CHECK_EVERY;
        if let Some(f) = l.fuel {
            w = w.min(f.min(i64::MAX as u64) as i64);
            l.fuel = Some(f - w as u64);
        }
        l.window = w;
        l.countdown = w;
    }

    /// The slow path of a poll point, reached when the countdown hits zero
    /// or the interrupt flag is set. `Ok(true)`: pause here (the caller
    /// leaves the dispatch loop with the frames in place, see
    /// `start_frame`); `Ok(false)`: go on; `Err`: raise (KeyboardInterrupt,
    /// MemoryError or the stop).
    pub fn poll_limits(&mut self) -> PyResult<bool> {
        if crate::gc::due() {
            self.gc_auto();
        }
        self.check_interrupt()?;
        if self.limits.stopped.is_some() {
            // A `finally` block runs during the stop (check_interrupt let
            // it): no fuel check until it is done.
            self.limits.window = 1;
            self.limits.countdown = 1;
            return Ok(false);
        }
        if let Some(d) = self.limits.deadline
            && Instant::now() >= d
        {
            return Err(self.raise_stop(StopReason::Deadline));
        }
        self.bank_steps();
        let out_of_fuel = self.limits.fuel == Some(0);
        self.rearm();
        if !out_of_fuel {
            return Ok(false);
        }
        if self.limits.pause_on_fuel {
            if self.native_depth == self.limits.host_depth {
                self.limits.paused = true;
                return Ok(true);
            }
            if self.limits.overdraft > 0 {
                // Deep in a native call (or a coroutine step the host
                // drives): a pause is impossible here, so run on a bounded
                // while, hoping control gets back to the host's loop.
                self.limits.overdraft -= 1;
                self.limits.window = 1;
                self.limits.countdown = 1;
                return Ok(false);
            }
        }
        Err(self.raise_stop(StopReason::Steps(self.limits.step_limit)))
    }

    /// `check_interrupt`'s slow path: the interrupt flag is set.
    pub(crate) fn interrupted(&mut self) -> PyResult<()> {
        self.interrupt.store(false, Ordering::SeqCst);
        if self.stop_requested() {
            // The flag stays up: every poll point raises the stop again,
            // except while a `finally` block runs on its behalf (for a
            // bounded number of steps).
            self.interrupt.store(true, Ordering::SeqCst);
            if self.limits.stop_exc.is_some()
                && self.limits.stop_grace > 0
                && self.stop_being_handled()
            {
                self.limits.stop_grace -= 1;
                return Ok(());
            }
            return Err(self.reraise_stop());
        }
        if memory::take_exceeded() {
            self.limits.memory_exceeded = true;
            return Err(self.new_exc(&self.exc.memory_error.clone(), ""));
        }
        Err(self.new_exc(&self.exc.keyboard_interrupt.clone(), ""))
    }

    /// The host asked for a stop (checked by `check_interrupt`).
    pub(crate) fn stop_requested(&self) -> bool {
        self.limits.stop.load(Ordering::Relaxed) || self.limits.stopped.is_some()
    }

    /// Raises (again) the stop for the current reason.
    pub(crate) fn reraise_stop(&mut self) -> Value {
        let reason = self.limits.stopped.clone().unwrap_or(StopReason::Host);
        self.raise_stop(reason)
    }

    /// Builds the uncatchable stop exception and keeps the interrupt flag
    /// set, so that every later poll point raises it again unless a
    /// `finally` block is running on its behalf.
    fn raise_stop(&mut self, reason: StopReason) -> Value {
        self.interrupt.store(true, Ordering::SeqCst);
        // Every step polls until the run ends: a swallowed stop is raised
        // again at once.
        self.bank_steps();
        self.limits.window = 1;
        self.limits.countdown = 1;
        if let Some(e) = &self.limits.stop_exc {
            return e.clone();
        }
        let cls = self.stop_class();
        let msg = reason.to_string();
        let e = self.new_exc(&cls, &msg);
        self.limits.stopped = Some(reason);
        self.limits.stop_exc = Some(e.clone());
        self.limits.stop_grace = STOP_GRACE;
        e
    }

    /// `covm.Stopped`: a BaseException subclass that no `except` clause
    /// matches (see `exception_matches`).
    pub fn stop_class(&mut self) -> Rc<Class> {
        if let Some(c) = &self.limits.stop_class {
            return c.clone();
        }
        let c = Class::native(
            "Stopped",
            "covm",
            &self.exc.base_exception,
            BuiltinType::BaseException,
        );
        self.limits.stop_class = Some(c.clone());
        c
    }

    /// True for the stop exception: `except` clauses never match it.
    pub fn is_stop(&self, exc: &Value) -> bool {
        match (&self.limits.stop_class, exc) {
            (Some(c), Value::Instance(i)) => Rc::ptr_eq(&i.class, c),
            _ => false,
        }
    }

    /// True while a `finally` (or `except`) block runs with the stop as
    /// its exception: polls then let the block run.
    pub(crate) fn stop_being_handled(&self) -> bool {
        let Some(Value::Instance(s)) = &self.limits.stop_exc else {
            return false;
        };
        self.frames.iter().any(|f| {
            f.handled()
                .iter()
                .any(|(_, h)| matches!(h, Value::Instance(i) if Rc::ptr_eq(i, s)))
        })
    }
}

/// Memory accounting: a global allocator that counts the bytes live on
/// each thread, and a per-thread cap. Install it in the final binary:
///
/// ```ignore
/// #[global_allocator]
/// static ALLOC: covm_vm::limits::memory::CountingAlloc = covm_vm::limits::memory::CountingAlloc;
/// ```
///
/// Without it, `set_limit` returns `false` and no cap applies. The cap is
/// soft: the allocation that crosses it succeeds, and the script gets
/// `MemoryError` at its next loop iteration or call.
pub mod memory {
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::cell::Cell;
    use std::sync::atomic::{AtomicBool, Ordering};

    /// Off until the first cap is set: until then the allocator only
    /// forwards to `System` (one relaxed load per call), so programs that
    /// set no cap pay nearly nothing. Bytes freed after it turned on that
    /// were allocated before count as negative, which can only make the cap
    /// more lenient by that much.
    static ACTIVE: AtomicBool = AtomicBool::new(false);

    thread_local! {
        static LIVE: Cell<isize> = const { Cell::new(0) };
        /// Live bytes above which the cap trips (`isize::MAX`: no cap).
        static TRIP_AT: Cell<isize> = const { Cell::new(isize::MAX) };
        /// The cap's level (`base + limit`); `TRIP_AT` moves above it after
        /// a MemoryError so the handler can run.
        static CAP: Cell<isize> = const { Cell::new(isize::MAX) };
        static EXCEEDED: Cell<bool> = const { Cell::new(false) };
        /// The interrupt flag of the VM that set the cap: crossing the cap
        /// raises it so the next poll point notices.
        static FLAG: Cell<*const AtomicBool> = const { Cell::new(std::ptr::null()) };
    }

    /// The counting allocator (wraps `System`).
    pub struct CountingAlloc;

    #[inline]
    fn charge(n: isize) {
        if !ACTIVE.load(Ordering::Relaxed) {
            return;
        }
        // `try_with`: the thread-locals may be gone while a thread exits.
        let _ = LIVE.try_with(|l| {
            let live = l.get() + n;
            l.set(live);
            if n > 0 {
                let trip = TRIP_AT.with(|t| t.get());
                if live > trip {
                    trip_now(live);
                }
            } else if live < CAP.with(|c| c.get()) {
                TRIP_AT.with(|t| t.set(CAP.with(|c| c.get())));
            }
        });
    }

    #[cold]
    fn trip_now(live: isize) {
        EXCEEDED.with(|e| e.set(true));
        // Let the script's handler allocate a little before tripping again.
        let cap = CAP.with(|c| c.get());
        let slack = (cap / 8).max(1 << 20);
        TRIP_AT.with(|t| t.set(live.saturating_add(slack)));
        let f = FLAG.with(|f| f.get());
        if !f.is_null() {
            // SAFETY: the VM that registered the flag keeps the Arc alive
            // and unregisters it (`set_limit(None, ..)`) before dropping it.
            unsafe { (*f).store(true, Ordering::SeqCst) };
        }
    }

    // SAFETY: defers to System; the counters are thread-local `const`
    // cells, which neither allocate nor lock.
    unsafe impl GlobalAlloc for CountingAlloc {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            let p = unsafe { System.alloc(layout) };
            if !p.is_null() {
                charge(layout.size() as isize);
            }
            p
        }
        unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
            let p = unsafe { System.alloc_zeroed(layout) };
            if !p.is_null() {
                charge(layout.size() as isize);
            }
            p
        }
        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            unsafe { System.dealloc(ptr, layout) };
            charge(-(layout.size() as isize));
        }
        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            let p = unsafe { System.realloc(ptr, layout, new_size) };
            if !p.is_null() {
                charge(new_size as isize - layout.size() as isize);
            }
            p
        }
    }

    /// True when `CountingAlloc` is the global allocator (turns counting
    /// on).
    pub fn installed() -> bool {
        ACTIVE.store(true, Ordering::SeqCst);
        let before = LIVE.with(|l| l.get());
        let b = std::hint::black_box(Box::new(0u64));
        let after = LIVE.with(|l| l.get());
        drop(b);
        after != before
    }

    /// Bytes live on this thread (allocated minus freed) since counting
    /// turned on (the first cap).
    pub fn live_bytes() -> usize {
        LIVE.with(|l| l.get()).max(0) as usize
    }

    /// True when a cap is set on this thread.
    pub fn limited() -> bool {
        CAP.with(|c| c.get()) != isize::MAX
    }

    /// Caps the bytes this thread may allocate from now on at `limit`
    /// (`None`: no cap); `flag` is raised when the cap is crossed. Returns
    /// false when the counting allocator is not installed.
    pub fn set_limit(limit: Option<usize>, flag: Option<&AtomicBool>) -> bool {
        let counting = limit.is_none() || installed();
        let cap = match limit {
            Some(n) => live_bytes().saturating_add(n).min(isize::MAX as usize - 1) as isize,
            None => isize::MAX,
        };
        CAP.with(|c| c.set(cap));
        TRIP_AT.with(|t| t.set(cap));
        EXCEEDED.with(|e| e.set(false));
        FLAG.with(|f| f.set(flag.map_or(std::ptr::null(), |a| a as *const AtomicBool)));
        counting
    }

    /// Reads and clears the "cap crossed" flag.
    pub fn take_exceeded() -> bool {
        EXCEEDED.with(|e| e.replace(false))
    }
}

impl Vm {
    /// Caps the memory this VM's thread may allocate from now on (bytes;
    /// `None`: no cap). Needs `memory::CountingAlloc` as the global
    /// allocator: returns false without it.
    pub fn set_memory_limit(&mut self, limit: Option<usize>) -> bool {
        memory::set_limit(limit, limit.map(|_| &*self.interrupt))
    }
}

impl Drop for Limits {
    fn drop(&mut self) {
        // The allocator must not keep a pointer to this VM's flag. (Only
        // clear it if a cap is set: another VM on the thread may own it.)
        if memory::limited() {
            memory::set_limit(None, None);
        }
    }
}

/// How a host-started run (`Vm::start_frame`) came back.
pub enum RunState {
    /// The frame returned this value.
    Done(Value),
    /// Out of fuel: the frames stay on the VM; `Vm::resume_paused` goes on
    /// exactly where the run stopped, `Vm::abandon_paused` drops it.
    Paused,
}

impl Vm {
    /// Runs `frame` as a host-started run: the one place where running out
    /// of fuel pauses instead of stopping. An error is the exception the
    /// run ended with (the stop's exception when `limits.stopped` is set).
    pub fn start_frame(&mut self, mut frame: crate::frame::FrameBox) -> PyResult<RunState> {
        if self.limits.paused_base.is_some() {
            return Err(self.runtime_error("a paused run must be resumed or abandoned first"));
        }
        frame.ret = crate::frame::ReturnTo::Native;
        self.frames.push(frame);
        let base = self.frames.len() - 1;
        self.host_loop(base)
    }

    /// True while a host-started run is paused for fuel.
    pub fn is_paused(&self) -> bool {
        self.limits.paused_base.is_some()
    }

    /// Continues the paused run (after `add_fuel`).
    pub fn resume_paused(&mut self) -> PyResult<RunState> {
        match self.limits.paused_base.take() {
            Some(base) => self.host_loop(base),
            None => Err(self.runtime_error("no paused run to resume")),
        }
    }

    /// Drops the paused run's frames without running any more of its code.
    pub fn abandon_paused(&mut self) {
        let Some(base) = self.limits.paused_base.take() else {
            return;
        };
        while self.frames.len() > base {
            if let Some(mut f) = self.frames.pop()
                && let crate::frame::ReturnTo::Generator(g, how) =
                    std::mem::replace(&mut f.ret, crate::frame::ReturnTo::Caller)
            {
                g.state.set(GenState::Closed);
                if how.is_call() {
                    self.c_depth -= 1;
                }
            }
        }
    }

    fn host_loop(&mut self, base: usize) -> PyResult<RunState> {
        self.native_depth += 1;
        let saved = std::mem::replace(&mut self.limits.host_depth, self.native_depth);
        let r = self.run(base);
        self.limits.host_depth = saved;
        self.native_depth -= 1;
        if std::mem::take(&mut self.limits.paused) {
            self.limits.paused_base = Some(base);
            return Ok(RunState::Paused);
        }
        match r {
            // A stop a bare `except:` swallowed still ends the run.
            Ok(_) if self.limits.stopped.is_some() => Err(self.reraise_stop()),
            Ok(crate::interp::Exit::Return(v)) => Ok(RunState::Done(v)),
            Ok(crate::interp::Exit::Yield(_)) => Err(self.runtime_error("unexpected yield")),
            Err(e) => Err(e),
        }
    }
}
