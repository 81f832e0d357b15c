//! CPython's wording for an `async with`/`async for` whose protocol method
//! returned something that cannot be awaited. `GetAwaitable` carries no
//! operand, so the instruction before it tells what was being awaited
//! (CPython passes that as the operand of `GET_AWAITABLE`).

use std::rc::Rc;

use crate::opcode::Op;
use crate::value::*;
use crate::vm::Vm;

enum Source {
    Enter,
    Exit,
    Next,
}

impl Vm {
    /// Rewrites the error of a failed `GetAwaitable` (the top frame's `ip`
    /// is just past it) when it awaited `__aenter__`, `__aexit__` or
    /// `__anext__`'s result. `v` is the object that could not be awaited.
    pub(crate) fn await_protocol_error(&mut self, err: Value, v: &Value) -> Value {
        let Some(f) = self.frames.last() else {
            return err;
        };
        let ops = &f.code.ops;
        let at = f.ip.saturating_sub(1);
        let before = |k: usize| at.checked_sub(k).and_then(|i| ops.get(i)).copied();
        let source = match before(1) {
            Some(Op::BeforeAsyncWith) => Source::Enter,
            Some(Op::WithExceptStart) => Source::Exit,
            Some(Op::GetANext) => Source::Next,
            // `__aexit__(None, None, None)` on the normal way out.
            Some(Op::Call(3))
                if matches!(before(2), Some(Op::DupTop))
                    && matches!(before(3), Some(Op::DupTop)) =>
            {
                Source::Exit
            }
            _ => return err,
        };
        // For `async with` only the "cannot be awaited" TypeError is
        // reworded; `async for` wraps whatever failed (CPython's GET_ANEXT
        // raises from the cause).
        let awaitable = self.lookup_special(v, "__await__").is_some();
        let type_error = self.is_instance_of(&err, &self.exc.type_error.clone());
        if !matches!(source, Source::Next) && (awaitable || !type_error) {
            return err;
        }
        let ty = self.type_name(v).to_string();
        match source {
            Source::Enter | Source::Exit => {
                let which = if matches!(source, Source::Enter) {
                    "__aenter__"
                } else {
                    "__aexit__"
                };
                let msg = format!(
                    "'async with' received an object from {which} that does not implement __await__: {ty}"
                );
                self.type_error(&msg)
            }
            Source::Next => {
                let msg = format!("'async for' received an invalid object from __anext__: {ty}");
                let e = self.type_error(&msg);
                if let Value::Instance(i) = &e {
                    let mut d = i.dict.borrow_mut();
                    d.insert(Rc::from("__cause__"), err.clone());
                    d.insert(Rc::from("__context__"), err);
                    d.insert(Rc::from("__suppress_context__"), Value::Bool(true));
                }
                e
            }
        }
    }
}
