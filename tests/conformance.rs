//! Runs every `tests/conformance/<feature>/NAME.co` through the covm binary
//! and compares with the answers recorded from CPython 3.11:
//! `NAME.out` (exact stdout), `NAME.err` (last non-empty stderr line) and
//! `NAME.code` (exit status, 0 when absent).
//!
//! Each program runs in a fresh temporary folder (some write files).
//! One libtest trial per program, named `<feature>/NAME`, so `cargo test`
//! prints a line per program; `cargo test --test conformance -- SUBSTRING`
//! (or `COVM_CONFORMANCE_FILTER=substring`) runs a subset.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use libtest_mimic::{Arguments, Failed, Trial};

fn programs(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            programs(&p, out);
        } else if p.extension().is_some_and(|e| e == "co") && p.with_extension("out").exists() {
            out.push(p);
        }
    }
}

fn last_line(s: &str) -> String {
    s.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim()
        .to_string()
}

fn check(prog: &Path, scratch: &Path) -> Result<(), String> {
    let read = |ext: &str| std::fs::read_to_string(prog.with_extension(ext)).ok();
    let want_out = read("out").unwrap_or_default();
    let want_err = read("err").map(|s| s.trim().to_string());
    let want_code: i32 = read("code")
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0);
    std::fs::create_dir_all(scratch).map_err(|e| e.to_string())?;
    let name = prog.file_name().ok_or("no file name")?;
    std::fs::copy(prog, scratch.join(name)).map_err(|e| e.to_string())?;
    let out = Command::new(env!("CARGO_BIN_EXE_covm"))
        .arg(name)
        .current_dir(scratch)
        .stdin(Stdio::null())
        .env("NO_COLOR", "1")
        .output()
        .map_err(|e| e.to_string())?;
    let _ = std::fs::remove_dir_all(scratch);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let mut problems = Vec::new();
    match out.status.code() {
        Some(c) if c == want_code => {}
        Some(c) => problems.push(format!(
            "exit status {c}, expected {want_code}; stderr ends: {}",
            last_line(&stderr)
        )),
        None => problems.push("killed by a signal (crash)".to_string()),
    }
    if stdout != want_out {
        let got: Vec<&str> = stdout.lines().collect();
        let want: Vec<&str> = want_out.lines().collect();
        let i = got.iter().zip(&want).take_while(|(a, b)| a == b).count();
        problems.push(format!(
            "stdout differs at line {}: got {:?}, expected {:?}",
            i + 1,
            got.get(i).copied().unwrap_or("<end>"),
            want.get(i).copied().unwrap_or("<end>")
        ));
    }
    if let Some(w) = want_err
        && last_line(&stderr) != w
    {
        problems.push(format!(
            "last stderr line {:?}, expected {:?}",
            last_line(&stderr),
            w
        ));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n    "))
    }
}

fn main() -> std::process::ExitCode {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance");
    let mut all = Vec::new();
    programs(&root, &mut all);
    let filtered = std::env::var("COVM_CONFORMANCE_FILTER").ok();
    if let Some(f) = &filtered {
        all.retain(|p| p.to_string_lossy().contains(f.as_str()));
    }
    let found = all.len();
    let mut args = Arguments::from_args();
    // The programs are subprocesses that mostly wait on I/O and start-up:
    // four at a time keeps two cores busy.
    if args.test_threads.is_none() {
        args.test_threads = Some(4);
    }
    let tmp = std::env::temp_dir().join(format!("covm-conformance-{}", std::process::id()));
    let trials: Vec<Trial> = all
        .into_iter()
        .enumerate()
        .map(|(n, p)| {
            let name = p
                .strip_prefix(&root)
                .unwrap_or(&p)
                .with_extension("")
                .display()
                .to_string();
            let scratch = tmp.join(format!("p{n}"));
            Trial::test(name, move || check(&p, &scratch).map_err(Failed::from))
        })
        .collect();
    // Guards against a moved corpus silently running nothing.
    let mut trials = trials;
    if filtered.is_none() {
        trials.push(Trial::test("corpus_present", move || {
            if found >= 150 {
                Ok(())
            } else {
                Err(format!("expected the conformance corpus, found {found} programs").into())
            }
        }));
    }
    let conclusion = libtest_mimic::run(&args, trials);
    let _ = std::fs::remove_dir_all(&tmp);
    conclusion.exit_code()
}
