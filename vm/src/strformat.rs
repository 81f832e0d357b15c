//! `str % args` and `str.format(...)`: the templates are parsed by
//! `format.rs`; this file looks values up and renders them.

use num_bigint::BigInt;

use crate::format::{
    self, FieldFirst, FieldPart, FormatPiece, IndexKey, PercentKind, PercentNum, PercentPiece,
};
use crate::value::*;
use crate::vm::Vm;

impl Vm {
    /// Raises a message from `format.rs` as the exception class CPython
    /// uses for it.
    pub fn format_error(&self, msg: &str) -> Value {
        match format::error_kind(msg) {
            format::FormatErrorKind::ValueError => self.value_error(msg),
            format::FormatErrorKind::TypeError => self.type_error(msg),
            format::FormatErrorKind::OverflowError => self.overflow_error(msg),
            format::FormatErrorKind::MemoryError => {
                self.new_exc(&self.exc.memory_error.clone(), "")
            }
        }
    }
}

fn as_int(v: &Value) -> Option<BigInt> {
    match v {
        Value::Int(i) => Some(BigInt::from(*i)),
        Value::Bool(b) => Some(BigInt::from(*b as i64)),
        Value::BigInt(b) => Some((**b).clone()),
        _ => None,
    }
}

/// `template % args`.
pub fn percent_format(vm: &mut Vm, template: &str, args: &Value) -> PyResult<String> {
    let (pieces, err) = format::parse_percent_partial(template);
    let mapping = match args {
        Value::Dict(_) => Some(args.clone()),
        Value::Instance(_) if vm.lookup_special(args, "__getitem__").is_some() => {
            Some(args.clone())
        }
        _ => None,
    };
    let items: Vec<Value> = match args {
        Value::Tuple(t) => t.to_vec(),
        other => vec![other.clone()],
    };
    let mut next = 0usize;
    let mut out = String::new();
    let mut take = |vm: &mut Vm| -> PyResult<Value> {
        match items.get(next) {
            Some(v) => {
                next += 1;
                Ok(v.clone())
            }
            None => Err(vm.type_error("not enough arguments for format string")),
        }
    };
    for p in pieces {
        match p {
            PercentPiece::Lit(s) => out.push_str(&s),
            PercentPiece::Conv(c) => {
                // A `*` width is a C ssize_t, a `*` precision a C int.
                let mut star = |vm: &mut Vm,
                                n: Option<PercentNum>,
                                c_type: &str,
                                max: i64|
                 -> PyResult<Option<i64>> {
                    match n {
                        Some(PercentNum::Star) => match take(vm)? {
                            Value::Int(i) if i.unsigned_abs() <= max as u64 => Ok(Some(i)),
                            Value::Int(_) | Value::BigInt(_) => Err(vm.overflow_error(&format!(
                                "Python int too large to convert to C {c_type}"
                            ))),
                            _ => Err(vm.type_error("* wants int")),
                        },
                        _ => Ok(None),
                    }
                };
                let w = star(vm, c.width, "ssize_t", i64::MAX)?;
                let pr = star(vm, c.precision, "int", i32::MAX as i64)?;
                let c = c.with_stars(w, pr);
                let value = match &c.key {
                    Some(k) => match &mapping {
                        Some(m) => vm.getitem(m, &Value::str(k.as_str()))?,
                        None => return Err(vm.type_error("format requires a mapping")),
                    },
                    None => take(vm)?,
                };
                let r = match c.kind() {
                    PercentKind::Str => {
                        let s = vm.to_str(&value)?;
                        format::format_percent_str(&s, &c)
                    }
                    PercentKind::Repr => {
                        let s = vm.repr(&value)?;
                        format::format_percent_str(&s, &c)
                    }
                    PercentKind::Ascii => {
                        let s = ascii_escape(&vm.repr(&value)?);
                        format::format_percent_str(&s, &c)
                    }
                    PercentKind::Char => match (&value, as_int(&value)) {
                        (Value::Str(s), _) => format::format_percent_str(s.as_str(), &c),
                        (_, Some(i)) => format::format_percent_int(&i, &c),
                        _ => format::format_percent_str(&vm.to_str(&value)?, &c),
                    },
                    PercentKind::Int | PercentKind::Float => match (&value, as_int(&value)) {
                        (Value::Float(f), _) => format::format_percent_float(*f, &c),
                        (_, Some(i)) => format::format_percent_int(&i, &c),
                        _ => {
                            let what = if c.kind() == PercentKind::Int {
                                format!(
                                    "%{} format: a real number is required, not {}",
                                    c.conv,
                                    vm.type_name(&value)
                                )
                            } else {
                                format!("must be real number, not {}", vm.type_name(&value))
                            };
                            let what = if c.kind() == PercentKind::Int
                                && matches!(c.conv, 'x' | 'X' | 'o')
                            {
                                format!(
                                    "%{} format: an integer is required, not {}",
                                    c.conv,
                                    vm.type_name(&value)
                                )
                            } else {
                                what
                            };
                            return Err(vm.type_error(&what));
                        }
                    },
                    PercentKind::Unsupported => return Err(vm.value_error(&c.unsupported_error())),
                };
                match r {
                    Ok(s) => out.push_str(&s),
                    Err(m) => return Err(vm.format_error(&m)),
                }
            }
        }
    }
    if let Some(e) = err {
        return Err(vm.format_error(&e));
    }
    if mapping.is_none() && next < items.len() {
        return Err(vm.type_error("not all arguments converted during string formatting"));
    }
    Ok(out)
}

struct FormatState {
    auto: Option<usize>,
    manual: bool,
}

/// `template.format(*args, **kwargs)`.
pub fn str_format(
    vm: &mut Vm,
    template: &str,
    args: &[Value],
    kwargs: &KwArgs,
) -> PyResult<String> {
    let (pieces, err) = format::parse_format_template_partial(template);
    let mut st = FormatState {
        auto: None,
        manual: false,
    };
    let mut out = render(vm, &pieces, args, kwargs, &mut st)?;
    if let Some(e) = err {
        return Err(vm.format_error(&e));
    }
    out.shrink_to_fit();
    Ok(out)
}

fn render(
    vm: &mut Vm,
    pieces: &[FormatPiece],
    args: &[Value],
    kwargs: &KwArgs,
    st: &mut FormatState,
) -> PyResult<String> {
    let mut out = String::new();
    for p in pieces {
        match p {
            FormatPiece::Lit(s) => out.push_str(s),
            FormatPiece::Field {
                first,
                rest,
                conversion,
                spec,
            } => {
                let mut v = match first {
                    None => {
                        if st.manual {
                            return Err(vm.value_error(format::MANUAL_TO_AUTO_ERROR));
                        }
                        let i = st.auto.unwrap_or(0);
                        st.auto = Some(i + 1);
                        match args.get(i) {
                            Some(v) => v.clone(),
                            None => {
                                let msg = format!(
                                    "Replacement index {i} out of range for positional args tuple"
                                );
                                return Err(vm.index_error(&msg));
                            }
                        }
                    }
                    Some(FieldFirst::Index(i)) => {
                        if st.auto.is_some() {
                            return Err(vm.value_error(format::AUTO_TO_MANUAL_ERROR));
                        }
                        st.manual = true;
                        match args.get(*i) {
                            Some(v) => v.clone(),
                            None => {
                                let msg = format!(
                                    "Replacement index {i} out of range for positional args tuple"
                                );
                                return Err(vm.index_error(&msg));
                            }
                        }
                    }
                    Some(FieldFirst::Name(n)) => match kwargs.iter().find(|(k, _)| k.as_ref() == n)
                    {
                        Some((_, v)) => v.clone(),
                        None => return Err(vm.key_error(Value::str(n.as_str()))),
                    },
                };
                for part in rest {
                    v = match part {
                        FieldPart::Attr(a) => vm.getattr(&v, a)?,
                        FieldPart::Index(IndexKey::Int(i)) => {
                            vm.getitem(&v, &Value::Int(*i as i64))?
                        }
                        FieldPart::Index(IndexKey::Str(s)) => {
                            vm.getitem(&v, &Value::str(s.as_str()))?
                        }
                    };
                }
                if let Some(c) = conversion {
                    if let Some(e) = format::conversion_error(*c) {
                        return Err(vm.value_error(&e));
                    }
                    v = match c {
                        'r' => Value::str(vm.repr(&v)?),
                        'a' => Value::str(ascii_escape(&vm.repr(&v)?)),
                        _ => Value::str(vm.to_str(&v)?),
                    };
                }
                let spec_s = render(vm, spec, args, kwargs, st)?;
                out.push_str(&vm.format(&v, &spec_s)?);
            }
        }
    }
    Ok(out)
}

/// `ascii()`'s escaping of the non-ASCII characters of `s`.
pub fn ascii_escape(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        let n = c as u32;
        if n < 128 {
            out.push(c);
        } else if n < 256 {
            out.push_str(&format!("\\x{n:02x}"));
        } else if n < 0x10000 {
            out.push_str(&format!("\\u{n:04x}"));
        } else {
            out.push_str(&format!("\\U{n:08x}"));
        }
    }
    out
}
