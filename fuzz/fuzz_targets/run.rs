//! Running arbitrary programs with a time budget: an uncaught exception is
//! fine, a panic, an abort or a stack overflow is a finding.
//!
//! The budget: a watchdog thread sets the VM's interrupt flag (what Ctrl-C
//! does) once the program has run for `BUDGET`, and keeps setting it, so a
//! program that catches `KeyboardInterrupt` still ends. Sleeps run on the
//! virtual clock. Programs that could touch the file system (`open`, `os`)
//! are skipped; run.sh also runs the target in an empty scratch folder.
#![no_main]

use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, mpsc};
use std::time::Duration;

use covm_vm::Vm;
use covm_vm::compiler::{self, Mode};
use covm_vm::value::Value;
use libfuzzer_sys::fuzz_target;

const BUDGET: Duration = Duration::from_millis(300);

/// One watchdog for the whole process: each run sends it the flag to set.
fn watchdog() -> &'static Mutex<mpsc::Sender<Arc<AtomicBool>>> {
    static TX: OnceLock<Mutex<mpsc::Sender<Arc<AtomicBool>>>> = OnceLock::new();
    TX.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<Arc<AtomicBool>>();
        std::thread::spawn(move || {
            let mut current: Option<(Arc<AtomicBool>, std::time::Instant)> = None;
            loop {
                match rx.recv_timeout(Duration::from_millis(10)) {
                    Ok(flag) => current = Some((flag, std::time::Instant::now())),
                    Err(mpsc::RecvTimeoutError::Timeout) => {}
                    Err(mpsc::RecvTimeoutError::Disconnected) => return,
                }
                if let Some((flag, start)) = &current {
                    // A flag no VM holds any more belongs to a finished run.
                    if Arc::strong_count(flag) == 1 {
                        current = None;
                    } else if start.elapsed() > BUDGET {
                        flag.store(true, Ordering::SeqCst);
                    }
                }
            }
        });
        Mutex::new(tx)
    })
}

/// Whether `word` occurs in `src` as a whole identifier.
fn has_word(src: &str, word: &str) -> bool {
    let ident = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
    src.match_indices(word).any(|(i, _)| {
        !ident(src[..i].chars().next_back()) && !ident(src[i + word.len()..].chars().next())
    })
}

fn touches_files(src: &str) -> bool {
    ["open", "os", "__import__", "input"]
        .iter()
        .any(|w| has_word(src, w))
}

fn one(data: &[u8]) {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    if touches_files(src) {
        return;
    }
    let Ok(ast) = covm_parser::parse_module(src) else {
        return;
    };
    let Ok(code) = compiler::compile(&ast, Rc::from(src), Rc::from("<fuzz>"), Mode::File) else {
        return;
    };
    let mut vm = Vm::new();
    covm_stdlib::install(&mut vm);
    vm.clock.set_virtual(true);
    // As the covm binary does on its 256 MiB thread.
    vm.max_native_stack = 200 << 20;
    vm.set_output(Box::new(std::io::sink()));
    if let Ok(tx) = watchdog().lock() {
        let _ = tx.send(vm.interrupt.clone());
    }
    let m = vm.new_module("__main__");
    m.globals
        .borrow_mut()
        .insert(Rc::from("__name__"), Value::str("__main__"));
    let _ = vm.run_main(code, &m);
    vm.shutdown(&m);
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
