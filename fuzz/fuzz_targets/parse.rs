//! Lexing (the highlighter's forgiving tokenizer) and parsing arbitrary
//! text: either may reject it, neither may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    let _ = covm_lexer::tokens(src);
    let _ = covm_parser::parse_module(src);
});
