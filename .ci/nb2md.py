"""Write README.md from nbs/index.ipynb without Quarto: markdown cells as they are, code cells and their text outputs fenced.
Also tidies the saved outputs of nbs/*.ipynb: a captured run (`nbdev-test --save`) records fastprogress's console bars, which are dropped.
`--check` changes nothing and fails if README.md is stale."""
import json, re, sys
from pathlib import Path

root = Path(__file__).resolve().parent.parent
_bar = re.compile(r'(Epoch \d+/\d+ : )?\|[█-]*\| *[\d.]+% \[[^\]]*\]|Epoch \d+/\d+ : +|█')

def tidy(text):
    "`text` without progress bars and the blank runs they leave"
    if not _bar.search(text) and '\r' not in text: return text
    lines = [_bar.sub('', l).rstrip() for l in text.replace('\r', '\n').split('\n')]
    return '\n'.join(l for l in lines if l.strip()) + '\n'


def tidy_nb(p):
    nb = json.loads(p.read_text())
    changed = False
    for c in nb['cells']:
        for o in c.get('outputs', []):
            if o['output_type']=='stream':
                new = tidy(''.join(o['text']))
                if new != ''.join(o['text']): o['text'],changed = new.splitlines(True),True
    if changed: p.write_text(json.dumps(nb, indent=1, ensure_ascii=False)+'\n')

if '--check' not in sys.argv:
    for p in sorted((root/'nbs').glob('*.ipynb')): tidy_nb(p)
nb = json.loads((root/'nbs'/'index.ipynb').read_text())

def src(c): return ''.join(c['source'])

def html_table(h):
    "fastprogress's epoch table (HTML) as aligned text, as the console shows it"
    rows = [r for r in (re.findall(r'<t[hd][^>]*>(.*?)</t[hd]>', tr, re.S) for tr in re.findall(r'<tr[^>]*>(.*?)</tr>', h, re.S)) if r]
    w = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return '\n'.join('  '.join(x.rjust(n) for x,n in zip(r,w)) for r in rows)

def out_text(c):
    res = []
    for o in c.get('outputs', []):
        d = o.get('data', {})
        html,plain = ''.join(d.get('text/html', '')),''.join(d.get('text/plain', ''))
        if o['output_type']=='stream' and o.get('name')=='stdout': res.append(''.join(o['text']))
        elif '<table class="fastprogress"' in html: res.append(html_table(html))
        elif plain.startswith('<IPython.core.display.HTML object>'): continue   # fastprogress's stylesheet
        elif 'data' in o and 'text/markdown' in o['data']: res.append(('md', ''.join(o['data']['text/markdown'])))
        elif 'data' in o and 'text/plain' in o['data']: res.append(''.join(o['data']['text/plain']))
    return res

parts = []
for c in nb['cells']:
    s = src(c)
    if c['cell_type']=='markdown':
        parts.append(re.sub(r'^> ', '> ', s))
        continue
    if re.search(r'^#\|\s*(hide|exporti?|eval:\s*false)\b', s, re.M) and 'hide' in s.split('\n')[0]: continue
    code = '\n'.join(l for l in s.splitlines() if not l.startswith('#|')).strip()
    if code: parts.append(f'```python\n{code}\n```')
    for o in out_text(c):
        if isinstance(o, tuple): parts.append(o[1].strip())
        elif o.strip(): parts.append('```\n' + re.sub(r'\x1b\[[0-9;]*m', '', o).strip('\n') + '\n```')

readme = '<!-- Generated from nbs/index.ipynb by `python .ci/nb2md.py`: edit the notebook, not this file. -->\n\n' + '\n\n'.join(parts) + '\n'
dest = root/'README.md'
if '--check' in sys.argv:
    if not dest.exists() or dest.read_text()!=readme:
        sys.exit("README.md is not what `python .ci/nb2md.py` makes of nbs/index.ipynb: run it and commit README.md.")
    print('README.md is current')
else:
    dest.write_text(readme)
    print(f'wrote {dest}')
