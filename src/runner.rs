//! Running source text on a VM: parse, compile, execute, and turn the
//! outcome into an exit status and the right text on stderr.

use std::rc::Rc;

use covm_vm::Vm;
use covm_vm::compiler::{self, Mode};
use covm_vm::value::{Module, Value};

use crate::diagnostics;

/// Command-line switches that configure the VM.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// `--trace`: print coroutine events to stderr.
    pub trace: bool,
    /// `--virtual-time`: sleeps advance a virtual clock instantly.
    pub virtual_time: bool,
    /// A REPL will run (`-i`, or no script on a terminal).
    pub interactive: bool,
    /// `--timeline FILE`: draw the coroutine timeline into FILE.
    pub timeline: Option<String>,
    /// `--max-memory`: bytes the program may allocate.
    pub max_memory: Option<usize>,
    /// `--max-steps`: loop iterations and calls the program may run.
    pub max_steps: Option<u64>,
}

/// How a run ended.
pub enum Outcome {
    Ok,
    /// Exit with this status; the message (if any) is already printed.
    Exit(i32),
}

/// A VM with the stdlib installed and stdout wired to a buffered writer.
pub fn new_vm(argv: Vec<String>, opts: &Options) -> Vm {
    let mut vm = Vm::new();
    covm_stdlib::install(&mut vm);
    vm.argv = argv;
    // main.rs runs the VM on a 256 MiB thread.
    vm.max_native_stack = 200 << 20;
    vm.tracing = opts.trace;
    // Timelines (`--timeline`, the REPL's `:timeline`) need the events kept.
    if opts.timeline.is_some() || opts.interactive || opts.trace {
        let keep = opts.timeline.is_some() || opts.interactive;
        covm_vm::trace::enable(&mut vm, opts.trace, keep);
    }
    if opts.virtual_time {
        vm.clock.set_virtual(true);
    }
    crate::interrupt::install(vm.interrupt.clone());
    if let Some(n) = opts.max_steps {
        // The CLI cannot resume: running out of steps stops the program.
        vm.limits.pause_on_fuel = false;
        vm.set_fuel(Some(n));
    }
    if let Some(n) = opts.max_memory {
        // main.rs installs the counting allocator, so this cannot fail.
        let _ = vm.set_memory_limit(Some(n));
    }
    if opts.interactive {
        // `:gens` lists live generators: they must be listed from the
        // first one created.
        vm.live_generators = true;
    }
    vm.set_output(Box::new(std::io::BufWriter::with_capacity(
        1 << 16,
        std::io::stdout(),
    )));
    vm
}

pub fn main_module(vm: &mut Vm, filename: &str) -> Rc<Module> {
    let m = vm.new_module("__main__");
    // As CPython: `sys.path[0]` is the script's folder ("" for `-c`, stdin
    // and the REPL) and `__file__` the script's absolute path.
    let file = if filename.starts_with('<') {
        vm.set_script_dir(None);
        filename.to_string()
    } else {
        vm.set_script_dir(Some(filename));
        std::path::absolute(filename)
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_else(|_| filename.to_string())
    };
    {
        let mut g = m.globals.borrow_mut();
        g.insert(Rc::from("__name__"), Value::str("__main__"));
        g.insert(Rc::from("__file__"), Value::str(file));
        g.insert(Rc::from("__doc__"), Value::None);
        g.insert(Rc::from("__package__"), Value::None);
        g.insert(Rc::from("__spec__"), Value::None);
    }
    vm.module_set("__main__", Value::Module(m.clone()));
    m
}

/// Parses and compiles, printing a report on error.
pub fn compile(src: &str, filename: &str, mode: Mode) -> Result<Rc<covm_vm::code::Code>, String> {
    let ast = covm_parser::parse_module(src)
        .map_err(|e| diagnostics::render_syntax_error(filename, src, &e))?;
    compiler::compile(&ast, Rc::from(src), Rc::from(filename), mode)
        .map_err(|e| diagnostics::render_syntax_error(filename, src, &e))
}

/// Runs a whole program as `__main__`.
/// With `keep`, the module is returned instead of shut down (`covm -i`).
pub fn run_program(
    vm: &mut Vm,
    src: &str,
    filename: &str,
    keep: bool,
) -> (Outcome, Option<Rc<Module>>) {
    let code = match compile(src, filename, Mode::File) {
        Ok(c) => c,
        Err(report) => {
            let _ = vm.flush();
            eprint!("{report}");
            return (Outcome::Exit(1), None);
        }
    };
    let module = main_module(vm, filename);
    if let Some(doc) = &code.doc {
        module
            .globals
            .borrow_mut()
            .insert(Rc::from("__doc__"), Value::str(&**doc));
    }
    crate::interrupt::set_running(true);
    // `start_frame` (not `run_main`) so that a stop a bare `except:`
    // swallowed still ends the run (`--max-steps`).
    let frame = covm_vm::frame::Frame::new(code, module.clone());
    let r = vm.start_frame(frame);
    crate::interrupt::set_running(false);
    let out = match r {
        Ok(_) => Outcome::Ok,
        Err(exc) => report_uncaught(vm, &exc),
    };
    if keep {
        return (out, Some(module));
    }
    // Finalize what the program left behind, as CPython does at exit.
    vm.shutdown(&module);
    (out, None)
}

/// Prints an uncaught exception CPython's way; `SystemExit` sets the
/// status instead.
pub fn report_uncaught(vm: &mut Vm, exc: &Value) -> Outcome {
    let flushed = vm.flush();
    if vm.is_instance_of(exc, &vm.exc.system_exit.clone()) {
        let args = vm.exc_args(exc);
        return match args.first() {
            None | Some(Value::None) => Outcome::Exit(0),
            Some(Value::Int(i)) => Outcome::Exit(*i as i32),
            Some(Value::Bool(b)) => Outcome::Exit(*b as i32),
            Some(other) => {
                let s = vm.to_str(other).unwrap_or_default();
                eprintln!("{s}");
                Outcome::Exit(1)
            }
        };
    }
    if vm.broken_pipe || flushed.is_err() {
        return Outcome::Exit(0);
    }
    let text = diagnostics::render_runtime_error(vm, exc);
    eprint!("{text}");
    if let Some(covm_vm::limits::StopReason::Steps(n)) = vm.limits.stopped {
        eprintln!("covm: stopped: the program ran past --max-steps {n}");
        return Outcome::Exit(1);
    }
    // As a shell sees CPython die of SIGINT.
    if vm.is_instance_of(exc, &vm.exc.keyboard_interrupt.clone()) {
        return Outcome::Exit(130);
    }
    Outcome::Exit(1)
}

/// Writes the timeline of the events recorded so far to `path`.
pub fn write_timeline(
    vm: &mut Vm,
    path: &str,
    title: &str,
    source: Option<&str>,
) -> Result<usize, String> {
    let rec = covm_vm::trace::recorder(vm);
    let rec = rec.borrow();
    let page = crate::timeline::Page {
        title,
        source,
        virtual_time: vm.clock.is_virtual(),
        dropped: rec.dropped,
    };
    let html = crate::timeline::render(&rec.events, &page);
    std::fs::write(path, html).map_err(|e| format!("covm: can't write '{path}': {e}"))?;
    Ok(rec.events.len())
}
