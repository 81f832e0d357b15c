//! The indentation layer: turns the raw logos token stream into the stream
//! the parser consumes, with `Newline`, `Indent` and `Dedent` tokens, implicit
//! line joining inside brackets, and CPython's tokenizer errors.

use std::collections::VecDeque;
use std::ops::Range;

use logos::Logos;

use crate::token::{LexErrorKind, Tok};

/// A token with its absolute byte span: `(start, token, end)`.
pub type Spanned = (usize, Tok, usize);

/// A tokenizer error, worded as CPython words it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LexError {
    /// `SyntaxError`, `IndentationError` or `TabError`.
    pub kind: &'static str,
    pub message: String,
    /// Absolute byte span.
    pub span: Range<usize>,
    /// True when more input could fix the error (REPL continuation).
    pub incomplete: bool,
}

impl LexError {
    fn syntax(message: impl Into<String>, span: Range<usize>) -> Self {
        LexError {
            kind: "SyntaxError",
            message: message.into(),
            span,
            incomplete: false,
        }
    }
}

/// 1-based line number of byte offset `pos` in `src`.
pub fn line_of(src: &str, pos: usize) -> usize {
    let pos = pos.min(src.len());
    src.as_bytes()[..pos]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// The token stream with layout tokens. Iterate it to get
/// `Result<Spanned, LexError>`; after the first error it ends.
pub struct TokenStream<'a> {
    src: &'a str,
    inner: logos::Lexer<'a, Tok>,
    base: usize,
    expr_mode: bool,
    indents: Vec<&'a str>,
    brackets: Vec<(u8, Range<usize>)>,
    at_line_start: bool,
    pending: VecDeque<Spanned>,
    done: bool,
    /// End (relative) of the last token returned.
    last_end: usize,
}

impl<'a> TokenStream<'a> {
    /// A stream for a whole module.
    pub fn new(src: &'a str) -> Self {
        let mut inner = Tok::lexer(src);
        // A UTF-8 byte order mark at the start is ignored, as in CPython.
        if src.starts_with('\u{feff}') {
            inner.bump('\u{feff}'.len_utf8());
        }
        TokenStream {
            src,
            inner,
            base: 0,
            expr_mode: false,
            indents: vec![""],
            brackets: Vec::new(),
            at_line_start: true,
            pending: VecDeque::new(),
            done: false,
            last_end: 0,
        }
    }

    /// A stream for a lone expression (an f-string field or REPL helper):
    /// newlines are ignored and no indentation is tracked. `base` is added
    /// to every span, so spans are absolute in the enclosing source.
    pub fn expression(src: &'a str, base: usize) -> Self {
        let mut s = Self::new(src);
        s.base = base;
        s.expr_mode = true;
        s
    }

    fn err(&mut self, e: LexError) -> Option<Result<Spanned, LexError>> {
        self.done = true;
        self.pending.clear();
        Some(Err(e))
    }

    fn abs(&self, r: Range<usize>) -> Range<usize> {
        r.start + self.base..r.end + self.base
    }

    fn lex_error(&self, kind: LexErrorKind, span: Range<usize>) -> LexError {
        let b = self.base;
        match kind {
            LexErrorKind::Unrecognized => {
                let c = self.src[span.start..].chars().next().unwrap_or(' ');
                LexError::syntax(
                    format!("invalid character '{c}' (U+{:04X})", c as u32),
                    self.abs(span),
                )
            }
            LexErrorKind::InvalidCharacter(c) => LexError::syntax(
                format!("invalid character '{c}' (U+{:04X})", c as u32),
                self.abs(span),
            ),
            LexErrorKind::UnterminatedString(at) => LexError::syntax(
                format!(
                    "unterminated string literal (detected at line {})",
                    line_of(self.src, at)
                ),
                self.abs(span.start..span.start + 1),
            ),
            LexErrorKind::UnterminatedTripleString(at) => {
                let mut end = at;
                if self.src[..end].ends_with('\n') {
                    end -= 1;
                }
                LexError {
                    kind: "SyntaxError",
                    message: format!(
                        "unterminated triple-quoted string literal (detected at line {})",
                        line_of(self.src, end)
                    ),
                    span: self.abs(span.start..span.start + 1),
                    incomplete: true,
                }
            }
            LexErrorKind::BadNumber(msg, at) => LexError::syntax(msg, at + b..at + b + 1),
            LexErrorKind::BadDigit(msg, at) => LexError::syntax(msg, at + b..at + b + 1),
            LexErrorKind::Imaginary => {
                LexError::syntax("covm does not support complex numbers", self.abs(span))
            }
        }
    }

    /// Handles the indentation of the first token of a logical line, which
    /// starts at `start` (relative). Pushes Indent/Dedent tokens.
    fn indentation(&mut self, start: usize) -> Result<(), LexError> {
        let first_line = if self.src.starts_with('\u{feff}') {
            3
        } else {
            0
        };
        let line_start = self.src[..start]
            .rfind(['\n', '\r'])
            .map_or(first_line, |i| i + 1);
        let ws = &self.src[line_start..start];
        let top = self.indents.last().copied().unwrap_or("");
        if ws == top {
            return Ok(());
        }
        if ws.starts_with(top) {
            if self.indents.len() >= 100 {
                return Err(LexError {
                    kind: "IndentationError",
                    message: "too many levels of indentation".into(),
                    span: self.abs(line_start..start),
                    incomplete: false,
                });
            }
            self.indents.push(ws);
            let span = self.abs(line_start..start);
            self.pending.push_back((span.start, Tok::Indent, span.end));
            return Ok(());
        }
        if top.starts_with(ws) {
            let pos = start + self.base;
            while let Some(&t) = self.indents.last() {
                if t == ws {
                    return Ok(());
                }
                if !t.starts_with(ws) || self.indents.len() == 1 {
                    break;
                }
                self.indents.pop();
                self.pending.push_back((pos, Tok::Dedent, pos));
            }
            let eol = self.src[start..]
                .find(['\n', '\r'])
                .map_or(self.src.len(), |i| start + i);
            return Err(LexError {
                kind: "IndentationError",
                message: "unindent does not match any outer indentation level".into(),
                span: self.abs(eol..eol),
                incomplete: false,
            });
        }
        Err(LexError {
            kind: "TabError",
            message: "inconsistent use of tabs and spaces in indentation".into(),
            span: self.abs(line_start..line_start),
            incomplete: false,
        })
    }

    fn eof(&mut self) -> Option<Result<Spanned, LexError>> {
        self.done = true;
        let end = self.src.len() + self.base;
        if let Some((open, span)) = self.brackets.last() {
            let e = LexError {
                kind: "SyntaxError",
                message: format!("'{}' was never closed", *open as char),
                span: span.clone(),
                incomplete: true,
            };
            return self.err(e);
        }
        if !self.expr_mode && ends_in_continuation(&self.src[self.last_end..]) {
            let at = self.src.rfind('\\').map_or(end, |i| i + 1 + self.base);
            let e = LexError {
                kind: "SyntaxError",
                message: "unexpected EOF while parsing".into(),
                span: at..at,
                incomplete: true,
            };
            return self.err(e);
        }
        if !self.expr_mode {
            if !self.at_line_start {
                self.pending.push_back((end, Tok::Newline, end));
            }
            while self.indents.len() > 1 {
                self.indents.pop();
                self.pending.push_back((end, Tok::Dedent, end));
            }
        }
        self.pending.pop_front().map(Ok)
    }
}

/// True when `tail` (whitespace, comments and newlines after the last
/// token) ends inside a backslash continuation.
fn ends_in_continuation(tail: &str) -> bool {
    let b = tail.as_bytes();
    let mut cont = false;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'#' => {
                while i < b.len() && b[i] != b'\n' && b[i] != b'\r' {
                    i += 1;
                }
                continue;
            }
            b'\\' => {
                cont = true;
                i += 1;
                if b.get(i) == Some(&b'\r') {
                    i += 1;
                }
                if b.get(i) == Some(&b'\n') {
                    i += 1;
                }
                continue;
            }
            b'\n' | b'\r' => cont = false,
            _ => {}
        }
        i += 1;
    }
    cont
}

fn closer_for(open: u8) -> u8 {
    match open {
        b'(' => b')',
        b'[' => b']',
        _ => b'}',
    }
}

impl Iterator for TokenStream<'_> {
    type Item = Result<Spanned, LexError>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(t) = self.pending.pop_front() {
            return Some(Ok(t));
        }
        if self.done {
            return None;
        }
        loop {
            let Some(res) = self.inner.next() else {
                return self.eof();
            };
            let span = self.inner.span();
            let mut tok = match res {
                Ok(tok) => tok,
                Err(kind) => {
                    let e = self.lex_error(kind, span);
                    return self.err(e);
                }
            };
            match tok {
                Tok::Newline => {
                    if self.expr_mode || !self.brackets.is_empty() || self.at_line_start {
                        continue;
                    }
                    self.at_line_start = true;
                    let s = self.abs(span);
                    return Some(Ok((s.start, Tok::Newline, s.end)));
                }
                Tok::Backslash => {
                    let rest = &self.src[span.end..];
                    let e = if rest.is_empty() && !self.expr_mode {
                        let end = self.src.len() + self.base;
                        LexError {
                            kind: "SyntaxError",
                            message: "unexpected EOF while parsing".into(),
                            span: end..end,
                            incomplete: true,
                        }
                    } else {
                        let len = rest.chars().next().map_or(0, char::len_utf8);
                        LexError::syntax(
                            "unexpected character after line continuation character",
                            self.abs(span.end..span.end + len),
                        )
                    };
                    return self.err(e);
                }
                _ => {}
            }
            if self.at_line_start
                && !self.expr_mode
                && let Err(e) = self.indentation(span.start)
            {
                return self.err(e);
            }
            self.at_line_start = false;
            self.last_end = span.end;
            let abs = self.abs(span.clone());
            match tok {
                Tok::Lpar | Tok::Lsqb | Tok::Lbrace => {
                    if self.brackets.len() >= 200 {
                        let e = LexError::syntax("too many nested parentheses", abs);
                        return self.err(e);
                    }
                    let c = self.src.as_bytes()[span.start];
                    self.brackets.push((c, abs.clone()));
                }
                Tok::Rpar | Tok::Rsqb | Tok::Rbrace => {
                    let c = self.src.as_bytes()[span.start];
                    match self.brackets.pop() {
                        None => {
                            let e =
                                LexError::syntax(format!("unmatched '{}'", c as char), abs.clone());
                            return self.err(e);
                        }
                        Some((open, ospan)) if closer_for(open) != c => {
                            let mut msg = format!(
                                "closing parenthesis '{}' does not match opening parenthesis '{}'",
                                c as char, open as char
                            );
                            let full = self.src;
                            let oline = line_of(full, ospan.start - self.base);
                            if oline != line_of(full, span.start) {
                                msg.push_str(&format!(" on line {oline}"));
                            }
                            let e = LexError::syntax(msg, abs.clone());
                            return self.err(e);
                        }
                        Some(_) => {}
                    }
                }
                Tok::Str(ref mut s) => s.content_start += self.base,
                _ => {}
            }
            self.pending.push_back((abs.start, tok, abs.end));
            return self.pending.pop_front().map(Ok);
        }
    }
}
