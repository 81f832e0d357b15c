"""Type hints at run time (the common part of CPython 3.11's `typing`).

Every name imports and subscripts as in CPython, with the same reprs;
the aliases of the collection types check `isinstance` through their
`collections.abc` class. No static checking happens.
"""

import collections.abc as _abc
import collections as _collections

TYPE_CHECKING = False


def _type_repr(obj):
    if isinstance(obj, type):
        if obj.__module__ == "builtins":
            return obj.__qualname__
        return f"{obj.__module__}.{obj.__qualname__}"
    if obj is ...:
        return "..."
    if isinstance(obj, (list, tuple)) and not isinstance(obj, _GenericAlias):
        return "[" + ", ".join(_type_repr(a) for a in obj) + "]"
    return repr(obj)


def _type_convert(arg):
    if arg is None:
        return type(None)
    if isinstance(arg, str):
        return ForwardRef(arg)
    return arg


class ForwardRef:
    def __init__(self, arg):
        self.__forward_arg__ = arg

    def __repr__(self):
        return f"ForwardRef({self.__forward_arg__!r})"

    def __eq__(self, other):
        return isinstance(other, ForwardRef) and self.__forward_arg__ == other.__forward_arg__

    def __hash__(self):
        return hash(self.__forward_arg__)


class _Final:
    def __or__(self, other):
        return Union[self, other]

    def __ror__(self, other):
        return Union[other, self]


class _GenericAlias(_Final):
    """`List[int]`, `Optional[str]`, `MyGeneric[T]`: an origin and its
    arguments."""

    def __init__(self, origin, args, name=None, display=None):
        self.__origin__ = origin
        self.__args__ = args
        self._name = name
        self._display = display

    def __repr__(self):
        if self._display is not None:
            return self._display
        if self._name:
            head = "typing." + self._name
        else:
            head = _type_repr(self.__origin__)
        if self.__args__ == ():
            return f"{head}[()]"
        return f"{head}[{', '.join(_type_repr(a) for a in self.__args__)}]"

    def __eq__(self, other):
        if not isinstance(other, _GenericAlias):
            return NotImplemented
        if self.__origin__ is Union and other.__origin__ is Union:
            return set(self.__args__) == set(other.__args__)
        return self.__origin__ == other.__origin__ and self.__args__ == other.__args__

    def __hash__(self):
        if self.__origin__ is Union:
            return hash(frozenset(self.__args__))
        return hash((self.__origin__, self.__args__))

    def __call__(self, *args, **kwargs):
        result = self.__origin__(*args, **kwargs)
        try:
            result.__orig_class__ = self
        except AttributeError:
            pass
        return result

    def __getitem__(self, params):
        # Substituting type variables: List[T][int].
        if not isinstance(params, tuple):
            params = (params,)
        tvars = [a for a in self.__args__ if isinstance(a, TypeVar)]
        mapping = dict(zip(tvars, params))
        args = tuple(mapping.get(a, a) if isinstance(a, TypeVar) else a for a in self.__args__)
        return _GenericAlias(self.__origin__, args, self._name)

    def __instancecheck__(self, obj):
        raise TypeError("Subscripted generics cannot be used with class and instance checks")

    def __getattr__(self, attr):
        if attr.startswith("__") and attr.endswith("__"):
            raise AttributeError(attr)
        return getattr(self.__origin__, attr)

    def __mro_entries__(self, bases):
        return (self.__origin__,)


class _SpecialGenericAlias(_Final):
    """An unsubscripted alias of a collection type: `List`, `Iterator`."""

    def __init__(self, origin, nparams, name):
        self.__origin__ = origin
        self._nparams = nparams
        self._name = name

    def __repr__(self):
        return "typing." + self._name

    def __getitem__(self, params):
        if not isinstance(params, tuple):
            params = (params,)
        params = tuple(_type_convert(p) for p in params)
        if self._nparams >= 0 and len(params) != self._nparams and not (
            self._name == "Tuple" or (self._name == "Generator" and len(params) == 1)
        ):
            many = "many" if len(params) > self._nparams else "few"
            raise TypeError(f"Too {many} arguments for {self!r}; actual {len(params)}, expected {self._nparams}")
        return _GenericAlias(self.__origin__, params, self._name)

    def __call__(self, *args, **kwargs):
        return self.__origin__(*args, **kwargs)

    def __eq__(self, other):
        if isinstance(other, _SpecialGenericAlias):
            return self.__origin__ is other.__origin__ and self._name == other._name
        return NotImplemented

    def __hash__(self):
        return hash(self._name)


class _CallableAlias(_SpecialGenericAlias):
    def __getitem__(self, params):
        if not isinstance(params, tuple) or len(params) != 2:
            raise TypeError("Callable must be used as Callable[[arg, ...], result].")
        args, result = params
        if args is ...:
            shown = "..."
            flat = (..., _type_convert(result))
        else:
            if not isinstance(args, list):
                raise TypeError(f"Callable[args, result]: args must be a list. Got {_type_repr(args)}")
            args = tuple(_type_convert(a) for a in args)
            shown = "[" + ", ".join(_type_repr(a) for a in args) + "]"
            flat = args + (_type_convert(result),)
        display = f"typing.Callable[{shown}, {_type_repr(_type_convert(result))}]"
        return _GenericAlias(self.__origin__, flat, "Callable", display)


class _SpecialForm(_Final):
    def __init__(self, name, getitem=None):
        self._name = name
        self._getitem = getitem

    def __repr__(self):
        return "typing." + self._name

    def __getitem__(self, params):
        if self._getitem is None:
            raise TypeError(f"{self} is not subscriptable")
        return self._getitem(self, params)

    def __call__(self, *args, **kwds):
        if self._name == "Any":
            raise TypeError("Any cannot be instantiated")
        raise TypeError(f"Cannot instantiate {self!r}")

    def __eq__(self, other):
        return self is other

    def __hash__(self):
        return hash(self._name)


def _flatten_union(params):
    out = []
    for p in params:
        p = _type_convert(p)
        if isinstance(p, _GenericAlias) and p.__origin__ is Union:
            items = p.__args__
        else:
            items = (p,)
        for q in items:
            if q not in out:
                out.append(q)
    return tuple(out)


def _union_getitem(self, params):
    if params == ():
        raise TypeError("Cannot take a Union of no types.")
    if not isinstance(params, tuple):
        params = (params,)
    args = _flatten_union(params)
    if len(args) == 1:
        return args[0]
    if len(args) == 2 and type(None) in args:
        other = args[0] if args[1] is type(None) else args[1]
        return _GenericAlias(Union, args, display=f"typing.Optional[{_type_repr(other)}]")
    return _GenericAlias(Union, args, "Union")


def _optional_getitem(self, params):
    if isinstance(params, tuple):
        raise TypeError(f"typing.Optional requires a single type. Got {params!r}.")
    return Union[params, None]


def _one_arg(self, params):
    if isinstance(params, tuple):
        if len(params) != 1:
            raise TypeError(f"{self} accepts only single type.")
        params = params[0]
    return _GenericAlias(self, (_type_convert(params),), self._name)


def _literal_getitem(self, params):
    if not isinstance(params, tuple):
        params = (params,)
    return _GenericAlias(self, params, self._name,
                         display="typing.Literal[" + ", ".join(repr(p) for p in params) + "]")


def _annotated_getitem(self, params):
    if not isinstance(params, tuple) or len(params) < 2:
        raise TypeError("Annotated[...] should be used with at least two arguments "
                        "(a type and an annotation).")
    origin = _type_convert(params[0])
    meta = params[1:]
    display = f"typing.Annotated[{_type_repr(origin)}, {', '.join(repr(m) for m in meta)}]"
    a = _GenericAlias(origin, (origin,), "Annotated", display)
    a.__metadata__ = meta
    return a


def _concatenate_getitem(self, params):
    return _GenericAlias(self, params if isinstance(params, tuple) else (params,), self._name)


Any = _SpecialForm("Any")
NoReturn = _SpecialForm("NoReturn")
Never = _SpecialForm("Never")
Self = _SpecialForm("Self")
LiteralString = _SpecialForm("LiteralString")
Union = _SpecialForm("Union", _union_getitem)
Optional = _SpecialForm("Optional", _optional_getitem)
ClassVar = _SpecialForm("ClassVar", _one_arg)
Final = _SpecialForm("Final", _one_arg)
Literal = _SpecialForm("Literal", _literal_getitem)
Annotated = _SpecialForm("Annotated", _annotated_getitem)
TypeGuard = _SpecialForm("TypeGuard", _one_arg)
Concatenate = _SpecialForm("Concatenate", _concatenate_getitem)
Required = _SpecialForm("Required", _one_arg)
NotRequired = _SpecialForm("NotRequired", _one_arg)
TypeAlias = _SpecialForm("TypeAlias")


class TypeVar(_Final):
    def __init__(self, name, *constraints, bound=None, covariant=False, contravariant=False):
        self.__name__ = name
        self.__constraints__ = constraints
        self.__bound__ = _type_convert(bound) if bound is not None else None
        self.__covariant__ = covariant
        self.__contravariant__ = contravariant

    def __repr__(self):
        if self.__covariant__:
            prefix = "+"
        elif self.__contravariant__:
            prefix = "-"
        else:
            prefix = "~"
        return prefix + self.__name__


class ParamSpec(_Final):
    def __init__(self, name, *, bound=None, covariant=False, contravariant=False):
        self.__name__ = name

    def __repr__(self):
        return "~" + self.__name__


AnyStr = TypeVar("AnyStr", bytes, str)


class Generic:
    """Abstract base class for generic types: `class Stack(Generic[T])`;
    `Stack[int]` is an alias whose calls make a Stack."""

    def __class_getitem__(cls, params):
        if not isinstance(params, tuple):
            params = (params,)
        params = tuple(_type_convert(p) for p in params)
        if cls is Generic or cls is Protocol:
            for p in params:
                if not isinstance(p, (TypeVar, ParamSpec)):
                    raise TypeError(f"Parameters to {cls.__name__}[...] must all be type variables or parameter specifications")
            return cls
        return _GenericAlias(cls, params)


_SPECIAL_NAMES = frozenset(["__abstractmethods__", "__annotations__", "__dict__", "__doc__",
                            "__init__", "__module__", "__new__", "__slots__", "__subclasshook__",
                            "__weakref__", "__class_getitem__", "__qualname__", "__parameters__",
                            "__orig_bases__", "__init_subclass__", "__protocol_attrs__"])


class Protocol(Generic):
    """Base class for protocol classes (structural types); with
    `@runtime_checkable`, `isinstance` checks the members by structure."""

    _is_protocol = True
    _is_runtime_protocol = False

    def __init_subclass__(cls, **kwargs):
        if not cls.__dict__.get("_is_protocol", False):
            cls._is_protocol = any(b is Protocol for b in cls.__bases__)
        attrs = set()
        for base in cls.__mro__[:-1]:
            if base.__name__ in ("Protocol", "Generic"):
                continue
            names = list(base.__dict__) + list(base.__dict__.get("__annotations__", {}))
            for attr in names:
                if not attr.startswith("_abc_") and attr not in _SPECIAL_NAMES and attr not in (
                        "_is_protocol", "_is_runtime_protocol"):
                    attrs.add(attr)
        cls.__protocol_attrs__ = attrs

    @classmethod
    def __class_subclasscheck__(cls, C):
        if not cls.__dict__.get("_is_protocol", False):
            return False
        if not cls.__dict__.get("_is_runtime_protocol", False):
            raise TypeError("Instance and class checks can only be used with"
                            " @runtime_checkable protocols")
        for attr in cls.__protocol_attrs__:
            for base in C.__mro__:
                if attr in base.__dict__:
                    if base.__dict__[attr] is None:
                        return False
                    break
            else:
                return False
        return True


def runtime_checkable(cls):
    """Mark a protocol class as a runtime protocol."""
    if not cls.__dict__.get("_is_protocol", False):
        raise TypeError("@runtime_checkable can be only applied to protocol classes,"
                        " got %r" % cls)
    cls._is_runtime_protocol = True
    return cls


def cast(typ, val):
    """Cast a value to a type (returns the value unchanged)."""
    return val


def assert_type(val, typ):
    return val


def reveal_type(obj):
    import sys
    print(f"Runtime type is {type(obj).__name__!r}", file=sys.stderr)
    return obj


def overload(func):
    def _overload_dummy(*args, **kwds):
        raise NotImplementedError(
            "You should not call an overloaded function. "
            "A series of @typing.overload-decorated functions "
            "outside a stub module should always be followed "
            "by an implementation that is not @typing.overload-decorated.")
    return _overload_dummy


def final(f):
    return f


def no_type_check(arg):
    return arg


def get_origin(tp):
    if isinstance(tp, _GenericAlias):
        if isinstance(tp.__origin__, _SpecialForm) and tp.__origin__._name == "Annotated":
            return Annotated
        return tp.__origin__
    if tp is Generic:
        return Generic
    return None


def get_args(tp):
    if isinstance(tp, _GenericAlias):
        if getattr(tp, "_name", None) == "Annotated":
            return (tp.__origin__,) + tp.__metadata__
        args = tp.__args__
        if tp._name == "Callable" and args and args[0] is not ...:
            return (list(args[:-1]), args[-1])
        return args
    return ()


def get_type_hints(obj, globalns=None, localns=None, include_extras=False):
    hints = {}
    if isinstance(obj, type):
        for base in reversed(obj.__mro__):
            hints.update(base.__dict__.get("__annotations__", {}))
    else:
        hints.update(getattr(obj, "__annotations__", {}))
    return {k: _type_convert(v) for k, v in hints.items()}


def NewType(name, tp):
    def new_type(x):
        return x
    new_type.__name__ = name
    new_type.__qualname__ = name
    new_type.__supertype__ = tp
    return new_type


class NamedTuple:
    """`class P(NamedTuple): x: int; y: int = 0`, or the functional form
    `NamedTuple('P', [('x', int), ('y', int)])`.

    covm cannot subclass `tuple`: instances of the class form behave as
    tuples (indexing, unpacking, equality and ordering with tuples,
    hashing, `_asdict`, `_replace`, `_make`) without being `tuple`
    instances. The functional form returns a real `namedtuple`.
    """

    def __init_subclass__(cls, **kwargs):
        import _covm
        annotations = cls.__dict__.get("__annotations__", {})
        fields = tuple(annotations)
        defaults = {}
        for name in fields:
            if name in cls.__dict__:
                defaults[name] = cls.__dict__[name]
            elif defaults:
                raise TypeError(f"Non-default namedtuple field {name} cannot follow "
                                f"default field{'s' if len(defaults) > 1 else ''} "
                                f"{', '.join(defaults)}")
        cls._fields = fields
        cls._field_defaults = defaults
        cls.__match_args__ = fields

    @classmethod
    def __class_call__(cls, *args, **kwargs):
        if cls is NamedTuple:
            return _functional_namedtuple(*args, **kwargs)
        import _covm
        fields = cls._fields
        qual = cls.__name__ + ".__new__"
        if len(args) > len(fields):
            total = len(fields) + 1
            required = len(fields) - len(cls._field_defaults) + 1
            if required == total:
                takes = f"{total} positional arguments"
            else:
                takes = f"from {required} to {total} positional arguments"
            raise TypeError(f"{qual}() takes {takes} but {len(args) + 1} were given")
        values = dict(zip(fields, args))
        for k, v in kwargs.items():
            if k not in fields:
                raise TypeError(f"{qual}() got an unexpected keyword argument '{k}'")
            if k in values:
                raise TypeError(f"{qual}() got multiple values for argument '{k}'")
            values[k] = v
        missing = [f for f in fields if f not in values and f not in cls._field_defaults]
        if missing:
            n = len(missing)
            quoted = [f"'{m}'" for m in missing]
            listed = quoted[0] if n == 1 else (
                f"{quoted[0]} and {quoted[1]}" if n == 2 else ", ".join(quoted[:-1]) + f", and {quoted[-1]}")
            raise TypeError(f"{qual}() missing {n} required positional argument{'s' if n > 1 else ''}: {listed}")
        obj = _covm.new_instance(cls)
        for f in fields:
            object.__setattr__(obj, f, values[f] if f in values else cls._field_defaults[f])
        return obj

    def __setattr__(self, name, value):
        raise AttributeError("can't set attribute")

    def __delattr__(self, name):
        raise AttributeError("can't delete attribute")

    def _tuple(self):
        return tuple(getattr(self, f) for f in self._fields)

    def __repr__(self):
        inner = ", ".join(f"{f}={getattr(self, f)!r}" for f in self._fields)
        return f"{type(self).__name__}({inner})"

    def __iter__(self):
        return iter(self._tuple())

    def __len__(self):
        return len(self._fields)

    def __getitem__(self, i):
        return self._tuple()[i]

    def __contains__(self, x):
        return x in self._tuple()

    def __hash__(self):
        return hash(self._tuple())

    def __eq__(self, other):
        return self._tuple() == _as_tuple(other)

    def __ne__(self, other):
        return self._tuple() != _as_tuple(other)

    def __lt__(self, other):
        return self._tuple() < _as_tuple(other)

    def __le__(self, other):
        return self._tuple() <= _as_tuple(other)

    def __gt__(self, other):
        return self._tuple() > _as_tuple(other)

    def __ge__(self, other):
        return self._tuple() >= _as_tuple(other)

    def __add__(self, other):
        return self._tuple() + _as_tuple(other)

    def __radd__(self, other):
        return _as_tuple(other) + self._tuple()

    def count(self, x):
        return self._tuple().count(x)

    def index(self, x, *args):
        return self._tuple().index(x, *args)

    def _asdict(self):
        return {f: getattr(self, f) for f in self._fields}

    def _replace(self, **changes):
        values = self._asdict()
        for k in changes:
            if k not in values:
                raise ValueError(f"Got unexpected field names: {list(changes)!r}")
        values.update(changes)
        return type(self)(**values)

    @classmethod
    def _make(cls, iterable):
        return cls(*iterable)


def _as_tuple(x):
    if isinstance(x, NamedTuple):
        return x._tuple()
    return x


def _functional_namedtuple(typename, fields=None, /, **kwargs):
    if fields is None:
        fields = kwargs.items()
    names = [n for n, _ in fields]
    return _collections.namedtuple(typename, names)


class TypedDict:
    """`class Movie(TypedDict): name: str` (or `TypedDict('Movie', {...})`):
    calling the class makes a plain dict, as in CPython."""

    def __init_subclass__(cls, **kwargs):
        annotations = {}
        for base in reversed(cls.__mro__):
            annotations.update(base.__dict__.get("__annotations__", {}))
        cls.__annotations__ = annotations
        cls.__required_keys__ = frozenset(annotations)
        cls.__optional_keys__ = frozenset()
        cls.__total__ = True

    @classmethod
    def __class_call__(cls, *args, **kwargs):
        if cls is TypedDict:
            return _typeddict_functional(*args, **kwargs)
        return dict(*args, **kwargs)

    @classmethod
    def __class_subclasscheck__(cls, C):
        raise TypeError("TypedDict does not support instance and class checks")


def _typeddict_functional(typename, fields=None, /, *, total=True, **kwargs):
    import _covm
    if fields is None:
        fields = kwargs
    ns = {"__annotations__": dict(fields), "__qualname__": typename, "__module__": "__main__"}
    cls = _covm.make_class(typename, (TypedDict,), ns)
    cls.__total__ = total
    if not total:
        cls.__optional_keys__ = cls.__required_keys__
        cls.__required_keys__ = frozenset()
    return cls


Hashable = _SpecialGenericAlias(_abc.Hashable, 0, "Hashable")
Sized = _SpecialGenericAlias(_abc.Sized, 0, "Sized")
Awaitable = _SpecialGenericAlias(_abc.Awaitable, 1, "Awaitable")
Coroutine = _SpecialGenericAlias(_abc.Coroutine, 3, "Coroutine")
AsyncIterable = _SpecialGenericAlias(_abc.AsyncIterable, 1, "AsyncIterable")
AsyncIterator = _SpecialGenericAlias(_abc.AsyncIterator, 1, "AsyncIterator")
Iterable = _SpecialGenericAlias(_abc.Iterable, 1, "Iterable")
Iterator = _SpecialGenericAlias(_abc.Iterator, 1, "Iterator")
Reversible = _SpecialGenericAlias(_abc.Reversible, 1, "Reversible")
Container = _SpecialGenericAlias(_abc.Container, 1, "Container")
Collection = _SpecialGenericAlias(_abc.Collection, 1, "Collection")
Callable = _CallableAlias(_abc.Callable, 2, "Callable")
AbstractSet = _SpecialGenericAlias(_abc.Set, 1, "AbstractSet")
MutableSet = _SpecialGenericAlias(_abc.MutableSet, 1, "MutableSet")
Mapping = _SpecialGenericAlias(_abc.Mapping, 2, "Mapping")
MutableMapping = _SpecialGenericAlias(_abc.MutableMapping, 2, "MutableMapping")
Sequence = _SpecialGenericAlias(_abc.Sequence, 1, "Sequence")
MutableSequence = _SpecialGenericAlias(_abc.MutableSequence, 1, "MutableSequence")
Tuple = _SpecialGenericAlias(tuple, -1, "Tuple")
List = _SpecialGenericAlias(list, 1, "List")
Deque = _SpecialGenericAlias(_collections.deque, 1, "Deque")
Set = _SpecialGenericAlias(set, 1, "Set")
FrozenSet = _SpecialGenericAlias(frozenset, 1, "FrozenSet")
MappingView = _SpecialGenericAlias(_abc.MappingView, 1, "MappingView")
KeysView = _SpecialGenericAlias(_abc.KeysView, 1, "KeysView")
ItemsView = _SpecialGenericAlias(_abc.ItemsView, 2, "ItemsView")
ValuesView = _SpecialGenericAlias(_abc.ValuesView, 1, "ValuesView")
Dict = _SpecialGenericAlias(dict, 2, "Dict")
DefaultDict = _SpecialGenericAlias(_collections.defaultdict, 2, "DefaultDict")
OrderedDict = _SpecialGenericAlias(_collections.OrderedDict, 2, "OrderedDict")
Counter = _SpecialGenericAlias(_collections.Counter, 1, "Counter")
Generator = _SpecialGenericAlias(_abc.Generator, 3, "Generator")
AsyncGenerator = _SpecialGenericAlias(_abc.AsyncGenerator, 2, "AsyncGenerator")
Type = _SpecialGenericAlias(type, 1, "Type")
Text = str
