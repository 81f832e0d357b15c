"""A helper module."""
print("helper runs, __name__ =", __name__)
counter = 0

def bump(n=1):
    global counter
    counter += n
    return counter

class Box:
    def __init__(self, v):
        self.v = v
    def __repr__(self):
        return f"Box({self.v!r})"

def _private():
    return "hidden"

if __name__ == "__main__":
    print("never printed on import")
