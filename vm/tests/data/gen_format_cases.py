#!/usr/bin/env python3
"""Generate vm/tests/data/format_cases.txt from CPython (the oracle).

Run: python3 vm/tests/data/gen_format_cases.py > vm/tests/data/format_cases.txt
Each line: tab-separated fields; strings escaped (\\ and control chars as \\u{hex}).
Floats are given as the hex of their IEEE bits. Results: 'OK' + value or the
exception class name + message.
"""
import random
import struct
import string
import _string

def esc(s):
    out = []
    for ch in s:
        if ch == '\\':
            out.append('\\\\')
        elif ord(ch) < 0x20 or ord(ch) == 0x7f or ch in '\u0085\u2028\u2029':
            out.append('\\u{%x}' % ord(ch))
        else:
            out.append(ch)
    return ''.join(out)

def fbits(x):
    return '%016x' % struct.unpack('<Q', struct.pack('<d', x))[0]

def row(*fields):
    print('\t'.join(esc(str(f)) for f in fields))

def res(fn):
    try:
        return ('OK', fn())
    except Exception as e:
        return (type(e).__name__, str(e))

random.seed(1234)

FLOATS = [0.0, -0.0, 1.0, -1.0, 0.1, 0.5, 1.5, 2.5, 1234.5678, -1234.5678, 1e16, 1e15,
          123456789012345678.0, 1e-4, 1e-5, 5e-324, 1.7976931348623157e308, float('inf'),
          float('-inf'), float('nan'), -float('nan'), 0.1 + 0.2, 1e22, 1e100, 12345678.9, 0.000123456,
          99.995, 9.9999999, 0.05, 100.0, 1e-7, 2.0**53, 3.14159, 2e16 + 8, 9.5, 0.0005,
          1e23, 2.675, 1.25e-310, 999999.5, 9999999999999998.0, 0.3, -123.456, 1e300 * 10]
for _ in range(60):
    FLOATS.append(struct.unpack('<d', struct.pack('<Q', random.getrandbits(64)))[0])
    FLOATS.append(round(random.uniform(-1e6, 1e6), random.randint(0, 8)))
    FLOATS.append(random.random() * 10 ** random.randint(-30, 30))

for x in FLOATS:
    row('repr', fbits(x), *res(lambda: repr(x)))

FSPECS = ['', 'e', 'E', 'f', 'F', 'g', 'G', 'n', '%', '.0e', '.0f', '.0g', '.0%', '.1', '.3', '.2',
          '.0', '.17', '.20f', '.3e', '.10g', '#g', '#.3g', '#.0f', '#.0e', '#', '#.0', '#.3', ',', '_',
          ',.2f', '_.3f', ',g', ',.3e', '010', '010.2f', '010,.2f', '+', ' ', '+.3f', ' .3e',
          '-010.1f', '<10', '>10', '^10', '=10', '*^12.3f', '0=12,.2f', 'z.1f', 'z', 'z.0f',
          '+z.2f', '012', '012,', '015_.3e', '#010.0f', '.3n', '10n', 'x', 'd', 's', '.', ',_',
          '1,,', 'abc', '.2147483648f', '99999999999999999999', '=+12.3', '0<10', 'x^11.2%',
          '020,.1f', '020,', '020_g', ' 010', '+#.0e', '.5G', '12.4E', '.1%', ',%', '_%', '#.2%',
          '016,.3', '.25', '.16', '.15', '#.17g', '.0n', ',.0f', '#x', 'c', '\x01', 'é', ',n']

for x in FLOATS[:50]:
    for sp in FSPECS:
        row('ffloat', fbits(x), sp, *res(lambda: format(x, sp)))
for x in FLOATS[50:]:
    for sp in ['', 'e', 'f', 'g', '.3', '.12g', ',.2f', '%', '.1e', '015,.4f']:
        row('ffloat', fbits(x), sp, *res(lambda: format(x, sp)))

INTS = [0, 1, -1, 7, -7, 255, -255, 1234, -1234, 1234567, 10**20, -(10**20), 2**64, 65,
        0x10ffff, 0x110000, 2**100 + 1, 10**400, -(10**310), 2**63, -(2**63) - 1, 2**53 + 1,
        2**1023 * (2**53 - 1) // 2**52, 2**1024, (2**53 + 1) * 2**100 + 1, 12345678901234567890123,
        0xdeadbeef, 10**30 + 1, 5, 987654321987654321]
for _ in range(20):
    INTS.append(random.getrandbits(random.randint(1, 200)) * random.choice([1, -1]))
ISPECS = ['', 'd', 'b', 'o', 'x', 'X', 'c', 'n', '#b', '#o', '#x', '#X', 'e', 'E', 'f', 'g', 'G',
          '%', '.2f', ',', '_', '_b', '_o', '_x', '_X', '#_x', '08,', '08', '08_', '09_b', '+', ' ',
          '-', '+08', '=+8', '<8', '^9', '>8', '*<8', '0<8', 'x^10X', '#010x', '#010X', ',d',
          ',x', '.2', 'z', '+c', '#c', '5c', '05c', 'y', 's', '010,', '020_x', '#012_b', ',n',
          'n', '20n', '1,,', ',b', '_c', 'z5', '=', '0', '+#x', ' #o', '#08b', '.3e', '#.0e',
          ',.2f', '+.1%', '_e', '012_', '012_d', '30', '=30', '^30', '0=20,', '\x01']
for v in INTS:
    for sp in ISPECS:
        row('fint', v, sp, *res(lambda: format(v, sp)))

STRS = ['', 'a', 'abc', 'héllo', 'abcdefghij', '日本語', ' x ']
SSPECS = ['', 's', '5', '<5', '>5', '^5', '^6', '*^7', '.2', '10.3', '05', '=5', '+', ' ', '#',
          'z', ',', '_', 'd', '.0', '0<5', 'x>8s', '-', '.', '1,,', 'é^9', '^', '0', '00', '3.1s']
for v in STRS:
    for sp in SSPECS:
        row('fstr', v, sp, *res(lambda: format(v, sp)))

# round(float, n)
RVALS = [2.675, 0.125, 0.5, 1.5, 2.5, -0.5, 1234.5, 1250.0, 0.285, 1.005, 1e300, 5e-324, -0.4,
         0.0, -0.0, 1.7976931348623157e308, 123456.789, -2.5, 0.045, 1e-320, float('inf'),
         float('nan'), 1e22, 9.995, 0.15, 0.25, 0.35]
for _ in range(40):
    RVALS.append(random.uniform(-1000, 1000))
    RVALS.append(random.random() * 10 ** random.randint(-20, 20))
for x in RVALS:
    for n in [-400, -309, -308, -300, -10, -3, -2, -1, 0, 1, 2, 3, 4, 5, 10, 15, 17, 20, 300, 323, 324, 400]:
        r = res(lambda: round(x, n))
        if r[0] == 'OK':
            r = ('OK', fbits(r[1]))
        row('round', fbits(x), n, *r)

PFLOATS = ['1', ' 1.5 ', '1e5', '.5', '5.', '-.5e-3', 'inf', '-Infinity', 'nAn', '+nan', '-nan',
           '1_000.000_1', '1__0', '_1', '1_', '1e1_0', '1_e5', '', ' ', '.', 'e5', '1e', '1e+',
           '0x10', 'infinit', 'in_f', '1.5\n', '\t-3\x0c', '1 2', '1e400', '1e-400',
           '123456789012345678901234567890', '0.1', '2.2250738585072011e-308', '\u20031.5\u2003',
           'nan ', '+-1', '--1', '1.0.0', '4.9e-324', '2.4703282292062328e-324',
           '2.4703282292062327e-324', '1e-5_0', '1._5', '1_.5', '+.e1', '-0', '-0.0', '1E5',
           'INFINITY', '+inf', 'infinityy', '0000.0001', '1.7976931348623159e308', '\x1c1\x1f', '1\x00',
           '9007199254740993', '0.30000000000000004', '1e+0_1', '\x851.5', '\xa01.5\u3000']
for s in PFLOATS:
    r = res(lambda: float(s))
    if r[0] == 'OK':
        r = ('OK', fbits(r[1]))
    row('pfloat', s, *r)

PINTS = [('0', 0), ('00', 0), ('010', 0), ('0_0', 0), ('0_7', 0), ('0x10', 0), ('0X1f', 16),
         ('0x_1', 0), ('0x__1', 0), ('0x', 16), ('0b101', 0), ('0b102', 0), ('0o17', 0),
         ('0o17', 8), ('0o17', 10), ('17', 8), ('z', 36), ('Z', 36), ('1_000', 10),
         ('1__000', 10), ('_1', 10), ('1_', 10), (' -12 ', 10), ('+12', 10), ('- 12', 10),
         ('12a', 10), ('12a', 16), ('', 10), ('  ', 10), ('10' * 50, 10), ('-0', 0), ('0b', 2),
         ('0b1', 2), ('0b1', 16), ('0x1', 16), ('0x1', 33), ('1\u00a0', 10), ('-0x_f', 0),
         ('0_x1', 0), ('+_1', 10), ('1_2_3', 0), ('0o_7', 8), ('0b_', 2), ('9', 8), ('ff', 15),
         ('FF', 16), ('-', 10), ('+', 0), ('0 ', 0), ('1 1', 10), ('\t\n42\r\n', 10), ('0x1g', 0),
         ('1', 2), ('2', 2), ('1' * 100, 2), ('zz_zz', 36), ('00_00', 0), ('01', 0), ('-000', 0),
         ('\x1c1', 10), ('1\x0b', 10), ('\u20037\u3000', 0), ('\x85 5', 10)]
for s, b in PINTS:
    row('pint', s, b, *res(lambda: int(s, b)))

PCT_INT = ['%d', '%i', '%u', '%5d', '%-5d', '%05d', '%+d', '% d', '%+05d', '%.3d', '%8.3d',
           '%-8.3d', '%x', '%X', '%o', '%#x', '%#X', '%#o', '%#8x', '%#08x', '%-#8x', '%+#x', '%c',
           '%5c', '%-5c', '%s', '%r', '%10s', '%.1s', '%e', '%f', '%g', '%.2f', '%y', '%5%', '%(a',
           '%', '%.', 'x%dy', '%%d%%', '%ld', '%hd', '% 5x', '%+.3x', '%0-5d', '%#.5o', '%a',
           '%#010X', '%- 8d', '%.0d', '%.d', '%08.3d', 'ab%-+6dcd', '%Lx', '%5', '%(', '%(a)',
           '%\u00e9', '%\x01', '%0', '%+', '%(a)d', '%(a)5.2x', '%(a)(b)s', '%(a(b))s', '%#+020.10x', '%.2147483648d', '%99999999999999999999d', '%.50d']
PCT_FLOAT = ['%f', '%.2f', '%e', '%E', '%g', '%G', '%F', '%10.3f', '%-10.3f', '%010.3f', '%+f',
             '% f', '%#g', '%#.0f', '%#.0e', '%.0f', '%.0e', '%.0g', '%d', '%x', '%c', '%s', '%r',
             '%5s', '%.3s', '%.20f', '%+010.2e', '%i', '%08.2f', '%-+9.1e', '%#.3G', '%.30g', '%05g',
             '%o', '%u', '%a', '%10r']
PCT_STR = ['%s', '%5s', '%-5s', '%.2s', '%5.2s', '%r', '%c', '%d', '%x', '%f', '%05s', '%+s',
           '%-08.3s', '%a', '%10c', '%i', '%X', '%e', '% s', '%#s', '%.0s']
for v in [0, 5, -5, 255, -255, 65, 1234567, 10**20, -(10**20), 0x10ffff, 0x110000, -1, 2**70, 2**200]:
    for t in PCT_INT:
        args = {'a': v, 'a(b)': v} if '(' in t else (v,)
        row('pct', t, 'i', v, v, v, v, *res(lambda: t % args))
for x in [0.0, -0.0, 1.5, -1.5, 2.5, 1234.5678, 1e20, 1e-5, float('inf'), float('-inf'), float('nan'), 0.1, 1e300, 65.7]:
    for t in PCT_FLOAT:
        row('pct', t, 'f', fbits(x), str(x), repr(x), ascii(x), *res(lambda: t % (x,)))
for s in ['', 'a', 'abc', 'héllo', '12']:
    for t in PCT_STR:
        row('pct', t, 's', s, str(s), repr(s), ascii(s), *res(lambda: t % (s,)))
for w in [-8, -1, 0, 3, 10]:
    for p in [-2, 0, 2, 5]:
        for t, v in [('%*.*d', 42), ('%*.*f', 3.14159), ('%*.*s', 'abcdef'), ('%-*.*x', 255), ('%0*.*d', -7)]:
            r = res(lambda: t % (w, p, v))
            vv = fbits(v) if isinstance(v, float) else v
            row('pctstar', t, w, p, type(v).__name__[0], vv, str(v), *r)

# str.format templates, canonicalized
def canon_field_name(name):
    first, rest = _string.formatter_field_name_split(name)
    parts = []
    for is_attr, key in rest:
        if is_attr:
            parts.append('A' + key)
        elif isinstance(key, int):
            parts.append('I%d' % key)
        else:
            parts.append('S' + key)
    if first == '':
        f = 'auto'
    elif isinstance(first, int):
        f = 'i%d' % first
    else:
        f = 'n' + first
    return f + '|' + '|'.join(parts)

def canon(t, depth=2):
    out = []
    lit = ''
    for literal, field, spec, conv in _string.formatter_parser(t):
        lit += literal
        if field is None:
            continue
        if lit:
            out.append('L' + lit)
            lit = ''
        name = canon_field_name(field)
        if '{' in spec:
            if depth <= 1:
                raise ValueError('Max string recursion exceeded')
            sp = canon(spec, depth - 1)
        else:
            sp = ('L' + spec) if spec else ''
        out.append('F(' + name + '!' + (conv or '') + ':' + sp + ')')
    if lit:
        out.append('L' + lit)
    return ''.join(out)

TEMPLATES = ['{0} }', '{', '{0', '{0:', '{0!', '{0!r', '{0!rx}', '{0!}', '{:{:{}}}', '{0[}', '{0[]}',
             '{0.}', '{0]x}', '{0[0]x}', '{a[1}', '{0!x}', '{0:{a]}}', '}}{{', '{!r:>{w}}',
             '{0[a.b]}', '{99999999999999999999}', '{0[99999999999999999999]}', '{}{0}', '{0}{}',
             'plain', '', 'a{{b}}c', '{0} {name!r:>10} {a.b[0]} {{', '{x.y.z[1][k].w}', '{:{w}.{p}f}',
             '{0:{1}{2}}', '{0:}', '{!s}', '{:}', '{[0]}', '{.a}', '{0:{{}}}', '{0:x{{y}}z}',
             '{a{b}', '{0!r:{w}}', '{0.a[}]}', '{0[}]}', 'x}', 'x}}y{', '{}}', '{{}', '{0:}}',
             '{0[a]b}', '{0[a].b[c]}', '{0[01]}', '{01}', '{-1}', '{0.a.}', '{0..a}', '{ }',
             '{0!a:^20}', '{0!s}{1!r}{2!a}', '{a:{b:{c}}}', '{:{}}{}', '{0[a]]}', '{0[[]}', '{é}',
             '{0: >{1}}', '{0:%Y-%m}', '{:>{}}'.upper(), '{0!\u00e9}', '{0!!}', '{0!:}', '{0::}']
for t in TEMPLATES:
    row('tmpl', t, *res(lambda: canon(t)))

# random specs built from the grammar's parts
def rand_spec(types):
    parts = []
    r = random.random
    if r() < 0.3:
        parts.append(random.choice(['', '*', '0', 'x', ' ']) + random.choice('<>=^'))
    if r() < 0.3:
        parts.append(random.choice('+- '))
    if r() < 0.1:
        parts.append('z')
    if r() < 0.2:
        parts.append('#')
    if r() < 0.2:
        parts.append('0')
    if r() < 0.5:
        parts.append(str(random.randint(0, 25)))
    if r() < 0.3:
        parts.append(random.choice(',_'))
    if r() < 0.5:
        parts.append('.' + str(random.randint(0, 20)))
    if r() < 0.8:
        parts.append(random.choice(types))
    return ''.join(parts)

for _ in range(2500):
    x = random.choice(FLOATS)
    sp = rand_spec('eEfFgGn%')
    row('ffloat', fbits(x), sp, *res(lambda: format(x, sp)))
for _ in range(2500):
    v = random.choice(INTS)
    sp = rand_spec('bcdoxXneEfFgG%')
    row('fint', v, sp, *res(lambda: format(v, sp)))
