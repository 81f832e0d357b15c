//! Methods of `bytes`. Character classes are ASCII only, as in CPython.

use covm_vm::Vm;
use covm_vm::value::{KwArgs, PyResult, RcSlice, Value};
use num_traits::Signed;

use crate::methods::{
    add_classmethod, add_staticmethod, adjust_indices, bind_args, count_args, count_args_old,
    descriptor_error, exc_class, index_arg, no_args, one_arg, slice_bound,
};

pub fn install(vm: &mut Vm) {
    let c = vm.types.bytes.clone();
    let m: &[(&str, covm_vm::value::NativeFn)] = &[
        ("decode", bytes_decode),
        ("hex", bytes_hex),
        ("upper", bytes_upper),
        ("lower", bytes_lower),
        ("strip", bytes_strip),
        ("lstrip", bytes_lstrip),
        ("rstrip", bytes_rstrip),
        ("split", bytes_split),
        ("rsplit", bytes_rsplit),
        ("join", bytes_join),
        ("startswith", bytes_startswith),
        ("endswith", bytes_endswith),
        ("find", bytes_find),
        ("rfind", bytes_rfind),
        ("index", bytes_index),
        ("rindex", bytes_rindex),
        ("count", bytes_count),
        ("replace", bytes_replace),
        ("partition", bytes_partition),
        ("rpartition", bytes_rpartition),
        ("isdigit", bytes_isdigit),
        ("isalpha", bytes_isalpha),
        ("isalnum", bytes_isalnum),
        ("isspace", bytes_isspace),
        ("isupper", bytes_isupper),
        ("islower", bytes_islower),
        ("isascii", bytes_isascii),
        ("istitle", bytes_istitle),
        ("title", bytes_title),
        ("capitalize", bytes_capitalize),
        ("swapcase", bytes_swapcase),
        ("splitlines", bytes_splitlines),
        ("center", bytes_center),
        ("ljust", bytes_ljust),
        ("rjust", bytes_rjust),
        ("zfill", bytes_zfill),
        ("expandtabs", bytes_expandtabs),
        ("removeprefix", bytes_removeprefix),
        ("removesuffix", bytes_removesuffix),
        ("translate", bytes_translate),
    ];
    for (name, f) in m {
        vm.add_method(&c, name, *f);
    }
    add_classmethod(vm, &c, "fromhex", bytes_fromhex);
    // A staticmethod, as in CPython: `b''.maketrans(a, b)` gets no receiver.
    add_staticmethod(vm, &c, "maketrans", bytes_maketrans);
}

// ---- helpers ----------------------------------------------------------

fn this(vm: &Vm, args: &[Value], name: &str) -> PyResult<RcSlice<u8>> {
    match args.first() {
        Some(Value::Bytes(b)) => Ok(b.clone()),
        _ => Err(descriptor_error(vm, "bytes", name, args)),
    }
}

fn bytes(v: &[u8]) -> Value {
    Value::Bytes(RcSlice::from(v))
}

/// CPython's `Py_ISSPACE`: bytes methods never see Unicode spaces.
fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t'..=b'\r')
}

/// Most bytes methods reject keywords with the qualified name.
fn no_kw(vm: &Vm, name: &str, kw: &KwArgs) -> PyResult<()> {
    if kw.is_empty() {
        return Ok(());
    }
    Err(vm.type_error(&format!("bytes.{name}() takes no keyword arguments")))
}

/// A bytes argument, or `a bytes-like object is required, not 'str'`.
fn bytes_arg(vm: &Vm, v: &Value) -> PyResult<RcSlice<u8>> {
    match v {
        Value::Bytes(b) => Ok(b.clone()),
        other => Err(vm.type_error(&format!(
            "a bytes-like object is required, not '{}'",
            vm.type_name(other)
        ))),
    }
}

fn find_sub(hay: &[u8], sub: &[u8]) -> Option<usize> {
    memchr::memmem::find(hay, sub)
}

fn rfind_sub(hay: &[u8], sub: &[u8]) -> Option<usize> {
    memchr::memmem::rfind(hay, sub)
}

/// Non-overlapping occurrences of a non-empty `sub`.
fn count_matches(hay: &[u8], sub: &[u8]) -> usize {
    let mut n = 0;
    let mut i = 0;
    while let Some(j) = hay.get(i..).and_then(|h| find_sub(h, sub)) {
        n += 1;
        i += j + sub.len();
    }
    n
}

/// Appends `s`, a MemoryError rather than an abort when it cannot grow.
fn push(vm: &Vm, out: &mut Vec<u8>, s: &[u8]) -> PyResult<()> {
    out.try_reserve(s.len()).map_err(|_| vm.memory_error())?;
    out.extend_from_slice(s);
    Ok(())
}

/// An empty buffer with room for `n` bytes, MemoryError when it cannot
/// be had (`b'a'.center(2**62)`).
fn buffer(vm: &Vm, n: usize) -> PyResult<Vec<u8>> {
    let mut out = Vec::new();
    out.try_reserve_exact(n).map_err(|_| vm.memory_error())?;
    Ok(out)
}

/// Argument-clinic binding of positional-or-keyword parameters: a count
/// over the limit is reported before any keyword name is checked.
fn clinic_args(
    vm: &Vm,
    name: &str,
    args: &[Value],
    kw: &KwArgs,
    names: &[&str],
) -> PyResult<Vec<Option<Value>>> {
    let npos = args.len().saturating_sub(1);
    let total = npos + kw.len();
    let max = names.len();
    if total > max {
        let s = if max == 1 { "" } else { "s" };
        let what = if npos == 0 {
            "keyword argument"
        } else {
            "argument"
        };
        return Err(vm.type_error(&format!(
            "{name}() takes at most {max} {what}{s} ({total} given)"
        )));
    }
    bind_args(vm, name, args, kw, names)
}

/// A C `int` argument (`splitlines`' keepends, `expandtabs`' tabsize).
fn c_int_arg(vm: &mut Vm, v: &Value) -> PyResult<i64> {
    let too_big = |vm: &Vm| vm.overflow_error("Python int too large to convert to C int");
    if let Value::BigInt(_) = v {
        return Err(too_big(vm));
    }
    let n = index_arg(vm, v)?;
    if i32::try_from(n).is_err() {
        return Err(too_big(vm));
    }
    Ok(n)
}

// ---- case -------------------------------------------------------------

fn bytes_upper(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let b = this(vm, args, "upper")?;
    no_args(vm, "bytes.upper", args, kw)?;
    Ok(Value::Bytes(b.to_ascii_uppercase().into()))
}

fn bytes_lower(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let b = this(vm, args, "lower")?;
    no_args(vm, "bytes.lower", args, kw)?;
    Ok(Value::Bytes(b.to_ascii_lowercase().into()))
}

macro_rules! predicate {
    ($fname:ident, $name:literal, $test:expr) => {
        fn $fname(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
            let b = this(vm, args, $name)?;
            no_args(vm, concat!("bytes.", $name), args, kw)?;
            let test: fn(&[u8]) -> bool = $test;
            Ok(Value::Bool(test(&b)))
        }
    };
}

predicate!(bytes_isdigit, "isdigit", |b| !b.is_empty()
    && b.iter().all(u8::is_ascii_digit));
predicate!(bytes_isalpha, "isalpha", |b| !b.is_empty()
    && b.iter().all(u8::is_ascii_alphabetic));
predicate!(bytes_isalnum, "isalnum", |b| !b.is_empty()
    && b.iter().all(u8::is_ascii_alphanumeric));
predicate!(bytes_isspace, "isspace", |b| !b.is_empty()
    && b.iter().all(|&c| is_space(c)));
predicate!(bytes_isupper, "isupper", |b| b
    .iter()
    .any(u8::is_ascii_uppercase)
    && !b.iter().any(u8::is_ascii_lowercase));
predicate!(bytes_islower, "islower", |b| b
    .iter()
    .any(u8::is_ascii_lowercase)
    && !b.iter().any(u8::is_ascii_uppercase));

predicate!(bytes_isascii, "isascii", |b| b.is_ascii());
predicate!(bytes_istitle, "istitle", |b| {
    let mut cased = false;
    let mut prev_cased = false;
    for c in b {
        if c.is_ascii_uppercase() {
            if prev_cased {
                return false;
            }
            prev_cased = true;
            cased = true;
        } else if c.is_ascii_lowercase() {
            if !prev_cased {
                return false;
            }
            prev_cased = true;
            cased = true;
        } else {
            prev_cased = false;
        }
    }
    cased
});

macro_rules! mapper {
    ($fname:ident, $name:literal, $map:expr) => {
        fn $fname(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
            let b = this(vm, args, $name)?;
            no_args(vm, concat!("bytes.", $name), args, kw)?;
            let map: fn(&[u8]) -> Vec<u8> = $map;
            Ok(Value::Bytes(map(&b).into()))
        }
    };
}

mapper!(bytes_title, "title", |b| {
    let mut prev_cased = false;
    b.iter()
        .map(|&c| {
            let out = if c.is_ascii_lowercase() && !prev_cased {
                c.to_ascii_uppercase()
            } else if c.is_ascii_uppercase() && prev_cased {
                c.to_ascii_lowercase()
            } else {
                c
            };
            prev_cased = c.is_ascii_alphabetic();
            out
        })
        .collect()
});
mapper!(bytes_capitalize, "capitalize", |b| {
    b.iter()
        .enumerate()
        .map(|(i, c)| {
            if i == 0 {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect()
});
mapper!(bytes_swapcase, "swapcase", |b| {
    b.iter()
        .map(|&c| {
            if c.is_ascii_lowercase() {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect()
});

// ---- strip ------------------------------------------------------------

fn strip_impl(
    vm: &mut Vm,
    args: &[Value],
    kw: &KwArgs,
    name: &str,
    left: bool,
    right: bool,
) -> PyResult<Value> {
    let b = this(vm, args, name)?;
    no_kw(vm, name, kw)?;
    count_args(vm, name, args, kw, 0, 1)?;
    let chars = match args.get(1) {
        None | Some(Value::None) => None,
        Some(v) => Some(bytes_arg(vm, v)?),
    };
    let strip = |c: &u8| match &chars {
        None => is_space(*c),
        Some(set) => set.contains(c),
    };
    let mut s: &[u8] = &b;
    if left {
        let n = s.iter().take_while(|c| strip(c)).count();
        s = &s[n..];
    }
    if right {
        let n = s.iter().rev().take_while(|c| strip(c)).count();
        s = &s[..s.len() - n];
    }
    if s.len() == b.len() {
        return Ok(Value::Bytes(b.clone()));
    }
    Ok(bytes(s))
}

fn bytes_strip(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    strip_impl(vm, args, kw, "strip", true, true)
}

fn bytes_lstrip(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    strip_impl(vm, args, kw, "lstrip", true, false)
}

fn bytes_rstrip(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    strip_impl(vm, args, kw, "rstrip", false, true)
}

// ---- split / join -----------------------------------------------------

/// (sep, how many splits at most) of split/rsplit; a negative maxsplit
/// means no limit.
fn split_args(
    vm: &mut Vm,
    name: &str,
    args: &[Value],
    kw: &KwArgs,
) -> PyResult<(Option<RcSlice<u8>>, usize)> {
    let a = bind_args(vm, name, args, kw, &["sep", "maxsplit"])?;
    let sep = match &a[0] {
        None | Some(Value::None) => None,
        Some(v) => {
            let s = bytes_arg(vm, v)?;
            if s.is_empty() {
                return Err(vm.value_error("empty separator"));
            }
            Some(s)
        }
    };
    let limit = match &a[1] {
        None => usize::MAX,
        Some(v) => usize::try_from(index_arg(vm, v)?).unwrap_or(usize::MAX),
    };
    Ok((sep, limit))
}

fn bytes_list(parts: Vec<&[u8]>) -> Value {
    Value::list(parts.into_iter().map(bytes).collect())
}

fn bytes_split(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let b = this(vm, args, "split")?;
    let (sep, limit) = split_args(vm, "split", args, kw)?;
    let mut parts: Vec<&[u8]> = Vec::new();
    match sep {
        Some(sep) => {
            let mut rest: &[u8] = &b;
            while parts.len() < limit {
                let Some(i) = find_sub(rest, &sep) else {
                    break;
                };
                parts.push(&rest[..i]);
                rest = &rest[i + sep.len()..];
            }
            parts.push(rest);
            Ok(bytes_list(parts))
        }
        None => {
            let mut rest: &[u8] = &b;
            loop {
                let skip = rest.iter().take_while(|&&c| is_space(c)).count();
                rest = &rest[skip..];
                if rest.is_empty() {
                    break;
                }
                if parts.len() >= limit {
                    // CPython keeps the remainder's trailing spaces.
                    parts.push(rest);
                    break;
                }
                let word = rest.iter().take_while(|&&c| !is_space(c)).count();
                parts.push(&rest[..word]);
                rest = &rest[word..];
            }
            Ok(bytes_list(parts))
        }
    }
}

fn bytes_rsplit(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let b = this(vm, args, "rsplit")?;
    let (sep, limit) = split_args(vm, "rsplit", args, kw)?;
    let mut parts: Vec<&[u8]> = Vec::new();
    match sep {
        Some(sep) => {
            let mut rest: &[u8] = &b;
            while parts.len() < limit {
                let Some(i) = rfind_sub(rest, &sep) else {
                    break;
                };
                parts.push(&rest[i + sep.len()..]);
                rest = &rest[..i];
            }
            parts.push(rest);
        }
        None => {
            let mut rest: &[u8] = &b;
            loop {
                let skip = rest.iter().rev().take_while(|&&c| is_space(c)).count();
                rest = &rest[..rest.len() - skip];
                if rest.is_empty() {
                    break;
                }
                if parts.len() >= limit {
                    parts.push(rest);
                    break;
                }
                let word = rest.iter().rev().take_while(|&&c| !is_space(c)).count();
                parts.push(&rest[rest.len() - word..]);
                rest = &rest[..rest.len() - word];
            }
        }
    }
    parts.reverse();
    Ok(bytes_list(parts))
}

fn bytes_join(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let sep = this(vm, args, "join")?;
    one_arg(vm, "bytes.join", args, kw)?;
    let items: Vec<Value> = match &args[1] {
        Value::List(l) => l.borrow().clone(),
        Value::Tuple(t) => t.to_vec(),
        other => {
            if let Err(e) = vm.get_iter(other) {
                if vm.is_instance_of(&e, &vm.exc.type_error.clone()) {
                    return Err(vm.type_error("can only join an iterable"));
                }
                return Err(e);
            }
            vm.collect(other)?
        }
    };
    let mut out: Vec<u8> = Vec::new();
    for (i, it) in items.iter().enumerate() {
        match it {
            Value::Bytes(b) => {
                if i > 0 {
                    push(vm, &mut out, &sep)?;
                }
                push(vm, &mut out, b)?;
            }
            other => {
                return Err(vm.type_error(&format!(
                    "sequence item {i}: expected a bytes-like object, {} found",
                    vm.type_name(other)
                )));
            }
        }
    }
    Ok(Value::Bytes(out.into()))
}

/// Lines end at `\n`, `\r` or `\r\n` only: bytes know no Unicode breaks.
fn bytes_splitlines(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let b = this(vm, args, "splitlines")?;
    let a = clinic_args(vm, "splitlines", args, kw, &["keepends"])?;
    let keep = match &a[0] {
        None => false,
        Some(v) => c_int_arg(vm, v)? != 0,
    };
    let mut parts: Vec<&[u8]> = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        i += 1;
        if c != b'\n' && c != b'\r' {
            continue;
        }
        let eol = i - 1;
        if c == b'\r' && b.get(i) == Some(&b'\n') {
            i += 1;
        }
        parts.push(&b[start..if keep { i } else { eol }]);
        start = i;
    }
    if start < b.len() {
        parts.push(&b[start..]);
    }
    Ok(bytes_list(parts))
}

// ---- searching --------------------------------------------------------

/// The `sub` of find/count/index: bytes, or an int naming one byte.
fn sub_arg(vm: &mut Vm, v: &Value) -> PyResult<RcSlice<u8>> {
    let n = match v {
        Value::Bytes(b) => return Ok(b.clone()),
        Value::Int(i) => *i,
        Value::Bool(b) => *b as i64,
        // CPython clamps huge ints, then rejects them as out of range.
        Value::BigInt(b) => {
            if b.is_negative() {
                -1
            } else {
                256
            }
        }
        other => {
            if !(matches!(other, Value::Instance(_))
                && vm.lookup_special(other, "__index__").is_some())
            {
                return Err(vm.type_error(&format!(
                    "argument should be integer or bytes-like object, not '{}'",
                    vm.type_name(other)
                )));
            }
            index_arg(vm, other)?
        }
    };
    match u8::try_from(n) {
        Ok(c) => Ok(RcSlice::from(vec![c])),
        Err(_) => Err(vm.value_error("byte must be in range(0, 256)")),
    }
}

/// (sub, start, end), clamped, for find/count/index.
fn search_args(
    vm: &mut Vm,
    name: &str,
    len: usize,
    args: &[Value],
    kw: &KwArgs,
) -> PyResult<(RcSlice<u8>, usize, usize)> {
    no_kw(vm, name, kw)?;
    count_args_old(vm, name, args, kw, 1, 3)?;
    // CPython parses the bounds before the needle.
    let start = slice_bound(vm, args.get(2))?;
    let end = slice_bound(vm, args.get(3))?;
    let sub = sub_arg(vm, &args[1])?;
    let (a, b) = adjust_indices(start, end, len);
    Ok((sub, a as usize, b as usize))
}

fn find_impl(
    vm: &mut Vm,
    args: &[Value],
    kw: &KwArgs,
    name: &str,
    rev: bool,
    raise: bool,
) -> PyResult<Value> {
    let b = this(vm, args, name)?;
    let (sub, start, end) = search_args(vm, name, b.len(), args, kw)?;
    let found = if start > b.len() || end < start || end - start < sub.len() {
        None
    } else if rev {
        rfind_sub(&b[start..end], &sub)
    } else {
        find_sub(&b[start..end], &sub)
    };
    match found {
        Some(i) => Ok(Value::Int((start + i) as i64)),
        None if raise => Err(vm.value_error("subsection not found")),
        None => Ok(Value::Int(-1)),
    }
}

fn bytes_find(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    find_impl(vm, args, kw, "find", false, false)
}

fn bytes_rfind(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    find_impl(vm, args, kw, "rfind", true, false)
}

fn bytes_index(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    find_impl(vm, args, kw, "index", false, true)
}

fn bytes_rindex(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    find_impl(vm, args, kw, "rindex", true, true)
}

fn bytes_count(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let b = this(vm, args, "count")?;
    let (sub, start, end) = search_args(vm, "count", b.len(), args, kw)?;
    if start > b.len() || end < start || end - start < sub.len() {
        return Ok(Value::Int(0));
    }
    if sub.is_empty() {
        return Ok(Value::Int((end - start + 1) as i64));
    }
    Ok(Value::Int(count_matches(&b[start..end], &sub) as i64))
}

fn affix_impl(
    vm: &mut Vm,
    args: &[Value],
    kw: &KwArgs,
    name: &str,
    suffix: bool,
) -> PyResult<Value> {
    let b = this(vm, args, name)?;
    no_kw(vm, name, kw)?;
    count_args_old(vm, name, args, kw, 1, 3)?;
    let start = slice_bound(vm, args.get(2))?;
    let end = slice_bound(vm, args.get(3))?;
    let (start, end) = adjust_indices(start, end, b.len());
    let (start, end) = (start as usize, end as usize);
    let check = |sub: &[u8]| -> bool {
        if start > b.len() || end < start || end - start < sub.len() {
            return false;
        }
        let hay = &b[start..end];
        if suffix {
            hay.ends_with(sub)
        } else {
            hay.starts_with(sub)
        }
    };
    match &args[1] {
        Value::Bytes(sub) => Ok(Value::Bool(check(sub))),
        Value::Tuple(t) => {
            for x in t.iter() {
                if check(&bytes_arg(vm, x)?) {
                    return Ok(Value::Bool(true));
                }
            }
            Ok(Value::Bool(false))
        }
        other => Err(vm.type_error(&format!(
            "{name} first arg must be bytes or a tuple of bytes, not {}",
            vm.type_name(other)
        ))),
    }
}

fn bytes_startswith(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    affix_impl(vm, args, kw, "startswith", false)
}

fn bytes_endswith(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    affix_impl(vm, args, kw, "endswith", true)
}

// ---- replace / partition ----------------------------------------------

fn bytes_replace(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let b = this(vm, args, "replace")?;
    no_kw(vm, "replace", kw)?;
    count_args(vm, "replace", args, kw, 2, 3)?;
    let old = bytes_arg(vm, &args[1])?;
    let new = bytes_arg(vm, &args[2])?;
    let count = match args.get(3) {
        Some(v) => index_arg(vm, v)?,
        None => -1,
    };
    let limit = if count < 0 {
        usize::MAX
    } else {
        count as usize
    };
    let mut out: Vec<u8> = Vec::new();
    let mut n = 0usize;
    if old.is_empty() {
        // An empty `old` matches before every byte and at the end.
        for i in 0..=b.len() {
            if n < limit {
                push(vm, &mut out, &new)?;
                n += 1;
            }
            push(vm, &mut out, b.get(i..i + 1).unwrap_or(&[]))?;
        }
    } else {
        let mut prev = 0;
        while n < limit {
            let Some(j) = find_sub(&b[prev..], &old) else {
                break;
            };
            push(vm, &mut out, &b[prev..prev + j])?;
            push(vm, &mut out, &new)?;
            prev += j + old.len();
            n += 1;
        }
        push(vm, &mut out, &b[prev..])?;
    }
    if n == 0 {
        return Ok(Value::Bytes(b.clone()));
    }
    Ok(Value::Bytes(out.into()))
}

fn partition_impl(
    vm: &mut Vm,
    args: &[Value],
    kw: &KwArgs,
    name: &str,
    rev: bool,
) -> PyResult<Value> {
    let b = this(vm, args, name)?;
    one_arg(vm, &format!("bytes.{name}"), args, kw)?;
    let sep = bytes_arg(vm, &args[1])?;
    if sep.is_empty() {
        return Err(vm.value_error("empty separator"));
    }
    let found = if rev {
        rfind_sub(&b, &sep)
    } else {
        find_sub(&b, &sep)
    };
    let empty = || bytes(b"");
    let parts = match found {
        Some(i) => vec![
            bytes(&b[..i]),
            Value::Bytes(sep.clone()),
            bytes(&b[i + sep.len()..]),
        ],
        None if rev => vec![empty(), empty(), Value::Bytes(b.clone())],
        None => vec![Value::Bytes(b.clone()), empty(), empty()],
    };
    Ok(Value::tuple(parts))
}

fn bytes_partition(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    partition_impl(vm, args, kw, "partition", false)
}

fn bytes_rpartition(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    partition_impl(vm, args, kw, "rpartition", true)
}

fn bytes_removeprefix(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let b = this(vm, args, "removeprefix")?;
    one_arg(vm, "bytes.removeprefix", args, kw)?;
    let p = bytes_arg(vm, &args[1])?;
    match b.strip_prefix(&p[..]) {
        Some(rest) if !p.is_empty() => Ok(bytes(rest)),
        _ => Ok(Value::Bytes(b.clone())),
    }
}

fn bytes_removesuffix(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let b = this(vm, args, "removesuffix")?;
    one_arg(vm, "bytes.removesuffix", args, kw)?;
    let p = bytes_arg(vm, &args[1])?;
    match b.strip_suffix(&p[..]) {
        Some(rest) if !p.is_empty() => Ok(bytes(rest)),
        _ => Ok(Value::Bytes(b.clone())),
    }
}

// ---- padding ----------------------------------------------------------

fn pad_impl(vm: &mut Vm, args: &[Value], kw: &KwArgs, name: &str, how: char) -> PyResult<Value> {
    let b = this(vm, args, name)?;
    no_kw(vm, name, kw)?;
    count_args(vm, name, args, kw, 1, 2)?;
    let width = index_arg(vm, &args[1])?;
    let fill = match args.get(2) {
        None => b' ',
        Some(Value::Bytes(f)) if f.len() == 1 => f[0],
        Some(other) => {
            // Argument clinic names None itself, not its type.
            let ty = match other {
                Value::None => "None".to_string(),
                v => vm.type_name(v).to_string(),
            };
            return Err(vm.type_error(&format!(
                "{name}() argument 2 must be a byte string of length 1, not {ty}"
            )));
        }
    };
    let len = b.len() as i64;
    if width <= len {
        return Ok(Value::Bytes(b.clone()));
    }
    let (left, right) = crate::methods::pad_sides(width, len, how);
    let mut out = buffer(vm, width as usize)?;
    out.extend(std::iter::repeat_n(fill, left as usize));
    out.extend_from_slice(&b);
    out.extend(std::iter::repeat_n(fill, right as usize));
    Ok(Value::Bytes(out.into()))
}

fn bytes_center(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    pad_impl(vm, args, kw, "center", '^')
}

fn bytes_ljust(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    pad_impl(vm, args, kw, "ljust", '<')
}

fn bytes_rjust(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    pad_impl(vm, args, kw, "rjust", '>')
}

fn bytes_zfill(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let b = this(vm, args, "zfill")?;
    one_arg(vm, "bytes.zfill", args, kw)?;
    let width = index_arg(vm, &args[1])?;
    let len = b.len() as i64;
    if width <= len {
        return Ok(Value::Bytes(b.clone()));
    }
    let mut out = buffer(vm, width as usize)?;
    // The sign stays in front of the zeros.
    let body: &[u8] = match b.first() {
        Some(&s @ (b'+' | b'-')) => {
            out.push(s);
            &b[1..]
        }
        _ => &b,
    };
    out.extend(std::iter::repeat_n(b'0', (width - len) as usize));
    out.extend_from_slice(body);
    Ok(Value::Bytes(out.into()))
}

fn bytes_expandtabs(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let b = this(vm, args, "expandtabs")?;
    let a = clinic_args(vm, "expandtabs", args, kw, &["tabsize"])?;
    let size = match &a[0] {
        None => 8,
        Some(v) => c_int_arg(vm, v)?,
    };
    let mut out = buffer(vm, b.len())?;
    let mut col: i64 = 0;
    for &c in b.iter() {
        if c == b'\t' {
            if size > 0 {
                let n = size - col % size;
                out.try_reserve(n as usize).map_err(|_| vm.memory_error())?;
                out.extend(std::iter::repeat_n(b' ', n as usize));
                col += n;
            }
            continue;
        }
        push(vm, &mut out, &[c])?;
        col = if c == b'\n' || c == b'\r' { 0 } else { col + 1 };
    }
    Ok(Value::Bytes(out.into()))
}

// ---- translate --------------------------------------------------------

/// `translate(table, /, delete=b'')`.
fn bytes_translate(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let b = this(vm, args, "translate")?;
    let npos = args.len().saturating_sub(1);
    let total = npos + kw.len();
    if total > 2 {
        return Err(vm.type_error(&format!(
            "translate() takes at most 2 arguments ({total} given)"
        )));
    }
    if npos < 1 {
        return Err(vm.type_error(&format!(
            "translate() takes at least 1 positional argument ({npos} given)"
        )));
    }
    let mut delete = args.get(2).cloned();
    for (k, v) in kw {
        if k.as_ref() != "delete" {
            return Err(vm.type_error(&format!(
                "'{k}' is an invalid keyword argument for translate()"
            )));
        }
        delete = Some(v.clone());
    }
    let table = match &args[1] {
        Value::None => None,
        v => {
            let t = bytes_arg(vm, v)?;
            if t.len() != 256 {
                return Err(vm.value_error("translation table must be 256 characters long"));
            }
            Some(t)
        }
    };
    let delete = match &delete {
        Some(v) => bytes_arg(vm, v)?,
        None => RcSlice::from(&b""[..]),
    };
    if table.is_none() && delete.is_empty() {
        return Ok(Value::Bytes(b.clone()));
    }
    let mut gone = [false; 256];
    for &c in delete.iter() {
        gone[c as usize] = true;
    }
    let mut out = buffer(vm, b.len())?;
    for &c in b.iter() {
        if gone[c as usize] {
            continue;
        }
        out.push(match &table {
            Some(t) => t.get(c as usize).copied().unwrap_or(c),
            None => c,
        });
    }
    Ok(Value::Bytes(out.into()))
}

/// `bytes.maketrans(frm, to)`: the identity table with `frm[i]` mapped to
/// `to[i]`. A staticmethod, so `args` holds no receiver.
fn bytes_maketrans(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    no_kw(vm, "maketrans", kw)?;
    if args.len() != 2 {
        return Err(vm.type_error(&format!(
            "maketrans expected 2 arguments, got {}",
            args.len()
        )));
    }
    let frm = bytes_arg(vm, &args[0])?;
    let to = bytes_arg(vm, &args[1])?;
    if frm.len() != to.len() {
        return Err(vm.value_error("maketrans arguments must have same length"));
    }
    let mut table: Vec<u8> = (0..=255).collect();
    for (&f, &t) in frm.iter().zip(to.iter()) {
        table[f as usize] = t;
    }
    Ok(Value::Bytes(table.into()))
}

// ---- hex --------------------------------------------------------------

fn bytes_hex(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let b = this(vm, args, "hex")?;
    count_args(vm, "hex", args, kw, 0, 0)?;
    let s: String = b.iter().map(|x| format!("{x:02x}")).collect();
    Ok(Value::str(s))
}

/// `bytes.fromhex(s)`: pairs of hex digits, ASCII whitespace between pairs.
fn bytes_fromhex(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    one_arg(vm, "bytes.fromhex", args, kw)?;
    let s = match &args[1] {
        Value::Str(s) => s.clone(),
        other => {
            return Err(vm.type_error(&format!(
                "fromhex() argument must be str, not {}",
                vm.type_name(other)
            )));
        }
    };
    let chars: Vec<char> = s.as_str().chars().collect();
    let bad = |vm: &Vm, pos: usize| {
        vm.value_error(&format!(
            "non-hexadecimal number found in fromhex() arg at position {pos}"
        ))
    };
    let digit = |i: usize| chars.get(i).and_then(|c| c.to_digit(16));
    let mut out = Vec::with_capacity(chars.len() / 2);
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_ascii() && is_space(chars[i] as u8) {
            i += 1;
            continue;
        }
        let Some(hi) = digit(i) else {
            return Err(bad(vm, i));
        };
        let Some(lo) = digit(i + 1) else {
            return Err(bad(vm, i + 1));
        };
        out.push((hi * 16 + lo) as u8);
        i += 2;
    }
    Ok(Value::Bytes(out.into()))
}

// ---- decode -----------------------------------------------------------

fn bytes_decode(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let b = this(vm, args, "decode")?;
    let a = bind_args(vm, "decode", args, kw, &["encoding", "errors"])?;
    let enc = match &a[0] {
        Some(Value::Str(s)) => s.as_str().to_string(),
        _ => "utf-8".to_string(),
    };
    let errors = match &a[1] {
        Some(Value::Str(s)) => s.as_str().to_string(),
        _ => "strict".to_string(),
    };
    let norm = enc.to_ascii_lowercase().replace(['-', ' '], "_");
    match norm.as_str() {
        "utf_8" | "utf8" | "u8" => match std::str::from_utf8(&b) {
            Ok(s) => Ok(Value::str(s)),
            Err(e) => {
                if errors == "replace" {
                    return Ok(Value::str(String::from_utf8_lossy(&b).into_owned()));
                }
                if errors == "ignore" {
                    let mut out = String::new();
                    let mut rest: &[u8] = &b;
                    loop {
                        match std::str::from_utf8(rest) {
                            Ok(s) => {
                                out.push_str(s);
                                break;
                            }
                            Err(e) => {
                                let good = e.valid_up_to();
                                out.push_str(std::str::from_utf8(&rest[..good]).unwrap_or(""));
                                let skip = e.error_len().unwrap_or(rest.len() - good);
                                rest = &rest[good + skip..];
                            }
                        }
                    }
                    return Ok(Value::str(out));
                }
                let pos = e.valid_up_to();
                let byte = b.get(pos).copied().unwrap_or(0);
                let reason = match e.error_len() {
                    None => "unexpected end of data",
                    Some(_) if (0x80..0xc2).contains(&byte) || byte > 0xf4 => "invalid start byte",
                    Some(_) => "invalid continuation byte",
                };
                let cls = exc_class(vm, "UnicodeDecodeError");
                Err(vm.new_exc(
                    &cls,
                    &format!(
                        "'utf-8' codec can't decode byte 0x{byte:02x} in position {pos}: {reason}"
                    ),
                ))
            }
        },
        "ascii" | "us_ascii" => {
            let mut out = String::with_capacity(b.len());
            for (i, &c) in b.iter().enumerate() {
                if c < 128 {
                    out.push(c as char);
                } else if errors == "replace" {
                    out.push('\u{fffd}');
                } else if errors != "ignore" {
                    let cls = exc_class(vm, "UnicodeDecodeError");
                    return Err(vm.new_exc(
                        &cls,
                        &format!(
                            "'ascii' codec can't decode byte 0x{c:02x} in position {i}: ordinal not in range(128)"
                        ),
                    ));
                }
            }
            Ok(Value::str(out))
        }
        "latin_1" | "latin1" | "iso_8859_1" | "iso8859_1" | "l1" => {
            Ok(Value::str(b.iter().map(|&c| c as char).collect::<String>()))
        }
        _ => {
            let e = vm.new_exc(
                &vm.exc.lookup_error.clone(),
                &format!("unknown encoding: {enc}"),
            );
            Err(e)
        }
    }
}
