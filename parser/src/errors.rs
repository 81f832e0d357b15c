//! Turning lalrpop parse errors into CPython-worded [`SyntaxError`]s, and the
//! nesting-depth check.

use covm_lexer::{Spanned, Tok, TokenStream, line_of};
use lalrpop_util::ParseError;

use crate::Mode;
use crate::actions::Top;
use crate::ast::*;

/// Statements and expressions nested deeper than this are refused as
/// CPython 3.11's compiler refuses them: it fails once a program's
/// statement and expression levels together pass 3000 (3 x the default
/// recursion limit); covm's count starts one lower.
pub const MAX_DEPTH: usize = 2999;

pub fn internal(span: Span) -> SyntaxError {
    SyntaxError {
        kind: "SyntaxError",
        message: "invalid syntax".into(),
        span,
        note: Some("internal parser error".into()),
        incomplete: false,
    }
}

fn syntax(message: impl Into<String>, span: Span) -> SyntaxError {
    SyntaxError {
        kind: "SyntaxError",
        message: message.into(),
        span,
        note: None,
        incomplete: false,
    }
}

/// Re-lexes the input and returns the tokens before the failing token (all
/// tokens when `stop` is `None`).
fn history(src: &str, base: usize, mode: Mode, stop: Option<&Spanned>) -> Vec<Spanned> {
    let stream = match mode {
        Mode::Module => TokenStream::new(src),
        _ => TokenStream::expression(src, base),
    };
    let mut out = Vec::new();
    for t in stream {
        let Ok(t) = t else { break };
        if let Some(s) = stop {
            if t.0 == s.0 && t.2 == s.2 && t.1 == s.1 {
                break;
            }
            if t.0 > s.0 {
                break;
            }
        }
        out.push(t);
    }
    out
}

/// Index in `hist` of the first token of the logical line that ends
/// `hist`.
fn line_start(hist: &[Spanned]) -> usize {
    hist.iter()
        .rposition(|t| matches!(t.1, Tok::Newline | Tok::Indent | Tok::Dedent))
        .map_or(0, |i| i + 1)
}

fn quote(expected: &[String], what: &str) -> bool {
    expected.iter().any(|e| e == what)
}

/// The CPython description of the block statement starting at `hist[i]`.
fn block_kind(hist: &[Spanned], i: usize) -> Option<(&'static str, usize)> {
    let mut t = hist.get(i)?;
    if t.1 == Tok::Async {
        t = hist.get(i + 1)?;
    }
    let what = match t.1 {
        Tok::If => "'if' statement",
        Tok::Elif => "'elif' statement",
        Tok::Else => "'else' statement",
        Tok::While => "'while' statement",
        Tok::For => "'for' statement",
        Tok::With => "'with' statement",
        Tok::Try => "'try' statement",
        Tok::Except => "'except' statement",
        Tok::Finally => "'finally' statement",
        Tok::Def => "function definition",
        Tok::Class => "class definition",
        _ => return None,
    };
    Some((what, t.0))
}

fn starts_expression(t: &Tok) -> bool {
    matches!(
        t,
        Tok::Name(_)
            | Tok::Int(_)
            | Tok::Float(_)
            | Tok::Str(_)
            | Tok::Lpar
            | Tok::Lsqb
            | Tok::Lbrace
            | Tok::True
            | Tok::False
            | Tok::None
            | Tok::Ellipsis
            | Tok::Not
            | Tok::Lambda
            | Tok::Tilde
            | Tok::Await
    )
}

fn ends_expression(t: &Tok) -> bool {
    matches!(
        t,
        Tok::Name(_)
            | Tok::Int(_)
            | Tok::Float(_)
            | Tok::Str(_)
            | Tok::Rpar
            | Tok::Rsqb
            | Tok::Rbrace
            | Tok::True
            | Tok::False
            | Tok::None
            | Tok::Ellipsis
    )
}

/// The index in `hist` of the innermost bracket still open at its end.
fn innermost_open(hist: &[Spanned]) -> Option<usize> {
    let mut stack = Vec::new();
    for (i, t) in hist.iter().enumerate() {
        match t.1 {
            Tok::Lpar | Tok::Lsqb | Tok::Lbrace => stack.push(i),
            Tok::Rpar | Tok::Rsqb | Tok::Rbrace => {
                stack.pop();
            }
            _ => {}
        }
    }
    stack.pop()
}

/// True when `hist` ends inside a `{...}` that already holds a `key:`, so
/// it is a dict display.
fn in_dict(hist: &[Spanned]) -> bool {
    let Some(open) = innermost_open(hist) else {
        return false;
    };
    if hist[open].1 != Tok::Lbrace {
        return false;
    }
    let mut depth = 0;
    for t in &hist[open + 1..] {
        match t.1 {
            Tok::Lpar | Tok::Lsqb | Tok::Lbrace => depth += 1,
            Tok::Rpar | Tok::Rsqb | Tok::Rbrace => depth -= 1,
            Tok::Colon if depth == 0 => return true,
            _ => {}
        }
    }
    false
}

/// The tokens inside `( ... )` when `a` is a parenthesised expression that
/// is neither a tuple nor a generator expression.
fn unparenthesised(a: &[Spanned]) -> Option<&[Spanned]> {
    if a.len() < 3 || a[0].1 != Tok::Lpar || a[a.len() - 1].1 != Tok::Rpar {
        return None;
    }
    let inner = &a[1..a.len() - 1];
    let mut depth = 0;
    for t in inner {
        match t.1 {
            Tok::Lpar | Tok::Lsqb | Tok::Lbrace => depth += 1,
            Tok::Rpar | Tok::Rsqb | Tok::Rbrace => {
                depth -= 1;
                if depth < 0 {
                    return None;
                }
            }
            Tok::Comma | Tok::For if depth == 0 => return None,
            _ => {}
        }
    }
    Some(inner)
}

/// When `hist` ends inside the argument list of a call (or a class's
/// bases), the index of the first token of the argument being parsed.
fn call_argument_start(hist: &[Spanned]) -> Option<usize> {
    let open = innermost_open(hist)?;
    if hist[open].1 != Tok::Lpar || open == 0 || !ends_expression(&hist[open - 1].1) {
        return None;
    }
    if open >= 2 && hist[open - 2].1 == Tok::Def {
        return None;
    }
    let mut depth = 0;
    let mut start = open + 1;
    for (i, t) in hist.iter().enumerate().skip(open + 1) {
        match t.1 {
            Tok::Lpar | Tok::Lsqb | Tok::Lbrace => depth += 1,
            Tok::Rpar | Tok::Rsqb | Tok::Rbrace => depth -= 1,
            Tok::Comma if depth == 0 => start = i + 1,
            _ => {}
        }
    }
    (start < hist.len()).then_some(start)
}

fn bracket_depth(hist: &[Spanned]) -> i64 {
    hist.iter().fold(0, |d, t| match t.1 {
        Tok::Lpar | Tok::Lsqb | Tok::Lbrace => d + 1,
        Tok::Rpar | Tok::Rsqb | Tok::Rbrace => d - 1,
        _ => d,
    })
}

/// Converts a lalrpop error into a SyntaxError worded as CPython's.
pub fn convert(
    err: ParseError<usize, Tok, SyntaxError>,
    src: &str,
    base: usize,
    mode: Mode,
) -> SyntaxError {
    let err_pos = match &err {
        ParseError::User { error } => error.span.start,
        ParseError::InvalidToken { location } | ParseError::UnrecognizedEof { location, .. } => {
            *location
        }
        ParseError::ExtraToken { token } | ParseError::UnrecognizedToken { token, .. } => token.0,
    };
    let e = match err {
        ParseError::User { error } => error,
        ParseError::InvalidToken { location } => syntax("invalid syntax", location..location),
        ParseError::ExtraToken { token } => syntax("invalid syntax", token.0..token.2),
        ParseError::UnrecognizedEof { location, expected } => {
            let hist = history(src, base, mode, None);
            let mut e = unrecognized(src, base, mode, &hist, None, location, &expected);
            e.incomplete = mode != Mode::Field;
            e
        }
        ParseError::UnrecognizedToken { token, expected } => {
            let hist = history(src, base, mode, Some(&token));
            unrecognized(src, base, mode, &hist, Some(&token), token.0, &expected)
        }
    };
    if mode == Mode::Field {
        return e;
    }
    tokenizer_priority(e, err_pos, src, base, mode)
}

/// Like CPython, after a parser error tokenize the rest of the input: a
/// tokenizer error found there wins (an unclosed bracket only when it was
/// opened on an earlier line than the parser error).
fn tokenizer_priority(
    e: SyntaxError,
    err_pos: usize,
    src: &str,
    base: usize,
    mode: Mode,
) -> SyntaxError {
    let stream = match mode {
        Mode::Module => TokenStream::new(src),
        _ => TokenStream::expression(src, base),
    };
    let Some(Err(lex)) = stream.into_iter().find(Result::is_err) else {
        return e;
    };
    let line = |pos: usize| line_of(src, pos.saturating_sub(base));
    if lex.message.ends_with("was never closed") && line(err_pos) <= line(lex.span.start) {
        return e;
    }
    SyntaxError {
        kind: lex.kind,
        message: lex.message,
        span: lex.span,
        note: None,
        incomplete: lex.incomplete,
    }
}

fn unrecognized(
    src: &str,
    base: usize,
    mode: Mode,
    hist: &[Spanned],
    token: Option<&Spanned>,
    location: usize,
    expected: &[String],
) -> SyntaxError {
    let span = token.map_or(location..location, |t| t.0..t.2);
    let tok = token.map(|t| &t.1);
    let line = |pos: usize| line_of(src, pos.saturating_sub(base));

    if tok == Some(&Tok::Indent) {
        // CPython points at the last character of the indentation.
        let at = span.end.saturating_sub(1).max(span.start);
        let mut e = syntax("unexpected indent", at..span.end);
        e.kind = "IndentationError";
        return e;
    }
    if quote(expected, "\"except\"") && quote(expected, "\"finally\"") {
        return syntax("expected 'except' or 'finally' block", span);
    }
    if quote(expected, "Indent") {
        // After `header:` NEWLINE. Find the header's first token.
        let before = &hist[..hist.len().saturating_sub(1)];
        let i = line_start(before);
        let (what, at) = block_kind(before, i).unwrap_or(("statement", span.start));
        // At EOF, CPython points at the end of the last line's text (the
        // header line, or the last blank or comment line after it).
        let at_eof = token.is_none_or(|t| t.1 == Tok::Dedent && t.0 == src.len() + base);
        let span = if at_eof {
            let text = src.strip_suffix('\n').unwrap_or(src);
            let end = base + text.strip_suffix('\r').unwrap_or(text).len();
            end..end
        } else {
            span
        };
        let mut e = syntax(
            format!(
                "expected an indented block after {what} on line {}",
                line(at)
            ),
            span,
        );
        e.kind = "IndentationError";
        e.incomplete = at_eof && mode != Mode::Field;
        return e;
    }
    if tok == Some(&Tok::Dedent) {
        let mut e = syntax("unexpected unindent", span);
        e.kind = "IndentationError";
        return e;
    }

    let start = line_start(hist);
    let first = hist.get(start).map(|t| &t.1);
    let prev = hist.last();

    if tok == Some(&Tok::Newline) || (tok.is_none() && mode == Mode::Module) {
        if quote(expected, "\":\"") && block_kind(hist, start).is_some() {
            let at = prev.map_or(span.start, |p| p.2);
            return syntax("expected ':'", at..at);
        }
        if first == Some(&Tok::From) && prev.is_some_and(|p| p.1 == Tok::Comma) {
            return syntax(
                "trailing comma not allowed without surrounding parentheses",
                span.start..span.start,
            );
        }
    }
    if quote(expected, "\"else\"")
        && !quote(expected, "name")
        && let Some(i) = hist.iter().rposition(|t| t.1 == Tok::If)
    {
        let end = prev.map_or(span.start, |p| p.2);
        return syntax("expected 'else' after 'if' expression", hist[i].0..end);
    }
    let Some(tok) = tok else {
        return syntax("invalid syntax", span);
    };
    if let (Some(Tok::Name(n)), true) = (first, hist.len() == start + 1)
        && n == "match"
        && starts_expression(tok)
    {
        return syntax(
            "covm does not support match statements",
            hist[start].0..span.end,
        );
    }

    if *tok == Tok::Star && prev.is_some_and(|p| p.1 == Tok::Except) {
        return syntax(
            "covm does not support except* (exception groups)",
            prev.map_or(span.start, |p| p.0)..span.end,
        );
    }
    if *tok == Tok::Comma && first == Some(&Tok::Except) && bracket_depth(&hist[start..]) == 0 {
        let s = hist.get(start + 1).map_or(span.start, |t| t.0);
        return syntax(
            "multiple exception types must be parenthesized",
            s..span.start,
        );
    }
    // `def f:`
    if *tok != Tok::Lpar
        && prev.is_some_and(|p| matches!(p.1, Tok::Name(_)))
        && hist.len() >= 2
        && hist[hist.len() - 2].1 == Tok::Def
    {
        return syntax("expected '('", span);
    }
    // `{1: 2, 3}`
    let in_braces = innermost_open(hist).is_some_and(|i| hist[i].1 == Tok::Lbrace);
    if quote(expected, "\":\"")
        && in_braces
        && (matches!(tok, Tok::Comma | Tok::Rbrace) || (starts_expression(tok) && in_dict(hist)))
    {
        let p = prev.map_or(span.clone(), |p| p.0..p.2);
        return syntax("':' expected after dictionary key", p);
    }
    // `with (a as b):`
    if *tok == Tok::As {
        let mut i = start;
        if hist.get(i).map(|t| &t.1) == Some(&Tok::Async) {
            i += 1;
        }
        if hist.get(i).map(|t| &t.1) == Some(&Tok::With)
            && hist.get(i + 1).map(|t| &t.1) == Some(&Tok::Lpar)
        {
            let open = hist[i + 1].0;
            return syntax(
                "covm does not support parenthesised with-items",
                open..span.end,
            );
        }
    }
    // `print x`
    if let (Some(Tok::Name(n)), true) = (first, hist.len() == start + 1)
        && n == "print"
        && starts_expression(tok)
        && *tok != Tok::Lpar
    {
        let s = hist[start].0;
        let eol = src[span.start.saturating_sub(base).min(src.len())..]
            .find(['\n', '\r'])
            .map_or(src.len() + base, |i| span.start + i);
        return syntax(
            "Missing parentheses in call to 'print'. Did you mean print(...)?",
            s..eol.max(span.end),
        );
    }
    // f-string fields are parsed as if parenthesised.
    let depth = bracket_depth(hist) + i64::from(mode == Mode::Field);
    if *tok == Tok::Equal && depth == 0 && first == Some(&Tok::Yield) {
        let s = hist[start].0;
        return syntax("assignment to yield expression not possible", s..span.start);
    }
    if *tok == Tok::Colon
        && depth == 0
        && block_kind(hist, start).is_none()
        && first != Some(&Tok::Lambda)
        && hist[start..].iter().any(|t| t.1 == Tok::Comma)
        && bracket_depth(&hist[start..]) == 0
    {
        let s = hist[start].0;
        return syntax(
            "only single target (not tuple) can be annotated",
            s..span.start,
        );
    }
    // `f(a + 1=2)`: a keyword argument whose "name" is an expression.
    if *tok == Tok::Equal
        && let Some(arg) = call_argument_start(hist)
    {
        let a = &hist[arg..];
        match &a[0].1 {
            Tok::Star | Tok::DoubleStar => return syntax("invalid syntax", span),
            Tok::Yield => return syntax("invalid syntax", a[0].0..span.end),
            // `f(await=1)`: `await` is a keyword wanting an operand, not a name.
            Tok::Await if a.len() == 1 => return syntax("invalid syntax", span),
            Tok::True | Tok::False | Tok::None if a.len() == 1 => {
                let what = match a[0].1 {
                    Tok::True => "True",
                    Tok::False => "False",
                    _ => "None",
                };
                return syntax(format!("cannot assign to {what}"), a[0].0..span.end);
            }
            _ => {}
        }
        let kwarg = matches!(
            a,
            [(_, Tok::Name(_), _)] | [(_, Tok::Name(_), _), (_, Tok::Equal, _), ..]
        );
        let mut depth = 0;
        let plain = a.iter().all(|t| {
            match t.1 {
                Tok::Lpar | Tok::Lsqb | Tok::Lbrace => depth += 1,
                Tok::Rpar | Tok::Rsqb | Tok::Rbrace => depth -= 1,
                _ => {}
            }
            depth > 0 || !matches!(t.1, Tok::For | Tok::ColonEqual)
        });
        if kwarg || !plain {
            return syntax("invalid syntax", span);
        }
        // CPython's expression starts inside redundant parentheses.
        let mut e = a;
        while let Some(inner) = unparenthesised(e) {
            e = inner;
        }
        return syntax(
            "expression cannot contain assignment, perhaps you meant \"==\"?",
            e[0].0..span.end,
        );
    }
    if *tok == Tok::Equal
        && let Some((pl, Tok::Name(_), _)) = prev
    {
        let before = hist.len().checked_sub(2).and_then(|i| hist.get(i));
        if depth > 0 && before.is_some_and(|b| matches!(b.1, Tok::Dot | Tok::Rpar | Tok::Rsqb)) {
            // Point at the start of the dotted name.
            let mut i = hist.len() - 1;
            while i >= 2 && hist[i - 1].1 == Tok::Dot && matches!(hist[i - 2].1, Tok::Name(_)) {
                i -= 2;
            }
            return syntax(
                "expression cannot contain assignment, perhaps you meant \"==\"?",
                hist[i].0..span.start,
            );
        }
        return syntax(
            "invalid syntax. Maybe you meant '==' or ':=' instead of '='?",
            *pl..span.end,
        );
    }
    if depth > 0
        && starts_expression(tok)
        && prev.is_some_and(|p| ends_expression(&p.1))
        && !matches!(first, Some(Tok::Def | Tok::Async | Tok::From | Tok::Import))
        && !(matches!(prev, Some((_, Tok::Name(_), _))) && matches!(tok, Tok::Str(_)))
    {
        let s = prev.map_or(span.start, |p| p.0);
        return syntax("invalid syntax. Perhaps you forgot a comma?", s..span.end);
    }
    syntax("invalid syntax", span)
}

// ------------------------------------------------------------------ depth

fn too_deep(span: Span) -> SyntaxError {
    let mut e = syntax("maximum recursion depth exceeded during compilation", span);
    e.kind = "RecursionError";
    e
}

/// Refuses ASTs nested deeper than [`MAX_DEPTH`], so that later passes can
/// recurse safely. The walk itself stops descending at the limit.
pub fn check_depth(top: &Top) -> Result<(), SyntaxError> {
    match top {
        Top::Module(body) => body.iter().try_for_each(|s| stmt_depth(s, 0)),
        Top::Expr(e) => expr_depth(e, 0),
    }
}

fn stmt_depth(s: &Stmt, d: usize) -> Result<(), SyntaxError> {
    if d > MAX_DEPTH {
        return Err(too_deep(s.span.clone()));
    }
    let e = |x: &Expr| expr_depth(x, d + 1);
    let oe = |x: &Option<Expr>| x.as_ref().map_or(Ok(()), |x| expr_depth(x, d + 1));
    let body = |b: &[Stmt]| b.iter().try_for_each(|s| stmt_depth(s, d + 1));
    let params = |p: &Params| {
        p.posonly
            .iter()
            .chain(&p.args)
            .chain(&p.vararg)
            .chain(&p.kwonly)
            .chain(&p.kwarg)
            .try_for_each(|p| {
                oe(&p.default)?;
                oe(&p.annotation)
            })
    };
    match &s.kind {
        StmtKind::FunctionDef(f) => {
            f.decorators.iter().try_for_each(e)?;
            params(&f.params)?;
            oe(&f.returns)?;
            body(&f.body)
        }
        StmtKind::ClassDef(c) => {
            c.decorators.iter().try_for_each(e)?;
            c.bases.iter().try_for_each(e)?;
            c.keywords.iter().try_for_each(|k| e(&k.value))?;
            body(&c.body)
        }
        StmtKind::Return(v) => oe(v),
        StmtKind::Delete(v) => v.iter().try_for_each(e),
        StmtKind::Assign { targets, value } => {
            targets.iter().try_for_each(e)?;
            e(value)
        }
        StmtKind::AugAssign { target, value, .. } => {
            e(target)?;
            e(value)
        }
        StmtKind::AnnAssign {
            target,
            annotation,
            value,
        } => {
            e(target)?;
            e(annotation)?;
            oe(value)
        }
        StmtKind::For {
            target,
            iter,
            body: b,
            orelse,
            ..
        } => {
            e(target)?;
            e(iter)?;
            body(b)?;
            body(orelse)
        }
        StmtKind::While {
            test,
            body: b,
            orelse,
        }
        | StmtKind::If {
            test,
            body: b,
            orelse,
        } => {
            e(test)?;
            body(b)?;
            body(orelse)
        }
        StmtKind::With { items, body: b, .. } => {
            for item in items {
                e(&item.context)?;
                oe(&item.target)?;
            }
            body(b)
        }
        StmtKind::Raise { exc, cause } => {
            oe(exc)?;
            oe(cause)
        }
        StmtKind::Try {
            body: b,
            handlers,
            orelse,
            finalbody,
        } => {
            body(b)?;
            for h in handlers {
                oe(&h.typ)?;
                body(&h.body)?;
            }
            body(orelse)?;
            body(finalbody)
        }
        StmtKind::Assert { test, msg } => {
            e(test)?;
            oe(msg)
        }
        StmtKind::Expr(x) => e(x),
        StmtKind::Import(_)
        | StmtKind::ImportFrom { .. }
        | StmtKind::Global(_)
        | StmtKind::Nonlocal(_)
        | StmtKind::Pass
        | StmtKind::Break
        | StmtKind::Continue => Ok(()),
    }
}

fn expr_depth(x: &Expr, d: usize) -> Result<(), SyntaxError> {
    if d > MAX_DEPTH {
        return Err(too_deep(x.span.clone()));
    }
    let e = |x: &Expr| expr_depth(x, d + 1);
    let ob = |x: &Option<Box<Expr>>| x.as_ref().map_or(Ok(()), |x| expr_depth(x, d + 1));
    let gens = |g: &[Comprehension]| {
        g.iter().try_for_each(|c| {
            e(&c.target)?;
            e(&c.iter)?;
            c.ifs.iter().try_for_each(e)
        })
    };
    match &x.kind {
        ExprKind::BoolOp { values, .. } => values.iter().try_for_each(e),
        ExprKind::NamedExpr { value, .. } => e(value),
        ExprKind::BinOp { left, right, .. } => {
            e(left)?;
            e(right)
        }
        ExprKind::UnaryOp { operand, .. } => e(operand),
        ExprKind::Lambda { params, body } => {
            params
                .posonly
                .iter()
                .chain(&params.args)
                .chain(&params.kwonly)
                .try_for_each(|p| p.default.as_ref().map_or(Ok(()), e))?;
            e(body)
        }
        ExprKind::IfExp { test, body, orelse } => {
            e(test)?;
            e(body)?;
            e(orelse)
        }
        ExprKind::Dict { keys, values } => {
            keys.iter().flatten().try_for_each(e)?;
            values.iter().try_for_each(e)
        }
        ExprKind::Set(v) | ExprKind::List(v) | ExprKind::Tuple(v) => v.iter().try_for_each(e),
        ExprKind::ListComp { elt, generators }
        | ExprKind::SetComp { elt, generators }
        | ExprKind::GeneratorExp { elt, generators } => {
            e(elt)?;
            gens(generators)
        }
        ExprKind::DictComp {
            key,
            value,
            generators,
        } => {
            e(key)?;
            e(value)?;
            gens(generators)
        }
        ExprKind::Await(v) | ExprKind::YieldFrom(v) | ExprKind::Starred(v) => e(v),
        ExprKind::Yield(v) => ob(v),
        ExprKind::Compare {
            left, comparators, ..
        } => {
            e(left)?;
            comparators.iter().try_for_each(e)
        }
        ExprKind::Call {
            func,
            args,
            keywords,
        } => {
            e(func)?;
            args.iter().try_for_each(e)?;
            keywords.iter().try_for_each(|k| e(&k.value))
        }
        ExprKind::FString(parts) => fparts_depth(parts, d + 1),
        ExprKind::Attribute { value, .. } => e(value),
        ExprKind::Subscript { value, index } => {
            e(value)?;
            e(index)
        }
        ExprKind::Slice { lower, upper, step } => {
            ob(lower)?;
            ob(upper)?;
            ob(step)
        }
        ExprKind::Constant(_) | ExprKind::Name(_) => Ok(()),
    }
}

fn fparts_depth(parts: &[FPart], d: usize) -> Result<(), SyntaxError> {
    for p in parts {
        if let FPart::Field { expr, spec, .. } = p {
            expr_depth(expr, d)?;
            fparts_depth(spec, d + 1)?;
        }
    }
    Ok(())
}
