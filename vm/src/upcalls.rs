//! The few things the interpreter asks of the event loop above it, as
//! function pointers `Vm::new` installs (run.rs): so the interpreter
//! names nothing of the scheduler, which calls it only through
//! `resume.rs`. Until they are installed (a bare VM) they do nothing.
//!
//! A thread-local, not a `Vm` field: a generator's `Drop` asks too, and it
//! has no VM at hand.

use std::cell::Cell;

use crate::value::{GenRc, Generator};
use crate::vm::Vm;

#[derive(Clone, Copy)]
pub struct Upcalls {
    /// An async generator's last reference went while it was suspended:
    /// true when its loop's finalizer hook takes it over (its frame is
    /// then gone from it).
    pub agen_dropped: fn(&Generator) -> bool,
    /// An async generator the VM itself closes (a dropped one's
    /// `finally`): its loop's hooks must never run for it.
    pub agen_closed_by_vm: fn(&Vm, &Generator),
    /// The label of the task whose step is running `g` as its coroutine,
    /// for "resumed by Task-1 (main)'s step" in tracebacks.
    pub stepping_task: fn(&Vm, &GenRc) -> Option<String>,
}

const NONE: Upcalls = Upcalls {
    agen_dropped: |_| false,
    agen_closed_by_vm: |_, _| {},
    stepping_task: |_, _| None,
};

thread_local! {
    static UPCALLS: Cell<Upcalls> = const { Cell::new(NONE) };
}

pub fn install(u: Upcalls) {
    UPCALLS.with(|c| c.set(u));
}

pub fn get() -> Upcalls {
    UPCALLS.with(|c| c.get())
}
