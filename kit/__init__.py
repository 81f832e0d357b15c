__all__ = ["tool", "helper_fn", "VERSION"]
VERSION = 2
def helper_fn():
    return "helper"
def not_exported():
    return "hidden"
