//! Values and heap objects.
//!
//! Every heap object is reference counted (`Rc`), so an object is freed when
//! its last reference goes, as in CPython. Reference cycles (a list that
//! contains itself, an instance whose attribute points back at it, a
//! generator whose frame holds the generator) are found and freed by the
//! cycle collector (gc.rs), which tracks containers from their creation:
//! `Value::list`, `Value::dict` and friends register them.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::rc::Rc;

use num_bigint::BigInt;

use crate::code::Code;
use crate::dict::Dict;
use crate::frame::{Frame, FrameBox};
pub use crate::gen_rc::GenRc;
pub use crate::native_box::{NativeBox, NativeHandle, NativeRc, NativeWeak};
pub use crate::rc_slice::RcSlice;
use crate::vm::Vm;

pub type PyResult<T> = Result<T, Value>;

/// Keyword arguments as passed to a native function.
pub type KwArgs = [(Rc<str>, Value)];

/// A native function: the VM, positional arguments (for a method, `self` is
/// the first), keyword arguments.
pub type NativeFn = fn(&mut Vm, &[Value], &KwArgs) -> PyResult<Value>;

/// A name → value namespace (module globals, instance and class attributes).
pub type Namespace = indexmap::IndexMap<Rc<str>, Value, rustc_hash::FxBuildHasher>;

/// A namespace lookup key for a name the compiler interned (`code.names`):
/// hashes as the `str` does, and compares the address before the bytes, so
/// a hit on a key stored under the same interned name costs no `memcmp`.
pub struct NameKey<'a>(pub &'a Rc<str>);

impl std::hash::Hash for NameKey<'_> {
    #[inline]
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        // Must equal `Rc<str>`'s hash, which is the `str`'s.
        (**self.0).hash(state)
    }
}

impl indexmap::Equivalent<Rc<str>> for NameKey<'_> {
    #[inline]
    fn equivalent(&self, key: &Rc<str>) -> bool {
        Rc::ptr_eq(self.0, key) || **self.0 == **key
    }
}

/// `repr(u64)`: a one-word kind, then every variant's field at offset 8.
/// The immediates come first, so that the kind says whether a value holds
/// an `Rc` (`is_heap`); `clone` and the dispatch loop's
/// `heap_clone`/`heap_drop` then adjust the reference count in place
/// without a jump on the kind (see `rc_count`). The kind is a whole word,
/// not a byte, for the moves: LLVM moves an enum as its tag plus the rest
/// as a byte blob, and with a one-byte tag that blob starts at offset 1,
/// so every move of a value went through unaligned, overlapping stack
/// temporaries that stall store forwarding (a fifth of the round-robin
/// workload's time).
#[derive(Default)]
#[repr(u64)]
pub enum Value {
    /// Not a Python value: marks an unbound local and the empty slot of a
    /// method call (`LOAD_METHOD`). Never visible to a program.
    #[default]
    Undef,
    None,
    NotImplemented,
    Ellipsis,
    Bool(bool),
    Int(i64),
    Float(f64),
    // Values holding an `Rc` from here (`FIRST_HEAP_KIND`).
    /// Only for values outside the i64 range: arithmetic results are
    /// normalised back to `Int` whenever they fit.
    BigInt(Rc<BigInt>),
    Str(Rc<PyStr>),
    List(Rc<RefCell<ListItems>>),
    Dict(Rc<RefCell<Dict>>),
    Set(Rc<RefCell<Dict>>),
    FrozenSet(Rc<RefCell<Dict>>),
    Range(Rc<RangeObj>),
    Slice(Rc<SliceObj>),
    Function(Rc<Function>),
    Builtin(Rc<Builtin>),
    BoundMethod(Rc<BoundMethod>),
    Class(Rc<Class>),
    Instance(Rc<Instance>),
    Generator(GenRc),
    Module(Rc<Module>),
    Iterator(Rc<RefCell<IterState>>),
    Property(Rc<Property>),
    StaticMethod(Rc<Value>),
    ClassMethod(Rc<Value>),
    Super(Rc<SuperObj>),
    Cell(Rc<RefCell<Value>>),
    Code(Rc<Code>),
    Bytes(RcSlice<u8>),
    Tuple(RcSlice<Value>),
    /// An object defined by the stdlib (deque, file, task, …).
    Native(NativeHandle),
}

/// The kind (first word) of `Value::BigInt`, the first variant holding an
/// `Rc`: every later one holds one too.
const FIRST_HEAP_KIND: u64 = 7;

impl Clone for Value {
    #[inline(always)]
    fn clone(&self) -> Value {
        self.fast_clone()
    }
}

/// A list's items. A `Vec` that drops its items from the last, as
/// CPython's `list_dealloc` releases them: the `finally` blocks of
/// generators freed with a list then run in CPython's order.
#[derive(Default)]
pub struct ListItems(pub Vec<Value>);

impl Drop for ListItems {
    fn drop(&mut self) {
        release_from_last(&mut self.0);
    }
}

/// Empties `v` from its last item, as CPython releases a list's items
/// (dealloc, `clear`, slice deletion).
pub fn release_from_last(v: &mut Vec<Value>) {
    while let Some(x) = v.pop() {
        drop(x);
    }
}

impl std::ops::Deref for ListItems {
    type Target = Vec<Value>;
    #[inline(always)]
    fn deref(&self) -> &Vec<Value> {
        &self.0
    }
}

impl std::ops::DerefMut for ListItems {
    #[inline(always)]
    fn deref_mut(&mut self) -> &mut Vec<Value> {
        &mut self.0
    }
}

impl From<Vec<Value>> for ListItems {
    fn from(v: Vec<Value>) -> ListItems {
        ListItems(v)
    }
}

/// The drop of a value's last reference, which frees the object: out of
/// line, since it runs the kind's drop glue.
#[inline(never)]
fn drop_last(v: Value) {
    drop(v)
}

/// A Python `str`: UTF-8 text plus a flag that makes indexing O(1) when
/// every character is ASCII.
pub struct PyStr {
    pub s: Box<str>,
    pub ascii: bool,
}

impl PyStr {
    pub fn new(s: impl Into<Box<str>>) -> PyStr {
        let s = s.into();
        let ascii = s.is_ascii();
        PyStr { s, ascii }
    }
    pub fn as_str(&self) -> &str {
        &self.s
    }
    /// Length in code points, as Python counts.
    pub fn char_len(&self) -> usize {
        if self.ascii {
            self.s.len()
        } else {
            self.s.chars().count()
        }
    }
}

pub struct RangeObj {
    pub start: i64,
    pub stop: i64,
    pub step: i64,
}

impl RangeObj {
    pub fn len(&self) -> i64 {
        let (lo, hi, step) = (self.start as i128, self.stop as i128, self.step as i128);
        let n = if step > 0 {
            if lo < hi { (hi - lo - 1) / step + 1 } else { 0 }
        } else if lo > hi {
            (lo - hi - 1) / (-step) + 1
        } else {
            0
        };
        // Saturates: a range may hold more than i64::MAX items.
        n.min(i64::MAX as i128) as i64
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    pub fn get(&self, i: i64) -> i64 {
        self.start + i * self.step
    }
}

pub struct SliceObj {
    pub start: Value,
    pub stop: Value,
    pub step: Value,
}

pub struct Function {
    pub code: Rc<Code>,
    pub globals: Rc<Module>,
    pub defaults: Vec<Value>,
    pub kwdefaults: Vec<(Rc<str>, Value)>,
    pub closure: Vec<Rc<RefCell<Value>>>,
    pub name: RefCell<Rc<str>>,
    pub qualname: RefCell<Rc<str>>,
    /// Attributes set on the function (`f.calls = 0`, `__wrapped__`, `__doc__`).
    pub dict: RefCell<Namespace>,
}

/// Built-in operations the interpreter performs itself instead of calling
/// the native function, so that resuming a generator never recurses on the
/// Rust stack.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Special {
    None,
    /// `next(it[, default])`
    Next,
    /// `gen.__next__()`
    GenNext,
    /// `gen.send(v)`
    GenSend,
    /// `gen.throw(...)`
    GenThrow,
    /// `gen.close()`
    GenClose,
}

pub struct Builtin {
    pub name: Rc<str>,
    pub func: NativeFn,
    /// Bound receiver for module-level natives that need one (e.g. a method
    /// of a native object); passed as the first argument.
    pub receiver: Option<Value>,
    pub special: Special,
}

pub struct BoundMethod {
    pub receiver: Value,
    pub func: Value,
}

thread_local! {
    /// Bumped whenever any class's dict is created or changed: method
    /// caches keyed by it stay valid exactly while no class changes.
    static CLASS_EPOCH: Cell<u64> = const { Cell::new(1) };
}

/// The current class epoch (see `ClassDict`).
#[inline]
pub fn class_epoch() -> u64 {
    CLASS_EPOCH.with(|e| e.get())
}

fn bump_class_epoch() {
    CLASS_EPOCH.with(|e| e.set(e.get().wrapping_add(1)));
}

/// A class's attribute dict. Creating one or borrowing it mutably bumps
/// the class epoch, which invalidates every method cache.
#[derive(Default)]
pub struct ClassDict {
    map: RefCell<Namespace>,
    /// `(class epoch, answer)` of `Vm::plain_setattr` for this class.
    plain_setattr: Cell<(u64, bool)>,
}

impl ClassDict {
    pub fn new(map: Namespace) -> ClassDict {
        bump_class_epoch();
        ClassDict {
            map: RefCell::new(map),
            plain_setattr: Cell::new((u64::MAX, false)),
        }
    }
    /// The cached `plain_setattr` answer, if no class changed since.
    #[inline]
    pub fn plain_setattr_cached(&self, epoch: u64) -> Option<bool> {
        let (e, v) = self.plain_setattr.get();
        (e == epoch).then_some(v)
    }
    pub fn cache_plain_setattr(&self, epoch: u64, v: bool) {
        self.plain_setattr.set((epoch, v));
    }
    #[inline]
    pub fn borrow(&self) -> std::cell::Ref<'_, Namespace> {
        self.map.borrow()
    }
    #[inline]
    pub fn borrow_mut(&self) -> std::cell::RefMut<'_, Namespace> {
        bump_class_epoch();
        self.map.borrow_mut()
    }
    pub fn try_borrow(&self) -> Option<std::cell::Ref<'_, Namespace>> {
        self.map.try_borrow().ok()
    }
    pub fn try_borrow_mut(&self) -> Option<std::cell::RefMut<'_, Namespace>> {
        bump_class_epoch();
        self.map.try_borrow_mut().ok()
    }
}

pub struct Class {
    pub name: Rc<str>,
    pub qualname: Rc<str>,
    /// The first base (`__base__`); `None` only for `object`.
    pub base: Option<Rc<Class>>,
    /// All bases, in order (`__bases__`).
    pub bases: Vec<Rc<Class>>,
    /// The method resolution order after the class itself (C3
    /// linearisation), computed once when the class is created.
    pub mro: Vec<Rc<Class>>,
    /// Direct subclasses, for `__subclasses__()`.
    pub subclasses: RefCell<Vec<std::rc::Weak<Class>>>,
    pub dict: ClassDict,
    /// Set on the built-in types: which kind of value an instance is.
    pub builtin: Option<BuiltinType>,
    /// Constructs a value of a built-in type (`int(x)`, `list(it)`).
    pub native_new: Cell<Option<NativeFn>>,
    pub module: Rc<str>,
    /// `Vm::fast_instantiate`'s memo: at this class epoch, the `__init__`
    /// a call of the class runs on a new plain instance, or null when a
    /// call of it is not that simple. The class's dict holds the function
    /// as long as the epoch stands, so the pointer owns nothing.
    pub plain_init: Cell<(u64, *const Function)>,
}

impl Class {
    /// `bases` and `mro` for a class with at most one base.
    pub fn single_base(base: Option<&Rc<Class>>) -> (Vec<Rc<Class>>, Vec<Rc<Class>>) {
        match base {
            None => (Vec::new(), Vec::new()),
            Some(b) => {
                let mut mro = vec![b.clone()];
                mro.extend(b.mro.iter().cloned());
                (vec![b.clone()], mro)
            }
        }
    }

    /// A class defined by the VM or the stdlib with one base, such as an
    /// exception type of a module (`json.JSONDecodeError`).
    pub fn native(name: &str, module: &str, base: &Rc<Class>, builtin: BuiltinType) -> Rc<Class> {
        let (bases, mro) = Class::single_base(Some(base));
        Rc::new(Class {
            name: Rc::from(name),
            qualname: Rc::from(name),
            base: Some(base.clone()),
            bases,
            mro,
            subclasses: Default::default(),
            dict: ClassDict::new(Namespace::default()),
            builtin: Some(builtin),
            native_new: Cell::new(None),
            module: Rc::from(module),
            plain_init: Cell::new((0, std::ptr::null())),
        })
    }
}

/// The built-in types a value can be an instance of.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub enum BuiltinType {
    Object,
    Type,
    NoneType,
    NotImplementedType,
    Ellipsis,
    Bool,
    Int,
    Float,
    Str,
    Bytes,
    List,
    Tuple,
    Dict,
    Set,
    FrozenSet,
    Range,
    Slice,
    Function,
    BuiltinFunction,
    Method,
    Generator,
    Coroutine,
    AsyncGenerator,
    Module,
    Iterator,
    Property,
    StaticMethod,
    ClassMethod,
    Super,
    Cell,
    Code,
    BaseException,
    Native,
}

pub struct Instance {
    pub class: Rc<Class>,
    pub dict: RefCell<crate::attrs::Attrs>,
    /// Traceback entries of an exception instance, innermost first.
    pub traceback: RefCell<thin_vec::ThinVec<TbEntry>>,
    /// The collector's note of where this instance sits in a running
    /// collection (see `gc::Mark`).
    pub gc_mark: crate::tracking::Mark,
}

impl Drop for Instance {
    fn drop(&mut self) {
        crate::tracking::instance_freed(self);
        let tb = self.traceback.get_mut();
        if tb.capacity() != 0 {
            give_back_traceback(std::mem::take(tb));
        }
    }
}

thread_local! {
    /// Emptied traceback vectors of freed exceptions, for the next
    /// exceptions' first entries: an exception raised and caught in a loop
    /// (`throw()` into a generator, `close()`) then allocates nothing for
    /// its traceback.
    static TB_POOL: RefCell<Vec<thin_vec::ThinVec<TbEntry>>> = const { RefCell::new(Vec::new()) };
}

/// How many vectors `TB_POOL` keeps, and the largest it takes back.
const TB_POOL_MAX: usize = 16;
const TB_POOL_MAX_CAP: usize = 16;

#[inline(never)]
fn give_back_traceback(mut tb: thin_vec::ThinVec<TbEntry>) {
    if tb.capacity() > TB_POOL_MAX_CAP {
        return;
    }
    // Entries hold code objects and text, never values: clearing them runs
    // no covm code.
    tb.clear();
    TB_POOL.with(|p| {
        if let Ok(mut p) = p.try_borrow_mut()
            && p.len() < TB_POOL_MAX
        {
            p.push(tb);
        }
    });
}

impl Instance {
    /// Records a frame the exception passed through (innermost first).
    pub fn push_traceback(&self, entry: TbEntry) {
        let mut tb = self.traceback.borrow_mut();
        if tb.capacity() == 0
            && let Some(v) = TB_POOL.with(|p| p.try_borrow_mut().ok().and_then(|mut p| p.pop()))
        {
            *tb = v;
        }
        tb.push(entry);
    }
}

/// One frame an exception passed through.
#[derive(Clone)]
pub struct TbEntry {
    pub code: Rc<Code>,
    /// The instruction that was executing.
    pub ip: usize,
    /// For a generator or coroutine frame: how it had been resumed.
    pub resumed_by: Option<ResumedBy>,
}

/// How a generator frame in a traceback had been resumed (`resumer.rs`).
#[derive(Clone)]
pub enum ResumedBy {
    /// Known when the exception passed: "a for loop", a task's step.
    Text(std::borrow::Cow<'static, str>),
    /// A built-in called by the instruction at `ip` of `code`: its name is
    /// read from the source only when the traceback is shown, not on every
    /// exception leaving such a frame.
    Call { code: Rc<Code>, ip: usize },
}

/// The state of a generator or coroutine. It is kept in one place, the
/// generator object; the frame does not know it.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum GenState {
    Created,
    Running,
    Suspended,
    Closed,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum GenKind {
    Generator,
    Coroutine,
    AsyncGenerator,
}

/// A generator, coroutine or async generator object. It lives in a
/// `GenRc` block, with its frame embedded after it (`gen_rc.rs`).
pub struct Generator {
    pub kind: GenKind,
    /// Registered with the cycle collector (it has a `GenWeak` entry),
    /// which happens when it first suspends or when a collection finds it
    /// alive through a registered object: one that never suspends holds
    /// nothing it did not get at its creation, and most never do (an
    /// awaited coroutine that returns at once), so they cost the collector
    /// nothing.
    pub tracked: Cell<bool>,
    pub state: Cell<GenState>,
    /// Whether the generator has an entry in the side table of rarely
    /// needed fields (`gen_names.rs`: its id, names that differ from the
    /// code's), which its drop then removes.
    pub(crate) extra: Cell<bool>,
    /// The collector's note of where this generator sits in a running
    /// collection (see `gc::Mark`); it fits in the padding after `state`.
    /// Once the generator is freed while its registry entry remains, it
    /// holds the block's slot count for the entry's drop (`GenWeak`).
    pub gc_mark: crate::tracking::Mark,
    /// The suspended frame, usually the embedded one (a frame that grew
    /// is in a block of its own): none while running and once closed, and lent
    /// to the root of the `yield from`/`await` chain it is suspended in,
    /// so that suspending and resuming the chain costs no frame moves per
    /// level (see `Frame::chain`). Not a `RefCell`: the frame only ever
    /// moves in and out whole (`take_frame`, `put_frame`) or is lent for a
    /// look (`peek_frame`), and the borrow flag would cost every generator
    /// a word. Invariant: the frame is lent only while the generator is
    /// suspended, and the root gives its chain back before its own frame
    /// leaves it any other way than by a resume of the whole chain, so a
    /// lent slot's root is alive.
    frame: crate::frame::FrameSlot,
}

/// The frame a new generator starts with (`Generator::new`).
pub enum GenFrame<'a> {
    /// This frame's state and values move into the generator's block,
    /// leaving it empty.
    Embed(&'a mut FrameBox),
    /// The frame runs on the VM's stack (a coroutine entered at once by
    /// `await`): the block keeps only the code and globals.
    Running(&'a Rc<Code>, &'a Rc<Module>),
}

impl GenKind {
    /// The kind of object calling a function with this code makes.
    pub fn of(code: &Code) -> GenKind {
        if code.flags & crate::code::FLAG_COROUTINE != 0 {
            GenKind::Coroutine
        } else if code.flags & crate::code::FLAG_ASYNC_GENERATOR != 0 {
            GenKind::AsyncGenerator
        } else {
            GenKind::Generator
        }
    }
}

impl Generator {
    /// A generator, coroutine or async generator object in `state`, not yet
    /// tracked by the collector, in a block of its own with its frame
    /// (`GenFrame` says where that comes from). `names` are `(__name__,
    /// __qualname__)` when they differ from the code's (the function was
    /// renamed before it was called); `id` is its number for traces, or 0
    /// (see `gen_names.rs`).
    #[allow(clippy::new_ret_no_self)]
    pub fn new(
        kind: GenKind,
        state: GenState,
        frame: GenFrame,
        names: Option<Box<(Rc<str>, Rc<str>)>>,
        id: u64,
    ) -> GenRc {
        let generator = Generator {
            kind,
            tracked: Cell::new(false),
            state: Cell::new(state),
            extra: Cell::new(false),
            gc_mark: Default::default(),
            frame: crate::frame::FrameSlot::new(None),
        };
        let g = match frame {
            GenFrame::Embed(f) => {
                let need = f.code.varnames.len() + f.code.stacksize as usize;
                let cap = u32::try_from(need.max(f.stack.len())).unwrap_or(u32::MAX);
                let g = GenRc::new(generator, cap, |dst, cap| {
                    // SAFETY: `dst` has room for `cap` >= len slots.
                    unsafe { f.move_into(dst, cap) }
                });
                // SAFETY: the frame just written, owned by the slot alone.
                g.frame
                    .put_owned(unsafe { FrameBox::embedded(g.embedded_frame()) });
                g
            }
            GenFrame::Running(code, globals) => GenRc::new(generator, 0, |dst, cap| {
                // SAFETY: `dst` is the header's place.
                unsafe { FrameBox::write_empty(dst, code.clone(), globals.clone(), cap) }
            }),
        };
        if names.is_some() || id != 0 {
            crate::gen_names::set_extra(&g, id, names);
        }
        g
    }

    /// Moves the suspended frame out (`None` while it runs, once closed),
    /// with the frames of a chain it is the root of given back to their
    /// generators.
    #[inline]
    pub fn take_frame(&self) -> Option<FrameBox> {
        let mut frame = self.take_frame_keep_chain()?;
        if let Some(chain) = frame.chain_mut()
            && !chain.is_empty()
        {
            crate::frame::give_back_chain(chain);
        }
        Some(frame)
    }

    /// `take_frame` for a resume that puts the whole chain back on the
    /// frame stack (`Vm::resume_chain`).
    #[inline(always)]
    pub fn take_frame_keep_chain(&self) -> Option<FrameBox> {
        if let Some(frame) = self.frame.take() {
            return Some(frame);
        }
        self.reclaim();
        self.frame.take()
    }

    /// A frame lent to a chain's root comes back: the root gives back its
    /// whole chain.
    #[cold]
    fn reclaim(&self) {
        let Some(root) = self.frame.lent_to() else {
            return;
        };
        // SAFETY: see `frame`.
        let root = unsafe { &*root };
        if let Some(mut frame) = root.frame.take() {
            if let Some(chain) = frame.chain_mut() {
                crate::frame::give_back_chain(chain);
            }
            root.frame.put(frame);
        }
    }

    /// Suspending inside a chain: the frame is lent to the chain's root.
    #[inline]
    pub(crate) fn lend_frame(&self, root: *const Generator) {
        self.frame.lend(root);
    }

    /// Resuming a chain: its lent frame is back on the frame stack.
    #[inline]
    pub(crate) fn unlend_frame(&self) {
        self.frame.unlend();
    }

    /// Gives the generator its frame back as it suspends.
    #[inline]
    pub fn put_frame(&self, frame: FrameBox) {
        self.frame.put(frame);
    }

    /// Runs `f` on the suspended frame, if there is one. The frame is out
    /// of the generator meanwhile, so `f` must not resume it (nothing that
    /// only looks at a frame does).
    pub fn peek_frame<R>(&self, f: impl FnOnce(Option<&Frame>) -> R) -> R {
        if self.frame.lent_to().is_some() {
            self.reclaim();
        }
        self.peek_frame_raw(f)
    }

    /// `peek_frame` without taking a lent frame back: `None` for it. For
    /// the collector, which sees a lent frame through the chain's root and
    /// must not change reference counts while it looks.
    pub fn peek_frame_raw<R>(&self, f: impl FnOnce(Option<&Frame>) -> R) -> R {
        let frame = self.frame.take();
        let r = f(frame.as_deref());
        if let Some(frame) = frame {
            self.frame.put(frame);
        }
        r
    }

    /// The `names` field for a generator of `code` created under these
    /// names.
    #[inline]
    pub fn names_for(
        code: &Code,
        name: &Rc<str>,
        qualname: &Rc<str>,
    ) -> Option<Box<(Rc<str>, Rc<str>)>> {
        // A function shares its code's name strings until renamed.
        if Rc::ptr_eq(name, &code.name) && Rc::ptr_eq(qualname, &code.qualname) {
            return None;
        }
        Self::renamed(code, name, qualname)
    }

    /// `names_for` once the pointers differ: a renamed function, or equal
    /// names in other strings.
    #[inline(never)]
    fn renamed(code: &Code, name: &Rc<str>, qualname: &Rc<str>) -> Option<Box<(Rc<str>, Rc<str>)>> {
        let same = |a: &Rc<str>, b: &Rc<str>| Rc::ptr_eq(a, b) || **a == **b;
        (!same(name, &code.name) || !same(qualname, &code.qualname))
            .then(|| Box::new((name.clone(), qualname.clone())))
    }
    /// The name it was created with.
    pub fn name(&self) -> Rc<str> {
        self.created_names().0
    }
    /// The qualified name it was created with.
    pub fn qualname(&self) -> Rc<str> {
        self.created_names().1
    }
}

pub struct Module {
    pub name: Rc<str>,
    pub globals: Globals,
}

/// A module's namespace. Every mutable borrow gives it a new `version`
/// stamp, unique among all namespaces of the thread (`next_stamp`), which
/// lets `LoadGlobal` cache where a value sits: while a namespace keeps
/// the stamp a lookup was made under, it is the same namespace, unchanged.
pub struct Globals {
    map: RefCell<Namespace>,
    version: Cell<u64>,
}

thread_local! {
    /// The last namespace stamp handed out (0 is never one, so an empty
    /// cache entry matches no namespace).
    static STAMP: Cell<u64> = const { Cell::new(0) };
}

#[inline]
fn next_stamp() -> u64 {
    STAMP.with(|s| {
        let v = s.get() + 1;
        s.set(v);
        v
    })
}

impl Default for Globals {
    fn default() -> Globals {
        Globals::new(Namespace::default())
    }
}

impl Globals {
    pub fn new(map: Namespace) -> Globals {
        Globals {
            map: RefCell::new(map),
            version: Cell::new(next_stamp()),
        }
    }
    #[inline]
    pub fn borrow(&self) -> std::cell::Ref<'_, Namespace> {
        self.map.borrow()
    }
    #[inline]
    pub fn borrow_mut(&self) -> std::cell::RefMut<'_, Namespace> {
        self.version.set(next_stamp());
        self.map.borrow_mut()
    }
    /// The stamp of the namespace's current contents.
    #[inline]
    pub fn version(&self) -> u64 {
        self.version.get()
    }
}

pub struct Property {
    pub fget: Value,
    pub fset: Value,
    pub fdel: Value,
    /// The attribute name `__set_name__` gave it when a class statement
    /// defined it; errors name the property only then, as CPython's do.
    pub name: RefCell<Option<Rc<str>>>,
}

impl Property {
    /// "property 'x' of 'C' object has no setter", or without the name.
    pub fn missing(&self, cls: &Class, what: &str) -> String {
        match &*self.name.borrow() {
            Some(n) => format!("property '{n}' of '{}' object has no {what}", cls.qualname),
            None => format!("property of '{}' object has no {what}", cls.qualname),
        }
    }
}

pub struct SuperObj {
    /// The class whose base the lookup starts at.
    pub class: Rc<Class>,
    pub obj: Value,
}

/// Iterators over built-in containers and the lazy built-ins.
pub enum IterState {
    Seq {
        seq: Value,
        index: usize,
    },
    Str {
        s: Rc<PyStr>,
        byte_pos: usize,
    },
    Range {
        next: i64,
        stop: i64,
        step: i64,
    },
    /// Keys, values or items of a dict or set, by entry index.
    DictIter {
        dict: Rc<RefCell<Dict>>,
        index: usize,
        kind: DictIterKind,
        len_at_start: usize,
        /// Entries produced so far: one more than `len_at_start` means keys
        /// were deleted and re-added during the loop.
        yielded: usize,
    },
    Enumerate {
        it: Value,
        count: Value,
    },
    Zip {
        its: Vec<Value>,
    },
    Map {
        func: Value,
        its: Vec<Value>,
    },
    Filter {
        func: Value,
        it: Value,
    },
    Reversed {
        seq: Value,
        index: usize,
    },
    /// The old sequence protocol: `obj[0]`, `obj[1]`, … until IndexError.
    SeqProto {
        obj: Value,
        index: i64,
    },
    /// `iter(callable, sentinel)`
    Callable {
        func: Value,
        sentinel: Value,
    },
    /// A native generator-like iterator defined by the stdlib.
    Native(Box<dyn NativeIter>),
    Exhausted,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum DictIterKind {
    Keys,
    Values,
    Items,
}

/// An iterator implemented in Rust by the stdlib (itertools and friends).
pub trait NativeIter {
    fn type_name(&self) -> &'static str;
    fn next(&mut self, vm: &mut Vm) -> PyResult<Option<Value>>;
}

/// Objects the stdlib defines (deque, files, asyncio objects…).
#[allow(clippy::len_without_is_empty)]
pub trait NativeObject: std::any::Any {
    /// The class `type(obj)` reports; its dict holds the object's methods.
    fn class(&self, vm: &Vm) -> Rc<Class>;
    fn as_any(&self) -> &dyn std::any::Any;
    /// The address of the class `class` returns, the key of method caches
    /// (attr_cache.rs). Objects that hold their class override it to skip
    /// cloning and dropping the `Rc` on every cached method call. (A class
    /// freed here and another allocated at its address later cannot alias
    /// in a cache: creating a class bumps the class epoch.)
    fn class_addr(&self, vm: &Vm) -> usize {
        Rc::as_ptr(&self.class(vm)) as usize
    }
    fn repr(&self, _vm: &mut Vm) -> PyResult<Option<String>> {
        Ok(None)
    }
    fn len(&self) -> Option<usize> {
        None
    }
    fn truthy(&self) -> Option<bool> {
        self.len().map(|n| n > 0)
    }
    fn iter(&self, _vm: &mut Vm, _me: &Value) -> PyResult<Option<Value>> {
        Ok(None)
    }
    fn get_attr(&self, _vm: &mut Vm, _name: &str) -> PyResult<Option<Value>> {
        Ok(None)
    }
    /// `obj.name = v` for the attributes the object itself keeps; false
    /// when it has no such writable attribute.
    fn set_attr(&self, _vm: &mut Vm, _name: &str, _v: &Value) -> PyResult<bool> {
        Ok(false)
    }
    /// For the cycle collector (gc.rs): calls `visit` on every value the
    /// object holds a strong reference to. Visiting a value it does not
    /// hold is unsound; missing one only keeps cycles through it alive.
    /// False when the object is busy (borrowed) and cannot be looked into.
    fn gc_traverse(&self, _visit: &mut dyn FnMut(&Value)) -> bool {
        true
    }
    /// For the cycle collector: drops the object's references (moving them
    /// into `out`) to break a cycle of garbage.
    fn gc_clear(&self, _out: &mut Vec<Value>) {}
    /// For the cycle collector: a mark the collector may keep in the
    /// object (cheaper than its index map for objects it sees often).
    fn gc_mark(&self) -> Option<&crate::tracking::Mark> {
        None
    }
}

impl Value {
    pub fn str(s: impl Into<Box<str>>) -> Value {
        Value::Str(Rc::new(PyStr::new(s)))
    }
    pub fn tuple(v: Vec<Value>) -> Value {
        Value::Tuple(v.into())
    }
    pub fn list(v: Vec<Value>) -> Value {
        Value::tracked(Value::List(Rc::new(RefCell::new(ListItems(v)))))
    }
    /// A new dict, tracked by the cycle collector.
    pub fn dict(d: Dict) -> Value {
        Value::tracked(Value::Dict(Rc::new(RefCell::new(d))))
    }
    /// Registers a new container with the cycle collector and returns it.
    #[inline]
    pub fn tracked(v: Value) -> Value {
        crate::tracking::track(&v);
        v
    }
    pub fn from_bigint(b: BigInt) -> Value {
        use num_traits::ToPrimitive;
        match b.to_i64() {
            Some(i) => Value::Int(i),
            None => Value::BigInt(Rc::new(b)),
        }
    }
    /// The kind of value, as its first word holds it (`repr(u64)`).
    #[inline(always)]
    fn kind(&self) -> u64 {
        // SAFETY: a `repr(u64)` enum starts with its `u64` discriminant.
        unsafe { *(self as *const Value as *const u64) }
    }

    /// The strong count of the counted pointer a heap value holds. Every
    /// one (`Rc`, `RcSlice`, `NativeHandle`, `GenRc`) is one word pointing at its
    /// allocation's header, whose first word is the strong count, and is
    /// the variant's field, right after the one-word kind, at offset 8.
    /// The test `value_tests::rc_count_of_every_kind` holds std's `Rc` to
    /// this layout.
    ///
    /// # Safety
    /// `self.is_heap()`.
    #[inline(always)]
    pub(crate) unsafe fn rc_count(&self) -> *mut usize {
        // SAFETY: the caller's contract; see above for the layout.
        unsafe { *((self as *const Value as *const u8).add(8) as *const *mut usize) }
    }

    /// Moves the value out of `p` with two word loads. A value just
    /// written as narrower stores (an int's kind and payload) and read back
    /// with the 16-byte load a plain move uses waits for the stores to
    /// reach the cache (store forwarding fails); word loads forward.
    ///
    /// # Safety
    /// `p` points to an initialised value, which the caller gives up.
    #[inline(always)]
    pub unsafe fn read_words(p: *const Value) -> Value {
        let w = p as *const std::mem::MaybeUninit<u64>;
        // SAFETY: the two words of a valid value, padding read as
        // `MaybeUninit`, reassembled into the same value.
        unsafe {
            let words = [
                std::ptr::read_volatile(w),
                std::ptr::read_volatile(w.add(1)),
            ];
            std::mem::transmute::<[std::mem::MaybeUninit<u64>; 2], Value>(words)
        }
    }

    /// `clone` without matching on the kind: a bitwise copy, plus one
    /// increment of the strong count for a heap value.
    #[inline(always)]
    pub fn fast_clone(&self) -> Value {
        if self.is_heap() {
            self.heap_clone()
        } else {
            // SAFETY: immediates own nothing: a bitwise copy is a clone.
            unsafe { std::ptr::read(self) }
        }
    }

    /// `clone` for a value handed to an out-of-line container method
    /// (`VecDeque::push_back`), which reads its argument back from memory
    /// with one 16-byte load. That load forwards from the one 16-byte
    /// store this copy makes, and not from the two word stores of a
    /// `clone` or `fast_clone`, which would stall it.
    #[inline(always)]
    pub fn clone_whole(&self) -> Value {
        if self.is_heap() {
            // SAFETY: as `heap_clone`.
            unsafe { *self.rc_count() += 1 };
        }
        // SAFETY: the count is bumped for a heap value; an immediate owns
        // nothing.
        unsafe { std::ptr::read(self) }
    }

    /// `clone` of a value that owns a heap object: the strong count is
    /// bumped in place, whatever the kind (see `rc_count`).
    #[inline(always)]
    pub fn heap_clone(&self) -> Value {
        debug_assert!(self.is_heap());
        // SAFETY: a heap value holds an `Rc` (`rc_count`). `Rc::clone`
        // aborts when the count would overflow; a count that reaches
        // `usize::MAX` needs more references than memory can hold.
        unsafe {
            *self.rc_count() += 1;
            std::ptr::read(self)
        }
    }

    /// Drops a value that owns a heap object: unless this is the last
    /// reference, one decrement in place, whatever the kind; the last one
    /// goes through the kind's own drop, which frees the object.
    #[inline(always)]
    pub fn heap_drop(self) {
        debug_assert!(self.is_heap());
        // SAFETY: a heap value holds an `Rc` (`rc_count`); a count above 1
        // is not the last reference, so nothing is freed.
        unsafe {
            let c = self.rc_count();
            if *c > 1 {
                *c -= 1;
                std::mem::forget(self);
                return;
            }
        }
        drop_last(self)
    }

    /// True for values whose drop may free a heap object (and so may
    /// finalize a generator); small ints, floats, bools and None are not.
    #[inline(always)]
    pub fn is_heap(&self) -> bool {
        self.kind() >= FIRST_HEAP_KIND
    }
    /// A new native object.
    pub fn native<T: NativeObject>(obj: T) -> Value {
        Value::Native(NativeBox::new(obj).into())
    }
    /// The typed `Rc` of the native object this value is, when it is a `T`.
    pub fn downcast_native<T: NativeObject>(&self) -> Option<NativeRc<T>> {
        match self {
            Value::Native(n) => n.downcast::<T>(),
            _ => None,
        }
    }
    pub fn is_none(&self) -> bool {
        matches!(self, Value::None)
    }
    pub fn is_undef(&self) -> bool {
        matches!(self, Value::Undef)
    }
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s.as_str()),
            _ => None,
        }
    }
    /// Identity, as `is` sees it.
    pub fn is(&self, other: &Value) -> bool {
        use Value::*;
        match (self, other) {
            (Undef, Undef) | (None, None) | (NotImplemented, NotImplemented) => true,
            (Ellipsis, Ellipsis) => true,
            (Bool(a), Bool(b)) => a == b,
            // Small ints are cached in CPython; equal i64 values look identical.
            (Int(a), Int(b)) => a == b,
            (Float(a), Float(b)) => a.to_bits() == b.to_bits(),
            (BigInt(a), BigInt(b)) => Rc::ptr_eq(a, b),
            (Str(a), Str(b)) => Rc::ptr_eq(a, b) || (a.s.len() <= 1 && a.s == b.s),
            (Bytes(a), Bytes(b)) => RcSlice::ptr_eq(a, b),
            (List(a), List(b)) => Rc::ptr_eq(a, b),
            (Tuple(a), Tuple(b)) => RcSlice::ptr_eq(a, b) || (a.is_empty() && b.is_empty()),
            (Dict(a), Dict(b)) | (Set(a), Set(b)) | (FrozenSet(a), FrozenSet(b)) => {
                Rc::ptr_eq(a, b)
            }
            (Range(a), Range(b)) => Rc::ptr_eq(a, b),
            (Slice(a), Slice(b)) => Rc::ptr_eq(a, b),
            (Function(a), Function(b)) => Rc::ptr_eq(a, b),
            (Builtin(a), Builtin(b)) => Rc::ptr_eq(a, b),
            (BoundMethod(a), BoundMethod(b)) => Rc::ptr_eq(a, b),
            (Class(a), Class(b)) => Rc::ptr_eq(a, b),
            (Instance(a), Instance(b)) => Rc::ptr_eq(a, b),
            (Generator(a), Generator(b)) => GenRc::ptr_eq(a, b),
            (Module(a), Module(b)) => Rc::ptr_eq(a, b),
            (Iterator(a), Iterator(b)) => Rc::ptr_eq(a, b),
            (Property(a), Property(b)) => Rc::ptr_eq(a, b),
            (StaticMethod(a), StaticMethod(b)) | (ClassMethod(a), ClassMethod(b)) => {
                Rc::ptr_eq(a, b)
            }
            (Super(a), Super(b)) => Rc::ptr_eq(a, b),
            (Cell(a), Cell(b)) => Rc::ptr_eq(a, b),
            (Code(a), Code(b)) => Rc::ptr_eq(a, b),
            (Native(a), Native(b)) => NativeHandle::ptr_eq(a, b),
            _ => false,
        }
    }
    /// An address-like number for default reprs and `id()`.
    pub fn addr(&self) -> usize {
        use Value::*;
        match self {
            Str(r) => Rc::as_ptr(r) as *const u8 as usize,
            List(r) => Rc::as_ptr(r) as *const u8 as usize,
            Tuple(r) => RcSlice::as_ptr(r) as usize,
            Dict(r) | Set(r) | FrozenSet(r) => Rc::as_ptr(r) as *const u8 as usize,
            Function(r) => Rc::as_ptr(r) as *const u8 as usize,
            Builtin(r) => Rc::as_ptr(r) as *const u8 as usize,
            BoundMethod(r) => Rc::as_ptr(r) as *const u8 as usize,
            Class(r) => Rc::as_ptr(r) as *const u8 as usize,
            Instance(r) => Rc::as_ptr(r) as *const u8 as usize,
            Generator(r) => GenRc::as_ptr(r) as *const u8 as usize,
            Module(r) => Rc::as_ptr(r) as *const u8 as usize,
            Iterator(r) => Rc::as_ptr(r) as *const u8 as usize,
            Native(r) => r.addr(),
            Int(i) => *i as usize,
            _ => 0,
        }
    }
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Undef => write!(f, "<undef>"),
            Value::None => write!(f, "None"),
            Value::Bool(b) => write!(f, "{}", if *b { "True" } else { "False" }),
            Value::Int(i) => write!(f, "{i}"),
            Value::BigInt(i) => write!(f, "{i}"),
            Value::Float(x) => write!(f, "{}", crate::format::float_repr(*x)),
            Value::Str(s) => write!(f, "{:?}", s.as_str()),
            Value::Function(func) => write!(f, "<function {}>", func.qualname.borrow()),
            Value::Class(c) => write!(f, "<class '{}'>", c.name),
            Value::Code(c) => write!(f, "<code object {}>", c.name),
            other => write!(f, "<{}>", other.kind_name()),
        }
    }
}

impl Value {
    /// A short name of the variant, for debugging only.
    pub fn kind_name(&self) -> &'static str {
        use Value::*;
        match self {
            Undef => "undef",
            None => "None",
            NotImplemented => "NotImplemented",
            Ellipsis => "Ellipsis",
            Bool(_) => "bool",
            Int(_) | BigInt(_) => "int",
            Float(_) => "float",
            Str(_) => "str",
            Bytes(_) => "bytes",
            List(_) => "list",
            Tuple(_) => "tuple",
            Dict(_) => "dict",
            Set(_) => "set",
            FrozenSet(_) => "frozenset",
            Range(_) => "range",
            Slice(_) => "slice",
            Function(_) => "function",
            Builtin(_) => "builtin_function_or_method",
            BoundMethod(_) => "method",
            Class(_) => "type",
            Instance(_) => "instance",
            Generator(_) => "generator",
            Module(_) => "module",
            Iterator(_) => "iterator",
            Property(_) => "property",
            StaticMethod(_) => "staticmethod",
            ClassMethod(_) => "classmethod",
            Super(_) => "super",
            Cell(_) => "cell",
            Code(_) => "code",
            Native(_) => "native",
        }
    }
}

#[cfg(test)]
mod value_tests {
    use super::*;

    struct Probe;
    impl NativeObject for Probe {
        fn class(&self, _vm: &Vm) -> Rc<Class> {
            unreachable!("not called by this test")
        }
        fn as_any(&self) -> &dyn std::any::Any {
            self
        }
    }

    /// `heap_clone`/`heap_drop` adjust the strong count through
    /// `rc_count`: check that it is the count `Rc` keeps, for each shape of
    /// counted pointer a value holds (`Rc`, `RcSlice`, `NativeHandle`; `GenRc` in `gen_rc::tests`).
    #[test]
    fn rc_count_of_every_kind() {
        let values = vec![
            Value::from_bigint(BigInt::from(u64::MAX) * 4),
            Value::str("s"),
            Value::List(Rc::new(RefCell::new(vec![Value::Int(1)].into()))),
            Value::Dict(Rc::new(RefCell::new(Dict::default()))),
            Value::Range(Rc::new(RangeObj {
                start: 0,
                stop: 1,
                step: 1,
            })),
            Value::Cell(Rc::new(RefCell::new(Value::None))),
            Value::StaticMethod(Rc::new(Value::None)),
            Value::Bytes(RcSlice::from(&b"ab"[..])),
            Value::Tuple(RcSlice::from(vec![Value::Int(1), Value::None])),
            Value::native(Probe),
        ];
        for v in values {
            assert!(v.is_heap());
            let strong = |v: &Value| match v {
                Value::BigInt(r) => Rc::strong_count(r),
                Value::Str(r) => Rc::strong_count(r),
                Value::List(r) => Rc::strong_count(r),
                Value::Dict(r) => Rc::strong_count(r),
                Value::Range(r) => Rc::strong_count(r),
                Value::Cell(r) => Rc::strong_count(r),
                Value::StaticMethod(r) => Rc::strong_count(r),
                Value::Bytes(r) => RcSlice::strong_count(r),
                Value::Tuple(r) => RcSlice::strong_count(r),
                Value::Native(r) => NativeHandle::strong_count(r),
                _ => unreachable!("not in the list"),
            };
            // SAFETY: `v` is a heap value.
            assert_eq!(unsafe { *v.rc_count() }, 1);
            let w = v.heap_clone();
            assert_eq!(strong(&v), 2);
            let x = v.clone();
            assert_eq!(strong(&v), 3);
            x.heap_drop();
            w.heap_drop();
            assert_eq!(strong(&v), 1);
            v.heap_drop();
        }
    }

    /// The immediates sit below `FIRST_HEAP_KIND`, the values holding an
    /// `Rc` from it on.
    #[test]
    fn kinds_split_at_first_heap_kind() {
        for v in [
            Value::Undef,
            Value::None,
            Value::NotImplemented,
            Value::Ellipsis,
            Value::Bool(true),
            Value::Int(-1),
            Value::Float(0.5),
        ] {
            assert!(!v.is_heap());
        }
        assert_eq!(Value::Float(0.0).kind() + 1, FIRST_HEAP_KIND);
        assert_eq!(
            Value::from_bigint(BigInt::from(u64::MAX)).kind(),
            FIRST_HEAP_KIND
        );
        assert_eq!(std::mem::size_of::<Value>(), 16);
        assert_eq!(std::mem::size_of::<Option<Value>>(), 16);
    }
}
