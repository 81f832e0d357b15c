//! Error reports: syntax errors rendered with ariadne, and uncaught
//! runtime errors as a traceback whose last line is CPython's.

use std::io::IsTerminal;

use ariadne::{Color, Config, IndexType, Label, Report, ReportKind, Source};
use covm_parser::SyntaxError;

/// Colour only when stderr is a terminal and `NO_COLOR` is unset or empty.
pub fn use_color() -> bool {
    let no_color = std::env::var("NO_COLOR")
        .map(|v| !v.is_empty())
        .unwrap_or(false);
    std::io::stderr().is_terminal() && !no_color
}

fn line_col(src: &str, pos: usize) -> (usize, usize) {
    let pos = pos.min(src.len());
    let before = &src[..pos];
    let line = before.matches('\n').count() + 1;
    let col = before
        .rsplit('\n')
        .next()
        .map(|s| s.chars().count())
        .unwrap_or(0)
        + 1;
    (line, col)
}

/// Renders a syntax error: an ariadne report pointing at the span, then
/// CPython's `File`/line/caret block and `SyntaxError: message` last.
pub fn render_syntax_error(filename: &str, src: &str, e: &SyntaxError) -> String {
    let mut out = Vec::new();
    let start = e.span.start.min(src.len());
    let end = e.span.end.clamp(start, src.len());
    let color = use_color();
    let mut report = Report::build(ReportKind::Error, (filename, start..end))
        .with_config(
            Config::default()
                .with_index_type(IndexType::Byte)
                .with_color(color),
        )
        .with_message(format!("{}: {}", e.kind, e.message))
        .with_label(
            Label::new((filename, start..end))
                .with_message(&e.message)
                .with_color(Color::Red),
        );
    if let Some(note) = &e.note {
        report = report.with_note(note);
    }
    let _ = report
        .finish()
        .write((filename, Source::from(src)), &mut out);
    let mut text = String::from_utf8_lossy(&out).into_owned();
    let (line, col) = line_col(src, start);
    text.push_str(&format!("  File \"{filename}\", line {line}\n"));
    if let Some(l) = src.lines().nth(line - 1) {
        let trimmed = l.trim_start();
        let indent = l.chars().count() - trimmed.chars().count();
        text.push_str(&format!("    {}\n", trimmed.trim_end()));
        let width = src[start..end].chars().count().max(1);
        let caret_col = col.saturating_sub(1).saturating_sub(indent);
        text.push_str(&format!(
            "    {}{}\n",
            " ".repeat(caret_col),
            "^".repeat(width.min(80))
        ));
    }
    text.push_str(&format!("{}: {}\n", e.kind, e.message));
    text
}
