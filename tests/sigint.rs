//! Ctrl-C reaches a running program: each `tests/sigint/NAME.co` prints
//! `ready`, then waits (a 30 s `asyncio.sleep`, a busy loop, `time.sleep`)
//! inside `try/finally`. The test sends SIGINT after `ready` and expects
//! what CPython 3.11 does: the `finally` output, a traceback ending in
//! `KeyboardInterrupt`, and the status a shell sees for death by SIGINT
//! (130), long before the 30 s are up.

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

struct Ended {
    stdout: String,
    stderr: String,
    code: Option<i32>,
    elapsed: Duration,
}

fn interrupt(name: &str) -> Ended {
    let path = format!("{}/tests/sigint/{name}.co", env!("CARGO_MANIFEST_DIR"));
    let start = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_covm"))
        .arg(&path)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .env("NO_COLOR", "1")
        .spawn()
        .expect("spawn covm");
    let mut out = BufReader::new(child.stdout.take().expect("stdout"));
    let mut first = String::new();
    out.read_line(&mut first).expect("read ready line");
    assert_eq!(first, "ready\n", "{name}: the program did not start");
    // Give it a moment to reach the wait.
    std::thread::sleep(Duration::from_millis(200));
    // SAFETY: kill(2) on our own child's pid.
    let rc = unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
    assert_eq!(rc, 0, "kill failed");
    let mut rest = String::new();
    out.read_to_string(&mut rest).expect("read stdout");
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut stderr)
        .expect("read stderr");
    let status = child.wait().expect("wait");
    Ended {
        stdout: first + &rest,
        stderr,
        code: status.code(),
        elapsed: start.elapsed(),
    }
}

fn check(name: &str, finally_lines: &str) {
    let e = interrupt(name);
    assert_eq!(e.code, Some(130), "{name}: status; stderr:\n{}", e.stderr);
    let last = e.stderr.lines().rev().find(|l| !l.trim().is_empty());
    assert_eq!(
        last,
        Some("KeyboardInterrupt"),
        "{name}: stderr:\n{}",
        e.stderr
    );
    assert_eq!(
        e.stdout,
        format!("ready\n{finally_lines}"),
        "{name}: stdout"
    );
    // A correctness bound, not a speed test: the program waits 30 s.
    assert!(
        e.elapsed < Duration::from_secs(10),
        "{name}: took {:?}",
        e.elapsed
    );
}

#[test]
fn asyncio_run_cancels_main_task() {
    check("asyncio_finally", "finally ran\n");
}

#[test]
fn asyncio_run_cancels_gathered_children() {
    check("asyncio_gather", "a finally\nb finally\nfinally ran\n");
}

#[test]
fn busy_loop() {
    check("busy_loop", "finally ran\n");
}

#[test]
fn time_sleep() {
    check("time_sleep", "finally ran\n");
}

#[test]
fn native_list_of_unbounded_iterator() {
    check("native_list_count", "finally ran\n");
}

#[test]
fn native_sum_of_huge_range() {
    check("native_sum_range", "finally ran\n");
}

#[test]
fn native_sort() {
    check("native_sorted", "finally ran\n");
}

/// In the REPL, Ctrl-C during a top-level `await` raises KeyboardInterrupt
/// in that statement and the session carries on.
#[test]
fn repl_top_level_await() {
    use std::io::Write;
    let start = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_covm"))
        .env("COVM_FORCE_REPL", "1")
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn covm");
    let mut stdin = child.stdin.take().expect("stdin");
    let mut out = BufReader::new(child.stdout.take().expect("stdout"));
    stdin
        .write_all(b"import asyncio\nprint('rea' + 'dy')\n")
        .expect("write");
    stdin.flush().expect("flush");
    let mut line = String::new();
    while !line.starts_with("ready") {
        line.clear();
        // The echo of the input holds `'rea' + 'dy'`, not `ready`.
        let n = out.read_line(&mut line).expect("read");
        assert!(n > 0, "the REPL ended early");
        line = line.trim_start_matches(">>> ").to_string();
    }
    stdin
        .write_all(b"await asyncio.sleep(30)\n")
        .expect("write");
    stdin.flush().expect("flush");
    std::thread::sleep(Duration::from_millis(500));
    // SAFETY: kill(2) on our own child's pid.
    let rc = unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGINT) };
    assert_eq!(rc, 0, "kill failed");
    stdin.write_all(b"print('alive')\n").expect("write");
    drop(stdin);
    let mut rest = String::new();
    out.read_to_string(&mut rest).expect("read stdout");
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut stderr)
        .expect("read stderr");
    let status = child.wait().expect("wait");
    assert_eq!(status.code(), Some(0), "stderr:\n{stderr}");
    assert!(rest.contains("\nalive\n"), "stdout:\n{rest}");
    let last = stderr.lines().rev().find(|l| !l.trim().is_empty());
    assert_eq!(last, Some("KeyboardInterrupt"), "stderr:\n{stderr}");
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "took {:?}",
        start.elapsed()
    );
}
