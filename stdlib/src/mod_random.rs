//! The `random` module: CPython 3.11's `Random` class over the Mersenne
//! Twister (`mt19937.rs`), with `Lib/random.py`'s algorithms ported step by
//! step (same calls to the generator in the same order), so that a seeded
//! program prints exactly what CPython prints.
//!
//! Left out: `SystemRandom`, subclassing `Random` in covm code.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use covm_parser::ast::BinOp;
use covm_vm::Vm;
use covm_vm::value::*;
use num_bigint::{BigInt, BigUint, Sign};
use num_traits::{Signed, ToPrimitive, Zero};
use sha2::{Digest, Sha512};

use crate::args::bind_params;
use crate::mod_math::{to_bigint, to_f64};
use crate::modules::{add_values, bound_native, native_class, set, this};
use crate::mt19937::{Mt, N};

const TWOPI: f64 = 2.0 * std::f64::consts::PI;

pub struct RandomObj {
    cls: Rc<Class>,
    mt: RefCell<Mt>,
    gauss_next: Cell<Option<f64>>,
}

impl NativeObject for RandomObj {
    fn class(&self, _vm: &Vm) -> Rc<Class> {
        self.cls.clone()
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

impl RandomObj {
    fn random(&self) -> f64 {
        self.mt.borrow_mut().random()
    }

    /// `_randbelow_with_getrandbits(n)` for n > 0.
    fn below_u64(&self, n: u64) -> u64 {
        let k = 64 - n.leading_zeros();
        let mut mt = self.mt.borrow_mut();
        loop {
            let r = mt.getrandbits_u64(k);
            if r < n {
                return r;
            }
        }
    }

    fn below(&self, n: &BigInt) -> BigInt {
        if let Some(small) = n.to_u64() {
            return BigInt::from(self.below_u64(small));
        }
        let k = n.bits();
        let mut mt = self.mt.borrow_mut();
        loop {
            let r = BigInt::from(BigUint::from_slice(&mt.getrandbits_words(k)));
            if &r < n {
                return r;
            }
        }
    }

    fn seed_key(&self, key: &BigInt) {
        let mut words = key.abs().to_u32_digits().1;
        if words.is_empty() {
            words.push(0);
        }
        self.mt.borrow_mut().init_by_array(&words);
        self.gauss_next.set(None);
    }

    fn seed_entropy(&self) {
        let mut buf = [0u8; 32];
        let ok = std::fs::File::open("/dev/urandom")
            .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut buf))
            .is_ok();
        if !ok {
            let t = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0);
            buf[..16].copy_from_slice(&t.to_le_bytes());
            buf[16..20].copy_from_slice(&std::process::id().to_le_bytes());
        }
        let words: Vec<u32> = buf
            .chunks(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        self.mt.borrow_mut().init_by_array(&words);
        self.gauss_next.set(None);
    }
}

fn random_class(vm: &mut Vm) -> Rc<Class> {
    native_class(vm, "random.Random", "Random", "random", setup)
}

fn new_random(vm: &mut Vm) -> NativeRc<RandomObj> {
    let cls = random_class(vm);
    let r = NativeBox::new(RandomObj {
        cls,
        mt: RefCell::new(Mt::new()),
        gauss_next: Cell::new(None),
    });
    r.seed_entropy();
    r
}

fn me<'a>(vm: &Vm, args: &'a [Value], method: &str) -> PyResult<&'a RandomObj> {
    this::<RandomObj>(vm, args, "Random", method)
}

/// Binds the arguments after `self`; the first `required` must be given.
fn params(
    vm: &Vm,
    name: &str,
    args: &[Value],
    kw: &KwArgs,
    names: &[&str],
    required: usize,
) -> PyResult<Vec<Option<Value>>> {
    if args.len() > names.len() + 1 {
        let (lo, hi) = (required + 1, names.len() + 1);
        let takes = if lo == hi {
            format!("{hi} positional argument{}", if hi == 1 { "" } else { "s" })
        } else {
            format!("from {lo} to {hi} positional arguments")
        };
        return Err(vm.type_error(&format!(
            "Random.{name}() takes {takes} but {} were given",
            args.len()
        )));
    }
    let out = bind_params(vm, name, args.get(1..).unwrap_or(&[]), kw, names)?;
    let missing: Vec<String> = names[..required]
        .iter()
        .zip(&out)
        .filter(|(_, v)| v.is_none())
        .map(|(n, _)| format!("'{n}'"))
        .collect();
    if !missing.is_empty() {
        let list = match missing.len() {
            1 => missing[0].clone(),
            2 => format!("{} and {}", missing[0], missing[1]),
            _ => format!(
                "{}, and {}",
                missing[..missing.len() - 1].join(", "),
                missing[missing.len() - 1]
            ),
        };
        return Err(vm.type_error(&format!(
            "Random.{name}() missing {} required positional argument{}: {list}",
            missing.len(),
            if missing.len() == 1 { "" } else { "s" }
        )));
    }
    Ok(out)
}

fn float_or(vm: &mut Vm, v: &Option<Value>, default: f64) -> PyResult<f64> {
    match v {
        None => Ok(default),
        Some(v) => to_f64(vm, v),
    }
}

fn int_value(b: BigInt) -> Value {
    Value::from_bigint(b)
}

// ---- seeding and state ------------------------------------------------------

fn do_seed(vm: &mut Vm, r: &RandomObj, a: Option<&Value>, version: i64) -> PyResult<()> {
    let key = match a {
        None | Some(Value::None) => {
            r.seed_entropy();
            return Ok(());
        }
        Some(Value::Int(_) | Value::BigInt(_) | Value::Bool(_)) => {
            to_bigint(vm, a.unwrap_or(&Value::None))?
        }
        // CPython reads the hash as a size_t.
        Some(Value::Float(f)) => BigInt::from(covm_vm::objects::hash_float(*f) as u64),
        Some(v @ (Value::Str(_) | Value::Bytes(_))) => {
            let bytes: Vec<u8> = match v {
                Value::Str(s) => s.as_str().as_bytes().to_vec(),
                Value::Bytes(b) => b.to_vec(),
                _ => Vec::new(),
            };
            if version == 1 {
                // Version 1 hashes the latin-1 code points of the text.
                let cps: Vec<u64> = match v {
                    Value::Str(s) => s.as_str().chars().map(|c| c as u64).collect(),
                    _ => bytes.iter().map(|&b| b as u64).collect(),
                };
                let mut x: u64 = cps.first().map(|c| c << 7).unwrap_or(0);
                for c in &cps {
                    x = 1_000_003u64.wrapping_mul(x) ^ c;
                }
                x ^= cps.len() as u64;
                BigInt::from(x)
            } else {
                let mut all = bytes.clone();
                all.extend_from_slice(&Sha512::digest(&bytes));
                BigInt::from_bytes_be(Sign::Plus, &all)
            }
        }
        Some(_) => {
            return Err(vm.type_error(
                "The only supported seed types are: None,\nint, float, str, bytes, and bytearray.",
            ));
        }
    };
    r.seed_key(&key);
    Ok(())
}

fn r_seed(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let r = me(vm, args, "seed")?;
    let p = params(vm, "seed", args, kw, &["a", "version"], 0)?;
    let version = match &p[1] {
        Some(v) => crate::methods::index_arg(vm, v)?,
        None => 2,
    };
    do_seed(vm, r, p[0].as_ref(), version)?;
    Ok(Value::None)
}

fn random_new(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let p = bind_params(vm, "Random", args.get(1..).unwrap_or(&[]), kw, &["x"])?;
    let r = new_random(vm);
    if let Some(a) = &p[0] {
        do_seed(vm, &r, Some(a), 2)?;
    }
    Ok(Value::Native(r.into()))
}

fn r_getstate(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let r = me(vm, args, "getstate")?;
    let mt = r.mt.borrow();
    let mut words: Vec<Value> = mt.state.iter().map(|&w| Value::Int(w as i64)).collect();
    words.push(Value::Int(mt.index as i64));
    let gauss = r.gauss_next.get().map(Value::Float).unwrap_or(Value::None);
    Ok(Value::tuple(vec![
        Value::Int(3),
        Value::tuple(words),
        gauss,
    ]))
}

fn r_setstate(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let r = me(vm, args, "setstate")?;
    let p = params(vm, "setstate", args, kw, &["state"], 1)?;
    let state = vm.collect(p[0].as_ref().unwrap_or(&Value::None))?;
    let version = state.first().cloned().unwrap_or(Value::None);
    if !matches!(version, Value::Int(2 | 3)) || state.len() != 3 {
        let v = vm.repr(&version)?;
        return Err(vm.value_error(&format!(
            "state with version {v} passed to Random.setstate() of version 3"
        )));
    }
    let words = vm.collect(&state[1])?;
    if words.len() != N + 1 {
        return Err(vm.value_error("state vector is the wrong size"));
    }
    let mut mt = Mt::new();
    for (i, w) in words.iter().enumerate() {
        let b = to_bigint(vm, w)?;
        let m = b.mod_floor_u32();
        if i < N {
            mt.state[i] = m;
        } else {
            if m as usize > N {
                return Err(vm.value_error("invalid state"));
            }
            mt.index = m as usize;
        }
    }
    let gauss = match &state[2] {
        Value::None => None,
        v => Some(to_f64(vm, v)?),
    };
    *r.mt.borrow_mut() = mt;
    r.gauss_next.set(gauss);
    Ok(Value::None)
}

trait ModU32 {
    fn mod_floor_u32(&self) -> u32;
}
impl ModU32 for BigInt {
    fn mod_floor_u32(&self) -> u32 {
        use num_integer::Integer;
        self.mod_floor(&BigInt::from(1u64 << 32))
            .to_u32()
            .unwrap_or(0)
    }
}

// ---- integers ---------------------------------------------------------------

fn r_random(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let r = me(vm, args, "random")?;
    params(vm, "random", args, kw, &[], 0)?;
    Ok(Value::Float(r.random()))
}

fn r_getrandbits(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let r = me(vm, args, "getrandbits")?;
    let p = params(vm, "getrandbits", args, kw, &["k"], 1)?;
    let k = crate::methods::index_arg(vm, p[0].as_ref().unwrap_or(&Value::None))?;
    if k < 0 {
        return Err(vm.value_error("number of bits must be non-negative"));
    }
    if k == 0 {
        return Ok(Value::Int(0));
    }
    let words = r.mt.borrow_mut().getrandbits_words(k as u64);
    Ok(int_value(BigInt::from(BigUint::from_slice(&words))))
}

fn r_randbytes(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let r = me(vm, args, "randbytes")?;
    let p = params(vm, "randbytes", args, kw, &["n"], 1)?;
    let n = crate::methods::index_arg(vm, p[0].as_ref().unwrap_or(&Value::None))?;
    if n < 0 {
        return Err(vm.value_error("number of bits must be non-negative"));
    }
    if n == 0 {
        return Ok(Value::Bytes(RcSlice::from(Vec::new())));
    }
    let words = r.mt.borrow_mut().getrandbits_words(n as u64 * 8);
    let mut bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
    bytes.truncate(n as usize);
    Ok(Value::Bytes(RcSlice::from(bytes)))
}

/// An integer argument of `randrange`: ints as they are, integral floats
/// accepted (CPython's deprecated path), other floats a ValueError.
fn range_arg(vm: &mut Vm, v: &Value, what: &str) -> PyResult<BigInt> {
    match v {
        Value::Float(f) if f.is_finite() => {
            if f.fract() != 0.0 {
                return Err(vm.value_error(&format!("non-integer {what} for randrange()")));
            }
            Ok(covm_vm::arith::float_to_bigint(*f))
        }
        _ => to_bigint(vm, v),
    }
}

fn randrange(
    vm: &mut Vm,
    r: &RandomObj,
    start: &Value,
    stop: Option<&Value>,
    step: Option<&Value>,
) -> PyResult<Value> {
    // The common case without big numbers.
    if let (Value::Int(a), Some(Value::Int(b)), None | Some(Value::Int(1))) = (start, stop, step) {
        let width = *b as i128 - *a as i128;
        if width > 0 && width <= u64::MAX as i128 {
            return Ok(int_value(BigInt::from(
                *a as i128 + r.below_u64(width as u64) as i128,
            )));
        }
    }
    let istart = range_arg(vm, start, "arg 1")?;
    let Some(stop) = stop.filter(|v| !v.is_none()) else {
        if step.is_some_and(|s| !matches!(s, Value::Int(1))) {
            return Err(vm.type_error("Missing a non-None stop argument"));
        }
        if istart > BigInt::zero() {
            return Ok(int_value(r.below(&istart)));
        }
        return Err(vm.value_error("empty range for randrange()"));
    };
    let istop = range_arg(vm, stop, "stop")?;
    let width = &istop - &istart;
    let istep = match step {
        None => BigInt::from(1),
        Some(s) => range_arg(vm, s, "step")?,
    };
    let one = BigInt::from(1);
    if istep == one {
        if width > BigInt::zero() {
            return Ok(int_value(istart + r.below(&width)));
        }
        return Err(vm.value_error(&format!(
            "empty range for randrange() ({istart}, {istop}, {width})"
        )));
    }
    use num_integer::Integer;
    let n = if istep > BigInt::zero() {
        (&width + &istep - &one).div_floor(&istep)
    } else if istep < BigInt::zero() {
        (&width + &istep + &one).div_floor(&istep)
    } else {
        return Err(vm.value_error("zero step for randrange()"));
    };
    if n <= BigInt::zero() {
        return Err(vm.value_error("empty range for randrange()"));
    }
    Ok(int_value(istart + istep * r.below(&n)))
}

fn r_randrange(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let r = me(vm, args, "randrange")?;
    let p = params(vm, "randrange", args, kw, &["start", "stop", "step"], 1)?;
    let start = p[0].clone().unwrap_or(Value::None);
    randrange(vm, r, &start, p[1].as_ref(), p[2].as_ref())
}

fn r_randint(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let r = me(vm, args, "randint")?;
    let p = params(vm, "randint", args, kw, &["a", "b"], 2)?;
    let a = p[0].clone().unwrap_or(Value::None);
    let b = p[1].clone().unwrap_or(Value::None);
    let b1 = add_values(vm, &b, &Value::Int(1))?;
    randrange(vm, r, &a, Some(&b1), None)
}

// ---- sequences --------------------------------------------------------------

fn below_usize(vm: &Vm, r: &RandomObj, n: usize) -> PyResult<usize> {
    if n == 0 {
        return Err(vm.value_error("empty range"));
    }
    Ok(r.below_u64(n as u64) as usize)
}

fn r_choice(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let r = me(vm, args, "choice")?;
    let p = params(vm, "choice", args, kw, &["seq"], 1)?;
    let seq = p[0].clone().unwrap_or(Value::None);
    let n = vm.len(&seq)?;
    if n == 0 {
        return Err(vm.index_error("Cannot choose from an empty sequence"));
    }
    let i = below_usize(vm, r, n)?;
    vm.getitem(&seq, &Value::Int(i as i64))
}

fn r_shuffle(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let r = me(vm, args, "shuffle")?;
    let p = params(vm, "shuffle", args, kw, &["x"], 1)?;
    let x = p[0].clone().unwrap_or(Value::None);
    let n = vm.len(&x)?;
    for i in (1..n).rev() {
        let j = below_usize(vm, r, i + 1)?;
        if let Value::List(l) = &x {
            let mut l = l.borrow_mut();
            if i < l.len() && j < l.len() {
                l.swap(i, j);
            }
            continue;
        }
        let xi = vm.getitem(&x, &Value::Int(i as i64))?;
        let xj = vm.getitem(&x, &Value::Int(j as i64))?;
        vm.setitem(&x, Value::Int(i as i64), xj)?;
        vm.setitem(&x, Value::Int(j as i64), xi)?;
    }
    Ok(Value::None)
}

/// `bisect.bisect_right(a, x, lo, hi)` with covm comparisons.
fn bisect_right(
    vm: &mut Vm,
    a: &[Value],
    x: &Value,
    mut lo: usize,
    mut hi: usize,
) -> PyResult<usize> {
    while lo < hi {
        let mid = (lo + hi) / 2;
        if vm.less_than(x, &a[mid])? {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    Ok(lo)
}

fn accumulate(vm: &mut Vm, it: &Value) -> PyResult<Vec<Value>> {
    let items = vm.collect(it)?;
    let mut out: Vec<Value> = Vec::with_capacity(items.len());
    for v in items {
        let next = match out.last() {
            Some(prev) => add_values(vm, &prev.clone(), &v)?,
            None => v,
        };
        out.push(next);
    }
    Ok(out)
}

/// The indices `sample` picks from a population of `n`, CPython's way
/// (a pool for small populations, a set of taken indices for large ones).
fn sample_indices(vm: &Vm, r: &RandomObj, n: usize, k: usize) -> PyResult<Vec<usize>> {
    let mut result = Vec::with_capacity(k);
    let mut setsize = 21usize;
    if k > 5 {
        let e = ((k * 3) as f64).ln() / 4f64.ln();
        setsize += 4usize.saturating_pow(e.ceil() as u32);
    }
    if n <= setsize {
        let mut pool: Vec<usize> = (0..n).collect();
        for i in 0..k {
            let j = below_usize(vm, r, n - i)?;
            result.push(pool[j]);
            pool[j] = pool[n - i - 1];
        }
    } else {
        let mut selected = std::collections::HashSet::new();
        for _ in 0..k {
            let mut j = below_usize(vm, r, n)?;
            while selected.contains(&j) {
                j = below_usize(vm, r, n)?;
            }
            selected.insert(j);
            result.push(j);
        }
    }
    Ok(result)
}

fn r_sample(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let r = me(vm, args, "sample")?;
    let p = params(vm, "sample", args, kw, &["population", "k", "counts"], 2)?;
    if args.len() > 3 {
        return Err(vm.type_error(&format!(
            "Random.sample() takes 3 positional arguments but {} were given",
            args.len()
        )));
    }
    let pop = p[0].clone().unwrap_or(Value::None);
    let builtin_seq = matches!(
        pop,
        Value::List(_) | Value::Tuple(_) | Value::Range(_) | Value::Str(_) | Value::Bytes(_)
    );
    let user_seq = matches!(pop, Value::Instance(_) | Value::Native(_))
        && vm.getattr_opt(&pop, "__getitem__")?.is_some()
        && vm.getattr_opt(&pop, "__len__")?.is_some();
    if !builtin_seq && !user_seq {
        return Err(
            vm.type_error("Population must be a sequence.  For dicts or sets, use sorted(d).")
        );
    }
    let n = vm.len(&pop)?;
    let kv = p[1].clone().unwrap_or(Value::None);
    let k = crate::methods::index_arg(vm, &kv)?;
    if let Some(counts) = p[2].as_ref().filter(|c| !c.is_none()) {
        let mut cum = accumulate(vm, counts)?;
        if cum.len() != n {
            return Err(vm.value_error("The number of counts does not match the population"));
        }
        let total = cum.pop().unwrap_or(Value::Int(0));
        let total = match total {
            Value::Int(t) => t,
            Value::Bool(b) => b as i64,
            Value::BigInt(_) => {
                return Err(vm.overflow_error("Python int too large to convert to C ssize_t"));
            }
            _ => return Err(vm.type_error("Counts must be integers")),
        };
        if total <= 0 {
            return Err(vm.value_error("Total of counts must be greater than zero"));
        }
        if k < 0 || k > total {
            return Err(vm.value_error("Sample larger than population or is negative"));
        }
        let picks = sample_indices(vm, r, total as usize, k as usize)?;
        let mut out = Vec::with_capacity(picks.len());
        for s in picks {
            let i = bisect_right(vm, &cum, &Value::Int(s as i64), 0, cum.len())?;
            out.push(vm.getitem(&pop, &Value::Int(i as i64))?);
        }
        return Ok(Value::list(out));
    }
    if k < 0 || k as usize > n {
        return Err(vm.value_error("Sample larger than population or is negative"));
    }
    let picks = sample_indices(vm, r, n, k as usize)?;
    let mut out = Vec::with_capacity(picks.len());
    for i in picks {
        out.push(vm.getitem(&pop, &Value::Int(i as i64))?);
    }
    Ok(Value::list(out))
}

fn r_choices(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let r = me(vm, args, "choices")?;
    if args.len() > 3 {
        return Err(vm.type_error(&format!(
            "Random.choices() takes from 2 to 3 positional arguments but {} were given",
            args.len()
        )));
    }
    let p = params(
        vm,
        "choices",
        args,
        kw,
        &["population", "weights", "cum_weights", "k"],
        1,
    )?;
    let pop = p[0].clone().unwrap_or(Value::None);
    let n = vm.len(&pop)?;
    let k = match &p[3] {
        Some(v) => crate::methods::index_arg(vm, v)?.max(0) as usize,
        None => 1,
    };
    let weights = p[1].clone().filter(|v| !v.is_none());
    let cum = match (p[2].clone().filter(|v| !v.is_none()), weights) {
        (None, None) => {
            let nf = n as f64;
            let mut out = Vec::with_capacity(k);
            for _ in 0..k {
                let i = (r.random() * nf).floor() as i64;
                out.push(vm.getitem(&pop, &Value::Int(i))?);
            }
            return Ok(Value::list(out));
        }
        (None, Some(w)) => {
            if let Value::Int(k) = w {
                return Err(vm.type_error(&format!(
                    "The number of choices must be a keyword argument: k={k}"
                )));
            }
            accumulate(vm, &w)?
        }
        (Some(c), None) => vm.collect(&c)?,
        (Some(_), Some(_)) => {
            return Err(vm.type_error("Cannot specify both weights and cumulative weights"));
        }
    };
    if cum.len() != n {
        return Err(vm.value_error("The number of weights does not match the population"));
    }
    let Some(last) = cum.last() else {
        return Err(vm.index_error("list index out of range"));
    };
    let total = add_values(vm, &last.clone(), &Value::Float(0.0))?;
    let total = to_f64(vm, &total)?;
    if total <= 0.0 {
        return Err(vm.value_error("Total of weights must be greater than zero"));
    }
    if !total.is_finite() {
        return Err(vm.value_error("Total of weights must be finite"));
    }
    let hi = n - 1;
    let mut out = Vec::with_capacity(k);
    for _ in 0..k {
        let x = Value::Float(r.random() * total);
        let i = bisect_right(vm, &cum, &x, 0, hi)?;
        out.push(vm.getitem(&pop, &Value::Int(i as i64))?);
    }
    Ok(Value::list(out))
}

// ---- distributions ----------------------------------------------------------

fn r_uniform(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let r = me(vm, args, "uniform")?;
    let p = params(vm, "uniform", args, kw, &["a", "b"], 2)?;
    let a = p[0].clone().unwrap_or(Value::None);
    let b = p[1].clone().unwrap_or(Value::None);
    let d = vm.binary_op(BinOp::Sub, &b, &a)?;
    let x = Value::Float(r.random());
    let m = vm.binary_op(BinOp::Mult, &d, &x)?;
    vm.binary_op(BinOp::Add, &a, &m)
}

fn r_triangular(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let r = me(vm, args, "triangular")?;
    let p = params(vm, "triangular", args, kw, &["low", "high", "mode"], 0)?;
    let mut low = float_or(vm, &p[0], 0.0)?;
    let mut high = float_or(vm, &p[1], 1.0)?;
    let mut u = r.random();
    let mut c = match &p[2] {
        None | Some(Value::None) => 0.5,
        Some(m) => {
            let m = to_f64(vm, m)?;
            if high - low == 0.0 {
                return Ok(Value::Float(low));
            }
            (m - low) / (high - low)
        }
    };
    if u > c {
        u = 1.0 - u;
        c = 1.0 - c;
        std::mem::swap(&mut low, &mut high);
    }
    Ok(Value::Float(low + (high - low) * (u * c).sqrt()))
}

fn normal(r: &RandomObj) -> f64 {
    let nv_magicconst = 4.0 * (-0.5f64).exp() / 2.0f64.sqrt();
    loop {
        let u1 = r.random();
        let u2 = 1.0 - r.random();
        let z = nv_magicconst * (u1 - 0.5) / u2;
        let zz = z * z / 4.0;
        if zz <= -u2.ln() {
            return z;
        }
    }
}

fn r_normalvariate(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let r = me(vm, args, "normalvariate")?;
    let p = params(vm, "normalvariate", args, kw, &["mu", "sigma"], 0)?;
    let mu = float_or(vm, &p[0], 0.0)?;
    let sigma = float_or(vm, &p[1], 1.0)?;
    Ok(Value::Float(mu + normal(r) * sigma))
}

fn r_lognormvariate(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let r = me(vm, args, "lognormvariate")?;
    let p = params(vm, "lognormvariate", args, kw, &["mu", "sigma"], 2)?;
    let mu = float_or(vm, &p[0], 0.0)?;
    let sigma = float_or(vm, &p[1], 1.0)?;
    Ok(Value::Float((mu + normal(r) * sigma).exp()))
}

fn r_gauss(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let r = me(vm, args, "gauss")?;
    let p = params(vm, "gauss", args, kw, &["mu", "sigma"], 0)?;
    let mu = float_or(vm, &p[0], 0.0)?;
    let sigma = float_or(vm, &p[1], 1.0)?;
    let z = match r.gauss_next.take() {
        Some(z) => z,
        None => {
            let x2pi = r.random() * TWOPI;
            let g2rad = (-2.0 * (1.0 - r.random()).ln()).sqrt();
            r.gauss_next.set(Some(x2pi.sin() * g2rad));
            x2pi.cos() * g2rad
        }
    };
    Ok(Value::Float(mu + z * sigma))
}

fn r_expovariate(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let r = me(vm, args, "expovariate")?;
    let p = params(vm, "expovariate", args, kw, &["lambd"], 1)?;
    let lambd = float_or(vm, &p[0], 1.0)?;
    let x = -(1.0 - r.random()).ln();
    if lambd == 0.0 {
        return Err(vm.zero_division("float division by zero"));
    }
    Ok(Value::Float(x / lambd))
}

fn r_vonmisesvariate(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let r = me(vm, args, "vonmisesvariate")?;
    let p = params(vm, "vonmisesvariate", args, kw, &["mu", "kappa"], 2)?;
    let mu = float_or(vm, &p[0], 0.0)?;
    let kappa = float_or(vm, &p[1], 0.0)?;
    if kappa <= 1e-6 {
        return Ok(Value::Float(TWOPI * r.random()));
    }
    let s = 0.5 / kappa;
    let rr = s + (1.0 + s * s).sqrt();
    let z = loop {
        let u1 = r.random();
        let z = (std::f64::consts::PI * u1).cos();
        let d = z / (rr + z);
        let u2 = r.random();
        if u2 < 1.0 - d * d || u2 <= (1.0 - d) * d.exp() {
            break z;
        }
    };
    let q = 1.0 / rr;
    let f = (q + z) / (1.0 + q * z);
    let u3 = r.random();
    let theta = if u3 > 0.5 {
        py_fmod(mu + f.acos(), TWOPI)
    } else {
        py_fmod(mu - f.acos(), TWOPI)
    };
    Ok(Value::Float(theta))
}

/// Python's float `%` (the result takes the divisor's sign).
fn py_fmod(x: f64, y: f64) -> f64 {
    covm_vm::arith::float_divmod(x, y).1
}

fn gamma(vm: &Vm, r: &RandomObj, alpha: f64, beta: f64) -> PyResult<f64> {
    if alpha <= 0.0 || beta <= 0.0 {
        return Err(vm.value_error("gammavariate: alpha and beta must be > 0.0"));
    }
    if alpha > 1.0 {
        let ainv = (2.0 * alpha - 1.0).sqrt();
        let bbb = alpha - 4f64.ln();
        let ccc = alpha + ainv;
        let sg_magicconst = 1.0 + 4.5f64.ln();
        loop {
            let u1 = r.random();
            if !(1e-7 < u1 && u1 < 0.9999999) {
                continue;
            }
            let u2 = 1.0 - r.random();
            let v = (u1 / (1.0 - u1)).ln() / ainv;
            let x = alpha * v.exp();
            let z = u1 * u1 * u2;
            let rr = bbb + ccc * v - x;
            if rr + sg_magicconst - 4.5 * z >= 0.0 || rr >= z.ln() {
                return Ok(x * beta);
            }
        }
    } else if alpha == 1.0 {
        Ok(-(1.0 - r.random()).ln() * beta)
    } else {
        let e = std::f64::consts::E;
        let x = loop {
            let u = r.random();
            let b = (e + alpha) / e;
            let p = b * u;
            let x = if p <= 1.0 {
                p.powf(1.0 / alpha)
            } else {
                -((b - p) / alpha).ln()
            };
            let u1 = r.random();
            if p > 1.0 {
                if u1 <= x.powf(alpha - 1.0) {
                    break x;
                }
            } else if u1 <= (-x).exp() {
                break x;
            }
        };
        Ok(x * beta)
    }
}

fn r_gammavariate(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let r = me(vm, args, "gammavariate")?;
    let p = params(vm, "gammavariate", args, kw, &["alpha", "beta"], 2)?;
    let a = float_or(vm, &p[0], 1.0)?;
    let b = float_or(vm, &p[1], 1.0)?;
    Ok(Value::Float(gamma(vm, r, a, b)?))
}

fn r_betavariate(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let r = me(vm, args, "betavariate")?;
    let p = params(vm, "betavariate", args, kw, &["alpha", "beta"], 2)?;
    let a = float_or(vm, &p[0], 1.0)?;
    let b = float_or(vm, &p[1], 1.0)?;
    let y = gamma(vm, r, a, 1.0)?;
    if y != 0.0 {
        let y2 = gamma(vm, r, b, 1.0)?;
        return Ok(Value::Float(y / (y + y2)));
    }
    Ok(Value::Float(0.0))
}

fn r_paretovariate(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let r = me(vm, args, "paretovariate")?;
    let p = params(vm, "paretovariate", args, kw, &["alpha"], 1)?;
    let alpha = float_or(vm, &p[0], 1.0)?;
    let u = 1.0 - r.random();
    if alpha == 0.0 {
        return Err(vm.zero_division("float division by zero"));
    }
    Ok(Value::Float(u.powf(-1.0 / alpha)))
}

fn r_weibullvariate(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let r = me(vm, args, "weibullvariate")?;
    let p = params(vm, "weibullvariate", args, kw, &["alpha", "beta"], 2)?;
    let alpha = float_or(vm, &p[0], 1.0)?;
    let beta = float_or(vm, &p[1], 1.0)?;
    let u = 1.0 - r.random();
    if beta == 0.0 {
        return Err(vm.zero_division("float division by zero"));
    }
    Ok(Value::Float(alpha * (-u.ln()).powf(1.0 / beta)))
}

const METHODS: &[(&str, NativeFn)] = &[
    ("seed", r_seed),
    ("random", r_random),
    ("getstate", r_getstate),
    ("setstate", r_setstate),
    ("getrandbits", r_getrandbits),
    ("randbytes", r_randbytes),
    ("randrange", r_randrange),
    ("randint", r_randint),
    ("choice", r_choice),
    ("choices", r_choices),
    ("shuffle", r_shuffle),
    ("sample", r_sample),
    ("uniform", r_uniform),
    ("triangular", r_triangular),
    ("normalvariate", r_normalvariate),
    ("lognormvariate", r_lognormvariate),
    ("gauss", r_gauss),
    ("expovariate", r_expovariate),
    ("vonmisesvariate", r_vonmisesvariate),
    ("gammavariate", r_gammavariate),
    ("betavariate", r_betavariate),
    ("paretovariate", r_paretovariate),
    ("weibullvariate", r_weibullvariate),
];

fn setup(vm: &mut Vm, cls: &Rc<Class>) {
    for (name, f) in METHODS {
        vm.add_method(cls, name, *f);
    }
    vm.set_native_new(cls, random_new);
}

pub fn init(vm: &mut Vm) -> PyResult<Value> {
    let m = vm.new_module("random");
    let cls = random_class(vm);
    set(&m, "Random", Value::Class(cls));
    let inst = Value::Native(new_random(vm).into());
    for (name, f) in METHODS {
        set(&m, name, bound_native(name, *f, inst.clone()));
    }
    Ok(Value::Module(m))
}
