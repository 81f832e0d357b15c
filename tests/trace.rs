//! `covm --trace`: the timeline of generator and coroutine events on
//! stderr, for the programs in `tests/trace/`. Each snapshot shows stdout
//! and stderr merged in the order they were written.

use std::path::Path;
use std::process::{Command, Stdio};

fn traced(path: &Path) -> String {
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    let log =
        std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("trace-{name}.log"));
    let file = std::fs::File::create(&log).expect("log file");
    let status = Command::new(env!("CARGO_BIN_EXE_covm"))
        .args(["--trace", "--virtual-time", &name])
        .current_dir(path.parent().unwrap())
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
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
fn trace() {
    insta::glob!("trace/*.co", |path: &Path| {
        let text = traced(path);
        insta::with_settings!({ omit_expression => true, prepend_module_to_snapshot => false }, {
            insta::assert_snapshot!(text);
        });
    });
}

/// Two of the examples, traced.
#[test]
fn trace_examples() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    for name in ["averager", "async_await_chain"] {
        let text = traced(&dir.join(format!("{name}.co")));
        insta::with_settings!({ omit_expression => true, prepend_module_to_snapshot => false }, {
            insta::assert_snapshot!(format!("trace_example_{name}"), text);
        });
    }
}
