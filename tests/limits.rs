//! `--max-steps` and `--max-memory`: the CLI side of the resource limits.

use std::process::Command;

fn covm(args: &[&str], src: &str) -> (i32, String, String) {
    let dir = std::env::temp_dir().join(format!("covm-limits-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join(format!("t{}.co", src.len()));
    std::fs::write(&file, src).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_covm"))
        .args(args)
        .arg(&file)
        .env("NO_COLOR", "1")
        .output()
        .expect("run covm");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn max_steps_stops_through_except_and_runs_finally() {
    let src = "try:\n    while True:\n        try:\n            pass\n        except BaseException:\n            print('caught')\nfinally:\n    print('finally ran')\nprint('after')\n";
    let (code, out, err) = covm(&["--max-steps", "10000"], src);
    assert_eq!(code, 1);
    assert_eq!(out, "finally ran\n");
    assert!(
        err.ends_with("covm: stopped: the program ran past --max-steps 10000\n"),
        "{err}"
    );
}

#[test]
fn max_steps_leaves_short_programs_alone() {
    let (code, out, _) = covm(&["--max-steps", "10000"], "print(sum(range(100)))\n");
    assert_eq!((code, out.as_str()), (0, "4950\n"));
}

#[test]
fn max_memory_raises_memory_error() {
    let src = "xs = []\ntry:\n    while True:\n        xs.append('x' * 1000)\nexcept MemoryError:\n    xs = None\n    print('MemoryError')\nys = []\nwhile True:\n    ys.append('y' * 1000)\n";
    let (code, out, err) = covm(&["--max-memory", "20M"], src);
    assert_eq!(code, 1);
    assert_eq!(out, "MemoryError\n");
    assert!(err.ends_with("MemoryError\n"), "{err}");
}

#[test]
fn bad_limit_values_are_refused() {
    let (code, _, err) = covm(&["--max-memory", "lots"], "pass\n");
    assert_eq!(code, 2, "{err}");
}

/// Under an address-space limit (`ulimit -v`), a list fed from an endless
/// iterator raises MemoryError, as CPython does, instead of the allocator
/// aborting the process.
#[test]
fn endless_list_under_address_space_limit_raises_memory_error() {
    let dir = std::env::temp_dir().join(format!("covm-limits-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("endless.co");
    let src = "import itertools\ntry:\n    list(itertools.count())\nexcept MemoryError:\n    print('list')\ntry:\n    [x for x in itertools.count()]\nexcept MemoryError:\n    print('comprehension')\nxs = []\nfor x in itertools.count():\n    xs.append(x)\n";
    std::fs::write(&file, src).unwrap();
    let out = Command::new("sh")
        .arg("-c")
        .arg("ulimit -v 600000 && exec \"$0\" \"$1\"")
        .arg(env!("CARGO_BIN_EXE_covm"))
        .arg(&file)
        .env("NO_COLOR", "1")
        .output()
        .expect("run covm");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "list\ncomprehension\n"
    );
    assert!(err.ends_with("MemoryError\n"), "{err}");
}
