//! Snapshot of every program in `examples/` (`*.co`, and `*/main.co` for
//! a program split into modules): exit status, stdout and stderr.
//! `async_*` examples run with `--virtual-time`, so their sleeps take no
//! real time.

use std::process::Command;

fn trimmed(s: &[u8]) -> String {
    String::from_utf8_lossy(s)
        .lines()
        .map(str::trim_end)
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn examples() {
    // Single-file examples, and multi-file ones as a folder whose
    // `main.co` imports the package beside it (the package's own files
    // are not programs).
    insta::glob!(
        "../examples",
        "{*.co,*/main.co}",
        |path: &std::path::Path| {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let mut cmd = Command::new(env!("CARGO_BIN_EXE_covm"));
            if name.starts_with("async_") {
                cmd.arg("--virtual-time");
            }
            let out = cmd
                .arg(&name)
                .current_dir(path.parent().unwrap())
                .env("NO_COLOR", "1")
                .stdin(std::process::Stdio::null())
                .output()
                .expect("run covm");
            let text = format!(
                "exit: {}\n--- stdout\n{}\n--- stderr\n{}\n",
                out.status.code().unwrap_or(-1),
                trimmed(&out.stdout),
                trimmed(&out.stderr)
            );
            insta::with_settings!({ omit_expression => true, prepend_module_to_snapshot => false }, {
                insta::assert_snapshot!(text);
            });
        }
    );
}
