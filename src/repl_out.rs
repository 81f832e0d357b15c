//! The REPL's stdout: a buffered writer that remembers the text after the
//! last newline, so that `print("x", end="")` shows `x>>> ` as CPython's
//! REPL does (the line editor redraws the prompt line, so the unfinished
//! line becomes part of the prompt).

use std::cell::RefCell;
use std::io::Write;
use std::rc::Rc;

/// The unfinished last line written so far.
pub type Tail = Rc<RefCell<String>>;

pub struct TailWriter<W: Write> {
    inner: W,
    tail: Tail,
}

impl<W: Write> TailWriter<W> {
    pub fn new(inner: W, tail: Tail) -> Self {
        TailWriter { inner, tail }
    }
}

impl<W: Write> Write for TailWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        let written = String::from_utf8_lossy(&buf[..n]);
        let mut tail = self.tail.borrow_mut();
        match written.rfind('\n') {
            Some(i) => *tail = written[i + 1..].to_string(),
            None => tail.push_str(&written),
        }
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// The prompt, after what the program left on the current line.
pub fn prompt(tail: &Tail, prompt: &str) -> String {
    let t = std::mem::take(&mut *tail.borrow_mut());
    // Control characters would confuse the editor's cursor arithmetic.
    let t: String = t.chars().filter(|c| !c.is_control()).collect();
    format!("{t}{prompt}")
}
