def check(n):
    if n > 2:
        raise ValueError(f"too big: {n}")
    return n

check(3)
