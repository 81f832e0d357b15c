print("shop init:", __name__, __package__)
VERSION = "1.0"
from .util import money
