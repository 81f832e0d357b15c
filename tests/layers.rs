//! The layers of `vm/` (ARCHITECTURE.md, "Inside vm/"), checked on the
//! modules each file names:
//!
//! - the object model at the bottom names nothing above it: values, code,
//!   frames, dicts and the VM's state may refer to each other and to the
//!   leaf modules, never to the interpreter, the protocols or the
//!   scheduler;
//! - the object protocols, async generators and the event loop run code
//!   only through the call/resume interface (`resume.rs`, `Vm::call`):
//!   they name neither the interpreter nor its generator machinery, and
//!   call none of its frame switches;
//! - the interpreter names nothing of the event loop, which it reaches
//!   only through the hooks in `upcalls.rs`.
//!
//! `tools/vm-deps` prints the whole graph; these keep edges from growing
//! back.

use std::path::Path;

/// The object model, then the leaf modules below it.
const OBJECT_MODEL: &[&str] = &[
    "value",
    "code",
    "frame",
    "dict",
    "attrs",
    "native_box",
    "gen_names",
    "gen_rc",
    "tracking",
    "type_cache",
    "limits",
    "vm",
];
const LEAVES: &[&str] = &["opcode", "rc_slice", "format", "clock"];

/// The modules a file names as `crate::m` or in `use crate::{m, ...}`,
/// outside its unit tests.
fn named_modules(src: &str) -> Vec<String> {
    let src = match src.find("#[cfg(test)]") {
        Some(at) => &src[..at],
        None => src,
    };
    let mut out = Vec::new();
    for (at, _) in src.match_indices("crate::") {
        let rest = &src[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let group = &group[..group.find('}').unwrap_or(group.len())];
            for item in group.split(',') {
                let name: String = item
                    .trim()
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                out.push(name);
            }
        } else {
            out.push(
                rest.chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect(),
            );
        }
    }
    out
}

fn root() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("vm/src")
}

/// The sources of module `m` (`m.rs` and, for a directory module, every
/// file under `m/`), outside their unit tests.
fn sources(m: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let file = root().join(format!("{m}.rs"));
    if let Ok(src) = std::fs::read_to_string(&file) {
        out.push((format!("{m}.rs"), src));
    }
    if let Ok(dir) = std::fs::read_dir(root().join(m)) {
        for e in dir.flatten() {
            let path = e.path();
            if let Ok(src) = std::fs::read_to_string(&path) {
                let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
                out.push((format!("{m}/{}", name.unwrap_or_default()), src));
            }
        }
    }
    assert!(!out.is_empty(), "vm/src/{m} not found");
    for (_, src) in &mut out {
        if let Some(at) = src.find("#[cfg(test)]") {
            src.truncate(at);
        }
    }
    out
}

/// The object protocols, async generators and the event loop.
const THROUGH_RESUME: &[&str] = &["objects", "asyncgen", "scheduler"];
/// The interpreter's modules those may not name.
const INTERPRETER: &[&str] = &["interp", "generator"];
/// The interpreter's frame switches behind `Vm::resume`.
const FRAME_SWITCHES: &[&str] = &[
    "resume_frame(",
    "throw_in_loop(",
    "run_raising(",
    "resume_suspended(",
    "push_frame(",
    "frames.push(",
    "Resume::",
];

/// Each `crate::m` that a file of `modules` names and `forbidden(m)` rejects,
/// as "file names crate::m".
fn forbidden_names(modules: &[&str], forbidden: impl Fn(&str) -> bool) -> Vec<String> {
    let mut wrong = Vec::new();
    for m in modules {
        for (file, src) in sources(m) {
            for named in named_modules(&src) {
                if forbidden(&named) {
                    wrong.push(format!("{file} names crate::{named}"));
                }
            }
        }
    }
    wrong
}

fn assert_none(mut wrong: Vec<String>, what: &str) {
    wrong.sort();
    wrong.dedup();
    assert!(wrong.is_empty(), "{what}:\n{}", wrong.join("\n"));
}

#[test]
fn protocols_and_scheduler_run_code_through_resume() {
    let mut wrong = forbidden_names(THROUGH_RESUME, |m| INTERPRETER.contains(&m));
    for m in THROUGH_RESUME {
        for (file, src) in sources(m) {
            for switch in FRAME_SWITCHES {
                if src.contains(switch) {
                    wrong.push(format!("{file} calls the interpreter's {switch}"));
                }
            }
        }
    }
    assert_none(wrong, "code above the interpreter reaches past resume.rs");
}

/// The interpreter and the modules it calls on every resume and drop.
const INTERPRETER_CORE: &[&str] = &[
    "interp",
    "generator",
    "resume",
    "resumer",
    "trace",
    "drop_reports",
    "upcalls",
];

#[test]
fn interpreter_names_nothing_of_the_event_loop() {
    let wrong = forbidden_names(INTERPRETER_CORE, |m| THROUGH_RESUME.contains(&m));
    assert_none(wrong, "the interpreter names a layer above it");
}

#[test]
fn object_model_names_nothing_above_it() {
    let modules: Vec<String> = std::fs::read_dir(root())
        .expect("vm/src is readable")
        .filter_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
            Some(name.strip_suffix(".rs").unwrap_or(&name).to_string())
        })
        .collect();
    let wrong = forbidden_names(OBJECT_MODEL, |m| {
        let allowed = OBJECT_MODEL.contains(&m) || LEAVES.contains(&m);
        !allowed && modules.iter().any(|n| n == m)
    });
    assert_none(wrong, "the object model names a layer above it");
}
