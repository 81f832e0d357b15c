//! `covm --dis` on small programs in `tests/dis/`: a plain function, a
//! generator, `yield from` delegation, a closure, a class, and `try`/`with`
//! with their exception table.

use std::process::{Command, Stdio};

#[test]
fn dis() {
    insta::glob!("dis/*.co", |path: &std::path::Path| {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let out = Command::new(env!("CARGO_BIN_EXE_covm"))
            .args(["--dis", &name])
            .current_dir(path.parent().unwrap())
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .output()
            .expect("run covm");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text: String = String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(|l| format!("{}\n", l.trim_end()))
            .collect();
        insta::with_settings!({ omit_expression => true, prepend_module_to_snapshot => false }, {
            insta::assert_snapshot!(text);
        });
    });
}
