//! Runs the example host and snapshots what it prints.

#[test]
fn example_output() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_covm-embed-example"))
        .output()
        .expect("run the example");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    insta::assert_snapshot!(String::from_utf8_lossy(&out.stdout));
}
