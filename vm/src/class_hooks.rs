//! What happens around a class besides its dict: CPython's
//! `__set_name__` and `__init_subclass__` at class creation and
//! `__class_getitem__` for `C[x]`, plus covm's private class-level hooks
//! that stand in for a metaclass in the embedded stdlib (`enum`,
//! `collections.abc`), which programs cannot define metaclasses for:
//!
//! - `__class_call__(cls, *args)`: `C(...)` (Enum lookup by value),
//! - `__class_iter__(cls)`, `__class_len__(cls)`, `__class_contains__(cls, x)`:
//!   `for m in C`, `len(C)`, `x in C`,
//! - `__class_subclasscheck__(cls, sub)`: `isinstance`/`issubclass` when
//!   the ordinary check says no (ABCs: `__subclasshook__`, `register`).
//!
//! Each is looked up along the class's MRO and called with the class
//! first, whether it is stored as a function or a classmethod.

use std::rc::Rc;

use crate::value::*;
use crate::vm::Vm;

/// `int | None`, `str | list`: both operands are classes or None, one a
/// class (CPython's `type.__or__` making a `types.UnionType`).
pub fn is_type_union(a: &Value, b: &Value) -> bool {
    let typeish = |v: &Value| matches!(v, Value::Class(_) | Value::None);
    typeish(a) && typeish(b) && (matches!(a, Value::Class(_)) || matches!(b, Value::Class(_)))
}

impl Vm {
    /// Calls `types.NAME(*args)` from the embedded `types` module (how
    /// `list[int]` and `int | None` build their alias objects).
    pub fn stdlib_types_call(&mut self, name: &str, args: Vec<Value>) -> PyResult<Value> {
        let types = self.import("types")?;
        let f = self.getattr(&types, name)?;
        self.call(&f, args)
    }

    /// The function behind class-level hook `name` of `cls`, if any class
    /// on its MRO (other than `object`) defines it.
    pub fn class_hook(&self, cls: &Rc<Class>, name: &str) -> Option<Value> {
        match self.class_lookup(cls, name)? {
            Value::ClassMethod(f) | Value::StaticMethod(f) => Some((*f).clone()),
            v @ (Value::Function(_) | Value::Builtin(_) | Value::BoundMethod(_)) => Some(v),
            _ => None,
        }
    }

    /// Calls hook `name` of `cls` with the class first, if it has one.
    pub fn call_class_hook(
        &mut self,
        cls: &Rc<Class>,
        name: &str,
        args: Vec<Value>,
    ) -> PyResult<Option<Value>> {
        let Some(f) = self.class_hook(cls, name) else {
            return Ok(None);
        };
        let mut a = Vec::with_capacity(args.len() + 1);
        a.push(Value::Class(cls.clone()));
        a.extend(args);
        self.call(&f, a).map(Some)
    }

    /// A class made at run time, as a class statement with this namespace
    /// would make it (C3 MRO, subclass links, `__set_name__`,
    /// `__init_subclass__`). For the stdlib (`Enum('Color', 'RED GREEN')`).
    pub fn make_class(
        &mut self,
        name: &str,
        bases: Vec<Rc<Class>>,
        ns: Namespace,
    ) -> PyResult<Rc<Class>> {
        let cls = self.build_class(name, bases, ns)?;
        self.class_created(&cls)?;
        Ok(cls)
    }

    /// The class object for a class statement or `make_class`: C3 MRO
    /// (no bases means `object`), `__qualname__`/`__module__` from the
    /// namespace, linked into its bases' subclass lists. The hooks of
    /// `class_created` are the caller's to run.
    pub(crate) fn build_class(
        &mut self,
        name: &str,
        bases: Vec<Rc<Class>>,
        ns: Namespace,
    ) -> PyResult<Rc<Class>> {
        let bases = if bases.is_empty() {
            vec![self.types.object.clone()]
        } else {
            bases
        };
        let mro = match crate::mro::c3(&bases) {
            Ok(m) => m,
            Err(msg) => return Err(self.type_error(&msg)),
        };
        let str_of = |k: &str| match ns.get(k) {
            Some(Value::Str(s)) => Some(Rc::from(s.as_str())),
            _ => None,
        };
        let qualname = str_of("__qualname__").unwrap_or_else(|| Rc::from(name));
        let module = str_of("__module__").unwrap_or_else(|| Rc::from("__main__"));
        let cls = Rc::new(Class {
            name: Rc::from(name),
            qualname,
            base: bases.first().cloned(),
            bases,
            mro,
            subclasses: Default::default(),
            dict: ClassDict::new(ns),
            builtin: None,
            native_new: std::cell::Cell::new(None),
            module,
            plain_init: std::cell::Cell::new((0, std::ptr::null())),
        });
        crate::tracking::track(&Value::Class(cls.clone()));
        for b in &cls.bases {
            b.subclasses.borrow_mut().push(Rc::downgrade(&cls));
        }
        Ok(cls)
    }

    /// After a class statement built `cls`: `__set_name__` on the
    /// attributes that define it, then the parent's `__init_subclass__`.
    pub(crate) fn class_created(&mut self, cls: &Rc<Class>) -> PyResult<()> {
        let attrs: Vec<(Rc<str>, Value)> = cls
            .dict
            .borrow()
            .iter()
            .filter(|(_, v)| matches!(v, Value::Instance(_) | Value::Property(_)))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for (name, v) in attrs {
            if let Value::Property(p) = &v {
                *p.name.borrow_mut() = Some(name);
                continue;
            }
            if let Some(f) = self.lookup_special(&v, "__set_name__") {
                self.call(
                    &f,
                    vec![v.clone(), Value::Class(cls.clone()), Value::str(&*name)],
                )?;
            }
        }
        // As `super(cls, cls).__init_subclass__()`: along the MRO after cls.
        let f = match crate::mro::lookup_after(cls, cls, "__init_subclass__") {
            Some(Value::ClassMethod(f) | Value::StaticMethod(f)) => (*f).clone(),
            Some(f @ Value::Function(_)) => f,
            _ => return Ok(()),
        };
        self.call(&f, vec![Value::Class(cls.clone())])?;
        Ok(())
    }
}
