//! The disassembler behind `covm --dis`: every code object, like
//! `python3 -m dis`, with line numbers, jump targets and operand meanings.

use std::fmt::Write;

use crate::code::Code;
use crate::opcode::Op;
use crate::value::Value;

/// Disassembles `code` and every code object nested in its constants.
pub fn disassemble(code: &Code) -> String {
    let mut out = String::new();
    dis_one(code, &mut out);
    for c in &code.consts {
        if let Value::Code(inner) = c {
            out.push('\n');
            out.push_str(&disassemble(inner));
        }
    }
    out
}

fn dis_one(code: &Code, out: &mut String) {
    let _ = writeln!(
        out,
        "Disassembly of <code object {} (line {})>:",
        code.qualname, code.first_line
    );
    let targets: Vec<usize> = code
        .ops
        .iter()
        .filter_map(jump_target)
        .chain(code.handlers.iter().map(|h| h.target as usize))
        .collect();
    let mut last_line = 0;
    for (i, op) in code.ops.iter().enumerate() {
        let line = code.line_of(code.span_at(i).start);
        let line_col = if line != last_line {
            last_line = line;
            format!("{line:>4}")
        } else {
            "    ".to_string()
        };
        let mark = if targets.contains(&i) { ">>" } else { "  " };
        let (name, arg) = describe(code, op);
        let _ = writeln!(out, "{line_col} {mark} {i:>4} {name:<20} {arg}");
    }
    // As `python3 -m dis` shows it: the instructions each handler covers,
    // where it starts, and the stack depth it starts at (the exception
    // pushed on top).
    if !code.handlers.is_empty() {
        let _ = writeln!(out, "ExceptionTable:");
        for h in &code.handlers {
            let depth = (h.level as usize).saturating_sub(code.varnames.len());
            let _ = writeln!(
                out,
                "  {} to {} -> {} [{depth}]",
                h.start,
                h.end - 1,
                h.target
            );
        }
    }
}

fn jump_target(op: &Op) -> Option<usize> {
    op.target().map(|t| t as usize)
}

fn name_of(v: &[std::rc::Rc<str>], i: u32) -> String {
    v.get(i as usize).map(|s| s.to_string()).unwrap_or_default()
}

/// The operands of a superinstruction over two locals: `a, b (x, y; note)`,
/// the names joined by `sep`.
fn local_pair(code: &Code, a: u16, b: u16, sep: &str, note: &str) -> String {
    format!(
        "{a}, {b} ({}{sep}{}; {note})",
        name_of(&code.varnames, a as u32),
        name_of(&code.varnames, b as u32)
    )
}

/// The operands of a superinstruction over a local and a constant:
/// `local, konst (x, 2; note)`, the name and constant joined by `sep`.
fn local_const(code: &Code, local: u16, konst: u16, sep: &str, note: &str) -> String {
    format!(
        "{local}, {konst} ({}{sep}{}; {note})",
        name_of(&code.varnames, local as u32),
        const_of(code, konst as u32)
    )
}

/// The repr of constant `i` (empty when out of range).
fn const_of(code: &Code, i: u32) -> String {
    code.consts
        .get(i as usize)
        .map(const_repr)
        .unwrap_or_default()
}

/// A superinstruction over one local: `i (x; note)`.
fn local_note(code: &Code, i: u32, note: &str) -> String {
    format!("{i} ({}; {note})", name_of(&code.varnames, i))
}

fn const_repr(v: &Value) -> String {
    match v {
        Value::Str(s) => crate::objects::repr_str(s.as_str()),
        Value::Code(c) => format!("<code object {}>", c.qualname),
        Value::Tuple(t) => {
            let parts: Vec<String> = t.iter().map(const_repr).collect();
            if parts.len() == 1 {
                format!("({},)", parts[0])
            } else {
                format!("({})", parts.join(", "))
            }
        }
        other => format!("{other:?}"),
    }
}

fn describe(code: &Code, op: &Op) -> (String, String) {
    let dbg = format!("{op:?}");
    let name = dbg.split(['(', ' ', '{']).next().unwrap_or("").to_string();
    let cells = || -> Vec<std::rc::Rc<str>> {
        code.cellvars
            .iter()
            .chain(code.freevars.iter())
            .cloned()
            .collect()
    };
    let arg = match *op {
        Op::LoadConst(i) => format!("{i} ({})", const_of(code, i)),
        Op::LoadFast(i) | Op::StoreFast(i) | Op::DeleteFast(i) => {
            format!("{i} ({})", name_of(&code.varnames, i))
        }
        Op::YieldFast(i) => local_note(code, i, "yields it and skips the next"),
        Op::LoadGlobalLoadFast { global, local } => format!(
            "{global}, {local} ({}, {}; skips the next)",
            name_of(&code.names, global as u32),
            name_of(&code.varnames, local as u32)
        ),
        Op::JumpTest { local, target } => format!(
            "to {target} ({}; tests it there)",
            name_of(&code.varnames, local as u32)
        ),
        Op::LoadFastJumpIf(i) => local_note(code, i, "tests it and jumps as the next"),
        Op::LoadFastLoadMethod { local, name } => format!(
            "{local}, {name} ({}.{}; skips the next)",
            name_of(&code.varnames, local as u32),
            name_of(&code.names, name as u32)
        ),
        Op::CallLocalMethod { local, name, arg } => {
            let (arg, skips) = if arg == crate::opcode::NO_ARG {
                (String::new(), "two")
            } else {
                (name_of(&code.varnames, arg as u32), "three")
            };
            format!(
                "{local}, {name} ({}.{}({arg}); skips the next {skips})",
                name_of(&code.varnames, local as u32),
                name_of(&code.names, name as u32)
            )
        }
        Op::YieldConst(i) => format!("{i} ({}; yields it and skips the next)", const_of(code, i)),
        Op::LoadDeref(i) | Op::StoreDeref(i) | Op::DeleteDeref(i) | Op::LoadClosure(i) => {
            format!("{i} ({})", name_of(&cells(), i))
        }
        Op::LoadClassDeref(a) => format!("{} ({})", a & 0xffff, name_of(&code.names, a >> 16)),
        Op::LoadName(i)
        | Op::StoreName(i)
        | Op::DeleteName(i)
        | Op::LoadGlobal(i)
        | Op::StoreGlobal(i)
        | Op::DeleteGlobal(i)
        | Op::LoadAttr(i)
        | Op::StoreAttr(i)
        | Op::DeleteAttr(i)
        | Op::LoadMethod(i)
        | Op::ImportName(i)
        | Op::ImportFrom(i) => format!("{i} ({})", name_of(&code.names, i)),
        Op::Binary(b) | Op::Inplace(b) => format!("({})", b.symbol()),
        Op::BinaryStoreFast { op, local } | Op::InplaceStoreFast { op, local } => format!(
            "({}) {} ({}; skips the next)",
            op.symbol(),
            local,
            name_of(&code.varnames, local as u32)
        ),
        Op::Compare(c) => format!("({})", c.symbol()),
        Op::CompareJumpIfFalse(c, t) | Op::CompareJumpIfTrue(c, t) => {
            format!("({}) to {t}", c.symbol())
        }
        Op::CompareFastFast { a, b } => {
            local_pair(code, a, b, ", ", "compares and jumps as two on")
        }
        Op::CompareFastConst { local, konst } => {
            local_const(code, local, konst, ", ", "compares and jumps as two on")
        }
        Op::BinaryFastConst { op, local, konst } => local_const(
            code,
            local,
            konst,
            &format!(" {} ", op.symbol()),
            "skips the next two",
        ),
        Op::BinaryFastFast { op, a, b } => local_pair(
            code,
            a,
            b,
            &format!(" {} ", op.symbol()),
            "skips the next two",
        ),
        Op::LoadFastLoadFast { a, b } => local_pair(code, a, b, ", ", "skips the next"),
        Op::LoadFastLoadConst { local, konst } => {
            local_const(code, local, konst, ", ", "skips the next")
        }
        Op::AddFastConst { local, delta } => format!(
            "{} ({}) {} {}",
            local,
            name_of(&code.varnames, local as u32),
            if delta < 0 { "-=" } else { "+=" },
            delta.unsigned_abs()
        ),
        Op::Unary(u) => format!("({u:?})"),
        Op::UnpackEx(a) => format!("{} before, {} after", a & 0xffff, a >> 16),
        Op::FormatValue(f) => {
            let conv = ["", "!s", "!r", "!a"][(f & 3) as usize];
            let spec = if f & 4 != 0 { " with spec" } else { "" };
            format!("({conv}{spec})").replace("()", "")
        }
        _ => match jump_target(op) {
            Some(t) => format!("to {t}"),
            None => dbg
                .split_once('(')
                .map(|(_, r)| r.trim_end_matches(')').to_string())
                .unwrap_or_default(),
        },
    };
    (name, arg)
}
