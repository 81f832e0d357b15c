//! REPL sessions through piped stdin. `COVM_FORCE_REPL=1` makes covm act
//! as a REPL on a pipe, echoing prompts and input on stdout so the
//! snapshot reads like a terminal transcript; stdout and stderr go to one
//! file, in the order they were written. A session `NAME.in` with a
//! `NAME.co` beside it runs as `covm -i NAME.co`.

use std::path::Path;
use std::process::{Command, Stdio};

fn session(path: &Path) -> String {
    let dir = path.parent().unwrap();
    let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
    let input = std::fs::File::open(path).expect("open session");
    let log =
        std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("repl-{stem}.log"));
    let file = std::fs::File::create(&log).expect("log file");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_covm"));
    cmd.arg("--virtual-time");
    let script = format!("{stem}.co");
    if dir.join(&script).exists() {
        cmd.args(["-i", &script]);
    } else {
        cmd.env("COVM_FORCE_REPL", "1");
    }
    let status = cmd
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env(
            "COVM_HISTORY",
            "/nonexistent/covm-history-must-not-be-written",
        )
        .stdin(Stdio::from(input))
        .stdout(file.try_clone().expect("dup"))
        .stderr(file)
        .status()
        .expect("run covm");
    let text: String = std::fs::read_to_string(&log)
        .expect("read log")
        .lines()
        .map(|l| format!("{}\n", l.trim_end()))
        .collect();
    format!("exit: {}\n{text}", status.code().unwrap_or(-1))
}

#[test]
fn repl_sessions() {
    insta::glob!("repl/*.in", |path: &Path| {
        let text = session(path);
        assert!(!text.contains("panicked"), "{text}");
        insta::with_settings!({ omit_expression => true, prepend_module_to_snapshot => false }, {
            insta::assert_snapshot!(text);
        });
    });
}

/// Plain piped stdin is a script: no prompts, no echo of expressions.
#[test]
fn piped_stdin_is_a_script() {
    use std::io::Write;
    for args in [&[][..], &["-"][..]] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_covm"))
            .args(args)
            .env_remove("COVM_FORCE_REPL")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run covm");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(b"x = 6 * 7\nx\nif x:\n    print(x)\n")
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), "42\n");
        assert!(out.status.success());
    }
}
