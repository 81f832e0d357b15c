//! Syntax errors: CPython 3.11's message, kind, location and the REPL's
//! `incomplete` flag.

use crate::*;

/// (source, kind, message, line, 1-based column, incomplete)
type Case = (&'static str, &'static str, &'static str, usize, usize, bool);

const S: &str = "SyntaxError";
const I: &str = "IndentationError";

fn location(src: &str, pos: usize) -> (usize, usize) {
    SyntaxError {
        kind: "SyntaxError",
        message: String::new(),
        span: pos..pos,
        note: None,
        incomplete: false,
    }
    .line_col(src)
}

fn run(cases: &[Case]) {
    for &(src, kind, message, line, col, incomplete) in cases {
        let err = match parse_module(src) {
            Ok(body) => panic!("expected an error for {src:?}, got {body:?}"),
            Err(e) => e,
        };
        let got = (
            err.kind,
            err.message.as_str(),
            location(src, err.span.start),
            err.incomplete,
        );
        assert_eq!(
            got,
            (kind, message, (line, col), incomplete),
            "source: {src:?}"
        );
    }
}

#[test]
fn generic_and_colon() {
    run(&[
        ("if x print(1)", S, "invalid syntax", 1, 6, false),
        ("else", S, "invalid syntax", 1, 1, false),
        ("x = 1 +", S, "invalid syntax", 1, 8, false),
        ("a $ b", S, "invalid syntax", 1, 3, false),
        ("a ! b", S, "invalid syntax", 1, 3, false),
        ("for x in y z:\n    pass", S, "invalid syntax", 1, 12, false),
        ("lambda x", S, "invalid syntax", 1, 9, false),
        ("x = 1.2.3", S, "invalid syntax", 1, 8, false),
        ("if x", S, "expected ':'", 1, 5, false),
        ("while x\n    pass", S, "expected ':'", 1, 8, false),
        ("for x in y\n    pass", S, "expected ':'", 1, 11, false),
        ("def f()\n    pass", S, "expected ':'", 1, 8, false),
        ("class A\n    pass", S, "expected ':'", 1, 8, false),
        ("try\n    pass", S, "expected ':'", 1, 4, false),
        (
            "if x:\n    pass\nelse\n    pass",
            S,
            "expected ':'",
            3,
            5,
            false,
        ),
        (
            "if x:\n    pass\nelif y\n    pass",
            S,
            "expected ':'",
            3,
            7,
            false,
        ),
        ("with a as b\n    pass", S, "expected ':'", 1, 12, false),
        (
            "try:\n    pass\nexcept E\n    pass",
            S,
            "expected ':'",
            3,
            9,
            false,
        ),
        (
            "try:\n    pass\nfinally\n    pass",
            S,
            "expected ':'",
            3,
            8,
            false,
        ),
        (
            "try:\n    pass\nx = 1",
            S,
            "expected 'except' or 'finally' block",
            3,
            1,
            false,
        ),
        (
            "x = [1 if y]",
            S,
            "expected 'else' after 'if' expression",
            1,
            8,
            false,
        ),
        (
            "[a b]",
            S,
            "invalid syntax. Perhaps you forgot a comma?",
            1,
            2,
            false,
        ),
        (
            "f(a b)",
            S,
            "invalid syntax. Perhaps you forgot a comma?",
            1,
            3,
            false,
        ),
        (
            "if x = 1:\n    pass",
            S,
            "invalid syntax. Maybe you meant '==' or ':=' instead of '='?",
            1,
            4,
            false,
        ),
        (
            "f(a.b=1)",
            S,
            "expression cannot contain assignment, perhaps you meant \"==\"?",
            1,
            3,
            false,
        ),
        (
            "print 'x'",
            S,
            "Missing parentheses in call to 'print'. Did you mean print(...)?",
            1,
            1,
            false,
        ),
        (
            "from m import a,",
            S,
            "trailing comma not allowed without surrounding parentheses",
            1,
            17,
            false,
        ),
        (
            "a, b: int = 1",
            S,
            "only single target (not tuple) can be annotated",
            1,
            1,
            false,
        ),
        (
            "[a]: int",
            S,
            "only single target (not list) can be annotated",
            1,
            1,
            false,
        ),
        (
            "yield x = 1",
            S,
            "assignment to yield expression not possible",
            1,
            1,
            false,
        ),
    ]);
}

#[test]
fn indentation() {
    run(&[
        (" x = 1", I, "unexpected indent", 1, 1, false),
        (
            "def foo():\n    x = 1\n     y = 2",
            I,
            "unexpected indent",
            3,
            5,
            false,
        ),
        (
            "if x:\npass",
            I,
            "expected an indented block after 'if' statement on line 1",
            2,
            1,
            false,
        ),
        (
            "def f():\nx",
            I,
            "expected an indented block after function definition on line 1",
            2,
            1,
            false,
        ),
        (
            "async def f():\n  pass\n\n\nasync def g():\nx",
            I,
            "expected an indented block after function definition on line 5",
            6,
            1,
            false,
        ),
        (
            "@d\ndef f():\npass",
            I,
            "expected an indented block after function definition on line 2",
            3,
            1,
            false,
        ),
        (
            "class A:\npass",
            I,
            "expected an indented block after class definition on line 1",
            2,
            1,
            false,
        ),
        (
            "for x in y:\npass",
            I,
            "expected an indented block after 'for' statement on line 1",
            2,
            1,
            false,
        ),
        (
            "while x:\npass",
            I,
            "expected an indented block after 'while' statement on line 1",
            2,
            1,
            false,
        ),
        (
            "with a:\npass",
            I,
            "expected an indented block after 'with' statement on line 1",
            2,
            1,
            false,
        ),
        (
            "try:\npass",
            I,
            "expected an indented block after 'try' statement on line 1",
            2,
            1,
            false,
        ),
        (
            "try:\n    pass\nexcept:\npass",
            I,
            "expected an indented block after 'except' statement on line 3",
            4,
            1,
            false,
        ),
        (
            "try:\n    pass\nexcept E as e:\npass",
            I,
            "expected an indented block after 'except' statement on line 3",
            4,
            1,
            false,
        ),
        (
            "try:\n    pass\nfinally:\npass",
            I,
            "expected an indented block after 'finally' statement on line 3",
            4,
            1,
            false,
        ),
        (
            "if x:\n    pass\nelse:\npass",
            I,
            "expected an indented block after 'else' statement on line 3",
            4,
            1,
            false,
        ),
        (
            "if x:\n    pass\nelif y:\npass",
            I,
            "expected an indented block after 'elif' statement on line 3",
            4,
            1,
            false,
        ),
        (
            "async def f():\n    async for x in y:\n    pass",
            I,
            "expected an indented block after 'for' statement on line 2",
            3,
            5,
            false,
        ),
        (
            "async def f():\n    async with x:\n    pass",
            I,
            "expected an indented block after 'with' statement on line 2",
            3,
            5,
            false,
        ),
        (
            "for x in y:\n",
            I,
            "expected an indented block after 'for' statement on line 1",
            1,
            12,
            true,
        ),
        (
            "if x:",
            I,
            "expected an indented block after 'if' statement on line 1",
            1,
            6,
            true,
        ),
        (
            "if x:\n    a\n  b",
            I,
            "unindent does not match any outer indentation level",
            3,
            4,
            false,
        ),
        (
            "if x:\n    pass\n  else:\n    pass",
            I,
            "unindent does not match any outer indentation level",
            3,
            8,
            false,
        ),
        (
            "if x:\n\ta\n        b",
            "TabError",
            "inconsistent use of tabs and spaces in indentation",
            3,
            1,
            false,
        ),
    ]);
}

#[test]
fn tokenizer_errors() {
    run(&[
        ("(1,", S, "'(' was never closed", 1, 1, true),
        ("x = [1,\n2", S, "'[' was never closed", 1, 5, true),
        ("x = {", S, "'{' was never closed", 1, 5, true),
        ("a = [1, 2\nb = 3", S, "'[' was never closed", 1, 5, true),
        ("x)", S, "unmatched ')'", 1, 2, false),
        (
            "(1]",
            S,
            "closing parenthesis ']' does not match opening parenthesis '('",
            1,
            3,
            false,
        ),
        (
            "(1,\n]",
            S,
            "closing parenthesis ']' does not match opening parenthesis '(' on line 1",
            2,
            1,
            false,
        ),
        (
            "'abc",
            S,
            "unterminated string literal (detected at line 1)",
            1,
            1,
            false,
        ),
        (
            "x = 1\ny = 'abc\nz",
            S,
            "unterminated string literal (detected at line 2)",
            2,
            5,
            false,
        ),
        (
            "'abc\\\ndef",
            S,
            "unterminated string literal (detected at line 2)",
            1,
            1,
            false,
        ),
        (
            "\"\"\"abc\ndef",
            S,
            "unterminated triple-quoted string literal (detected at line 2)",
            1,
            1,
            true,
        ),
        (
            "x = '''abc\n",
            S,
            "unterminated triple-quoted string literal (detected at line 1)",
            1,
            5,
            true,
        ),
        ("1abc", S, "invalid decimal literal", 1, 1, false),
        ("x = 1_", S, "invalid decimal literal", 1, 6, false),
        ("x = 1e", S, "invalid decimal literal", 1, 5, false),
        ("x = 0x", S, "invalid hexadecimal literal", 1, 6, false),
        (
            "x = 0b2",
            S,
            "invalid digit '2' in binary literal",
            1,
            7,
            false,
        ),
        ("0o8", S, "invalid digit '8' in octal literal", 1, 3, false),
        (
            "x = 01",
            S,
            "leading zeros in decimal integer literals are not permitted; use an 0o prefix for octal integers",
            1,
            5,
            false,
        ),
        ("x = €", S, "invalid character '€' (U+20AC)", 1, 5, false),
        (
            "x = 1 \\ y",
            S,
            "unexpected character after line continuation character",
            1,
            8,
            false,
        ),
        ("x = 1 \\", S, "unexpected EOF while parsing", 1, 8, true),
        ("x = 1 \\\n", S, "unexpected EOF while parsing", 1, 8, true),
        // a tokenizer error later in the file wins over a parser error
        (
            "x = = 1\ny = 'abc",
            S,
            "unterminated string literal (detected at line 2)",
            2,
            5,
            false,
        ),
        ("x = (\ny = = 1", S, "'(' was never closed", 1, 5, true),
        ("x = = 1\ny = (", S, "invalid syntax", 1, 5, false),
    ]);
}

#[test]
fn subset_refusals() {
    run(&[
        (
            "x = 1j",
            S,
            "covm does not support complex numbers",
            1,
            5,
            false,
        ),
        (
            "x = 1.5J",
            S,
            "covm does not support complex numbers",
            1,
            5,
            false,
        ),
        (
            "with (a as b):\n    pass",
            S,
            "covm does not support parenthesised with-items",
            1,
            6,
            false,
        ),
        (
            "match x:\n    case 1: pass",
            S,
            "covm does not support match statements",
            1,
            1,
            false,
        ),
    ]);
}

#[test]
fn targets() {
    let suggest =
        |what: &str| format!("cannot assign to {what} here. Maybe you meant '==' instead of '='?");
    let cases: Vec<(String, &str, usize)> = vec![
        (suggest("function call"), "f() = 1", 1),
        (suggest("literal"), "1 = x", 1),
        (suggest("literal"), "\"s\" = 1", 1),
        (suggest("expression"), "a + b = 1", 1),
        (suggest("expression"), "-a = 1", 1),
        (suggest("ellipsis"), "... = 1", 1),
        (suggest("f-string expression"), "f'{x}' = 1", 1),
        (suggest("list comprehension"), "[x for x in y] = 1", 1),
        (suggest("dict literal"), "{a: b} = 1", 1),
        (suggest("await expression"), "await a = 1", 1),
        (suggest("named expression"), "(a := 1) = 2", 2),
        ("cannot assign to True".into(), "True = 1", 1),
        ("cannot assign to None".into(), "None = 1", 1),
        (
            "cannot assign to conditional expression".into(),
            "a if b else c = 1",
            1,
        ),
        ("cannot assign to lambda".into(), "lambda: 1 = 2", 1),
        ("cannot assign to comparison".into(), "a < b = 1", 1),
        ("cannot assign to expression".into(), "not a = 1", 1),
        (
            "cannot assign to generator expression".into(),
            "(x for x in y) = 1",
            1,
        ),
        ("cannot assign to function call".into(), "f() = yield", 1),
        ("cannot assign to function call".into(), "a = f() = 1", 5),
        ("cannot assign to function call".into(), "(f(), a) = 1", 2),
        ("cannot assign to function call".into(), "[f()] = 1", 2),
        (
            "cannot assign to function call".into(),
            "for f() in x: pass",
            5,
        ),
        (
            "cannot assign to function call".into(),
            "with a as f(): pass",
            11,
        ),
        (
            "cannot assign to function call".into(),
            "[1 for f() in x]",
            8,
        ),
        (
            "starred assignment target must be in a list or tuple".into(),
            "*a = b",
            1,
        ),
        (
            "multiple starred expressions in assignment".into(),
            "a, *b, *c = d",
            1,
        ),
        (
            "assignment to yield expression not possible".into(),
            "x = yield = 2",
            5,
        ),
        ("can't use starred expression here".into(), "x = *a", 5),
        ("can't use starred expression here".into(), "*a", 1),
        ("cannot use starred expression here".into(), "(*a)", 2),
        (
            "'tuple' is an illegal expression for augmented assignment".into(),
            "a, b += 1",
            1,
        ),
        (
            "'function call' is an illegal expression for augmented assignment".into(),
            "f() += 1",
            1,
        ),
        (
            "'list' is an illegal expression for augmented assignment".into(),
            "[a] += 1",
            1,
        ),
        (
            "'expression' is an illegal expression for augmented assignment".into(),
            "x + 1 += 1",
            1,
        ),
        ("cannot delete function call".into(), "del f()", 5),
        ("cannot delete literal".into(), "del a, 1", 8),
        ("cannot delete starred".into(), "del *a", 5),
        ("illegal target for annotation".into(), "f(): int", 1),
    ];
    for (message, src, col) in &cases {
        let err = parse_module(src).expect_err(src);
        assert_eq!(err.message, *message, "source: {src:?}");
        assert_eq!(location(src, err.span.start), (1, *col), "source: {src:?}");
        assert_eq!(err.kind, "SyntaxError");
    }
}

#[test]
fn arguments_and_parameters() {
    run(&[
        (
            "f(a=1, b)",
            S,
            "positional argument follows keyword argument",
            1,
            8,
            false,
        ),
        (
            "f(**a, *b)",
            S,
            "iterable argument unpacking follows keyword argument unpacking",
            1,
            8,
            false,
        ),
        (
            "f(**a, b)",
            S,
            "positional argument follows keyword argument unpacking",
            1,
            8,
            false,
        ),
        (
            "f(a=1, a=2)",
            S,
            "keyword argument repeated: a",
            1,
            8,
            false,
        ),
        (
            "f(x for x in y, 1)",
            S,
            "Generator expression must be parenthesized",
            1,
            3,
            false,
        ),
        (
            "f(1, x for x in y)",
            S,
            "Generator expression must be parenthesized",
            1,
            6,
            false,
        ),
        (
            "f(x for x in y, )",
            S,
            "Generator expression must be parenthesized",
            1,
            3,
            false,
        ),
        (
            "def f(a=1, b): pass",
            S,
            "non-default argument follows default argument",
            1,
            12,
            false,
        ),
        (
            "def f(a=1, /, b): pass",
            S,
            "non-default argument follows default argument",
            1,
            15,
            false,
        ),
        (
            "lambda a=1, b: 0",
            S,
            "non-default argument follows default argument",
            1,
            13,
            false,
        ),
        (
            "def f(a, a): pass",
            S,
            "duplicate argument 'a' in function definition",
            1,
            10,
            false,
        ),
        (
            "def f(a, *, b, **a): pass",
            S,
            "duplicate argument 'a' in function definition",
            1,
            18,
            false,
        ),
        (
            "lambda x, x: 0",
            S,
            "duplicate argument 'x' in function definition",
            1,
            11,
            false,
        ),
        (
            "def f(*): pass",
            S,
            "named arguments must follow bare *",
            1,
            7,
            false,
        ),
        (
            "def f(*, **k): pass",
            S,
            "named arguments must follow bare *",
            1,
            7,
            false,
        ),
        (
            "def f(*a, *b): pass",
            S,
            "* argument may appear only once",
            1,
            11,
            false,
        ),
        (
            "def f(**k, a): pass",
            S,
            "arguments cannot follow var-keyword argument",
            1,
            12,
            false,
        ),
        (
            "def f(a, /, /): pass",
            S,
            "/ may appear only once",
            1,
            13,
            false,
        ),
        (
            "def f(*, a, /): pass",
            S,
            "/ must be ahead of *",
            1,
            13,
            false,
        ),
        ("def f(/): pass", S, "invalid syntax", 1, 7, false),
    ]);
}

#[test]
fn string_errors() {
    run(&[
        (
            "f'{}'",
            S,
            "f-string: empty expression not allowed",
            1,
            4,
            false,
        ),
        (
            "f'{ }'",
            S,
            "f-string: empty expression not allowed",
            1,
            5,
            false,
        ),
        (
            "f'a}b'",
            S,
            "f-string: single '}' is not allowed",
            1,
            4,
            false,
        ),
        (
            "f'{a}}'",
            S,
            "f-string: single '}' is not allowed",
            1,
            6,
            false,
        ),
        ("f'{a'", S, "f-string: expecting '}'", 1, 4, false),
        ("f'{x!r=}'", S, "f-string: expecting '}'", 1, 7, false),
        (
            "f'{a!x}'",
            S,
            "f-string: invalid conversion character: expected 's', 'r', or 'a'",
            1,
            6,
            false,
        ),
        (
            "f'{a:{b:{c}}}'",
            S,
            "f-string: expressions nested too deeply",
            1,
            9,
            false,
        ),
        (
            "f'{#}'",
            S,
            "f-string expression part cannot include '#'",
            1,
            4,
            false,
        ),
        (
            "f'{a[}'",
            S,
            "f-string: closing parenthesis '}' does not match opening parenthesis '['",
            1,
            6,
            false,
        ),
        ("f'{a)}'", S, "f-string: unmatched ')'", 1, 5, false),
        (
            "f'{a b}'",
            S,
            "f-string: invalid syntax. Perhaps you forgot a comma?",
            1,
            4,
            false,
        ),
        ("x = f'{a +}'", S, "f-string: invalid syntax", 1, 11, false),
        (
            "f'{*a}'",
            S,
            "f-string: cannot use starred expression here",
            1,
            4,
            false,
        ),
        (
            "f'{lambda x: 1}'",
            S,
            "f-string: invalid syntax",
            1,
            12,
            false,
        ),
        (
            "'\\x4'",
            S,
            "(unicode error) 'unicodeescape' codec can't decode bytes in position 0-2: truncated \\xXX escape",
            1,
            1,
            false,
        ),
        (
            "'\\u12'",
            S,
            "(unicode error) 'unicodeescape' codec can't decode bytes in position 0-3: truncated \\uXXXX escape",
            1,
            1,
            false,
        ),
        (
            "b'\u{e9}'",
            S,
            "bytes can only contain ASCII literal characters",
            1,
            1,
            false,
        ),
        (
            "'a' b'b'",
            S,
            "cannot mix bytes and nonbytes literals",
            1,
            1,
            false,
        ),
    ]);
}

#[test]
fn expression_mode_errors() {
    let err = parse_expression("a +").unwrap_err();
    assert_eq!(err.message, "invalid syntax");
    assert!(err.incomplete);
    let err = parse_expression("(a").unwrap_err();
    assert_eq!(err.message, "'(' was never closed");
    assert!(err.incomplete);
    let err = parse_expression("a b").unwrap_err();
    assert_eq!(err.message, "invalid syntax");
    assert_eq!(err.span, 2..3);
    assert!(parse_expression("x = 1").is_err());
}

#[test]
fn incomplete_input() {
    for src in [
        "if x:",
        "if x:\n",
        "def f():\n",
        "class A:\n    def m(self):\n",
        "while True:\n    if x:\n",
        "x = (1,\n",
        "f(a,\n  b",
        "s = '''abc\n",
        "x = 1 + \\\n",
        "@dec\n",
        "try:\n    pass\n",
        "if x:\n    pass\nelse:\n",
    ] {
        let err = parse_module(src).expect_err(src);
        assert!(err.incomplete, "{src:?}: {err:?}");
    }
    for src in [
        "x = 1 +",
        "x = )",
        "if x:\n    pass\n  y",
        "'abc",
        "x = 1 2",
    ] {
        let err = parse_module(src).expect_err(src);
        assert!(!err.incomplete, "{src:?}: {err:?}");
    }
}

#[test]
fn nesting_limits() {
    let deep = format!("x = {}1{}", "(".repeat(250), ")".repeat(250));
    let err = parse_module(&deep).unwrap_err();
    assert_eq!(err.message, "too many nested parentheses");
    let deep = format!("x = {}1", "-".repeat(3000));
    let err = parse_module(&deep).unwrap_err();
    assert_eq!(err.kind, "RecursionError");
    assert_eq!(
        err.message,
        "maximum recursion depth exceeded during compilation"
    );
    let ok = format!("x = {}1", "-".repeat(2998));
    assert!(parse_module(&ok).is_ok());
    let ok = format!("x = {}1{}", "(".repeat(150), ")".repeat(150));
    assert!(parse_module(&ok).is_ok());
    let mut src = String::new();
    for i in 0..120 {
        src.push_str(&" ".repeat(i));
        src.push_str("if x:\n");
    }
    src.push_str(&" ".repeat(120));
    src.push_str("pass\n");
    let err = parse_module(&src).unwrap_err();
    assert_eq!(err.message, "too many levels of indentation");
    assert_eq!(err.kind, "IndentationError");
}

/// (source, kind, message, start, end): start and end as 1-based (line,
/// column), the end exclusive like CPython's `end_lineno`/`end_offset`.
type SpanCase<'a> = (&'a str, &'a str, &'a str, (usize, usize), (usize, usize));

/// Like [`run`], but also checks where the span ends.
fn run_spans(cases: &[SpanCase]) {
    for &(src, kind, message, start, end) in cases {
        let err = parse_module(src).expect_err(src);
        let got = (
            err.kind,
            err.message.as_str(),
            location(src, err.span.start),
            location(src, err.span.end),
        );
        assert_eq!(got, (kind, message, start, end), "source: {src:?}");
    }
}

#[test]
fn expression_as_keyword_name() {
    let msg = "expression cannot contain assignment, perhaps you meant \"==\"?";
    run_spans(&[
        ("f(a + 1=2)", S, msg, (1, 3), (1, 9)),
        ("f(a.b=1)", S, msg, (1, 3), (1, 7)),
        ("f(x, a[0]=1)", S, msg, (1, 6), (1, 11)),
        ("f(a=1, b+1=2)", S, msg, (1, 8), (1, 12)),
        ("f(a, b + 1 = 2)", S, msg, (1, 6), (1, 13)),
        ("f(1=2)", S, msg, (1, 3), (1, 5)),
        ("f(not a=1)", S, msg, (1, 3), (1, 9)),
        ("f(a if b else c=1)", S, msg, (1, 3), (1, 17)),
        ("f(lambda x=1: x=2)", S, msg, (1, 3), (1, 17)),
        ("f(a)(b+1=2)", S, msg, (1, 6), (1, 10)),
        ("class C(a+1=2): pass", S, msg, (1, 9), (1, 13)),
        ("f(x=g(a+1=2))", S, msg, (1, 7), (1, 11)),
        // Redundant parentheses are not part of the expression.
        ("f((a)=1)", S, msg, (1, 4), (1, 7)),
        ("f(((a))=1)", S, msg, (1, 5), (1, 9)),
        ("f((a)+1=2)", S, msg, (1, 3), (1, 9)),
        ("f((a, b)=1)", S, msg, (1, 3), (1, 10)),
        ("f((yield)=1)", S, msg, (1, 4), (1, 11)),
        ("f(True=1)", S, "cannot assign to True", (1, 3), (1, 8)),
        ("f(x, None=1)", S, "cannot assign to None", (1, 6), (1, 11)),
        ("f(*a=1)", S, "invalid syntax", (1, 5), (1, 6)),
        ("f(**a=1)", S, "invalid syntax", (1, 6), (1, 7)),
        ("f(x=1=2)", S, "invalid syntax", (1, 6), (1, 7)),
        ("f(a := 1 = 2)", S, "invalid syntax", (1, 10), (1, 11)),
        ("f(a for a in b=1)", S, "invalid syntax", (1, 15), (1, 16)),
        ("def f(a+1=2): pass", S, "invalid syntax", (1, 8), (1, 9)),
    ]);
}

#[test]
fn parenthesised_yield_target() {
    let here = "cannot assign to yield expression here. Maybe you meant '==' instead of '='?";
    let plain = "cannot assign to yield expression";
    let bare = "assignment to yield expression not possible";
    run_spans(&[
        ("(yield) = 1", S, here, (1, 2), (1, 7)),
        ("(yield x) = 1", S, here, (1, 2), (1, 9)),
        ("(yield from x) = 1", S, here, (1, 2), (1, 14)),
        ("((yield)) = 1", S, here, (1, 3), (1, 8)),
        ("x = (yield) = 1", S, plain, (1, 6), (1, 11)),
        ("(yield) = yield", S, plain, (1, 2), (1, 7)),
        ("(yield) = x = 1", S, plain, (1, 2), (1, 7)),
        ("x = yield = 2", S, bare, (1, 5), (1, 10)),
        ("x = yield = (yield) = 1", S, bare, (1, 5), (1, 10)),
    ]);
}

#[test]
fn indented_block_expected_at_eof() {
    let def = "expected an indented block after function definition on line 1";
    // CPython reports the end of the last line's text.
    for (src, at) in [
        ("def f():", (1, 9)),
        ("def f():\n", (1, 9)),
        ("def f():\n\n", (2, 1)),
        ("def f():\n\n\n\n", (4, 1)),
        ("def f():\r\n\r\n", (2, 1)),
        ("def f():\n  \n", (2, 3)),
        ("def f():\n   ", (2, 4)),
        ("def f():\n# c\n", (2, 4)),
        ("def f(): # c\n\n  \n", (3, 3)),
    ] {
        let err = parse_module(src).expect_err(src);
        assert_eq!(
            (
                err.kind,
                err.message.as_str(),
                location(src, err.span.start)
            ),
            (I, def, at),
            "source: {src:?}"
        );
        assert!(err.incomplete, "{src:?}: {err:?}");
    }
    let err = parse_module("if x:\n    def f():\n\n").unwrap_err();
    assert_eq!(
        err.message,
        "expected an indented block after function definition on line 2"
    );
    assert_eq!(location("if x:\n    def f():\n\n", err.span.start), (3, 1));
    assert!(err.incomplete);
}
