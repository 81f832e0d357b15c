"""Compare covm's parse of Python files with CPython's `ast`.

Usage: python3 parser/tools/corpus.py FILE.py ...   (absolute paths)
Runs the `corpus_dump` test (release build) and tools/astdump.py, and
prints the first differing top-level statement of each file. Differences
in f-string `{x=}` rendering and in escaping of combining characters are
expected (the dump formats differ there, not the trees).
"""
import sys, subprocess, os, collections, tempfile
paths = sys.argv[1:]
here = os.path.dirname(os.path.abspath(__file__))
listing = tempfile.NamedTemporaryFile('w', suffix='.txt', delete=False)
listing.write('\n'.join(paths) + '\n'); listing.close()
env = dict(os.environ, COVM_CORPUS=listing.name)
ours = subprocess.run(["cargo", "test", "-q", "--release", "-p", "covm-parser", "corpus_dump", "--", "--nocapture"],
                     cwd=os.path.dirname(os.path.dirname(here)), env=env, capture_output=True, text=True).stdout
py = subprocess.run(["python3", os.path.join(here, "astdump.py")] + paths, capture_output=True, text=True).stdout
def split(text):
    d = {}; cur = None
    for line in text.splitlines():
        if line.startswith('@@FILE '): cur = line[7:]; d[cur] = []
        elif cur is not None and line.strip() not in ('', '.') and not line.startswith(('test result', 'running ')):
            d[cur].append(line)
    return d
O, P = split(ours), split(py)
stats = collections.Counter()
errs = collections.Counter()
for p in paths:
    o, q = O.get(p, ['@@MISSING']), P.get(p, ['@@MISSING'])
    if any(l.startswith('@@ERR') for l in o):
        err = [l for l in o if l.startswith('@@ERR')][0]
        unsupported = any(l.startswith('@@UNSUPPORTED') for l in q)
        stats['err-unsupported' if unsupported else 'err'] += 1
        if not unsupported:
            print('ERR ', p, err)
        else:
            errs[err.split('|')[1]] += 1
        continue
    bad = 0
    for a, b in zip(o, q):
        if b.startswith('@@UNSUPPORTED'): continue
        if a != b:
            bad += 1
            if bad <= 1:
                # find first diff position
                i = next((k for k in range(min(len(a), len(b))) if a[k] != b[k]), min(len(a), len(b)))
                print('DIFF', p)
                print('   ours:', a[max(0, i-150):i+150])
                print('   py:  ', b[max(0, i-150):i+150])
    if len(o) != len(q): print('LEN', p, len(o), len(q)); bad += 1
    stats['diff' if bad else 'ok'] += 1
print(stats)
print(errs.most_common(20))
