//! Translates a Python regular expression into fancy-regex syntax, checking
//! it on the way with CPython's `re.error` messages for the common mistakes.
//!
//! What differs and is rewritten: `$` (Python's also matches before a final
//! newline), `\Z`, `(?P=name)`, octal and `\uXXXX` escapes, literal `{`
//! where no repeat count follows, `[` `&` `~` inside classes, verbose mode
//! (stripped here), ASCII mode (`\d`, `\w`, `\s`, `\b` made ASCII-only),
//! global inline flags (moved into the flags).

pub const I: i64 = 2;
pub const L: i64 = 4;
pub const M: i64 = 8;
pub const S: i64 = 16;
pub const U: i64 = 32;
pub const X: i64 = 64;
pub const A: i64 = 256;

pub struct Translated {
    pub regex: String,
    /// The flags after the pattern's leading inline flags are folded in,
    /// with `U` added unless `A` is set (what `Pattern.flags` reports).
    pub flags: i64,
    pub groups: usize,
    /// Group names with their numbers, in order of appearance.
    pub names: Vec<(String, usize)>,
}

pub struct ReError {
    pub msg: String,
    pub pos: Option<usize>,
}

fn err<T>(msg: impl Into<String>, pos: usize) -> Result<T, ReError> {
    Err(ReError {
        msg: msg.into(),
        pos: Some(pos),
    })
}

const ASCII_DIGIT: &str = "0-9";
const ASCII_WORD: &str = "0-9A-Za-z_";
const ASCII_SPACE: &str = " \\t\\n\\r\\x0C\\x0B";

fn flag_bit(c: char) -> Option<i64> {
    Some(match c {
        'i' => I,
        'L' => L,
        'm' => M,
        's' => S,
        'u' => U,
        'x' => X,
        'a' => A,
        _ => return None,
    })
}

#[derive(PartialEq, Clone, Copy)]
enum Last {
    /// Start of pattern, after `(` or `|`: a repeat here has nothing to repeat.
    Nothing,
    Atom,
    /// After a repeat: another repeat is a "multiple repeat".
    Repeat,
    /// After `*?`, `*+` and the like.
    RepeatMod,
}

struct Tr {
    p: Vec<char>,
    i: usize,
    out: String,
    flags: i64,
    groups: usize,
    names: Vec<(String, usize)>,
    /// Open groups: position of the `(`, and the group number if capturing.
    open: Vec<(usize, Option<usize>)>,
    closed: Vec<usize>,
    last: Last,
}

pub fn translate(pattern: &str, flags: i64) -> Result<Translated, ReError> {
    let mut t = Tr {
        p: pattern.chars().collect(),
        i: 0,
        out: String::new(),
        flags,
        groups: 0,
        names: Vec::new(),
        open: Vec::new(),
        closed: Vec::new(),
        last: Last::Nothing,
    };
    t.leading_flags()?;
    if t.flags & A != 0 && t.flags & U != 0 {
        return Err(ReError {
            msg: "ASCII and UNICODE flags are incompatible".into(),
            pos: None,
        });
    }
    t.run()?;
    let mut prefix = String::new();
    for (bit, c) in [(I, 'i'), (M, 'm'), (S, 's')] {
        if t.flags & bit != 0 {
            prefix.push(c);
        }
    }
    let regex = if prefix.is_empty() {
        t.out
    } else {
        format!("(?{prefix}){}", t.out)
    };
    let mut flags = t.flags;
    if flags & A == 0 {
        flags |= U;
    }
    Ok(Translated {
        regex,
        flags,
        groups: t.groups,
        names: t.names,
    })
}

impl Tr {
    fn peek(&self, k: usize) -> Option<char> {
        self.p.get(self.i + k).copied()
    }

    fn verbose(&self) -> bool {
        self.flags & X != 0
    }

    fn leading_flags(&mut self) -> Result<(), ReError> {
        loop {
            if self.peek(0) != Some('(') || self.peek(1) != Some('?') {
                return Ok(());
            }
            let mut j = self.i + 2;
            let mut f = 0;
            while let Some(b) = self.p.get(j).and_then(|&c| flag_bit(c)) {
                f |= b;
                j += 1;
            }
            if j == self.i + 2 || self.p.get(j) != Some(&')') {
                return Ok(());
            }
            self.flags |= f;
            self.i = j + 1;
            // Verbose mode may allow whitespace before the next flags group.
            if self.verbose() {
                self.skip_verbose();
            }
        }
    }

    fn skip_verbose(&mut self) {
        while let Some(c) = self.peek(0) {
            if c.is_whitespace() {
                self.i += 1;
            } else if c == '#' {
                while let Some(c) = self.peek(0) {
                    self.i += 1;
                    if c == '\n' {
                        break;
                    }
                }
            } else {
                break;
            }
        }
    }

    fn run(&mut self) -> Result<(), ReError> {
        while self.i < self.p.len() {
            if self.verbose() {
                self.skip_verbose();
                if self.i >= self.p.len() {
                    break;
                }
            }
            let c = self.p[self.i];
            let at = self.i;
            match c {
                '\\' => {
                    self.escape(false)?;
                    self.last = Last::Atom;
                }
                '[' => {
                    self.class()?;
                    self.last = Last::Atom;
                }
                '(' => self.group()?,
                ')' => {
                    let Some((_, num)) = self.open.pop() else {
                        return err("unbalanced parenthesis", at);
                    };
                    if let Some(n) = num {
                        self.closed.push(n);
                    }
                    self.out.push(')');
                    self.i += 1;
                    self.last = Last::Atom;
                }
                '|' => {
                    self.out.push('|');
                    self.i += 1;
                    self.last = Last::Nothing;
                }
                '*' | '+' | '?' => {
                    self.repeat_check(at)?;
                    self.out.push(c);
                    self.i += 1;
                    self.repeat_mod();
                }
                '{' => {
                    if let Some((text, len)) = self.counted_repeat(at)? {
                        self.repeat_check(at)?;
                        self.out.push_str(&text);
                        self.i += len;
                        self.repeat_mod();
                    } else {
                        self.out.push_str("\\{");
                        self.i += 1;
                        self.last = Last::Atom;
                    }
                }
                '}' => {
                    self.out.push_str("\\}");
                    self.i += 1;
                    self.last = Last::Atom;
                }
                '$' => {
                    if self.flags & M != 0 {
                        self.out.push('$');
                    } else {
                        self.out.push_str("(?:(?=\\n\\z)|\\z)");
                    }
                    self.i += 1;
                    self.last = Last::Atom;
                }
                '#' | ' ' | '&' | '~' | '-' => {
                    // Literal in Python; meta (or special in x mode) elsewhere.
                    self.out.push('\\');
                    self.out.push(c);
                    self.i += 1;
                    self.last = Last::Atom;
                }
                _ => {
                    if c.is_whitespace() {
                        self.push_literal(c);
                    } else {
                        self.out.push(c);
                    }
                    self.i += 1;
                    self.last = Last::Atom;
                }
            }
        }
        if let Some((pos, _)) = self.open.last() {
            return err("missing ), unterminated subpattern", *pos);
        }
        Ok(())
    }

    fn push_literal(&mut self, c: char) {
        use std::fmt::Write;
        let _ = write!(self.out, "\\x{{{:X}}}", c as u32);
    }

    fn repeat_check(&self, at: usize) -> Result<(), ReError> {
        match self.last {
            Last::Nothing => err("nothing to repeat", at),
            Last::RepeatMod => err("multiple repeat", at),
            Last::Repeat => err("multiple repeat", at),
            Last::Atom => Ok(()),
        }
    }

    /// After a repeat: an optional `?` (lazy) or `+` (possessive).
    fn repeat_mod(&mut self) {
        if let Some(c @ ('?' | '+')) = self.peek(0) {
            self.out.push(c);
            self.i += 1;
            self.last = Last::RepeatMod;
        } else {
            self.last = Last::Repeat;
        }
    }

    /// `{m}`, `{m,}`, `{,n}`, `{m,n}` at `at`: the translated text and the
    /// length consumed, or None when the brace is a literal.
    fn counted_repeat(&self, at: usize) -> Result<Option<(String, usize)>, ReError> {
        let mut j = at + 1;
        let mut lo = String::new();
        while let Some(c) = self.p.get(j).filter(|c| c.is_ascii_digit()) {
            lo.push(*c);
            j += 1;
        }
        let mut hi = None;
        if self.p.get(j) == Some(&',') {
            j += 1;
            let mut h = String::new();
            while let Some(c) = self.p.get(j).filter(|c| c.is_ascii_digit()) {
                h.push(*c);
                j += 1;
            }
            hi = Some(h);
        }
        if self.p.get(j) != Some(&'}') {
            return Ok(None);
        }
        let text = match &hi {
            None if lo.is_empty() => return Ok(None),
            None => format!("{{{lo}}}"),
            Some(h) => {
                if let (Ok(a), Ok(b)) = (lo.parse::<u64>(), h.parse::<u64>())
                    && a > b
                {
                    return err("min repeat greater than max repeat", at + 1);
                }
                let lo = if lo.is_empty() { "0".into() } else { lo };
                format!("{{{lo},{h}}}")
            }
        };
        Ok(Some((text, j + 1 - at)))
    }

    fn group(&mut self) -> Result<(), ReError> {
        let at = self.i;
        if self.peek(1) != Some('?') {
            self.groups += 1;
            self.open.push((at, Some(self.groups)));
            self.out.push('(');
            self.i += 1;
            self.last = Last::Nothing;
            return Ok(());
        }
        let c2 = self.peek(2);
        match c2 {
            Some('P') => match self.peek(3) {
                Some('<') => {
                    let (name, end) = self.group_name(at + 4, '>')?;
                    if self.names.iter().any(|(n, _)| *n == name) {
                        return err(
                            format!(
                                "redefinition of group name '{name}' as group {}; was group {}",
                                self.groups + 1,
                                self.names
                                    .iter()
                                    .find(|(n, _)| *n == name)
                                    .map(|x| x.1)
                                    .unwrap_or(0)
                            ),
                            at + 4,
                        );
                    }
                    self.groups += 1;
                    self.names.push((name.clone(), self.groups));
                    self.open.push((at, Some(self.groups)));
                    // fancy-regex refuses numbered backreferences once a group
                    // has a name; the names are kept here instead.
                    self.out.push('(');
                    self.i = end + 1;
                    self.last = Last::Nothing;
                }
                Some('=') => {
                    let (name, end) = self.group_name(at + 4, ')')?;
                    let Some((_, num)) = self.names.iter().find(|(n, _)| *n == name).cloned()
                    else {
                        return err(format!("unknown group name '{name}'"), at + 4);
                    };
                    if !self.closed.contains(&num) {
                        return err("cannot refer to an open group", at);
                    }
                    self.out.push_str(&format!("(?:\\{num})"));
                    self.i = end + 1;
                    self.last = Last::Atom;
                }
                _ => {
                    return err(
                        format!(
                            "unknown extension ?P{}",
                            self.peek(3).map(String::from).unwrap_or_default()
                        ),
                        at + 1,
                    );
                }
            },
            Some(':') | Some('=') | Some('!') | Some('>') => {
                self.open.push((at, None));
                self.out.push_str("(?");
                self.out.push(c2.unwrap_or(':'));
                self.i += 3;
                self.last = Last::Nothing;
            }
            Some('<') => match self.peek(3) {
                Some(c @ ('=' | '!')) => {
                    self.open.push((at, None));
                    self.out.push_str("(?<");
                    self.out.push(c);
                    self.i += 4;
                    self.last = Last::Nothing;
                }
                _ => {
                    return err(
                        format!(
                            "unknown extension ?<{}",
                            self.peek(3).map(String::from).unwrap_or_default()
                        ),
                        at + 1,
                    );
                }
            },
            Some('#') => {
                let mut j = at + 3;
                while j < self.p.len() && self.p[j] != ')' {
                    j += 1;
                }
                if j >= self.p.len() {
                    return err("missing ), unterminated comment", at);
                }
                self.i = j + 1;
            }
            Some('(') => {
                // A conditional: (?(1)yes|no) or (?(name)yes|no).
                let (name, end) = self.group_name(at + 3, ')')?;
                let num = match name.parse::<usize>() {
                    Ok(n) => n,
                    Err(_) => match self.names.iter().find(|(n, _)| *n == name) {
                        Some((_, n)) => *n,
                        None => return err(format!("unknown group name '{name}'"), at + 3),
                    },
                };
                self.open.push((at, None));
                self.out.push_str(&format!("(?({num})"));
                self.i = end + 1;
                self.last = Last::Nothing;
            }
            Some(c) if flag_bit(c).is_some() || c == '-' => {
                // Scoped flags: (?i:...) or (?-i:...).
                let mut j = at + 2;
                let mut on = String::new();
                let mut off = String::new();
                let mut neg = false;
                while let Some(&c) = self.p.get(j) {
                    if c == '-' {
                        neg = true;
                    } else if let Some(_b) = flag_bit(c) {
                        let keep = matches!(c, 'i' | 'm' | 's');
                        if keep {
                            if neg { off.push(c) } else { on.push(c) }
                        }
                    } else {
                        break;
                    }
                    j += 1;
                }
                match self.p.get(j) {
                    Some(':') => {
                        self.open.push((at, None));
                        let spec = if off.is_empty() {
                            on
                        } else {
                            format!("{on}-{off}")
                        };
                        if spec.is_empty() {
                            self.out.push_str("(?:");
                        } else {
                            self.out.push_str(&format!("(?{spec}:"));
                        }
                        self.i = j + 1;
                        self.last = Last::Nothing;
                    }
                    Some(')') => return err("global flags not at the start of the expression", at),
                    _ => return err("missing -, : or )", j),
                }
            }
            _ => {
                return err(
                    format!(
                        "unknown extension ?{}",
                        c2.map(String::from).unwrap_or_default()
                    ),
                    at + 1,
                );
            }
        }
        Ok(())
    }

    /// A group name starting at `from`, ended by `term`: (name, index of term).
    fn group_name(&self, from: usize, term: char) -> Result<(String, usize), ReError> {
        let mut j = from;
        let mut name = String::new();
        while let Some(&c) = self.p.get(j) {
            if c == term {
                break;
            }
            name.push(c);
            j += 1;
        }
        if j >= self.p.len() {
            return err(format!("missing {term}, unterminated name"), from);
        }
        if name.is_empty() {
            return err("missing group name", from);
        }
        let ok = name
            .chars()
            .next()
            .is_some_and(|c| c.is_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_alphanumeric() || c == '_');
        if !ok && name.parse::<usize>().is_err() {
            return err(format!("bad character in group name '{name}'"), from);
        }
        Ok((name, j))
    }

    /// An escape at `self.i` (the backslash); `in_class` inside `[...]`.
    fn escape(&mut self, in_class: bool) -> Result<(), ReError> {
        let at = self.i;
        let Some(d) = self.peek(1) else {
            return err("bad escape (end of pattern)", at);
        };
        self.i += 2;
        let ascii = self.flags & A != 0;
        match d {
            'd' | 'w' | 's' if ascii => {
                let set = match d {
                    'd' => ASCII_DIGIT,
                    'w' => ASCII_WORD,
                    _ => ASCII_SPACE,
                };
                if in_class {
                    self.out.push_str(set);
                } else {
                    self.out.push_str(&format!("[{set}]"));
                }
            }
            'D' | 'W' | 'S' if ascii && !in_class => {
                let set = match d {
                    'D' => ASCII_DIGIT,
                    'W' => ASCII_WORD,
                    _ => ASCII_SPACE,
                };
                self.out.push_str(&format!("[^{set}]"));
            }
            'b' if in_class => self.out.push_str("\\x08"),
            'b' | 'B' if ascii => self.out.push_str(&format!("(?-u:\\{d})")),
            'A' | 'b' | 'B' if !in_class => {
                self.out.push('\\');
                self.out.push(d);
            }
            'd' | 'D' | 'w' | 'W' | 's' | 'S' | 'n' | 't' | 'r' | 'f' | 'v' | '\\' => {
                self.out.push('\\');
                self.out.push(d);
            }
            'Z' if !in_class => self.out.push_str("\\z"),
            'a' => self.out.push_str("\\x07"),
            'x' | 'u' | 'U' => {
                let n = match d {
                    'x' => 2,
                    'u' => 4,
                    _ => 8,
                };
                let hex: String = self.p.iter().skip(self.i).take(n).collect();
                if hex.chars().count() != n || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
                    let got: String = self.p[at..(self.i
                        + hex.chars().take_while(|c| c.is_ascii_hexdigit()).count())
                    .min(self.p.len())]
                        .iter()
                        .collect();
                    return err(format!("incomplete escape {got}"), at);
                }
                let v = u32::from_str_radix(&hex, 16).unwrap_or(0);
                if char::from_u32(v).is_none() {
                    let got: String = self.p[at..self.i + n].iter().collect();
                    return err(format!("bad escape {got}"), at);
                }
                self.i += n;
                self.out.push_str(&format!("\\x{{{v:X}}}"));
            }
            '0'..='7' if d == '0' || in_class => {
                // Octal: up to three digits.
                let mut v = d.to_digit(8).unwrap_or(0);
                let mut k = 0;
                while k < 2 {
                    match self.peek(0).and_then(|c| c.to_digit(8)) {
                        Some(x) => {
                            v = v * 8 + x;
                            self.i += 1;
                            k += 1;
                        }
                        None => break,
                    }
                }
                self.out.push_str(&format!("\\x{{{v:X}}}"));
            }
            '1'..='9' => {
                let mut num = d.to_digit(10).unwrap_or(0) as usize;
                if let Some(x) = self.peek(0).and_then(|c| c.to_digit(10)) {
                    num = num * 10 + x as usize;
                    self.i += 1;
                }
                if num > self.groups {
                    return err(format!("invalid group reference {num}"), at + 1);
                }
                if !self.closed.contains(&num) {
                    return err("cannot refer to an open group", at);
                }
                self.out.push_str(&format!("(?:\\{num})"));
            }
            c if c.is_ascii_alphanumeric() => {
                return err(format!("bad escape \\{c}"), at);
            }
            c => {
                if "\\.+*?()|[]{}^$#&-~".contains(c) {
                    self.out.push('\\');
                    self.out.push(c);
                } else if c.is_alphanumeric() || c == '_' {
                    self.out.push(c);
                } else {
                    self.push_literal(c);
                }
            }
        }
        Ok(())
    }

    fn class(&mut self) -> Result<(), ReError> {
        let at = self.i;
        self.i += 1;
        self.out.push('[');
        if self.peek(0) == Some('^') {
            self.out.push('^');
            self.i += 1;
        }
        let mut first = true;
        loop {
            let Some(c) = self.peek(0) else {
                return err("unterminated character set", at);
            };
            match c {
                ']' if !first => {
                    self.out.push(']');
                    self.i += 1;
                    return Ok(());
                }
                '\\' => self.escape(true)?,
                '[' | '&' | '~' | ']' | '^' => {
                    self.out.push('\\');
                    self.out.push(c);
                    self.i += 1;
                }
                '-' => {
                    // A range, or a literal `-` at the start or end.
                    let lit = first || self.peek(1) == Some(']');
                    if lit {
                        self.out.push_str("\\-");
                    } else {
                        self.out.push('-');
                    }
                    self.i += 1;
                }
                c if c.is_whitespace() || c == '#' => {
                    self.push_literal(c);
                    self.i += 1;
                }
                _ => {
                    self.out.push(c);
                    self.i += 1;
                }
            }
            first = false;
        }
    }
}
