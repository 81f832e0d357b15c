//! Methods of `str`. Indexes are in code points, as Python counts.

use std::rc::Rc;

use covm_vm::Vm;
use covm_vm::dict;
use covm_vm::value::{KwArgs, PyResult, PyStr, Value};

use crate::methods::{
    add_staticmethod, adjust_indices, bind_args, count_args, count_args_old, descriptor_error,
    exc_class, index_arg, no_args, one_arg, slice_bound,
};

pub fn install(vm: &mut Vm) {
    let c = vm.types.str_.clone();
    let m: &[(&str, covm_vm::value::NativeFn)] = &[
        ("format", str_format),
        ("format_map", str_format_map),
        ("join", str_join),
        ("split", str_split),
        ("rsplit", str_rsplit),
        ("splitlines", str_splitlines),
        ("strip", str_strip),
        ("lstrip", str_lstrip),
        ("rstrip", str_rstrip),
        ("replace", str_replace),
        ("find", str_find),
        ("rfind", str_rfind),
        ("index", str_index),
        ("rindex", str_rindex),
        ("count", str_count),
        ("startswith", str_startswith),
        ("endswith", str_endswith),
        ("upper", str_upper),
        ("lower", str_lower),
        ("title", str_title),
        ("capitalize", str_capitalize),
        ("swapcase", str_swapcase),
        ("casefold", str_casefold),
        ("isdigit", str_isdigit),
        ("isdecimal", str_isdecimal),
        ("isnumeric", str_isnumeric),
        ("isalpha", str_isalpha),
        ("isalnum", str_isalnum),
        ("isspace", str_isspace),
        ("isupper", str_isupper),
        ("islower", str_islower),
        ("istitle", str_istitle),
        ("isidentifier", str_isidentifier),
        ("isprintable", str_isprintable),
        ("isascii", str_isascii),
        ("center", str_center),
        ("ljust", str_ljust),
        ("rjust", str_rjust),
        ("zfill", str_zfill),
        ("partition", str_partition),
        ("rpartition", str_rpartition),
        ("expandtabs", str_expandtabs),
        ("removeprefix", str_removeprefix),
        ("removesuffix", str_removesuffix),
        ("encode", str_encode),
        ("translate", str_translate),
    ];
    for (name, f) in m {
        vm.add_method(&c, name, *f);
    }
    add_staticmethod(vm, &c, "maketrans", str_maketrans);
}

// ---- helpers ----------------------------------------------------------

fn this(vm: &Vm, args: &[Value], name: &str) -> PyResult<Rc<PyStr>> {
    match args.first() {
        Some(Value::Str(s)) => Ok(s.clone()),
        _ => Err(descriptor_error(vm, "str", name, args)),
    }
}

fn new_str(s: String) -> Value {
    Value::str(s)
}

/// Python's whitespace (`str.isspace`).
pub(crate) fn py_space(c: char) -> bool {
    c.is_whitespace() || ('\x1c'..='\x1f').contains(&c)
}

fn is_linebreak(c: char) -> bool {
    matches!(
        c,
        '\n' | '\r'
            | '\x0b'
            | '\x0c'
            | '\x1c'
            | '\x1d'
            | '\x1e'
            | '\u{85}'
            | '\u{2028}'
            | '\u{2029}'
    )
}

/// Byte offset of code point `ci` (clamped to the end).
fn byte_off(s: &PyStr, ci: usize) -> usize {
    if s.ascii {
        return ci.min(s.s.len());
    }
    s.s.char_indices()
        .nth(ci)
        .map(|(b, _)| b)
        .unwrap_or(s.s.len())
}

/// A `str` argument, or `must be str, not int`.
fn str_arg(vm: &Vm, v: &Value) -> PyResult<Rc<PyStr>> {
    match v {
        Value::Str(s) => Ok(s.clone()),
        other => Err(vm.type_error(&format!("must be str, not {}", vm.type_name(other)))),
    }
}

fn int_of(vm: &mut Vm, v: &Value) -> PyResult<i64> {
    index_arg(vm, v)
}

// ---- format -----------------------------------------------------------

fn str_format(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let s = this(vm, args, "format")?;
    let out = covm_vm::strformat::str_format(vm, s.as_str(), &args[1..], kw)?;
    Ok(new_str(out))
}

fn str_format_map(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let s = this(vm, args, "format_map")?;
    one_arg(vm, "str.format_map", args, kw)?;
    let kws: Vec<(Rc<str>, Value)> = match &args[1] {
        Value::Dict(d) => {
            let items = d.borrow().items();
            let mut out = Vec::new();
            for (k, v) in items {
                if let Value::Str(k) = k {
                    out.push((Rc::from(k.as_str()), v));
                }
            }
            out
        }
        other => {
            return Err(vm.type_error(&format!(
                "'{}' object is not a mapping",
                vm.type_name(other)
            )));
        }
    };
    let out = covm_vm::strformat::str_format(vm, s.as_str(), &[], &kws)?;
    Ok(new_str(out))
}

// ---- join / split -------------------------------------------------------

fn str_join(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let sep = this(vm, args, "join")?;
    one_arg(vm, "str.join", args, kw)?;
    let items: Vec<Value> = match &args[1] {
        Value::List(l) => l.borrow().clone(),
        Value::Tuple(t) => t.to_vec(),
        other => {
            if !matches!(other, Value::Str(_))
                && let Err(e) = vm.get_iter(other)
            {
                if vm.is_instance_of(&e, &vm.exc.type_error.clone()) {
                    return Err(vm.type_error("can only join an iterable"));
                }
                return Err(e);
            }
            vm.collect(other)?
        }
    };
    let mut out = String::new();
    for (i, it) in items.iter().enumerate() {
        match it {
            Value::Str(s) => {
                if i > 0 {
                    out.push_str(sep.as_str());
                }
                out.push_str(s.as_str());
            }
            other => {
                return Err(vm.type_error(&format!(
                    "sequence item {i}: expected str instance, {} found",
                    vm.type_name(other)
                )));
            }
        }
    }
    Ok(new_str(out))
}

/// (sep, maxsplit) of split/rsplit.
fn split_args(
    vm: &mut Vm,
    name: &str,
    args: &[Value],
    kw: &KwArgs,
) -> PyResult<(Option<Rc<PyStr>>, i64)> {
    let a = bind_args(vm, name, args, kw, &["sep", "maxsplit"])?;
    let sep = match &a[0] {
        None | Some(Value::None) => None,
        Some(Value::Str(s)) => {
            if s.s.is_empty() {
                return Err(vm.value_error("empty separator"));
            }
            Some(s.clone())
        }
        Some(other) => {
            return Err(vm.type_error(&format!("must be str or None, not {}", vm.type_name(other))));
        }
    };
    let maxsplit = match &a[1] {
        None => -1,
        Some(v) => int_of(vm, v)?,
    };
    Ok((sep, maxsplit))
}

fn str_list(parts: Vec<&str>) -> Value {
    Value::list(parts.into_iter().map(Value::str).collect())
}

fn str_split(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let s = this(vm, args, "split")?;
    let (sep, maxsplit) = split_args(vm, "split", args, kw)?;
    let text = s.as_str();
    match sep {
        Some(sep) => {
            let parts: Vec<&str> = if maxsplit < 0 {
                text.split(sep.as_str()).collect()
            } else {
                text.splitn(maxsplit as usize + 1, sep.as_str()).collect()
            };
            Ok(str_list(parts))
        }
        None => {
            let mut parts = Vec::new();
            let mut rest = text.trim_start_matches(py_space);
            let mut n = 0i64;
            while !rest.is_empty() {
                if maxsplit >= 0 && n >= maxsplit {
                    parts.push(rest);
                    break;
                }
                match rest.find(py_space) {
                    Some(i) => {
                        parts.push(&rest[..i]);
                        rest = rest[i..].trim_start_matches(py_space);
                    }
                    None => {
                        parts.push(rest);
                        rest = "";
                    }
                }
                n += 1;
            }
            Ok(str_list(parts))
        }
    }
}

fn str_rsplit(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let s = this(vm, args, "rsplit")?;
    let (sep, maxsplit) = split_args(vm, "rsplit", args, kw)?;
    let text = s.as_str();
    match sep {
        Some(sep) => {
            let mut parts: Vec<&str> = if maxsplit < 0 {
                text.rsplit(sep.as_str()).collect()
            } else {
                text.rsplitn(maxsplit as usize + 1, sep.as_str()).collect()
            };
            parts.reverse();
            Ok(str_list(parts))
        }
        None => {
            let mut parts = Vec::new();
            let mut rest = text.trim_end_matches(py_space);
            let mut n = 0i64;
            while !rest.is_empty() {
                if maxsplit >= 0 && n >= maxsplit {
                    parts.push(rest);
                    break;
                }
                match rest.rfind(py_space) {
                    Some(i) => {
                        let c = rest[i..].chars().next().map(|c| c.len_utf8()).unwrap_or(1);
                        parts.push(&rest[i + c..]);
                        rest = rest[..i].trim_end_matches(py_space);
                    }
                    None => {
                        parts.push(rest);
                        rest = "";
                    }
                }
                n += 1;
            }
            parts.reverse();
            Ok(str_list(parts))
        }
    }
}

fn str_splitlines(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let s = this(vm, args, "splitlines")?;
    let a = bind_args(vm, "splitlines", args, kw, &["keepends"])?;
    let keep = match &a[0] {
        None => false,
        Some(v) => int_of(vm, v)? != 0,
    };
    let text = s.as_str();
    let mut out = Vec::new();
    let mut start = 0;
    let mut it = text.char_indices().peekable();
    while let Some((i, c)) = it.next() {
        if is_linebreak(c) {
            let mut end = i + c.len_utf8();
            if c == '\r'
                && let Some(&(_, '\n')) = it.peek()
            {
                it.next();
                end += 1;
            }
            out.push(Value::str(if keep {
                &text[start..end]
            } else {
                &text[start..i]
            }));
            start = end;
        }
    }
    if start < text.len() {
        out.push(Value::str(&text[start..]));
    }
    Ok(Value::list(out))
}

// ---- strip --------------------------------------------------------------

fn strip_impl(
    vm: &mut Vm,
    args: &[Value],
    kw: &KwArgs,
    name: &str,
    left: bool,
    right: bool,
) -> PyResult<Value> {
    let s = this(vm, args, name)?;
    count_args(vm, name, args, kw, 0, 1)?;
    let text = s.as_str();
    let out = match args.get(1) {
        None | Some(Value::None) => {
            let mut t = text;
            if left {
                t = t.trim_start_matches(py_space);
            }
            if right {
                t = t.trim_end_matches(py_space);
            }
            t
        }
        Some(Value::Str(chars)) => {
            let set: Vec<char> = chars.as_str().chars().collect();
            let mut t = text;
            if left {
                t = t.trim_start_matches(set.as_slice());
            }
            if right {
                t = t.trim_end_matches(set.as_slice());
            }
            t
        }
        Some(_) => {
            return Err(vm.type_error(&format!("{name} arg must be None or str")));
        }
    };
    if out.len() == text.len() {
        return Ok(Value::Str(s.clone()));
    }
    Ok(Value::str(out))
}

fn str_strip(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    strip_impl(vm, args, kw, "strip", true, true)
}

fn str_lstrip(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    strip_impl(vm, args, kw, "lstrip", true, false)
}

fn str_rstrip(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    strip_impl(vm, args, kw, "rstrip", false, true)
}

fn str_replace(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let s = this(vm, args, "replace")?;
    count_args(vm, "replace", args, kw, 2, 3)?;
    let mut parts = Vec::new();
    for (i, v) in args[1..3].iter().enumerate() {
        match v {
            Value::Str(x) => parts.push(x.clone()),
            other => {
                return Err(vm.type_error(&format!(
                    "replace() argument {} must be str, not {}",
                    i + 1,
                    vm.type_name(other)
                )));
            }
        }
    }
    let count = match args.get(3) {
        Some(v) => int_of(vm, v)?,
        None => -1,
    };
    let (old, new) = (parts[0].as_str(), parts[1].as_str());
    let out = if count < 0 {
        s.as_str().replace(old, new)
    } else {
        s.as_str().replacen(old, new, count as usize)
    };
    Ok(new_str(out))
}

// ---- searching ------------------------------------------------------------

/// (sub, start, end) in code points, clamped, for find/count/index.
fn search_args(
    vm: &mut Vm,
    name: &str,
    s: &PyStr,
    args: &[Value],
    kw: &KwArgs,
) -> PyResult<(Rc<PyStr>, i64, i64)> {
    count_args_old(vm, name, args, kw, 1, 3)?;
    let sub = str_arg(vm, &args[1])?;
    let start = slice_bound(vm, args.get(2))?;
    let end = slice_bound(vm, args.get(3))?;
    let (a, b) = adjust_indices(start, end, s.char_len());
    Ok((sub, a, b))
}

/// Finds `sub` in `s[start:end]`; the code-point index or -1.
fn find_in(s: &PyStr, sub: &PyStr, start: i64, end: i64, rev: bool) -> i64 {
    let sublen = sub.char_len() as i64;
    if end - start < sublen || start > s.char_len() as i64 {
        return -1;
    }
    let bs = byte_off(s, start as usize);
    let be = byte_off(s, end as usize);
    let hay = &s.s[bs..be];
    let found = if rev {
        hay.rfind(sub.as_str())
    } else {
        hay.find(sub.as_str())
    };
    match found {
        Some(b) => start + char_idx_in(hay, s.ascii, b) as i64,
        None => -1,
    }
}

fn char_idx_in(hay: &str, ascii: bool, b: usize) -> usize {
    if ascii { b } else { hay[..b].chars().count() }
}

fn find_impl(
    vm: &mut Vm,
    args: &[Value],
    kw: &KwArgs,
    name: &str,
    rev: bool,
    raise: bool,
) -> PyResult<Value> {
    let s = this(vm, args, name)?;
    let (sub, a, b) = search_args(vm, name, &s, args, kw)?;
    let r = find_in(&s, &sub, a, b, rev);
    if r < 0 && raise {
        return Err(vm.value_error("substring not found"));
    }
    Ok(Value::Int(r))
}

fn str_find(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    find_impl(vm, args, kw, "find", false, false)
}

fn str_rfind(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    find_impl(vm, args, kw, "rfind", true, false)
}

fn str_index(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    find_impl(vm, args, kw, "index", false, true)
}

fn str_rindex(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    find_impl(vm, args, kw, "rindex", true, true)
}

fn str_count(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let s = this(vm, args, "count")?;
    let (sub, a, b) = search_args(vm, "count", &s, args, kw)?;
    let sublen = sub.char_len() as i64;
    if b - a < sublen || a > s.char_len() as i64 {
        return Ok(Value::Int(0));
    }
    if sublen == 0 {
        return Ok(Value::Int(b - a + 1));
    }
    let bs = byte_off(&s, a as usize);
    let be = byte_off(&s, b as usize);
    Ok(Value::Int(s.s[bs..be].matches(sub.as_str()).count() as i64))
}

fn affix_impl(vm: &mut Vm, args: &[Value], kw: &KwArgs, name: &str, end_: bool) -> PyResult<Value> {
    let s = this(vm, args, name)?;
    count_args(vm, name, args, kw, 1, 3)?;
    let start = slice_bound(vm, args.get(2))?;
    let end = slice_bound(vm, args.get(3))?;
    let (a, b) = adjust_indices(start, end, s.char_len());
    let check = |sub: &PyStr| -> bool {
        let sl = sub.char_len() as i64;
        if a > s.char_len() as i64 || b - a < sl {
            return false;
        }
        let bs = byte_off(&s, a as usize);
        let be = byte_off(&s, b as usize);
        let hay = &s.s[bs..be];
        if end_ {
            hay.ends_with(sub.as_str())
        } else {
            hay.starts_with(sub.as_str())
        }
    };
    match &args[1] {
        Value::Str(sub) => Ok(Value::Bool(check(sub))),
        Value::Tuple(t) => {
            for x in t.iter() {
                match x {
                    Value::Str(sub) => {
                        if check(sub) {
                            return Ok(Value::Bool(true));
                        }
                    }
                    other => {
                        return Err(vm.type_error(&format!(
                            "tuple for {name} must only contain str, not {}",
                            vm.type_name(other)
                        )));
                    }
                }
            }
            Ok(Value::Bool(false))
        }
        other => Err(vm.type_error(&format!(
            "{name} first arg must be str or a tuple of str, not {}",
            vm.type_name(other)
        ))),
    }
}

fn str_startswith(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    affix_impl(vm, args, kw, "startswith", false)
}

fn str_endswith(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    affix_impl(vm, args, kw, "endswith", true)
}

// ---- case -------------------------------------------------------------------

fn is_cased(c: char) -> bool {
    c.is_uppercase() || c.is_lowercase() || is_titlecase(c)
}

fn is_titlecase(c: char) -> bool {
    matches!(
        c,
        '\u{1c5}' | '\u{1c8}' | '\u{1cb}' | '\u{1f2}' | '\u{1f88}'..='\u{1f8f}'
            | '\u{1f98}'..='\u{1f9f}' | '\u{1fa8}'..='\u{1faf}' | '\u{1fbc}' | '\u{1fcc}' | '\u{1ffc}'
    )
}

fn push_title(out: &mut String, c: char) {
    match c {
        '\u{1c4}'..='\u{1c6}' => out.push('\u{1c5}'),
        '\u{1c7}'..='\u{1c9}' => out.push('\u{1c8}'),
        '\u{1ca}'..='\u{1cc}' => out.push('\u{1cb}'),
        '\u{1f1}'..='\u{1f3}' => out.push('\u{1f2}'),
        'ß' => out.push_str("Ss"),
        'ﬀ' => out.push_str("Ff"),
        'ﬁ' => out.push_str("Fi"),
        'ﬂ' => out.push_str("Fl"),
        _ => out.extend(c.to_uppercase()),
    }
}

macro_rules! simple_method {
    ($fname:ident, $name:literal, |$vm:ident, $s:ident| $body:expr) => {
        fn $fname($vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
            let $s = this($vm, args, $name)?;
            no_args($vm, concat!("str.", $name), args, kw)?;
            Ok($body)
        }
    };
}

simple_method!(str_upper, "upper", |vm, s| {
    if s.ascii {
        new_str(s.as_str().to_ascii_uppercase())
    } else {
        new_str(s.as_str().to_uppercase())
    }
});

simple_method!(str_lower, "lower", |vm, s| {
    if s.ascii {
        new_str(s.as_str().to_ascii_lowercase())
    } else {
        new_str(s.as_str().to_lowercase())
    }
});

simple_method!(str_casefold, "casefold", |vm, s| {
    new_str(s.as_str().to_lowercase().replace('ß', "ss"))
});

simple_method!(str_swapcase, "swapcase", |vm, s| {
    let mut out = String::with_capacity(s.s.len());
    for c in s.as_str().chars() {
        if c.is_uppercase() {
            out.extend(c.to_lowercase());
        } else if c.is_lowercase() {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
    }
    new_str(out)
});

simple_method!(str_title, "title", |vm, s| {
    let mut out = String::with_capacity(s.s.len());
    let mut prev_cased = false;
    for c in s.as_str().chars() {
        if prev_cased {
            out.extend(c.to_lowercase());
        } else {
            push_title(&mut out, c);
        }
        prev_cased = is_cased(c);
    }
    new_str(out)
});

simple_method!(str_capitalize, "capitalize", |vm, s| {
    let mut out = String::with_capacity(s.s.len());
    let mut chars = s.as_str().chars();
    if let Some(c) = chars.next() {
        push_title(&mut out, c);
    }
    for c in chars {
        out.extend(c.to_lowercase());
    }
    new_str(out)
});

// ---- predicates ---------------------------------------------------------------

/// Zeros of the decimal digit runs (category Nd) outside ASCII.
const DECIMAL_ZEROS: &[u32] = &[
    0x660, 0x6F0, 0x7C0, 0x966, 0x9E6, 0xA66, 0xAE6, 0xB66, 0xBE6, 0xC66, 0xCE6, 0xD66, 0xDE6,
    0xE50, 0xED0, 0xF20, 0x1040, 0x1090, 0x17E0, 0x1810, 0x1946, 0x19D0, 0x1A80, 0x1A90, 0x1B50,
    0x1BB0, 0x1C40, 0x1C50, 0xA620, 0xA8D0, 0xA900, 0xA9D0, 0xA9F0, 0xAA50, 0xABF0, 0xFF10,
    0x104A0, 0x11066, 0x110F0, 0x11136, 0x111D0, 0x112F0, 0x11450, 0x114D0, 0x11650, 0x116C0,
    0x11730, 0x118E0, 0x16A60, 0x16B50, 0x1D7CE, 0x1D7D8, 0x1D7E2, 0x1D7EC, 0x1D7F6, 0x1E950,
    0x1FBF0,
];

fn is_decimal(c: char) -> bool {
    if c.is_ascii_digit() {
        return true;
    }
    if c.is_ascii() {
        return false;
    }
    let n = c as u32;
    DECIMAL_ZEROS.iter().any(|&z| n >= z && n < z + 10)
}

fn is_digit(c: char) -> bool {
    is_decimal(c)
        || matches!(c, '²' | '³' | '¹' | '\u{2070}' | '\u{2074}'..='\u{2079}' | '\u{2080}'..='\u{2089}'
            | '\u{2460}'..='\u{2468}' | '\u{2474}'..='\u{247C}' | '\u{2488}'..='\u{2490}'
            | '\u{24EA}' | '\u{24F5}'..='\u{24FD}' | '\u{24FF}' | '\u{2776}'..='\u{277E}'
            | '\u{2780}'..='\u{2788}' | '\u{278A}'..='\u{2792}')
}

fn is_numeric(c: char) -> bool {
    is_digit(c)
        || c.is_numeric()
        || matches!(
            c,
            '〇' | '一'
                | '二'
                | '三'
                | '四'
                | '五'
                | '六'
                | '七'
                | '八'
                | '九'
                | '十'
                | '百'
                | '千'
                | '万'
                | '億'
                | '兆'
                | '零'
                | '壹'
                | '贰'
                | '叁'
                | '肆'
                | '伍'
                | '陆'
                | '柒'
                | '捌'
                | '玖'
                | '拾'
        )
}

fn is_alpha(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_alphabetic();
    }
    c.is_alphabetic() && !c.is_numeric()
}

fn is_printable(c: char) -> bool {
    let n = c as u32;
    if n < 0x20 || n == 0x7f || (0x80..=0xa0).contains(&n) || n == 0xad {
        return false;
    }
    !matches!(n, 0x2028 | 0x2029 | 0x200b..=0x200f | 0x2060..=0x2064 | 0xfeff | 0xd800..=0xdfff)
        && !(0x2000..=0x200a).contains(&n)
        && n != 0x3000
        && n != 0x1680
        && n != 0x202f
        && n != 0x205f
}

macro_rules! all_chars {
    ($fname:ident, $name:literal, $pred:expr) => {
        simple_method!($fname, $name, |vm, s| {
            let t = s.as_str();
            Value::Bool(!t.is_empty() && t.chars().all($pred))
        });
    };
}

all_chars!(str_isdigit, "isdigit", is_digit);
all_chars!(str_isdecimal, "isdecimal", is_decimal);
all_chars!(str_isnumeric, "isnumeric", is_numeric);
all_chars!(str_isalpha, "isalpha", is_alpha);
all_chars!(str_isalnum, "isalnum", |c: char| is_alpha(c)
    || is_numeric(c));
all_chars!(str_isspace, "isspace", py_space);

simple_method!(str_isascii, "isascii", |vm, s| Value::Bool(s.ascii));

simple_method!(str_isprintable, "isprintable", |vm, s| {
    Value::Bool(s.as_str().chars().all(is_printable))
});

simple_method!(str_isupper, "isupper", |vm, s| {
    let mut cased = false;
    for c in s.as_str().chars() {
        if c.is_lowercase() || is_titlecase(c) {
            return Ok(Value::Bool(false));
        }
        if c.is_uppercase() {
            cased = true;
        }
    }
    Value::Bool(cased)
});

simple_method!(str_islower, "islower", |vm, s| {
    let mut cased = false;
    for c in s.as_str().chars() {
        if c.is_uppercase() || is_titlecase(c) {
            return Ok(Value::Bool(false));
        }
        if c.is_lowercase() {
            cased = true;
        }
    }
    Value::Bool(cased)
});

simple_method!(str_istitle, "istitle", |vm, s| {
    let mut cased = false;
    let mut prev_cased = false;
    for c in s.as_str().chars() {
        if c.is_uppercase() || is_titlecase(c) {
            if prev_cased {
                return Ok(Value::Bool(false));
            }
            prev_cased = true;
            cased = true;
        } else if c.is_lowercase() {
            if !prev_cased {
                return Ok(Value::Bool(false));
            }
            prev_cased = true;
            cased = true;
        } else {
            prev_cased = false;
        }
    }
    Value::Bool(cased)
});

simple_method!(str_isidentifier, "isidentifier", |vm, s| {
    let mut chars = s.as_str().chars();
    let ok = match chars.next() {
        None => false,
        Some(c) => {
            (c == '_' || is_alpha(c) || (!c.is_ascii() && c.is_alphabetic()))
                && chars.all(|c| {
                    c == '_' || c.is_alphanumeric() || (!c.is_ascii() && is_id_continue(c))
                })
        }
    };
    Value::Bool(ok)
});

fn is_id_continue(c: char) -> bool {
    // Combining marks and connector punctuation.
    matches!(c as u32, 0x300..=0x36f | 0x203f | 0x2040 | 0x2054 | 0xfe33 | 0xfe34 | 0xfe4d..=0xfe4f | 0xff3f)
}

// ---- padding ------------------------------------------------------------------

fn fill_arg(vm: &Vm, v: Option<&Value>) -> PyResult<char> {
    match v {
        None => Ok(' '),
        Some(Value::Str(s)) => {
            let mut it = s.as_str().chars();
            match (it.next(), it.next()) {
                (Some(c), None) => Ok(c),
                _ => Err(vm.type_error("The fill character must be exactly one character long")),
            }
        }
        Some(other) => Err(vm.type_error(&format!(
            "The fill character must be a unicode character, not {}",
            vm.type_name(other)
        ))),
    }
}

fn pad_impl(vm: &mut Vm, args: &[Value], kw: &KwArgs, name: &str, how: char) -> PyResult<Value> {
    let s = this(vm, args, name)?;
    count_args(vm, name, args, kw, 1, 2)?;
    let width = int_of(vm, &args[1])?;
    let fill = fill_arg(vm, args.get(2))?;
    let len = s.char_len() as i64;
    if width <= len {
        return Ok(Value::Str(s));
    }
    let (left, right) = crate::methods::pad_sides(width, len, how);
    let fill_len = ((left + right) as usize).saturating_mul(fill.len_utf8());
    let mut out = vm.string_with_capacity(s.s.len().saturating_add(fill_len))?;
    out.extend(std::iter::repeat_n(fill, left as usize));
    out.push_str(s.as_str());
    out.extend(std::iter::repeat_n(fill, right as usize));
    Ok(new_str(out))
}

fn str_center(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    pad_impl(vm, args, kw, "center", '^')
}

fn str_ljust(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    pad_impl(vm, args, kw, "ljust", '<')
}

fn str_rjust(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    pad_impl(vm, args, kw, "rjust", '>')
}

fn str_zfill(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let s = this(vm, args, "zfill")?;
    one_arg(vm, "str.zfill", args, kw)?;
    let width = int_of(vm, &args[1])?;
    let len = s.char_len() as i64;
    if width <= len {
        return Ok(Value::Str(s));
    }
    let fill = (width - len) as usize;
    let t = s.as_str();
    let mut out = vm.string_with_capacity(s.s.len().saturating_add(fill))?;
    let body = if t.starts_with('+') || t.starts_with('-') {
        out.push_str(&t[..1]);
        &t[1..]
    } else {
        t
    };
    out.extend(std::iter::repeat_n('0', fill));
    out.push_str(body);
    Ok(new_str(out))
}

fn partition_impl(
    vm: &mut Vm,
    args: &[Value],
    kw: &KwArgs,
    name: &str,
    rev: bool,
) -> PyResult<Value> {
    let s = this(vm, args, name)?;
    one_arg(vm, &format!("str.{name}"), args, kw)?;
    let sep = str_arg(vm, &args[1])?;
    if sep.s.is_empty() {
        return Err(vm.value_error("empty separator"));
    }
    let t = s.as_str();
    let found = if rev {
        t.rfind(sep.as_str())
    } else {
        t.find(sep.as_str())
    };
    let empty = || Value::str("");
    let parts = match found {
        Some(i) => vec![
            Value::str(&t[..i]),
            Value::Str(sep.clone()),
            Value::str(&t[i + sep.s.len()..]),
        ],
        None if rev => vec![empty(), empty(), Value::Str(s.clone())],
        None => vec![Value::Str(s.clone()), empty(), empty()],
    };
    Ok(Value::tuple(parts))
}

fn str_partition(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    partition_impl(vm, args, kw, "partition", false)
}

fn str_rpartition(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    partition_impl(vm, args, kw, "rpartition", true)
}

fn str_expandtabs(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let s = this(vm, args, "expandtabs")?;
    let a = bind_args(vm, "expandtabs", args, kw, &["tabsize"])?;
    let size = match &a[0] {
        None => 8,
        Some(v) => int_of(vm, v)?,
    };
    // CPython takes the tab size as a C int.
    if i32::try_from(size).is_err() {
        return Err(vm.overflow_error("Python int too large to convert to C int"));
    }
    let mut out = String::with_capacity(s.s.len());
    let mut col: i64 = 0;
    for c in s.as_str().chars() {
        match c {
            '\t' => {
                if size > 0 {
                    let n = size - col % size;
                    out.try_reserve(n as usize).map_err(|_| vm.memory_error())?;
                    out.extend(std::iter::repeat_n(' ', n as usize));
                    col += n;
                }
            }
            '\n' | '\r' => {
                out.push(c);
                col = 0;
            }
            _ => {
                out.push(c);
                col += 1;
            }
        }
    }
    Ok(new_str(out))
}

fn affix_arg(vm: &Vm, name: &str, v: &Value) -> PyResult<Rc<PyStr>> {
    match v {
        Value::Str(s) => Ok(s.clone()),
        other => Err(vm.type_error(&format!(
            "{name}() argument must be str, not {}",
            vm.type_name(other)
        ))),
    }
}

fn str_removeprefix(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let s = this(vm, args, "removeprefix")?;
    one_arg(vm, "str.removeprefix", args, kw)?;
    let p = affix_arg(vm, "removeprefix", &args[1])?;
    Ok(match s.as_str().strip_prefix(p.as_str()) {
        Some(r) if !p.s.is_empty() => Value::str(r),
        _ => Value::Str(s),
    })
}

fn str_removesuffix(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let s = this(vm, args, "removesuffix")?;
    one_arg(vm, "str.removesuffix", args, kw)?;
    let p = affix_arg(vm, "removesuffix", &args[1])?;
    Ok(match s.as_str().strip_suffix(p.as_str()) {
        Some(r) if !p.s.is_empty() => Value::str(r),
        _ => Value::Str(s),
    })
}

// ---- encode / translate -----------------------------------------------------------

fn normalize_encoding(e: &str) -> String {
    e.to_ascii_lowercase().replace(['-', ' '], "_")
}

fn str_encode(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let s = this(vm, args, "encode")?;
    let a = bind_args(vm, "encode", args, kw, &["encoding", "errors"])?;
    let enc = match &a[0] {
        None => "utf-8".to_string(),
        Some(Value::Str(e)) => e.as_str().to_string(),
        Some(other) => {
            return Err(vm.type_error(&format!(
                "encode() argument 'encoding' must be str, not {}",
                vm.type_name(other)
            )));
        }
    };
    let errors = match &a[1] {
        Some(Value::Str(e)) => e.as_str().to_string(),
        _ => "strict".to_string(),
    };
    let norm = normalize_encoding(&enc);
    let limit = match norm.as_str() {
        "utf_8" | "utf8" | "u8" => return Ok(Value::Bytes(s.as_str().as_bytes().into())),
        "ascii" | "us_ascii" => 128u32,
        "latin_1" | "latin1" | "iso_8859_1" | "iso8859_1" | "l1" => 256u32,
        _ => {
            let e = vm.new_exc(
                &vm.exc.lookup_error.clone(),
                &format!("unknown encoding: {enc}"),
            );
            return Err(e);
        }
    };
    let codec = if limit == 128 { "ascii" } else { "latin-1" };
    let mut out = Vec::with_capacity(s.s.len());
    for (i, c) in s.as_str().chars().enumerate() {
        let n = c as u32;
        if n < limit {
            out.push(n as u8);
        } else {
            match errors.as_str() {
                "ignore" => {}
                "replace" => out.push(b'?'),
                _ => {
                    let esc = if n < 256 {
                        format!("\\x{n:02x}")
                    } else if n < 0x10000 {
                        format!("\\u{n:04x}")
                    } else {
                        format!("\\U{n:08x}")
                    };
                    let cls = exc_class(vm, "UnicodeEncodeError");
                    return Err(vm.new_exc(
                        &cls,
                        &format!(
                            "'{codec}' codec can't encode character '{esc}' in position {i}: ordinal not in range({limit})"
                        ),
                    ));
                }
            }
        }
    }
    Ok(Value::Bytes(out.into()))
}

fn str_maketrans(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    if !kw.is_empty() {
        return Err(vm.type_error("maketrans() takes no keyword arguments"));
    }
    let d = Rc::new(std::cell::RefCell::new(covm_vm::dict::Dict::new()));
    match args.len() {
        1 => {
            let Value::Dict(src) = &args[0] else {
                return Err(
                    vm.type_error("if you give only one argument to maketrans it must be a dict")
                );
            };
            let items = src.borrow().items();
            for (k, v) in items {
                let key = match &k {
                    Value::Str(s) => {
                        let mut it = s.as_str().chars();
                        match (it.next(), it.next()) {
                            (Some(c), None) => Value::Int(c as i64),
                            _ => {
                                return Err(vm.value_error(
                                    "string keys in translate table must be of length 1",
                                ));
                            }
                        }
                    }
                    Value::Int(_) => k.clone(),
                    _ => {
                        return Err(
                            vm.type_error("keys in translate table must be strings or integers")
                        );
                    }
                };
                dict::set(vm, &d, key, v)?;
            }
        }
        2 | 3 => {
            let (Value::Str(x), Value::Str(y)) = (&args[0], &args[1]) else {
                return Err(vm.type_error("maketrans() argument 2 must be str"));
            };
            let xs: Vec<char> = x.as_str().chars().collect();
            let ys: Vec<char> = y.as_str().chars().collect();
            if xs.len() != ys.len() {
                return Err(
                    vm.value_error("the first two maketrans arguments must have equal length")
                );
            }
            for (a, b) in xs.iter().zip(ys.iter()) {
                dict::set(vm, &d, Value::Int(*a as i64), Value::Int(*b as i64))?;
            }
            if let Some(z) = args.get(2) {
                let Value::Str(z) = z else {
                    return Err(vm.type_error("maketrans() argument 3 must be str"));
                };
                for c in z.as_str().chars() {
                    dict::set(vm, &d, Value::Int(c as i64), Value::None)?;
                }
            }
        }
        n => {
            return Err(vm.type_error(&format!(
                "maketrans expected at {} 1 argument{}, got {n}",
                if n == 0 { "least" } else { "most" },
                if n == 0 { "" } else { "s" }
            )));
        }
    }
    Ok(Value::Dict(d))
}

fn str_translate(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let s = this(vm, args, "translate")?;
    one_arg(vm, "str.translate", args, kw)?;
    let table = args[1].clone();
    let lookup_error = vm.exc.lookup_error.clone();
    let mut out = String::with_capacity(s.s.len());
    for c in s.as_str().chars() {
        match vm.getitem(&table, &Value::Int(c as i64)) {
            Ok(Value::None) => {}
            Ok(Value::Str(r)) => out.push_str(r.as_str()),
            Ok(Value::Int(n)) => match u32::try_from(n).ok().and_then(char::from_u32) {
                Some(ch) => out.push(ch),
                None => {
                    return Err(vm.value_error("character mapping must be in range(0x110000)"));
                }
            },
            Ok(_) => {
                return Err(vm.type_error("character mapping must return integer, None or str"));
            }
            Err(e) if vm.is_instance_of(&e, &lookup_error) => out.push(c),
            Err(e) => return Err(e),
        }
    }
    Ok(new_str(out))
}
