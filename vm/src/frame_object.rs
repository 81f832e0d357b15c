//! `gen.gi_frame` / `coro.cr_frame`: a frame object over a generator's
//! frame, answering `f_code`, `f_lineno`, `f_locals` and `f_back` and
//! nothing else, from the live frame each time they are read.

use std::any::Any;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use crate::frame::ReturnTo;
use crate::value::*;
use crate::vm::Vm;

pub struct GenFrame {
    generator: GenRc,
}

thread_local! {
    /// The frame object of each generator that has one alive, by the
    /// generator's address, so that `g.gi_frame is g.gi_frame` (CPython
    /// keeps one frame object per frame). A live frame object holds its
    /// generator, so a live entry's address cannot have been reused; dead
    /// entries are pruned as the table grows.
    static FRAME_OBJECTS: RefCell<(HashMap<usize, NativeWeak>, usize)> =
        RefCell::new((HashMap::new(), 16));
}

impl Vm {
    /// `gi_frame`: None once the generator has finished.
    pub fn gen_frame_object(&self, g: &GenRc) -> Value {
        if g.state.get() == GenState::Closed {
            return Value::None;
        }
        let key = GenRc::as_ptr(g) as usize;
        FRAME_OBJECTS.with(|t| {
            let (table, prune_at) = &mut *t.borrow_mut();
            if let Some(h) = table.get(&key).and_then(NativeWeak::upgrade) {
                return Value::Native(h);
            }
            if table.len() >= *prune_at {
                table.retain(|_, w| w.strong_count() > 0);
                *prune_at = (table.len() * 2).max(16);
            }
            let h: NativeHandle = NativeBox::new(GenFrame {
                generator: g.clone(),
            })
            .into();
            table.insert(key, NativeHandle::downgrade(&h));
            Value::Native(h)
        })
    }
}

impl GenFrame {
    /// Runs `f` on the generator's frame, wherever it is (suspended in the
    /// generator, or on the VM's stack while running).
    fn with_frame<R>(&self, vm: &Vm, f: impl FnOnce(&crate::frame::Frame) -> R) -> Option<R> {
        // Suspended: the frame is in the generator (`f` only looks).
        if self.generator.peek_frame(|fr| fr.is_some()) {
            return self.generator.peek_frame(|fr| fr.map(f));
        }
        vm.frames
            .iter()
            .rev()
            .find(
                |fr| matches!(&fr.ret, ReturnTo::Generator(g, _) if GenRc::ptr_eq(g, &self.generator)),
            )
            .map(|fr| f(fr))
    }
}

impl NativeObject for GenFrame {
    fn class(&self, vm: &Vm) -> Rc<Class> {
        vm.types.frame.clone()
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn repr(&self, _vm: &mut Vm) -> PyResult<Option<String>> {
        let addr = self as *const GenFrame as usize;
        Ok(Some(format!(
            "<frame at {addr:#x}, file '{}', code {}>",
            self.generator.code().filename,
            self.generator.code().name
        )))
    }
    fn get_attr(&self, vm: &mut Vm, name: &str) -> PyResult<Option<Value>> {
        Ok(match name {
            "f_code" => Some(Value::Code(self.generator.code().clone())),
            "f_back" => Some(Value::None),
            "f_lineno" => {
                let created = self.generator.state.get() == GenState::Created;
                let line = if created {
                    Some(self.generator.code().first_line as usize)
                } else {
                    self.with_frame(vm, |f| f.current_line())
                };
                Some(line.map_or(Value::None, |l| Value::Int(l as i64)))
            }
            "f_locals" => {
                let pairs = self
                    .with_frame(vm, |f| {
                        f.code
                            .varnames
                            .iter()
                            .zip(f.stack.iter())
                            .filter(|(_, v)| !v.is_undef())
                            .map(|(k, v)| (k.clone(), v.clone()))
                            .collect::<Vec<_>>()
                    })
                    .unwrap_or_default();
                let d = Rc::new(RefCell::new(crate::dict::Dict::new()));
                for (k, v) in pairs {
                    crate::dict::set(vm, &d, Value::str(&*k), v)?;
                }
                Some(Value::Dict(d))
            }
            _ => None,
        })
    }
}
