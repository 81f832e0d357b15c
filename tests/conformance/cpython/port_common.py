"""Pieces the CPython test porters share (port.py, port_tasks.py,
port_asyncgen.py): finding what a test method uses of its file and of its
TestCase."""
import ast, re, textwrap


def outer_self(tree):
    # Whether `self` is used outside the functions that take it as their own
    # argument (the methods of classes a test defines).
    found = False

    def visit(n, bound):
        nonlocal found
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            bound = bound or any(a.arg == 'self' for a in n.args.args)
        if isinstance(n, ast.Name) and n.id == 'self' and not bound:
            found = True
        for c in ast.iter_child_nodes(n):
            visit(c, bound)
    visit(tree, False)
    return found


def needed_helpers(helpers, root):
    """The module-level helpers (name -> node) that `root` uses,
    transitively, in the file's order."""
    want, todo = [], [root]
    while todo:
        n = todo.pop()
        for sub in ast.walk(n):
            if isinstance(sub, ast.Name) and sub.id in helpers and sub.id not in want:
                want.append(sub.id)
                todo.append(helpers[sub.id])
    return [h for h in helpers if h in want]


def inline_self_methods(src, ms, body):
    """The TestCase methods (name -> node in `src`) that `body` calls,
    transitively, as `self_<name>` functions: (body calling them, their
    source)."""
    used, todo = [], [body]
    while todo:
        t = todo.pop()
        for m in re.findall(r'self\.(\w+)\(', t):
            if m in ms and not m.startswith('test') and m not in used and m not in (
                    'setUp', 'tearDown'):
                used.append(m)
                todo.append(ast.get_source_segment(src, ms[m]))
    meth_text = ''
    for m in used:
        mt = textwrap.dedent(ast.get_source_segment(src, ms[m]))
        mt = re.sub(r'def (\w+)\(self,\s*', r'def self_\1(', mt, count=1)
        mt = re.sub(r'def (\w+)\(self\)', r'def self_\1()', mt, count=1)
        meth_text += mt + '\n\n'
    for m in used:
        body = body.replace(f'self.{m}(', f'self_{m}(')
        meth_text = meth_text.replace(f'self.{m}(', f'self_{m}(')
    return body, meth_text
