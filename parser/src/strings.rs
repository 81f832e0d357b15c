//! String literals: escape decoding, adjacent-literal concatenation, bytes,
//! and f-strings (whose fields are parsed by re-entering the parser in
//! expression mode).

use covm_lexer::{StrKind, StrLit};

use crate::actions::{PResult, error, expr};
use crate::ast::*;

/// Builds the expression for adjacent string literals.
pub fn strings(pieces: Vec<(usize, StrLit, usize)>, l: usize, r: usize) -> PResult<Expr> {
    let bytes = pieces.iter().filter(|p| p.1.kind == StrKind::Bytes).count();
    if bytes != 0 && bytes != pieces.len() {
        return Err(error("cannot mix bytes and nonbytes literals", l..r));
    }
    if bytes != 0 {
        let mut out = Vec::new();
        for (pl, s, pr) in &pieces {
            out.extend(decode_bytes(s, *pl..*pr)?);
        }
        return Ok(expr(ExprKind::Constant(Constant::Bytes(out)), l, r));
    }
    if pieces.iter().any(|p| p.1.kind == StrKind::Format) {
        let mut parts: Vec<FPart> = Vec::new();
        for (pl, s, pr) in &pieces {
            if s.kind == StrKind::Format {
                let mut p = FParser {
                    src: &s.content,
                    base: s.content_start,
                    raw: s.raw,
                    piece: *pl..*pr,
                    pos: 0,
                };
                let fparts = p.parse_parts(0)?;
                for part in fparts {
                    push_part(&mut parts, part);
                }
            } else {
                let text = decode_str(s, *pl..*pr)?;
                push_part(&mut parts, FPart::Lit(text));
            }
        }
        return Ok(expr(ExprKind::FString(parts), l, r));
    }
    let mut out = String::new();
    for (pl, s, pr) in &pieces {
        out.push_str(&decode_str(s, *pl..*pr)?);
    }
    Ok(expr(ExprKind::Constant(Constant::Str(out)), l, r))
}

/// Appends `part`, merging adjacent literals and dropping empty ones.
fn push_part(parts: &mut Vec<FPart>, part: FPart) {
    if let FPart::Lit(s) = &part {
        if s.is_empty() {
            return;
        }
        if let Some(FPart::Lit(prev)) = parts.last_mut() {
            prev.push_str(s);
            return;
        }
    }
    parts.push(part);
}

/// CPython's tokenizer turns `\r\n` and `\r` into `\n` inside strings.
fn normalize_newlines(s: &str) -> String {
    if s.contains('\r') {
        s.replace("\r\n", "\n").replace('\r', "\n")
    } else {
        s.to_string()
    }
}

fn decode_str(s: &StrLit, span: Span) -> PResult<String> {
    let content = normalize_newlines(&s.content);
    if s.raw {
        return Ok(content);
    }
    decode_escapes(&content, span)
}

fn unicode_error(
    detail: &str,
    from: usize,
    to: usize,
    span: Span,
) -> lalrpop_util::ParseError<usize, covm_lexer::Tok, SyntaxError> {
    error(
        format!(
            "(unicode error) 'unicodeescape' codec can't decode bytes in position {from}-{to}: {detail}"
        ),
        span,
    )
}

/// The position CPython reports for byte offset `i` of a literal's text:
/// it decodes a copy where each non-ASCII character is a 10-byte
/// `\\UXXXXXXXX` escape.
fn escaped_pos(content: &str, i: usize) -> usize {
    content[..i.min(content.len())]
        .chars()
        .map(|c| if c.is_ascii() { 1 } else { 10 })
        .sum()
}

/// Decodes the escapes of a (non-raw) str literal.
pub fn decode_escapes(content: &str, span: Span) -> PResult<String> {
    if !content.contains('\\') {
        return Ok(content.to_string());
    }
    let mut out = String::with_capacity(content.len());
    let mut chars = content.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let Some((_, e)) = chars.next() else {
            out.push('\\');
            break;
        };
        match e {
            '\n' => {}
            '\\' => out.push('\\'),
            '\'' => out.push('\''),
            '"' => out.push('"'),
            'a' => out.push('\x07'),
            'b' => out.push('\x08'),
            'f' => out.push('\x0c'),
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            't' => out.push('\t'),
            'v' => out.push('\x0b'),
            '0'..='7' => {
                let mut v = e.to_digit(8).unwrap_or(0);
                for _ in 0..2 {
                    match chars.peek() {
                        Some(&(_, d)) if d.is_digit(8) => {
                            v = v * 8 + d.to_digit(8).unwrap_or(0);
                            chars.next();
                        }
                        _ => break,
                    }
                }
                out.push(char::from_u32(v).unwrap_or('\u{fffd}'));
            }
            'x' | 'u' | 'U' => {
                let n = match e {
                    'x' => 2,
                    'u' => 4,
                    _ => 8,
                };
                let mut v: u32 = 0;
                let mut last = at + 1;
                for _ in 0..n {
                    match chars.peek() {
                        Some(&(j, d)) if d.is_ascii_hexdigit() => {
                            v = v * 16 + d.to_digit(16).unwrap_or(0);
                            last = j;
                            chars.next();
                        }
                        _ => {
                            let what = match e {
                                'x' => "truncated \\xXX escape",
                                'u' => "truncated \\uXXXX escape",
                                _ => "truncated \\UXXXXXXXX escape",
                            };
                            return Err(unicode_error(what, at, last, span));
                        }
                    }
                }
                match char::from_u32(v) {
                    Some(ch) => out.push(ch),
                    None if (0xD800..0xE000).contains(&v) => {
                        return Err(error(
                            "covm does not support surrogate code points in strings",
                            span,
                        ));
                    }
                    None => {
                        return Err(unicode_error("illegal Unicode character", at, last, span));
                    }
                }
            }
            'N' => {
                // Error positions count as CPython's do (see `escaped_pos`).
                let pos = |i: usize| escaped_pos(content, i);
                if chars.peek().map(|&(_, c)| c) != Some('{') {
                    return Err(unicode_error(
                        "malformed \\N character escape",
                        pos(at),
                        pos(at) + 1,
                        span,
                    ));
                }
                let open = at + 2;
                chars.next();
                let Some(close) = content[open..].find('}').map(|i| open + i) else {
                    return Err(unicode_error(
                        "malformed \\N character escape",
                        pos(at),
                        pos(content.len()) - 1,
                        span,
                    ));
                };
                let name = &content[open + 1..close];
                if name.is_empty() {
                    return Err(unicode_error(
                        "malformed \\N character escape",
                        pos(at),
                        pos(close) - 1,
                        span,
                    ));
                }
                while chars.peek().is_some_and(|&(i, _)| i <= close) {
                    chars.next();
                }
                match unicode_names2::character(name) {
                    Some(ch) => out.push(ch),
                    None => {
                        return Err(unicode_error(
                            "unknown Unicode character name",
                            pos(at),
                            pos(close),
                            span,
                        ));
                    }
                }
            }
            other => {
                out.push('\\');
                out.push(other);
            }
        }
    }
    Ok(out)
}

fn decode_bytes(s: &StrLit, span: Span) -> PResult<Vec<u8>> {
    let content = normalize_newlines(&s.content);
    if !content.is_ascii() {
        return Err(error(
            "bytes can only contain ASCII literal characters",
            span,
        ));
    }
    let b = content.as_bytes();
    if s.raw {
        return Ok(b.to_vec());
    }
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        i += 1;
        if c != b'\\' {
            out.push(c);
            continue;
        }
        let Some(&e) = b.get(i) else {
            out.push(b'\\');
            break;
        };
        i += 1;
        match e {
            b'\n' => {}
            b'\\' => out.push(b'\\'),
            b'\'' => out.push(b'\''),
            b'"' => out.push(b'"'),
            b'a' => out.push(7),
            b'b' => out.push(8),
            b'f' => out.push(12),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'v' => out.push(11),
            b'0'..=b'7' => {
                let mut v = (e - b'0') as u32;
                for _ in 0..2 {
                    match b.get(i) {
                        Some(&d) if (b'0'..=b'7').contains(&d) => {
                            v = v * 8 + (d - b'0') as u32;
                            i += 1;
                        }
                        _ => break,
                    }
                }
                out.push((v & 0xff) as u8);
            }
            b'x' => {
                let hex = |d: u8| (d as char).to_digit(16);
                match (
                    b.get(i).and_then(|&d| hex(d)),
                    b.get(i + 1).and_then(|&d| hex(d)),
                ) {
                    (Some(h), Some(lo)) => {
                        out.push((h * 16 + lo) as u8);
                        i += 2;
                    }
                    _ => {
                        return Err(error(
                            format!("(value error) invalid \\x escape at position {}", i - 2),
                            span,
                        ));
                    }
                }
            }
            other => {
                out.push(b'\\');
                out.push(other);
            }
        }
    }
    Ok(out)
}

/// Scans the content of one f-string literal.
struct FParser<'a> {
    /// The raw content (offsets match the file; newlines are normalized
    /// only in the text produced).
    src: &'a str,
    /// Absolute offset of the content in the file.
    base: usize,
    raw: bool,
    /// Span of the whole literal, for escape errors.
    piece: Span,
    pos: usize,
}

impl FParser<'_> {
    fn at(&self, i: usize) -> Option<u8> {
        self.src.as_bytes().get(i).copied()
    }

    fn abs(&self, i: usize) -> usize {
        self.base + i
    }

    /// An error at content offset `at`, spanning the character there (the
    /// span always falls on character boundaries).
    fn err<T>(&self, msg: impl Into<String>, at: usize) -> PResult<T> {
        let mut at = at.min(self.src.len());
        while !self.src.is_char_boundary(at) {
            at -= 1;
        }
        let len = self.src[at..].chars().next().map_or(0, char::len_utf8);
        Err(error(msg, self.abs(at)..self.abs(at + len)))
    }

    fn lit(&self, text: &str) -> PResult<FPart> {
        let text = normalize_newlines(text);
        let s = if self.raw {
            text
        } else {
            decode_escapes(&text, self.piece.clone())?
        };
        Ok(FPart::Lit(s))
    }

    /// Parses literal text and fields until the end of input (level 0) or
    /// an unmatched `}` (inside a format spec, level > 0).
    fn parse_parts(&mut self, level: usize) -> PResult<Vec<FPart>> {
        let mut parts = Vec::new();
        let mut text = String::new();
        let mut seg_start = self.pos;
        while let Some(c) = self.at(self.pos) {
            match c {
                b'\\' if !self.raw => {
                    // Keep the escape (and a `\N{...}` name) in the literal.
                    let len = if self.at(self.pos + 1) == Some(b'N')
                        && self.at(self.pos + 2) == Some(b'{')
                    {
                        self.src[self.pos..].find('}').map_or(2, |i| i + 1)
                    } else {
                        1 + self.src[self.pos + 1..]
                            .chars()
                            .next()
                            .map_or(0, char::len_utf8)
                    };
                    self.pos += len;
                }
                b'{' => {
                    if level == 0 && self.at(self.pos + 1) == Some(b'{') {
                        text.push_str(&self.src[seg_start..self.pos + 1]);
                        self.pos += 2;
                        seg_start = self.pos;
                        continue;
                    }
                    text.push_str(&self.src[seg_start..self.pos]);
                    if !text.is_empty() {
                        parts.push(self.lit(&text)?);
                        text.clear();
                    }
                    self.pos += 1;
                    parts.push(self.field(level)?);
                    seg_start = self.pos;
                }
                b'}' => {
                    if level > 0 {
                        break;
                    }
                    if self.at(self.pos + 1) == Some(b'}') {
                        text.push_str(&self.src[seg_start..self.pos + 1]);
                        self.pos += 2;
                        seg_start = self.pos;
                        continue;
                    }
                    return self.err("f-string: single '}' is not allowed", self.pos);
                }
                _ => {
                    self.pos += self.src[self.pos..]
                        .chars()
                        .next()
                        .map_or(1, char::len_utf8);
                }
            }
        }
        let end = self.pos.min(self.src.len());
        text.push_str(&self.src[seg_start..end]);
        if !text.is_empty() {
            parts.push(self.lit(&text)?);
        }
        Ok(parts)
    }

    /// Parses one `{...}` field; `pos` is just after the `{`.
    fn field(&mut self, level: usize) -> PResult<FPart> {
        if level >= 2 {
            return self.err("f-string: expressions nested too deeply", self.pos - 1);
        }
        let start = self.pos;
        let mut stack: Vec<u8> = Vec::new();
        let mut i = self.pos;
        loop {
            let Some(c) = self.at(i) else {
                return self.err("f-string: expecting '}'", i.saturating_sub(1));
            };
            match c {
                b'\'' | b'"' => {
                    let triple = self.at(i + 1) == Some(c) && self.at(i + 2) == Some(c);
                    let q = if triple { 3 } else { 1 };
                    let mut j = i + q;
                    loop {
                        match self.at(j) {
                            None => return self.err("f-string: unterminated string", i),
                            Some(d) if d == c => {
                                if !triple
                                    || (self.at(j + 1) == Some(c) && self.at(j + 2) == Some(c))
                                {
                                    break;
                                }
                                j += 1;
                            }
                            Some(_) => j += 1,
                        }
                    }
                    i = j + q;
                    continue;
                }
                b'\\' => {
                    return self.err("f-string expression part cannot include a backslash", i);
                }
                b'#' => {
                    return self.err("f-string expression part cannot include '#'", i);
                }
                b'(' | b'[' | b'{' => stack.push(c),
                b')' | b']' | b'}' if !stack.is_empty() => {
                    let open = stack.pop().unwrap_or(b'(');
                    let expected = match open {
                        b'(' => b')',
                        b'[' => b']',
                        _ => b'}',
                    };
                    if c != expected {
                        return self.err(
                            format!(
                                "f-string: closing parenthesis '{}' does not match opening parenthesis '{}'",
                                c as char, open as char
                            ),
                            i,
                        );
                    }
                }
                b')' | b']' => {
                    return self.err(format!("f-string: unmatched '{}'", c as char), i);
                }
                b'}' | b':' if stack.is_empty() => break,
                b'!' | b'=' | b'<' | b'>' => {
                    if self.at(i + 1) == Some(b'=') {
                        i += 2;
                        continue;
                    }
                    if (c == b'!' || c == b'=') && stack.is_empty() {
                        break;
                    }
                }
                _ => {}
            }
            i += self.src[i..].chars().next().map_or(1, char::len_utf8);
        }
        // `i` is at the terminator: `}`, `:`, `!` or `=` (depth 0).
        let expr_text = &self.src[start..i];
        if expr_text.trim().is_empty() {
            return self.err("f-string: empty expression not allowed", i);
        }
        let expr_abs = self.abs(start);
        let e = crate::parse_field(expr_text, expr_abs)?;
        let mut debug_text = None;
        if self.at(i) == Some(b'=') {
            i += 1;
            while matches!(self.at(i), Some(b' ' | b'\t' | b'\n' | b'\x0c' | b'\r')) {
                i += 1;
            }
            debug_text = Some(normalize_newlines(&self.src[start..i]));
        }
        let mut conversion = None;
        if self.at(i) == Some(b'!') {
            match self.at(i + 1) {
                Some(c @ (b's' | b'r' | b'a')) => {
                    conversion = Some(c as char);
                    i += 2;
                }
                _ => {
                    return self.err(
                        "f-string: invalid conversion character: expected 's', 'r', or 'a'",
                        i + 1,
                    );
                }
            }
        }
        let mut spec = Vec::new();
        if self.at(i) == Some(b':') {
            self.pos = i + 1;
            spec = self.parse_parts(level + 1)?;
            i = self.pos;
        }
        if self.at(i) != Some(b'}') {
            return self.err("f-string: expecting '}'", i.min(self.src.len()));
        }
        self.pos = i + 1;
        Ok(FPart::Field {
            expr: Box::new(e),
            conversion,
            spec,
            debug_text,
        })
    }
}
