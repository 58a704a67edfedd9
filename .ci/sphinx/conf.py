"""Sphinx settings for the docs site that `.ci/docs.py` builds from nbdev's processed notebooks (no Quarto).
The pages are nbdev's `_proc` notebooks after `.ci/docs.py` converts them; nothing is executed here."""
import json, re
from configparser import ConfigParser
from pathlib import Path
from docutils import nodes

_ini = ConfigParser(delimiters=['='])
_ini.read(Path(__file__).resolve().parents[2]/'settings.ini', encoding='utf-8')
_ini = _ini['DEFAULT']
git_url = f"https://github.com/{_ini['user']}/{_ini['repo']}"

project = _ini['lib_name']
author = _ini['author']
copyright = _ini['copyright']
language = 'en'
html_title = project
html_theme = 'furo'
html_theme_options = dict(source_repository=git_url+'/', source_branch=_ini['branch'], source_directory='nbs/',
                          top_of_page_buttons=['view'])
html_static_path = ['_static']
html_css_files = ['nbdev.css']
html_show_sourcelink = False
html_copy_source = False
html_last_updated_fmt = None

extensions = ['myst_nb']
nb_execution_mode = 'off'            # the notebooks' saved outputs are the docs; nothing runs at build time
nb_merge_streams = True
nb_render_markdown_format = 'myst'
myst_enable_extensions = ['attrs_inline']
myst_all_links_external = True       # nbdev's links are already page.html#anchor URLs (made relative by .ci/docs.py)
exclude_patterns = ['_build', 'jupyter_execute', '**.ipynb_checkpoints']

def pandoc_id(text):
    "The id Pandoc (so Quarto, so nbdev's doc links) gives a heading: `DotProductBias.from_classes` -> `dotproductbias.from_classes`"
    s = re.sub(r'[^\w\s.-]', '', text, flags=re.UNICODE).strip().lower()
    s = re.sub(r'\s+', '-', s)
    s = re.sub(r'^[^a-z]+', '', s)
    return s or 'section'

def _doctree_read(app, doctree):
    "Give each heading nbdev's anchor too, and mark the sections `show_doc` made"
    seen = set()
    for sec in doctree.findall(nodes.section):
        pid = base = pandoc_id(sec[0].astext())
        i = 0
        while pid in seen: i += 1; pid = f'{base}-{i}'
        seen.add(pid)
        if pid not in sec['ids']: sec['ids'].append(pid)
        body = [n for n in sec[1:] if not isinstance(n, (nodes.system_message, nodes.target))]
        if body and isinstance(body[0], nodes.paragraph) and any('nbdev-source' in r['classes'] for r in body[0].findall(nodes.reference)):
            sec['classes'].append('nbdev-symbol')
            body[0]['classes'].append('nbdev-source-line')

def _page_context(app, pagename, templatename, context, doctree):
    "The 'view source' button opens the page's own notebook in nbs/"
    pages = Path(app.srcdir)/'_nbdev_pages.json'
    src = json.loads(pages.read_text()).get(pagename) if pages.exists() else None
    if src: context['theme_source_view_link'] = f"{git_url}/blob/{_ini['branch']}/{src}"

def setup(app):
    app.connect('doctree-read', _doctree_read)
    app.connect('html-page-context', _page_context)
