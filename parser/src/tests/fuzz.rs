//! The parser must never panic: feed it malformed snippets, mutations of
//! valid programs, and random garbage.

use crate::*;

/// A small deterministic PRNG (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const SEED_PROGRAMS: &[&str] = &[
    "def f(a, b=1, *args, c, **kw):\n    return a + b\n",
    "class A(B):\n    x: int = 1\n    async def m(self):\n        await g()\n",
    "for i in range(10):\n    if i % 2:\n        continue\n    else:\n        break\nelse:\n    pass\n",
    "try:\n    x = [i for i in y if i]\nexcept (A, B) as e:\n    raise E from e\nfinally:\n    del x\n",
    "s = f'{a!r:>{w}} {b=} {{}}' + rb'\\x00' + '''tri\nple'''\n",
    "x = {k: v for k, v in d.items()}; y = {*a, *b}; z = (yield from g)\n",
    "with open(p) as f, g as (a, *b):\n    print(*args, sep='', **kw)\n",
    "lambda x, /, y=1, *, z: x if y else z\n",
    "import a.b as c\nfrom d import (e as f, g,)\nglobal h\n",
    "@dec(1)\ndef g():\n    nonlocal q\n    assert x, 'm'\n    a[1:2, ::3] //= -x ** ~y\n",
    "while (n := n - 1) > 0 and not done or x is not None:\n    pass\n",
];

const FRAGMENTS: &[&str] = &[
    "def", "class", "if", "elif", "else", "for", "in", "while", "try", "except", "finally", "with",
    "as", "lambda", "yield", "from", "await", "async", "return", "del", "not", "and", "or", "is",
    "import", "global", "pass", "x", "y", "f", "1", "2.5", "0x1", "'s'", "f'{x}'", "f'{", "'''",
    "\"", "(", ")", "[", "]", "{", "}", ":", ",", ";", ".", "...", "=", "==", "+=", "**", "*", "/",
    "//", "@", "->", ":=", "!", "$", "\\", "\n", "    ", "\t", "#c", " ", " ", " ", "€", "é",
    "\r\n", "b'", "r'\\", "1e", "0b", "}}", "{{", "!r", "=}",
];

fn no_panic(src: &str) {
    let result = std::panic::catch_unwind(|| {
        let errors = [parse_module(src).err(), parse_expression(src).err()];
        for e in errors.into_iter().flatten() {
            // Spans must be slicable: in bounds, on char boundaries.
            assert!(e.span.start <= e.span.end, "{src:?}: {e:?}");
            assert!(src.get(e.span.clone()).is_some(), "{src:?}: {e:?}");
        }
        if let Ok(body) = parse_module(src) {
            for stmt in &body {
                assert!(src.get(stmt.span.clone()).is_some(), "{src:?}: {stmt:?}");
            }
        }
        for (_, span) in covm_lexer::tokens(src) {
            assert!(src.get(span).is_some(), "{src:?}");
        }
    });
    assert!(result.is_ok(), "panic on input {src:?}");
}

#[test]
fn malformed_snippets() {
    for src in [
        "",
        "\n",
        "(",
        ")",
        "[",
        "]",
        "{",
        "}",
        "'",
        "\"",
        "'''",
        "\"\"\"",
        "f'",
        "f'{",
        "f'}",
        "f'{x",
        "f'{x!",
        "f'{x:",
        "f'{x:{",
        "f'{x=",
        "f'{{",
        "f'}}",
        "\\",
        "\\\n",
        "\\\r\n",
        "@",
        "@\n",
        "def",
        "def f",
        "def f(",
        "def f(*",
        "def f(**",
        "class",
        "lambda",
        "lambda *",
        "x =",
        "= x",
        "x ==",
        "if",
        "if:",
        "else:",
        "for in",
        "for x in",
        "import",
        "from",
        "from .",
        "from . import",
        "with",
        "with (",
        "async",
        "await",
        "yield from",
        "del",
        "del ()",
        "()",
        "(,)",
        "[,]",
        "{,}",
        "{:}",
        "{**}",
        "a[]",
        "a[:",
        "a[::",
        "0x",
        "0b",
        "0o",
        "1e",
        "1e+",
        "1_",
        "1__",
        "0_",
        "09",
        "1.e",
        ".e1",
        "...",
        "....",
        "\t\tx",
        " \tx",
        "if x:\n\ty\n        z",
        "\u{feff}x",
        "\0",
        "x\0y",
        "é",
        "€",
        "𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
        "'\\N{DASH}'",
        "'\\U0011ffff'",
        "'\\ud800'",
        "b'\\x'",
        "f'{'''}'",
        "f'{\"'\"}'",
        "f'{a:{b:{c:{d}}}}'",
        "f'''{\n}'''",
        "f'{x!r=}'",
        "f'{=}'",
        "f'{!r}'",
        "f'{:}'",
        "x = 1 if",
        "x = (yield",
        "*",
        "**",
        "*a, *b = c",
        "a, b = *c,",
        "print x",
        "match x:",
        "if x:\n  pass\n else:",
        "x = 1\n  y\n z",
    ] {
        no_panic(src);
    }
}

#[test]
fn mutated_programs() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for _ in 0..3000 {
        let base = SEED_PROGRAMS[rng.below(SEED_PROGRAMS.len())];
        let mut chars: Vec<char> = base.chars().collect();
        for _ in 0..1 + rng.below(4) {
            let pos = rng.below(chars.len() + 1);
            match rng.below(4) {
                0 if pos < chars.len() => {
                    chars.remove(pos);
                }
                1 => {
                    let frag = FRAGMENTS[rng.below(FRAGMENTS.len())];
                    for (k, c) in frag.chars().enumerate() {
                        chars.insert((pos + k).min(chars.len()), c);
                    }
                }
                2 if pos + 1 < chars.len() => chars.swap(pos, pos + 1),
                _ => {
                    let c = char::from_u32(rng.below(0x80) as u32).unwrap_or(' ');
                    chars.insert(pos.min(chars.len()), c);
                }
            }
        }
        let src: String = chars.into_iter().collect();
        no_panic(&src);
    }
}

#[test]
fn random_fragments_and_bytes() {
    let mut rng = Rng(0xdead_beef_cafe_f00d);
    for _ in 0..3000 {
        let mut src = String::new();
        for _ in 0..rng.below(30) {
            src.push_str(FRAGMENTS[rng.below(FRAGMENTS.len())]);
        }
        no_panic(&src);
    }
    for _ in 0..500 {
        let bytes: Vec<u8> = (0..rng.below(40)).map(|_| rng.below(256) as u8).collect();
        no_panic(&String::from_utf8_lossy(&bytes));
    }
}
