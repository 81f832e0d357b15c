//! `open()` and the text file object it returns (`_io.TextIOWrapper`).
//!
//! Reading loads the rest of the file on the first read and serves lines
//! from that buffer, with universal newlines. Writes are buffered like
//! CPython's (flushed at 8 KiB, on `flush`, `close`, `seek`, a read, and when
//! the object goes away).

use std::cell::RefCell;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::rc::Rc;

use covm_vm::Vm;
use covm_vm::value::*;

use crate::args::*;
use crate::builtins_types::exc_named;

const FILE_CLASS: &str = "_io.TextIOWrapper";
const UNSUPPORTED: &str = "io.UnsupportedOperation";

struct FileState {
    file: Option<File>,
    closed: bool,
    /// Decoded text read ahead of the program, and how far it has read.
    rbuf: Option<String>,
    rpos: usize,
    /// Byte offset in the file where `rbuf` starts.
    rstart: u64,
    wbuf: String,
}

pub struct TextFile {
    class: Rc<Class>,
    name: Value,
    mode: String,
    encoding: String,
    readable: bool,
    writable: bool,
    /// `newline=`: None translates on read (universal newlines); `""`
    /// splits lines at any ending but keeps it; another value is the only
    /// line ending and what `\n` becomes on write.
    newline: Option<String>,
    st: RefCell<FileState>,
}

impl Drop for TextFile {
    fn drop(&mut self) {
        let st = self.st.get_mut();
        if let Some(f) = st.file.as_mut()
            && !st.wbuf.is_empty()
        {
            let _ = f.write_all(st.wbuf.as_bytes());
            st.wbuf.clear();
        }
    }
}

impl NativeObject for TextFile {
    fn class(&self, _vm: &Vm) -> Rc<Class> {
        self.class.clone()
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
    fn repr(&self, vm: &mut Vm) -> PyResult<Option<String>> {
        let name = vm.repr(&self.name)?;
        Ok(Some(format!(
            "<_io.TextIOWrapper name={name} mode='{}' encoding='{}'>",
            self.mode, self.encoding
        )))
    }
    fn iter(&self, vm: &mut Vm, me: &Value) -> PyResult<Option<Value>> {
        if self.st.borrow().closed {
            return Err(closed_error(vm));
        }
        Ok(Some(me.clone()))
    }
    fn get_attr(&self, _vm: &mut Vm, name: &str) -> PyResult<Option<Value>> {
        Ok(match name {
            "name" => Some(self.name.clone()),
            "mode" => Some(Value::str(self.mode.as_str())),
            "closed" => Some(Value::Bool(self.st.borrow().closed)),
            "encoding" => Some(Value::str(self.encoding.as_str())),
            _ => None,
        })
    }
}

fn class_from(vm: &Vm, key: &str) -> Option<Rc<Class>> {
    vm.extensions
        .get(key)
        .and_then(|a| a.downcast_ref::<Rc<Class>>())
        .cloned()
}

/// `io.UnsupportedOperation` (a subclass of OSError), for the `io` module.
pub fn unsupported_operation_class(vm: &Vm) -> Rc<Class> {
    class_from(vm, UNSUPPORTED).unwrap_or_else(|| vm.exc.os_error.clone())
}

/// The class of file objects (`_io.TextIOWrapper`).
pub fn file_class(vm: &Vm) -> Rc<Class> {
    class_from(vm, FILE_CLASS).unwrap_or_else(|| vm.types.object.clone())
}

fn closed_error(vm: &Vm) -> Value {
    vm.value_error("I/O operation on closed file.")
}

fn unsupported(vm: &Vm, msg: &str) -> Value {
    let cls = unsupported_operation_class(vm);
    vm.new_exc(&cls, msg)
}

/// The strerror text CPython shows for common errnos.
fn strerror(code: i32, e: &std::io::Error) -> String {
    match code {
        1 => "Operation not permitted".into(),
        2 => "No such file or directory".into(),
        9 => "Bad file descriptor".into(),
        13 => "Permission denied".into(),
        17 => "File exists".into(),
        20 => "Not a directory".into(),
        21 => "Is a directory".into(),
        22 => "Invalid argument".into(),
        28 => "No space left on device".into(),
        36 => "File name too long".into(),
        39 => "Directory not empty".into(),
        _ => {
            let s = e.to_string();
            match s.find(" (os error") {
                Some(i) => s[..i].to_string(),
                None => s,
            }
        }
    }
}

/// An `OSError` subclass instance for an I/O error, with errno, strerror
/// and filename set, printing as `[Errno 2] No such file or directory: 'x'`.
pub fn os_error(vm: &mut Vm, e: &std::io::Error, filename: Option<&Value>) -> Value {
    let code = e.raw_os_error().unwrap_or(0);
    os_error_code(vm, code, &strerror(code, e), filename)
}

pub fn os_error_code(vm: &mut Vm, code: i32, text: &str, filename: Option<&Value>) -> Value {
    let cls_name = match code {
        2 => "FileNotFoundError",
        13 | 1 => "PermissionError",
        17 => "FileExistsError",
        20 => "NotADirectoryError",
        21 => "IsADirectoryError",
        _ => "OSError",
    };
    let cls = exc_named(vm, cls_name);
    let mut args = vec![Value::Int(code as i64), Value::str(text)];
    if let Some(f) = filename {
        args.push(f.clone());
    }
    match vm.call(&Value::Class(cls.clone()), args.clone()) {
        Ok(e) => e,
        Err(_) => vm.new_exc_args(&cls, args),
    }
}

fn this<'a>(vm: &Vm, args: &'a [Value], name: &str) -> PyResult<&'a TextFile> {
    if let Some(Value::Native(n)) = args.first()
        && let Some(f) = n.as_any().downcast_ref::<TextFile>()
    {
        return Ok(f);
    }
    Err(vm.type_error(&format!(
        "descriptor '{name}' for '_io.TextIOWrapper' objects doesn't apply to a '{}' object",
        args.first()
            .map(|a| vm.type_name(a))
            .unwrap_or_else(|| "NoneType".into())
    )))
}

fn translate_newlines(s: &str) -> String {
    if !s.contains('\r') {
        return s.to_string();
    }
    s.replace("\r\n", "\n").replace('\r', "\n")
}

impl TextFile {
    fn check_open(&self, vm: &Vm) -> PyResult<()> {
        if self.st.borrow().closed {
            return Err(closed_error(vm));
        }
        Ok(())
    }

    fn check_readable(&self, vm: &Vm) -> PyResult<()> {
        self.check_open(vm)?;
        if !self.readable {
            return Err(unsupported(vm, "not readable"));
        }
        Ok(())
    }

    fn check_writable(&self, vm: &Vm) -> PyResult<()> {
        self.check_open(vm)?;
        if !self.writable {
            return Err(unsupported(vm, "not writable"));
        }
        Ok(())
    }

    fn flush_writes(&self, vm: &mut Vm) -> PyResult<()> {
        let mut st = self.st.borrow_mut();
        if st.wbuf.is_empty() {
            return Ok(());
        }
        let data = std::mem::take(&mut st.wbuf);
        let r = match st.file.as_mut() {
            Some(f) => f.write_all(data.as_bytes()),
            None => Ok(()),
        };
        drop(st);
        r.map_err(|e| os_error(vm, &e, None))
    }

    /// Makes sure the rest of the file is in the read buffer.
    fn fill(&self, vm: &mut Vm) -> PyResult<()> {
        self.flush_writes(vm)?;
        let mut st = self.st.borrow_mut();
        if st.rbuf.is_some() {
            return Ok(());
        }
        let Some(f) = st.file.as_mut() else {
            return Ok(());
        };
        let start = f.stream_position().unwrap_or(0);
        let mut bytes = Vec::new();
        let r = f.read_to_end(&mut bytes);
        drop(st);
        if let Err(e) = r {
            return Err(os_error(vm, &e, None));
        }
        let text = match String::from_utf8(bytes) {
            Ok(s) => s,
            Err(e) => {
                let pos = e.utf8_error().valid_up_to();
                let byte = e.as_bytes().get(pos).copied().unwrap_or(0);
                let why = if e.utf8_error().error_len().is_none() {
                    "unexpected end of data"
                } else if (0xc2..=0xf4).contains(&byte) {
                    "invalid continuation byte"
                } else {
                    "invalid start byte"
                };
                let cls = exc_named(vm, "UnicodeDecodeError");
                return Err(vm.new_exc(
                    &cls,
                    &format!(
                        "'utf-8' codec can't decode byte 0x{byte:02x} in position {pos}: {why}"
                    ),
                ));
            }
        };
        let text = if self.newline.is_none() {
            translate_newlines(&text)
        } else {
            text
        };
        let mut st = self.st.borrow_mut();
        st.rbuf = Some(text);
        st.rpos = 0;
        st.rstart = start;
        Ok(())
    }

    /// Up to `n` characters (all when `None`).
    fn read_chars(&self, vm: &mut Vm, n: Option<usize>) -> PyResult<String> {
        self.fill(vm)?;
        let mut st = self.st.borrow_mut();
        let pos = st.rpos;
        let Some(buf) = st.rbuf.as_ref() else {
            return Ok(String::new());
        };
        let rest = &buf[pos..];
        let end = match n {
            None => rest.len(),
            Some(n) => rest
                .char_indices()
                .nth(n)
                .map(|(i, _)| i)
                .unwrap_or(rest.len()),
        };
        let out = rest[..end].to_string();
        st.rpos += end;
        Ok(out)
    }

    fn read_line(&self, vm: &mut Vm, limit: Option<usize>) -> PyResult<String> {
        self.fill(vm)?;
        let mut st = self.st.borrow_mut();
        let pos = st.rpos;
        let Some(buf) = st.rbuf.as_ref() else {
            return Ok(String::new());
        };
        let rest = &buf[pos..];
        let mut end = match self.newline.as_deref() {
            None => rest.find('\n').map(|i| i + 1),
            Some("") => rest.find(['\n', '\r']).map(|i| {
                if rest[i..].starts_with("\r\n") {
                    i + 2
                } else {
                    i + 1
                }
            }),
            Some(nl) => rest.find(nl).map(|i| i + nl.len()),
        }
        .unwrap_or(rest.len());
        if let Some(n) = limit
            && let Some((i, _)) = rest.char_indices().nth(n)
        {
            end = end.min(i);
        }
        let out = rest[..end].to_string();
        st.rpos += end;
        Ok(out)
    }

    /// Drops the read-ahead buffer, moving the OS position back to where
    /// the program is.
    fn drop_readahead(&self, vm: &mut Vm) -> PyResult<()> {
        let mut st = self.st.borrow_mut();
        if st.rbuf.take().is_none() {
            return Ok(());
        }
        let target = st.rstart + st.rpos as u64;
        let r = match st.file.as_mut() {
            Some(f) => f.seek(SeekFrom::Start(target)).map(|_| ()),
            None => Ok(()),
        };
        drop(st);
        r.map_err(|e| os_error(vm, &e, None))
    }

    fn tell(&self, vm: &mut Vm) -> PyResult<u64> {
        let st = self.st.borrow();
        if st.rbuf.is_some() {
            return Ok(st.rstart + st.rpos as u64);
        }
        let pending = st.wbuf.len() as u64;
        drop(st);
        let mut st = self.st.borrow_mut();
        let r = match st.file.as_mut() {
            Some(f) => f.stream_position(),
            None => Ok(0),
        };
        drop(st);
        r.map(|p| p + pending).map_err(|e| os_error(vm, &e, None))
    }
}

fn opt_size(vm: &mut Vm, v: Option<&Value>) -> PyResult<Option<usize>> {
    match v {
        None | Some(Value::None) => Ok(None),
        Some(v) => {
            let i = crate::builtins_types::index_value(vm, v)?;
            let n = int_arg(vm, &i)?;
            Ok(if n < 0 { None } else { Some(n as usize) })
        }
    }
}

fn f_read(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let f = this(vm, args, "read")?;
    no_kwargs(vm, "read", kw)?;
    check_positional(vm, "read", &args[1..], 0, 1)?;
    f.check_readable(vm)?;
    let n = opt_size(vm, args.get(1))?;
    Ok(Value::str(f.read_chars(vm, n)?))
}

fn f_readline(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let f = this(vm, args, "readline")?;
    no_kwargs(vm, "readline", kw)?;
    check_positional(vm, "readline", &args[1..], 0, 1)?;
    f.check_readable(vm)?;
    let n = opt_size(vm, args.get(1))?;
    Ok(Value::str(f.read_line(vm, n)?))
}

fn f_readlines(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let f = this(vm, args, "readlines")?;
    no_kwargs(vm, "readlines", kw)?;
    check_positional(vm, "readlines", &args[1..], 0, 1)?;
    f.check_readable(vm)?;
    let hint = opt_size(vm, args.get(1))?.filter(|h| *h > 0);
    let mut out = Vec::new();
    let mut total = 0;
    loop {
        let line = f.read_line(vm, None)?;
        if line.is_empty() {
            break;
        }
        total += line.chars().count();
        out.push(Value::str(line));
        if let Some(h) = hint
            && total >= h
        {
            break;
        }
    }
    Ok(Value::list(out))
}

fn write_text(vm: &mut Vm, f: &TextFile, s: &str) -> PyResult<()> {
    f.drop_readahead(vm)?;
    let big = {
        let mut st = f.st.borrow_mut();
        match f.newline.as_deref() {
            Some(nl) if !nl.is_empty() && nl != "\n" => st.wbuf.push_str(&s.replace('\n', nl)),
            _ => st.wbuf.push_str(s),
        }
        st.wbuf.len() >= 8192
    };
    if big {
        f.flush_writes(vm)?;
    }
    Ok(())
}

fn f_write(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let f = this(vm, args, "write")?;
    no_kwargs(vm, "write", kw)?;
    check_positional(vm, "write", &args[1..], 1, 1)?;
    f.check_writable(vm)?;
    let Value::Str(s) = &args[1] else {
        return Err(vm.type_error(&format!(
            "write() argument must be str, not {}",
            vm.type_name(&args[1])
        )));
    };
    write_text(vm, f, s.as_str())?;
    Ok(Value::Int(s.char_len() as i64))
}

fn f_writelines(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let f = this(vm, args, "writelines")?;
    no_kwargs(vm, "writelines", kw)?;
    check_positional(vm, "writelines", &args[1..], 1, 1)?;
    f.check_writable(vm)?;
    let it = vm.get_iter(&args[1])?;
    while let Some(line) = vm.next(&it)? {
        let Value::Str(s) = &line else {
            return Err(vm.type_error(&format!(
                "write() argument must be str, not {}",
                vm.type_name(&line)
            )));
        };
        write_text(vm, f, s.as_str())?;
    }
    Ok(Value::None)
}

fn f_close(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let f = this(vm, args, "close")?;
    if f.st.borrow().closed {
        return Ok(Value::None);
    }
    let r = f.flush_writes(vm);
    let mut st = f.st.borrow_mut();
    st.closed = true;
    st.file = None;
    st.rbuf = None;
    drop(st);
    r?;
    Ok(Value::None)
}

fn f_flush(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let f = this(vm, args, "flush")?;
    f.check_open(vm)?;
    f.flush_writes(vm)?;
    Ok(Value::None)
}

fn f_enter(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let f = this(vm, args, "__enter__")?;
    f.check_open(vm)?;
    Ok(args[0].clone())
}

fn f_exit(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    f_close(vm, &args[..1], kw)?;
    Ok(Value::None)
}

fn f_iter(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let f = this(vm, args, "__iter__")?;
    f.check_open(vm)?;
    Ok(args[0].clone())
}

fn f_next(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let f = this(vm, args, "__next__")?;
    f.check_readable(vm)?;
    let line = f.read_line(vm, None)?;
    if line.is_empty() {
        return Err(vm.new_stop_iteration(Value::None));
    }
    Ok(Value::str(line))
}

fn f_tell(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let f = this(vm, args, "tell")?;
    f.check_open(vm)?;
    Ok(Value::Int(f.tell(vm)? as i64))
}

fn f_seek(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let f = this(vm, args, "seek")?;
    no_kwargs(vm, "seek", kw)?;
    check_positional(vm, "seek", &args[1..], 1, 2)?;
    f.check_open(vm)?;
    let off = int_arg(vm, &args[1])?;
    let whence = match args.get(2) {
        None => 0,
        Some(v) => int_arg(vm, v)?,
    };
    let target = match whence {
        0 => {
            if off < 0 {
                return Err(vm.value_error(&format!("Negative seek position {off}")));
            }
            SeekFrom::Start(off as u64)
        }
        1 | 2 => {
            if off != 0 {
                let what = if whence == 1 { "cur" } else { "end" };
                return Err(unsupported(
                    vm,
                    &format!("can't do nonzero {what}-relative seeks"),
                ));
            }
            if whence == 1 {
                SeekFrom::Start(f.tell(vm)?)
            } else {
                SeekFrom::End(0)
            }
        }
        _ => {
            return Err(vm.value_error(&format!("invalid whence ({whence}, should be 0, 1 or 2)")));
        }
    };
    f.flush_writes(vm)?;
    let mut st = f.st.borrow_mut();
    st.rbuf = None;
    st.rpos = 0;
    let r = match st.file.as_mut() {
        Some(file) => file.seek(target),
        None => Ok(0),
    };
    drop(st);
    let pos = r.map_err(|e| os_error(vm, &e, None))?;
    Ok(Value::Int(pos as i64))
}

fn f_readable(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let f = this(vm, args, "readable")?;
    f.check_open(vm)?;
    Ok(Value::Bool(f.readable))
}

fn f_writable(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let f = this(vm, args, "writable")?;
    f.check_open(vm)?;
    Ok(Value::Bool(f.writable))
}

fn f_seekable(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let f = this(vm, args, "seekable")?;
    f.check_open(vm)?;
    Ok(Value::Bool(true))
}

/// `open(file, mode='r', buffering=-1, encoding=None, errors=None,
/// newline=None)` for text files.
pub fn open(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let p = bind_params(
        vm,
        "open",
        args,
        kw,
        &[
            "file",
            "mode",
            "buffering",
            "encoding",
            "errors",
            "newline",
            "closefd",
            "opener",
        ],
    )?;
    let Some(name) = p[0].clone() else {
        return Err(vm.type_error("open() missing required argument 'file' (pos 1)"));
    };
    let mode = match &p[1] {
        None => "r".to_string(),
        Some(Value::Str(s)) => s.as_str().to_string(),
        Some(other) => {
            return Err(vm.type_error(&format!(
                "open() argument 'mode' must be str, not {}",
                vm.type_name(other)
            )));
        }
    };
    let encoding = match &p[3] {
        None | Some(Value::None) => "UTF-8".to_string(),
        Some(Value::Str(s)) => s.as_str().to_string(),
        Some(other) => {
            return Err(vm.type_error(&format!(
                "open() argument 'encoding' must be str or None, not {}",
                vm.type_name(other)
            )));
        }
    };
    let newline = match &p[5] {
        None | Some(Value::None) => None,
        Some(Value::Str(s)) if ["", "\n", "\r", "\r\n"].contains(&s.as_str()) => {
            Some(s.as_str().to_string())
        }
        Some(Value::Str(s)) => {
            let r = vm.repr(&Value::Str(s.clone()))?;
            return Err(vm.value_error(&format!("illegal newline value: {}", &r[1..r.len() - 1])));
        }
        Some(other) => {
            return Err(vm.type_error(&format!(
                "open() argument 'newline' must be str or None, not {}",
                vm.type_name(other)
            )));
        }
    };
    // Mode: one of r/w/a/x, optional '+', optional 't' or 'b', no repeats.
    let mut seen = String::new();
    for c in mode.chars() {
        if !"rwaxbt+".contains(c) || seen.contains(c) {
            return Err(vm.value_error(&format!("invalid mode: '{mode}'")));
        }
        seen.push(c);
    }
    let kinds = ['r', 'w', 'a', 'x']
        .iter()
        .filter(|c| seen.contains(**c))
        .count();
    if seen.contains('b') && seen.contains('t') {
        return Err(vm.value_error("can't have text and binary mode at once"));
    }
    if kinds != 1 {
        return Err(vm.value_error(
            "Must have exactly one of create/read/write/append mode and at most one plus",
        ));
    }
    if seen.contains('b') {
        return Err(vm.value_error("covm does not support binary files yet"));
    }
    let path = match &name {
        Value::Str(s) => s.as_str().to_string(),
        Value::Int(_) | Value::Bool(_) => {
            return Err(vm.value_error("covm does not support opening file descriptors yet"));
        }
        other => {
            return Err(vm.type_error(&format!(
                "expected str, bytes or os.PathLike object, not {}",
                vm.type_name(other)
            )));
        }
    };
    if path.contains('\0') {
        return Err(vm.value_error("embedded null byte"));
    }
    let plus = seen.contains('+');
    let mut oo = OpenOptions::new();
    let (readable, writable) = if seen.contains('r') {
        oo.read(true).write(plus);
        (true, plus)
    } else if seen.contains('w') {
        oo.write(true).create(true).truncate(true).read(plus);
        (plus, true)
    } else if seen.contains('a') {
        oo.append(true).create(true).read(plus);
        (plus, true)
    } else {
        oo.write(true).create_new(true).read(plus);
        (plus, true)
    };
    let file = match oo.open(&path) {
        Ok(f) => f,
        Err(e) => return Err(os_error(vm, &e, Some(&name))),
    };
    if let Ok(md) = file.metadata()
        && md.is_dir()
    {
        return Err(os_error_code(vm, 21, "Is a directory", Some(&name)));
    }
    let mut file = file;
    if seen.contains('a') {
        let _ = file.seek(SeekFrom::End(0));
    }
    let shown_mode = mode.replace('t', "");
    let obj = TextFile {
        class: file_class(vm),
        name,
        mode: shown_mode,
        encoding,
        readable,
        writable,
        newline,
        st: RefCell::new(FileState {
            file: Some(file),
            closed: false,
            rbuf: None,
            rpos: 0,
            rstart: 0,
            wbuf: String::new(),
        }),
    };
    Ok(Value::native(obj))
}

/// The `io` module: `open`, `TextIOWrapper`, `UnsupportedOperation`.
pub fn io_module(vm: &mut Vm) -> PyResult<Value> {
    let m = vm.new_module("io");
    {
        let mut g = m.globals.borrow_mut();
        g.insert(Rc::from("open"), vm.native("open", open));
        g.insert(Rc::from("TextIOWrapper"), Value::Class(file_class(vm)));
        g.insert(
            Rc::from("UnsupportedOperation"),
            Value::Class(unsupported_operation_class(vm)),
        );
        g.insert(Rc::from("SEEK_SET"), Value::Int(0));
        g.insert(Rc::from("SEEK_CUR"), Value::Int(1));
        g.insert(Rc::from("SEEK_END"), Value::Int(2));
    }
    Ok(Value::Module(m))
}

pub fn install(vm: &mut Vm) {
    vm.native_modules.entry("io").or_insert(io_module);
    let cls = vm.new_native_class("TextIOWrapper", "_io");
    let methods: &[(&str, NativeFn)] = &[
        ("read", f_read),
        ("readline", f_readline),
        ("readlines", f_readlines),
        ("write", f_write),
        ("writelines", f_writelines),
        ("close", f_close),
        ("flush", f_flush),
        ("__enter__", f_enter),
        ("__exit__", f_exit),
        ("__iter__", f_iter),
        ("__next__", f_next),
        ("tell", f_tell),
        ("seek", f_seek),
        ("readable", f_readable),
        ("writable", f_writable),
        ("seekable", f_seekable),
    ];
    for (name, f) in methods {
        vm.add_method(&cls, name, *f);
    }
    vm.extensions.insert(FILE_CLASS, Rc::new(cls));
    let unsupported = Class::native(
        "UnsupportedOperation",
        "io",
        &vm.exc.os_error,
        BuiltinType::BaseException,
    );
    vm.extensions.insert(UNSUPPORTED, Rc::new(unsupported));
}
