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
    /// Live entries in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = &Entry> {
        self.entries.iter().flatten()
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
        self.entries.get(i).map(|e| e.as_ref())
    }
    pub fn raw_len(&self) -> usize {
        self.entries.len()
    }
    pub fn clear(&mut self) {
        self.entries.clear();
        self.index.clear();
        self.len = 0;
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
    }

    fn remove_at(&mut self, i: usize) -> Option<Entry> {
        let e = self.entries.get_mut(i)?.take()?;
        if let Ok(slot) = self.index.find_entry(e.hash, |&j| j == i) {
            slot.remove();
        }
        self.len -= 1;
        if self.entries.len() > 16 && self.len * 2 < self.entries.len() {
            self.compact();
        }
        Some(e)
    }

    fn compact(&mut self) {
        let old = std::mem::take(&mut self.entries);
        self.index.clear();
        self.len = 0;
        for e in old.into_iter().flatten() {
            self.insert_new(e.hash, e.key, e.value);
        }
    }

    /// Removes and returns the last entry (for `popitem` and `set.pop`).
    pub fn pop_last(&mut self) -> Option<Entry> {
        let i = self.entries.iter().rposition(|e| e.is_some())?;
        self.remove_at(i)
    }
    /// Removes and returns the first entry.
    pub fn pop_first(&mut self) -> Option<Entry> {
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
    d.borrow_mut().insert_new(hash, key, Value::None);
    Ok(true)
}

pub fn remove(vm: &mut Vm, d: &RefCell<Dict>, key: &Value) -> PyResult<Option<Entry>> {
    let hash = vm.hash(key)?;
    Ok(match find(vm, d, hash, key)? {
        Some(i) => {
            let e = d.borrow_mut().remove_at(i);
            e
        }
        None => None,
    })
}
