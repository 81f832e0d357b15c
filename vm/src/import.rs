//! Importing modules, as CPython's `importlib` does for what covm offers:
//! the stdlib's native modules, stdlib modules written in covm source and
//! embedded in the binary, and the user's own files (`name.co` or
//! `name.py`, packages as folders with `__init__.co`/`__init__.py`, or
//! namespace folders without one) found along `sys.path`.
//!
//! `sys.modules` is `Vm::modules`, a real dict: a module is entered there
//! before its body runs (so a circular import sees it partially
//! initialised) and removed again if the body raises.

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use crate::code::Code;
use crate::compiler::{self, Mode};
use crate::dict::Dict;
use crate::frame::Frame;
use crate::value::*;
use crate::vm::Vm;

pub use crate::vm::ImportState;

/// Where a module's source was found.
enum Found {
    File {
        file: PathBuf,
        package: bool,
    },
    /// A folder without `__init__`: a namespace package.
    Namespace(PathBuf),
}

impl Vm {
    /// A new, empty `sys.modules` dict.
    pub fn new_modules_dict() -> Rc<RefCell<Dict>> {
        Rc::new(RefCell::new(Dict::new()))
    }

    /// `sys.modules[name]`, if present.
    pub fn module_get(&mut self, name: &str) -> Option<Value> {
        let d = self.modules.clone();
        crate::dict::get(self, &d, &Value::str(name)).ok().flatten()
    }

    /// `sys.modules[name] = m`.
    pub fn module_set(&mut self, name: &str, m: Value) {
        let d = self.modules.clone();
        let _ = crate::dict::set(self, &d, Value::str(name), m);
    }

    fn module_remove(&mut self, name: &str) {
        let d = self.modules.clone();
        let _ = crate::dict::remove(self, &d, &Value::str(name));
    }

    /// Registers a stdlib module written in covm source; it is compiled
    /// and run the first time a program imports it.
    pub fn add_source_module(&mut self, name: &'static str, source: &'static str) {
        self.import_state.sources.insert(name, source);
    }

    /// Sets `sys.path[0]`: the folder of the script (absolute), or `""`
    /// for `-c`, stdin and the REPL.
    pub fn set_script_dir(&mut self, script: Option<&str>) {
        let dir = match script {
            Some(f) => {
                let p = Path::new(f);
                let abs = std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
                abs.parent()
                    .map(|d| d.to_string_lossy().into_owned())
                    .unwrap_or_default()
            }
            None => String::new(),
        };
        if let Value::List(l) = &self.import_state.path {
            let mut l = l.borrow_mut();
            if l.is_empty() {
                l.push(Value::str(dir));
            } else {
                l[0] = Value::str(dir);
            }
        }
    }

    /// `import name` / `from name import …` executed in a module whose
    /// globals are `globals`: `name` may be relative (leading dots).
    pub fn import_in(&mut self, name: &str, globals: &Rc<Module>) -> PyResult<Value> {
        if !name.starts_with('.') {
            return self.import(name);
        }
        let level = name.len() - name.trim_start_matches('.').len();
        let rest = &name[level..];
        let package = self.package_of(globals);
        if package.is_empty() {
            return Err(self.import_error(
                "attempted relative import with no known parent package",
                None,
                None,
            ));
        }
        let bits: Vec<&str> = package.rsplitn(level, '.').collect();
        if bits.len() < level {
            return Err(self.import_error(
                "attempted relative import beyond top-level package",
                None,
                None,
            ));
        }
        let base = bits[bits.len() - 1];
        let full = if rest.is_empty() {
            base.to_string()
        } else {
            format!("{base}.{rest}")
        };
        self.import(&full)
    }

    /// The package a module's relative imports start from, as CPython's
    /// `_calc___package__` finds it.
    fn package_of(&mut self, globals: &Rc<Module>) -> String {
        let g = globals.globals.borrow();
        if let Some(Value::Str(p)) = g.get("__package__") {
            return p.as_str().to_string();
        }
        let name = match g.get("__name__") {
            Some(Value::Str(n)) => n.as_str().to_string(),
            _ => return String::new(),
        };
        if g.contains_key("__path__") {
            name
        } else {
            name.rsplit_once('.')
                .map(|(p, _)| p.to_string())
                .unwrap_or_default()
        }
    }

    /// Imports the module with absolute dotted name `name` (its parents
    /// first) and returns it.
    pub fn import(&mut self, name: &str) -> PyResult<Value> {
        if let Some(m) = self.module_get(name) {
            if m.is_none() {
                let msg = format!("import of {name} halted; None in sys.modules");
                return Err(self.module_not_found(name, &msg));
            }
            return Ok(m);
        }
        let (parent, child) = match name.rsplit_once('.') {
            Some((p, c)) => (Some(self.import(p)?), c),
            None => (None, name),
        };
        // Importing the parent may have imported this module too.
        if let Some(m) = self.module_get(name) {
            return Ok(m);
        }
        let m = if let Some(init) = self.native_modules.get(name).copied() {
            let m = init(self)?;
            self.module_set(name, m.clone());
            m
        } else if let Some(src) = self.import_state.sources.get(name).copied() {
            let file = format!("<frozen {name}>");
            self.exec_module(name, src, &file, None, false)?
        } else {
            let dirs = match &parent {
                None => self.sys_path(),
                Some(p) => match self.getattr_opt(p, "__path__")? {
                    Some(path) => self.path_strings(&path),
                    None => {
                        let pname = name.rsplit_once('.').map(|x| x.0).unwrap_or("");
                        let msg = format!("No module named '{name}'; '{pname}' is not a package");
                        return Err(self.module_not_found(name, &msg));
                    }
                },
            };
            match find(&dirs, child) {
                Some(Found::File { file, package }) => self.load_file(name, &file, package)?,
                Some(Found::Namespace(dir)) => {
                    let m = self.new_module(name);
                    {
                        let mut g = m.globals.borrow_mut();
                        g.insert(Rc::from("__name__"), Value::str(name));
                        g.insert(Rc::from("__file__"), Value::None);
                        g.insert(Rc::from("__package__"), Value::str(name));
                        g.insert(
                            Rc::from("__path__"),
                            Value::list(vec![Value::str(dir.to_string_lossy().as_ref())]),
                        );
                        g.insert(Rc::from("__doc__"), Value::None);
                    }
                    let m = Value::Module(m);
                    self.module_set(name, m.clone());
                    m
                }
                None => match self.fallback_modules.get(name).copied() {
                    Some(init) => {
                        let m = init(self)?;
                        self.module_set(name, m.clone());
                        m
                    }
                    None => {
                        let msg = format!("No module named '{name}'");
                        return Err(self.module_not_found(name, &msg));
                    }
                },
            }
        };
        if let Some(p) = &parent {
            self.setattr(p, child, m.clone())?;
        }
        Ok(m)
    }

    /// `from m import name`: the attribute, else the submodule
    /// `m.name`, else CPython's ImportError.
    pub fn import_from(&mut self, m: &Value, name: &str) -> PyResult<Value> {
        if let Some(v) = self.getattr_opt(m, name)? {
            return Ok(v);
        }
        let Value::Module(md) = m else {
            let msg = format!("cannot import name '{name}'");
            return Err(self.import_error(&msg, None, None));
        };
        let mname = md.name.clone();
        let (is_pkg, file) = {
            let g = md.globals.borrow();
            (
                g.contains_key("__path__"),
                match g.get("__file__") {
                    Some(Value::Str(f)) => Some(f.as_str().to_string()),
                    _ => None,
                },
            )
        };
        let full = format!("{mname}.{name}");
        if let Some(v) = self.module_get(&full) {
            return Ok(v);
        }
        // Built-in submodules count too (`from collections import abc`).
        let builtin_sub = self.native_modules.contains_key(full.as_str())
            || self.import_state.sources.contains_key(full.as_str());
        if is_pkg || builtin_sub {
            match self.import(&full) {
                Ok(v) => return Ok(v),
                Err(e) => {
                    let missing = self.is_instance_of(&e, &self.exc.module_not_found_error.clone())
                        && matches!(self.getattr_opt(&e, "name"), Ok(Some(Value::Str(n))) if n.as_str() == full);
                    if !missing {
                        return Err(e);
                    }
                }
            }
        }
        let location = file.clone().unwrap_or_else(|| "unknown location".into());
        let msg = if self.import_state.initializing.contains(&mname) {
            format!(
                "cannot import name '{name}' from partially initialized module '{mname}' (most likely due to a circular import) ({location})"
            )
        } else {
            format!("cannot import name '{name}' from '{mname}' ({location})")
        };
        Err(self.import_error(&msg, Some(&mname), file.as_deref()))
    }

    /// `from m import *` into `globals`: the names in `m.__all__` (each
    /// imported as a submodule if need be), else every public name.
    pub fn import_star(&mut self, m: &Value, globals: &Rc<Module>) -> PyResult<()> {
        let Value::Module(md) = m else {
            return Ok(());
        };
        let all = md.globals.borrow().get("__all__").cloned();
        let items: Vec<(Rc<str>, Value)> = match all {
            Some(all) => {
                let names = self.collect(&all)?;
                let mut out = Vec::with_capacity(names.len());
                for n in names {
                    let Value::Str(s) = &n else {
                        let msg = format!(
                            "Item in {}.__all__ must be str, not {}",
                            md.name,
                            self.type_name(&n)
                        );
                        return Err(self.type_error(&msg));
                    };
                    let v = self.import_from(m, s.as_str())?;
                    out.push((Rc::from(s.as_str()), v));
                }
                out
            }
            None => md
                .globals
                .borrow()
                .iter()
                .filter(|(k, _)| !k.starts_with('_'))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        };
        let mut g = globals.globals.borrow_mut();
        for (k, v) in items {
            g.insert(k, v);
        }
        Ok(())
    }

    /// The directories of `sys.path` (the `sys` module's current list, or
    /// the VM's own before `sys` is imported).
    fn sys_path(&mut self) -> Vec<String> {
        let path = match self.module_get("sys") {
            Some(sys) => self
                .getattr_opt(&sys, "path")
                .ok()
                .flatten()
                .unwrap_or(Value::None),
            None => self.import_state.path.clone(),
        };
        self.path_strings(&path)
    }

    fn path_strings(&mut self, v: &Value) -> Vec<String> {
        let items: Vec<Value> = match v {
            Value::List(l) => l.borrow().clone(),
            Value::Tuple(t) => t.to_vec(),
            _ => Vec::new(),
        };
        items
            .iter()
            .filter_map(|x| x.as_str().map(str::to_string))
            .collect()
    }

    fn load_file(&mut self, name: &str, file: &Path, package: bool) -> PyResult<Value> {
        let src = match std::fs::read_to_string(file) {
            Ok(s) => s,
            Err(e) => {
                let msg = format!("{e}: '{}'", file.display());
                return Err(self.new_exc(&self.exc.os_error.clone(), &msg));
            }
        };
        let fname = file.to_string_lossy().into_owned();
        let dir = file
            .parent()
            .map(|d| d.to_string_lossy().into_owned())
            .unwrap_or_default();
        self.exec_module(name, &src, &fname, Some(dir), package)
    }

    /// Compiles `src` and runs it as module `name`, entered in
    /// `sys.modules` while it runs; returns what `sys.modules` then holds.
    fn exec_module(
        &mut self,
        name: &str,
        src: &str,
        file: &str,
        dir: Option<String>,
        package: bool,
    ) -> PyResult<Value> {
        // Tracebacks name a file under the current folder relatively.
        let shown = std::env::current_dir()
            .ok()
            .and_then(|cwd| {
                Path::new(file)
                    .strip_prefix(cwd)
                    .ok()
                    .map(Path::to_path_buf)
            })
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_else(|| file.to_string());
        let code = self.compile_module(src, &shown)?;
        let m = self.new_module(name);
        {
            let mut g = m.globals.borrow_mut();
            g.insert(Rc::from("__name__"), Value::str(name));
            let doc = code.doc.as_deref().map(Value::str).unwrap_or(Value::None);
            g.insert(Rc::from("__doc__"), doc);
            let pkg = if package {
                name.to_string()
            } else {
                name.rsplit_once('.')
                    .map(|(p, _)| p.to_string())
                    .unwrap_or_default()
            };
            g.insert(Rc::from("__package__"), Value::str(pkg));
            if dir.is_some() {
                g.insert(Rc::from("__file__"), Value::str(file));
            }
            if package && let Some(d) = &dir {
                g.insert(Rc::from("__path__"), Value::list(vec![Value::str(&**d)]));
            }
        }
        let mv = Value::Module(m.clone());
        self.module_set(name, mv.clone());
        let key: Rc<str> = Rc::from(name);
        self.import_state.initializing.insert(key.clone());
        let frame = Frame::new(code, m);
        let r = self.run_frame(frame);
        self.import_state.initializing.remove(&key);
        if let Err(e) = r {
            self.module_remove(name);
            return Err(e);
        }
        Ok(self.module_get(name).unwrap_or(mv))
    }

    /// Parses and compiles a module's source; a syntax error becomes the
    /// `SyntaxError` (or `IndentationError`, `TabError`) CPython raises.
    fn compile_module(&mut self, src: &str, file: &str) -> PyResult<Rc<Code>> {
        let r = covm_parser::parse_module(src)
            .and_then(|ast| compiler::compile(&ast, Rc::from(src), Rc::from(file), Mode::File));
        r.map_err(|e| {
            let cls = self
                .exc_by_name
                .iter()
                .find(|(n, _)| *n == e.kind)
                .map(|(_, c)| c.clone())
                .unwrap_or_else(|| self.exc.exception.clone());
            let exc = self.new_exc(&cls, &e.message);
            if let Value::Instance(i) = &exc {
                let end = e.span.start.min(src.len());
                let line = src.as_bytes()[..end]
                    .iter()
                    .filter(|&&b| b == b'\n')
                    .count()
                    + 1;
                let mut d = i.dict.borrow_mut();
                d.insert(Rc::from("msg"), Value::str(e.message.as_str()));
                d.insert(Rc::from("filename"), Value::str(file));
                d.insert(Rc::from("lineno"), Value::Int(line as i64));
            }
            exc
        })
    }

    pub(crate) fn module_not_found(&self, name: &str, msg: &str) -> Value {
        let e = self.new_exc(&self.exc.module_not_found_error, msg);
        if let Value::Instance(i) = &e {
            let mut d = i.dict.borrow_mut();
            d.insert(Rc::from("name"), Value::str(name));
            d.insert(Rc::from("path"), Value::None);
        }
        e
    }

    fn import_error(&self, msg: &str, name: Option<&str>, path: Option<&str>) -> Value {
        let e = self.new_exc(&self.exc.import_error, msg);
        if let Value::Instance(i) = &e {
            let mut d = i.dict.borrow_mut();
            let opt = |s: Option<&str>| s.map(Value::str).unwrap_or(Value::None);
            d.insert(Rc::from("name"), opt(name));
            d.insert(Rc::from("path"), opt(path));
        }
        e
    }
}

/// Looks for module `name` in `dirs`, in order: in each folder a package
/// (`name/__init__.co`, `name/__init__.py`), then a file (`name.co`,
/// `name.py`); a folder without `__init__` is a namespace package only if
/// no folder further on holds the module.
fn find(dirs: &[String], name: &str) -> Option<Found> {
    let mut namespace = None;
    for d in dirs {
        let base = if d.is_empty() {
            std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."))
        } else {
            let p = PathBuf::from(d);
            std::path::absolute(&p).unwrap_or(p)
        };
        let pkg = base.join(name);
        if pkg.is_dir() {
            for init in ["__init__.co", "__init__.py"] {
                let f = pkg.join(init);
                if f.is_file() {
                    return Some(Found::File {
                        file: f,
                        package: true,
                    });
                }
            }
        }
        for ext in ["co", "py"] {
            let f = base.join(format!("{name}.{ext}"));
            if f.is_file() {
                return Some(Found::File {
                    file: f,
                    package: false,
                });
            }
        }
        if namespace.is_none() && pkg.is_dir() {
            namespace = Some(Found::Namespace(pkg));
        }
    }
    namespace
}
