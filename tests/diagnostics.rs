//! Error reports for erroneous programs in `tests/diagnostics/`: every
//! syntax error the lexer, parser and compiler produce, and runtime errors
//! through functions, generators, `yield from` chains, coroutines and
//! asyncio tasks. Each snapshot holds the exit status and both streams;
//! the last stderr line is CPython's `Type: message`.

use std::process::{Command, Stdio};

fn trimmed(s: &[u8]) -> String {
    String::from_utf8_lossy(s)
        .lines()
        .map(str::trim_end)
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn diagnostics() {
    insta::glob!("diagnostics/*.co", |path: &std::path::Path| {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let out = Command::new(env!("CARGO_BIN_EXE_covm"))
            .args(["--virtual-time", &name])
            .current_dir(path.parent().unwrap())
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .output()
            .expect("run covm");
        let stderr = trimmed(&out.stderr);
        assert_ne!(out.status.code(), Some(0), "{name} should fail");
        assert!(
            !stderr.contains("panicked"),
            "{name}: covm panicked:\n{stderr}"
        );
        let text = format!(
            "exit: {}\n--- stdout\n{}\n--- stderr\n{}\n",
            out.status.code().unwrap_or(-1),
            trimmed(&out.stdout),
            stderr
        );
        insta::with_settings!({ omit_expression => true, prepend_module_to_snapshot => false }, {
            insta::assert_snapshot!(text);
        });
    });
}

/// With NO_COLOR unset but stderr not a terminal, no escape codes appear.
#[test]
fn no_colour_when_piped() {
    let out = Command::new(env!("CARGO_BIN_EXE_covm"))
        .args(["-c", "def f():\n    1/0\nf()\n"])
        .env_remove("NO_COLOR")
        .stdin(Stdio::null())
        .output()
        .expect("run covm");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains('\x1b'), "{err}");
    assert!(
        err.ends_with("ZeroDivisionError: division by zero\n"),
        "{err}"
    );
}
