#!/usr/bin/env python3
"""Ports the module doctests of a CPython 3.11 test file (its `__test__`
strings, e.g. test_generators' tutorial_tests) into standalone .co
programs, one per doctest string: each example runs in order in one module
namespace; an expression example prints its repr as the interactive shell
does, and an exception ends the example with a "Traceback" line and the
exception's type and message (what doctest compares). The expected
outputs are then recorded by running python3 on the same programs.

An example CPython cannot compile (it checks a SyntaxError's text) becomes a
program of its own, `doctest_<name>_syntax_<n>.co`, whose recorded last stderr
line is that SyntaxError. The doctests and examples in SKIP and SKIP_EXAMPLES
are left out and printed with their reason.

Usage: python3 tests/conformance/cpython/port_doctests.py test_generators OUTDIR
"""
import ast, doctest, os, sys, textwrap

SKIP = {
    'weakref_tests': 'needs weakref',
    'refleaks_tests': 'needs itertools.tee cycles, test.support and __del__ (gc timing)',
}

# Examples left out by what their source contains, with the reason.
SKIP_EXAMPLES = {
    'HAVE_DOCSTRINGS': 'needs test.support.HAVE_DOCSTRINGS and docstrings of built-in methods',
    'support.catch_unraisable_exception': 'needs test.support.catch_unraisable_exception',
}

# Examples replaced by an equivalent: gc_collect() only matters for
# interpreters without reference counting; CPython and covm both finalize
# the generator at `del`.
REPLACE = {
    'from test.support import gc_collect\n': 'def gc_collect():\n    pass\n',
}

SYNTAX = '''\
# Ported from CPython 3.11 Lib/test/%(file)s.py, the doctest %(name)s,
# example %(n)s: code that must fail to compile with CPython's SyntaxError.
'''

PRELUDE = '''\
# Ported from CPython 3.11 Lib/test/%(file)s.py, the doctest %(name)s,
# by tests/conformance/cpython/port_doctests.py: each example runs in turn;
# an expression's value is shown as the interactive shell shows it.
def __show(v):
    # Addresses differ from run to run: shown as 0x...
    if v is None:
        return
    s, out, i = repr(v), [], 0
    while i < len(s):
        if s.startswith("0x", i):
            i += 2
            while i < len(s) and s[i] in "0123456789abcdef":
                i += 1
            out.append("0x...")
        else:
            out.append(s[i])
            i += 1
    print("".join(out))
def __raised(e):
    print("Traceback (most recent call last):")
    print("%%s: %%s" %% (type(e).__name__, e) if str(e) else type(e).__name__)

'''


def main():
    name, out = sys.argv[1], sys.argv[2]
    d = os.path.dirname(__import__('test').__file__)
    src = open(os.path.join(d, name + '.py')).read()
    tree = ast.parse(src)
    os.makedirs(out, exist_ok=True)
    helpers = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and not (
                isinstance(node, ast.ClassDef)
                and any('TestCase' in ast.unparse(b) for b in node.bases)):
            helpers[node.name] = node
    for node in tree.body:
        if not (isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
                and isinstance(node.value.value, str) and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name)
                and node.targets[0].id.endswith('_tests')):
            continue
        var = node.targets[0].id
        if var in SKIP:
            print(f'SKIP {var}: {SKIP[var]}')
            continue
        examples = doctest.DocTestParser().get_examples(node.value.value)
        body, used = [], set()
        for i, ex in enumerate(examples):
            why = next((r for k, r in SKIP_EXAMPLES.items() if k in ex.source), None)
            if why:
                print(f'SKIP {var} example {i + 1} (line {ex.lineno + 1}): {why}')
                continue
            ex.source = REPLACE.get(ex.source, ex.source)
            try:
                compile(ex.source, '<doctest>', 'single')
            except SyntaxError:
                # A program of its own, which fails to compile: the
                # runner compares the SyntaxError line.
                with open(os.path.join(out, f'doctest_{var}_syntax_{i + 1}.co'), 'w') as f:
                    f.write(SYNTAX % {'file': name, 'name': var, 'n': i + 1} + ex.source)
                continue
            for n in ast.walk(ast.parse(ex.source)):
                if isinstance(n, ast.Name):
                    used.add(n.id)
            first = ex.source.splitlines()[0]
            body.append(f'# >>> {first}')
            try:
                ast.parse(ex.source, mode='eval')
                code = '__show(\n' + ex.source.rstrip('\n') + '\n)'
            except SyntaxError:
                code = ex.source.rstrip('\n')
            body.append('try:\n' + textwrap.indent(code, '    ')
                        + '\nexcept BaseException as __e:\n    __raised(__e)\n')
        # Module-level helpers the examples use, with what they use in turn.
        want, todo = [], [h for h in helpers if h in used]
        while todo:
            h = todo.pop()
            if h in want:
                continue
            want.append(h)
            for n in ast.walk(helpers[h]):
                if isinstance(n, ast.Name) and n.id in helpers and n.id not in want:
                    todo.append(n.id)
        extra = ''.join(ast.get_source_segment(src, helpers[h]) + '\n\n'
                        for h in helpers if h in want)
        prog = PRELUDE % {'file': name, 'name': var} + extra + '\n'.join(body) + '\n'
        with open(os.path.join(out, f'doctest_{var}.co'), 'w') as f:
            f.write(prog)


main()
