"""Run every notebook in nbs/ top to bottom in a real Jupyter kernel (nbclient + ipykernel), as a reader runs it in JupyterLab.

`nbdev-test` runs notebooks in its own in-process shell and skips cells flagged `slow`; this runs them as Jupyter does:
each notebook in a fresh `python3` kernel started from this environment, in nbs/ as working directory, every cell in
order, including `#| slow` cells (those that need MovieLens print that they skip when it is absent). Only cells marked
`#| eval: false` are left out, as nbdev leaves them out: they are commands to copy, not to run. Nothing is written back.

    python .ci/run_notebooks.py [NOTEBOOK ...]
"""
import re, sys, time
from pathlib import Path
import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

root = Path(__file__).resolve().parent.parent
_skip = re.compile(r'^\s*#\|\s*eval\s*:\s*false\s*$', re.M)

def run(path):
    nb = nbformat.read(path, as_version=4)
    n_skip = sum(1 for c in nb.cells if c.cell_type=='code' and _skip.search(c.source))
    nb.cells = [c for c in nb.cells if not (c.cell_type=='code' and _skip.search(c.source))]
    t = time.time()
    NotebookClient(nb, timeout=900, kernel_name='python3', resources={'metadata': {'path': str(path.parent)}}).execute()
    n = sum(1 for c in nb.cells if c.cell_type=='code')
    print(f"  {path.name}: {n} cells ran in {time.time()-t:.0f} s" + (f" ({n_skip} `eval: false` left out)" if n_skip else ''), flush=True)

if __name__ == '__main__':
    nbs = [Path(p).resolve() for p in sys.argv[1:]] or sorted((root/'nbs').glob('*.ipynb'))
    failed = []
    for p in nbs:
        try: run(p)
        except CellExecutionError as e:
            failed.append(p.name)
            print(f"  {p.name}: FAILED\n{str(e)[-3000:]}", flush=True)
    if failed: sys.exit(f"notebooks that fail in a Jupyter kernel: {', '.join(failed)}")
    print(f"all {len(nbs)} notebooks ran in a Jupyter kernel")
