//! The REPL's event loop, as in `python -m asyncio`: one loop lives for
//! the whole session. An input with top-level `await` runs as a task on
//! it; any other input runs with the loop marked as running (so
//! `asyncio.create_task` works); after each input the loop runs what is
//! ready and the timers that are due, without waiting. Tasks therefore
//! progress whenever the user enters a line, and fully while a line awaits.

use super::{Fut, Loop, shared};
use crate::value::NativeRc;
use crate::value::{PyResult, Value};
use crate::vm::Vm;

/// Bound on loop passes after one input, so a task that never waits on a
/// timer (`while True: await asyncio.sleep(0)`) cannot hang the prompt.
const MAX_PASSES: usize = 100_000;

/// The session loop: created on first use and kept as the default loop.
pub fn session_loop(vm: &mut Vm) -> NativeRc<Loop> {
    let sh = shared(vm);
    sh.event_loop()
}

impl Loop {
    /// Runs `f` (a non-`await` input) with this loop as the running loop.
    /// When another loop is running already, `f` runs as is.
    pub fn run_inside<R>(&self, vm: &mut Vm, f: impl FnOnce(&mut Vm) -> R) -> R {
        if self.closed.get() || self.running.get() || self.shared.running_loop().is_some() {
            return f(vm);
        }
        self.running.set(true);
        self.session_idle.set(true);
        *self.shared.running.borrow_mut() = Some(self.rc());
        let r = f(vm);
        self.session_idle.set(false);
        self.running.set(false);
        let old = self.shared.running.borrow_mut().take();
        drop(old);
        r
    }

    /// Runs `coro` (an input with top-level `await`) as a task until it is
    /// done; the other tasks of the session run meanwhile.
    pub fn run_input(&self, vm: &mut Vm, coro: Value) -> PyResult<Value> {
        let task: NativeRc<Fut> = self.new_task(vm, coro, None)?;
        let r = self.run_until_complete(vm, &task);
        // Interrupted (Ctrl-C): the input is cancelled, as in
        // `python -m asyncio`, instead of running on in the background.
        if r.is_err() && !task.done() {
            let _ = super::future::cancel(vm, &task, Value::None);
        }
        r
    }

    /// One turn of the loop for a host that drives it: runs the jobs ready
    /// now and the timers due now, once, never sleeping. Returns whether
    /// anything is still ready or due (false: idle until a timer or a
    /// future the host completes).
    pub fn run_step(&self, vm: &mut Vm) -> PyResult<bool> {
        if self.closed.get() || self.running.get() || self.shared.running_loop().is_some() {
            return Ok(false);
        }
        self.running.set(true);
        *self.shared.running.borrow_mut() = Some(self.rc());
        let r = self.run_due(vm);
        self.running.set(false);
        let old = self.shared.running.borrow_mut().take();
        drop(old);
        r?;
        let now = self.time(vm) + super::CLOCK_RESOLUTION;
        let due = self.timers.borrow().peek().is_some_and(|t| t.when < now);
        Ok(due || !self.ready.borrow().is_empty())
    }

    /// Runs the ready jobs and the due timers until nothing is ready,
    /// never sleeping.
    pub fn run_pending(&self, vm: &mut Vm) -> PyResult<()> {
        if self.closed.get() || self.running.get() || self.shared.running_loop().is_some() {
            return Ok(());
        }
        self.running.set(true);
        *self.shared.running.borrow_mut() = Some(self.rc());
        let mut r = Ok(());
        for _ in 0..MAX_PASSES {
            let now = self.time(vm) + super::CLOCK_RESOLUTION;
            let due = self.timers.borrow().peek().is_some_and(|t| t.when < now);
            if self.ready.borrow().is_empty() && !due {
                break;
            }
            r = self.run_due(vm);
            if r.is_err() {
                break;
            }
        }
        self.stopping.set(false);
        self.running.set(false);
        let old = self.shared.running.borrow_mut().take();
        drop(old);
        r
    }
}

/// `asyncio.run(main)` typed at the REPL (plain Python's REPL allows it):
/// the session loop steps aside while a loop of its own runs `main`.
pub(super) fn run_beside(vm: &mut Vm, session: &NativeRc<Loop>, main: Value) -> PyResult<Value> {
    let sh = session.shared.clone();
    session.running.set(false);
    let old = sh.running.borrow_mut().take();
    let r = super::run(vm, main);
    session.running.set(true);
    *sh.running.borrow_mut() = old;
    sh.set_default_loop(Some(session.clone()));
    r
}
