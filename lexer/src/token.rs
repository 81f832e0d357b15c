//! The logos token enum shared by the lexer and the parser.

use logos::{Lexer, Logos};

/// What kind of string literal a [`StrLit`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum StrKind {
    /// A plain (unicode) string: no prefix, `u`, or `r`.
    #[default]
    Str,
    /// A bytes literal: `b`/`br` prefix.
    Bytes,
    /// An f-string: `f`/`fr` prefix.
    Format,
}

/// A string literal as written in the source. The content is *not* decoded;
/// the parser decodes escapes (or splits f-string fields) later.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StrLit {
    pub kind: StrKind,
    /// `r` prefix: backslashes are literal.
    pub raw: bool,
    /// `'''` or `"""`.
    pub triple: bool,
    /// The raw text between the quotes.
    pub content: String,
    /// Absolute byte offset of `content` in the source.
    pub content_start: usize,
}

/// Why the raw logos lexer failed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum LexErrorKind {
    /// No rule matched (a character that cannot start a token).
    #[default]
    Unrecognized,
    /// A non-ASCII character that cannot start an identifier.
    InvalidCharacter(char),
    /// A single-quoted string without its closing quote; the payload is the
    /// byte offset (relative to the lexer input) where this was detected.
    UnterminatedString(usize),
    /// A triple-quoted string without its closing quotes.
    UnterminatedTripleString(usize),
    /// A malformed number: the message and the byte offset (relative to the
    /// lexer input) CPython points at.
    BadNumber(&'static str, usize),
    /// `1j` and friends.
    Imaginary,
    /// A bad digit in a binary/octal literal: message and offset.
    BadDigit(String, usize),
}

/// Tokens. Variants without a logos attribute are produced by the
/// indentation layer ([`crate::TokenStream`]) or by the parser driver.
#[derive(Logos, Debug, Clone, PartialEq)]
#[logos(error = LexErrorKind)]
#[logos(skip r"[ \t\x0c]+")]
#[logos(skip(r"#[^\r\n]*", allow_greedy = true))]
#[logos(skip r"\\\r?\n")]
pub enum Tok {
    // ---- layout ----
    #[regex(r"\r?\n|\r")]
    Newline,
    Indent,
    Dedent,
    /// Marker prepended by the parser driver to parse a module.
    StartModule,
    /// Marker prepended by the parser driver to parse an expression.
    StartExpr,
    /// A backslash not followed by a newline.
    #[token("\\")]
    Backslash,
    /// An ASCII character that is not part of any token (`$`, `?`, `!`...).
    #[regex(r"[$?!`]")]
    Unknown,

    // ---- payload tokens ----
    Name(String),
    /// An integer literal as decimal digits.
    Int(String),
    Float(f64),
    Str(StrLit),

    #[regex(r"[a-zA-Z_][a-zA-Z0-9_]*", lex_ident)]
    #[regex(r"[^\x00-\x7F]", lex_non_ascii)]
    #[regex(r"[0-9]", lex_number)]
    #[regex(r"\.[0-9]", lex_number)]
    #[regex(r#"([rRuUbBfF]|[rR][bBfF]|[bBfF][rR])?["']"#, lex_string)]
    PayloadStart,

    // ---- keywords ----
    #[token("False")]
    False,
    #[token("None")]
    None,
    #[token("True")]
    True,
    #[token("and")]
    And,
    #[token("as")]
    As,
    #[token("assert")]
    Assert,
    #[token("async")]
    Async,
    #[token("await")]
    Await,
    #[token("break")]
    Break,
    #[token("class")]
    Class,
    #[token("continue")]
    Continue,
    #[token("def")]
    Def,
    #[token("del")]
    Del,
    #[token("elif")]
    Elif,
    #[token("else")]
    Else,
    #[token("except")]
    Except,
    #[token("finally")]
    Finally,
    #[token("for")]
    For,
    #[token("from")]
    From,
    #[token("global")]
    Global,
    #[token("if")]
    If,
    #[token("import")]
    Import,
    #[token("in")]
    In,
    #[token("is")]
    Is,
    #[token("lambda")]
    Lambda,
    #[token("nonlocal")]
    Nonlocal,
    #[token("not")]
    Not,
    #[token("or")]
    Or,
    #[token("pass")]
    Pass,
    #[token("raise")]
    Raise,
    #[token("return")]
    Return,
    #[token("try")]
    Try,
    #[token("while")]
    While,
    #[token("with")]
    With,
    #[token("yield")]
    Yield,

    // ---- operators and delimiters ----
    #[token("+")]
    Plus,
    #[token("-")]
    Minus,
    #[token("*")]
    Star,
    #[token("**")]
    DoubleStar,
    #[token("/")]
    Slash,
    #[token("//")]
    DoubleSlash,
    #[token("%")]
    Percent,
    #[token("@")]
    At,
    #[token("<<")]
    LShift,
    #[token(">>")]
    RShift,
    #[token("&")]
    Amper,
    #[token("|")]
    Vbar,
    #[token("^")]
    Circumflex,
    #[token("~")]
    Tilde,
    #[token(":=")]
    ColonEqual,
    #[token("<")]
    Less,
    #[token(">")]
    Greater,
    #[token("<=")]
    LessEqual,
    #[token(">=")]
    GreaterEqual,
    #[token("==")]
    EqEqual,
    #[token("!=")]
    NotEqual,
    #[token("(")]
    Lpar,
    #[token(")")]
    Rpar,
    #[token("[")]
    Lsqb,
    #[token("]")]
    Rsqb,
    #[token("{")]
    Lbrace,
    #[token("}")]
    Rbrace,
    #[token(",")]
    Comma,
    #[token(":")]
    Colon,
    #[token(".")]
    Dot,
    #[token("...")]
    Ellipsis,
    #[token(";")]
    Semi,
    #[token("=")]
    Equal,
    #[token("->")]
    Rarrow,
    #[token("+=")]
    PlusEqual,
    #[token("-=")]
    MinusEqual,
    #[token("*=")]
    StarEqual,
    #[token("/=")]
    SlashEqual,
    #[token("//=")]
    DoubleSlashEqual,
    #[token("%=")]
    PercentEqual,
    #[token("@=")]
    AtEqual,
    #[token("&=")]
    AmperEqual,
    #[token("|=")]
    VbarEqual,
    #[token("^=")]
    CircumflexEqual,
    #[token(">>=")]
    RShiftEqual,
    #[token("<<=")]
    LShiftEqual,
    #[token("**=")]
    DoubleStarEqual,
}

impl Tok {
    /// True for the reserved words.
    pub fn is_keyword(&self) -> bool {
        use Tok::*;
        matches!(
            self,
            False
                | None
                | True
                | And
                | As
                | Assert
                | Async
                | Await
                | Break
                | Class
                | Continue
                | Def
                | Del
                | Elif
                | Else
                | Except
                | Finally
                | For
                | From
                | Global
                | If
                | Import
                | In
                | Is
                | Lambda
                | Nonlocal
                | Not
                | Or
                | Pass
                | Raise
                | Return
                | Try
                | While
                | With
                | Yield
        )
    }
}

fn is_ident_continue(c: char) -> bool {
    if c.is_ascii() {
        c == '_' || c.is_ascii_alphanumeric()
    } else {
        unicode_ident::is_xid_continue(c)
    }
}

/// Length in bytes of the identifier characters at the start of `s`.
fn ident_len(s: &str) -> usize {
    s.char_indices()
        .find(|&(_, c)| !is_ident_continue(c))
        .map_or(s.len(), |(i, _)| i)
}

fn lex_ident(lex: &mut Lexer<Tok>) -> Tok {
    // Extend over non-ASCII identifier characters.
    let extra = ident_len(lex.remainder());
    lex.bump(extra);
    Tok::Name(lex.slice().to_string())
}

fn lex_non_ascii(lex: &mut Lexer<Tok>) -> Result<Tok, LexErrorKind> {
    let c = lex.slice().chars().next().unwrap_or('\u{fffd}');
    if unicode_ident::is_xid_start(c) {
        let extra = ident_len(lex.remainder());
        lex.bump(extra);
        Ok(Tok::Name(lex.slice().to_string()))
    } else {
        Err(LexErrorKind::InvalidCharacter(c))
    }
}

/// Keywords that may directly follow a number (`1if x else y`).
const NUMBER_SUFFIX_KEYWORDS: [&str; 8] = ["and", "else", "for", "if", "in", "is", "not", "or"];

/// Checks what follows a number: an identifier character is an error unless
/// it starts one of [`NUMBER_SUFFIX_KEYWORDS`].
fn number_end_ok(rest: &str) -> bool {
    match rest.chars().next() {
        Some(c) if is_ident_continue(c) => {
            NUMBER_SUFFIX_KEYWORDS.iter().any(|k| rest.starts_with(k))
        }
        _ => true,
    }
}

/// Converts digits in `base` (already validated, no underscores) to decimal.
fn to_decimal(digits: &str, base: u32) -> String {
    // Little-endian limbs in base 10^9.
    const LIMB: u64 = 1_000_000_000;
    let mut limbs: Vec<u64> = vec![0];
    for c in digits.chars() {
        let d = c.to_digit(base).unwrap_or(0) as u64;
        let mut carry = d;
        for limb in limbs.iter_mut() {
            let v = *limb * base as u64 + carry;
            *limb = v % LIMB;
            carry = v / LIMB;
        }
        while carry > 0 {
            limbs.push(carry % LIMB);
            carry /= LIMB;
        }
    }
    let mut out = String::new();
    for (i, limb) in limbs.iter().rev().enumerate() {
        if i == 0 {
            out.push_str(&limb.to_string());
        } else {
            out.push_str(&format!("{limb:09}"));
        }
    }
    out
}

fn lex_number(lex: &mut Lexer<Tok>) -> Result<Tok, LexErrorKind> {
    let start = lex.span().start;
    let src = lex.source();
    let bytes = src.as_bytes();
    let at = |i: usize| -> u8 { bytes.get(i).copied().unwrap_or(0) };
    let mut i = start;

    // Prefixed integers.
    if at(i) == b'0' && matches!(at(i + 1), b'x' | b'X' | b'o' | b'O' | b'b' | b'B') {
        let (base, name) = match at(i + 1) {
            b'x' | b'X' => (16, "hexadecimal"),
            b'o' | b'O' => (8, "octal"),
            _ => (2, "binary"),
        };
        i += 2;
        let mut digits = String::new();
        loop {
            let c = at(i);
            if c == b'_' {
                i += 1;
            }
            let c = at(i) as char;
            if c.is_digit(base) {
                while (at(i) as char).is_digit(base) {
                    digits.push(at(i) as char);
                    i += 1;
                }
                if at(i) != b'_' {
                    break;
                }
            } else {
                // Invalid digit or missing digits.
                if c.is_ascii_digit() {
                    let msg = format!("invalid digit '{c}' in {name} literal");
                    return Err(LexErrorKind::BadDigit(msg, i));
                }
                let msg: &'static str = match base {
                    16 => "invalid hexadecimal literal",
                    8 => "invalid octal literal",
                    _ => "invalid binary literal",
                };
                return Err(LexErrorKind::BadNumber(msg, i - 1));
            }
        }
        let c = at(i) as char;
        if c.is_ascii_digit() {
            let msg = format!("invalid digit '{c}' in {name} literal");
            return Err(LexErrorKind::BadDigit(msg, i));
        }
        if !number_end_ok(&src[i..]) {
            let msg: &'static str = match base {
                16 => "invalid hexadecimal literal",
                8 => "invalid octal literal",
                _ => "invalid binary literal",
            };
            return Err(LexErrorKind::BadNumber(msg, i - 1));
        }
        lex.bump(i - lex.span().end);
        let digits = digits.trim_start_matches('0');
        let dec = if digits.is_empty() {
            "0".to_string()
        } else {
            to_decimal(digits, base)
        };
        return Ok(Tok::Int(dec));
    }

    // Decimal digits with single underscores between them. Returns false on
    // a misplaced underscore.
    fn digits(bytes: &[u8], i: &mut usize) -> Result<(), usize> {
        let at = |i: usize| -> u8 { bytes.get(i).copied().unwrap_or(0) };
        while at(*i).is_ascii_digit() {
            *i += 1;
            if at(*i) == b'_' {
                if at(*i + 1).is_ascii_digit() {
                    *i += 1;
                } else {
                    return Err(*i);
                }
            }
        }
        Ok(())
    }

    let mut is_float = false;
    let int_start = i;
    if at(i) != b'.'
        && let Err(pos) = digits(bytes, &mut i)
    {
        return Err(LexErrorKind::BadNumber("invalid decimal literal", pos));
    }
    let int_end = i;
    if at(i) == b'.' {
        is_float = true;
        i += 1;
        if let Err(pos) = digits(bytes, &mut i) {
            return Err(LexErrorKind::BadNumber("invalid decimal literal", pos));
        }
    }
    if matches!(at(i), b'e' | b'E') {
        let mut j = i + 1;
        if matches!(at(j), b'+' | b'-') {
            j += 1;
        }
        if at(j).is_ascii_digit() {
            is_float = true;
            i = j;
            if let Err(pos) = digits(bytes, &mut i) {
                return Err(LexErrorKind::BadNumber("invalid decimal literal", pos));
            }
        } else {
            let at = if j == i + 1 { i - 1 } else { j - 1 };
            return Err(LexErrorKind::BadNumber("invalid decimal literal", at));
        }
    }
    if matches!(at(i), b'j' | b'J') {
        return Err(LexErrorKind::Imaginary);
    }
    if !number_end_ok(&src[i..]) {
        return Err(LexErrorKind::BadNumber("invalid decimal literal", i - 1));
    }
    lex.bump(i - lex.span().end);
    let text: String = src[start..i].chars().filter(|&c| c != '_').collect();
    if is_float {
        let v: f64 = text.parse().unwrap_or(f64::NAN);
        Ok(Tok::Float(v))
    } else {
        let int_text = &src[int_start..int_end];
        let trimmed = text.trim_start_matches('0');
        if trimmed.is_empty() {
            return Ok(Tok::Int("0".to_string()));
        }
        if int_text.starts_with('0') {
            return Err(LexErrorKind::BadNumber(
                "leading zeros in decimal integer literals are not permitted; use an 0o prefix for octal integers",
                start,
            ));
        }
        Ok(Tok::Int(trimmed.to_string()))
    }
}

fn lex_string(lex: &mut Lexer<Tok>) -> Result<Tok, LexErrorKind> {
    let slice = lex.slice();
    let quote = slice.as_bytes()[slice.len() - 1];
    let prefix = &slice[..slice.len() - 1];
    let lower = prefix.to_ascii_lowercase();
    let kind = if lower.contains('b') {
        StrKind::Bytes
    } else if lower.contains('f') {
        StrKind::Format
    } else {
        StrKind::Str
    };
    let raw = lower.contains('r');
    let rest = lex.remainder().as_bytes();
    let triple = rest.len() >= 2 && rest[0] == quote && rest[1] == quote;
    let open_len = if triple { 2 } else { 0 };
    let content_start = lex.span().end + open_len;
    let mut i = open_len;
    loop {
        let Some(&c) = rest.get(i) else {
            let at = lex.span().end + rest.len();
            return Err(if triple {
                LexErrorKind::UnterminatedTripleString(at)
            } else {
                LexErrorKind::UnterminatedString(at)
            });
        };
        if c == b'\\' {
            i += 2;
            if rest.get(i - 1) == Some(&b'\r') && rest.get(i) == Some(&b'\n') {
                i += 1;
            }
            continue;
        }
        if !triple && (c == b'\n' || c == b'\r') {
            let at = lex.span().end + i;
            return Err(LexErrorKind::UnterminatedString(at));
        }
        if c == quote {
            if !triple {
                let content = lex.remainder()[..i].to_string();
                lex.bump(i + 1);
                return Ok(Tok::Str(StrLit {
                    kind,
                    raw,
                    triple,
                    content,
                    content_start,
                }));
            }
            if rest.get(i + 1) == Some(&quote) && rest.get(i + 2) == Some(&quote) {
                let content = lex.remainder()[open_len..i].to_string();
                lex.bump(i + 3);
                return Ok(Tok::Str(StrLit {
                    kind,
                    raw,
                    triple,
                    content,
                    content_start,
                }));
            }
        }
        i += 1;
    }
}
