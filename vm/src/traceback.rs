//! Traceback objects (`exc.__traceback__`, the third argument of
//! `__exit__` and of `throw()`): a linked list, outermost frame first,
//! whose nodes keep their identity. An exception records the frames it
//! passes through in its `traceback` vector (innermost first); the chain
//! of nodes is built from it when a program first reads it and cached in
//! the exception. When the exception travels further (a re-raise adds
//! outer frames), the new nodes are put in front of the cached ones, as
//! CPython's `PyTraceBack_Here` does, so an old `__traceback__` stays the
//! `tb_next` of the new one.

use std::borrow::Cow;
use std::cell::RefCell;
use std::rc::Rc;

use crate::value::*;
use crate::vm::Vm;

pub struct Traceback {
    entry: TbEntry,
    /// The next (inner) node, or None.
    next: Value,
    /// How many entries the chain from this node holds.
    len: usize,
    /// `tb_frame`, made on first read.
    frame: RefCell<Option<Value>>,
}

/// `tb.tb_frame`: the code and line of a frame the exception passed
/// through. Frames are not kept alive by tracebacks in covm, so only
/// `f_code`, `f_lineno` and `f_lasti` are answered.
pub struct TbFrame {
    code: Rc<crate::code::Code>,
    line: usize,
    lasti: usize,
}

fn line_of(e: &TbEntry) -> usize {
    e.code.line_of(e.code.span_at(e.ip).start)
}

impl NativeObject for Traceback {
    fn class(&self, vm: &Vm) -> Rc<Class> {
        vm.types.traceback.clone()
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
    fn get_attr(&self, _vm: &mut Vm, name: &str) -> PyResult<Option<Value>> {
        Ok(match name {
            "tb_lineno" => Some(Value::Int(line_of(&self.entry) as i64)),
            "tb_lasti" => Some(Value::Int(self.entry.ip as i64 * 2)),
            "tb_next" => Some(self.next.clone()),
            "tb_frame" => Some(
                self.frame
                    .borrow_mut()
                    .get_or_insert_with(|| {
                        Value::Native(
                            NativeBox::new(TbFrame {
                                code: self.entry.code.clone(),
                                line: line_of(&self.entry),
                                lasti: self.entry.ip,
                            })
                            .into(),
                        )
                    })
                    .clone(),
            ),
            _ => None,
        })
    }
}

impl NativeObject for TbFrame {
    fn class(&self, vm: &Vm) -> Rc<Class> {
        vm.types.frame.clone()
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
    fn repr(&self, _vm: &mut Vm) -> PyResult<Option<String>> {
        let addr = self as *const TbFrame as usize;
        Ok(Some(format!(
            "<frame at {addr:#x}, file '{}', line {}, code {}>",
            self.code.filename, self.line, self.code.name
        )))
    }
    fn get_attr(&self, vm: &mut Vm, name: &str) -> PyResult<Option<Value>> {
        Ok(match name {
            "f_code" => Some(Value::Code(self.code.clone())),
            // A frame still running (the one handling the exception) is
            // on another line by now.
            "f_lineno" => {
                let live = vm
                    .frames
                    .iter()
                    .rev()
                    .find(|f| Rc::ptr_eq(&f.code, &self.code))
                    .map(|f| f.current_line());
                Some(Value::Int(live.unwrap_or(self.line) as i64))
            }
            "f_lasti" => Some(Value::Int(self.lasti as i64 * 2)),
            _ => None,
        })
    }
}

/// Whether `v` is a traceback object.
pub fn is_traceback(v: &Value) -> bool {
    matches!(v, Value::Native(n) if n.as_any().is::<Traceback>())
}

fn node(v: &Value) -> Option<&Traceback> {
    match v {
        Value::Native(n) => n.as_any().downcast_ref::<Traceback>(),
        _ => None,
    }
}

fn same_entry(a: &TbEntry, b: &TbEntry) -> bool {
    Rc::ptr_eq(&a.code, &b.code) && a.ip == b.ip
}

impl Vm {
    /// `exc.__traceback__`: None until the exception has been raised.
    pub fn traceback_of(&self, exc: &Value) -> Value {
        let Value::Instance(i) = exc else {
            return Value::None;
        };
        let entries = i.traceback.borrow();
        if entries.is_empty() {
            return Value::None;
        }
        // Reuse the cached chain when it is the inner part of `entries`.
        let cached = i.dict.borrow().get("__traceback__").cloned();
        let (mut head, mut have) = match cached.as_ref().and_then(|c| node(c).map(|n| (c, n))) {
            Some((c, n)) if n.len <= entries.len() && same_entry(&n.entry, &entries[n.len - 1]) => {
                (c.clone(), n.len)
            }
            _ => (Value::None, 0),
        };
        if have == entries.len() {
            return head;
        }
        for e in &entries[have..] {
            have += 1;
            head = Value::Native(
                NativeBox::new(Traceback {
                    entry: e.clone(),
                    next: head,
                    len: have,
                    frame: RefCell::new(None),
                })
                .into(),
            );
        }
        drop(entries);
        i.dict
            .borrow_mut()
            .insert(Rc::from("__traceback__"), head.clone());
        head
    }

    /// `exc.__traceback__ = tb` and `exc.with_traceback(tb)`.
    pub fn set_traceback(&self, exc: &Value, tb: &Value) -> PyResult<()> {
        let Value::Instance(i) = exc else {
            return Ok(());
        };
        if tb.is_none() {
            i.traceback.borrow_mut().clear();
            i.dict.borrow_mut().shift_remove("__traceback__");
            return Ok(());
        }
        if node(tb).is_none() {
            return Err(self.type_error("__traceback__ must be a traceback or None"));
        }
        // The chain, outermost first, becomes the entries innermost first.
        let mut entries = Vec::new();
        let mut cur = tb.clone();
        while let Some(n) = node(&cur) {
            entries.push(n.entry.clone());
            cur = n.next.clone();
        }
        entries.reverse();
        *i.traceback.borrow_mut() = entries.into();
        i.dict
            .borrow_mut()
            .insert(Rc::from("__traceback__"), tb.clone());
        Ok(())
    }
}

/// One traceback entry: CPython's `File "...", line N, in name` line, the
/// source line, carets under the failing span when it is narrower than the
/// line, and for a generator frame how it was resumed.
pub fn format_tb_entry(entry: &TbEntry) -> String {
    let code = &entry.code;
    let span = code.span_at(entry.ip);
    let line = code.line_of(span.start);
    let mut out = format!(
        "  File \"{}\", line {}, in {}\n",
        code.filename, line, code.name
    );
    let src = &code.source;
    let line_start = src[..span.start.min(src.len())]
        .rfind('\n')
        .map(|i| i + 1)
        .unwrap_or(0);
    let line_end = src[line_start..]
        .find('\n')
        .map(|i| line_start + i)
        .unwrap_or(src.len());
    let text = &src[line_start..line_end];
    let trimmed = text.trim();
    if !trimmed.is_empty() {
        out.push_str(&format!("    {trimmed}\n"));
        let indent = text.len() - text.trim_start().len();
        let (s, e) = (span.start.max(line_start), span.end.min(line_end));
        let whole = s <= line_start + indent && e >= line_start + text.trim_end().len();
        if e > s && !whole && span.end <= line_end {
            let pad = src[line_start + indent..s].chars().count();
            let width = src[s..e].chars().count();
            out.push_str(&format!("    {}{}\n", " ".repeat(pad), "^".repeat(width)));
        }
    }
    if let Some(how) = &entry.resumed_by {
        let how = describe(how);
        out.push_str(&format!(
            "    (this generator frame was resumed by {how})\n"
        ));
    }
    out
}

/// "list()", "Task-1 (main)'s step", "a for loop", ...
pub fn describe(how: &ResumedBy) -> Cow<'_, str> {
    match how {
        ResumedBy::Text(t) => Cow::Borrowed(t),
        ResumedBy::Call { code, ip } => {
            let span = code.span_at(*ip);
            let text = code.source.get(span).unwrap_or_default();
            match callee_name(text) {
                Some(name) => Cow::Owned(format!("{name}()")),
                None => Cow::Borrowed("a built-in"),
            }
        }
    }
}

/// `list` in `list(gen())`, `join` in `", ".join(g)`.
fn callee_name(call: &str) -> Option<&str> {
    let head = call.split('(').next()?.trim();
    let name = head.rsplit('.').next()?.trim();
    let ok = !name.is_empty() && name.chars().all(|c| c.is_alphanumeric() || c == '_');
    ok.then_some(name)
}
