//! A compact S-expression rendering of the AST, for tests.

use crate::ast::*;

pub fn stmts(body: &[Stmt]) -> String {
    body.iter().map(stmt).collect::<Vec<_>>().join("; ")
}

fn block(body: &[Stmt]) -> String {
    format!("[{}]", stmts(body))
}

fn opt(e: &Option<Expr>) -> String {
    e.as_ref().map_or("_".to_string(), expr)
}

fn optb(e: &Option<Box<Expr>>) -> String {
    e.as_ref().map_or("_".to_string(), |e| expr(e))
}

fn list(v: &[Expr]) -> String {
    v.iter().map(expr).collect::<Vec<_>>().join(" ")
}

fn param(p: &Param) -> String {
    let mut s = p.name.name.clone();
    if let Some(a) = &p.annotation {
        s.push(':');
        s.push_str(&expr(a));
    }
    if let Some(d) = &p.default {
        s.push('=');
        s.push_str(&expr(d));
    }
    s
}

pub fn params(p: &Params) -> String {
    let mut parts: Vec<String> = Vec::new();
    for q in &p.posonly {
        parts.push(param(q));
    }
    if !p.posonly.is_empty() {
        parts.push("/".into());
    }
    for q in &p.args {
        parts.push(param(q));
    }
    if let Some(v) = &p.vararg {
        parts.push(format!("*{}", param(v)));
    } else if !p.kwonly.is_empty() {
        parts.push("*".into());
    }
    for q in &p.kwonly {
        parts.push(param(q));
    }
    if let Some(k) = &p.kwarg {
        parts.push(format!("**{}", param(k)));
    }
    format!("({})", parts.join(" "))
}

fn keyword(k: &Keyword) -> String {
    match &k.arg {
        Some(a) => format!("{}={}", a.name, expr(&k.value)),
        None => format!("**{}", expr(&k.value)),
    }
}

fn gens(g: &[Comprehension]) -> String {
    g.iter()
        .map(|c| {
            let mut s = format!(
                "({}for {} {}",
                if c.is_async { "async " } else { "" },
                expr(&c.target),
                expr(&c.iter)
            );
            for i in &c.ifs {
                s.push_str(&format!(" (if {})", expr(i)));
            }
            s.push(')');
            s
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn fparts(parts: &[FPart]) -> String {
    parts
        .iter()
        .map(|p| match p {
            FPart::Lit(s) => format!("{s:?}"),
            FPart::Field {
                expr: e,
                conversion,
                spec,
                debug_text,
            } => {
                let mut s = String::from("{");
                if let Some(d) = debug_text {
                    s.push_str(&format!("{d:?} "));
                }
                s.push_str(&expr(e));
                if let Some(c) = conversion {
                    s.push('!');
                    s.push(*c);
                }
                if !spec.is_empty() {
                    s.push(':');
                    s.push_str(&fparts(spec));
                }
                s.push('}');
                s
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn unop(op: UnaryOp) -> &'static str {
    match op {
        UnaryOp::Invert => "~",
        UnaryOp::Not => "not",
        UnaryOp::UAdd => "+",
        UnaryOp::USub => "-",
    }
}

pub fn expr(e: &Expr) -> String {
    match &e.kind {
        ExprKind::BoolOp { op, values } => format!(
            "({} {})",
            if *op == BoolOpKind::And { "and" } else { "or" },
            list(values)
        ),
        ExprKind::NamedExpr { target, value } => format!("(:= {} {})", target.name, expr(value)),
        ExprKind::BinOp { left, op, right } => {
            format!("({} {} {})", op.symbol(), expr(left), expr(right))
        }
        ExprKind::UnaryOp { op, operand } => format!("({} {})", unop(*op), expr(operand)),
        ExprKind::Lambda { params: p, body } => format!("(lambda {} {})", params(p), expr(body)),
        ExprKind::IfExp { test, body, orelse } => {
            format!("(ifexp {} {} {})", expr(test), expr(body), expr(orelse))
        }
        ExprKind::Dict { keys, values } => {
            let items: Vec<String> = keys
                .iter()
                .zip(values)
                .map(|(k, v)| match k {
                    Some(k) => format!("{}:{}", expr(k), expr(v)),
                    None => format!("**{}", expr(v)),
                })
                .collect();
            format!("(dict {})", items.join(" "))
        }
        ExprKind::Set(v) => format!("(set {})", list(v)),
        ExprKind::ListComp { elt, generators } => {
            format!("(listcomp {} {})", expr(elt), gens(generators))
        }
        ExprKind::SetComp { elt, generators } => {
            format!("(setcomp {} {})", expr(elt), gens(generators))
        }
        ExprKind::DictComp {
            key,
            value,
            generators,
        } => format!(
            "(dictcomp {}:{} {})",
            expr(key),
            expr(value),
            gens(generators)
        ),
        ExprKind::GeneratorExp { elt, generators } => {
            format!("(genexp {} {})", expr(elt), gens(generators))
        }
        ExprKind::Await(v) => format!("(await {})", expr(v)),
        ExprKind::Yield(v) => match v {
            Some(v) => format!("(yield {})", expr(v)),
            None => "(yield)".into(),
        },
        ExprKind::YieldFrom(v) => format!("(yieldfrom {})", expr(v)),
        ExprKind::Compare {
            left,
            ops,
            comparators,
        } => {
            let mut s = format!("(cmp {}", expr(left));
            for (op, c) in ops.iter().zip(comparators) {
                s.push_str(&format!(" {} {}", op.symbol(), expr(c)));
            }
            s.push(')');
            s
        }
        ExprKind::Call {
            func,
            args,
            keywords,
        } => {
            let mut parts = vec![expr(func)];
            parts.extend(args.iter().map(expr));
            parts.extend(keywords.iter().map(keyword));
            format!("(call {})", parts.join(" "))
        }
        ExprKind::FString(parts) => format!("(f {})", fparts(parts)),
        ExprKind::Constant(c) => match c {
            Constant::None => "None".into(),
            Constant::True => "True".into(),
            Constant::False => "False".into(),
            Constant::Ellipsis => "...".into(),
            Constant::Int(i) => i.clone(),
            Constant::Float(f) => format!("{f:?}"),
            Constant::Str(s) => format!("{s:?}"),
            Constant::Bytes(b) => format!("b{:?}", String::from_utf8_lossy(b)),
        },
        ExprKind::Attribute { value, attr } => format!("(. {} {})", expr(value), attr.name),
        ExprKind::Subscript { value, index } => format!("(sub {} {})", expr(value), expr(index)),
        ExprKind::Starred(v) => format!("*{}", expr(v)),
        ExprKind::Name(n) => n.clone(),
        ExprKind::List(v) => format!("[{}]", list(v)),
        ExprKind::Tuple(v) => format!("(tuple {})", list(v)),
        ExprKind::Slice { lower, upper, step } => {
            format!("(slice {} {} {})", optb(lower), optb(upper), optb(step))
        }
    }
}

pub fn stmt(s: &Stmt) -> String {
    match &s.kind {
        StmtKind::FunctionDef(f) => {
            let mut out = String::new();
            for d in &f.decorators {
                out.push_str(&format!("@{} ", expr(d)));
            }
            out.push_str(&format!(
                "({}def {} {}{} {})",
                if f.is_async { "async " } else { "" },
                f.name.name,
                params(&f.params),
                f.returns
                    .as_ref()
                    .map_or(String::new(), |r| format!(" -> {}", expr(r))),
                block(&f.body)
            ));
            out
        }
        StmtKind::ClassDef(c) => {
            let mut out = String::new();
            for d in &c.decorators {
                out.push_str(&format!("@{} ", expr(d)));
            }
            let mut args: Vec<String> = c.bases.iter().map(expr).collect();
            args.extend(c.keywords.iter().map(keyword));
            out.push_str(&format!(
                "(class {} ({}) {})",
                c.name.name,
                args.join(" "),
                block(&c.body)
            ));
            out
        }
        StmtKind::Return(v) => format!("(return {})", opt(v)),
        StmtKind::Delete(v) => format!("(del {})", list(v)),
        StmtKind::Assign { targets, value } => {
            format!("(= {} {})", list(targets), expr(value))
        }
        StmtKind::AugAssign { target, op, value } => {
            format!("({}= {} {})", op.symbol(), expr(target), expr(value))
        }
        StmtKind::AnnAssign {
            target,
            annotation,
            value,
        } => format!("(ann {} {} {})", expr(target), expr(annotation), opt(value)),
        StmtKind::For {
            target,
            iter,
            body,
            orelse,
            is_async,
        } => format!(
            "({}for {} {} {} {})",
            if *is_async { "async " } else { "" },
            expr(target),
            expr(iter),
            block(body),
            block(orelse)
        ),
        StmtKind::While { test, body, orelse } => {
            format!("(while {} {} {})", expr(test), block(body), block(orelse))
        }
        StmtKind::If { test, body, orelse } => {
            format!("(if {} {} {})", expr(test), block(body), block(orelse))
        }
        StmtKind::With {
            items,
            body,
            is_async,
        } => {
            let items: Vec<String> = items
                .iter()
                .map(|i| match &i.target {
                    Some(t) => format!("{} as {}", expr(&i.context), expr(t)),
                    None => expr(&i.context),
                })
                .collect();
            format!(
                "({}with ({}) {})",
                if *is_async { "async " } else { "" },
                items.join(", "),
                block(body)
            )
        }
        StmtKind::Raise { exc, cause } => match (exc, cause) {
            (None, _) => "(raise)".into(),
            (Some(e), None) => format!("(raise {})", expr(e)),
            (Some(e), Some(c)) => format!("(raise {} from {})", expr(e), expr(c)),
        },
        StmtKind::Try {
            body,
            handlers,
            orelse,
            finalbody,
        } => {
            let hs: Vec<String> = handlers
                .iter()
                .map(|h| {
                    format!(
                        "(except {}{} {})",
                        opt(&h.typ),
                        h.name
                            .as_ref()
                            .map_or(String::new(), |n| format!(" as {}", n.name)),
                        block(&h.body)
                    )
                })
                .collect();
            format!(
                "(try {} {} {} {})",
                block(body),
                hs.join(" "),
                block(orelse),
                block(finalbody)
            )
        }
        StmtKind::Assert { test, msg } => format!("(assert {} {})", expr(test), opt(msg)),
        StmtKind::Import(names) => {
            let v: Vec<String> = names
                .iter()
                .map(|a| match &a.asname {
                    Some(n) => format!("{} as {}", a.name, n.name),
                    None => a.name.clone(),
                })
                .collect();
            format!("(import {})", v.join(", "))
        }
        StmtKind::ImportFrom { module, names } => {
            let v: Vec<String> = names
                .iter()
                .map(|a| match &a.asname {
                    Some(n) => format!("{} as {}", a.name, n.name),
                    None => a.name.clone(),
                })
                .collect();
            format!("(from {} import {})", module, v.join(", "))
        }
        StmtKind::Global(v) => format!(
            "(global {})",
            v.iter()
                .map(|i| i.name.as_str())
                .collect::<Vec<_>>()
                .join(" ")
        ),
        StmtKind::Nonlocal(v) => format!(
            "(nonlocal {})",
            v.iter()
                .map(|i| i.name.as_str())
                .collect::<Vec<_>>()
                .join(" ")
        ),
        StmtKind::Expr(e) => expr(e),
        StmtKind::Pass => "pass".into(),
        StmtKind::Break => "break".into(),
        StmtKind::Continue => "continue".into(),
    }
}
