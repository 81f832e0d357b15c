//! Resource limits for untrusted scripts: fuel (a step budget that pauses
//! the VM when it runs out), a wall-clock deadline, a host-triggered stop
//! that a script cannot catch, and a memory cap.
//!
//! This file holds their state on the VM (`Limits`), the host's handle
//! and the memory cap's allocator; `poll.rs` holds the dispatch loop's
//! slow path that enforces them.
//!
//! One *step* is one poll: a loop iteration or a call. Fuel is counted in
//! steps.

use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use crate::value::*;

/// How often (in steps) the slow path runs at least: it looks at the
/// interrupt flag and the deadline, which the hot path does not.
pub const CHECK_EVERY: i64 = 1 << 10;

/// Steps a nested dispatch loop (a native calling back into covm code) may
/// run past the end of the fuel before the run is stopped: a pause can only
/// happen in the loop the host started.
pub(crate) const NESTED_OVERDRAFT: u64 = 1 << 20;

/// Steps `finally` blocks may run while the stop unwinds through them.
pub(crate) const STOP_GRACE: u32 = 1 << 16;

/// Why a run was stopped for good.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StopReason {
    /// The host called `StopHandle::stop`.
    Host,
    /// The wall-clock deadline passed.
    Deadline,
    /// The step budget ran out where the run could not pause (`--max-steps`,
    /// or deep inside a native call).
    Steps(u64),
}

impl std::fmt::Display for StopReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StopReason::Host => write!(f, "stopped by the host"),
            StopReason::Deadline => write!(f, "deadline exceeded"),
            StopReason::Steps(n) => write!(f, "step limit of {n} exceeded"),
        }
    }
}

/// A handle that stops a running VM from another thread (or from a native
/// callback). The stop unwinds the script through its `finally` blocks;
/// no `except` clause can catch it.
#[derive(Clone)]
pub struct StopHandle {
    pub(crate) stop: Arc<AtomicBool>,
    pub(crate) interrupt: Arc<AtomicBool>,
}

impl StopHandle {
    /// Requests the stop; the script notices it at its next loop iteration
    /// or call.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
        self.interrupt.store(true, Ordering::SeqCst);
    }
}

/// The limits state kept on the VM (`Vm::limits`).
pub struct Limits {
    /// Steps until the dispatch loop takes the slow path. Decremented at
    /// every poll point.
    pub countdown: i64,
    /// The value `countdown` was last set to: `window - countdown` steps
    /// have run since.
    pub(crate) window: i64,
    /// Fuel not yet handed to `countdown`; `None`: unlimited.
    pub(crate) fuel: Option<u64>,
    /// Total steps run since the limits were created.
    pub(crate) used: u64,
    /// When fuel runs out: pause (true) or stop (false, `--max-steps`).
    pub pause_on_fuel: bool,
    /// The step budget as the user gave it, for the stop message.
    pub step_limit: u64,
    /// `native_depth` of the loop the host started: only there can a run
    /// pause.
    pub host_depth: usize,
    /// Set by the poll that paused the run; the host entry point reads and
    /// clears it.
    pub paused: bool,
    pub(crate) deadline: Option<Instant>,
    pub(crate) stop: Arc<AtomicBool>,
    /// Set once a stop is raised; the host entry point reports it even if a
    /// bare `except:` swallowed the exception.
    pub stopped: Option<StopReason>,
    /// The stop exception in flight.
    pub(crate) stop_exc: Option<Value>,
    pub(crate) stop_class: Option<Rc<Class>>,
    /// Set when the memory cap raised MemoryError, for the host to see.
    pub memory_exceeded: bool,
    /// Steps a `finally` block may still run while the stop unwinds.
    pub(crate) stop_grace: u32,
    /// Steps left to run past the end of the fuel in a nested loop.
    pub(crate) overdraft: u64,
    /// `frames.len()` below the paused run's first frame.
    pub(crate) paused_base: Option<usize>,
}

impl Limits {
    /// No limits: fuel unlimited, no deadline, no stop requested.
    pub fn new() -> Limits {
        Limits {
            countdown: CHECK_EVERY,
            window: CHECK_EVERY,
            fuel: None,
            used: 0,
            pause_on_fuel: true,
            step_limit: 0,
            host_depth: 0,
            paused: false,
            deadline: None,
            stop: Arc::new(AtomicBool::new(false)),
            stopped: None,
            stop_exc: None,
            stop_class: None,
            memory_exceeded: false,
            stop_grace: 0,
            overdraft: NESTED_OVERDRAFT,
            paused_base: None,
        }
    }

    /// Steps run so far (loop iterations and calls).
    pub fn steps_used(&self) -> u64 {
        self.used + (self.window - self.countdown).max(0) as u64
    }

    /// Fuel left, or `None` when unlimited.
    pub fn fuel(&self) -> Option<u64> {
        self.fuel
            .map(|f| (f + self.countdown.max(0) as u64).saturating_sub(self.overdrawn()))
    }

    pub(crate) fn overdrawn(&self) -> u64 {
        if self.countdown < 0 {
            (-self.countdown) as u64
        } else {
            0
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits::new()
    }
}

/// Memory accounting: a global allocator that counts the bytes live on
/// each thread, and a per-thread cap. Install it in the final binary:
///
/// ```ignore
/// #[global_allocator]
/// static ALLOC: covm_vm::limits::memory::CountingAlloc = covm_vm::limits::memory::CountingAlloc;
/// ```
///
/// Without it, `set_limit` returns `false` and no cap applies. The cap is
/// soft: the allocation that crosses it succeeds, and the script gets
/// `MemoryError` at its next loop iteration or call.
pub mod memory {
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::cell::Cell;
    use std::sync::atomic::{AtomicBool, Ordering};

    /// Off until the first cap is set: until then the allocator only
    /// forwards to `System` (one relaxed load per call), so programs that
    /// set no cap pay nearly nothing. Bytes freed after it turned on that
    /// were allocated before count as negative, which can only make the cap
    /// more lenient by that much.
    static ACTIVE: AtomicBool = AtomicBool::new(false);

    thread_local! {
        static LIVE: Cell<isize> = const { Cell::new(0) };
        /// Live bytes above which the cap trips (`isize::MAX`: no cap).
        static TRIP_AT: Cell<isize> = const { Cell::new(isize::MAX) };
        /// The cap's level (`base + limit`); `TRIP_AT` moves above it after
        /// a MemoryError so the handler can run.
        static CAP: Cell<isize> = const { Cell::new(isize::MAX) };
        static EXCEEDED: Cell<bool> = const { Cell::new(false) };
        /// The interrupt flag of the VM that set the cap: crossing the cap
        /// raises it so the next poll point notices.
        static FLAG: Cell<*const AtomicBool> = const { Cell::new(std::ptr::null()) };
    }

    /// The counting allocator (wraps `System`).
    pub struct CountingAlloc;

    #[inline]
    fn charge(n: isize) {
        if !ACTIVE.load(Ordering::Relaxed) {
            return;
        }
        // `try_with`: the thread-locals may be gone while a thread exits.
        let _ = LIVE.try_with(|l| {
            let live = l.get() + n;
            l.set(live);
            if n > 0 {
                let trip = TRIP_AT.with(|t| t.get());
                if live > trip {
                    trip_now(live);
                }
            } else if live < CAP.with(|c| c.get()) {
                TRIP_AT.with(|t| t.set(CAP.with(|c| c.get())));
            }
        });
    }

    #[cold]
    fn trip_now(live: isize) {
        EXCEEDED.with(|e| e.set(true));
        // Let the script's handler allocate a little before tripping again.
        let cap = CAP.with(|c| c.get());
        let slack = (cap / 8).max(1 << 20);
        TRIP_AT.with(|t| t.set(live.saturating_add(slack)));
        let f = FLAG.with(|f| f.get());
        if !f.is_null() {
            // SAFETY: the VM that registered the flag keeps the Arc alive
            // and unregisters it (`set_limit(None, ..)`) before dropping it.
            unsafe { (*f).store(true, Ordering::SeqCst) };
        }
    }

    // SAFETY: defers to System; the counters are thread-local `const`
    // cells, which neither allocate nor lock.
    unsafe impl GlobalAlloc for CountingAlloc {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            let p = unsafe { System.alloc(layout) };
            if !p.is_null() {
                charge(layout.size() as isize);
            }
            p
        }
        unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
            let p = unsafe { System.alloc_zeroed(layout) };
            if !p.is_null() {
                charge(layout.size() as isize);
            }
            p
        }
        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            unsafe { System.dealloc(ptr, layout) };
            charge(-(layout.size() as isize));
        }
        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            let p = unsafe { System.realloc(ptr, layout, new_size) };
            if !p.is_null() {
                charge(new_size as isize - layout.size() as isize);
            }
            p
        }
    }

    /// True when `CountingAlloc` is the global allocator (turns counting
    /// on).
    pub fn installed() -> bool {
        ACTIVE.store(true, Ordering::SeqCst);
        let before = LIVE.with(|l| l.get());
        let b = std::hint::black_box(Box::new(0u64));
        let after = LIVE.with(|l| l.get());
        drop(b);
        after != before
    }

    /// Bytes live on this thread (allocated minus freed) since counting
    /// turned on (the first cap).
    pub fn live_bytes() -> usize {
        LIVE.with(|l| l.get()).max(0) as usize
    }

    /// True when a cap is set on this thread.
    pub fn limited() -> bool {
        CAP.with(|c| c.get()) != isize::MAX
    }

    /// Caps the bytes this thread may allocate from now on at `limit`
    /// (`None`: no cap); `flag` is raised when the cap is crossed. Returns
    /// false when the counting allocator is not installed.
    pub fn set_limit(limit: Option<usize>, flag: Option<&AtomicBool>) -> bool {
        let counting = limit.is_none() || installed();
        let cap = match limit {
            Some(n) => live_bytes().saturating_add(n).min(isize::MAX as usize - 1) as isize,
            None => isize::MAX,
        };
        CAP.with(|c| c.set(cap));
        TRIP_AT.with(|t| t.set(cap));
        EXCEEDED.with(|e| e.set(false));
        FLAG.with(|f| f.set(flag.map_or(std::ptr::null(), |a| a as *const AtomicBool)));
        counting
    }

    /// Reads and clears the "cap crossed" flag.
    pub fn take_exceeded() -> bool {
        EXCEEDED.with(|e| e.replace(false))
    }
}

impl Drop for Limits {
    fn drop(&mut self) {
        // The allocator must not keep a pointer to this VM's flag. (Only
        // clear it if a cap is set: another VM on the thread may own it.)
        if memory::limited() {
            memory::set_limit(None, None);
        }
    }
}

/// How a host-started run (`Vm::start_frame`) came back.
pub enum RunState {
    /// The frame returned this value.
    Done(Value),
    /// Out of fuel: the frames stay on the VM; `Vm::resume_paused` goes on
    /// exactly where the run stopped, `Vm::abandon_paused` drops it.
    Paused,
}
