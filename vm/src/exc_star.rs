//! Exception groups as Python 3.11 has them: `split`, `subgroup`,
//! `derive`, the run-time side of `except*` (the compiler calls the hidden
//! builtins `__covm_star_*__` below), and the tree CPython prints for an
//! uncaught group.
//!
//! `except*` follows CPython's `exception_group_match` and
//! `_PyExc_PrepReraiseStar`: each clause splits what is left of the group,
//! exceptions the clauses raise are collected, and at the end the new ones
//! plus whatever was re-raised or left unhandled (projected from the
//! original group, keeping its structure) are raised together.

use std::cell::RefCell;
use std::rc::Rc;

use crate::value::*;
use crate::vm::Vm;

fn group_class(vm: &Vm, name: &str) -> Option<Rc<Class>> {
    vm.exc_by_name
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, c)| c.clone())
}

impl Vm {
    /// True for instances of `BaseExceptionGroup` (covm's
    /// `ExceptionGroup` derives from `Exception` only, so both are checked).
    pub fn is_exception_group(&self, v: &Value) -> bool {
        match v {
            Value::Instance(i) => self.is_group_class(&i.class),
            _ => false,
        }
    }

    pub fn is_group_class(&self, c: &Rc<Class>) -> bool {
        ["BaseExceptionGroup", "ExceptionGroup"]
            .iter()
            .filter_map(|n| group_class(self, n))
            .any(|g| self.is_subclass(c, &g))
    }
}

/// The `exceptions` tuple of a group.
fn members(v: &Value) -> Vec<Value> {
    match v {
        Value::Instance(i) => match i.dict.borrow().get("exceptions") {
            Some(Value::Tuple(t)) => t.to_vec(),
            _ => Vec::new(),
        },
        _ => Vec::new(),
    }
}

/// `BaseExceptionGroup.derive(excs)`'s default: a group of the same
/// message, an `ExceptionGroup` when every member is an `Exception`.
fn derive_default(vm: &mut Vm, eg: &Value, excs: Vec<Value>) -> PyResult<Value> {
    let msg = match eg {
        Value::Instance(i) => i.dict.borrow().get("message").cloned(),
        _ => None,
    }
    .unwrap_or_else(|| Value::str(""));
    let all_exc = excs
        .iter()
        .all(|e| vm.is_instance_of(e, &vm.exc.exception.clone()));
    let name = if all_exc {
        "ExceptionGroup"
    } else {
        "BaseExceptionGroup"
    };
    let Some(cls) = group_class(vm, name) else {
        return Err(vm.runtime_error("exception groups are not available"));
    };
    vm.call(&Value::Class(cls), vec![msg, Value::list(excs)])
}

/// Copies traceback, cause, context and notes from `from` to `to`.
fn copy_metadata(from: &Value, to: &Value) {
    if let (Value::Instance(a), Value::Instance(b)) = (from, to) {
        *b.traceback.borrow_mut() = a.traceback.borrow().clone();
        let src = a.dict.borrow();
        let mut dst = b.dict.borrow_mut();
        for key in [
            "__cause__",
            "__context__",
            "__suppress_context__",
            "__notes__",
        ] {
            if let Some(v) = src.get(key) {
                dst.insert(Rc::from(key), v.clone());
            }
        }
    }
}

fn derive(vm: &mut Vm, eg: &Value, excs: Vec<Value>) -> PyResult<Value> {
    let r = match vm.getattr_opt(eg, "derive")? {
        Some(f) => vm.call(&f, vec![Value::list(excs)])?,
        None => derive_default(vm, eg, excs)?,
    };
    copy_metadata(eg, &r);
    Ok(r)
}

/// What a split matches on.
enum Pred<'a> {
    Type(&'a Value),
    Call(&'a Value),
    Leaves(&'a [Value]),
}

fn matches(vm: &mut Vm, e: &Value, p: &Pred) -> PyResult<bool> {
    match p {
        Pred::Type(t) => {
            let classes = match t {
                Value::Tuple(ts) => ts.to_vec(),
                other => vec![(*other).clone()],
            };
            Ok(classes.iter().any(|c| match c {
                Value::Class(c) => vm.is_instance_of(e, c),
                _ => false,
            }))
        }
        Pred::Call(f) => {
            let r = vm.call(f, vec![e.clone()])?;
            vm.truthy(&r)
        }
        Pred::Leaves(ls) => Ok(ls.iter().any(|l| l.is(e))),
    }
}

/// CPython's `exceptiongroup_split_recursive`: (match, rest).
fn split_rec(
    vm: &mut Vm,
    e: &Value,
    p: &Pred,
    want_rest: bool,
) -> PyResult<(Option<Value>, Option<Value>)> {
    if !matches!(p, Pred::Leaves(_)) && matches(vm, e, p)? {
        return Ok((Some(e.clone()), None));
    }
    if !vm.is_exception_group(e) {
        if matches!(p, Pred::Leaves(_)) && matches(vm, e, p)? {
            return Ok((Some(e.clone()), None));
        }
        return Ok((None, want_rest.then(|| e.clone())));
    }
    let mut ms = Vec::new();
    let mut rs = Vec::new();
    for x in members(e) {
        let (m, r) = split_rec(vm, &x, p, want_rest)?;
        if let Some(m) = m {
            ms.push(m);
        }
        if let Some(r) = r {
            rs.push(r);
        }
    }
    let m = if ms.is_empty() {
        None
    } else {
        Some(derive(vm, e, ms)?)
    };
    let r = if !want_rest || rs.is_empty() {
        None
    } else {
        Some(derive(vm, e, rs)?)
    };
    Ok((m, r))
}

fn check_split_arg<'a>(vm: &Vm, v: &'a Value) -> PyResult<Pred<'a>> {
    let is_type =
        |x: &Value| matches!(x, Value::Class(c) if vm.is_subclass(c, &vm.exc.base_exception));
    match v {
        x if is_type(x) => Ok(Pred::Type(v)),
        Value::Tuple(t) if t.iter().all(is_type) => Ok(Pred::Type(v)),
        Value::Function(_) | Value::Builtin(_) | Value::BoundMethod(_) => Ok(Pred::Call(v)),
        _ => Err(vm.type_error("expected a function, exception type or tuple of exception types")),
    }
}

fn opt(v: Option<Value>) -> Value {
    v.unwrap_or(Value::None)
}

fn eg_split(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let (Some(eg), Some(c)) = (args.first(), args.get(1)) else {
        return Err(vm.type_error("split() takes exactly one argument"));
    };
    let p = check_split_arg(vm, c)?;
    let (m, r) = split_rec(vm, eg, &p, true)?;
    Ok(Value::tuple(vec![opt(m), opt(r)]))
}

fn eg_subgroup(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let (Some(eg), Some(c)) = (args.first(), args.get(1)) else {
        return Err(vm.type_error("subgroup() takes exactly one argument"));
    };
    let p = check_split_arg(vm, c)?;
    let (m, _) = split_rec(vm, eg, &p, false)?;
    Ok(opt(m))
}

fn eg_derive(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let (Some(eg), Some(excs)) = (args.first(), args.get(1)) else {
        return Err(vm.type_error("derive() takes exactly one argument"));
    };
    let excs = vm.collect(excs)?;
    derive_default(vm, eg, excs)
}

/// Adds `split`, `subgroup` and `derive` to a group class.
pub(crate) fn install_methods(vm: &Vm, cls: &Rc<Class>) {
    vm.add_method(cls, "split", eg_split);
    vm.add_method(cls, "subgroup", eg_subgroup);
    vm.add_method(cls, "derive", eg_derive);
}

// ---- except* ----------------------------------------------------------------

/// The state of one `except*` handler while its clauses run.
struct StarState {
    orig: Value,
    /// What no clause has matched yet (None once everything matched).
    rest: RefCell<Option<Value>>,
    /// The match of the clause running now.
    current: RefCell<Value>,
    /// Exceptions the clauses raised, with whether each is a re-raise.
    raised: RefCell<Vec<(Value, bool)>>,
}

impl NativeObject for StarState {
    fn class(&self, vm: &Vm) -> Rc<Class> {
        vm.types.object.clone()
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

fn state<'a>(vm: &Vm, v: Option<&'a Value>) -> PyResult<&'a StarState> {
    match v {
        Some(Value::Native(n)) => n
            .as_any()
            .downcast_ref::<StarState>()
            .ok_or_else(|| vm.type_error("bad except* state")),
        _ => Err(vm.type_error("bad except* state")),
    }
}

/// `__covm_star_begin__(exc)`.
pub fn star_begin(_vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let exc = args.first().cloned().unwrap_or(Value::None);
    Ok(Value::Native(
        NativeBox::new(StarState {
            orig: exc.clone(),
            rest: RefCell::new(Some(exc)),
            current: RefCell::new(Value::None),
            raised: RefCell::new(Vec::new()),
        })
        .into(),
    ))
}

/// `__covm_star_match__(state, T)`: the part of what is left that `T`
/// matches (wrapped in a group if it is a naked exception), or None.
pub fn star_match(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let st = state(vm, args.first())?;
    let t = args.get(1).cloned().unwrap_or(Value::None);
    let types = match &t {
        Value::Tuple(ts) => ts.to_vec(),
        other => vec![other.clone()],
    };
    for c in &types {
        let Value::Class(c) = c else {
            return Err(vm.type_error(
                "catching classes that do not inherit from BaseException is not allowed",
            ));
        };
        if !vm.is_subclass(c, &vm.exc.base_exception.clone()) {
            return Err(vm.type_error(
                "catching classes that do not inherit from BaseException is not allowed",
            ));
        }
        if vm.is_group_class(c) {
            return Err(vm.type_error(
                "catching ExceptionGroup with except* is not allowed. Use except instead.",
            ));
        }
    }
    let Some(rest) = st.rest.borrow().clone() else {
        return Ok(Value::None);
    };
    if !vm.is_exception_group(&rest) {
        // A naked exception: matched whole, wrapped in a group.
        if matches(vm, &rest, &Pred::Type(&t))? {
            let cls = if vm.is_instance_of(&rest, &vm.exc.exception.clone()) {
                "ExceptionGroup"
            } else {
                "BaseExceptionGroup"
            };
            let Some(cls) = group_class(vm, cls) else {
                return Err(vm.runtime_error("exception groups are not available"));
            };
            let g = vm.call(
                &Value::Class(cls),
                vec![Value::str(""), Value::tuple(vec![rest])],
            )?;
            *st.rest.borrow_mut() = None;
            *st.current.borrow_mut() = g.clone();
            return Ok(g);
        }
        return Ok(Value::None);
    }
    let (m, r) = split_rec(vm, &rest, &Pred::Type(&t), true)?;
    *st.rest.borrow_mut() = r;
    let m = opt(m);
    *st.current.borrow_mut() = m.clone();
    Ok(m)
}

/// `__covm_star_raised__(state, exc)`: a clause ended by raising `exc`.
/// A bare `raise` re-raises the handled exception, which in covm is the
/// original one: it stands for the clause's match.
pub fn star_raised(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let st = state(vm, args.first())?;
    let e = args.get(1).cloned().unwrap_or(Value::None);
    if e.is(&st.orig) {
        let cur = st.current.borrow().clone();
        st.raised.borrow_mut().push((cur, true));
    } else {
        st.raised.borrow_mut().push((e, false));
    }
    Ok(Value::None)
}

fn leaves(vm: &Vm, e: &Value, out: &mut Vec<Value>) {
    if vm.is_exception_group(e) {
        for x in members(e) {
            leaves(vm, &x, out);
        }
    } else {
        out.push(e.clone());
    }
}

/// `__covm_star_end__(state)`: what to raise after the clauses, or None.
pub fn star_end(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let st = state(vm, args.first())?;
    let raised = st.raised.borrow().clone();
    let rest = st.rest.borrow().clone();
    if !vm.is_exception_group(&st.orig) {
        // Naked: at most one clause ran.
        if let Some((e, _)) = raised.into_iter().next() {
            return Ok(e);
        }
        return Ok(opt(rest));
    }
    let mut keep = Vec::new();
    let mut new = Vec::new();
    for (e, reraise) in raised {
        if reraise {
            leaves(vm, &e, &mut keep);
        } else {
            new.push(e);
        }
    }
    if let Some(r) = &rest {
        leaves(vm, r, &mut keep);
    }
    let reraised = if keep.is_empty() {
        None
    } else {
        split_rec(vm, &st.orig, &Pred::Leaves(&keep), false)?.0
    };
    if new.is_empty() {
        return Ok(opt(reraised));
    }
    if let Some(r) = reraised {
        new.push(r);
    }
    let Some(cls) = group_class(vm, "ExceptionGroup") else {
        return Err(vm.runtime_error("exception groups are not available"));
    };
    let all_exc = new
        .iter()
        .all(|e| vm.is_instance_of(e, &vm.exc.exception.clone()));
    let cls = if all_exc {
        cls
    } else {
        group_class(vm, "BaseExceptionGroup").unwrap_or(cls)
    };
    vm.call(&Value::Class(cls), vec![Value::str(""), Value::list(new)])
}

// ---- printing -----------------------------------------------------------------

struct Ctx {
    depth: usize,
    need_close: bool,
    out: String,
}

impl Ctx {
    fn indent(&self) -> String {
        " ".repeat(2 * self.depth)
    }
    fn emit(&mut self, text: &str, margin: char) {
        let mut pre = self.indent();
        if self.depth > 0 {
            pre.push(margin);
            pre.push(' ');
        }
        // Like textwrap.indent with a predicate that is always true:
        // blank lines get the prefix too.
        for line in text.split_inclusive('\n') {
            self.out.push_str(&pre);
            self.out.push_str(line);
        }
        if !text.ends_with('\n') {
            self.out.push('\n');
        }
    }
}

/// The chain of `e` (causes and contexts), outermost cause first, each
/// with the message printed before the next.
fn chain(e: &Value) -> Vec<(Value, Option<&'static str>)> {
    let mut out: Vec<(Value, Option<&'static str>)> = vec![(e.clone(), None)];
    let mut cur = e.clone();
    for _ in 0..50 {
        let Value::Instance(i) = &cur else { break };
        let (cause, ctx, suppress) = {
            let d = i.dict.borrow();
            (
                d.get("__cause__").cloned().unwrap_or(Value::None),
                d.get("__context__").cloned().unwrap_or(Value::None),
                matches!(d.get("__suppress_context__"), Some(Value::Bool(true))),
            )
        };
        let (next, msg) = if !cause.is_none() {
            (
                cause,
                "\nThe above exception was the direct cause of the following exception:\n\n",
            )
        } else if !suppress && !ctx.is_none() {
            (
                ctx,
                "\nDuring handling of the above exception, another exception occurred:\n\n",
            )
        } else {
            break;
        };
        if out.iter().any(|(c, _)| c.is(&next)) {
            break;
        }
        if let Some(last) = out.last_mut() {
            last.1 = Some(msg);
        }
        out.push((next.clone(), None));
        cur = next;
    }
    out
}

fn format_into(vm: &mut Vm, e: &Value, ctx: &mut Ctx) {
    for (exc, msg) in chain(e).into_iter().rev() {
        if let Some(m) = msg {
            ctx.emit(m, '|');
        }
        let tb: Vec<TbEntry> = match &exc {
            Value::Instance(i) => i.traceback.borrow().iter().rev().cloned().collect(),
            _ => Vec::new(),
        };
        let stack: String = tb.iter().map(crate::traceback::format_tb_entry).collect();
        if !vm.is_exception_group(&exc) {
            if !tb.is_empty() {
                ctx.emit("Traceback (most recent call last):", '|');
                ctx.emit(&stack, '|');
            }
            let line = vm.exc_line(&exc);
            ctx.emit(&line, '|');
        } else if ctx.depth > 10 {
            ctx.emit("... (max_group_depth is 10)", '|');
        } else {
            let top = ctx.depth == 0;
            if top {
                ctx.depth += 1;
            }
            if !tb.is_empty() {
                ctx.emit(
                    "Exception Group Traceback (most recent call last):",
                    if top { '+' } else { '|' },
                );
                ctx.emit(&stack, '|');
            }
            let line = vm.exc_line(&exc);
            ctx.emit(&line, '|');
            let subs = members(&exc);
            let n = subs.len().min(16);
            ctx.need_close = false;
            for i in 0..n {
                let last = i + 1 == n;
                if last {
                    ctx.need_close = true;
                }
                let truncated = i >= 15;
                let title = if truncated {
                    "...".to_string()
                } else {
                    (i + 1).to_string()
                };
                let head = format!(
                    "{}{}+---------------- {title} ----------------\n",
                    ctx.indent(),
                    if i == 0 { "+-" } else { "  " }
                );
                ctx.out.push_str(&head);
                ctx.depth += 1;
                if !truncated {
                    format_into(vm, &subs[i], ctx);
                } else {
                    let more = subs.len() - 15;
                    ctx.emit(
                        &format!(
                            "and {more} more exception{}",
                            if more > 1 { "s" } else { "" }
                        ),
                        '|',
                    );
                }
                if last && ctx.need_close {
                    let close = format!("{}+------------------------------------\n", ctx.indent());
                    ctx.out.push_str(&close);
                    ctx.need_close = false;
                }
                ctx.depth -= 1;
            }
            if top {
                ctx.depth = 0;
            }
        }
    }
}

/// The text CPython prints for an uncaught exception whose chain holds
/// an exception group.
pub fn format_with_groups(vm: &mut Vm, e: &Value) -> Option<String> {
    if !chain(e).iter().any(|(x, _)| vm.is_exception_group(x)) {
        return None;
    }
    let mut ctx = Ctx {
        depth: 0,
        need_close: false,
        out: String::new(),
    };
    format_into(vm, e, &mut ctx);
    Some(ctx.out)
}
