"""Abstract base classes, without metaclasses.

`ABC` subclasses get CPython's isinstance/issubclass behaviour through
covm's class hook `__class_subclasscheck__`: a class is a virtual
subclass when `__subclasshook__` says so or when it (or a base) was
`register`ed with the ABC or one of its subclasses. Instantiating a class
that still has abstract methods raises CPython's TypeError.
"""

import _covm

# (abc, registered class) pairs, in registration order.
_registry = []


def abstractmethod(funcobj):
    funcobj.__isabstractmethod__ = True
    return funcobj


def _abstract_names(cls):
    names = set()
    for name in dir(cls):
        value = getattr(cls, name, None)
        if isinstance(value, property):
            value = value.fget
        if getattr(value, "__isabstractmethod__", False):
            names.add(name)
    return frozenset(names)


class ABC:
    def __init_subclass__(cls, **kwargs):
        cls.__abstractmethods__ = _abstract_names(cls)

    @classmethod
    def register(cls, subclass):
        if not isinstance(subclass, type):
            raise TypeError("Can only register classes")
        _registry.append((cls, subclass))
        return subclass

    @classmethod
    def __subclasshook__(cls, C):
        return NotImplemented

    @classmethod
    def __class_subclasscheck__(cls, C):
        ok = cls.__subclasshook__(C)
        if ok is not NotImplemented:
            return bool(ok)
        for a, r in _registry:
            if cls in a.__mro__ and issubclass(C, r):
                return True
        return False

    @classmethod
    def __class_call__(cls, *args, **kwargs):
        missing = cls.__dict__.get("__abstractmethods__")
        if missing is None:
            missing = _abstract_names(cls)
        if missing:
            names = ", ".join(sorted(missing))
            s = "s" if len(missing) > 1 else ""
            raise TypeError(
                f"Can't instantiate abstract class {cls.__name__} with abstract method{s} {names}"
            )
        obj = _covm.new_instance(cls)
        if cls.__init__ is object.__init__:
            if args or kwargs:
                raise TypeError(f"{cls.__name__}() takes no arguments")
        else:
            obj.__init__(*args, **kwargs)
        return obj


class ABCMeta:
    """Stands for CPython's metaclass in `class X(metaclass=ABCMeta)`,
    which makes X an `ABC` subclass (covm has no metaclasses)."""

    _covm_metaclass_base_ = ABC


def get_cache_token():
    return len(_registry)
