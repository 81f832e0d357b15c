//! A game host embedding covm: a Rust closure the scripts call, a script
//! run on a fuel budget that pauses and resumes, one covm coroutine per
//! game entity driven from the Rust frame loop, and a memory cap.
//!
//! `cargo run -p covm-embed-example`; `cargo test` snapshots its output.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use covm_embed::{Coroutine, CountingAlloc, Run, Step, Vm};

// Counts allocations so that `set_memory_limit` works.
#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

/// A host object the scripts see as `world`.
struct World {
    frame: Cell<u32>,
    events: RefCell<Vec<String>>,
}

const ENTITIES: &str = r#"
def guard(name, x):
    # Patrols between 0 and 3; every step yields its next action.
    step = 1
    while True:
        frame = yield ("move", name, x)
        if x + step > 3 or x + step < 0:
            step = -step
            world.emit(f"{name} turns at x={x} (frame {frame})")
        x += step

def blinker(name):
    on = False
    for frame_count in range(3):
        on = not on
        yield ("light", name, on)
    return f"{name} burnt out"
"#;

const CRUNCH: &str = r#"
primes = []
n = 2
while len(primes) < 200:
    if all(n % p for p in primes if p * p <= n):
        primes.append(n)
    n += 1
report(f"found {len(primes)} primes, the last is {primes[-1]}")
"#;

const GREEDY: &str = r#"
hoard = []
try:
    while True:
        hoard.append("gold" * 256)
except MemoryError:
    size = len(hoard)
    hoard = None
    report("the greedy script hit the memory cap and let go")
"#;

fn main() {
    let mut vm = Vm::builder().capture_output().build();

    // 1. A closure that captures host state, callable from covm.
    let reports = Rc::new(RefCell::new(Vec::new()));
    let r = reports.clone();
    vm.register("report", move |msg: String| r.borrow_mut().push(msg));

    // A host type with methods.
    let world = Rc::new(World {
        frame: Cell::new(0),
        events: RefCell::new(Vec::new()),
    });
    vm.register_type::<World>("World")
        .method("emit", |w: &World, msg: String| {
            w.events.borrow_mut().push(msg)
        })
        .method("frame", |w: &World| w.frame.get());
    vm.set_global("world", world.clone()).expect("set world");

    // 2. A script on a fuel budget: it pauses when the fuel runs out and
    // resumes exactly where it stopped when the host adds more.
    vm.set_fuel(Some(2_000));
    let mut pauses = 0;
    let mut state = vm.start(CRUNCH, "crunch.co").expect("crunch starts");
    while let Run::Paused = state {
        pauses += 1;
        vm.add_fuel(2_000);
        state = vm.resume().expect("crunch resumes");
    }
    vm.set_fuel(None);
    println!("crunch: paused {pauses} times for fuel, then finished");
    for msg in reports.borrow_mut().drain(..) {
        println!("  report: {msg}");
    }

    // 3. One covm coroutine per entity, resumed by the Rust frame loop.
    vm.run(ENTITIES, "entities.co").expect("entities load");
    let mut entities: Vec<(String, Coroutine)> = vec![
        (
            "guard-a".into(),
            vm.coroutine("guard", ("guard-a", 0)).expect("guard"),
        ),
        (
            "guard-b".into(),
            vm.coroutine("guard", ("guard-b", 3)).expect("guard"),
        ),
        (
            "lamp".into(),
            vm.coroutine("blinker", ("lamp",)).expect("blinker"),
        ),
    ];
    for (_, co) in &entities {
        co.resume(&mut vm).expect("prime entity");
    }
    for frame in 1..=5u32 {
        world.frame.set(frame);
        let mut line = Vec::new();
        entities.retain(
            |(name, co)| match co.send(&mut vm, frame).expect("entity step") {
                Step::Yielded(action) => {
                    let (verb, who, arg): (String, String, covm_embed::Value) =
                        vm.convert(&action).expect("an action tuple");
                    let arg = vm.raw().repr(&arg).unwrap_or_default();
                    line.push(format!("{who} {verb} {arg}"));
                    true
                }
                Step::Returned(v) => {
                    let why: String = vm.convert(&v).expect("a str");
                    line.push(format!("{name} done ({why})"));
                    false
                }
            },
        );
        println!("frame {frame}: {}", line.join("; "));
        for e in world.events.borrow_mut().drain(..) {
            println!("  event: {e}");
        }
    }
    for (_, co) in &entities {
        co.close(&mut vm).expect("close entity");
    }

    // 4. A memory cap: the script gets MemoryError, the host is told.
    vm.set_memory_limit(Some(4 << 20))
        .expect("counting allocator installed");
    vm.run(GREEDY, "greedy.co").expect("greedy recovers");
    vm.set_memory_limit(None).expect("cap removed");
    println!("memory cap tripped: {}", vm.memory_exceeded());
    for msg in reports.borrow_mut().drain(..) {
        println!("  report: {msg}");
    }
    print!("{}", vm.take_output());
}
