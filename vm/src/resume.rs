//! The narrow interface through which the object protocols (`objects.rs`,
//! `asyncgen.rs`), the scheduler and embedders run generators and
//! coroutines: resume one with a value or an exception (`Vm::resume`) and
//! learn what it did (`Exit`: it yielded or it returned; raising is the
//! `Err`). Calls of any callable go through `Vm::call` (run.rs).
//!
//! Behind this lie the interpreter's own frame switches (`Resume`,
//! `resume_frame`, `throw_in_loop`, the nested dispatch loop), which those
//! callers never name: `tests/layers.rs` checks it.

use std::any::Any;
use std::rc::Rc;

use crate::frame::Resume;
use crate::value::{Class, GenRc, NativeObject, PyResult, Value};
use crate::vm::Vm;

/// What to do to a generator.
pub enum Action {
    Send(Value),
    Throw(Value),
}

/// Why a nested dispatch loop stopped: what a resumed generator did.
pub enum Exit {
    Return(Value),
    /// Also `Yield(Undef)` with `limits.paused` set: out of fuel, paused
    /// at a poll point (only in the loop `Vm::start_frame` runs).
    Yield(Value),
}

/// A value yielded by an async generator's `yield`, as the interpreter
/// hands it out: the awaitables of `asend`, `athrow` and `aclose` tell it
/// from a value an inner `await` passes out to the event loop.
pub struct Wrapped(pub Value);

impl NativeObject for Wrapped {
    fn class(&self, vm: &Vm) -> Rc<Class> {
        vm.types.object.clone()
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

impl Vm {
    /// Resumes `g` from Rust and waits for its next yield or its return,
    /// in a nested dispatch loop.
    pub fn resume(&mut self, g: &GenRc, action: Action) -> PyResult<Exit> {
        let base = self.frames.len();
        let r = match action {
            Action::Send(v) => self.resume_frame(g, v, Resume::Native),
            Action::Throw(e) => self.throw_in_loop(g, e, Resume::Native),
        };
        self.native_depth += 1;
        let out = match r {
            Ok(Some(exit)) => Ok(exit),
            Ok(None) => self.run(base),
            Err(e) if self.frames.len() > base => self.run_raising(base, e),
            Err(e) => Err(e),
        };
        self.native_depth -= 1;
        out
    }
}
