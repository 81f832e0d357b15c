//! covm's virtual machine: the compiler from AST to code objects, the
//! object model, and a stackless interpreter whose frames live on the heap
//! so that generators and coroutines suspend by keeping their frame.

pub mod arith;
pub mod asyncgen;
pub mod attr_cache;
pub mod attrs;
pub mod await_errors;
pub mod call;
pub mod class_hooks;
pub mod clock;
pub mod code;
pub mod compiler;
pub mod contextvars;
pub mod coro_wrapper;
pub mod dict;
pub mod dis;
pub mod drop_reports;
pub mod exc_star;
pub mod exceptions;
pub mod format;
pub mod frame;
pub mod frame_object;
pub mod gc;
pub mod gen_names;
pub mod gen_rc;
pub mod generator;
pub mod import;
pub mod interp;
pub mod iter_methods;
pub mod limits;
pub mod mro;
pub mod native_box;
pub mod objects;
pub mod opcode;
pub mod poll;
pub mod rc_slice;
pub mod recursion;
pub mod resume;
pub mod resumer;
pub mod run;
pub mod scheduler;
pub mod sizes;
pub mod strformat;
pub mod trace;
pub mod traceback;
pub mod tracking;
pub mod type_cache;
pub mod upcalls;
pub mod user_new;
pub mod value;
pub mod vm;

pub use covm_parser::ast::{BinOp, CmpOp, UnaryOp};
pub use value::{PyResult, Value};
pub use vm::Vm;
