//! Multiple inheritance: the C3 linearisation CPython computes for
//! `__mro__`, and lookups along it (`super()`).

use std::rc::Rc;

use crate::value::*;

/// The MRO of a class with `bases`, after the class itself, or CPython's
/// TypeError message when no consistent order exists.
pub fn c3(bases: &[Rc<Class>]) -> Result<Vec<Rc<Class>>, String> {
    // Each base's full MRO (itself first), then the list of bases.
    let mut seqs: Vec<Vec<Rc<Class>>> = bases
        .iter()
        .map(|b| {
            let mut v = vec![b.clone()];
            v.extend(b.mro.iter().cloned());
            v
        })
        .collect();
    seqs.push(bases.to_vec());
    let mut out = Vec::new();
    loop {
        seqs.retain(|s| !s.is_empty());
        if seqs.is_empty() {
            return Ok(out);
        }
        // The first head that is in no other sequence's tail.
        let head = seqs
            .iter()
            .map(|s| s[0].clone())
            .find(|h| !seqs.iter().any(|s| s[1..].iter().any(|x| Rc::ptr_eq(x, h))));
        let Some(head) = head else {
            return Err(mro_error(&seqs));
        };
        for s in &mut seqs {
            if Rc::ptr_eq(&s[0], &head) {
                s.remove(0);
            }
        }
        out.push(head);
    }
}

/// CPython's message when `c3` fails: the heads still in conflict.
fn mro_error(seqs: &[Vec<Rc<Class>>]) -> String {
    let mut heads: Vec<&Rc<Class>> = Vec::new();
    for s in seqs {
        if !heads.iter().any(|h| Rc::ptr_eq(h, &s[0])) {
            heads.push(&s[0]);
        }
    }
    let names: Vec<&str> = heads.iter().map(|b| &*b.name).collect();
    format!(
        "Cannot create a consistent method resolution\norder (MRO) for bases {}",
        names.join(", ")
    )
}

/// `cls.__mro__` as values, the class first.
pub fn mro_values(cls: &Rc<Class>) -> Vec<Value> {
    std::iter::once(cls)
        .chain(cls.mro.iter())
        .map(|k| Value::Class(k.clone()))
        .collect()
}

/// `super(cls, obj).name`: looks `name` up along the MRO of `of` (the
/// type of `obj`, or `obj` itself for a class), after `cls`.
pub fn lookup_after(of: &Rc<Class>, cls: &Rc<Class>, name: &str) -> Option<Value> {
    let full: Vec<&Rc<Class>> = std::iter::once(of).chain(of.mro.iter()).collect();
    let start = match full.iter().position(|k| Rc::ptr_eq(k, cls)) {
        Some(i) => i + 1,
        // `obj` is not an instance of `cls`: fall back to `cls`'s own MRO.
        None => {
            return cls
                .mro
                .iter()
                .find_map(|k| k.dict.borrow().get(name).cloned());
        }
    };
    full[start..]
        .iter()
        .find_map(|k| k.dict.borrow().get(name).cloned())
}

/// Where `BuildClass` keeps the bases after the first for `finish_class`
/// (not an identifier, so no class body can assign it).
pub const BASES_KEY: &str = "<bases>";

/// The checked bases, and the built-in type a stand-in replaced.
pub type CheckedBases = (Vec<Rc<Class>>, Option<Rc<Class>>);

/// The bases of a class statement, checked: classes only, each at most
/// once, and no built-in type covm cannot subclass yet. A built-in type
/// beside a base that offers a stand-in for it in `_covm_value_mixins_`
/// (a dict built-in type → class, as `enum.Enum` has for `class
/// State(str, Enum)`) is replaced by the stand-in; the built-in type is
/// returned too, for the class's `_member_type_`.
pub fn check_bases(vm: &mut crate::vm::Vm, bases: &[Value]) -> PyResult<CheckedBases> {
    let mut out: Vec<Rc<Class>> = Vec::with_capacity(bases.len());
    let mut replaced = None;
    let mixins = bases.iter().find_map(|b| match b {
        Value::Class(c) if c.builtin.is_none() => vm
            .class_lookup(c, "_covm_value_mixins_")
            .and_then(|m| match m {
                Value::Dict(d) => Some(d),
                _ => None,
            }),
        _ => None,
    });
    for b in bases {
        let Value::Class(c) = b else {
            let msg = format!("class bases must be classes, not '{}'", vm.type_name(b));
            return Err(vm.type_error(&msg));
        };
        if c.builtin.is_some()
            && c.native_new.get().is_some()
            && c.builtin != Some(BuiltinType::Object)
            && let Some(d) = &mixins
            && let Some(Value::Class(stand_in)) = crate::dict::get(vm, d, b)?
        {
            replaced = Some(c.clone());
            out.push(stand_in);
            continue;
        }
        if c.builtin.is_some()
            && c.native_new.get().is_some()
            && c.builtin != Some(BuiltinType::Object)
        {
            let msg = format!("covm does not support subclassing '{}' yet", c.name);
            return Err(vm.type_error(&msg));
        }
        if out.iter().any(|o| Rc::ptr_eq(o, c)) {
            let msg = format!("duplicate base class {}", c.name);
            return Err(vm.type_error(&msg));
        }
        out.push(c.clone());
    }
    Ok((out, replaced))
}

/// `cls.mro()`.
pub fn type_mro(vm: &mut crate::vm::Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    match args.first() {
        Some(Value::Class(c)) => Ok(Value::list(mro_values(c))),
        _ => Err(vm.type_error("descriptor 'mro' of 'type' object needs an argument")),
    }
}

/// `cls.__subclasses__()`: the direct subclasses still alive, oldest first.
pub fn type_subclasses(vm: &mut crate::vm::Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    match args.first() {
        Some(Value::Class(c)) => {
            let mut subs = c.subclasses.borrow_mut();
            subs.retain(|w| w.strong_count() > 0);
            Ok(Value::list(
                subs.iter()
                    .filter_map(|w| w.upgrade())
                    .map(Value::Class)
                    .collect(),
            ))
        }
        _ => Err(vm.type_error("descriptor '__subclasses__' of 'type' object needs an argument")),
    }
}

/// Set in `BuildClass`'s operand when a `metaclass=` value sits above the
/// bases on the stack.
pub const META_FLAG: u32 = 1 << 31;

/// `metaclass=M` (the compiler lets only `ABCMeta` and `type` through):
/// `type` changes nothing; a class offering `_covm_metaclass_base_` (the
/// embedded `abc.ABCMeta`) adds that base (`abc.ABC`) unless a base
/// already derives from it; anything else is refused.
pub fn apply_metaclass(
    vm: &mut crate::vm::Vm,
    bases: &mut Vec<Value>,
    meta: Value,
) -> PyResult<()> {
    let Value::Class(m) = &meta else {
        return Err(vm.type_error("covm does not support metaclasses yet"));
    };
    if Rc::ptr_eq(m, &vm.types.type_) {
        return Ok(());
    }
    let Some(Value::Class(base)) = vm.class_lookup(m, "_covm_metaclass_base_") else {
        let msg = format!(
            "covm does not support metaclasses yet (metaclass={})",
            m.name
        );
        return Err(vm.type_error(&msg));
    };
    let derived = bases
        .iter()
        .any(|b| matches!(b, Value::Class(c) if vm.is_subclass(c, &base)));
    if !derived {
        bases.push(Value::Class(base));
    }
    Ok(())
}
