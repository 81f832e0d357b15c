//! The `sys` module.

use std::io::Write;
use std::rc::Rc;

use covm_vm::Vm;
use covm_vm::value::*;

use crate::args::*;
use crate::modules::{downcast, func, native_class, set};

/// `sys.stdout` / `sys.stderr`.
struct StdStream {
    cls: Rc<Class>,
    err: bool,
}

impl NativeObject for StdStream {
    fn class(&self, _vm: &Vm) -> Rc<Class> {
        self.cls.clone()
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
    fn repr(&self, _vm: &mut Vm) -> PyResult<Option<String>> {
        let name = if self.err { "<stderr>" } else { "<stdout>" };
        Ok(Some(format!(
            "<_io.TextIOWrapper name='{name}' mode='w' encoding='utf-8'>"
        )))
    }
    fn get_attr(&self, _vm: &mut Vm, name: &str) -> PyResult<Option<Value>> {
        Ok(match name {
            "name" => Some(Value::str(if self.err { "<stderr>" } else { "<stdout>" })),
            "mode" => Some(Value::str("w")),
            "encoding" => Some(Value::str("utf-8")),
            "closed" => Some(Value::Bool(false)),
            _ => None,
        })
    }
}

fn stream(vm: &Vm, args: &[Value]) -> PyResult<bool> {
    match args.first().and_then(downcast::<StdStream>) {
        Some(s) => Ok(s.err),
        None => Err(vm.type_error("descriptor requires a '_io.TextIOWrapper' object")),
    }
}

/// Writes to the program's stderr, after what is buffered for stdout.
pub(crate) fn write_stderr(vm: &mut Vm, s: &str) {
    let _ = vm.flush();
    let mut e = std::io::stderr();
    let _ = e.write_all(s.as_bytes());
    let _ = e.flush();
}

fn stream_write(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    no_kwargs(vm, "write", kw)?;
    let err = stream(vm, args)?;
    check_count(vm, "write", &args[1..], 1, 1)?;
    let s = match &args[1] {
        Value::Str(s) => s.clone(),
        other => {
            let msg = format!("write() argument must be str, not {}", vm.type_name(other));
            return Err(vm.type_error(&msg));
        }
    };
    if err {
        write_stderr(vm, s.as_str());
    } else {
        vm.write_out(s.as_str())?;
    }
    Ok(Value::Int(s.char_len() as i64))
}

fn stream_writelines(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    no_kwargs(vm, "writelines", kw)?;
    stream(vm, args)?;
    check_count(vm, "writelines", &args[1..], 1, 1)?;
    let items = vm.collect(&args[1])?;
    for it in items {
        stream_write(vm, &[args[0].clone(), it], &[])?;
    }
    Ok(Value::None)
}

fn stream_flush(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let err = stream(vm, args)?;
    if err {
        let _ = std::io::stderr().flush();
    } else if let Err(e) = vm.flush()
        && e.kind() == std::io::ErrorKind::BrokenPipe
    {
        vm.broken_pipe = true;
    }
    Ok(Value::None)
}

fn stream_false(_vm: &mut Vm, _args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    Ok(Value::Bool(false))
}

fn stream_true(_vm: &mut Vm, _args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    Ok(Value::Bool(true))
}

fn stream_fileno(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let err = stream(vm, args)?;
    Ok(Value::Int(if err { 2 } else { 1 }))
}

fn setup_stream(vm: &mut Vm, cls: &Rc<Class>) {
    vm.add_method(cls, "write", stream_write);
    vm.add_method(cls, "writelines", stream_writelines);
    vm.add_method(cls, "flush", stream_flush);
    vm.add_method(cls, "isatty", stream_false);
    vm.add_method(cls, "writable", stream_true);
    vm.add_method(cls, "readable", stream_false);
    vm.add_method(cls, "fileno", stream_fileno);
}

fn sys_exit(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    no_kwargs(vm, "exit", kw)?;
    check_count(vm, "exit", args, 0, 1)?;
    let cls = vm.exc.system_exit.clone();
    let e = vm.new_exc_args(&cls, args.to_vec());
    if let Value::Instance(i) = &e {
        let code = args.first().cloned().unwrap_or(Value::None);
        i.dict.borrow_mut().insert(Rc::from("code"), code);
    }
    Err(e)
}

/// `SystemExit(...)`: `code` is the one argument, None without one, or
/// the args tuple.
fn system_exit_init(_vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    if let Some(Value::Instance(i)) = args.first() {
        let rest = args[1..].to_vec();
        let code = match rest.len() {
            0 => Value::None,
            1 => rest[0].clone(),
            _ => Value::tuple(rest.clone()),
        };
        let mut d = i.dict.borrow_mut();
        d.insert(Rc::from("args"), Value::tuple(rest));
        d.insert(Rc::from("code"), code);
    }
    Ok(Value::None)
}

pub(crate) fn install_exception_methods(vm: &mut Vm) {
    let cls = vm.exc.system_exit.clone();
    vm.add_method(&cls, "__init__", system_exit_init);
}

fn sys_getrecursionlimit(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    no_kwargs(vm, "getrecursionlimit", kw)?;
    check_count(vm, "getrecursionlimit", args, 0, 0)?;
    let n = vm.recursion_limit_asked.unwrap_or(vm.recursion_limit);
    Ok(Value::Int(n as i64))
}

fn sys_setrecursionlimit(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    no_kwargs(vm, "setrecursionlimit", kw)?;
    check_count(vm, "setrecursionlimit", args, 1, 1)?;
    if let Value::Float(_) = &args[0] {
        return Err(vm.type_error("'float' object cannot be interpreted as an integer"));
    }
    let n = match &args[0] {
        Value::BigInt(_) => i64::MAX,
        v => int_arg(vm, v)?,
    };
    if i32::try_from(n).is_err() {
        return Err(vm.overflow_error("Python int too large to convert to C int"));
    }
    if n < 1 {
        return Err(vm.value_error("recursion limit must be greater or equal than 1"));
    }
    let depth = vm.frames.len();
    if (n as usize) <= depth {
        let msg = format!(
            "cannot set the recursion limit to {n} at the recursion depth {depth}: the limit is too low"
        );
        return Err(vm.new_exc(&vm.exc.recursion_error.clone(), &msg));
    }
    // About 300 bytes a frame: a million frames stay well under 1 GiB.
    const MAX_DEPTH: usize = 1_000_000;
    let n = usize::try_from(n).unwrap_or(MAX_DEPTH);
    vm.recursion_limit = n.min(MAX_DEPTH);
    vm.recursion_limit_asked = (n > MAX_DEPTH).then_some(n);
    Ok(Value::None)
}

fn sys_get_int_max_str_digits(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    no_kwargs(vm, "get_int_max_str_digits", kw)?;
    check_count(vm, "get_int_max_str_digits", args, 0, 0)?;
    Ok(Value::Int(vm.int_max_str_digits as i64))
}

fn sys_set_int_max_str_digits(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    let arg = match (args, kw) {
        ([a], []) => a.clone(),
        ([], [(k, a)]) if k.as_ref() == "maxdigits" => a.clone(),
        _ => {
            return Err(
                vm.type_error("set_int_max_str_digits() takes exactly one argument (maxdigits)")
            );
        }
    };
    let n = int_arg(vm, &arg)?;
    if n != 0 && n < 640 {
        return Err(vm.value_error("maxdigits must be 0 or larger than 640"));
    }
    vm.int_max_str_digits = usize::try_from(n).unwrap_or(usize::MAX);
    Ok(Value::None)
}

fn sys_exc_info(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    no_kwargs(vm, "exc_info", kw)?;
    check_count(vm, "exc_info", args, 0, 0)?;
    Ok(match vm.current_handled() {
        Some(e) => {
            let t = Value::Class(vm.type_of(&e));
            Value::tuple(vec![t, e, Value::None])
        }
        None => Value::tuple(vec![Value::None, Value::None, Value::None]),
    })
}

fn sys_exception(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    no_kwargs(vm, "exception", kw)?;
    check_count(vm, "exception", args, 0, 0)?;
    Ok(vm.current_handled().unwrap_or(Value::None))
}

fn sys_getsizeof(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    check_count(vm, "getsizeof", args, 1, 2)?;
    // Sizes of CPython's objects on a 64-bit build, roughly.
    let n = match &args[0] {
        Value::Int(_) => 28,
        Value::Float(_) => 24,
        Value::Bool(_) => 28,
        Value::None => 16,
        Value::Str(s) => 49 + s.s.len() as i64,
        Value::List(l) => 56 + 8 * l.borrow().len() as i64,
        Value::Tuple(t) => 40 + 8 * t.len() as i64,
        _ => 64,
    };
    Ok(Value::Int(n))
}

fn sys_intern(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    check_count(vm, "intern", args, 1, 1)?;
    match &args[0] {
        Value::Str(_) => Ok(args[0].clone()),
        other => {
            let msg = format!("intern() argument must be str, not {}", vm.type_name(other));
            Err(vm.type_error(&msg))
        }
    }
}

pub fn init(vm: &mut Vm) -> PyResult<Value> {
    let m = vm.new_module("sys");
    let argv: Vec<Value> = vm.argv.iter().map(|a| Value::str(a.as_str())).collect();
    set(
        &m,
        "argv",
        Value::list(if argv.is_empty() {
            vec![Value::str("")]
        } else {
            argv
        }),
    );
    let fns: &[(&str, NativeFn)] = &[
        ("exit", sys_exit),
        ("getrecursionlimit", sys_getrecursionlimit),
        ("setrecursionlimit", sys_setrecursionlimit),
        ("get_int_max_str_digits", sys_get_int_max_str_digits),
        ("set_int_max_str_digits", sys_set_int_max_str_digits),
        ("exc_info", sys_exc_info),
        ("exception", sys_exception),
        ("getsizeof", sys_getsizeof),
        ("intern", sys_intern),
    ];
    for (name, f) in fns {
        func(vm, &m, name, *f);
    }
    set(&m, "maxsize", Value::Int(i64::MAX));
    set(&m, "maxunicode", Value::Int(0x10ffff));
    set(
        &m,
        "byteorder",
        Value::str(if cfg!(target_endian = "little") {
            "little"
        } else {
            "big"
        }),
    );
    set(&m, "platform", Value::str(std::env::consts::OS));
    set(&m, "version", Value::str("3.11.7 (covm)"));
    set(&m, "hexversion", Value::Int(0x030b07f0));
    set(
        &m,
        "version_info",
        Value::tuple(vec![
            Value::Int(3),
            Value::Int(11),
            Value::Int(7),
            Value::str("final"),
            Value::Int(0),
        ]),
    );
    set(&m, "executable", Value::str(""));
    set(&m, "path", vm.import_state.path.clone());
    set(&m, "dont_write_bytecode", Value::Bool(true));
    let cls = native_class(
        vm,
        "sys.TextIOWrapper",
        "TextIOWrapper",
        "_io",
        setup_stream,
    );
    let out = Value::Native(
        NativeBox::new(StdStream {
            cls: cls.clone(),
            err: false,
        })
        .into(),
    );
    let err = Value::native(StdStream { cls, err: true });
    set(&m, "stdout", out.clone());
    set(&m, "stderr", err.clone());
    set(&m, "__stdout__", out);
    set(&m, "__stderr__", err);
    vm.module_set("sys", Value::Module(m.clone()));
    vm.extensions.insert(SYS_MODULE, Rc::new(m.clone()));
    set(&m, "modules", Value::Dict(vm.modules.clone()));
    Ok(Value::Module(m))
}

/// Where the `sys` module is kept once imported (for `print`).
const SYS_MODULE: &str = "sys.module";

/// What a program put in `sys.stdout` in place of the real stream (as
/// `contextlib.redirect_stdout` does), if anything: `print` writes there.
pub fn redirected_stdout(vm: &mut Vm) -> Option<Value> {
    let m = vm
        .extensions
        .get(SYS_MODULE)?
        .clone()
        .downcast::<Rc<Module>>()
        .ok()?;
    let out = m.globals.borrow().get("stdout").cloned()?;
    match downcast::<StdStream>(&out) {
        Some(s) if !s.err => None,
        _ => Some(out),
    }
}
