//! Writable `__name__`/`__qualname__` of generators and coroutines. The
//! generator keeps the names it was created with; a renamed one has its
//! new names here, by its id (ids are never reused).

use std::rc::Rc;

use crate::value::*;
use crate::vm::Vm;

impl Vm {
    /// The current `(__name__, __qualname__)` of `g`.
    pub fn gen_names(&self, g: &Generator) -> (Rc<str>, Rc<str>) {
        match self.gen_renames.get(&g.id) {
            Some(n) if g.id != 0 => n.clone(),
            _ => (g.name().clone(), g.qualname().clone()),
        }
    }

    /// `g.__name__ = v` / `g.__qualname__ = v`; false for other names.
    pub(crate) fn set_gen_name(&mut self, g: &Generator, name: &str, v: &Value) -> PyResult<bool> {
        const MEMBERS: [&str; 14] = [
            "ag_await",
            "ag_code",
            "ag_frame",
            "ag_running",
            "gi_code",
            "gi_frame",
            "gi_running",
            "gi_suspended",
            "gi_yieldfrom",
            "cr_await",
            "cr_code",
            "cr_frame",
            "cr_running",
            "cr_suspended",
        ];
        let (kind, prefix) = match g.kind {
            GenKind::Generator => ("generator", "gi_"),
            GenKind::Coroutine => ("coroutine", "cr_"),
            GenKind::AsyncGenerator => ("async_generator", "ag_"),
        };
        // Plain members in CPython, with the generic wording.
        if g.kind == GenKind::AsyncGenerator && (name == "ag_running" || name == "ag_code") {
            return Err(self.attribute_error("readonly attribute"));
        }
        if MEMBERS.contains(&name) && name.starts_with(prefix) {
            let msg = format!("attribute '{name}' of '{kind}' objects is not writable");
            return Err(self.attribute_error(&msg));
        }
        if name != "__name__" && name != "__qualname__" {
            return Ok(false);
        }
        let Value::Str(s) = v else {
            return Err(self.type_error(&format!("{name} must be set to a string object")));
        };
        let (mut n, mut q) = self.gen_names(g);
        if name == "__name__" {
            n = Rc::from(s.as_str());
        } else {
            q = Rc::from(s.as_str());
        }
        self.gen_renames.insert(g.id, (n, q));
        Ok(true)
    }
}
