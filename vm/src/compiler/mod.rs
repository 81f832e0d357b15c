//! AST → code objects.
//!
//! Control flow follows CPython 3.9's scheme: `try` pushes a handler block
//! at run time (`SetupFinally`), and `break`/`continue`/`return` leaving a
//! `try`, `with` or handler emit that construct's exit code inline, found by
//! walking the compile-time stack of enclosing blocks (`fblocks`).

mod annotations;
mod exctable;
pub mod stackdepth;
pub mod symtable;

use std::collections::HashMap;
use std::rc::Rc;

use covm_parser::ast::*;
use num_bigint::BigInt;

use crate::code::*;
use crate::opcode::{NO_ARG, Op};
use crate::value::Value;
use symtable::{NameScope, ScopeId, ScopeKind, SymbolTable};

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A script: expression statements discard their value.
    File,
    /// REPL input: expression statements at top level print their repr.
    Repl,
}

pub fn compile(
    module: &[Stmt],
    source: Rc<str>,
    filename: Rc<str>,
    mode: Mode,
) -> Result<Rc<Code>, SyntaxError> {
    // The future imports are checked first, as CPython does.
    let future_annotations = annotations::future_annotations(module)?;
    let table =
        symtable::build(module, future_annotations).map_err(|e| syntax_error(e.message, e.span))?;
    let mut c = Compiler {
        table,
        units: Vec::new(),
        source,
        filename,
        mode,
        future_annotations,
        interned: std::collections::HashSet::new(),
    };
    c.push_unit(0, "<module>", "<module>", 1);
    c.unit().doc = docstring(module);
    c.setup_annotations(module);
    for s in module {
        c.stmt(s)?;
    }
    c.emit_const(Value::None);
    c.emit(Op::ReturnValue);
    Ok(c.pop_unit())
}

fn syntax_error(message: impl Into<String>, span: Span) -> SyntaxError {
    SyntaxError {
        kind: "SyntaxError",
        message: message.into(),
        span,
        note: None,
        incomplete: false,
    }
}

fn unsupported(what: &str, span: Span) -> SyntaxError {
    syntax_error(format!("covm does not support {what} yet"), span)
}

type CResult<T = ()> = Result<T, SyntaxError>;

#[derive(Clone, Copy, PartialEq, Eq)]
struct Label(u32);

/// A compile-time block that `break`, `continue` and `return` must exit.
#[derive(Clone)]
enum FBlock<'a> {
    Loop {
        start: Label,
        end: Label,
        /// A `for` loop keeps its iterator on the stack.
        is_for: bool,
    },
    TryExcept,
    FinallyTry(&'a [Stmt]),
    /// Inside a `finally` run for an exception: the exception is on the
    /// stack and being handled.
    FinallyEnd,
    /// Inside an `except` body; the name bound by `as`, if any, must be
    /// cleared on exit.
    Handler(Option<&'a str>),
    With,
    AsyncWith,
    /// A `return` value kept on the stack while a `finally` body runs:
    /// `break`/`continue` in that body must drop it.
    PopValue,
    /// Inside an `except*` clause, which `break`, `continue` and `return`
    /// may not leave.
    StarHandler,
}

struct Unit<'a> {
    scope: ScopeId,
    name: Rc<str>,
    qualname: Rc<str>,
    ops: Vec<Op>,
    spans: Vec<Span>,
    consts: Vec<Value>,
    names: Vec<Rc<str>>,
    name_index: HashMap<Rc<str>, u32>,
    varnames: Vec<Rc<str>>,
    var_index: HashMap<String, u32>,
    cells: Vec<String>,
    ncellvars: usize,
    labels: Vec<Option<u32>>,
    fblocks: Vec<FBlock<'a>>,
    span: Span,
    first_line: u32,
    flags: u32,
    argcount: u32,
    posonly: u32,
    kwonly: u32,
    doc: Option<Rc<str>>,
}

struct Compiler<'a> {
    table: SymbolTable,
    units: Vec<Unit<'a>>,
    source: Rc<str>,
    filename: Rc<str>,
    mode: Mode,
    /// `from __future__ import annotations`: annotations stay source text.
    future_annotations: bool,
    /// One `Rc<str>` per distinct name across the module's code objects:
    /// the attribute `__init__` stores and the one a method loads are then
    /// the same pointer, and namespace lookups (`NameKey`) compare the
    /// address before the bytes.
    interned: std::collections::HashSet<Rc<str>>,
}

fn key<T>(node: &T) -> usize {
    node as *const T as usize
}

impl<'a> Compiler<'a> {
    // ---- units -------------------------------------------------------

    fn push_unit(&mut self, scope: ScopeId, name: &str, qualname: &str, first_line: u32) {
        let s = &self.table.scopes[scope];
        let mut varnames: Vec<Rc<str>> = Vec::new();
        let mut var_index = HashMap::new();
        let function_like = matches!(s.kind, ScopeKind::Function | ScopeKind::Comprehension);
        if function_like {
            for p in &s.params {
                if !var_index.contains_key(p) {
                    var_index.insert(p.clone(), varnames.len() as u32);
                    varnames.push(Rc::from(p.as_str()));
                }
            }
            for n in s.local_names() {
                if !var_index.contains_key(n) && s.lookup(n) == NameScope::Local {
                    var_index.insert(n.to_string(), varnames.len() as u32);
                    varnames.push(Rc::from(n));
                }
            }
        }
        let mut cells: Vec<String> = s.cellvars.clone();
        let ncellvars = cells.len();
        cells.extend(s.freevars.iter().cloned());
        let mut flags = 0;
        if s.kind == ScopeKind::Module || s.kind == ScopeKind::Class {
            flags |= FLAG_NAMESPACE;
        }
        if s.is_generator {
            flags |= if s.is_async {
                FLAG_ASYNC_GENERATOR
            } else {
                FLAG_GENERATOR
            };
        } else if s.is_async {
            flags |= FLAG_COROUTINE;
        }
        self.units.push(Unit {
            scope,
            name: Rc::from(name),
            qualname: Rc::from(qualname),
            ops: Vec::new(),
            spans: Vec::new(),
            consts: Vec::new(),
            names: Vec::new(),
            name_index: HashMap::new(),
            varnames,
            var_index,
            cells,
            ncellvars,
            labels: Vec::new(),
            fblocks: Vec::new(),
            span: 0..0,
            first_line,
            flags,
            argcount: 0,
            posonly: 0,
            kwonly: 0,
            doc: None,
        });
    }

    fn pop_unit(&mut self) -> Rc<Code> {
        let Some(mut u) = self.units.pop() else {
            unreachable!("pop_unit without a unit")
        };
        // Resolve label references.
        for l in u.ops.iter_mut().filter_map(Op::target_mut) {
            *l = u.labels[*l as usize].unwrap_or(0);
        }
        fuse_superinstructions(&mut u.ops);
        fuse_after_pairs(&mut u.ops);
        let cell_params = u
            .cells
            .iter()
            .take(u.ncellvars)
            .enumerate()
            .filter_map(|(ci, name)| u.var_index.get(name).map(|&li| (ci as u32, li)))
            .collect();
        let cell_params_empty = {
            let cp: &Vec<(u32, u32)> = &cell_params;
            cp.is_empty()
        };
        let cellvars = u.cells[..u.ncellvars]
            .iter()
            .map(|s| Rc::from(s.as_str()))
            .collect();
        let freevars = u.cells[u.ncellvars..]
            .iter()
            .map(|s| Rc::from(s.as_str()))
            .collect();
        let stacksize = stackdepth::max_stack_depth(&u.ops);
        let handlers = exctable::assemble(&mut u.ops, &mut u.spans, u.varnames.len() as u32);
        let global_cache = (0..u.names.len())
            .map(|_| std::cell::Cell::new(crate::code::GlobalSlot::EMPTY))
            .collect();
        Rc::new(Code {
            stacksize,
            handlers,
            name: u.name,
            qualname: u.qualname,
            filename: self.filename.clone(),
            flags: u.flags,
            ops: u.ops,
            spans: u.spans,
            consts: u.consts,
            names: u.names,
            varnames: u.varnames,
            cellvars,
            freevars,
            cell_params,
            argcount: u.argcount,
            posonlyargcount: u.posonly,
            kwonlyargcount: u.kwonly,
            source: self.source.clone(),
            first_line: u.first_line,
            doc: u.doc,
            global_cache,
            method_cache: std::cell::RefCell::new(Vec::new()),
            fast_call: u.flags
                & (FLAG_VARARGS
                    | FLAG_VARKW
                    | FLAG_GENERATOR
                    | FLAG_COROUTINE
                    | FLAG_ASYNC_GENERATOR
                    | FLAG_NAMESPACE)
                == 0
                && u.kwonly == 0
                && cell_params_empty,
            fast_gen_call: u.flags & (FLAG_VARARGS | FLAG_VARKW | FLAG_NAMESPACE) == 0
                && u.flags & (FLAG_GENERATOR | FLAG_COROUTINE | FLAG_ASYNC_GENERATOR) != 0
                && u.kwonly == 0
                && cell_params_empty,
        })
    }

    fn unit(&mut self) -> &mut Unit<'a> {
        let Some(u) = self.units.last_mut() else {
            unreachable!("no compilation unit")
        };
        u
    }

    fn scope_kind(&self) -> ScopeKind {
        let Some(u) = self.units.last() else {
            unreachable!("no compilation unit")
        };
        self.table.scopes[u.scope].kind
    }

    fn emit(&mut self, op: Op) -> usize {
        let u = self.unit();
        u.ops.push(op);
        let span = u.span.clone();
        u.spans.push(span);
        u.ops.len() - 1
    }

    fn new_label(&mut self) -> Label {
        let u = self.unit();
        u.labels.push(None);
        Label(u.labels.len() as u32 - 1)
    }

    fn bind(&mut self, l: Label) {
        let u = self.unit();
        u.labels[l.0 as usize] = Some(u.ops.len() as u32);
    }

    fn emit_const(&mut self, v: Value) {
        let u = self.unit();
        // Reuse identical simple constants.
        let found = u.consts.iter().position(|c| match (c, &v) {
            (Value::None, Value::None) => true,
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::Int(a), Value::Int(b)) => a == b,
            (Value::Str(a), Value::Str(b)) => a.as_str() == b.as_str(),
            _ => false,
        });
        let i = match found {
            Some(i) => i,
            None => {
                u.consts.push(v);
                u.consts.len() - 1
            }
        };
        self.emit(Op::LoadConst(i as u32));
    }

    fn name_idx(&mut self, name: &str) -> u32 {
        let u = self.unit();
        if let Some(&i) = u.name_index.get(name) {
            return i;
        }
        let rc = match self.interned.get(name) {
            Some(rc) => rc.clone(),
            None => {
                let rc: Rc<str> = Rc::from(name);
                self.interned.insert(rc.clone());
                rc
            }
        };
        let u = self.unit();
        u.names.push(rc.clone());
        let i = u.names.len() as u32 - 1;
        u.name_index.insert(rc, i);
        i
    }

    fn cell_idx(&mut self, name: &str) -> u32 {
        let u = self.unit();
        match u.cells.iter().position(|c| c == name) {
            Some(i) => i as u32,
            None => {
                // Should not happen: the symbol table decides cells.
                u.cells.push(name.to_string());
                u.cells.len() as u32 - 1
            }
        }
    }

    fn set_span(&mut self, span: &Span) -> Span {
        let u = self.unit();
        std::mem::replace(&mut u.span, span.clone())
    }

    fn restore_span(&mut self, span: Span) {
        self.unit().span = span;
    }

    fn name_scope(&self, name: &str) -> NameScope {
        let Some(u) = self.units.last() else {
            unreachable!("no compilation unit")
        };
        self.table.scopes[u.scope].lookup(name)
    }

    // ---- names -------------------------------------------------------

    fn load_name(&mut self, name: &str) {
        let kind = self.scope_kind();
        let sc = self.name_scope(name);
        match kind {
            ScopeKind::Module => {
                let i = self.name_idx(name);
                self.emit(Op::LoadGlobal(i));
            }
            ScopeKind::Class => match sc {
                NameScope::Free | NameScope::Cell => {
                    let c = self.cell_idx(name);
                    let n = self.name_idx(name);
                    self.emit(Op::LoadClassDeref(c | (n << 16)));
                }
                NameScope::GlobalExplicit => {
                    let i = self.name_idx(name);
                    self.emit(Op::LoadGlobal(i));
                }
                _ => {
                    let i = self.name_idx(name);
                    self.emit(Op::LoadName(i));
                }
            },
            _ => match sc {
                NameScope::Local => {
                    let i = self.unit().var_index.get(name).copied();
                    match i {
                        Some(i) => self.emit(Op::LoadFast(i)),
                        None => {
                            let i = self.name_idx(name);
                            self.emit(Op::LoadGlobal(i))
                        }
                    };
                }
                NameScope::Cell | NameScope::Free => {
                    let c = self.cell_idx(name);
                    self.emit(Op::LoadDeref(c));
                }
                _ => {
                    let i = self.name_idx(name);
                    self.emit(Op::LoadGlobal(i));
                }
            },
        }
    }

    fn store_name(&mut self, name: &str) {
        self.name_op(
            name,
            Op::StoreFast,
            Op::StoreDeref,
            Op::StoreName,
            Op::StoreGlobal,
        );
    }

    fn delete_name(&mut self, name: &str) {
        self.name_op(
            name,
            Op::DeleteFast,
            Op::DeleteDeref,
            Op::DeleteName,
            Op::DeleteGlobal,
        );
    }

    fn name_op(
        &mut self,
        name: &str,
        fast: fn(u32) -> Op,
        deref: fn(u32) -> Op,
        by_name: fn(u32) -> Op,
        global: fn(u32) -> Op,
    ) {
        let kind = self.scope_kind();
        let sc = self.name_scope(name);
        let op = match (kind, sc) {
            (ScopeKind::Module, _) => global(self.name_idx(name)),
            (_, NameScope::GlobalExplicit) => global(self.name_idx(name)),
            (_, NameScope::Cell) | (_, NameScope::Free) => deref(self.cell_idx(name)),
            (ScopeKind::Class, _) => by_name(self.name_idx(name)),
            (_, NameScope::Local) => match self.unit().var_index.get(name).copied() {
                Some(i) => fast(i),
                None => global(self.name_idx(name)),
            },
            _ => global(self.name_idx(name)),
        };
        self.emit(op);
    }

    // ---- statements --------------------------------------------------

    fn stmts(&mut self, body: &'a [Stmt]) -> CResult {
        for s in body {
            self.stmt(s)?;
        }
        Ok(())
    }

    fn stmt(&mut self, s: &'a Stmt) -> CResult {
        let saved = self.set_span(&s.span);
        let r = self.stmt_inner(s);
        self.restore_span(saved);
        r
    }

    fn stmt_inner(&mut self, s: &'a Stmt) -> CResult {
        match &s.kind {
            StmtKind::Expr(e) => {
                if let ExprKind::Constant(Constant::Str(_)) = &e.kind
                    && self.mode == Mode::File
                {
                    // A docstring or bare string statement: nothing to run.
                    return Ok(());
                }
                self.expr(e)?;
                if self.mode == Mode::Repl && self.units.len() == 1 {
                    self.emit(Op::PrintExpr);
                } else {
                    self.emit(Op::PopTop);
                }
            }
            StmtKind::Assign { targets, value } => {
                self.expr(value)?;
                for (i, t) in targets.iter().enumerate() {
                    if i + 1 < targets.len() {
                        self.emit(Op::DupTop);
                    }
                    self.store_target(t)?;
                }
            }
            StmtKind::AugAssign { target, op, value } => self.aug_assign(target, *op, value)?,
            StmtKind::AnnAssign {
                target,
                value,
                annotation,
            } => {
                if let Some(v) = value {
                    self.expr(v)?;
                    self.store_target(target)?;
                }
                self.store_annotation(target, annotation)?;
            }
            StmtKind::Pass => {}
            StmtKind::Return(v) => self.return_stmt(v.as_ref(), &s.span)?,
            StmtKind::If { test, body, orelse } => {
                let else_l = self.new_label();
                let end = self.new_label();
                self.jump_if(test, false, else_l)?;
                self.stmts(body)?;
                if !orelse.is_empty() {
                    self.emit(Op::Jump(end.0));
                }
                self.bind(else_l);
                self.stmts(orelse)?;
                self.bind(end);
            }
            StmtKind::While { test, body, orelse } => {
                // As CPython 3.11: the test runs before the first pass and
                // again at the bottom of the body, so an iteration ends in
                // one conditional jump back rather than a jump up to the
                // test. `while True:` tests nothing.
                let always = matches!(test.kind, ExprKind::Constant(Constant::True));
                let start = self.new_label();
                let body_l = self.new_label();
                let else_l = self.new_label();
                let end = self.new_label();
                self.bind(start);
                if !always {
                    self.jump_if(test, false, else_l)?;
                }
                self.bind(body_l);
                self.unit().fblocks.push(FBlock::Loop {
                    start,
                    end,
                    is_for: false,
                });
                self.stmts(body)?;
                self.unit().fblocks.pop();
                if always {
                    self.emit(Op::Jump(body_l.0));
                } else {
                    self.jump_if(test, true, body_l)?;
                }
                self.bind(else_l);
                self.stmts(orelse)?;
                self.bind(end);
            }
            StmtKind::For {
                target,
                iter,
                body,
                orelse,
                is_async,
            } => {
                if *is_async {
                    self.check_async("'async for' outside async function", &s.span)?;
                    return self.async_for(target, iter, body, orelse);
                }
                let start = self.new_label();
                let exhausted = self.new_label();
                let end = self.new_label();
                self.expr(iter)?;
                self.emit(Op::GetIter);
                self.bind(start);
                self.emit(Op::ForIter(exhausted.0));
                self.store_target(target)?;
                self.unit().fblocks.push(FBlock::Loop {
                    start,
                    end,
                    is_for: true,
                });
                self.stmts(body)?;
                self.unit().fblocks.pop();
                self.emit(Op::Jump(start.0));
                self.bind(exhausted);
                self.stmts(orelse)?;
                self.bind(end);
            }
            StmtKind::Break => self.break_continue(true, &s.span)?,
            StmtKind::Continue => self.break_continue(false, &s.span)?,
            StmtKind::FunctionDef(f) => self.function_def(f, &s.span)?,
            StmtKind::ClassDef(c) => self.class_def(c, &s.span)?,
            StmtKind::Delete(targets) => {
                for t in targets {
                    self.delete_target(t)?;
                }
            }
            StmtKind::Raise { exc, cause } => {
                let mut n = 0;
                if let Some(e) = exc {
                    self.expr(e)?;
                    n = 1;
                    if let Some(c) = cause {
                        self.expr(c)?;
                        n = 2;
                    }
                }
                self.emit(Op::Raise(n));
            }
            StmtKind::Try {
                body,
                handlers,
                orelse,
                finalbody,
            } => {
                if finalbody.is_empty() {
                    self.try_except(body, handlers, orelse)?;
                } else {
                    self.try_finally(body, handlers, orelse, finalbody)?;
                }
            }
            StmtKind::Assert { test, msg } => {
                let end = self.new_label();
                self.jump_if(test, true, end)?;
                self.emit(Op::LoadAssertionError);
                if let Some(m) = msg {
                    self.expr(m)?;
                    self.emit(Op::Call(1));
                }
                self.emit(Op::Raise(1));
                self.bind(end);
            }
            StmtKind::With {
                items,
                body,
                is_async,
            } => {
                if *is_async {
                    self.check_async("'async with' outside async function", &s.span)?;
                    self.with(items, body, true)?;
                } else {
                    self.with(items, body, false)?;
                }
            }
            StmtKind::Import(names) => {
                for a in names {
                    match &a.asname {
                        Some(asname) => {
                            let i = self.name_idx(&a.name);
                            self.emit(Op::ImportName(i));
                            self.store_name(&asname.name);
                        }
                        None => {
                            let top = a.name.split('.').next().unwrap_or("").to_string();
                            if top != a.name {
                                let i = self.name_idx(&a.name);
                                self.emit(Op::ImportName(i));
                                self.emit(Op::PopTop);
                            }
                            let i = self.name_idx(&top);
                            self.emit(Op::ImportName(i));
                            self.store_name(&top);
                        }
                    }
                }
            }
            StmtKind::ImportFrom { module, names } => {
                let i = self.name_idx(module);
                self.emit(Op::ImportName(i));
                for a in names {
                    if a.name == "*" {
                        self.emit(Op::DupTop);
                        self.emit(Op::ImportStar);
                        continue;
                    }
                    let n = self.name_idx(&a.name);
                    self.emit(Op::ImportFrom(n));
                    let bound = a
                        .asname
                        .as_ref()
                        .map(|x| x.name.as_str())
                        .unwrap_or(&a.name);
                    self.store_name(bound);
                }
                self.emit(Op::PopTop);
            }
            StmtKind::Global(_) | StmtKind::Nonlocal(_) => {}
        }
        Ok(())
    }

    fn return_stmt(&mut self, v: Option<&'a Expr>, span: &Span) -> CResult {
        if matches!(self.scope_kind(), ScopeKind::Module | ScopeKind::Class) {
            return Err(syntax_error("'return' outside function", span.clone()));
        }
        if self.unit().flags & FLAG_ASYNC_GENERATOR != 0 && v.is_some() {
            return Err(syntax_error(
                "'return' with value in async generator",
                span.clone(),
            ));
        }
        if self
            .unit()
            .fblocks
            .iter()
            .any(|b| matches!(b, FBlock::StarHandler))
        {
            return Err(star_exit_error(span));
        }
        match v {
            Some(e) => self.expr(e)?,
            None => self.emit_const(Value::None),
        }
        self.unwind_all(true)?;
        self.emit(Op::ReturnValue);
        Ok(())
    }

    fn break_continue(&mut self, is_break: bool, span: &Span) -> CResult {
        let blocks = self.unit().fblocks.clone();
        let pos = blocks
            .iter()
            .rposition(|b| matches!(b, FBlock::Loop { .. }));
        if blocks[pos.map_or(0, |p| p + 1)..]
            .iter()
            .any(|b| matches!(b, FBlock::StarHandler))
        {
            return Err(star_exit_error(span));
        }
        let Some(pos) = pos else {
            let msg = if is_break {
                "'break' outside loop"
            } else {
                "'continue' not properly in loop"
            };
            return Err(syntax_error(msg, span.clone()));
        };
        for i in (pos + 1..blocks.len()).rev() {
            self.unwind_block(&blocks, i, false)?;
        }
        if let FBlock::Loop { start, end, is_for } = blocks[pos] {
            if is_break {
                if is_for {
                    self.emit(Op::PopTop);
                }
                self.emit(Op::Jump(end.0));
            } else {
                self.emit(Op::Jump(start.0));
            }
        }
        Ok(())
    }

    /// Emits the exit code of every enclosing block, for `return`.
    fn unwind_all(&mut self, preserve_tos: bool) -> CResult {
        let blocks = self.unit().fblocks.clone();
        for i in (0..blocks.len()).rev() {
            self.unwind_block(&blocks, i, preserve_tos)?;
            if let FBlock::Loop { is_for: true, .. } = blocks[i] {
                if preserve_tos {
                    self.emit(Op::RotTwo);
                }
                self.emit(Op::PopTop);
            }
        }
        Ok(())
    }

    /// Exit code for block `i` (not for the loop iterator itself).
    fn unwind_block(&mut self, blocks: &[FBlock<'a>], i: usize, preserve_tos: bool) -> CResult {
        match &blocks[i] {
            FBlock::Loop { .. } => {}
            FBlock::TryExcept => {
                self.emit(Op::PopBlock);
            }
            FBlock::FinallyTry(body) => {
                self.emit(Op::PopBlock);
                // The finally body runs with the blocks outside it.
                let mut outer = blocks[..i].to_vec();
                if preserve_tos {
                    outer.push(FBlock::PopValue);
                }
                let saved = std::mem::replace(&mut self.unit().fblocks, outer);
                self.stmts(body)?;
                self.unit().fblocks = saved;
            }
            FBlock::PopValue => {
                if preserve_tos {
                    self.emit(Op::RotTwo);
                }
                self.emit(Op::PopTop);
            }
            FBlock::FinallyEnd => {
                if preserve_tos {
                    self.emit(Op::RotTwo);
                }
                self.emit(Op::PopTop);
                self.emit(Op::PopExcept);
            }
            FBlock::Handler(name) => {
                if name.is_some() {
                    self.emit(Op::PopBlock);
                }
                self.emit(Op::PopExcept);
                if let Some(n) = name {
                    self.emit_const(Value::None);
                    self.store_name(n);
                    self.delete_name(n);
                }
            }
            FBlock::StarHandler => {}
            FBlock::With | FBlock::AsyncWith => {
                self.emit(Op::PopBlock);
                if preserve_tos {
                    self.emit(Op::RotTwo);
                }
                self.emit_const(Value::None);
                self.emit(Op::DupTop);
                self.emit(Op::DupTop);
                self.emit(Op::Call(3));
                if matches!(blocks[i], FBlock::AsyncWith) {
                    self.emit_await();
                }
                self.emit(Op::PopTop);
            }
        }
        Ok(())
    }

    fn try_except(
        &mut self,
        body: &'a [Stmt],
        handlers: &'a [ExceptHandler],
        orelse: &'a [Stmt],
    ) -> CResult {
        if handlers.first().is_some_and(|h| h.star) {
            return self.try_except_star(body, handlers, orelse);
        }
        let handler_l = self.new_label();
        let end = self.new_label();
        self.emit(Op::SetupFinally(handler_l.0));
        self.unit().fblocks.push(FBlock::TryExcept);
        self.stmts(body)?;
        self.unit().fblocks.pop();
        self.emit(Op::PopBlock);
        self.stmts(orelse)?;
        self.emit(Op::Jump(end.0));
        self.bind(handler_l);
        // Stack: [exc]; an ExceptHandler block is active.
        for (i, h) in handlers.iter().enumerate() {
            let saved = self.set_span(&h.span);
            let next = self.new_label();
            match &h.typ {
                Some(t) => {
                    self.expr(t)?;
                    self.emit(Op::CheckExcMatch);
                    self.emit(Op::PopJumpIfFalse(next.0));
                }
                None => {
                    if i + 1 != handlers.len() {
                        return Err(syntax_error(
                            "default 'except:' must be last",
                            h.span.clone(),
                        ));
                    }
                }
            }
            match &h.name {
                Some(name) => {
                    self.store_name(&name.name);
                    // A cleanup handler clears the name even when the body
                    // raises, as CPython does.
                    let cleanup = self.new_label();
                    self.emit(Op::SetupFinally(cleanup.0));
                    self.unit().fblocks.push(FBlock::Handler(Some(&name.name)));
                    self.stmts(&h.body)?;
                    self.unit().fblocks.pop();
                    self.emit(Op::PopBlock);
                    self.emit(Op::PopExcept);
                    self.emit_const(Value::None);
                    self.store_name(&name.name);
                    self.delete_name(&name.name);
                    self.emit(Op::Jump(end.0));
                    self.bind(cleanup);
                    self.emit_const(Value::None);
                    self.store_name(&name.name);
                    self.delete_name(&name.name);
                    self.emit(Op::Reraise);
                }
                None => {
                    self.emit(Op::PopTop);
                    self.unit().fblocks.push(FBlock::Handler(None));
                    self.stmts(&h.body)?;
                    self.unit().fblocks.pop();
                    self.emit(Op::PopExcept);
                    self.emit(Op::Jump(end.0));
                }
            }
            self.bind(next);
            self.restore_span(saved);
        }
        self.emit(Op::Reraise);
        self.bind(end);
        Ok(())
    }

    /// Loads a builtin by name (the hidden helpers of `except*`).
    fn load_hidden(&mut self, name: &str) {
        let i = self.name_idx(name);
        self.emit(Op::LoadGlobal(i));
    }

    /// `try` with `except*` clauses. The handler keeps a state object (see
    /// `exc_star.rs`) on the stack: each clause takes its match from it,
    /// runs with the match bound, and reports an exception it raises; at
    /// the end whatever is left or was raised is re-raised as one group.
    fn try_except_star(
        &mut self,
        body: &'a [Stmt],
        handlers: &'a [ExceptHandler],
        orelse: &'a [Stmt],
    ) -> CResult {
        let handler_l = self.new_label();
        let end = self.new_label();
        self.emit(Op::SetupFinally(handler_l.0));
        self.unit().fblocks.push(FBlock::TryExcept);
        self.stmts(body)?;
        self.unit().fblocks.pop();
        self.emit(Op::PopBlock);
        self.stmts(orelse)?;
        self.emit(Op::Jump(end.0));
        self.bind(handler_l);
        // Stack: [exc]; an ExceptHandler block is active.
        self.load_hidden("__covm_star_begin__");
        self.emit(Op::RotTwo);
        self.emit(Op::Call(1));
        // Stack: [state].
        for h in handlers {
            let saved = self.set_span(&h.span);
            let skip = self.new_label();
            let next = self.new_label();
            let fail = self.new_label();
            self.emit(Op::DupTop);
            self.load_hidden("__covm_star_match__");
            self.emit(Op::RotTwo);
            if let Some(t) = &h.typ {
                self.expr(t)?;
            }
            self.emit(Op::Call(2));
            // Stack: [state, match-or-None].
            self.emit(Op::DupTop);
            self.emit(Op::PopJumpIfFalse(skip.0));
            match &h.name {
                Some(n) => self.store_name(&n.name),
                None => {
                    self.emit(Op::PopTop);
                }
            }
            self.emit(Op::SetupFinally(fail.0));
            self.unit().fblocks.push(FBlock::StarHandler);
            self.stmts(&h.body)?;
            self.unit().fblocks.pop();
            self.emit(Op::PopBlock);
            self.clear_handler_name(h);
            self.emit(Op::Jump(next.0));
            // The clause raised: [state, exc2], handling exc2.
            self.bind(fail);
            self.clear_handler_name(h);
            self.emit(Op::RotTwo);
            self.emit(Op::DupTop);
            self.emit(Op::RotThree);
            self.emit(Op::RotTwo);
            self.load_hidden("__covm_star_raised__");
            self.emit(Op::RotThree);
            self.emit(Op::Call(2));
            self.emit(Op::PopTop);
            self.emit(Op::PopExcept);
            self.emit(Op::Jump(next.0));
            self.bind(skip);
            self.emit(Op::PopTop);
            self.bind(next);
            self.restore_span(saved);
        }
        let done = self.new_label();
        self.load_hidden("__covm_star_end__");
        self.emit(Op::RotTwo);
        self.emit(Op::Call(1));
        self.emit(Op::DupTop);
        self.emit(Op::PopJumpIfFalse(done.0));
        self.emit(Op::Reraise);
        self.bind(done);
        self.emit(Op::PopTop);
        self.emit(Op::PopExcept);
        self.bind(end);
        Ok(())
    }

    fn clear_handler_name(&mut self, h: &'a ExceptHandler) {
        if let Some(n) = &h.name {
            self.emit_const(Value::None);
            self.store_name(&n.name);
            self.delete_name(&n.name);
        }
    }

    fn try_finally(
        &mut self,
        body: &'a [Stmt],
        handlers: &'a [ExceptHandler],
        orelse: &'a [Stmt],
        finalbody: &'a [Stmt],
    ) -> CResult {
        let handler_l = self.new_label();
        let end = self.new_label();
        self.emit(Op::SetupFinally(handler_l.0));
        self.unit().fblocks.push(FBlock::FinallyTry(finalbody));
        if handlers.is_empty() {
            self.stmts(body)?;
            self.stmts(orelse)?;
        } else {
            self.try_except(body, handlers, orelse)?;
        }
        self.unit().fblocks.pop();
        self.emit(Op::PopBlock);
        self.stmts(finalbody)?;
        self.emit(Op::Jump(end.0));
        self.bind(handler_l);
        self.unit().fblocks.push(FBlock::FinallyEnd);
        self.stmts(finalbody)?;
        self.unit().fblocks.pop();
        self.emit(Op::Reraise);
        self.bind(end);
        Ok(())
    }

    /// `with` and `async with`: enter each item in turn, run the body,
    /// and call (and for `async with`, await) `__exit__` on every way out.
    fn with(&mut self, items: &'a [WithItem], body: &'a [Stmt], is_async: bool) -> CResult {
        let Some((first, rest)) = items.split_first() else {
            return self.stmts(body);
        };
        let handler_l = self.new_label();
        let end = self.new_label();
        self.expr(&first.context)?;
        if is_async {
            self.emit(Op::BeforeAsyncWith);
            self.emit_await();
        } else {
            self.emit(Op::BeforeWith);
        }
        self.emit(Op::SetupWith(handler_l.0));
        match &first.target {
            Some(t) => self.store_target(t)?,
            None => {
                self.emit(Op::PopTop);
            }
        }
        self.unit().fblocks.push(if is_async {
            FBlock::AsyncWith
        } else {
            FBlock::With
        });
        self.with(rest, body, is_async)?;
        self.unit().fblocks.pop();
        self.emit(Op::PopBlock);
        self.emit_const(Value::None);
        self.emit(Op::DupTop);
        self.emit(Op::DupTop);
        self.emit(Op::Call(3));
        if is_async {
            self.emit_await();
        }
        self.emit(Op::PopTop);
        self.emit(Op::Jump(end.0));
        // Stack: [exit exc].
        self.bind(handler_l);
        let suppress = self.new_label();
        self.emit(Op::WithExceptStart);
        if is_async {
            self.emit_await();
        }
        self.emit(Op::PopJumpIfTrue(suppress.0));
        self.emit(Op::Reraise);
        self.bind(suppress);
        self.emit(Op::PopTop);
        self.emit(Op::PopExcept);
        self.emit(Op::PopTop);
        self.bind(end);
        Ok(())
    }

    /// REPL input may `await` at top level (as `python -m asyncio`
    /// allows): the module code then becomes a coroutine the REPL runs on
    /// the event loop.
    fn allow_top_level_await(&mut self) {
        if self.mode == Mode::Repl && self.units.len() == 1 {
            self.unit().flags |= FLAG_COROUTINE;
        }
    }

    fn check_async(&mut self, msg: &str, span: &Span) -> CResult {
        self.allow_top_level_await();
        if self.unit().flags & (FLAG_COROUTINE | FLAG_ASYNC_GENERATOR) == 0 {
            return Err(syntax_error(msg, span.clone()));
        }
        Ok(())
    }

    /// `(awaitable -- result)`
    fn emit_await(&mut self) {
        self.emit(Op::GetAwaitable);
        self.emit_const(Value::None);
        self.emit(Op::YieldFrom);
    }

    fn async_for(
        &mut self,
        target: &'a Expr,
        iter: &'a Expr,
        body: &'a [Stmt],
        orelse: &'a [Stmt],
    ) -> CResult {
        let start = self.new_label();
        let handler = self.new_label();
        let end = self.new_label();
        self.expr(iter)?;
        self.emit(Op::GetAIter);
        self.bind(start);
        self.emit(Op::SetupFinally(handler.0));
        self.emit(Op::GetANext);
        self.emit_await();
        self.emit(Op::PopBlock);
        self.store_target(target)?;
        self.unit().fblocks.push(FBlock::Loop {
            start,
            end,
            is_for: true,
        });
        self.stmts(body)?;
        self.unit().fblocks.pop();
        self.emit(Op::Jump(start.0));
        self.bind(handler);
        self.emit(Op::EndAsyncFor);
        self.stmts(orelse)?;
        self.bind(end);
        Ok(())
    }

    fn function_def(&mut self, f: &'a FunctionDef, span: &Span) -> CResult {
        // Instances are freed by reference counting and the cycle
        // collector without calling finalizers: refuse a class that
        // relies on one rather than silently never calling it.
        if f.name.name == "__del__" && self.scope_kind() == ScopeKind::Class {
            return Err(unsupported("__del__ finalizers", f.name.span.clone()));
        }
        for d in &f.decorators {
            self.expr(d)?;
        }
        let scope = self.scope_for(key(f), span)?;
        let qualname = self.child_qualname(&f.name.name);
        let line = self.line_of(span.start);
        let sig = (Some(&f.params), f.returns.as_ref());
        self.make_function(scope, &f.name.name, &qualname, sig, line, |c| {
            c.docstring_skip_and_body(&f.body)
        })?;
        for _ in &f.decorators {
            self.emit(Op::Call(1));
        }
        self.store_name(&f.name.name);
        Ok(())
    }

    /// The annotations of a function's parameters and return, evaluated in
    /// CPython's order (after the defaults) for their effects and errors
    /// (`await` in one is outside the function) and dropped: covm keeps no
    /// `__annotations__` for functions. Not evaluated under
    /// `from __future__ import annotations`.
    fn evaluate_annotations(&mut self, params: &'a Params, returns: Option<&'a Expr>) -> CResult {
        if self.future_annotations {
            return Ok(());
        }
        let all = params
            .args
            .iter()
            .chain(&params.posonly)
            .chain(&params.vararg)
            .chain(&params.kwonly)
            .chain(&params.kwarg)
            .filter_map(|p| p.annotation.as_ref())
            .chain(returns);
        for a in all {
            self.expr(a)?;
            self.emit(Op::PopTop);
        }
        Ok(())
    }

    fn docstring_skip_and_body(&mut self, body: &'a [Stmt]) -> CResult {
        self.unit().doc = docstring(body);
        self.stmts(body)?;
        self.emit_const(Value::None);
        self.emit(Op::ReturnValue);
        Ok(())
    }

    fn line_of(&self, pos: usize) -> u32 {
        let end = pos.min(self.source.len());
        (self.source.as_bytes()[..end]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1) as u32
    }

    fn scope_for(&self, k: usize, span: &Span) -> CResult<ScopeId> {
        self.table
            .by_node
            .get(&k)
            .copied()
            .ok_or_else(|| syntax_error("internal error: scope not found", span.clone()))
    }

    fn child_qualname(&self, name: &str) -> String {
        let Some(u) = self.units.last() else {
            return name.to_string();
        };
        match self.table.scopes[u.scope].kind {
            ScopeKind::Module => name.to_string(),
            ScopeKind::Class => format!("{}.{}", u.qualname, name),
            _ => format!("{}.<locals>.{}", u.qualname, name),
        }
    }

    /// Compiles defaults, the annotations (`sig`: the parameters and the
    /// return annotation), the body (via `body`) and the closure, leaving the
    /// new function on the stack.
    fn make_function(
        &mut self,
        scope: ScopeId,
        name: &str,
        qualname: &str,
        sig: (Option<&'a Params>, Option<&'a Expr>),
        line: u32,
        body: impl FnOnce(&mut Self) -> CResult,
    ) -> CResult {
        let (params, returns) = sig;
        let mut flags = 0u32;
        // Comprehensions take one positional argument, the iterator; class
        // bodies take none.
        let comprehension_args = u32::from(params.is_none() && name.starts_with('<'));
        let params = params.unwrap_or(&NO_PARAMS);
        let defaults: Vec<&'a Expr> = params
            .posonly
            .iter()
            .chain(&params.args)
            .filter_map(|p| p.default.as_ref())
            .collect();
        if !defaults.is_empty() {
            for d in &defaults {
                self.expr(d)?;
            }
            self.emit(Op::BuildTuple(defaults.len() as u32));
            flags |= 1;
        }
        let kwdefaults: Vec<(&str, &'a Expr)> = params
            .kwonly
            .iter()
            .filter_map(|p| p.default.as_ref().map(|d| (p.name.name.as_str(), d)))
            .collect();
        if !kwdefaults.is_empty() {
            for (n, d) in &kwdefaults {
                self.emit_const(Value::str(*n));
                self.expr(d)?;
            }
            self.emit(Op::BuildMap(kwdefaults.len() as u32));
            flags |= 2;
        }
        self.evaluate_annotations(params, returns)?;
        self.push_unit(scope, name, qualname, line);
        {
            let u = self.unit();
            u.posonly = params.posonly.len() as u32;
            u.argcount = (params.posonly.len() + params.args.len()) as u32 + comprehension_args;
            u.kwonly = params.kwonly.len() as u32;
            if params.vararg.is_some() {
                u.flags |= FLAG_VARARGS;
            }
            if params.kwarg.is_some() {
                u.flags |= FLAG_VARKW;
            }
        }
        body(self)?;
        let code = self.pop_unit();
        if !code.freevars.is_empty() {
            for fv in code.freevars.iter() {
                let i = self.cell_idx(fv);
                self.emit(Op::LoadClosure(i));
            }
            self.emit(Op::BuildTuple(code.freevars.len() as u32));
            flags |= 8;
        }
        self.emit_const(Value::Code(code));
        self.emit(Op::MakeFunction(flags));
        Ok(())
    }

    fn class_def(&mut self, c: &'a ClassDef, span: &Span) -> CResult {
        // `metaclass=ABCMeta` (or `abc.ABCMeta`, `type`) is the one
        // metaclass covm accepts: it makes the class an `abc.ABC`.
        let abc_meta = |k: &Keyword| {
            k.arg.as_ref().is_some_and(|a| a.name == "metaclass")
                && match &k.value.kind {
                    ExprKind::Name(n) => n == "ABCMeta" || n == "type",
                    ExprKind::Attribute { attr, .. } => attr.name == "ABCMeta",
                    _ => false,
                }
        };
        let meta = match c.keywords.as_slice() {
            [] => None,
            [k] if abc_meta(k) => Some(&k.value),
            [k, ..] => {
                let what = match &k.arg {
                    Some(a) if a.name == "metaclass" => "metaclasses".to_string(),
                    _ => "class keyword arguments".to_string(),
                };
                return Err(unsupported(&what, k.span.clone()));
            }
        };
        for d in &c.decorators {
            self.expr(d)?;
        }
        let scope = self.scope_for(key(c), span)?;
        let qualname = self.child_qualname(&c.name.name);
        let line = self.line_of(span.start);
        let qn = qualname.clone();
        self.make_function(scope, &c.name.name, &qualname, (None, None), line, |cc| {
            cc.emit_const(Value::str(qn.as_str()));
            let i = cc.name_idx("__qualname__");
            cc.emit(Op::StoreName(i));
            if let Some(d) = docstring(&c.body) {
                cc.emit_const(Value::str(&*d));
                let i = cc.name_idx("__doc__");
                cc.emit(Op::StoreName(i));
            }
            cc.setup_annotations(&c.body);
            cc.stmts(&c.body)?;
            cc.emit_const(Value::None);
            cc.emit(Op::ReturnValue);
            Ok(())
        })?;
        self.emit_const(Value::str(c.name.name.as_str()));
        for b in &c.bases {
            self.expr(b)?;
        }
        let mut n = c.bases.len() as u32;
        if let Some(m) = meta {
            self.expr(m)?;
            n |= crate::mro::META_FLAG;
        }
        self.emit(Op::BuildClass(n));
        for _ in &c.decorators {
            self.emit(Op::Call(1));
        }
        self.store_name(&c.name.name);
        Ok(())
    }

    // ---- targets -----------------------------------------------------

    fn store_target(&mut self, t: &'a Expr) -> CResult {
        let saved = self.set_span(&t.span);
        match &t.kind {
            ExprKind::Name(n) => self.store_name(n),
            ExprKind::Attribute { value, attr } => {
                self.expr(value)?;
                let i = self.name_idx(&attr.name);
                self.emit(Op::StoreAttr(i));
            }
            ExprKind::Subscript { value, index } => {
                self.expr(value)?;
                self.expr(index)?;
                self.emit(Op::StoreSubscr);
            }
            ExprKind::Tuple(items) | ExprKind::List(items) => {
                let star = items
                    .iter()
                    .position(|e| matches!(e.kind, ExprKind::Starred(_)));
                match star {
                    Some(pos) => {
                        if items
                            .iter()
                            .skip(pos + 1)
                            .any(|e| matches!(e.kind, ExprKind::Starred(_)))
                        {
                            return Err(syntax_error(
                                "multiple starred expressions in assignment",
                                t.span.clone(),
                            ));
                        }
                        let after = items.len() - pos - 1;
                        self.emit(Op::UnpackEx(pos as u32 | ((after as u32) << 16)));
                    }
                    None => {
                        self.emit(Op::UnpackSequence(items.len() as u32));
                    }
                }
                for item in items {
                    match &item.kind {
                        ExprKind::Starred(inner) => self.store_target(inner)?,
                        _ => self.store_target(item)?,
                    }
                }
            }
            ExprKind::Starred(_) => {
                return Err(syntax_error(
                    "starred assignment target must be in a list or tuple",
                    t.span.clone(),
                ));
            }
            _ => {
                return Err(syntax_error("cannot assign to expression", t.span.clone()));
            }
        }
        self.restore_span(saved);
        Ok(())
    }

    fn delete_target(&mut self, t: &'a Expr) -> CResult {
        let saved = self.set_span(&t.span);
        match &t.kind {
            ExprKind::Name(n) => self.delete_name(n),
            ExprKind::Attribute { value, attr } => {
                self.expr(value)?;
                let i = self.name_idx(&attr.name);
                self.emit(Op::DeleteAttr(i));
            }
            ExprKind::Subscript { value, index } => {
                self.expr(value)?;
                self.expr(index)?;
                self.emit(Op::DeleteSubscr);
            }
            ExprKind::Tuple(items) | ExprKind::List(items) => {
                for i in items {
                    self.delete_target(i)?;
                }
            }
            _ => return Err(syntax_error("cannot delete expression", t.span.clone())),
        }
        self.restore_span(saved);
        Ok(())
    }

    fn aug_assign(&mut self, target: &'a Expr, op: BinOp, value: &'a Expr) -> CResult {
        // `i += 1` on a plain local: one instruction.
        if let (
            ExprKind::Name(n),
            BinOp::Add | BinOp::Sub,
            ExprKind::Constant(Constant::Int(digits)),
        ) = (&target.kind, op, &value.kind)
            && let Ok(c) = digits.parse::<i16>()
            && c > 0
            && matches!(
                self.scope_kind(),
                ScopeKind::Function | ScopeKind::Comprehension
            )
            && self.name_scope(n) == NameScope::Local
            && let Some(&local) = self.unit().var_index.get(n.as_str())
            && local <= u16::MAX as u32
        {
            let delta = if op == BinOp::Sub { -c } else { c };
            self.emit(Op::AddFastConst {
                local: local as u16,
                delta,
            });
            return Ok(());
        }
        match &target.kind {
            ExprKind::Name(n) => {
                self.load_name(n);
                self.expr(value)?;
                self.emit(Op::Inplace(op));
                self.store_name(n);
            }
            ExprKind::Attribute { value: obj, attr } => {
                self.expr(obj)?;
                self.emit(Op::DupTop);
                let i = self.name_idx(&attr.name);
                self.emit(Op::LoadAttr(i));
                self.expr(value)?;
                self.emit(Op::Inplace(op));
                self.emit(Op::RotTwo);
                self.emit(Op::StoreAttr(i));
            }
            ExprKind::Subscript { value: obj, index } => {
                self.expr(obj)?;
                self.expr(index)?;
                self.emit(Op::DupTopTwo);
                self.emit(Op::BinarySubscr);
                self.expr(value)?;
                self.emit(Op::Inplace(op));
                self.emit(Op::RotThree);
                self.emit(Op::StoreSubscr);
            }
            _ => {
                return Err(syntax_error(
                    "illegal expression for augmented assignment",
                    target.span.clone(),
                ));
            }
        }
        Ok(())
    }

    // ---- expressions -------------------------------------------------

    /// Compiles `e` and jumps to `target` when its truth equals `when`.
    fn jump_if(&mut self, e: &'a Expr, when: bool, target: Label) -> CResult {
        match &e.kind {
            ExprKind::UnaryOp {
                op: UnaryOp::Not,
                operand,
            } => return self.jump_if(operand, !when, target),
            ExprKind::BoolOp { op, values } => {
                let is_and = *op == BoolOpKind::And;
                // `a and b` jumps on false if any is false; on true only if all.
                if is_and != when {
                    for v in values {
                        self.jump_if(v, when, target)?;
                    }
                } else {
                    let skip = self.new_label();
                    let (last, init) = values
                        .split_last()
                        .ok_or_else(|| syntax_error("empty boolean operation", e.span.clone()))?;
                    for v in init {
                        self.jump_if(v, !when, skip)?;
                    }
                    self.jump_if(last, when, target)?;
                    self.bind(skip);
                }
                return Ok(());
            }
            ExprKind::Compare {
                left,
                ops,
                comparators,
            } if ops.len() == 1 => {
                // Fused compare-and-jump: one dispatch per loop condition.
                let saved = self.set_span(&e.span);
                self.expr(left)?;
                self.expr(&comparators[0])?;
                self.emit(if when {
                    Op::CompareJumpIfTrue(ops[0], target.0)
                } else {
                    Op::CompareJumpIfFalse(ops[0], target.0)
                });
                self.restore_span(saved);
                return Ok(());
            }
            _ => {}
        }
        self.expr(e)?;
        self.emit(if when {
            Op::PopJumpIfTrue(target.0)
        } else {
            Op::PopJumpIfFalse(target.0)
        });
        Ok(())
    }

    fn expr(&mut self, e: &'a Expr) -> CResult {
        let saved = self.set_span(&e.span);
        let r = self.expr_inner(e);
        self.restore_span(saved);
        r
    }

    fn expr_inner(&mut self, e: &'a Expr) -> CResult {
        match &e.kind {
            ExprKind::Constant(c) => {
                let v = self.constant(c, &e.span)?;
                self.emit_const(v);
            }
            ExprKind::Name(n) => self.load_name(n),
            ExprKind::BinOp { left, op, right } => {
                if *op == BinOp::MatMult {
                    return Err(unsupported("the '@' operator", e.span.clone()));
                }
                self.expr(left)?;
                self.expr(right)?;
                self.emit(Op::Binary(*op));
            }
            ExprKind::UnaryOp { op, operand } => {
                self.expr(operand)?;
                self.emit(Op::Unary(*op));
            }
            ExprKind::BoolOp { op, values } => {
                let end = self.new_label();
                let (last, init) = values
                    .split_last()
                    .ok_or_else(|| syntax_error("empty boolean operation", e.span.clone()))?;
                for v in init {
                    self.expr(v)?;
                    self.emit(match op {
                        BoolOpKind::And => Op::JumpIfFalseOrPop(end.0),
                        BoolOpKind::Or => Op::JumpIfTrueOrPop(end.0),
                    });
                }
                self.expr(last)?;
                self.bind(end);
            }
            ExprKind::Compare {
                left,
                ops,
                comparators,
            } => {
                self.expr(left)?;
                if ops.len() == 1 {
                    self.expr(&comparators[0])?;
                    self.emit(Op::Compare(ops[0]));
                } else {
                    let cleanup = self.new_label();
                    let end = self.new_label();
                    let n = ops.len();
                    for (i, (op, c)) in ops.iter().zip(comparators).enumerate() {
                        self.expr(c)?;
                        if i + 1 < n {
                            self.emit(Op::DupTop);
                            self.emit(Op::RotThree);
                            self.emit(Op::Compare(*op));
                            self.emit(Op::JumpIfFalseOrPop(cleanup.0));
                        } else {
                            self.emit(Op::Compare(*op));
                        }
                    }
                    self.emit(Op::Jump(end.0));
                    self.bind(cleanup);
                    self.emit(Op::RotTwo);
                    self.emit(Op::PopTop);
                    self.bind(end);
                }
            }
            ExprKind::IfExp { test, body, orelse } => {
                let else_l = self.new_label();
                let end = self.new_label();
                self.jump_if(test, false, else_l)?;
                self.expr(body)?;
                self.emit(Op::Jump(end.0));
                self.bind(else_l);
                self.expr(orelse)?;
                self.bind(end);
            }
            ExprKind::NamedExpr { target, value } => {
                self.expr(value)?;
                self.emit(Op::DupTop);
                self.store_name(&target.name);
            }
            ExprKind::Attribute { value, attr } => {
                self.expr(value)?;
                let i = self.name_idx(&attr.name);
                self.emit(Op::LoadAttr(i));
            }
            ExprKind::Subscript { value, index } => {
                self.expr(value)?;
                self.expr(index)?;
                self.emit(Op::BinarySubscr);
            }
            ExprKind::Slice { lower, upper, step } => {
                for part in [lower, upper] {
                    match part {
                        Some(p) => self.expr(p)?,
                        None => self.emit_const(Value::None),
                    }
                }
                match step {
                    Some(s) => {
                        self.expr(s)?;
                        self.emit(Op::BuildSlice(3));
                    }
                    None => {
                        self.emit(Op::BuildSlice(2));
                    }
                }
            }
            ExprKind::Tuple(items) => {
                if items.iter().any(|i| matches!(i.kind, ExprKind::Starred(_))) {
                    self.starred_list(items)?;
                    self.emit(Op::ListToTuple);
                } else {
                    for i in items {
                        self.expr(i)?;
                    }
                    self.emit(Op::BuildTuple(items.len() as u32));
                }
            }
            ExprKind::List(items) => {
                if items.iter().any(|i| matches!(i.kind, ExprKind::Starred(_))) {
                    self.starred_list(items)?;
                } else {
                    for i in items {
                        self.expr(i)?;
                    }
                    self.emit(Op::BuildList(items.len() as u32));
                }
            }
            ExprKind::Set(items) => {
                if items.iter().any(|i| matches!(i.kind, ExprKind::Starred(_))) {
                    self.emit(Op::BuildSet(0));
                    for i in items {
                        match &i.kind {
                            ExprKind::Starred(inner) => {
                                self.expr(inner)?;
                                self.emit(Op::SetUpdate(1));
                            }
                            _ => {
                                self.expr(i)?;
                                self.emit(Op::SetAdd(1));
                            }
                        }
                    }
                } else {
                    for i in items {
                        self.expr(i)?;
                    }
                    self.emit(Op::BuildSet(items.len() as u32));
                }
            }
            ExprKind::Dict { keys, values } => {
                if keys.iter().any(|k| k.is_none()) {
                    self.emit(Op::BuildMap(0));
                    for (k, v) in keys.iter().zip(values) {
                        match k {
                            Some(k) => {
                                self.expr(k)?;
                                self.expr(v)?;
                                self.emit(Op::MapAdd(1));
                            }
                            None => {
                                self.expr(v)?;
                                self.emit(Op::DictUpdate(1));
                            }
                        }
                    }
                } else {
                    for (k, v) in keys.iter().zip(values) {
                        if let Some(k) = k {
                            self.expr(k)?;
                        }
                        self.expr(v)?;
                    }
                    self.emit(Op::BuildMap(keys.len() as u32));
                }
            }
            ExprKind::Starred(_) => {
                return Err(syntax_error(
                    "can't use starred expression here",
                    e.span.clone(),
                ));
            }
            ExprKind::Call {
                func,
                args,
                keywords,
            } => self.call(func, args, keywords)?,
            ExprKind::Lambda { params, body } => {
                let scope = self.scope_for(key(e), &e.span)?;
                let qualname = self.child_qualname("<lambda>");
                let line = self.line_of(e.span.start);
                self.make_function(
                    scope,
                    "<lambda>",
                    &qualname,
                    (Some(params), None),
                    line,
                    |c| {
                        c.expr(body)?;
                        c.emit(Op::ReturnValue);
                        Ok(())
                    },
                )?;
            }
            ExprKind::ListComp { elt, generators } => {
                self.comprehension(e, generators, CompKind::List(elt))?
            }
            ExprKind::SetComp { elt, generators } => {
                self.comprehension(e, generators, CompKind::Set(elt))?
            }
            ExprKind::DictComp {
                key: k,
                value,
                generators,
            } => self.comprehension(e, generators, CompKind::Dict(k, value))?,
            ExprKind::GeneratorExp { elt, generators } => {
                self.comprehension(e, generators, CompKind::Gen(elt))?
            }
            ExprKind::Yield(v) => {
                self.check_in_function("'yield' outside function", &e.span)?;
                match v {
                    Some(v) => self.expr(v)?,
                    None => self.emit_const(Value::None),
                }
                if self.unit().flags & FLAG_ASYNC_GENERATOR != 0 {
                    self.emit(Op::AsyncGenWrap);
                }
                self.emit(Op::YieldValue);
            }
            ExprKind::YieldFrom(v) => {
                self.check_in_function("'yield' outside function", &e.span)?;
                self.expr(v)?;
                self.emit(Op::GetYieldFromIter);
                self.emit_const(Value::None);
                self.emit(Op::YieldFrom);
            }
            ExprKind::Await(v) => {
                self.allow_top_level_await();
                let is_coroutine = {
                    let u = self.unit();
                    u.flags & (FLAG_COROUTINE | FLAG_ASYNC_GENERATOR) != 0
                };
                if !is_coroutine {
                    let msg = if matches!(self.scope_kind(), ScopeKind::Module | ScopeKind::Class) {
                        "'await' outside function"
                    } else {
                        "'await' outside async function"
                    };
                    return Err(syntax_error(msg, e.span.clone()));
                }
                self.expr(v)?;
                self.emit(Op::GetAwaitable);
                self.emit_const(Value::None);
                self.emit(Op::YieldFrom);
            }
            ExprKind::FString(parts) => {
                let n = self.fparts(parts)?;
                if n != 1 {
                    self.emit(Op::BuildString(n));
                }
            }
        }
        Ok(())
    }

    fn check_in_function(&self, msg: &str, span: &Span) -> CResult {
        if matches!(self.scope_kind(), ScopeKind::Module | ScopeKind::Class) {
            return Err(syntax_error(msg, span.clone()));
        }
        Ok(())
    }

    /// Pushes the string pieces of an f-string; returns how many.
    fn fparts(&mut self, parts: &'a [FPart]) -> CResult<u32> {
        if parts.is_empty() {
            self.emit_const(Value::str(""));
            return Ok(1);
        }
        let mut n = 0;
        for p in parts {
            match p {
                FPart::Lit(s) => {
                    self.emit_const(Value::str(s.as_str()));
                    n += 1;
                }
                FPart::Field {
                    expr,
                    conversion,
                    spec,
                    debug_text,
                } => {
                    if let Some(t) = debug_text {
                        self.emit_const(Value::str(t.as_str()));
                        n += 1;
                    }
                    self.expr(expr)?;
                    let mut conv = match conversion {
                        Some('s') => 1,
                        Some('r') => 2,
                        Some('a') => 3,
                        _ => 0,
                    };
                    if debug_text.is_some() && conversion.is_none() && spec.is_empty() {
                        conv = 2;
                    }
                    if !spec.is_empty() {
                        let k = self.fparts(spec)?;
                        if k != 1 {
                            self.emit(Op::BuildString(k));
                        }
                        conv |= 4;
                    }
                    self.emit(Op::FormatValue(conv));
                    n += 1;
                }
            }
        }
        Ok(n)
    }

    /// Builds a list from items some of which are starred.
    fn starred_list(&mut self, items: &'a [Expr]) -> CResult {
        self.emit(Op::BuildList(0));
        for i in items {
            match &i.kind {
                ExprKind::Starred(inner) => {
                    self.expr(inner)?;
                    self.emit(Op::ListExtend(1));
                }
                _ => {
                    self.expr(i)?;
                    self.emit(Op::ListAppend(1));
                }
            }
        }
        Ok(())
    }

    fn call(&mut self, func: &'a Expr, args: &'a [Expr], keywords: &'a [Keyword]) -> CResult {
        let has_star = args.iter().any(|a| matches!(a.kind, ExprKind::Starred(_)))
            || keywords.iter().any(|k| k.arg.is_none());
        // Zero-argument super(): pass __class__ and the first argument.
        if let ExprKind::Name(n) = &func.kind
            && n == "super"
            && args.is_empty()
            && keywords.is_empty()
            && self.name_scope("__class__") == NameScope::Free
        {
            let first = {
                let u = self.units.last();
                u.and_then(|u| self.table.scopes[u.scope].params.first().cloned())
            };
            if let Some(first) = first {
                self.load_name("super");
                self.load_name("__class__");
                self.load_name(&first);
                self.emit(Op::Call(2));
                return Ok(());
            }
        }
        if has_star {
            self.expr(func)?;
            self.emit(Op::BuildList(0));
            for a in args {
                match &a.kind {
                    ExprKind::Starred(inner) => {
                        self.expr(inner)?;
                        // The high bit marks a call's `*args`, for its
                        // error message.
                        self.emit(Op::ListExtend(1 | CALL_ARGS));
                    }
                    _ => {
                        self.expr(a)?;
                        self.emit(Op::ListAppend(1));
                    }
                }
            }
            self.emit(Op::ListToTuple);
            if keywords.is_empty() {
                self.emit(Op::CallEx(0));
            } else {
                self.emit(Op::BuildMap(0));
                for k in keywords {
                    match &k.arg {
                        Some(name) => {
                            self.emit_const(Value::str(name.name.as_str()));
                            self.expr(&k.value)?;
                            self.emit(Op::BuildMap(1));
                            self.emit(Op::DictMerge(1));
                        }
                        None => {
                            self.expr(&k.value)?;
                            self.emit(Op::DictMerge(1));
                        }
                    }
                }
                self.emit(Op::CallEx(1));
            }
            return Ok(());
        }
        if keywords.is_empty()
            && let ExprKind::Attribute { value, attr } = &func.kind
        {
            self.expr(value)?;
            let saved = self.set_span(&func.span);
            let i = self.name_idx(&attr.name);
            self.emit(Op::LoadMethod(i));
            self.restore_span(saved);
            for a in args {
                self.expr(a)?;
            }
            self.emit(Op::CallMethod(args.len() as u32));
            return Ok(());
        }
        self.expr(func)?;
        for a in args {
            self.expr(a)?;
        }
        if keywords.is_empty() {
            self.emit(Op::Call(args.len() as u32));
        } else {
            let mut names = Vec::new();
            for k in keywords {
                self.expr(&k.value)?;
                if let Some(n) = &k.arg {
                    if names.iter().any(|x: &Value| x.as_str() == Some(&n.name)) {
                        return Err(syntax_error(
                            format!("keyword argument repeated: {}", n.name),
                            k.span.clone(),
                        ));
                    }
                    names.push(Value::str(n.name.as_str()));
                }
            }
            self.emit_const(Value::tuple(names));
            self.emit(Op::CallKw((args.len() + keywords.len()) as u32));
        }
        Ok(())
    }

    fn comprehension(
        &mut self,
        e: &'a Expr,
        generators: &'a [Comprehension],
        kind: CompKind<'a>,
    ) -> CResult {
        let scope = self.scope_for(key(e), &e.span)?;
        let is_async = self.table.scopes[scope].is_async;
        // An asynchronous generator expression may appear anywhere: calling
        // it only creates the async generator.
        let awaited = is_async && !matches!(kind, CompKind::Gen(_));
        if awaited {
            self.allow_top_level_await();
            if self.unit().flags & (FLAG_COROUTINE | FLAG_ASYNC_GENERATOR) == 0 {
                return Err(syntax_error(
                    "asynchronous comprehension outside of an asynchronous function",
                    e.span.clone(),
                ));
            }
        }
        let name = match kind {
            CompKind::List(_) => "<listcomp>",
            CompKind::Set(_) => "<setcomp>",
            CompKind::Dict(..) => "<dictcomp>",
            CompKind::Gen(_) => "<genexpr>",
        };
        let qualname = self.child_qualname(name);
        let line = self.line_of(e.span.start);
        self.make_function(scope, name, &qualname, (None, None), line, |c| {
            match kind {
                CompKind::List(_) => {
                    c.emit(Op::BuildList(0));
                }
                CompKind::Set(_) => {
                    c.emit(Op::BuildSet(0));
                }
                CompKind::Dict(..) => {
                    c.emit(Op::BuildMap(0));
                }
                CompKind::Gen(_) => {}
            }
            c.comp_loop(generators, 0, kind)?;
            if let CompKind::Gen(_) = kind {
                c.emit_const(Value::None);
            }
            c.emit(Op::ReturnValue);
            Ok(())
        })?;
        let Some(first) = generators.first() else {
            return Err(syntax_error("comprehension without 'for'", e.span.clone()));
        };
        self.expr(&first.iter)?;
        self.emit(if first.is_async {
            Op::GetAIter
        } else {
            Op::GetIter
        });
        self.emit(Op::Call(1));
        if awaited {
            self.emit_await();
        }
        Ok(())
    }

    fn comp_loop(
        &mut self,
        generators: &'a [Comprehension],
        depth: usize,
        kind: CompKind<'a>,
    ) -> CResult {
        let g = &generators[depth];
        let start = self.new_label();
        let end = self.new_label();
        if depth == 0 {
            self.emit(Op::LoadFast(0));
        } else {
            self.expr(&g.iter)?;
            self.emit(if g.is_async {
                Op::GetAIter
            } else {
                Op::GetIter
            });
        }
        self.bind(start);
        let handler = self.new_label();
        if g.is_async {
            self.emit(Op::SetupFinally(handler.0));
            self.emit(Op::GetANext);
            self.emit_await();
            self.emit(Op::PopBlock);
        } else {
            self.emit(Op::ForIter(end.0));
        }
        self.store_target(&g.target)?;
        for cond in &g.ifs {
            self.jump_if(cond, false, start)?;
        }
        if depth + 1 < generators.len() {
            self.comp_loop(generators, depth + 1, kind)?;
        } else {
            // The result container sits below one iterator per loop.
            let n = (depth + 2) as u32;
            match kind {
                CompKind::List(elt) => {
                    self.expr(elt)?;
                    self.emit(Op::ListAppend(n));
                }
                CompKind::Set(elt) => {
                    self.expr(elt)?;
                    self.emit(Op::SetAdd(n));
                }
                CompKind::Dict(k, v) => {
                    self.expr(k)?;
                    self.expr(v)?;
                    self.emit(Op::MapAdd(n));
                }
                CompKind::Gen(elt) => {
                    self.expr(elt)?;
                    if self.unit().flags & FLAG_ASYNC_GENERATOR != 0 {
                        self.emit(Op::AsyncGenWrap);
                    }
                    self.emit(Op::YieldValue);
                    self.emit(Op::PopTop);
                }
            }
        }
        self.emit(Op::Jump(start.0));
        if g.is_async {
            self.bind(handler);
            self.emit(Op::EndAsyncFor);
        }
        self.bind(end);
        Ok(())
    }

    fn constant(&self, c: &Constant, span: &Span) -> CResult<Value> {
        Ok(match c {
            Constant::None => Value::None,
            Constant::True => Value::Bool(true),
            Constant::False => Value::Bool(false),
            Constant::Ellipsis => Value::Ellipsis,
            Constant::Int(digits) => match digits.parse::<i64>() {
                Ok(i) => Value::Int(i),
                Err(_) => match digits.parse::<BigInt>() {
                    Ok(b) => Value::from_bigint(b),
                    Err(_) => {
                        return Err(syntax_error("invalid integer literal", span.clone()));
                    }
                },
            },
            Constant::Float(f) => Value::Float(*f),
            Constant::Str(s) => Value::str(s.as_str()),
            Constant::Bytes(b) => Value::Bytes(b.as_slice().into()),
        })
    }
}

/// The docstring of a body: its first statement, when a string literal.
fn docstring(body: &[Stmt]) -> Option<Rc<str>> {
    match body.first().map(|s| &s.kind) {
        Some(StmtKind::Expr(Expr {
            kind: ExprKind::Constant(Constant::Str(s)),
            ..
        })) => Some(Rc::from(s.as_str())),
        _ => None,
    }
}

/// Set in the operand of `ListExtend`/`DictMerge` when building a call's
/// arguments.
pub const CALL_ARGS: u32 = 1 << 31;

static NO_PARAMS: Params = Params {
    posonly: Vec::new(),
    args: Vec::new(),
    vararg: None,
    kwonly: Vec::new(),
    kwarg: None,
};

#[derive(Clone, Copy)]
enum CompKind<'a> {
    List(&'a Expr),
    Set(&'a Expr),
    Dict(&'a Expr, &'a Expr),
    Gen(&'a Expr),
}

/// Writes superinstructions over the first of pairs that run often
/// together. The second instruction stays in place, since a jump may land
/// on it; the superinstruction skips it.
fn fuse_superinstructions(ops: &mut [Op]) {
    for i in 0..ops.len().saturating_sub(1) {
        // Not when the second load starts a `BinaryFastFast` triple
        // (`acc += x ^ i`), which saves more and would be skipped.
        if let (Op::LoadFast(a), Op::LoadFast(b)) = (ops[i], ops[i + 1])
            && let (Ok(a), Ok(b)) = (u16::try_from(a), u16::try_from(b))
            && !matches!(
                (ops.get(i + 2), ops.get(i + 3)),
                (Some(Op::LoadFast(_)), Some(Op::Binary(_)))
            )
        {
            ops[i] = Op::LoadFastLoadFast { a, b };
        }
        if let (Op::LoadFast(local), Op::LoadConst(konst)) = (ops[i], ops[i + 1])
            && let (Ok(local), Ok(konst)) = (u16::try_from(local), u16::try_from(konst))
        {
            ops[i] = Op::LoadFastLoadConst { local, konst };
        }
        // A comparison of two locals, or a local and a constant, that
        // decides a jump: compared in place when both are small ints.
        if let Some(Op::CompareJumpIfFalse(cmp, _) | Op::CompareJumpIfTrue(cmp, _)) = ops.get(i + 2)
            && matches!(
                cmp,
                CmpOp::Lt | CmpOp::LtE | CmpOp::Gt | CmpOp::GtE | CmpOp::Eq | CmpOp::NotEq
            )
        {
            match ops[i] {
                Op::LoadFastLoadFast { a, b } => ops[i] = Op::CompareFastFast { a, b },
                Op::LoadFastLoadConst { local, konst } => {
                    ops[i] = Op::CompareFastConst { local, konst }
                }
                _ => {}
            }
        }
        // Two locals combined by an operator: computed in place when both
        // are small ints.
        if let (Op::LoadFastLoadFast { a, b }, Some(Op::Binary(op))) = (ops[i], ops.get(i + 2)) {
            ops[i] = Op::BinaryFastFast { op: *op, a, b };
        }
        // A local and a constant combined by an operator: computed in
        // place when both are small ints.
        if let (Op::LoadFastLoadConst { local, konst }, Some(Op::Binary(op))) =
            (ops[i], ops.get(i + 2))
        {
            ops[i] = Op::BinaryFastConst {
                op: *op,
                local,
                konst,
            };
        }
        // A loop's closing jump back to its `ForIter`, which exits to just
        // after the jump: the iteration happens here.
        if let Op::Jump(h) = ops[i]
            && let Some(Op::ForIter(t)) = ops.get(h as usize)
            && *t as usize == i + 1
        {
            ops[i] = Op::ForIterBack(h + 1);
        }
        match (ops[i], ops[i + 1]) {
            (Op::LoadFast(local), Op::YieldValue) => ops[i] = Op::YieldFast(local),
            (Op::LoadConst(konst), Op::YieldValue) => ops[i] = Op::YieldConst(konst),
            (Op::LoadFast(local), Op::PopJumpIfFalse(_) | Op::PopJumpIfTrue(_)) => {
                ops[i] = Op::LoadFastJumpIf(local)
            }
            (Op::LoadFast(local), Op::LoadMethod(name)) => {
                if let (Ok(local), Ok(name)) = (u16::try_from(local), u16::try_from(name)) {
                    // The call itself too when it passes at most one
                    // argument, a local.
                    let arg = match (ops.get(i + 2), ops.get(i + 3)) {
                        (Some(Op::CallMethod(0)), _) => Some(NO_ARG),
                        (Some(&Op::LoadFast(a)), Some(Op::CallMethod(1))) => {
                            u16::try_from(a).ok().filter(|&a| a != NO_ARG)
                        }
                        _ => None,
                    };
                    ops[i] = match arg {
                        Some(arg) => Op::CallLocalMethod { local, name, arg },
                        None => Op::LoadFastLoadMethod { local, name },
                    };
                }
            }
            _ => {}
        }
        if let (Op::Binary(op) | Op::Inplace(op), Op::StoreFast(local)) = (ops[i], ops[i + 1])
            && let Ok(local) = u16::try_from(local)
        {
            ops[i] = match ops[i] {
                Op::Binary(_) => Op::BinaryStoreFast { op, local },
                _ => Op::InplaceStoreFast { op, local },
            };
        }
    }
}

/// After `fuse_superinstructions`: a global and a local loaded together
/// (`len(x)`), when the `LoadFast` was not itself fused with what follows
/// it (`f(n - 1)` keeps its `BinaryFastConst`), and a jump to a local's
/// test that runs the test itself (`JumpTest`).
fn fuse_after_pairs(ops: &mut [Op]) {
    for i in 0..ops.len().saturating_sub(1) {
        if let (Op::LoadGlobal(global), Op::LoadFast(local)) = (ops[i], ops[i + 1])
            && let (Ok(global), Ok(local)) = (u16::try_from(global), u16::try_from(local))
        {
            ops[i] = Op::LoadGlobalLoadFast { global, local };
        }
        if let Op::Jump(target) = ops[i]
            && let Some(&Op::LoadFastJumpIf(local)) = ops.get(target as usize)
            && let Ok(local) = u16::try_from(local)
        {
            ops[i] = Op::JumpTest { local, target };
        }
    }
}

fn star_exit_error(span: &Span) -> SyntaxError {
    syntax_error(
        "'break', 'continue' and 'return' cannot appear in an except* block",
        span.clone(),
    )
}
