//! Exception objects: creation, matching, `args`, and the text of an
//! uncaught exception's traceback.

use std::cell::RefCell;
use std::rc::Rc;

use crate::value::*;
use crate::vm::Vm;

impl Vm {
    /// `gen.throw(exc)`: CPython chains `exc` to the exception the
    /// generator itself was handling where it was suspended (not to its
    /// caller's).
    /// With `yield from`, the throw passes down the delegation chain and
    /// each generator chains it again on the way out, so the outermost
    /// one handling something wins.
    pub(crate) fn chain_thrown(&mut self, exc: &Value) {
        use crate::frame::{Resume, ReturnTo};
        let mut found = None;
        for f in self.frames.iter().rev() {
            if let Some(h) = f.last_handled() {
                found = Some(h.clone());
            }
            if !matches!(
                f.ret,
                ReturnTo::Generator(_, Resume::YieldFrom) | ReturnTo::Await(_)
            ) {
                break;
            }
        }
        let Some(ctx) = found else {
            return;
        };
        if ctx.is(exc) {
            return;
        }
        if let Value::Instance(i) = exc {
            i.dict.borrow_mut().insert(Rc::from("__context__"), ctx);
        }
    }

    /// Assignments to the attributes CPython type-checks on exceptions
    /// (`__cause__`, `__context__`, `__traceback__`, `args`). Returns false
    /// for any other name.
    pub(crate) fn exc_setattr(&mut self, exc: &Value, name: &str, v: &Value) -> PyResult<bool> {
        let Value::Instance(i) = exc else {
            return Ok(false);
        };
        match name {
            "__cause__" | "__context__" => {
                if !v.is_none() && !self.is_exception(v) {
                    let what = if name == "__cause__" {
                        "cause"
                    } else {
                        "context"
                    };
                    let msg = format!("exception {what} must be None or derive from BaseException");
                    return Err(self.type_error(&msg));
                }
                let mut d = i.dict.borrow_mut();
                d.insert(Rc::from(name), v.clone());
                if name == "__cause__" {
                    d.insert(Rc::from("__suppress_context__"), Value::Bool(true));
                }
                Ok(true)
            }
            "__traceback__" => self.set_traceback(exc, v).map(|()| true),
            "args" => {
                let t = self.collect(v)?;
                i.dict.borrow_mut().insert(args_key(), Value::tuple(t));
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    /// A new instance of exception class `cls` with one string argument
    /// (none when `msg` is empty).
    pub fn new_exc(&self, cls: &Rc<Class>, msg: &str) -> Value {
        let args = if msg.is_empty() {
            vec![]
        } else {
            vec![Value::str(msg)]
        };
        self.new_exc_args(cls, args)
    }

    pub fn new_exc_args(&self, cls: &Rc<Class>, args: Vec<Value>) -> Value {
        exc_instance(cls, args, None)
    }

    pub fn type_error(&self, msg: &str) -> Value {
        self.new_exc(&self.exc.type_error, msg)
    }
    pub fn value_error(&self, msg: &str) -> Value {
        self.new_exc(&self.exc.value_error, msg)
    }
    pub fn index_error(&self, msg: &str) -> Value {
        self.new_exc(&self.exc.index_error, msg)
    }
    pub fn attribute_error(&self, msg: &str) -> Value {
        self.new_exc(&self.exc.attribute_error, msg)
    }
    pub fn zero_division(&self, msg: &str) -> Value {
        self.new_exc(&self.exc.zero_division_error, msg)
    }
    pub fn overflow_error(&self, msg: &str) -> Value {
        self.new_exc(&self.exc.overflow_error, msg)
    }
    pub fn key_error(&self, key: Value) -> Value {
        self.new_exc_args(&self.exc.key_error, vec![key])
    }
    pub fn runtime_error(&self, msg: &str) -> Value {
        self.new_exc(&self.exc.runtime_error, msg)
    }

    /// `StopIteration(v)`, with `.value`.
    pub fn new_stop_iteration(&self, v: Value) -> Value {
        let args = if v.is_none() { vec![] } else { vec![v.clone()] };
        exc_instance(&self.exc.stop_iteration, args, Some(v))
    }

    pub fn stop_iteration_value(&self, e: &Value) -> Value {
        match e {
            Value::Instance(i) => {
                let d = i.dict.borrow();
                if let Some(v) = d.get("value") {
                    return v.clone();
                }
                match d.get("args") {
                    Some(Value::Tuple(t)) if !t.is_empty() => t[0].clone(),
                    _ => Value::None,
                }
            }
            _ => Value::None,
        }
    }

    pub fn is_exception(&self, v: &Value) -> bool {
        match v {
            Value::Instance(i) => self.is_subclass(&i.class, &self.exc.base_exception),
            _ => false,
        }
    }

    /// `raise X`: X may be a class (instantiated with no arguments) or an
    /// instance.
    pub(crate) fn make_exception(&mut self, v: Value) -> PyResult<Value> {
        match &v {
            Value::Class(c) if self.is_subclass(c, &self.exc.base_exception.clone()) => {
                let e = self.construct_exception(c, vec![])?;
                if self.is_exception(&e) {
                    Ok(e)
                } else {
                    let msg = format!(
                        "calling {} should have returned an instance of BaseException, not {}",
                        self.repr(&v)?,
                        self.repr(&Value::Class(self.type_of(&e)))?
                    );
                    Err(self.type_error(&msg))
                }
            }
            _ if self.is_exception(&v) => Ok(v),
            _ => Err(self.type_error("exceptions must derive from BaseException")),
        }
    }

    /// Does `exc` match the `except` clause type `typ` (a class or tuple)?
    pub(crate) fn exception_matches(&mut self, exc: &Value, typ: &Value) -> PyResult<bool> {
        // The host's stop unwinds through every handler (limits.rs).
        if self.is_stop(exc) {
            return Ok(false);
        }
        match typ {
            Value::Class(c) => {
                // The exception's own class: it derives from BaseException,
                // as everything raised does, so the clause is valid.
                if let Value::Instance(i) = exc
                    && Rc::ptr_eq(&i.class, c)
                {
                    return Ok(true);
                }
                if !self.is_subclass(c, &self.exc.base_exception) {
                    return Err(self.type_error(
                        "catching classes that do not inherit from BaseException is not allowed",
                    ));
                }
                Ok(match exc {
                    Value::Instance(i) => self.is_subclass(&i.class, c),
                    _ => self.is_instance_of(exc, c),
                })
            }
            Value::Tuple(items) => {
                for t in items.iter() {
                    if self.exception_matches(exc, t)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            _ => Err(self.type_error(
                "catching classes that do not inherit from BaseException is not allowed",
            )),
        }
    }

    pub fn exc_args(&self, e: &Value) -> Vec<Value> {
        match e {
            Value::Instance(i) => match i.dict.borrow().get("args") {
                Some(Value::Tuple(t)) => t.to_vec(),
                _ => vec![],
            },
            _ => vec![],
        }
    }

    /// `str(exc)`.
    pub fn exc_str(&mut self, e: &Value) -> PyResult<String> {
        let args = self.exc_args(e);
        let is_key_error = self.is_instance_of(e, &self.exc.key_error.clone());
        // SyntaxError's str is its `msg` (the first argument, None when
        // there is none), whatever other arguments it has.
        let syntax = self.exc_by_name.iter().find(|(n, _)| *n == "SyntaxError");
        let is_syntax_error = match syntax.map(|(_, c)| c.clone()) {
            Some(c) => self.is_instance_of(e, &c),
            None => false,
        };
        if is_syntax_error {
            return match args.first() {
                Some(m) => self.to_str(m),
                None => Ok("None".into()),
            };
        }
        match args.len() {
            0 => Ok(String::new()),
            1 if is_key_error => self.repr(&args[0]),
            1 => self.to_str(&args[0]),
            _ => self.repr(&Value::tuple(args)),
        }
    }

    /// The last line of an uncaught exception's report: `Type: message`.
    pub fn exc_line(&mut self, e: &Value) -> String {
        let cls = self.type_of(e);
        let name = if cls.module.as_ref() == "builtins" || cls.module.as_ref() == "__main__" {
            cls.qualname.to_string()
        } else {
            format!("{}.{}", cls.module, cls.qualname)
        };
        let msg = match self.to_str(e) {
            Ok(m) => m,
            Err(_) => "<exception str() failed>".into(),
        };
        if msg.is_empty() {
            name
        } else {
            format!("{name}: {msg}")
        }
    }

    /// The plain-text traceback CPython prints for an uncaught exception,
    /// including chained causes and contexts.
    pub fn format_exception(&mut self, e: &Value) -> String {
        if let Some(text) = crate::exc_star::format_with_groups(self, e) {
            return text;
        }
        let mut out = String::new();
        let mut chain = vec![e.clone()];
        let mut cur = e.clone();
        for _ in 0..50 {
            let Value::Instance(i) = &cur else { break };
            let (cause, ctx, suppress) = {
                let d = i.dict.borrow();
                (
                    d.get("__cause__").cloned().unwrap_or(Value::None),
                    d.get("__context__").cloned().unwrap_or(Value::None),
                    matches!(d.get("__suppress_context__"), Some(Value::Bool(true))),
                )
            };
            let next = if !cause.is_none() {
                cause
            } else if !suppress && !ctx.is_none() {
                ctx
            } else {
                break;
            };
            if chain.iter().any(|c| c.is(&next)) {
                break;
            }
            chain.push(next.clone());
            cur = next;
        }
        for (k, exc) in chain.iter().enumerate().rev() {
            out.push_str(&self.format_one(exc));
            if k > 0 {
                let later = &chain[k - 1];
                let by_cause = match later {
                    Value::Instance(i) => i
                        .dict
                        .borrow()
                        .get("__cause__")
                        .is_some_and(|c| !c.is_none()),
                    _ => false,
                };
                out.push('\n');
                out.push_str(if by_cause {
                    "The above exception was the direct cause of the following exception:\n"
                } else {
                    "During handling of the above exception, another exception occurred:\n"
                });
                out.push('\n');
            }
        }
        out
    }

    fn format_one(&mut self, e: &Value) -> String {
        let mut out = String::new();
        if let Value::Instance(i) = e {
            let tb = i.traceback.borrow().clone();
            if !tb.is_empty() {
                out.push_str("Traceback (most recent call last):\n");
                for entry in tb.iter().rev() {
                    out.push_str(&format_tb_entry(entry));
                }
            }
        }
        out.push_str(&self.exc_line(e));
        if let Some(s) = self.suggestion(e) {
            out.push_str(&format!(". Did you mean: '{s}'?"));
        }
        out.push('\n');
        // PEP 678: each note on its own line after the message.
        let notes = match e {
            Value::Instance(i) => i.dict.borrow().get("__notes__").cloned(),
            _ => None,
        };
        if let Some(Value::List(l)) = notes {
            let items = l.borrow().clone();
            for n in items {
                match &n {
                    Value::Str(s) => out.push_str(s.as_str()),
                    other => out.push_str(
                        &self
                            .to_str(other)
                            .unwrap_or_else(|_| "<note str() failed>".into()),
                    ),
                }
                out.push('\n');
            }
        }
        out
    }

    /// CPython's "Did you mean" for an uncaught NameError or
    /// AttributeError: the closest name by its weighted edit distance.
    fn suggestion(&mut self, e: &Value) -> Option<String> {
        let Value::Instance(inst) = e else {
            return None;
        };
        let wrong = match inst.dict.borrow().get("name") {
            Some(Value::Str(s)) => s.as_str().to_string(),
            _ => return None,
        };
        let candidates: Vec<String> = if self.is_instance_of(e, &self.exc.name_error.clone()) {
            let mut c: Vec<String> = Vec::new();
            if let Some(entry) = inst.traceback.borrow().first() {
                c.extend(entry.code.varnames.iter().map(|n| n.to_string()));
            }
            if let Some(Value::Module(m)) = self.module_get("__main__") {
                c.extend(m.globals.borrow().keys().map(|k| k.to_string()));
            }
            c.extend(self.builtins.globals.borrow().keys().map(|k| k.to_string()));
            c
        } else if self.is_instance_of(e, &self.exc.attribute_error.clone()) {
            let obj = inst.dict.borrow().get("obj").cloned()?;
            let mut c = self.dir_names(&obj);
            c.sort();
            c
        } else {
            return None;
        };
        best_match(&wrong, &candidates)
    }

    /// The attribute names `dir(obj)` would list (unsorted).
    pub fn dir_names(&self, obj: &Value) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        if let Value::Instance(i) = obj {
            names.extend(i.dict.borrow().keys().map(|k| k.to_string()));
        }
        if let Value::Module(m) = obj {
            names.extend(m.globals.borrow().keys().map(|k| k.to_string()));
        }
        let c = Some(match obj {
            Value::Class(c) => c.clone(),
            o => self.type_of(o),
        });
        if let Some(cls) = c {
            for k in std::iter::once(&cls).chain(cls.mro.iter()) {
                for key in k.dict.borrow().keys() {
                    if !names.iter().any(|n| n.as_str() == key.as_ref()) {
                        names.push(key.to_string());
                    }
                }
            }
        }
        names
    }
}

pub use crate::traceback::format_tb_entry;

const MOVE_COST: usize = 2;
const CASE_COST: usize = 1;

fn levenshtein(a: &[char], b: &[char], max_cost: usize) -> usize {
    if a == b {
        return 0;
    }
    let mut row: Vec<usize> = (1..=b.len()).map(|i| i * MOVE_COST).collect();
    let mut result = 0;
    for (ai, ca) in a.iter().enumerate() {
        let mut distance = ai * MOVE_COST;
        result = distance;
        let mut minimum = usize::MAX;
        for (bi, cb) in b.iter().enumerate() {
            let sub = if ca == cb {
                0
            } else if ca.to_lowercase().eq(cb.to_lowercase()) {
                CASE_COST
            } else {
                MOVE_COST
            };
            let substitute = distance + sub;
            distance = row[bi];
            let insert_delete = result.min(distance) + MOVE_COST;
            result = insert_delete.min(substitute);
            row[bi] = result;
            minimum = minimum.min(result);
        }
        if minimum > max_cost {
            return max_cost + 1;
        }
    }
    result
}

fn best_match(wrong: &str, candidates: &[String]) -> Option<String> {
    if candidates.len() > 750 || wrong.chars().count() > 40 {
        return None;
    }
    let w: Vec<char> = wrong.chars().collect();
    let mut best: Option<(usize, &String)> = None;
    for c in candidates {
        if c == wrong {
            continue;
        }
        let cc: Vec<char> = c.chars().collect();
        if cc.len() > 40 {
            continue;
        }
        let mut max_distance = (cc.len() + w.len() + 3) * MOVE_COST / 6;
        if let Some((b, _)) = best {
            max_distance = max_distance.min(b.saturating_sub(1));
        }
        let d = levenshtein(&w, &cc, max_distance);
        if d > max_distance {
            continue;
        }
        if best.is_none_or(|(b, _)| d < b) {
            best = Some((d, c));
        }
    }
    best.map(|(_, c)| c.clone())
}

thread_local! {
    /// The same for StopIteration's `"value"`.
    static VALUE_KEY: Rc<str> = Rc::from("value");
    /// The `args` of every exception made without arguments. CPython's
    /// empty tuple is a singleton too (`Exception().args is ()`).
    static EMPTY_ARGS: Value = Value::tuple(Vec::new());
}

pub(crate) use crate::attrs::args_key;

/// `args` as the exception's `args` tuple: no allocation when empty.
pub(crate) fn args_tuple(args: Vec<Value>) -> Value {
    if args.is_empty() {
        EMPTY_ARGS.with(Value::clone)
    } else {
        Value::tuple(args)
    }
}

/// A new exception instance of `cls` holding `args` (and StopIteration's
/// `value`, inserted after `args` as `BaseException.__init__` does).
fn exc_instance(cls: &Rc<Class>, args: Vec<Value>, value: Option<Value>) -> Value {
    // Empty `args` are not stored (`Vm::exc_args` and `e.args` read a
    // missing key as `()`): an exception raised bare, as `throw(E)` and
    // `close()` do, needs no dict.
    let mut d = crate::attrs::Attrs::default();
    if !args.is_empty() || value.is_some() {
        d.insert(args_key(), args_tuple(args));
    }
    if let Some(v) = value {
        d.insert(VALUE_KEY.with(Rc::clone), v);
    }
    Value::tracked(Value::Instance(Rc::new(Instance {
        class: cls.clone(),
        dict: RefCell::new(d),
        traceback: Default::default(),
        gc_mark: Default::default(),
    })))
}

fn exc_init(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    if let Some(Value::Instance(i)) = args.first() {
        if !kw.is_empty() {
            let msg = format!("{}() takes no keyword arguments", i.class.name);
            return Err(vm.type_error(&msg));
        }
        vm.exc_fill(i, args[1..].to_vec());
    }
    Ok(Value::None)
}

impl Vm {
    /// What `BaseException.__init__` does to instance `i`: sets `args`
    /// (and `value` on a StopIteration). `args` is set before `value` so a
    /// fresh instance's dict order matches one that already held `args`.
    pub(crate) fn exc_fill(&self, i: &Instance, rest: Vec<Value>) {
        let value = self
            .is_stop_iteration_class(&i.class)
            .then(|| rest.first().cloned().unwrap_or(Value::None));
        let mut d = i.dict.borrow_mut();
        d.insert(args_key(), args_tuple(rest));
        if let Some(v) = value {
            d.insert(VALUE_KEY.with(Rc::clone), v);
        }
    }

    fn is_stop_iteration_class(&self, cls: &Rc<Class>) -> bool {
        cls.name.as_ref() == "StopIteration" || self.is_subclass(cls, &self.exc.stop_iteration)
    }

    /// `cls(*args)` for an exception class whose `__init__` is
    /// `BaseException.__init__` and with no user `__new__` in its MRO: the
    /// instance is built directly, without the general call machinery.
    /// None when the class does not qualify (the caller takes the general
    /// path).
    pub(crate) fn plain_exception_new(
        &self,
        cls: &Rc<Class>,
        args: &mut Vec<Value>,
    ) -> Option<Value> {
        if !self.is_plain_exception(cls) {
            return None;
        }
        let args = std::mem::take(args);
        let value = self
            .is_stop_iteration_class(cls)
            .then(|| args.first().cloned().unwrap_or(Value::None));
        Some(exc_instance(cls, args, value))
    }

    /// Whether calling `cls` does nothing but what `BaseException`'s
    /// `__new__` and `__init__` do: an exception class with no user
    /// `__new__`, no class-level `__class_call__` hook and
    /// `BaseException.__init__` as its `__init__`. Memoised per class for
    /// the current class epoch (`PlainExcCache`).
    pub(crate) fn is_plain_exception(&self, cls: &Rc<Class>) -> bool {
        let key = Rc::as_ptr(cls) as usize;
        let epoch = crate::value::class_epoch();
        // Classes are at least 8-byte aligned: skip the always-zero bits.
        let slot = (key >> 4) % crate::vm::PLAIN_EXC_SLOTS;
        let mut memo = self.plain_exc_cache.0.get();
        let (k, e, answer) = memo[slot];
        if k == key && e == epoch {
            return answer;
        }
        let answer = self.is_plain_exception_uncached(cls);
        memo[slot] = (key, epoch, answer);
        self.plain_exc_cache.0.set(memo);
        answer
    }

    fn is_plain_exception_uncached(&self, cls: &Rc<Class>) -> bool {
        let base = &self.exc.base_exception;
        if !self.is_subclass(cls, base) || self.user_new(cls).is_some() {
            return false;
        }
        if cls.builtin.is_none() && self.class_hook(cls, "__class_call__").is_some() {
            return false;
        }
        let Some(Value::Builtin(init)) = self.class_lookup(cls, "__init__") else {
            return false;
        };
        matches!(base.dict.borrow().get("__init__"), Some(Value::Builtin(b)) if Rc::ptr_eq(b, &init))
    }

    /// `cls(*args)` for an exception class `cls`: built directly when the
    /// class is plain (`is_plain_exception`), else through the general
    /// call (a user `__new__`/`__init__` runs). The direct path is only
    /// taken below the recursion limit, where the call would not refuse.
    pub(crate) fn construct_exception(
        &mut self,
        cls: &Rc<Class>,
        mut args: Vec<Value>,
    ) -> PyResult<Value> {
        if self.depth() < self.recursion_limit
            && let Some(e) = self.plain_exception_new(cls, &mut args)
        {
            return Ok(e);
        }
        self.call(&Value::Class(cls.clone()), args)
    }
}

fn exc_str(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let e = args.first().cloned().unwrap_or(Value::None);
    Ok(Value::str(vm.exc_str(&e)?))
}

fn exc_repr(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let e = args.first().cloned().unwrap_or(Value::None);
    let name = vm.type_of(&e).name.clone();
    let a = vm.exc_args(&e);
    let inner = if a.len() == 1 {
        vm.repr(&a[0])?
    } else {
        let r = vm.repr(&Value::tuple(a.clone()))?;
        if a.is_empty() {
            String::new()
        } else {
            r[1..r.len() - 1].to_string()
        }
    };
    Ok(Value::str(format!("{name}({inner})")))
}

fn exc_with_traceback(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let e = args.first().cloned().unwrap_or(Value::None);
    let tb = args.get(1).cloned().unwrap_or(Value::None);
    vm.set_traceback(&e, &tb)?;
    Ok(e)
}

/// `exc.add_note(note)`: appends to the `__notes__` list, creating it.
fn exc_add_note(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let (Some(Value::Instance(i)), Some(note)) = (args.first(), args.get(1)) else {
        return Err(vm.type_error("add_note() takes exactly one argument"));
    };
    if !matches!(note, Value::Str(_)) {
        let msg = format!("note must be a str, not '{}'", vm.type_name(note));
        return Err(vm.type_error(&msg));
    }
    let notes = i.dict.borrow().get("__notes__").cloned();
    match notes {
        None => {
            let l = Value::list(vec![note.clone()]);
            i.dict.borrow_mut().insert(Rc::from("__notes__"), l);
        }
        Some(Value::List(l)) => l.borrow_mut().push(note.clone()),
        Some(_) => return Err(vm.type_error("Cannot add note: __notes__ is not a list")),
    }
    Ok(Value::None)
}

pub(crate) fn install_methods(vm: &mut Vm) {
    let base = vm.exc.base_exception.clone();
    vm.add_method(&base, "__init__", exc_init);
    vm.add_method(&base, "__str__", exc_str);
    vm.add_method(&base, "__repr__", exc_repr);
    vm.add_method(&base, "with_traceback", exc_with_traceback);
    vm.add_method(&base, "add_note", exc_add_note);
}
