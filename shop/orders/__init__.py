from .order import Order
from . import order as order_module
__all__ = ["Order"]
