//! The event loop's exception handler (`loop.set_exception_handler`,
//! `call_exception_handler`, `default_exception_handler`). Errors nobody
//! can raise to (a failing callback, a task exception never retrieved, a
//! task failing during `asyncio.run()` shutdown) go to the handler as a
//! context dict; the default one logs them as CPython's does: the message,
//! one `key: repr(value)` line per other key in sorted order, then the
//! exception's traceback.

use std::cell::RefCell;
use std::rc::Rc;

use super::Loop;
use crate::dict::{self, Dict};
use crate::value::*;
use crate::vm::Vm;

fn context_dict(vm: &mut Vm, ctx: &[(&str, Value)]) -> PyResult<Rc<RefCell<Dict>>> {
    let d = Rc::new(RefCell::new(Dict::new()));
    for (k, v) in ctx {
        dict::set(vm, &d, Value::str(*k), v.clone())?;
    }
    Ok(d)
}

/// `loop.call_exception_handler(context)` from the loop itself; what the
/// handler raises is logged, never propagated.
pub fn report(vm: &mut Vm, lp: &Loop, ctx: &[(&str, Value)]) {
    let d = match context_dict(vm, ctx) {
        Ok(d) => d,
        Err(e) => return super::report_exception(vm, "Exception in default exception handler", &e),
    };
    handle_failure(vm, lp, &d);
}

/// Calls the handler; when a custom one raises, the default handler logs
/// that, with the context it was given (`call_exception_handler`).
fn handle_failure(vm: &mut Vm, lp: &Loop, d: &Rc<RefCell<Dict>>) {
    let Err(e) = call(vm, lp, d) else {
        return;
    };
    let ctx = [
        (
            "message",
            Value::str("Unhandled error in exception handler"),
        ),
        ("exception", e.clone()),
        ("context", Value::Dict(d.clone())),
    ];
    let r = context_dict(vm, &ctx).and_then(|d2| default(vm, &d2));
    if r.is_err() {
        super::report_exception(vm, "Exception in default exception handler", &e);
    }
}

fn call(vm: &mut Vm, lp: &Loop, d: &Rc<RefCell<Dict>>) -> PyResult<()> {
    let handler = lp.exception_handler.borrow().clone();
    if handler.is_none() {
        return default(vm, d);
    }
    vm.call(&handler, vec![lp.value(), Value::Dict(d.clone())])?;
    Ok(())
}

/// `BaseEventLoop.default_exception_handler(context)`.
fn default(vm: &mut Vm, d: &Rc<RefCell<Dict>>) -> PyResult<()> {
    let message = dict::get(vm, d, &Value::str("message"))?;
    let mut text = match &message {
        Some(m) if vm.truthy(m)? => vm.to_str(m)?,
        _ => "Unhandled exception in event loop".to_string(),
    };
    let exception = dict::get(vm, d, &Value::str("exception"))?.unwrap_or(Value::None);
    let mut keys: Vec<String> = Vec::new();
    for k in d.borrow().keys() {
        match k {
            Value::Str(s) => keys.push(s.as_str().to_string()),
            _ => return Err(vm.type_error("'<' not supported between context keys")),
        }
    }
    keys.sort();
    for k in keys {
        if k == "message" || k == "exception" {
            continue;
        }
        if let Some(v) = dict::get(vm, d, &Value::str(k.as_str()))? {
            text.push_str(&format!("\n{k}: {}", vm.repr(&v)?));
        }
    }
    let _ = vm.flush();
    eprintln!("{text}");
    if vm.is_exception(&exception) {
        eprint!("{}", vm.format_exception(&exception));
    }
    Ok(())
}

fn this(vm: &Vm, args: &[Value]) -> PyResult<NativeRc<Loop>> {
    args.first()
        .and_then(Value::downcast_native)
        .ok_or_else(|| vm.type_error("descriptor requires an event loop object"))
}

fn context_arg(vm: &Vm, args: &[Value], what: &str) -> PyResult<Rc<RefCell<Dict>>> {
    match args.get(1) {
        Some(Value::Dict(d)) => Ok(d.clone()),
        Some(_) => Err(vm.type_error(&format!("{what}() argument must be a dict"))),
        None => Err(vm.type_error(&format!(
            "{what}() missing 1 required positional argument: 'context'"
        ))),
    }
}

fn l_set_exception_handler(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let lp = this(vm, args)?;
    let h = args.get(1).cloned().unwrap_or(Value::None);
    let callable = match &h {
        Value::None => true,
        Value::Function(_)
        | Value::Builtin(_)
        | Value::BoundMethod(_)
        | Value::Class(_)
        | Value::StaticMethod(_) => true,
        other => vm.lookup_special(other, "__call__").is_some(),
    };
    if !callable {
        let msg = format!(
            "A callable object or None is expected, got {}",
            vm.repr(&h)?
        );
        return Err(vm.type_error(&msg));
    }
    *lp.exception_handler.borrow_mut() = h;
    Ok(Value::None)
}

fn l_get_exception_handler(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    Ok(this(vm, args)?.exception_handler.borrow().clone())
}

fn l_call_exception_handler(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let lp = this(vm, args)?;
    let d = context_arg(vm, args, "call_exception_handler")?;
    handle_failure(vm, &lp, &d);
    Ok(Value::None)
}

fn l_default_exception_handler(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    this(vm, args)?;
    let d = context_arg(vm, args, "default_exception_handler")?;
    default(vm, &d)?;
    Ok(Value::None)
}

pub(crate) fn methods() -> [(&'static str, NativeFn); 4] {
    [
        ("set_exception_handler", l_set_exception_handler),
        ("get_exception_handler", l_get_exception_handler),
        ("call_exception_handler", l_call_exception_handler),
        ("default_exception_handler", l_default_exception_handler),
    ]
}
