//! Parsing and compiling arbitrary text: a syntax error is fine, a panic
//! is a finding.
#![no_main]

use std::rc::Rc;

use covm_vm::compiler::{self, Mode};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(ast) = covm_parser::parse_module(src) else {
        return;
    };
    let _ = compiler::compile(&ast, Rc::from(src), Rc::from("<fuzz>"), Mode::File);
});
