//! Parsing and compiling arbitrary text: a syntax error is fine, a panic
//! is a finding.
#![no_main]

use std::rc::Rc;

use covm_vm::compiler::{self, Mode};
use libfuzzer_sys::fuzz_target;

fn one(data: &[u8]) {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(ast) = covm_parser::parse_module(src) else {
        return;
    };
    let _ = compiler::compile(&ast, Rc::from(src), Rc::from("<fuzz>"), Mode::File);
}

// Like the covm binary, compile and run on a thread with a large stack:
// the compiler recurses once per nesting level (up to CPython's limit of
// about 3000) and nested native calls use the stack too.
fuzz_target!(|data: &[u8]| {
    let data = data.to_vec();
    let spawned = std::thread::Builder::new()
        .stack_size(256 << 20)
        .spawn(move || one(&data));
    if let Ok(h) = spawned {
        let _ = h.join();
    }
});
