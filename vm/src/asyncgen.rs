//! Async generators (PEP 525). An async generator is a generator frame
//! whose `yield` wraps its value (`AsyncGenWrap`), so the awaitables that
//! `asend`, `athrow` and `aclose` return can tell a value for the consumer
//! (finish the awaitable with it) from one an inner `await` passes out to
//! the event loop (pass it on).

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::rc::Rc;

use crate::resume::{Action, Exit, Wrapped};
use crate::value::*;
use crate::vm::Vm;

#[derive(Clone, Copy, PartialEq, Eq)]
enum AwaitState {
    Init,
    Iter,
    Closed,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum AwaitKind {
    Send,
    Throw,
    Close,
}

/// The awaitable returned by `asend`/`__anext__`, `athrow` and `aclose`.
pub struct AsyncGenAwaitable {
    agen: GenRc,
    kind: AwaitKind,
    /// What to send (Send) or throw (Throw/Close) first.
    first: RefCell<Value>,
    state: Cell<AwaitState>,
}

impl NativeObject for AsyncGenAwaitable {
    fn class(&self, vm: &Vm) -> Rc<Class> {
        match self.kind {
            AwaitKind::Send => vm.types.async_gen_asend.clone(),
            _ => vm.types.async_gen_athrow.clone(),
        }
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn repr(&self, vm: &mut Vm) -> PyResult<Option<String>> {
        let addr = self as *const AsyncGenAwaitable as usize;
        let name = self.class(vm).name.clone();
        Ok(Some(format!("<{name} object at {addr:#x}>")))
    }
}

impl AsyncGenAwaitable {
    /// The type's name, for reprs made without a VM.
    pub fn type_name(&self) -> &'static str {
        match self.kind {
            AwaitKind::Send => "async_generator_asend",
            _ => "async_generator_athrow",
        }
    }
}

fn this(vm: &Vm, args: &[Value]) -> PyResult<NativeHandle> {
    match args.first() {
        Some(Value::Native(n)) if n.as_any().is::<AsyncGenAwaitable>() => Ok(n.clone()),
        _ => Err(vm.type_error("expected an async generator awaitable")),
    }
}

impl Vm {
    /// Runs one step of an async-generator awaitable.
    fn agen_step(&mut self, aw: &AsyncGenAwaitable, action: Action) -> PyResult<Value> {
        if aw.state.get() == AwaitState::Closed {
            let msg = match aw.kind {
                AwaitKind::Send => "cannot reuse already awaited __anext__()/asend()",
                // CPython 3.11 words both the same.
                AwaitKind::Throw | AwaitKind::Close => {
                    "cannot reuse already awaited aclose()/athrow()"
                }
            };
            return Err(self.runtime_error(msg));
        }
        let action = if aw.state.get() == AwaitState::Init {
            aw.state.set(AwaitState::Iter);
            let first = std::mem::replace(&mut *aw.first.borrow_mut(), Value::None);
            match (aw.kind, action) {
                (AwaitKind::Send, Action::Send(v)) => {
                    Action::Send(if v.is_none() { first } else { v })
                }
                (AwaitKind::Throw | AwaitKind::Close, Action::Send(_)) => {
                    if aw.agen.state.get() == GenState::Closed
                        || (aw.kind == AwaitKind::Close && aw.agen.state.get() == GenState::Created)
                    {
                        // athrow() on a closed generator finishes with None,
                        // as aclose() does (CPython 3.11).
                        drop(first);
                        aw.agen.state.set(GenState::Closed);
                        aw.state.set(AwaitState::Closed);
                        return Err(self.new_stop_iteration(Value::None));
                    }
                    Action::Throw(first)
                }
                (_, a) => a,
            }
        } else {
            action
        };
        let r = self.resume(&aw.agen, action);
        match r {
            Ok(Exit::Yield(v)) => {
                if let Value::Native(n) = &v
                    && let Some(w) = n.as_any().downcast_ref::<Wrapped>()
                {
                    aw.state.set(AwaitState::Closed);
                    if aw.kind == AwaitKind::Close {
                        return Err(self.runtime_error("async generator ignored GeneratorExit"));
                    }
                    return Err(self.new_stop_iteration(w.0.clone()));
                }
                Ok(v)
            }
            Ok(Exit::Return(_)) => {
                aw.state.set(AwaitState::Closed);
                if aw.kind == AwaitKind::Close {
                    return Err(self.new_stop_iteration(Value::None));
                }
                Err(self.new_exc(&self.exc.stop_async_iteration.clone(), ""))
            }
            Err(e) => {
                aw.state.set(AwaitState::Closed);
                if aw.kind == AwaitKind::Close
                    && (self.is_instance_of(&e, &self.exc.stop_async_iteration.clone())
                        || self.is_instance_of(&e, &self.exc.generator_exit.clone()))
                {
                    return Err(self.new_stop_iteration(Value::None));
                }
                Err(e)
            }
        }
    }
}

fn new_awaitable(g: GenRc, kind: AwaitKind, first: Value) -> Value {
    Value::Native(
        NativeBox::new(AsyncGenAwaitable {
            agen: g,
            kind,
            first: RefCell::new(first),
            state: Cell::new(AwaitState::Init),
        })
        .into(),
    )
}

fn agen(vm: &Vm, args: &[Value]) -> PyResult<GenRc> {
    match args.first() {
        Some(Value::Generator(g)) if g.kind == GenKind::AsyncGenerator => Ok(g.clone()),
        _ => Err(vm.type_error("expected an async generator")),
    }
}

fn agen_aiter(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    agen(vm, args)?;
    Ok(args[0].clone())
}

fn agen_anext(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let g = agen(vm, args)?;
    crate::scheduler::agen_hooks::init_hooks(vm, &g);
    Ok(new_awaitable(g, AwaitKind::Send, Value::None))
}

fn agen_asend(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let g = agen(vm, args)?;
    crate::scheduler::agen_hooks::init_hooks(vm, &g);
    let v = args.get(1).cloned().unwrap_or(Value::None);
    Ok(new_awaitable(g, AwaitKind::Send, v))
}

fn agen_athrow(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let g = agen(vm, args)?;
    crate::scheduler::agen_hooks::init_hooks(vm, &g);
    let exc = vm.throw_args(&args[1..])?;
    Ok(new_awaitable(g, AwaitKind::Throw, exc))
}

fn agen_aclose(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let g = agen(vm, args)?;
    crate::scheduler::agen_hooks::init_hooks(vm, &g);
    let exc = vm.new_exc(&vm.exc.generator_exit.clone(), "");
    Ok(new_awaitable(g, AwaitKind::Close, exc))
}

fn aw_with<T>(
    vm: &mut Vm,
    args: &[Value],
    f: impl FnOnce(&mut Vm, &AsyncGenAwaitable) -> PyResult<T>,
) -> PyResult<T> {
    let n = this(vm, args)?;
    match n.as_any().downcast_ref::<AsyncGenAwaitable>() {
        Some(aw) => f(vm, aw),
        None => Err(vm.type_error("expected an async generator awaitable")),
    }
}

fn aw_self(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    this(vm, args)?;
    Ok(args[0].clone())
}

fn aw_next(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    aw_with(vm, args, |vm, aw| {
        vm.agen_step(aw, Action::Send(Value::None))
    })
}

fn aw_send(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let v = args.get(1).cloned().unwrap_or(Value::None);
    aw_with(vm, args, |vm, aw| vm.agen_step(aw, Action::Send(v)))
}

fn aw_throw(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let exc = vm.throw_args(&args[1..])?;
    aw_with(vm, args, |vm, aw| {
        if aw.state.get() == AwaitState::Init {
            aw.state.set(AwaitState::Iter);
        }
        vm.agen_step(aw, Action::Throw(exc))
    })
}

fn aw_close(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    aw_with(vm, args, |_, aw| {
        aw.state.set(AwaitState::Closed);
        Ok(Value::None)
    })
}

pub(crate) fn install_methods(vm: &mut Vm) {
    let g = vm.types.async_generator.clone();
    vm.add_method(&g, "__aiter__", agen_aiter);
    vm.add_method(&g, "__anext__", agen_anext);
    vm.add_method(&g, "asend", agen_asend);
    vm.add_method(&g, "athrow", agen_athrow);
    vm.add_method(&g, "aclose", agen_aclose);
    for cls in [
        vm.types.async_gen_asend.clone(),
        vm.types.async_gen_athrow.clone(),
    ] {
        vm.add_method(&cls, "__await__", aw_self);
        vm.add_method(&cls, "__iter__", aw_self);
        vm.add_method(&cls, "__next__", aw_next);
        vm.add_method(&cls, "send", aw_send);
        vm.add_method(&cls, "throw", aw_throw);
        vm.add_method(&cls, "close", aw_close);
    }
}
