"""Enumerations (the common part of CPython 3.11's `enum`), without a
metaclass: class-level behaviour (`Color(1)`, `Color['RED']`, iteration,
`len`, `in`, the class repr) goes through covm's class hooks
(`__class_call__`, `__class_getitem__`, `__class_iter__`, ...).

`class State(str, Enum)` works: covm cannot subclass `str`, so the
members stand in for their values (equality, hashing, ordering, the
value's methods and operators) without being `str` instances.
"""

import _covm

__all__ = ["Enum", "IntEnum", "StrEnum", "ReprEnum", "Flag", "IntFlag", "auto", "unique",
           "EnumType", "EnumMeta"]


class auto:
    """Instances are replaced with an appropriate value in Enum class suites."""

    _next = object()

    def __init__(self, value=_next):
        self.value = value

    def __repr__(self):
        return "auto(%r)" % self.value


def _is_dunder(name):
    return len(name) > 4 and name[:2] == name[-2:] == "__" and name[2] != "_" and name[-3] != "_"


def _is_sunder(name):
    return len(name) > 2 and name[0] == name[-1] == "_" and name[1:2] != "_" and name[-2:-1] != "_"


def _is_private(cls_name, name):
    pattern = "_%s__" % (cls_name,)
    return name.startswith(pattern) and not name.endswith("__")


def _is_descriptor(obj):
    return isinstance(obj, (classmethod, staticmethod, property, type)) or callable(obj)


class _ValueMixin:
    """What a member whose class mixes in a built-in type does with its
    value: compare, hash and operate as the value does."""

    def __eq__(self, other):
        if isinstance(other, Enum):
            other = other._value_
        return self._value_ == other

    def __ne__(self, other):
        if isinstance(other, Enum):
            other = other._value_
        return self._value_ != other

    def __hash__(self):
        return hash(self._value_)

    def __lt__(self, other):
        return self._value_ < (other._value_ if isinstance(other, Enum) else other)

    def __le__(self, other):
        return self._value_ <= (other._value_ if isinstance(other, Enum) else other)

    def __gt__(self, other):
        return self._value_ > (other._value_ if isinstance(other, Enum) else other)

    def __ge__(self, other):
        return self._value_ >= (other._value_ if isinstance(other, Enum) else other)

    def __bool__(self):
        return bool(self._value_)

    def __getattr__(self, name):
        if name.startswith("__") or "_value_" not in self.__dict__:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        return getattr(self._value_, name)


def _v(x):
    return x._value_ if isinstance(x, Enum) else x


class _IntMixin(_ValueMixin):
    def __int__(self):
        return int(self._value_)

    def __index__(self):
        return self._value_

    def __float__(self):
        return float(self._value_)

    def __add__(self, o):
        return self._value_ + _v(o)

    def __radd__(self, o):
        return _v(o) + self._value_

    def __sub__(self, o):
        return self._value_ - _v(o)

    def __rsub__(self, o):
        return _v(o) - self._value_

    def __mul__(self, o):
        return self._value_ * _v(o)

    def __rmul__(self, o):
        return _v(o) * self._value_

    def __truediv__(self, o):
        return self._value_ / _v(o)

    def __floordiv__(self, o):
        return self._value_ // _v(o)

    def __mod__(self, o):
        return self._value_ % _v(o)

    def __pow__(self, o):
        return self._value_ ** _v(o)

    def __and__(self, o):
        return self._value_ & _v(o)

    def __or__(self, o):
        return self._value_ | _v(o)

    def __xor__(self, o):
        return self._value_ ^ _v(o)

    def __lshift__(self, o):
        return self._value_ << _v(o)

    def __rshift__(self, o):
        return self._value_ >> _v(o)

    def __neg__(self):
        return -self._value_

    def __pos__(self):
        return +self._value_

    def __abs__(self):
        return abs(self._value_)

    def __invert__(self):
        return ~self._value_


class _FloatMixin(_IntMixin):
    def __index__(self):
        raise TypeError("'float' object cannot be interpreted as an integer")


class _StrMixin(_ValueMixin):
    def __len__(self):
        return len(self._value_)

    def __iter__(self):
        return iter(self._value_)

    def __contains__(self, x):
        return _v(x) in self._value_

    def __getitem__(self, i):
        return self._value_[i]

    def __add__(self, o):
        return self._value_ + _v(o)

    def __radd__(self, o):
        return _v(o) + self._value_

    def __mul__(self, n):
        return self._value_ * n

    def __rmul__(self, n):
        return n * self._value_


class Enum:
    """Create a collection of name/value pairs.

    Members are looked up by value (`Color(1)`) and by name
    (`Color['RED']`), iterate in definition order and have `name` and
    `value` attributes.
    """

    _member_type_ = object
    _member_names_ = []
    _member_map_ = {}
    _value2member_map_ = {}
    _unhashable_values_ = []
    _covm_value_mixins_ = {int: _IntMixin, str: _StrMixin, float: _FloatMixin}

    def __init_subclass__(cls, **kwds):
        for base in cls.__mro__[1:]:
            if base.__dict__.get("_member_names_"):
                raise TypeError(f"<enum {cls.__name__!r}> cannot extend <enum {base.__name__!r}>")
        cls._member_names_ = []
        cls._member_map_ = {}
        cls._value2member_map_ = {}
        cls._unhashable_values_ = []
        values = []
        for name, value in list(cls.__dict__.items()):
            if _is_dunder(name) or _is_sunder(name) or _is_private(cls.__name__, name):
                continue
            if _is_descriptor(value):
                continue
            if isinstance(value, auto):
                if value.value is auto._next:
                    value.value = cls._generate_next_value_(name, 1, len(values), values[:])
                value = value.value
            values.append(value)
            cls._add_member_(name, value)
        cls.__members__ = dict(cls._member_map_)
        cls._members_done_()

    @classmethod
    def _members_done_(cls):
        pass

    @classmethod
    def _is_canonical_(cls, value):
        return True

    @classmethod
    def _add_member_(cls, name, value):
        args = value if isinstance(value, tuple) else (value,)
        member = _covm.new_instance(cls)
        if cls._member_type_ is tuple:
            value = args
        member._value_ = value
        member._name_ = name
        member._sort_order_ = len(cls._member_names_)
        init = cls.__init__
        if init is not Enum.__init__ and init is not object.__init__:
            member.__init__(*args)
        value = member._value_
        canonical = None
        try:
            canonical = cls._value2member_map_.get(value)
        except TypeError:
            for m in cls._unhashable_values_:
                if m._value_ == value:
                    canonical = m
        if canonical is not None:
            setattr(cls, name, canonical)
            cls._member_map_[name] = canonical
            return
        if cls._is_canonical_(value):
            cls._member_names_.append(name)
        cls._member_map_[name] = member
        try:
            cls._value2member_map_[value] = member
        except TypeError:
            cls._unhashable_values_.append(member)
        setattr(cls, name, member)

    def __init__(self, *args, **kwds):
        pass

    @staticmethod
    def _generate_next_value_(name, start, count, last_values):
        if not last_values:
            return start
        try:
            return last_values[-1] + 1
        except TypeError:
            raise TypeError("unable to sort non-numeric values") from None

    @classmethod
    def _missing_(cls, value):
        return None

    # ---- the class-level behaviour (EnumType's in CPython) ----

    @classmethod
    def __class_call__(cls, value, names=None, *, module=None, qualname=None, type=None, start=1):
        if names is not None:
            return cls._create_(value, names, module=module, qualname=qualname, type=type, start=start)
        if isinstance(value, cls):
            return value
        try:
            return cls._value2member_map_[value]
        except (KeyError, TypeError):
            for m in cls._unhashable_values_:
                if m._value_ == value:
                    return m
        result = cls._missing_(value)
        if isinstance(result, cls):
            return result
        exc = ValueError(f"{value!r} is not a valid {cls.__qualname__}")
        if result is None:
            raise exc
        raise TypeError(f"error in {cls.__name__}._missing_: returned {result!r} instead of None or a valid member")

    @classmethod
    def _create_(cls, class_name, names, *, module=None, qualname=None, type=None, start=1):
        """The functional API: `Enum('Color', 'RED GREEN')`, a list of
        names, of (name, value) pairs, or a mapping."""
        if cls._member_names_:
            raise TypeError(f"{cls!r} cannot extend {cls!r}")
        if isinstance(names, str):
            names = names.replace(",", " ").split()
        if isinstance(names, (tuple, list)) and names and isinstance(names[0], str):
            original, names, last = names, [], []
            for count, name in enumerate(original):
                value = cls._generate_next_value_(name, start, count, last[:])
                last.append(value)
                names.append((name, value))
        ns = {}
        items = names.items() if isinstance(names, dict) else names
        for item in items:
            if isinstance(item, str):
                member_name, member_value = item, names[item]
            else:
                member_name, member_value = item
            ns[member_name] = member_value
        if module is None:
            module = "__main__"
        ns["__module__"] = module
        ns["__qualname__"] = qualname if qualname is not None else class_name
        bases = (cls,) if type is None else (type, cls)
        return _covm.make_class(class_name, bases, ns)

    @classmethod
    def __class_getitem__(cls, name):
        return cls._member_map_[name]

    @classmethod
    def __class_iter__(cls):
        return (cls._member_map_[name] for name in cls._member_names_)

    @classmethod
    def __class_len__(cls):
        return len(cls._member_names_)

    @classmethod
    def __class_contains__(cls, member):
        if not isinstance(member, Enum):
            raise TypeError(
                "unsupported operand type(s) for 'in': '%s' and '%s'"
                % (type(member).__qualname__, "EnumType"))
        return isinstance(member, cls) and member._name_ in cls._member_map_

    @classmethod
    def __class_repr__(cls):
        return f"<enum {cls.__name__!r}>"

    # ---- members ----

    @property
    def name(self):
        """The name of the Enum member."""
        return self._name_

    @property
    def value(self):
        """The value of the Enum member."""
        return self._value_

    def __repr__(self):
        v_repr = repr(self._value_)
        return f"<{self.__class__.__name__}.{self._name_}: {v_repr}>"

    def __str__(self):
        return f"{self.__class__.__name__}.{self._name_}"

    def __format__(self, format_spec):
        return format(str(self), format_spec)

    def __hash__(self):
        return hash(self._name_)

    def __reduce_ex__(self, proto):
        return self.__class__, (self._value_,)


EnumType = EnumMeta = type


class ReprEnum(Enum):
    """Only changes the repr(), leaving str() and format() to the mixed-in type."""

    def __str__(self):
        return str(self._value_)

    def __format__(self, format_spec):
        return format(self._value_, format_spec)


class IntEnum(int, ReprEnum):
    """Enum where members are also (and must be) ints."""


class StrEnum(str, ReprEnum):
    """Enum where members are also (and must be) strings."""

    @staticmethod
    def _generate_next_value_(name, start, count, last_values):
        return name.lower()


def _bin(num, max_bits=None):
    ceiling = 2 ** num.bit_length()
    if num >= 0:
        s = bin(num + ceiling).replace("1", "0", 1)
    else:
        s = bin(~num ^ (ceiling - 1) + ceiling)
    sign = s[:3]
    digits = s[3:]
    if max_bits is not None:
        if len(digits) < max_bits:
            digits = (sign[-1] * max_bits + digits)[-max_bits:]
    return "%s %s" % (sign, digits)


class Flag(Enum):
    """Support for flags: members combine with `|`, `&`, `^` and `~`."""

    _keep_ = False
    _flag_mask_ = 0
    _all_bits_ = 0

    @classmethod
    def _is_canonical_(cls, value):
        return isinstance(value, int) and value > 0 and value & (value - 1) == 0

    @classmethod
    def _members_done_(cls):
        mask = 0
        for name in cls._member_names_:
            mask |= cls._member_map_[name]._value_
        cls._flag_mask_ = mask
        cls._all_bits_ = 2 ** mask.bit_length() - 1

    @staticmethod
    def _generate_next_value_(name, start, count, last_values):
        if not count:
            return start if start is not None else 1
        last_value = max(last_values)
        return 2 ** last_value.bit_length()

    @classmethod
    def _missing_(cls, value):
        if not isinstance(value, int):
            raise ValueError("%r is not a valid %s" % (value, cls.__qualname__))
        mask = cls._flag_mask_
        if value < 0:
            value = max(cls._all_bits_ + 1, 2 ** value.bit_length()) + value
        extra = value & ~mask
        if extra and not cls._keep_:
            max_bits = max(value.bit_length(), mask.bit_length())
            raise ValueError("%r invalid value %r\n    given %s\n  allowed %s" % (
                cls, value, _bin(value, max_bits), _bin(mask, max_bits)))
        if value in cls._value2member_map_:
            return cls._value2member_map_[value]
        names = [n for n in cls._member_names_ if cls._member_map_[n]._value_ & value]
        if extra:
            names.append(str(extra))
        member = _covm.new_instance(cls)
        member._value_ = value
        member._name_ = "|".join(names) if names else None
        member._sort_order_ = None
        cls._value2member_map_[value] = member
        return member

    @classmethod
    def __class_repr__(cls):
        return f"<flag {cls.__name__!r}>"

    def _members_in_(self):
        return [self.__class__._member_map_[n] for n in self._member_names_
                if self.__class__._member_map_[n]._value_ & self._value_]

    def __repr__(self):
        cls_name = self.__class__.__name__
        if self._name_ is None:
            return "<%s: %r>" % (cls_name, self._value_)
        return "<%s.%s: %r>" % (cls_name, self._name_, self._value_)

    def __str__(self):
        cls_name = self.__class__.__name__
        if self._name_ is None:
            return "%s(%r)" % (cls_name, self._value_)
        return "%s.%s" % (cls_name, self._name_)

    def __contains__(self, other):
        if not isinstance(other, self.__class__):
            raise TypeError(
                "unsupported operand type(s) for 'in': %r and %r" % (
                    type(other).__qualname__, self.__class__.__qualname__))
        return other._value_ & self._value_ == other._value_

    def __iter__(self):
        return iter(self._members_in_())

    def __len__(self):
        return bin(self._value_).count("1")

    def __bool__(self):
        return bool(self._value_)

    def _operand_(self, other):
        if isinstance(other, self.__class__):
            return other._value_
        return None

    def __or__(self, other):
        v = self._operand_(other)
        if v is None:
            return NotImplemented
        return self.__class__(self._value_ | v)

    def __and__(self, other):
        v = self._operand_(other)
        if v is None:
            return NotImplemented
        return self.__class__(self._value_ & v)

    def __xor__(self, other):
        v = self._operand_(other)
        if v is None:
            return NotImplemented
        return self.__class__(self._value_ ^ v)

    __ror__ = __or__
    __rand__ = __and__
    __rxor__ = __xor__

    def __invert__(self):
        if self._keep_:
            return self.__class__(~self._value_)
        return self.__class__(self._flag_mask_ ^ self._value_)


class IntFlag(int, ReprEnum, Flag):
    """Support for integer-based flags: members are also ints."""

    _keep_ = True

    def _operand_(self, other):
        if isinstance(other, self.__class__):
            return other._value_
        if isinstance(other, int) and not isinstance(other, Enum):
            return other
        return None

    __or__ = Flag.__or__
    __and__ = Flag.__and__
    __xor__ = Flag.__xor__
    __ror__ = Flag.__or__
    __rand__ = Flag.__and__
    __rxor__ = Flag.__xor__
    __invert__ = Flag.__invert__
    __contains__ = Flag.__contains__
    __iter__ = Flag.__iter__
    __len__ = Flag.__len__
    __bool__ = Flag.__bool__

    def __repr__(self):
        return Flag.__repr__(self)


def unique(enumeration):
    """Class decorator for enumerations ensuring unique member values."""
    duplicates = []
    for name, member in enumeration.__members__.items():
        if name != member.name:
            duplicates.append((name, member.name))
    if duplicates:
        alias_details = ", ".join(["%s -> %s" % (alias, name) for (alias, name) in duplicates])
        raise ValueError("duplicate values found in %r: %s" % (enumeration, alias_details))
    return enumeration
