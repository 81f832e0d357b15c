//! The dispatch loop's slow path for the limits (`limits.rs`).
//!
//! The dispatch loop polls at its two existing interrupt points (backward
//! jumps and calls): it decrements `Limits::countdown` and takes the slow
//! path (`Vm::poll_limits`) when it reaches zero. The countdown never
//! starts above `CHECK_EVERY`, so the interrupt flag (Ctrl-C, the host's
//! stop, the memory cap) is looked at within that many steps, and the hot
//! path is one decrement and one branch. Host-started runs that pause
//! when the fuel runs out start here too (`Vm::start_frame`).

use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use crate::limits::*;
use crate::value::*;
use crate::vm::Vm;

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

impl Vm {
    /// Caps the memory this VM's thread may allocate from now on (bytes;
    /// `None`: no cap). Needs `memory::CountingAlloc` as the global
    /// allocator: returns false without it.
    pub fn set_memory_limit(&mut self, limit: Option<usize>) -> bool {
        memory::set_limit(limit, limit.map(|_| &*self.interrupt))
    }
}

impl Vm {
    /// Runs `frame` as a host-started run: the one place where running out
    /// of fuel pauses instead of stopping. An error is the exception the
    /// run ended with (the stop's exception when `limits.stopped` is set).
    pub fn start_frame(&mut self, frame: crate::frame::FrameBox) -> PyResult<RunState> {
        if self.limits.paused_base.is_some() {
            return Err(self.runtime_error("a paused run must be resumed or abandoned first"));
        }
        let ret = crate::frame::ReturnTo::Native;
        self.frames.push(crate::frame::Activation::new(frame, ret));
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
        self.drop_frames_above(base);
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
            Ok(crate::resume::Exit::Return(v)) => Ok(RunState::Done(v)),
            Ok(crate::resume::Exit::Yield(_)) => Err(self.runtime_error("unexpected yield")),
            Err(e) => Err(e),
        }
    }
}
