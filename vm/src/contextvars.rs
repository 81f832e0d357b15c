//! Context variables (PEP 567): `ContextVar`, `Token`, `Context` and the
//! VM's current context. The `contextvars` module (stdlib) exposes them;
//! the scheduler runs every task step in its task's context and every
//! program callback in the context captured when it was scheduled, as
//! CPython's `Handle._run` does with `Context.run`.
//!
//! A context's mapping is an `Rc<Vec<..>>` shared between copies and
//! cloned on the first write (CPython uses a HAMT for the same reason):
//! `copy_context()`, which every task creation and every scheduled callback
//! does, costs one allocation.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use crate::value::*;
use crate::vm::Vm;

type Map = Rc<Vec<(NativeRc<CtxVar>, Value)>>;

pub struct Classes {
    pub context: Rc<Class>,
    pub context_var: Rc<Class>,
    pub token: Rc<Class>,
}

/// The contextvars state of one VM.
pub struct State {
    pub cls: Classes,
    current: RefCell<NativeRc<Context>>,
    /// `Token.MISSING`.
    pub missing: Value,
}

pub struct Context {
    cls: Rc<Class>,
    vars: RefCell<Map>,
    entered: Cell<bool>,
}

pub struct CtxVar {
    cls: Rc<Class>,
    pub name: Value,
    pub default: Option<Value>,
}

pub struct Token {
    cls: Rc<Class>,
    ctx: NativeRc<Context>,
    var: NativeRc<CtxVar>,
    /// The value before `set`; None when the variable had none.
    old: Option<Value>,
    used: Cell<bool>,
}

/// `Token.MISSING`'s object.
pub struct Missing {
    cls: Rc<Class>,
}

const EXT_KEY: &str = "covm.contextvars";

/// The contextvars state of `vm`, created the first time it is needed.
pub fn state(vm: &mut Vm) -> Rc<State> {
    if let Some(s) = vm.extensions.get(EXT_KEY)
        && let Ok(s) = s.clone().downcast::<State>()
    {
        return s;
    }
    let o = vm.types.object.clone();
    let n = BuiltinType::Native;
    let cls = Classes {
        context: Class::native("Context", "_contextvars", &o, n),
        context_var: Class::native("ContextVar", "_contextvars", &o, n),
        token: Class::native("Token", "_contextvars", &o, n),
    };
    let missing = Value::Native(
        NativeBox::new(Missing {
            cls: Class::native("Token.MISSING", "_contextvars", &o, n),
        })
        .into(),
    );
    let base = NativeBox::new(Context {
        cls: cls.context.clone(),
        vars: RefCell::new(Rc::new(Vec::new())),
        entered: Cell::new(true),
    });
    let s = Rc::new(State {
        cls,
        current: RefCell::new(base),
        missing,
    });
    vm.extensions.insert(EXT_KEY, s.clone());
    s
}

/// The current context.
pub fn current(vm: &mut Vm) -> NativeRc<Context> {
    state(vm).current.borrow().clone()
}

/// `contextvars.copy_context()`.
pub fn copy_context(vm: &mut Vm) -> NativeRc<Context> {
    current(vm).copy()
}

/// `ctx.run(f)` for Rust callers: `f` runs with `ctx` as the current
/// context. Fails as CPython does when `ctx` is already entered.
pub fn run_in<T>(
    vm: &mut Vm,
    ctx: &NativeRc<Context>,
    f: impl FnOnce(&mut Vm) -> PyResult<T>,
) -> PyResult<T> {
    if ctx.entered.get() {
        let r = vm.repr(&Value::Native(ctx.clone().into()))?;
        return Err(vm.runtime_error(&format!("cannot enter context: {r} is already entered")));
    }
    let st = state(vm);
    let prev = std::mem::replace(&mut *st.current.borrow_mut(), ctx.clone());
    ctx.entered.set(true);
    let r = f(vm);
    ctx.entered.set(false);
    *st.current.borrow_mut() = prev;
    r
}

impl Context {
    pub fn new_empty(vm: &mut Vm) -> NativeRc<Context> {
        let cls = state(vm).cls.context.clone();
        NativeBox::new(Context {
            cls,
            vars: RefCell::new(Rc::new(Vec::new())),
            entered: Cell::new(false),
        })
    }

    pub fn copy(&self) -> NativeRc<Context> {
        NativeBox::new(Context {
            cls: self.cls.clone(),
            vars: RefCell::new(self.vars.borrow().clone()),
            entered: Cell::new(false),
        })
    }

    pub fn lookup(&self, var: &NativeRc<CtxVar>) -> Option<Value> {
        self.vars
            .borrow()
            .iter()
            .find(|(v, _)| Rc::ptr_eq(v, var))
            .map(|(_, x)| x.clone())
    }

    fn store(&self, var: &NativeRc<CtxVar>, value: Option<Value>) {
        let mut vars = self.vars.borrow_mut();
        let map = Rc::make_mut(&mut *vars);
        let pos = map.iter().position(|(v, _)| Rc::ptr_eq(v, var));
        match (pos, value) {
            (Some(i), Some(x)) => map[i].1 = x,
            (Some(i), None) => {
                map.remove(i);
            }
            (None, Some(x)) => map.push((var.clone(), x)),
            (None, None) => {}
        }
    }

    pub fn items(&self) -> Vec<(Value, Value)> {
        self.vars
            .borrow()
            .iter()
            .map(|(k, v)| (Value::Native(k.clone().into()), v.clone()))
            .collect()
    }
}

impl CtxVar {
    pub fn new(vm: &mut Vm, name: Value, default: Option<Value>) -> NativeRc<CtxVar> {
        let cls = state(vm).cls.context_var.clone();
        NativeBox::new(CtxVar { cls, name, default })
    }
}

/// The methods that hand out the variable itself (a token keeps it).
impl NativeBox<CtxVar> {
    /// `var.set(value)`: the token that `reset` takes back.
    pub fn set(self: &Rc<Self>, vm: &mut Vm, value: Value) -> Value {
        let ctx = current(vm);
        let old = ctx.lookup(self);
        ctx.store(self, Some(value));
        let cls = state(vm).cls.token.clone();
        Value::Native(
            NativeBox::new(Token {
                cls,
                ctx,
                var: self.clone(),
                old,
                used: Cell::new(false),
            })
            .into(),
        )
    }

    /// `var.reset(token)`.
    pub fn reset(self: &Rc<Self>, vm: &mut Vm, token: &Value) -> PyResult<()> {
        let Some(t) = as_native::<Token>(token) else {
            let r = vm.repr(token)?;
            return Err(vm.type_error(&format!("expected an instance of Token, got {r}")));
        };
        let r = vm.repr(token)?;
        if t.used.get() {
            return Err(vm.runtime_error(&format!("{r} has already been used once")));
        }
        if !Rc::ptr_eq(&t.var, self) {
            return Err(vm.value_error(&format!("{r} was created by a different ContextVar")));
        }
        let ctx = current(vm);
        if !Rc::ptr_eq(&t.ctx, &ctx) {
            return Err(vm.value_error(&format!("{r} was created in a different Context")));
        }
        t.used.set(true);
        ctx.store(self, t.old.clone());
        Ok(())
    }
}

/// The native object of type `T` behind a value.
pub fn as_native<T: NativeObject>(v: &Value) -> Option<NativeRc<T>> {
    v.downcast_native()
}

fn addr<T>(p: &T) -> usize {
    p as *const T as usize
}

impl NativeObject for Context {
    fn class(&self, _vm: &Vm) -> Rc<Class> {
        self.cls.clone()
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
    fn len(&self) -> Option<usize> {
        Some(self.vars.borrow().len())
    }
    fn repr(&self, _vm: &mut Vm) -> PyResult<Option<String>> {
        Ok(Some(format!(
            "<_contextvars.Context object at 0x{:x}>",
            addr(self)
        )))
    }
}

impl NativeObject for CtxVar {
    fn class(&self, _vm: &Vm) -> Rc<Class> {
        self.cls.clone()
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
    fn get_attr(&self, _vm: &mut Vm, name: &str) -> PyResult<Option<Value>> {
        Ok(match name {
            "name" => Some(self.name.clone()),
            _ => None,
        })
    }
    fn repr(&self, vm: &mut Vm) -> PyResult<Option<String>> {
        let mut s = format!("<ContextVar name={}", vm.repr(&self.name)?);
        if let Some(d) = &self.default {
            s += &format!(" default={}", vm.repr(d)?);
        }
        s += &format!(" at 0x{:x}>", addr(self));
        Ok(Some(s))
    }
}

impl NativeObject for Token {
    fn class(&self, _vm: &Vm) -> Rc<Class> {
        self.cls.clone()
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
    fn get_attr(&self, vm: &mut Vm, name: &str) -> PyResult<Option<Value>> {
        Ok(match name {
            "var" => Some(Value::Native(self.var.clone().into())),
            "old_value" => Some(match &self.old {
                Some(v) => v.clone(),
                None => state(vm).missing.clone(),
            }),
            _ => None,
        })
    }
    fn repr(&self, vm: &mut Vm) -> PyResult<Option<String>> {
        let used = if self.used.get() { " used" } else { "" };
        let var = vm.repr(&Value::Native(self.var.clone().into()))?;
        Ok(Some(format!(
            "<Token{used} var={var} at 0x{:x}>",
            addr(self)
        )))
    }
}

impl NativeObject for Missing {
    fn class(&self, _vm: &Vm) -> Rc<Class> {
        self.cls.clone()
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
    fn repr(&self, _vm: &mut Vm) -> PyResult<Option<String>> {
        Ok(Some("<Token.MISSING>".into()))
    }
}
