//! `quit`, `exit` and `help` for the REPL, as CPython's `site` module adds
//! them: callable objects whose repr says how to use them. Written in covm
//! itself and compiled into a module named `_sitebuiltins`.

use std::rc::Rc;

use covm_vm::Vm;
use covm_vm::compiler::Mode;
use covm_vm::value::Value;

use crate::runner;

const SOURCE: &str = r#"
class Quitter:
    def __init__(self, name, eof):
        self.name = name
        self.eof = eof
    def __repr__(self):
        return f"Use {self.name}() or {self.eof} to exit"
    def __call__(self, code=None):
        raise SystemExit(code)

class _Helper:
    def __repr__(self):
        return ("Type help() for interactive help, "
                "or help(object) for help about object.")
    def __call__(self, *args):
        if not args:
            print("covm has no interactive help utility. Try help(object) "
                  "for the documentation of an object, dir(object) for its "
                  "attributes, or :help for the REPL's commands.")
            return
        obj = args[0]
        kind = type(obj).__name__
        name = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None)
        print(f"Help on {kind} {name}:" if name else f"Help on {kind} object:")
        print()
        doc = getattr(obj, "__doc__", None)
        print(f"    {doc}" if doc else "    (no documentation)")
"#;

/// Installs `quit`, `exit` and `help` into the builtins. A failure leaves
/// the plain builtins in place.
pub fn install(vm: &mut Vm) {
    let Ok(code) = runner::compile(SOURCE, "<_sitebuiltins>", Mode::File) else {
        return;
    };
    let module = vm.new_module("_sitebuiltins");
    module
        .globals
        .borrow_mut()
        .insert(Rc::from("__name__"), Value::str("_sitebuiltins"));
    if vm.run_main(code, &module).is_err() {
        return;
    }
    let make = |vm: &mut Vm, class: &str, args: Vec<Value>| -> Option<Value> {
        let cls = module.globals.borrow().get(class).cloned()?;
        vm.call(&cls, args).ok()
    };
    let eof = "Ctrl-D (i.e. EOF)";
    let objs = [
        (
            "quit",
            make(vm, "Quitter", vec![Value::str("quit"), Value::str(eof)]),
        ),
        (
            "exit",
            make(vm, "Quitter", vec![Value::str("exit"), Value::str(eof)]),
        ),
        ("help", make(vm, "_Helper", vec![])),
    ];
    let mut builtins = vm.builtins.globals.borrow_mut();
    for (name, obj) in objs {
        if let Some(obj) = obj {
            builtins.insert(Rc::from(name), obj);
        }
    }
}
