//! The collector's registry: which container objects are tracked, in
//! which generation, and when the next collection is due. The object
//! model calls in here as objects are made and freed (`track`,
//! `track_suspended`, `instance_freed`, `generator_freed`); the collector
//! itself (`gc.rs`) sits above the interpreter and reads it.

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};

use crate::dict::Dict;
use crate::gen_rc::GenWeak;
use crate::native_box::NativeWeak;
use crate::value::*;

/// A candidate's position in the running collection, kept inside objects
/// the collector meets often (generators, instances, futures and tasks) so that
/// finding them needs no lookup in the index map. A mark is only a hint:
/// it counts when the candidate at that position is this very object, so
/// marks left over from earlier collections need no clearing.
pub struct Mark(pub(crate) Cell<u32>);

impl Default for Mark {
    fn default() -> Mark {
        Mark(Cell::new(u32::MAX))
    }
}

/// The tracked objects of one generation, by type.
#[derive(Default)]
pub(crate) struct Generation {
    pub(crate) lists: Vec<Weak<RefCell<crate::value::ListItems>>>,
    pub(crate) dicts: Vec<Weak<RefCell<Dict>>>,
    pub(crate) sets: Vec<Weak<RefCell<Dict>>>,
    pub(crate) instances: Vec<Weak<Instance>>,
    pub(crate) functions: Vec<Weak<Function>>,
    pub(crate) classes: Vec<Weak<Class>>,
    pub(crate) generators: Vec<GenWeak>,
    pub(crate) natives: Vec<NativeWeak>,
}

impl Generation {
    pub(crate) fn len(&self) -> usize {
        self.lists.len()
            + self.dicts.len()
            + self.sets.len()
            + self.instances.len()
            + self.functions.len()
            + self.classes.len()
            + self.generators.len()
            + self.natives.len()
    }

    /// Moves every entry of `other` here.
    pub(crate) fn append(&mut self, other: &mut Generation) {
        self.lists.append(&mut other.lists);
        self.dicts.append(&mut other.dicts);
        self.sets.append(&mut other.sets);
        self.instances.append(&mut other.instances);
        self.functions.append(&mut other.functions);
        self.classes.append(&mut other.classes);
        self.generators.append(&mut other.generators);
        self.natives.append(&mut other.natives);
    }

    /// Forgets the objects reference counting has freed since.
    pub(crate) fn prune(&mut self) {
        fn keep<T: ?Sized>(v: &mut Vec<Weak<T>>) {
            v.retain(|w| w.strong_count() > 0);
        }
        keep(&mut self.lists);
        keep(&mut self.dicts);
        keep(&mut self.sets);
        keep(&mut self.instances);
        keep(&mut self.functions);
        keep(&mut self.classes);
        self.generators.retain(GenWeak::alive);
        self.natives.retain(|w| w.strong_count() > 0);
    }

    /// Registers `v` here; false for values that are never tracked.
    pub(crate) fn add(&mut self, v: &Value) -> bool {
        match v {
            Value::List(r) => self.lists.push(Rc::downgrade(r)),
            Value::Dict(r) => self.dicts.push(Rc::downgrade(r)),
            Value::Set(r) => self.sets.push(Rc::downgrade(r)),
            Value::Instance(r) => self.instances.push(Rc::downgrade(r)),
            Value::Function(r) => self.functions.push(Rc::downgrade(r)),
            Value::Class(r) => self.classes.push(Rc::downgrade(r)),
            Value::Generator(r) => {
                // At most one entry per generator (`GenWeak`): one that
                // registered again meanwhile keeps that one.
                if r.tracked.get() {
                    return false;
                }
                self.generators.push(GenRc::downgrade(r))
            }
            Value::Native(r) => self.natives.push(NativeHandle::downgrade(r)),
            _ => return false,
        }
        true
    }
}

/// CPython's default thresholds (`gc.get_threshold()`).
pub const DEFAULT_THRESHOLDS: [i64; 3] = [700, 10, 10];

pub(crate) struct Heap {
    pub(crate) gens: [Generation; 3],
    /// `gc.get_count()`: registrations since the last collection, then
    /// collections of the generation below since this one was collected.
    pub(crate) count: [usize; 3],
    /// `gc.set_threshold()`'s values (C ints in CPython); a generation-0
    /// threshold of 0 or less turns automatic collection off.
    pub(crate) threshold: [i64; 3],
    pub(crate) enabled: bool,
    /// Objects that survived a full collection, and those promoted into
    /// the oldest generation since: a full collection runs only when the
    /// second is a quarter of the first (CPython's rule, which keeps the
    /// cost of full collections linear in the allocations).
    pub(crate) long_lived_total: usize,
    pub(crate) long_lived_pending: usize,
    /// Generation 0's length at which dead entries are pruned between
    /// collections. With collection disabled (`gc.disable()`) nothing else
    /// drops them, and each keeps its object's freed allocation alive.
    pub(crate) prune_at: usize,
}

/// The least `Heap::prune_at`.
const PRUNE_MIN: usize = 4096;

thread_local! {
    pub(crate) static HEAP: RefCell<Heap> = const {
        RefCell::new(Heap {
            gens: [
                Generation { lists: Vec::new(), dicts: Vec::new(), sets: Vec::new(), instances: Vec::new(), functions: Vec::new(), classes: Vec::new(), generators: Vec::new(), natives: Vec::new() },
                Generation { lists: Vec::new(), dicts: Vec::new(), sets: Vec::new(), instances: Vec::new(), functions: Vec::new(), classes: Vec::new(), generators: Vec::new(), natives: Vec::new() },
                Generation { lists: Vec::new(), dicts: Vec::new(), sets: Vec::new(), instances: Vec::new(), functions: Vec::new(), classes: Vec::new(), generators: Vec::new(), natives: Vec::new() },
            ],
            count: [0; 3],
            threshold: DEFAULT_THRESHOLDS,
            enabled: true,
            long_lived_total: 0,
            long_lived_pending: 0,
            prune_at: PRUNE_MIN,
        })
    };
    /// Set when generation 0 passed its threshold: the next poll point
    /// (`Vm::poll_limits`) collects.
    pub(crate) static DUE: Cell<bool> = const { Cell::new(false) };
    /// A collection is running (no nested collection starts).
    pub(crate) static COLLECTING: Cell<bool> = const { Cell::new(false) };
}

/// Tracks a new container object (a list, dict, set, instance, function,
/// class, generator or native object); other values are ignored.
#[inline]
pub fn track(v: &Value) {
    register(|g| g.add(v));
}

/// Tracks a generator or coroutine the first time it suspends (see
/// `Generator::tracked`).
#[inline]
pub fn track_suspended(r: &Generator) {
    if !r.tracked.get() {
        register(|g| {
            g.generators.push(GenRc::downgrade(r));
            true
        });
    }
}

#[inline]
fn register(add: impl FnOnce(&mut Generation) -> bool) {
    HEAP.with(|h| {
        let Ok(mut h) = h.try_borrow_mut() else {
            return;
        };
        if add(&mut h.gens[0]) {
            if h.gens[0].len() > h.prune_at {
                // Amortised O(1): the next prune waits for as many new
                // entries as there are live ones.
                h.gens[0].prune();
                h.prune_at = (2 * h.gens[0].len()).max(PRUNE_MIN);
            }
            h.count[0] += 1;
            if h.count[0] as i64 > h.threshold[0] && h.threshold[0] > 0 && h.enabled {
                DUE.with(|d| d.set(true));
            }
        }
    });
}

/// A tracked generator is being freed by reference counting. Its entry
/// is usually among the last few of generation 0 (nested generators are
/// tracked and freed in nearly opposite orders): removing it now lets the
/// allocator reuse the memory at once, where a dead entry would keep the
/// allocation until the next prune.
///
/// True when the entry was found and taken out (the caller then frees the
/// block); else the entry stays, and frees the block when it goes
/// (`GenWeak`).
pub fn generator_freed(g: *const Generator) -> bool {
    HEAP.with(|h| {
        let Ok(mut h) = h.try_borrow_mut() else {
            return false;
        };
        let v = &mut h.gens[0].generators;
        let n = v.len();
        let Some(i) = (n.saturating_sub(8)..n)
            .rev()
            .find(|&i| std::ptr::eq(v[i].as_ptr(), g))
        else {
            return false;
        };
        // `remove`, not `swap_remove`: collections see the entries in the
        // order they were tracked. Usually it is the last one.
        let w = if i + 1 == n {
            v.pop()
        } else {
            Some(v.remove(i))
        };
        if let Some(w) = w {
            w.forget();
        }
        h.count[0] = h.count[0].saturating_sub(1);
        true
    })
}

/// An instance is being freed by reference counting: as for generators,
/// its entry is dropped at once when it is among generation 0's last few
/// (a short-lived exception or temporary object, created and freed while
/// nothing else was tracked). An instance that was never tracked is
/// simply not found.
pub fn instance_freed(i: *const Instance) {
    forget_freed(|gen0| &mut gen0.instances, i);
}

#[inline]
fn forget_freed<T>(list: impl FnOnce(&mut Generation) -> &mut Vec<Weak<T>>, p: *const T) {
    HEAP.with(|h| {
        let Ok(mut h) = h.try_borrow_mut() else {
            return;
        };
        let v = list(&mut h.gens[0]);
        let n = v.len();
        if let Some(i) = (n.saturating_sub(8)..n)
            .rev()
            .find(|&i| std::ptr::eq(v[i].as_ptr(), p))
        {
            // `remove`, not `swap_remove`: collections see the entries
            // in the order they were tracked. Usually it is the last one.
            drop(if i + 1 == n {
                v.pop()
            } else {
                Some(v.remove(i))
            });
            h.count[0] = h.count[0].saturating_sub(1);
        }
    });
}

/// True when an automatic collection should run at the next poll point.
#[inline]
pub fn due() -> bool {
    DUE.with(|d| d.get())
}

pub fn is_enabled() -> bool {
    HEAP.with(|h| h.borrow().enabled)
}

pub fn set_enabled(on: bool) {
    HEAP.with(|h| h.borrow_mut().enabled = on);
}

pub fn count() -> [usize; 3] {
    HEAP.with(|h| h.borrow().count)
}

pub fn threshold() -> [i64; 3] {
    HEAP.with(|h| h.borrow().threshold)
}

pub fn set_threshold(t: [i64; 3]) {
    HEAP.with(|h| h.borrow_mut().threshold = t);
}

/// Whether `v` may refer to an object the collector could examine: false
/// for atoms (numbers, strings, bytes, None), which a `gc_traverse` can skip
/// without calling its visitor.
#[inline]
pub fn may_refer(v: &Value) -> bool {
    !matches!(
        v,
        Value::Undef
            | Value::None
            | Value::NotImplemented
            | Value::Ellipsis
            | Value::Bool(_)
            | Value::Int(_)
            | Value::BigInt(_)
            | Value::Float(_)
            | Value::Str(_)
            | Value::Bytes(_)
            | Value::Range(_)
            | Value::Code(_)
            | Value::Module(_)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// With collection off, objects freed by reference counting must not
    /// pile up in generation 0 (each dead entry keeps its allocation).
    #[test]
    fn dead_entries_are_pruned_while_disabled() {
        set_enabled(false);
        for _ in 0..10 * PRUNE_MIN {
            track(&Value::List(Rc::new(RefCell::new(Default::default()))));
        }
        let live = Value::List(Rc::new(RefCell::new(Default::default())));
        track(&live);
        let len = HEAP.with(|h| h.borrow().gens[0].len());
        set_enabled(true);
        assert!(len <= PRUNE_MIN + 1, "generation 0 holds {len} entries");
    }
}
