//! Generator and coroutine events as records: what `--trace` prints and
//! what the timeline (`covm --timeline`) draws. The interpreter reports an
//! event only when `Vm::tracing` is on; the records live in a `Recorder`
//! kept in the VM's extensions.

use std::cell::RefCell;
use std::rc::Rc;

use crate::vm::Vm;

/// What happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A generator, coroutine or async generator object was made.
    Create,
    /// A value went in (`next()`, `send()`, a `for` loop, `await`).
    Send,
    /// An exception went in (`throw()`).
    Throw,
    /// A value came out and the generator paused.
    Yield,
    /// The generator finished with a value.
    Return,
    /// The generator finished with an exception.
    Raise,
    /// `close()`.
    Close,
    /// An `await` expression got its awaitable.
    Await,
    /// The event loop ran one step of a task.
    Step,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Create => "create",
            Kind::Send => "send",
            Kind::Throw => "throw",
            Kind::Yield => "yield",
            Kind::Return => "return",
            Kind::Raise => "raise",
            Kind::Close => "close",
            Kind::Await => "await",
            Kind::Step => "step",
        }
    }
}

/// One event.
#[derive(Clone, Debug)]
pub struct Event {
    /// Seconds since the program started (virtual under `--virtual-time`).
    pub time: f64,
    pub kind: Kind,
    /// The lane: `generator#3 countdown`, `Task-1 (main)` or `<module>`.
    pub label: String,
    /// The value that went in or came out, as a short repr.
    pub value: String,
    /// The source line the generator is at, when known.
    pub line: Option<usize>,
    /// How it happened (`start, by for loop`, ...).
    pub note: String,
}

impl Event {
    /// The `--trace` line (without the `[trace]` prefix).
    pub fn text(&self) -> String {
        let (label, v) = (&self.label, &self.value);
        let body = match self.kind {
            Kind::Create => format!("create {label}"),
            Kind::Send => format!("send {v} -> {label} ({})", self.note),
            Kind::Throw => format!("throw {v} -> {label}"),
            Kind::Yield => format!("yield {v} <- {label} ({})", self.note),
            Kind::Return => format!("return {v} <- {label}"),
            Kind::Raise => format!("raise {v} <- {label}"),
            Kind::Close => format!("close {label}"),
            Kind::Await => format!("await {v} in {label}"),
            Kind::Step => format!("task switch -> {label}: {}", self.note),
        };
        format!("[{:.3}s] {body}", self.time)
    }
}

/// Most events a session keeps; later ones are counted, not stored.
const MAX_EVENTS: usize = 200_000;

#[derive(Default)]
pub struct Recorder {
    pub events: Vec<Event>,
    /// Events not stored because the recorder was full.
    pub dropped: usize,
    /// Print each event on stderr (`--trace`).
    pub print: bool,
    /// Keep the events (`--timeline`, the REPL's `:timeline`).
    pub keep: bool,
}

const EXT_KEY: &str = "covm.trace";

/// The VM's recorder; made on first use (printing, as `--trace` wants).
pub fn recorder(vm: &mut Vm) -> Rc<RefCell<Recorder>> {
    if let Some(r) = vm.extensions.get(EXT_KEY)
        && let Ok(r) = r.clone().downcast::<RefCell<Recorder>>()
    {
        return r;
    }
    let r = Rc::new(RefCell::new(Recorder {
        print: true,
        ..Recorder::default()
    }));
    vm.extensions.insert(EXT_KEY, r.clone());
    r
}

/// Turns tracing on: `print` for `--trace`, `keep` for timelines.
pub fn enable(vm: &mut Vm, print: bool, keep: bool) {
    vm.tracing = true;
    let r = recorder(vm);
    let mut r = r.borrow_mut();
    r.print = print;
    r.keep = keep;
}

/// The events recorded so far.
pub fn events(vm: &mut Vm) -> Vec<Event> {
    recorder(vm).borrow().events.clone()
}

impl Vm {
    /// Records one event (and prints it under `--trace`).
    pub fn trace(
        &mut self,
        kind: Kind,
        label: String,
        value: String,
        line: Option<usize>,
        note: String,
    ) {
        let ev = Event {
            time: self.clock.elapsed(),
            kind,
            label,
            value,
            line,
            note,
        };
        let rec = recorder(self);
        let mut rec = rec.borrow_mut();
        if rec.print {
            self.trace_event(&ev.text());
        }
        if rec.keep {
            if rec.events.len() < MAX_EVENTS {
                rec.events.push(ev);
            } else {
                rec.dropped += 1;
            }
        }
    }
}
