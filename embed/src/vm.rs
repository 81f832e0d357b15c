//! The embedding facade: a VM with the stdlib installed and a `__main__`
//! module, run and eval in one call, globals, calls, host functions and
//! types, the scheduler and the resource limits.

use std::cell::RefCell;
use std::io::Write;
use std::marker::PhantomData;
use std::rc::Rc;
use std::time::{Duration, Instant};

use covm_vm::Vm as RawVm;
use covm_vm::call::Prepared;
use covm_vm::compiler::{self, Mode};
use covm_vm::frame::Frame;
use covm_vm::limits::{RunState, StopHandle};
use covm_vm::scheduler::future::{Fut, FutKind, as_fut};
use covm_vm::value::{Module, PyResult, Value};

use crate::convert::{FromValue, IntoValue};
use crate::error::{Error, ErrorKind, Result};
use crate::host::{HostFn, TypeBuilder, class_of, closure_value};

/// An output buffer shared with the VM (`Builder::capture_output`).
#[derive(Clone, Default)]
struct SharedBuf(Rc<RefCell<Vec<u8>>>);

impl Write for SharedBuf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Configures a [`Vm`] before it is built.
#[derive(Default)]
pub struct Builder {
    modules: Option<Vec<String>>,
    capture: bool,
    argv: Vec<String>,
}

impl Builder {
    /// Only these stdlib modules can be imported (e.g. `&["math",
    /// "asyncio"]`); the default is all of them. The built-in functions
    /// are always there.
    pub fn modules(mut self, names: &[&str]) -> Self {
        self.modules = Some(names.iter().map(|s| s.to_string()).collect());
        self
    }

    /// `print` writes into a buffer that `Vm::take_output` empties,
    /// instead of to stdout.
    pub fn capture_output(mut self) -> Self {
        self.capture = true;
        self
    }

    /// `sys.argv` as the script sees it.
    pub fn argv(mut self, argv: Vec<String>) -> Self {
        self.argv = argv;
        self
    }

    /// Builds the VM.
    pub fn build(self) -> Vm {
        let mut raw = RawVm::new();
        covm_stdlib::install(&mut raw);
        if let Some(keep) = &self.modules {
            raw.native_modules
                .retain(|name, _| keep.iter().any(|k| k == name));
        }
        raw.argv = self.argv;
        let output = if self.capture {
            let buf = SharedBuf::default();
            raw.set_output(Box::new(buf.clone()));
            Some(buf)
        } else {
            raw.set_output(Box::new(std::io::stdout()));
            None
        };
        let main = raw.new_module("__main__");
        {
            let mut g = main.globals.borrow_mut();
            g.insert(Rc::from("__name__"), Value::str("__main__"));
            g.insert(Rc::from("__doc__"), Value::None);
        }
        raw.module_set("__main__", Value::Module(main.clone()));
        Vm { raw, main, output }
    }
}

/// How a run that may pause for fuel came back (`Vm::start`).
#[derive(Debug)]
pub enum Run {
    /// The run finished with this value (`None` for a script).
    Done(Value),
    /// Out of fuel, paused where it stopped: `add_fuel` then `resume`,
    /// or `abandon`.
    Paused,
}

/// Arguments for a covm call: `()`, a tuple of [`IntoValue`] values (up to
/// four), or a `Vec<Value>`.
pub trait IntoArgs {
    /// Converts the arguments.
    fn into_args(self, vm: &mut RawVm) -> PyResult<Vec<Value>>;
}

impl IntoArgs for Vec<Value> {
    fn into_args(self, _: &mut RawVm) -> PyResult<Vec<Value>> {
        Ok(self)
    }
}

macro_rules! into_args {
    ($($a:ident $i:tt),*) => {
        impl<$($a: IntoValue),*> IntoArgs for ($($a,)*) {
            #[allow(unused_variables)]
            fn into_args(self, vm: &mut RawVm) -> PyResult<Vec<Value>> {
                Ok(vec![$(self.$i.into_value(vm)?),*])
            }
        }
    };
}
into_args!();
into_args!(A 0);
into_args!(A 0, B 1);
into_args!(A 0, B 1, C 2);
into_args!(A 0, B 1, C 2, D 3);

/// A covm interpreter with the standard library, ready to run scripts.
///
/// Globals persist across `run` and `eval` calls (they share one
/// `__main__` module). Not `Send`: a VM lives on the thread that made it;
/// use [`Vm::stop_handle`] to stop it from another thread.
pub struct Vm {
    raw: RawVm,
    main: Rc<Module>,
    output: Option<SharedBuf>,
}

impl Default for Vm {
    fn default() -> Self {
        Vm::new()
    }
}

impl Vm {
    /// A VM with every stdlib module, printing to stdout.
    pub fn new() -> Vm {
        Builder::default().build()
    }

    /// Configures a VM (modules, captured output, argv).
    pub fn builder() -> Builder {
        Builder::default()
    }

    /// The interpreter underneath, for everything this facade does not
    /// cover.
    pub fn raw(&mut self) -> &mut RawVm {
        &mut self.raw
    }

    /// What `print` wrote since the last call (with `capture_output`;
    /// empty otherwise).
    pub fn take_output(&mut self) -> String {
        let _ = self.raw.flush();
        match &self.output {
            Some(b) => {
                String::from_utf8_lossy(&std::mem::take(&mut *b.0.borrow_mut())).into_owned()
            }
            None => String::new(),
        }
    }

    fn compile(&mut self, source: &str, name: &str) -> Result<Rc<covm_vm::code::Code>> {
        let syntax = |e: covm_parser::ast::SyntaxError| {
            let line = source[..e.span.start.min(source.len())]
                .matches('\n')
                .count()
                + 1;
            Error::new(
                ErrorKind::Syntax,
                format!(
                    "  File \"{name}\", line {line}\n{}: {}\n",
                    e.kind, e.message
                ),
                None,
            )
        };
        let ast = covm_parser::parse_module(source).map_err(syntax)?;
        compiler::compile(&ast, Rc::from(source), Rc::from(name), Mode::File).map_err(syntax)
    }

    /// Runs `source` (a whole script, named `name` in tracebacks) in the
    /// `__main__` module. With fuel set, a run that runs out returns
    /// `ErrorKind::OutOfFuel` and stays paused (see [`Vm::start`]).
    pub fn run(&mut self, source: &str, name: &str) -> Result<()> {
        match self.start(source, name)? {
            Run::Done(_) => Ok(()),
            Run::Paused => Err(self.out_of_fuel()),
        }
    }

    /// Like `run`, but a pause for fuel is a normal outcome: add fuel and
    /// call [`Vm::resume`] to go on exactly where it stopped.
    pub fn start(&mut self, source: &str, name: &str) -> Result<Run> {
        let code = self.compile(source, name)?;
        let frame = Frame::new(code, self.main.clone());
        let r = self.raw.start_frame(frame);
        self.finish(r)
    }

    /// Continues a run paused for fuel.
    pub fn resume(&mut self) -> Result<Run> {
        let r = self.raw.resume_paused();
        self.finish(r)
    }

    /// True while a run is paused for fuel.
    pub fn is_paused(&self) -> bool {
        self.raw.is_paused()
    }

    /// Drops a paused run without running any more of it.
    pub fn abandon(&mut self) {
        self.raw.abandon_paused();
    }

    /// Evaluates one expression in `__main__`'s namespace and converts
    /// the result.
    pub fn eval<T: FromValue>(&mut self, expr: &str) -> Result<T> {
        const SLOT: &str = "__covm_embed_eval__";
        self.run(&format!("{SLOT} = ({expr})\n"), "<eval>")?;
        let v = self.main.globals.borrow_mut().shift_remove(SLOT);
        self.convert(&v.unwrap_or(Value::None))
    }

    /// Converts a covm value to a Rust one.
    pub fn convert<T: FromValue>(&mut self, v: &Value) -> Result<T> {
        T::from_value(v, &mut self.raw).map_err(|e| {
            let text = self.raw.format_exception(&e);
            Error::new(ErrorKind::Conversion, text, Some(e))
        })
    }

    /// Converts a Rust value to a covm one.
    pub fn value(&mut self, v: impl IntoValue) -> Result<Value> {
        let r = v.into_value(&mut self.raw);
        r.map_err(|e| self.exception_error(e))
    }

    /// Sets a global of `__main__`.
    pub fn set_global(&mut self, name: &str, v: impl IntoValue) -> Result<()> {
        let v = self.value(v)?;
        self.main.globals.borrow_mut().insert(Rc::from(name), v);
        Ok(())
    }

    /// Reads a global of `__main__` (a missing one is an `ErrorKind::Conversion`
    /// error naming it).
    pub fn get_global<T: FromValue>(&mut self, name: &str) -> Result<T> {
        let v = self.main.globals.borrow().get(name).cloned();
        match v {
            Some(v) => self.convert(&v),
            None => Err(Error::new(
                ErrorKind::Conversion,
                format!("NameError: name '{name}' is not defined"),
                None,
            )),
        }
    }

    /// Calls the global function `name` with Rust arguments.
    pub fn call<R: FromValue>(&mut self, name: &str, args: impl IntoArgs) -> Result<R> {
        let f: Value = self.get_global(name)?;
        self.call_value(&f, args)
    }

    /// Calls any covm callable with Rust arguments. The call runs like a
    /// script: with fuel set it can pause (`ErrorKind::OutOfFuel`, then
    /// `resume`).
    pub fn call_value<R: FromValue>(&mut self, f: &Value, args: impl IntoArgs) -> Result<R> {
        let args = args
            .into_args(&mut self.raw)
            .map_err(|e| self.exception_error(e))?;
        let r = match self.raw.prepare_call(f.clone(), args, Vec::new()) {
            Ok(Prepared::Done(v)) => Ok(RunState::Done(v)),
            Ok(Prepared::Frame(fr)) => self.raw.start_frame(fr),
            Ok(Prepared::Init(fr, inst)) => self.raw.start_frame(fr).map(|s| match s {
                RunState::Done(_) => RunState::Done(Value::Instance(inst)),
                p => p,
            }),
            Err(e) => Err(e),
        };
        match self.finish(r)? {
            Run::Done(v) => self.convert(&v),
            Run::Paused => Err(self.out_of_fuel()),
        }
    }

    /// Registers a Rust function or closure (capturing any state) as a
    /// built-in function visible to every module: `f` is any `Fn(A, B,
    /// ...) -> R` with [`FromValue`] arguments and an [`IntoValue`]
    /// result. Wrong argument counts or types raise `TypeError` in the
    /// script.
    pub fn register<Args>(&mut self, name: &str, f: impl HostFn<Args>) {
        let v = closure_value(name, f.into_callback(name));
        self.raw
            .builtins
            .globals
            .borrow_mut()
            .insert(Rc::from(name), v);
    }

    /// Registers a closure with the interpreter's own calling convention
    /// (the VM and the positional arguments).
    pub fn register_raw(
        &mut self,
        name: &str,
        f: impl Fn(&mut RawVm, &[Value]) -> PyResult<Value> + 'static,
    ) {
        let v = closure_value(name, Rc::new(f));
        self.raw
            .builtins
            .globals
            .borrow_mut()
            .insert(Rc::from(name), v);
    }

    /// Declares `T` as a host type named `name`: `Rc<T>` values passed to
    /// covm are objects of this class, with the methods the builder adds.
    pub fn register_type<T: 'static>(&mut self, name: &str) -> TypeBuilder<'_, T> {
        let class = class_of::<T>(&mut self.raw, Some(name));
        TypeBuilder {
            vm: &mut self.raw,
            class,
            _t: PhantomData,
        }
    }

    // ---- the scheduler ------------------------------------------------

    /// Schedules a coroutine (e.g. from `vm.call("main", ())`) as a task
    /// on the VM's event loop; returns the task.
    pub fn spawn(&mut self, coro: Value) -> Result<Value> {
        let lp = covm_vm::scheduler::session::session_loop(&mut self.raw);
        let r = lp.run_inside(&mut self.raw, |vm| lp.create_task(vm, coro, None));
        r.map(|t| t.value()).map_err(|e| self.exception_error(e))
    }

    /// Runs ready tasks and due timers until nothing is ready (never
    /// sleeps): one turn of the host's own loop.
    pub fn run_until_idle(&mut self) -> Result<()> {
        let lp = covm_vm::scheduler::session::session_loop(&mut self.raw);
        let r = lp.run_pending(&mut self.raw);
        r.map_err(|e| self.exception_error(e))
    }

    /// Runs one turn of the event loop: the tasks ready now each run to
    /// their next `await`, once. Returns whether more work is ready (false:
    /// idle until a timer is due or the host completes a future).
    pub fn run_step(&mut self) -> Result<bool> {
        let lp = covm_vm::scheduler::session::session_loop(&mut self.raw);
        let r = lp.run_step(&mut self.raw);
        r.map_err(|e| self.exception_error(e))
    }

    /// Runs the event loop until `task` (or any future) is done and returns
    /// its result; sleeps for timers as needed.
    pub fn run_until_complete(&mut self, task: &Value) -> Result<Value> {
        let Some(f) = as_fut(task) else {
            return Err(Error::new(
                ErrorKind::Conversion,
                "not a task or future",
                None,
            ));
        };
        let lp = f.lp.clone();
        let r = lp.run_until_complete(&mut self.raw, &f);
        r.map_err(|e| self.exception_error(e))
    }

    /// A new future on the VM's loop: covm code can `await` it, and the
    /// host completes it later with [`Vm::set_future_result`].
    pub fn new_future(&mut self) -> Value {
        let lp = covm_vm::scheduler::session::session_loop(&mut self.raw);
        Fut::new(&lp, FutKind::Plain).value()
    }

    /// Completes a future from Rust; the tasks awaiting it run at the next
    /// `run_until_idle`.
    pub fn set_future_result(&mut self, fut: &Value, v: impl IntoValue) -> Result<()> {
        let Some(f) = as_fut(fut) else {
            return Err(Error::new(ErrorKind::Conversion, "not a future", None));
        };
        let v = self.value(v)?;
        let r = f.set_result(&mut self.raw, v);
        r.map_err(|e| self.exception_error(e))
    }

    // ---- limits -------------------------------------------------------

    /// Sets the fuel: how many steps (loop iterations and calls) may run
    /// before the VM pauses; `None` removes the budget.
    pub fn set_fuel(&mut self, fuel: Option<u64>) {
        self.raw.set_fuel(fuel);
    }

    /// Adds fuel (to resume a paused run).
    pub fn add_fuel(&mut self, more: u64) {
        self.raw.add_fuel(more);
    }

    /// Fuel left (`None`: unlimited).
    pub fn fuel(&self) -> Option<u64> {
        self.raw.fuel()
    }

    /// Steps run so far.
    pub fn steps_used(&self) -> u64 {
        self.raw.limits.steps_used()
    }

    /// Stops runs that go past `timeout` from now (uncatchable, like
    /// [`StopHandle::stop`]); `None` removes the deadline.
    pub fn set_timeout(&mut self, timeout: Option<Duration>) {
        self.raw.set_deadline(timeout.map(|t| Instant::now() + t));
    }

    /// A handle that stops the current run from anywhere (another thread,
    /// a host callback). The script unwinds through its `finally` blocks;
    /// no `except` clause catches the stop; the run returns
    /// `ErrorKind::Stopped`.
    pub fn stop_handle(&self) -> StopHandle {
        self.raw.stop_handle()
    }

    /// Caps the memory scripts may allocate from now on (bytes; `None`
    /// removes the cap). Past it the script gets `MemoryError` (which it
    /// may catch) and [`Vm::memory_exceeded`] turns true. Needs
    /// [`crate::CountingAlloc`] as the program's global allocator; fails
    /// without it.
    pub fn set_memory_limit(&mut self, limit: Option<usize>) -> Result<()> {
        if self.raw.set_memory_limit(limit) {
            return Ok(());
        }
        Err(Error::new(
            ErrorKind::Conversion,
            "the memory cap needs covm_embed::CountingAlloc as the #[global_allocator]",
            None,
        ))
    }

    /// True if the memory cap raised MemoryError since the last call.
    pub fn memory_exceeded(&mut self) -> bool {
        std::mem::take(&mut self.raw.limits.memory_exceeded)
    }

    // ---- errors -------------------------------------------------------

    fn out_of_fuel(&self) -> Error {
        Error::new(
            ErrorKind::OutOfFuel,
            "out of fuel: the run is paused (add_fuel, then resume; or abandon)",
            None,
        )
    }

    fn finish(&mut self, r: PyResult<RunState>) -> Result<Run> {
        let _ = self.raw.flush();
        match r {
            Ok(RunState::Done(v)) => Ok(Run::Done(v)),
            Ok(RunState::Paused) => Ok(Run::Paused),
            Err(e) => Err(self.exception_error(e)),
        }
    }

    /// An exception as an `Error` (and the end of a stop).
    pub(crate) fn exception_error(&mut self, e: Value) -> Error {
        let text = self.raw.format_exception(&e);
        if let Some(reason) = self.raw.limits.stopped.clone() {
            self.raw.clear_stop();
            self.raw
                .interrupt
                .store(false, std::sync::atomic::Ordering::SeqCst);
            return Error::new(ErrorKind::Stopped(reason), text, Some(e));
        }
        let name = self.raw.type_name(&e);
        Error::new(ErrorKind::Exception(name), text, Some(e))
    }
}
