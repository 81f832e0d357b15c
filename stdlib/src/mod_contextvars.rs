//! The `contextvars` module over the VM's context variables
//! (`covm_vm::contextvars`).

use std::rc::Rc;

use covm_vm::Vm;
use covm_vm::contextvars::{self as cv, Context, CtxVar, as_native};
use covm_vm::value::*;

use crate::modules::{func, set};

pub fn init(vm: &mut Vm) -> PyResult<Value> {
    let st = cv::state(vm);
    let m = vm.new_module("contextvars");
    let c = &st.cls;
    set(&m, "ContextVar", Value::Class(c.context_var.clone()));
    set(&m, "Context", Value::Class(c.context.clone()));
    set(&m, "Token", Value::Class(c.token.clone()));
    c.token
        .dict
        .borrow_mut()
        .insert(Rc::from("MISSING"), st.missing.clone());
    func(vm, &m, "copy_context", copy_context);
    vm.set_native_new(&c.context_var, var_new);
    vm.set_native_new(&c.context, ctx_new);
    for (name, f) in [
        ("get", var_get as NativeFn),
        ("set", var_set),
        ("reset", var_reset),
    ] {
        vm.add_method(&c.context_var, name, f);
    }
    for (name, f) in [
        ("run", ctx_run as NativeFn),
        ("copy", ctx_copy),
        ("get", ctx_get),
        ("keys", ctx_keys),
        ("values", ctx_values),
        ("items", ctx_items),
        ("__getitem__", ctx_getitem),
        ("__contains__", ctx_contains),
        ("__len__", ctx_len),
        ("__iter__", ctx_iter),
    ] {
        vm.add_method(&c.context, name, f);
    }
    Ok(Value::Module(m))
}

fn copy_context(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    if !args.is_empty() {
        return Err(vm.type_error(&format!(
            "copy_context() takes no arguments ({} given)",
            args.len()
        )));
    }
    Ok(Value::Native(cv::copy_context(vm).into()))
}

fn var_new(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let p = crate::args::bind_params(
        vm,
        "ContextVar",
        &args[1.min(args.len())..],
        kw,
        &["name", "default"],
    )?;
    if args.len() > 2 {
        return Err(vm.type_error("ContextVar() takes exactly 1 positional argument"));
    }
    let Some(name) = p[0].clone() else {
        return Err(vm.type_error("ContextVar() missing required argument 'name' (pos 1)"));
    };
    if !matches!(name, Value::Str(_)) {
        return Err(vm.type_error("context variable name must be a str"));
    }
    Ok(Value::Native(CtxVar::new(vm, name, p[1].clone()).into()))
}

fn ctx_new(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    if args.len() > 1 || !kw.is_empty() {
        return Err(vm.type_error("Context() does not accept any arguments"));
    }
    Ok(Value::Native(Context::new_empty(vm).into()))
}

fn this_var(vm: &Vm, args: &[Value], m: &str) -> PyResult<NativeRc<CtxVar>> {
    args.first().and_then(as_native::<CtxVar>).ok_or_else(|| {
        vm.type_error(&format!(
            "descriptor '{m}' requires a '_contextvars.ContextVar' object"
        ))
    })
}

fn this_ctx(vm: &Vm, args: &[Value], m: &str) -> PyResult<NativeRc<Context>> {
    args.first().and_then(as_native::<Context>).ok_or_else(|| {
        vm.type_error(&format!(
            "descriptor '{m}' requires a '_contextvars.Context' object"
        ))
    })
}

fn arg_var(vm: &mut Vm, v: Option<&Value>) -> PyResult<NativeRc<CtxVar>> {
    match v {
        Some(x) => match as_native::<CtxVar>(x) {
            Some(var) => Ok(var),
            None => {
                let r = vm.repr(x)?;
                Err(vm.type_error(&format!("a ContextVar key was expected, got {r}")))
            }
        },
        None => Err(vm.type_error("expected 1 argument, got 0")),
    }
}

fn var_get(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let var = this_var(vm, args, "get")?;
    if let Some(v) = cv::current(vm).lookup(&var) {
        return Ok(v);
    }
    if let Some(d) = args.get(1) {
        return Ok(d.clone());
    }
    if let Some(d) = &var.default {
        return Ok(d.clone());
    }
    let lookup_error = vm.exc.lookup_error.clone();
    Err(vm.new_exc_args(&lookup_error, vec![args[0].clone()]))
}

fn var_set(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let var = this_var(vm, args, "set")?;
    let Some(v) = args.get(1).cloned() else {
        return Err(vm.type_error("ContextVar.set() takes exactly one argument (0 given)"));
    };
    Ok(var.set(vm, v))
}

fn var_reset(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let var = this_var(vm, args, "reset")?;
    let Some(t) = args.get(1) else {
        return Err(vm.type_error("ContextVar.reset() takes exactly one argument (0 given)"));
    };
    var.reset(vm, t)?;
    Ok(Value::None)
}

fn ctx_run(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let ctx = this_ctx(vm, args, "run")?;
    let Some(f) = args.get(1).cloned() else {
        return Err(vm.type_error("run() missing 1 required positional argument"));
    };
    let rest = args[2..].to_vec();
    let kw: Vec<(Rc<str>, Value)> = kw.to_vec();
    cv::run_in(vm, &ctx, move |vm| vm.call_kw(&f, rest, kw))
}

fn ctx_copy(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    Ok(Value::Native(this_ctx(vm, args, "copy")?.copy().into()))
}

fn ctx_get(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let ctx = this_ctx(vm, args, "get")?;
    let var = arg_var(vm, args.get(1))?;
    Ok(ctx
        .lookup(&var)
        .unwrap_or_else(|| args.get(2).cloned().unwrap_or(Value::None)))
}

fn ctx_getitem(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let ctx = this_ctx(vm, args, "__getitem__")?;
    let var = arg_var(vm, args.get(1))?;
    match ctx.lookup(&var) {
        Some(v) => Ok(v),
        None => Err(vm.key_error(args[1].clone())),
    }
}

fn ctx_contains(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let ctx = this_ctx(vm, args, "__contains__")?;
    let var = arg_var(vm, args.get(1))?;
    Ok(Value::Bool(ctx.lookup(&var).is_some()))
}

fn ctx_len(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let ctx = this_ctx(vm, args, "__len__")?;
    Ok(Value::Int(ctx.items().len() as i64))
}

fn ctx_keys(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let ctx = this_ctx(vm, args, "keys")?;
    Ok(Value::list(
        ctx.items().into_iter().map(|(k, _)| k).collect(),
    ))
}

fn ctx_iter(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let keys = ctx_keys(vm, args, kw)?;
    vm.get_iter(&keys)
}

fn ctx_values(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let ctx = this_ctx(vm, args, "values")?;
    Ok(Value::list(
        ctx.items().into_iter().map(|(_, v)| v).collect(),
    ))
}

fn ctx_items(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let ctx = this_ctx(vm, args, "items")?;
    Ok(Value::list(
        ctx.items()
            .into_iter()
            .map(|(k, v)| Value::tuple(vec![k, v]))
            .collect(),
    ))
}
