//! CPython 3.11-compatible text formatting of numbers and strings.
//!
//! Pure functions only: float `repr`, the format-spec mini-language
//! (`format(x, spec)` for `int`, `float` and `str`), `%`-formatting,
//! `str.format` template parsing, `round(float, n)`, and the string parsers
//! behind `float(str)` and `int(str, base)`.
//!
//! Errors are returned as the message CPython would put in the exception;
//! [`error_kind`] tells which exception class CPython raises for a message
//! produced by this module (most are `ValueError`).

use num_bigint::{BigInt, Sign};
use num_integer::Integer;
use num_traits::{One, Signed, ToPrimitive, Zero};

const TOO_MANY_DIGITS: &str = "Too many decimal digits in format string";
const INT_MAX: usize = i32::MAX as usize;
const SSIZE_MAX: usize = isize::MAX as usize;

/// The Python exception class CPython raises for an error message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FormatErrorKind {
    ValueError,
    TypeError,
    OverflowError,
    MemoryError,
}

/// Returned for a result too large to allocate: raised as a bare
/// `MemoryError`, as CPython does when its allocation fails.
pub const MEMORY_ERROR: &str = "<MemoryError>";

/// Widths above this are refused with MemoryError before allocating.
/// CPython tries the allocation; covm must not abort on a failed one.
const HUGE: usize = 1 << 31;

/// Digits after the point beyond which a fixed-point f64 is exact: its
/// binary fraction has at most 1074 decimal digits. Rust's formatter
/// panics on precisions above 65535, so longer requests are cut to this
/// and the rest is zero padding.
const EXACT_DIGITS: usize = 1100;

/// Which exception class CPython uses for a message returned by this module.
pub fn error_kind(msg: &str) -> FormatErrorKind {
    if msg == MEMORY_ERROR {
        return FormatErrorKind::MemoryError;
    }
    const OVERFLOW: [&str; 8] = [
        "%c arg not in range(0x110000)",
        "Python int too large to convert to C int",
        "Python int too large to convert to C ssize_t",
        "Python int too large to convert to C long",
        "int too large to convert to float",
        "precision too large",
        "cannot convert float infinity to integer",
        "rounded value too large to represent",
    ];
    if OVERFLOW.contains(&msg) {
        FormatErrorKind::OverflowError
    } else if [
        "%c requires int or char",
        "not all arguments converted during string formatting",
        "not enough arguments for format string",
        "format requires a mapping",
        "* wants int",
    ]
    .contains(&msg)
        || msg.starts_with("must be real number")
        || (msg.starts_with('%') && msg.contains(" format: a"))
    {
        FormatErrorKind::TypeError
    } else {
        FormatErrorKind::ValueError
    }
}

// ---------------------------------------------------------------------------
// Decimal digit generation (equivalent of dtoa modes 0, 2, 3)
// ---------------------------------------------------------------------------

/// Strip leading/trailing zeros. The value is `0.DIGITS * 10**decpt`.
/// Zero is returned as ("0", 1), as dtoa does.
fn normalize_digits(mut d: Vec<u8>, mut decpt: i64) -> (Vec<u8>, i64) {
    let lead = d.iter().take_while(|&&c| c == b'0').count();
    if lead == d.len() {
        return (vec![b'0'], 1);
    }
    d.drain(..lead);
    decpt -= lead as i64;
    while d.last() == Some(&b'0') {
        d.pop();
    }
    (d, decpt)
}

fn digits_from_exp_str(s: &str) -> (Vec<u8>, i64) {
    let (m, e) = s.split_once(['e', 'E']).unwrap_or((s, "0"));
    let exp: i64 = e.parse().unwrap_or(0);
    let digits: Vec<u8> = m.bytes().filter(u8::is_ascii_digit).collect();
    normalize_digits(digits, exp + 1)
}

/// Shortest round-tripping digits (dtoa mode 0). `x` finite.
fn digits_shortest(x: f64) -> (Vec<u8>, i64) {
    digits_from_exp_str(&format!("{:e}", x.abs()))
}

/// `n >= 1` significant digits, correctly rounded (dtoa mode 2).
fn digits_significant(x: f64, n: usize) -> (Vec<u8>, i64) {
    let n = n.min(EXACT_DIGITS);
    digits_from_exp_str(&format!("{:.*e}", n.saturating_sub(1), x.abs()))
}

/// `n` digits after the decimal point, correctly rounded (dtoa mode 3).
fn digits_fixed(x: f64, n: usize) -> (Vec<u8>, i64) {
    let s = format!("{:.*}", n.min(EXACT_DIGITS), x.abs());
    let (ip, fp) = s.split_once('.').unwrap_or((&s, ""));
    let mut digits: Vec<u8> = ip.bytes().collect();
    digits.extend(fp.bytes());
    normalize_digits(digits, ip.len() as i64)
}

#[derive(Clone, Copy, Default)]
struct DtoaFlags {
    add_dot_0: bool,
    alt: bool,
    no_neg_0: bool,
}

fn push_n(out: &mut String, c: char, n: i64) {
    // Paddings of hundreds of megabytes are legal: fill in one go.
    out.extend(std::iter::repeat_n(c, n.max(0) as usize));
}

/// Port of CPython's `PyOS_double_to_string` (without the sign flag).
/// `code` is one of e E f F g G r.
fn double_to_string(val: f64, code: char, precision: usize, flags: DtoaFlags) -> String {
    let upper = matches!(code, 'E' | 'F' | 'G');
    let code = code.to_ascii_lowercase();
    if val.is_nan() {
        return if upper { "NAN" } else { "nan" }.to_string();
    }
    if val.is_infinite() {
        let s = if upper { "INF" } else { "inf" };
        return if val < 0.0 {
            format!("-{s}")
        } else {
            s.to_string()
        };
    }
    let mut precision = precision;
    let (digits, mut decpt) = match code {
        'e' => {
            precision += 1;
            digits_significant(val, precision)
        }
        'f' => digits_fixed(val, precision),
        'g' => {
            if precision == 0 {
                precision = 1;
            }
            digits_significant(val, precision)
        }
        _ => digits_shortest(val),
    };
    let mut sign = val.is_sign_negative();
    if flags.no_neg_0 && sign && digits == b"0" {
        sign = false;
    }
    let prec = precision as i64;
    let digits_len = digits.len() as i64;
    let mut vdigits_end = digits_len;
    let mut use_exp = false;
    match code {
        'e' => {
            use_exp = true;
            vdigits_end = prec;
        }
        'f' => vdigits_end = decpt + prec,
        'g' => {
            let limit = if flags.add_dot_0 { prec - 1 } else { prec };
            if decpt <= -4 || decpt > limit {
                use_exp = true;
            }
            if flags.alt {
                vdigits_end = prec;
            }
        }
        _ => {
            if decpt <= -4 || decpt > 16 {
                use_exp = true;
            }
        }
    }
    let mut exp = 0i64;
    if use_exp {
        exp = decpt - 1;
        decpt = 1;
    }
    let vdigits_start = if decpt <= 0 { decpt - 1 } else { 0 };
    if !use_exp && flags.add_dot_0 {
        vdigits_end = vdigits_end.max(decpt + 1);
    } else {
        vdigits_end = vdigits_end.max(decpt);
    }

    let dstr = String::from_utf8_lossy(&digits);
    let mut out = String::with_capacity((vdigits_end - vdigits_start).max(0) as usize + 8);
    if sign {
        out.push('-');
    }
    if decpt <= 0 {
        push_n(&mut out, '0', decpt - vdigits_start);
        out.push('.');
        push_n(&mut out, '0', -decpt);
    } else {
        push_n(&mut out, '0', -vdigits_start);
    }
    if 0 < decpt && decpt <= digits_len {
        let d = decpt as usize;
        out.push_str(&dstr[..d]);
        out.push('.');
        out.push_str(&dstr[d..]);
    } else {
        out.push_str(&dstr);
    }
    if digits_len < decpt {
        push_n(&mut out, '0', decpt - digits_len);
        out.push('.');
        push_n(&mut out, '0', vdigits_end - decpt);
    } else {
        push_n(&mut out, '0', vdigits_end - digits_len);
    }
    if out.ends_with('.') && !flags.alt {
        out.pop();
    }
    if use_exp {
        out.push(if upper { 'E' } else { 'e' });
        out.push(if exp < 0 { '-' } else { '+' });
        out.push_str(&format!("{:02}", exp.unsigned_abs()));
    }
    out
}

/// CPython's `repr(float)` (== `str(float)`).
pub fn float_repr(f: f64) -> String {
    double_to_string(
        f,
        'r',
        0,
        DtoaFlags {
            add_dot_0: true,
            ..DtoaFlags::default()
        },
    )
}

// ---------------------------------------------------------------------------
// Format-spec mini-language
// ---------------------------------------------------------------------------

/// A parsed format spec `[[fill]align][sign][z][#][0][width][grouping][.precision][type]`.
///
/// `fill` is the effective fill character: the explicit one, else `'0'` when
/// the `0` flag was given (`zero_pad`), else `' '`. `align` is only the
/// explicitly given alignment; numbers default to `'='` when `zero_pad` and
/// no align was given, else `'>'`; strings default to `'<'`.
#[derive(Debug, Clone, PartialEq)]
pub struct FormatSpec {
    pub fill: char,
    pub align: Option<char>,
    pub sign: Option<char>,
    /// The `z` flag (coerce negative zero to positive zero; floats only).
    pub no_neg_zero: bool,
    pub alternate: bool,
    pub zero_pad: bool,
    pub width: Option<usize>,
    pub grouping: Option<char>,
    pub precision: Option<usize>,
    pub ty: Option<char>,
}

/// Parse a decimal run like CPython's formatter `get_integer`.
fn spec_integer(chars: &[char], pos: &mut usize) -> Result<Option<usize>, String> {
    let mut acc: usize = 0;
    let mut n = 0usize;
    while let Some(d) = chars.get(*pos).and_then(|c| c.to_digit(10)) {
        let d = d as usize;
        if acc > (SSIZE_MAX - d) / 10 {
            return Err(TOO_MANY_DIGITS.to_string());
        }
        acc = acc * 10 + d;
        *pos += 1;
        n += 1;
    }
    Ok(if n == 0 { None } else { Some(acc) })
}

fn char_code_repr(c: char) -> String {
    let v = c as u32;
    if v > 32 && v < 128 {
        format!("'{c}'")
    } else {
        format!("'\\x{v:x}'")
    }
}

fn unknown_code(ty: char, type_name: &str) -> String {
    format!(
        "Unknown format code {} for object of type '{type_name}'",
        char_code_repr(ty)
    )
}

/// Core of CPython's `parse_internal_render_format_spec`.
/// `type_name` is used in the "Invalid format specifier" message (None gives
/// the short message); `default_type` is the type assumed when none is given
/// (it matters for the grouping check).
fn parse_spec_impl(
    spec: &str,
    type_name: Option<&str>,
    default_type: Option<char>,
) -> Result<FormatSpec, String> {
    let chars: Vec<char> = spec.chars().collect();
    let end = chars.len();
    let mut pos = 0usize;
    let is_align = |c: char| matches!(c, '<' | '>' | '=' | '^');
    let mut fill = ' ';
    let mut fill_specified = false;
    let mut align = None;
    if end >= 2 && is_align(chars[1]) {
        align = Some(chars[1]);
        fill = chars[0];
        fill_specified = true;
        pos = 2;
    } else if end >= 1 && is_align(chars[0]) {
        align = Some(chars[0]);
        pos = 1;
    }
    let mut sign = None;
    if let Some(&c @ ('+' | '-' | ' ')) = chars.get(pos) {
        sign = Some(c);
        pos += 1;
    }
    let mut no_neg_zero = false;
    if chars.get(pos) == Some(&'z') {
        no_neg_zero = true;
        pos += 1;
    }
    let mut alternate = false;
    if chars.get(pos) == Some(&'#') {
        alternate = true;
        pos += 1;
    }
    let mut zero_pad = false;
    if !fill_specified && chars.get(pos) == Some(&'0') {
        fill = '0';
        zero_pad = true;
        pos += 1;
    }
    let width = spec_integer(&chars, &mut pos)?;
    let mut grouping = None;
    if chars.get(pos) == Some(&',') {
        grouping = Some(',');
        pos += 1;
    }
    if chars.get(pos) == Some(&'_') {
        if grouping.is_some() {
            return Err("Cannot specify both ',' and '_'.".to_string());
        }
        grouping = Some('_');
        pos += 1;
    }
    if chars.get(pos) == Some(&',') && grouping == Some('_') {
        return Err("Cannot specify both ',' and '_'.".to_string());
    }
    let mut precision = None;
    if chars.get(pos) == Some(&'.') {
        pos += 1;
        precision = spec_integer(&chars, &mut pos)?;
        if precision.is_none() {
            return Err("Format specifier missing precision".to_string());
        }
    }
    if end - pos > 1 {
        return Err(match type_name {
            Some(t) => format!("Invalid format specifier '{spec}' for object of type '{t}'"),
            None => "Invalid format specifier".to_string(),
        });
    }
    let ty = chars.get(pos).copied().or(default_type);
    if let Some(sep) = grouping {
        match ty {
            None | Some('d' | 'e' | 'f' | 'g' | 'E' | 'G' | '%' | 'F') => {}
            Some('b' | 'o' | 'x' | 'X') if sep == '_' => {}
            Some(t) => {
                return Err(format!(
                    "Cannot specify '{sep}' with {}.",
                    char_code_repr(t)
                ));
            }
        }
    }
    Ok(FormatSpec {
        fill,
        align,
        sign,
        no_neg_zero,
        alternate,
        zero_pad,
        width,
        grouping,
        precision,
        ty,
    })
}

/// Parse the format-spec mini-language. No type is assumed when the spec has
/// none (`ty == None`), and the invalid-spec error is the short
/// `"Invalid format specifier"`; [`format_int`], [`format_float`] and
/// [`format_str`] produce CPython's exact type-specific messages.
pub fn parse_spec(spec: &str) -> Result<FormatSpec, String> {
    parse_spec_impl(spec, None, None)
}

fn numeric_align(f: &FormatSpec) -> char {
    f.align.unwrap_or(if f.zero_pad { '=' } else { '>' })
}

/// Insert thousands separators (port of `_PyUnicode_InsertThousandsGrouping`),
/// zero-padding the digits up to `min_width` characters.
fn group_digits(digits: &[char], min_width: i64, grouping: Option<(char, i64)>) -> String {
    let mut rev: Vec<char> = Vec::with_capacity(digits.len() + digits.len() / 3 + 4);
    let mut remaining = digits.len() as i64;
    let mut min_width = min_width.max(0);
    let mut dpos = digits.len();
    let mut fill = |rev: &mut Vec<char>, n_chars: i64, n_zeros: i64, sep: Option<char>| {
        if let Some(s) = sep {
            rev.push(s);
        }
        for _ in 0..n_chars {
            dpos = dpos.saturating_sub(1);
            rev.push(digits.get(dpos).copied().unwrap_or('0'));
        }
        for _ in 0..n_zeros {
            rev.push('0');
        }
    };
    let mut broken = false;
    let mut use_sep = false;
    if let Some((sep, size)) = grouping {
        loop {
            let len = size.min(remaining.max(min_width).max(1));
            let n_zeros = (len - remaining).max(0);
            let n_chars = remaining.min(len).max(0);
            fill(
                &mut rev,
                n_chars,
                n_zeros,
                if use_sep { Some(sep) } else { None },
            );
            use_sep = true;
            remaining -= n_chars;
            min_width -= len;
            if remaining <= 0 && min_width <= 0 {
                broken = true;
                break;
            }
            min_width -= 1;
        }
    }
    if !broken {
        let len = remaining.max(min_width).max(1);
        let n_zeros = (len - remaining).max(0);
        let n_chars = remaining.min(len).max(0);
        let sep = grouping.map(|g| g.0).filter(|_| use_sep);
        fill(&mut rev, n_chars, n_zeros, sep);
    }
    rev.iter().rev().collect()
}

/// The pieces of a number to lay out (port of `calc_number_widths` +
/// `fill_number`).
struct NumberParts<'a> {
    negative: bool,
    prefix: &'a str,
    digits: &'a str,
    has_decimal: bool,
    remainder: &'a str,
    grouping: Option<(char, i64)>,
    toupper: bool,
}

fn layout_number(p: &NumberParts, f: &FormatSpec) -> String {
    let align = numeric_align(f);
    let width = f.width.map_or(-1, |w| w as i64);
    let sign = match f.sign {
        Some('+') => Some(if p.negative { '-' } else { '+' }),
        Some(' ') => Some(if p.negative { '-' } else { ' ' }),
        _ => p.negative.then_some('-'),
    };
    let n_sign = i64::from(sign.is_some());
    let n_prefix = p.prefix.chars().count() as i64;
    let n_remainder = p.remainder.chars().count() as i64;
    let n_non_digit = n_sign + n_prefix + i64::from(p.has_decimal) + n_remainder;
    let min_width = if f.fill == '0' && align == '=' {
        width - n_non_digit
    } else {
        0
    };
    let digit_chars: Vec<char> = p.digits.chars().collect();
    let mut grouped = if digit_chars.is_empty() {
        String::new()
    } else {
        group_digits(&digit_chars, min_width, p.grouping)
    };
    let mut prefix = p.prefix.to_string();
    if p.toupper {
        grouped = grouped.to_ascii_uppercase();
        prefix = prefix.to_ascii_uppercase();
    }
    let n_grouped = grouped.chars().count() as i64;
    let n_padding = width - (n_non_digit + n_grouped);
    let (mut lpad, mut spad, mut rpad) = (0, 0, 0);
    if n_padding > 0 {
        match align {
            '<' => rpad = n_padding,
            '^' => {
                lpad = n_padding / 2;
                rpad = n_padding - lpad;
            }
            '=' => spad = n_padding,
            _ => lpad = n_padding,
        }
    }
    let mut out = String::new();
    push_n(&mut out, f.fill, lpad);
    if let Some(s) = sign {
        out.push(s);
    }
    out.push_str(&prefix);
    push_n(&mut out, f.fill, spad);
    out.push_str(&grouped);
    if p.has_decimal {
        out.push('.');
    }
    out.push_str(p.remainder);
    push_n(&mut out, f.fill, rpad);
    out
}

fn check_huge(f: &FormatSpec) -> Result<(), String> {
    if f.width.is_some_and(|w| w > HUGE) {
        return Err(MEMORY_ERROR.to_string());
    }
    Ok(())
}

/// `format(int, spec)`.
pub fn format_int(v: &BigInt, spec: &str) -> Result<String, String> {
    if spec.is_empty() {
        return Ok(v.to_string());
    }
    let f = parse_spec_impl(spec, Some("int"), Some('d'))?;
    match f.ty {
        Some('b' | 'c' | 'd' | 'o' | 'x' | 'X' | 'n') => format_long_internal(v, &f),
        Some('e' | 'E' | 'f' | 'F' | 'g' | 'G' | '%') => {
            let x =
                bigint_to_f64(v).ok_or_else(|| "int too large to convert to float".to_string())?;
            format_float_internal(x, &f)
        }
        Some(t) => Err(unknown_code(t, "int")),
        None => format_long_internal(v, &f),
    }
}

/// Convert an int to the nearest float like CPython (None on overflow).
fn bigint_to_f64(v: &BigInt) -> Option<f64> {
    let mag = v.magnitude();
    let bits = mag.bits();
    let r = if bits <= 64 {
        mag.to_u64()? as f64
    } else {
        // Keep the top 64 bits plus a sticky bit for the discarded ones;
        // the u64 -> f64 conversion then rounds correctly (half-even).
        let shift = bits - 64;
        let top = (mag >> shift).to_u64()?;
        let sticky = mag.trailing_zeros().is_some_and(|tz| tz < shift);
        let m = (top | u64::from(sticky)) as f64;
        if shift > 1000 {
            return None;
        }
        m * f64::from_bits((shift + 1023) << 52)
    };
    let r = if v.is_negative() { -r } else { r };
    r.is_finite().then_some(r)
}

fn format_long_internal(v: &BigInt, f: &FormatSpec) -> Result<String, String> {
    if f.precision.is_some() {
        return Err("Precision not allowed in integer format specifier".to_string());
    }
    if f.no_neg_zero {
        return Err(
            "Negative zero coercion (z) not allowed in integer format specifier".to_string(),
        );
    }
    check_huge(f)?;
    let ty = f.ty.unwrap_or('d');
    if ty == 'c' {
        if f.sign.is_some() {
            return Err("Sign not allowed with integer format specifier 'c'".to_string());
        }
        if f.alternate {
            return Err(
                "Alternate form (#) not allowed with integer format specifier 'c'".to_string(),
            );
        }
        let ch = int_to_char(v)?;
        let s = ch.to_string();
        return Ok(layout_number(
            &NumberParts {
                negative: false,
                prefix: "",
                digits: "",
                has_decimal: false,
                remainder: &s,
                grouping: None,
                toupper: false,
            },
            f,
        ));
    }
    let (base, prefix) = match ty {
        'b' => (2, "0b"),
        'o' => (8, "0o"),
        'x' | 'X' => (16, "0x"),
        _ => (10, ""),
    };
    let digits = v.magnitude().to_str_radix(base);
    let grouping = if ty == 'n' {
        None
    } else {
        f.grouping
            .map(|g| (g, if g == '_' && base != 10 { 4 } else { 3 }))
    };
    Ok(layout_number(
        &NumberParts {
            negative: v.sign() == Sign::Minus,
            prefix: if f.alternate { prefix } else { "" },
            digits: &digits,
            has_decimal: false,
            remainder: "",
            grouping,
            toupper: ty == 'X',
        },
        f,
    ))
}

fn int_to_char(v: &BigInt) -> Result<char, String> {
    let x = v
        .to_i64()
        .ok_or_else(|| "Python int too large to convert to C long".to_string())?;
    if !(0..=0x10ffff).contains(&x) {
        return Err("%c arg not in range(0x110000)".to_string());
    }
    char::from_u32(x as u32)
        .ok_or_else(|| format!("character U+{x:04X} is a surrogate and is not supported"))
}

/// `format(float, spec)`.
pub fn format_float(v: f64, spec: &str) -> Result<String, String> {
    if spec.is_empty() {
        return Ok(float_repr(v));
    }
    let f = parse_spec_impl(spec, Some("float"), None)?;
    match f.ty {
        None | Some('e' | 'E' | 'f' | 'F' | 'g' | 'G' | 'n' | '%') => format_float_internal(v, &f),
        Some(t) => Err(unknown_code(t, "float")),
    }
}

fn format_float_internal(val: f64, f: &FormatSpec) -> Result<String, String> {
    if f.precision.is_some_and(|p| p > INT_MAX) {
        return Err("precision too big".to_string());
    }
    check_huge(f)?;
    let mut flags = DtoaFlags {
        alt: f.alternate,
        no_neg_0: f.no_neg_zero,
        add_dot_0: false,
    };
    let mut ty = f.ty.unwrap_or('r');
    let mut default_precision = 6;
    if f.ty.is_none() {
        flags.add_dot_0 = true;
        default_precision = 0;
    }
    if ty == 'n' {
        ty = 'g';
    }
    let mut val = val;
    let mut add_pct = false;
    if ty == '%' {
        ty = 'f';
        val *= 100.0;
        add_pct = true;
    }
    let precision = match f.precision {
        Some(p) => {
            if ty == 'r' {
                ty = 'g';
            }
            p
        }
        None => default_precision,
    };
    let mut buf = double_to_string(val, ty, precision, flags);
    if add_pct {
        buf.push('%');
    }
    let (negative, body) = match buf.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, buf.as_str()),
    };
    let ndig = body.bytes().take_while(u8::is_ascii_digit).count();
    let (digits, rest) = body.split_at(ndig);
    let (has_decimal, remainder) = match rest.strip_prefix('.') {
        Some(r) => (true, r),
        None => (false, rest),
    };
    let grouping = if f.ty == Some('n') {
        None
    } else {
        f.grouping.map(|g| (g, 3))
    };
    Ok(layout_number(
        &NumberParts {
            negative,
            prefix: "",
            digits,
            has_decimal,
            remainder,
            grouping,
            toupper: false,
        },
        f,
    ))
}

/// `format(str, spec)`.
pub fn format_str(s: &str, spec: &str) -> Result<String, String> {
    if spec.is_empty() {
        return Ok(s.to_string());
    }
    let f = parse_spec_impl(spec, Some("str"), Some('s'))?;
    match f.ty {
        Some('s') | None => {}
        Some(t) => return Err(unknown_code(t, "str")),
    }
    match f.sign {
        Some(' ') => return Err("Space not allowed in string format specifier".to_string()),
        Some(_) => return Err("Sign not allowed in string format specifier".to_string()),
        None => {}
    }
    if f.no_neg_zero {
        return Err(
            "Negative zero coercion (z) not allowed in string format specifier".to_string(),
        );
    }
    if f.alternate {
        return Err("Alternate form (#) not allowed in string format specifier".to_string());
    }
    let align = f.align.unwrap_or('<');
    if align == '=' {
        return Err("'=' alignment not allowed in string format specifier".to_string());
    }
    check_huge(&f)?;
    let mut len = s.chars().count();
    let mut body = s;
    if let Some(p) = f.precision
        && len > p
    {
        len = p;
        body = s.char_indices().nth(p).map_or(s, |(i, _)| &s[..i]);
    }
    let total = f.width.map_or(len, |w| w.max(len));
    let lpad = match align {
        '>' => total - len,
        '^' => (total - len) / 2,
        _ => 0,
    };
    let rpad = total - len - lpad;
    let mut out = String::with_capacity(body.len() + total - len);
    push_n(&mut out, f.fill, lpad as i64);
    out.push_str(body);
    push_n(&mut out, f.fill, rpad as i64);
    Ok(out)
}

// ---------------------------------------------------------------------------
// round(float, ndigits)
// ---------------------------------------------------------------------------

/// Python's `round(x, ndigits)` for a float: the float nearest to the exact
/// decimal value of `x` rounded half-to-even at `ndigits` decimal places.
/// NaN and infinities round to themselves. If the rounded value is too large
/// to represent, the result is an infinity (CPython raises
/// `OverflowError("rounded value too large to represent")` in that case: the
/// caller should check `result.is_infinite() && x.is_finite()`).
pub fn round_float(x: f64, ndigits: i64) -> f64 {
    if !x.is_finite() {
        return x;
    }
    if ndigits > 323 {
        return x;
    }
    if ndigits < -308 {
        return 0.0 * x;
    }
    if x == 0.0 {
        return x;
    }
    // x = mant * 2**exp exactly.
    let bits = x.abs().to_bits();
    let raw_exp = ((bits >> 52) & 0x7ff) as i64;
    let frac = bits & ((1u64 << 52) - 1);
    let (mant, exp) = if raw_exp == 0 {
        (frac, -1074)
    } else {
        (frac | (1u64 << 52), raw_exp - 1075)
    };
    let ten = BigInt::from(10u32);
    let mut num = BigInt::from(mant);
    let mut den = BigInt::one();
    if exp >= 0 {
        num <<= exp as usize;
    } else {
        den <<= (-exp) as usize;
    }
    if ndigits >= 0 {
        num *= num_traits::pow(ten, ndigits as usize);
    } else {
        den *= num_traits::pow(ten, (-ndigits) as usize);
    }
    let (q, r) = num.div_rem(&den);
    let twice = &r << 1usize;
    let q = if twice > den || (twice == den && q.is_odd()) {
        q + 1
    } else {
        q
    };
    let s = format!("{}{}e{}", if x < 0.0 { "-" } else { "" }, q, -ndigits);
    s.parse::<f64>().unwrap_or(f64::NAN)
}

// ---------------------------------------------------------------------------
// float(str) and int(str, base)
// ---------------------------------------------------------------------------

/// The whitespace `float()`/`int()` strip: ASCII space, \t \n \r \x0b \x0c,
/// and non-ASCII characters for which `str.isspace` is true.
fn py_isspace(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0b' | '\x0c') || (!c.is_ascii() && c.is_whitespace())
}

/// Remove underscores, which are only allowed between two digits.
fn strip_underscores(s: &str, is_digit: impl Fn(char) -> bool) -> Option<String> {
    if !s.contains('_') {
        return Some(s.to_string());
    }
    let mut out = String::with_capacity(s.len());
    let mut prev = '\0';
    for c in s.chars() {
        if c == '_' {
            if !is_digit(prev) {
                return None;
            }
        } else {
            if prev == '_' && !is_digit(c) {
                return None;
            }
            out.push(c);
        }
        prev = c;
    }
    if prev == '_' {
        return None;
    }
    Some(out)
}

/// Parse a string as `float()` does. Non-ASCII digits are not supported.
#[allow(clippy::result_unit_err)]
pub fn parse_float(s: &str) -> Result<f64, ()> {
    let t = s.trim_matches(py_isspace);
    let t = strip_underscores(t, |c| c.is_ascii_digit()).ok_or(())?;
    let (neg, body) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t.as_str()),
    };
    let lower = body.to_ascii_lowercase();
    if lower == "inf" || lower == "infinity" {
        return Ok(if neg {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        });
    }
    if lower == "nan" {
        return Ok(if neg { -f64::NAN } else { f64::NAN });
    }
    let b = body.as_bytes();
    let mut i = 0;
    let int_digits = b.iter().take_while(|c| c.is_ascii_digit()).count();
    i += int_digits;
    let mut frac_digits = 0;
    if b.get(i) == Some(&b'.') {
        i += 1;
        frac_digits = b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
        i += frac_digits;
    }
    if int_digits + frac_digits == 0 {
        return Err(());
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let ed = b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
        if ed == 0 {
            return Err(());
        }
        i += ed;
    }
    if i != b.len() {
        return Err(());
    }
    let v: f64 = body.parse().map_err(|_| ())?;
    Ok(if neg { -v } else { v })
}

/// Parse a string as `int(s, base)` does (base 0 or 2..=36). Non-ASCII
/// digits are not supported, nor is CPython's 4300-digit conversion limit.
#[allow(clippy::result_unit_err)]
pub fn parse_int(s: &str, base: u32) -> Result<BigInt, ()> {
    if base == 1 || base > 36 {
        return Err(());
    }
    let t = s.trim_matches(py_isspace);
    let b = t.as_bytes();
    let mut i = 0;
    let mut neg = false;
    match b.first() {
        Some(b'+') => i = 1,
        Some(b'-') => {
            neg = true;
            i = 1;
        }
        _ => {}
    }
    let c0 = b.get(i).copied().unwrap_or(0);
    let c1 = b.get(i + 1).copied().unwrap_or(0).to_ascii_lowercase();
    let mut base = base;
    let mut error_if_nonzero = false;
    if base == 0 {
        base = if c0 != b'0' {
            10
        } else if c1 == b'x' {
            16
        } else if c1 == b'o' {
            8
        } else if c1 == b'b' {
            2
        } else {
            error_if_nonzero = true;
            10
        };
    }
    if c0 == b'0'
        && ((base == 16 && c1 == b'x') || (base == 8 && c1 == b'o') || (base == 2 && c1 == b'b'))
    {
        i += 2;
        if b.get(i) == Some(&b'_') {
            i += 1;
        }
    }
    let rest = &b[i.min(b.len())..];
    if rest.first() == Some(&b'_') || rest.is_empty() {
        return Err(());
    }
    let digit = |c: u8| (c as char).is_digit(base);
    let mut clean = Vec::with_capacity(rest.len());
    let mut prev = 0u8;
    for &c in rest {
        if c == b'_' {
            if prev == b'_' {
                return Err(());
            }
        } else if digit(c) {
            clean.push(c);
        } else {
            return Err(());
        }
        prev = c;
    }
    if prev == b'_' || clean.is_empty() {
        return Err(());
    }
    let mag = BigInt::parse_bytes(&clean, base).ok_or(())?;
    if error_if_nonzero && !mag.is_zero() {
        return Err(());
    }
    Ok(if neg { -mag } else { mag })
}

// ---------------------------------------------------------------------------
// %-formatting
// ---------------------------------------------------------------------------

/// A width or precision in a `%` conversion: a number, or `*` (taken from
/// the arguments).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PercentNum {
    Num(usize),
    Star,
}

/// The flags of a `%` conversion (`-`, `+`, space, `#`, `0`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PercentFlags {
    pub ljust: bool,
    pub sign: bool,
    pub blank: bool,
    pub alt: bool,
    pub zero: bool,
}

/// One `%` conversion: `%[(key)][flags][width][.precision][hlL]conv`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PercentConv {
    /// `%(key)s`: the caller looks the value up in the mapping (raise
    /// `TypeError("format requires a mapping")` if the argument is not one).
    pub key: Option<String>,
    pub flags: PercentFlags,
    pub width: Option<PercentNum>,
    pub precision: Option<PercentNum>,
    /// The conversion character (may be unsupported: see [`PercentConv::kind`]).
    pub conv: char,
    /// Index (in chars) of the conversion character in the template.
    pub index: usize,
}

/// What kind of argument a conversion wants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PercentKind {
    /// `%s`: pass `str(arg)` to [`format_percent_str`].
    Str,
    /// `%r`: pass `repr(arg)` to [`format_percent_str`].
    Repr,
    /// `%a`: pass `ascii(arg)` to [`format_percent_str`].
    Ascii,
    /// `%d %i %u %o %x %X`: int (or float for d/i/u, truncated).
    Int,
    /// `%e %E %f %F %g %G`: float (ints converted).
    Float,
    /// `%c`: an int code point or a one-character str.
    Char,
    /// Anything else: after fetching the argument, raise
    /// `ValueError(conv.unsupported_error())`.
    Unsupported,
}

/// A piece of a `%` template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PercentPiece {
    /// Literal text (`%%` already turned into `%`).
    Lit(String),
    Conv(PercentConv),
}

impl PercentConv {
    pub fn kind(&self) -> PercentKind {
        match self.conv {
            's' => PercentKind::Str,
            'r' => PercentKind::Repr,
            'a' => PercentKind::Ascii,
            'd' | 'i' | 'u' | 'o' | 'x' | 'X' => PercentKind::Int,
            'e' | 'E' | 'f' | 'F' | 'g' | 'G' => PercentKind::Float,
            'c' => PercentKind::Char,
            _ => PercentKind::Unsupported,
        }
    }

    /// CPython's message for an unsupported conversion character.
    pub fn unsupported_error(&self) -> String {
        let v = self.conv as u32;
        let shown = if (31..=126).contains(&v) {
            self.conv
        } else {
            '?'
        };
        format!(
            "unsupported format character '{shown}' (0x{v:x}) at index {}",
            self.index
        )
    }

    /// Substitute `*` width/precision with values taken from the arguments
    /// (in order: width, then precision, then the value). A negative width
    /// means left-justify; a negative precision means 0. Non-int star
    /// arguments are the caller's `TypeError("* wants int")`.
    pub fn with_stars(&self, width: Option<i64>, precision: Option<i64>) -> PercentConv {
        let mut c = self.clone();
        if c.width == Some(PercentNum::Star) {
            c.width = width.map(|w| {
                if w < 0 {
                    c.flags.ljust = true;
                }
                PercentNum::Num(usize::try_from(w.unsigned_abs()).unwrap_or(usize::MAX))
            });
        }
        if c.precision == Some(PercentNum::Star) {
            c.precision =
                precision.map(|p| PercentNum::Num(usize::try_from(p.max(0)).unwrap_or(0)));
        }
        c
    }

    fn width_num(&self) -> Option<usize> {
        match self.width {
            Some(PercentNum::Num(n)) => Some(n),
            _ => None,
        }
    }

    fn prec_num(&self) -> Option<usize> {
        match self.precision {
            Some(PercentNum::Num(n)) => Some(n),
            _ => None,
        }
    }
}

/// Parse a `%` template, stopping at the first error: returns the pieces
/// before the error and the error (CPython reports a template error only when
/// formatting reaches it, so a caller that wants exact error precedence
/// processes the pieces first and then raises the error).
pub fn parse_percent_partial(template: &str) -> (Vec<PercentPiece>, Option<String>) {
    let s: Vec<char> = template.chars().collect();
    let n = s.len();
    let mut pieces = Vec::new();
    let mut lit = String::new();
    let mut pos = 0usize;
    let incomplete = |pieces: Vec<PercentPiece>, msg: &str| (pieces, Some(msg.to_string()));
    while pos < n {
        if s[pos] != '%' {
            lit.push(s[pos]);
            pos += 1;
            continue;
        }
        pos += 1;
        if s.get(pos) == Some(&'%') {
            lit.push('%');
            pos += 1;
            continue;
        }
        if !lit.is_empty() {
            pieces.push(PercentPiece::Lit(std::mem::take(&mut lit)));
        }
        let mut key = None;
        if s.get(pos) == Some(&'(') {
            pos += 1;
            let start = pos;
            let mut depth = 1;
            while depth > 0 && pos < n {
                match s[pos] {
                    ')' => depth -= 1,
                    '(' => depth += 1,
                    _ => {}
                }
                pos += 1;
            }
            if depth > 0 {
                return incomplete(pieces, "incomplete format key");
            }
            key = Some(s[start..pos - 1].iter().collect::<String>());
        }
        let mut flags = PercentFlags::default();
        let mut ch;
        loop {
            let Some(&c) = s.get(pos) else {
                return incomplete(pieces, "incomplete format");
            };
            pos += 1;
            ch = c;
            match c {
                '-' => flags.ljust = true,
                '+' => flags.sign = true,
                ' ' => flags.blank = true,
                '#' => flags.alt = true,
                '0' => flags.zero = true,
                _ => break,
            }
        }
        let mut ran_out = false;
        let mut width = None;
        let mut precision = None;
        // Reads the next char into `ch`, or records running out.
        let next = |pos: &mut usize, ch: &mut char, ran_out: &mut bool| match s.get(*pos) {
            Some(&c) => {
                *pos += 1;
                *ch = c;
            }
            None => *ran_out = true,
        };
        if ch == '*' {
            width = Some(PercentNum::Star);
            next(&mut pos, &mut ch, &mut ran_out);
        } else if let Some(d) = ch.to_digit(10) {
            let mut w = d as usize;
            loop {
                next(&mut pos, &mut ch, &mut ran_out);
                if ran_out {
                    break;
                }
                let Some(d) = ch.to_digit(10) else { break };
                if w > (SSIZE_MAX - d as usize) / 10 {
                    return incomplete(pieces, "width too big");
                }
                w = w * 10 + d as usize;
            }
            width = Some(PercentNum::Num(w));
        }
        if !ran_out && ch == '.' {
            precision = Some(PercentNum::Num(0));
            next(&mut pos, &mut ch, &mut ran_out);
            if !ran_out && ch == '*' {
                precision = Some(PercentNum::Star);
                next(&mut pos, &mut ch, &mut ran_out);
            } else if let (false, Some(d)) = (ran_out, ch.to_digit(10)) {
                let mut p = d as usize;
                loop {
                    next(&mut pos, &mut ch, &mut ran_out);
                    if ran_out {
                        break;
                    }
                    let Some(d) = ch.to_digit(10) else { break };
                    if p > (INT_MAX - d as usize) / 10 {
                        return incomplete(pieces, "precision too big");
                    }
                    p = p * 10 + d as usize;
                }
                precision = Some(PercentNum::Num(p));
            }
        }
        if !ran_out && matches!(ch, 'h' | 'l' | 'L') {
            next(&mut pos, &mut ch, &mut ran_out);
        }
        if ran_out {
            return incomplete(pieces, "incomplete format");
        }
        pieces.push(PercentPiece::Conv(PercentConv {
            key,
            flags,
            width,
            precision,
            conv: ch,
            index: pos - 1,
        }));
    }
    if !lit.is_empty() {
        pieces.push(PercentPiece::Lit(lit));
    }
    (pieces, None)
}

/// Parse a `%` template into literal text and conversions. Errors:
/// `incomplete format`, `incomplete format key`, `width too big`,
/// `precision too big` (all ValueError). Unsupported conversion characters
/// are not an error here (CPython raises only after fetching the argument):
/// see [`PercentConv::kind`].
pub fn parse_percent(template: &str) -> Result<Vec<PercentPiece>, String> {
    match parse_percent_partial(template) {
        (pieces, None) => Ok(pieces),
        (_, Some(e)) => Err(e),
    }
}

/// Port of `unicode_format_arg_output`: pad/sign a converted argument.
fn percent_output(s: &str, c: &PercentConv, numeric: bool) -> String {
    let mut width = c.width_num().map_or(-1, |w| w as i64);
    let prec = c.prec_num();
    let fill = if numeric && c.flags.zero { '0' } else { ' ' };
    let chars: Vec<char> = s.chars().collect();
    let mut len = chars.len() as i64;
    if matches!(c.conv, 's' | 'r' | 'a')
        && let Some(p) = prec
        && len > p as i64
    {
        len = p as i64;
    }
    let mut pindex = 0usize;
    let mut sign = numeric;
    let mut signchar = '\0';
    if sign {
        match chars.first() {
            Some(&ch @ ('-' | '+')) => {
                signchar = ch;
                len -= 1;
                pindex = 1;
            }
            _ if c.flags.sign => signchar = '+',
            _ if c.flags.blank => signchar = ' ',
            _ => sign = false,
        }
    }
    if width < len {
        width = len;
    }
    let mut out = String::with_capacity(width.max(0) as usize + 2);
    if sign {
        if fill != ' ' {
            out.push(signchar);
        }
        if width > len {
            width -= 1;
        }
    }
    let has_prefix = c.flags.alt && matches!(c.conv, 'x' | 'X' | 'o');
    if has_prefix {
        if fill != ' ' {
            out.push('0');
            out.push(c.conv);
            pindex += 2;
        }
        width = (width - 2).max(0);
        len -= 2;
    }
    if width > len && !c.flags.ljust {
        push_n(&mut out, fill, width - len);
        width = len;
    }
    if fill == ' ' {
        if sign {
            out.push(signchar);
        }
        if has_prefix {
            out.push('0');
            out.push(c.conv);
            pindex += 2;
        }
    }
    out.extend(chars.iter().skip(pindex).take(len.max(0) as usize));
    if width > len {
        push_n(&mut out, ' ', width - len);
    }
    out
}

fn percent_limits(c: &PercentConv) -> Result<(), String> {
    if c.width_num().is_some_and(|w| w > HUGE) {
        return Err(MEMORY_ERROR.to_string());
    }
    Ok(())
}

/// `%`-format an int (for `%d %i %u %o %x %X %c`, and `%e`.. `%G` after
/// conversion to float; `%s %r %a` use the decimal string).
pub fn format_percent_int(v: &BigInt, c: &PercentConv) -> Result<String, String> {
    percent_limits(c)?;
    match c.kind() {
        PercentKind::Unsupported => Err(c.unsupported_error()),
        PercentKind::Str | PercentKind::Repr | PercentKind::Ascii => {
            format_percent_str(&v.to_string(), c)
        }
        PercentKind::Float => {
            let x =
                bigint_to_f64(v).ok_or_else(|| "int too large to convert to float".to_string())?;
            format_percent_float(x, c)
        }
        PercentKind::Char => {
            // CPython's formatchar reports any out-of-range int the same way.
            let ch = if v.to_i64().is_some() {
                int_to_char(v)?
            } else {
                return Err("%c arg not in range(0x110000)".to_string());
            };
            Ok(percent_output(&ch.to_string(), c, false))
        }
        PercentKind::Int => {
            let prec = c.prec_num().unwrap_or(0);
            if c.prec_num().is_some_and(|p| p > INT_MAX - 3) {
                return Err("precision too large".to_string());
            }
            let base = match c.conv {
                'o' => 8,
                'x' | 'X' => 16,
                _ => 10,
            };
            let digits = v.magnitude().to_str_radix(base);
            let mut buf = String::with_capacity(digits.len() + prec + 3);
            if v.is_negative() {
                buf.push('-');
            }
            if c.flags.alt && base != 10 {
                buf.push('0');
                buf.push(if base == 8 { 'o' } else { 'x' });
            }
            push_n(&mut buf, '0', prec as i64 - digits.len() as i64);
            buf.push_str(&digits);
            if c.conv == 'X' {
                buf = buf.to_ascii_uppercase();
            }
            Ok(percent_output(&buf, c, true))
        }
    }
}

/// `%`-format a float (for `%e %E %f %F %g %G`; `%d %i %u` truncate to int;
/// `%s %r %a` use the float's repr; `%o %x %X %c` are TypeErrors).
pub fn format_percent_float(f: f64, c: &PercentConv) -> Result<String, String> {
    percent_limits(c)?;
    match c.kind() {
        PercentKind::Unsupported => Err(c.unsupported_error()),
        PercentKind::Str | PercentKind::Repr | PercentKind::Ascii => {
            format_percent_str(&float_repr(f), c)
        }
        PercentKind::Char => Err("%c requires int or char".to_string()),
        PercentKind::Int => {
            if matches!(c.conv, 'o' | 'x' | 'X') {
                return Err(format!(
                    "%{} format: an integer is required, not float",
                    c.conv
                ));
            }
            if f.is_nan() {
                return Err("cannot convert float NaN to integer".to_string());
            }
            if f.is_infinite() {
                return Err("cannot convert float infinity to integer".to_string());
            }
            format_percent_int(&f64_to_bigint(f.trunc()), c)
        }
        PercentKind::Float => {
            let prec = c.prec_num().unwrap_or(6);
            let s = double_to_string(
                f,
                c.conv,
                prec,
                DtoaFlags {
                    alt: c.flags.alt,
                    ..DtoaFlags::default()
                },
            );
            Ok(percent_output(&s, c, true))
        }
    }
}

/// Exact conversion of an integral, finite float to an int.
fn f64_to_bigint(f: f64) -> BigInt {
    if f == 0.0 || !f.is_finite() {
        return BigInt::zero();
    }
    let bits = f.abs().to_bits();
    let raw_exp = ((bits >> 52) & 0x7ff) as i64;
    let frac = bits & ((1u64 << 52) - 1);
    let (mant, exp) = if raw_exp == 0 {
        (frac, -1074)
    } else {
        (frac | (1u64 << 52), raw_exp - 1075)
    };
    let m = BigInt::from(mant);
    let r = if exp >= 0 {
        m << (exp as usize)
    } else {
        m >> ((-exp) as usize)
    };
    if f < 0.0 { -r } else { r }
}

/// `%`-format a string. For `%s %r %a` pass the already converted
/// `str()`/`repr()`/`ascii()` text; for `%c` pass the one-character string
/// argument (anything else is `%c requires int or char`). Numeric
/// conversions give CPython's TypeErrors for a str argument.
pub fn format_percent_str(s: &str, c: &PercentConv) -> Result<String, String> {
    percent_limits(c)?;
    match c.kind() {
        PercentKind::Unsupported => Err(c.unsupported_error()),
        PercentKind::Str | PercentKind::Repr | PercentKind::Ascii => {
            Ok(percent_output(s, c, false))
        }
        PercentKind::Char => {
            let mut it = s.chars();
            match (it.next(), it.next()) {
                (Some(_), None) => Ok(percent_output(s, c, false)),
                _ => Err("%c requires int or char".to_string()),
            }
        }
        PercentKind::Int => Err(if matches!(c.conv, 'o' | 'x' | 'X') {
            format!("%{} format: an integer is required, not str", c.conv)
        } else {
            format!("%{} format: a real number is required, not str", c.conv)
        }),
        PercentKind::Float => Err("must be real number, not str".to_string()),
    }
}

// ---------------------------------------------------------------------------
// str.format templates
// ---------------------------------------------------------------------------

/// An attribute or index access after the first part of a field name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldPart {
    /// `.name`
    Attr(String),
    /// `[key]`
    Index(IndexKey),
}

/// The key of a `[key]` access: all-decimal-digit keys are ints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IndexKey {
    Int(usize),
    Str(String),
}

/// The first part of a field name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldFirst {
    Index(usize),
    Name(String),
}

/// A piece of a `str.format` template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FormatPiece {
    Lit(String),
    Field {
        /// `None` means auto-numbered (`{}` / `{!r}` / `{:>3}` / `{[0]}`).
        first: Option<FieldFirst>,
        rest: Vec<FieldPart>,
        /// Raw conversion character (validate with [`conversion_error`]).
        conversion: Option<char>,
        /// The format spec: literal text and nested fields (`{x:{w}}`),
        /// empty for no spec. Render each piece and concatenate.
        spec: Vec<FormatPiece>,
    },
}

/// The error for a conversion character other than `r`, `s`, `a`
/// (CPython checks it after looking up the field's value), or None if valid.
pub fn conversion_error(conv: char) -> Option<String> {
    match conv {
        'r' | 's' | 'a' => None,
        c if (c as u32) > 32 && (c as u32) < 127 => {
            Some(format!("Unknown conversion specifier {c}"))
        }
        c => Some(format!("Unknown conversion specifier \\x{:x}", c as u32)),
    }
}

/// Error messages the caller raises while rendering a template (ValueError).
pub const AUTO_TO_MANUAL_ERROR: &str =
    "cannot switch from automatic field numbering to manual field specification";
/// See [`AUTO_TO_MANUAL_ERROR`].
pub const MANUAL_TO_AUTO_ERROR: &str =
    "cannot switch from manual field specification to automatic field numbering";

/// CPython's `get_integer` for field names: Ok(None) if not all digits.
fn field_integer(s: &[char]) -> Result<Option<usize>, String> {
    if s.is_empty() {
        return Ok(None);
    }
    let mut acc: usize = 0;
    for c in s {
        let Some(d) = c.to_digit(10) else {
            return Ok(None);
        };
        let d = d as usize;
        if acc > (SSIZE_MAX - d) / 10 {
            return Err(TOO_MANY_DIGITS.to_string());
        }
        acc = acc * 10 + d;
    }
    Ok(Some(acc))
}

type SplitName = (Option<FieldFirst>, Vec<FieldPart>);

fn split_field_name(name: &[char]) -> Result<SplitName, String> {
    let first_end = name
        .iter()
        .position(|&c| c == '.' || c == '[')
        .unwrap_or(name.len());
    let first_s = &name[..first_end];
    let first = if first_s.is_empty() {
        None
    } else {
        Some(match field_integer(first_s)? {
            Some(i) => FieldFirst::Index(i),
            None => FieldFirst::Name(first_s.iter().collect()),
        })
    };
    let mut rest = Vec::new();
    let mut pos = first_end;
    let end = name.len();
    while pos < end {
        let c = name[pos];
        pos += 1;
        match c {
            '.' => {
                let start = pos;
                while pos < end && name[pos] != '.' && name[pos] != '[' {
                    pos += 1;
                }
                if start == pos {
                    return Err("Empty attribute in format string".to_string());
                }
                rest.push(FieldPart::Attr(name[start..pos].iter().collect()));
            }
            '[' => {
                let start = pos;
                while pos < end && name[pos] != ']' {
                    pos += 1;
                }
                if pos >= end {
                    return Err("Missing ']' in format string".to_string());
                }
                let key = &name[start..pos];
                pos += 1;
                if key.is_empty() {
                    return Err("Empty attribute in format string".to_string());
                }
                rest.push(FieldPart::Index(match field_integer(key)? {
                    Some(i) => IndexKey::Int(i),
                    None => IndexKey::Str(key.iter().collect()),
                }));
            }
            _ => {
                return Err("Only '.' or '[' may follow ']' in format field specifier".to_string());
            }
        }
    }
    Ok((first, rest))
}

fn push_lit(out: &mut Vec<FormatPiece>, s: &[char]) {
    if s.is_empty() {
        return;
    }
    if let Some(FormatPiece::Lit(l)) = out.last_mut() {
        l.extend(s.iter());
    } else {
        out.push(FormatPiece::Lit(s.iter().collect()));
    }
}

fn parse_field(
    s: &[char],
    pos: &mut usize,
    depth: u32,
    out: &mut Vec<FormatPiece>,
) -> Result<(), String> {
    let end = s.len();
    let name_start = *pos;
    let mut c = '\0';
    while *pos < end {
        c = s[*pos];
        *pos += 1;
        match c {
            '{' => return Err("unexpected '{' in field name".to_string()),
            '[' => {
                while *pos < end && s[*pos] != ']' {
                    *pos += 1;
                }
            }
            '}' | ':' | '!' => break,
            _ => {}
        }
    }
    let name_end = pos.saturating_sub(1).max(name_start);
    let mut conversion = None;
    let mut spec_range = None;
    let mut needs_expanding = false;
    if c == '!' || c == ':' {
        let mut done = false;
        if c == '!' {
            let Some(&conv) = s.get(*pos) else {
                return Err("end of string while looking for conversion specifier".to_string());
            };
            conversion = Some(conv);
            *pos += 1;
            if let Some(&c2) = s.get(*pos) {
                *pos += 1;
                if c2 == '}' {
                    done = true;
                } else if c2 != ':' {
                    return Err("expected ':' after conversion specifier".to_string());
                }
            }
        }
        if !done {
            let spec_start = *pos;
            let mut count = 1;
            loop {
                let Some(&ch) = s.get(*pos) else {
                    return Err("unmatched '{' in format spec".to_string());
                };
                *pos += 1;
                if ch == '{' {
                    needs_expanding = true;
                    count += 1;
                } else if ch == '}' {
                    count -= 1;
                    if count == 0 {
                        spec_range = Some((spec_start, *pos - 1));
                        break;
                    }
                }
            }
        }
    } else if c != '}' {
        return Err("expected '}' before end of string".to_string());
    }
    let (first, rest) = split_field_name(&s[name_start..name_end])?;
    let mut spec = Vec::new();
    if let Some((a, b)) = spec_range {
        let spec_chars = &s[a..b];
        if needs_expanding {
            if depth <= 1 {
                return Err("Max string recursion exceeded".to_string());
            }
            parse_template_into(spec_chars, depth - 1, &mut spec)?;
        } else {
            push_lit(&mut spec, spec_chars);
        }
    }
    out.push(FormatPiece::Field {
        first,
        rest,
        conversion,
        spec,
    });
    Ok(())
}

fn parse_template_into(s: &[char], depth: u32, out: &mut Vec<FormatPiece>) -> Result<(), String> {
    let end = s.len();
    let mut pos = 0usize;
    while pos < end {
        let start = pos;
        let mut c = '\0';
        let mut markup_follows = false;
        while pos < end {
            c = s[pos];
            pos += 1;
            if c == '{' || c == '}' {
                markup_follows = true;
                break;
            }
        }
        let at_end = pos >= end;
        let mut len = pos - start;
        if markup_follows && c == '}' && (at_end || s[pos] != '}') {
            return Err("Single '}' encountered in format string".to_string());
        }
        if markup_follows && at_end && c == '{' {
            return Err("Single '{' encountered in format string".to_string());
        }
        if markup_follows {
            if s[pos] == c {
                pos += 1;
                markup_follows = false;
            } else {
                len -= 1;
            }
        }
        push_lit(out, &s[start..start + len]);
        if markup_follows {
            parse_field(s, &mut pos, depth, out)?;
        }
    }
    Ok(())
}

/// Parse a `str.format` template into literal text and replacement fields,
/// stopping at the first error: returns the pieces before the error and the
/// error (CPython raises template errors only when rendering reaches them).
pub fn parse_format_template_partial(s: &str) -> (Vec<FormatPiece>, Option<String>) {
    let chars: Vec<char> = s.chars().collect();
    let mut out = Vec::new();
    let err = parse_template_into(&chars, 2, &mut out).err();
    (out, err)
}

/// Parse a `str.format` template (`"{0} {name!r:>10} {a.b[0]} {{"`).
/// Field-name errors (`Empty attribute in format string`, `Missing ']' in
/// format string`, ...) are reported here, eagerly.
pub fn parse_format_template(s: &str) -> Result<Vec<FormatPiece>, String> {
    match parse_format_template_partial(s) {
        (pieces, None) => Ok(pieces),
        (_, Some(e)) => Err(e),
    }
}

impl crate::Vm {
    /// `str()` of a big int, refused past `sys.get_int_max_str_digits()`
    /// digits (CVE-2020-10735) with CPython's message.
    pub fn bigint_to_decimal(&self, b: &BigInt) -> crate::PyResult<String> {
        let s = b.to_string();
        let digits = s.len() - usize::from(s.starts_with('-'));
        let limit = self.int_max_str_digits;
        if limit > 0 && digits > limit {
            let msg = format!(
                "Exceeds the limit ({limit} digits) for integer string conversion; \
                 use sys.set_int_max_str_digits() to increase the limit"
            );
            return Err(self.value_error(&msg));
        }
        Ok(s)
    }

    /// The same limit for `int(text)` in a base that is not a power of two.
    pub fn check_int_text_digits(&self, text: &str, base: u32) -> crate::PyResult<()> {
        let limit = self.int_max_str_digits;
        if limit == 0 || base.is_power_of_two() {
            return Ok(());
        }
        let digits = text.chars().filter(|c| c.is_ascii_alphanumeric()).count();
        if digits > limit {
            let msg = format!(
                "Exceeds the limit ({limit} digits) for integer string conversion: \
                 value has {digits} digits; use sys.set_int_max_str_digits() to increase the limit"
            );
            return Err(self.value_error(&msg));
        }
        Ok(())
    }
}
