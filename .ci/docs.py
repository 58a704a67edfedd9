"""Build the docs site in docs/ from nbs/ without Quarto, keeping nbdev's own processing.

    python .ci/docs.py          # README.md (via .ci/nb2md.py) and the site in docs/
    python .ci/docs.py --check  # build into _sphinx/check/ (docs/ untouched), check links, that docs/ and README.md
                                # are current, and open the pages in headless Chromium (screenshots in _sphinx/check/docs_screenshots/)

1. nbdev, as `nbdev-docs` does before it calls Quarto: `refresh_quarto_yml`, `_build_modidx`, `nbdev_sidebar` and
   `proc_nbs` write `_proc/`: each notebook with its front matter, `show_doc` output for every exported symbol,
   hidden and exported cells removed, backtick names linked.
2. Each `_proc` notebook becomes a page for Sphinx (`_sphinx/src/`): the front matter becomes the title and description,
   `#| output: asis` output (show_doc) becomes markdown, `#| echo: false` a `remove-input` tag, nbdev's site-absolute
   links relative ones, `source` links point to the repository, and pages take nbdev's names (`03_model` -> `model.html`).
3. `sphinx-build -W` with myst-nb (nothing executed: the saved outputs are shown) and the furo theme (.ci/sphinx/conf.py).
4. Every internal link and anchor of the site must resolve.
Where Quarto is installed, `nbdev-docs` still builds nbdev's own site from the same notebooks.
"""
import json, os, re, shutil, subprocess, sys, tempfile, time
from configparser import ConfigParser
from pathlib import Path
from posixpath import relpath

root = Path(__file__).resolve().parent.parent
os.chdir(root)
for k,v in dict(OMP_NUM_THREADS='1', MKL_NUM_THREADS='1', MPLBACKEND='Agg', PYTHONHASHSEED='0').items(): os.environ.setdefault(k, v)

ini = ConfigParser(delimiters=['=']); ini.read(root/'settings.ini', encoding='utf-8'); ini = ini['DEFAULT']
git_url, branch = f"https://github.com/{ini['user']}/{ini['repo']}", ini['branch']
build = root/'_sphinx'

def step(msg): print(f'== docs: {msg}', flush=True)

# 1. nbdev's processing, as in `nbdev.quarto._pre_docs`, minus `_ensure_quarto`
def nbdev_proc():
    from nbdev.config import get_config
    from nbdev.quarto import refresh_quarto_yml, nbdev_sidebar
    from nbdev.serve import proc_nbs
    import nbdev.doclinks, nbdev.processors as procs, yaml
    names = procs._def_names
    # nbdev checks a patched method's bare name (`fold_in`) against the `Class.fold_in` of its show_doc, so it documented it twice
    procs._def_names = lambda cell, shown: [n for n in names(cell, shown) if n not in shown]
    cfg = get_config()
    refresh_quarto_yml()
    nbdev.doclinks._build_modidx()
    nbdev_sidebar.__wrapped__()
    cache = proc_nbs(n_workers=0, force=True)
    def flat(items):
        for o in items:
            if isinstance(o, dict): yield from flat(([o['href']] if 'href' in o else []) + o.get('contents', []))
            else: yield o
    order = list(flat(yaml.safe_load((cfg.nbs_path/'sidebar.yml').read_text())['website']['sidebar']['contents']))
    return Path(cache), cfg.nbs_path.relative_to(root), order

# 2. `_proc` notebooks -> pages for Sphinx
_re_dir = re.compile(r'^\s*#\|\s*([\w-]+)\s*:?\s*(.*?)\s*$')
_re_link = re.compile(r'\]\(([^)\s]+)\)(\{[^}\n]*\})?')

_re_private = re.compile(r'\[(`_\w[^`]*`)\]\([^)\s]*#_[^)\s]*\)(\{[^}\n]*\})?')

def fix_links(md, page):
    "nbdev's site-absolute links made relative to `page`, source links to the repository, Pandoc link attributes dropped; private names (no `show_doc`, so no anchor) left as code"
    md = _re_private.sub(r'\1', md)
    def sub(m):
        url, attrs = m.group(1), m.group(2) or ''
        if re.match(r'/blob/', url): url = git_url + url
        elif url.startswith('/') and not url.startswith('//'):
            path, _, frag = url[1:].partition('#')
            url = relpath(path or 'index.html', str(Path(page).parent) if Path(page).parent.parts else '.') + (f'#{frag}' if frag else '')
        cls = ' '.join(re.findall(r'(?<![\w-])\.[\w-]+', attrs))
        return f']({url})' + (f'{{{cls}}}' if cls else '')
    return _re_link.sub(sub, md)

def quarto_md(md):
    "Markdown without Quarto-only syntax (fenced div lines)"
    return '\n'.join(l for l in md.split('\n') if not re.match(r'^:::+\s*(\{.*\})?\s*$', l))

def showdoc_md(md):
    "show_doc's markdown, its `source` link moved under the heading (nbdev floats it above, after a rule)"
    md = re.sub(r'\A\s*---\s*\n', '', md)
    m = re.search(r'^\[source\]\(([^)\s]+)\)\{[^}\n]*\}[ \t]*\n', md, re.M)
    if m:
        md = md[:m.start()] + md[m.end():]
        md = re.sub(r'^(#+ .*)$', lambda h: f'{h.group(1)}\n\n[source]({m.group(1)}){{.nbdev-source}}', md, count=1, flags=re.M)
    return md.strip('\n')

def md_cell(src): return dict(cell_type='markdown', metadata={}, source=src)

def front_matter(cell):
    import yaml
    src = ''.join(cell['source']).strip()
    if cell['cell_type']!='raw' or not src.startswith('---'): return None
    return yaml.safe_load(src.strip('-\n')) or {}

def convert(nb, page):
    "A `_proc` notebook as the page `page` (e.g. 'model.html') for myst-nb"
    cells, fm = [], {}
    for c in nb['cells']:
        src = ''.join(c['source'])
        if c['cell_type']=='raw':
            if (d := front_matter(c)) is not None:
                fm = d
                cells.append(md_cell(f"# {d.get('title') or Path(page).stem}"))
                if d.get('description'):
                    cells.append(md_cell(f"```{{container}} nbdev-description\n{fix_links(d['description'], page)}\n```"))
            continue
        if c['cell_type']=='markdown':
            cells.append(md_cell(fix_links(quarto_md(src), page)))
            continue
        lines = src.split('\n')
        dirs = {}
        while lines and (m := _re_dir.match(lines[0])): dirs[m.group(1)] = m.group(2).lower(); lines.pop(0)
        code = '\n'.join(lines).strip('\n')
        if dirs.get('include')=='false': continue
        tags = list(c.get('metadata', {}).get('tags', []))
        echo = dirs.get('echo') not in ('false', 'fenced')
        outs = c.get('outputs', [])
        if dirs.get('output')=='asis':
            md = []
            for o in outs:
                d = o.get('data', {})
                if 'text/markdown' in d: t = ''.join(d['text/markdown'])
                elif o.get('output_type')=='stream': t = ''.join(o['text'])
                else: continue
                md.append(showdoc_md(t) if code.startswith('show_doc') else t)
            if echo and code: cells.append(dict(cell_type='code', metadata={}, source=code, outputs=[], execution_count=None))
            if md: cells.append(md_cell(fix_links(quarto_md('\n\n'.join(md)), page)))
            continue
        if not code and not outs: continue
        if not echo and 'remove-input' not in tags: tags.append('remove-input')
        if dirs.get('output')=='false' and 'remove-output' not in tags: tags.append('remove-output')
        for o in outs:   # markdown outputs (rare outside show_doc) get the same link fixes
            d = o.get('data', {})
            if 'text/markdown' in d: d['text/markdown'] = fix_links(quarto_md(''.join(d['text/markdown'])), page)
        cells.append(dict(cell_type='code', metadata=dict(tags=tags) if tags else {}, source=code, outputs=outs,
                          execution_count=c.get('execution_count')))
    for i,c in enumerate(cells): c['id'] = f'c{i}'
    meta = dict(kernelspec=nb['metadata'].get('kernelspec', dict(name='python3', display_name='Python 3', language='python')),
                language_info=dict(name='python', pygments_lexer='ipython3'))
    return dict(cells=cells, metadata=meta, nbformat=4, nbformat_minor=5), fm

def write_pages(cache, nbs, order, src):
    shutil.rmtree(src, ignore_errors=True); src.mkdir(parents=True)
    pages, docnames = {}, []
    for name in order:
        nb = json.loads((cache/name).read_text(encoding='utf-8'))
        fm = next((d for c in nb['cells'] if (d := front_matter(c)) is not None), {})
        page = fm.get('output-file') or re.sub(r'^\d+[a-zA-Z0-9]*_', '', Path(name).stem.lower()) + '.html'
        out, _ = convert(nb, page)
        doc = str(Path(page).with_suffix(''))
        (src/doc).parent.mkdir(parents=True, exist_ok=True)
        (src/f'{doc}.ipynb').write_text(json.dumps(out, indent=1, ensure_ascii=False)+'\n', encoding='utf-8')
        pages[doc] = str(nbs/name); docnames.append(doc)
    if 'index' not in docnames: sys.exit('docs: nbs/ has no index notebook')
    idx = json.loads((src/'index.ipynb').read_text(encoding='utf-8'))
    toc = '\n'.join(d for d in docnames if d!='index')
    idx['cells'].append(dict(md_cell(f'```{{toctree}}\n:hidden:\n\n{toc}\n```'), id='toc'))
    (src/'index.ipynb').write_text(json.dumps(idx, indent=1, ensure_ascii=False)+'\n', encoding='utf-8')
    (src/'_nbdev_pages.json').write_text(json.dumps(pages, indent=1)+'\n')
    return docnames

# 3. Sphinx
def sphinx(src, out, doctrees):
    shutil.rmtree(out, ignore_errors=True)
    cmd = [sys.executable, '-m', 'sphinx', '-W', '--keep-going', '-E', '-q', '-N', '-b', 'html', '-c', str((root/'.ci'/'sphinx').relative_to(root)),
           '-d', str(doctrees.relative_to(root)), str(src.relative_to(root)), str(out.relative_to(root))]
    print('$ sphinx-build ' + ' '.join(cmd[3:]), flush=True)
    if subprocess.run(cmd).returncode: sys.exit('docs: sphinx-build failed (warnings are errors); see above')
    print(f"sphinx-build: {sum(1 for _ in out.glob('*.html'))} pages, no warnings")
    (out/'.buildinfo').unlink(missing_ok=True)
    (out/'.nojekyll').touch()

# 4. links
def _soup(p):
    from bs4 import BeautifulSoup
    return BeautifulSoup(Path(p).read_text(encoding='utf-8'), 'html.parser')

def check_links(site):
    "Every href/src inside the site names a file that exists, and an id in it when it has a #fragment"
    ids, refs = {}, []
    for f in sorted(site.rglob('*.html')):
        s = _soup(f)
        rel = f.relative_to(site).as_posix()
        ids[rel] = {t['id'] for t in s.find_all(id=True)} | {t['name'] for t in s.find_all('a', attrs={'name': True})}
        for t in s.find_all(['a', 'link', 'img', 'script', 'iframe', 'source']):
            for a in ('href', 'src'):
                if (u := t.get(a)) and not re.match(r'^[a-z][a-z0-9+.-]*:|^//', u, re.I): refs.append((rel, u))
    bad = []
    for page, u in refs:
        path, _, frag = u.split('?')[0].partition('#')
        target = Path(os.path.normpath(Path(page).parent/path)).as_posix() if path else page
        if path and (site/target).is_dir(): target = f'{target}/index.html'
        if target.startswith('..') or not (site/target).exists(): bad.append(f'{page}: {u} (no file {target})')
        elif frag and target.endswith('.html') and frag not in ids.get(target, set()): bad.append(f'{page}: {u} (no id "{frag}" in {target})')
    print(f'links: {len(refs)} internal links and sources in {len(ids)} pages, {len(bad)} broken')
    if bad: sys.exit('docs: broken internal links:\n  ' + '\n  '.join(bad))

# 5. what a reader must not see: the build machine's paths, warning text, tracebacks
_debris = [(re.compile(re.escape(str(root))), 'the checkout path'), (re.compile(r'(?<![\w.])/tmp/'), 'a temporary path'),
           (re.compile(r'\.venv/|site-packages'), 'the virtualenv'), (re.compile(re.escape(str(Path.home()))+'/'), 'the home folder'),
           (re.compile(r'\b\w*(Warning|Error)\b(?=:)'), 'warning or error text'), (re.compile(r'warnings\.warn\('), 'warning text'),
           (re.compile(r'Traceback \(most recent call last\)'), 'a traceback')]

def check_debris(site):
    "No page shows a path of the machine that built it, warning text or a traceback (in its text or its code and output blocks)"
    bad = []
    for f in sorted(site.rglob('*.html')):
        rel = f.relative_to(site).as_posix()
        if rel in ('search.html', 'genindex.html'): continue
        text = (_soup(f).find('article') or _soup(f)).get_text(' ')
        for rx,what in _debris:
            for m in rx.finditer(text):
                snippet = ' '.join(text[max(0, m.start()-60):m.end()+60].split())
                if what=='warning or error text' and re.search(r'\b(RatingsError|TrainingError|KeyError|ValueError|TypeError)\b', m.group()): continue   # our documented errors
                bad.append(f'{rel}: {what}: ...{snippet}...')
    print(f'debris: {len(bad)} build paths, warnings or tracebacks in the pages')
    if bad: sys.exit('docs: pages show build debris:\n  ' + '\n  '.join(bad[:40]))

# --check: docs/ current, and the pages in a real browser
def _content(site):
    "What a reader sees, page by page: main text, links and images (not theme assets, which vary with tool versions)"
    res = {}
    for f in sorted(site.rglob('*.html')):
        rel = f.relative_to(site).as_posix()
        if rel in ('search.html', 'genindex.html'): continue
        art = _soup(f).find('article') or _soup(f)
        res[rel] = (' '.join(art.get_text(' ').split()), [a.get('href') for a in art.find_all('a')], [i.get('src') for i in art.find_all('img')])
    res['_images'] = sorted(p.name for p in (site/'_images').glob('*')) if (site/'_images').exists() else []
    return res

def check_current(new, old):
    a, b = _content(new), _content(old)
    diff = sorted(k for k in set(a)|set(b) if a.get(k)!=b.get(k))
    if diff: sys.exit(f"docs: docs/ is not what `python .ci/docs.py` makes of nbs/ (differs in: {', '.join(diff)}): run it and commit docs/.")
    print('docs/ is current')

def chromium():
    for n in ('chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable'):
        if p := shutil.which(n): return p
    sys.exit('docs: no Chromium found for the browser check (Debian: apt-get install -y chromium)')

def browse(url, *args, timeout=90):
    with tempfile.TemporaryDirectory(prefix='chromium-') as prof:
        cmd = [chromium(), '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
               '--disable-background-networking', '--disable-component-update', '--disable-sync', '--hide-scrollbars',
               f'--user-data-dir={prof}', *args, url]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if r.returncode: sys.exit(f'docs: chromium failed on {url} (exit {r.returncode}):\n{r.stderr[-2000:]}')
    return r.stdout

def _sig_names(qual):
    "Parameter names `show_doc` prints for `qual` (e.g. 'BiasInterpretation.lowest')"
    import inspect, warnings
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        import fastai_dotbias.all as m
    o = m
    for p in qual.split('.'): o = getattr(o, p)
    return [n for n in inspect.signature(o).parameters if n not in ('self', 'cls')]

# the symbols a reader must find on each page (every other show_doc heading is checked too)
must_show = {'synth.html': ['synth_ratings', 'planted', 'save_ml100k'],
             'readers.html': ['read_ratings_file', 'read_ratings_csv', 'find_cols', 'guess_cols', 'RatingsError'],
             'data.html': ['load_ratings', 'check_ratings', 'movielens_100k', 'get_y_range'],
             'loader.html': ['DotBiasDataLoaders', 'DotBiasDataLoaders.from_df', 'RatingsDL'],
             'model.html': ['DotProductBias', 'DotProductBias.from_classes', 'create_params'],
             'learner.html': ['dotbias_learner', 'DotBiasLearner', 'FusedAdam'],
             'interpret.html': ['ShowBiasesCallback', 'BiasInterpretation', 'BiasInterpretation.lowest',
                                'BiasInterpretation.most_similar', 'BiasInterpretation.plot_pca', 'BiasInterpretation.recommend'],
             'baselines.html': ['GlobalMean', 'BiasBaseline', 'MostPopular', 'baseline_model', 'with_baseline', 'init_biases'],
             'evaluate.html': ['top_k', 'ranking_metrics', 'evaluate', 'baseline_metrics', 'compare_baselines', 'split_folds', 'fit_recipe', 'cross_validate', 'BiasInterpretation.fold_in'],
             'tune.html': ['tune_recipe', 'tune_and_fit', 'inner_split', 'gibbs', 'with_gibbs'],
             'draws.html': ['draw_kernels'],
             'cli.html': ['main', 'check_output', 'check_inputs'],
             'commands.html': ['load_model', 'check_plot'],
             'serve.html': ['DotBiasScorer', 'DotBiasScorer.iter_top_k', 'DotBiasScorer.from_arrays'],
             'batch.html': ['write_top_k', 'out_kind'],
             'update.html': ['Learner.update', 'BiasInterpretation.fold_in_item']}

def check_browser(site, shots, docnames):
    from bs4 import BeautifulSoup
    shutil.rmtree(shots, ignore_errors=True); shots.mkdir(parents=True)
    report, fails = [], []
    for doc in docnames:
        page = f'{doc}.html'
        url = (site/page).as_uri()
        dom = BeautifulSoup(browse(url, '--dump-dom'), 'html.parser')
        h1 = dom.find('h1')
        if not h1: fails.append(f'{page}: no title'); continue
        nav = {(page if a.get('href', '').startswith('#') else a.get('href', '')).split('#')[0] for a in dom.select('.sidebar-tree a.reference')}
        missing_nav = [d for d in docnames if d!='index' and f'{d}.html' not in nav]
        if missing_nav: fails.append(f'{page}: sidebar lacks {missing_nav}')
        syms = {}
        for sec in dom.select('section.nbdev-symbol'):
            h = sec.find(['h2', 'h3', 'h4'])
            name = h.get_text(' ', strip=True).rstrip('#¶ ').strip()
            pre = sec.find('pre')
            syms[name] = (pre.get_text() if pre else '', sec.select_one('a.nbdev-source'))
        for name in must_show.get(page, []):
            if name not in syms: fails.append(f'{page}: no show_doc section for {name}')
        for name,(sig,src) in syms.items():
            short = name.split('.')[-1]
            if not re.search(rf'\b(def|class)\s+{re.escape(short)}\(', sig): fails.append(f'{page}: {name}: no signature shown'); continue
            try: missing = [n for n in _sig_names(name) if n not in sig]
            except (AttributeError, ValueError, TypeError): missing = []   # no Python signature (e.g. an exception class)
            if missing: fails.append(f'{page}: {name}: signature lacks {missing}')
            if not src or not src['href'].startswith(f'{git_url}/blob/'): fails.append(f'{page}: {name}: no source link')
        xtra = ''
        if doc=='index':   # the README's page: its links to the API and the saved output of its example
            text = ' '.join(dom.find('article').get_text(' ').split())
            want = ('DotProductBias', 'dotbias_learner', 'ShowBiasesCallback', 'train_loss', 'Twin Saga B (1971)', 'Contributing', 'jupyter lab')
            if miss := [w for w in want if w not in text]: fails.append(f'{page}: does not show {miss}')
            xtra = f", names and output {', '.join(want[:4])}"
        imgs = dom.select('article img')
        shot = shots/f'{doc}.png'
        browse(url, f'--screenshot={shot}', '--window-size=1280,2000')
        if not shot.exists() or shot.stat().st_size < 10_000: fails.append(f'{page}: screenshot missing or blank')
        report.append(f'{page}: "{h1.get_text(strip=True).rstrip("#¶")}", sidebar {len(docnames)-1} pages, {len(syms)} signatures, {len(imgs)} images{xtra}')
    print('browser (headless Chromium, --dump-dom):\n  ' + '\n  '.join(report))
    print(f'screenshots: {shots}')
    if fails: sys.exit('docs: browser check failed:\n  ' + '\n  '.join(fails))

def main():
    check = '--check' in sys.argv
    t0 = time.time()
    step("nbdev's processing (refresh_quarto_yml, _build_modidx, nbdev_sidebar, proc_nbs) -> _proc/")
    cache, nbs, order = nbdev_proc()
    os.chdir(root)   # nbdev runs the notebooks' import cells in this process while processing them
    step(f'{len(order)} notebooks -> pages in _sphinx/src/')
    docnames = write_pages(cache, nbs, order, build/'src')
    out = build/'check'/'html' if check else build/'html'
    step(f'sphinx-build -> {out.relative_to(root)}/')
    sphinx(build/'src', out, build/'doctrees')
    check_links(out)
    check_debris(out)
    if check:
        step('README.md and docs/ current')
        subprocess.run([sys.executable, str(root/'.ci'/'nb2md.py'), '--check'], check=True)
        check_current(out, root/'docs')
        step('headless Chromium')
        check_browser(out, build/'check'/'docs_screenshots', docnames)
    else:
        subprocess.run([sys.executable, str(root/'.ci'/'nb2md.py')], check=True)
        shutil.rmtree(root/'docs', ignore_errors=True)
        shutil.copytree(out, root/'docs')
        print(f"wrote {root/'docs'} ({sum(1 for _ in (root/'docs').rglob('*.html'))} pages)")
    step(f'done in {time.time()-t0:.0f} s')

if __name__ == '__main__': main()
