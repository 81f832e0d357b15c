//! AST construction and validation helpers called from the grammar actions.

use covm_lexer::Tok;
use lalrpop_util::ParseError;

use crate::ast::*;

/// The result of a fallible grammar action.
pub type PResult<T> = Result<T, ParseError<usize, Tok, SyntaxError>>;

/// What the single public grammar entry point produces.
pub enum Top {
    Module(Vec<Stmt>),
    Expr(Expr),
}

/// A parameter list item before validation.
pub enum ParamItem {
    Normal(Param),
    /// `*` (bare) or `*args`, with the span of the whole item.
    Star(Option<Param>, Span),
    DoubleStar(Param),
    Slash(Span),
}

/// A call argument before validation.
pub enum Arg {
    Pos(Expr),
    Genexp(Expr),
    Kw(Keyword),
    Star(Expr),
    DoubleStar(Keyword),
}

/// Which comprehension a `comp` call builds.
pub enum CompKind {
    List,
    Set,
    Dict,
    Gen,
}

/// A SyntaxError as a lalrpop user error.
pub fn error(message: impl Into<String>, span: Span) -> ParseError<usize, Tok, SyntaxError> {
    ParseError::User {
        error: SyntaxError {
            kind: "SyntaxError",
            message: message.into(),
            span,
            note: None,
            incomplete: false,
        },
    }
}

fn fail<T>(message: impl Into<String>, span: Span) -> PResult<T> {
    Err(error(message, span))
}

pub fn flatten(v: Vec<Vec<Stmt>>) -> Vec<Stmt> {
    v.into_iter().flatten().collect()
}

pub fn stmt(kind: StmtKind, l: usize, r: usize) -> Stmt {
    Stmt { kind, span: l..r }
}

pub fn expr(kind: ExprKind, l: usize, r: usize) -> Expr {
    Expr { kind, span: l..r }
}

pub fn constant(c: Constant, l: usize, r: usize) -> Expr {
    expr(ExprKind::Constant(c), l, r)
}

pub fn dotted(first: String, rest: Vec<String>) -> String {
    let mut s = first;
    for part in rest {
        s.push('.');
        s.push_str(&part);
    }
    s
}

/// The module of a relative import: as many leading dots as the level,
/// then the dotted name, if any (`from ..a import b` → `"..a"`).
pub fn relative_module(dots: Vec<usize>, name: Option<String>) -> String {
    let mut s = ".".repeat(dots.iter().sum());
    s.push_str(name.as_deref().unwrap_or(""));
    s
}

/// A subscript: like [`tuple_or_single`], but a lone `*x` becomes a
/// one-element tuple, as in CPython.
pub fn subscript_index(v: Vec<Expr>, trailing: bool, l: usize, r: usize) -> Expr {
    let star = v.len() == 1 && matches!(v[0].kind, ExprKind::Starred(_));
    tuple_or_single(v, trailing || star, l, r)
}

/// One element without a trailing comma is itself; otherwise a tuple.
pub fn tuple_or_single(mut v: Vec<Expr>, trailing: bool, l: usize, r: usize) -> Expr {
    if v.len() == 1 && !trailing {
        v.pop()
            .unwrap_or_else(|| expr(ExprKind::Tuple(Vec::new()), l, r))
    } else {
        expr(ExprKind::Tuple(v), l, r)
    }
}

/// A parenthesised expression or tuple.
pub fn paren(v: Vec<Expr>, trailing: bool, l: usize, r: usize) -> PResult<Expr> {
    if v.len() == 1
        && !trailing
        && let ExprKind::Starred(_) = v[0].kind
    {
        return fail("cannot use starred expression here", v[0].span.clone());
    }
    let mut e = tuple_or_single(v, trailing, l, r);
    if let ExprKind::Tuple(_) = e.kind {
        e.span = l..r;
    }
    Ok(e)
}

pub fn no_bare_star(e: Expr) -> PResult<Expr> {
    if let ExprKind::Starred(_) = e.kind {
        return fail("cannot use starred expression here", e.span);
    }
    Ok(e)
}

/// A bare `*x` cannot be a value.
fn no_star_value(e: &Expr) -> PResult<()> {
    if let ExprKind::Starred(_) = e.kind {
        return fail("can't use starred expression here", e.span.clone());
    }
    Ok(())
}

pub fn return_stmt(v: Option<Expr>, l: usize, r: usize) -> PResult<Stmt> {
    if let Some(v) = &v {
        no_star_value(v)?;
    }
    Ok(stmt(StmtKind::Return(v), l, r))
}

pub fn expr_stmt(e: Expr, l: usize, r: usize) -> PResult<Stmt> {
    if let ExprKind::Starred(_) = e.kind {
        return fail("can't use starred expression here", e.span);
    }
    Ok(stmt(StmtKind::Expr(e), l, r))
}

pub fn unary(op: UnaryOp, operand: Expr, l: usize, r: usize) -> Expr {
    expr(
        ExprKind::UnaryOp {
            op,
            operand: Box::new(operand),
        },
        l,
        r,
    )
}

pub fn binop(left: Expr, op: BinOp, right: Expr, l: usize, r: usize) -> Expr {
    expr(
        ExprKind::BinOp {
            left: Box::new(left),
            op,
            right: Box::new(right),
        },
        l,
        r,
    )
}

pub fn boolop(op: BoolOpKind, first: Expr, rest: Vec<Expr>, l: usize, r: usize) -> Expr {
    let mut values = Vec::with_capacity(rest.len() + 1);
    values.push(first);
    values.extend(rest);
    expr(ExprKind::BoolOp { op, values }, l, r)
}

pub fn compare(left: Expr, rest: Vec<(CmpOp, Expr)>, l: usize, r: usize) -> Expr {
    let (ops, comparators) = rest.into_iter().unzip();
    expr(
        ExprKind::Compare {
            left: Box::new(left),
            ops,
            comparators,
        },
        l,
        r,
    )
}

pub fn slice(
    lower: Option<Expr>,
    upper: Option<Expr>,
    step: Option<Expr>,
    l: usize,
    r: usize,
) -> Expr {
    expr(
        ExprKind::Slice {
            lower: lower.map(Box::new),
            upper: upper.map(Box::new),
            step: step.map(Box::new),
        },
        l,
        r,
    )
}

pub fn dict(items: Vec<(Option<Expr>, Expr)>, l: usize, r: usize) -> Expr {
    let (keys, values) = items.into_iter().unzip();
    expr(ExprKind::Dict { keys, values }, l, r)
}

pub fn comp(
    kind: CompKind,
    elt: Expr,
    value: Option<Expr>,
    generators: Vec<Comprehension>,
    l: usize,
    r: usize,
) -> Expr {
    let elt = Box::new(elt);
    let kind = match (kind, value) {
        (CompKind::Dict, Some(value)) => ExprKind::DictComp {
            key: elt,
            value: Box::new(value),
            generators,
        },
        (CompKind::List, _) => ExprKind::ListComp { elt, generators },
        (CompKind::Set, _) => ExprKind::SetComp { elt, generators },
        _ => ExprKind::GeneratorExp { elt, generators },
    };
    expr(kind, l, r)
}

pub fn comprehension(
    is_async: bool,
    target: Expr,
    iter: Expr,
    ifs: Vec<Expr>,
) -> PResult<Comprehension> {
    check_target(&target, TargetCtx::Plain)?;
    Ok(Comprehension {
        target,
        iter,
        ifs,
        is_async,
    })
}

pub fn call(func: Expr, args: (Vec<Expr>, Vec<Keyword>), l: usize, r: usize) -> Expr {
    let (args, keywords) = args;
    expr(
        ExprKind::Call {
            func: Box::new(func),
            args,
            keywords,
        },
        l,
        r,
    )
}

/// Splits and checks call arguments the way CPython does.
pub fn call_args(mut items: Vec<Arg>, last: Option<Arg>) -> PResult<(Vec<Expr>, Vec<Keyword>)> {
    // A generator argument must be alone, without a trailing comma.
    let n = items.len() + usize::from(last.is_none() && !items.is_empty()) + 1;
    items.extend(last);
    let mut args = Vec::new();
    let mut keywords: Vec<Keyword> = Vec::new();
    let mut seen_kw = false;
    let mut seen_kwunpack = false;
    for item in items {
        match item {
            Arg::Pos(e) => {
                if seen_kwunpack {
                    return fail(
                        "positional argument follows keyword argument unpacking",
                        e.span,
                    );
                }
                if seen_kw {
                    return fail("positional argument follows keyword argument", e.span);
                }
                args.push(e);
            }
            Arg::Genexp(e) => {
                if n > 1 {
                    return fail("Generator expression must be parenthesized", e.span);
                }
                args.push(e);
            }
            Arg::Star(e) => {
                if seen_kwunpack {
                    return fail(
                        "iterable argument unpacking follows keyword argument unpacking",
                        e.span,
                    );
                }
                args.push(e);
            }
            Arg::Kw(k) => {
                if let Some(name) = &k.arg
                    && keywords
                        .iter()
                        .any(|o| o.arg.as_ref().is_some_and(|a| a.name == name.name))
                {
                    return fail(format!("keyword argument repeated: {}", name.name), k.span);
                }
                seen_kw = true;
                keywords.push(k);
            }
            Arg::DoubleStar(k) => {
                seen_kwunpack = true;
                keywords.push(k);
            }
        }
    }
    Ok((args, keywords))
}

/// Builds and checks a parameter list (for `def` and `lambda`).
pub fn params(items: Vec<ParamItem>) -> PResult<Params> {
    let mut p = Params::default();
    let mut seen_slash = false;
    let mut star: Option<Span> = None; // span of a `*` item
    let mut bare_star: Option<Span> = None; // bare `*` awaiting a kw-only param
    let mut seen_kwarg = false;
    let mut seen_default = false;
    let mut names: Vec<String> = Vec::new();
    let mut check_dup = |name: &Ident| -> PResult<()> {
        if names.contains(&name.name) {
            return fail(
                format!("duplicate argument '{}' in function definition", name.name),
                name.span.clone(),
            );
        }
        names.push(name.name.clone());
        Ok(())
    };
    for item in items {
        if seen_kwarg {
            let span = match &item {
                ParamItem::Normal(q) | ParamItem::DoubleStar(q) => q.span.clone(),
                ParamItem::Star(_, s) | ParamItem::Slash(s) => s.clone(),
            };
            return fail("arguments cannot follow var-keyword argument", span);
        }
        match item {
            ParamItem::Normal(param) => {
                check_dup(&param.name)?;
                if star.is_some() {
                    bare_star = None;
                    p.kwonly.push(param);
                } else {
                    if param.default.is_some() {
                        seen_default = true;
                    } else if seen_default {
                        return fail("non-default argument follows default argument", param.span);
                    }
                    p.args.push(param);
                }
            }
            ParamItem::Slash(span) => {
                if seen_slash {
                    return fail("/ may appear only once", span);
                }
                if star.is_some() {
                    return fail("/ must be ahead of *", span);
                }
                if p.args.is_empty() {
                    return fail("invalid syntax", span);
                }
                seen_slash = true;
                p.posonly = std::mem::take(&mut p.args);
            }
            ParamItem::Star(param, span) => {
                if star.is_some() {
                    return fail("* argument may appear only once", span);
                }
                star = Some(span.clone());
                match param {
                    Some(param) => {
                        check_dup(&param.name)?;
                        p.vararg = Some(param);
                    }
                    None => bare_star = Some(span),
                }
            }
            ParamItem::DoubleStar(param) => {
                if let Some(span) = bare_star.take() {
                    return fail("named arguments must follow bare *", span);
                }
                check_dup(&param.name)?;
                seen_kwarg = true;
                p.kwarg = Some(param);
            }
        }
    }
    if let Some(span) = bare_star {
        return fail("named arguments must follow bare *", span);
    }
    Ok(p)
}

pub fn lambda(items: Vec<ParamItem>, body: Expr, l: usize, r: usize) -> PResult<Expr> {
    let params = params(items)?;
    Ok(expr(
        ExprKind::Lambda {
            params: Box::new(params),
            body: Box::new(body),
        },
        l,
        r,
    ))
}

fn body_end(body: &[Stmt], default: usize) -> usize {
    body.last().map_or(default, |s| s.span.end)
}

pub fn if_stmt(
    l: usize,
    test: Expr,
    body: Vec<Stmt>,
    elifs: Vec<(usize, Expr, Vec<Stmt>)>,
    orelse: Option<Vec<Stmt>>,
) -> Stmt {
    // Build the elif chain from the inside out.
    let mut tail = orelse.unwrap_or_default();
    for (el, etest, ebody) in elifs.into_iter().rev() {
        let end = body_end(&tail, body_end(&ebody, etest.span.end));
        let node = stmt(
            StmtKind::If {
                test: etest,
                body: ebody,
                orelse: tail,
            },
            el,
            end,
        );
        tail = vec![node];
    }
    let end = body_end(&tail, body_end(&body, test.span.end));
    stmt(
        StmtKind::If {
            test,
            body,
            orelse: tail,
        },
        l,
        end,
    )
}

pub fn while_stmt(l: usize, test: Expr, body: Vec<Stmt>, orelse: Option<Vec<Stmt>>) -> Stmt {
    let orelse = orelse.unwrap_or_default();
    let end = body_end(&orelse, body_end(&body, test.span.end));
    stmt(StmtKind::While { test, body, orelse }, l, end)
}

pub fn for_stmt(
    l: usize,
    is_async: bool,
    target: Expr,
    iter: Expr,
    body: Vec<Stmt>,
    orelse: Option<Vec<Stmt>>,
) -> PResult<Stmt> {
    check_target(&target, TargetCtx::Plain)?;
    let orelse = orelse.unwrap_or_default();
    let end = body_end(&orelse, body_end(&body, iter.span.end));
    Ok(stmt(
        StmtKind::For {
            target,
            iter,
            body,
            orelse,
            is_async,
        },
        l,
        end,
    ))
}

pub fn try_stmt(
    l: usize,
    body: Vec<Stmt>,
    handlers: Vec<ExceptHandler>,
    orelse: Option<Vec<Stmt>>,
    finalbody: Option<Vec<Stmt>>,
) -> Stmt {
    let orelse = orelse.unwrap_or_default();
    let finalbody = finalbody.unwrap_or_default();
    let mut end = body_end(&body, l);
    if let Some(h) = handlers.last() {
        end = h.span.end;
    }
    end = body_end(&orelse, end);
    end = body_end(&finalbody, end);
    stmt(
        StmtKind::Try {
            body,
            handlers,
            orelse,
            finalbody,
        },
        l,
        end,
    )
}

pub fn handler(l: usize, typ: Option<Expr>, name: Option<Ident>, body: Vec<Stmt>) -> ExceptHandler {
    let end = body_end(&body, l);
    ExceptHandler {
        typ,
        name,
        body,
        span: l..end,
        star: false,
    }
}

/// `except* T as name:`.
pub fn star_handler(l: usize, typ: Expr, name: Option<Ident>, body: Vec<Stmt>) -> ExceptHandler {
    ExceptHandler {
        star: true,
        ..handler(l, Some(typ), name, body)
    }
}

/// A `try` with handlers: `except` and `except*` may not be mixed.
pub fn try_except_stmt(
    l: usize,
    body: Vec<Stmt>,
    handlers: Vec<ExceptHandler>,
    orelse: Option<Vec<Stmt>>,
    finalbody: Option<Vec<Stmt>>,
) -> Result<Stmt, ParseError<usize, Tok, SyntaxError>> {
    if let Some(first) = handlers.first()
        && let Some(odd) = handlers.iter().find(|h| h.star != first.star)
    {
        let at = odd.span.start;
        return Err(error(
            "cannot have both 'except' and 'except*' on the same 'try'",
            at..at + "except".len(),
        ));
    }
    Ok(try_stmt(l, body, handlers, orelse, finalbody))
}

pub fn with_stmt(
    l: usize,
    is_async: bool,
    items: Vec<(Expr, Option<Expr>)>,
    body: Vec<Stmt>,
) -> PResult<Stmt> {
    // `with (a, b):` is two with-items, as in CPython 3.9+.
    let mut items = items;
    if items.len() == 1
        && let Some((
            Expr {
                kind: ExprKind::Tuple(elts),
                ..
            },
            None,
        )) = items.first_mut()
        && !elts.is_empty()
    {
        let elts = std::mem::take(elts);
        items = elts.into_iter().map(|e| (e, None)).collect();
    }
    let mut out = Vec::with_capacity(items.len());
    for (context, target) in items {
        if let ExprKind::Starred(_) = context.kind {
            return fail("cannot use starred expression here", context.span);
        }
        if let Some(t) = &target {
            check_target(t, TargetCtx::Plain)?;
        }
        out.push(WithItem { context, target });
    }
    let end = body_end(&body, l);
    Ok(stmt(
        StmtKind::With {
            items: out,
            body,
            is_async,
        },
        l,
        end,
    ))
}

pub fn func_def(
    l: usize,
    is_async: bool,
    name: Ident,
    items: Vec<ParamItem>,
    returns: Option<Expr>,
    body: Vec<Stmt>,
) -> PResult<Stmt> {
    let params = params(items)?;
    let end = body_end(&body, l);
    Ok(stmt(
        StmtKind::FunctionDef(Box::new(FunctionDef {
            name,
            params,
            body,
            decorators: Vec::new(),
            returns,
            is_async,
        })),
        l,
        end,
    ))
}

pub fn class_def(
    l: usize,
    name: Ident,
    args: Option<(Vec<Expr>, Vec<Keyword>)>,
    body: Vec<Stmt>,
) -> Stmt {
    let (bases, keywords) = args.unwrap_or_default();
    let end = body_end(&body, l);
    stmt(
        StmtKind::ClassDef(Box::new(ClassDef {
            name,
            bases,
            keywords,
            body,
            decorators: Vec::new(),
        })),
        l,
        end,
    )
}

pub fn decorate(decorators: Vec<Expr>, mut s: Stmt) -> Stmt {
    match &mut s.kind {
        StmtKind::FunctionDef(f) => f.decorators = decorators,
        StmtKind::ClassDef(c) => c.decorators = decorators,
        _ => {}
    }
    s
}

// ------------------------------------------------------------ targets

/// CPython's name for an expression kind in error messages.
pub fn expr_name(e: &Expr) -> &'static str {
    match &e.kind {
        ExprKind::Attribute { .. } => "attribute",
        ExprKind::Subscript { .. } => "subscript",
        ExprKind::Starred(_) => "starred",
        ExprKind::Name(_) => "name",
        ExprKind::List(_) => "list",
        ExprKind::Tuple(_) => "tuple",
        ExprKind::Lambda { .. } => "lambda",
        ExprKind::Call { .. } => "function call",
        ExprKind::BoolOp { .. } | ExprKind::BinOp { .. } | ExprKind::UnaryOp { .. } => "expression",
        ExprKind::GeneratorExp { .. } => "generator expression",
        ExprKind::Yield(_) | ExprKind::YieldFrom(_) => "yield expression",
        ExprKind::Await(_) => "await expression",
        ExprKind::ListComp { .. } => "list comprehension",
        ExprKind::SetComp { .. } => "set comprehension",
        ExprKind::DictComp { .. } => "dict comprehension",
        ExprKind::Dict { .. } => "dict literal",
        ExprKind::Set(_) => "set display",
        ExprKind::FString(_) => "f-string expression",
        ExprKind::Constant(Constant::None) => "None",
        ExprKind::Constant(Constant::True) => "True",
        ExprKind::Constant(Constant::False) => "False",
        ExprKind::Constant(Constant::Ellipsis) => "ellipsis",
        ExprKind::Constant(_) => "literal",
        ExprKind::Compare { .. } => "comparison",
        ExprKind::IfExp { .. } => "conditional expression",
        ExprKind::NamedExpr { .. } => "named expression",
        ExprKind::Slice { .. } => "slice",
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum TargetCtx {
    /// `for`/`with`/comprehension targets and later `=` targets.
    Plain,
    /// The sole target of `target = value`: CPython suggests `==`.
    AssignSole,
    Del,
}

fn check_target(e: &Expr, ctx: TargetCtx) -> PResult<()> {
    match &e.kind {
        ExprKind::Name(_) | ExprKind::Attribute { .. } | ExprKind::Subscript { .. } => Ok(()),
        ExprKind::Tuple(elts) | ExprKind::List(elts) => {
            let mut starred = 0;
            for elt in elts {
                match &elt.kind {
                    ExprKind::Starred(inner) if ctx != TargetCtx::Del => {
                        starred += 1;
                        if starred > 1 {
                            return fail(
                                "multiple starred expressions in assignment",
                                e.span.clone(),
                            );
                        }
                        check_target(inner, TargetCtx::Plain)?;
                    }
                    _ => check_target(
                        elt,
                        if ctx == TargetCtx::Del {
                            TargetCtx::Del
                        } else {
                            TargetCtx::Plain
                        },
                    )?,
                }
            }
            Ok(())
        }
        ExprKind::Starred(_) if ctx == TargetCtx::Del => {
            fail("cannot delete starred", e.span.clone())
        }
        ExprKind::Starred(_) => fail(
            "starred assignment target must be in a list or tuple",
            e.span.clone(),
        ),
        _ => {
            let name = expr_name(e);
            if ctx == TargetCtx::Del {
                return fail(format!("cannot delete {name}"), e.span.clone());
            }
            let suggest = ctx == TargetCtx::AssignSole
                && !matches!(
                    e.kind,
                    ExprKind::Compare { .. }
                        | ExprKind::BoolOp { .. }
                        | ExprKind::UnaryOp {
                            op: UnaryOp::Not,
                            ..
                        }
                        | ExprKind::IfExp { .. }
                        | ExprKind::Lambda { .. }
                        | ExprKind::GeneratorExp { .. }
                        | ExprKind::Constant(Constant::True | Constant::False | Constant::None)
                );
            if suggest {
                fail(
                    format!("cannot assign to {name} here. Maybe you meant '==' instead of '='?"),
                    e.span.clone(),
                )
            } else {
                fail(format!("cannot assign to {name}"), e.span.clone())
            }
        }
    }
}

/// `first = rest...`; each of `rest` is flagged when it is an
/// unparenthesised yield expression.
pub fn assign(first: Expr, rest: Vec<(Expr, bool)>, l: usize, r: usize) -> PResult<Stmt> {
    let mut targets = Vec::with_capacity(rest.len());
    let mut bare = Vec::with_capacity(rest.len());
    targets.push(first);
    bare.push(false);
    let mut rest = rest;
    let (value, _) = rest.pop().ok_or_else(|| error("invalid syntax", l..r))?;
    no_star_value(&value)?;
    for (t, b) in rest {
        targets.push(t);
        bare.push(b);
    }
    let sole =
        targets.len() == 1 && !matches!(value.kind, ExprKind::Yield(_) | ExprKind::YieldFrom(_));
    for (t, bare) in targets.iter().zip(bare) {
        // Only a bare `yield` gets this wording; `(yield) = 1` is an
        // ordinary invalid target.
        if bare {
            return fail(
                "assignment to yield expression not possible",
                t.span.clone(),
            );
        }
        check_target(
            t,
            if sole {
                TargetCtx::AssignSole
            } else {
                TargetCtx::Plain
            },
        )?;
    }
    Ok(stmt(StmtKind::Assign { targets, value }, l, r))
}

pub fn aug_assign(target: Expr, op: BinOp, value: Expr, l: usize, r: usize) -> PResult<Stmt> {
    no_star_value(&value)?;
    match target.kind {
        ExprKind::Name(_) | ExprKind::Attribute { .. } | ExprKind::Subscript { .. } => {}
        _ => {
            return fail(
                format!(
                    "'{}' is an illegal expression for augmented assignment",
                    expr_name(&target)
                ),
                target.span,
            );
        }
    }
    Ok(stmt(StmtKind::AugAssign { target, op, value }, l, r))
}

pub fn ann_assign(
    target: Expr,
    annotation: Expr,
    value: Option<Expr>,
    l: usize,
    r: usize,
) -> PResult<Stmt> {
    if let Some(v) = &value {
        no_star_value(v)?;
    }
    match target.kind {
        ExprKind::Name(_) | ExprKind::Attribute { .. } | ExprKind::Subscript { .. } => {}
        ExprKind::Tuple(_) => {
            return fail(
                "only single target (not tuple) can be annotated",
                target.span,
            );
        }
        ExprKind::List(_) => {
            return fail(
                "only single target (not list) can be annotated",
                target.span,
            );
        }
        _ => return fail("illegal target for annotation", target.span),
    }
    Ok(stmt(
        StmtKind::AnnAssign {
            target,
            annotation,
            value,
        },
        l,
        r,
    ))
}

pub fn delete(targets: Vec<Expr>, l: usize, r: usize) -> PResult<Stmt> {
    for t in &targets {
        check_target(t, TargetCtx::Del)?;
    }
    Ok(stmt(StmtKind::Delete(targets), l, r))
}
