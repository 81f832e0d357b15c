//! Running covm code from Rust: the VM's constructor (which installs the
//! methods the layers above the object model define), a frame run to
//! completion in a nested dispatch loop, calls of any callable, and the
//! shutdown. Embedders and natives come in here; the interpreter and the
//! object protocols lie behind it.

use std::rc::Rc;

use crate::code::Code;
use crate::frame::{Activation, Frame, FrameBox, Resume, ReturnTo};
use crate::gen_rc::GenRc;
use crate::value::*;
use crate::vm::Vm;

impl Vm {
    pub fn new() -> Vm {
        let mut vm = Vm::bare();
        crate::upcalls::install(crate::upcalls::Upcalls {
            agen_dropped: crate::scheduler::agen_hooks::dropped,
            agen_closed_by_vm: crate::scheduler::agen_hooks::mark_inited,
            stepping_task: crate::scheduler::task::stepping_task,
        });
        crate::generator::install_methods(&mut vm);
        crate::asyncgen::install_methods(&mut vm);
        crate::exceptions::install_methods(&mut vm);
        crate::iter_methods::install_methods(&mut vm);
        crate::user_new::install_methods(&mut vm);
        crate::coro_wrapper::install_methods(&mut vm);
        crate::scheduler::group::install_exception_groups(&vm);
        vm
    }

    // ---- running code -------------------------------------------------

    /// Compiles and runs `source` as the `__main__` module.
    pub fn run_main(&mut self, code: Rc<Code>, module: &Rc<Module>) -> PyResult<Value> {
        self.run_frame(Frame::new(code, module.clone()))
    }

    /// Pushes a frame on the frame stack. `Vec::push` stayed an
    /// out-of-line call on the resume and call paths; with the room check
    /// inline, a push is a store and a length bump.
    #[inline(always)]
    pub(crate) fn push_frame(&mut self, frame: FrameBox, ret: ReturnTo) {
        let slot = self.next_frame_slot();
        // SAFETY: a free slot past the length; counted at once.
        unsafe {
            slot.write(Activation::new(frame, ret));
            self.frames.set_len(self.frames.len() + 1);
        }
    }

    /// `push_frame` of a generator's frame, its `ReturnTo` built in its
    /// slot. Built by the caller, it went through a stack temporary
    /// written as a 4-byte tag and a pointer and read back with one 16-byte
    /// load, which cannot forward from those stores: a stall on every
    /// resume.
    #[inline(always)]
    pub(crate) fn push_generator_activation(&mut self, frame: FrameBox, g: GenRc, resume: Resume) {
        let slot = self.next_frame_slot();
        // SAFETY: a free slot past the length; counted at once.
        unsafe {
            std::ptr::addr_of_mut!((*slot).frame).write(frame);
            std::ptr::addr_of_mut!((*slot).ret).write(ReturnTo::Generator(g, resume));
            self.frames.set_len(self.frames.len() + 1);
        }
    }

    /// The free slot just past the frame stack's length, made room for.
    #[inline(always)]
    fn next_frame_slot(&mut self) -> *mut Activation {
        if self.frames.len() == self.frames.capacity() {
            self.frames.reserve(16);
        }
        // SAFETY: len < capacity, checked above.
        unsafe { self.frames.as_mut_ptr().add(self.frames.len()) }
    }

    /// Drops the frames from index `base` up without running any more of
    /// their code; a generator whose frame goes is finished.
    pub(crate) fn drop_frames_above(&mut self, base: usize) {
        while self.frames.len() > base {
            if let Some(a) = self.frames.pop()
                && let ReturnTo::Generator(g, how) = a.ret
            {
                g.state.set(GenState::Closed);
                if how.is_call() {
                    self.c_depth -= 1;
                }
            }
        }
    }

    /// Runs a frame to completion in a nested dispatch loop.
    pub fn run_frame(&mut self, frame: FrameBox) -> PyResult<Value> {
        if self.depth() + 1 >= self.recursion_limit + 50 {
            return Err(self.new_exc(
                &self.exc.recursion_error.clone(),
                "maximum recursion depth exceeded",
            ));
        }
        self.frames.push(Activation::new(frame, ReturnTo::Native));
        let base = self.frames.len() - 1;
        self.native_depth += 1;
        let r = self.run(base);
        self.native_depth -= 1;
        match r {
            Ok(crate::resume::Exit::Return(v)) => Ok(v),
            Ok(crate::resume::Exit::Yield(_)) => {
                Err(self.new_exc(&self.exc.runtime_error.clone(), "unexpected yield"))
            }
            Err(e) => Err(e),
        }
    }

    /// Calls any callable from Rust and waits for the result.
    pub fn call(&mut self, callee: &Value, args: Vec<Value>) -> PyResult<Value> {
        self.call_kw(callee, args, Vec::new())
    }

    pub fn call_kw(
        &mut self,
        callee: &Value,
        args: Vec<Value>,
        kwargs: Vec<(Rc<str>, Value)>,
    ) -> PyResult<Value> {
        // Calling a generator function with positional arguments (an
        // `__iter__` written as a generator, natives calling a generator
        // function) only creates the generator: move the arguments
        // straight into its frame.
        if let Value::Function(func) = callee
            && kwargs.is_empty()
            && func.code.fast_gen_call
            && Self::fits_fast_call(func, args.len())
            && self.depth() < self.recursion_limit
        {
            let mut args = args;
            let n = args.len();
            // SAFETY: fits_fast_call; the frame takes the n values and the
            // vector forgets them.
            let frame = unsafe {
                let frame = self.frame_from_args(func, args.as_ptr(), n);
                args.set_len(0);
                frame
            };
            return Ok(self.new_generator(func, frame));
        }
        match self.prepare_call(callee.clone(), args, kwargs)? {
            crate::call::Prepared::Done(v) => Ok(v),
            crate::call::Prepared::Frame(f) => self.run_frame(f),
            crate::call::Prepared::Init(f, inst) => {
                let r = self.run_frame(f)?;
                self.check_init_result(&r)?;
                Ok(Value::Instance(inst))
            }
        }
    }

    /// Raises what the `interrupt` flag stands for, if it is set: the
    /// host's stop, MemoryError past the memory cap, or KeyboardInterrupt
    /// (see limits.rs).
    #[inline]
    pub fn check_interrupt(&mut self) -> PyResult<()> {
        if self.interrupt.load(std::sync::atomic::Ordering::Relaxed) {
            return self.interrupted();
        }
        Ok(())
    }

    /// Prints one `--trace` line to stderr (after flushing stdout, so the
    /// two streams interleave in order).
    pub fn trace_event(&mut self, msg: &str) {
        let _ = self.out.flush();
        eprintln!("[trace] {msg}");
    }

    /// A value's repr for trace lines: built-in values only, so tracing
    /// never runs covm code.
    pub fn trace_repr(&mut self, v: &Value) -> String {
        match v {
            Value::Instance(i) if !self.is_exception(v) => format!("<{} object>", i.class.name),
            Value::Instance(_) => {
                let name = self.type_of(v).name.clone();
                let args = self.exc_args(v);
                let inner: Vec<String> = args.iter().map(|a| self.trace_repr(a)).collect();
                format!("{}({})", name, inner.join(", "))
            }
            Value::Generator(g) => Self::gen_label(g),
            Value::List(_) | Value::Dict(_) | Value::Tuple(_) | Value::Set(_) => {
                let s = self.repr(v).unwrap_or_default();
                if s.len() > 60 {
                    format!(
                        "{}...",
                        &s[..s.char_indices().nth(57).map(|(i, _)| i).unwrap_or(s.len())]
                    )
                } else {
                    s
                }
            }
            Value::Native(_) => crate::scheduler::future::trace_desc(v)
                .unwrap_or_else(|| format!("<{} object>", self.type_name(v))),
            _ => self.repr(v).unwrap_or_default(),
        }
    }

    /// `generator#3 countdown`: a stable name for trace lines and `:gens`.
    pub fn gen_label(g: &Generator) -> String {
        let kind = match g.kind {
            GenKind::Generator => "generator",
            GenKind::Coroutine => "coroutine",
            GenKind::AsyncGenerator => "async_generator",
        };
        format!("{kind}#{} {}", g.id(), g.qualname())
    }

    /// Live generators and coroutines (only when `live_generators` is on).
    pub fn live_generators(&mut self) -> Vec<GenRc> {
        if !self.live_generators {
            return Vec::new();
        }
        crate::gen_names::live()
    }

    /// A coroutine whose body is module-level code (the REPL's top-level
    /// `await`): the code must have been compiled with the coroutine flag.
    pub fn module_coroutine(&mut self, code: Rc<Code>, module: &Rc<Module>) -> Value {
        let mut frame = Frame::new(code.clone(), module.clone());
        let names = Generator::names_for(&code, &Rc::from("<module>"), &Rc::from("<module>"));
        Value::Generator(Generator::new(
            GenKind::Coroutine,
            GenState::Created,
            GenFrame::Embed(&mut frame),
            names,
            self.new_gen_id(),
        ))
    }

    /// Continues a nested run with `exc` raised in the top frame.
    pub(crate) fn run_raising(&mut self, base: usize, exc: Value) -> PyResult<crate::resume::Exit> {
        self.pending_raise = Some(exc);
        self.run(base)
    }

    /// Ends a program run the way CPython's shutdown does: generators the
    /// program still holds are closed, so their `finally` blocks run.
    pub fn shutdown(&mut self, module: &Rc<Module>) {
        // Warnings still queued belong to the program's last frame.
        let _ = self.run_finalizers();
        crate::drop_reports::set_shutting_down(true);
        // CPython clears `__main__` in two passes: names starting with one
        // underscore first, then the rest, each in insertion order.
        let names: Vec<Rc<str>> = module.globals.borrow().keys().cloned().collect();
        let underscore = |n: &str| n.starts_with('_') && !n.starts_with("__");
        for pass in [true, false] {
            for n in &names {
                if underscore(n) != pass || n.as_ref() == "__builtins__" {
                    continue;
                }
                let old = module
                    .globals
                    .borrow_mut()
                    .get_mut(n)
                    .map(|v| std::mem::replace(v, Value::None));
                drop(old);
                let _ = self.run_finalizers();
            }
        }
        crate::drop_reports::set_shutting_down(false);
    }
}
