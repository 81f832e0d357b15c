"""A module the REPL session imports from its current folder."""
GREETING = "hello from a module"

def countdown(n):
    while n > 0:
        yield n
        n -= 1
