//! Inline-cache fast paths for attribute loads (`LoadAttr`), method
//! loads (`LoadMethod`) and `iter()` of instances.
//!
//! An instance attribute load `o.x` normally walks the class's MRO
//! (hashing the name in every class dict) to check for a property, and
//! only then looks in the instance dict. The class half of that is
//! cached per instruction in `Code::method_cache` (the cache `LoadMethod`
//! uses: same name index, same class lookup, invalidated by the class
//! epoch), so a hit costs one instance-dict lookup.
//!
//! Lookups by class and name from anywhere else (instantiation's
//! `__init__`/`__new__`, special methods, attribute misses) go through a
//! VM-wide table, CPython's type attribute cache: a slot chosen by the
//! class's address and the name's hash, valid while the class epoch is
//! unchanged, so a hit does not walk the MRO hashing the name in each
//! class.

use std::rc::Rc;

use crate::code::Code;
use crate::value::{PyResult, Value};
use crate::vm::Vm;

impl Vm {
    /// `LoadAttr` of name `i` of `code` on `obj`.
    #[inline]
    pub(crate) fn load_attr_cached(
        &mut self,
        obj: &Value,
        code: &Rc<Code>,
        i: usize,
    ) -> PyResult<Value> {
        let name = &code.names[i];
        // Dunder names have special cases in `getattr_opt` (`__class__`,
        // `__dict__`, an exception's `__traceback__`): not cached.
        if let Value::Instance(inst) = obj
            && !name.starts_with("__")
        {
            let key = Rc::as_ptr(&inst.class) as usize;
            let mut cache = code.method_cache.borrow();
            let fresh = matches!(cache.get(i), Some(Some((k, e, _, _)))
                if *k == key && *e == crate::value::class_epoch());
            if !fresh {
                // Fills the slot with the class's half of the lookup.
                drop(cache);
                self.class_lookup_cached(&inst.class, name, Some((code, i)));
                cache = code.method_cache.borrow();
            }
            if let Some(Some((_, _, found, hint))) = cache.get(i) {
                // A property wins over the instance dict; anything else in
                // the class loses to it (the order of `getattr_opt`). The
                // dict is tried at the slot the name had last time before
                // it is hashed.
                if !matches!(found, Some(Value::Property(_))) {
                    let dict = inst.dict.borrow();
                    if let Some((k, v)) = dict.get_index(hint.get() as usize)
                        && Rc::ptr_eq(k, name)
                    {
                        return Ok(v.clone());
                    }
                    if let Some(at) = dict.index_of_interned(name)
                        && let Some((_, v)) = dict.get_index(at)
                    {
                        hint.set(at as u32);
                        return Ok(v.clone());
                    }
                    if let Some(a) = found {
                        let a = a.clone();
                        drop(dict);
                        drop(cache);
                        return Ok(self.bind(a, obj));
                    }
                }
            }
        }
        self.getattr(obj, name)
    }
}

impl Vm {
    /// `LoadMethod`'s cache hit: the function or builtin that the class of
    /// `obj` holds under name `i` of `code`, as `load_method_impl` would
    /// find it (the receiver stays in its slot, no bound method). `None`
    /// when the cache does not answer for this receiver; the general path
    /// then fills it.
    #[inline(always)]
    pub(crate) fn cached_method(&self, obj: &Value, code: &Code, i: usize) -> Option<Value> {
        let key = self.method_cache_key(obj, code, i)?;
        match code.method_cache.borrow().get(i) {
            Some(Some((k, e, Some(m @ (Value::Function(_) | Value::Builtin(_))), _)))
                if *k == key && *e == crate::value::class_epoch() =>
            {
                Some(m.heap_clone())
            }
            _ => None,
        }
    }

    /// `CallLocalMethod`'s cache hit: the native function of a plain
    /// built-in method (`deque.popleft`, `list.append`) that the class of
    /// `obj` holds under name `i`, called with the receiver first. Nothing
    /// is cloned: the caller calls the function at once.
    #[inline(always)]
    pub(crate) fn cached_native_method(
        &self,
        obj: &Value,
        code: &Code,
        i: usize,
    ) -> Option<crate::value::NativeFn> {
        let key = self.method_cache_key(obj, code, i)?;
        match code.method_cache.borrow().get(i) {
            Some(Some((k, e, Some(Value::Builtin(b)), _)))
                if *k == key
                    && *e == crate::value::class_epoch()
                    && b.special == crate::value::Special::None
                    && b.receiver.is_none() =>
            {
                Some(b.func)
            }
            _ => None,
        }
    }

    /// What the method cache is keyed by for `obj` (its class's address),
    /// or `None` when the cache cannot answer for it: a kind of value it
    /// does not cover, or an instance whose own attribute `names[i]` hides
    /// the method.
    #[inline(always)]
    fn method_cache_key(&self, obj: &Value, code: &Code, i: usize) -> Option<usize> {
        Some(match obj {
            Value::Instance(inst) => {
                if inst
                    .dict
                    .borrow()
                    .index_of_interned(&code.names[i])
                    .is_some()
                {
                    return None;
                }
                Rc::as_ptr(&inst.class) as usize
            }
            Value::Native(n) => n.class_key(self),
            Value::List(_) => Rc::as_ptr(&self.types.list) as usize,
            Value::Dict(_) => Rc::as_ptr(&self.types.dict) as usize,
            Value::Str(_) => Rc::as_ptr(&self.types.str_) as usize,
            Value::Generator(g) => Rc::as_ptr(match g.kind {
                crate::value::GenKind::Generator => &self.types.generator,
                crate::value::GenKind::Coroutine => &self.types.coroutine,
                crate::value::GenKind::AsyncGenerator => &self.types.async_generator,
            }) as usize,
            _ => return None,
        })
    }
}

impl Vm {
    /// `iter(obj)` for an instance whose class's `__iter__` is a plain
    /// generator function taking just `self`: creates the generator
    /// directly (no argument vector, no binding), which is what calling
    /// `__iter__` would return. `None` when that does not apply.
    #[inline]
    pub(crate) fn instance_iter_fast(&mut self, obj: &Value) -> Option<Value> {
        let Value::Instance(inst) = obj else {
            return None;
        };
        let key = Rc::as_ptr(&inst.class) as usize;
        let epoch = crate::value::class_epoch();
        let found = match &self.iter_cache {
            Some((k, e, found)) if *k == key && *e == epoch => found.clone(),
            _ => {
                let found = self.lookup_special(obj, "__iter__");
                self.iter_cache = Some((key, epoch, found.clone()));
                found
            }
        };
        let Some(Value::Function(func)) = found else {
            return None;
        };
        // Only a generator is sure to be an iterator (an `async def
        // __iter__` must fail the iterator check on the general path).
        if func.code.flags & crate::code::FLAG_GENERATOR == 0
            || !func.code.fast_gen_call
            || !Self::fits_fast_call(&func, 1)
            || self.depth() >= self.recursion_limit
        {
            return None;
        }
        let arg = std::mem::ManuallyDrop::new(obj.clone());
        // SAFETY: fits_fast_call(func, 1); the frame takes over `arg`,
        // which is never dropped here.
        let frame = unsafe { self.frame_from_args(&func, &*arg as *const Value, 1) };
        Some(self.new_generator(&func, frame))
    }
}
