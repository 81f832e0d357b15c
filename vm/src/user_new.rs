//! `__new__`: a class (or a base) that defines it in covm code constructs
//! its instances with it, as CPython's `type.__call__` does: the result
//! is initialised with `__init__` only when it is an instance of the class
//! called. `object.__new__(cls, ...)` (and so `super().__new__(cls)`) makes
//! the bare instance; for an exception class it also sets `args`.

use std::cell::RefCell;
use std::rc::Rc;

use crate::value::*;
use crate::vm::Vm;

impl Vm {
    /// The `__new__` a class defined in covm code gives `cls`, if any
    /// comes before the built-in constructors in its MRO.
    pub(crate) fn user_new(&self, cls: &Rc<Class>) -> Option<Value> {
        let own = std::iter::once(cls).chain(cls.mro.iter());
        for k in own {
            if k.builtin.is_some() {
                return None;
            }
            match k.dict.borrow().get("__new__") {
                Some(Value::StaticMethod(f)) => return Some((**f).clone()),
                Some(v @ Value::Function(_)) => return Some(v.clone()),
                Some(_) => return None,
                None => {}
            }
        }
        None
    }
}

/// `object.__new__(cls, *args)`: a bare instance of `cls`.
fn object_new(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let cls = match args.first() {
        Some(Value::Class(c)) => c.clone(),
        Some(other) => {
            let msg = format!(
                "object.__new__(X): X is not a type object ({})",
                vm.type_name(other)
            );
            return Err(vm.type_error(&msg));
        }
        None => return Err(vm.type_error("object.__new__(): not enough arguments")),
    };
    let exc = vm.is_subclass(&cls, &vm.exc.base_exception.clone());
    if cls.builtin.is_some() && !exc {
        // A built-in type constructs itself (`object.__new__(int)` is
        // refused by CPython too, with another wording).
        let msg = format!(
            "object.__new__({}) is not safe, use {}.__new__()",
            cls.name, cls.name
        );
        return Err(vm.type_error(&msg));
    }
    let mut dict = crate::attrs::Attrs::default();
    if exc {
        dict.insert(Rc::from("args"), Value::tuple(args[1..].to_vec()));
    }
    Ok(Value::tracked(Value::Instance(Rc::new(Instance {
        class: cls,
        dict: RefCell::new(dict),
        traceback: Default::default(),
        gc_mark: Default::default(),
    }))))
}

pub(crate) fn install_methods(vm: &mut Vm) {
    let object = vm.types.object.clone();
    let f = vm.native("__new__", object_new);
    object
        .dict
        .borrow_mut()
        .insert(Rc::from("__new__"), Value::StaticMethod(Rc::new(f)));
}
