//! The interactive session: rustyline on a terminal (multi-line blocks,
//! history, completion, highlighting), a plain line reader otherwise, and
//! the learner commands `:help`, `:dis`, `:gens` and `:step`.

use std::borrow::Cow;
use std::cell::RefCell;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::rc::Rc;

use covm_lexer::TokenClass;
use covm_vm::Vm;
use covm_vm::code::{Code, FLAG_COROUTINE};
use covm_vm::compiler::Mode;
use covm_vm::scheduler::session::session_loop;
use covm_vm::value::{Module, Value};
use rustyline::completion::{Completer, Pair};
use rustyline::highlight::{CmdKind, Highlighter};
use rustyline::hint::Hinter;
use rustyline::history::DefaultHistory;
use rustyline::validate::{ValidationContext, ValidationResult, Validator};
use rustyline::{Context, Editor, Helper};

use crate::repl_out::{self, Tail};
use crate::{diagnostics, inspect, interrupt, runner, sitebuiltins};

const FILENAME: &str = "<stdin>";

pub const KEYWORDS: &[&str] = &[
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue",
    "def", "del", "elif", "else", "except", "finally", "for", "from", "global", "if", "import",
    "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise", "return", "try", "while",
    "with", "yield",
];

const COMMANDS: &[&str] = &[":help", ":dis", ":gens", ":step", ":timeline", ":quit"];

const HELP: &str = "\
covm REPL: type Python statements; expressions print their repr.
  A block (def, class, if, for, ...) ends with an empty line.
  Top-level `await` runs on the asyncio loop, as in `python -m asyncio`.
Commands:
  :help              this text
  :dis NAME          disassemble a function, method, class, generator or coroutine
  :dis               disassemble the previous input
  :gens              live generators and coroutines: state, paused line, and
                     the chain of `yield from` / `await` they are suspended in
  :step NAME [EXPR]  resume generator NAME once, sending EXPR (default None),
                     and show the value that went in and the value that came out
  :timeline FILE     draw the session's generators, coroutines and tasks over
                     time into FILE (an HTML page; open it in a browser)
  :quit              leave (also Ctrl-D)
Keys: Tab completes names and attributes (g.se<Tab>), Up/Down recall history,
  Ctrl-C drops the current input, Ctrl-D exits.
";

/// What the loop does after an input.
enum Control {
    Continue,
    Exit(i32),
}

/// A REPL session: one VM and one `__main__` module across all inputs.
pub struct Session {
    vm: Rc<RefCell<Vm>>,
    module: Rc<Module>,
    last_code: Option<Rc<Code>>,
    /// Prompts and input echoed on stdout (a piped session that acts as a
    /// REPL), so a transcript reads like a terminal.
    echo: bool,
    /// What the program left on the current line (shown before the prompt).
    tail: Tail,
}

/// Runs the REPL until Ctrl-D, `:quit` or `exit()`; returns the status.
pub fn run(vm: Vm, module: Option<Rc<Module>>) -> i32 {
    let mut vm = vm;
    let module = module.unwrap_or_else(|| {
        let m = runner::main_module(&mut vm, FILENAME);
        m.globals.borrow_mut().shift_remove("__file__");
        m
    });
    vm.live_generators = true;
    let tty = std::io::stdin().is_terminal();
    sitebuiltins::install(&mut vm);
    let tail = Tail::default();
    if tty {
        let _ = vm.flush();
        vm.set_output(Box::new(repl_out::TailWriter::new(
            std::io::BufWriter::with_capacity(1 << 16, std::io::stdout()),
            tail.clone(),
        )));
    }
    let mut session = Session {
        vm: Rc::new(RefCell::new(vm)),
        module,
        last_code: None,
        echo: !tty,
        tail,
    };
    let code = if tty {
        session.run_terminal()
    } else {
        session.run_piped()
    };
    let mut vm = session.vm.borrow_mut();
    vm.shutdown(&session.module);
    let _ = vm.flush();
    code
}

impl Session {
    fn run_terminal(&mut self) -> i32 {
        let color = std::io::stdout().is_terminal() && !diagnostics::no_color_env();
        let helper = CovmHelper {
            vm: self.vm.clone(),
            module: self.module.clone(),
            color,
        };
        let config = match rustyline::Config::builder().max_history_size(1000) {
            Ok(b) => b,
            Err(_) => rustyline::Config::builder(),
        };
        // Tab completes the common prefix; a second Tab lists the
        // candidates (as CPython's REPL does).
        let config = config
            .auto_add_history(true)
            .completion_type(rustyline::CompletionType::List)
            .build();
        let mut ed: Editor<CovmHelper, DefaultHistory> = match Editor::with_config(config) {
            Ok(e) => e,
            Err(e) => {
                eprintln!("covm: cannot open the terminal ({e}); reading stdin as a script");
                return self.run_piped();
            }
        };
        ed.set_helper(Some(helper));
        let history = history_path();
        if let Some(p) = &history {
            let _ = ed.load_history(p);
        }
        eprintln!(
            "covm {} REPL. :help for commands, Ctrl-D to exit.",
            env!("CARGO_PKG_VERSION")
        );
        let status = loop {
            let _ = self.vm.borrow_mut().flush();
            let prompt = repl_out::prompt(&self.tail, ">>> ");
            match ed.readline(&prompt) {
                Ok(line) => {
                    if let Some(p) = &history {
                        let _ = ed.save_history(p);
                    }
                    if let Control::Exit(code) = self.execute(&line) {
                        break code;
                    }
                }
                Err(rustyline::error::ReadlineError::Interrupted) => {
                    eprintln!("KeyboardInterrupt");
                }
                Err(rustyline::error::ReadlineError::Eof) => {
                    println!();
                    break 0;
                }
                Err(e) => {
                    eprintln!("covm: {e}");
                    break 1;
                }
            }
        };
        if let Some(p) = &history {
            let _ = ed.save_history(p);
        }
        status
    }

    /// Stdin is not a terminal (`covm -i file.co < input`, or
    /// `COVM_FORCE_REPL=1`): read lines ourselves with the same rule for
    /// complete input, and run what is left at end of input. History is
    /// never touched.
    fn run_piped(&mut self) -> i32 {
        use std::io::BufRead;
        let mut stdin = std::io::stdin().lock();
        let mut buf = String::new();
        let mut raw = Vec::new();
        loop {
            let prompt = if buf.is_empty() { ">>> " } else { "... " };
            raw.clear();
            match stdin.read_until(b'\n', &mut raw) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
            let text = String::from_utf8_lossy(&raw);
            let line = text.trim_end_matches(['\n', '\r']).to_string();
            if self.echo {
                let _ = self.vm.borrow_mut().write_out(&format!("{prompt}{line}\n"));
            }
            if !buf.is_empty() {
                buf.push('\n');
            }
            buf.push_str(&line);
            if is_complete(&buf) {
                let input = std::mem::take(&mut buf);
                if let Control::Exit(code) = self.execute(&input) {
                    return code;
                }
            }
        }
        if !buf.trim().is_empty()
            && let Control::Exit(code) = self.execute(&buf)
        {
            return code;
        }
        if self.echo {
            let _ = self.vm.borrow_mut().write_out(">>> \n");
        }
        0
    }

    /// Runs one complete input: a `:command` or covm source.
    fn execute(&mut self, input: &str) -> Control {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Control::Continue;
        }
        if let Some(cmd) = trimmed.strip_prefix(':') {
            return self.command(cmd);
        }
        let code = match runner::compile(input, FILENAME, Mode::Repl) {
            Ok(c) => c,
            Err(report) => {
                let _ = self.vm.borrow_mut().flush();
                eprint!("{report}");
                return Control::Continue;
            }
        };
        self.last_code = Some(code.clone());
        // Tasks catch up on what became due while the user typed.
        if let Control::Exit(c) = self.run_pending() {
            return Control::Exit(c);
        }
        let result = {
            let mut vm = self.vm.borrow_mut();
            interrupt::set_running(true);
            let lp = session_loop(&mut vm);
            let r = if code.flags & FLAG_COROUTINE != 0 {
                let coro = vm.module_coroutine(code, &self.module);
                lp.run_input(&mut vm, coro)
            } else {
                let module = self.module.clone();
                lp.run_inside(&mut vm, |vm| vm.run_main(code, &module))
            };
            interrupt::set_running(false);
            r
        };
        let _ = self.vm.borrow_mut().flush();
        let ctl = match result {
            Ok(_) => Control::Continue,
            Err(exc) => self.report(&exc),
        };
        if let Control::Exit(c) = ctl {
            return Control::Exit(c);
        }
        // Tasks the input started take their first steps now.
        self.run_pending()
    }

    /// Runs the session loop's ready tasks and due timers, without waiting.
    fn run_pending(&mut self) -> Control {
        let result = {
            let mut vm = self.vm.borrow_mut();
            interrupt::set_running(true);
            let lp = session_loop(&mut vm);
            let r = lp.run_pending(&mut vm);
            interrupt::set_running(false);
            r
        };
        let _ = self.vm.borrow_mut().flush();
        match result {
            Ok(()) => Control::Continue,
            Err(exc) => self.report(&exc),
        }
    }

    /// Prints an uncaught exception; `SystemExit` ends the session.
    fn report(&mut self, exc: &Value) -> Control {
        let mut vm = self.vm.borrow_mut();
        let system_exit = vm.exc.system_exit.clone();
        if vm.is_instance_of(exc, &system_exit) {
            return match runner::report_uncaught(&mut vm, exc) {
                runner::Outcome::Exit(code) => Control::Exit(code),
                runner::Outcome::Ok => Control::Exit(0),
            };
        }
        let _ = vm.flush();
        if vm.is_instance_of(exc, &vm.exc.keyboard_interrupt.clone()) && !self.echo {
            eprintln!();
        }
        let text = diagnostics::render_runtime_error(&mut vm, exc);
        eprint!("{text}");
        Control::Continue
    }

    fn command(&mut self, cmd: &str) -> Control {
        let (name, arg) = match cmd.split_once(char::is_whitespace) {
            Some((n, a)) => (n, a.trim()),
            None => (cmd, ""),
        };
        let text = match name {
            "help" | "h" | "?" => Ok(HELP.to_string()),
            "quit" | "q" | "exit" => return Control::Exit(0),
            "dis" => self.dis(arg),
            "gens" => {
                let mut vm = self.vm.borrow_mut();
                Ok(inspect::gens(&mut vm, &self.module))
            }
            "step" => return self.step(arg),
            "timeline" => self.timeline(arg),
            _ => Err(format!(
                "unknown command ':{name}'; :help lists the commands"
            )),
        };
        self.emit(text);
        Control::Continue
    }

    /// Prints a command's output on stdout, or its error on stderr.
    fn emit(&mut self, text: Result<String, String>) {
        let mut vm = self.vm.borrow_mut();
        match text {
            Ok(t) => {
                let _ = vm.write_out(&t);
                let _ = vm.flush();
            }
            Err(e) => {
                let _ = vm.flush();
                eprintln!("{e}");
            }
        }
    }

    /// `:timeline FILE`: the session's events so far, drawn as a page.
    fn timeline(&mut self, arg: &str) -> Result<String, String> {
        if arg.is_empty() {
            return Err("usage: :timeline FILE (an .html file to write)".into());
        }
        let mut vm = self.vm.borrow_mut();
        let n = runner::write_timeline(&mut vm, arg, "REPL session", None)?;
        Ok(format!("timeline of {n} events written to {arg}\n"))
    }

    fn dis(&mut self, arg: &str) -> Result<String, String> {
        if arg.is_empty() {
            return match &self.last_code {
                Some(c) => Ok(covm_vm::dis::disassemble(c)),
                None => Err("usage: :dis NAME (with no name: the previous input)".into()),
            };
        }
        let vm = self.vm.borrow();
        let v = inspect::resolve(&vm, &self.module, arg)
            .ok_or_else(|| format!("NameError: name '{arg}' is not defined"))?;
        inspect::dis_value(&v).ok_or_else(|| {
            format!(
                ":dis needs a function, method, class, generator or coroutine; '{arg}' is {}",
                inspect::with_article(&vm.type_of(&v).name)
            )
        })
    }

    fn step(&mut self, arg: &str) -> Control {
        let (name, expr) = match arg.split_once(char::is_whitespace) {
            Some((n, e)) => (n, e.trim()),
            None => (arg, ""),
        };
        if name.is_empty() {
            self.emit(Err("usage: :step NAME [EXPR]".into()));
            return Control::Continue;
        }
        let target = {
            let vm = self.vm.borrow();
            inspect::resolve(&vm, &self.module, name)
        };
        let Some(Value::Generator(g)) = target else {
            let msg = match target {
                None => format!("NameError: name '{name}' is not defined"),
                Some(v) => format!(
                    ":step needs a generator or coroutine; '{name}' is {}",
                    inspect::with_article(&self.vm.borrow().type_of(&v).name)
                ),
            };
            self.emit(Err(msg));
            return Control::Continue;
        };
        let value = if expr.is_empty() {
            Value::None
        } else {
            match self.eval(expr) {
                Ok(v) => v,
                Err(c) => return c,
            }
        };
        let outcome = {
            let mut vm = self.vm.borrow_mut();
            interrupt::set_running(true);
            let r = inspect::step(&mut vm, name, &g, value);
            interrupt::set_running(false);
            r
        };
        match outcome {
            Ok(text) => {
                self.emit(Ok(text));
                Control::Continue
            }
            Err(exc) => {
                let ctl = self.report(&exc);
                let line = format!("({name} raised; it is now closed)\n");
                self.emit(Ok(line));
                ctl
            }
        }
    }

    /// Evaluates an expression in the session's globals (for `:step g EXPR`).
    fn eval(&mut self, expr: &str) -> Result<Value, Control> {
        const TMP: &str = "__covm_step_value__";
        let src = format!("{TMP} = ({expr})");
        let code = match runner::compile(&src, FILENAME, Mode::File) {
            Ok(c) => c,
            Err(report) => {
                let _ = self.vm.borrow_mut().flush();
                eprint!("{report}");
                return Err(Control::Continue);
            }
        };
        interrupt::set_running(true);
        let r = self.vm.borrow_mut().run_main(code, &self.module);
        interrupt::set_running(false);
        let v = self.module.globals.borrow_mut().shift_remove(TMP);
        match r {
            Ok(_) => Ok(v.unwrap_or(Value::None)),
            Err(exc) => Err(self.report(&exc)),
        }
    }
}

/// The history file: `$COVM_HISTORY`, else `~/.covm_history`.
fn history_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("COVM_HISTORY").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(|h| PathBuf::from(h).join(".covm_history"))
}

// ---- complete input ------------------------------------------------------

/// Whether `buf` is a complete input: it parses (or fails for a reason more
/// input cannot fix), and a compound statement ends with an empty line.
pub fn is_complete(buf: &str) -> bool {
    if buf.trim().is_empty() || buf.trim_start().starts_with(':') {
        return true;
    }
    let blank_last = buf
        .rfind('\n')
        .is_some_and(|i| buf[i + 1..].trim().is_empty());
    if let Err(e) = covm_parser::parse_module(buf)
        && e.incomplete
    {
        // An empty line ends a block even when it is incomplete (`def f():`
        // then Enter twice reports the missing body), but not inside
        // brackets, a triple-quoted string or after a backslash.
        let open = e.message.contains("never closed")
            || e.message.contains("triple-quoted")
            || e.message.contains("unexpected EOF");
        return blank_last && !open;
    }
    if starts_compound(buf) {
        return blank_last;
    }
    true
}

/// The input's first token opens a block (`def`, `if`, `@decorator`, ...).
fn starts_compound(buf: &str) -> bool {
    let toks = covm_lexer::tokens(buf);
    let Some((class, span)) = toks.iter().find(|(c, _)| *c != TokenClass::Comment) else {
        return false;
    };
    let text = &buf[span.clone()];
    (*class == TokenClass::Keyword
        && matches!(
            text,
            "def" | "class" | "if" | "for" | "while" | "try" | "with" | "async"
        ))
        || text.starts_with('@')
}

// ---- the rustyline helper -------------------------------------------------

struct CovmHelper {
    vm: Rc<RefCell<Vm>>,
    module: Rc<Module>,
    color: bool,
}

impl Helper for CovmHelper {}

impl Validator for CovmHelper {
    fn validate(&self, ctx: &mut ValidationContext) -> rustyline::Result<ValidationResult> {
        Ok(if is_complete(ctx.input()) {
            ValidationResult::Valid(None)
        } else {
            ValidationResult::Incomplete
        })
    }
}

impl Hinter for CovmHelper {
    type Hint = String;
}

impl Completer for CovmHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let Ok(vm) = self.vm.try_borrow() else {
            return Ok((pos, Vec::new()));
        };
        Ok(completions(&vm, &self.module, line, pos))
    }
}

/// Completion candidates for the word that ends at `pos`.
pub fn completions(vm: &Vm, module: &Rc<Module>, line: &str, pos: usize) -> (usize, Vec<Pair>) {
    let pos = pos.min(line.len());
    let before = &line[..pos];
    let word_start = before
        .char_indices()
        .rev()
        .take_while(|(_, c)| c.is_alphanumeric() || *c == '_' || *c == '.')
        .last()
        .map_or(pos, |(i, _)| i);
    let word = &before[word_start..];
    // Tab at the start of a line (nothing but indentation before the
    // cursor) indents.
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    if before[line_start..].chars().all(|c| c == ' ' || c == '\t') {
        let indent = "    ".to_string();
        return (
            pos,
            vec![Pair {
                display: indent.clone(),
                replacement: indent,
            }],
        );
    }
    let pair = |s: String| Pair {
        display: s.clone(),
        replacement: s,
    };
    // `:st<Tab>` and the names after a command.
    if before.trim_start().starts_with(':') && !before.contains(char::is_whitespace) {
        let start = before.find(':').unwrap_or(0);
        let typed = &before[start..];
        let c = COMMANDS
            .iter()
            .filter(|c| c.starts_with(typed))
            .map(|c| pair(c.to_string()))
            .collect();
        return (start, c);
    }
    let mut out: Vec<String> = Vec::new();
    let start;
    if let Some(dot) = word.rfind('.') {
        start = word_start + dot + 1;
        let prefix = &word[dot + 1..];
        if let Some(obj) = inspect::resolve(vm, module, &word[..dot]) {
            for n in vm.dir_names(&obj) {
                let hidden = n.starts_with('_') && !prefix.starts_with('_');
                if n.starts_with(prefix) && !hidden {
                    out.push(n);
                }
            }
        }
    } else {
        start = word_start;
        if word.is_empty() {
            return (pos, Vec::new());
        }
        let hidden = |n: &str| n.starts_with('_') && !word.starts_with('_');
        out.extend(
            KEYWORDS
                .iter()
                .filter(|k| k.starts_with(word))
                .map(|k| k.to_string()),
        );
        for n in module.globals.borrow().keys() {
            if n.starts_with(word) && !hidden(n) {
                out.push(n.to_string());
            }
        }
        for n in vm.builtins.globals.borrow().keys() {
            if n.starts_with(word) && !hidden(n) {
                out.push(n.to_string());
            }
        }
    }
    out.sort();
    out.dedup();
    (start, out.into_iter().map(pair).collect())
}

impl Highlighter for CovmHelper {
    fn highlight<'l>(&self, line: &'l str, _pos: usize) -> Cow<'l, str> {
        if !self.color || line.trim_start().starts_with(':') {
            return Cow::Borrowed(line);
        }
        Cow::Owned(highlight(line))
    }

    fn highlight_char(&self, _line: &str, _pos: usize, kind: CmdKind) -> bool {
        self.color && kind != CmdKind::MoveCursor
    }
}

/// ANSI colours by token class; the text itself is unchanged.
pub fn highlight(src: &str) -> String {
    let mut out = String::with_capacity(src.len() + 32);
    let mut at = 0;
    for (class, span) in covm_lexer::tokens(src) {
        if span.start < at || span.end > src.len() {
            continue;
        }
        out.push_str(&src[at..span.start]);
        let color = match class {
            TokenClass::Keyword => Some("\x1b[1;35m"),
            TokenClass::Number => Some("\x1b[36m"),
            TokenClass::String => Some("\x1b[32m"),
            TokenClass::Comment => Some("\x1b[2;37m"),
            TokenClass::Other => Some("\x1b[31m"),
            TokenClass::Name | TokenClass::Operator => None,
        };
        match color {
            Some(c) => {
                out.push_str(c);
                out.push_str(&src[span.clone()]);
                out.push_str("\x1b[0m");
            }
            None => out.push_str(&src[span.clone()]),
        }
        at = span.end;
    }
    out.push_str(&src[at.min(src.len())..]);
    out
}
