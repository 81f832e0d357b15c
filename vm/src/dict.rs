//! Insertion-ordered hash table behind `dict` and `set`.
//!
//! Keys may have user-defined `__hash__` / `__eq__`, which run covm code and
//! may even mutate the table. So lookups first copy the candidate entries
//! out (usually zero or one), release the borrow, and compare afterwards.

use std::cell::RefCell;
use std::rc::Rc;

use hashbrown::HashTable;

use crate::value::{PyResult, Value};
use crate::vm::Vm;

#[derive(Clone)]
pub struct Entry {
    pub hash: u64,
    pub key: Value,
    pub value: Value,
}

#[derive(Default, Clone)]
pub struct Dict {
    entries: Vec<Option<Entry>>,
    index: HashTable<usize>,
    len: usize,
    /// For sets: CPython's open-addressing table layout, kept only to
    /// reproduce its iteration and `pop()` order (lookups use `index`).
    set_order: Option<SetOrder>,
}

const EMPTY: i32 = -1;
const DUMMY: i32 = -2;
const LINEAR_PROBES: usize = 9;
const PERTURB_SHIFT: u32 = 5;

/// The slots of CPython's `setobject.c` table, each holding an entry
/// index, EMPTY or DUMMY.
#[derive(Clone)]
struct SetOrder {
    slots: Vec<i32>,
    fill: usize,
    used: usize,
    finger: usize,
}

impl SetOrder {
    fn new() -> SetOrder {
        SetOrder {
            slots: vec![EMPTY; 8],
            fill: 0,
            used: 0,
            finger: 0,
        }
    }

    fn mask(&self) -> usize {
        self.slots.len() - 1
    }

    /// `set_add_entry` for a key known to be new.
    fn add(&mut self, hash: u64, idx: usize, entries: &[Option<Entry>]) {
        let mask = self.mask();
        let mut i = hash as usize & mask;
        let mut perturb = hash;
        let mut freeslot: Option<usize> = None;
        loop {
            let probes = if i + LINEAR_PROBES <= mask {
                LINEAR_PROBES
            } else {
                0
            };
            for j in i..=i + probes {
                match self.slots[j] {
                    EMPTY => {
                        match freeslot {
                            Some(f) => {
                                self.slots[f] = idx as i32;
                                self.used += 1;
                            }
                            None => {
                                self.slots[j] = idx as i32;
                                self.fill += 1;
                                self.used += 1;
                                if self.fill * 5 >= mask * 3 {
                                    let n = if self.used > 50000 {
                                        self.used * 2
                                    } else {
                                        self.used * 4
                                    };
                                    self.resize(n, entries);
                                }
                            }
                        }
                        return;
                    }
                    DUMMY if freeslot.is_none() => freeslot = Some(j),
                    _ => {}
                }
            }
            perturb >>= PERTURB_SHIFT;
            i = (i
                .wrapping_mul(5)
                .wrapping_add(1)
                .wrapping_add(perturb as usize))
                & mask;
        }
    }

    fn resize(&mut self, minused: usize, entries: &[Option<Entry>]) {
        let mut size = 8;
        while size <= minused {
            size <<= 1;
        }
        let old = std::mem::replace(&mut self.slots, vec![EMPTY; size]);
        let mask = size - 1;
        for idx in old.into_iter().filter(|&x| x >= 0) {
            let hash = entries[idx as usize].as_ref().map(|e| e.hash).unwrap_or(0);
            // set_insert_clean
            let mut i = hash as usize & mask;
            let mut perturb = hash;
            'probe: loop {
                if self.slots[i] == EMPTY {
                    self.slots[i] = idx;
                    break;
                }
                if i + LINEAR_PROBES <= mask {
                    for j in i + 1..=i + LINEAR_PROBES {
                        if self.slots[j] == EMPTY {
                            self.slots[j] = idx;
                            break 'probe;
                        }
                    }
                }
                perturb >>= PERTURB_SHIFT;
                i = (i
                    .wrapping_mul(5)
                    .wrapping_add(1)
                    .wrapping_add(perturb as usize))
                    & mask;
            }
        }
        self.fill = self.used;
    }

    fn remove(&mut self, idx: usize) {
        if let Some(pos) = self.slots.iter().position(|&x| x == idx as i32) {
            self.slots[pos] = DUMMY;
            self.used -= 1;
        }
    }

    /// `set.pop()`'s choice: the first active slot from the finger on.
    fn pop_slot(&mut self) -> Option<usize> {
        if self.used == 0 {
            return None;
        }
        let n = self.slots.len();
        let mut i = self.finger & (n - 1);
        while self.slots[i] < 0 {
            i = (i + 1) % n;
        }
        let idx = self.slots[i] as usize;
        self.slots[i] = DUMMY;
        self.used -= 1;
        self.finger = i + 1;
        Some(idx)
    }

    fn order(&self) -> impl Iterator<Item = usize> + '_ {
        self.slots.iter().filter(|&&x| x >= 0).map(|&x| x as usize)
    }
}

impl Dict {
    pub fn new() -> Dict {
        Dict::default()
    }
    pub fn len(&self) -> usize {
        self.len
    }
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    /// Live entries: insertion order for a dict, CPython's table order
    /// for a set.
    pub fn iter(&self) -> Box<dyn Iterator<Item = &Entry> + '_> {
        match &self.set_order {
            Some(o) => Box::new(o.order().filter_map(|i| self.entries[i].as_ref())),
            None => Box::new(self.entries.iter().flatten()),
        }
    }
    pub fn keys(&self) -> Vec<Value> {
        self.iter().map(|e| e.key.clone()).collect()
    }
    pub fn values(&self) -> Vec<Value> {
        self.iter().map(|e| e.value.clone()).collect()
    }
    pub fn items(&self) -> Vec<(Value, Value)> {
        self.iter()
            .map(|e| (e.key.clone(), e.value.clone()))
            .collect()
    }
    /// The entry at raw position `i` (including holes), for iterators.
    pub fn entry_at(&self, i: usize) -> Option<Option<&Entry>> {
        match &self.set_order {
            Some(o) => o.slots.get(i).map(|&x| {
                if x >= 0 {
                    self.entries[x as usize].as_ref()
                } else {
                    None
                }
            }),
            None => self.entries.get(i).map(|e| e.as_ref()),
        }
    }
    /// Whether this table backs a set (CPython's set messages differ).
    pub fn is_set(&self) -> bool {
        self.set_order.is_some()
    }
    pub fn raw_len(&self) -> usize {
        match &self.set_order {
            Some(o) => o.slots.len(),
            None => self.entries.len(),
        }
    }
    /// Empties the table, handing its entries over (the cycle collector
    /// drops them only after every garbage object is cleared).
    pub fn take_entries(&mut self) -> Vec<Option<Entry>> {
        let entries = std::mem::take(&mut self.entries);
        self.clear();
        entries
    }
    pub fn clear(&mut self) {
        self.entries.clear();
        self.index.clear();
        self.len = 0;
        if self.set_order.is_some() {
            self.set_order = Some(SetOrder::new());
        }
    }

    fn candidates(&self, hash: u64) -> Vec<(usize, Value)> {
        self.index
            .iter_hash(hash)
            .filter_map(|&i| match &self.entries[i] {
                Some(e) if e.hash == hash => Some((i, e.key.clone())),
                _ => None,
            })
            .collect()
    }

    fn insert_new(&mut self, hash: u64, key: Value, value: Value) {
        let i = self.entries.len();
        self.entries.push(Some(Entry { hash, key, value }));
        let entries = &self.entries;
        self.index.insert_unique(hash, i, |&j| {
            entries[j].as_ref().map(|e| e.hash).unwrap_or(0)
        });
        self.len += 1;
        if let Some(o) = &mut self.set_order {
            o.add(hash, i, &self.entries);
        }
    }

    fn remove_at(&mut self, i: usize) -> Option<Entry> {
        let e = self.entries.get_mut(i)?.take()?;
        if let Ok(slot) = self.index.find_entry(e.hash, |&j| j == i) {
            slot.remove();
        }
        self.len -= 1;
        if let Some(o) = &mut self.set_order {
            o.remove(i);
        }
        if self.entries.len() > 16 && self.len * 2 < self.entries.len() {
            self.compact();
        }
        Some(e)
    }

    fn compact(&mut self) {
        let old = std::mem::take(&mut self.entries);
        let order = self.set_order.take();
        self.index.clear();
        self.len = 0;
        let mut remap = vec![-1i32; old.len()];
        for (k, e) in old.into_iter().enumerate() {
            if let Some(e) = e {
                remap[k] = self.entries.len() as i32;
                self.insert_new(e.hash, e.key, e.value);
            }
        }
        // A set keeps its slot layout; only the entry numbers change.
        if let Some(mut o) = order {
            for s in o.slots.iter_mut() {
                if *s >= 0 {
                    *s = remap[*s as usize];
                }
            }
            self.set_order = Some(o);
        }
    }

    /// Removes and returns the last entry (for `popitem` and `set.pop`).
    pub fn pop_last(&mut self) -> Option<Entry> {
        let i = self.entries.iter().rposition(|e| e.is_some())?;
        self.remove_at(i)
    }
    /// Removes and returns the first entry (for a set, the one CPython's
    /// `set.pop()` picks).
    pub fn pop_first(&mut self) -> Option<Entry> {
        if let Some(o) = &mut self.set_order {
            let i = o.pop_slot()?;
            // The slot is already a dummy; drop the entry without touching
            // the layout again.
            let order = self.set_order.take();
            let e = self.remove_at(i);
            self.set_order = order;
            return e;
        }
        let i = self.entries.iter().position(|e| e.is_some())?;
        self.remove_at(i)
    }
}

/// Keys that compare without running covm code.
fn simple_eq(a: &Value, b: &Value) -> Option<bool> {
    use Value::*;
    Some(match (a, b) {
        (Str(x), Str(y)) => Rc::ptr_eq(x, y) || x.as_str() == y.as_str(),
        (Int(x), Int(y)) => x == y,
        (Bool(x), Bool(y)) => x == y,
        (Int(x), Bool(y)) | (Bool(y), Int(x)) => *x == i64::from(*y),
        (None, None) => true,
        (Str(_), Int(_) | None | Bool(_)) | (Int(_) | None | Bool(_), Str(_)) => false,
        _ => return Option::None,
    })
}

fn find(vm: &mut Vm, d: &RefCell<Dict>, hash: u64, key: &Value) -> PyResult<Option<usize>> {
    let cands = d.borrow().candidates(hash);
    for (i, k) in cands {
        let eq = match simple_eq(&k, key) {
            Some(eq) => eq,
            None => k.is(key) || vm.eq(&k, key)?,
        };
        if eq {
            return Ok(Some(i));
        }
    }
    Ok(None)
}

pub fn get(vm: &mut Vm, d: &RefCell<Dict>, key: &Value) -> PyResult<Option<Value>> {
    let hash = vm.hash(key)?;
    get_hashed(vm, d, hash, key)
}

pub fn get_hashed(
    vm: &mut Vm,
    d: &RefCell<Dict>,
    hash: u64,
    key: &Value,
) -> PyResult<Option<Value>> {
    Ok(match find(vm, d, hash, key)? {
        Some(i) => d.borrow().entries[i].as_ref().map(|e| e.value.clone()),
        None => None,
    })
}

pub fn contains(vm: &mut Vm, d: &RefCell<Dict>, key: &Value) -> PyResult<bool> {
    let hash = vm.hash(key)?;
    Ok(find(vm, d, hash, key)?.is_some())
}

pub fn set(vm: &mut Vm, d: &RefCell<Dict>, key: Value, value: Value) -> PyResult<()> {
    let hash = vm.hash(&key)?;
    set_hashed(vm, d, hash, key, value)
}

pub fn set_hashed(
    vm: &mut Vm,
    d: &RefCell<Dict>,
    hash: u64,
    key: Value,
    value: Value,
) -> PyResult<()> {
    match find(vm, d, hash, &key)? {
        Some(i) => {
            let old = {
                let mut b = d.borrow_mut();
                match b.entries[i].as_mut() {
                    Some(e) => Some(std::mem::replace(&mut e.value, value)),
                    None => {
                        b.insert_new(hash, key, value);
                        None
                    }
                }
            };
            // The old value is dropped after the borrow ends: its finalizer
            // may look at this dict.
            drop(old);
        }
        None => d.borrow_mut().insert_new(hash, key, value),
    }
    Ok(())
}

/// Adds `key` to a set; returns whether it was new.
pub fn add(vm: &mut Vm, d: &RefCell<Dict>, key: Value) -> PyResult<bool> {
    let hash = vm.hash(&key)?;
    if find(vm, d, hash, &key)?.is_some() {
        return Ok(false);
    }
    let mut b = d.borrow_mut();
    // Only sets are filled with `add`: the first one gives the table its
    // set layout.
    if b.set_order.is_none() && b.len == 0 {
        b.set_order = Some(SetOrder::new());
    }
    b.insert_new(hash, key, Value::None);
    Ok(true)
}

pub fn remove(vm: &mut Vm, d: &RefCell<Dict>, key: &Value) -> PyResult<Option<Entry>> {
    let hash = vm.hash(key)?;
    Ok(match find(vm, d, hash, key)? {
        Some(i) => d.borrow_mut().remove_at(i),
        None => None,
    })
}
