"""`importlib.import_module` (as CPython's), over covm's importer."""

import sys
import _covm

__all__ = ["import_module", "invalidate_caches", "reload"]


def _resolve_name(name, package, level):
    bits = package.rsplit(".", level - 1)
    if len(bits) < level:
        raise ImportError("attempted relative import beyond top-level package")
    base = bits[0]
    return f"{base}.{name}" if name else base


def import_module(name, package=None):
    """Import a module; `name` may be relative to `package` ('..mod')."""
    level = 0
    if name.startswith("."):
        if not package:
            raise TypeError("the 'package' argument is required to perform a relative "
                            "import for {!r}".format(name))
        for character in name:
            if character != ".":
                break
            level += 1
        name = _resolve_name(name[level:], package, level)
    return _covm.import_module(name)


def invalidate_caches():
    pass


def reload(module):
    """Run a module's code again in the same module object (files only)."""
    name = module.__name__
    if sys.modules.get(name) is not module:
        raise ImportError(f"module {name} not in sys.modules")
    del sys.modules[name]
    try:
        fresh = _covm.import_module(name)
    except BaseException:
        sys.modules[name] = module
        raise
    for k, v in fresh.__dict__.items():
        setattr(module, k, v)
    sys.modules[name] = module
    return module
