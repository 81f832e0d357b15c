//! The `math` module.

use num_bigint::BigInt;
use num_integer::Integer;
use num_traits::{One, Signed, ToPrimitive, Zero};

use covm_vm::Vm;
use covm_vm::value::*;

use crate::args::*;
use crate::modules::{func, set};

fn domain(vm: &Vm) -> Value {
    vm.value_error("math domain error")
}

fn range_err(vm: &Vm) -> Value {
    vm.overflow_error("math range error")
}

/// A real-number argument as a float, CPython's way.
pub(crate) fn to_f64(vm: &mut Vm, v: &Value) -> PyResult<f64> {
    match v {
        Value::Float(f) => Ok(*f),
        Value::Int(i) => Ok(*i as f64),
        Value::Bool(b) => Ok(*b as i64 as f64),
        Value::BigInt(b) => match b.to_f64() {
            Some(f) if f.is_finite() => Ok(f),
            _ => Err(vm.overflow_error("int too large to convert to float")),
        },
        _ => {
            if let Some(f) = vm.lookup_special(v, "__float__") {
                let r = vm.call(&f, vec![v.clone()])?;
                if let Value::Float(x) = r {
                    return Ok(x);
                }
                let msg = format!(
                    "{}.__float__ returned non-float (type {})",
                    vm.type_name(v),
                    vm.type_name(&r)
                );
                return Err(vm.type_error(&msg));
            }
            if let Some(f) = vm.lookup_special(v, "__index__") {
                let r = vm.call(&f, vec![v.clone()])?;
                return to_f64(vm, &r);
            }
            let msg = format!("must be real number, not {}", vm.type_name(v));
            Err(vm.type_error(&msg))
        }
    }
}

/// An integer argument as a BigInt (`__index__` honoured).
pub(crate) fn to_bigint(vm: &mut Vm, v: &Value) -> PyResult<BigInt> {
    match v {
        Value::Int(i) => Ok(BigInt::from(*i)),
        Value::Bool(b) => Ok(BigInt::from(*b as i64)),
        Value::BigInt(b) => Ok((**b).clone()),
        _ => {
            if let Some(f) = vm.lookup_special(v, "__index__") {
                let r = vm.call(&f, vec![v.clone()])?;
                if matches!(r, Value::Int(_) | Value::BigInt(_) | Value::Bool(_)) {
                    return to_bigint(vm, &r);
                }
            }
            let msg = format!(
                "'{}' object cannot be interpreted as an integer",
                vm.type_name(v)
            );
            Err(vm.type_error(&msg))
        }
    }
}

fn one_arg<'a>(vm: &Vm, name: &str, args: &'a [Value], kw: &KwArgs) -> PyResult<&'a Value> {
    no_kwargs(vm, name, kw)?;
    if args.len() != 1 {
        return Err(vm.type_error(&format!(
            "math.{name}() takes exactly one argument ({} given)",
            args.len()
        )));
    }
    Ok(&args[0])
}

fn two_args<'a>(
    vm: &Vm,
    name: &str,
    args: &'a [Value],
    kw: &KwArgs,
) -> PyResult<(&'a Value, &'a Value)> {
    no_kwargs(vm, name, kw)?;
    if args.len() != 2 {
        return Err(vm.type_error(&format!("{name} expected 2 arguments, got {}", args.len())));
    }
    Ok((&args[0], &args[1]))
}

/// A one-argument float function with CPython's error rules: NaN from a
/// non-NaN is a domain error, infinity from a finite input is a range
/// error (or a domain error for functions that cannot overflow).
fn math1(
    vm: &mut Vm,
    name: &str,
    args: &[Value],
    kw: &KwArgs,
    f: fn(f64) -> f64,
    can_overflow: bool,
) -> PyResult<Value> {
    let a = one_arg(vm, name, args, kw)?;
    let x = to_f64(vm, a)?;
    let r = f(x);
    if r.is_nan() && !x.is_nan() {
        return Err(domain(vm));
    }
    if r.is_infinite() && x.is_finite() {
        return Err(if can_overflow {
            range_err(vm)
        } else {
            domain(vm)
        });
    }
    Ok(Value::Float(r))
}

macro_rules! math_fn {
    ($rust:ident, $name:literal, $f:expr, $ovf:expr) => {
        fn $rust(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
            math1(vm, $name, args, kw, $f, $ovf)
        }
    };
}

math_fn!(m_sqrt, "sqrt", f64::sqrt, false);
math_fn!(m_exp, "exp", f64::exp, true);
math_fn!(m_exp2, "exp2", f64::exp2, true);
math_fn!(m_expm1, "expm1", f64::exp_m1, true);
math_fn!(m_sin, "sin", f64::sin, false);
math_fn!(m_cos, "cos", f64::cos, false);
math_fn!(m_tan, "tan", f64::tan, false);
math_fn!(m_asin, "asin", f64::asin, false);
math_fn!(m_acos, "acos", f64::acos, false);
math_fn!(m_atan, "atan", f64::atan, false);
math_fn!(m_sinh, "sinh", f64::sinh, true);
math_fn!(m_cosh, "cosh", f64::cosh, true);
math_fn!(m_tanh, "tanh", f64::tanh, false);
math_fn!(m_asinh, "asinh", f64::asinh, false);
math_fn!(m_acosh, "acosh", f64::acosh, false);
math_fn!(m_atanh, "atanh", f64::atanh, false);
math_fn!(m_fabs, "fabs", f64::abs, false);
math_fn!(m_cbrt, "cbrt", f64::cbrt, false);
math_fn!(m_degrees, "degrees", f64::to_degrees, true);
math_fn!(m_radians, "radians", f64::to_radians, true);

fn m_log1p(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let a = one_arg(vm, "log1p", args, kw)?;
    let x = to_f64(vm, a)?;
    if x <= -1.0 {
        return Err(domain(vm));
    }
    Ok(Value::Float(x.ln_1p()))
}

/// Natural log of a positive argument, big ints included.
fn ln_of(vm: &mut Vm, v: &Value) -> PyResult<f64> {
    if let Value::BigInt(b) = v {
        if !b.is_positive() {
            return Err(domain(vm));
        }
        let bits = b.bits();
        let shift = bits.saturating_sub(60);
        let top: BigInt = &**b >> shift;
        let m = top.to_f64().unwrap_or(f64::NAN);
        return Ok(m.ln() + shift as f64 * std::f64::consts::LN_2);
    }
    let x = to_f64(vm, v)?;
    if x.is_nan() {
        return Ok(x);
    }
    if x <= 0.0 {
        return Err(domain(vm));
    }
    Ok(x.ln())
}

fn m_log(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    no_kwargs(vm, "log", kw)?;
    if args.is_empty() || args.len() > 2 {
        return Err(vm.type_error("math.log requires 1 to 2 arguments"));
    }
    let num = ln_of(vm, &args[0])?;
    if args.len() == 1 {
        return Ok(Value::Float(num));
    }
    let den = ln_of(vm, &args[1])?;
    if den == 0.0 {
        return Err(vm.zero_division("float division by zero"));
    }
    Ok(Value::Float(num / den))
}

fn m_log2(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let a = one_arg(vm, "log2", args, kw)?;
    if let Value::BigInt(_) = a {
        let l = ln_of(vm, a)?;
        return Ok(Value::Float(l / std::f64::consts::LN_2));
    }
    let x = to_f64(vm, a)?;
    if x <= 0.0 {
        return Err(domain(vm));
    }
    Ok(Value::Float(x.log2()))
}

fn m_log10(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let a = one_arg(vm, "log10", args, kw)?;
    if let Value::BigInt(_) = a {
        let l = ln_of(vm, a)?;
        return Ok(Value::Float(l / std::f64::consts::LN_10));
    }
    let x = to_f64(vm, a)?;
    if x <= 0.0 {
        return Err(domain(vm));
    }
    Ok(Value::Float(x.log10()))
}

fn m_pow(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let (a, b) = two_args(vm, "pow", args, kw)?;
    let x = to_f64(vm, a)?;
    let y = to_f64(vm, b)?;
    if x == 0.0 && y < 0.0 && y.is_finite() {
        return Err(domain(vm));
    }
    if x < 0.0 && x.is_finite() && y.is_finite() && y.fract() != 0.0 {
        return Err(domain(vm));
    }
    let r = x.powf(y);
    if r.is_infinite() && x.is_finite() && y.is_finite() {
        return Err(range_err(vm));
    }
    Ok(Value::Float(r))
}

fn m_atan2(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let (a, b) = two_args(vm, "atan2", args, kw)?;
    let y = to_f64(vm, a)?;
    let x = to_f64(vm, b)?;
    Ok(Value::Float(y.atan2(x)))
}

fn m_copysign(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let (a, b) = two_args(vm, "copysign", args, kw)?;
    let x = to_f64(vm, a)?;
    let y = to_f64(vm, b)?;
    Ok(Value::Float(x.copysign(y)))
}

fn m_fmod(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let (a, b) = two_args(vm, "fmod", args, kw)?;
    let x = to_f64(vm, a)?;
    let y = to_f64(vm, b)?;
    if y.is_infinite() && x.is_finite() {
        return Ok(Value::Float(x));
    }
    let r = x % y;
    if r.is_nan() && !x.is_nan() && !y.is_nan() {
        return Err(domain(vm));
    }
    Ok(Value::Float(r))
}

fn m_remainder(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let (a, b) = two_args(vm, "remainder", args, kw)?;
    let x = to_f64(vm, a)?;
    let y = to_f64(vm, b)?;
    if x.is_nan() || y.is_nan() {
        return Ok(Value::Float(f64::NAN));
    }
    if x.is_infinite() || y == 0.0 {
        return Err(domain(vm));
    }
    if y.is_infinite() {
        return Ok(Value::Float(x));
    }
    // IEEE 754 remainder: x - n*y with n the nearest integer (ties to even).
    let n = (x / y).round();
    let mut r = x - n * y;
    let half = (x / y) - (x / y).trunc();
    if half.abs() == 0.5 {
        let n2 = 2.0 * ((x / y) / 2.0).round();
        r = x - n2 * y;
    }
    Ok(Value::Float(r))
}

fn m_hypot(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    no_kwargs(vm, "hypot", kw)?;
    let mut xs = Vec::with_capacity(args.len());
    for a in args {
        xs.push(to_f64(vm, a)?);
    }
    Ok(Value::Float(hypot_of(&xs)))
}

fn hypot_of(xs: &[f64]) -> f64 {
    if xs.iter().any(|x| x.is_infinite()) {
        return f64::INFINITY;
    }
    if xs.iter().any(|x| x.is_nan()) {
        return f64::NAN;
    }
    match xs.len() {
        0 => 0.0,
        1 => xs[0].abs(),
        2 => xs[0].hypot(xs[1]),
        _ => {
            let max = xs.iter().fold(0.0f64, |m, x| m.max(x.abs()));
            if max == 0.0 {
                return 0.0;
            }
            let s: f64 = xs.iter().map(|x| (x / max) * (x / max)).sum();
            max * s.sqrt()
        }
    }
}

fn m_dist(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let (a, b) = two_args(vm, "dist", args, kw)?;
    let p = vm.collect(a)?;
    let q = vm.collect(b)?;
    if p.len() != q.len() {
        return Err(vm.value_error("both points must have the same number of dimensions"));
    }
    let mut d = Vec::with_capacity(p.len());
    for (x, y) in p.iter().zip(&q) {
        d.push(to_f64(vm, x)? - to_f64(vm, y)?);
    }
    Ok(Value::Float(hypot_of(&d)))
}

/// `floor`/`ceil`/`trunc` of a float as an int.
fn float_to_int(vm: &Vm, x: f64) -> PyResult<Value> {
    if x.is_nan() {
        return Err(vm.value_error("cannot convert float NaN to integer"));
    }
    if x.is_infinite() {
        return Err(vm.overflow_error("cannot convert float infinity to integer"));
    }
    if x.abs() < 9.0e18 {
        return Ok(Value::Int(x as i64));
    }
    Ok(Value::from_bigint(covm_vm::arith::float_to_bigint(x)))
}

fn rounding(
    vm: &mut Vm,
    name: &str,
    args: &[Value],
    kw: &KwArgs,
    f: fn(f64) -> f64,
) -> PyResult<Value> {
    let a = one_arg(vm, name, args, kw)?;
    match a {
        Value::Int(_) | Value::BigInt(_) => return Ok(a.clone()),
        Value::Bool(b) => return Ok(Value::Int(*b as i64)),
        Value::Float(x) => return float_to_int(vm, f(*x)),
        _ => {}
    }
    let dunder = format!("__{name}__");
    if let Some(m) = vm.lookup_special(a, &dunder) {
        return vm.call(&m, vec![a.clone()]);
    }
    if name == "trunc" {
        let msg = format!("type {} doesn't define __trunc__ method", vm.type_name(a));
        return Err(vm.type_error(&msg));
    }
    let x = to_f64(vm, a)?;
    float_to_int(vm, f(x))
}

fn m_floor(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    rounding(vm, "floor", args, kw, f64::floor)
}
fn m_ceil(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    rounding(vm, "ceil", args, kw, f64::ceil)
}
fn m_trunc(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    rounding(vm, "trunc", args, kw, f64::trunc)
}

fn m_gcd(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    no_kwargs(vm, "gcd", kw)?;
    let mut g = BigInt::zero();
    for a in args {
        let n = to_bigint(vm, a)?;
        g = g.gcd(&n);
    }
    Ok(Value::from_bigint(g))
}

fn m_lcm(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    no_kwargs(vm, "lcm", kw)?;
    let mut l = BigInt::one();
    for a in args {
        let n = to_bigint(vm, a)?;
        if l.is_zero() || n.is_zero() {
            l = BigInt::zero();
        } else {
            l = l.lcm(&n);
        }
    }
    Ok(Value::from_bigint(l.abs()))
}

fn m_factorial(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let a = one_arg(vm, "factorial", args, kw)?;
    let n = to_bigint(vm, a)?;
    if n.is_negative() {
        return Err(vm.value_error("factorial() not defined for negative values"));
    }
    let Some(n) = n.to_u64().filter(|n| *n <= i64::MAX as u64) else {
        return Err(vm.overflow_error("factorial() argument should not exceed 9223372036854775807"));
    };
    Ok(Value::from_bigint(product_range(1, n)))
}

/// The product lo..=hi, split in halves so big products stay balanced.
fn product_range(lo: u64, hi: u64) -> BigInt {
    if lo > hi {
        return BigInt::one();
    }
    if hi - lo < 16 {
        let mut p = BigInt::one();
        let mut small: u64 = 1;
        for i in lo..=hi {
            match small.checked_mul(i) {
                Some(s) => small = s,
                None => {
                    p *= small;
                    small = i;
                }
            }
        }
        return p * small;
    }
    let mid = lo + (hi - lo) / 2;
    product_range(lo, mid) * product_range(mid + 1, hi)
}

fn m_comb(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let (a, b) = two_args(vm, "comb", args, kw)?;
    let n = to_bigint(vm, a)?;
    let k = to_bigint(vm, b)?;
    if n.is_negative() {
        return Err(vm.value_error("n must be a non-negative integer"));
    }
    if k.is_negative() {
        return Err(vm.value_error("k must be a non-negative integer"));
    }
    if k > n {
        return Ok(Value::Int(0));
    }
    let k = std::cmp::min(k.clone(), &n - &k);
    let Some(k) = k.to_u64() else {
        return Err(vm.overflow_error("min(n - k, k) must not exceed 9223372036854775807"));
    };
    let mut r = BigInt::one();
    for i in 0..k {
        r = r * (&n - BigInt::from(i)) / BigInt::from(i + 1);
    }
    Ok(Value::from_bigint(r))
}

fn m_perm(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    no_kwargs(vm, "perm", kw)?;
    if args.is_empty() || args.len() > 2 {
        return Err(vm.type_error(&format!(
            "perm expected at most 2 arguments, got {}",
            args.len()
        )));
    }
    let n = to_bigint(vm, &args[0])?;
    let k = match args.get(1) {
        None | Some(Value::None) => n.clone(),
        Some(v) => to_bigint(vm, v)?,
    };
    if n.is_negative() {
        return Err(vm.value_error("n must be a non-negative integer"));
    }
    if k.is_negative() {
        return Err(vm.value_error("k must be a non-negative integer"));
    }
    if k > n {
        return Ok(Value::Int(0));
    }
    let Some(k) = k.to_u64() else {
        return Err(vm.overflow_error("k must not exceed 9223372036854775807"));
    };
    let mut r = BigInt::one();
    for i in 0..k {
        r *= &n - BigInt::from(i);
    }
    Ok(Value::from_bigint(r))
}

fn m_isqrt(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let a = one_arg(vm, "isqrt", args, kw)?;
    let n = to_bigint(vm, a)?;
    if n.is_negative() {
        return Err(vm.value_error("isqrt() argument must be nonnegative"));
    }
    Ok(Value::from_bigint(n.sqrt()))
}

fn m_isclose(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let allowed = ["a", "b", "rel_tol", "abs_tol"];
    let mut a = args.first().cloned();
    let mut b = args.get(1).cloned();
    if args.len() > 2 {
        return Err(vm.type_error(&format!(
            "isclose() takes exactly 2 positional arguments ({} given)",
            args.len()
        )));
    }
    if let Some(v) = kwarg(vm, "isclose", kw, &allowed, "a")? {
        a = Some(v);
    }
    if let Some(v) = kwarg(vm, "isclose", kw, &allowed, "b")? {
        b = Some(v);
    }
    let (Some(a), Some(b)) = (a, b) else {
        return Err(vm.type_error("isclose() missing required argument 'b' (pos 2)"));
    };
    let rel = match kwarg(vm, "isclose", kw, &allowed, "rel_tol")? {
        Some(v) => to_f64(vm, &v)?,
        None => 1e-9,
    };
    let abs_tol = match kwarg(vm, "isclose", kw, &allowed, "abs_tol")? {
        Some(v) => to_f64(vm, &v)?,
        None => 0.0,
    };
    let x = to_f64(vm, &a)?;
    let y = to_f64(vm, &b)?;
    if rel < 0.0 || abs_tol < 0.0 {
        return Err(vm.value_error("tolerances must be non-negative"));
    }
    if x == y {
        return Ok(Value::Bool(true));
    }
    if x.is_infinite() || y.is_infinite() {
        return Ok(Value::Bool(false));
    }
    let diff = (y - x).abs();
    Ok(Value::Bool(
        (diff <= (rel * y).abs()) || (diff <= (rel * x).abs()) || diff <= abs_tol,
    ))
}

fn float_pred(
    vm: &mut Vm,
    name: &str,
    args: &[Value],
    kw: &KwArgs,
    f: fn(f64) -> bool,
) -> PyResult<Value> {
    let a = one_arg(vm, name, args, kw)?;
    let x = to_f64(vm, a)?;
    Ok(Value::Bool(f(x)))
}

fn m_isfinite(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    float_pred(vm, "isfinite", args, kw, f64::is_finite)
}
fn m_isinf(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    float_pred(vm, "isinf", args, kw, f64::is_infinite)
}
fn m_isnan(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    float_pred(vm, "isnan", args, kw, f64::is_nan)
}

/// `math.fsum`: Shewchuk's exactly rounded sum, as CPython's msum.
fn m_fsum(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let a = one_arg(vm, "fsum", args, kw)?;
    let it = vm.get_iter(a)?;
    let mut partials: Vec<f64> = Vec::new();
    let mut special_sum = 0.0f64;
    let mut inf_sum = 0.0f64;
    while let Some(item) = vm.next(&it)? {
        let mut x = to_f64(vm, &item)?;
        let xsave = x;
        let mut i = 0;
        for j in 0..partials.len() {
            let mut y = partials[j];
            if x.abs() < y.abs() {
                std::mem::swap(&mut x, &mut y);
            }
            let hi = x + y;
            let lo = y - (hi - x);
            if lo != 0.0 {
                partials[i] = lo;
                i += 1;
            }
            x = hi;
        }
        partials.truncate(i);
        if x != 0.0 {
            if !x.is_finite() {
                // A non-finite intermediate: an overflow, or an inf/nan input.
                if xsave.is_finite() {
                    return Err(vm.overflow_error("intermediate overflow in fsum"));
                }
                if xsave.is_infinite() {
                    inf_sum += xsave;
                }
                special_sum += xsave;
                partials.clear();
            } else {
                partials.push(x);
            }
        }
    }
    if special_sum != 0.0 {
        if inf_sum.is_nan() {
            return Err(vm.value_error("-inf + inf in fsum"));
        }
        return Ok(Value::Float(special_sum));
    }
    let mut hi = 0.0f64;
    let mut n = partials.len();
    if n > 0 {
        n -= 1;
        hi = partials[n];
        let mut lo = 0.0f64;
        while n > 0 {
            let x = hi;
            n -= 1;
            let y = partials[n];
            hi = x + y;
            let yr = hi - x;
            lo = y - yr;
            if lo != 0.0 {
                break;
            }
        }
        if n > 0 && ((lo < 0.0 && partials[n - 1] < 0.0) || (lo > 0.0 && partials[n - 1] > 0.0)) {
            let y = lo * 2.0;
            let x = hi + y;
            let yr = x - hi;
            if y == yr {
                hi = x;
            }
        }
    }
    Ok(Value::Float(hi))
}

fn m_prod(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    if args.len() != 1 {
        return Err(vm.type_error(&format!(
            "prod() takes exactly 1 positional argument ({} given)",
            args.len()
        )));
    }
    let mut acc = match kwarg(vm, "prod", kw, &["start"], "start")? {
        Some(v) => v,
        None => Value::Int(1),
    };
    let it = vm.get_iter(&args[0])?;
    while let Some(x) = vm.next(&it)? {
        acc = crate::modules::mul_values(vm, &acc, &x)?;
    }
    Ok(acc)
}

fn m_modf(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let a = one_arg(vm, "modf", args, kw)?;
    let x = to_f64(vm, a)?;
    if x.is_infinite() {
        return Ok(Value::tuple(vec![
            Value::Float(0.0f64.copysign(x)),
            Value::Float(x),
        ]));
    }
    let i = x.trunc();
    Ok(Value::tuple(vec![
        Value::Float((x - i).copysign(x)),
        Value::Float(i),
    ]))
}

fn m_frexp(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let a = one_arg(vm, "frexp", args, kw)?;
    let x = to_f64(vm, a)?;
    if x == 0.0 || !x.is_finite() {
        return Ok(Value::tuple(vec![Value::Float(x), Value::Int(0)]));
    }
    let (mut m, mut e) = (x, 0i64);
    // Normalise subnormals first.
    if m.abs() < f64::MIN_POSITIVE {
        m *= 2f64.powi(54);
        e -= 54;
    }
    let bits = m.to_bits();
    let exp = ((bits >> 52) & 0x7ff) as i64;
    e += exp - 1022;
    let mbits = (bits & !(0x7ffu64 << 52)) | (1022u64 << 52);
    Ok(Value::tuple(vec![
        Value::Float(f64::from_bits(mbits)),
        Value::Int(e),
    ]))
}

fn m_ldexp(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let (a, b) = two_args(vm, "ldexp", args, kw)?;
    let x = to_f64(vm, a)?;
    let e = match b {
        Value::Int(_) | Value::Bool(_) | Value::BigInt(_) => to_bigint(vm, b)?,
        _ => return Err(vm.type_error("Expected an int as second argument to ldexp.")),
    };
    if x == 0.0 || !x.is_finite() {
        return Ok(Value::Float(x));
    }
    let e = e
        .to_i64()
        .unwrap_or(if e.is_negative() { i64::MIN } else { i64::MAX });
    let e = e.clamp(-2200, 2200) as i32;
    // Scale in steps so intermediate powers stay representable.
    let mut r = x;
    let mut left = e;
    while left != 0 {
        let step = left.clamp(-1000, 1000);
        r *= 2f64.powi(step);
        left -= step;
    }
    if r.is_infinite() {
        return Err(range_err(vm));
    }
    Ok(Value::Float(r))
}

fn m_nextafter(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let (a, b) = two_args(vm, "nextafter", args, kw)?;
    let x = to_f64(vm, a)?;
    let y = to_f64(vm, b)?;
    Ok(Value::Float(next_after(x, y)))
}

fn next_after(x: f64, y: f64) -> f64 {
    if x.is_nan() || y.is_nan() {
        return f64::NAN;
    }
    if x == y {
        return y;
    }
    if x == 0.0 {
        return f64::from_bits(1).copysign(y);
    }
    let bits = x.to_bits();
    let up = (y > x) == (x > 0.0);
    f64::from_bits(if up { bits + 1 } else { bits - 1 })
}

fn m_ulp(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let a = one_arg(vm, "ulp", args, kw)?;
    let x = to_f64(vm, a)?.abs();
    if x.is_nan() || x.is_infinite() {
        return Ok(Value::Float(x));
    }
    let n = next_after(x, f64::INFINITY);
    if n.is_infinite() {
        let p = next_after(x, 0.0);
        return Ok(Value::Float(x - p));
    }
    Ok(Value::Float(n - x))
}

pub fn init(vm: &mut Vm) -> PyResult<Value> {
    let m = vm.new_module("math");
    set(&m, "pi", Value::Float(std::f64::consts::PI));
    set(&m, "e", Value::Float(std::f64::consts::E));
    set(&m, "tau", Value::Float(std::f64::consts::TAU));
    set(&m, "inf", Value::Float(f64::INFINITY));
    set(&m, "nan", Value::Float(f64::NAN));
    let fns: &[(&str, NativeFn)] = &[
        ("sqrt", m_sqrt),
        ("exp", m_exp),
        ("exp2", m_exp2),
        ("expm1", m_expm1),
        ("sin", m_sin),
        ("cos", m_cos),
        ("tan", m_tan),
        ("asin", m_asin),
        ("acos", m_acos),
        ("atan", m_atan),
        ("sinh", m_sinh),
        ("cosh", m_cosh),
        ("tanh", m_tanh),
        ("asinh", m_asinh),
        ("acosh", m_acosh),
        ("atanh", m_atanh),
        ("fabs", m_fabs),
        ("cbrt", m_cbrt),
        ("degrees", m_degrees),
        ("radians", m_radians),
        ("log", m_log),
        ("log1p", m_log1p),
        ("log2", m_log2),
        ("log10", m_log10),
        ("pow", m_pow),
        ("atan2", m_atan2),
        ("copysign", m_copysign),
        ("fmod", m_fmod),
        ("remainder", m_remainder),
        ("hypot", m_hypot),
        ("dist", m_dist),
        ("floor", m_floor),
        ("ceil", m_ceil),
        ("trunc", m_trunc),
        ("gcd", m_gcd),
        ("lcm", m_lcm),
        ("factorial", m_factorial),
        ("comb", m_comb),
        ("perm", m_perm),
        ("isqrt", m_isqrt),
        ("isclose", m_isclose),
        ("isfinite", m_isfinite),
        ("isinf", m_isinf),
        ("isnan", m_isnan),
        ("fsum", m_fsum),
        ("prod", m_prod),
        ("modf", m_modf),
        ("frexp", m_frexp),
        ("ldexp", m_ldexp),
        ("nextafter", m_nextafter),
        ("ulp", m_ulp),
    ];
    for (name, f) in fns {
        func(vm, &m, name, *f);
    }
    Ok(Value::Module(m))
}
