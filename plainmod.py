PUBLIC = 1
_private = 2
def fn():
    return "fn"
