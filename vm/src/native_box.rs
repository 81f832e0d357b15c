//! A one-word handle to a native object, so that `Value` stays two words.
//!
//! `Rc<dyn NativeObject>` is two words (address and vtable). Instead, every
//! native object lives in a `NativeBox`, whose first field is the fat
//! pointer to the object itself; `Value::Native` holds a `NativeHandle`,
//! the address of the box's `Rc` allocation alone, and finds the vtable in
//! the box. The typed side (`NativeRc<T>`, an ordinary `Rc<NativeBox<T>>`)
//! is what the scheduler and the stdlib keep in their fields, and reaches
//! the object's fields through `Deref`.
//!
//! ```text
//!  NativeHandle ──► ┌ strong ┬ weak ┬ this (fat) ┬ class ┬ obj: T ┐   (one Rc allocation)
//!                   └────────┴──────┴─────┼──────┴───────┴───▲────┘
//!                                         └──────────────────┘
//! ```
//!
//! `class` is the address of the object's class once a method lookup has
//! asked for it (`NativeHandle::class_key`): a native's class never
//! changes, and the method cache then finds it with a load instead of a
//! virtual call.
//!
//! Layout invariants, checked by the tests below: std's `Rc` allocation
//! starts with the strong count, then the weak count, then the value (the
//! same assumption `Value::rc_count` makes); the value of a `NativeBox<T>`
//! whose `T` is aligned to at most 8 bytes sits at offset `HEADER` (16)
//! in the allocation, and its `obj` at offset `OBJ` (24) in the box.

use std::mem::ManuallyDrop;
use std::ptr::NonNull;
use std::rc::{Rc, Weak};

use crate::value::NativeObject;

/// Offset of the value in an `Rc` allocation (after the two counts).
const HEADER: usize = 16;

/// Offset of `obj` in a `NativeBox` (after `this` and `class`).
const OBJ: usize = 24;

/// A native object and the fat pointer to it that a thin handle reads.
#[repr(C)]
pub struct NativeBox<T: ?Sized> {
    /// Points at `obj`, in this same allocation; set once, right after the
    /// box is placed in its `Rc`, and never changed.
    this: *const dyn NativeObject,
    /// `obj.class_addr()` once asked for, else 0.
    class: std::cell::Cell<usize>,
    obj: T,
}

// `NativeHandle` reads `class` at `HEADER + 16` and finds `obj` at `OBJ`.
const _: () = {
    assert!(std::mem::offset_of!(NativeBox<u64>, class) == 16);
    assert!(std::mem::offset_of!(NativeBox<u64>, obj) == OBJ);
};

/// The typed, owning side of a native object.
pub type NativeRc<T> = Rc<NativeBox<T>>;

impl<T: NativeObject> NativeBox<T> {
    /// Places `obj` in a new `Rc` allocation.
    pub fn new(obj: T) -> NativeRc<T> {
        const { assert!(std::mem::align_of::<T>() <= 8) };
        let mut rc = Rc::new(NativeBox {
            this: std::ptr::null::<T>() as *const dyn NativeObject,
            class: std::cell::Cell::new(0),
            obj,
        });
        let inner = Rc::get_mut(&mut rc).expect("a new Rc is unique");
        inner.this = &inner.obj as &dyn NativeObject as *const dyn NativeObject;
        rc
    }

    /// `Rc::new_cyclic` for a native object that keeps a weak reference to
    /// itself.
    pub fn new_cyclic(f: impl FnOnce(&Weak<NativeBox<T>>) -> T) -> NativeRc<T> {
        const { assert!(std::mem::align_of::<T>() <= 8) };
        let rc = Rc::new_cyclic(|w| NativeBox {
            this: std::ptr::null::<T>() as *const dyn NativeObject,
            class: std::cell::Cell::new(0),
            obj: f(w),
        });
        let this = &rc.obj as &dyn NativeObject as *const dyn NativeObject;
        // SAFETY: nothing reads `this` before the box is handed out, which
        // is after this write; the write goes through the allocation's
        // address, which `Rc` gives out as shared, but no reference to
        // the field exists at this point (weak handles do not read it).
        unsafe {
            let p = Rc::as_ptr(&rc) as *mut NativeBox<T>;
            std::ptr::addr_of_mut!((*p).this).write(this);
        }
        rc
    }
}

impl<T: ?Sized> std::ops::Deref for NativeBox<T> {
    type Target = T;
    #[inline(always)]
    fn deref(&self) -> &T {
        &self.obj
    }
}

/// A one-word, type-erased, counted reference to a native object: what
/// `Value::Native` holds.
pub struct NativeHandle {
    /// The `Rc` allocation: its first word is the strong count.
    ptr: NonNull<usize>,
}

impl NativeHandle {
    /// The fat pointer the box keeps to its object.
    #[inline(always)]
    fn this(&self) -> *const dyn NativeObject {
        // SAFETY: the allocation is live while a handle exists; `this`
        // is the box's first field, at `HEADER`.
        unsafe { *(self.ptr.as_ptr().cast::<u8>().add(HEADER) as *const *const dyn NativeObject) }
    }

    /// The `Rc` this handle stands for, without touching the counts: the
    /// caller must not drop it (hence `ManuallyDrop`).
    #[inline]
    fn as_rc(&self) -> ManuallyDrop<Rc<NativeBox<dyn NativeObject>>> {
        // The box's address is its object's minus `OBJ`, with the same
        // vtable (a `NativeBox<T>` and its `T` unsize to the same one).
        let boxp =
            self.this().cast_mut().wrapping_byte_sub(OBJ) as *const NativeBox<dyn NativeObject>;
        // SAFETY: `boxp` is the value pointer of a live `Rc` allocation of
        // a `NativeBox` (see `this`); the count this handle owns stays with
        // the handle.
        ManuallyDrop::new(unsafe { Rc::from_raw(boxp) })
    }

    fn from_rc(rc: Rc<NativeBox<dyn NativeObject>>) -> NativeHandle {
        let value = Rc::into_raw(rc) as *const u8;
        // SAFETY: the value of an `Rc` allocation of a box sits `HEADER`
        // bytes past its start (module invariants), so this is in bounds
        // and not null.
        NativeHandle {
            ptr: unsafe { NonNull::new_unchecked(value.sub(HEADER) as *mut usize) },
        }
    }

    /// The address of the object's class (`NativeObject::class_addr`),
    /// asked for once and then kept in the box: a method lookup's cache
    /// key, read without a virtual call.
    #[inline(always)]
    pub fn class_key(&self, vm: &crate::vm::Vm) -> usize {
        // SAFETY: the allocation is live while a handle exists; `class`
        // is the box's second field, `HEADER + 16` bytes in.
        let class = unsafe {
            &*(self.ptr.as_ptr().cast::<u8>().add(HEADER + 16) as *const std::cell::Cell<usize>)
        };
        match class.get() {
            0 => {
                let k = self.class_addr(vm);
                class.set(k);
                k
            }
            k => k,
        }
    }

    /// True when both handles refer to the same object.
    #[inline]
    pub fn ptr_eq(a: &NativeHandle, b: &NativeHandle) -> bool {
        a.ptr == b.ptr
    }

    /// The object's address, for `id()` and identity keys: the address
    /// of the `T` itself, which a native object's own `repr` shows.
    #[inline]
    pub fn addr(&self) -> usize {
        self.this() as *const u8 as usize
    }

    pub fn strong_count(this: &NativeHandle) -> usize {
        Rc::strong_count(&this.as_rc())
    }

    pub fn weak_count(this: &NativeHandle) -> usize {
        Rc::weak_count(&this.as_rc())
    }

    pub fn downgrade(this: &NativeHandle) -> NativeWeak {
        NativeWeak(Rc::downgrade(&this.as_rc()))
    }

    /// The typed `Rc` of the object, when it is a `T`.
    pub fn downcast<T: NativeObject>(&self) -> Option<NativeRc<T>> {
        if !self.as_any().is::<T>() {
            return None;
        }
        let value = Rc::into_raw(Rc::clone(&self.as_rc())) as *const NativeBox<T>;
        // SAFETY: the object is a `T`, so the allocation is an
        // `Rc<NativeBox<T>>`'s; the clone paid for this reference.
        Some(unsafe { Rc::from_raw(value) })
    }
}

impl<T: NativeObject> From<NativeRc<T>> for NativeHandle {
    #[inline]
    fn from(rc: NativeRc<T>) -> NativeHandle {
        NativeHandle::from_rc(rc)
    }
}

impl std::ops::Deref for NativeHandle {
    type Target = dyn NativeObject;
    #[inline(always)]
    fn deref(&self) -> &dyn NativeObject {
        // SAFETY: `this` points at the object of the live allocation.
        unsafe { &*self.this() }
    }
}

impl Clone for NativeHandle {
    #[inline]
    fn clone(&self) -> NativeHandle {
        let rc = self.as_rc();
        std::mem::forget(Rc::clone(&rc));
        NativeHandle { ptr: self.ptr }
    }
}

impl Drop for NativeHandle {
    fn drop(&mut self) {
        drop(ManuallyDrop::into_inner(self.as_rc()));
    }
}

/// A weak reference to a native object (the collector's list of natives).
pub struct NativeWeak(Weak<NativeBox<dyn NativeObject>>);

impl NativeWeak {
    pub fn upgrade(&self) -> Option<NativeHandle> {
        self.0.upgrade().map(NativeHandle::from_rc)
    }
    pub fn strong_count(&self) -> usize {
        self.0.strong_count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::{Class, PyResult, Value};
    use crate::vm::Vm;
    use std::cell::Cell;

    struct Probe(Rc<Cell<u32>>, u64);
    impl Drop for Probe {
        fn drop(&mut self) {
            self.0.set(self.0.get() + 1);
        }
    }
    impl NativeObject for Probe {
        fn class(&self, _vm: &Vm) -> Rc<Class> {
            unreachable!("not called by this test")
        }
        fn as_any(&self) -> &dyn std::any::Any {
            self
        }
        fn repr(&self, _vm: &mut Vm) -> PyResult<Option<String>> {
            Ok(Some(format!("probe {}", self.1)))
        }
    }

    #[test]
    fn handle_counts_derefs_downcasts_and_frees_once() {
        let drops = Rc::new(Cell::new(0));
        let typed = NativeBox::new(Probe(drops.clone(), 7));
        let h: NativeHandle = typed.clone().into();
        assert_eq!(std::mem::size_of::<NativeHandle>(), 8);
        assert_eq!(NativeHandle::strong_count(&h), 2);
        // The handle's first word is the strong count (`Value::rc_count`).
        assert_eq!(unsafe { *h.ptr.as_ptr() }, 2);
        let h2 = h.clone();
        assert_eq!(Rc::strong_count(&typed), 3);
        assert!(NativeHandle::ptr_eq(&h, &h2));
        assert_eq!(h.as_any().downcast_ref::<Probe>().map(|p| p.1), Some(7));
        let back = h.downcast::<Probe>().expect("a Probe");
        assert!(Rc::ptr_eq(&back, &typed));
        let w = NativeHandle::downgrade(&h);
        assert_eq!(NativeHandle::weak_count(&h), 1);
        drop((typed, back, h2));
        assert_eq!(drops.get(), 0);
        let v = Value::Native(h);
        drop(v);
        assert_eq!(drops.get(), 1);
        assert!(w.upgrade().is_none());
    }
}
