//! A covm generator or coroutine driven step by step from Rust.

use covm_vm::value::Value;

use crate::convert::IntoValue;
use crate::error::{Error, ErrorKind, Result};
use crate::vm::{IntoArgs, Vm};

/// What one step of a [`Coroutine`] produced.
#[derive(Debug)]
pub enum Step {
    /// It yielded (or, for a coroutine, awaited) this value and is
    /// suspended.
    Yielded(Value),
    /// It returned this value and is finished.
    Returned(Value),
}

/// A covm generator or coroutine object the host resumes itself, as
/// `next()`, `send()`, `throw()` and `close()` would.
#[derive(Clone)]
pub struct Coroutine {
    gen_obj: Value,
}

impl Vm {
    /// Calls the generator or coroutine function `name` and returns the
    /// suspended generator/coroutine, not yet started.
    pub fn coroutine(&mut self, name: &str, args: impl IntoArgs) -> Result<Coroutine> {
        let g: Value = self.call(name, args)?;
        Coroutine::new(g)
    }
}

impl Coroutine {
    /// Wraps a generator or coroutine object.
    pub fn new(v: Value) -> Result<Coroutine> {
        match v {
            Value::Generator(_) => Ok(Coroutine { gen_obj: v }),
            _ => Err(Error::new(
                ErrorKind::Conversion,
                "expected a generator or coroutine object",
                None,
            )),
        }
    }

    /// The generator or coroutine object.
    pub fn value(&self) -> &Value {
        &self.gen_obj
    }

    /// Resumes it with `None` (starts it the first time).
    pub fn resume(&self, vm: &mut Vm) -> Result<Step> {
        self.send(vm, ())
    }

    /// `gen.send(v)`: resumes it with `v` as the value of its `yield`.
    pub fn send(&self, vm: &mut Vm, v: impl IntoValue) -> Result<Step> {
        let v = vm.value(v)?;
        let r = vm.raw().call_method(&self.gen_obj, "send", vec![v]);
        self.step(vm, r)
    }

    /// `gen.throw(E(msg))`: raises the built-in exception class `exc` (e.g.
    /// `"ValueError"`) at its `yield`.
    pub fn throw(&self, vm: &mut Vm, exc: &str, msg: &str) -> Result<Step> {
        let raw = vm.raw();
        let cls = raw
            .exc_by_name
            .iter()
            .find(|(n, _)| *n == exc)
            .map(|(_, c)| c.clone());
        let Some(cls) = cls else {
            return Err(Error::new(
                ErrorKind::Conversion,
                format!("no built-in exception class '{exc}'"),
                None,
            ));
        };
        let e = raw.new_exc(&cls, msg);
        let r = raw.call_method(&self.gen_obj, "throw", vec![e]);
        self.step(vm, r)
    }

    /// `gen.close()`: raises GeneratorExit at its `yield`, running its
    /// `finally` blocks.
    pub fn close(&self, vm: &mut Vm) -> Result<()> {
        let r = vm.raw().call_method(&self.gen_obj, "close", vec![]);
        r.map(|_| ()).map_err(|e| vm.exception_error(e))
    }

    /// True once it returned, raised or was closed.
    pub fn is_finished(&self) -> bool {
        match &self.gen_obj {
            Value::Generator(g) => g.state.get() == covm_vm::value::GenState::Closed,
            _ => true,
        }
    }

    fn step(&self, vm: &mut Vm, r: covm_vm::PyResult<Value>) -> Result<Step> {
        match r {
            Ok(v) => Ok(Step::Yielded(v)),
            Err(e) => {
                let raw = vm.raw();
                if raw.is_instance_of(&e, &raw.exc.stop_iteration.clone()) {
                    return Ok(Step::Returned(raw.stop_iteration_value(&e)));
                }
                Err(vm.exception_error(e))
            }
        }
    }
}
