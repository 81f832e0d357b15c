//! `RcSlice<T>`: a reference-counted, immutable slice behind one word,
//! for tuples and bytes, so that `Value` stays two words (`Rc<[T]>` is an
//! address and a length).
//!
//! ```text
//!  RcSlice ──► ┌ strong ┬ len ┬ item 0 ┬ item 1 ┬ … ┐   (one allocation)
//!              └────────┴─────┴────────┴────────┴───┘
//! ```
//!
//! The first word is the strong count, as in std's `Rc`, so that
//! `Value::rc_count` treats every heap value alike. There are no weak
//! references to slices.

use std::alloc::Layout;
use std::marker::PhantomData;
use std::mem::ManuallyDrop;
use std::ptr::NonNull;

#[repr(C)]
struct Header {
    strong: usize,
    len: usize,
}

pub struct RcSlice<T> {
    ptr: NonNull<Header>,
    _owns: PhantomData<T>,
}

impl<T> RcSlice<T> {
    /// Offset of the first item: the header, rounded up to `T`'s alignment.
    const ITEMS: usize = {
        let h = std::mem::size_of::<Header>();
        let a = std::mem::align_of::<T>();
        h.div_ceil(a) * a
    };

    fn layout(len: usize) -> Layout {
        let items = Layout::array::<T>(len).expect("slice length fits the address space");
        let (layout, at) = Layout::new::<Header>()
            .extend(items)
            .expect("slice length fits the address space");
        debug_assert_eq!(at, Self::ITEMS);
        layout.pad_to_align()
    }

    #[inline(always)]
    fn items(&self) -> *mut T {
        // SAFETY: the items start `ITEMS` bytes into the allocation.
        unsafe { self.ptr.as_ptr().cast::<u8>().add(Self::ITEMS).cast::<T>() }
    }

    /// A new allocation for `len` items, its header saying `len` and its
    /// items not yet written.
    fn alloc(len: usize) -> RcSlice<T> {
        let layout = Self::layout(len);
        // SAFETY: the layout is never zero-sized (it holds the header).
        let raw = unsafe { std::alloc::alloc(layout) } as *mut Header;
        let Some(ptr) = NonNull::new(raw) else {
            std::alloc::handle_alloc_error(layout)
        };
        // SAFETY: a fresh allocation, large enough for the header.
        unsafe { ptr.as_ptr().write(Header { strong: 1, len }) };
        RcSlice {
            ptr,
            _owns: PhantomData,
        }
    }

    /// Moves `v`'s items into a new allocation.
    pub fn from_vec(mut v: Vec<T>) -> RcSlice<T> {
        let s = Self::alloc(v.len());
        // SAFETY: room for `len` items, into which `v`'s items move (and
        // `v` forgets them).
        unsafe {
            std::ptr::copy_nonoverlapping(v.as_ptr(), s.items(), v.len());
            v.set_len(0);
        }
        s
    }

    /// Moves the items of an iterator that knows its length (a stack's
    /// `drain`) straight into a new allocation.
    pub fn from_exact<I: ExactSizeIterator<Item = T>>(it: I) -> RcSlice<T> {
        let len = it.len();
        let s = ManuallyDrop::new(Self::alloc(len));
        let mut n = 0;
        for item in it.take(len) {
            // SAFETY: `n < len`: in the allocation's room.
            unsafe { s.items().add(n).write(item) };
            n += 1;
        }
        if n < len {
            // An iterator that yielded fewer items than it said: keep the
            // ones written, and free the allocation.
            // SAFETY: the first `n` items are initialised and are moved
            // out once; the allocation is freed with its layout.
            let v = unsafe {
                let v = (0..n).map(|i| s.items().add(i).read()).collect();
                std::alloc::dealloc(s.ptr.as_ptr().cast(), Self::layout(len));
                v
            };
            return Self::from_vec(v);
        }
        ManuallyDrop::into_inner(s)
    }

    #[inline]
    pub fn ptr_eq(a: &RcSlice<T>, b: &RcSlice<T>) -> bool {
        a.ptr == b.ptr
    }

    pub fn strong_count(this: &RcSlice<T>) -> usize {
        // SAFETY: the header is live while a reference exists.
        unsafe { (*this.ptr.as_ptr()).strong }
    }

    /// The address of the allocation, for `id()` and identity keys.
    #[inline]
    pub fn as_ptr(this: &RcSlice<T>) -> *const u8 {
        this.ptr.as_ptr() as *const u8
    }
}

impl<T> std::ops::Deref for RcSlice<T> {
    type Target = [T];
    #[inline(always)]
    fn deref(&self) -> &[T] {
        // SAFETY: `len` initialised items follow the header, shared and
        // never mutated after creation.
        unsafe { std::slice::from_raw_parts(self.items(), (*self.ptr.as_ptr()).len) }
    }
}

impl<T> Clone for RcSlice<T> {
    #[inline]
    fn clone(&self) -> RcSlice<T> {
        // SAFETY: single-threaded (not `Send`); the header is live.
        unsafe { (*self.ptr.as_ptr()).strong += 1 };
        RcSlice {
            ptr: self.ptr,
            _owns: PhantomData,
        }
    }
}

impl<T> Drop for RcSlice<T> {
    fn drop(&mut self) {
        // SAFETY: the header is live until the last reference frees it,
        // which is this one when the count falls to zero; the items are
        // dropped once, then the allocation freed with its layout.
        unsafe {
            let h = self.ptr.as_ptr();
            (*h).strong -= 1;
            if (*h).strong == 0 {
                // From the last item, as CPython's `tupledealloc` releases
                // a tuple's items (the order generators freed with it run
                // their `finally` blocks).
                let len = (*h).len;
                for i in (0..len).rev() {
                    std::ptr::drop_in_place(self.items().add(i));
                }
                std::alloc::dealloc(h.cast(), Self::layout(len));
            }
        }
    }
}

impl<T> From<Vec<T>> for RcSlice<T> {
    fn from(v: Vec<T>) -> RcSlice<T> {
        RcSlice::from_vec(v)
    }
}

impl<T: Clone> From<&[T]> for RcSlice<T> {
    fn from(s: &[T]) -> RcSlice<T> {
        RcSlice::from_exact(s.iter().cloned())
    }
}

impl<T> FromIterator<T> for RcSlice<T> {
    fn from_iter<I: IntoIterator<Item = T>>(it: I) -> RcSlice<T> {
        RcSlice::from_vec(it.into_iter().collect())
    }
}

impl<T: PartialEq> PartialEq for RcSlice<T> {
    fn eq(&self, other: &RcSlice<T>) -> bool {
        **self == **other
    }
}

impl<T: Eq> Eq for RcSlice<T> {}

impl<T: std::hash::Hash> std::hash::Hash for RcSlice<T> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        (**self).hash(state)
    }
}

impl<T: std::fmt::Debug> std::fmt::Debug for RcSlice<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        (**self).fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::rc::Rc;

    #[test]
    fn one_word_shared_and_dropped_once() {
        assert_eq!(std::mem::size_of::<RcSlice<u8>>(), 8);
        let marker = Rc::new(());
        let s: RcSlice<Rc<()>> = vec![marker.clone(), marker.clone()].into();
        let t = s.clone();
        assert_eq!(RcSlice::strong_count(&s), 2);
        assert!(RcSlice::ptr_eq(&s, &t));
        assert_eq!(t.len(), 2);
        assert_eq!(Rc::strong_count(&marker), 3);
        drop(s);
        assert_eq!(Rc::strong_count(&marker), 3);
        drop(t);
        assert_eq!(Rc::strong_count(&marker), 1);
        let empty: RcSlice<u8> = Vec::new().into();
        assert!(empty.is_empty());
        let bytes: RcSlice<u8> = (&b"abc"[..]).into();
        assert_eq!(&bytes[..], b"abc");
    }
}
