//! The `itertools` module. Every iterator is lazy (`IterState::Native`)
//! and pulls from its sources with `vm.next`, so generators work as inputs.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

use covm_vm::Vm;
use covm_vm::value::*;

use crate::args::*;
use crate::modules::{add_values, func, native_class, set};

fn boxed(vm: &Vm, it: impl NativeIter + 'static) -> Value {
    vm.new_iter(IterState::Native(Box::new(it)))
}

fn kw_only(
    vm: &Vm,
    name: &str,
    kw: &KwArgs,
    allowed: &[&str],
    key: &str,
) -> PyResult<Option<Value>> {
    kwarg(vm, name, kw, allowed, key)
}

// ---- count ---------------------------------------------------------------------

struct Count {
    cur: Value,
    step: Value,
}

impl NativeIter for Count {
    fn type_name(&self) -> &'static str {
        "itertools.count"
    }
    fn next(&mut self, vm: &mut Vm) -> PyResult<Option<Value>> {
        let v = self.cur.clone();
        self.cur = add_values(vm, &v, &self.step)?;
        Ok(Some(v))
    }
}

fn is_number(v: &Value) -> bool {
    matches!(
        v,
        Value::Int(_) | Value::BigInt(_) | Value::Float(_) | Value::Bool(_)
    )
}

fn count(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let allowed = ["start", "step"];
    let start = match args.first() {
        Some(v) => v.clone(),
        None => kw_only(vm, "count", kw, &allowed, "start")?.unwrap_or(Value::Int(0)),
    };
    let step = match args.get(1) {
        Some(v) => v.clone(),
        None => kw_only(vm, "count", kw, &allowed, "step")?.unwrap_or(Value::Int(1)),
    };
    if args.len() > 2 {
        return Err(vm.type_error(&format!(
            "count expected at most 2 arguments, got {}",
            args.len()
        )));
    }
    let ok = |v: &Value| is_number(v) || matches!(v, Value::Instance(_));
    if !ok(&start) || !ok(&step) {
        return Err(vm.type_error("a number is required"));
    }
    Ok(boxed(vm, Count { cur: start, step }))
}

// ---- islice --------------------------------------------------------------------

struct Islice {
    it: Value,
    next: usize,
    stop: Option<usize>,
    step: usize,
    cnt: usize,
}

impl NativeIter for Islice {
    fn type_name(&self) -> &'static str {
        "itertools.islice"
    }
    fn next(&mut self, vm: &mut Vm) -> PyResult<Option<Value>> {
        if let Some(stop) = self.stop
            && self.cnt >= stop
        {
            return Ok(None);
        }
        while self.cnt < self.next {
            if vm.next(&self.it)?.is_none() {
                return Ok(None);
            }
            self.cnt += 1;
        }
        if let Some(stop) = self.stop
            && self.cnt >= stop
        {
            return Ok(None);
        }
        let Some(item) = vm.next(&self.it)? else {
            return Ok(None);
        };
        self.cnt += 1;
        let old = self.next;
        self.next = self.next.saturating_add(self.step);
        if let Some(stop) = self.stop
            && (self.next < old || self.next > stop)
        {
            self.next = stop;
        }
        Ok(Some(item))
    }
}

fn islice_index(vm: &Vm, v: &Value, what: &str) -> PyResult<Option<usize>> {
    match v {
        Value::None => Ok(None),
        Value::Int(i) if *i >= 0 => Ok(Some(*i as usize)),
        Value::Bool(b) => Ok(Some(*b as usize)),
        _ => Err(vm.value_error(&format!(
            "{what} for islice() must be None or an integer: 0 <= x <= sys.maxsize."
        ))),
    }
}

fn islice(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    no_kwargs(vm, "islice", kw)?;
    if args.len() < 2 || args.len() > 4 {
        return Err(vm.type_error(&format!(
            "islice expected at {} {} arguments, got {}",
            if args.len() < 2 { "least" } else { "most" },
            if args.len() < 2 { 2 } else { 4 },
            args.len()
        )));
    }
    let it = vm.get_iter(&args[0])?;
    let (start, stop, step) = if args.len() == 2 {
        (0, islice_index(vm, &args[1], "Stop argument")?, 1)
    } else {
        let start = islice_index(vm, &args[1], "Indices")?.unwrap_or(0);
        let stop = islice_index(vm, &args[2], "Stop argument")?;
        let step = match args.get(3) {
            None | Some(Value::None) => 1,
            Some(Value::Int(i)) if *i > 0 => *i as usize,
            Some(Value::Bool(true)) => 1,
            Some(_) => {
                return Err(vm.value_error("Step for islice() must be a positive integer or None."));
            }
        };
        (start, stop, step)
    };
    Ok(boxed(
        vm,
        Islice {
            it,
            next: start,
            stop,
            step,
            cnt: 0,
        },
    ))
}

// ---- chain ---------------------------------------------------------------------

struct Chain {
    /// The iterables still to go (an iterator over them).
    source: Value,
    current: Option<Value>,
}

impl NativeIter for Chain {
    fn type_name(&self) -> &'static str {
        "itertools.chain"
    }
    fn next(&mut self, vm: &mut Vm) -> PyResult<Option<Value>> {
        loop {
            if let Some(cur) = &self.current {
                let cur = cur.clone();
                if let Some(v) = vm.next(&cur)? {
                    return Ok(Some(v));
                }
                self.current = None;
            }
            match vm.next(&self.source)? {
                Some(iterable) => self.current = Some(vm.get_iter(&iterable)?),
                None => return Ok(None),
            }
        }
    }
}

fn chain_new(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    no_kwargs(vm, "chain", kw)?;
    let source = vm.get_iter(&Value::tuple(args[1..].to_vec()))?;
    Ok(boxed(
        vm,
        Chain {
            source,
            current: None,
        },
    ))
}

fn chain_from_iterable(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    no_kwargs(vm, "from_iterable", kw)?;
    // Called as a class method: args[0] is the class.
    let rest = match args.first() {
        Some(Value::Class(_)) => &args[1..],
        _ => args,
    };
    if rest.len() != 1 {
        return Err(vm.type_error(&format!(
            "chain.from_iterable() takes exactly one argument ({} given)",
            rest.len()
        )));
    }
    let source = vm.get_iter(&rest[0])?;
    Ok(boxed(
        vm,
        Chain {
            source,
            current: None,
        },
    ))
}

fn setup_chain(vm: &mut Vm, cls: &Rc<Class>) {
    let f = vm.native("from_iterable", chain_from_iterable);
    cls.dict
        .borrow_mut()
        .insert(Rc::from("from_iterable"), Value::ClassMethod(Rc::new(f)));
    vm.set_native_new(cls, chain_new);
}

// ---- cycle, repeat ---------------------------------------------------------------

struct Cycle {
    it: Option<Value>,
    saved: Vec<Value>,
    index: usize,
}

impl NativeIter for Cycle {
    fn type_name(&self) -> &'static str {
        "itertools.cycle"
    }
    fn next(&mut self, vm: &mut Vm) -> PyResult<Option<Value>> {
        if let Some(it) = &self.it {
            let it = it.clone();
            if let Some(v) = vm.next(&it)? {
                self.saved.push(v.clone());
                return Ok(Some(v));
            }
            self.it = None;
        }
        if self.saved.is_empty() {
            return Ok(None);
        }
        let v = self.saved[self.index % self.saved.len()].clone();
        self.index = (self.index + 1) % self.saved.len();
        Ok(Some(v))
    }
}

fn cycle(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    no_kwargs(vm, "cycle", kw)?;
    check_count(vm, "cycle", args, 1, 1)?;
    let it = vm.get_iter(&args[0])?;
    Ok(boxed(
        vm,
        Cycle {
            it: Some(it),
            saved: Vec::new(),
            index: 0,
        },
    ))
}

struct Repeat {
    obj: Value,
    left: Option<i64>,
}

impl NativeIter for Repeat {
    fn type_name(&self) -> &'static str {
        "itertools.repeat"
    }
    fn next(&mut self, _vm: &mut Vm) -> PyResult<Option<Value>> {
        match &mut self.left {
            None => Ok(Some(self.obj.clone())),
            Some(n) if *n > 0 => {
                *n -= 1;
                Ok(Some(self.obj.clone()))
            }
            Some(_) => Ok(None),
        }
    }
}

fn repeat(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let allowed = ["object", "times"];
    let obj = match args.first() {
        Some(v) => v.clone(),
        None => kw_only(vm, "repeat", kw, &allowed, "object")?
            .ok_or_else(|| vm.type_error("repeat() missing required argument 'object' (pos 1)"))?,
    };
    let times = match args.get(1) {
        Some(v) => Some(v.clone()),
        None => kw_only(vm, "repeat", kw, &allowed, "times")?,
    };
    let left = match times {
        None => None,
        Some(v) => Some(int_arg(vm, &v)?.max(0)),
    };
    Ok(boxed(vm, Repeat { obj, left }))
}

// ---- accumulate ---------------------------------------------------------------------

struct Accumulate {
    it: Value,
    func: Option<Value>,
    total: Option<Value>,
    initial: Option<Value>,
}

impl NativeIter for Accumulate {
    fn type_name(&self) -> &'static str {
        "itertools.accumulate"
    }
    fn next(&mut self, vm: &mut Vm) -> PyResult<Option<Value>> {
        if let Some(init) = self.initial.take() {
            self.total = Some(init.clone());
            return Ok(Some(init));
        }
        let Some(x) = vm.next(&self.it)? else {
            return Ok(None);
        };
        let t = match self.total.take() {
            None => x,
            Some(acc) => match &self.func {
                Some(f) => vm.call(f, vec![acc, x])?,
                None => add_values(vm, &acc, &x)?,
            },
        };
        self.total = Some(t.clone());
        Ok(Some(t))
    }
}

fn accumulate(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let allowed = ["iterable", "func", "initial"];
    let iterable = match args.first() {
        Some(v) => v.clone(),
        None => kw_only(vm, "accumulate", kw, &allowed, "iterable")?.ok_or_else(|| {
            vm.type_error("accumulate() missing required argument 'iterable' (pos 1)")
        })?,
    };
    let func = match args.get(1) {
        Some(v) => Some(v.clone()),
        None => kw_only(vm, "accumulate", kw, &allowed, "func")?,
    }
    .filter(|f| !f.is_none());
    let initial = kw_only(vm, "accumulate", kw, &allowed, "initial")?.filter(|v| !v.is_none());
    let it = vm.get_iter(&iterable)?;
    Ok(boxed(
        vm,
        Accumulate {
            it,
            func,
            total: None,
            initial,
        },
    ))
}

// ---- zip_longest -------------------------------------------------------------------------

struct ZipLongest {
    its: Vec<Option<Value>>,
    fill: Value,
    active: usize,
}

impl NativeIter for ZipLongest {
    fn type_name(&self) -> &'static str {
        "itertools.zip_longest"
    }
    fn next(&mut self, vm: &mut Vm) -> PyResult<Option<Value>> {
        if self.its.is_empty() || self.active == 0 {
            return Ok(None);
        }
        let mut out = Vec::with_capacity(self.its.len());
        for i in 0..self.its.len() {
            let v = match self.its[i].clone() {
                None => self.fill.clone(),
                Some(it) => match vm.next(&it)? {
                    Some(v) => v,
                    None => {
                        self.its[i] = None;
                        self.active -= 1;
                        if self.active == 0 {
                            return Ok(None);
                        }
                        self.fill.clone()
                    }
                },
            };
            out.push(v);
        }
        Ok(Some(Value::tuple(out)))
    }
}

fn zip_longest(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let fill = kw_only(vm, "zip_longest", kw, &["fillvalue"], "fillvalue")?.unwrap_or(Value::None);
    let mut its = Vec::with_capacity(args.len());
    for a in args {
        its.push(Some(vm.get_iter(a)?));
    }
    let active = its.len();
    Ok(boxed(vm, ZipLongest { its, fill, active }))
}

// ---- product, permutations, combinations ---------------------------------------------------

/// Yields tuples picked from `pool` by an index vector that `advance`
/// steps; `first` is whether the current indices are still unread.
struct Combinatoric {
    name: &'static str,
    pool: Vec<Value>,
    /// For product: the pools per position.
    pools: Vec<Vec<Value>>,
    indices: Vec<usize>,
    cycles: Vec<usize>,
    r: usize,
    first: bool,
    done: bool,
    kind: Kind,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Product,
    Permutations,
    Combinations,
    CombinationsWithReplacement,
}

impl Combinatoric {
    fn current(&self) -> Value {
        match self.kind {
            Kind::Product => Value::tuple(
                self.indices
                    .iter()
                    .zip(&self.pools)
                    .map(|(&i, p)| p[i].clone())
                    .collect(),
            ),
            Kind::Permutations => Value::tuple(
                self.indices[..self.r]
                    .iter()
                    .map(|&i| self.pool[i].clone())
                    .collect(),
            ),
            _ => Value::tuple(self.indices.iter().map(|&i| self.pool[i].clone()).collect()),
        }
    }

    /// Steps to the next index vector; false when exhausted.
    fn advance(&mut self) -> bool {
        let n = self.pool.len();
        let r = self.r;
        match self.kind {
            Kind::Product => {
                for i in (0..self.indices.len()).rev() {
                    self.indices[i] += 1;
                    if self.indices[i] < self.pools[i].len() {
                        return true;
                    }
                    self.indices[i] = 0;
                }
                false
            }
            Kind::Combinations => {
                let mut i = r;
                loop {
                    if i == 0 {
                        return false;
                    }
                    i -= 1;
                    if self.indices[i] != i + n - r {
                        break;
                    }
                }
                self.indices[i] += 1;
                for j in i + 1..r {
                    self.indices[j] = self.indices[j - 1] + 1;
                }
                true
            }
            Kind::CombinationsWithReplacement => {
                let mut i = r;
                loop {
                    if i == 0 {
                        return false;
                    }
                    i -= 1;
                    if self.indices[i] != n - 1 {
                        break;
                    }
                }
                let v = self.indices[i] + 1;
                for j in i..r {
                    self.indices[j] = v;
                }
                true
            }
            Kind::Permutations => {
                let mut i = r;
                while i > 0 {
                    i -= 1;
                    self.cycles[i] -= 1;
                    if self.cycles[i] == 0 {
                        let x = self.indices.remove(i);
                        self.indices.push(x);
                        self.cycles[i] = n - i;
                    } else {
                        let j = self.cycles[i];
                        let len = self.indices.len();
                        self.indices.swap(i, len - j);
                        return true;
                    }
                }
                false
            }
        }
    }
}

impl NativeIter for Combinatoric {
    fn type_name(&self) -> &'static str {
        self.name
    }
    fn next(&mut self, _vm: &mut Vm) -> PyResult<Option<Value>> {
        if self.done {
            return Ok(None);
        }
        if self.first {
            self.first = false;
            return Ok(Some(self.current()));
        }
        if !self.advance() {
            self.done = true;
            return Ok(None);
        }
        Ok(Some(self.current()))
    }
}

fn r_arg(vm: &Vm, v: Option<&Value>, default: usize) -> PyResult<usize> {
    match v {
        None | Some(Value::None) => Ok(default),
        Some(v) => {
            let r = int_arg(vm, v)?;
            if r < 0 {
                return Err(vm.value_error("r must be non-negative"));
            }
            // The index vectors hold r entries.
            vm.check_alloc::<usize>(r as usize)?;
            Ok(r as usize)
        }
    }
}

fn combinatoric(name: &'static str, kind: Kind, pool: Vec<Value>, r: usize) -> Combinatoric {
    let n = pool.len();
    let done = match kind {
        Kind::CombinationsWithReplacement => n == 0 && r > 0,
        _ => r > n,
    };
    let indices: Vec<usize> = match kind {
        Kind::Permutations => (0..n).collect(),
        Kind::Combinations => (0..r).collect(),
        _ => vec![0; r],
    };
    let cycles = if kind == Kind::Permutations && !done {
        (0..r).map(|i| n - i).collect()
    } else {
        Vec::new()
    };
    Combinatoric {
        name,
        pool,
        pools: Vec::new(),
        indices,
        cycles,
        r,
        first: true,
        done,
        kind,
    }
}

fn product(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let repeat = match kw_only(vm, "product", kw, &["repeat"], "repeat")? {
        Some(v) => int_arg(vm, &v)?,
        None => 1,
    };
    if repeat < 0 {
        return Err(vm.value_error("repeat argument cannot be negative"));
    }
    let mut base = Vec::with_capacity(args.len());
    for a in args {
        base.push(vm.collect(a)?);
    }
    let r = (repeat as usize).saturating_mul(base.len());
    vm.check_alloc::<Vec<Value>>(r)?;
    vm.check_alloc::<usize>(r)?;
    let mut pools = Vec::new();
    for _ in 0..repeat {
        pools.extend(base.iter().cloned());
    }
    let done = pools.iter().any(|p| p.is_empty());
    let r = pools.len();
    Ok(boxed(
        vm,
        Combinatoric {
            name: "itertools.product",
            pool: Vec::new(),
            pools,
            indices: vec![0; r],
            cycles: Vec::new(),
            r,
            first: true,
            done,
            kind: Kind::Product,
        },
    ))
}

fn permutations(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let allowed = ["iterable", "r"];
    let src = match args.first() {
        Some(v) => v.clone(),
        None => kw_only(vm, "permutations", kw, &allowed, "iterable")?.ok_or_else(|| {
            vm.type_error("permutations() missing required argument 'iterable' (pos 1)")
        })?,
    };
    let pool = vm.collect(&src)?;
    let rv = match args.get(1) {
        Some(v) => Some(v.clone()),
        None => kw_only(vm, "permutations", kw, &allowed, "r")?,
    };
    let r = r_arg(vm, rv.as_ref(), pool.len())?;
    Ok(boxed(
        vm,
        combinatoric("itertools.permutations", Kind::Permutations, pool, r),
    ))
}

fn combinations_impl(
    vm: &mut Vm,
    name: &'static str,
    args: &[Value],
    kw: &KwArgs,
    kind: Kind,
) -> PyResult<Value> {
    let short = name.trim_start_matches("itertools.");
    let allowed = ["iterable", "r"];
    let src = match args.first() {
        Some(v) => v.clone(),
        None => kw_only(vm, short, kw, &allowed, "iterable")?.ok_or_else(|| {
            vm.type_error(&format!(
                "{short}() missing required argument 'iterable' (pos 1)"
            ))
        })?,
    };
    let rv = match args.get(1) {
        Some(v) => v.clone(),
        None => kw_only(vm, short, kw, &allowed, "r")?.ok_or_else(|| {
            vm.type_error(&format!("{short}() missing required argument 'r' (pos 2)"))
        })?,
    };
    let pool = vm.collect(&src)?;
    let r = r_arg(vm, Some(&rv), 0)?;
    Ok(boxed(vm, combinatoric(name, kind, pool, r)))
}

fn combinations(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    combinations_impl(vm, "itertools.combinations", args, kw, Kind::Combinations)
}

fn combinations_with_replacement(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    combinations_impl(
        vm,
        "itertools.combinations_with_replacement",
        args,
        kw,
        Kind::CombinationsWithReplacement,
    )
}

// ---- predicates: takewhile, dropwhile, filterfalse, compress ----------------------------

struct TakeWhile {
    pred: Value,
    it: Value,
    stopped: bool,
}

impl NativeIter for TakeWhile {
    fn type_name(&self) -> &'static str {
        "itertools.takewhile"
    }
    fn next(&mut self, vm: &mut Vm) -> PyResult<Option<Value>> {
        if self.stopped {
            return Ok(None);
        }
        let Some(x) = vm.next(&self.it)? else {
            return Ok(None);
        };
        let r = vm.call(&self.pred, vec![x.clone()])?;
        if vm.truthy(&r)? {
            Ok(Some(x))
        } else {
            self.stopped = true;
            Ok(None)
        }
    }
}

struct DropWhile {
    pred: Value,
    it: Value,
    dropping: bool,
}

impl NativeIter for DropWhile {
    fn type_name(&self) -> &'static str {
        "itertools.dropwhile"
    }
    fn next(&mut self, vm: &mut Vm) -> PyResult<Option<Value>> {
        loop {
            let Some(x) = vm.next(&self.it)? else {
                return Ok(None);
            };
            if !self.dropping {
                return Ok(Some(x));
            }
            let r = vm.call(&self.pred, vec![x.clone()])?;
            if !vm.truthy(&r)? {
                self.dropping = false;
                return Ok(Some(x));
            }
        }
    }
}

struct FilterFalse {
    pred: Value,
    it: Value,
}

impl NativeIter for FilterFalse {
    fn type_name(&self) -> &'static str {
        "itertools.filterfalse"
    }
    fn next(&mut self, vm: &mut Vm) -> PyResult<Option<Value>> {
        loop {
            let Some(x) = vm.next(&self.it)? else {
                return Ok(None);
            };
            let keep = if self.pred.is_none() {
                !vm.truthy(&x)?
            } else {
                let r = vm.call(&self.pred, vec![x.clone()])?;
                !vm.truthy(&r)?
            };
            if keep {
                return Ok(Some(x));
            }
        }
    }
}

struct Compress {
    data: Value,
    sel: Value,
}

impl NativeIter for Compress {
    fn type_name(&self) -> &'static str {
        "itertools.compress"
    }
    fn next(&mut self, vm: &mut Vm) -> PyResult<Option<Value>> {
        loop {
            let Some(x) = vm.next(&self.data)? else {
                return Ok(None);
            };
            let Some(s) = vm.next(&self.sel)? else {
                return Ok(None);
            };
            if vm.truthy(&s)? {
                return Ok(Some(x));
            }
        }
    }
}

fn pred_it(vm: &mut Vm, name: &str, args: &[Value], kw: &KwArgs) -> PyResult<(Value, Value)> {
    no_kwargs(vm, name, kw)?;
    if args.len() != 2 {
        return Err(vm.type_error(&format!("{name} expected 2 arguments, got {}", args.len())));
    }
    let it = vm.get_iter(&args[1])?;
    Ok((args[0].clone(), it))
}

fn takewhile(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let (pred, it) = pred_it(vm, "takewhile", args, kw)?;
    Ok(boxed(
        vm,
        TakeWhile {
            pred,
            it,
            stopped: false,
        },
    ))
}

fn dropwhile(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let (pred, it) = pred_it(vm, "dropwhile", args, kw)?;
    Ok(boxed(
        vm,
        DropWhile {
            pred,
            it,
            dropping: true,
        },
    ))
}

fn filterfalse(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let (pred, it) = pred_it(vm, "filterfalse", args, kw)?;
    Ok(boxed(vm, FilterFalse { pred, it }))
}

fn compress(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let allowed = ["data", "selectors"];
    let data = match args.first() {
        Some(v) => v.clone(),
        None => kw_only(vm, "compress", kw, &allowed, "data")?
            .ok_or_else(|| vm.type_error("compress() missing required argument 'data' (pos 1)"))?,
    };
    let sel = match args.get(1) {
        Some(v) => v.clone(),
        None => kw_only(vm, "compress", kw, &allowed, "selectors")?.ok_or_else(|| {
            vm.type_error("compress() missing required argument 'selectors' (pos 2)")
        })?,
    };
    let data = vm.get_iter(&data)?;
    let sel = vm.get_iter(&sel)?;
    Ok(boxed(vm, Compress { data, sel }))
}

// ---- starmap, pairwise ----------------------------------------------------------------------

struct StarMap {
    func: Value,
    it: Value,
}

impl NativeIter for StarMap {
    fn type_name(&self) -> &'static str {
        "itertools.starmap"
    }
    fn next(&mut self, vm: &mut Vm) -> PyResult<Option<Value>> {
        let Some(x) = vm.next(&self.it)? else {
            return Ok(None);
        };
        let args = vm.collect(&x)?;
        vm.call(&self.func, args).map(Some)
    }
}

fn starmap(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let (func, it) = pred_it(vm, "starmap", args, kw)?;
    Ok(boxed(vm, StarMap { func, it }))
}

struct Pairwise {
    it: Value,
    prev: Option<Value>,
}

impl NativeIter for Pairwise {
    fn type_name(&self) -> &'static str {
        "itertools.pairwise"
    }
    fn next(&mut self, vm: &mut Vm) -> PyResult<Option<Value>> {
        let prev = match self.prev.take() {
            Some(p) => p,
            None => match vm.next(&self.it)? {
                Some(p) => p,
                None => return Ok(None),
            },
        };
        let Some(cur) = vm.next(&self.it)? else {
            return Ok(None);
        };
        self.prev = Some(cur.clone());
        Ok(Some(Value::tuple(vec![prev, cur])))
    }
}

fn pairwise(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    no_kwargs(vm, "pairwise", kw)?;
    check_count(vm, "pairwise", args, 1, 1)?;
    let it = vm.get_iter(&args[0])?;
    Ok(boxed(vm, Pairwise { it, prev: None }))
}

// ---- groupby ----------------------------------------------------------------------------------

struct GroupState {
    it: Value,
    key: Option<Value>,
    tgtkey: Option<Value>,
    currkey: Option<Value>,
    currvalue: Option<Value>,
    /// Which group is current; a grouper of an older group stops.
    group: u64,
}

type Shared = Rc<RefCell<GroupState>>;

/// Pulls the next value and its key into the shared state; false at the end.
fn group_step(vm: &mut Vm, st: &Shared) -> PyResult<bool> {
    let (it, key) = {
        let s = st.borrow();
        (s.it.clone(), s.key.clone())
    };
    let Some(v) = vm.next(&it)? else {
        return Ok(false);
    };
    let k = match key {
        Some(f) => vm.call(&f, vec![v.clone()])?,
        None => v.clone(),
    };
    let mut s = st.borrow_mut();
    s.currvalue = Some(v);
    s.currkey = Some(k);
    Ok(true)
}

fn keys_equal(vm: &mut Vm, a: &Option<Value>, b: &Option<Value>) -> PyResult<bool> {
    match (a, b) {
        (Some(x), Some(y)) => Ok(x.is(y) || vm.eq(x, y)?),
        _ => Ok(false),
    }
}

struct GroupBy {
    st: Shared,
}

impl NativeIter for GroupBy {
    fn type_name(&self) -> &'static str {
        "itertools.groupby"
    }
    fn next(&mut self, vm: &mut Vm) -> PyResult<Option<Value>> {
        let group = {
            let mut s = self.st.borrow_mut();
            s.group += 1;
            s.group
        };
        loop {
            let (cur, tgt) = {
                let s = self.st.borrow();
                (s.currkey.clone(), s.tgtkey.clone())
            };
            if cur.is_some() && !keys_equal(vm, &cur, &tgt)? {
                break;
            }
            if !group_step(vm, &self.st)? {
                return Ok(None);
            }
        }
        let key = {
            let mut s = self.st.borrow_mut();
            s.tgtkey = s.currkey.clone();
            s.tgtkey.clone().unwrap_or(Value::None)
        };
        let grouper = boxed(
            vm,
            Grouper {
                st: self.st.clone(),
                tgtkey: key.clone(),
                group,
            },
        );
        Ok(Some(Value::tuple(vec![key, grouper])))
    }
}

struct Grouper {
    st: Shared,
    tgtkey: Value,
    group: u64,
}

impl NativeIter for Grouper {
    fn type_name(&self) -> &'static str {
        "itertools._grouper"
    }
    fn next(&mut self, vm: &mut Vm) -> PyResult<Option<Value>> {
        if self.st.borrow().group != self.group {
            return Ok(None);
        }
        if self.st.borrow().currvalue.is_none() && !group_step(vm, &self.st)? {
            return Ok(None);
        }
        let cur = self.st.borrow().currkey.clone();
        if !keys_equal(vm, &cur, &Some(self.tgtkey.clone()))? {
            return Ok(None);
        }
        let v = self.st.borrow_mut().currvalue.take();
        Ok(v)
    }
}

fn groupby(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let allowed = ["iterable", "key"];
    let src = match args.first() {
        Some(v) => v.clone(),
        None => kw_only(vm, "groupby", kw, &allowed, "iterable")?.ok_or_else(|| {
            vm.type_error("groupby() missing required argument 'iterable' (pos 1)")
        })?,
    };
    let key = match args.get(1) {
        Some(v) => Some(v.clone()),
        None => kw_only(vm, "groupby", kw, &allowed, "key")?,
    }
    .filter(|k| !k.is_none());
    let it = vm.get_iter(&src)?;
    let st = Rc::new(RefCell::new(GroupState {
        it,
        key,
        tgtkey: None,
        currkey: None,
        currvalue: None,
        group: 0,
    }));
    Ok(boxed(vm, GroupBy { st }))
}

// ---- tee --------------------------------------------------------------------------------------

struct TeeShared {
    it: Value,
    buf: VecDeque<Value>,
    /// Absolute index of `buf[0]`.
    base: usize,
    positions: Vec<usize>,
}

struct Tee {
    shared: Rc<RefCell<TeeShared>>,
    id: usize,
}

impl NativeIter for Tee {
    fn type_name(&self) -> &'static str {
        "itertools._tee"
    }
    fn next(&mut self, vm: &mut Vm) -> PyResult<Option<Value>> {
        let (pos, base, len, it) = {
            let s = self.shared.borrow();
            (s.positions[self.id], s.base, s.buf.len(), s.it.clone())
        };
        let v = if pos < base + len {
            self.shared.borrow().buf.get(pos - base).cloned()
        } else {
            match vm.next(&it)? {
                Some(v) => {
                    self.shared.borrow_mut().buf.push_back(v.clone());
                    Some(v)
                }
                None => return Ok(None),
            }
        };
        let mut s = self.shared.borrow_mut();
        s.positions[self.id] = pos + 1;
        // Drop what every tee has consumed.
        let min = s.positions.iter().copied().min().unwrap_or(0);
        while s.base < min && !s.buf.is_empty() {
            s.buf.pop_front();
            s.base += 1;
        }
        Ok(v)
    }
}

fn tee(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    no_kwargs(vm, "tee", kw)?;
    check_count(vm, "tee", args, 1, 2)?;
    let n = match args.get(1) {
        Some(v) => int_arg(vm, v)?,
        None => 2,
    };
    if n < 0 {
        return Err(vm.value_error("n must be >= 0"));
    }
    vm.check_alloc::<Value>(n as usize)?;
    let it = vm.get_iter(&args[0])?;
    let shared = Rc::new(RefCell::new(TeeShared {
        it,
        buf: VecDeque::new(),
        base: 0,
        positions: vec![0; n as usize],
    }));
    let out: Vec<Value> = (0..n as usize)
        .map(|id| {
            boxed(
                vm,
                Tee {
                    shared: shared.clone(),
                    id,
                },
            )
        })
        .collect();
    Ok(Value::tuple(out))
}

// ---- batched (3.12, harmless to offer) ----------------------------------------------------------

pub fn init(vm: &mut Vm) -> PyResult<Value> {
    let m = vm.new_module("itertools");
    let fns: &[(&str, NativeFn)] = &[
        ("count", count),
        ("islice", islice),
        ("cycle", cycle),
        ("repeat", repeat),
        ("accumulate", accumulate),
        ("zip_longest", zip_longest),
        ("product", product),
        ("permutations", permutations),
        ("combinations", combinations),
        (
            "combinations_with_replacement",
            combinations_with_replacement,
        ),
        ("takewhile", takewhile),
        ("dropwhile", dropwhile),
        ("filterfalse", filterfalse),
        ("compress", compress),
        ("starmap", starmap),
        ("pairwise", pairwise),
        ("groupby", groupby),
        ("tee", tee),
    ];
    for (name, f) in fns {
        func(vm, &m, name, *f);
    }
    let chain = native_class(vm, "itertools.chain", "chain", "itertools", setup_chain);
    set(&m, "chain", Value::Class(chain));
    Ok(Value::Module(m))
}
