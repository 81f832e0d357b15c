//! The event loop's async generator hooks (`sys.set_asyncgen_hooks` as
//! `BaseEventLoop.run_forever` installs them):
//!
//! - firstiter: the first `asend`/`athrow`/`aclose`/`__anext__` of an
//!   async generator while a loop runs registers it with that loop;
//! - finalizer: a registered async generator dropped while suspended is not
//!   closed on the spot; the loop schedules `create_task(agen.aclose())`,
//!   so its `finally` runs as a task (after the code that dropped it);
//! - `shutdown_asyncgens`: when `asyncio.run()` ends, the registered ones
//!   still alive are closed together, and what their closing raises goes to
//!   the loop's exception handler.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::rc::{Rc, Weak};

use super::{Job, Loop};
use crate::value::*;
use crate::vm::Vm;

/// A registered generator: its loop, and the generator, whose drop takes
/// the entry out (`dropped`), so that the address is never stale.
type Registration = (Weak<NativeBox<Loop>>, *const Generator);

thread_local! {
    /// Registered generators by id.
    static REGISTERED: RefCell<HashMap<u64, Registration>> = RefCell::new(HashMap::new());
    /// Ids whose firstiter hook has run (CPython's `ag_hooks_inited`).
    static INITED: RefCell<HashSet<u64>> = RefCell::new(HashSet::new());
}

/// Runs the firstiter hook once per async generator.
pub(crate) fn init_hooks(vm: &mut Vm, g: &GenRc) {
    // Ids are handed out in order, so the first use orders registrations.
    let id = vm.gen_id(g);
    if !INITED.with(|s| s.borrow_mut().insert(id)) {
        return;
    }
    if let Some(lp) = super::shared(vm).running_loop() {
        REGISTERED.with(|r| {
            r.borrow_mut()
                .insert(id, (Rc::downgrade(&lp), GenRc::as_ptr(g)));
        });
    }
}

/// An async generator whose hooks must never run (one a finalizer closes).
pub(crate) fn mark_inited(vm: &Vm, g: &Generator) {
    let id = vm.gen_id(g);
    INITED.with(|s| s.borrow_mut().insert(id));
}

/// A frame and names taken from a dropped async generator, for the loop to
/// close it as a task.
pub(crate) struct Dropped {
    frame: crate::frame::FrameBox,
    names: Option<Box<(Rc<str>, Rc<str>)>>,
    lp: NativeRc<Loop>,
}

/// The finalizer hook, from `Drop for Generator`: true when the loop takes
/// the generator over (its frame is then gone from `g`).
pub(crate) fn dropped(g: &Generator) -> bool {
    let id = g.id();
    if id == 0 {
        // Never iterated, so never registered.
        return false;
    }
    let _ = INITED.with(|s| s.try_borrow_mut().map(|mut s| s.remove(&id)));
    let entry = REGISTERED.with(|r| r.try_borrow_mut().ok().and_then(|mut r| r.remove(&id)));
    let Some((lp, _)) = entry else {
        return false;
    };
    let Some(lp) = lp.upgrade().filter(|l| !l.is_closed()) else {
        return false;
    };
    if g.state.get() != GenState::Suspended {
        return false;
    }
    let Some(frame) = g.take_frame() else {
        return false;
    };
    let d = Dropped {
        frame: frame.outliving(),
        names: g.created_names_boxed(),
        lp,
    };
    crate::drop_reports::later(move |vm| {
        if let Err(e) = finalize(vm, d) {
            super::report_exception(vm, "Exception ignored in", &e);
        }
    });
    true
}

/// `BaseEventLoop._asyncgen_finalizer_hook`: `call_soon(create_task,
/// agen.aclose())` on the generator brought back to life.
pub(crate) fn finalize(vm: &mut Vm, mut d: Dropped) -> PyResult<()> {
    let g = Generator::new(
        GenKind::AsyncGenerator,
        GenState::Suspended,
        GenFrame::Embed(&mut d.frame),
        d.names,
        vm.new_gen_id(),
    );
    mark_inited(vm, &g);
    let g = Value::Generator(g);
    let aclose = vm.getattr(&g, "aclose")?;
    let aw = vm.call(&aclose, vec![])?;
    let create_task = vm.getattr(&d.lp.value(), "create_task")?;
    d.lp.call_soon(Job::Call(create_task, vec![aw], None));
    Ok(())
}

/// The async generators registered with `lp` and still alive, in the
/// order they were registered; they are unregistered.
fn take_registered(lp: &NativeRc<Loop>) -> Vec<GenRc> {
    let mut agens: Vec<(u64, GenRc)> = REGISTERED.with(|r| {
        let mut r = r.borrow_mut();
        let ids: Vec<u64> = r
            .iter()
            .filter(|(_, (l, _))| std::ptr::eq(l.as_ptr(), Rc::as_ptr(lp)))
            .map(|(id, _)| *id)
            .collect();
        ids.into_iter()
            .filter_map(|id| {
                // SAFETY: a registered generator is alive (see
                // `Registration`).
                r.remove(&id)
                    .map(|(_, g)| (id, GenRc::from_ref(unsafe { &*g })))
            })
            .collect()
    });
    // The weak set's order is CPython's insertion order, in practice.
    agens.sort_by_key(|(id, _)| *id);
    agens.into_iter().map(|(_, g)| g).collect()
}

/// `gather(*[ag.aclose() for ag in agens], return_exceptions=True)`.
fn close_all(vm: &mut Vm, agens: &[GenRc]) -> PyResult<NativeRc<super::future::Fut>> {
    let mut closing = Vec::with_capacity(agens.len());
    for g in agens {
        let aclose = vm.getattr(&Value::Generator(g.clone()), "aclose")?;
        closing.push(vm.call(&aclose, vec![])?);
    }
    super::future::gather(vm, &closing, true)
}

/// Hands what closing each generator raised to the loop's exception
/// handler.
fn report_failures(
    vm: &mut Vm,
    lp: &NativeRc<Loop>,
    agens: &[GenRc],
    results: &Value,
) -> PyResult<()> {
    let results = match results {
        Value::List(l) => l.borrow().clone(),
        _ => Vec::new(),
    };
    for (r, g) in results.iter().zip(agens) {
        if vm.is_instance_of(r, &vm.exc.exception.clone()) {
            let g = Value::Generator(g.clone());
            let msg = format!(
                "an error occurred during closing of asynchronous generator {}",
                vm.repr(&g)?
            );
            let ctx = [
                ("message", Value::str(msg)),
                ("exception", r.clone()),
                ("asyncgen", g),
            ];
            super::handler::report(vm, lp, &ctx);
        }
    }
    Ok(())
}

/// What `asyncio.run()` does when its main coroutine is done: runs
/// `shutdown_asyncgens()` to completion.
pub(crate) fn shutdown(vm: &mut Vm, lp: &NativeRc<Loop>) -> PyResult<()> {
    let agens = take_registered(lp);
    if agens.is_empty() {
        return Ok(());
    }
    let outer = close_all(vm, &agens)?;
    lp.run_until_complete(vm, &outer)?;
    let results = outer.result(vm)?;
    report_failures(vm, lp, &agens, &results)
}

/// `await loop.shutdown_asyncgens()`: the same, as a coroutine of the
/// running loop.
pub(crate) fn shutdown_coro(lp: NativeRc<Loop>) -> super::coro::Machine {
    use super::coro::Machine;
    Machine::Start(Some(Box::new(move |vm| {
        let agens = take_registered(&lp);
        if agens.is_empty() {
            return Ok(Machine::Immediate(Some(Box::new(|_| Ok(Value::None)))));
        }
        let outer = close_all(vm, &agens)?;
        Ok(Machine::Then {
            arg: Value::Native(outer.into()),
            it: None,
            then: Some(Box::new(move |vm, outcome| {
                report_failures(vm, &lp, &agens, &outcome?)?;
                Ok(Value::None)
            })),
        })
    })))
}
