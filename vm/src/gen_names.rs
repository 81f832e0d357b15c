//! What few generators need, kept beside them rather than in them, so
//! that every generator stays three words: an id (a number for traces and
//! the REPL's `:gens`, and a key for async generator hooks), the names it
//! was created with when they differ from its code's, and the names a
//! program gave it (`__name__`/`__qualname__` are writable). The table is
//! keyed by the generator's address; `Generator::extra` says whether it has
//! an entry, which its drop removes, so an address is never found stale.

use std::cell::RefCell;
use std::rc::Rc;

use rustc_hash::FxHashMap;

use crate::value::*;
use crate::vm::Vm;

#[derive(Default)]
pub(crate) struct Extra {
    /// 0 until the generator is given one.
    id: u64,
    /// `(__name__, __qualname__)` at creation, when not the code's.
    created: Option<Box<(Rc<str>, Rc<str>)>>,
    /// The names a program set since.
    renamed: Option<(Rc<str>, Rc<str>)>,
    /// Listed by `Vm::live_generators` (the REPL's `:gens`).
    live: bool,
    /// Made by a `types.coroutine` function: `await` may use it.
    iterable_coroutine: bool,
}

thread_local! {
    static EXTRA: RefCell<FxHashMap<usize, Extra>> = RefCell::new(FxHashMap::default());
}

fn key(g: &Generator) -> usize {
    g as *const Generator as usize
}

/// Runs `f` on `g`'s entry, making one.
fn with_extra<R>(g: &Generator, f: impl FnOnce(&mut Extra) -> R) -> R {
    g.extra.set(true);
    EXTRA.with(|t| f(t.borrow_mut().entry(key(g)).or_default()))
}

/// Reads `g`'s entry, if it has one.
fn read_extra<R>(g: &Generator, f: impl FnOnce(&Extra) -> R) -> Option<R> {
    if !g.extra.get() {
        return None;
    }
    EXTRA.with(|t| t.borrow().get(&key(g)).map(f))
}

pub(crate) fn set_extra(g: &Generator, id: u64, created: Option<Box<(Rc<str>, Rc<str>)>>) {
    with_extra(g, |e| {
        e.id = id;
        e.created = created;
    });
}

/// Lists `g` among the live generators (`Vm::live_generators`).
pub(crate) fn set_live(g: &Generator) {
    with_extra(g, |e| e.live = true);
}

/// The live generators listed by `set_live`, oldest first.
pub(crate) fn live() -> Vec<GenRc> {
    EXTRA.with(|t| {
        let t = t.borrow();
        let mut gens: Vec<(u64, usize)> = t
            .iter()
            .filter(|(_, e)| e.live)
            .map(|(&k, e)| (e.id, k))
            .collect();
        gens.sort_unstable();
        gens.into_iter()
            // SAFETY: an entry's key is a live generator's address (its
            // drop removes the entry).
            .map(|(_, k)| GenRc::from_ref(unsafe { &*(k as *const Generator) }))
            .collect()
    })
}

/// Marks `g` as made by a `types.coroutine` function.
pub(crate) fn set_iterable_coroutine(g: &Generator) {
    with_extra(g, |e| e.iterable_coroutine = true);
}

pub(crate) fn is_iterable_coroutine(g: &Generator) -> bool {
    read_extra(g, |e| e.iterable_coroutine).unwrap_or(false)
}

/// `g` is being dropped: its entry goes.
pub(crate) fn forget(g: &Generator) {
    if g.extra.get() {
        // `try_`: a generator dropped while the table is borrowed cannot
        // have an entry being read (entries hold only names).
        let _ = EXTRA.try_with(|t| t.try_borrow_mut().map(|mut t| t.remove(&key(g))));
    }
}

impl Generator {
    /// Its number (see the module), or 0.
    pub fn id(&self) -> u64 {
        read_extra(self, |e| e.id).unwrap_or(0)
    }

    /// The names it was created with.
    pub(crate) fn created_names(&self) -> (Rc<str>, Rc<str>) {
        read_extra(self, |e| e.created.as_deref().cloned())
            .flatten()
            .unwrap_or_else(|| (self.code().name.clone(), self.code().qualname.clone()))
    }

    /// The names to carry over to another generator object for the same
    /// frame (an async generator closed by its loop).
    pub(crate) fn created_names_boxed(&self) -> Option<Box<(Rc<str>, Rc<str>)>> {
        read_extra(self, |e| e.created.clone()).flatten()
    }
}

impl Vm {
    fn take_gen_id(&self) -> u64 {
        let id = self.next_gen_id.get();
        self.next_gen_id.set(id + 1);
        id
    }

    /// `g`'s number, given it now if it has none.
    pub fn gen_id(&self, g: &Generator) -> u64 {
        let id = g.id();
        if id != 0 {
            return id;
        }
        let id = self.take_gen_id();
        with_extra(g, |e| e.id = id);
        id
    }

    /// The number a new generator gets: only traces and the REPL's `:gens`
    /// show them in creation order; others get one when first asked.
    pub(crate) fn new_gen_id(&self) -> u64 {
        if !self.tracing && !self.live_generators {
            return 0;
        }
        self.take_gen_id()
    }

    /// The current `(__name__, __qualname__)` of `g`.
    pub fn gen_names(&self, g: &Generator) -> (Rc<str>, Rc<str>) {
        read_extra(g, |e| e.renamed.clone())
            .flatten()
            .unwrap_or_else(|| g.created_names())
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
        with_extra(g, |e| e.renamed = Some((n, q)));
        Ok(true)
    }
}
