//! The VM-wide class-lookup cache, CPython's type attribute cache (used
//! by `attr_cache.rs`): lookups by class and name from anywhere but a
//! cached instruction (instantiation's `__init__`/`__new__`, special
//! methods, attribute misses) take a slot chosen by the class's address
//! and the name's hash, valid while the class epoch is unchanged, so a hit
//! does not walk the MRO hashing the name in each class. Also the one-entry
//! cache of `iter()` on instances.

use std::cell::RefCell;
use std::hash::{Hash, Hasher};
use std::rc::Rc;

use crate::value::Value;

/// The last class whose `__iter__` was looked up by `instance_iter_fast`:
/// (class address, class epoch, what `lookup_special` found).
pub(crate) type IterCache = Option<(usize, u64, Option<Value>)>;

/// Slots in the type cache (a power of two).
const TYPE_CACHE_SLOTS: usize = 512;
/// Names up to this length are cached (every dunder name fits).
const TYPE_CACHE_NAME: usize = 23;

/// One type-cache slot: what `class_lookup_uncached(cls, name)` returned
/// while the class epoch was `epoch`.
#[derive(Clone, Default)]
struct TypeCacheEntry {
    cls: usize,
    epoch: u64,
    len: u8,
    name: [u8; TYPE_CACHE_NAME],
    found: Option<Value>,
}

/// The VM-wide class-lookup cache (see the module comment). A stale slot
/// keeps its value alive until it is overwritten, as the per-instruction
/// caches do.
#[derive(Default)]
pub(crate) struct TypeCache {
    slots: RefCell<Vec<TypeCacheEntry>>,
}

impl TypeCache {
    /// The cached lookup of `name` in `cls`, or `miss()`'s answer, cached.
    #[inline]
    pub(crate) fn lookup(
        &self,
        cls: &Rc<crate::value::Class>,
        name: &str,
        miss: impl FnOnce() -> Option<Value>,
    ) -> Option<Value> {
        if name.len() > TYPE_CACHE_NAME {
            return miss();
        }
        let key = Rc::as_ptr(cls) as usize;
        let epoch = crate::value::class_epoch();
        let mut h = rustc_hash::FxHasher::default();
        name.hash(&mut h);
        let slot = ((h.finish() ^ (key as u64 >> 4)) as usize) & (TYPE_CACHE_SLOTS - 1);
        if let Ok(slots) = self.slots.try_borrow()
            && let Some(e) = slots.get(slot)
            && e.cls == key
            && e.epoch == epoch
            && &e.name[..e.len as usize] == name.as_bytes()
        {
            return e.found.clone();
        }
        // The lookup may run no covm code, but keep the table unborrowed
        // while it runs all the same.
        let found = miss();
        if let Ok(mut slots) = self.slots.try_borrow_mut() {
            if slots.is_empty() {
                slots.resize(TYPE_CACHE_SLOTS, TypeCacheEntry::default());
            }
            let mut entry = TypeCacheEntry {
                cls: key,
                epoch,
                len: name.len() as u8,
                name: [0; TYPE_CACHE_NAME],
                found: found.clone(),
            };
            entry.name[..name.len()].copy_from_slice(name.as_bytes());
            // The old entry is dropped after the borrow ends: its value's
            // drop may run arbitrary finalisation.
            let old = std::mem::replace(&mut slots[slot], entry);
            drop(slots);
            drop(old);
        }
        found
    }
}
