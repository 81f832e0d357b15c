//! What CPython reports on stderr when an object dies with something
//! nobody looked at:
//!
//! - a coroutine that never started: "RuntimeWarning: coroutine '...' was
//!   never awaited", in the form the `warnings` module prints (the line of
//!   the frame running when it died, or `sys:1` during shutdown; then that
//!   source line and the tracemalloc hint; like the default filter, one
//!   location and message warn once);
//! - a future or task whose exception was never retrieved: the event
//!   loop's default exception handler logs "Task exception was never
//!   retrieved", the future's repr and the exception's traceback.
//!
//! - an async generator a loop registered, dropped while suspended: the
//!   loop closes it as a task (`scheduler::agen_hooks`).
//!
//! `Drop` has no VM at hand, so it queues the report here and raises the
//! finalizer flag; `Vm::run_finalizers` prints what is queued, in order.
//! The event loop's reports (the last two) come as closures (`later`), so
//! that this module, which the interpreter calls, names nothing of the
//! scheduler above it.

use std::cell::{Cell, RefCell};
use std::collections::HashSet;
use std::rc::Rc;

use crate::vm::Vm;

enum Report {
    /// The qualname of a coroutine dropped before it started.
    Unawaited(Rc<str>),
    /// A report of the layers above the interpreter (`later`).
    Later(Box<dyn FnOnce(&mut Vm)>),
}

thread_local! {
    static QUEUE: RefCell<Vec<Report>> = const { RefCell::new(Vec::new()) };
    /// (file, line, message) already warned, as `__warningregistry__`.
    static SEEN: RefCell<HashSet<(Rc<str>, usize, String)>> = RefCell::new(HashSet::new());
    static SHUTTING_DOWN: Cell<bool> = const { Cell::new(false) };
}

fn push(r: Report) {
    QUEUE.with(|q| {
        if let Ok(mut q) = q.try_borrow_mut() {
            q.push(r);
            crate::frame::request_finalizers();
        }
    });
}

/// Called by `Drop for Generator` for a coroutine that never started.
pub fn unawaited(qualname: Rc<str>) {
    push(Report::Unawaited(qualname));
}

/// Queues a report of a layer above the interpreter: `report` runs with
/// the VM at the next `run_finalizers`, in order with the others.
pub(crate) fn later(report: impl FnOnce(&mut Vm) + 'static) {
    push(Report::Later(Box::new(report)));
}

/// While set, warnings name `sys:1` (no Python frame is running).
pub fn set_shutting_down(on: bool) {
    SHUTTING_DOWN.with(|s| s.set(on));
}

fn absolute(path: &str) -> String {
    match std::path::absolute(path) {
        Ok(p) => p.to_string_lossy().into_owned(),
        Err(_) => path.to_string(),
    }
}

/// Prints the queued reports.
pub fn flush(vm: &mut Vm) {
    loop {
        let batch = QUEUE.with(|q| std::mem::take(&mut *q.borrow_mut()));
        if batch.is_empty() {
            return;
        }
        let _ = vm.flush();
        for r in batch {
            match r {
                Report::Unawaited(name) => warn_unawaited(vm, &name),
                Report::Later(report) => report(vm),
            }
        }
    }
}

fn warn_unawaited(vm: &mut Vm, name: &str) {
    let msg = format!("coroutine '{name}' was never awaited");
    let shutdown = SHUTTING_DOWN.with(|s| s.get());
    let Some(f) = vm.frames.last().filter(|_| !shutdown) else {
        eprintln!("sys:1: RuntimeWarning: {msg}");
        return;
    };
    let (code, line) = (f.code.clone(), f.current_line());
    let key = (code.filename.clone(), line, msg.clone());
    if !SEEN.with(|s| s.borrow_mut().insert(key)) {
        return;
    }
    let text = code.source.lines().nth(line.wrapping_sub(1)).unwrap_or("");
    eprintln!("{}:{line}: RuntimeWarning: {msg}", absolute(&code.filename));
    if !text.trim().is_empty() {
        eprintln!("  {}", text.trim());
    }
    eprintln!("RuntimeWarning: Enable tracemalloc to get the object allocation traceback");
}
