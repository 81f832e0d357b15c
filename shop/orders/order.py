from ..util.money import fmt
from .. import VERSION
from ..util import money

class Order:
    def __init__(self, *items):
        self.items = list(items)
    def total(self):
        return sum(p for _, p in self.items)
    def __str__(self):
        return f"Order v{VERSION} {len(self.items)} items {fmt(self.total())} {money.fmt(1)}"
