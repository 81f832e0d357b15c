//! The cycle collector.
//!
//! Reference counting frees almost everything the moment its last reference
//! goes (and so finalisation stays deterministic). What it cannot free is a
//! reference cycle: a list that contains itself, a parent and child that
//! point at each other, a closure whose cell holds the closure, a generator
//! whose frame holds the generator. This module finds such cycles the way
//! CPython's `gc` does, by trial deletion over `Rc` strong counts:
//!
//! 1. The *candidates* are the tracked objects of the generations being
//!    collected, plus every untracked container reachable from them through
//!    untracked containers (tuples, bound methods, cells, iterators, ...).
//! 2. Each candidate starts with its strong count; every reference from one
//!    candidate to another is subtracted. What is left is the number of
//!    references from outside the candidates: frames, the value stack, the
//!    VM's tables, Rust locals, older generations.
//! 3. Candidates with outside references, and everything reachable from
//!    them, are alive. The rest is garbage that only keeps itself alive.
//! 4. Garbage generators suspended inside `try`/`with` are finalised first
//!    (PEP 442: their frame moves to the finaliser queue, exactly as when a
//!    suspended generator is dropped, so `finally` runs once); then the
//!    analysis is repeated, since the frames now keep what they hold alive.
//! 5. The remaining garbage is cleared (lists emptied, dicts emptied, cells
//!    unset, generator frames dropped): that breaks every cycle, and
//!    reference counting frees the rest.
//!
//! Invariant: `traverse` visits only references the object really holds
//! (each visit stands for one strong count). Missing a reference is safe
//! (the target just looks externally referenced); inventing one is not.
//!
//! Tracking: containers that programs commonly mutate into cycles (lists,
//! dicts, sets, instances, functions, classes, native objects) are
//! registered when created, generators and coroutines when they first
//! suspend, as a `Weak` in generation 0. Like CPython, survivors move to
//! older generations, which are collected less often (thresholds 700, 10,
//! 10). A tracked object freed by reference counting leaves a dead `Weak`
//! behind (keeping its allocation) until its generation is next collected
//! or generation 0 grows past `Heap::prune_at`; a freed generator or
//! instance removes its own entry at once when it is among generation 0's
//! last few (`generator_freed`, `instance_freed`).

use std::rc::{Rc, Weak};

use rustc_hash::{FxHashMap, FxHashSet};

use crate::dict::Dict;
use crate::frame::{Activation, Frame, ReturnTo};
use crate::tracking::{COLLECTING, DUE, Generation, HEAP};
pub use crate::tracking::{
    DEFAULT_THRESHOLDS, Mark, count, due, generator_freed, instance_freed, is_enabled, may_refer,
    set_enabled, set_threshold, threshold, track, track_suspended,
};
use crate::value::*;
use crate::vm::Vm;

/// The mark an object carries, if its type has one.
#[inline]
fn mark_of(v: &Value) -> Option<&Mark> {
    match v {
        Value::Generator(g) => Some(&g.gc_mark),
        Value::Instance(i) => Some(&i.gc_mark),
        Value::Native(n) => n.gc_mark(),
        _ => None,
    }
}

/// Whether two values are the same object (for values with a mark).
#[inline]
fn same_object(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Generator(x), Value::Generator(y)) => GenRc::ptr_eq(x, y),
        (Value::Instance(x), Value::Instance(y)) => Rc::ptr_eq(x, y),
        (Value::Native(x), Value::Native(y)) => NativeHandle::ptr_eq(x, y),
        _ => false,
    }
}

impl Generation {
    /// Moves the live objects out as candidates, each entered in `index`
    /// as it goes (one pass over the objects: on a large heap each visit
    /// is a cache miss). Dead entries are dropped, which frees what is left
    /// of them.
    fn drain_live(&mut self, out: &mut Vec<Value>, index: &mut FxHashMap<usize, u32>) {
        // The types without a `Mark` are found through the index.
        index.reserve(
            self.lists.len()
                + self.dicts.len()
                + self.sets.len()
                + self.functions.len()
                + self.classes.len(),
        );
        fn push(out: &mut Vec<Value>, index: &mut FxHashMap<usize, u32>, v: Value) {
            enter(index, &v, out.len() as u32);
            out.push(v);
        }
        fn live<T: ?Sized>(
            v: &mut Vec<Weak<T>>,
            out: &mut Vec<Value>,
            index: &mut FxHashMap<usize, u32>,
            wrap: fn(Rc<T>) -> Value,
        ) {
            for w in v.drain(..) {
                if let Some(r) = w.upgrade() {
                    push(out, index, wrap(r));
                }
            }
        }
        live(&mut self.lists, out, index, Value::List);
        live(&mut self.dicts, out, index, Value::Dict);
        live(&mut self.sets, out, index, Value::Set);
        live(&mut self.instances, out, index, Value::Instance);
        live(&mut self.functions, out, index, Value::Function);
        live(&mut self.classes, out, index, Value::Class);
        for w in self.generators.drain(..) {
            if let Some(g) = w.upgrade() {
                push(out, index, Value::Generator(g));
            }
        }
        for w in self.natives.drain(..) {
            if let Some(n) = w.upgrade() {
                push(out, index, Value::Native(n));
            }
        }
    }
}

/// Whether `gc.is_tracked(v)` is true: containers are, atoms are not.
pub fn is_tracked(v: &Value) -> bool {
    key(v).is_some()
}

/// The identity of a container value, or None for values that hold no
/// references (ints, strings, code, modules: modules and code are treated
/// as always alive, so a collection never walks a whole module).
#[inline]
fn key(v: &Value) -> Option<usize> {
    if !v.is_heap() {
        return None;
    }
    fn a<T: ?Sized>(r: &Rc<T>) -> usize {
        Rc::as_ptr(r) as *const u8 as usize
    }
    Some(match v {
        Value::List(r) => a(r),
        Value::Tuple(r) => {
            if r.is_empty() {
                return None;
            }
            RcSlice::as_ptr(r) as usize
        }
        Value::Dict(r) | Value::Set(r) | Value::FrozenSet(r) => a(r),
        Value::Instance(r) => a(r),
        Value::Function(r) => a(r),
        Value::Class(r) => a(r),
        Value::Generator(r) => GenRc::as_ptr(r) as usize,
        Value::Native(r) => r.addr(),
        Value::Cell(r) => a(r),
        Value::BoundMethod(r) => a(r),
        Value::Builtin(r) if r.receiver.is_some() => a(r),
        // Iterators over ranges and strings hold no references.
        Value::Iterator(r) => match r.try_borrow().as_deref() {
            Ok(IterState::Range { .. } | IterState::Str { .. } | IterState::Exhausted) => {
                return None;
            }
            _ => a(r),
        },
        Value::Property(r) => a(r),
        Value::StaticMethod(r) | Value::ClassMethod(r) => a(r),
        Value::Super(r) => a(r),
        Value::Slice(r) => a(r),
        _ => return None,
    })
}

/// Whether `v`'s object can hold no references the collector sees (a
/// native iterator is opaque to it): such an object cannot be on a cycle,
/// so it is never worth making a candidate.
#[inline]
fn leaf(v: &Value) -> bool {
    match v {
        Value::Iterator(r) => matches!(
            r.try_borrow().as_deref(),
            Ok(IterState::Native(_)
                | IterState::Range { .. }
                | IterState::Str { .. }
                | IterState::Exhausted)
        ),
        _ => false,
    }
}

/// Whether `v`'s object is registered in some generation: the registry
/// holds a `Weak` (for a generator, a `GenWeak`, which its `tracked` flag
/// records).
fn has_weak(v: &Value) -> bool {
    match v {
        Value::List(r) => Rc::weak_count(r) > 0,
        Value::Dict(r) | Value::Set(r) => Rc::weak_count(r) > 0,
        Value::Instance(r) => Rc::weak_count(r) > 0,
        Value::Function(r) => Rc::weak_count(r) > 0,
        Value::Class(r) => Rc::weak_count(r) > 0,
        Value::Generator(r) => r.tracked.get(),
        Value::Native(r) => NativeHandle::weak_count(r) > 0,
        _ => false,
    }
}

fn strong_count(v: &Value) -> usize {
    match v {
        Value::List(r) => Rc::strong_count(r),
        Value::Tuple(r) => RcSlice::strong_count(r),
        Value::Dict(r) | Value::Set(r) | Value::FrozenSet(r) => Rc::strong_count(r),
        Value::Instance(r) => Rc::strong_count(r),
        Value::Function(r) => Rc::strong_count(r),
        Value::Class(r) => Rc::strong_count(r),
        Value::Generator(r) => GenRc::strong_count(r),
        Value::Native(r) => NativeHandle::strong_count(r),
        Value::Cell(r) => Rc::strong_count(r),
        Value::BoundMethod(r) => Rc::strong_count(r),
        Value::Builtin(r) => Rc::strong_count(r),
        Value::Iterator(r) => Rc::strong_count(r),
        Value::Property(r) => Rc::strong_count(r),
        Value::StaticMethod(r) | Value::ClassMethod(r) => Rc::strong_count(r),
        Value::Super(r) => Rc::strong_count(r),
        Value::Slice(r) => Rc::strong_count(r),
        _ => usize::MAX,
    }
}

fn visit_ns<F: FnMut(&Value)>(ns: &Namespace, visit: &mut F) {
    for v in ns.values() {
        visit(v);
    }
}

fn visit_dict<F: FnMut(&Value)>(d: &Dict, visit: &mut F) {
    for e in d.iter() {
        visit(&e.key);
        visit(&e.value);
    }
}

fn visit_frame<F: FnMut(&Value)>(f: &Frame, visit: &mut F) {
    f.stack.iter().for_each(&mut *visit);
    for c in f.cells() {
        visit(&Value::Cell(c.clone()));
    }
    f.handled().iter().for_each(|(_, e)| visit(e));
}

/// A frame lent to a chain's root holds its generator.
fn visit_activation<F: FnMut(&Value)>(a: &Activation, visit: &mut F) {
    visit_frame(a, visit);
    match &a.ret {
        ReturnTo::Init(i) => visit(&Value::Instance(i.clone())),
        ReturnTo::Generator(g, _) => visit(&Value::Generator(g.clone())),
        _ => {}
    }
}

/// Calls `visit` on every reference `v`'s object holds. False when the
/// object is borrowed right now and could not be looked into (it is then
/// treated as alive).
fn traverse<F: FnMut(&Value)>(v: &Value, visit: &mut F) -> bool {
    match v {
        Value::List(r) => match r.try_borrow() {
            Ok(l) => l.iter().for_each(visit),
            Err(_) => return false,
        },
        Value::Tuple(t) => t.iter().for_each(visit),
        Value::Dict(r) | Value::Set(r) | Value::FrozenSet(r) => match r.try_borrow() {
            Ok(d) => visit_dict(&d, visit),
            Err(_) => return false,
        },
        Value::Instance(i) => {
            visit(&Value::Class(i.class.clone()));
            match i.dict.try_borrow() {
                Ok(d) => d.values().for_each(visit),
                Err(_) => return false,
            }
        }
        Value::Function(f) => {
            f.defaults.iter().for_each(&mut *visit);
            for (_, v) in &f.kwdefaults {
                visit(v);
            }
            for c in &f.closure {
                visit(&Value::Cell(c.clone()));
            }
            match f.dict.try_borrow() {
                Ok(d) => visit_ns(&d, visit),
                Err(_) => return false,
            }
        }
        Value::Class(c) => {
            for b in c.bases.iter().chain(c.mro.iter()).chain(c.base.iter()) {
                visit(&Value::Class(b.clone()));
            }
            match c.dict.try_borrow() {
                Some(d) => visit_ns(&d, visit),
                None => return false,
            }
        }
        Value::Generator(g) => g.peek_frame_raw(|f| {
            if let Some(f) = f {
                visit_frame(f, visit);
                for lent in f.chain() {
                    visit_activation(lent, visit);
                }
            }
        }),
        Value::Native(n) => return n.gc_traverse(visit),
        Value::Cell(c) => match c.try_borrow() {
            Ok(v) => visit(&v),
            Err(_) => return false,
        },
        Value::BoundMethod(m) => {
            visit(&m.receiver);
            visit(&m.func);
        }
        Value::Builtin(b) => {
            if let Some(r) = &b.receiver {
                visit(r);
            }
        }
        Value::Iterator(it) => match it.try_borrow() {
            Ok(s) => traverse_iter(&s, visit),
            Err(_) => return false,
        },
        Value::Property(p) => {
            visit(&p.fget);
            visit(&p.fset);
            visit(&p.fdel);
        }
        Value::StaticMethod(v) | Value::ClassMethod(v) => visit(v),
        Value::Super(s) => {
            visit(&Value::Class(s.class.clone()));
            visit(&s.obj);
        }
        Value::Slice(s) => {
            visit(&s.start);
            visit(&s.stop);
            visit(&s.step);
        }
        _ => {}
    }
    true
}

fn traverse_iter<F: FnMut(&Value)>(s: &IterState, visit: &mut F) {
    match s {
        IterState::Seq { seq, .. } | IterState::Reversed { seq, .. } => visit(seq),
        IterState::DictIter { dict, .. } => visit(&Value::Dict(dict.clone())),
        IterState::Enumerate { it, count } => {
            visit(it);
            visit(count);
        }
        IterState::Zip { its } => its.iter().for_each(visit),
        IterState::Map { func, its } => {
            visit(func);
            its.iter().for_each(visit);
        }
        IterState::Filter { func, it } => {
            visit(func);
            visit(it);
        }
        IterState::SeqProto { obj, .. } => visit(obj),
        IterState::Callable { func, sentinel } => {
            visit(func);
            visit(sentinel);
        }
        IterState::Str { .. } | IterState::Range { .. } | IterState::Native(_) => {}
        IterState::Exhausted => {}
    }
}

/// Breaks the references `v`'s object holds, moving them into `garbage`
/// (dropped once every object is cleared).
fn clear(v: &Value, garbage: &mut Vec<Box<dyn std::any::Any>>) {
    match v {
        Value::List(r) => {
            if let Ok(mut l) = r.try_borrow_mut() {
                garbage.push(Box::new(std::mem::take(&mut *l)));
            }
        }
        Value::Dict(r) | Value::Set(r) | Value::FrozenSet(r) => {
            if let Ok(mut d) = r.try_borrow_mut() {
                garbage.push(Box::new(d.take_entries()));
            }
        }
        Value::Instance(i) => {
            if let Ok(mut d) = i.dict.try_borrow_mut() {
                garbage.push(Box::new(std::mem::take(&mut *d)));
            }
        }
        Value::Function(f) => {
            if let Ok(mut d) = f.dict.try_borrow_mut() {
                garbage.push(Box::new(std::mem::take(&mut *d)));
            }
        }
        Value::Class(c) => {
            if let Some(mut d) = c.dict.try_borrow_mut() {
                garbage.push(Box::new(std::mem::take(&mut *d)));
            }
        }
        Value::Generator(g) => {
            garbage.push(Box::new(g.take_frame()));
        }
        Value::Native(n) => {
            let mut out = Vec::new();
            n.gc_clear(&mut out);
            garbage.push(Box::new(out));
        }
        Value::Cell(c) => {
            if let Ok(mut c) = c.try_borrow_mut() {
                garbage.push(Box::new(std::mem::take(&mut *c)));
            }
        }
        Value::Iterator(it) => {
            if let Ok(mut s) = it.try_borrow_mut() {
                garbage.push(Box::new(std::mem::replace(&mut *s, IterState::Exhausted)));
            }
        }
        _ => {}
    }
}

/// One run of the analysis over a candidate set.
struct Analysis {
    cands: Vec<Value>,
    /// Candidate positions of the objects without a `Mark`, by address.
    index: FxHashMap<usize, u32>,
    /// The references among candidates the last `alive` found: candidate
    /// i's are `edges[start[i]..start[i + 1]]`.
    edges: Vec<u32>,
    start: Vec<u32>,
}

/// The position of `v` among the candidates (`cands`, then the ones just
/// found, which will follow them), if it is one.
#[inline]
fn position(
    cands: &[Value],
    found: &[Value],
    index: &FxHashMap<usize, u32>,
    v: &Value,
) -> Option<u32> {
    if let Some(m) = mark_of(v) {
        let i = m.0.get();
        let c = match (i as usize).checked_sub(cands.len()) {
            None => &cands[i as usize],
            Some(j) => found.get(j)?,
        };
        return same_object(c, v).then_some(i);
    }
    index.get(&key(v)?).copied()
}

/// Records that `v` is candidate `i`.
#[inline]
fn enter(index: &mut FxHashMap<usize, u32>, v: &Value, i: u32) {
    if let Some(m) = mark_of(v) {
        m.0.set(i);
    } else if let Some(k) = key(v) {
        index.insert(k, i);
    }
}

impl Analysis {
    /// Marks which candidates are alive: referenced from outside the
    /// candidates, or reachable from one that is. With `discover`, first
    /// adds every untracked container reachable from the candidates
    /// (objects tracked in a generation not being collected count as
    /// outside).
    fn alive(&mut self, discover: bool) -> Vec<bool> {
        // One pass over the candidates adds each one's strong count (less
        // the candidate list's own reference) and traverses it: subtracting
        // its references to other candidates, recording them as edges
        // (candidates are visited in order, so candidate i's edges are
        // `edges[start[i]..start[i + 1]]`), and finding new candidates. A
        // count is read between traversals, when no temporary clone made by
        // `traverse` is alive.
        //
        // Counts are 32-bit (the scratch is per candidate, and a full
        // collection of a large heap has millions): a candidate whose
        // count does not fit, or that could not be looked into, is pinned
        // alive by adding `PINNED`, which its fewer than 2^30 incoming
        // references can never bring back to 0.
        const PINNED: i32 = 1 << 30;
        let mut refs: Vec<i32> = vec![0; self.cands.len()];
        let mut start: Vec<u32> = Vec::with_capacity(self.cands.len() + 1);
        let mut edges: Vec<u32> = Vec::new();
        let mut found = Vec::new();
        let mut i = 0;
        while i < self.cands.len() {
            let base = self.cands.len();
            let index = &mut self.index;
            start.push(edges.len() as u32);
            let cands = &self.cands;
            refs[i] += match i32::try_from(strong_count(&cands[i])) {
                Ok(c) if c < PINNED => c - 1,
                _ => PINNED,
            };
            let ok = traverse(&cands[i], &mut |c| {
                if !may_refer(c) {
                    return;
                }
                if let Some(j) = position(cands, &found, index, c) {
                    refs[j as usize] -= 1;
                    edges.push(j);
                } else if discover && !has_weak(c) && !leaf(c) && key(c).is_some() {
                    let j = (base + found.len()) as u32;
                    enter(index, c, j);
                    found.push(c.clone());
                    refs.push(-1);
                    edges.push(j);
                }
            });
            if !ok {
                refs[i] = refs[i].saturating_add(PINNED);
            }
            if !found.is_empty() {
                self.cands.append(&mut found);
            }
            i += 1;
        }
        start.push(edges.len() as u32);
        let n = self.cands.len();
        let mut alive = vec![false; n];
        let mut stack: Vec<u32> = (0..n as u32).filter(|&i| refs[i as usize] != 0).collect();
        for &i in &stack {
            alive[i as usize] = true;
        }
        while let Some(i) = stack.pop() {
            let i = i as usize;
            for &j in &edges[start[i] as usize..start[i + 1] as usize] {
                if !alive[j as usize] {
                    alive[j as usize] = true;
                    stack.push(j);
                }
            }
        }
        self.edges = edges;
        self.start = start;
        alive
    }

    /// How many of the garbage objects CPython's `gc.collect()` counts.
    /// CPython finalises every unfinished garbage generator first, which
    /// clears its frame; what only frames held is then freed by reference
    /// counting and not counted. So: drop the references generators' frames
    /// hold, free (in a cascade) every garbage object nothing else in the
    /// garbage refers to, and count the rest.
    fn cpython_count(&self, alive: &[bool]) -> usize {
        let n = self.cands.len();
        let holds_frame = |i: usize| {
            matches!(&self.cands[i], Value::Generator(g)
                if matches!(g.state.get(), GenState::Created | GenState::Suspended))
        };
        let mut incoming = vec![0u32; n];
        for i in (0..n).filter(|&i| !alive[i] && !holds_frame(i)) {
            for &j in &self.edges[self.start[i] as usize..self.start[i + 1] as usize] {
                incoming[j as usize] += 1;
            }
        }
        let mut freed = vec![false; n];
        let mut stack: Vec<usize> = (0..n).filter(|&i| !alive[i] && incoming[i] == 0).collect();
        while let Some(i) = stack.pop() {
            if freed[i] {
                continue;
            }
            freed[i] = true;
            if holds_frame(i) {
                continue;
            }
            for &j in &self.edges[self.start[i] as usize..self.start[i + 1] as usize] {
                let j = j as usize;
                incoming[j] -= 1;
                if incoming[j] == 0 && !alive[j] {
                    stack.push(j);
                }
            }
        }
        (0..n).filter(|&i| !alive[i] && !freed[i]).count()
    }
}

impl Vm {
    /// The automatic collection at a poll point: generation 0, or an older
    /// one when its turn has come. Finalisers run later, from the queue.
    pub(crate) fn gc_auto(&mut self) {
        DUE.with(|d| d.set(false));
        let generation = HEAP.with(|h| {
            let mut h = h.borrow_mut();
            if !h.enabled || h.threshold[0] <= 0 {
                return None;
            }
            // CPython counts allocations minus deallocations: objects
            // already freed by reference counting do not bring a
            // collection closer.
            h.gens[0].prune();
            h.count[0] = h.gens[0].len();
            if h.count[0] as i64 <= h.threshold[0] {
                return None;
            }
            let mut g = 0;
            if h.count[1] as i64 >= h.threshold[1] {
                g = 1;
                if h.count[2] as i64 >= h.threshold[2]
                    && h.long_lived_pending > h.long_lived_total / 4
                {
                    g = 2;
                }
            }
            Some(g)
        });
        if let Some(g) = generation {
            collect(g);
        }
    }

    /// `gc.collect(generation)`: collects, runs the finalisers of the
    /// garbage generators, and returns the number of unreachable objects.
    pub fn gc_collect(&mut self, generation: usize) -> PyResult<usize> {
        let n = collect(generation);
        self.run_finalizers()?;
        Ok(n)
    }
}

/// Collects generations `0..=generation`; returns how many unreachable
/// objects were found.
fn collect(generation: usize) -> usize {
    if COLLECTING.with(|c| c.replace(true)) {
        return 0;
    }
    let generation = generation.min(2);
    let mut cands = Vec::new();
    let mut index = FxHashMap::default();
    HEAP.with(|h| {
        let mut h = h.borrow_mut();
        // Oldest first: CPython merges the younger generations onto the
        // end of the one collected, and finalises in that order.
        for g in (0..=generation).rev() {
            h.gens[g].drain_live(&mut cands, &mut index);
        }
    });
    let tracked = cands.len();
    let mut a = Analysis {
        index,
        cands,
        edges: Vec::new(),
        start: Vec::new(),
    };
    let mut alive = a.alive(true);
    let mut found = alive.iter().filter(|&&x| !x).count();
    if found > 0 {
        // PEP 442: garbage generators with cleanup to run are finalised
        // (their frame queued as when such a generator is dropped); what
        // their frames hold is alive again until they have run.
        //
        // In CPython's order: garbage generators are finalised in the order
        // they were tracked, and one that a garbage generator delegates to
        // (`yield from`, `await`) is closed by its delegator's close, through
        // the delegation, so its `finally` runs first.
        let queue = crate::frame::finalizer_queue();
        let mut delegates: FxHashSet<usize> = FxHashSet::default();
        let delegate_of = |f: Option<&Frame>| match f?.yield_from_target()? {
            Value::Generator(d) => Some(GenRc::as_ptr(d) as usize),
            _ => None,
        };
        let mut finalising = false;
        for (i, v) in a.cands.iter().enumerate() {
            let Value::Generator(g) = v else {
                continue;
            };
            if alive[i] {
                continue;
            }
            if delegates.contains(&(GenRc::as_ptr(g) as usize)) {
                if let Some(d) = g.peek_frame(delegate_of) {
                    delegates.insert(d);
                }
                continue;
            }
            if crate::generator::queue_finalizer(g) {
                finalising = true;
                if let Some(d) = queue.borrow().last().and_then(|f| delegate_of(Some(f))) {
                    delegates.insert(d);
                }
            }
        }
        if finalising {
            alive = a.alive(false);
        }
        found = a.cpython_count(&alive);
        let mut garbage: Vec<Box<dyn std::any::Any>> = Vec::new();
        for (i, v) in a.cands.iter().enumerate() {
            if !alive[i] {
                clear(v, &mut garbage);
            }
        }
        drop(garbage);
    }
    // Survivors move one generation up, in the same pass that lets go of
    // every candidate (the last reference to the garbage).
    let next = (generation + 1).min(2);
    // Taken out while the garbage is dropped (which may look at the
    // heap); only generation 0 gains entries meanwhile. Reusing its
    // vectors keeps a full collection from holding two registries.
    let mut survivors = HEAP.with(|h| std::mem::take(&mut h.borrow_mut().gens[next]));
    let mut promoted = 0;
    let mut cands = std::mem::take(&mut a.cands);
    drop(a);
    for (i, v) in cands.drain(..).enumerate() {
        if !alive[i] {
            continue;
        }
        if i < tracked {
            if survivors.add(&v) {
                promoted += 1;
            }
        } else if let Value::Generator(g) = &v
            && !g.tracked.get()
        {
            // A generator found through a tracked object (a task's
            // coroutine that has not started yet) is registered now: else
            // it would be rediscovered by every young collection, and
            // examined again in generation 0 once it first suspends.
            survivors.generators.push(GenRc::downgrade(g));
            promoted += 1;
        }
    }
    drop(cands);
    HEAP.with(|h| {
        let mut h = h.borrow_mut();
        survivors.append(&mut h.gens[next]);
        h.gens[next] = survivors;
        for g in 0..=generation {
            h.count[g] = 0;
        }
        if generation < 2 {
            h.count[generation + 1] += 1;
        }
        if generation == 2 {
            h.long_lived_total = promoted;
            h.long_lived_pending = 0;
        } else if next == 2 {
            h.long_lived_pending += promoted;
        }
        // Registrations made while collecting count towards the next run.
        h.count[0] = h.gens[0].len();
    });
    COLLECTING.with(|c| c.set(false));
    if tracked >= TRIM_AFTER {
        release_scratch();
    }
    found
}

/// Candidates past which a collection gives its scratch memory back.
const TRIM_AFTER: usize = 1 << 17;

/// A collection's scratch (the candidate list and its per-candidate
/// counts and edges: some 40 bytes a candidate) is freed when it ends,
/// but glibc keeps freed blocks of that size inside its heap (its mmap and
/// trim thresholds rise to the largest block freed), so a program's
/// resident memory would stay raised by the scratch of its largest
/// collection. `malloc_trim` hands the free pages back.
fn release_scratch() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases pages of free blocks.
    unsafe {
        libc::malloc_trim(0);
    }
}
