//! `covm --timeline`: every example's page, parsed with an HTML parser and
//! described by its structure (lanes, marks, arrows), so a change in what
//! the page draws shows up as a snapshot diff. The browser check is
//! tests/timeline_browser.sh (run by .ci/run).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};

use scraper::{Html, Selector};

fn sel(s: &str) -> Selector {
    Selector::parse(s).expect("selector")
}

fn timeline(dir: &Path, name: &str) -> String {
    let out =
        std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("timeline-{name}.html"));
    let status = Command::new(env!("CARGO_BIN_EXE_covm"))
        .args(["--virtual-time", "--timeline"])
        .arg(&out)
        .arg(format!("{name}.co"))
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("run covm");
    assert!(status.code().is_some(), "covm died on {name}");
    std::fs::read_to_string(&out).expect("timeline written")
}

/// The page's structure as text.
fn describe(html: &str) -> String {
    let doc = Html::parse_document(html);
    let mut out = String::new();
    let title = doc
        .select(&sel("title"))
        .next()
        .map(|t| t.text().collect::<String>())
        .unwrap_or_default();
    out.push_str(&format!("title: {title}\n"));
    // Self-contained: nothing is loaded from elsewhere.
    let external = doc
        .select(&sel(
            "script[src], link, img, iframe, [href^=http], [src^=http]",
        ))
        .count();
    out.push_str(&format!("external resources: {external}\n"));
    out.push_str(&format!(
        "scripts: {}\n",
        doc.select(&sel("script")).count()
    ));
    let marks: Vec<_> = doc.select(&sel("#timeline .mark[data-kind]")).collect();
    let names: Vec<String> = doc
        .select(&sel(".lane-name"))
        .map(|g| {
            g.select(&sel("text"))
                .map(|t| t.text().collect::<String>())
                .collect::<Vec<_>>()
                .join(" / ")
        })
        .collect();
    out.push_str(&format!("lanes: {}\n", names.len()));
    for (i, n) in names.iter().enumerate() {
        let count = marks
            .iter()
            .filter(|m| m.value().attr("data-lane") == Some(&i.to_string()))
            .count();
        out.push_str(&format!("  {n}: {count} marks\n"));
    }
    let mut by_kind: BTreeMap<&str, usize> = BTreeMap::new();
    for m in &marks {
        *by_kind
            .entry(m.value().attr("data-kind").unwrap_or("?"))
            .or_default() += 1;
    }
    out.push_str(&format!("marks: {}\n", marks.len()));
    for (k, n) in &by_kind {
        out.push_str(&format!("  {k}: {n}\n"));
    }
    let with_info = marks
        .iter()
        .filter(|m| m.select(&sel("title")).next().is_some())
        .count();
    out.push_str(&format!("marks with a tooltip: {with_info}\n"));
    let arrows: Vec<_> = doc.select(&sel("#timeline .arrow")).collect();
    let mut pairs: BTreeMap<String, usize> = BTreeMap::new();
    for a in &arrows {
        let v = a.value();
        let key = format!(
            "{} {} -> {}",
            v.attr("data-kind").unwrap_or("?"),
            v.attr("data-from").unwrap_or("?"),
            v.attr("data-to").unwrap_or("?")
        );
        *pairs.entry(key).or_default() += 1;
    }
    out.push_str(&format!("arrows: {}\n", arrows.len()));
    for (k, n) in &pairs {
        out.push_str(&format!("  {k}: {n}\n"));
    }
    out
}

#[test]
fn timeline_examples() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("examples")
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "co"))
        .filter_map(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .collect();
    names.sort();
    for name in names {
        let text = describe(&timeline(&dir, &name));
        assert!(text.contains("external resources: 0"), "{name}: {text}");
        insta::with_settings!({ omit_expression => true, prepend_module_to_snapshot => false }, {
            insta::assert_snapshot!(format!("timeline_{name}"), text);
        });
    }
}
