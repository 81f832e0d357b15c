//! The covm parser: a lalrpop grammar over the `covm-lexer` token stream,
//! producing the AST in [`ast`]. Syntax errors carry CPython's wording.

pub mod ast;

mod actions;
mod errors;
mod strings;

lalrpop_util::lalrpop_mod!(
    #[allow(clippy::all, clippy::pedantic, unused, unused_qualifications)]
    grammar
);

pub use ast::*;

use actions::{PResult, Top};
use covm_lexer::{Tok, TokenStream};

/// What a parse run is for.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Mode {
    Module,
    Expression,
    /// An f-string field: errors get the `f-string: ` prefix.
    Field,
}

fn run(src: &str, base: usize, mode: Mode) -> Result<Top, SyntaxError> {
    let stream = match mode {
        Mode::Module => TokenStream::new(src),
        Mode::Expression | Mode::Field => TokenStream::expression(src, base),
    };
    let marker = if mode == Mode::Module {
        Tok::StartModule
    } else {
        Tok::StartExpr
    };
    let tokens = std::iter::once(Ok((base, marker, base))).chain(stream.map(|r| {
        r.map_err(|e| SyntaxError {
            kind: e.kind,
            message: e.message,
            span: e.span,
            note: None,
            incomplete: e.incomplete,
        })
    }));
    let result = grammar::TopParser::new().parse(tokens);
    let top = result.map_err(|e| errors::convert(e, src, base, mode))?;
    errors::check_depth(&top)?;
    Ok(top)
}

impl std::fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.kind, self.message)
    }
}

impl std::error::Error for SyntaxError {}

impl SyntaxError {
    /// The 1-based line and column (in characters) where the error starts,
    /// given the source it came from.
    pub fn line_col(&self, src: &str) -> (usize, usize) {
        let mut pos = self.span.start.min(src.len());
        while !src.is_char_boundary(pos) {
            pos -= 1;
        }
        let line_start = src[..pos].rfind('\n').map_or(0, |i| i + 1);
        (
            covm_lexer::line_of(src, pos),
            src[line_start..pos].chars().count() + 1,
        )
    }
}

/// Parse a whole module (file or REPL input).
pub fn parse_module(src: &str) -> Result<Vec<Stmt>, SyntaxError> {
    // CPython refuses the whole source before tokenizing it.
    if let Some(at) = src.find('\0') {
        return Err(SyntaxError {
            kind: "SyntaxError",
            message: "source code cannot contain null bytes".into(),
            span: at..at + 1,
            note: None,
            incomplete: false,
        });
    }
    match run(src, 0, Mode::Module)? {
        Top::Module(m) => Ok(m),
        Top::Expr(e) => Err(errors::internal(e.span)),
    }
}

/// Parse a single expression (used for REPL helpers); same errors.
pub fn parse_expression(src: &str) -> Result<Expr, SyntaxError> {
    match run(src, 0, Mode::Expression)? {
        Top::Expr(e) => Ok(e),
        Top::Module(_) => Err(errors::internal(0..0)),
    }
}

/// Parses an f-string field expression whose text starts at absolute offset
/// `base`.
pub(crate) fn parse_field(text: &str, base: usize) -> PResult<Expr> {
    match run(text, base, Mode::Field) {
        Ok(Top::Expr(e)) => Ok(e),
        Ok(Top::Module(_)) => Err(lalrpop_util::ParseError::User {
            error: errors::internal(base..base),
        }),
        Err(mut error) => {
            if !error.message.starts_with("f-string") {
                error.message = format!("f-string: {}", error.message);
            }
            error.incomplete = false;
            Err(lalrpop_util::ParseError::User { error })
        }
    }
}

#[cfg(test)]
mod tests;
