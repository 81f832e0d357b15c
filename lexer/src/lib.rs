//! The covm lexer: a logos token enum ([`Tok`]), the indentation layer
//! ([`TokenStream`]) that the parser consumes, and a forgiving tokenizer for
//! REPL syntax highlighting ([`tokens`]).

mod layout;
mod token;

pub use layout::{LexError, Spanned, TokenStream, line_of};
pub use token::{LexErrorKind, StrKind, StrLit, Tok};

use logos::Logos;
use std::ops::Range;

/// Coarse token classes for syntax highlighting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenClass {
    Keyword,
    Name,
    Number,
    String,
    Comment,
    Operator,
    Other,
}

/// Tokenizes `src` for highlighting. Never fails: unrecognised text becomes
/// [`TokenClass::Other`], an unterminated string runs to the end of its line
/// (or of the input, for triple quotes). Comments are included. Whitespace
/// and newlines are not. Spans are byte ranges and do not overlap.
pub fn tokens(src: &str) -> Vec<(TokenClass, Range<usize>)> {
    let mut out: Vec<(TokenClass, Range<usize>)> = Vec::new();
    let mut offset = 0;
    'outer: while offset <= src.len() {
        let text = &src[offset..];
        let mut lex = Tok::lexer(text);
        let mut prev_end = 0;
        if offset == 0 && text.starts_with('\u{feff}') {
            lex.bump('\u{feff}'.len_utf8());
            prev_end = lex.span().end;
        }
        while let Some(res) = lex.next() {
            let span = lex.span();
            push_comments(text, prev_end..span.start, offset, &mut out);
            prev_end = span.end;
            let class = match res {
                Ok(Tok::Newline) => continue,
                Ok(tok) => classify(&tok),
                Err(LexErrorKind::UnterminatedString(at))
                | Err(LexErrorKind::UnterminatedTripleString(at)) => {
                    // The broken string runs to where it was detected;
                    // restart lexing after it.
                    let end = at.clamp(span.end, text.len());
                    out.push((TokenClass::String, offset + span.start..offset + end));
                    offset += end;
                    continue 'outer;
                }
                Err(LexErrorKind::Imaginary)
                | Err(LexErrorKind::BadNumber(..))
                | Err(LexErrorKind::BadDigit(..)) => TokenClass::Number,
                Err(_) => TokenClass::Other,
            };
            out.push((class, offset + span.start..offset + span.end));
        }
        push_comments(text, prev_end..text.len(), offset, &mut out);
        break;
    }
    out
}

fn push_comments(
    src: &str,
    gap: Range<usize>,
    offset: usize,
    out: &mut Vec<(TokenClass, Range<usize>)>,
) {
    let Some(text) = src.get(gap.clone()) else {
        return;
    };
    let mut pos = 0;
    while let Some(i) = text[pos..].find('#') {
        let start = pos + i;
        let end = text[start..]
            .find(['\n', '\r'])
            .map_or(text.len(), |j| start + j);
        out.push((
            TokenClass::Comment,
            offset + gap.start + start..offset + gap.start + end,
        ));
        pos = end;
    }
}

fn classify(tok: &Tok) -> TokenClass {
    match tok {
        t if t.is_keyword() => TokenClass::Keyword,
        Tok::Name(_) => TokenClass::Name,
        Tok::Int(_) | Tok::Float(_) => TokenClass::Number,
        Tok::Str(_) => TokenClass::String,
        Tok::Newline
        | Tok::Indent
        | Tok::Dedent
        | Tok::StartModule
        | Tok::StartExpr
        | Tok::Backslash
        | Tok::Unknown
        | Tok::PayloadStart => TokenClass::Other,
        _ => TokenClass::Operator,
    }
}

#[cfg(test)]
mod tests;
