//! `time.struct_time` and the calendar functions of the `time` module:
//! `gmtime`, `localtime`, `mktime`, `strftime`, `asctime`, `ctime`, over
//! the C library (as CPython on Linux does, so `strftime` prints the same).

use std::rc::Rc;

use covm_vm::Vm;
use covm_vm::value::*;

use crate::modules::{downcast, native_class, this};

const FIELDS: [&str; 9] = [
    "tm_year", "tm_mon", "tm_mday", "tm_hour", "tm_min", "tm_sec", "tm_wday", "tm_yday", "tm_isdst",
];

pub struct StructTime {
    cls: Rc<Class>,
    /// The nine visible fields, as Python numbers them (month 1-12,
    /// Monday = 0, day of year from 1).
    v: [i64; 9],
    zone: Option<String>,
    gmtoff: Option<i64>,
}

impl NativeObject for StructTime {
    fn class(&self, _vm: &Vm) -> Rc<Class> {
        self.cls.clone()
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
    fn repr(&self, _vm: &mut Vm) -> PyResult<Option<String>> {
        let parts: Vec<String> = FIELDS
            .iter()
            .zip(self.v.iter())
            .map(|(n, v)| format!("{n}={v}"))
            .collect();
        Ok(Some(format!("time.struct_time({})", parts.join(", "))))
    }
    fn len(&self) -> Option<usize> {
        Some(9)
    }
    fn iter(&self, vm: &mut Vm, _me: &Value) -> PyResult<Option<Value>> {
        let t = self.tuple();
        vm.get_iter(&t).map(Some)
    }
    fn get_attr(&self, _vm: &mut Vm, name: &str) -> PyResult<Option<Value>> {
        if let Some(i) = FIELDS.iter().position(|f| *f == name) {
            return Ok(Some(Value::Int(self.v[i])));
        }
        Ok(match name {
            "tm_zone" => Some(self.zone.clone().map(Value::str).unwrap_or(Value::None)),
            "tm_gmtoff" => Some(self.gmtoff.map(Value::Int).unwrap_or(Value::None)),
            "n_fields" => Some(Value::Int(11)),
            "n_sequence_fields" => Some(Value::Int(9)),
            _ => None,
        })
    }
}

impl StructTime {
    fn tuple(&self) -> Value {
        Value::tuple(self.v.iter().map(|&x| Value::Int(x)).collect())
    }
}

fn st_class(vm: &mut Vm) -> Rc<Class> {
    native_class(vm, "time.struct_time", "struct_time", "time", setup)
}

fn st_getitem(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let st = this::<StructTime>(vm, args, "time.struct_time", "__getitem__")?;
    let t = st.tuple();
    let key = args.get(1).cloned().unwrap_or(Value::None);
    vm.getitem(&t, &key)
}

fn st_eq(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let (Some(a), Some(b)) = (args.first(), args.get(1)) else {
        return Ok(Value::NotImplemented);
    };
    let ta = match downcast::<StructTime>(a) {
        Some(s) => s.tuple(),
        None => return Ok(Value::NotImplemented),
    };
    let tb = match downcast::<StructTime>(b) {
        Some(s) => s.tuple(),
        None => b.clone(),
    };
    Ok(Value::Bool(vm.eq(&ta, &tb)?))
}

fn st_new(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let Some(seq) = args.get(1) else {
        return Err(vm.type_error("structseq() missing required argument 'sequence' (pos 1)"));
    };
    let items = vm.collect(seq)?;
    if items.len() != 9 {
        return Err(vm.type_error(&format!(
            "time.struct_time() takes a 9-sequence ({}-sequence given)",
            items.len()
        )));
    }
    let mut v = [0i64; 9];
    for (i, x) in items.iter().enumerate() {
        v[i] = crate::methods::index_arg(vm, x)?;
    }
    let cls = st_class(vm);
    Ok(Value::Native(
        NativeBox::new(StructTime {
            cls,
            v,
            zone: None,
            gmtoff: None,
        })
        .into(),
    ))
}

fn setup(vm: &mut Vm, cls: &Rc<Class>) {
    vm.add_method(cls, "__getitem__", st_getitem);
    crate::modules::add_cmp_method(vm, cls, "__eq__", st_eq);
    vm.set_native_new(cls, st_new);
}

fn from_tm(vm: &mut Vm, tm: &libc::tm) -> Value {
    let cls = st_class(vm);
    let zone = if tm.tm_zone.is_null() {
        None
    } else {
        // SAFETY: the C library sets tm_zone to a NUL-terminated static string.
        Some(
            unsafe { std::ffi::CStr::from_ptr(tm.tm_zone) }
                .to_string_lossy()
                .into_owned(),
        )
    };
    Value::Native(
        (NativeBox::new(StructTime {
            cls,
            v: [
                tm.tm_year as i64 + 1900,
                tm.tm_mon as i64 + 1,
                tm.tm_mday as i64,
                tm.tm_hour as i64,
                tm.tm_min as i64,
                tm.tm_sec as i64,
                (tm.tm_wday as i64 + 6) % 7,
                tm.tm_yday as i64 + 1,
                tm.tm_isdst as i64,
            ],
            zone,
            gmtoff: Some(tm.tm_gmtoff),
        }))
        .into(),
    )
}

/// The seconds argument of gmtime/localtime/ctime: now when absent or None.
fn secs_arg(vm: &mut Vm, args: &[Value]) -> PyResult<libc::time_t> {
    match args.first() {
        None | Some(Value::None) => {
            Ok((crate::mod_time::wall_ns(vm) / 1_000_000_000) as libc::time_t)
        }
        Some(Value::Float(f)) => {
            if !f.is_finite() {
                return Err(vm.value_error("Invalid value NaN (not a number)"));
            }
            if f.abs() > 1e18 {
                return Err(vm.overflow_error("timestamp out of range for platform time_t"));
            }
            Ok(f.floor() as libc::time_t)
        }
        Some(v) => {
            let i = crate::methods::index_arg(vm, v).map_err(|_| {
                vm.type_error(&format!(
                    "'{}' object cannot be interpreted as an integer",
                    vm.type_name(v)
                ))
            })?;
            Ok(i as libc::time_t)
        }
    }
}

fn convert(vm: &mut Vm, args: &[Value], local: bool) -> PyResult<Value> {
    let t = secs_arg(vm, args)?;
    // SAFETY: `tm` is plain data, fully written by the *_r call on success.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    let ok = unsafe {
        if local {
            !libc::localtime_r(&t, &mut tm).is_null()
        } else {
            !libc::gmtime_r(&t, &mut tm).is_null()
        }
    };
    if !ok {
        return Err(vm.overflow_error("timestamp out of range for platform time_t"));
    }
    Ok(from_tm(vm, &tm))
}

pub fn t_gmtime(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    convert(vm, args, false)
}

pub fn t_localtime(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    convert(vm, args, true)
}

/// A struct_time or 9-tuple as a C `tm` (CPython's `gettmarg`).
fn to_tm(vm: &mut Vm, fname: &str, v: &Value) -> PyResult<libc::tm> {
    // SAFETY: plain data.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    let (vals, st) = match (v, downcast::<StructTime>(v)) {
        (_, Some(st)) => (st.v.to_vec(), Some(st)),
        (Value::Tuple(t), None) => {
            if t.len() != 9 {
                return Err(vm.type_error(&format!("{fname}(): illegal time tuple argument")));
            }
            let mut out = Vec::with_capacity(9);
            for x in t.iter() {
                out.push(crate::methods::index_arg(vm, x)?);
            }
            (out, None)
        }
        _ => {
            return Err(vm.type_error("Tuple or struct_time argument required"));
        }
    };
    tm.tm_year = (vals[0] - 1900) as libc::c_int;
    tm.tm_mon = (vals[1] - 1) as libc::c_int;
    tm.tm_mday = vals[2] as libc::c_int;
    tm.tm_hour = vals[3] as libc::c_int;
    tm.tm_min = vals[4] as libc::c_int;
    tm.tm_sec = vals[5] as libc::c_int;
    tm.tm_wday = ((vals[6] + 1) % 7) as libc::c_int;
    tm.tm_yday = (vals[7] - 1) as libc::c_int;
    tm.tm_isdst = vals[8] as libc::c_int;
    if let Some(st) = st {
        tm.tm_gmtoff = st.gmtoff.unwrap_or(0);
    }
    Ok(tm)
}

/// CPython's `checktm` plus the adjustments `strftime` makes.
fn check_tm(vm: &Vm, tm: &mut libc::tm) -> PyResult<()> {
    if tm.tm_mon == -1 {
        tm.tm_mon = 0;
    } else if !(0..=11).contains(&tm.tm_mon) {
        return Err(vm.value_error("month out of range"));
    }
    if tm.tm_mday == 0 {
        tm.tm_mday = 1;
    } else if !(0..=31).contains(&tm.tm_mday) {
        return Err(vm.value_error("day of month out of range"));
    }
    if !(0..=23).contains(&tm.tm_hour) {
        return Err(vm.value_error("hour out of range"));
    }
    if !(0..=59).contains(&tm.tm_min) {
        return Err(vm.value_error("minute out of range"));
    }
    if !(0..=61).contains(&tm.tm_sec) {
        return Err(vm.value_error("seconds out of range"));
    }
    if tm.tm_wday < 0 {
        return Err(vm.value_error("day of week out of range"));
    }
    if tm.tm_yday == -1 {
        tm.tm_yday = 0;
    } else if !(0..=365).contains(&tm.tm_yday) {
        return Err(vm.value_error("day of year out of range"));
    }
    tm.tm_isdst = tm.tm_isdst.clamp(-1, 1);
    Ok(())
}

fn now_tm(vm: &mut Vm) -> libc::tm {
    let t = (crate::mod_time::wall_ns(vm) / 1_000_000_000) as libc::time_t;
    // SAFETY: plain data, written by localtime_r.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    unsafe { libc::localtime_r(&t, &mut tm) };
    tm
}

pub fn t_strftime(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let fmt = match args.first() {
        Some(Value::Str(s)) => s.as_str().to_string(),
        Some(v) => {
            return Err(vm.type_error(&format!(
                "strftime() argument 1 must be str, not {}",
                vm.type_name(v)
            )));
        }
        None => return Err(vm.type_error("strftime() takes at least 1 argument (0 given)")),
    };
    let mut tm = match args.get(1) {
        Some(v) => {
            let mut tm = to_tm(vm, "strftime", v)?;
            check_tm(vm, &mut tm)?;
            tm
        }
        None => now_tm(vm),
    };
    if fmt.is_empty() {
        return Ok(Value::str(""));
    }
    // Zone name for %Z: from the struct_time, else the C library's.
    let zone = args
        .get(1)
        .and_then(|v| downcast::<StructTime>(v))
        .and_then(|s| s.zone.clone());
    let zone_c = zone.and_then(|z| std::ffi::CString::new(z).ok());
    if let Some(z) = &zone_c {
        tm.tm_zone = z.as_ptr();
    }
    let Ok(cfmt) = std::ffi::CString::new(fmt.clone()) else {
        return Err(vm.value_error("embedded null character"));
    };
    let mut size = 1024usize.max(fmt.len() * 4);
    loop {
        let mut buf = vec![0u8; size];
        // SAFETY: buf has `size` bytes; strftime writes at most that many.
        let n = unsafe {
            libc::strftime(
                buf.as_mut_ptr() as *mut libc::c_char,
                size,
                cfmt.as_ptr(),
                &tm,
            )
        };
        if n > 0 || size > 256 * fmt.len() + 4096 {
            buf.truncate(n);
            return Ok(Value::str(String::from_utf8_lossy(&buf).into_owned()));
        }
        size *= 4;
    }
}

pub fn t_mktime(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let Some(v) = args.first() else {
        return Err(vm.type_error("time.mktime() takes exactly one argument (0 given)"));
    };
    let mut tm = to_tm(vm, "mktime", v)?;
    tm.tm_wday = -1;
    // SAFETY: tm is a valid struct; mktime normalises it in place.
    let t = unsafe { libc::mktime(&mut tm) };
    if t == -1 && tm.tm_wday == -1 {
        return Err(vm.overflow_error("mktime argument out of range"));
    }
    Ok(Value::Float(t as f64))
}

const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

fn asctime_text(tm: &libc::tm) -> String {
    format!(
        "{} {}{:3} {:02}:{:02}:{:02} {}",
        DAYS[tm.tm_wday.rem_euclid(7) as usize],
        MONTHS[tm.tm_mon.rem_euclid(12) as usize],
        tm.tm_mday,
        tm.tm_hour,
        tm.tm_min,
        tm.tm_sec,
        tm.tm_year as i64 + 1900
    )
}

pub fn t_asctime(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let tm = match args.first() {
        Some(v) => {
            let mut tm = to_tm(vm, "asctime", v)?;
            check_tm(vm, &mut tm)?;
            tm
        }
        None => now_tm(vm),
    };
    Ok(Value::str(asctime_text(&tm)))
}

pub fn t_ctime(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let t = secs_arg(vm, args)?;
    // SAFETY: plain data, written by localtime_r.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    if unsafe { libc::localtime_r(&t, &mut tm) }.is_null() {
        return Err(vm.overflow_error("timestamp out of range for platform time_t"));
    }
    Ok(Value::str(asctime_text(&tm)))
}

/// Registers struct_time and the calendar functions in `time`.
pub fn install(vm: &mut Vm, m: &Module) {
    let cls = st_class(vm);
    crate::modules::set(m, "struct_time", Value::Class(cls));
    let fns: [(&str, NativeFn); 6] = [
        ("gmtime", t_gmtime),
        ("localtime", t_localtime),
        ("mktime", t_mktime),
        ("strftime", t_strftime),
        ("asctime", t_asctime),
        ("ctime", t_ctime),
    ];
    for (n, f) in fns {
        crate::modules::func(vm, m, n, f);
    }
}
