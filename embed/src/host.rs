//! Rust closures and Rust types made callable from covm.
//!
//! A closure becomes a `Builtin` whose `func` is a shared trampoline and
//! whose `receiver` (the slot natives use for a bound object) is the
//! closure itself, wrapped as a native object: the interpreter's plain
//! `fn`-pointer path stays as it is, and a closure call costs one
//! downcast and one dynamic call more than a built-in.

use std::any::TypeId;
use std::cell::RefCell;
use std::collections::HashMap;
use std::marker::PhantomData;
use std::rc::Rc;

use covm_vm::Vm as RawVm;
use covm_vm::value::{Builtin, Class, KwArgs, NativeBox, NativeObject, PyResult, Special, Value};

use crate::convert::{FromValue, IntoValue};

/// A host callback with the interpreter's calling convention: the VM and
/// the positional arguments (a method's receiver first).
pub type Callback = Rc<dyn Fn(&mut RawVm, &[Value]) -> PyResult<Value>>;

struct Closure {
    name: Rc<str>,
    f: Callback,
}

impl NativeObject for Closure {
    fn class(&self, vm: &RawVm) -> Rc<Class> {
        vm.types.builtin_function.clone()
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

fn trampoline(vm: &mut RawVm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let c = match args.first() {
        Some(Value::Native(n)) => n.clone(),
        _ => return Err(vm.type_error("host function called without its closure")),
    };
    let Some(c) = c.as_any().downcast_ref::<Closure>() else {
        return Err(vm.type_error("host function called without its closure"));
    };
    if !kw.is_empty() {
        let msg = format!("{}() takes no keyword arguments", c.name);
        return Err(vm.type_error(&msg));
    }
    let f = c.f.clone();
    f(vm, &args[1..])
}

/// A covm function value that calls `f`.
pub(crate) fn closure_value(name: &str, f: Callback) -> Value {
    let name: Rc<str> = Rc::from(name);
    Value::Builtin(Rc::new(Builtin {
        name: name.clone(),
        func: trampoline,
        receiver: Some(Value::native(Closure { name, f })),
        special: Special::None,
    }))
}

fn arity_error(vm: &mut RawVm, name: &str, want: usize, got: usize) -> Value {
    let msg = format!("{name}() takes {want} positional arguments but {got} were given");
    vm.type_error(&msg)
}

/// A Rust function usable as a covm function: any `Fn(A, B, ...) -> R`
/// (up to four arguments) whose arguments are [`FromValue`] and whose
/// result is [`IntoValue`]. `Args` is the argument tuple; it only tells
/// the implementations apart.
pub trait HostFn<Args> {
    /// Wraps the function in the interpreter's calling convention.
    fn into_callback(self, name: &str) -> Callback;
}

macro_rules! host_fn {
    ($n:expr; $($a:ident $i:tt),*) => {
        impl<F, R, $($a),*> HostFn<($($a,)*)> for F
        where
            F: Fn($($a),*) -> R + 'static,
            R: IntoValue,
            $($a: FromValue,)*
        {
            #[allow(unused_variables, non_snake_case)]
            fn into_callback(self, name: &str) -> Callback {
                let name: Rc<str> = Rc::from(name);
                Rc::new(move |vm: &mut RawVm, args: &[Value]| {
                    if args.len() != $n {
                        return Err(arity_error(vm, &name, $n, args.len()));
                    }
                    $(let $a = $a::from_value(&args[$i], vm)?;)*
                    (self)($($a),*).into_value(vm)
                })
            }
        }
    };
}
host_fn!(0;);
host_fn!(1; A 0);
host_fn!(2; A 0, B 1);
host_fn!(3; A 0, B 1, C 2);
host_fn!(4; A 0, B 1, C 2, D 3);

/// A Rust value shared with covm as an opaque object; `T`'s registered
/// methods (`Vm::register_type`) are its covm methods.
struct HostObject<T: 'static> {
    value: Rc<T>,
    class: Rc<Class>,
}

impl<T: 'static> NativeObject for HostObject<T> {
    fn class(&self, _vm: &RawVm) -> Rc<Class> {
        self.class.clone()
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

type Registry = RefCell<HashMap<TypeId, Rc<Class>>>;
const REGISTRY: &str = "covm_embed.types";

/// The covm class of host type `T`, created (with no methods) on first
/// use under `name`.
pub(crate) fn class_of<T: 'static>(vm: &mut RawVm, name: Option<&str>) -> Rc<Class> {
    let reg = match vm.extensions.get(REGISTRY).cloned() {
        Some(r) => r,
        None => {
            let r: Rc<dyn std::any::Any> = Rc::new(Registry::default());
            vm.extensions.insert(REGISTRY, r.clone());
            r
        }
    };
    let Some(reg) = reg.downcast_ref::<Registry>() else {
        return vm.types.object.clone();
    };
    if let Some(c) = reg.borrow().get(&TypeId::of::<T>()) {
        return c.clone();
    }
    let short = std::any::type_name::<T>()
        .rsplit("::")
        .next()
        .unwrap_or("HostObject");
    let cls = vm.new_native_class(name.unwrap_or(short), "host");
    reg.borrow_mut().insert(TypeId::of::<T>(), cls.clone());
    cls
}

impl<T: 'static> IntoValue for Rc<T> {
    /// An opaque host object (see `Vm::register_type`).
    fn into_value(self, vm: &mut RawVm) -> PyResult<Value> {
        let class = class_of::<T>(vm, None);
        Ok(Value::Native(
            NativeBox::new(HostObject { value: self, class }).into(),
        ))
    }
}

impl<T: 'static> FromValue for Rc<T> {
    /// The host object back, if `v` is one of type `T`.
    fn from_value(v: &Value, vm: &mut RawVm) -> PyResult<Self> {
        if let Value::Native(n) = v
            && let Some(h) = n.as_any().downcast_ref::<HostObject<T>>()
        {
            return Ok(h.value.clone());
        }
        let want = class_of::<T>(vm, None).name.clone();
        let msg = format!("expected a {want} object, got '{}'", vm.type_name(v));
        Err(vm.type_error(&msg))
    }
}

/// A Rust function usable as a method of host type `T`: any
/// `Fn(&T, A, B, ...) -> R` (up to three arguments after the receiver).
pub trait HostMethod<T, Args> {
    /// Wraps the method in the interpreter's calling convention (the
    /// receiver is the first argument).
    fn into_callback(self, name: &str) -> Callback;
}

macro_rules! host_method {
    ($n:expr; $($a:ident $i:tt),*) => {
        impl<T: 'static, F, R, $($a),*> HostMethod<T, ($($a,)*)> for F
        where
            F: Fn(&T, $($a),*) -> R + 'static,
            R: IntoValue,
            $($a: FromValue,)*
        {
            #[allow(non_snake_case)]
            fn into_callback(self, name: &str) -> Callback {
                let name: Rc<str> = Rc::from(name);
                Rc::new(move |vm: &mut RawVm, args: &[Value]| {
                    if args.len() != $n + 1 {
                        return Err(arity_error(vm, &name, $n, args.len().saturating_sub(1)));
                    }
                    let this = <Rc<T>>::from_value(&args[0], vm)?;
                    $(let $a = $a::from_value(&args[$i + 1], vm)?;)*
                    (self)(&this, $($a),*).into_value(vm)
                })
            }
        }
    };
}
host_method!(0;);
host_method!(1; A 0);
host_method!(2; A 0, B 1);
host_method!(3; A 0, B 1, C 2);

/// Adds methods to a host type's covm class (from `Vm::register_type`).
pub struct TypeBuilder<'a, T: 'static> {
    pub(crate) vm: &'a mut RawVm,
    pub(crate) class: Rc<Class>,
    pub(crate) _t: PhantomData<T>,
}

impl<T: 'static> TypeBuilder<'_, T> {
    /// Adds a method: `f(&T, args...)`, called from covm as
    /// `obj.name(args...)`.
    pub fn method<Args>(self, name: &str, f: impl HostMethod<T, Args>) -> Self {
        let v = closure_value(name, f.into_callback(name));
        self.class.dict.borrow_mut().insert(Rc::from(name), v);
        self
    }

    /// Adds a method with the raw calling convention: `f(vm, receiver,
    /// args)`.
    pub fn method_raw(
        self,
        name: &str,
        f: impl Fn(&mut RawVm, &Rc<T>, &[Value]) -> PyResult<Value> + 'static,
    ) -> Self {
        let cb: Callback = Rc::new(move |vm: &mut RawVm, args: &[Value]| {
            let Some(first) = args.first() else {
                return Err(vm.type_error("method called without its receiver"));
            };
            let this = <Rc<T>>::from_value(first, vm)?;
            f(vm, &this, &args[1..])
        });
        let v = closure_value(name, cb);
        self.class.dict.borrow_mut().insert(Rc::from(name), v);
        self
    }

    /// The covm class (e.g. to store it as a global for `isinstance`).
    pub fn class(&self) -> Value {
        Value::Class(self.class.clone())
    }

    /// The VM, for conversions while building.
    pub fn vm(&mut self) -> &mut RawVm {
        self.vm
    }
}
