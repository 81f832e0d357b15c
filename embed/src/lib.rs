//! Embedding covm in a Rust program.
//!
//! ```
//! use covm_embed::Vm;
//!
//! let mut vm = Vm::builder().capture_output().build();
//! let counter = std::rc::Rc::new(std::cell::Cell::new(0));
//! let c = counter.clone();
//! vm.register("bump", move |n: i64| { c.set(c.get() + n); c.get() });
//! vm.run("for i in range(3):\n    print(bump(i))\n", "demo.co").unwrap();
//! assert_eq!(vm.take_output(), "0\n1\n3\n");
//! assert_eq!(vm.eval::<i64>("bump(10) * 2").unwrap(), 26);
//! ```
//!
//! The pieces: [`Vm`] (run, eval, globals, calls, limits), [`IntoValue`] and
//! [`FromValue`] (conversions), [`Vm::register`] and [`Vm::register_type`]
//! (Rust closures and types callable from covm), [`Coroutine`] (a covm
//! generator or coroutine stepped from Rust), [`Error`] (with CPython's
//! traceback text). See docs/embedding.md.

#![warn(missing_docs)]

mod convert;
mod coroutine;
mod error;
mod host;
mod vm;

pub use convert::{FromValue, IntoValue};
pub use coroutine::{Coroutine, Step};
pub use covm_vm::Value;
pub use covm_vm::limits::StopHandle;
pub use covm_vm::limits::memory::CountingAlloc;
pub use error::{Error, ErrorKind, Result};
pub use host::{Callback, HostFn, HostMethod, TypeBuilder};
pub use vm::{Builder, IntoArgs, Run, Vm};

/// The VM the interpreter itself uses, for native callbacks that need the
/// full API (`covm_vm::Vm`).
pub use covm_vm::Vm as RawVm;
