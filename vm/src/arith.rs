//! Arithmetic and the other binary/unary operators: the i64 fast path that
//! promotes to big integers instead of wrapping, floats with CPython's
//! error cases, sequences, sets, and dunder dispatch with reflection.

use std::cmp::Ordering;
use std::rc::Rc;

use covm_parser::ast::{BinOp, UnaryOp};
use num_bigint::BigInt;
use num_integer::Integer;
use num_traits::{One, Pow, Signed, ToPrimitive, Zero};

use crate::value::*;
use crate::vm::Vm;

fn big(v: &Value) -> Option<BigInt> {
    match v {
        Value::Int(i) => Some(BigInt::from(*i)),
        Value::Bool(b) => Some(BigInt::from(*b as i64)),
        Value::BigInt(b) => Some((**b).clone()),
        _ => None,
    }
}

fn as_f64(v: &Value) -> Option<f64> {
    match v {
        Value::Int(i) => Some(*i as f64),
        Value::Bool(b) => Some(*b as i64 as f64),
        Value::BigInt(b) => Some(b.to_f64().unwrap_or(f64::INFINITY)),
        Value::Float(f) => Some(*f),
        _ => None,
    }
}

fn is_int(v: &Value) -> bool {
    matches!(v, Value::Int(_) | Value::Bool(_) | Value::BigInt(_))
}

/// Compares two numbers exactly (ints against floats without rounding).
pub fn num_cmp(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => Some(x.cmp(y)),
        (Value::Float(x), Value::Float(y)) => x.partial_cmp(y),
        _ if is_int(a) && is_int(b) => Some(big(a)?.cmp(&big(b)?)),
        (Value::Float(x), _) => float_int_cmp(*x, &big(b)?),
        (_, Value::Float(y)) => float_int_cmp(*y, &big(a)?).map(Ordering::reverse),
        _ => None,
    }
}

fn float_int_cmp(x: f64, i: &BigInt) -> Option<Ordering> {
    if x.is_nan() {
        return None;
    }
    if x.is_infinite() {
        return Some(if x > 0.0 {
            Ordering::Greater
        } else {
            Ordering::Less
        });
    }
    let fl = x.floor();
    let fb = BigInt::from_signed_bytes_le(&[]) + float_to_bigint(fl);
    match fb.cmp(i) {
        Ordering::Equal => {
            if x > fl {
                Some(Ordering::Greater)
            } else {
                Some(Ordering::Equal)
            }
        }
        o => Some(o),
    }
}

/// An integral finite float as a BigInt.
pub fn float_to_bigint(x: f64) -> BigInt {
    if x.abs() < 9.0e18 {
        return BigInt::from(x as i64);
    }
    let bits = x.to_bits();
    let exp = ((bits >> 52) & 0x7ff) as i64 - 1075;
    let mant = (bits & ((1u64 << 52) - 1)) | (1u64 << 52);
    let m = BigInt::from(mant);
    let r = if exp >= 0 {
        m << exp as usize
    } else {
        m >> (-exp) as usize
    };
    if x < 0.0 { -r } else { r }
}

/// `a + b` for two ints, promoting.
pub fn add_ints(a: &Value, b: &Value) -> Value {
    if let (Value::Int(x), Value::Int(y)) = (a, b)
        && let Some(r) = x.checked_add(*y)
    {
        return Value::Int(r);
    }
    match (big(a), big(b)) {
        (Some(x), Some(y)) => Value::from_bigint(x + y),
        _ => Value::None,
    }
}

fn dunder_names(op: BinOp) -> (&'static str, &'static str, &'static str) {
    match op {
        BinOp::Add => ("__add__", "__radd__", "__iadd__"),
        BinOp::Sub => ("__sub__", "__rsub__", "__isub__"),
        BinOp::Mult => ("__mul__", "__rmul__", "__imul__"),
        BinOp::MatMult => ("__matmul__", "__rmatmul__", "__imatmul__"),
        BinOp::Div => ("__truediv__", "__rtruediv__", "__itruediv__"),
        BinOp::Mod => ("__mod__", "__rmod__", "__imod__"),
        BinOp::Pow => ("__pow__", "__rpow__", "__ipow__"),
        BinOp::LShift => ("__lshift__", "__rlshift__", "__ilshift__"),
        BinOp::RShift => ("__rshift__", "__rrshift__", "__irshift__"),
        BinOp::BitOr => ("__or__", "__ror__", "__ior__"),
        BinOp::BitXor => ("__xor__", "__rxor__", "__ixor__"),
        BinOp::BitAnd => ("__and__", "__rand__", "__iand__"),
        BinOp::FloorDiv => ("__floordiv__", "__rfloordiv__", "__ifloordiv__"),
    }
}

impl Vm {
    pub fn binary_op(&mut self, op: BinOp, a: &Value, b: &Value) -> PyResult<Value> {
        // Small-int fast path.
        if let (Value::Int(x), Value::Int(y)) = (a, b) {
            let (x, y) = (*x, *y);
            let r = match op {
                BinOp::Add => x.checked_add(y),
                BinOp::Sub => x.checked_sub(y),
                BinOp::Mult => x.checked_mul(y),
                BinOp::FloorDiv if y != 0 && !(x == i64::MIN && y == -1) => {
                    Some(Integer::div_floor(&x, &y))
                }
                BinOp::Mod if y != 0 && y != -1 => Some(Integer::mod_floor(&x, &y)),
                BinOp::BitAnd => Some(x & y),
                BinOp::BitOr => Some(x | y),
                BinOp::BitXor => Some(x ^ y),
                _ => None,
            };
            if let Some(r) = r {
                return Ok(Value::Int(r));
            }
        }
        if let (Value::Float(x), Value::Float(y)) = (a, b) {
            match op {
                BinOp::Add => return Ok(Value::Float(x + y)),
                BinOp::Sub => return Ok(Value::Float(x - y)),
                BinOp::Mult => return Ok(Value::Float(x * y)),
                _ => {}
            }
        }
        if let Some(v) = self.builtin_binary(op, a, b)? {
            return Ok(v);
        }
        self.dunder_binary(op, a, b)
    }

    fn dunder_binary(&mut self, op: BinOp, a: &Value, b: &Value) -> PyResult<Value> {
        let (name, rname, _) = dunder_names(op);
        let user = |v: &Value| matches!(v, Value::Instance(_) | Value::Native(_));
        if user(a) || user(b) {
            let b_sub = user(b)
                && !Rc::ptr_eq(&self.type_of(a), &self.type_of(b))
                && self.is_subclass(&self.type_of(b), &self.type_of(a));
            let tries: [(&Value, &Value, &str); 2] = if b_sub {
                [(b, a, rname), (a, b, name)]
            } else {
                [(a, b, name), (b, a, rname)]
            };
            for (x, y, m) in tries {
                if !user(x) {
                    continue;
                }
                if let Some(f) = self.lookup_special(x, m) {
                    let r = self.call(&f, vec![x.clone(), y.clone()])?;
                    if !matches!(r, Value::NotImplemented) {
                        return Ok(r);
                    }
                }
            }
        }
        if op == BinOp::BitOr && crate::class_hooks::is_type_union(a, b) {
            return self.stdlib_types_call("_union", vec![a.clone(), b.clone()]);
        }
        Err(self.binop_type_error(op, a, b))
    }

    fn binop_type_error(&self, op: BinOp, a: &Value, b: &Value) -> Value {
        let (ta, tb) = (self.type_name(a), self.type_name(b));
        if op == BinOp::Add {
            if let Value::Str(_) = a {
                return self.type_error(&format!("can only concatenate str (not \"{tb}\") to str"));
            }
            if let Value::List(_) = a {
                return self
                    .type_error(&format!("can only concatenate list (not \"{tb}\") to list"));
            }
            if let Value::Tuple(_) = a {
                return self.type_error(&format!(
                    "can only concatenate tuple (not \"{tb}\") to tuple"
                ));
            }
        }
        if op == BinOp::Mult {
            let seq = |v: &Value| {
                matches!(
                    v,
                    Value::Str(_) | Value::List(_) | Value::Tuple(_) | Value::Bytes(_)
                )
            };
            if seq(a) && !is_int(b) && !matches!(b, Value::Instance(_) | Value::Native(_)) {
                return self.type_error(&format!(
                    "can't multiply sequence by non-int of type '{tb}'"
                ));
            }
            if seq(b) && !is_int(a) && !matches!(a, Value::Instance(_) | Value::Native(_)) {
                return self.type_error(&format!(
                    "can't multiply sequence by non-int of type '{ta}'"
                ));
            }
        }
        let sym = if op == BinOp::Pow {
            "** or pow()"
        } else {
            op.symbol()
        };
        self.type_error(&format!(
            "unsupported operand type(s) for {sym}: '{ta}' and '{tb}'"
        ))
    }

    /// Built-in types' operators; `None` when not applicable.
    fn builtin_binary(&mut self, op: BinOp, a: &Value, b: &Value) -> PyResult<Option<Value>> {
        if is_int(a) && is_int(b) {
            return self.int_op(op, a, b).map(Some);
        }
        let numeric = |v: &Value| is_int(v) || matches!(v, Value::Float(_));
        if numeric(a) && numeric(b) {
            return self
                .float_op(op, as_f64(a).unwrap_or(0.0), as_f64(b).unwrap_or(0.0), a, b)
                .map(Some);
        }
        Ok(match (op, a, b) {
            (BinOp::Add, Value::Str(x), Value::Str(y)) => {
                let mut s = String::with_capacity(x.s.len() + y.s.len());
                s.push_str(x.as_str());
                s.push_str(y.as_str());
                Some(Value::str(s))
            }
            (BinOp::Add, Value::List(x), Value::List(y)) => {
                let mut v = x.borrow().clone();
                v.extend(y.borrow().iter().cloned());
                Some(Value::list(v))
            }
            (BinOp::Add, Value::Tuple(x), Value::Tuple(y)) => {
                let mut v = x.to_vec();
                v.extend(y.iter().cloned());
                Some(Value::tuple(v))
            }
            (BinOp::Add, Value::Bytes(x), Value::Bytes(y)) => {
                let mut v = x.to_vec();
                v.extend_from_slice(y);
                Some(Value::Bytes(v.into()))
            }
            (
                BinOp::Mult,
                Value::Str(_) | Value::List(_) | Value::Tuple(_) | Value::Bytes(_),
                n,
            ) if is_int(n) => Some(self.repeat(a, n)?),
            (
                BinOp::Mult,
                n,
                Value::Str(_) | Value::List(_) | Value::Tuple(_) | Value::Bytes(_),
            ) if is_int(n) => Some(self.repeat(b, n)?),
            (BinOp::Mod, Value::Str(s), _) => Some(Value::str(crate::strformat::percent_format(
                self,
                s.as_str(),
                b,
            )?)),
            (
                BinOp::BitOr | BinOp::BitAnd | BinOp::Sub | BinOp::BitXor,
                Value::Set(x) | Value::FrozenSet(x),
                Value::Set(y) | Value::FrozenSet(y),
            ) => {
                let r = self.set_op(op, x, y)?;
                Some(if matches!(a, Value::FrozenSet(_)) {
                    Value::FrozenSet(r)
                } else {
                    Value::Set(r)
                })
            }
            (BinOp::BitOr, Value::Dict(x), Value::Dict(y)) => {
                let d = Rc::new(std::cell::RefCell::new(x.borrow().clone()));
                for (k, v) in y.borrow().items() {
                    crate::dict::set(self, &d, k, v)?;
                }
                Some(Value::Dict(d))
            }
            _ => None,
        })
    }

    fn set_op(
        &mut self,
        op: BinOp,
        x: &Rc<std::cell::RefCell<crate::dict::Dict>>,
        y: &Rc<std::cell::RefCell<crate::dict::Dict>>,
    ) -> PyResult<Rc<std::cell::RefCell<crate::dict::Dict>>> {
        let out = Rc::new(std::cell::RefCell::new(crate::dict::Dict::new()));
        let xs = x.borrow().keys();
        let ys = y.borrow().keys();
        match op {
            BinOp::BitOr => {
                for k in xs.into_iter().chain(ys) {
                    crate::dict::add(self, &out, k)?;
                }
            }
            BinOp::BitAnd => {
                for k in xs {
                    if crate::dict::contains(self, y, &k)? {
                        crate::dict::add(self, &out, k)?;
                    }
                }
            }
            BinOp::Sub => {
                for k in xs {
                    if !crate::dict::contains(self, y, &k)? {
                        crate::dict::add(self, &out, k)?;
                    }
                }
            }
            _ => {
                for k in xs {
                    if !crate::dict::contains(self, y, &k)? {
                        crate::dict::add(self, &out, k)?;
                    }
                }
                for k in ys {
                    if !crate::dict::contains(self, x, &k)? {
                        crate::dict::add(self, &out, k)?;
                    }
                }
            }
        }
        Ok(out)
    }

    fn repeat(&mut self, seq: &Value, n: &Value) -> PyResult<Value> {
        let n = match n {
            Value::Int(i) => *i,
            Value::Bool(b) => *b as i64,
            _ => {
                return Err(self.overflow_error("cannot fit 'int' into an index-sized integer"));
            }
        };
        let n = n.max(0) as usize;
        let len = self.len(seq)?;
        if len.saturating_mul(n) > isize::MAX as usize {
            match seq {
                Value::Str(_) => return Err(self.overflow_error("repeated string is too long")),
                Value::Bytes(_) => return Err(self.overflow_error("repeated bytes are too long")),
                _ => {}
            }
        }
        if len.saturating_mul(n) > 1 << 32 {
            return Err(self.new_exc(&self.exc.memory_error.clone(), ""));
        }
        match seq {
            Value::Str(s) => self.check_alloc::<u8>(s.s.len().saturating_mul(n))?,
            Value::Bytes(_) => self.check_alloc::<u8>(len.saturating_mul(n))?,
            _ => self.check_alloc::<Value>(len.saturating_mul(n))?,
        }
        Ok(match seq {
            Value::Str(s) => Value::str(s.as_str().repeat(n)),
            Value::List(l) => {
                let items = l.borrow();
                let mut v = Vec::with_capacity(items.len() * n);
                for _ in 0..n {
                    v.extend(items.iter().cloned());
                }
                Value::list(v)
            }
            Value::Tuple(t) => {
                let mut v = Vec::with_capacity(t.len() * n);
                for _ in 0..n {
                    v.extend(t.iter().cloned());
                }
                Value::tuple(v)
            }
            Value::Bytes(b) => Value::Bytes(b.repeat(n).into()),
            _ => Value::None,
        })
    }

    fn int_op(&mut self, op: BinOp, a: &Value, b: &Value) -> PyResult<Value> {
        // Bools combine to bools under & | ^.
        if let (Value::Bool(x), Value::Bool(y)) = (a, b) {
            match op {
                BinOp::BitAnd => return Ok(Value::Bool(x & y)),
                BinOp::BitOr => return Ok(Value::Bool(x | y)),
                BinOp::BitXor => return Ok(Value::Bool(x ^ y)),
                _ => {}
            }
        }
        let (Some(x), Some(y)) = (big(a), big(b)) else {
            return Err(self.binop_type_error(op, a, b));
        };
        Ok(match op {
            BinOp::Add => Value::from_bigint(x + y),
            BinOp::Sub => Value::from_bigint(x - y),
            BinOp::Mult => Value::from_bigint(x * y),
            BinOp::FloorDiv => {
                if y.is_zero() {
                    return Err(self.zero_division("integer division or modulo by zero"));
                }
                Value::from_bigint(x.div_floor(&y))
            }
            BinOp::Mod => {
                if y.is_zero() {
                    return Err(self.zero_division("integer modulo by zero"));
                }
                Value::from_bigint(x.mod_floor(&y))
            }
            BinOp::Div => {
                if y.is_zero() {
                    return Err(self.zero_division("division by zero"));
                }
                Value::Float(int_true_div(&x, &y).map_err(|m| self.overflow_error(&m))?)
            }
            BinOp::Pow => {
                if y.is_negative() {
                    let (fx, fy) = (as_f64(a).unwrap_or(0.0), as_f64(b).unwrap_or(0.0));
                    if fx == 0.0 {
                        return Err(self.zero_division("0.0 cannot be raised to a negative power"));
                    }
                    return Ok(Value::Float(fx.powf(fy)));
                }
                let e = match y.to_u32() {
                    Some(e) => e,
                    None => {
                        if x.is_zero() || x.is_one() {
                            return Ok(Value::from_bigint(x));
                        }
                        if x == BigInt::from(-1) {
                            return Ok(Value::Int(if y.is_even() { 1 } else { -1 }));
                        }
                        return Err(self.new_exc(&self.exc.memory_error.clone(), ""));
                    }
                };
                if x.bits() * u64::from(e) > 64_000_000 {
                    return Err(self.new_exc(&self.exc.memory_error.clone(), ""));
                }
                if let (Value::Int(xi), true) = (a, e < 64)
                    && let Some(r) = xi.checked_pow(e)
                {
                    return Ok(Value::Int(r));
                }
                Value::from_bigint(Pow::pow(x, e))
            }
            BinOp::LShift => {
                if y.is_negative() {
                    return Err(self.value_error("negative shift count"));
                }
                let s = y.to_usize().unwrap_or(usize::MAX);
                if x.is_zero() {
                    return Ok(Value::Int(0));
                }
                // A cap on what one shift may allocate; past it CPython's
                // own allocation fails for 2**63 and more.
                if s > 64_000_000 {
                    return Err(self.memory_error());
                }
                Value::from_bigint(x << s)
            }
            BinOp::RShift => {
                if y.is_negative() {
                    return Err(self.value_error("negative shift count"));
                }
                let s = y.to_usize().unwrap_or(usize::MAX);
                if s >= 1 << 20 {
                    return Ok(Value::Int(if x.is_negative() { -1 } else { 0 }));
                }
                // Arithmetic shift: floor division by 2**s.
                Value::from_bigint(x.div_floor(&(BigInt::one() << s)))
            }
            BinOp::BitAnd => Value::from_bigint(x & y),
            BinOp::BitOr => Value::from_bigint(x | y),
            BinOp::BitXor => Value::from_bigint(x ^ y),
            BinOp::MatMult => return Err(self.binop_type_error(op, a, b)),
        })
    }

    fn float_op(&mut self, op: BinOp, x: f64, y: f64, a: &Value, b: &Value) -> PyResult<Value> {
        if let Value::BigInt(bi) = a
            && bi.to_f64().is_none_or(|f| f.is_infinite())
        {
            return Err(self.overflow_error("int too large to convert to float"));
        }
        if let Value::BigInt(bi) = b
            && bi.to_f64().is_none_or(|f| f.is_infinite())
        {
            return Err(self.overflow_error("int too large to convert to float"));
        }
        Ok(Value::Float(match op {
            BinOp::Add => x + y,
            BinOp::Sub => x - y,
            BinOp::Mult => x * y,
            BinOp::Div => {
                if y == 0.0 {
                    return Err(self.zero_division("float division by zero"));
                }
                x / y
            }
            BinOp::FloorDiv => {
                if y == 0.0 {
                    return Err(self.zero_division("float floor division by zero"));
                }
                float_divmod(x, y).0
            }
            BinOp::Mod => {
                if y == 0.0 {
                    return Err(self.zero_division("float modulo"));
                }
                float_divmod(x, y).1
            }
            BinOp::Pow => {
                if x == 0.0 && y < 0.0 {
                    return Err(self.zero_division("0.0 cannot be raised to a negative power"));
                }
                if x < 0.0 && y.fract() != 0.0 && y.is_finite() {
                    return Err(self.value_error("covm does not support complex numbers"));
                }
                let r = x.powf(y);
                if r.is_infinite() && x.is_finite() && y.is_finite() {
                    return Err(self.overflow_error("(34, 'Numerical result out of range')"));
                }
                r
            }
            _ => return Err(self.binop_type_error(op, a, b)),
        }))
    }

    pub fn inplace_op(&mut self, op: BinOp, a: Value, b: &Value) -> PyResult<Value> {
        match (&a, op) {
            (Value::List(l), BinOp::Add) => {
                let items = self.collect(b)?;
                l.borrow_mut().extend(items);
                return Ok(a);
            }
            (Value::List(l), BinOp::Mult) if is_int(b) => {
                let n = match b {
                    Value::Int(i) => (*i).max(0) as usize,
                    Value::Bool(x) => *x as usize,
                    _ => 0,
                };
                let mut items = l.borrow().clone();
                let mut lb = l.borrow_mut();
                lb.clear();
                for _ in 0..n {
                    lb.extend(items.iter().cloned());
                }
                drop(lb);
                // `l *= 0` frees the items from the last, as `list.clear`.
                crate::value::release_from_last(&mut items);
                return Ok(a);
            }
            (Value::Set(s), BinOp::BitOr | BinOp::BitAnd | BinOp::Sub | BinOp::BitXor) => {
                if let Value::Set(o) | Value::FrozenSet(o) = b {
                    let r = self.set_op(op, s, o)?;
                    let new = r.borrow().clone();
                    *s.borrow_mut() = new;
                    return Ok(a);
                }
            }
            (Value::Dict(d), BinOp::BitOr) => {
                if let Value::Dict(o) = b {
                    for (k, v) in o.borrow().items() {
                        crate::dict::set(self, d, k, v)?;
                    }
                    return Ok(a);
                }
                // `d |= other` takes anything `d.update(other)` takes.
                self.call_method(&a, "update", vec![b.clone()])?;
                return Ok(a);
            }
            (Value::Instance(_) | Value::Native(_), _) => {
                let (_, _, iname) = dunder_names(op);
                if let Some(f) = self.lookup_special(&a, iname) {
                    let r = self.call(&f, vec![a.clone(), b.clone()])?;
                    if !matches!(r, Value::NotImplemented) {
                        return Ok(r);
                    }
                }
            }
            _ => {}
        }
        match self.binary_op(op, &a, b) {
            Ok(v) => Ok(v),
            Err(e) => {
                // CPython words the in-place operator in the message.
                let msg = format!(
                    "unsupported operand type(s) for {}=: '{}' and '{}'",
                    op.symbol(),
                    self.type_name(&a),
                    self.type_name(b)
                );
                let plain = format!(
                    "unsupported operand type(s) for {}: '{}' and '{}'",
                    if op == BinOp::Pow {
                        "** or pow()"
                    } else {
                        op.symbol()
                    },
                    self.type_name(&a),
                    self.type_name(b)
                );
                if self
                    .exc_args(&e)
                    .first()
                    .and_then(|m| m.as_str().map(|s| s == plain))
                    == Some(true)
                {
                    return Err(self.type_error(&msg));
                }
                Err(e)
            }
        }
    }

    pub fn unary_op(&mut self, op: UnaryOp, a: &Value) -> PyResult<Value> {
        match (op, a) {
            (UnaryOp::Not, _) => Ok(Value::Bool(!self.truthy(a)?)),
            (UnaryOp::USub, Value::Int(i)) => Ok(match i.checked_neg() {
                Some(n) => Value::Int(n),
                None => Value::from_bigint(-BigInt::from(*i)),
            }),
            (UnaryOp::USub, Value::Bool(b)) => Ok(Value::Int(-(*b as i64))),
            (UnaryOp::USub, Value::BigInt(b)) => Ok(Value::from_bigint(-(**b).clone())),
            (UnaryOp::USub, Value::Float(f)) => Ok(Value::Float(-f)),
            (UnaryOp::UAdd, Value::Int(_) | Value::BigInt(_) | Value::Float(_)) => Ok(a.clone()),
            (UnaryOp::UAdd, Value::Bool(b)) => Ok(Value::Int(*b as i64)),
            (UnaryOp::Invert, Value::Int(i)) => Ok(Value::Int(!i)),
            (UnaryOp::Invert, Value::Bool(b)) => Ok(Value::Int(!(*b as i64))),
            (UnaryOp::Invert, Value::BigInt(b)) => Ok(Value::from_bigint(-(**b).clone() - 1)),
            _ => {
                let (name, sym) = match op {
                    UnaryOp::USub => ("__neg__", "-"),
                    UnaryOp::UAdd => ("__pos__", "+"),
                    UnaryOp::Invert => ("__invert__", "~"),
                    UnaryOp::Not => ("__bool__", "not"),
                };
                if let Some(f) = self.lookup_special(a, name) {
                    return self.call(&f, vec![a.clone()]);
                }
                let msg = format!("bad operand type for unary {sym}: '{}'", self.type_name(a));
                Err(self.type_error(&msg))
            }
        }
    }
}

/// Python's float divmod: the remainder has the divisor's sign.
pub fn float_divmod(x: f64, y: f64) -> (f64, f64) {
    let mut m = x % y;
    let mut div = (x - m) / y;
    if m != 0.0 {
        if (y < 0.0) != (m < 0.0) {
            m += y;
            div -= 1.0;
        }
    } else {
        m = 0.0f64.copysign(y);
    }
    let floordiv = if div != 0.0 {
        let f = div.floor();
        if div - f > 0.5 { f + 1.0 } else { f }
    } else {
        0.0f64.copysign(x / y)
    };
    (floordiv, m)
}

/// Correctly rounded int / int.
pub fn int_true_div(x: &BigInt, y: &BigInt) -> Result<f64, String> {
    if let (Some(a), Some(b)) = (x.to_i64(), y.to_i64())
        && a.unsigned_abs() < (1 << 53)
        && b.unsigned_abs() < (1 << 53)
    {
        return Ok(a as f64 / b as f64);
    }
    let neg = x.is_negative() != y.is_negative();
    let (a, b) = (x.abs(), y.abs());
    // Scale so the quotient has 64+ significant bits, then round once.
    let shift = b.bits() as i64 - a.bits() as i64 + 66;
    let (num, den) = if shift >= 0 {
        (a << shift as usize, b)
    } else {
        (a, b << (-shift) as usize)
    };
    let (q, r) = num.div_rem(&den);
    let mut q = q;
    if !r.is_zero() {
        q |= BigInt::one();
    }
    let qf = q.to_f64().unwrap_or(f64::INFINITY);
    let result = qf * 2f64.powi(-(shift as i32).clamp(-2000, 2000));
    let result = if shift.abs() > 2000 {
        if shift > 0 { 0.0 } else { f64::INFINITY }
    } else {
        result
    };
    if result.is_infinite() {
        return Err("integer division result too large for a float".into());
    }
    Ok(if neg { -result } else { result })
}
