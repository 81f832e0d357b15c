//! The `os` module and its `os.path` submodule (POSIX semantics).

use std::rc::Rc;

use covm_vm::Vm;
use covm_vm::value::*;

use crate::args::*;
use crate::modules::{func, set};

/// A path argument as text.
fn path_arg(vm: &Vm, fname: &str, v: &Value) -> PyResult<String> {
    match v {
        Value::Str(s) => Ok(s.as_str().to_string()),
        Value::Bytes(b) => Ok(String::from_utf8_lossy(b).into_owned()),
        other => Err(vm.type_error(&format!(
            "{fname}: path should be string, bytes or os.PathLike, not {}",
            vm.type_name(other)
        ))),
    }
}

fn io_err(vm: &Vm, e: &std::io::Error, name: &str) -> Value {
    os_error(vm, e, Some(Value::str(name)), None)
}

fn arg<'a>(
    vm: &Vm,
    fname: &str,
    args: &'a [Value],
    kw: &'a KwArgs,
    i: usize,
    key: &str,
) -> PyResult<Option<&'a Value>> {
    if let Some(v) = args.get(i) {
        return Ok(Some(v));
    }
    let _ = vm;
    let _ = fname;
    Ok(kw.iter().find(|(k, _)| k.as_ref() == key).map(|(_, v)| v))
}

fn required<'a>(
    vm: &Vm,
    fname: &str,
    args: &'a [Value],
    kw: &'a KwArgs,
    i: usize,
    key: &str,
) -> PyResult<&'a Value> {
    match arg(vm, fname, args, kw, i, key)? {
        Some(v) => Ok(v),
        None => Err(vm.type_error(&format!(
            "{fname}() missing required argument '{key}' (pos {})",
            i + 1
        ))),
    }
}

fn os_remove(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let p = path_arg(vm, "remove", required(vm, "remove", args, kw, 0, "path")?)?;
    match std::fs::metadata(&p) {
        Ok(m) if m.is_dir() => {
            let e = std::io::Error::from_raw_os_error(21);
            return Err(io_err(vm, &e, &p));
        }
        _ => {}
    }
    std::fs::remove_file(&p).map_err(|e| io_err(vm, &e, &p))?;
    Ok(Value::None)
}

fn os_unlink(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    os_remove(vm, args, kw)
}

fn os_getcwd(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    no_kwargs(vm, "getcwd", kw)?;
    check_count(vm, "getcwd", args, 0, 0)?;
    let d = std::env::current_dir().map_err(|e| os_error(vm, &e, None, None))?;
    Ok(Value::str(d.to_string_lossy().as_ref()))
}

fn os_chdir(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let p = path_arg(vm, "chdir", required(vm, "chdir", args, kw, 0, "path")?)?;
    std::env::set_current_dir(&p).map_err(|e| io_err(vm, &e, &p))?;
    Ok(Value::None)
}

fn os_listdir(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let p = match arg(vm, "listdir", args, kw, 0, "path")? {
        None | Some(Value::None) => ".".to_string(),
        Some(v) => path_arg(vm, "listdir", v)?,
    };
    let rd = std::fs::read_dir(&p).map_err(|e| io_err(vm, &e, &p))?;
    let mut out = Vec::new();
    for ent in rd {
        let ent = ent.map_err(|e| io_err(vm, &e, &p))?;
        out.push(Value::str(ent.file_name().to_string_lossy().as_ref()));
    }
    Ok(Value::list(out))
}

fn os_mkdir(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let p = path_arg(vm, "mkdir", required(vm, "mkdir", args, kw, 0, "path")?)?;
    std::fs::create_dir(&p).map_err(|e| io_err(vm, &e, &p))?;
    Ok(Value::None)
}

fn os_makedirs(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let p = path_arg(
        vm,
        "makedirs",
        required(vm, "makedirs", args, kw, 0, "name")?,
    )?;
    let exist_ok = match arg(vm, "makedirs", args, kw, 2, "exist_ok")? {
        Some(v) => {
            let v = v.clone();
            vm.truthy(&v)?
        }
        None => false,
    };
    if std::path::Path::new(&p).exists() {
        if exist_ok && std::path::Path::new(&p).is_dir() {
            return Ok(Value::None);
        }
        let e = std::io::Error::from_raw_os_error(17);
        return Err(io_err(vm, &e, &p));
    }
    std::fs::create_dir_all(&p).map_err(|e| io_err(vm, &e, &p))?;
    Ok(Value::None)
}

fn os_rmdir(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let p = path_arg(vm, "rmdir", required(vm, "rmdir", args, kw, 0, "path")?)?;
    std::fs::remove_dir(&p).map_err(|e| io_err(vm, &e, &p))?;
    Ok(Value::None)
}

fn os_rename(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let a = path_arg(vm, "rename", required(vm, "rename", args, kw, 0, "src")?)?;
    let b = path_arg(vm, "rename", required(vm, "rename", args, kw, 1, "dst")?)?;
    std::fs::rename(&a, &b).map_err(|e| {
        os_error(
            vm,
            &e,
            Some(Value::str(a.as_str())),
            Some(Value::str(b.as_str())),
        )
    })?;
    Ok(Value::None)
}

fn os_getenv(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let key = required(vm, "getenv", args, kw, 0, "key")?;
    let default = arg(vm, "getenv", args, kw, 1, "default")?
        .cloned()
        .unwrap_or(Value::None);
    let Value::Str(k) = key else {
        let msg = format!("str expected, not {}", vm.type_name(key));
        return Err(vm.type_error(&msg));
    };
    Ok(match std::env::var(k.as_str()) {
        Ok(v) => Value::str(v),
        Err(_) => default,
    })
}

fn os_getpid(_vm: &mut Vm, _args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    Ok(Value::Int(std::process::id() as i64))
}

fn os_cpu_count(_vm: &mut Vm, _args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    Ok(match std::thread::available_parallelism() {
        Ok(n) => Value::Int(n.get() as i64),
        Err(_) => Value::None,
    })
}

fn os_fspath(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    check_count(vm, "fspath", args, 1, 1)?;
    match &args[0] {
        Value::Str(_) | Value::Bytes(_) => Ok(args[0].clone()),
        other => {
            let msg = format!(
                "expected str, bytes or os.PathLike object, not {}",
                vm.type_name(other)
            );
            Err(vm.type_error(&msg))
        }
    }
}

// ---- os.path ---------------------------------------------------------------

fn join_paths(parts: &[String]) -> String {
    let mut path = parts.first().cloned().unwrap_or_default();
    for b in &parts[1..] {
        if b.starts_with('/') {
            path = b.clone();
        } else if path.is_empty() || path.ends_with('/') {
            path.push_str(b);
        } else {
            path.push('/');
            path.push_str(b);
        }
    }
    path
}

fn split_path(p: &str) -> (String, String) {
    let i = p.rfind('/').map(|i| i + 1).unwrap_or(0);
    let (head, tail) = (&p[..i], &p[i..]);
    let head = if !head.is_empty() && head.chars().any(|c| c != '/') {
        head.trim_end_matches('/')
    } else {
        head
    };
    (head.to_string(), tail.to_string())
}

fn splitext(p: &str) -> (String, String) {
    let sep = p.rfind('/').map(|i| i as i64).unwrap_or(-1);
    let Some(dot) = p.rfind('.') else {
        return (p.to_string(), String::new());
    };
    if dot as i64 > sep {
        let start = (sep + 1) as usize;
        let bytes = p.as_bytes();
        for &b in &bytes[start..dot] {
            if b != b'.' {
                return (p[..dot].to_string(), p[dot..].to_string());
            }
        }
    }
    (p.to_string(), String::new())
}

fn normpath(p: &str) -> String {
    if p.is_empty() {
        return ".".into();
    }
    let initial = if p.starts_with("//") && !p.starts_with("///") {
        2
    } else if p.starts_with('/') {
        1
    } else {
        0
    };
    let mut comps: Vec<&str> = Vec::new();
    for c in p.split('/') {
        if c.is_empty() || c == "." {
            continue;
        }
        if c != ".." || (initial == 0 && comps.is_empty()) || comps.last() == Some(&"..") {
            comps.push(c);
        } else if !comps.is_empty() {
            comps.pop();
        }
    }
    let mut out = "/".repeat(initial);
    out.push_str(&comps.join("/"));
    if out.is_empty() { ".".into() } else { out }
}

fn abspath(p: &str) -> String {
    if p.starts_with('/') {
        return normpath(p);
    }
    let cwd = std::env::current_dir()
        .map(|d| d.to_string_lossy().into_owned())
        .unwrap_or_else(|_| "/".into());
    normpath(&join_paths(&[cwd, p.to_string()]))
}

fn one_path(vm: &Vm, fname: &str, args: &[Value], kw: &KwArgs) -> PyResult<String> {
    no_kwargs(vm, fname, kw)?;
    if args.len() != 1 {
        return Err(vm.type_error(&format!(
            "{fname}() takes 1 positional argument but {} were given",
            args.len()
        )));
    }
    match &args[0] {
        Value::Str(s) => Ok(s.as_str().to_string()),
        other => Err(vm.type_error(&format!(
            "expected str, bytes or os.PathLike object, not {}",
            vm.type_name(other)
        ))),
    }
}

/// A predicate on the file system that is False for bad paths.
fn fs_pred(
    vm: &mut Vm,
    fname: &str,
    args: &[Value],
    kw: &KwArgs,
    f: fn(&std::path::Path) -> bool,
) -> PyResult<Value> {
    no_kwargs(vm, fname, kw)?;
    check_count(vm, fname, args, 1, 1)?;
    match &args[0] {
        Value::Str(s) => Ok(Value::Bool(f(std::path::Path::new(s.as_str())))),
        Value::Int(_) | Value::Bool(_) => Ok(Value::Bool(false)),
        other => Err(vm.type_error(&format!(
            "stat: path should be string, bytes, os.PathLike or integer, not {}",
            vm.type_name(other)
        ))),
    }
}

fn p_exists(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    fs_pred(vm, "exists", args, kw, |p| p.exists())
}
fn p_isfile(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    fs_pred(vm, "isfile", args, kw, |p| p.is_file())
}
fn p_isdir(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    fs_pred(vm, "isdir", args, kw, |p| p.is_dir())
}
fn p_islink(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    fs_pred(vm, "islink", args, kw, |p| p.is_symlink())
}

fn p_getsize(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let p = one_path(vm, "getsize", args, kw)?;
    let m = std::fs::metadata(&p).map_err(|e| io_err(vm, &e, &p))?;
    Ok(Value::Int(m.len() as i64))
}

fn p_join(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    no_kwargs(vm, "join", kw)?;
    if args.is_empty() {
        return Err(vm.type_error("join() missing 1 required positional argument: 'a'"));
    }
    let mut parts = Vec::with_capacity(args.len());
    for a in args {
        match a {
            Value::Str(s) => parts.push(s.as_str().to_string()),
            other => {
                return Err(vm.type_error(&format!(
                    "join() argument must be str, bytes, or os.PathLike object, not '{}'",
                    vm.type_name(other)
                )));
            }
        }
    }
    Ok(Value::str(join_paths(&parts)))
}

fn p_split(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let p = one_path(vm, "split", args, kw)?;
    let (h, t) = split_path(&p);
    Ok(Value::tuple(vec![Value::str(h), Value::str(t)]))
}

fn p_basename(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let p = one_path(vm, "basename", args, kw)?;
    Ok(Value::str(split_path(&p).1))
}

fn p_dirname(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let p = one_path(vm, "dirname", args, kw)?;
    Ok(Value::str(split_path(&p).0))
}

fn p_splitext(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let p = one_path(vm, "splitext", args, kw)?;
    let (a, b) = splitext(&p);
    Ok(Value::tuple(vec![Value::str(a), Value::str(b)]))
}

fn p_abspath(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let p = one_path(vm, "abspath", args, kw)?;
    Ok(Value::str(abspath(&p)))
}

fn p_realpath(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let p = one_path(vm, "realpath", args, kw)?;
    match std::fs::canonicalize(&p) {
        Ok(c) => Ok(Value::str(c.to_string_lossy().as_ref())),
        Err(_) => Ok(Value::str(abspath(&p))),
    }
}

fn p_normpath(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let p = one_path(vm, "normpath", args, kw)?;
    Ok(Value::str(normpath(&p)))
}

fn p_isabs(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let p = one_path(vm, "isabs", args, kw)?;
    Ok(Value::Bool(p.starts_with('/')))
}

fn p_expanduser(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let p = one_path(vm, "expanduser", args, kw)?;
    if (p == "~" || p.starts_with("~/"))
        && let Ok(home) = std::env::var("HOME")
    {
        let home = home.trim_end_matches('/');
        let home = if home.is_empty() { "/" } else { home };
        return Ok(Value::str(format!("{home}{}", &p[1..])));
    }
    Ok(Value::str(p))
}

fn path_module(vm: &mut Vm) -> Rc<Module> {
    let m = vm.new_module("posixpath");
    let fns: &[(&str, NativeFn)] = &[
        ("exists", p_exists),
        ("isfile", p_isfile),
        ("isdir", p_isdir),
        ("islink", p_islink),
        ("getsize", p_getsize),
        ("join", p_join),
        ("split", p_split),
        ("basename", p_basename),
        ("dirname", p_dirname),
        ("splitext", p_splitext),
        ("abspath", p_abspath),
        ("realpath", p_realpath),
        ("normpath", p_normpath),
        ("isabs", p_isabs),
        ("expanduser", p_expanduser),
    ];
    for (name, f) in fns {
        func(vm, &m, name, *f);
    }
    set(&m, "sep", Value::str("/"));
    set(&m, "curdir", Value::str("."));
    set(&m, "pardir", Value::str(".."));
    m
}

pub fn init(vm: &mut Vm) -> PyResult<Value> {
    let m = vm.new_module("os");
    let fns: &[(&str, NativeFn)] = &[
        ("remove", os_remove),
        ("unlink", os_unlink),
        ("getcwd", os_getcwd),
        ("chdir", os_chdir),
        ("listdir", os_listdir),
        ("mkdir", os_mkdir),
        ("makedirs", os_makedirs),
        ("rmdir", os_rmdir),
        ("rename", os_rename),
        ("replace", os_rename),
        ("getenv", os_getenv),
        ("getpid", os_getpid),
        ("cpu_count", os_cpu_count),
        ("fspath", os_fspath),
    ];
    for (name, f) in fns {
        func(vm, &m, name, *f);
    }
    let path = path_module(vm);
    vm.module_set("os.path", Value::Module(path.clone()));
    set(&m, "path", Value::Module(path));
    set(&m, "sep", Value::str("/"));
    set(&m, "linesep", Value::str("\n"));
    set(&m, "name", Value::str("posix"));
    set(&m, "curdir", Value::str("."));
    set(&m, "pardir", Value::str(".."));
    set(&m, "devnull", Value::str("/dev/null"));
    let env = Rc::new(std::cell::RefCell::new(covm_vm::dict::Dict::new()));
    for (k, v) in std::env::vars_os() {
        let k = Value::str(k.to_string_lossy().as_ref());
        let v = Value::str(v.to_string_lossy().as_ref());
        covm_vm::dict::set(vm, &env, k, v)?;
    }
    set(&m, "environ", Value::Dict(env));
    Ok(Value::Module(m))
}

// ---- OSError's errno/strerror/filename --------------------------------------

fn os_error_init(_vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    if let Some(Value::Instance(i)) = args.first() {
        let rest = &args[1..];
        let mut d = i.dict.borrow_mut();
        let none = || Value::None;
        let (errno, strerror, filename, filename2, kept) = if (2..=5).contains(&rest.len()) {
            (
                rest[0].clone(),
                rest[1].clone(),
                rest.get(2).cloned().unwrap_or_else(none),
                rest.get(4).cloned().unwrap_or_else(none),
                if rest.len() > 2 {
                    rest[..2].to_vec()
                } else {
                    rest.to_vec()
                },
            )
        } else {
            (none(), none(), none(), none(), rest.to_vec())
        };
        d.insert(Rc::from("args"), Value::tuple(kept));
        d.insert(Rc::from("errno"), errno);
        d.insert(Rc::from("strerror"), strerror);
        d.insert(Rc::from("filename"), filename);
        d.insert(Rc::from("filename2"), filename2);
    }
    Ok(Value::None)
}

fn os_error_str(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let Some(e @ Value::Instance(i)) = args.first() else {
        return Ok(Value::str(""));
    };
    let get = |k: &str| i.dict.borrow().get(k).cloned().unwrap_or(Value::None);
    let (errno, strerror, f1, f2) = (
        get("errno"),
        get("strerror"),
        get("filename"),
        get("filename2"),
    );
    if !f1.is_none() {
        let mut s = format!(
            "[Errno {}] {}: {}",
            vm.to_str(&errno)?,
            vm.to_str(&strerror)?,
            vm.repr(&f1)?
        );
        if !f2.is_none() {
            s.push_str(&format!(" -> {}", vm.repr(&f2)?));
        }
        return Ok(Value::str(s));
    }
    if !errno.is_none() || !strerror.is_none() {
        return Ok(Value::str(format!(
            "[Errno {}] {}",
            vm.to_str(&errno)?,
            vm.to_str(&strerror)?
        )));
    }
    Ok(Value::str(vm.exc_str(e)?))
}

pub(crate) fn install_exception_methods(vm: &mut Vm) {
    let cls = vm.exc.os_error.clone();
    vm.add_method(&cls, "__init__", os_error_init);
    vm.add_method(&cls, "__str__", os_error_str);
}
