//! CPython's "RuntimeWarning: coroutine '...' was never awaited".
//!
//! A coroutine object dropped before it ever started warns on stderr, in
//! the form the `warnings` module prints: the location is the line of the
//! frame running when the coroutine died (`sys:1` during shutdown), then
//! that source line, then the tracemalloc hint. Like the default warnings
//! filter, one location and message warn once.
//!
//! `Drop` has no VM at hand, so it only queues the name here and raises the
//! finalizer flag; `Vm::run_finalizers` prints what is queued.

use std::cell::{Cell, RefCell};
use std::collections::HashSet;
use std::rc::Rc;

use crate::vm::Vm;

thread_local! {
    static QUEUE: RefCell<Vec<Rc<str>>> = const { RefCell::new(Vec::new()) };
    /// (file, line, message) already warned, as `__warningregistry__`.
    static SEEN: RefCell<HashSet<(Rc<str>, usize, String)>> = RefCell::new(HashSet::new());
    static SHUTTING_DOWN: Cell<bool> = const { Cell::new(false) };
}

/// Called by `Drop for Generator` for a coroutine that never started.
pub fn queue(qualname: Rc<str>) {
    QUEUE.with(|q| {
        if let Ok(mut q) = q.try_borrow_mut() {
            q.push(qualname);
        }
    });
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

/// Prints the queued warnings.
pub fn flush(vm: &mut Vm) {
    let names = QUEUE.with(|q| std::mem::take(&mut *q.borrow_mut()));
    if names.is_empty() {
        return;
    }
    let _ = vm.flush();
    let shutdown = SHUTTING_DOWN.with(|s| s.get());
    for name in names {
        let msg = format!("coroutine '{name}' was never awaited");
        let top = vm.frames.last().filter(|_| !shutdown);
        let Some(f) = top else {
            eprintln!("sys:1: RuntimeWarning: {msg}");
            continue;
        };
        let (code, line) = (f.code.clone(), f.current_line());
        let key = (code.filename.clone(), line, msg.clone());
        if !SEEN.with(|s| s.borrow_mut().insert(key)) {
            continue;
        }
        let text = code.source.lines().nth(line.wrapping_sub(1)).unwrap_or("");
        eprintln!("{}:{line}: RuntimeWarning: {msg}", absolute(&code.filename));
        if !text.trim().is_empty() {
            eprintln!("  {}", text.trim());
        }
        eprintln!("RuntimeWarning: Enable tracemalloc to get the object allocation traceback");
    }
}
