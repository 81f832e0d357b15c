#!/usr/bin/env python3
"""Ports the test methods of a CPython 3.11 test file into standalone .co
programs, one per test method: `self.assertX(...)` becomes a call of a small
prelude function that prints what it checks, so the recorded CPython output
is the assertion trail. No unittest machinery is involved.

Usage: python3 tests/conformance/cpython/port.py test_yield_from OUTDIR
Writes OUTDIR/<Class>_<test>.co for every test method that does not use a
name from SKIP (out of scope: threads, gc, weakref, C API, test.support…),
and prints the skipped ones with their reason.
"""
import ast, os, re, sys, textwrap

PRELUDE = '''\
# Ported from CPython 3.11 Lib/test/%(file)s.py, %(cls)s.%(name)s,
# by tests/conformance/cpython/port.py: each assertion prints what it checks.
def fail(msg=None):
    raise AssertionError(msg)
def _mask(s):
    # Addresses differ from run to run: shown as 0x...
    out, i = [], 0
    while i < len(s):
        if s.startswith("0x", i):
            i += 2
            while i < len(s) and s[i] in "0123456789abcdef":
                i += 1
            out.append("0x...")
        else:
            out.append(s[i])
            i += 1
    return "".join(out)
def assertEqual(a, b, msg=None):
    print("assertEqual", _mask(repr(a)) if a == b else "FAILED: %%r != %%r" %% (a, b))
def assertNotEqual(a, b, msg=None):
    print("assertNotEqual", "ok" if a != b else "FAILED")
def assertTrue(a, msg=None):
    print("assertTrue", "ok" if a else "FAILED")
def assertFalse(a, msg=None):
    print("assertFalse", "ok" if not a else "FAILED")
def assertIs(a, b, msg=None):
    print("assertIs", "ok" if a is b else "FAILED")
def assertIsNot(a, b, msg=None):
    print("assertIsNot", "ok" if a is not b else "FAILED")
def assertIsNone(a, msg=None):
    print("assertIsNone", "ok" if a is None else "FAILED: %%r" %% (a,))
def assertIsNotNone(a, msg=None):
    print("assertIsNotNone", "ok" if a is not None else "FAILED")
def assertIn(a, b, msg=None):
    print("assertIn", "ok" if a in b else "FAILED")
def assertNotIn(a, b, msg=None):
    print("assertNotIn", "ok" if a not in b else "FAILED")
def assertIsInstance(a, t, msg=None):
    print("assertIsInstance", "ok" if isinstance(a, t) else "FAILED")
def assertRegex(text, regex, msg=None):
    print("assertRegex", _mask(repr(text)))
def assertSequenceEqual(a, b, msg=None):
    assertEqual(list(a), list(b))
assertListEqual = assertSequenceEqual
class _Raises:
    def __init__(self, expected, text=None):
        self.expected = expected
        self.text = text
        self.exception = None
    def __enter__(self):
        return self
    def __exit__(self, t, v, tb):
        if t is None:
            print("assertRaises FAILED: nothing raised")
            return False
        if issubclass(t, self.expected):
            self.exception = v
            print("assertRaises", t.__name__ + ":", v)
            return True
        return False
def assertRaises(expected, *args, **kw):
    cm = _Raises(expected)
    if not args:
        return cm
    with cm:
        args[0](*args[1:], **kw)
def assertRaisesRegex(expected, text, *args, **kw):
    cm = _Raises(expected, text)
    if not args:
        return cm
    with cm:
        args[0](*args[1:], **kw)

'''

SKIP = {
    'gc': 'needs gc timing', 'gc_collect': 'needs gc timing', 'disable_gc': 'needs gc control',
    'weakref': 'needs weakref', 'threading': 'needs threads', 'support': 'needs test.support',
    'captured_stderr': 'needs stderr capture', 'sys.settrace': 'needs tracing hooks',
    'sys.getrefcount': 'needs refcounts', 'copy': 'needs copy/pickle of generators',
    'pickle': 'needs pickle', 'unittest': 'needs unittest.mock', 'mock': 'needs unittest.mock',
'inspect': 'needs inspect internals', '_testcapi': 'needs the C API',
    'warnings': 'needs the warnings module', 'self.loop': 'needs the test event loop fixture',
    'sys._getframe': 'needs sys._getframe', 'subprocess': 'needs subprocesses', 'exec(': 'needs exec',
    'sys.exc_info': None, 'contextlib': 'needs contextlib', 'asyncio.test': 'needs asyncio test utils',
    'sys.set_coroutine_origin_tracking_depth': 'needs coroutine origin tracking',
    'compile(': 'needs compile()', 'eval(': 'needs eval()', 'dis.': 'needs dis',
}


def main():
    name, out = sys.argv[1], sys.argv[2]
    d = os.path.dirname(__import__('test').__file__)
    src = open(os.path.join(d, name + '.py')).read()
    tree = ast.parse(src)
    os.makedirs(out, exist_ok=True)
    # Module-level helpers (functions and non-TestCase classes) a test uses
    # are copied into its program, with the helpers they use in turn.
    helpers = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) or (
                isinstance(node, ast.ClassDef) and not any('TestCase' in ast.unparse(b) for b in node.bases)):
            helpers[node.name] = node

    def needed(fn):
        want, todo = [], [fn]
        while todo:
            n = todo.pop()
            for sub in ast.walk(n):
                if isinstance(sub, ast.Name) and sub.id in helpers and sub.id not in want:
                    want.append(sub.id)
                    todo.append(helpers[sub.id])
        return [h for h in helpers if h in want]
    for cls in tree.body:
        if not isinstance(cls, ast.ClassDef):
            continue
        for fn in cls.body:
            if not (isinstance(fn, ast.FunctionDef) and fn.name.startswith('test')):
                continue
            body = ast.get_source_segment(src, fn)
            extra = ''.join(''.join('@' + ast.unparse(d) + '\n' for d in helpers[h].decorator_list)
                            + ast.get_source_segment(src, helpers[h]) + '\n\n' for h in needed(fn))
            body_all = extra + body
            why = next((r for k, r in SKIP.items() if r and k in body_all), None)
            text = re.sub(r'self\.(assert\w+|fail)\(', r'\1(', body)
            if why is None and 'assert_python_ok' in text:
                why = 'runs a child interpreter'
            if why is None and 'self.' in text.split('\n', 1)[1]:
                why = 'uses a helper of its TestCase'
            if why is None and any(isinstance(n, ast.AsyncFunctionDef) and n is fn for n in [fn]):
                why = 'async test method'
            if why:
                print(f'SKIP {cls.name}.{fn.name}: {why}')
                continue
            text = textwrap.dedent(text).replace('(self)', '()', 1)
            prog = PRELUDE % {'file': name, 'cls': cls.name, 'name': fn.name}
            prog += 'import sys\nimport types\nimport asyncio\n\n' + extra + text + '\n\n'
            prog += f'try:\n    {fn.name}()\nexcept Exception as e:\n    print("test raised", type(e).__name__, e)\n'
            with open(os.path.join(out, f'{cls.name}_{fn.name}.co'), 'w') as f:
                f.write(prog)


main()
