//! Parser tests: AST shapes (through a compact S-expression dump), spans,
//! CPython-worded syntax errors, and a no-panic fuzz pass.

mod dump;
mod errors;
mod fuzz;

use crate::*;

/// Parses a module and dumps it.
fn m(src: &str) -> String {
    match parse_module(src) {
        Ok(b) => dump::stmts(&b),
        Err(e) => panic!("parse error for {src:?}: {e:?}"),
    }
}

/// Parses an expression and dumps it.
fn e(src: &str) -> String {
    match parse_expression(src) {
        Ok(x) => dump::expr(&x),
        Err(err) => panic!("parse error for {src:?}: {err:?}"),
    }
}

fn check(cases: &[(&str, &str)]) {
    for (src, want) in cases {
        assert_eq!(m(src), *want, "source: {src:?}");
    }
}

#[test]
fn simple_statements() {
    check(&[
        ("x = 1 + 2 * 3 ** -4", "(= x (+ 1 (* 2 (** 3 (- 4)))))"),
        ("a, *b = c = d", "(= (tuple a *b) c d)"),
        ("[a, *b] = c", "(= [a *b] c)"),
        ("x = (a, b) = c", "(= x (tuple a b) c)"),
        ("x += yield", "(+= x (yield))"),
        ("x = yield a, b", "(= x (yield (tuple a b)))"),
        ("x = yield from g()", "(= x (yieldfrom (call g)))"),
        ("yield", "(yield)"),
        ("yield a, b", "(yield (tuple a b))"),
        ("x: int", "(ann x int _)"),
        ("x.y: int = 1", "(ann (. x y) int 1)"),
        ("a[0]: list = []", "(ann (sub a 0) list [])"),
        ("return", "(return _)"),
        ("return *a, b", "(return (tuple *a b))"),
        (
            "raise\nraise E\nraise E from c",
            "(raise); (raise E); (raise E from c)",
        ),
        ("del a, b[1], c.d", "(del a (sub b 1) (. c d))"),
        ("del (a, b), [c]", "(del (tuple a b) [c])"),
        ("assert x", "(assert x _)"),
        ("assert x, \"msg\"", "(assert x \"msg\")"),
        (
            "import a.b as c, d\nfrom m import a as b, c\nfrom m import (a,\n  b,)\nfrom m import *",
            "(import a.b as c, d); (from m import a as b, c); (from m import a, b); (from m import *)",
        ),
        (
            "from . import a\nfrom .m import b\nfrom ..p.q import c\nfrom ... import d\nfrom .... import e",
            "(from . import a); (from .m import b); (from ..p.q import c); (from ... import d); (from .... import e)",
        ),
        ("global a, b\nnonlocal c", "(global a b); (nonlocal c)"),
        ("pass; break; continue;", "pass; break; continue"),
        ("x = 1; y = 2", "(= x 1); (= y 2)"),
        ("a.b.c(d)[e](f)", "(call (sub (call (. (. a b) c) d) e) f)"),
        (
            "x = (yield)\nprint((yield))",
            "(= x (yield)); (call print (yield))",
        ),
    ]);
}

#[test]
fn augmented_assignment_ops() {
    check(&[(
        "x += 1\nx -= 1\nx *= 1\nx /= 1\nx @= y\nx //= 2\nx **= 2\nx >>= 1\nx <<= 1\nx |= 1\nx ^= 1\nx &= 1\nx %= 1",
        "(+= x 1); (-= x 1); (*= x 1); (/= x 1); (@= x y); (//= x 2); (**= x 2); (>>= x 1); (<<= x 1); (|= x 1); (^= x 1); (&= x 1); (%= x 1)",
    )]);
}

#[test]
fn compound_statements() {
    check(&[
        (
            "if a: b\nelif c: d\nelif e:\n    f\nelse:\n    g",
            "(if a [b] [(if c [d] [(if e [f] [g])])])",
        ),
        (
            "if a:\n    if b:\n        c\n    else:\n        d",
            "(if a [(if b [c] [d])] [])",
        ),
        (
            "if a:\n    if b:\n        c\nelse:\n    d",
            "(if a [(if b [c] [])] [d])",
        ),
        (
            "for x, y in z:\n    break\nelse:\n    continue",
            "(for (tuple x y) z [break] [continue])",
        ),
        ("for x in *a, b: pass", "(for x (tuple *a b) [pass] [])"),
        ("for [a, *b] in c: pass", "(for [a *b] c [pass] [])"),
        ("while x: pass\nelse: pass", "(while x [pass] [pass])"),
        (
            "while (n := n - 1): pass",
            "(while (:= n (- n 1)) [pass] [])",
        ),
        (
            "try:\n    pass\nexcept:\n    pass\nexcept E:\n    pass\nexcept (A, B) as e:\n    pass\nelse:\n    pass\nfinally:\n    pass",
            "(try [pass] (except _ [pass]) (except E [pass]) (except (tuple A B) as e [pass]) [pass] [pass])",
        ),
        ("try:\n    a\nfinally:\n    b", "(try [a]  [] [b])"),
        ("with a as b, c: pass", "(with (a as b, c) [pass])"),
        (
            "with a as b.c, d as e[0]: pass",
            "(with (a as (. b c), d as (sub e 0)) [pass])",
        ),
        ("with (a, b): pass", "(with (a, b) [pass])"),
        ("with (a, b) as c: pass", "(with ((tuple a b) as c) [pass])"),
        ("with (a): pass", "(with (a) [pass])"),
        (
            "async with a as (b, c): pass",
            "(async with (a as (tuple b c)) [pass])",
        ),
        ("async for x in y: pass", "(async for x y [pass] [])"),
        (
            "def f(a, b=1, /, c=2, *args, d, e=3, **kw) -> int:\n    return a",
            "(def f (a b=1 / c=2 *args d e=3 **kw) -> int [(return a)])",
        ),
        (
            "def f(a: int, *b: str, c: 'x' = 1, **d: T): pass",
            "(def f (a:int *b:str c:\"x\"=1 **d:T) [pass])",
        ),
        (
            "def f(*, a): pass\ndef g(a, /): pass",
            "(def f (* a) [pass]); (def g (a /) [pass])",
        ),
        ("def f(a,): pass", "(def f (a) [pass])"),
        ("def f(): pass", "(def f () [pass])"),
        (
            "@dec\n@dec2(1)\nasync def g(): await x; yield from y",
            "@dec @(call dec2 1) (async def g () [(await x); (yieldfrom y)])",
        ),
        (
            "class A(B, metaclass=M):\n    x: int = 1\n    def m(self): pass",
            "(class A (B metaclass=M) [(ann x int 1); (def m (self) [pass])])",
        ),
        ("class A: pass", "(class A () [pass])"),
        ("class A(): pass", "(class A () [pass])"),
        ("@d\nclass A: pass", "@d (class A () [pass])"),
        (
            "def f():\n    x = 1\n\n    # comment\n    return x\n\ny = 2\n",
            "(def f () [(= x 1); (return x)]); (= y 2)",
        ),
        ("if x:\n  if y:\n    z\nw", "(if x [(if y [z] [])] []); w"),
    ]);
}

#[test]
fn expressions() {
    let cases = [
        ("lambda: 0", "(lambda () 0)"),
        ("lambda x, *y, z=1, **w: x", "(lambda (x *y z=1 **w) x)"),
        ("lambda a, /, b, *, c: a", "(lambda (a / b * c) a)"),
        ("x if y else z", "(ifexp y x z)"),
        ("a if b else c if d else e", "(ifexp b a (ifexp d c e))"),
        (
            "a < b <= c not in d is not e",
            "(cmp a < b <= c not in d is not e)",
        ),
        (
            "a == b != c > d >= e in f is g",
            "(cmp a == b != c > d >= e in f is g)",
        ),
        ("not a and b or c and d", "(or (and (not a) b) (and c d))"),
        ("a or b or c", "(or a b c)"),
        ("not not a", "(not (not a))"),
        ("-2**2", "(- (** 2 2))"),
        ("2**-1", "(** 2 (- 1))"),
        ("a**b**c", "(** a (** b c))"),
        ("await a ** b", "(** (await a) b)"),
        ("-await a", "(- (await a))"),
        ("+a - ~b", "(- (+ a) (~ b))"),
        ("(x := 5)", "(:= x 5)"),
        ("f(x := 1)", "(call f (:= x 1))"),
        ("a - b - c", "(- (- a b) c)"),
        (
            "~a | b ^ c & d << e >> f + g - h * i / j // k % l @ m",
            "(| (~ a) (^ b (& c (>> (<< d e) (- (+ f g) (@ (% (// (/ (* h i) j) k) l) m))))))",
        ),
        ("()", "(tuple )"),
        ("(x,)", "(tuple x)"),
        ("(x)", "x"),
        ("x,", "(tuple x)"),
        ("a, b", "(tuple a b)"),
        ("(*a, b)", "(tuple *a b)"),
        ("[]", "[]"),
        ("[1, *b, 3,]", "[1 *b 3]"),
        ("{}", "(dict )"),
        ("{1: 2, **m, 3: 4,}", "(dict 1:2 **m 3:4)"),
        ("{1, 2, *s}", "(set 1 2 *s)"),
        ("f()", "(call f)"),
        ("f(a, *b, c=1, **d)", "(call f a *b c=1 **d)"),
        ("f(*a, b)", "(call f *a b)"),
        ("f(a=1, *b)", "(call f *b a=1)"),
        ("f(x for x in y)", "(call f (genexp x (for x y)))"),
        ("a[1:2, 3]", "(sub a (tuple (slice 1 2 _) 3))"),
        ("a[::2]", "(sub a (slice _ _ 2))"),
        ("a[:]", "(sub a (slice _ _ _))"),
        ("a[1:]", "(sub a (slice 1 _ _))"),
        ("a[:-1]", "(sub a (slice _ (- 1) _))"),
        ("a[x:=1]", "(sub a (:= x 1))"),
        ("a[1,]", "(sub a (tuple 1))"),
        ("a[*b]", "(sub a (tuple *b))"),
        ("a.b", "(. a b)"),
        ("...", "..."),
        ("True, False, None", "(tuple True False None)"),
        (
            "[i for i in range(10) if i % 2 if i for j in k]",
            "(listcomp i (for i (call range 10) (if (% i 2)) (if i)) (for j k))",
        ),
        ("[x for x, in y]", "(listcomp x (for (tuple x) y))"),
        (
            "{k: v for k, v in d.items()}",
            "(dictcomp k:v (for (tuple k v) (call (. d items))))",
        ),
        ("{a for a in b}", "(setcomp a (for a b))"),
        ("(x async for x in y)", "(genexp x (async for x y))"),
        (
            "[x for x in y if (lambda: 1)]",
            "(listcomp x (for x y (if (lambda () 1))))",
        ),
        (
            "[a if b else c for d in e]",
            "(listcomp (ifexp b a c) (for d e))",
        ),
        ("yield", "(yield)"),
        ("*a, b", "(tuple *a b)"),
    ];
    for (src, want) in cases {
        assert_eq!(e(src), want, "source: {src:?}");
    }
}

#[test]
fn numbers() {
    check(&[
        ("1_000", "1000"),
        ("0xff", "255"),
        ("0o17", "15"),
        ("0b1010", "10"),
        (
            "0XDEADBEEFDEADBEEFDEADBEEF",
            "68915718021581205938132336367",
        ),
        ("1e5", "100000.0"),
        (".5", "0.5"),
        ("5.", "5.0"),
        ("1_000.5", "1000.5"),
        ("1.5E-3", "0.0015"),
        ("00", "0"),
        (
            "123456789012345678901234567890",
            "123456789012345678901234567890",
        ),
        ("1if x else 2", "(ifexp x 1 2)"),
    ]);
}

#[test]
fn strings() {
    check(&[
        ("\"a\" 'b'", "\"ab\""),
        ("'\\n\\t\\\\\\'\\\"'", "\"\\n\\t\\\\'\\\"\""),
        ("'\\x41\\u0042\\U00000043\\101\\0'", "\"ABCA\\0\""),
        ("'a\\\nb'", "\"ab\""),
        ("'\\q'", "\"\\\\q\""),
        ("'\\u20ac'", "\"€\""),
        ("r'\\n\\'' R\"\\d\"", "\"\\\\n\\\\'\\\\d\""),
        ("'''a\n'b'\n'''", "\"a\\n'b'\\n\""),
        ("\"\"\"x\r\ny\"\"\"", "\"x\\ny\""),
        ("u'x'", "\"x\""),
        ("b'x\\x00' b\"\\n\\101\"", "b\"x\\0\\nA\""),
        ("rb'\\n' Br'\\x'", "b\"\\\\n\\\\x\""),
        ("''", "\"\""),
    ]);
}

#[test]
fn fstrings() {
    check(&[
        ("f'a{x}b'", "(f \"a\" {x} \"b\")"),
        (
            "f\"a{x!r:>{w}}b{{}}\" \"c\"",
            "(f \"a\" {x!r:\">\" {w}} \"b{}c\")",
        ),
        ("f'{x=}' f'{ x = }'", "(f {\"x=\" x} {\" x = \" x})"),
        ("f'{x=!s:>4}'", "(f {\"x=\" x!s:\">4\"})"),
        ("f'{a!=b}'", "(f {(cmp a != b)})"),
        ("f'{a, b}'", "(f {(tuple a b)})"),
        ("f'{d[\"k\"]}'", "(f {(sub d \"k\")})"),
        (
            "f'{ {\"a\": 1}[\"a\"] }'",
            "(f {(sub (dict \"a\":1) \"a\")})",
        ),
        ("f'{x:{w}.{p}f}'", "(f {x:{w} \".\" {p} \"f\"})"),
        ("f'{(lambda: 1)()}'", "(f {(call (lambda () 1))})"),
        ("f'{f\"{x}\"}'", "(f {(f {x})})"),
        ("f'{a:%H:%M}'", "(f {a:\"%H:%M\"})"),
        ("f'\\n{x}\\t'", "(f \"\\n\" {x} \"\\t\")"),
        ("rf'\\n{x}'", "(f \"\\\\n\" {x})"),
        ("'a' f'' 'b'", "(f \"ab\")"),
        ("f''", "(f )"),
        ("f'''{\nx\n}'''", "(f {x})"),
        ("f'''a\r\n{x}\r\nb'''", "(f \"a\\n\" {x} \"\\nb\")"),
        ("f'{yield}'", "(f {(yield)})"),
    ]);
}

#[test]
fn spans() {
    let src = "x = foo(1, 2) + y.attr\nif a:\n    b = 'str'\nelse:\n    pass\n";
    let body = parse_module(src).unwrap();
    assert_eq!(&src[body[0].span.clone()], "x = foo(1, 2) + y.attr");
    let StmtKind::Assign { targets, value } = &body[0].kind else {
        panic!()
    };
    assert_eq!(&src[targets[0].span.clone()], "x");
    assert_eq!(&src[value.span.clone()], "foo(1, 2) + y.attr");
    let ExprKind::BinOp { left, right, .. } = &value.kind else {
        panic!()
    };
    assert_eq!(&src[left.span.clone()], "foo(1, 2)");
    let ExprKind::Attribute { attr, .. } = &right.kind else {
        panic!()
    };
    assert_eq!(&src[attr.span.clone()], "attr");
    assert_eq!(
        &src[body[1].span.clone()],
        "if a:\n    b = 'str'\nelse:\n    pass"
    );

    // f-string fields carry absolute spans
    let src = "s = f'ab{x + 1}c{y!r}'";
    let body = parse_module(src).unwrap();
    let StmtKind::Assign { value, .. } = &body[0].kind else {
        panic!()
    };
    let ExprKind::FString(parts) = &value.kind else {
        panic!()
    };
    let FPart::Field { expr, .. } = &parts[1] else {
        panic!()
    };
    assert_eq!(&src[expr.span.clone()], "x + 1");
    let FPart::Field {
        expr, conversion, ..
    } = &parts[3]
    else {
        panic!()
    };
    assert_eq!(&src[expr.span.clone()], "y");
    assert_eq!(*conversion, Some('r'));

    // functions, params, handlers, aliases
    let src = "@d\ndef f(a, b=2):\n    try:\n        pass\n    except E as e:\n        pass\nimport a.b as c";
    let body = parse_module(src).unwrap();
    let StmtKind::FunctionDef(f) = &body[0].kind else {
        panic!()
    };
    assert_eq!(
        &src[body[0].span.clone()],
        &src[3..src.find("import").unwrap() - 1]
    );
    assert_eq!(&src[f.name.span.clone()], "f");
    assert_eq!(&src[f.params.args[1].span.clone()], "b=2");
    assert_eq!(&src[f.decorators[0].span.clone()], "d");
    let StmtKind::Try { handlers, .. } = &f.body[0].kind else {
        panic!()
    };
    assert_eq!(
        &src[handlers[0].span.clone()],
        "except E as e:\n        pass"
    );
    let StmtKind::Import(names) = &body[1].kind else {
        panic!()
    };
    assert_eq!(&src[names[0].span.clone()], "a.b as c");

    // parenthesised expressions keep the inner span; tuples include parens
    let src = "(a) + (b, c)";
    let x = parse_expression(src).unwrap();
    let ExprKind::BinOp { left, right, .. } = &x.kind else {
        panic!()
    };
    assert_eq!(&src[left.span.clone()], "a");
    assert_eq!(&src[right.span.clone()], "(b, c)");
}

#[test]
fn empty_and_blank_input() {
    assert_eq!(m(""), "");
    assert_eq!(m("\n\n"), "");
    assert_eq!(m("# just a comment\n"), "");
    assert_eq!(m("  # indented comment\nx"), "x");
    assert_eq!(m("x = 1  # trailing"), "(= x 1)");
    assert_eq!(m("x = (1,\n  # inside\n  2)"), "(= x (tuple 1 2))");
    assert_eq!(m("x = 1 + \\\n    2"), "(= x (+ 1 2))");
    assert_eq!(m("if a:\r\n    b\r\n"), "(if a [b] [])");
    assert_eq!(m("match = 1\ncase = match"), "(= match 1); (= case match)");
    assert_eq!(m("é = 1"), "(= é 1)");
    assert_eq!(m("\u{feff}x = 1"), "(= x 1)");
    // identifiers with combining marks (XID_Continue)
    assert_eq!(m("नमस्ते = 1"), "(= नमस्ते 1)");
}

/// Dev aid, a no-op unless `COVM_CORPUS` names a file listing source paths
/// (one per line): prints each file's top-level statements, one per line,
/// in the dump format, so a script can compare them with CPython's `ast`.
#[test]
fn corpus_dump() {
    let Ok(list) = std::env::var("COVM_CORPUS") else {
        return;
    };
    let paths = std::fs::read_to_string(list).unwrap_or_default();
    for path in paths.lines() {
        println!("@@FILE {path}");
        let Ok(src) = std::fs::read_to_string(path) else {
            println!("@@ERR unreadable");
            continue;
        };
        match parse_module(&src) {
            Ok(body) => {
                for s in &body {
                    println!("{}", dump::stmt(s).replace('\n', "\\n"));
                }
            }
            Err(e) => {
                let (line, col) = e.line_col(&src);
                println!(
                    "@@ERR {}|{}|{line}|{col}|{}",
                    e.kind, e.message, e.incomplete
                );
            }
        }
    }
}
