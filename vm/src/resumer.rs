//! Who resumed a generator from native code, for tracebacks: "resumed by
//! list()" or "resumed by Task-1 (main)'s step". Worked out only when an
//! exception leaves such a frame, from what the VM already knows: the
//! running task, and the call the frame below was executing (whose name
//! is read from the source only when a traceback shows it).

use crate::value::{GenRc, ResumedBy};
use crate::vm::Vm;

/// The built-in or task step that resumed `g` (the top frame's generator).
pub fn native_resumer(vm: &Vm, g: &GenRc) -> ResumedBy {
    resumer_at(vm, g, 2)
}

/// The same as text, with the caller's frame `depth` frames from the top
/// (1 while `g`'s own frame is not pushed yet).
pub fn resumer_of(vm: &Vm, g: &GenRc, depth: usize) -> String {
    describe(&resumer_at(vm, g, depth)).into_owned()
}

/// The task step, or the call site of the frame `depth` from the top: the
/// name of the built-in is only read from the source by `describe`.
fn resumer_at(vm: &Vm, g: &GenRc, depth: usize) -> ResumedBy {
    if let Some(label) = (crate::upcalls::get().stepping_task)(vm, g) {
        return ResumedBy::Text(format!("{label}'s step").into());
    }
    let n = vm.frames.len();
    let Some(caller) = n.checked_sub(depth).and_then(|i| vm.frames.get(i)) else {
        return ResumedBy::Text("a built-in".into());
    };
    ResumedBy::Call {
        code: caller.code.clone(),
        ip: caller.ip.saturating_sub(1),
    }
}

pub use crate::traceback::describe;
