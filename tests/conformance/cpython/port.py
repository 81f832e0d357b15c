#!/usr/bin/env python3
"""Ports the test methods of a CPython 3.11 test file into standalone .co
programs, one per test method: `self.assertX(...)` becomes a call of a small
prelude function that prints what it checks, so the recorded CPython output
is the assertion trail. No unittest machinery is involved.

Usage: python3 tests/conformance/cpython/port.py test_yield_from OUTDIR
Writes OUTDIR/<Class>_<test>.co for every test method that does not use a
name from SKIP (out of scope: threads, gc, weakref, C API, test.support…),
and prints the skipped ones with their reason.

Helper methods of a test's class the test calls (`self.check_x(...)`) are
copied as module functions named `self_<name>`, as port_asyncgen.py does.
A test that compile()s source texts expecting SyntaxError becomes one
program per text, whose source is that text (<Class>_<test>_<n>.co; it
exits 1 with the SyntaxError as the last stderr line).
"""
import ast, os, re, sys, textwrap

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from port_common import inline_self_methods, needed_helpers, outer_self  # noqa: E402

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
'_testcapi': 'needs the C API',
    'warnings': 'needs the warnings module', 'self.loop': 'needs the test event loop fixture',
    'sys._getframe': 'needs sys._getframe', 'subprocess': 'needs subprocesses', 'exec(': 'needs exec',
    'sys.exc_info': None, 'asyncio.test': 'needs asyncio test utils',
    'sys.set_coroutine_origin_tracking_depth': 'needs coroutine origin tracking',
    'compile(': 'needs compile()', 'eval(': 'needs eval()', 'dis.': 'needs dis',
}


def compile_syntax_errors(fn):
    # The source texts a test compile()s expecting SyntaxError, else None:
    # `with self.assertRaises(SyntaxError): compile("...", "<test>", "exec")`
    # or `samples = [...]` then `for code in samples: with self.subTest(...),
    # self.assertRaises(SyntaxError): compile(code, "<test>", "exec")`.
    b = fn.body
    def raises_syntax(w):
        return (isinstance(w, ast.With) and len(w.body) == 1
                and ast.unparse(w.items[-1].context_expr) == 'self.assertRaises(SyntaxError)'
                and isinstance(w.body[0], ast.Expr) and isinstance(w.body[0].value, ast.Call)
                and ast.unparse(w.body[0].value.func) == 'compile')
    if len(b) == 1 and raises_syntax(b[0]):
        arg = b[0].body[0].value.args[0]
        return [arg.value] if isinstance(arg, ast.Constant) else None
    if (len(b) == 2 and isinstance(b[0], ast.Assign) and isinstance(b[0].value, ast.List)
            and all(isinstance(e, ast.Constant) for e in b[0].value.elts)
            and isinstance(b[1], ast.For) and len(b[1].body) == 1 and raises_syntax(b[1].body[0])
            and ast.unparse(b[1].body[0].body[0].value.args[0]) == ast.unparse(b[1].target)):
        return [e.value for e in b[0].value.elts]
    return None


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
        return needed_helpers(helpers, fn)
    for cls in tree.body:
        if not isinstance(cls, ast.ClassDef):
            continue
        ms = {m.name: m for m in cls.body if isinstance(m, (ast.FunctionDef, ast.AsyncFunctionDef))}
        for fn in cls.body:
            if not (isinstance(fn, ast.FunctionDef) and fn.name.startswith('test')):
                continue
            sources = compile_syntax_errors(fn)
            if sources is not None:
                # Each text as a whole program: compiling it raises the
                # SyntaxError the test expects. The text is kept as is (its
                # first line at column 0, the others as indented in the test).
                for i, code in enumerate(sources, 1):
                    prog = (f'# Ported from CPython 3.11 Lib/test/{name}.py, {cls.name}.{fn.name}, text {i},\n'
                            '# by tests/conformance/cpython/port.py: the test compile()s this source\n'
                            '# and expects SyntaxError.\n' + code + ('' if code.endswith('\n') else '\n'))
                    with open(os.path.join(out, f'{cls.name}_{fn.name}_{i:02d}.co'), 'w') as f:
                        f.write(prog)
                continue
            body = ast.get_source_segment(src, fn)
            # Helper methods of the class this test calls, transitively.
            body, meth_text = inline_self_methods(src, ms, body)
            meth_text = re.sub(r'self\.(assert\w+|fail)\(', r'\1(', meth_text)
            extra = ''.join(''.join('@' + ast.unparse(d) + '\n' for d in helpers[h].decorator_list)
                            + ast.get_source_segment(src, helpers[h]) + '\n\n'
                            for h in needed(ast.parse(meth_text + textwrap.dedent(body))))
            extra += meth_text
            body = body.replace("asyncio = import_helper.import_module('asyncio')", 'import asyncio')
            body_all = extra + body
            # The SKIP words are looked for in the code without its comments
            # ("without thread support" needs no test.support).
            code = ast.unparse(ast.parse(extra + textwrap.dedent(body)))
            why = next((r for k, r in SKIP.items() if r and k in code), None)
            text = re.sub(r'self\.(assert\w+|fail)\(', r'\1(', body)
            if why is None and 'assert_python_ok' in text:
                why = 'runs a child interpreter'
            if why is None and outer_self(ast.parse(textwrap.dedent(meth_text)
                                                    + textwrap.dedent(text.split('\n', 1)[1]))):
                why = 'uses a helper of its TestCase'
            if why is None and any(isinstance(n, ast.AsyncFunctionDef) and n is fn for n in [fn]):
                why = 'async test method'
            if why:
                print(f'SKIP {cls.name}.{fn.name}: {why}')
                continue
            text = textwrap.dedent(text).replace('(self)', '()', 1)
            prog = PRELUDE % {'file': name, 'cls': cls.name, 'name': fn.name}
            prog += 'import sys\nimport types\nimport asyncio\n'
            prog += ''.join(f'import {m}\n' for m in ('contextlib', 'inspect') if m + '.' in body_all)
            prog += '\n' + extra + text + '\n\n'
            prog += f'try:\n    {fn.name}()\nexcept Exception as e:\n    print("test raised", type(e).__name__, e)\n'
            with open(os.path.join(out, f'{cls.name}_{fn.name}.co'), 'w') as f:
                f.write(prog)


main()
