//! The embedding API: run/eval, conversions, host closures and types,
//! coroutines, the scheduler, and the limits (fuel pause-and-resume, the
//! memory cap, the uncatchable stop).

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;
use std::time::Duration;

use covm_embed::{CountingAlloc, ErrorKind, Run, Step, Value, Vm};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

fn vm() -> Vm {
    Vm::builder().capture_output().build()
}

#[test]
fn run_and_eval() {
    let mut vm = vm();
    vm.run("x = 6 * 7\nprint('x is', x)\n", "t.co").unwrap();
    assert_eq!(vm.take_output(), "x is 42\n");
    assert_eq!(vm.eval::<i64>("x + 1").unwrap(), 43);
    assert_eq!(vm.eval::<String>("'ab' * 2").unwrap(), "abab");
}

#[test]
fn errors_carry_the_traceback() {
    let mut vm = vm();
    let e = vm
        .run("def f():\n    return 1 / 0\nf()\n", "boom.co")
        .unwrap_err();
    assert!(e.is_exception("ZeroDivisionError"));
    let text = e.to_string();
    assert!(
        text.starts_with("Traceback (most recent call last):"),
        "{text}"
    );
    assert!(text.contains("File \"boom.co\", line 2, in f"), "{text}");
    assert!(
        text.ends_with("ZeroDivisionError: division by zero"),
        "{text}"
    );
    let e = vm.run("x = (\n", "bad.co").unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::Syntax);
}

#[test]
fn conversions_round_trip() {
    let mut vm = vm();
    let mut m = HashMap::new();
    m.insert("a".to_string(), vec![1i64, 2]);
    vm.set_global("m", m.clone()).unwrap();
    vm.set_global("t", (1i32, 2.5f64, "s", true)).unwrap();
    vm.set_global("o", Option::<u32>::None).unwrap();
    assert_eq!(vm.get_global::<HashMap<String, Vec<i64>>>("m").unwrap(), m);
    assert_eq!(
        vm.get_global::<(i32, f64, String, bool)>("t").unwrap(),
        (1, 2.5, "s".to_string(), true)
    );
    assert_eq!(vm.get_global::<Option<u32>>("o").unwrap(), None);
    assert_eq!(
        vm.eval::<Vec<usize>>("[len(m['a']), t[0]]").unwrap(),
        vec![2, 1]
    );
    let e = vm.eval::<u32>("-1").unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::Conversion);
}

#[test]
fn closures_capture_state() {
    let mut vm = vm();
    let log = Rc::new(RefCell::new(Vec::new()));
    let l = log.clone();
    vm.register("log", move |s: String| l.borrow_mut().push(s));
    let total = Rc::new(Cell::new(0i64));
    let t = total.clone();
    vm.register("add", move |a: i64, b: i64| {
        t.set(t.get() + a + b);
        t.get()
    });
    vm.run("log('hi')\nprint(add(1, 2), add(3, 4))\n", "c.co")
        .unwrap();
    assert_eq!(vm.take_output(), "3 10\n");
    assert_eq!(*log.borrow(), vec!["hi".to_string()]);
    let e = vm.run("add(1)\n", "c.co").unwrap_err();
    assert!(
        e.to_string()
            .ends_with("TypeError: add() takes 2 positional arguments but 1 were given")
    );
    let e = vm.run("add('x', 1)\n", "c.co").unwrap_err();
    assert!(e.is_exception("TypeError"), "{e}");
}

struct Counter {
    n: Cell<i64>,
}

#[test]
fn host_types_have_methods() {
    let mut vm = vm();
    vm.register_type::<Counter>("Counter")
        .method("bump", |c: &Counter, by: i64| {
            c.n.set(c.n.get() + by);
            c.n.get()
        })
        .method("get", |c: &Counter| c.n.get());
    let c = Rc::new(Counter { n: Cell::new(0) });
    vm.set_global("c", c.clone()).unwrap();
    vm.run(
        "for i in range(4):\n    c.bump(i)\nprint(type(c).__name__, c.get())\n",
        "h.co",
    )
    .unwrap();
    assert_eq!(vm.take_output(), "Counter 6\n");
    assert_eq!(c.n.get(), 6);
    let back: Rc<Counter> = vm.get_global("c").unwrap();
    assert!(Rc::ptr_eq(&back, &c));
}

#[test]
fn calling_covm_functions() {
    let mut vm = vm();
    vm.run("def f(a, b=10):\n    return [a, b]\nclass P:\n    def __init__(self, x):\n        self.x = x\n", "f.co")
        .unwrap();
    assert_eq!(vm.call::<Vec<i64>>("f", (1,)).unwrap(), vec![1, 10]);
    assert_eq!(vm.call::<Vec<i64>>("f", (1, 2)).unwrap(), vec![1, 2]);
    let p: Value = vm.call("P", (5,)).unwrap();
    vm.set_global("p", p).unwrap();
    assert_eq!(vm.eval::<i64>("p.x").unwrap(), 5);
}

#[test]
fn coroutines_step_from_the_host() {
    let mut vm = vm();
    vm.run(
        "def averager():\n    total, n, avg = 0, 0, None\n    try:\n        while True:\n            x = yield avg\n            if x is None:\n                return n\n            total += x\n            n += 1\n            avg = total / n\n    finally:\n        print('closed')\n",
        "g.co",
    )
    .unwrap();
    let g = vm.coroutine("averager", ()).unwrap();
    assert!(matches!(
        g.resume(&mut vm).unwrap(),
        Step::Yielded(Value::None)
    ));
    let Step::Yielded(v) = g.send(&mut vm, 10).unwrap() else {
        panic!()
    };
    assert_eq!(vm.convert::<f64>(&v).unwrap(), 10.0);
    let Step::Yielded(v) = g.send(&mut vm, 20).unwrap() else {
        panic!()
    };
    assert_eq!(vm.convert::<f64>(&v).unwrap(), 15.0);
    let Step::Returned(v) = g.resume(&mut vm).unwrap() else {
        panic!()
    };
    assert_eq!(vm.convert::<i64>(&v).unwrap(), 2);
    assert!(g.is_finished());
    assert_eq!(vm.take_output(), "closed\n");

    let g = vm.coroutine("averager", ()).unwrap();
    g.resume(&mut vm).unwrap();
    let e = g.throw(&mut vm, "ValueError", "bad").unwrap_err();
    assert!(e.to_string().ends_with("ValueError: bad"));
    let g = vm.coroutine("averager", ()).unwrap();
    g.resume(&mut vm).unwrap();
    g.close(&mut vm).unwrap();
    assert_eq!(vm.take_output(), "closed\nclosed\n");
}

#[test]
fn await_a_future_the_host_completes() {
    let mut vm = vm();
    vm.run("async def main(fut):\n    print('waiting')\n    v = await fut\n    print('got', v)\n    return v * 2\n", "a.co")
        .unwrap();
    let fut = vm.new_future();
    let coro: Value = vm.call("main", (fut.clone(),)).unwrap();
    let task = vm.spawn(coro).unwrap();
    vm.run_until_idle().unwrap();
    assert_eq!(vm.take_output(), "waiting\n");
    vm.set_future_result(&fut, 21).unwrap();
    let r = vm.run_until_complete(&task).unwrap();
    assert_eq!(vm.convert::<i64>(&r).unwrap(), 42);
    assert_eq!(vm.take_output(), "got 21\n");
}

#[test]
fn the_host_runs_the_loop_one_step_at_a_time() {
    let mut vm = vm();
    vm.run("import asyncio\nasync def worker(name, n):\n    for i in range(n):\n        print(name, i)\n        await asyncio.sleep(0)\n", "w.co")
        .unwrap();
    for (name, n) in [("a", 2), ("b", 3)] {
        let coro: Value = vm.call("worker", (name, n)).unwrap();
        vm.spawn(coro).unwrap();
    }
    let mut turns = Vec::new();
    while vm.run_step().unwrap() {
        turns.push(vm.take_output().replace('\n', ","));
    }
    turns.push(vm.take_output().replace('\n', ","));
    assert_eq!(turns.concat(), "a 0,b 0,a 1,b 1,b 2,");
    assert!(turns.len() >= 3, "{turns:?}");
}

#[test]
fn fuel_pauses_and_resumes_where_it_stopped() {
    let mut vm = vm();
    vm.set_fuel(Some(100));
    let src = "total = 0\nfor i in range(1000):\n    total += i\nprint(total)\n";
    let mut pauses = 0;
    let mut state = vm.start(src, "fuel.co").unwrap();
    while let Run::Paused = state {
        pauses += 1;
        // Each pause is at a loop iteration: the work done so far is kept.
        let t: i64 = vm.get_global("total").unwrap();
        assert!(t > 0);
        vm.add_fuel(100);
        state = vm.resume().unwrap();
    }
    assert_eq!(vm.take_output(), "499500\n");
    assert!((9..=11).contains(&pauses), "{pauses}");

    // A paused run can be abandoned; the VM stays usable.
    vm.set_fuel(Some(10));
    let e = vm.run("while True:\n    pass\n", "spin.co").unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::OutOfFuel);
    assert!(vm.is_paused());
    vm.abandon();
    vm.set_fuel(None);
    assert_eq!(vm.eval::<i64>("1 + 1").unwrap(), 2);
}

#[test]
fn fuel_inside_a_native_callback_cannot_pause_and_stops() {
    let mut vm = vm();
    vm.run("def key(x):\n    while True:\n        pass\n", "k.co")
        .unwrap();
    vm.set_fuel(Some(100));
    // `sorted` calls `key` in a nested loop: no pause there; after the
    // overdraft the run is stopped.
    let e = vm.run("sorted([1, 2], key=key)\n", "k.co").unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::Stopped(_)), "{e:?}");
    assert!(!vm.is_paused());
    // A covm function called from the host pauses and resumes.
    vm.set_fuel(None);
    vm.run(
        "def count(n):\n    t = 0\n    for i in range(n):\n        t += i\n    return t\n",
        "k.co",
    )
    .unwrap();
    vm.set_fuel(Some(50));
    let e = vm.call::<i64>("count", (1000,)).unwrap_err();
    assert_eq!(e.kind(), &ErrorKind::OutOfFuel);
    vm.add_fuel(10_000);
    let Run::Done(v) = vm.resume().unwrap() else {
        panic!("still paused")
    };
    assert_eq!(vm.convert::<i64>(&v).unwrap(), 499500);
}

#[test]
fn memory_cap_raises_memory_error() {
    let mut vm = vm();
    vm.set_memory_limit(Some(8 << 20)).unwrap();
    let src = "xs = []\ntry:\n    while True:\n        xs.append('x' * 1000)\nexcept MemoryError:\n    n = len(xs)\n    xs = None\n    print('MemoryError')\n";
    vm.run(src, "mem.co").unwrap();
    assert_eq!(vm.take_output(), "MemoryError\n");
    assert!(vm.memory_exceeded());
    assert!(vm.get_global::<i64>("n").unwrap() > 1000);
    let e = vm
        .run("ys = []\nwhile True:\n    ys.append([0] * 100)\n", "mem.co")
        .unwrap_err();
    assert!(e.is_exception("MemoryError"), "{e}");
    vm.run("ys = None\n", "mem.co").unwrap();
    vm.set_memory_limit(None).unwrap();
}

#[test]
fn stop_cannot_be_caught_but_runs_finally() {
    let mut vm = vm();
    let handle = vm.stop_handle();
    let n = Rc::new(Cell::new(0));
    let n2 = n.clone();
    vm.register("tick", move || {
        n2.set(n2.get() + 1);
        if n2.get() == 100 {
            handle.stop();
        }
    });
    let src = "try:\n    while True:\n        try:\n            tick()\n        except BaseException:\n            print('caught?')\n        except:\n            print('bare caught?')\nfinally:\n    print('finally ran')\nprint('after')\n";
    let e = vm.run(src, "stop.co").unwrap_err();
    assert!(matches!(e.kind(), ErrorKind::Stopped(_)), "{e:?}");
    // The stop is noticed within `CHECK_EVERY` steps; wherever it lands,
    // `except BaseException` never matches it, and a bare `except:` body
    // may run but cannot swallow it.
    let out = vm.take_output();
    assert!(out.lines().all(|l| l != "caught?"), "{out}");
    assert!(
        out.ends_with("finally ran\n") && !out.contains("after"),
        "{out}"
    );
    assert!(out.lines().count() <= 2, "{out}");
    assert!((100..100 + 1024).contains(&n.get()), "{}", n.get());
    // A bare `except:` that swallows it is re-raised at the next poll.
    let src2 = "def spin():\n    while True:\n        pass\nwhile True:\n    try:\n        spin()\n    except:\n        print('swallowed')\n";
    vm.set_timeout(Some(Duration::from_millis(50)));
    let e = vm.run(src2, "stop2.co").unwrap_err();
    assert!(
        matches!(e.kind(), ErrorKind::Stopped(r) if r.to_string() == "deadline exceeded"),
        "{e:?}"
    );
    vm.set_timeout(None);
    // The VM runs again afterwards.
    assert_eq!(vm.eval::<i64>("2 * 3").unwrap(), 6);
}

#[test]
fn modules_can_be_restricted() {
    let mut vm = Vm::builder().capture_output().modules(&["math"]).build();
    vm.run("import math\nprint(math.floor(2.5))\n", "m.co")
        .unwrap();
    let e = vm.run("import os\n", "m.co").unwrap_err();
    assert!(e.is_exception("ModuleNotFoundError"), "{e}");
}
