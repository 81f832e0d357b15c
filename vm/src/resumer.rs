//! Who resumed a generator from native code, for tracebacks: "resumed by
//! list()" or "resumed by Task-1 (main)'s step". Worked out only when an
//! exception leaves such a frame, from what the VM already knows: the
//! running task, and the call the frame below was executing.

use std::rc::Rc;

use crate::value::Generator;
use crate::vm::Vm;

/// The built-in or task step that resumed `g` (the top frame's generator).
pub fn native_resumer(vm: &Vm, g: &Rc<Generator>) -> String {
    resumer_of(vm, g, 2)
}

/// The same, with the caller's frame `depth` frames from the top (1 while
/// `g`'s own frame is not pushed yet).
pub fn resumer_of(vm: &Vm, g: &Rc<Generator>, depth: usize) -> String {
    if let Some(label) = crate::scheduler::task::stepping_task(vm, g) {
        return format!("{label}'s step");
    }
    let n = vm.frames.len();
    let Some(caller) = n.checked_sub(depth).and_then(|i| vm.frames.get(i)) else {
        return "a built-in".to_string();
    };
    let code = &caller.code;
    let span = code.span_at(caller.ip.saturating_sub(1));
    let text = code.source.get(span).unwrap_or_default();
    match callee_name(text) {
        Some(name) => format!("{name}()"),
        None => "a built-in".to_string(),
    }
}

/// `list` in `list(gen())`, `join` in `", ".join(g)`.
fn callee_name(call: &str) -> Option<&str> {
    let head = call.split('(').next()?.trim();
    let name = head.rsplit('.').next()?.trim();
    let ok = !name.is_empty() && name.chars().all(|c| c.is_alphanumeric() || c == '_');
    ok.then_some(name)
}
