//! The `covm` command: run a script, a `-c` string, stdin, or open the
//! REPL; `--dis` disassembles.

mod diagnostics;
mod inspect;
mod interrupt;
mod repl;
mod repl_out;
mod runner;
mod sitebuiltins;
mod timeline;

use runner::Options;

// Counts allocations per thread, for `--max-memory`.
#[global_allocator]
static ALLOC: covm_vm::limits::memory::CountingAlloc = covm_vm::limits::memory::CountingAlloc;

use std::io::{IsTerminal, Read};
use std::process::ExitCode;

const USAGE: &str = "usage: covm [option] ... [-c cmd | file | -] [arg] ...
Options:
  -c cmd          program passed in as a string
  -i              run the program, then open the REPL with its globals
  --dis FILE      print the bytecode of every code object in FILE
  --trace         print a timeline of generator and coroutine events to stderr
  --timeline OUT  draw the generators, coroutines and tasks over time into OUT (HTML)
  --max-memory N  cap the memory the program allocates (e.g. 100M): MemoryError past it
  --max-steps N   stop the program (exit 1) after N loop iterations and calls
  --virtual-time  sleeps (time.sleep, asyncio.sleep) advance a virtual clock instantly
  --version       print the version and exit
  -h, --help      print this help and exit
  file            program read from a .co file
  -               program read from stdin (the default when stdin is not a terminal)
  arg ...         arguments passed to the program in sys.argv[1:]
With no program and a terminal on stdin, covm opens the REPL (:help lists its commands).
Environment: COVM_HISTORY (REPL history file, default ~/.covm_history), NO_COLOR.
";

enum Command {
    Run { file: String, args: Vec<String> },
    Code { code: String, args: Vec<String> },
    Stdin { args: Vec<String> },
    Dis { file: String },
    Repl,
}

/// `COVM_FORCE_REPL=1` makes piped stdin a REPL session (prompts and
/// echoed input on stdout), for tests.
fn force_repl() -> bool {
    std::env::var_os("COVM_FORCE_REPL").is_some_and(|v| !v.is_empty() && v != "0")
}

fn parse_args() -> Result<(Command, Options), String> {
    use lexopt::prelude::*;
    let mut parser = lexopt::Parser::from_env();
    let mut opts = Options::default();
    let utf8 = |v: std::ffi::OsString| {
        v.string()
            .map_err(|_| "invalid UTF-8 in argument".to_string())
    };
    loop {
        let Some(arg) = parser.next().map_err(|e| e.to_string())? else {
            let cmd = if opts.interactive || force_repl() || std::io::stdin().is_terminal() {
                opts.interactive = true;
                Command::Repl
            } else {
                Command::Stdin {
                    args: vec!["-".into()],
                }
            };
            return Ok((cmd, opts));
        };
        match arg {
            Short('i') => opts.interactive = true,
            Long("trace") => opts.trace = true,
            Long("virtual-time") => opts.virtual_time = true,
            Long("max-steps") => {
                let v = utf8(parser.value().map_err(|e| e.to_string())?)?;
                let n = v
                    .parse::<u64>()
                    .map_err(|_| format!("--max-steps: not a number of steps: '{v}'"))?;
                opts.max_steps = Some(n);
            }
            Long("max-memory") => {
                let v = utf8(parser.value().map_err(|e| e.to_string())?)?;
                opts.max_memory = Some(parse_size(&v)?);
            }
            Long("timeline") => {
                opts.timeline = Some(utf8(parser.value().map_err(|e| e.to_string())?)?)
            }
            Short('c') => {
                let code = utf8(parser.value().map_err(|e| e.to_string())?)?;
                let mut args = vec!["-c".to_string()];
                args.extend(rest(&mut parser)?);
                return Ok((Command::Code { code, args }, opts));
            }
            Long("dis") => {
                let file = utf8(parser.value().map_err(|e| e.to_string())?)?;
                return Ok((Command::Dis { file }, opts));
            }
            Long("version") | Short('V') => {
                println!("covm {}", env!("CARGO_PKG_VERSION"));
                std::process::exit(0);
            }
            Long("help") | Short('h') => {
                print!("{USAGE}");
                std::process::exit(0);
            }
            Value(v) => {
                let file = utf8(v)?;
                let mut args = vec![file.clone()];
                args.extend(rest(&mut parser)?);
                let cmd = if file == "-" {
                    Command::Stdin { args }
                } else {
                    Command::Run { file, args }
                };
                return Ok((cmd, opts));
            }
            other => return Err(other.unexpected().to_string()),
        }
    }
}

/// `100M`, `64k`, `2G`, `4096`: a size in bytes (binary multiples).
fn parse_size(v: &str) -> Result<usize, String> {
    let err = || format!("--max-memory: not a size: '{v}' (e.g. 100M)");
    let (num, mult) = match v.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => {
            let m: usize = match c.to_ascii_uppercase() {
                'K' => 1 << 10,
                'M' => 1 << 20,
                'G' => 1 << 30,
                _ => return Err(err()),
            };
            (&v[..i], m)
        }
        _ => (v, 1),
    };
    let n: usize = num.parse().map_err(|_| err())?;
    n.checked_mul(mult).ok_or_else(err)
}

fn rest(parser: &mut lexopt::Parser) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for a in parser.raw_args().map_err(|e| e.to_string())? {
        out.push(a.to_string_lossy().into_owned());
    }
    Ok(out)
}

fn run(cmd: Command, opts: Options) -> i32 {
    let (src, filename, args) = match cmd {
        Command::Run { file, args } => match std::fs::read(&file) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(s) => (s, file, args),
                Err(_) => {
                    eprintln!("covm: can't decode '{file}': not valid UTF-8");
                    return 1;
                }
            },
            Err(e) => {
                eprintln!("covm: can't open file '{file}': {e}");
                return 2;
            }
        },
        Command::Code { code, args } => (code, "<string>".to_string(), args),
        // `covm -i -`: the REPL reads stdin itself.
        Command::Stdin { args } if opts.interactive => {
            let vm = runner::new_vm(args, &opts);
            return repl::run(vm, None);
        }
        Command::Stdin { args } => {
            let mut s = String::new();
            if std::io::stdin().read_to_string(&mut s).is_err() {
                eprintln!("covm: stdin is not valid UTF-8");
                return 1;
            }
            (s, "<stdin>".to_string(), args)
        }
        Command::Dis { file } => {
            let src = match std::fs::read_to_string(&file) {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("covm: can't open file '{file}': {e}");
                    return 2;
                }
            };
            return match runner::compile(&src, &file, covm_vm::compiler::Mode::File) {
                Ok(code) => {
                    print!("{}", covm_vm::dis::disassemble(&code));
                    0
                }
                Err(report) => {
                    eprint!("{report}");
                    1
                }
            };
        }
        Command::Repl => {
            let vm = runner::new_vm(vec![String::new()], &opts);
            return repl::run(vm, None);
        }
    };
    let mut vm = runner::new_vm(args, &opts);
    let (outcome, module) = runner::run_program(&mut vm, &src, &filename, opts.interactive);
    if let Some(path) = &opts.timeline
        && let Err(e) = runner::write_timeline(&mut vm, path, &filename, Some(&src))
    {
        let _ = vm.flush();
        eprintln!("{e}");
    }
    if let Some(module) = module {
        // `covm -i file.co`: the REPL continues with the program's globals,
        // also after an uncaught exception (as `python -i` does), but not
        // after a syntax error.
        if let runner::Outcome::Exit(code) = outcome
            && vm.broken_pipe
        {
            return code;
        }
        return repl::run(vm, Some(module));
    }
    let flushed = vm.flush();
    match outcome {
        // A reader that went away (`covm f.co | head -1`) is not an error.
        runner::Outcome::Ok => {
            drop(flushed);
            0
        }
        runner::Outcome::Exit(code) => code,
    }
}

fn main() -> ExitCode {
    let (cmd, opts) = match parse_args() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("covm: {e}");
            eprintln!("{}", USAGE.lines().next().unwrap_or_default());
            eprintln!("Try 'covm --help' for more information.");
            return ExitCode::from(2);
        }
    };
    // The VM never recurses on the Rust stack for covm calls, but natives
    // that call back into covm code do; give them room.
    let worker = std::thread::Builder::new()
        .stack_size(256 << 20)
        .spawn(move || run(cmd, opts));
    let code = match worker {
        Ok(h) => h.join().unwrap_or(70),
        Err(_) => run_fallback(),
    };
    ExitCode::from(code.clamp(0, 255) as u8)
}

fn run_fallback() -> i32 {
    eprintln!("covm: could not start the interpreter thread");
    70
}
