//! Methods of `int` and `float`.

use covm_vm::Vm;
use covm_vm::value::{KwArgs, PyResult, Value};
use num_bigint::{BigInt, Sign};
use num_traits::{Signed, Zero};

use crate::methods::{add_classmethod, bind_args, descriptor_error, index_arg, no_args};

pub fn install(vm: &mut Vm) {
    let i = vm.types.int.clone();
    vm.add_method(&i, "bit_length", int_bit_length);
    vm.add_method(&i, "bit_count", int_bit_count);
    vm.add_method(&i, "conjugate", int_conjugate);
    vm.add_method(&i, "as_integer_ratio", int_as_integer_ratio);
    vm.add_method(&i, "to_bytes", int_to_bytes);
    add_classmethod(vm, &i, "from_bytes", int_from_bytes);
    let f = vm.types.float.clone();
    vm.add_method(&f, "is_integer", float_is_integer);
    vm.add_method(&f, "as_integer_ratio", float_as_integer_ratio);
    vm.add_method(&f, "conjugate", float_conjugate);
    vm.add_method(&f, "hex", float_hex);
}

fn int_this(vm: &Vm, args: &[Value], name: &str) -> PyResult<BigInt> {
    match args.first() {
        Some(Value::Int(i)) => Ok(BigInt::from(*i)),
        Some(Value::Bool(b)) => Ok(BigInt::from(*b as i64)),
        Some(Value::BigInt(b)) => Ok((**b).clone()),
        _ => Err(descriptor_error(vm, "int", name, args)),
    }
}

fn int_bit_length(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let n = int_this(vm, args, "bit_length")?;
    no_args(vm, "int.bit_length", args, kw)?;
    Ok(Value::Int(n.abs().bits() as i64))
}

fn int_bit_count(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let n = int_this(vm, args, "bit_count")?;
    no_args(vm, "int.bit_count", args, kw)?;
    let (_, bytes) = n.to_bytes_le();
    Ok(Value::Int(
        bytes.iter().map(|b| b.count_ones() as i64).sum(),
    ))
}

fn int_conjugate(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let n = int_this(vm, args, "conjugate")?;
    no_args(vm, "int.conjugate", args, kw)?;
    Ok(Value::from_bigint(n))
}

fn int_as_integer_ratio(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let n = int_this(vm, args, "as_integer_ratio")?;
    no_args(vm, "int.as_integer_ratio", args, kw)?;
    Ok(Value::tuple(vec![Value::from_bigint(n), Value::Int(1)]))
}

fn byteorder_arg(vm: &Vm, v: Option<&Value>) -> PyResult<bool> {
    match v {
        None => Ok(false),
        Some(Value::Str(s)) => match s.as_str() {
            "big" => Ok(false),
            "little" => Ok(true),
            _ => Err(vm.value_error("byteorder must be either 'little' or 'big'")),
        },
        Some(other) => Err(vm.type_error(&format!(
            "to_bytes() argument 'byteorder' must be str, not {}",
            vm.type_name(other)
        ))),
    }
}

fn int_to_bytes(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let n = int_this(vm, args, "to_bytes")?;
    let a = bind_args(vm, "to_bytes", args, kw, &["length", "byteorder", "signed"])?;
    let length = match &a[0] {
        Some(v) => index_arg(vm, v)?,
        None => 1,
    };
    if length < 0 {
        return Err(vm.value_error("length argument must be non-negative"));
    }
    let little = byteorder_arg(vm, a[1].as_ref())?;
    let signed = match &a[2] {
        Some(v) => vm.truthy(v)?,
        None => false,
    };
    if !signed && n.is_negative() {
        return Err(vm.overflow_error("can't convert negative int to unsigned"));
    }
    let mut bytes = if signed {
        n.to_signed_bytes_le()
    } else {
        n.to_bytes_le().1
    };
    if n.is_zero() {
        bytes.clear();
    }
    let length = length as usize;
    if bytes.len() > length {
        return Err(vm.overflow_error("int too big to convert"));
    }
    bytes
        .try_reserve_exact(length - bytes.len())
        .map_err(|_| vm.memory_error())?;
    let pad = if n.is_negative() { 0xff } else { 0 };
    bytes.resize(length, pad);
    if !little {
        bytes.reverse();
    }
    Ok(Value::Bytes(bytes.into()))
}

fn int_from_bytes(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let a = bind_args(
        vm,
        "from_bytes",
        args,
        kw,
        &["bytes", "byteorder", "signed"],
    )?;
    let data: Vec<u8> = match &a[0] {
        Some(Value::Bytes(b)) => b.to_vec(),
        Some(other) => {
            let items = vm.collect(other)?;
            let mut out = Vec::with_capacity(items.len());
            for it in items {
                let x = index_arg(vm, &it)?;
                if !(0..=255).contains(&x) {
                    return Err(vm.value_error("bytes must be in range(0, 256)"));
                }
                out.push(x as u8);
            }
            out
        }
        None => {
            return Err(vm.type_error("from_bytes() missing required argument 'bytes' (pos 1)"));
        }
    };
    let little = byteorder_arg(vm, a[1].as_ref())?;
    let signed = match &a[2] {
        Some(v) => vm.truthy(v)?,
        None => false,
    };
    let n = match (signed, little) {
        (true, true) => BigInt::from_signed_bytes_le(&data),
        (true, false) => BigInt::from_signed_bytes_be(&data),
        (false, true) => BigInt::from_bytes_le(Sign::Plus, &data),
        (false, false) => BigInt::from_bytes_be(Sign::Plus, &data),
    };
    Ok(Value::from_bigint(n))
}

fn float_this(vm: &Vm, args: &[Value], name: &str) -> PyResult<f64> {
    match args.first() {
        Some(Value::Float(f)) => Ok(*f),
        _ => Err(descriptor_error(vm, "float", name, args)),
    }
}

fn float_is_integer(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let f = float_this(vm, args, "is_integer")?;
    no_args(vm, "float.is_integer", args, kw)?;
    Ok(Value::Bool(f.is_finite() && f.fract() == 0.0))
}

fn float_conjugate(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let f = float_this(vm, args, "conjugate")?;
    no_args(vm, "float.conjugate", args, kw)?;
    Ok(Value::Float(f))
}

fn float_as_integer_ratio(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let f = float_this(vm, args, "as_integer_ratio")?;
    no_args(vm, "float.as_integer_ratio", args, kw)?;
    if f.is_nan() {
        return Err(vm.value_error("cannot convert NaN to integer ratio"));
    }
    if f.is_infinite() {
        return Err(vm.overflow_error("cannot convert Infinity to integer ratio"));
    }
    if f == 0.0 {
        return Ok(Value::tuple(vec![Value::Int(0), Value::Int(1)]));
    }
    let bits = f.to_bits();
    let neg = bits >> 63 != 0;
    let exp = ((bits >> 52) & 0x7ff) as i64;
    let frac = bits & ((1u64 << 52) - 1);
    let (mut mant, mut e) = if exp == 0 {
        (frac, -1074i64)
    } else {
        (frac | (1u64 << 52), exp - 1075)
    };
    while mant & 1 == 0 && e < 0 {
        mant >>= 1;
        e += 1;
    }
    let mut num = BigInt::from(mant);
    let mut den = BigInt::from(1);
    if e > 0 {
        num <<= e as usize;
    } else {
        den <<= (-e) as usize;
    }
    if neg {
        num = -num;
    }
    Ok(Value::tuple(vec![
        Value::from_bigint(num),
        Value::from_bigint(den),
    ]))
}

fn float_hex(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let f = float_this(vm, args, "hex")?;
    no_args(vm, "float.hex", args, kw)?;
    if f.is_nan() {
        return Ok(Value::str("nan"));
    }
    if f.is_infinite() {
        return Ok(Value::str(if f > 0.0 { "inf" } else { "-inf" }));
    }
    let sign = if f.is_sign_negative() { "-" } else { "" };
    if f == 0.0 {
        return Ok(Value::str(format!("{sign}0x0.0p+0")));
    }
    let bits = f.to_bits();
    let exp = ((bits >> 52) & 0x7ff) as i64;
    let frac = bits & ((1u64 << 52) - 1);
    let (lead, e) = if exp == 0 {
        (0, -1022)
    } else {
        (1, exp - 1023)
    };
    let hex = format!("{frac:013x}");
    let es = if e >= 0 {
        format!("+{e}")
    } else {
        e.to_string()
    };
    Ok(Value::str(format!("{sign}0x{lead}.{hex}p{es}")))
}
