#!/usr/bin/env python3
"""Ports the test methods of CPython 3.11's Lib/test/test_asyncio/test_tasks.py
into standalone .co programs, one per test method, as port.py does for the
other test files (same assertion prelude, same SKIP words).

The test case fixtures are mapped onto plain asyncio:
- `self.loop` is a module-level `self_loop` made by `new_test_loop()`: a new
  event loop, with `asyncio.set_event_loop(None)` as test_utils.TestCase
  does, closed after the test. A TestLoop without a time generator never
  advances its clock, so the tests written for it do not depend on time
  and a plain loop stands for it; `new_test_loop(gen)` makes a real
  `test.test_asyncio.utils.TestLoop(gen)` (covm provides that class).
- `self.new_task(loop, coro)` is `asyncio.Task(coro, loop=loop, name=...)`,
  `self.new_future(loop)` is `asyncio.Future(loop=loop)`, `self.Task` and
  `self.Future` are asyncio's classes. The test file runs each case for the
  C and the pure-Python Task/Future; it is ported once.
- The task factory the fixture installs (`loop.set_task_factory`) is not
  installed: `loop.create_task` makes plain tasks.
- Other helper methods of a test's class are copied as module functions;
  `test_utils.MockCallback` is a small recorder class with
  `assert_called_once_with`, which prints what it checks.

Usage: python3 tests/conformance/cpython/port_tasks.py OUTDIR
Prints the left-out tests with their reason.
"""
import ast, os, re, sys, textwrap

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from port_common import inline_self_methods, needed_helpers, outer_self  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
# The assertion prelude and the SKIP words are port.py's.
_port = ast.parse(open(os.path.join(HERE, 'port.py')).read())
_ns = {}
for _n in _port.body:
    if isinstance(_n, ast.Assign) and _n.targets[0].id in ('PRELUDE', 'SKIP'):
        exec(compile(ast.Module([_n], []), 'port.py', 'exec'), _ns)
PRELUDE = _ns['PRELUDE'].replace('''def assertEqual(a, b, msg=None):
    print("assertEqual", _mask(repr(a)) if a == b else "FAILED: %%r != %%r" %% (a, b))''', '''def _where(s):
    # Source locations in coroutine and callback reprs (` at FILE:LINE`)
    # name the temporary folder and asyncio's own files: shown as ` at ...`.
    return re.sub(r" at [^ >\\]]+:[0-9]+", " at ...", _mask(s))
def _plain(a):
    if a is None or isinstance(a, (bool, int, float, str, bytes, type)):
        return True
    if isinstance(a, BaseException):
        return _plain(a.args)
    if isinstance(a, (tuple, list, set, frozenset)):
        return all(_plain(x) for x in a)
    if isinstance(a, dict):
        return all(_plain(k) and _plain(v) for k, v in a.items())
    return False
def _show(a):
    # Equal values print when they are plain data; objects such as tasks
    # print "ok" (their reprs are not what the test compares). Sets print
    # sorted: their order follows the addresses of their items.
    if not _plain(a):
        return "ok"
    if isinstance(a, (set, frozenset)):
        return "{" + ", ".join(sorted(_where(repr(x)) for x in a)) + "}"
    return _where(repr(a))
def assertEqual(a, b, msg=None):
    print("assertEqual", _show(a) if a == b else "FAILED: %%r != %%r" %% (a, b))''').replace(
    '''print("assertRaises", t.__name__ + ":", v)''', '''print("assertRaises", t.__name__ + ":", _where(str(v)))''').replace(
    'def fail(msg=None):', 'import re\ndef fail(msg=None):').replace(
    '''print("assertRegex", _mask(repr(text)))''', '''print("assertRegex", _where(repr(text)))''').replace('Lib/test/%(file)s.py', 'Lib/test/test_asyncio/%(file)s.py') \
    .replace('by tests/conformance/cpython/port.py', 'by tests/conformance/cpython/port_tasks.py')
SKIP = dict(_ns['SKIP'])
del SKIP['self.loop']
del SKIP['asyncio.test']
del SKIP['copy']  # would match contextvars.copy_context
del SKIP['support']  # would match "does not support set_result"
SKIP['support.'] = 'needs test.support'
SKIP['import copy'] = 'needs copy/pickle of generators'
SKIP.update({
    'run_coroutine_threadsafe': 'needs threads',
    'traceback.': 'needs the traceback module',
    'get_stack': 'needs frame stacks of tasks (Task.get_stack/print_stack)',
    'set_debug(True)': "needs the loop's debug mode",
    'PYTHONASYNCIODEBUG': "needs the loop's debug mode",
    'tasks._PyTask': 'tests the pure-Python Task class specifically',
    'futures._PyFuture': 'tests the pure-Python Future class specifically',
    'tasks._CTask': 'tests the C Task class specifically',
    'tasks.Task': 'tests the Task classes specifically',
    'sys.getrefcount': 'needs refcounts',
    'random.': 'its interleaving is random',
    'assertWarns': 'needs the warnings module',
    '__del__': 'needs finalizer timing',
    'run_in_executor': 'needs threads',
    'concurrent.futures': 'needs threads',
    'importlib': 'needs importlib',
    'format_coroutine': "needs coroutine reprs with source locations",
    'coroutines._format_coroutine': "needs asyncio.coroutines internals",
    '__file__': 'needs source file paths',
    'set_exception_handler': 'needs exception handlers',
    'call_exception_handler': 'needs exception handlers',
})

# The stand-in for mock.Mock() that BaseTaskIntrospectionTests' programs get.
MOCK = '''
class Mock:
    # The stand-in task and loop objects of BaseTaskIntrospectionTests
    # (Mock objects there): they only take attributes and need a repr that
    # is the same from run to run.
    _n = 0
    def __init__(self):
        Mock._n += 1
        self._id = Mock._n
    def __repr__(self):
        return "<Mock %d>" % self._id
'''

FIXTURE = '''
Task = asyncio.Task
Future = asyncio.Future
def new_test_loop(gen=None):
    if gen is None:
        loop = asyncio.new_event_loop()
    else:
        from test.test_asyncio import utils as test_utils
        loop = test_utils.TestLoop(gen)
    asyncio.set_event_loop(None)
    return loop
def set_event_loop(loop, cleanup=True):
    asyncio.set_event_loop(None)
def new_task(loop, coro, name='TestTask', context=None):
    return Task(coro, loop=loop, name=name, context=context)
def new_future(loop):
    return Future(loop=loop)
def run_briefly(loop):
    async def once():
        pass
    gen = once()
    t = loop.create_task(gen)
    try:
        loop.run_until_complete(t)
    finally:
        gen.close()
def assertAlmostEqual(a, b, places=7, msg=None, delta=None):
    ok = abs(a - b) <= delta if delta is not None else round(abs(a - b), places) == 0
    print("assertAlmostEqual", "ok" if ok else "FAILED: %r != %r" % (a, b))
def assert_text_contains(text, substr):
    print("assert_text_contains", "ok" if substr in text else "FAILED")
class MockCallback:
    # test_utils.MockCallback, a mock.Mock(spec=['__call__']): records calls.
    def __init__(self, **kw):
        self.called = False
        self.call_args_list = []
    def __call__(self, *args, **kw):
        self.called = True
        self.call_args_list.append((args, kw))
    def assert_called_once_with(self, *args, **kw):
        ok = self.call_args_list == [(args, kw)]
        print("assert_called_once_with", "ok" if ok else "FAILED")
_cleanups = []
def addCleanup(f, *args):
    _cleanups.append((f, args))
def doCleanups():
    while _cleanups:
        f, args = _cleanups.pop()
        f(*args)
class subTest:
    # Assertions print instead of raising, so a subtest only marks its start.
    def __init__(self, msg=None, **kw):
        print("subTest", msg if msg is not None else "", *["%s=%r" % i for i in kw.items()])
    def __enter__(self):
        return self
    def __exit__(self, *a):
        return False
'''

# Per-class fixture: what setUp makes, as module-level names.
SETUP = {
    'BaseTaskTests': 'self_loop = new_test_loop()\n',
    'SetMethodsTest': 'self_loop = new_test_loop()\n',
    'BaseCurrentLoopTests': 'self_loop = asyncio.new_event_loop()\nset_event_loop(self_loop)\n',
    'SleepTests': 'self_loop = asyncio.new_event_loop()\nset_event_loop(self_loop)\n',
    'CompatibilityTests': 'self_loop = asyncio.new_event_loop()\nset_event_loop(self_loop)\n',
    'FutureGatherTests': 'self_one_loop = new_test_loop()\nself_other_loop = new_test_loop()\n',
    'CoroutineGatherTests': 'self_one_loop = new_test_loop()\nself_other_loop = new_test_loop()\n',
    'GenericTaskTests': '',
}
TEARDOWN = {
    'FutureGatherTests': ('self_one_loop', 'self_other_loop'),
    'CoroutineGatherTests': ('self_one_loop', 'self_other_loop'),
    'GenericTaskTests': (),
}
# Where a class's tests come from: its own body and the bases in this file.
SOURCES = {
    'FutureGatherTests': ['GatherTestsBase', 'FutureGatherTests'],
    'CoroutineGatherTests': ['GatherTestsBase', 'CoroutineGatherTests'],
}
# Classes that only repeat BaseTaskTests for other Task/Future classes.
REPEATS = {'CTask_CFuture_Tests', 'CTask_CFuture_SubclassTests', 'CTaskSubclass_PyFuture_Tests',
           'PyTask_CFutureSubclass_Tests', 'CTask_PyFuture_Tests', 'PyTask_CFuture_Tests',
           'PyTask_PyFuture_Tests', 'PyTask_PyFuture_SubclassTests', 'PyCurrentLoopTests',
           'CCurrentLoopTests', 'GatherTestsBase'}
CLASS_SKIP = {
    'CTask_Future_Tests': 'tests the C Task class specifically',
    'PyIntrospectionTests': None, 'CIntrospectionTests': None,
    'RunCoroutineThreadsafeTests': 'needs threads',
}

# Single tests left out by name.
TEST_SKIP = {}


def text_of(body):
    # The test's statements, without its `def` line.
    return textwrap.dedent(body.split('\n', 1)[1])


def main():
    out = sys.argv[1]
    d = os.path.dirname(__import__('test').__file__)
    src = open(os.path.join(d, 'test_asyncio', 'test_tasks.py')).read()
    tree = ast.parse(src)
    os.makedirs(out, exist_ok=True)
    classes = {n.name: n for n in tree.body if isinstance(n, ast.ClassDef)}
    helpers = {}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) or (
                isinstance(node, ast.ClassDef) and node.name in ('Dummy', 'CoroLikeObject')):
            helpers[node.name] = node

    def needed(text):
        return needed_helpers(helpers, ast.parse(textwrap.dedent(text)))

    def methods(names):
        ms = {}
        for cname in names:
            for fn in classes[cname].body:
                if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    ms[fn.name] = fn
        return ms

    def rewrite(text):
        text = re.sub(r'self\.(assert\w+|fail)\(', r'\1(', text)
        text = re.sub(r'self\.__class__\.(Task|Future)\b', r'\1', text)
        text = re.sub(r'self\.(loop|one_loop|other_loop)\b', r'self_\1', text)
        text = re.sub(r'self\.(Task|Future)\b', r'\1', text)
        text = text.replace('test_utils.run_briefly', 'run_briefly')
        text = text.replace('test_utils.MockCallback(', 'MockCallback(')
        return text

    skipped = []
    count = 0
    for cname, cls in classes.items():
        if cname in REPEATS or cname in ('Dummy', 'CoroLikeObject'):
            continue
        if cname in CLASS_SKIP:
            why = CLASS_SKIP[cname]
            if why:
                for fn in cls.body:
                    if isinstance(fn, ast.FunctionDef) and fn.name.startswith('test'):
                        skipped.append((f'{cname}.{fn.name}', why))
            continue
        srcs = SOURCES.get(cname, [cname])
        ms = methods(srcs)
        for tname, fn in ms.items():
            if not tname.startswith('test'):
                continue
            body = ast.get_source_segment(src, fn)
            why = TEST_SKIP.get(f'{cname}.{tname}')
            if why is None and fn.decorator_list:
                why = next((r for k, r in SKIP.items() if r and k in ast.unparse(fn.decorator_list[0])),
                           'has a decorator')
            # Helper methods of the class used by this test, transitively.
            used, todo = [], [body]
            while todo:
                t = todo.pop()
                for m in re.findall(r'self\.(\w+)\(', t):
                    if m in ms and not m.startswith('test') and m not in used and m not in (
                            'new_task', 'new_future', 'setUp', 'tearDown'):
                        used.append(m)
                        todo.append(ast.get_source_segment(src, ms[m]))
            meth_text = ''
            for m in used:
                mt = textwrap.dedent(ast.get_source_segment(src, ms[m]))
                mt = re.sub(r'\(self,\s*', '(', mt, count=1).replace('(self)', '()', 1)
                meth_text += mt + '\n\n'
            for m in used + ['new_test_loop', 'set_event_loop', 'new_task', 'new_future',
                             'assert_text_contains', 'addCleanup', 'subTest']:
                body = body.replace(f'self.{m}(', f'{m}(')
                meth_text = meth_text.replace(f'self.{m}(', f'{m}(')
            body, meth_text = rewrite(body), rewrite(meth_text)
            if cname == 'BaseTaskIntrospectionTests':
                # The registry functions under test are asyncio's own; the
                # mock objects are the fixture's Mock.
                body = re.sub(r'self\.(_register_task|_unregister_task|_enter_task|_leave_task)\(',
                              r'asyncio.\1(', body).replace('mock.Mock()', 'Mock()')
                meth_text = MOCK.lstrip('\n') + meth_text
            if cname == 'BaseCurrentLoopTests':
                meth_text = 'def new_task(coro):\n    return Task(coro, loop=self_loop)\n\n' + meth_text
            if cname in ('FutureGatherTests', 'CoroutineGatherTests'):
                meth_text = '_gather = asyncio.gather\n' + meth_text
                body = body.replace('self._gather(', '_gather(')
                meth_text = meth_text.replace('self._gather(', '_gather(')
            extra = ''.join(''.join('@' + ast.unparse(dd) + '\n' for dd in helpers[h].decorator_list)
                            + ast.get_source_segment(src, helpers[h]) + '\n\n'
                            for h in needed(meth_text + textwrap.dedent(body)))
            everything = extra + meth_text + body
            if why is None:
                why = next((r for k, r in SKIP.items() if r and k in everything), None)
            if why is None and outer_self(ast.parse(textwrap.dedent(meth_text + text_of(body)))):
                why = 'uses a helper of its TestCase'
            if why is None and isinstance(fn, ast.AsyncFunctionDef):
                why = 'async test method'
            if why:
                skipped.append((f'{cname}.{tname}', why))
                continue
            text = textwrap.dedent(body).replace('(self)', '()', 1)
            prog = PRELUDE % {'file': 'test_tasks', 'cls': cname, 'name': tname}
            prog += 'import sys\nimport types\nimport asyncio\n'
            prog += ''.join(f'import {m}\n' for m in ('contextvars', 'collections', 'functools')
                            if m + '.' in everything)
            if 'GenericAlias' in everything:
                prog += 'from types import GenericAlias\n'
            prog += FIXTURE + '\n' + extra + meth_text + text + '\n\n'
            prog += SETUP.get(cname, 'self_loop = new_test_loop()\n')
            prog += f'try:\n    {tname}()\nexcept Exception as e:\n    print("test raised", type(e).__name__, e)\n'
            prog += 'doCleanups()\n'
            for l in TEARDOWN.get(cname, ('self_loop',)):
                prog += f'{l}.close()\n'
            with open(os.path.join(out, f'{cname}_{tname}.co'), 'w') as f:
                f.write(prog)
            count += 1
    for name, why in skipped:
        print(f'SKIP {name}: {why}')
    print(f'ported {count}, left out {len(skipped)}', file=sys.stderr)


main()
