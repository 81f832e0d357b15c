//! Generators and coroutines as native VM operations.
//!
//! A generator owns its `FrameBox` while suspended. Resuming moves the box
//! onto the VM's frame stack with `ReturnTo::Generator(gen, how)`; `yield`
//! moves it back and hands the value to the resumer as `how` says. A
//! delegating generator (`yield from`, `await`) stays on its `YieldFrom`
//! instruction, so a value its delegate yields passes straight out, and a
//! value sent in arrives at `YieldFrom`, which forwards it down.

use std::rc::Rc;

use crate::code::*;
use crate::frame::{Activation, Frame, FrameBox, Resume, ReturnTo};
use crate::resume::{Action, Exit};
use crate::trace::Kind;
use crate::value::*;
use crate::vm::Vm;

use crate::frame::{HAS_PENDING, PENDING};
pub use crate::frame::{finalizer_queue, finalizers_pending};

impl Drop for Generator {
    fn drop(&mut self) {
        self.dropping();
        crate::gen_names::forget(self);
    }
}

impl Generator {
    /// What a generator's last reference going does: the collector forgets
    /// it, an unawaited coroutine is reported, an async generator goes to
    /// its loop's finalizer hook, and a suspended frame with cleanup to
    /// run is queued for `run_finalizers`.
    fn dropping(&mut self) {
        if self.state.get() == GenState::Created && self.kind == GenKind::Coroutine {
            crate::drop_reports::unawaited(self.qualname());
            return;
        }
        if self.kind == GenKind::AsyncGenerator && (crate::upcalls::get().agen_dropped)(self) {
            return;
        }
        if self.state.get() != GenState::Suspended {
            return;
        }
        let Some(frame) = self.take_frame() else {
            return;
        };
        if !has_cleanup(&frame) {
            return;
        }
        let frame = frame.outliving();
        PENDING.with(|p| {
            if let Ok(mut q) = p.try_borrow_mut() {
                q.push(frame);
                HAS_PENDING.with(|h| h.set(true));
            }
        });
    }
}

/// Whether closing a suspended frame runs code: a `try`/`with` handler, or
/// the `close()` of an iterator it delegates to with `yield from` that is
/// not a generator (a delegate generator is finalised on its own when the
/// frame drops it).
fn has_cleanup(f: &Frame) -> bool {
    f.in_try_or_handler()
        || matches!(
            f.yield_from_target(),
            Some(Value::Instance(_) | Value::Native(_))
        )
}

/// Moves `from[at..]` onto the end of `to`, in order, as
/// `to.extend(from.drain(at..))` would, but as one copy.
fn move_tail<T>(from: &mut Vec<T>, at: usize, to: &mut Vec<T>) {
    let n = from.len() - at;
    to.reserve(n);
    // SAFETY: the n values are copied once into spare capacity of `to`
    // and cut off `from`, so each still has exactly one owner.
    unsafe {
        std::ptr::copy_nonoverlapping(from.as_ptr().add(at), to.as_mut_ptr().add(to.len()), n);
        from.set_len(at);
        to.set_len(to.len() + n);
    }
}

/// For the cycle collector: when `g` is garbage suspended inside
/// `try`/`with`, moves its frame to the finaliser queue (as dropping it
/// would) and closes it, so its cleanup runs exactly once. True if queued.
pub(crate) fn queue_finalizer(g: &Generator) -> bool {
    if g.state.get() != GenState::Suspended {
        return false;
    }
    // A loop's finalizer hook takes a registered async generator over.
    if g.kind == GenKind::AsyncGenerator && (crate::upcalls::get().agen_dropped)(g) {
        g.state.set(GenState::Closed);
        return true;
    }
    if !g.peek_frame(|f| f.is_some_and(has_cleanup)) {
        return false;
    }
    let Some(frame) = g.take_frame() else {
        return false;
    };
    let frame = frame.outliving();
    g.state.set(GenState::Closed);
    PENDING.with(|p| match p.try_borrow_mut() {
        Ok(mut q) => {
            q.push(frame);
            HAS_PENDING.with(|h| h.set(true));
            true
        }
        Err(_) => {
            g.put_frame(frame);
            g.state.set(GenState::Suspended);
            false
        }
    })
}

impl Vm {
    /// A generator for a call of `f`, whose arguments `frame` holds: they
    /// move into the generator's block, and the emptied frame is recycled.
    pub(crate) fn new_generator(&mut self, f: &Function, mut frame: FrameBox) -> Value {
        let code = &f.code;
        let g = Generator::new(
            GenKind::of(code),
            GenState::Created,
            GenFrame::Embed(&mut frame),
            Generator::names_for(code, &f.name.borrow(), &f.qualname.borrow()),
            self.new_gen_id(),
        );
        self.recycle_frame(frame);
        if self.live_generators {
            crate::gen_names::set_live(&g);
        }
        if self.tracing {
            let label = Vm::gen_label(&g);
            self.trace(Kind::Create, label, String::new(), None, String::new());
        }
        Value::Generator(g)
    }

    /// `yield_value` reached a frame that is not a generator's: a
    /// coroutine entered at once by `await f(...)` suspends and needs its
    /// object now, in the slot its caller kept for it (anything else is a
    /// yield outside a generator).
    #[cold]
    #[inline(never)]
    fn suspending_without_object(&mut self, frame: &Frame, ret: ReturnTo) -> PyResult<GenRc> {
        let ReturnTo::Await(names) = ret else {
            return Err(self.new_exc(&self.exc.runtime_error, "yield outside a generator"));
        };
        let g = self.awaited_object(&frame.code, &frame.globals, names);
        if let Some(slot) = self.top_frame().stack.last_mut() {
            *slot = Value::Generator(g.clone());
        }
        Ok(g)
    }

    /// The object of a coroutine entered at once by `await f(...)`
    /// (`ReturnTo::Await`), made when it first suspends: running, its frame
    /// still on the VM's stack, as `new_generator` and a resume would have
    /// left it.
    fn awaited_object(
        &mut self,
        code: &Rc<Code>,
        globals: &Rc<Module>,
        names: Option<Box<(Rc<str>, Rc<str>)>>,
    ) -> GenRc {
        Generator::new(
            GenKind::Coroutine,
            GenState::Running,
            GenFrame::Running(code, globals),
            names,
            self.new_gen_id(),
        )
    }

    /// Runs the `finally` blocks of generators dropped while suspended.
    pub(crate) fn run_finalizers(&mut self) -> PyResult<()> {
        if !HAS_PENDING.with(|h| h.get()) {
            return Ok(());
        }
        crate::drop_reports::flush(self);
        // Frames run in the order their generators were dropped, as CPython
        // runs each finaliser where the last reference goes. The batch is
        // taken out of the queue first: a generator a finaliser's code
        // drops runs at once, in a nested call that sees only it, not the
        // rest of this batch.
        loop {
            let batch = std::mem::take(&mut *self.pending_finalizers.borrow_mut());
            if batch.is_empty() {
                break;
            }
            for mut frame in batch {
                // The kind only words "... ignored GeneratorExit" and the repr.
                let kind = GenKind::of(&frame.code);
                let g = Generator::new(
                    kind,
                    GenState::Suspended,
                    GenFrame::Embed(&mut frame),
                    None,
                    0,
                );
                drop(frame);
                if kind == GenKind::AsyncGenerator {
                    // Closed here, not by its loop: its hooks never run.
                    (crate::upcalls::get().agen_closed_by_vm)(self, &g);
                }
                if let Err(e) = self.gen_close(&g) {
                    self.report_unraisable(&e, &Value::Generator(g.clone()));
                }
                // A generator that ignored GeneratorExit is cleared without
                // running its handlers again (found by tools/difffuzz).
                g.state.set(GenState::Closed);
                let frame = g.take_frame();
                drop(frame);
            }
        }
        HAS_PENDING.with(|h| h.set(false));
        Ok(())
    }

    /// CPython's "Exception ignored in: ..." report on stderr.
    pub fn report_unraisable(&mut self, exc: &Value, obj: &Value) {
        let _ = self.out.flush();
        let what = self.repr(obj).unwrap_or_default();
        let text = self.format_exception(exc);
        eprintln!("Exception ignored in: {what}");
        eprint!("{text}");
    }

    fn gen_already_running(&self, g: &Generator) -> Value {
        let msg = match g.kind {
            GenKind::Coroutine => "coroutine already executing",
            GenKind::AsyncGenerator => "async generator already executing",
            GenKind::Generator => "generator already executing",
        };
        self.new_exc(&self.exc.value_error, msg)
    }

    /// Resumes `g`: pushes its frame with the value sent in (or raises
    /// what resuming it in its state must raise). `Some(exit)` only for
    /// `Resume::Native` when it finished at once.
    pub(crate) fn resume_frame(
        &mut self,
        g: &GenRc,
        sent: Value,
        resume: Resume,
    ) -> PyResult<Option<Exit>> {
        match g.state.get() {
            GenState::Running => Err(self.gen_already_running(g)),
            GenState::Closed => {
                if g.kind == GenKind::Coroutine {
                    return Err(self.new_exc(
                        &self.exc.runtime_error,
                        "cannot reuse already awaited coroutine",
                    ));
                }
                self.generator_returned(Value::None, resume)
            }
            GenState::Created | GenState::Suspended => {
                let started = g.state.get() == GenState::Suspended;
                if !started && !sent.is_none() {
                    let what = match g.kind {
                        GenKind::Coroutine => "coroutine",
                        GenKind::AsyncGenerator => "async generator",
                        GenKind::Generator => "generator",
                    };
                    let msg = format!("can't send non-None value to a just-started {what}");
                    return Err(self.type_error(&msg));
                }
                if self.depth() >= self.recursion_limit {
                    return Err(self.new_exc(
                        &self.exc.recursion_error,
                        "maximum recursion depth exceeded",
                    ));
                }
                let frame = match self.tracing {
                    true => g.take_frame(),
                    false => g.take_frame_keep_chain(),
                };
                let Some(mut frame) = frame else {
                    return Err(self.gen_already_running(g));
                };
                if self.tracing {
                    let how = match resume {
                        Resume::Call => "next()/send()".to_string(),
                        Resume::ForIter(_) => "for loop".to_string(),
                        Resume::YieldFrom => "yield from/await".to_string(),
                        Resume::Native => crate::resumer::resumer_of(self, g, 1),
                        Resume::Close => "close()".to_string(),
                    };
                    let line = frame.current_line();
                    let what = match started {
                        true => format!("resume at line {line}"),
                        false => "start".to_string(),
                    };
                    let (label, v) = (Vm::gen_label(g), self.trace_repr(&sent));
                    let note = format!("{what}, by {how}");
                    self.trace(Kind::Send, label, v, Some(line), note);
                }
                // The value sent in goes to the innermost frame of a chain.
                let sent = match started && !frame.has_chain() {
                    true => {
                        frame.push(sent);
                        None
                    }
                    false => Some(sent),
                };
                g.state.set(GenState::Running);
                self.push_generator_frame(frame, g.clone(), resume);
                if started {
                    if let Some(sent) = sent {
                        self.resume_chain();
                        self.top_frame().push(sent);
                    }
                    if !self.tracing {
                        self.descend_delegation()?;
                    }
                }
                Ok(None)
            }
        }
    }

    /// `YieldFrom` over a generator or coroutine that has not started (the
    /// dispatch loop checked the state): its frame goes on the frame stack,
    /// as `resume_frame` would put it, and the delegator stays on its
    /// `YieldFrom`.
    pub(crate) fn start_delegate(&mut self, g: GenRc) -> PyResult<()> {
        if self.depth() >= self.recursion_limit {
            return Err(self.recursion_error(""));
        }
        let Some(frame) = g.take_frame() else {
            return Err(self.gen_already_running(&g));
        };
        g.state.set(GenState::Running);
        self.push_generator_activation(frame, g, Resume::YieldFrom);
        Ok(())
    }

    /// Resumes a suspended generator with None (a `for` loop, `next()`):
    /// the common case of `resume_frame`, without its state checks.
    #[inline(always)]
    pub(crate) fn resume_suspended(&mut self, g: GenRc, resume: Resume) -> PyResult<()> {
        if self.frames.len() + self.c_depth >= self.recursion_limit {
            return self.resume_frame(&g, Value::None, resume).map(|_| ());
        }
        let Some(mut frame) = g.take_frame_keep_chain() else {
            return Err(self.gen_already_running(&g));
        };
        g.state.set(GenState::Running);
        // The None sent in goes to the innermost frame of a chain.
        let parked = if frame.has_chain() {
            self.push_generator_frame(frame, g, resume);
            self.resume_chain();
            self.top_frame().resume_with_none()
        } else {
            let parked = frame.resume_with_none();
            self.push_generator_frame(frame, g, resume);
            parked
        };
        if parked {
            self.descend_delegation()?;
        }
        Ok(())
    }

    /// `YieldValue` in a generator resumed by a `for` loop or a
    /// `next()`/`send()` call, not tracing: the top frame goes back into
    /// its generator. The caller pushes the value on the resumer's stack.
    #[inline(always)]
    pub(crate) fn suspend_top(&mut self) {
        let Some(Activation { frame, ret }) = self.frames.pop() else {
            unreachable!("yield with no frame")
        };
        let ReturnTo::Generator(g, resume) = ret else {
            unreachable!("suspend_top of a frame that is not a generator's")
        };
        if resume.is_call() {
            self.c_depth -= 1;
        }
        g.state.set(GenState::Suspended);
        crate::tracking::track_suspended(&g);
        g.put_frame(frame);
    }

    /// Throws `exc` into `g` from the dispatch loop. On success the frame
    /// is pushed and `Err(exc)` asks the loop to raise it there.
    pub(crate) fn throw_in_loop(
        &mut self,
        g: &GenRc,
        exc: Value,
        resume: Resume,
    ) -> PyResult<Option<Exit>> {
        match g.state.get() {
            GenState::Running => Err(self.gen_already_running(g)),
            GenState::Closed if g.kind == GenKind::Coroutine => Err(self.new_exc(
                &self.exc.runtime_error,
                "cannot reuse already awaited coroutine",
            )),
            GenState::Closed => Err(exc),
            GenState::Created | GenState::Suspended => {
                if self.tracing {
                    let (label, v) = (Vm::gen_label(g), self.trace_repr(&exc));
                    self.trace(Kind::Throw, label, v, None, String::new());
                }
                let Some(frame) = g.take_frame() else {
                    return Err(self.gen_already_running(g));
                };
                g.state.set(GenState::Running);
                let delegate = frame.yield_from_target().cloned();
                self.push_generator_frame(frame, g.clone(), resume);
                match delegate {
                    Some(d) => self.throw_into_delegate(d, exc),
                    None => {
                        self.throwing = true;
                        Err(exc)
                    }
                }
            }
        }
    }

    /// The top frame is suspended in `yield from d`: forward a throw.
    fn throw_into_delegate(&mut self, d: Value, exc: Value) -> PyResult<Option<Exit>> {
        let is_exit = self.is_instance_of(&exc, &self.exc.generator_exit.clone());
        if is_exit {
            // Close the delegate first, then raise GeneratorExit here.
            match &d {
                Value::Generator(sub) => self.gen_close(sub)?,
                other => {
                    if let Some(close) = self.lookup_special(other, "close") {
                        self.call(&close, vec![other.clone()])?;
                    }
                }
            }
            return Err(exc);
        }
        match &d {
            Value::Generator(sub) => {
                let sub = sub.clone();
                self.throw_in_loop(&sub, exc, Resume::YieldFrom)
            }
            other => {
                let Some(throw) = self.lookup_special(other, "throw") else {
                    return Err(exc);
                };
                match self.call(&throw, vec![other.clone(), exc]) {
                    Ok(v) => self.yield_value(v),
                    Err(e) => {
                        if self.is_instance_of(&e, &self.exc.stop_iteration.clone()) {
                            let v = self.stop_iteration_value(&e);
                            let f = self.top_frame();
                            f.stack.pop();
                            f.push(v);
                            f.ip += 1;
                            Ok(None)
                        } else {
                            Err(e)
                        }
                    }
                }
            }
        }
    }

    pub(crate) fn top_frame(&mut self) -> &mut Activation {
        match self.frames.last_mut() {
            Some(f) => f,
            None => unreachable!("no frame"),
        }
    }

    /// The top frame was just resumed and is the root of a suspended
    /// `yield from`/`await` chain (`Frame::has_chain`): the chain's frames
    /// go back on the frame stack above it at once, innermost on top, each
    /// generator running again. Where the chain would pass the recursion
    /// limit, its frames go back to their generators instead, and
    /// `descend_delegation` raises at the level where the limit is met.
    fn resume_chain(&mut self) {
        let room = self.recursion_limit.saturating_sub(self.depth());
        let Some(chain) = self.top_frame().chain_mut() else {
            return;
        };
        if chain.len() >= room {
            crate::frame::give_back_chain(chain);
            return;
        }
        for lent in chain.iter() {
            if let ReturnTo::Generator(g, _) = &lent.ret {
                g.unlend_frame();
                g.state.set(GenState::Running);
            }
        }
        // The chain lives in the root's `FrameRare` box, apart from the
        // frame stack's buffer, so it stays put while that one grows.
        let chain: *mut Vec<Activation> = chain;
        // SAFETY: see above; the frame pointers move from one vector to
        // the other, and the chain keeps its capacity for next time.
        unsafe { self.frames.append(&mut *chain) };
    }

    /// A value leaving the top frame by `yield` passes out through the
    /// delegating frames below it (`Resume::YieldFrom`) to the first one
    /// resumed otherwise, the chain's root. When there are such frames
    /// and the root was resumed by a `for` loop, a call or Rust, they stay
    /// together: lent to the root (its `Frame::chain`), each generator
    /// suspended, so the next resumption of the root puts them back at
    /// once (`resume_chain`). The root itself is left on top.
    fn suspend_chain(&mut self) {
        let top = self.frames.len() - 1;
        let mut root = top;
        let root_gen = loop {
            match &self.frames[root].ret {
                ReturnTo::Generator(_, Resume::YieldFrom) if root > 0 => root -= 1,
                ReturnTo::Generator(g, Resume::ForIter(_) | Resume::Call | Resume::Native)
                    if root < top =>
                {
                    break GenRc::as_ptr(g);
                }
                _ => return,
            }
        };
        for a in &self.frames[root + 1..] {
            if let ReturnTo::Generator(g, _) = &a.ret {
                g.state.set(GenState::Suspended);
                g.lend_frame(root_gen);
            }
        }
        let chain: *mut Vec<Activation> = self.frames[root].chain_room();
        // SAFETY: as in `resume_chain`, the chain is apart from the frame
        // stack's buffer.
        unsafe { move_tail(&mut self.frames, root + 1, &mut *chain) };
    }

    /// The top frame was just resumed with a value on its stack while
    /// parked on `YieldFrom` over a suspended generator: pass the value
    /// down the delegation chain directly, as executing `YieldFrom` at each
    /// level would, but without a dispatch per level.
    fn descend_delegation(&mut self) -> PyResult<()> {
        loop {
            // Past the limit, the YieldFrom instruction raises it in the
            // usual place.
            let room = self.depth() < self.recursion_limit;
            let f = self.top_frame();
            let n = f.stack.len();
            if !room || n < 2 || !matches!(f.code.ops.get(f.ip), Some(crate::opcode::Op::YieldFrom))
            {
                return Ok(());
            }
            let Value::Generator(sub) = &f.stack[n - 2] else {
                return Ok(());
            };
            if sub.state.get() != GenState::Suspended {
                return Ok(());
            }
            let Some(mut frame) = sub.take_frame() else {
                return Ok(());
            };
            sub.state.set(GenState::Running);
            let ret = ReturnTo::Generator(sub.clone(), Resume::YieldFrom);
            // The sent value moves from the delegator's stack top.
            // SAFETY: n >= 2 values; the top one is read out once and the
            // length cut below it.
            let sent = unsafe {
                f.stack.set_len(n - 1);
                f.stack.as_ptr().add(n - 1).read()
            };
            frame.push(sent);
            self.push_frame(frame, ret);
        }
    }

    /// A generator resumed by a `next()`/`send()`/`throw()` call counts
    /// one extra level of recursion while it runs, as the C call does in
    /// CPython.
    #[inline(always)]
    fn push_generator_frame(&mut self, frame: FrameBox, g: GenRc, resume: Resume) {
        if resume.is_call() {
            self.c_depth += 1;
        }
        self.push_generator_activation(frame, g, resume);
    }

    /// The generator frame on top returned `v`: deliver it as `resume` says.
    pub(crate) fn generator_returned(
        &mut self,
        v: Value,
        resume: Resume,
    ) -> PyResult<Option<Exit>> {
        match resume {
            Resume::Native => Ok(Some(Exit::Return(v))),
            Resume::Call => Err(self.new_stop_iteration(v)),
            // A generator that returns from `close()` is closed: the call
            // returns None.
            Resume::Close => {
                drop(v);
                self.top_frame().push(Value::None);
                self.run_finalizers()?;
                Ok(None)
            }
            Resume::ForIter(target) => {
                let f = self.top_frame();
                f.stack.pop();
                f.ip = target as usize;
                drop(v);
                self.run_finalizers()?;
                Ok(None)
            }
            Resume::YieldFrom => {
                let f = self.top_frame();
                f.stack.pop();
                f.push(v);
                f.ip += 1;
                Ok(None)
            }
        }
    }

    /// `YieldValue` (and values passing out of a delegation): suspend the
    /// top generator frame and hand `v` to whoever resumed it.
    pub(crate) fn yield_value(&mut self, v: Value) -> PyResult<Option<Exit>> {
        if !self.tracing {
            self.suspend_chain();
        }
        loop {
            let Some(Activation { frame, ret }) = self.frames.pop() else {
                unreachable!("yield with no frame")
            };
            let (g, resume) = match ret {
                ReturnTo::Generator(g, resume) => (g, resume),
                other => (
                    self.suspending_without_object(&frame, other)?,
                    Resume::YieldFrom,
                ),
            };
            if self.tracing {
                let line = frame.current_line();
                let (label, shown) = (Vm::gen_label(&g), self.trace_repr(&v));
                let note = match resume == Resume::YieldFrom {
                    true => format!("line {line}, passed out through yield from/await"),
                    false => format!("line {line}"),
                };
                self.trace(Kind::Yield, label, shown, Some(line), note);
            }
            g.state.set(GenState::Suspended);
            crate::tracking::track_suspended(&g);
            g.put_frame(frame);
            match resume {
                Resume::Native => return Ok(Some(Exit::Yield(v))),
                Resume::Call | Resume::ForIter(_) => {
                    if resume.is_call() {
                        self.c_depth -= 1;
                    }
                    self.top_frame().push(v);
                    // If that was the last reference to the generator (a
                    // temporary), its finalization runs now.
                    drop(g);
                    self.run_finalizers()?;
                    return Ok(None);
                }
                // The delegating frame (now on top) yields v in turn; it
                // stays on its YieldFrom instruction.
                Resume::YieldFrom => continue,
                // `close()` met a yield: the generator stays suspended
                // there and the close call raises.
                Resume::Close => {
                    self.c_depth -= 1;
                    drop(v);
                    let msg = ignored_generator_exit(g.kind);
                    drop(g);
                    self.run_finalizers()?;
                    return Err(self.new_exc(&self.exc.runtime_error.clone(), msg));
                }
            }
        }
    }

    /// `YieldFrom`: `(iter sent -- iter)` while delegating.
    pub(crate) fn op_yield_from(&mut self) -> PyResult<Option<Exit>> {
        let f = self.top_frame();
        let sent = f.stack.pop().unwrap_or(Value::None);
        let iter = f.stack.last().cloned().unwrap_or(Value::None);
        f.ip -= 1;
        match &iter {
            Value::Generator(g) => {
                let g = g.clone();
                match self.resume_frame(&g, sent, Resume::YieldFrom) {
                    Ok(x) => Ok(x),
                    Err(e) => Err(e),
                }
            }
            other => {
                let r = if sent.is_none() {
                    self.next_or_return(other)
                } else {
                    let send = self.getattr(other, "send")?;
                    match self.call(&send, vec![sent]) {
                        Ok(v) => Ok(Ok(v)),
                        Err(e) if self.is_instance_of(&e, &self.exc.stop_iteration.clone()) => {
                            Ok(Err(self.stop_iteration_value(&e)))
                        }
                        Err(e) => Err(e),
                    }
                };
                match r? {
                    Ok(v) => self.yield_value(v),
                    Err(result) => {
                        let f = self.top_frame();
                        f.stack.pop();
                        f.push(result);
                        f.ip += 1;
                        Ok(None)
                    }
                }
            }
        }
    }

    /// `next()` that also returns the StopIteration value: `Ok(Ok(item))`
    /// or `Ok(Err(return_value))`.
    pub fn next_or_return(&mut self, it: &Value) -> PyResult<Result<Value, Value>> {
        if let Value::Generator(g) = it {
            let g = g.clone();
            return match self.resume(&g, Action::Send(Value::None))? {
                Exit::Yield(v) => Ok(Ok(v)),
                Exit::Return(v) => Ok(Err(v)),
            };
        }
        // Built-in iterator types cannot be changed, so their `__next__`
        // is always `Vm::next`: no lookup, no call.
        if let Value::Iterator(_) = it {
            return Ok(self.next(it)?.ok_or(Value::None));
        }
        match self.lookup_special(it, "__next__") {
            Some(next) => match self.call(&next, vec![it.clone()]) {
                Ok(v) => Ok(Ok(v)),
                Err(e) if self.is_instance_of(&e, &self.exc.stop_iteration.clone()) => {
                    Ok(Err(self.stop_iteration_value(&e)))
                }
                Err(e) => Err(e),
            },
            None => match self.next(it)? {
                Some(v) => Ok(Ok(v)),
                None => Ok(Err(Value::None)),
            },
        }
    }

    /// `gen.close()`.
    pub fn gen_close(&mut self, g: &GenRc) -> PyResult<()> {
        if self.tracing && g.state.get() != GenState::Closed {
            let label = Vm::gen_label(g);
            self.trace(Kind::Close, label, String::new(), None, String::new());
        }
        match g.state.get() {
            GenState::Created => {
                g.state.set(GenState::Closed);
                let f = g.take_frame();
                drop(f);
                Ok(())
            }
            GenState::Closed => Ok(()),
            GenState::Running => Err(self.gen_already_running(g)),
            GenState::Suspended if !self.tracing && self.close_without_running(g) => Ok(()),
            GenState::Suspended => {
                let exit = self.new_exc(&self.exc.generator_exit, "");
                match self.resume(g, Action::Throw(exit)) {
                    Ok(Exit::Yield(_)) => {
                        let msg = ignored_generator_exit(g.kind);
                        Err(self.new_exc(&self.exc.runtime_error, msg))
                    }
                    Ok(Exit::Return(_)) => Ok(()),
                    Err(e) => {
                        if self.is_instance_of(&e, &self.exc.generator_exit.clone())
                            || self.is_instance_of(&e, &self.exc.stop_iteration.clone())
                        {
                            Ok(())
                        } else {
                            Err(e)
                        }
                    }
                }
            }
        }
    }

    /// `close()` of suspended generator `g` when GeneratorExit could only
    /// pass straight through its frame: no `try`/`with`/`except` block is
    /// active and it delegates to nothing (a delegate must be closed
    /// first). The frame is released without running, as CPython 3.12
    /// does; nothing observable differs. False (and nothing done)
    /// otherwise.
    fn close_without_running(&mut self, g: &Generator) -> bool {
        let idle = g.peek_frame(|f| {
            f.is_some_and(|f| !f.in_try_or_handler() && f.yield_from_target().is_none())
        });
        if !idle {
            return false;
        }
        g.state.set(GenState::Closed);
        if let Some(frame) = g.take_frame() {
            self.recycle_frame(frame);
        }
        true
    }

    /// Builds the exception for `gen.throw(typ[, val[, tb]])`.
    pub(crate) fn throw_args(&mut self, args: &[Value]) -> PyResult<Value> {
        let typ = args.first().cloned().unwrap_or(Value::None);
        let val = args.get(1).cloned().unwrap_or(Value::None);
        let tb = args.get(2).cloned().unwrap_or(Value::None);
        if !tb.is_none() && !crate::traceback::is_traceback(&tb) {
            return Err(self.type_error("throw() third argument must be a traceback object"));
        }
        let exc = self.throw_value(typ, val)?;
        if !tb.is_none() {
            self.set_traceback(&exc, &tb)?;
        }
        Ok(exc)
    }

    fn throw_value(&mut self, typ: Value, val: Value) -> PyResult<Value> {
        match &typ {
            Value::Class(c) => {
                if !self.is_subclass(c, &self.exc.base_exception.clone()) {
                    return Err(self.type_error(
                        "exceptions must be classes or instances deriving from BaseException, not type",
                    ));
                }
                // (None, the usual value, is never an exception.)
                if !val.is_none() && self.is_instance_of(&val, &c.clone()) {
                    return Ok(val);
                }
                let args = match val {
                    Value::None => vec![],
                    Value::Tuple(t) => t.to_vec(),
                    v => vec![v],
                };
                // As CPython normalises the exception: what making it
                // raises is what gets thrown into the generator.
                let e = match self.construct_exception(c, args) {
                    Ok(e) => e,
                    Err(e) => return Ok(e),
                };
                if !self.is_exception(&e) {
                    let msg = format!(
                        "calling {} should have returned an instance of BaseException, not {}",
                        self.repr(&typ)?,
                        self.type_name(&e)
                    );
                    return Ok(self.type_error(&msg));
                }
                Ok(e)
            }
            Value::Instance(_) if self.is_exception(&typ) => {
                if !val.is_none() {
                    return Err(self.type_error("instance exception may not have a separate value"));
                }
                Ok(typ)
            }
            other => {
                let msg = format!(
                    "exceptions must be classes or instances deriving from BaseException, not {}",
                    self.type_name(other)
                );
                Err(self.type_error(&msg))
            }
        }
    }

    /// The interpreter's fast path for `next(g)`, `g.send(v)`, `g.throw(e)`
    /// and `g.__next__()`: resume without a nested loop. Returns false when
    /// the call is not one it handles (the native then runs).
    pub(crate) fn try_special_call(&mut self, special: Special, args: &[Value]) -> PyResult<bool> {
        let Some(Value::Generator(g)) = args.first() else {
            return Ok(false);
        };
        let g = g.clone();
        match special {
            Special::Next | Special::GenNext if args.len() == 1 => {
                if g.kind != GenKind::Generator && special == Special::Next {
                    return Ok(false);
                }
                self.resume_call(&g, Action::Send(Value::None))?;
                Ok(true)
            }
            Special::GenSend if args.len() == 2 => {
                self.resume_call(&g, Action::Send(args[1].clone()))?;
                Ok(true)
            }
            Special::GenThrow if (2..=4).contains(&args.len()) => {
                let exc = self.throw_args(&args[1..])?;
                self.resume_call(&g, Action::Throw(exc))?;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    /// Resumes `g` for a `next()`/`send()`/`throw()` call made by covm
    /// code.
    fn resume_call(&mut self, g: &GenRc, action: Action) -> PyResult<()> {
        match action {
            Action::Send(v) => self.resume_frame(g, v, Resume::Call).map(|_| ()),
            Action::Throw(e) => self.throw_in_loop(g, e, Resume::Call).map(|_| ()),
        }
    }

    /// The iterator `await` delegates to.
    pub(crate) fn get_awaitable(&mut self, v: Value) -> PyResult<Value> {
        match &v {
            // Reusing an awaited coroutine is refused when it is resumed.
            Value::Generator(g) if g.kind == GenKind::Coroutine => {
                let held = g.state.get() == GenState::Suspended
                    && g.peek_frame(|f| f.is_some_and(|f| f.yield_from_target().is_some()));
                if held {
                    return Err(self.runtime_error("coroutine is being awaited already"));
                }
                Ok(v)
            }
            Value::Generator(g) if self.is_iterable_coroutine(g) => Ok(v),
            other => {
                if let Some(aw) = self.lookup_special(other, "__await__") {
                    let it = self.call(&aw, vec![other.clone()])?;
                    match &it {
                        Value::Generator(g) if g.kind == GenKind::Coroutine => {
                            Err(self.type_error("__await__() returned a coroutine"))
                        }
                        Value::Generator(_) | Value::Iterator(_) => Ok(it),
                        _ if self.lookup_special(&it, "__next__").is_some() => Ok(it),
                        _ => {
                            let msg = format!(
                                "__await__() returned non-iterator of type '{}'",
                                self.type_name(&it)
                            );
                            Err(self.type_error(&msg))
                        }
                    }
                } else {
                    let msg = format!(
                        "object {} can't be used in 'await' expression",
                        self.type_name(other)
                    );
                    Err(self.type_error(&msg))
                }
            }
        }
    }
}

// ---- the generator type's methods --------------------------------------

fn gen_arg(vm: &Vm, args: &[Value], what: &str) -> PyResult<GenRc> {
    match args.first() {
        Some(Value::Generator(g)) => Ok(g.clone()),
        _ => Err(vm.type_error(&format!("descriptor '{what}' requires a generator"))),
    }
}

fn exit_to_value(vm: &mut Vm, exit: Exit) -> PyResult<Value> {
    match exit {
        Exit::Yield(v) => Ok(v),
        Exit::Return(v) => Err(vm.new_stop_iteration(v)),
    }
}

fn gen_next(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let g = gen_arg(vm, args, "__next__")?;
    let exit = vm.resume(&g, Action::Send(Value::None))?;
    exit_to_value(vm, exit)
}

fn gen_send(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let g = gen_arg(vm, args, "send")?;
    if args.len() != 2 {
        let msg = format!(
            "{}.send() takes exactly one argument ({} given)",
            kind_name(g.kind),
            args.len() - 1
        );
        return Err(vm.type_error(&msg));
    }
    let exit = vm.resume(&g, Action::Send(args[1].clone()))?;
    exit_to_value(vm, exit)
}

fn kind_name(k: GenKind) -> &'static str {
    match k {
        GenKind::Generator => "generator",
        GenKind::Coroutine => "coroutine",
        GenKind::AsyncGenerator => "async_generator",
    }
}

fn gen_throw(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let g = gen_arg(vm, args, "throw")?;
    if args.len() < 2 || args.len() > 4 {
        let bound = if args.len() < 2 {
            "at least 1 argument"
        } else {
            "at most 3 arguments"
        };
        let msg = format!("throw expected {bound}, got {}", args.len() - 1);
        return Err(vm.type_error(&msg));
    }
    let exc = vm.throw_args(&args[1..])?;
    let exit = vm.resume(&g, Action::Throw(exc))?;
    exit_to_value(vm, exit)
}

/// What `close()` raises when the generator yields instead of finishing.
fn ignored_generator_exit(kind: GenKind) -> &'static str {
    match kind {
        GenKind::Coroutine => "coroutine ignored GeneratorExit",
        GenKind::AsyncGenerator => "async generator ignored GeneratorExit",
        GenKind::Generator => "generator ignored GeneratorExit",
    }
}

fn gen_close(vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    let g = gen_arg(vm, args, "close")?;
    vm.gen_close(&g)?;
    Ok(Value::None)
}

fn gen_iter(_vm: &mut Vm, args: &[Value], _kw: &KwArgs) -> PyResult<Value> {
    Ok(args.first().cloned().unwrap_or(Value::None))
}

pub(crate) fn install_methods(vm: &mut Vm) {
    let special = |name: &str, func: NativeFn, special: Special| {
        Value::Builtin(Rc::new(Builtin {
            name: Rc::from(name),
            func,
            receiver: None,
            special,
        }))
    };
    for cls in [vm.types.generator.clone(), vm.types.coroutine.clone()] {
        let mut d = cls.dict.borrow_mut();
        d.insert(
            Rc::from("send"),
            special("send", gen_send, Special::GenSend),
        );
        d.insert(
            Rc::from("throw"),
            special("throw", gen_throw, Special::GenThrow),
        );
        d.insert(
            Rc::from("close"),
            special("close", gen_close, Special::GenClose),
        );
    }
    let mut d = vm.types.generator.dict.borrow_mut();
    d.insert(
        Rc::from("__next__"),
        special("__next__", gen_next, Special::GenNext),
    );
    d.insert(
        Rc::from("__iter__"),
        special("__iter__", gen_iter, Special::None),
    );
}
