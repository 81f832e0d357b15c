//! The error type of the embedding API.

use covm_vm::Value;
use covm_vm::limits::StopReason;

/// What went wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The source does not compile (or uses what covm does not support).
    Syntax,
    /// The script raised an exception it did not catch; the name of its
    /// class (`ValueError`, `MemoryError`, …).
    Exception(String),
    /// The run was stopped for good: by the host, by the deadline, or by
    /// a step budget where it could not pause.
    Stopped(StopReason),
    /// The run is paused for fuel: `Vm::add_fuel` then `Vm::resume` go on.
    OutOfFuel,
    /// A value could not be converted to the Rust type asked for.
    Conversion,
}

/// An error from covm. `Display` renders CPython's traceback text for a
/// script's exception.
#[derive(Clone)]
pub struct Error {
    kind: ErrorKind,
    text: String,
    exception: Option<Value>,
}

/// `Result` with [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub(crate) fn new(kind: ErrorKind, text: impl Into<String>, exception: Option<Value>) -> Error {
        Error {
            kind,
            text: text.into(),
            exception,
        }
    }

    /// What kind of error this is.
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }

    /// The exception object, when the error is a script's exception.
    pub fn exception(&self) -> Option<&Value> {
        self.exception.as_ref()
    }

    /// True when the script raised an exception of class `name` (exact
    /// class name, e.g. `"MemoryError"`).
    pub fn is_exception(&self, name: &str) -> bool {
        matches!(&self.kind, ErrorKind::Exception(n) if n == name)
    }

    /// The text `Display` shows: a traceback, a syntax error report, or a
    /// one-line message.
    pub fn text(&self) -> &str {
        &self.text
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.text.trim_end())
    }
}

impl std::fmt::Debug for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Error({:?}, {:?})", self.kind, self.text)
    }
}

impl std::error::Error for Error {}
