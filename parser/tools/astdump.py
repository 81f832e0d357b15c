"""Dump CPython ASTs in the S-expression format of parser/src/tests/dump.rs."""
import ast, sys

def rs(s):
    out = ['"']
    for c in s:
        if c == '\t': out.append('\\t')
        elif c == '\r': out.append('\\r')
        elif c == '\n': out.append('\\n')
        elif c == '\\': out.append('\\\\')
        elif c == '"': out.append('\\"')
        elif c == '\0': out.append('\\0')
        elif not c.isprintable(): out.append('\\u{%x}' % ord(c))
        else: out.append(c)
    out.append('"')
    return ''.join(out)

def rfloat(f):
    r = repr(f)
    if r in ('inf', 'nan'): return r
    if 'e' in r:
        m, e = r.split('e')
        e = int(e)
        return f"{m}e{e}"
    return r

BIN = {ast.Add:'+', ast.Sub:'-', ast.Mult:'*', ast.MatMult:'@', ast.Div:'/', ast.Mod:'%', ast.Pow:'**',
       ast.LShift:'<<', ast.RShift:'>>', ast.BitOr:'|', ast.BitXor:'^', ast.BitAnd:'&', ast.FloorDiv:'//'}
UN = {ast.Invert:'~', ast.Not:'not', ast.UAdd:'+', ast.USub:'-'}
CMP = {ast.Eq:'==', ast.NotEq:'!=', ast.Lt:'<', ast.LtE:'<=', ast.Gt:'>', ast.GtE:'>=', ast.Is:'is',
       ast.IsNot:'is not', ast.In:'in', ast.NotIn:'not in'}

class Unsupported(Exception): pass

def lst(v): return ' '.join(e(x) for x in v)
def opt(x): return '_' if x is None else e(x)

def param(a, d=None):
    s = a.arg
    if a.annotation is not None: s += ':' + e(a.annotation)
    if d is not None: s += '=' + e(d)
    return s

def params(a):
    pos = a.posonlyargs + a.args
    defaults = [None] * (len(pos) - len(a.defaults)) + list(a.defaults)
    parts = []
    for i, p in enumerate(a.posonlyargs):
        parts.append(param(p, defaults[i]))
    if a.posonlyargs: parts.append('/')
    for i, p in enumerate(a.args):
        parts.append(param(p, defaults[len(a.posonlyargs) + i]))
    if a.vararg: parts.append('*' + param(a.vararg))
    elif a.kwonlyargs: parts.append('*')
    for p, d in zip(a.kwonlyargs, a.kw_defaults):
        parts.append(param(p, d))
    if a.kwarg: parts.append('**' + param(a.kwarg))
    return '(' + ' '.join(parts) + ')'

def kw(k):
    return f"{k.arg}={e(k.value)}" if k.arg else f"**{e(k.value)}"

def gens(g):
    out = []
    for c in g:
        s = f"({'async ' if c.is_async else ''}for {e(c.target)} {e(c.iter)}"
        for i in c.ifs: s += f" (if {e(i)})"
        out.append(s + ')')
    return ' '.join(out)

def fparts(values):
    out = []
    for v in values:
        if isinstance(v, ast.Constant): out.append(rs(v.value))
        else:
            s = '{' + e(v.value)
            if v.conversion != -1: s += '!' + chr(v.conversion)
            if v.format_spec is not None and v.format_spec.values:
                s += ':' + fparts(v.format_spec.values)
            out.append(s + '}')
    return ' '.join(out)

def e(x):
    t = type(x)
    if t is ast.BoolOp: return f"({'and' if isinstance(x.op, ast.And) else 'or'} {lst(x.values)})"
    if t is ast.NamedExpr: return f"(:= {x.target.id} {e(x.value)})"
    if t is ast.BinOp: return f"({BIN[type(x.op)]} {e(x.left)} {e(x.right)})"
    if t is ast.UnaryOp: return f"({UN[type(x.op)]} {e(x.operand)})"
    if t is ast.Lambda: return f"(lambda {params(x.args)} {e(x.body)})"
    if t is ast.IfExp: return f"(ifexp {e(x.test)} {e(x.body)} {e(x.orelse)})"
    if t is ast.Dict:
        items = [f"{e(k)}:{e(v)}" if k is not None else f"**{e(v)}" for k, v in zip(x.keys, x.values)]
        return f"(dict {' '.join(items)})"
    if t is ast.Set: return f"(set {lst(x.elts)})"
    if t is ast.ListComp: return f"(listcomp {e(x.elt)} {gens(x.generators)})"
    if t is ast.SetComp: return f"(setcomp {e(x.elt)} {gens(x.generators)})"
    if t is ast.DictComp: return f"(dictcomp {e(x.key)}:{e(x.value)} {gens(x.generators)})"
    if t is ast.GeneratorExp: return f"(genexp {e(x.elt)} {gens(x.generators)})"
    if t is ast.Await: return f"(await {e(x.value)})"
    if t is ast.Yield: return f"(yield {e(x.value)})" if x.value else "(yield)"
    if t is ast.YieldFrom: return f"(yieldfrom {e(x.value)})"
    if t is ast.Compare:
        s = f"(cmp {e(x.left)}"
        for op, c in zip(x.ops, x.comparators): s += f" {CMP[type(op)]} {e(c)}"
        return s + ')'
    if t is ast.Call:
        parts = [e(x.func)] + [e(a) for a in x.args] + [kw(k) for k in x.keywords]
        return f"(call {' '.join(parts)})"
    if t is ast.JoinedStr: return f"(f {fparts(x.values)})"
    if t is ast.Constant:
        v = x.value
        if v is None: return 'None'
        if v is True: return 'True'
        if v is False: return 'False'
        if v is Ellipsis: return '...'
        if isinstance(v, int): return str(v)
        if isinstance(v, float): return rfloat(v)
        if isinstance(v, complex): raise Unsupported('complex')
        if isinstance(v, str): return rs(v)
        if isinstance(v, bytes): return 'b' + rs(v.decode('utf-8', 'replace'))
    if t is ast.Attribute: return f"(. {e(x.value)} {x.attr})"
    if t is ast.Subscript: return f"(sub {e(x.value)} {e(x.slice)})"
    if t is ast.Starred: return f"*{e(x.value)}"
    if t is ast.Name: return x.id
    if t is ast.List: return f"[{lst(x.elts)}]"
    if t is ast.Tuple: return f"(tuple {lst(x.elts)})"
    if t is ast.Slice: return f"(slice {opt(x.lower)} {opt(x.upper)} {opt(x.step)})"
    raise Unsupported(t.__name__)

def block(b): return '[' + '; '.join(s(x) for x in b) + ']'

def s(x):
    t = type(x)
    if t in (ast.FunctionDef, ast.AsyncFunctionDef):
        out = ''.join(f"@{e(d)} " for d in x.decorator_list)
        ret = f" -> {e(x.returns)}" if x.returns else ''
        return out + f"({'async ' if t is ast.AsyncFunctionDef else ''}def {x.name} {params(x.args)}{ret} {block(x.body)})"
    if t is ast.ClassDef:
        out = ''.join(f"@{e(d)} " for d in x.decorator_list)
        args = [e(b) for b in x.bases] + [kw(k) for k in x.keywords]
        return out + f"(class {x.name} ({' '.join(args)}) {block(x.body)})"
    if t is ast.Return: return f"(return {opt(x.value)})"
    if t is ast.Delete: return f"(del {lst(x.targets)})"
    if t is ast.Assign: return f"(= {lst(x.targets)} {e(x.value)})"
    if t is ast.AugAssign: return f"({BIN[type(x.op)]}= {e(x.target)} {e(x.value)})"
    if t is ast.AnnAssign: return f"(ann {e(x.target)} {e(x.annotation)} {opt(x.value)})"
    if t in (ast.For, ast.AsyncFor):
        return f"({'async ' if t is ast.AsyncFor else ''}for {e(x.target)} {e(x.iter)} {block(x.body)} {block(x.orelse)})"
    if t is ast.While: return f"(while {e(x.test)} {block(x.body)} {block(x.orelse)})"
    if t is ast.If: return f"(if {e(x.test)} {block(x.body)} {block(x.orelse)})"
    if t in (ast.With, ast.AsyncWith):
        items = [f"{e(i.context_expr)} as {e(i.optional_vars)}" if i.optional_vars else e(i.context_expr) for i in x.items]
        return f"({'async ' if t is ast.AsyncWith else ''}with ({', '.join(items)}) {block(x.body)})"
    if t is ast.Raise:
        if x.exc is None: return "(raise)"
        if x.cause is None: return f"(raise {e(x.exc)})"
        return f"(raise {e(x.exc)} from {e(x.cause)})"
    if t is ast.Try:
        hs = [f"(except {opt(h.type)}{' as ' + h.name if h.name else ''} {block(h.body)})" for h in x.handlers]
        return f"(try {block(x.body)} {' '.join(hs)} {block(x.orelse)} {block(x.finalbody)})"
    if t is ast.Assert: return f"(assert {e(x.test)} {opt(x.msg)})"
    if t is ast.Import:
        return "(import " + ', '.join(a.name + (f" as {a.asname}" if a.asname else '') for a in x.names) + ")"
    if t is ast.ImportFrom:
        if x.level: raise Unsupported('relative import')
        return f"(from {x.module} import " + ', '.join(a.name + (f" as {a.asname}" if a.asname else '') for a in x.names) + ")"
    if t is ast.Global: return f"(global {' '.join(x.names)})"
    if t is ast.Nonlocal: return f"(nonlocal {' '.join(x.names)})"
    if t is ast.Expr: return e(x.value)
    if t is ast.Pass: return 'pass'
    if t is ast.Break: return 'break'
    if t is ast.Continue: return 'continue'
    raise Unsupported(t.__name__)

if __name__ == '__main__':
    for path in sys.argv[1:]:
        print('@@FILE', path)
        try:
            tree = ast.parse(open(path, encoding='utf-8').read())
            for st in tree.body:
                try: print(s(st))
                except Unsupported as ex: print('@@UNSUPPORTED', ex)
        except Exception as ex:
            print('@@PYERR', type(ex).__name__, ex)
