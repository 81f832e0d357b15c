//! Error reports: syntax errors rendered with ariadne, and uncaught
//! runtime errors as CPython's traceback text preceded by an ariadne view
//! of the frames in their source. The last line is always CPython's
//! `Type: message`.

use std::fmt;
use std::io::IsTerminal;
use std::rc::Rc;

use ariadne::{Color, Config, IndexType, Label, Report, ReportKind, Source};
use covm_parser::SyntaxError;
use covm_vm::Vm;
use covm_vm::value::{TbEntry, Value};

/// Colour only when stderr is a terminal and `NO_COLOR` is unset or empty.
pub fn use_color() -> bool {
    std::io::stderr().is_terminal() && !no_color_env()
}

/// `NO_COLOR` set to a non-empty value (the no-color.org convention).
pub fn no_color_env() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}

fn config(color: bool) -> Config {
    Config::default()
        .with_index_type(IndexType::Byte)
        .with_color(color)
}

/// Clamps `span` to `src` and to character boundaries.
fn clamp_span(src: &str, span: std::ops::Range<usize>) -> std::ops::Range<usize> {
    let mut start = span.start.min(src.len());
    while !src.is_char_boundary(start) {
        start -= 1;
    }
    let mut end = span.end.clamp(start, src.len());
    while !src.is_char_boundary(end) {
        end += 1;
    }
    start..end
}

/// A short hint for messages where the fix is not obvious to a newcomer.
fn help_for(e: &SyntaxError) -> Option<&'static str> {
    let m = e.message.as_str();
    let table: &[(&str, &str)] = &[
        (
            "expected ':'",
            "a line that opens a block (def, class, if, elif, else, for, while, try, except, finally, with) ends with ':'",
        ),
        (
            "expected an indented block",
            "indent the body of the block, for example by 4 spaces",
        ),
        (
            "unexpected indent",
            "this line is indented more than the line before it, but no block was opened",
        ),
        (
            "unindent does not match",
            "dedent to the same column as an enclosing block",
        ),
        (
            "inconsistent use of tabs",
            "indent with spaces only (or tabs only), never a mix",
        ),
        ("was never closed", "add the matching closing bracket"),
        (
            "unmatched",
            "remove it, or add the opening bracket it closes",
        ),
        (
            "closing parenthesis",
            "brackets close in the reverse order they were opened",
        ),
        (
            "unterminated string",
            "close the string with the same quote it starts with, on the same line",
        ),
        (
            "unterminated triple-quoted",
            "close the string with the same three quotes it starts with",
        ),
        (
            "leading zeros",
            "write 7, not 07; octal numbers are written 0o7",
        ),
        (
            "Missing parentheses in call to 'print'",
            "print is a function in Python 3: print(...)",
        ),
        (
            "outside function",
            "this statement only makes sense inside a def",
        ),
        (
            "outside async function",
            "use it inside an 'async def' (the REPL also allows top-level await)",
        ),
        (
            "covm does not support",
            "covm runs a strict subset of Python 3; README.md lists what it refuses",
        ),
        (
            "Perhaps you forgot a comma",
            "items in a list, tuple, call or set are separated by commas",
        ),
        (
            "unexpected EOF",
            "the input ended in the middle of a statement",
        ),
    ];
    table.iter().find(|(k, _)| m.contains(k)).map(|(_, h)| *h)
}

/// Renders a syntax error: an ariadne report pointing at the span (file,
/// line and column in its header), then CPython's `File "...", line N`
/// line and `SyntaxError: message` last.
pub fn render_syntax_error(filename: &str, src: &str, e: &SyntaxError) -> String {
    render_syntax_error_color(filename, src, e, use_color())
}

pub fn render_syntax_error_color(
    filename: &str,
    src: &str,
    e: &SyntaxError,
    color: bool,
) -> String {
    let mut out = Vec::new();
    let span = clamp_span(src, e.span.clone());
    let mut report = Report::build(ReportKind::Error, (filename, span.clone()))
        .with_config(config(color))
        .with_message(format!("{}: {}", e.kind, e.message))
        .with_label(
            Label::new((filename, span.clone()))
                .with_message(&e.message)
                .with_color(Color::Red),
        );
    if let Some(note) = &e.note {
        report = report.with_note(note);
    }
    if let Some(help) = help_for(e) {
        report = report.with_help(help);
    }
    let _ = report
        .finish()
        .write((filename, Source::from(src)), &mut out);
    let mut text = String::from_utf8_lossy(&out).into_owned();
    let (line, _) = e.line_col(src);
    text.push_str(&format!("  File \"{filename}\", line {line}\n"));
    text.push_str(&format!("{}: {}\n", e.kind, e.message));
    text
}

/// Identifies one source text in a multi-source ariadne report: frames of
/// different REPL inputs share a file name but not a text.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct SrcId {
    name: Rc<str>,
    index: usize,
}

impl fmt::Display for SrcId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

/// At most this many frames get a label; a deep recursion labels its
/// innermost frames only.
const MAX_LABELS: usize = 8;

/// The text printed for an uncaught runtime error: an ariadne view of the
/// frames (when there is more than one to connect), then CPython's
/// traceback, whose last line is `Type: message`.
pub fn render_runtime_error(vm: &mut Vm, exc: &Value) -> String {
    render_runtime_error_color(vm, exc, use_color())
}

pub fn render_runtime_error_color(vm: &mut Vm, exc: &Value, color: bool) -> String {
    let text = collapse_repeats(&vm.format_exception(exc));
    match source_view(vm, exc, color) {
        // The view already shows every frame: only the exception line
        // follows it, unless the traceback has more to tell (chained
        // exceptions, groups).
        Some(view) => match exception_lines(&text) {
            Some(last) => format!("{view}{last}"),
            None => format!("{view}{text}"),
        },
        None => text,
    }
}

/// The lines after the last frame of a plain traceback (the exception
/// line and its continuation), or `None` for one that chains exceptions
/// or shows a group.
fn exception_lines(text: &str) -> Option<String> {
    let chained = text.contains("During handling of the above exception")
        || text.contains("The above exception was the direct cause")
        || text.contains("  | ");
    if chained {
        return None;
    }
    let lines: Vec<&str> = text.lines().collect();
    let last_frame = lines.iter().rposition(|l| l.starts_with(' '))?;
    let rest = &lines[last_frame + 1..];
    if rest.is_empty() {
        return None;
    }
    Some(rest.iter().map(|l| format!("{l}\n")).collect())
}

fn source_view(vm: &mut Vm, exc: &Value, color: bool) -> Option<String> {
    let Value::Instance(inst) = exc else {
        return None;
    };
    // Outermost first, like the traceback text.
    let mut tb: Vec<TbEntry> = inst.traceback.borrow().to_vec();
    tb.reverse();
    if tb.len() < 2 {
        return None;
    }
    let exc_name = vm.type_of(exc).name.to_string();
    let headline = vm.exc_line(exc);
    let n = tb.len();

    // One source per distinct text.
    let mut sources: Vec<(SrcId, Rc<str>)> = Vec::new();
    // (source, span, message, innermost, times)
    let mut labels: Vec<(SrcId, std::ops::Range<usize>, String, bool, usize)> = Vec::new();
    for (k, entry) in tb.iter().enumerate() {
        let code = &entry.code;
        if code.source.is_empty() {
            continue;
        }
        let id = match sources.iter().find(|(_, s)| Rc::ptr_eq(s, &code.source)) {
            Some((id, _)) => id.clone(),
            None => {
                let id = SrcId {
                    name: code.filename.clone(),
                    index: sources.len(),
                };
                sources.push((id.clone(), code.source.clone()));
                id
            }
        };
        let span = first_line(
            &code.source,
            clamp_span(&code.source, code.span_at(entry.ip)),
        );
        let name = frame_name(&code.name);
        let innermost = k + 1 == n;
        let msg = if innermost {
            format!("{exc_name} raised here, in {name}")
        } else {
            let next = &tb[k + 1];
            let callee = frame_name(&next.code.name);
            let how = next.resumed_by.as_ref().map(covm_vm::resumer::describe);
            match how.as_deref() {
                // A module body entered from another file: an import.
                None if &*next.code.name == "<module>" => {
                    format!("{name} imports {}", next.code.filename)
                }
                None => format!("{name} calls {callee}"),
                Some("a for loop") => format!("{name} resumes {callee} (for loop)"),
                Some("yield from/await") => {
                    format!("{name} delegates to {callee} (yield from / await)")
                }
                Some(how) if how.starts_with("next") => {
                    format!("{name} resumes {callee} (next / send / throw)")
                }
                Some(how) => format!("{name} → {callee}, resumed by {how}"),
            }
        };
        // A recursive call repeats the same span: label it once, counted.
        if !innermost
            && let Some(l) = labels
                .iter_mut()
                .find(|l| l.0 == id && l.1 == span && !l.3 && l.2 == msg)
        {
            l.4 += 1;
            continue;
        }
        labels.push((id, span, msg, innermost, 1));
    }
    let hidden = labels.len().saturating_sub(MAX_LABELS);
    let labels: Vec<_> = labels
        .into_iter()
        .skip(hidden)
        .enumerate()
        .map(|(i, (id, span, msg, innermost, times))| {
            let step = i + 1 + hidden;
            let msg = if times > 1 {
                format!("{step}. {msg} ({times} times)")
            } else {
                format!("{step}. {msg}")
            };
            (id, span, msg, innermost)
        })
        .collect();
    let first_shown = hidden;
    if labels.len() < 2 {
        return None;
    }
    // Labels in source order render as one snippet per source.
    let mut ordered = labels.clone();
    ordered.sort_by_key(|l| (l.0.index, l.1.start));
    let primary = labels.last()?;
    let mut report = Report::build(ReportKind::Error, (primary.0.clone(), primary.1.clone()))
        .with_config(config(color))
        .with_message(headline);
    for (id, span, msg, innermost) in ordered {
        report = report.with_label(
            Label::new((id, span))
                .with_message(msg)
                .with_color(if innermost { Color::Red } else { Color::Yellow }),
        );
    }
    if first_shown > 0 {
        report = report.with_note(format!(
            "{first_shown} outer call site(s) not labelled; the traceback below lists every frame"
        ));
    }
    let mut out = Vec::new();
    let cache = ariadne::sources(sources);
    report.finish().write(cache, &mut out).ok()?;
    Some(String::from_utf8_lossy(&out).into_owned())
}

/// A statement-sized span (a whole `for` loop) is labelled on its first
/// line only.
fn first_line(src: &str, span: std::ops::Range<usize>) -> std::ops::Range<usize> {
    match src[span.clone()].find('\n') {
        Some(i) => {
            let head = src[span.start..span.start + i].trim_end();
            span.start..span.start + head.len()
        }
        None => span,
    }
}

fn frame_name(name: &str) -> String {
    if name.starts_with('<') {
        name.to_string()
    } else {
        format!("{name}()")
    }
}

/// CPython's `[Previous line repeated N more times]`: after three
/// consecutive entries for the same file, line and function, the rest are
/// counted instead of printed.
pub fn collapse_repeats(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let mut i = 0;
    let mut last_key: Option<&str> = None;
    let mut count = 0usize;
    let flush = |out: &mut String, count: usize| {
        if count > 3 {
            let more = count - 3;
            let s = if more == 1 { "" } else { "s" };
            out.push_str(&format!("  [Previous line repeated {more} more time{s}]\n"));
        }
    };
    while i < lines.len() {
        let line = lines[i];
        if line.starts_with("  File \"") {
            let mut j = i + 1;
            while j < lines.len() && lines[j].starts_with("    ") {
                j += 1;
            }
            if last_key == Some(line) {
                count += 1;
            } else {
                flush(&mut out, count);
                last_key = Some(line);
                count = 1;
            }
            if count <= 3 {
                for l in &lines[i..j] {
                    out.push_str(l);
                }
            }
            i = j;
        } else {
            flush(&mut out, count);
            last_key = None;
            count = 0;
            out.push_str(line);
            i += 1;
        }
    }
    flush(&mut out, count);
    out
}
