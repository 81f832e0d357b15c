//! `coroutine.__await__()`: CPython's `coroutine_wrapper`, an iterator
//! whose `__next__`/`send`/`throw`/`close` drive the coroutine.

use std::any::Any;
use std::rc::Rc;

use crate::value::*;
use crate::vm::Vm;

pub struct CoroWrapper {
    coro: Value,
}

impl NativeObject for CoroWrapper {
    fn class(&self, vm: &Vm) -> Rc<Class> {
        vm.types.coroutine_wrapper.clone()
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    // Its own repr: object's default `__repr__` would come back here.
    fn repr(&self, _vm: &mut Vm) -> PyResult<Option<String>> {
        let addr = self as *const CoroWrapper as usize;
        Ok(Some(format!("<coroutine_wrapper object at {addr:#x}>")))
    }
}

fn coro_await(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    match args.first() {
        Some(c @ Value::Generator(_)) => Ok(Value::Native(
            NativeBox::new(CoroWrapper { coro: c.clone() }).into(),
        )),
        _ => Err(vm.type_error("descriptor '__await__' requires a 'coroutine' object")),
    }
}

/// Calls the coroutine's own method `name` with the wrapper's arguments.
fn forward(vm: &mut Vm, name: &str, args: &[Value]) -> PyResult<Value> {
    let coro = match args.first() {
        Some(Value::Native(n)) => match n.as_any().downcast_ref::<CoroWrapper>() {
            Some(w) => w.coro.clone(),
            None => return Err(vm.type_error("expected a coroutine_wrapper")),
        },
        _ => return Err(vm.type_error("expected a coroutine_wrapper")),
    };
    let Some(m) = vm.class_lookup(&vm.types.coroutine.clone(), name) else {
        return Err(vm.type_error("coroutine method missing"));
    };
    let mut a = Vec::with_capacity(args.len());
    a.push(coro);
    a.extend(args[1..].iter().cloned());
    vm.call(&m, a)
}

fn w_iter(_vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    Ok(args.first().cloned().unwrap_or(Value::None))
}

fn w_next(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let mut a = args.to_vec();
    a.truncate(1);
    a.push(Value::None);
    forward(vm, "send", &a)
}

fn w_send(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    forward(vm, "send", args)
}

fn w_throw(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    forward(vm, "throw", args)
}

fn w_close(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    forward(vm, "close", args)
}

pub(crate) fn install_methods(vm: &mut Vm) {
    let c = vm.types.coroutine.clone();
    vm.add_method(&c, "__await__", coro_await);
    let w = vm.types.coroutine_wrapper.clone();
    vm.add_method(&w, "__iter__", w_iter);
    vm.add_method(&w, "__next__", w_next);
    vm.add_method(&w, "send", w_send);
    vm.add_method(&w, "throw", w_throw);
    vm.add_method(&w, "close", w_close);
}

impl Vm {
    /// Records a generator made by a `types.coroutine` function.
    pub fn mark_iterable_coroutine(&mut self, g: &GenRc) {
        crate::gen_names::set_iterable_coroutine(g);
    }

    /// Whether the running frame is a `types.coroutine` generator's, which
    /// may `yield from` a coroutine.
    pub(crate) fn in_iterable_coroutine(&self) -> bool {
        match self.frames.last().map(|f| &f.ret) {
            Some(crate::frame::ReturnTo::Generator(g, _)) => self.is_iterable_coroutine(g),
            _ => false,
        }
    }

    /// Whether `await` may use generator `g` as its iterator.
    pub(crate) fn is_iterable_coroutine(&self, g: &GenRc) -> bool {
        crate::gen_names::is_iterable_coroutine(g)
    }
}
