//! `__annotations__` of modules and class bodies: CPython creates the dict
//! when a body has an annotated assignment and stores each simple name's
//! annotation in it, evaluated, or as its source text under
//! `from __future__ import annotations`. Dataclasses and NamedTuple read it.

use covm_parser::ast::{ExprKind, Stmt, StmtKind};

use super::Compiler;
use crate::opcode::Op;
use crate::value::Value;

/// True when `body` (not counting nested functions and classes) holds an
/// annotated assignment.
pub(super) fn has_annotations(body: &[Stmt]) -> bool {
    body.iter().any(|s| match &s.kind {
        StmtKind::AnnAssign { .. } => true,
        StmtKind::If { body, orelse, .. }
        | StmtKind::While { body, orelse, .. }
        | StmtKind::For { body, orelse, .. } => has_annotations(body) || has_annotations(orelse),
        StmtKind::With { body, .. } => has_annotations(body),
        StmtKind::Try {
            body,
            handlers,
            orelse,
            finalbody,
        } => {
            has_annotations(body)
                || handlers.iter().any(|h| has_annotations(&h.body))
                || has_annotations(orelse)
                || has_annotations(finalbody)
        }
        _ => false,
    })
}

/// The features CPython 3.11 knows in `from __future__ import ...`.
const FEATURES: &[&str] = &[
    "nested_scopes",
    "generators",
    "division",
    "absolute_import",
    "with_statement",
    "print_function",
    "unicode_literals",
    "barry_as_FLUFL",
    "generator_stop",
    "annotations",
];

/// Checks the module's `from __future__` imports as CPython does (only
/// at the top, after the docstring; known features only) and says whether
/// `annotations` is among them.
pub(super) fn future_annotations(module: &[Stmt]) -> Result<bool, covm_parser::SyntaxError> {
    let mut annotations = false;
    let mut at_top = true;
    for (i, s) in module.iter().enumerate() {
        match &s.kind {
            StmtKind::ImportFrom { module, names } if module == "__future__" => {
                if !at_top {
                    return Err(super::syntax_error(
                        "from __future__ imports must occur at the beginning of the file",
                        s.span.clone(),
                    ));
                }
                for a in names {
                    match a.name.as_str() {
                        "annotations" => annotations = true,
                        "braces" => {
                            return Err(super::syntax_error("not a chance", a.span.clone()));
                        }
                        n if FEATURES.contains(&n) => {}
                        n => {
                            let msg = format!("future feature {n} is not defined");
                            return Err(super::syntax_error(msg, a.span.clone()));
                        }
                    }
                }
            }
            StmtKind::Expr(e) if i == 0 && matches!(e.kind, ExprKind::Constant(_)) => {}
            _ => at_top = false,
        }
    }
    Ok(annotations)
}

impl<'a> Compiler<'a> {
    /// `__annotations__ = {}` at the start of a module or class body that
    /// needs it.
    pub(super) fn setup_annotations(&mut self, body: &[Stmt]) {
        if has_annotations(body) {
            self.emit(Op::BuildMap(0));
            let i = self.name_idx("__annotations__");
            self.emit(Op::StoreName(i));
        }
    }

    /// Records the annotation of `target: annotation` in `__annotations__`
    /// when the target is a simple name in a module or class body.
    pub(super) fn store_annotation(
        &mut self,
        target: &'a covm_parser::ast::Expr,
        annotation: &'a covm_parser::ast::Expr,
    ) -> super::CResult {
        let ExprKind::Name(name) = &target.kind else {
            return Ok(());
        };
        if !matches!(
            self.scope_kind(),
            super::ScopeKind::Module | super::ScopeKind::Class
        ) {
            return Ok(());
        }
        if self.future_annotations {
            let span = annotation.span.clone();
            let text = self.source.get(span).unwrap_or("").to_string();
            self.emit_const(Value::str(text));
        } else {
            self.expr(annotation)?;
        }
        let i = self.name_idx("__annotations__");
        self.emit(Op::LoadName(i));
        self.emit_const(Value::str(name.as_str()));
        self.emit(Op::StoreSubscr);
        Ok(())
    }
}
