//! The `time` module.
//!
//! Every clock is read through one small function below (`wall_ns`,
//! `monotonic_ns`, `perf_ns`, `process_ns`) and sleeping goes through
//! `sleep_for`, so a virtual clock (`--virtual-time`) can replace them in
//! one place.

use std::sync::OnceLock;
use std::time::Instant;

use covm_vm::Vm;
use covm_vm::value::*;

use crate::args::*;
use crate::modules::func;

/// Nanoseconds since the Unix epoch, from the VM's clock (virtual under
/// `--virtual-time`).
pub fn wall_ns(vm: &Vm) -> i128 {
    (vm.clock.wall() * 1e9) as i128
}

/// Monotonic nanoseconds (never goes back), from the VM's clock.
pub fn monotonic_ns(vm: &Vm) -> u128 {
    (vm.clock.monotonic() * 1e9) as u128
}

/// The performance counter: the monotonic clock, as on Linux CPython.
pub fn perf_ns(vm: &Vm) -> u128 {
    monotonic_ns(vm)
}

fn process_base() -> &'static Instant {
    static BASE: OnceLock<Instant> = OnceLock::new();
    BASE.get_or_init(Instant::now)
}

/// CPU time of the process in nanoseconds.
pub fn process_ns() -> u128 {
    if let Ok(s) = std::fs::read_to_string("/proc/self/schedstat")
        && let Some(Ok(ns)) = s.split_whitespace().next().map(str::parse::<u128>)
    {
        return ns;
    }
    process_base().elapsed().as_nanos()
}

/// Blocks the whole VM for `secs` seconds (or moves virtual time on).
pub fn sleep_for(vm: &mut Vm, secs: f64) -> PyResult<()> {
    if !(secs.is_finite() && secs > 0.0) {
        return Ok(());
    }
    if vm.clock.is_virtual() {
        vm.clock.sleep(secs);
        return Ok(());
    }
    // Sleep in slices so Ctrl-C interrupts a long sleep promptly.
    let mut left = secs;
    while left > 0.0 {
        let slice = left.min(0.05);
        vm.clock.sleep(slice);
        left -= slice;
        vm.check_interrupt()?;
    }
    Ok(())
}

fn secs(ns: u128) -> Value {
    Value::Float(ns as f64 / 1e9)
}

fn no_args(vm: &Vm, name: &str, args: &[Value], kw: &KwArgs) -> PyResult<()> {
    no_kwargs(vm, name, kw)?;
    check_count(vm, name, args, 0, 0)
}

fn t_time(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    no_args(vm, "time", args, kw)?;
    Ok(Value::Float(wall_ns(vm) as f64 / 1e9))
}

fn t_time_ns(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    no_args(vm, "time_ns", args, kw)?;
    Ok(Value::Int(wall_ns(vm) as i64))
}

fn t_monotonic(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    no_args(vm, "monotonic", args, kw)?;
    Ok(secs(monotonic_ns(vm)))
}

fn t_monotonic_ns(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    no_args(vm, "monotonic_ns", args, kw)?;
    Ok(Value::Int(monotonic_ns(vm) as i64))
}

fn t_perf_counter(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    no_args(vm, "perf_counter", args, kw)?;
    Ok(secs(perf_ns(vm)))
}

fn t_perf_counter_ns(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    no_args(vm, "perf_counter_ns", args, kw)?;
    Ok(Value::Int(perf_ns(vm) as i64))
}

fn t_process_time(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    no_args(vm, "process_time", args, kw)?;
    Ok(secs(process_ns()))
}

fn t_process_time_ns(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    no_args(vm, "process_time_ns", args, kw)?;
    Ok(Value::Int(process_ns() as i64))
}

fn t_sleep(vm: &mut Vm, args: &[Value], kw: &KwArgs) -> PyResult<Value> {
    no_kwargs(vm, "sleep", kw)?;
    if args.len() != 1 {
        return Err(vm.type_error(&format!(
            "time.sleep() takes exactly one argument ({} given)",
            args.len()
        )));
    }
    let s = match &args[0] {
        Value::Float(f) => *f,
        Value::Int(i) => *i as f64,
        Value::Bool(b) => *b as i64 as f64,
        Value::BigInt(_) => {
            return Err(vm.overflow_error("timestamp too large to convert to C _PyTime_t"));
        }
        other => {
            let msg = format!(
                "'{}' object cannot be interpreted as an integer",
                vm.type_name(other)
            );
            return Err(vm.type_error(&msg));
        }
    };
    if s.is_nan() {
        return Err(vm.value_error("Invalid value NaN (not a number)"));
    }
    if s < 0.0 {
        return Err(vm.value_error("sleep length must be non-negative"));
    }
    sleep_for(vm, s)?;
    Ok(Value::None)
}

pub fn init(vm: &mut Vm) -> PyResult<Value> {
    let m = vm.new_module("time");
    let fns: &[(&str, NativeFn)] = &[
        ("time", t_time),
        ("time_ns", t_time_ns),
        ("monotonic", t_monotonic),
        ("monotonic_ns", t_monotonic_ns),
        ("perf_counter", t_perf_counter),
        ("perf_counter_ns", t_perf_counter_ns),
        ("process_time", t_process_time),
        ("process_time_ns", t_process_time_ns),
        ("sleep", t_sleep),
    ];
    for (name, f) in fns {
        func(vm, &m, name, *f);
    }
    crate::mod_time_struct::install(vm, &m);
    Ok(Value::Module(m))
}
