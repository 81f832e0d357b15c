//! Scope analysis: which names are local, global, captured (cell) or free
//! in each function, class, comprehension and module scope.
//!
//! Scopes are keyed by the address of the AST node that opens them, so the
//! compiler finds a scope regardless of the order it visits nodes in.

use std::collections::HashMap;

use covm_parser::ast::*;

pub type ScopeId = usize;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ScopeKind {
    Module,
    Class,
    Function,
    Comprehension,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum NameScope {
    Local,
    Cell,
    Free,
    GlobalExplicit,
    GlobalImplicit,
}

const ASSIGNED: u8 = 1;
const USED: u8 = 2;
const PARAM: u8 = 4;
const GLOBAL: u8 = 8;
const NONLOCAL: u8 = 16;

pub struct Scope {
    pub kind: ScopeKind,
    pub name: String,
    pub parent: Option<ScopeId>,
    /// Names in first-seen order with their flags.
    flags: Vec<(String, u8)>,
    index: HashMap<String, usize>,
    pub is_generator: bool,
    pub is_async: bool,
    pub has_await: bool,
    /// A function in a class body that uses `super`: it gets the implicit
    /// `__class__` free variable.
    pub needs_class_cell: bool,
    /// Resolved after analysis.
    pub resolved: HashMap<String, NameScope>,
    pub cellvars: Vec<String>,
    pub freevars: Vec<String>,
    pub params: Vec<String>,
}

impl Scope {
    fn new(kind: ScopeKind, name: &str, parent: Option<ScopeId>) -> Scope {
        Scope {
            kind,
            name: name.to_string(),
            parent,
            flags: Vec::new(),
            index: HashMap::new(),
            is_generator: false,
            is_async: false,
            has_await: false,
            needs_class_cell: false,
            resolved: HashMap::new(),
            cellvars: Vec::new(),
            freevars: Vec::new(),
            params: Vec::new(),
        }
    }
    fn add(&mut self, name: &str, flag: u8) {
        match self.index.get(name) {
            Some(&i) => self.flags[i].1 |= flag,
            None => {
                self.index.insert(name.to_string(), self.flags.len());
                self.flags.push((name.to_string(), flag));
            }
        }
    }
    fn get(&self, name: &str) -> u8 {
        self.index.get(name).map(|&i| self.flags[i].1).unwrap_or(0)
    }
    fn is_function_like(&self) -> bool {
        matches!(self.kind, ScopeKind::Function | ScopeKind::Comprehension)
    }
    /// Names bound in this scope (assigned or parameters), in first-seen
    /// order, excluding globals and nonlocals.
    pub fn local_names(&self) -> impl Iterator<Item = &str> {
        self.flags
            .iter()
            .filter(|(_, f)| f & (ASSIGNED | PARAM) != 0 && f & (GLOBAL | NONLOCAL) == 0)
            .map(|(n, _)| n.as_str())
    }
    pub fn lookup(&self, name: &str) -> NameScope {
        self.resolved.get(name).copied().unwrap_or(match self.kind {
            ScopeKind::Module | ScopeKind::Class => NameScope::GlobalImplicit,
            _ => NameScope::GlobalImplicit,
        })
    }
}

pub struct SymbolTable {
    pub scopes: Vec<Scope>,
    pub by_node: HashMap<usize, ScopeId>,
}

#[derive(Debug)]
pub struct SymError {
    pub message: String,
    pub span: Span,
}

fn node_key<T>(node: &T) -> usize {
    node as *const T as usize
}

/// `future_annotations`: `from __future__ import annotations` is in effect,
/// so annotations are kept as text and may not hold `await`, `yield` or `:=`.
pub fn build(module: &[Stmt], future_annotations: bool) -> Result<SymbolTable, SymError> {
    let mut b = Builder {
        table: SymbolTable {
            scopes: vec![Scope::new(ScopeKind::Module, "<module>", None)],
            by_node: HashMap::new(),
        },
        cur: 0,
        future_annotations,
        in_annotation: false,
    };
    b.stmts(module)?;
    b.analyze()?;
    Ok(b.table)
}

struct Builder {
    table: SymbolTable,
    cur: ScopeId,
    future_annotations: bool,
    /// Visiting an annotation under `future_annotations` (CPython's
    /// annotation block; a lambda inside one is a function block again).
    in_annotation: bool,
}

impl Builder {
    /// Visits an annotation: under `from __future__ import annotations`,
    /// in an annotation block.
    fn annotation(&mut self, a: &Expr) -> Result<(), SymError> {
        let saved = self.in_annotation;
        self.in_annotation = self.future_annotations;
        let r = self.expr(a);
        self.in_annotation = saved;
        r
    }

    /// CPython's error for `what` (`'await expression'`, ...) inside an
    /// annotation kept as text.
    fn not_in_annotation(&self, what: &str, e: &Expr) -> Result<(), SymError> {
        if self.in_annotation {
            return Err(SymError {
                message: format!("{what} can not be used within an annotation"),
                span: e.span.clone(),
            });
        }
        Ok(())
    }

    fn scope(&mut self) -> &mut Scope {
        &mut self.table.scopes[self.cur]
    }

    fn push_scope(&mut self, kind: ScopeKind, name: &str, key: usize) -> ScopeId {
        let id = self.table.scopes.len();
        self.table
            .scopes
            .push(Scope::new(kind, name, Some(self.cur)));
        self.table.by_node.insert(key, id);
        self.cur = id;
        id
    }

    fn bind(&mut self, name: &str) {
        self.scope().add(name, ASSIGNED);
    }

    fn use_name(&mut self, name: &str) {
        self.scope().add(name, USED);
    }

    fn stmts(&mut self, body: &[Stmt]) -> Result<(), SymError> {
        for s in body {
            self.stmt(s)?;
        }
        Ok(())
    }

    fn params_defaults(&mut self, p: &Params) -> Result<(), SymError> {
        for param in p.posonly.iter().chain(&p.args).chain(&p.kwonly) {
            if let Some(d) = &param.default {
                self.expr(d)?;
            }
        }
        for param in p
            .posonly
            .iter()
            .chain(&p.args)
            .chain(&p.kwonly)
            .chain(&p.vararg)
            .chain(&p.kwarg)
        {
            if let Some(a) = &param.annotation {
                self.annotation(a)?;
            }
        }
        Ok(())
    }

    fn declare_params(&mut self, p: &Params) {
        let names: Vec<String> = p
            .posonly
            .iter()
            .chain(&p.args)
            .chain(&p.kwonly)
            .chain(&p.vararg)
            .chain(&p.kwarg)
            .map(|x| x.name.name.clone())
            .collect();
        // Order matters for the frame layout: positional, keyword-only,
        // *args, **kwargs.
        let mut ordered: Vec<String> = p
            .posonly
            .iter()
            .chain(&p.args)
            .map(|x| x.name.name.clone())
            .collect();
        ordered.extend(p.kwonly.iter().map(|x| x.name.name.clone()));
        ordered.extend(p.vararg.iter().map(|x| x.name.name.clone()));
        ordered.extend(p.kwarg.iter().map(|x| x.name.name.clone()));
        for n in &names {
            self.scope().add(n, PARAM);
        }
        self.scope().params = ordered;
    }

    fn stmt(&mut self, s: &Stmt) -> Result<(), SymError> {
        match &s.kind {
            StmtKind::FunctionDef(f) => {
                for d in &f.decorators {
                    self.expr(d)?;
                }
                self.params_defaults(&f.params)?;
                if let Some(r) = &f.returns {
                    self.annotation(r)?;
                }
                self.bind(&f.name.name);
                let saved = self.cur;
                self.push_scope(ScopeKind::Function, &f.name.name, node_key(&**f));
                self.scope().is_async = f.is_async;
                self.declare_params(&f.params);
                self.stmts(&f.body)?;
                self.cur = saved;
            }
            StmtKind::ClassDef(c) => {
                for d in &c.decorators {
                    self.expr(d)?;
                }
                for b in &c.bases {
                    self.expr(b)?;
                }
                for k in &c.keywords {
                    self.expr(&k.value)?;
                }
                self.bind(&c.name.name);
                let saved = self.cur;
                self.push_scope(ScopeKind::Class, &c.name.name, node_key(&**c));
                self.stmts(&c.body)?;
                self.cur = saved;
            }
            StmtKind::Return(v) => {
                if let Some(v) = v {
                    self.expr(v)?;
                }
            }
            StmtKind::Delete(ts) => {
                for t in ts {
                    self.target(t)?;
                }
            }
            StmtKind::Assign { targets, value } => {
                self.expr(value)?;
                for t in targets {
                    self.target(t)?;
                }
            }
            StmtKind::AugAssign { target, value, .. } => {
                self.expr(value)?;
                if let ExprKind::Name(n) = &target.kind {
                    self.use_name(n);
                }
                self.target(target)?;
            }
            StmtKind::AnnAssign {
                target,
                annotation,
                value,
            } => {
                if let Some(v) = value {
                    self.expr(v)?;
                }
                self.annotation(annotation)?;
                self.target(target)?;
            }
            StmtKind::For {
                target,
                iter,
                body,
                orelse,
                ..
            } => {
                self.expr(iter)?;
                self.target(target)?;
                self.stmts(body)?;
                self.stmts(orelse)?;
            }
            StmtKind::While { test, body, orelse } => {
                self.expr(test)?;
                self.stmts(body)?;
                self.stmts(orelse)?;
            }
            StmtKind::If { test, body, orelse } => {
                self.expr(test)?;
                self.stmts(body)?;
                self.stmts(orelse)?;
            }
            StmtKind::With { items, body, .. } => {
                for it in items {
                    self.expr(&it.context)?;
                    if let Some(t) = &it.target {
                        self.target(t)?;
                    }
                }
                self.stmts(body)?;
            }
            StmtKind::Raise { exc, cause } => {
                if let Some(e) = exc {
                    self.expr(e)?;
                }
                if let Some(c) = cause {
                    self.expr(c)?;
                }
            }
            StmtKind::Try {
                body,
                handlers,
                orelse,
                finalbody,
            } => {
                self.stmts(body)?;
                for h in handlers {
                    if let Some(t) = &h.typ {
                        self.expr(t)?;
                    }
                    if let Some(n) = &h.name {
                        self.bind(&n.name);
                    }
                    self.stmts(&h.body)?;
                }
                self.stmts(orelse)?;
                self.stmts(finalbody)?;
            }
            StmtKind::Assert { test, msg } => {
                self.expr(test)?;
                if let Some(m) = msg {
                    self.expr(m)?;
                }
            }
            StmtKind::Import(names) => {
                for a in names {
                    let bound = match &a.asname {
                        Some(n) => n.name.clone(),
                        None => a.name.split('.').next().unwrap_or("").to_string(),
                    };
                    self.bind(&bound);
                }
            }
            StmtKind::ImportFrom { names, .. } => {
                for a in names {
                    if a.name == "*" {
                        if self.scope().kind != ScopeKind::Module {
                            return Err(SymError {
                                message: "import * only allowed at module level".into(),
                                span: s.span.clone(),
                            });
                        }
                        continue;
                    }
                    let bound = a.asname.as_ref().map(|n| n.name.clone());
                    self.bind(&bound.unwrap_or_else(|| a.name.clone()));
                }
            }
            StmtKind::Global(names) => {
                for n in names {
                    let f = self.scope().get(&n.name);
                    if f & PARAM != 0 {
                        return Err(SymError {
                            message: format!("name '{}' is parameter and global", n.name),
                            span: n.span.clone(),
                        });
                    }
                    if f & (USED | ASSIGNED) != 0 {
                        let what = if f & ASSIGNED != 0 {
                            "assigned to"
                        } else {
                            "used"
                        };
                        return Err(SymError {
                            message: format!(
                                "name '{}' is {what} before global declaration",
                                n.name
                            ),
                            span: n.span.clone(),
                        });
                    }
                    self.scope().add(&n.name, GLOBAL);
                }
            }
            StmtKind::Nonlocal(names) => {
                for n in names {
                    if self.scope().kind == ScopeKind::Module {
                        return Err(SymError {
                            message: "nonlocal declaration not allowed at module level".into(),
                            span: s.span.clone(),
                        });
                    }
                    let f = self.scope().get(&n.name);
                    if f & PARAM != 0 {
                        return Err(SymError {
                            message: format!("name '{}' is parameter and nonlocal", n.name),
                            span: n.span.clone(),
                        });
                    }
                    if f & (USED | ASSIGNED) != 0 {
                        let what = if f & ASSIGNED != 0 {
                            "assigned to"
                        } else {
                            "used"
                        };
                        return Err(SymError {
                            message: format!(
                                "name '{}' is {what} before nonlocal declaration",
                                n.name
                            ),
                            span: n.span.clone(),
                        });
                    }
                    self.scope().add(&n.name, NONLOCAL);
                }
            }
            StmtKind::Expr(e) => self.expr(e)?,
            StmtKind::Pass | StmtKind::Break | StmtKind::Continue => {}
        }
        Ok(())
    }

    /// An assignment (or deletion) target.
    fn target(&mut self, t: &Expr) -> Result<(), SymError> {
        match &t.kind {
            ExprKind::Name(n) => self.bind(n),
            ExprKind::Tuple(items) | ExprKind::List(items) => {
                for i in items {
                    self.target(i)?;
                }
            }
            ExprKind::Starred(inner) => self.target(inner)?,
            _ => self.expr(t)?,
        }
        Ok(())
    }

    fn comprehension(
        &mut self,
        node: &Expr,
        generators: &[Comprehension],
        elts: &[&Expr],
        is_genexp: bool,
    ) -> Result<(), SymError> {
        // The first iterable is evaluated in the enclosing scope.
        if let Some(first) = generators.first() {
            self.expr(&first.iter)?;
        }
        let saved = self.cur;
        let name = match &node.kind {
            ExprKind::ListComp { .. } => "<listcomp>",
            ExprKind::SetComp { .. } => "<setcomp>",
            ExprKind::DictComp { .. } => "<dictcomp>",
            _ => "<genexpr>",
        };
        self.push_scope(ScopeKind::Comprehension, name, node_key(node));
        // A comprehension is a block of its own, not an annotation one (an
        // error below ends the build, so it needs no restoring).
        let saved_annotation = std::mem::replace(&mut self.in_annotation, false);
        self.scope().add(".0", PARAM);
        self.scope().params = vec![".0".to_string()];
        self.scope().is_generator = is_genexp;
        for (i, g) in generators.iter().enumerate() {
            if i > 0 {
                self.expr(&g.iter)?;
            }
            self.target(&g.target)?;
            for cond in &g.ifs {
                self.expr(cond)?;
            }
            if g.is_async {
                self.scope().has_await = true;
            }
        }
        for e in elts {
            self.expr(e)?;
        }
        // A comprehension that awaits is itself a coroutine, awaited where
        // it is evaluated; a generator expression that awaits is an
        // asynchronous generator, which its caller only creates.
        if self.scope().has_await {
            self.scope().is_async = true;
            if !is_genexp {
                self.table.scopes[saved].has_await = true;
            }
        }
        self.in_annotation = saved_annotation;
        self.cur = saved;
        Ok(())
    }

    fn expr(&mut self, e: &Expr) -> Result<(), SymError> {
        match &e.kind {
            ExprKind::BoolOp { values, .. } => {
                for v in values {
                    self.expr(v)?;
                }
            }
            ExprKind::NamedExpr { target, value } => {
                self.not_in_annotation("'named expression'", e)?;
                self.expr(value)?;
                // The target binds in the nearest non-comprehension scope.
                let mut id = self.cur;
                while self.table.scopes[id].kind == ScopeKind::Comprehension {
                    match self.table.scopes[id].parent {
                        Some(p) => id = p,
                        None => break,
                    }
                }
                if id != self.cur {
                    self.table.scopes[id].add(&target.name, ASSIGNED);
                    // Inside the comprehension the name is free (or global).
                    self.scope().add(&target.name, USED);
                } else {
                    self.bind(&target.name);
                }
            }
            ExprKind::BinOp { left, right, .. } => {
                self.expr(left)?;
                self.expr(right)?;
            }
            ExprKind::UnaryOp { operand, .. } => self.expr(operand)?,
            ExprKind::Lambda { params, body } => {
                self.params_defaults(params)?;
                let saved = self.cur;
                // A lambda is a function block, not an annotation one (an
                // error ends the build, so it needs no restoring).
                let saved_annotation = std::mem::replace(&mut self.in_annotation, false);
                self.push_scope(ScopeKind::Function, "<lambda>", node_key(e));
                self.declare_params(params);
                self.expr(body)?;
                self.in_annotation = saved_annotation;
                self.cur = saved;
            }
            ExprKind::IfExp { test, body, orelse } => {
                self.expr(test)?;
                self.expr(body)?;
                self.expr(orelse)?;
            }
            ExprKind::Dict { keys, values } => {
                for (k, v) in keys.iter().zip(values) {
                    if let Some(k) = k {
                        self.expr(k)?;
                    }
                    self.expr(v)?;
                }
            }
            ExprKind::Set(items) | ExprKind::List(items) | ExprKind::Tuple(items) => {
                for i in items {
                    self.expr(i)?;
                }
            }
            ExprKind::ListComp { elt, generators } | ExprKind::SetComp { elt, generators } => {
                self.comprehension(e, generators, &[elt], false)?;
            }
            ExprKind::GeneratorExp { elt, generators } => {
                self.comprehension(e, generators, &[elt], true)?;
            }
            ExprKind::DictComp {
                key,
                value,
                generators,
            } => {
                self.comprehension(e, generators, &[key, value], false)?;
            }
            ExprKind::Await(v) => {
                self.not_in_annotation("'await expression'", e)?;
                self.scope().has_await = true;
                self.expr(v)?;
            }
            ExprKind::Yield(v) => {
                self.not_in_annotation("'yield expression'", e)?;
                self.check_yield(e)?;
                if let Some(v) = v {
                    self.expr(v)?;
                }
            }
            ExprKind::YieldFrom(v) => {
                self.not_in_annotation("'yield expression'", e)?;
                self.check_yield(e)?;
                if self.scope().is_async {
                    return Err(SymError {
                        message: "'yield from' inside async function".into(),
                        span: e.span.clone(),
                    });
                }
                self.expr(v)?;
            }
            ExprKind::Compare {
                left, comparators, ..
            } => {
                self.expr(left)?;
                for c in comparators {
                    self.expr(c)?;
                }
            }
            ExprKind::Call {
                func,
                args,
                keywords,
            } => {
                self.expr(func)?;
                if let ExprKind::Name(n) = &func.kind
                    && n == "super"
                    && args.is_empty()
                {
                    self.scope().needs_class_cell = true;
                }
                for a in args {
                    self.expr(a)?;
                }
                for k in keywords {
                    self.expr(&k.value)?;
                }
            }
            ExprKind::FString(parts) => self.fparts(parts)?,
            ExprKind::Constant(_) => {}
            ExprKind::Attribute { value, .. } => self.expr(value)?,
            ExprKind::Subscript { value, index } => {
                self.expr(value)?;
                self.expr(index)?;
            }
            ExprKind::Starred(v) => self.expr(v)?,
            ExprKind::Name(n) => {
                if n == "__class__" {
                    self.scope().needs_class_cell = true;
                }
                self.use_name(n)
            }
            ExprKind::Slice { lower, upper, step } => {
                for p in [lower, upper, step].into_iter().flatten() {
                    self.expr(p)?;
                }
            }
        }
        Ok(())
    }

    fn fparts(&mut self, parts: &[FPart]) -> Result<(), SymError> {
        for p in parts {
            if let FPart::Field { expr, spec, .. } = p {
                self.expr(expr)?;
                self.fparts(spec)?;
            }
        }
        Ok(())
    }

    fn check_yield(&mut self, e: &Expr) -> Result<(), SymError> {
        let s = &self.table.scopes[self.cur];
        match s.kind {
            ScopeKind::Module | ScopeKind::Class => Err(SymError {
                message: "'yield' outside function".into(),
                span: e.span.clone(),
            }),
            ScopeKind::Comprehension => {
                let what = match s.name.as_str() {
                    "<listcomp>" => "list comprehension",
                    "<setcomp>" => "set comprehension",
                    "<dictcomp>" => "dict comprehension",
                    _ => "generator expression",
                };
                Err(SymError {
                    message: format!("'yield' inside {what}"),
                    span: e.span.clone(),
                })
            }
            ScopeKind::Function => {
                self.scope().is_generator = true;
                Ok(())
            }
        }
    }

    /// Resolves every name of every scope, parents before children.
    fn analyze(&mut self) -> Result<(), SymError> {
        let n = self.table.scopes.len();
        // Give methods that use super() the implicit __class__ free variable.
        for id in 0..n {
            if self.table.scopes[id].needs_class_cell {
                self.table.scopes[id].add("__class__", USED);
            }
        }
        for id in 0..n {
            let names: Vec<(String, u8)> = self.table.scopes[id].flags.clone();
            let kind = self.table.scopes[id].kind;
            for (name, f) in names {
                let scope = if f & GLOBAL != 0 {
                    NameScope::GlobalExplicit
                } else if f & NONLOCAL != 0 {
                    if self.find_binding(id, &name, true).is_none() {
                        return Err(SymError {
                            message: format!("no binding for nonlocal '{name}' found"),
                            span: 0..0,
                        });
                    }
                    self.mark_free(id, &name);
                    NameScope::Free
                } else if f & (ASSIGNED | PARAM) != 0 {
                    match kind {
                        ScopeKind::Module => NameScope::GlobalImplicit,
                        ScopeKind::Class => NameScope::Local,
                        _ => NameScope::Local,
                    }
                } else if kind == ScopeKind::Module
                    || (name == "__class__" && kind == ScopeKind::Class)
                {
                    NameScope::GlobalImplicit
                } else if self.find_binding(id, &name, false).is_some() {
                    self.mark_free(id, &name);
                    NameScope::Free
                } else {
                    NameScope::GlobalImplicit
                };
                let s = &mut self.table.scopes[id];
                // A cell decided by an inner scope wins over Local.
                if !(scope == NameScope::Local && s.resolved.get(&name) == Some(&NameScope::Cell)) {
                    s.resolved.insert(name.clone(), scope);
                }
            }
        }
        Ok(())
    }

    /// The nearest enclosing function scope (or, for `__class__`, class
    /// scope) that binds `name`.
    fn find_binding(&self, from: ScopeId, name: &str, _nonlocal: bool) -> Option<ScopeId> {
        let mut cur = self.table.scopes[from].parent;
        while let Some(id) = cur {
            let s = &self.table.scopes[id];
            if name == "__class__" && s.kind == ScopeKind::Class {
                return Some(id);
            }
            if s.is_function_like() {
                let f = s.get(name);
                if f & GLOBAL != 0 {
                    return None;
                }
                if f & (ASSIGNED | PARAM | NONLOCAL) != 0 {
                    return Some(id);
                }
            }
            cur = s.parent;
        }
        None
    }

    /// Marks `name` free in `from` and every function scope up to the one
    /// that binds it, and a cell there.
    fn mark_free(&mut self, from: ScopeId, name: &str) {
        let Some(owner) = self.find_binding(from, name, false) else {
            return;
        };
        let mut cur = Some(from);
        while let Some(id) = cur {
            if id == owner {
                let s = &mut self.table.scopes[id];
                let f = s.get(name);
                if f & NONLOCAL != 0 {
                    // The owner itself refers further out.
                    self.mark_free(id, name);
                    self.table.scopes[id]
                        .resolved
                        .insert(name.to_string(), NameScope::Free);
                    if !self.table.scopes[id].freevars.iter().any(|n| n == name) {
                        self.table.scopes[id].freevars.push(name.to_string());
                    }
                } else {
                    s.resolved.insert(name.to_string(), NameScope::Cell);
                    if !s.cellvars.iter().any(|n| n == name) {
                        s.cellvars.push(name.to_string());
                    }
                }
                break;
            }
            let s = &mut self.table.scopes[id];
            // Class scopes pass free variables through to their methods.
            if !s.freevars.iter().any(|n| n == name) {
                s.freevars.push(name.to_string());
            }
            if id != from && s.kind != ScopeKind::Class {
                s.resolved
                    .entry(name.to_string())
                    .or_insert(NameScope::Free);
            }
            cur = s.parent;
        }
    }
}
