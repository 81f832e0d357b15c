//! Calling: binding arguments to parameters and deciding whether a call
//! needs a new frame (covm code) or completes at once (natives).
//!
//! Both the interpreter and natives go through `prepare_call`; the
//! interpreter pushes the resulting frame on its own stack, natives run it
//! in a nested loop.

use std::cell::RefCell;
use std::rc::Rc;

use crate::code::*;
use crate::frame::FrameBox;
use crate::value::*;
use crate::vm::Vm;

pub enum Prepared {
    Done(Value),
    Frame(FrameBox),
    /// An `__init__` frame and the instance it initialises.
    Init(FrameBox, Rc<crate::value::Instance>),
}

impl Vm {
    /// What an `__init__` returned must be None (CPython's TypeError).
    pub(crate) fn check_init_result(&self, r: &Value) -> PyResult<()> {
        if r.is_none() {
            return Ok(());
        }
        let msg = format!("__init__() should return None, not '{}'", self.type_name(r));
        Err(self.type_error(&msg))
    }

    pub fn prepare_call(
        &mut self,
        callee: Value,
        mut args: Vec<Value>,
        kwargs: Vec<(Rc<str>, Value)>,
    ) -> PyResult<Prepared> {
        match callee {
            Value::Function(f) => self.function_call(&f, args, kwargs),
            Value::Builtin(b) => {
                if let Some(r) = &b.receiver {
                    args.insert(0, r.clone());
                }
                (b.func)(self, &args, &kwargs).map(Prepared::Done)
            }
            Value::BoundMethod(m) => {
                args.insert(0, m.receiver.clone());
                self.prepare_call(m.func.clone(), args, kwargs)
            }
            Value::Class(cls) => {
                self.tp_call_depth_check()?;
                self.instantiate(&cls, args, kwargs)
            }
            Value::StaticMethod(f) => self.prepare_call((*f).clone(), args, kwargs),
            ref other => {
                if let Some(call) = self.lookup_special(other, "__call__") {
                    self.tp_call_depth_check()?;
                    args.insert(0, other.clone());
                    return self.prepare_call(call, args, kwargs);
                }
                let msg = format!("'{}' object is not callable", self.type_name(other));
                Err(self.type_error(&msg))
            }
        }
    }

    /// CPython calls a class or an instance with `__call__` through
    /// `tp_call`, whose recursion check words the error its own way.
    fn tp_call_depth_check(&self) -> PyResult<()> {
        if self.depth() >= self.recursion_limit {
            return Err(self.recursion_error(crate::recursion::CALLING));
        }
        Ok(())
    }

    /// The `__init__` that a call of `cls` with positional arguments runs
    /// on a new plain instance, with nothing else to do (`instantiate`'s
    /// general path: no `__class_call__` hook, no built-in or exception
    /// base, no `__new__`), if it is a plain function; memoised on the
    /// class for the class epoch.
    /// Null when there is none; see `Class::plain_init` for how long the
    /// pointer is good.
    #[inline]
    pub(crate) fn plain_init(&mut self, cls: &Rc<Class>) -> *const Function {
        let (at, init) = cls.plain_init.get();
        if at == crate::value::class_epoch() {
            return init;
        }
        let init = self.find_plain_init(cls);
        cls.plain_init.set((crate::value::class_epoch(), init));
        init
    }

    #[cold]
    fn find_plain_init(&mut self, cls: &Rc<Class>) -> *const Function {
        let none = std::ptr::null();
        if cls.builtin.is_some()
            || self.class_hook(cls, "__class_call__").is_some()
            || self.is_subclass(cls, &self.exc.base_exception.clone())
            || self.user_new(cls).is_some()
        {
            return none;
        }
        let mut c = Some(cls);
        while let Some(k) = c {
            if k.native_new.get().is_some()
                && (Rc::ptr_eq(k, cls) || k.builtin != Some(BuiltinType::Object))
            {
                return none;
            }
            c = k.base.as_ref();
        }
        match self.class_lookup(cls, "__init__") {
            Some(Value::Function(f)) if f.code.fast_call => Rc::as_ptr(&f),
            _ => none,
        }
    }

    fn instantiate(
        &mut self,
        cls: &Rc<Class>,
        args: Vec<Value>,
        kwargs: Vec<(Rc<str>, Value)>,
    ) -> PyResult<Prepared> {
        if cls.builtin.is_none()
            && let Some(f) = self.class_hook(cls, "__class_call__")
        {
            let mut a = args;
            a.insert(0, Value::Class(cls.clone()));
            return self.call_kw(&f, a, kwargs).map(Prepared::Done);
        }
        let mut args = args;
        if kwargs.is_empty()
            && let Some(e) = self.plain_exception_new(cls, &mut args)
        {
            return Ok(Prepared::Done(e));
        }
        // Built-in types (and classes derived from them) construct natively.
        let mut c = Some(cls.clone());
        // An exception subclass: BaseException.__new__ sets `args` even when
        // the class's own `__init__` never calls the base one.
        let exc_args = self.is_subclass(cls, &self.exc.base_exception.clone());
        while let Some(k) = c {
            if let Some(new) = k.native_new.get() {
                if !Rc::ptr_eq(&k, cls) && k.builtin != Some(BuiltinType::Object) {
                    if k.builtin == Some(BuiltinType::BaseException) {
                        break;
                    }
                    let msg = format!("covm does not support subclassing '{}' yet", k.name);
                    return Err(self.type_error(&msg));
                }
                if Rc::ptr_eq(&k, cls) {
                    let mut a = Vec::with_capacity(args.len() + 1);
                    a.push(Value::Class(cls.clone()));
                    a.extend(args);
                    return new(self, &a, &kwargs).map(Prepared::Done);
                }
            }
            c = k.base.clone();
        }
        let user_new = self.user_new(cls);
        let inst = if let Some(new) = &user_new {
            let mut a = Vec::with_capacity(args.len() + 1);
            a.push(Value::Class(cls.clone()));
            a.extend(args.iter().cloned());
            let obj = self.call_kw(new, a, kwargs.clone())?;
            if !self.is_instance_of(&obj, cls) {
                return Ok(Prepared::Done(obj));
            }
            obj
        } else {
            let mut dict = crate::attrs::Attrs::default();
            if exc_args {
                dict.insert(crate::attrs::args_key(), Value::tuple(args.clone()));
            }
            Value::tracked(Value::Instance(Rc::new(Instance {
                class: cls.clone(),
                dict: RefCell::new(dict),
                traceback: Default::default(),
                gc_mark: Default::default(),
            })))
        };
        let init = self.class_lookup(cls, "__init__");
        match init {
            Some(Value::Function(f)) => {
                let mut a = Vec::with_capacity(args.len() + 1);
                a.push(inst.clone());
                a.extend(args);
                match self.function_call(&f, a, kwargs)? {
                    // An instance of a covm class is an `Instance` (built-in
                    // types cannot be subclassed); were it not, `__init__`
                    // runs to completion here instead.
                    Prepared::Frame(fr) if let Value::Instance(i) = &inst => {
                        Ok(Prepared::Init(fr, i.clone()))
                    }
                    Prepared::Frame(fr) => {
                        let r = self.run_frame(fr)?;
                        self.check_init_result(&r)?;
                        Ok(Prepared::Done(inst))
                    }
                    Prepared::Done(_) | Prepared::Init(..) => Ok(Prepared::Done(inst)),
                }
            }
            Some(other) => {
                let mut a = Vec::with_capacity(args.len() + 1);
                a.push(inst.clone());
                a.extend(args);
                self.call_kw(&other, a, kwargs)?;
                Ok(Prepared::Done(inst))
            }
            None => {
                // object.__init__ accepts what an overridden __new__ took.
                if user_new.is_none() && (!args.is_empty() || !kwargs.is_empty()) {
                    let msg = format!("{}() takes no arguments", cls.name);
                    return Err(self.type_error(&msg));
                }
                Ok(Prepared::Done(inst))
            }
        }
    }

    /// Binds arguments and creates the frame (or, for a generator function,
    /// the generator object).
    pub fn function_call(
        &mut self,
        f: &Rc<Function>,
        args: Vec<Value>,
        kwargs: Vec<(Rc<str>, Value)>,
    ) -> PyResult<Prepared> {
        if self.depth() >= self.recursion_limit {
            return Err(self.new_exc(
                &self.exc.recursion_error.clone(),
                "maximum recursion depth exceeded",
            ));
        }
        let code = f.code.clone();
        let mut frame = self.alloc_frame(&code, &f.globals);
        let nlocals = frame.code.varnames.len();
        self.bind_args(f, &mut frame.stack[..nlocals], args, kwargs)?;
        frame.cells_mut().extend(f.closure.iter().cloned());
        for &(cell, local) in &code.cell_params {
            let v = std::mem::take(&mut frame.stack[local as usize]);
            *frame.cells()[cell as usize].borrow_mut() = v;
        }
        if code.is_generator() {
            return Ok(Prepared::Done(self.new_generator(f, frame)));
        }
        Ok(Prepared::Frame(frame))
    }

    fn bind_args(
        &mut self,
        f: &Rc<Function>,
        locals: &mut [Value],
        args: Vec<Value>,
        kwargs: Vec<(Rc<str>, Value)>,
    ) -> PyResult<()> {
        let code = &f.code;
        let argcount = code.argcount as usize;
        let kwonly = code.kwonlyargcount as usize;
        let has_varargs = code.flags & FLAG_VARARGS != 0;
        let has_varkw = code.flags & FLAG_VARKW != 0;
        let nargs = args.len();
        let fname = || format!("{}()", f.qualname.borrow());

        // Fast path: exact positional call.
        if nargs == argcount && kwargs.is_empty() && !has_varargs && !has_varkw && kwonly == 0 {
            for (slot, a) in locals.iter_mut().zip(args) {
                *slot = a;
            }
            return Ok(());
        }

        let mut extra = Vec::new();
        for (i, a) in args.into_iter().enumerate() {
            if i < argcount {
                locals[i] = a;
            } else {
                extra.push(a);
            }
        }
        let mut slot = argcount + kwonly;
        if has_varargs {
            locals[slot] = Value::tuple(extra);
            slot += 1;
        } else if !extra.is_empty() {
            let ndefaults = f.defaults.len();
            let given_kw = kwargs
                .iter()
                .filter(|(k, _)| {
                    code.varnames[..argcount + kwonly]
                        .iter()
                        .any(|n| n.as_ref() == k.as_ref())
                })
                .count();
            let takes = if ndefaults > 0 {
                format!("from {} to {}", argcount - ndefaults, argcount)
            } else {
                argcount.to_string()
            };
            let plural = if argcount == 1 && ndefaults == 0 {
                ""
            } else {
                "s"
            };
            let msg = if given_kw > 0 {
                format!(
                    "{} takes {} positional argument{} but {} positional argument{} (and {} keyword-only argument{}) were given",
                    fname(),
                    takes,
                    plural,
                    nargs,
                    if nargs == 1 { "" } else { "s" },
                    given_kw,
                    if given_kw == 1 { "" } else { "s" }
                )
            } else {
                format!(
                    "{} takes {} positional argument{} but {} {} given",
                    fname(),
                    takes,
                    plural,
                    nargs,
                    if nargs == 1 { "was" } else { "were" }
                )
            };
            return Err(self.type_error(&msg));
        }
        let kwdict = if has_varkw {
            Some(Rc::new(RefCell::new(crate::dict::Dict::new())))
        } else {
            None
        };
        let mut posonly_as_kw = Vec::new();
        for (k, v) in kwargs {
            let pos = code.varnames[..argcount + kwonly]
                .iter()
                .position(|n| n.as_ref() == k.as_ref());
            match pos {
                Some(i) if i >= code.posonlyargcount as usize => {
                    if !locals[i].is_undef() {
                        let msg = format!("{} got multiple values for argument '{}'", fname(), k);
                        return Err(self.type_error(&msg));
                    }
                    locals[i] = v;
                }
                _ => match &kwdict {
                    Some(d) => {
                        crate::dict::set(self, d, Value::str(&*k), v)?;
                    }
                    None => {
                        if pos.is_some() {
                            posonly_as_kw.push(k.to_string());
                            continue;
                        }
                        let msg = format!("{} got an unexpected keyword argument '{}'", fname(), k);
                        return Err(self.type_error(&msg));
                    }
                },
            }
        }
        if !posonly_as_kw.is_empty() {
            let msg = format!(
                "{} got some positional-only arguments passed as keyword arguments: '{}'",
                fname(),
                posonly_as_kw.join(", ")
            );
            return Err(self.type_error(&msg));
        }
        if let Some(d) = kwdict {
            locals[slot] = Value::Dict(d);
        }
        // Defaults for missing positional parameters.
        let ndefaults = f.defaults.len();
        let first_default = argcount - ndefaults;
        let mut missing = Vec::new();
        for (i, slot) in locals.iter_mut().enumerate().take(argcount) {
            if slot.is_undef() {
                if i >= first_default {
                    *slot = f.defaults[i - first_default].clone();
                } else {
                    missing.push(code.varnames[i].to_string());
                }
            }
        }
        if !missing.is_empty() {
            let msg = format!(
                "{} missing {} required positional argument{}: {}",
                fname(),
                missing.len(),
                if missing.len() == 1 { "" } else { "s" },
                name_list(&missing)
            );
            return Err(self.type_error(&msg));
        }
        for (i, slot) in locals
            .iter_mut()
            .enumerate()
            .take(argcount + kwonly)
            .skip(argcount)
        {
            if slot.is_undef() {
                let name = &code.varnames[i];
                match f.kwdefaults.iter().find(|(k, _)| k == name) {
                    Some((_, v)) => *slot = v.clone(),
                    None => missing.push(name.to_string()),
                }
            }
        }
        if !missing.is_empty() {
            let msg = format!(
                "{} missing {} required keyword-only argument{}: {}",
                fname(),
                missing.len(),
                if missing.len() == 1 { "" } else { "s" },
                name_list(&missing)
            );
            return Err(self.type_error(&msg));
        }
        Ok(())
    }
}

/// `'a'`, `'a' and 'b'`, `'a', 'b', and 'c'`, as CPython lists names.
fn name_list(names: &[String]) -> String {
    let q: Vec<String> = names.iter().map(|n| format!("'{n}'")).collect();
    match q.len() {
        0 => String::new(),
        1 => q[0].clone(),
        2 => format!("{} and {}", q[0], q[1]),
        n => format!("{}, and {}", q[..n - 1].join(", "), q[n - 1]),
    }
}
