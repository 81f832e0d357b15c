//! The `json` module: `dumps`/`dump` with CPython's formatting (floats by
//! `repr`, `ensure_ascii` escapes, `indent`, `separators`, `sort_keys`,
//! `default`, `skipkeys`, `allow_nan`) and `loads`/`load` with CPython's
//! `JSONDecodeError` messages and positions (`object_hook`,
//! `object_pairs_hook`, `parse_float`, `parse_int`, `parse_constant`).
//!
//! Left out: the `cls=` encoder/decoder classes, `JSONEncoder`/`JSONDecoder`.

use std::cell::RefCell;
use std::rc::Rc;

use covm_vm::Vm;
use covm_vm::value::*;
use num_bigint::BigInt;

use crate::args::bind_params;
use crate::modules::{downcast, func, set};

// ---- encoding -----------------------------------------------------------------

struct Enc {
    indent: Option<String>,
    item_sep: String,
    key_sep: String,
    sort_keys: bool,
    skipkeys: bool,
    ensure_ascii: bool,
    allow_nan: bool,
    default: Option<Value>,
    /// Addresses of the containers being encoded (circular check).
    stack: Vec<usize>,
}

fn escape_str(s: &str, ascii: bool, out: &mut String) {
    use std::fmt::Write;
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            c if (c as u32) < 0x20 || (ascii && (c as u32) >= 0x7f) => {
                let mut buf = [0u16; 2];
                for u in c.encode_utf16(&mut buf) {
                    let _ = write!(out, "\\u{u:04x}");
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

fn float_text(vm: &Vm, f: f64, allow_nan: bool) -> PyResult<String> {
    if f.is_finite() {
        return Ok(covm_vm::format::float_repr(f));
    }
    if !allow_nan {
        return Err(vm.value_error("Out of range float values are not JSON compliant"));
    }
    Ok(if f.is_nan() {
        "NaN"
    } else if f > 0.0 {
        "Infinity"
    } else {
        "-Infinity"
    }
    .into())
}

impl Enc {
    fn newline(&self, level: usize, out: &mut String) {
        if let Some(ind) = &self.indent {
            out.push('\n');
            for _ in 0..level {
                out.push_str(ind);
            }
        }
    }

    fn enter(&mut self, vm: &Vm, addr: usize) -> PyResult<()> {
        if self.stack.contains(&addr) {
            return Err(vm.value_error("Circular reference detected"));
        }
        self.stack.push(addr);
        Ok(())
    }

    fn encode(&mut self, vm: &mut Vm, v: &Value, level: usize, out: &mut String) -> PyResult<()> {
        match v {
            Value::None => out.push_str("null"),
            Value::Bool(true) => out.push_str("true"),
            Value::Bool(false) => out.push_str("false"),
            Value::Int(i) => out.push_str(&i.to_string()),
            Value::BigInt(b) => out.push_str(&b.to_string()),
            Value::Float(f) => out.push_str(&float_text(vm, *f, self.allow_nan)?),
            Value::Str(s) => escape_str(s.as_str(), self.ensure_ascii, out),
            Value::List(l) => {
                let items = l.borrow().clone();
                self.enter(vm, Rc::as_ptr(l) as *const u8 as usize)?;
                self.array(vm, &items, level, out)?;
                self.stack.pop();
            }
            Value::Tuple(t) => {
                let items = t.to_vec();
                self.array(vm, &items, level, out)?;
            }
            Value::Dict(d) => {
                let items = d.borrow().items();
                self.enter(vm, Rc::as_ptr(d) as *const u8 as usize)?;
                self.object(vm, items, level, out)?;
                self.stack.pop();
            }
            other => {
                if let Some(d) = downcast::<crate::mod_collections::DictLike>(other) {
                    let inner = d.dict();
                    return self.encode(vm, &inner, level, out);
                }
                if let Some(t) = downcast::<crate::mod_collections::NamedTuple>(other) {
                    let inner = t.tuple();
                    return self.encode(vm, &inner, level, out);
                }
                let Some(default) = self.default.clone() else {
                    return Err(vm.type_error(&format!(
                        "Object of type {} is not JSON serializable",
                        vm.type_name(other)
                    )));
                };
                let addr = match other {
                    Value::Instance(i) => Rc::as_ptr(i) as *const u8 as usize,
                    Value::Native(n) => n.addr(),
                    _ => 0,
                };
                if addr != 0 {
                    self.enter(vm, addr)?;
                }
                let r = vm.call(&default, vec![other.clone()])?;
                self.encode(vm, &r, level, out)?;
                if addr != 0 {
                    self.stack.pop();
                }
            }
        }
        Ok(())
    }

    fn array(
        &mut self,
        vm: &mut Vm,
        items: &[Value],
        level: usize,
        out: &mut String,
    ) -> PyResult<()> {
        if items.is_empty() {
            out.push_str("[]");
            return Ok(());
        }
        out.push('[');
        self.newline(level + 1, out);
        for (i, v) in items.iter().enumerate() {
            if i > 0 {
                out.push_str(&self.item_sep.clone());
                self.newline(level + 1, out);
            }
            self.encode(vm, v, level + 1, out)?;
        }
        self.newline(level, out);
        out.push(']');
        Ok(())
    }

    fn key_text(&self, vm: &mut Vm, k: &Value) -> PyResult<Option<String>> {
        Ok(Some(match k {
            Value::Str(s) => s.as_str().to_string(),
            Value::Float(f) => float_text(vm, *f, self.allow_nan)?,
            Value::Bool(true) => "true".into(),
            Value::Bool(false) => "false".into(),
            Value::None => "null".into(),
            Value::Int(i) => i.to_string(),
            Value::BigInt(b) => b.to_string(),
            other => {
                if self.skipkeys {
                    return Ok(None);
                }
                return Err(vm.type_error(&format!(
                    "keys must be str, int, float, bool or None, not {}",
                    vm.type_name(other)
                )));
            }
        }))
    }

    fn object(
        &mut self,
        vm: &mut Vm,
        mut items: Vec<(Value, Value)>,
        level: usize,
        out: &mut String,
    ) -> PyResult<()> {
        if items.is_empty() {
            out.push_str("{}");
            return Ok(());
        }
        if self.sort_keys {
            items = sort_items(vm, items)?;
        }
        out.push('{');
        self.newline(level + 1, out);
        let mut first = true;
        for (k, v) in &items {
            let Some(key) = self.key_text(vm, k)? else {
                continue;
            };
            if !first {
                out.push_str(&self.item_sep.clone());
                self.newline(level + 1, out);
            }
            first = false;
            escape_str(&key, self.ensure_ascii, out);
            out.push_str(&self.key_sep.clone());
            self.encode(vm, v, level + 1, out)?;
        }
        self.newline(level, out);
        out.push('}');
        Ok(())
    }
}

/// A stable insertion sort by key with covm's `<` (errors propagate).
fn sort_items(vm: &mut Vm, items: Vec<(Value, Value)>) -> PyResult<Vec<(Value, Value)>> {
    let mut out: Vec<(Value, Value)> = Vec::with_capacity(items.len());
    for it in items {
        // Binary search for the first element greater than `it`.
        let (mut lo, mut hi) = (0, out.len());
        while lo < hi {
            let mid = (lo + hi) / 2;
            if vm.less_than(&it.0, &out[mid].0)? {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        out.insert(lo, it);
    }
    Ok(out)
}

const DUMPS_PARAMS: &[&str] = &[
    "skipkeys",
    "ensure_ascii",
    "check_circular",
    "allow_nan",
    "cls",
    "indent",
    "separators",
    "default",
    "sort_keys",
];

fn make_encoder(vm: &mut Vm, kw: &KwArgs) -> PyResult<Enc> {
    let p = bind_params(vm, "dumps", &[], kw, DUMPS_PARAMS)?;
    let flag = |vm: &mut Vm, v: &Option<Value>, d: bool| -> PyResult<bool> {
        match v {
            None => Ok(d),
            Some(v) => vm.truthy(v),
        }
    };
    let skipkeys = flag(vm, &p[0], false)?;
    let ensure_ascii = flag(vm, &p[1], true)?;
    let allow_nan = flag(vm, &p[3], true)?;
    let sort_keys = flag(vm, &p[8], false)?;
    let indent = match &p[5] {
        None | Some(Value::None) => None,
        Some(Value::Str(s)) => Some(s.as_str().to_string()),
        Some(v) => {
            let n = crate::methods::index_arg(vm, v)?;
            Some(" ".repeat(n.max(0) as usize))
        }
    };
    let (item_sep, key_sep) = match &p[6] {
        None | Some(Value::None) => (
            if indent.is_some() { "," } else { ", " }.to_string(),
            ": ".to_string(),
        ),
        Some(v) => {
            let parts = vm.collect(v)?;
            match parts.as_slice() {
                [Value::Str(a), Value::Str(b)] => (a.as_str().to_string(), b.as_str().to_string()),
                _ => return Err(vm.value_error("separators must be a pair of strings")),
            }
        }
    };
    Ok(Enc {
        indent,
        item_sep,
        key_sep,
        sort_keys,
        skipkeys,
        ensure_ascii,
        allow_nan,
        default: p[7].clone().filter(|v| !v.is_none()),
        stack: Vec::new(),
    })
}

fn dumps(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    if args.len() != 1 {
        return Err(vm.type_error(&format!(
            "dumps() takes 1 positional argument but {} were given",
            args.len()
        )));
    }
    let mut enc = make_encoder(vm, kw)?;
    let mut out = String::new();
    enc.encode(vm, &args[0], 0, &mut out)?;
    Ok(Value::str(out))
}

fn dump(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    if args.len() != 2 {
        return Err(vm.type_error(&format!(
            "dump() takes 2 positional arguments but {} were given",
            args.len()
        )));
    }
    let mut enc = make_encoder(vm, kw)?;
    let mut out = String::new();
    enc.encode(vm, &args[0], 0, &mut out)?;
    vm.call_method(&args[1], "write", vec![Value::str(out)])?;
    Ok(Value::None)
}

// ---- decoding -----------------------------------------------------------------

struct Dec<'a> {
    s: &'a [char],
    object_hook: Option<Value>,
    pairs_hook: Option<Value>,
    parse_float: Option<Value>,
    parse_int: Option<Value>,
    parse_constant: Option<Value>,
}

/// A decode failure: message and position (raised as JSONDecodeError).
struct DecErr(&'static str, usize);

fn is_ws(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r')
}

impl Dec<'_> {
    fn ws(&self, mut i: usize) -> usize {
        while i < self.s.len() && is_ws(self.s[i]) {
            i += 1;
        }
        i
    }

    fn starts(&self, i: usize, word: &str) -> bool {
        let w: Vec<char> = word.chars().collect();
        self.s.get(i..i + w.len()) == Some(&w[..])
    }

    /// One value at `i` (no leading whitespace), or "Expecting value".
    fn value(&self, vm: &mut Vm, i: usize) -> Result<PyResult<(Value, usize)>, DecErr> {
        let Some(&c) = self.s.get(i) else {
            return Err(DecErr("Expecting value", i));
        };
        match c {
            '"' => self.string(i).map(|(s, e)| Ok((Value::str(s), e))),
            '{' => self.object(vm, i + 1),
            '[' => self.array(vm, i + 1),
            'n' if self.starts(i, "null") => Ok(Ok((Value::None, i + 4))),
            't' if self.starts(i, "true") => Ok(Ok((Value::Bool(true), i + 4))),
            'f' if self.starts(i, "false") => Ok(Ok((Value::Bool(false), i + 5))),
            'N' if self.starts(i, "NaN") => Ok(self.constant(vm, "NaN", f64::NAN, i + 3)),
            'I' if self.starts(i, "Infinity") => {
                Ok(self.constant(vm, "Infinity", f64::INFINITY, i + 8))
            }
            '-' if self.starts(i, "-Infinity") => {
                Ok(self.constant(vm, "-Infinity", f64::NEG_INFINITY, i + 9))
            }
            '-' | '0'..='9' => self.number(vm, i),
            _ => Err(DecErr("Expecting value", i)),
        }
    }

    fn constant(&self, vm: &mut Vm, name: &str, f: f64, end: usize) -> PyResult<(Value, usize)> {
        match &self.parse_constant {
            Some(h) => Ok((vm.call(h, vec![Value::str(name)])?, end)),
            None => Ok((Value::Float(f), end)),
        }
    }

    fn number(&self, vm: &mut Vm, start: usize) -> Result<PyResult<(Value, usize)>, DecErr> {
        let s = self.s;
        let mut i = start;
        if s[i] == '-' {
            i += 1;
        }
        let digits = |mut j: usize| {
            while j < s.len() && s[j].is_ascii_digit() {
                j += 1;
            }
            j
        };
        match s.get(i) {
            Some('0') => i += 1,
            Some('1'..='9') => i = digits(i),
            _ => return Err(DecErr("Expecting value", start)),
        }
        let mut is_float = false;
        if s.get(i) == Some(&'.') && s.get(i + 1).is_some_and(|c| c.is_ascii_digit()) {
            i = digits(i + 1);
            is_float = true;
        }
        if matches!(s.get(i), Some('e' | 'E')) {
            let mut j = i + 1;
            if matches!(s.get(j), Some('+' | '-')) {
                j += 1;
            }
            if s.get(j).is_some_and(|c| c.is_ascii_digit()) {
                i = digits(j);
                is_float = true;
            }
        }
        let text: String = s[start..i].iter().collect();
        let hook = if is_float {
            &self.parse_float
        } else {
            &self.parse_int
        };
        if let Some(h) = hook {
            return Ok(vm.call(h, vec![Value::str(text)]).map(|v| (v, i)));
        }
        let v = if is_float {
            Value::Float(text.parse::<f64>().unwrap_or(f64::NAN))
        } else {
            match text.parse::<i64>() {
                Ok(n) => Value::Int(n),
                Err(_) => Value::from_bigint(text.parse::<BigInt>().unwrap_or_default()),
            }
        };
        Ok(Ok((v, i)))
    }

    /// A string starting at the quote at `start`: (text, index after it).
    fn string(&self, start: usize) -> Result<(String, usize), DecErr> {
        let s = self.s;
        let mut out = String::new();
        let mut i = start + 1;
        loop {
            let Some(&c) = s.get(i) else {
                return Err(DecErr("Unterminated string starting at", start));
            };
            match c {
                '"' => return Ok((out, i + 1)),
                '\\' => {
                    let Some(&e) = s.get(i + 1) else {
                        return Err(DecErr("Unterminated string starting at", start));
                    };
                    match e {
                        '"' => out.push('"'),
                        '\\' => out.push('\\'),
                        '/' => out.push('/'),
                        'b' => out.push('\x08'),
                        'f' => out.push('\x0c'),
                        'n' => out.push('\n'),
                        'r' => out.push('\r'),
                        't' => out.push('\t'),
                        'u' => {
                            let hex = |j: usize| -> Option<u32> {
                                let h: String = s.get(j..j + 4)?.iter().collect();
                                if h.chars().all(|c| c.is_ascii_hexdigit()) {
                                    u32::from_str_radix(&h, 16).ok()
                                } else {
                                    None
                                }
                            };
                            let Some(u) = hex(i + 2) else {
                                return Err(DecErr("Invalid \\uXXXX escape", i + 1));
                            };
                            let mut cp = u;
                            let mut used = 6;
                            if (0xd800..0xdc00).contains(&u)
                                && s.get(i + 6) == Some(&'\\')
                                && s.get(i + 7) == Some(&'u')
                            {
                                let Some(lo) = hex(i + 8) else {
                                    return Err(DecErr("Invalid \\uXXXX escape", i + 7));
                                };
                                if (0xdc00..0xe000).contains(&lo) {
                                    cp = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
                                    used = 12;
                                }
                            }
                            // A lone surrogate cannot be held in covm's UTF-8 strings.
                            out.push(char::from_u32(cp).unwrap_or('\u{fffd}'));
                            i += used;
                            continue;
                        }
                        _ => return Err(DecErr("Invalid \\escape", i)),
                    }
                    i += 2;
                }
                c if (c as u32) < 0x20 => {
                    return Err(DecErr("Invalid control character at", i));
                }
                c => {
                    out.push(c);
                    i += 1;
                }
            }
        }
    }

    fn array(&self, vm: &mut Vm, mut i: usize) -> Result<PyResult<(Value, usize)>, DecErr> {
        let mut items = Vec::new();
        i = self.ws(i);
        if self.s.get(i) == Some(&']') {
            return Ok(Ok((Value::list(items), i + 1)));
        }
        loop {
            let (v, end) = match self.value(vm, i)? {
                Ok(x) => x,
                Err(e) => return Ok(Err(e)),
            };
            items.push(v);
            i = self.ws(end);
            match self.s.get(i) {
                Some(']') => return Ok(Ok((Value::list(items), i + 1))),
                Some(',') => i = self.ws(i + 1),
                _ => return Err(DecErr("Expecting ',' delimiter", i)),
            }
        }
    }

    fn object(&self, vm: &mut Vm, mut i: usize) -> Result<PyResult<(Value, usize)>, DecErr> {
        let mut pairs: Vec<(Value, Value)> = Vec::new();
        i = self.ws(i);
        if self.s.get(i) == Some(&'}') {
            return Ok(self.finish_object(vm, pairs, i + 1));
        }
        loop {
            if self.s.get(i) != Some(&'"') {
                return Err(DecErr(
                    "Expecting property name enclosed in double quotes",
                    i,
                ));
            }
            let (key, end) = self.string(i)?;
            i = self.ws(end);
            if self.s.get(i) != Some(&':') {
                return Err(DecErr("Expecting ':' delimiter", i));
            }
            i = self.ws(i + 1);
            let (v, end) = match self.value(vm, i)? {
                Ok(x) => x,
                Err(e) => return Ok(Err(e)),
            };
            pairs.push((Value::str(key), v));
            i = self.ws(end);
            match self.s.get(i) {
                Some('}') => return Ok(self.finish_object(vm, pairs, i + 1)),
                Some(',') => i = self.ws(i + 1),
                _ => return Err(DecErr("Expecting ',' delimiter", i)),
            }
        }
    }

    fn finish_object(
        &self,
        vm: &mut Vm,
        pairs: Vec<(Value, Value)>,
        end: usize,
    ) -> PyResult<(Value, usize)> {
        if let Some(h) = &self.pairs_hook {
            let list = Value::list(
                pairs
                    .into_iter()
                    .map(|(k, v)| Value::tuple(vec![k, v]))
                    .collect(),
            );
            return Ok((vm.call(h, vec![list])?, end));
        }
        let d = RefCell::new(covm_vm::dict::Dict::new());
        for (k, v) in pairs {
            covm_vm::dict::set(vm, &d, k, v)?;
        }
        let obj = Value::Dict(Rc::new(d));
        match &self.object_hook {
            Some(h) => Ok((vm.call(h, vec![obj])?, end)),
            None => Ok((obj, end)),
        }
    }
}

fn decode_error_class(vm: &mut Vm) -> Rc<Class> {
    if let Some(c) = vm.extensions.get("json.JSONDecodeError")
        && let Ok(c) = c.clone().downcast::<Class>()
    {
        return c;
    }
    let cls = Class::native(
        "JSONDecodeError",
        "json.decoder",
        &vm.exc.value_error,
        BuiltinType::BaseException,
    );
    vm.extensions.insert("json.JSONDecodeError", cls.clone());
    cls
}

fn decode_error(vm: &mut Vm, e: DecErr, doc: &Value, chars: &[char]) -> Value {
    let DecErr(msg, pos) = e;
    let before = &chars[..pos.min(chars.len())];
    let lineno = before.iter().filter(|&&c| c == '\n').count() + 1;
    let colno = match before.iter().rposition(|&c| c == '\n') {
        Some(nl) => pos - nl,
        None => pos + 1,
    };
    let cls = decode_error_class(vm);
    let text = format!("{msg}: line {lineno} column {colno} (char {pos})");
    let exc = vm.new_exc(&cls, &text);
    if let Value::Instance(i) = &exc {
        let mut d = i.dict.borrow_mut();
        d.insert(Rc::from("msg"), Value::str(msg));
        d.insert(Rc::from("doc"), doc.clone());
        d.insert(Rc::from("pos"), Value::Int(pos as i64));
        d.insert(Rc::from("lineno"), Value::Int(lineno as i64));
        d.insert(Rc::from("colno"), Value::Int(colno as i64));
    }
    exc
}

const LOADS_PARAMS: &[&str] = &[
    "cls",
    "object_hook",
    "parse_float",
    "parse_int",
    "parse_constant",
    "object_pairs_hook",
];

fn decode(vm: &mut Vm, doc: &Value, kw: &KwArgs) -> PyResult<Value> {
    let p = bind_params(vm, "loads", &[], kw, LOADS_PARAMS)?;
    let text = match doc {
        Value::Str(s) => s.as_str().to_string(),
        Value::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
        other => {
            return Err(vm.type_error(&format!(
                "the JSON object must be str, bytes or bytearray, not {}",
                vm.type_name(other)
            )));
        }
    };
    let chars: Vec<char> = text.chars().collect();
    let hook = |i: usize| p[i].clone().filter(|v| !v.is_none());
    let dec = Dec {
        s: &chars,
        object_hook: hook(1),
        parse_float: hook(2),
        parse_int: hook(3),
        parse_constant: hook(4),
        pairs_hook: hook(5),
    };
    let start = dec.ws(0);
    let r = dec.value(vm, start).and_then(|r| match r {
        Ok((v, end)) => {
            let end = dec.ws(end);
            if end != chars.len() {
                Err(DecErr("Extra data", end))
            } else {
                Ok(Ok(v))
            }
        }
        Err(e) => Ok(Err(e)),
    });
    match r {
        Ok(v) => v,
        Err(e) => Err(decode_error(vm, e, doc, &chars)),
    }
}

fn loads(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    if args.len() != 1 {
        return Err(vm.type_error(&format!(
            "loads() takes 1 positional argument but {} were given",
            args.len()
        )));
    }
    decode(vm, &args[0], kw)
}

fn load(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    if args.len() != 1 {
        return Err(vm.type_error(&format!(
            "load() takes 1 positional argument but {} were given",
            args.len()
        )));
    }
    let text = vm.call_method(&args[0], "read", vec![])?;
    decode(vm, &text, kw)
}

pub fn init(vm: &mut Vm) -> PyResult<Value> {
    let m = vm.new_module("json");
    func(vm, &m, "dumps", dumps);
    func(vm, &m, "dump", dump);
    func(vm, &m, "loads", loads);
    func(vm, &m, "load", load);
    let cls = decode_error_class(vm);
    set(&m, "JSONDecodeError", Value::Class(cls));
    Ok(Value::Module(m))
}
