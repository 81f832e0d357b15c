//! The object model at the bottom of `vm/` names nothing above it
//! (ARCHITECTURE.md, "Inside vm/"): values, code, frames, dicts and the
//! VM's state may refer to each other and to the leaf modules, never to
//! the interpreter, the protocols or the scheduler. `tools/vm-deps` prints
//! the whole graph; this keeps the bottom layer from growing an edge up.

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

#[test]
fn object_model_names_nothing_above_it() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("vm/src");
    let modules: Vec<String> = std::fs::read_dir(&root)
        .expect("vm/src is readable")
        .filter_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
            Some(name.strip_suffix(".rs").unwrap_or(&name).to_string())
        })
        .collect();
    let mut wrong = Vec::new();
    for m in OBJECT_MODEL {
        let src = std::fs::read_to_string(root.join(format!("{m}.rs")))
            .unwrap_or_else(|e| panic!("vm/src/{m}.rs: {e}"));
        for named in named_modules(&src) {
            let allowed =
                OBJECT_MODEL.contains(&named.as_str()) || LEAVES.contains(&named.as_str());
            if !allowed && modules.contains(&named) {
                wrong.push(format!("{m}.rs names crate::{named}"));
            }
        }
    }
    wrong.sort();
    wrong.dedup();
    assert!(
        wrong.is_empty(),
        "the object model names a layer above it:\n{}",
        wrong.join("\n")
    );
}
