//! Lexing (the highlighter's forgiving tokenizer) and parsing arbitrary
//! text: either may reject it, neither may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fn one(data: &[u8]) {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    let _ = covm_lexer::tokens(src);
    let _ = covm_parser::parse_module(src);
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
