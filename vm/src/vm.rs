//! The VM: built-in types, the exception hierarchy, modules, and the entry
//! points an embedder uses (`Vm::new`, `run_source`, `call`).

use rustc_hash::FxHashMap as HashMap;
use std::cell::{Cell, RefCell};
use std::io::Write;
use std::rc::Rc;

use crate::frame::FrameBox;
use crate::value::*;

/// The built-in types, so `type(x)` and `isinstance` can name them.
pub struct Types {
    pub object: Rc<Class>,
    pub type_: Rc<Class>,
    pub none: Rc<Class>,
    pub not_implemented: Rc<Class>,
    pub ellipsis: Rc<Class>,
    pub bool_: Rc<Class>,
    pub int: Rc<Class>,
    pub float: Rc<Class>,
    pub str_: Rc<Class>,
    pub bytes: Rc<Class>,
    pub list: Rc<Class>,
    pub tuple: Rc<Class>,
    pub dict: Rc<Class>,
    pub set: Rc<Class>,
    pub frozenset: Rc<Class>,
    pub range: Rc<Class>,
    pub slice: Rc<Class>,
    pub function: Rc<Class>,
    pub builtin_function: Rc<Class>,
    pub method: Rc<Class>,
    pub generator: Rc<Class>,
    pub coroutine: Rc<Class>,
    pub async_generator: Rc<Class>,
    pub module: Rc<Class>,
    pub property: Rc<Class>,
    pub staticmethod: Rc<Class>,
    pub classmethod: Rc<Class>,
    pub super_: Rc<Class>,
    pub cell: Rc<Class>,
    pub code: Rc<Class>,
    /// Iterator classes by name (`list_iterator`, `range_iterator`, …).
    pub iterators: HashMap<&'static str, Rc<Class>>,
    /// dict views: dict_keys, dict_values, dict_items.
    pub dict_keys: Rc<Class>,
    pub dict_values: Rc<Class>,
    pub dict_items: Rc<Class>,
    pub async_gen_asend: Rc<Class>,
    pub coroutine_wrapper: Rc<Class>,
    pub frame: Rc<Class>,
    pub async_gen_athrow: Rc<Class>,
    pub traceback: Rc<Class>,
}

/// The exception classes the VM raises itself.
pub struct ExcTypes {
    pub base_exception: Rc<Class>,
    pub exception: Rc<Class>,
    pub type_error: Rc<Class>,
    pub value_error: Rc<Class>,
    pub name_error: Rc<Class>,
    pub unbound_local_error: Rc<Class>,
    pub attribute_error: Rc<Class>,
    pub key_error: Rc<Class>,
    pub index_error: Rc<Class>,
    pub zero_division_error: Rc<Class>,
    pub overflow_error: Rc<Class>,
    pub stop_iteration: Rc<Class>,
    pub stop_async_iteration: Rc<Class>,
    pub generator_exit: Rc<Class>,
    pub runtime_error: Rc<Class>,
    pub recursion_error: Rc<Class>,
    pub not_implemented_error: Rc<Class>,
    pub assertion_error: Rc<Class>,
    pub import_error: Rc<Class>,
    pub module_not_found_error: Rc<Class>,
    pub os_error: Rc<Class>,
    pub file_not_found_error: Rc<Class>,
    pub keyboard_interrupt: Rc<Class>,
    pub system_exit: Rc<Class>,
    pub memory_error: Rc<Class>,
    pub lookup_error: Rc<Class>,
    pub arithmetic_error: Rc<Class>,
    pub unicode_error: Rc<Class>,
}

/// Built-in modules: a name and a function that builds the module.
pub type ModuleInit = fn(&mut Vm) -> PyResult<Value>;

pub struct Vm {
    pub frames: Vec<crate::frame::Activation>,
    pub types: Types,
    pub exc: ExcTypes,
    /// All exception classes by name, for the builtins namespace.
    pub exc_by_name: Vec<(&'static str, Rc<Class>)>,
    pub builtins: Rc<Module>,
    /// `sys.modules`: the same dict the `sys` module exposes.
    pub modules: Rc<RefCell<crate::dict::Dict>>,
    /// `sys.path` and the embedded source modules (see `import.rs`).
    pub import_state: ImportState,
    pub native_modules: HashMap<&'static str, ModuleInit>,
    /// Built-in modules found only when no file of that name is on
    /// `sys.path` (CPython's `test` package: a program's own `test.py`
    /// comes first, as the script's folder does in CPython).
    pub fallback_modules: HashMap<&'static str, ModuleInit>,
    pub recursion_limit: usize,
    /// What `sys.setrecursionlimit` was given when that is more than the
    /// depth covm enforces (`recursion_limit` is capped: frames live on the
    /// heap and a runaway recursion must not take all memory).
    pub recursion_limit_asked: Option<usize>,
    /// `sys.set_int_max_str_digits`: the most decimal digits an int<->str
    /// conversion may have (0: no limit).
    pub int_max_str_digits: usize,
    /// Nested dispatch loops (natives calling back into covm code).
    pub native_depth: usize,
    /// Built-in functions running on behalf of covm code; CPython counts
    /// them toward the recursion limit, and so does covm.
    pub c_depth: usize,
    pub out: Box<dyn Write>,
    pub argv: Vec<String>,
    pub next_gen_id: Cell<u64>,
    /// Objects stdlib modules keep on the VM (the event loop, …).
    pub extensions: HashMap<&'static str, Rc<dyn std::any::Any>>,
    /// Interned attribute names used by the VM itself.
    pub names: Names,
    /// Generator frames whose generator was dropped while suspended inside
    /// a `try`/`with`: their `finally` blocks still have to run.
    pub pending_finalizers: Rc<RefCell<Vec<FrameBox>>>,
    /// Set by `Reraise` and bare `raise`: the exception keeps its
    /// traceback and context.
    pub reraising: bool,
    /// Set by `throw()`: the thrown exception gets no `__context__`, as in
    /// CPython.
    pub throwing: bool,
    /// Set when stdout's reader went away (`covm f.co | head -1`).
    pub broken_pipe: bool,
    /// Address of a local in the outermost dispatch loop: the Rust stack
    /// in use is measured from here.
    pub stack_base: usize,
    /// How much Rust stack nested dispatch loops (natives calling back into
    /// covm code) may use before they raise RecursionError instead of
    /// overflowing. Default 6 MiB, safe on an 8 MiB main thread; the `covm`
    /// binary runs the VM on a larger thread and raises it.
    pub max_native_stack: usize,
    /// Set from another thread (a Ctrl-C handler) to interrupt the running
    /// program with KeyboardInterrupt at the next loop iteration or call.
    pub interrupt: std::sync::Arc<std::sync::atomic::AtomicBool>,
    /// Fuel, deadline, host stop and memory cap (limits.rs).
    pub limits: crate::limits::Limits,
    /// Argument buffer reused by calls to built-in methods.
    pub arg_buf: Vec<Value>,
    /// `__iter__` of the class last iterated (`attr_cache.rs`).
    pub(crate) iter_cache: crate::type_cache::IterCache,
    /// Class lookups by class and name, VM-wide (`attr_cache.rs`).
    pub(crate) type_cache: crate::type_cache::TypeCache,
    /// Exception classes constructed without the call machinery
    /// (`exceptions.rs`).
    pub(crate) plain_exc_cache: PlainExcCache,
    /// Finished frames kept for reuse, so a call does not allocate.
    pub frame_pool: Vec<FrameBox>,
    /// `covm --trace`: print coroutine events to stderr.
    pub tracing: bool,
    /// When set (the REPL does), every generator and coroutine created is
    /// listed, for `:gens` (`Vm::live_generators`).
    pub live_generators: bool,
    /// Real or virtual time, for `time` and the scheduler.
    pub clock: crate::clock::Clock,
    /// An exception to raise in the top frame when `run` starts.
    pub pending_raise: Option<Value>,
    /// Containers whose repr is in progress, to print `[...]` for cycles.
    pub repr_guard: Vec<usize>,
}

/// Which classes `Vm::is_plain_exception` said yes or no to, each entry
/// `(class address, class epoch, answer)`. An entry is valid only in the
/// epoch it was made in: changing any class dict or creating a class bumps
/// the epoch, so neither a changed MRO dict nor a new class reusing a
/// freed one's address can be answered from a stale entry.
#[derive(Default)]
pub(crate) struct PlainExcCache(pub(crate) Cell<[(usize, u64, bool); PLAIN_EXC_SLOTS]>);

pub(crate) const PLAIN_EXC_SLOTS: usize = 4;

/// What the importer keeps on the VM.
pub struct ImportState {
    /// `sys.path` as the program sees it (the `sys` module holds the same
    /// list); entry 0 is the script's folder, `""` for the current one.
    pub path: Value,
    /// Stdlib modules written in covm source, by dotted name.
    pub sources: std::collections::HashMap<&'static str, &'static str>,
    /// Modules whose body is running: `from m import x` failing on them
    /// names the circular import, as CPython does.
    pub initializing: std::collections::HashSet<Rc<str>>,
}

impl ImportState {
    pub fn new() -> ImportState {
        ImportState {
            path: Value::list(vec![Value::str("")]),
            sources: std::collections::HashMap::new(),
            initializing: std::collections::HashSet::new(),
        }
    }
}

impl Default for ImportState {
    fn default() -> Self {
        ImportState::new()
    }
}

pub struct Names {
    pub init: Rc<str>,
    pub dunder_class: Rc<str>,
}

fn new_class(name: &str, base: Option<&Rc<Class>>, builtin: Option<BuiltinType>) -> Rc<Class> {
    let (bases, mro) = Class::single_base(base);
    Rc::new(Class {
        name: Rc::from(name),
        qualname: Rc::from(name),
        base: base.cloned(),
        bases,
        mro,
        subclasses: RefCell::new(Vec::new()),
        dict: ClassDict::new(Namespace::default()),
        builtin,
        native_new: Cell::new(None),
        module: Rc::from("builtins"),
        plain_init: Cell::new((0, std::ptr::null())),
    })
}

impl Types {
    fn new() -> Types {
        use BuiltinType as B;
        let object = new_class("object", None, Some(B::Object));
        let o = Some(&object);
        let int = new_class("int", o, Some(B::Int));
        let mut iterators = HashMap::default();
        for name in [
            "list_iterator",
            "tuple_iterator",
            "str_ascii_iterator",
            "str_iterator",
            "range_iterator",
            "dict_keyiterator",
            "dict_valueiterator",
            "dict_itemiterator",
            "set_iterator",
            "enumerate",
            "zip",
            "map",
            "filter",
            "list_reverseiterator",
            "reversed",
            "callable_iterator",
            "iterator",
        ] {
            iterators.insert(name, new_class(name, o, Some(B::Iterator)));
        }
        Types {
            type_: new_class("type", o, Some(B::Type)),
            none: new_class("NoneType", o, Some(B::NoneType)),
            not_implemented: new_class("NotImplementedType", o, Some(B::NotImplementedType)),
            ellipsis: new_class("ellipsis", o, Some(B::Ellipsis)),
            bool_: new_class("bool", Some(&int), Some(B::Bool)),
            float: new_class("float", o, Some(B::Float)),
            str_: new_class("str", o, Some(B::Str)),
            bytes: new_class("bytes", o, Some(B::Bytes)),
            list: new_class("list", o, Some(B::List)),
            tuple: new_class("tuple", o, Some(B::Tuple)),
            dict: new_class("dict", o, Some(B::Dict)),
            set: new_class("set", o, Some(B::Set)),
            frozenset: new_class("frozenset", o, Some(B::FrozenSet)),
            range: new_class("range", o, Some(B::Range)),
            slice: new_class("slice", o, Some(B::Slice)),
            function: new_class("function", o, Some(B::Function)),
            builtin_function: new_class("builtin_function_or_method", o, Some(B::BuiltinFunction)),
            method: new_class("method", o, Some(B::Method)),
            generator: new_class("generator", o, Some(B::Generator)),
            coroutine: new_class("coroutine", o, Some(B::Coroutine)),
            async_generator: new_class("async_generator", o, Some(B::AsyncGenerator)),
            module: new_class("module", o, Some(B::Module)),
            property: new_class("property", o, Some(B::Property)),
            staticmethod: new_class("staticmethod", o, Some(B::StaticMethod)),
            classmethod: new_class("classmethod", o, Some(B::ClassMethod)),
            super_: new_class("super", o, Some(B::Super)),
            cell: new_class("cell", o, Some(B::Cell)),
            code: new_class("code", o, Some(B::Code)),
            dict_keys: new_class("dict_keys", o, Some(B::Iterator)),
            dict_values: new_class("dict_values", o, Some(B::Iterator)),
            dict_items: new_class("dict_items", o, Some(B::Iterator)),
            async_gen_asend: new_class("async_generator_asend", o, Some(B::Native)),
            coroutine_wrapper: new_class("coroutine_wrapper", o, Some(B::Native)),
            frame: new_class("frame", o, Some(B::Native)),
            async_gen_athrow: new_class("async_generator_athrow", o, Some(B::Native)),
            traceback: new_class("traceback", o, Some(B::Native)),
            iterators,
            int,
            object,
        }
    }
}

/// CPython's exception hierarchy (the part covm raises or offers).
const EXCEPTIONS: &[(&str, &str)] = &[
    ("BaseException", ""),
    ("SystemExit", "BaseException"),
    ("KeyboardInterrupt", "BaseException"),
    ("GeneratorExit", "BaseException"),
    ("BaseExceptionGroup", "BaseException"),
    ("Exception", "BaseException"),
    ("ExceptionGroup", "Exception"),
    ("StopIteration", "Exception"),
    ("StopAsyncIteration", "Exception"),
    ("ArithmeticError", "Exception"),
    ("FloatingPointError", "ArithmeticError"),
    ("OverflowError", "ArithmeticError"),
    ("ZeroDivisionError", "ArithmeticError"),
    ("AssertionError", "Exception"),
    ("AttributeError", "Exception"),
    ("BufferError", "Exception"),
    ("EOFError", "Exception"),
    ("ImportError", "Exception"),
    ("ModuleNotFoundError", "ImportError"),
    ("LookupError", "Exception"),
    ("IndexError", "LookupError"),
    ("KeyError", "LookupError"),
    ("MemoryError", "Exception"),
    ("NameError", "Exception"),
    ("UnboundLocalError", "NameError"),
    ("OSError", "Exception"),
    ("BlockingIOError", "OSError"),
    ("ChildProcessError", "OSError"),
    ("ConnectionError", "OSError"),
    ("BrokenPipeError", "ConnectionError"),
    ("ConnectionAbortedError", "ConnectionError"),
    ("ConnectionRefusedError", "ConnectionError"),
    ("ConnectionResetError", "ConnectionError"),
    ("FileExistsError", "OSError"),
    ("InterruptedError", "OSError"),
    ("ProcessLookupError", "OSError"),
    ("FileNotFoundError", "OSError"),
    ("IsADirectoryError", "OSError"),
    ("NotADirectoryError", "OSError"),
    ("PermissionError", "OSError"),
    ("TimeoutError", "OSError"),
    ("ReferenceError", "Exception"),
    ("RuntimeError", "Exception"),
    ("NotImplementedError", "RuntimeError"),
    ("RecursionError", "RuntimeError"),
    ("SyntaxError", "Exception"),
    ("IndentationError", "SyntaxError"),
    ("TabError", "IndentationError"),
    ("SystemError", "Exception"),
    ("TypeError", "Exception"),
    ("ValueError", "Exception"),
    ("UnicodeError", "ValueError"),
    ("UnicodeDecodeError", "UnicodeError"),
    ("UnicodeEncodeError", "UnicodeError"),
    ("UnicodeTranslateError", "UnicodeError"),
    ("Warning", "Exception"),
    ("UserWarning", "Warning"),
    ("DeprecationWarning", "Warning"),
    ("RuntimeWarning", "Warning"),
    ("PendingDeprecationWarning", "Warning"),
    ("SyntaxWarning", "Warning"),
    ("FutureWarning", "Warning"),
    ("ImportWarning", "Warning"),
    ("UnicodeWarning", "Warning"),
    ("BytesWarning", "Warning"),
    ("ResourceWarning", "Warning"),
    ("EncodingWarning", "Warning"),
];

impl Vm {
    /// The VM's state with the built-in types and exceptions, before the
    /// layers above add their methods (`Vm::new` in run.rs).
    pub(crate) fn bare() -> Vm {
        let types = Types::new();
        let mut by_name: Vec<(&'static str, Rc<Class>)> = Vec::new();
        for (name, base) in EXCEPTIONS {
            let base_cls = if base.is_empty() {
                types.object.clone()
            } else {
                match by_name.iter().find(|(n, _)| n == base) {
                    Some((_, c)) => c.clone(),
                    None => types.object.clone(),
                }
            };
            let cls = new_class(name, Some(&base_cls), Some(BuiltinType::BaseException));
            by_name.push((name, cls));
        }
        let get = |n: &str| -> Rc<Class> {
            match by_name.iter().find(|(x, _)| *x == n) {
                Some((_, c)) => c.clone(),
                None => unreachable!("exception class {n} missing from the table"),
            }
        };
        let exc = ExcTypes {
            base_exception: get("BaseException"),
            exception: get("Exception"),
            type_error: get("TypeError"),
            value_error: get("ValueError"),
            name_error: get("NameError"),
            unbound_local_error: get("UnboundLocalError"),
            attribute_error: get("AttributeError"),
            key_error: get("KeyError"),
            index_error: get("IndexError"),
            zero_division_error: get("ZeroDivisionError"),
            overflow_error: get("OverflowError"),
            stop_iteration: get("StopIteration"),
            stop_async_iteration: get("StopAsyncIteration"),
            generator_exit: get("GeneratorExit"),
            runtime_error: get("RuntimeError"),
            recursion_error: get("RecursionError"),
            not_implemented_error: get("NotImplementedError"),
            assertion_error: get("AssertionError"),
            import_error: get("ImportError"),
            module_not_found_error: get("ModuleNotFoundError"),
            os_error: get("OSError"),
            file_not_found_error: get("FileNotFoundError"),
            keyboard_interrupt: get("KeyboardInterrupt"),
            system_exit: get("SystemExit"),
            memory_error: get("MemoryError"),
            lookup_error: get("LookupError"),
            arithmetic_error: get("ArithmeticError"),
            unicode_error: get("UnicodeError"),
        };
        let builtins = Rc::new(Module {
            name: Rc::from("builtins"),
            globals: Globals::default(),
        });
        {
            let mut g = builtins.globals.borrow_mut();
            for (name, cls) in &by_name {
                g.insert(Rc::from(*name), Value::Class(cls.clone()));
                if *name == "OSError" {
                    g.insert(Rc::from("IOError"), Value::Class(cls.clone()));
                    g.insert(Rc::from("EnvironmentError"), Value::Class(cls.clone()));
                }
            }
        }
        Vm {
            frames: Vec::new(),
            types,
            exc,
            exc_by_name: by_name,
            builtins,
            modules: Vm::new_modules_dict(),
            import_state: ImportState::new(),
            native_modules: HashMap::default(),
            fallback_modules: HashMap::default(),
            recursion_limit: 1000,
            recursion_limit_asked: None,
            int_max_str_digits: 4300,
            native_depth: 0,
            c_depth: 0,
            out: Box::new(std::io::sink()),
            argv: Vec::new(),
            next_gen_id: Cell::new(1),
            extensions: HashMap::default(),
            names: Names {
                init: Rc::from("__init__"),
                dunder_class: Rc::from("__class__"),
            },
            pending_finalizers: crate::frame::finalizer_queue(),
            reraising: false,
            broken_pipe: false,
            throwing: false,
            pending_raise: None,
            clock: crate::clock::Clock::new(),
            tracing: false,
            frame_pool: Vec::new(),
            arg_buf: Vec::new(),
            iter_cache: None,
            type_cache: Default::default(),
            plain_exc_cache: Default::default(),
            interrupt: std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false)),
            limits: crate::limits::Limits::new(),
            stack_base: 0,
            max_native_stack: 6 << 20,
            live_generators: false,
            repr_guard: Vec::new(),
        }
    }

    /// Sets where `print` and the REPL echo write.
    pub fn set_output(&mut self, out: Box<dyn Write>) {
        self.out = out;
    }

    pub fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }

    /// Registers a native function under `name` in the builtins.
    pub fn add_builtin(&mut self, name: &str, func: NativeFn) {
        let f = self.native(name, func);
        self.builtins.globals.borrow_mut().insert(Rc::from(name), f);
    }

    pub fn native(&self, name: &str, func: NativeFn) -> Value {
        Value::Builtin(Rc::new(Builtin {
            name: Rc::from(name),
            func,
            receiver: None,
            special: Special::None,
        }))
    }

    /// Adds a method implemented in Rust to a class.
    pub fn add_method(&self, cls: &Rc<Class>, name: &str, func: NativeFn) {
        let f = self.native(name, func);
        cls.dict.borrow_mut().insert(Rc::from(name), f);
    }

    pub fn new_module(&self, name: &str) -> Rc<Module> {
        Rc::new(Module {
            name: Rc::from(name),
            globals: Globals::default(),
        })
    }

    /// Creates a class from Rust (for stdlib-defined object types).
    pub fn new_native_class(&self, name: &str, module: &str) -> Rc<Class> {
        let (bases, mro) = Class::single_base(Some(&self.types.object));
        Rc::new(Class {
            name: Rc::from(name),
            qualname: Rc::from(name),
            base: Some(self.types.object.clone()),
            bases,
            mro,
            subclasses: RefCell::new(Vec::new()),
            dict: ClassDict::new(Namespace::default()),
            builtin: Some(BuiltinType::Native),
            native_new: Cell::new(None),
            module: Rc::from(module),
            plain_init: Cell::new((0, std::ptr::null())),
        })
    }

    /// Sets the constructor of a built-in class (`int(x)`, `list(it)`).
    pub fn set_native_new(&self, cls: &Rc<Class>, f: NativeFn) {
        cls.native_new.set(Some(f));
    }

    /// The recursion depth as CPython counts it: frames plus built-in
    /// calls in progress.
    pub fn depth(&self) -> usize {
        self.frames.len() + self.c_depth
    }

    /// Writes text to the program's stdout.
    pub fn write_out(&mut self, s: &str) -> PyResult<()> {
        match self.out.write_all(s.as_bytes()) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                self.broken_pipe = true;
                self.out = Box::new(std::io::sink());
                Err(self.new_exc(&self.exc.os_error.clone(), "[Errno 32] Broken pipe"))
            }
            Err(e) => Err(self.new_exc(&self.exc.os_error.clone(), &e.to_string())),
        }
    }
}

impl Default for Vm {
    fn default() -> Self {
        Vm::new()
    }
}
