//! `Attrs`: an instance's attribute dict, kept in the instance itself.
//!
//! Most instances have a handful of attributes, set in `__init__` and
//! read by name many times. An `IndexMap` would keep them in two more
//! allocations (its entries and its hash index), which a walk over many
//! objects (a tree's nodes) pays for as cache misses on every attribute
//! read. `Attrs` keeps up to `INLINE` attributes inside the instance, in
//! insertion order, and finds them by a scan that compares the interned
//! name's address before its text; past `SMALL` attributes it moves them
//! into an `IndexMap`, so an object used as a big record stays O(1).

use std::rc::Rc;

use smallvec::SmallVec;

use crate::value::{NameKey, Namespace, Value};

/// Attributes stored inside the instance before the list spills to the heap.
const INLINE: usize = 4;
/// Attributes kept in the scanned list before they move to a hash map.
const SMALL: usize = 8;

#[derive(Clone)]
pub enum Attrs {
    Small(SmallVec<[(Rc<str>, Value); INLINE]>),
    Map(Box<Namespace>),
}

impl Default for Attrs {
    fn default() -> Attrs {
        Attrs::Small(SmallVec::new())
    }
}

impl Attrs {
    #[inline]
    fn position(items: &[(Rc<str>, Value)], key: &str) -> Option<usize> {
        items.iter().position(|(k, _)| **k == *key)
    }

    /// `position` of an interned name: its address first, then its text.
    #[inline]
    fn position_interned(items: &[(Rc<str>, Value)], key: &Rc<str>) -> Option<usize> {
        items
            .iter()
            .position(|(k, _)| Rc::ptr_eq(k, key))
            .or_else(|| Self::position(items, key))
    }

    /// The index of `key`, which the compiler interned: its address is
    /// compared before its text.
    #[inline]
    pub fn index_of_interned(&self, key: &Rc<str>) -> Option<usize> {
        match self {
            Attrs::Small(items) => Self::position_interned(items, key),
            Attrs::Map(m) => m.get_index_of(&NameKey(key)),
        }
    }

    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Attrs::Small(items) => Self::position(items, key).map(|i| &items[i].1),
            Attrs::Map(m) => m.get(key),
        }
    }

    pub fn get_mut(&mut self, key: &str) -> Option<&mut Value> {
        match self {
            Attrs::Small(items) => Self::position(items, key).map(|i| &mut items[i].1),
            Attrs::Map(m) => m.get_mut(key),
        }
    }

    #[inline]
    pub fn get_index(&self, i: usize) -> Option<(&Rc<str>, &Value)> {
        match self {
            Attrs::Small(items) => items.get(i).map(|(k, v)| (k, v)),
            Attrs::Map(m) => m.get_index(i),
        }
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// Sets `key`; the old value, if it had one (which keeps its place).
    pub fn insert(&mut self, key: Rc<str>, value: Value) -> Option<Value> {
        match self {
            Attrs::Small(items) => {
                if let Some(i) = Self::position_interned(items, &key) {
                    return Some(std::mem::replace(&mut items[i].1, value));
                }
                if items.len() < SMALL {
                    items.push((key, value));
                    return None;
                }
                let mut m = Namespace::with_capacity_and_hasher(SMALL * 2, Default::default());
                m.extend(items.drain(..));
                m.insert(key, value);
                *self = Attrs::Map(Box::new(m));
                None
            }
            Attrs::Map(m) => m.insert(key, value),
        }
    }

    /// Removes `key`, keeping the others in order.
    pub fn shift_remove(&mut self, key: &str) -> Option<Value> {
        match self {
            Attrs::Small(items) => Self::position(items, key).map(|i| items.remove(i).1),
            Attrs::Map(m) => m.shift_remove(key),
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Attrs::Small(items) => items.len(),
            Attrs::Map(m) => m.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn clear(&mut self) {
        *self = Attrs::default();
    }

    /// The attributes in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = (&Rc<str>, &Value)> {
        let (small, map) = match self {
            Attrs::Small(items) => (Some(items.iter().map(|(k, v)| (k, v))), None),
            Attrs::Map(m) => (None, Some(m.iter())),
        };
        small.into_iter().flatten().chain(map.into_iter().flatten())
    }

    pub fn keys(&self) -> impl Iterator<Item = &Rc<str>> {
        self.iter().map(|(k, _)| k)
    }

    pub fn values(&self) -> impl Iterator<Item = &Value> {
        self.iter().map(|(_, v)| v)
    }
}

thread_local! {
    /// The one `"args"` key every exception instance's dict shares, so
    /// creating an exception allocates no key string.
    static ARGS_KEY: Rc<str> = Rc::from("args");
}

/// The shared `"args"` key of exception instances' dicts.
pub(crate) fn args_key() -> Rc<str> {
    ARGS_KEY.with(Rc::clone)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> Rc<str> {
        Rc::from(s)
    }

    #[test]
    fn keeps_order_replaces_in_place_and_spills_to_a_map() {
        let mut a = Attrs::default();
        let keys: Vec<Rc<str>> = (0..12).map(|i| name(&format!("k{i}"))).collect();
        for (i, k) in keys.iter().enumerate() {
            assert!(a.insert(k.clone(), Value::Int(i as i64)).is_none());
            assert_eq!(a.len(), i + 1);
            if i < SMALL {
                assert!(matches!(a, Attrs::Small(_)));
            }
        }
        assert!(matches!(a, Attrs::Map(_)));
        // Replacing keeps the place; a key spelled by another string is
        // the same key.
        assert!(matches!(
            a.insert(name("k3"), Value::None),
            Some(Value::Int(3))
        ));
        let order: Vec<String> = a.keys().map(|k| k.to_string()).collect();
        assert_eq!(order[3], "k3");
        assert_eq!(a.index_of_interned(&keys[5]), Some(5));
        assert!(matches!(a.shift_remove("k0"), Some(Value::Int(0))));
        assert_eq!(
            a.keys().next().map(|k| k.to_string()),
            Some("k1".to_string())
        );
        assert!(a.get("k0").is_none());

        let mut s = Attrs::default();
        s.insert(keys[0].clone(), Value::Int(0));
        s.insert(keys[1].clone(), Value::Int(1));
        assert_eq!(s.index_of_interned(&name("k1")), Some(1));
        assert!(matches!(s.shift_remove("k0"), Some(Value::Int(0))));
        assert!(matches!(s.get_index(0), Some((k, Value::Int(1))) if &**k == "k1"));
    }
}
