//! Conversions between Rust values and covm values.
//!
//! Both traits raise a covm exception (`TypeError`, `OverflowError`) when
//! the value does not fit, so a host function called with the wrong
//! argument fails the way a Python built-in does.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use covm_vm::Vm as RawVm;
use covm_vm::value::{PyResult, Value};

/// A Rust value that can become a covm value.
pub trait IntoValue {
    /// Converts `self`; the error is a covm exception.
    fn into_value(self, vm: &mut RawVm) -> PyResult<Value>;
}

/// A Rust value that can be read from a covm value.
pub trait FromValue: Sized {
    /// Converts `v`; the error is a covm exception (`TypeError`, …).
    fn from_value(v: &Value, vm: &mut RawVm) -> PyResult<Self>;
}

fn mismatch(vm: &mut RawVm, want: &str, v: &Value) -> Value {
    let msg = format!("expected {want}, got '{}'", vm.type_name(v));
    vm.type_error(&msg)
}

impl IntoValue for Value {
    fn into_value(self, _: &mut RawVm) -> PyResult<Value> {
        Ok(self)
    }
}

impl FromValue for Value {
    fn from_value(v: &Value, _: &mut RawVm) -> PyResult<Self> {
        Ok(v.clone())
    }
}

impl IntoValue for () {
    fn into_value(self, _: &mut RawVm) -> PyResult<Value> {
        Ok(Value::None)
    }
}

impl FromValue for () {
    fn from_value(_: &Value, _: &mut RawVm) -> PyResult<Self> {
        Ok(())
    }
}

macro_rules! int_conv {
    ($($t:ty),*) => {$(
        impl IntoValue for $t {
            fn into_value(self, vm: &mut RawVm) -> PyResult<Value> {
                match i64::try_from(self) {
                    Ok(i) => Ok(Value::Int(i)),
                    Err(_) => Err(vm.new_exc(&vm.exc.overflow_error.clone(), "int too large")),
                }
            }
        }
        impl FromValue for $t {
            fn from_value(v: &Value, vm: &mut RawVm) -> PyResult<Self> {
                let i = match v {
                    Value::Int(i) => *i,
                    Value::Bool(b) => *b as i64,
                    other => return Err(mismatch(vm, "int", other)),
                };
                <$t>::try_from(i).map_err(|_| {
                    let msg = format!("int {i} out of range for {}", stringify!($t));
                    vm.new_exc(&vm.exc.overflow_error.clone(), &msg)
                })
            }
        }
    )*};
}
int_conv!(i64, i32, u32, usize, u64, i16, u16, u8, i8);

impl IntoValue for f64 {
    fn into_value(self, _: &mut RawVm) -> PyResult<Value> {
        Ok(Value::Float(self))
    }
}

impl FromValue for f64 {
    fn from_value(v: &Value, vm: &mut RawVm) -> PyResult<Self> {
        match v {
            Value::Float(f) => Ok(*f),
            Value::Int(i) => Ok(*i as f64),
            Value::Bool(b) => Ok(*b as i64 as f64),
            other => Err(mismatch(vm, "float", other)),
        }
    }
}

impl IntoValue for bool {
    fn into_value(self, _: &mut RawVm) -> PyResult<Value> {
        Ok(Value::Bool(self))
    }
}

impl FromValue for bool {
    /// Python truthiness: any value converts.
    fn from_value(v: &Value, vm: &mut RawVm) -> PyResult<Self> {
        vm.truthy(v)
    }
}

impl IntoValue for String {
    fn into_value(self, _: &mut RawVm) -> PyResult<Value> {
        Ok(Value::str(self))
    }
}

impl IntoValue for &str {
    fn into_value(self, _: &mut RawVm) -> PyResult<Value> {
        Ok(Value::str(self))
    }
}

impl FromValue for String {
    fn from_value(v: &Value, vm: &mut RawVm) -> PyResult<Self> {
        match v {
            Value::Str(s) => Ok(s.as_str().to_string()),
            other => Err(mismatch(vm, "str", other)),
        }
    }
}

impl<T: IntoValue> IntoValue for Option<T> {
    fn into_value(self, vm: &mut RawVm) -> PyResult<Value> {
        match self {
            Some(v) => v.into_value(vm),
            None => Ok(Value::None),
        }
    }
}

impl<T: FromValue> FromValue for Option<T> {
    /// `None` is `None`; anything else converts as `T`.
    fn from_value(v: &Value, vm: &mut RawVm) -> PyResult<Self> {
        match v {
            Value::None => Ok(None),
            other => T::from_value(other, vm).map(Some),
        }
    }
}

impl<T: IntoValue> IntoValue for Vec<T> {
    /// A list.
    fn into_value(self, vm: &mut RawVm) -> PyResult<Value> {
        let items = self
            .into_iter()
            .map(|x| x.into_value(vm))
            .collect::<PyResult<Vec<_>>>()?;
        Ok(Value::list(items))
    }
}

impl<T: FromValue> FromValue for Vec<T> {
    /// From a list or a tuple.
    fn from_value(v: &Value, vm: &mut RawVm) -> PyResult<Self> {
        let items: Vec<Value> = match v {
            Value::List(l) => l.borrow().clone(),
            Value::Tuple(t) => t.to_vec(),
            other => return Err(mismatch(vm, "list", other)),
        };
        items.iter().map(|x| T::from_value(x, vm)).collect()
    }
}

impl<T: IntoValue> IntoValue for HashMap<String, T> {
    /// A dict with str keys (in the map's iteration order).
    fn into_value(self, vm: &mut RawVm) -> PyResult<Value> {
        let d = Rc::new(RefCell::new(covm_vm::dict::Dict::new()));
        for (k, v) in self {
            let v = v.into_value(vm)?;
            covm_vm::dict::set(vm, &d, Value::str(k), v)?;
        }
        Ok(Value::Dict(d))
    }
}

impl<T: FromValue> FromValue for HashMap<String, T> {
    /// From a dict whose keys are all str.
    fn from_value(v: &Value, vm: &mut RawVm) -> PyResult<Self> {
        let items = match v {
            Value::Dict(d) => d.borrow().items(),
            other => return Err(mismatch(vm, "dict", other)),
        };
        let mut out = HashMap::with_capacity(items.len());
        for (k, v) in items {
            out.insert(String::from_value(&k, vm)?, T::from_value(&v, vm)?);
        }
        Ok(out)
    }
}

impl<T: IntoValue, E: std::fmt::Display> IntoValue for Result<T, E> {
    /// `Err(e)` raises `RuntimeError(str(e))` in the script.
    fn into_value(self, vm: &mut RawVm) -> PyResult<Value> {
        match self {
            Ok(v) => v.into_value(vm),
            Err(e) => Err(vm.runtime_error(&e.to_string())),
        }
    }
}

macro_rules! tuple_conv {
    ($n:expr; $($t:ident $i:tt),*) => {
        impl<$($t: IntoValue),*> IntoValue for ($($t,)*) {
            /// A tuple.
            fn into_value(self, vm: &mut RawVm) -> PyResult<Value> {
                Ok(Value::tuple(vec![$(self.$i.into_value(vm)?),*]))
            }
        }
        impl<$($t: FromValue),*> FromValue for ($($t,)*) {
            /// From a tuple or list of exactly this length.
            fn from_value(v: &Value, vm: &mut RawVm) -> PyResult<Self> {
                let items: Vec<Value> = match v {
                    Value::Tuple(t) => t.to_vec(),
                    Value::List(l) => l.borrow().clone(),
                    other => return Err(mismatch(vm, "tuple", other)),
                };
                if items.len() != $n {
                    let msg = format!("expected a tuple of {} items, got {}", $n, items.len());
                    return Err(vm.type_error(&msg));
                }
                Ok(($($t::from_value(&items[$i], vm)?,)*))
            }
        }
    };
}
tuple_conv!(1; A 0);
tuple_conv!(2; A 0, B 1);
tuple_conv!(3; A 0, B 1, C 2);
tuple_conv!(4; A 0, B 1, C 2, D 3);
