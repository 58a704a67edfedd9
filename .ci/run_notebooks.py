"""Run every notebook in nbs/ top to bottom in a real Jupyter kernel (nbclient + ipykernel), as a reader runs it in JupyterLab.

`nbdev-test` runs notebooks in its own in-process shell and skips cells flagged `slow`; this runs them as Jupyter does:
each notebook in a fresh `python3` kernel started from this environment, in nbs/ as working directory, every cell in
order, including `#| slow` cells (those that need MovieLens print that they skip when it is absent). Only cells marked
`#| eval: false` are left out, as nbdev leaves them out: they are commands to copy, not to run. Nothing is written back.

    python .ci/run_notebooks.py [--save [--keep-slow]] [--jobs N] [NOTEBOOK ...]

`--jobs N` runs N notebooks at a time, each in its own kernel (default: the number of cores, at most 8); each kernel
keeps the environment's `OMP_NUM_THREADS`, so with 1 the cores are not oversubscribed.

`--save` writes the outputs back into the notebooks (the docs show them), without execution timestamps. With `--keep-slow`,
cells flagged `#| slow` keep the outputs already saved: on a machine without MovieLens they only print that they skip, and
the MovieLens results saved where it was present stay in the docs.
"""
import os, re, sys, time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

root = Path(__file__).resolve().parent.parent
_skip = re.compile(r'^\s*#\|\s*eval\s*:\s*false\s*$', re.M)

_slow = re.compile(r'^\s*#\|\s*slow\s*$', re.M)

def run(path, save=False, keep_slow=False):
    nb = nbformat.read(path, as_version=4)
    skipped = [c for c in nb.cells if c.cell_type=='code' and _skip.search(c.source)]
    n_skip = len(skipped)
    run_nb = nbformat.from_dict(dict(nb, cells=[c for c in nb.cells if c not in skipped]))
    t = time.time()
    NotebookClient(run_nb, timeout=900, kernel_name='python3', record_timing=False, resources={'metadata': {'path': str(path.parent)}}).execute()
    if save:
        ran = {c.id: c for c in run_nb.cells}
        for c in nb.cells:
            if keep_slow and _slow.search(c.source): continue
            if c.id in ran and c.cell_type=='code': c.outputs,c.execution_count,c.metadata = ran[c.id].outputs,ran[c.id].execution_count,{k:v for k,v in c.metadata.items() if k!='execution'}
        nbformat.write(nb, path)
    n = sum(1 for c in run_nb.cells if c.cell_type=='code')
    print(f"  {path.name}: {n} cells ran in {time.time()-t:.0f} s" + (f" ({n_skip} `eval: false` left out)" if n_skip else ''), flush=True)

def _run_one(p, save, keep_slow):
    "Run notebook `p` in a worker process: its name if it failed, else None"
    try: run(p, save, keep_slow)
    except CellExecutionError as e:
        print(f"  {p.name}: FAILED\n{str(e)[-3000:]}", flush=True)
        return p.name

if __name__ == '__main__':
    args = sys.argv[1:]
    save,keep_slow = '--save' in args,'--keep-slow' in args
    jobs = min(os.cpu_count() or 1, 8)
    if '--jobs' in args: i = args.index('--jobs'); jobs = int(args[i+1]); del args[i:i+2]
    nbs = [Path(p).resolve() for p in args if p not in ('--save','--keep-slow')] or sorted((root/'nbs').glob('*.ipynb'))
    t = time.time()
    with ProcessPoolExecutor(max(1, min(jobs, len(nbs)))) as ex: failed = [o for o in ex.map(_run_one, nbs, [save]*len(nbs), [keep_slow]*len(nbs)) if o]
    if failed: sys.exit(f"notebooks that fail in a Jupyter kernel: {', '.join(failed)}")
    print(f"all {len(nbs)} notebooks ran in a Jupyter kernel ({jobs} at a time, {time.time()-t:.0f} s)")
