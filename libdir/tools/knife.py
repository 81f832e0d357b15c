def cut(s):
    return s[: len(s) // 2]
