#!/usr/bin/env python3
"""Ports the test methods of CPython 3.11's Lib/test/test_asyncgen.py into
standalone .co programs, one per test method, with port_tasks.py's assertion
prelude and fixture (which extend port.py's).

The test case fixtures are mapped onto plain asyncio, as port_tasks.py does:
- AsyncGenAsyncioTest's `self.loop` is a module-level `self_loop` made by
  `asyncio.new_event_loop()` with `asyncio.set_event_loop(None)` (its
  setUp); after the test the loop is closed and the policy reset
  (`asyncio.set_event_loop_policy(None)`, its tearDown).
- Helper methods of a test's class (`compare_generators`,
  `check_async_iterator_anext`, the async `to_list`, ...) are copied as
  module functions named `self_<name>`, so they do not clash with the
  module-level helpers of the same name (`to_list`).
- `subTest` only prints its arguments (assertions print instead of raising).
- A test that exec()s a source text and expects a SyntaxError becomes a
  program whose source is that text (it exits 1 with the SyntaxError).
- `test.support.gc_collect()` is a fixture function doing what it does
  (`gc.collect()` three times).

Usage: python3 tests/conformance/cpython/port_asyncgen.py OUTDIR
Prints the left-out tests with their reason.
"""
import ast, os, re, sys, textwrap

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from port_common import inline_self_methods, needed_helpers, outer_self  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
# port_tasks.py's prelude, fixture and SKIP words (its module body without
# the final main() call).
_tasks = ast.parse(open(os.path.join(HERE, 'port_tasks.py')).read())
_ns = {'__file__': os.path.join(HERE, 'port_tasks.py')}
exec(compile(ast.Module([n for n in _tasks.body if not (
    isinstance(n, ast.Expr) and isinstance(n.value, ast.Call) and ast.unparse(n.value) == 'main()')], []),
    'port_tasks.py', 'exec'), _ns)
PRELUDE = _ns['PRELUDE'].replace('Lib/test/test_asyncio/%(file)s.py', 'Lib/test/%(file)s.py') \
    .replace('by tests/conformance/cpython/port_tasks.py', 'by tests/conformance/cpython/port_asyncgen.py')
FIXTURE = _ns['FIXTURE']
SKIP = dict(_ns['SKIP'])
SKIP.pop('contextlib', None)  # contextlib.closing is all the tests use
SKIP.pop('inspect', None)
# test.support.gc_collect() is gc.collect() three times: the fixture has it.
del SKIP['gc_collect']
del SKIP['gc']
SKIP['gc.'] = 'needs gc timing'
FIXTURE += '''def gc_collect():
    # test.support.gc_collect
    import gc
    gc.collect()
    gc.collect()
    gc.collect()
'''
# The exception handlers these tests install only collect what the loop
# reports, and task.get_stack() is only called: covm has both.
del SKIP['set_exception_handler']
del SKIP['call_exception_handler']
del SKIP['get_stack']

SETUP = {
    'AsyncGenAsyncioTest': 'self_loop = asyncio.new_event_loop()\nasyncio.set_event_loop(None)\n',
}
TEARDOWN = {
    'AsyncGenAsyncioTest': 'self_loop.close()\nasyncio.set_event_loop_policy(None)\n',
}

# Single tests left out by name.
TEST_SKIP = {}


def text_of(body):
    return textwrap.dedent(body.split('\n', 1)[1])


def exec_syntax_error(fn):
    # `code = '''...'''` then `with self.assertRaisesRegex(SyntaxError, R):
    # exec(code, {}, {})`: (the source, R), else None.
    b = fn.body
    if not (len(b) == 2 and isinstance(b[0], ast.Assign) and isinstance(b[0].value, ast.Constant)
            and isinstance(b[1], ast.With) and len(b[1].items) == 1):
        return None
    cm = b[1].items[0].context_expr
    if not (isinstance(cm, ast.Call) and ast.unparse(cm.func) == 'self.assertRaisesRegex'
            and ast.unparse(cm.args[0]) == 'SyntaxError'
            and [ast.unparse(x) for x in b[1].body] == ['exec(code, {}, {})']):
        return None
    return b[0].value.value, cm.args[1].value


def main():
    out = sys.argv[1]
    d = os.path.dirname(__import__('test').__file__)
    src = open(os.path.join(d, 'test_asyncgen.py')).read()
    tree = ast.parse(src)
    os.makedirs(out, exist_ok=True)
    classes = {n.name: n for n in tree.body if isinstance(n, ast.ClassDef)
               and any('TestCase' in ast.unparse(b) for b in n.bases)}
    # Module-level helpers: functions, non-TestCase classes, and simple
    # assignments (`_no_default = object()`).
    helpers = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) or (
                isinstance(node, ast.ClassDef) and node.name not in classes):
            helpers[node.name] = node
        elif (isinstance(node, ast.Assign) and len(node.targets) == 1
              and isinstance(node.targets[0], ast.Name) and node.targets[0].id != 'asyncio'):
            helpers[node.targets[0].id] = node

    def needed(text):
        return needed_helpers(helpers, ast.parse(textwrap.dedent(text)))

    def rewrite(text):
        text = re.sub(r'self\.(assert\w+|fail)\(', r'\1(', text)
        text = re.sub(r'self\.loop\b', 'self_loop', text)
        text = text.replace('self.subTest(', 'subTest(')
        return text

    skipped = []
    count = 0
    for cname, cls in classes.items():
        ms = {fn.name: fn for fn in cls.body if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef))}
        for tname, fn in ms.items():
            if not tname.startswith('test'):
                continue
            body = ast.get_source_segment(src, fn)
            why = TEST_SKIP.get(f'{cname}.{tname}')
            exec_code = exec_syntax_error(fn)
            if why is None and exec_code is not None:
                # The source the test exec()s, as the whole program: compiling
                # it raises the SyntaxError the test expects (exit 1, the
                # error as the last line of stderr).
                text, regex = exec_code
                # The text's first line starts at column 0, its body is
                # indented as the test method's code: re-indented by 4.
                def_line, rest = text.split('\n', 1)
                prog = (f'# Ported from CPython 3.11 Lib/test/test_asyncgen.py, {cname}.{tname},\n'
                        '# by tests/conformance/cpython/port_asyncgen.py: the test exec()s this source\n'
                        f'# and expects SyntaxError matching {regex!r}.\n' + def_line + '\n'
                        + textwrap.indent(textwrap.dedent(rest).strip('\n'), '    ').rstrip() + '\n')
                with open(os.path.join(out, f'{cname}_{tname}.co'), 'w') as f:
                    f.write(prog)
                count += 1
                continue
            if why is None and fn.decorator_list:
                why = next((r for k, r in SKIP.items() if r and k in ast.unparse(fn.decorator_list[0])),
                           'has a decorator')
            # Helper methods of the class used by this test, transitively.
            body, meth_text = inline_self_methods(src, ms, body)
            body, meth_text = rewrite(body), rewrite(meth_text)
            extra = ''.join(''.join('@' + ast.unparse(dd) + '\n' for dd in getattr(helpers[h], 'decorator_list', []))
                            + ast.get_source_segment(src, helpers[h]) + '\n\n'
                            for h in needed(meth_text + textwrap.dedent(body)))
            everything = extra + meth_text + body
            # The SKIP words are looked for in the code without its comments
            # ("# Silence warnings" needs no warnings module).
            code = ast.unparse(ast.parse(extra + meth_text + textwrap.dedent(body)))
            if why is None:
                why = next((r for k, r in SKIP.items() if r and k in code), None)
            if why is None and outer_self(ast.parse(textwrap.dedent(meth_text + text_of(body)))):
                why = 'uses a helper of its TestCase'
            if why is None and isinstance(fn, ast.AsyncFunctionDef):
                why = 'async test method'
            if why:
                skipped.append((f'{cname}.{tname}', why))
                continue
            text = textwrap.dedent(body).replace('(self)', '()', 1)
            prog = PRELUDE % {'file': 'test_asyncgen', 'cls': cname, 'name': tname}
            prog += 'import sys\nimport types\nimport asyncio\n'
            prog += ''.join(f'import {m}\n' for m in ('contextlib', 'inspect') if m + '.' in everything)
            prog += FIXTURE + '\n' + extra + meth_text + text + '\n\n'
            prog += SETUP.get(cname, '')
            prog += f'try:\n    {tname}()\nexcept Exception as e:\n    print("test raised", type(e).__name__, e)\n'
            prog += 'doCleanups()\n'
            prog += TEARDOWN.get(cname, '')
            with open(os.path.join(out, f'{cname}_{tname}.co'), 'w') as f:
                f.write(prog)
            count += 1
    for name, why in skipped:
        print(f'SKIP {name}: {why}')
    print(f'ported {count}, left out {len(skipped)}', file=sys.stderr)


main()
