//! The `re` module over fancy-regex: patterns are translated from Python's
//! syntax (`re_translate.rs`), matching follows CPython 3.7+'s rules for
//! empty matches, and positions are reported in code points.
//!
//! Left out: bytes patterns (a TypeError says so), `RegexFlag` reprs (the
//! flags are plain ints), `re.Scanner`, `re.template`. One known
//! difference: after an empty match, CPython may retry the same position
//! for a non-empty match of a lazy pattern (`a*?`); covm moves on.

use std::cell::{OnceCell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

use covm_vm::Vm;
use covm_vm::value::*;
use fancy_regex::Regex;

use crate::args::bind_params;
use crate::methods::index_arg;
use crate::modules::{func, native_class, set, this};
use crate::re_translate::{self as tr, ReError};

pub struct PatternObj {
    cls: Rc<Class>,
    pattern: Value,
    flags: i64,
    groups: usize,
    names: Vec<(String, usize)>,
    translated: String,
    search: Regex,
    anchored: OnceCell<Option<Regex>>,
    full: OnceCell<Option<Regex>>,
    full_anchored: OnceCell<Option<Regex>>,
}

impl NativeObject for PatternObj {
    fn class(&self, _vm: &Vm) -> Rc<Class> {
        self.cls.clone()
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
    fn repr(&self, vm: &mut Vm) -> PyResult<Option<String>> {
        let mut p = vm.repr(&self.pattern)?;
        if p.chars().count() > 200 {
            p = p.chars().take(200).collect();
        }
        let f = self.flags & !tr::U;
        if f == 0 {
            return Ok(Some(format!("re.compile({p})")));
        }
        let names = [
            (tr::I, "re.IGNORECASE"),
            (tr::L, "re.LOCALE"),
            (tr::M, "re.MULTILINE"),
            (tr::S, "re.DOTALL"),
            (tr::X, "re.VERBOSE"),
            (tr::A, "re.ASCII"),
        ];
        let mut parts: Vec<String> = names
            .iter()
            .filter(|(b, _)| f & b != 0)
            .map(|(_, n)| n.to_string())
            .collect();
        let rest = f & !(tr::I | tr::L | tr::M | tr::S | tr::X | tr::A);
        if rest != 0 {
            parts.push(format!("0x{rest:x}"));
        }
        Ok(Some(format!("re.compile({p}, {})", parts.join("|"))))
    }
    fn get_attr(&self, _vm: &mut Vm, name: &str) -> PyResult<Option<Value>> {
        Ok(match name {
            "pattern" => Some(self.pattern.clone()),
            "flags" => Some(Value::Int(self.flags)),
            "groups" => Some(Value::Int(self.groups as i64)),
            "groupindex" => Some(self.groupindex(_vm)?),
            _ => None,
        })
    }
}

impl PatternObj {
    fn groupindex(&self, vm: &mut Vm) -> PyResult<Value> {
        let d = RefCell::new(covm_vm::dict::Dict::new());
        for (n, i) in &self.names {
            covm_vm::dict::set(vm, &d, Value::str(n.as_str()), Value::Int(*i as i64))?;
        }
        Ok(Value::Dict(Rc::new(d)))
    }

    fn group_number(&self, vm: &mut Vm, g: &Value) -> PyResult<usize> {
        let n = match g {
            Value::Str(s) => self
                .names
                .iter()
                .find(|(n, _)| n == s.as_str())
                .map(|(_, i)| *i),
            Value::Int(_) | Value::Bool(_) => {
                let i = index_arg(vm, g)?;
                (i >= 0 && i as usize <= self.groups).then_some(i as usize)
            }
            _ => None,
        };
        n.ok_or_else(|| vm.index_error("no such group"))
    }

    fn variant<'a>(&self, cell: &'a OnceCell<Option<Regex>>, wrap: &str) -> Option<&'a Regex> {
        cell.get_or_init(|| {
            let src = wrap.replace("PAT", &self.translated);
            Regex::new(&src).ok()
        })
        .as_ref()
    }
}

pub struct MatchObj {
    cls: Rc<Class>,
    pattern: Value,
    string: Value,
    /// Spans in code points; None for a group that did not take part.
    spans: Vec<Option<(usize, usize)>>,
    pos: usize,
    endpos: usize,
}

impl NativeObject for MatchObj {
    fn class(&self, _vm: &Vm) -> Rc<Class> {
        self.cls.clone()
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
    fn repr(&self, vm: &mut Vm) -> PyResult<Option<String>> {
        let (s, e) = self.spans[0].unwrap_or((0, 0));
        let m = self.group_value(0);
        let r = vm.repr(&m)?;
        Ok(Some(format!(
            "<re.Match object; span=({s}, {e}), match={r}>"
        )))
    }
    fn get_attr(&self, _vm: &mut Vm, name: &str) -> PyResult<Option<Value>> {
        Ok(match name {
            "string" => Some(self.string.clone()),
            "re" => Some(self.pattern.clone()),
            "pos" => Some(Value::Int(self.pos as i64)),
            "endpos" => Some(Value::Int(self.endpos as i64)),
            "lastindex" => Some(match self.lastindex() {
                Some(i) => Value::Int(i as i64),
                None => Value::None,
            }),
            "lastgroup" => {
                let name = self.lastindex().and_then(|i| {
                    self.pat().and_then(|p| {
                        p.names
                            .iter()
                            .find(|(_, n)| *n == i)
                            .map(|(s, _)| s.clone())
                    })
                });
                Some(name.map(Value::str).unwrap_or(Value::None))
            }
            "regs" => Some(Value::tuple(
                self.spans
                    .iter()
                    .map(|s| {
                        let (a, b) = s.map(|(a, b)| (a as i64, b as i64)).unwrap_or((-1, -1));
                        Value::tuple(vec![Value::Int(a), Value::Int(b)])
                    })
                    .collect(),
            )),
            _ => None,
        })
    }
}

impl MatchObj {
    fn pat(&self) -> Option<&PatternObj> {
        crate::modules::downcast::<PatternObj>(&self.pattern)
    }

    /// The group whose closing parenthesis came last among those that
    /// matched (CPython's `lastindex`): the matched group ending last,
    /// preferring the outer (lower-numbered) one on a tie.
    fn lastindex(&self) -> Option<usize> {
        let mut best: Option<(usize, usize)> = None;
        for (i, s) in self.spans.iter().enumerate().skip(1) {
            if let Some((st, e)) = s {
                match best {
                    Some((_, be)) if *e < be => {}
                    Some((bi, be)) if *e == be => {
                        // An inner group closes before its outer one.
                        let (bs, _) = self.spans[bi].unwrap_or((0, 0));
                        if *st < bs || (*st == bs && i < bi) {
                            best = Some((i, *e));
                        }
                    }
                    _ => best = Some((i, *e)),
                }
            }
        }
        best.map(|b| b.0)
    }

    fn group_value(&self, i: usize) -> Value {
        match self.spans.get(i).copied().flatten() {
            Some((s, e)) => match &self.string {
                Value::Str(st) => Value::str(char_slice(st, s, e)),
                _ => Value::None,
            },
            None => Value::None,
        }
    }
}

fn char_slice(s: &PyStr, a: usize, b: usize) -> String {
    if s.ascii {
        return s.as_str()[a..b].to_string();
    }
    s.as_str().chars().skip(a).take(b - a).collect()
}

/// Byte offset ↔ code-point index for one string.
struct Offsets {
    /// For non-ASCII text: the byte offset of every code point, plus the end.
    starts: Option<Vec<usize>>,
}

impl Offsets {
    fn new(s: &PyStr) -> Offsets {
        if s.ascii {
            return Offsets { starts: None };
        }
        let mut v: Vec<usize> = s.as_str().char_indices().map(|(i, _)| i).collect();
        v.push(s.as_str().len());
        Offsets { starts: Some(v) }
    }
    fn to_byte(&self, c: usize) -> usize {
        match &self.starts {
            None => c,
            Some(v) => v[c.min(v.len() - 1)],
        }
    }
    fn to_char(&self, b: usize) -> usize {
        match &self.starts {
            None => b,
            Some(v) => v.binary_search(&b).unwrap_or_else(|i| i),
        }
    }
}

// ---- errors -----------------------------------------------------------------

fn error_class(vm: &mut Vm) -> Rc<Class> {
    if let Some(c) = vm.extensions.get("re.error")
        && let Ok(c) = c.clone().downcast::<Class>()
    {
        return c;
    }
    let cls = Class::native("error", "re", &vm.exc.exception, BuiltinType::BaseException);
    vm.extensions.insert("re.error", cls.clone());
    cls
}

fn re_error(vm: &mut Vm, e: ReError, pattern: &Value) -> Value {
    let cls = error_class(vm);
    let text = match e.pos {
        Some(p) => format!("{} at position {p}", e.msg),
        None => e.msg.clone(),
    };
    let exc = vm.new_exc(&cls, &text);
    if let Value::Instance(i) = &exc {
        let mut d = i.dict.borrow_mut();
        d.insert(Rc::from("msg"), Value::str(e.msg));
        d.insert(Rc::from("pattern"), pattern.clone());
        d.insert(
            Rc::from("pos"),
            e.pos.map(|p| Value::Int(p as i64)).unwrap_or(Value::None),
        );
    }
    exc
}

// ---- compiling ----------------------------------------------------------------

thread_local! {
    static CACHE: RefCell<HashMap<(String, i64), Value>> = RefCell::new(HashMap::new());
}

fn pattern_class(vm: &mut Vm) -> Rc<Class> {
    native_class(vm, "re.Pattern", "Pattern", "re", setup_pattern)
}

fn match_class(vm: &mut Vm) -> Rc<Class> {
    native_class(vm, "re.Match", "Match", "re", setup_match)
}

fn compile_value(vm: &mut Vm, pattern: &Value, flags: i64) -> PyResult<Value> {
    if crate::modules::downcast::<PatternObj>(pattern).is_some() {
        if flags != 0 {
            return Err(vm.value_error("cannot process flags argument with a compiled pattern"));
        }
        return Ok(pattern.clone());
    }
    let src = match pattern {
        Value::Str(s) => s.as_str().to_string(),
        Value::Bytes(_) => {
            return Err(vm.type_error("covm's re module supports str patterns only, not bytes"));
        }
        _ => {
            return Err(vm.type_error("first argument must be string or compiled pattern"));
        }
    };
    let key = (src.clone(), flags);
    if let Some(v) = CACHE.with(|c| c.borrow().get(&key).cloned()) {
        return Ok(v);
    }
    let t = match tr::translate(&src, flags) {
        Ok(t) => t,
        Err(e) => return Err(re_error(vm, e, pattern)),
    };
    let search = match Regex::new(&t.regex) {
        Ok(r) => r,
        Err(e) => {
            return Err(re_error(
                vm,
                ReError {
                    msg: format!("unsupported or invalid pattern ({e})"),
                    pos: None,
                },
                pattern,
            ));
        }
    };
    let cls = pattern_class(vm);
    let v = Value::Native(
        NativeBox::new(PatternObj {
            cls,
            pattern: pattern.clone(),
            flags: t.flags,
            groups: t.groups,
            names: t.names,
            translated: t.regex,
            search,
            anchored: OnceCell::new(),
            full: OnceCell::new(),
            full_anchored: OnceCell::new(),
        })
        .into(),
    );
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        if c.len() >= 512 {
            c.clear();
        }
        c.insert(key, v.clone());
    });
    Ok(v)
}

fn pat<'a>(vm: &Vm, args: &'a [Value], method: &str) -> PyResult<&'a PatternObj> {
    this::<PatternObj>(vm, args, "re.Pattern", method)
}

fn text_arg(vm: &Vm, v: &Value) -> PyResult<Rc<PyStr>> {
    match v {
        Value::Str(s) => Ok(s.clone()),
        other => Err(vm.type_error(&format!(
            "expected string or bytes-like object, got '{}'",
            vm.type_name(other)
        ))),
    }
}

/// `pos`/`endpos` clamped as CPython does, in code points.
fn bounds(
    vm: &mut Vm,
    s: &PyStr,
    pos: &Option<Value>,
    endpos: &Option<Value>,
) -> PyResult<(usize, usize)> {
    let n = s.char_len() as i64;
    let p = match pos {
        Some(v) => index_arg(vm, v)?.clamp(0, n),
        None => 0,
    };
    let e = match endpos {
        Some(v) => index_arg(vm, v)?.clamp(0, n),
        None => n,
    };
    Ok((p as usize, e.max(p) as usize))
}

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Search,
    Match,
    Full,
}

/// Byte spans of one match.
type Spans = Vec<Option<(usize, usize)>>;

fn run_error(vm: &Vm, e: fancy_regex::Error) -> Value {
    vm.runtime_error(&format!("regular expression engine error: {e}"))
}

fn captures_at(
    vm: &Vm,
    re: &Regex,
    hay: &str,
    from: usize,
    groups: usize,
) -> PyResult<Option<Spans>> {
    match re.captures_from_pos(hay, from) {
        Ok(Some(c)) => Ok(Some(
            (0..=groups)
                .map(|i| c.get(i).map(|m| (m.start(), m.end())))
                .collect(),
        )),
        Ok(None) => Ok(None),
        Err(e) => Err(run_error(vm, e)),
    }
}

fn one_match(
    vm: &Vm,
    p: &PatternObj,
    hay: &str,
    from: usize,
    mode: Mode,
) -> PyResult<Option<Spans>> {
    let re = match (mode, from) {
        (Mode::Search, _) => Some(&p.search),
        (Mode::Match, 0) => p.variant(&p.anchored, "\\A(?:PAT)"),
        (Mode::Match, _) => Some(&p.search),
        (Mode::Full, 0) => p.variant(&p.full_anchored, "\\A(?:PAT)\\z"),
        (Mode::Full, _) => p.variant(&p.full, "(?:PAT)\\z"),
    };
    let Some(re) = re else {
        return Err(vm.runtime_error("re: could not build the anchored pattern"));
    };
    let r = captures_at(vm, re, hay, from, p.groups)?;
    Ok(r.filter(|s| mode == Mode::Search || s[0].is_some_and(|(a, _)| a == from)))
}

fn make_match(
    vm: &mut Vm,
    pattern: &Value,
    string: &Value,
    off: &Offsets,
    spans: &Spans,
    pos: usize,
    endpos: usize,
) -> Value {
    let cls = match_class(vm);
    let spans = spans
        .iter()
        .map(|s| s.map(|(a, b)| (off.to_char(a), off.to_char(b))))
        .collect();
    Value::Native(
        NativeBox::new(MatchObj {
            cls,
            pattern: pattern.clone(),
            string: string.clone(),
            spans,
            pos,
            endpos,
        })
        .into(),
    )
}

/// Calls `f` with every match from `from` on, following CPython 3.7+:
/// an empty match may not start where the previous match ended if that
/// one was empty too. `f` returns false to stop.
fn each_match(
    vm: &mut Vm,
    p: &PatternObj,
    hay: &str,
    from: usize,
    mut f: impl FnMut(&mut Vm, &Spans) -> PyResult<bool>,
) -> PyResult<()> {
    let mut at = from;
    let mut must_advance = false;
    while at <= hay.len() {
        let Some(mut spans) = captures_at(vm, &p.search, hay, at, p.groups)? else {
            break;
        };
        let (mut s, mut e) = spans[0].unwrap_or((at, at));
        if must_advance && s == e && s == at {
            let Some(c) = hay[at..].chars().next() else {
                break;
            };
            match captures_at(vm, &p.search, hay, at + c.len_utf8(), p.groups)? {
                Some(sp) => spans = sp,
                None => break,
            }
            (s, e) = spans[0].unwrap_or((at, at));
        }
        if !f(vm, &spans)? {
            break;
        }
        must_advance = s == e;
        at = e;
    }
    Ok(())
}

// ---- Pattern methods ----------------------------------------------------------

fn do_match(vm: &mut Vm, pv: &Value, args: &[Value], mode: Mode) -> PyResult<Value> {
    let Some(p) = crate::modules::downcast::<PatternObj>(pv) else {
        return Err(vm.type_error("expected a pattern"));
    };
    let s = text_arg(vm, &args[0])?;
    let (pos, endpos) = bounds(vm, &s, &args.get(1).cloned(), &args.get(2).cloned())?;
    let off = Offsets::new(&s);
    let hay = &s.as_str()[..off.to_byte(endpos)];
    match one_match(vm, p, hay, off.to_byte(pos), mode)? {
        Some(spans) => Ok(make_match(vm, pv, &args[0], &off, &spans, pos, endpos)),
        None => Ok(Value::None),
    }
}

fn string_args(vm: &Vm, name: &str, args: &[Value], kw: &KwArgs) -> PyResult<Vec<Value>> {
    let p = bind_params(
        vm,
        name,
        args.get(1..).unwrap_or(&[]),
        kw,
        &["string", "pos", "endpos"],
    )?;
    let Some(s) = p[0].clone() else {
        return Err(vm.type_error(&format!(
            "{name}() missing required argument 'string' (pos 1)"
        )));
    };
    let mut out = vec![s];
    out.push(p[1].clone().unwrap_or(Value::Int(0)));
    out.push(p[2].clone().unwrap_or(Value::Int(i64::MAX)));
    Ok(out)
}

fn p_match(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    pat(vm, args, "match")?;
    let a = string_args(vm, "match", args, kw)?;
    do_match(vm, &args[0], &a, Mode::Match)
}

fn p_search(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    pat(vm, args, "search")?;
    let a = string_args(vm, "search", args, kw)?;
    do_match(vm, &args[0], &a, Mode::Search)
}

fn p_fullmatch(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    pat(vm, args, "fullmatch")?;
    let a = string_args(vm, "fullmatch", args, kw)?;
    do_match(vm, &args[0], &a, Mode::Full)
}

/// The text, its offsets, the matches' byte spans, pos and endpos.
type AllMatches = (Rc<PyStr>, Offsets, Vec<Spans>, usize, usize);

/// All matches (for findall/finditer).
fn all_matches(vm: &mut Vm, pv: &Value, args: &[Value]) -> PyResult<AllMatches> {
    let Some(p) = crate::modules::downcast::<PatternObj>(pv) else {
        return Err(vm.type_error("expected a pattern"));
    };
    let s = text_arg(vm, &args[0])?;
    let (pos, endpos) = bounds(vm, &s, &args.get(1).cloned(), &args.get(2).cloned())?;
    let off = Offsets::new(&s);
    let mut found = Vec::new();
    {
        let hay = &s.as_str()[..off.to_byte(endpos)];
        each_match(vm, p, hay, off.to_byte(pos), |_, sp| {
            found.push(sp.clone());
            Ok(true)
        })?;
    }
    Ok((s, off, found, pos, endpos))
}

fn findall(vm: &mut Vm, pv: &Value, args: &[Value]) -> PyResult<Value> {
    let (s, _off, found, _, _) = all_matches(vm, pv, args)?;
    let groups = crate::modules::downcast::<PatternObj>(pv)
        .map(|p| p.groups)
        .unwrap_or(0);
    let text = s.as_str();
    let piece = |sp: Option<(usize, usize)>| Value::str(sp.map(|(a, b)| &text[a..b]).unwrap_or(""));
    let out = found
        .into_iter()
        .map(|sp| match groups {
            0 => piece(sp[0]),
            1 => piece(sp[1]),
            _ => Value::tuple(sp[1..].iter().map(|g| piece(*g)).collect()),
        })
        .collect();
    Ok(Value::list(out))
}

fn finditer(vm: &mut Vm, pv: &Value, args: &[Value]) -> PyResult<Value> {
    let (_s, off, found, pos, endpos) = all_matches(vm, pv, args)?;
    let items: Vec<Value> = found
        .iter()
        .map(|sp| make_match(vm, pv, &args[0], &off, sp, pos, endpos))
        .collect();
    let list = Value::list(items);
    vm.get_iter(&list)
}

fn p_findall(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    pat(vm, args, "findall")?;
    let a = string_args(vm, "findall", args, kw)?;
    findall(vm, &args[0], &a)
}

fn p_finditer(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    pat(vm, args, "finditer")?;
    let a = string_args(vm, "finditer", args, kw)?;
    finditer(vm, &args[0], &a)
}

enum Piece {
    Lit(String),
    Group(usize),
}

/// Parses a replacement template (`\1`, `\g<name>`, `\g<1>`, escapes).
fn parse_template(vm: &mut Vm, p: &PatternObj, t: &str) -> PyResult<Vec<Piece>> {
    let chars: Vec<char> = t.chars().collect();
    let mut out = Vec::new();
    let mut lit = String::new();
    let mut i = 0;
    let bad = |vm: &mut Vm, msg: String, pos: usize| {
        re_error(
            vm,
            ReError {
                msg,
                pos: Some(pos),
            },
            &Value::str(t),
        )
    };
    while i < chars.len() {
        let c = chars[i];
        if c != '\\' {
            lit.push(c);
            i += 1;
            continue;
        }
        let Some(&d) = chars.get(i + 1) else {
            return Err(bad(vm, "bad escape (end of pattern)".into(), i));
        };
        let mut group = None;
        match d {
            'g' => {
                if chars.get(i + 2) != Some(&'<') {
                    return Err(bad(vm, "missing <".into(), i + 2));
                }
                let mut j = i + 3;
                let mut name = String::new();
                while j < chars.len() && chars[j] != '>' {
                    name.push(chars[j]);
                    j += 1;
                }
                if j >= chars.len() {
                    return Err(bad(vm, "missing >, unterminated name".into(), i + 3));
                }
                if name.is_empty() {
                    return Err(bad(vm, "missing group name".into(), i + 3));
                }
                let num = if let Ok(n) = name.parse::<usize>() {
                    if n > p.groups {
                        return Err(bad(vm, format!("invalid group reference {n}"), i + 3));
                    }
                    n
                } else {
                    match p.names.iter().find(|(n, _)| *n == name) {
                        Some((_, n)) => *n,
                        None => {
                            let ok = name
                                .chars()
                                .next()
                                .is_some_and(|c| c.is_alphabetic() || c == '_')
                                && name.chars().all(|c| c.is_alphanumeric() || c == '_');
                            if !ok {
                                return Err(bad(
                                    vm,
                                    format!("bad character in group name '{name}'"),
                                    i + 3,
                                ));
                            }
                            return Err(vm.index_error(&format!("unknown group name '{name}'")));
                        }
                    }
                };
                group = Some(num);
                i = j + 1;
            }
            '0' => {
                let mut v = 0u32;
                let mut j = i + 2;
                while j < i + 4 && j < chars.len() && chars[j].is_digit(8) {
                    v = v * 8 + chars[j].to_digit(8).unwrap_or(0);
                    j += 1;
                }
                lit.push(char::from_u32(v).unwrap_or('\0'));
                i = j;
            }
            '1'..='9' => {
                let mut n = d.to_digit(10).unwrap_or(0) as usize;
                let mut j = i + 2;
                if let Some(x) = chars.get(j).and_then(|c| c.to_digit(10)) {
                    n = n * 10 + x as usize;
                    j += 1;
                }
                if n > p.groups {
                    return Err(bad(vm, format!("invalid group reference {n}"), i + 1));
                }
                group = Some(n);
                i = j;
            }
            'n' | 't' | 'r' | 'f' | 'v' | 'a' | 'b' | '\\' => {
                lit.push(match d {
                    'n' => '\n',
                    't' => '\t',
                    'r' => '\r',
                    'f' => '\x0c',
                    'v' => '\x0b',
                    'a' => '\x07',
                    'b' => '\x08',
                    _ => '\\',
                });
                i += 2;
            }
            c if c.is_ascii_alphabetic() => {
                return Err(bad(vm, format!("bad escape \\{c}"), i));
            }
            c => {
                lit.push('\\');
                lit.push(c);
                i += 2;
            }
        }
        if let Some(g) = group {
            if !lit.is_empty() {
                out.push(Piece::Lit(std::mem::take(&mut lit)));
            }
            out.push(Piece::Group(g));
        }
    }
    if !lit.is_empty() {
        out.push(Piece::Lit(lit));
    }
    Ok(out)
}

fn expand(pieces: &[Piece], text: &str, spans: &Spans, out: &mut String) {
    for piece in pieces {
        match piece {
            Piece::Lit(s) => out.push_str(s),
            Piece::Group(g) => {
                if let Some(Some((a, b))) = spans.get(*g) {
                    out.push_str(&text[*a..*b]);
                }
            }
        }
    }
}

fn subn(
    vm: &mut Vm,
    pv: &Value,
    repl: &Value,
    string: &Value,
    count: i64,
) -> PyResult<(String, i64)> {
    let Some(p) = crate::modules::downcast::<PatternObj>(pv) else {
        return Err(vm.type_error("expected a pattern"));
    };
    let s = text_arg(vm, string)?;
    let template = match repl {
        Value::Str(r) => Some(if r.as_str().contains('\\') {
            parse_template(vm, p, r.as_str())?
        } else {
            vec![Piece::Lit(r.as_str().to_string())]
        }),
        Value::Bytes(_) => return Err(vm.type_error("expected str instance, bytes found")),
        _ => None,
    };
    let off = Offsets::new(&s);
    let text = s.as_str();
    let mut out = String::new();
    let mut last = 0;
    let mut n = 0i64;
    // How many pieces CPython's join would have seen (for its error text).
    let mut pieces = 0;
    each_match(vm, p, text, 0, |vm, spans| {
        if count > 0 && n >= count {
            return Ok(false);
        }
        let (a, b) = spans[0].unwrap_or((last, last));
        out.push_str(&text[last..a]);
        if a > last {
            pieces += 1;
        }
        match &template {
            Some(t) => expand(t, text, spans, &mut out),
            None => {
                let endpos = s.char_len();
                let m = make_match(vm, pv, string, &off, spans, 0, endpos);
                let r = vm.call(repl, vec![m])?;
                match &r {
                    Value::Str(x) => out.push_str(x.as_str()),
                    Value::None => pieces -= 1,
                    other => {
                        return Err(vm.type_error(&format!(
                            "sequence item {pieces}: expected str instance, {} found",
                            vm.type_name(other)
                        )));
                    }
                }
            }
        }
        pieces += 1;
        last = b;
        n += 1;
        Ok(true)
    })?;
    out.push_str(&text[last..]);
    Ok((out, n))
}

fn split(vm: &mut Vm, pv: &Value, string: &Value, maxsplit: i64) -> PyResult<Value> {
    let Some(p) = crate::modules::downcast::<PatternObj>(pv) else {
        return Err(vm.type_error("expected a pattern"));
    };
    let s = text_arg(vm, string)?;
    let text = s.as_str();
    let mut out = Vec::new();
    let mut last = 0;
    let mut n = 0i64;
    if maxsplit < 0 {
        return Ok(Value::list(vec![string.clone()]));
    }
    each_match(vm, p, text, 0, |_, spans| {
        if maxsplit > 0 && n >= maxsplit {
            return Ok(false);
        }
        let (a, b) = spans[0].unwrap_or((last, last));
        out.push(Value::str(&text[last..a]));
        for g in &spans[1..] {
            out.push(match g {
                Some((x, y)) => Value::str(&text[*x..*y]),
                None => Value::None,
            });
        }
        last = b;
        n += 1;
        Ok(true)
    })?;
    out.push(Value::str(&text[last..]));
    Ok(Value::list(out))
}

fn p_sub(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    pat(vm, args, "sub")?;
    let a = bind_params(vm, "sub", &args[1..], kw, &["repl", "string", "count"])?;
    let (Some(repl), Some(string)) = (a[0].clone(), a[1].clone()) else {
        return Err(vm.type_error("sub() missing required argument 'string' (pos 2)"));
    };
    let count = match &a[2] {
        Some(c) => index_arg(vm, c)?,
        None => 0,
    };
    Ok(Value::str(subn(vm, &args[0], &repl, &string, count)?.0))
}

fn p_subn(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    pat(vm, args, "subn")?;
    let a = bind_params(vm, "subn", &args[1..], kw, &["repl", "string", "count"])?;
    let (Some(repl), Some(string)) = (a[0].clone(), a[1].clone()) else {
        return Err(vm.type_error("subn() missing required argument 'string' (pos 2)"));
    };
    let count = match &a[2] {
        Some(c) => index_arg(vm, c)?,
        None => 0,
    };
    let (s, n) = subn(vm, &args[0], &repl, &string, count)?;
    Ok(Value::tuple(vec![Value::str(s), Value::Int(n)]))
}

fn p_split(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    pat(vm, args, "split")?;
    let a = bind_params(vm, "split", &args[1..], kw, &["string", "maxsplit"])?;
    let Some(string) = a[0].clone() else {
        return Err(vm.type_error("split() missing required argument 'string' (pos 1)"));
    };
    let maxsplit = match &a[1] {
        Some(c) => index_arg(vm, c)?,
        None => 0,
    };
    split(vm, &args[0], &string, maxsplit)
}

fn setup_pattern(vm: &mut Vm, cls: &Rc<Class>) {
    let methods: [(&str, NativeFn); 8] = [
        ("match", p_match),
        ("search", p_search),
        ("fullmatch", p_fullmatch),
        ("findall", p_findall),
        ("finditer", p_finditer),
        ("sub", p_sub),
        ("subn", p_subn),
        ("split", p_split),
    ];
    for (n, f) in methods {
        vm.add_method(cls, n, f);
    }
}

// ---- Match methods ------------------------------------------------------------

fn mobj<'a>(vm: &Vm, args: &'a [Value], method: &str) -> PyResult<&'a MatchObj> {
    this::<MatchObj>(vm, args, "re.Match", method)
}

fn group_index(vm: &mut Vm, m: &MatchObj, g: &Value) -> PyResult<usize> {
    match m.pat() {
        Some(p) => p.group_number(vm, g),
        None => Err(vm.index_error("no such group")),
    }
}

fn m_group(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let m = mobj(vm, args, "group")?;
    match args.len() {
        1 => Ok(m.group_value(0)),
        2 => {
            let i = group_index(vm, m, &args[1])?;
            Ok(m.group_value(i))
        }
        _ => {
            let mut out = Vec::new();
            for g in &args[1..] {
                let i = group_index(vm, m, g)?;
                out.push(m.group_value(i));
            }
            Ok(Value::tuple(out))
        }
    }
}

fn m_getitem(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let m = mobj(vm, args, "__getitem__")?;
    let g = args.get(1).cloned().unwrap_or(Value::Int(0));
    let i = group_index(vm, m, &g)?;
    Ok(m.group_value(i))
}

fn default_arg(vm: &Vm, name: &str, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let a = bind_params(vm, name, &args[1..], kw, &["default"])?;
    Ok(a[0].clone().unwrap_or(Value::None))
}

fn m_groups(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let m = mobj(vm, args, "groups")?;
    let d = default_arg(vm, "groups", args, kw)?;
    let out = (1..m.spans.len())
        .map(|i| match m.spans[i] {
            Some(_) => m.group_value(i),
            None => d.clone(),
        })
        .collect();
    Ok(Value::tuple(out))
}

fn m_groupdict(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let m = mobj(vm, args, "groupdict")?;
    let d = default_arg(vm, "groupdict", args, kw)?;
    let out = RefCell::new(covm_vm::dict::Dict::new());
    let names = m.pat().map(|p| p.names.clone()).unwrap_or_default();
    for (name, i) in &names {
        let v = match m.spans[*i] {
            Some(_) => m.group_value(*i),
            None => d.clone(),
        };
        covm_vm::dict::set(vm, &out, Value::str(name.as_str()), v)?;
    }
    Ok(Value::Dict(Rc::new(out)))
}

fn span_of(vm: &mut Vm, args: &[Value], method: &str) -> PyResult<(i64, i64)> {
    let m = mobj(vm, args, method)?;
    let g = args.get(1).cloned().unwrap_or(Value::Int(0));
    let i = group_index(vm, m, &g)?;
    Ok(m.spans[i]
        .map(|(a, b)| (a as i64, b as i64))
        .unwrap_or((-1, -1)))
}

fn m_start(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    Ok(Value::Int(span_of(vm, args, "start")?.0))
}

fn m_end(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    Ok(Value::Int(span_of(vm, args, "end")?.1))
}

fn m_span(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let (a, b) = span_of(vm, args, "span")?;
    Ok(Value::tuple(vec![Value::Int(a), Value::Int(b)]))
}

fn m_expand(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let m = mobj(vm, args, "expand")?;
    let Some(Value::Str(t)) = args.get(1) else {
        return Err(vm.type_error("expand() argument must be str"));
    };
    let Some(p) = m.pat() else {
        return Ok(Value::None);
    };
    let pieces = parse_template(vm, p, t.as_str())?;
    let mut out = String::new();
    for piece in &pieces {
        match piece {
            Piece::Lit(s) => out.push_str(s),
            Piece::Group(g) => {
                if let Value::Str(s) = m.group_value(*g) {
                    out.push_str(s.as_str());
                }
            }
        }
    }
    Ok(Value::str(out))
}

fn setup_match(vm: &mut Vm, cls: &Rc<Class>) {
    let methods: [(&str, NativeFn); 9] = [
        ("group", m_group),
        ("__getitem__", m_getitem),
        ("groups", m_groups),
        ("groupdict", m_groupdict),
        ("start", m_start),
        ("end", m_end),
        ("span", m_span),
        ("expand", m_expand),
        ("__bool__", m_bool),
    ];
    for (n, f) in methods {
        vm.add_method(cls, n, f);
    }
}

fn m_bool(_vm: &mut Vm, _args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    Ok(Value::Bool(true))
}

// ---- module functions -----------------------------------------------------------

fn flags_arg(vm: &mut Vm, v: &Option<Value>) -> PyResult<i64> {
    match v {
        None => Ok(0),
        Some(v) => index_arg(vm, v),
    }
}

fn need(vm: &Vm, name: &str, v: &Option<Value>, what: &str, _pos: usize) -> PyResult<Value> {
    v.clone().ok_or_else(|| {
        vm.type_error(&format!(
            "{name}() missing 1 required positional argument: '{what}'",
        ))
    })
}

fn module_match(
    vm: &mut Vm,
    args: &[Value],
    kw: &KwArgs,
    name: &str,
    mode: Mode,
) -> PyResult<Value> {
    let a = bind_params(vm, name, args, kw, &["pattern", "string", "flags"])?;
    let pattern = need(vm, name, &a[0], "pattern", 0)?;
    let string = need(vm, name, &a[1], "string", 1)?;
    let flags = flags_arg(vm, &a[2])?;
    let p = compile_value(vm, &pattern, flags)?;
    do_match(vm, &p, &[string], mode)
}

fn re_match(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    module_match(vm, args, kw, "match", Mode::Match)
}

fn re_search(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    module_match(vm, args, kw, "search", Mode::Search)
}

fn re_fullmatch(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    module_match(vm, args, kw, "fullmatch", Mode::Full)
}

fn re_findall(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let a = bind_params(vm, "findall", args, kw, &["pattern", "string", "flags"])?;
    let pattern = need(vm, "findall", &a[0], "pattern", 0)?;
    let string = need(vm, "findall", &a[1], "string", 1)?;
    let flags = flags_arg(vm, &a[2])?;
    let p = compile_value(vm, &pattern, flags)?;
    findall(vm, &p, &[string])
}

fn re_finditer(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let a = bind_params(vm, "finditer", args, kw, &["pattern", "string", "flags"])?;
    let pattern = need(vm, "finditer", &a[0], "pattern", 0)?;
    let string = need(vm, "finditer", &a[1], "string", 1)?;
    let flags = flags_arg(vm, &a[2])?;
    let p = compile_value(vm, &pattern, flags)?;
    finditer(vm, &p, &[string])
}

fn module_sub(vm: &mut Vm, args: &[Value], kw: &KwArgs, name: &str) -> PyResult<(String, i64)> {
    let a = bind_params(
        vm,
        name,
        args,
        kw,
        &["pattern", "repl", "string", "count", "flags"],
    )?;
    let pattern = need(vm, name, &a[0], "pattern", 0)?;
    let repl = need(vm, name, &a[1], "repl", 1)?;
    let string = need(vm, name, &a[2], "string", 2)?;
    let count = flags_arg(vm, &a[3])?;
    let flags = flags_arg(vm, &a[4])?;
    let p = compile_value(vm, &pattern, flags)?;
    subn(vm, &p, &repl, &string, count)
}

fn re_sub(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    Ok(Value::str(module_sub(vm, args, kw, "sub")?.0))
}

fn re_subn(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let (s, n) = module_sub(vm, args, kw, "subn")?;
    Ok(Value::tuple(vec![Value::str(s), Value::Int(n)]))
}

fn re_split(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let a = bind_params(
        vm,
        "split",
        args,
        kw,
        &["pattern", "string", "maxsplit", "flags"],
    )?;
    let pattern = need(vm, "split", &a[0], "pattern", 0)?;
    let string = need(vm, "split", &a[1], "string", 1)?;
    let maxsplit = flags_arg(vm, &a[2])?;
    let flags = flags_arg(vm, &a[3])?;
    let p = compile_value(vm, &pattern, flags)?;
    split(vm, &p, &string, maxsplit)
}

fn re_compile(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let a = bind_params(vm, "compile", args, kw, &["pattern", "flags"])?;
    let pattern = need(vm, "compile", &a[0], "pattern", 0)?;
    let flags = flags_arg(vm, &a[1])?;
    compile_value(vm, &pattern, flags)
}

fn re_escape(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let a = bind_params(vm, "escape", args, kw, &["pattern"])?;
    let Some(Value::Str(s)) = &a[0] else {
        return Err(vm.type_error("escape() argument must be str"));
    };
    let mut out = String::with_capacity(s.as_str().len());
    for c in s.as_str().chars() {
        if "()[]{}?*+-|^$\\.&~# \t\n\r\x0b\x0c".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    Ok(Value::str(out))
}

fn re_purge(_vm: &mut Vm, _args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    CACHE.with(|c| c.borrow_mut().clear());
    Ok(Value::None)
}

pub fn init(vm: &mut Vm) -> PyResult<Value> {
    let m = vm.new_module("re");
    let fns: [(&str, NativeFn); 12] = [
        ("match", re_match),
        ("search", re_search),
        ("fullmatch", re_fullmatch),
        ("findall", re_findall),
        ("finditer", re_finditer),
        ("sub", re_sub),
        ("subn", re_subn),
        ("split", re_split),
        ("compile", re_compile),
        ("escape", re_escape),
        ("purge", re_purge),
        ("_purge_cache", re_purge),
    ];
    for (n, f) in fns {
        func(vm, &m, n, f);
    }
    for (names, v) in [
        (&["I", "IGNORECASE"][..], tr::I),
        (&["L", "LOCALE"], tr::L),
        (&["M", "MULTILINE"], tr::M),
        (&["S", "DOTALL"], tr::S),
        (&["U", "UNICODE"], tr::U),
        (&["X", "VERBOSE"], tr::X),
        (&["A", "ASCII"], tr::A),
        (&["NOFLAG"], 0),
    ] {
        for n in names {
            set(&m, n, Value::Int(v));
        }
    }
    let err = error_class(vm);
    set(&m, "error", Value::Class(err));
    let pc = pattern_class(vm);
    set(&m, "Pattern", Value::Class(pc));
    let mc = match_class(vm);
    set(&m, "Match", Value::Class(mc));
    Ok(Value::Module(m))
}
