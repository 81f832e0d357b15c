//! What the REPL's learner commands show: names resolved without running
//! code, disassembly, live generators with their delegation chains, and a
//! single resume step.

use std::rc::Rc;

use covm_vm::Vm;
use covm_vm::resume::{Action, Exit};
use covm_vm::value::{GenKind, GenRc, GenState, Generator, Module, Value};

/// Looks up `a.b.c` in the module's globals and the builtins, reading
/// attribute dicts only: it never runs covm code (no properties, no
/// `__getattr__`), so completion and commands have no side effects.
pub fn resolve(vm: &Vm, module: &Rc<Module>, path: &str) -> Option<Value> {
    let mut parts = path.split('.');
    let first = parts.next()?.trim();
    if first.is_empty() {
        return None;
    }
    let mut v = module
        .globals
        .borrow()
        .get(first)
        .cloned()
        .or_else(|| vm.builtins.globals.borrow().get(first).cloned())?;
    for name in parts {
        v = attr(vm, &v, name.trim())?;
    }
    Some(v)
}

fn attr(vm: &Vm, v: &Value, name: &str) -> Option<Value> {
    match v {
        Value::Module(m) => return m.globals.borrow().get(name).cloned(),
        Value::Instance(i) => {
            if let Some(x) = i.dict.borrow().get(name) {
                return Some(x.clone());
            }
        }
        Value::Function(f) => {
            if let Some(x) = f.dict.borrow().get(name) {
                return Some(x.clone());
            }
        }
        _ => {}
    }
    let c = match v {
        Value::Class(c) => c.clone(),
        o => vm.type_of(o),
    };
    vm.class_lookup(&c, name)
}

/// The disassembly of a function-like value, or None for other values.
pub fn dis_value(v: &Value) -> Option<String> {
    match v {
        Value::Function(f) => Some(covm_vm::dis::disassemble(&f.code)),
        Value::Code(c) => Some(covm_vm::dis::disassemble(c)),
        Value::Generator(g) => Some(covm_vm::dis::disassemble(g.code())),
        Value::BoundMethod(m) => dis_value(&m.func),
        Value::StaticMethod(f) | Value::ClassMethod(f) => dis_value(f),
        Value::Property(p) => dis_value(&p.fget),
        Value::Class(c) => {
            let mut out = String::new();
            for (name, member) in c.dict.borrow().iter() {
                if let Some(text) = dis_value(member) {
                    out.push_str(&format!("# {}.{}\n{}\n", c.name, name, text));
                }
            }
            if out.is_empty() { None } else { Some(out) }
        }
        _ => None,
    }
}

/// The source text of line `line` (1-based) of `src`, trimmed.
fn source_line(src: &str, line: usize) -> &str {
    src.lines().nth(line.saturating_sub(1)).unwrap_or("").trim()
}

/// `suspended at line 4: x = yield n`, `created (not started)`, ...
pub fn describe_state(g: &Generator) -> String {
    match g.state.get() {
        GenState::Created => format!(
            "created, not started (its body begins at line {})",
            g.code().first_line
        ),
        GenState::Running => "running".to_string(),
        GenState::Closed => "closed".to_string(),
        GenState::Suspended => g.peek_frame(|frame| match frame {
            Some(f) => {
                let line = f.current_line();
                format!(
                    "suspended at line {line}: {}",
                    source_line(&f.code.source, line)
                )
            }
            None => "suspended".to_string(),
        }),
    }
}

/// The value a suspended generator is delegating to (`yield from x` /
/// `await x`), if any.
fn delegate(g: &Generator) -> Option<Value> {
    if g.state.get() != GenState::Suspended {
        return None;
    }
    g.peek_frame(|f| f?.yield_from_target().cloned())
}

/// Global names bound to this generator, for orientation (`(g)`).
fn names_of(module: &Rc<Module>, g: &GenRc) -> Vec<String> {
    module
        .globals
        .borrow()
        .iter()
        .filter(|(_, v)| matches!(v, Value::Generator(x) if GenRc::ptr_eq(x, g)))
        .map(|(k, _)| k.to_string())
        .collect()
}

/// `:gens`: every live generator, coroutine and async generator that has
/// not finished, each with its state and line, and below it the chain of
/// `yield from` / `await` it is suspended in. A generator that another one
/// delegates to is shown in that chain, not on its own.
pub fn gens(vm: &mut Vm, module: &Rc<Module>) -> String {
    let live: Vec<GenRc> = vm
        .live_generators()
        .into_iter()
        .filter(|g| g.state.get() != GenState::Closed && g.qualname().as_ref() != "<module>")
        .collect();
    if live.is_empty() {
        return "no live generators or coroutines\n".to_string();
    }
    let delegates: Vec<GenRc> = live
        .iter()
        .filter_map(|g| match delegate(g) {
            Some(Value::Generator(d)) => Some(d),
            _ => None,
        })
        .collect();
    let mut out = String::new();
    for g in &live {
        if delegates.iter().any(|d| GenRc::ptr_eq(d, g)) {
            continue;
        }
        let names = names_of(module, g);
        let bound = if names.is_empty() {
            String::new()
        } else {
            format!("  [{}]", names.join(", "))
        };
        out.push_str(&format!(
            "{}{}\n    {}\n",
            Vm::gen_label(g),
            bound,
            describe_state(g)
        ));
        let mut cur = g.clone();
        for depth in 1..=32 {
            let Some(d) = delegate(&cur) else { break };
            let verb = if cur.kind == GenKind::Coroutine {
                "awaits"
            } else {
                "yield from"
            };
            let pad = " ".repeat(4 + 3 * (depth - 1));
            match d {
                Value::Generator(inner) => {
                    out.push_str(&format!(
                        "{pad}└─ {verb} {}\n{pad}   {}\n",
                        Vm::gen_label(&inner),
                        describe_state(&inner)
                    ));
                    cur = inner;
                }
                other => {
                    let what = vm.trace_repr(&other);
                    out.push_str(&format!("{pad}└─ {verb} {what}\n"));
                    break;
                }
            }
        }
    }
    out
}

/// `:step NAME [EXPR]`: resumes once and describes both directions of the
/// handshake. An exception out of the generator is returned as `Err`.
pub fn step(vm: &mut Vm, name: &str, g: &GenRc, value: Value) -> Result<String, Value> {
    let before = g.state.get();
    if before == GenState::Closed {
        return Ok(format!(
            "{name} is closed (finished, failed or closed): next({name}) raises StopIteration\n"
        ));
    }
    if before == GenState::Running {
        return Ok(format!("{name} is running\n"));
    }
    let sent = vm.repr(&value).unwrap_or_else(|_| "<value>".into());
    let how = match (before, value.is_none()) {
        (GenState::Created, true) => format!("None (starts the body, like next({name}))"),
        (_, true) => format!("None (like next({name}))"),
        _ => format!("{sent} (like {name}.send({sent}))"),
    };
    let mut out = format!("sent      {how}\n");
    match vm.resume(g, Action::Send(value)) {
        Ok(Exit::Yield(v)) => {
            let r = vm.repr(&v).unwrap_or_else(|_| "<value>".into());
            out.push_str(&format!("yielded   {r}\n"));
        }
        Ok(Exit::Return(v)) => {
            let r = vm.repr(&v).unwrap_or_else(|_| "<value>".into());
            let stop = if v.is_none() {
                "StopIteration".to_string()
            } else {
                format!("StopIteration({r})")
            };
            out.push_str(&format!(
                "returned  {r} (the body finished: next() raises {stop})\n"
            ));
        }
        Err(exc) => return Err(exc),
    }
    out.push_str(&format!("{name} is now {}\n", describe_state(g)));
    Ok(out)
}

/// `a tuple`, `an int`.
pub fn with_article(noun: &str) -> String {
    let vowel = noun
        .chars()
        .next()
        .is_some_and(|c| "aeiouAEIOU".contains(c));
    format!("{} {noun}", if vowel { "an" } else { "a" })
}
