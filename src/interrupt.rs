//! Ctrl-C while covm code runs: SIGINT sets the VM's interrupt flag, so
//! the program gets `KeyboardInterrupt` at its next loop iteration or call
//! (an event loop cancels `asyncio.run`'s main task instead). A second one
//! while the first has not been noticed (the flag is still set: a long
//! native call) leaves at once with status 130. At the REPL prompt
//! rustyline reads Ctrl-C as a key instead.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

static FLAG: OnceLock<Arc<AtomicBool>> = OnceLock::new();
static RUNNING: AtomicBool = AtomicBool::new(false);

extern "C" fn on_sigint(_: libc::c_int) {
    if !RUNNING.load(Ordering::SeqCst) {
        return;
    }
    // The VM clears the flag when it acts on it: a flag still set means
    // the last Ctrl-C is still waiting to be noticed.
    if let Some(flag) = FLAG.get()
        && !flag.swap(true, Ordering::SeqCst)
    {
        return;
    }
    let msg = b"\nKeyboardInterrupt\n";
    // SAFETY: write(2) and _exit(2) are async-signal-safe.
    unsafe {
        libc::write(2, msg.as_ptr().cast(), msg.len());
        libc::_exit(130);
    }
}

/// Routes SIGINT to `flag` (the VM's `interrupt`). Call once per process.
pub fn install(flag: Arc<AtomicBool>) {
    if FLAG.set(flag).is_err() {
        return;
    }
    let handler: extern "C" fn(libc::c_int) = on_sigint;
    // SAFETY: the handler only touches atomics and calls async-signal-safe
    // functions.
    unsafe {
        libc::signal(libc::SIGINT, handler as libc::sighandler_t);
    }
}

/// Marks covm code as running (Ctrl-C interrupts it) or not. Leaving the
/// running state clears an interrupt that arrived too late to be noticed.
pub fn set_running(on: bool) {
    if !on && let Some(flag) = FLAG.get() {
        flag.store(false, Ordering::SeqCst);
    }
    RUNNING.store(on, Ordering::SeqCst);
}
