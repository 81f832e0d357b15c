use super::*;

fn toks(src: &str) -> Vec<Tok> {
    TokenStream::new(src).map(|r| r.unwrap().1).collect()
}

fn err(src: &str) -> LexError {
    TokenStream::new(src)
        .find_map(|r| r.err())
        .expect("expected a lexer error")
}

fn name(s: &str) -> Tok {
    Tok::Name(s.to_string())
}

#[test]
fn simple_tokens() {
    use Tok::*;
    assert_eq!(
        toks("x = 1 + 2.5"),
        vec![name("x"), Equal, Int("1".into()), Plus, Float(2.5), Newline]
    );
    assert_eq!(
        toks("a //= b ** c -> d"),
        vec![
            name("a"),
            DoubleSlashEqual,
            name("b"),
            DoubleStar,
            name("c"),
            Rarrow,
            name("d"),
            Newline
        ]
    );
    assert_eq!(toks("define def"), vec![name("define"), Def, Newline]);
    assert_eq!(toks("é_x1 = 1")[0], name("é_x1"));
    assert_eq!(toks("x... .5")[1], Ellipsis);
    // a byte order mark is skipped; identifiers follow XID rules
    assert_eq!(toks("\u{feff}x"), vec![name("x"), Newline]);
    assert_eq!(toks("नमस्ते")[0], name("नमस्ते"));
    assert_eq!(err("x€").message, "invalid character '€' (U+20AC)");
}

#[test]
fn numbers() {
    let n = |s: &str| toks(s).remove(0);
    assert_eq!(n("0x_ff"), Tok::Int("255".into()));
    assert_eq!(n("0o17"), Tok::Int("15".into()));
    assert_eq!(n("0b101"), Tok::Int("5".into()));
    assert_eq!(n("1_000_000"), Tok::Int("1000000".into()));
    assert_eq!(n("000"), Tok::Int("0".into()));
    assert_eq!(
        n("0xffffffffffffffffffffffff"),
        Tok::Int("79228162514264337593543950335".into())
    );
    assert_eq!(n("1e5"), Tok::Float(1e5));
    assert_eq!(n("1_000.5"), Tok::Float(1000.5));
    assert_eq!(n(".5"), Tok::Float(0.5));
    assert_eq!(n("5."), Tok::Float(5.0));
    assert_eq!(n("1.5e-3"), Tok::Float(1.5e-3));
    assert_eq!(toks("1if x else 2")[1], Tok::If);
    assert_eq!(err("1abc").message, "invalid decimal literal");
    assert_eq!(err("x = 1_").span, 5..6);
    assert_eq!(err("0b2").message, "invalid digit '2' in binary literal");
    assert_eq!(err("0o8").message, "invalid digit '8' in octal literal");
    assert_eq!(err("0x").message, "invalid hexadecimal literal");
    assert_eq!(
        err("01").message,
        "leading zeros in decimal integer literals are not permitted; use an 0o prefix for octal integers"
    );
    assert_eq!(err("2j").message, "covm does not support complex numbers");
}

#[test]
fn strings() {
    let Tok::Str(s) = toks("rb'a\\'b'").remove(0) else {
        panic!()
    };
    assert_eq!(s.kind, StrKind::Bytes);
    assert!(s.raw);
    assert_eq!(s.content, "a\\'b");
    assert_eq!(s.content_start, 3);
    let Tok::Str(s) = toks("f\"\"\"a\n\"b\"\"\"").remove(0) else {
        panic!()
    };
    assert_eq!(s.kind, StrKind::Format);
    assert!(s.triple);
    assert_eq!(s.content, "a\n\"b");
    assert_eq!(s.content_start, 4);
    let Tok::Str(s) = toks("''").remove(0) else {
        panic!()
    };
    assert_eq!(s.content, "");
    let e = err("x = 'abc\n");
    assert_eq!(
        e.message,
        "unterminated string literal (detected at line 1)"
    );
    assert_eq!(e.span, 4..5);
    assert!(!e.incomplete);
    let e = err("'abc\\\ndef");
    assert_eq!(
        e.message,
        "unterminated string literal (detected at line 2)"
    );
    let e = err("\"\"\"abc\ndef");
    assert_eq!(
        e.message,
        "unterminated triple-quoted string literal (detected at line 2)"
    );
    assert!(e.incomplete);
    let e = err("\"\"\"abc\n");
    assert_eq!(
        e.message,
        "unterminated triple-quoted string literal (detected at line 1)"
    );
}

#[test]
fn layout() {
    use Tok::*;
    let t = toks("if x:\n    y\n\n    # c\n    z\nw\n");
    assert_eq!(
        t,
        vec![
            If,
            name("x"),
            Colon,
            Newline,
            Indent,
            name("y"),
            Newline,
            name("z"),
            Newline,
            Dedent,
            name("w"),
            Newline
        ]
    );
    let t = toks("if a:\n  if b:\n    c\nd");
    assert_eq!(t.iter().filter(|t| **t == Dedent).count(), 2);
    assert_eq!(t.last(), Some(&Newline));
    let t = toks("if a:\n  if b:\n    c");
    assert_eq!(&t[t.len() - 3..], &[Newline, Dedent, Dedent]);
    // brackets join lines; comments inside brackets
    let t = toks("x = (1, # c\n  2)\n");
    assert_eq!(t.iter().filter(|t| **t == Newline).count(), 1);
    // backslash continuation
    let t = toks("x = 1 + \\\n  2\n");
    assert_eq!(t.iter().filter(|t| **t == Newline).count(), 1);
    // CRLF
    let t = toks("if a:\r\n  b\r\n");
    assert_eq!(
        t,
        vec![
            If,
            name("a"),
            Colon,
            Newline,
            Indent,
            name("b"),
            Newline,
            Dedent
        ]
    );
    // Indent span
    let spans: Vec<_> = TokenStream::new(" x").map(|r| r.unwrap()).collect();
    assert_eq!((spans[0].0, spans[0].2), (0, 1));
    assert_eq!(spans[0].1, Indent);
}

#[test]
fn layout_errors() {
    let e = err("if x:\n    a\n  b");
    assert_eq!(e.kind, "IndentationError");
    assert_eq!(
        e.message,
        "unindent does not match any outer indentation level"
    );
    let e = err("if x:\n\ta\n        b");
    assert_eq!(e.kind, "TabError");
    assert_eq!(
        e.message,
        "inconsistent use of tabs and spaces in indentation"
    );
    let e = err("(1,");
    assert_eq!(e.message, "'(' was never closed");
    assert!(e.incomplete);
    assert_eq!(e.span, 0..1);
    let e = err("x = [1,\n2");
    assert_eq!(e.message, "'[' was never closed");
    assert_eq!(e.span, 4..5);
    let e = err("x)");
    assert_eq!(e.message, "unmatched ')'");
    assert_eq!(e.span, 1..2);
    let e = err("(1]");
    assert_eq!(
        e.message,
        "closing parenthesis ']' does not match opening parenthesis '('"
    );
    let e = err("(1,\n]");
    assert_eq!(
        e.message,
        "closing parenthesis ']' does not match opening parenthesis '(' on line 1"
    );
    let e = err("x = €");
    assert_eq!(e.message, "invalid character '€' (U+20AC)");
    assert_eq!(e.span.start, 4);
    let e = err("x = 1 \\ y");
    assert_eq!(
        e.message,
        "unexpected character after line continuation character"
    );
    assert_eq!(e.span.start, 7);
    let e = err("x = 1 \\");
    assert_eq!(e.message, "unexpected EOF while parsing");
    assert!(e.incomplete);
    let e = err("x = 1 \\\n");
    assert_eq!(e.message, "unexpected EOF while parsing");
    assert!(e.incomplete);
    // a backslash at the end of a comment is not a continuation
    assert!(TokenStream::new("x = 1 # \\\n").all(|r| r.is_ok()));
}

#[test]
fn expression_mode() {
    let t: Vec<_> = TokenStream::expression("a +\n b", 10)
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(t.len(), 3);
    assert_eq!((t[0].0, t[0].2), (10, 11));
    assert_eq!((t[2].0, t[2].2), (15, 16));
}

#[test]
fn highlight_tokens() {
    use TokenClass::*;
    let src = "def f(x): # hi\n    return 'a' + 1 $";
    let t = tokens(src);
    let classes: Vec<_> = t.iter().map(|(c, _)| *c).collect();
    assert_eq!(
        classes,
        vec![
            Keyword, Name, Operator, Name, Operator, Operator, Comment, Keyword, String, Operator,
            Number, Other
        ]
    );
    assert_eq!(&src[t[6].1.clone()], "# hi");
    // never fails, unterminated strings run to the end of the line
    let t = tokens("x = 'abc\ny = \"\"\"q");
    assert_eq!(t[2].0, String);
    assert_eq!(t[3].0, Name);
    assert_eq!(t.last().map(|x| x.0), Some(String));
    for s in ["€ 1abc 0x 'x", "\\", "\"\"\"", "#", ""] {
        let _ = tokens(s);
    }
}
