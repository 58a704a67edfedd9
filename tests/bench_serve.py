"""Benchmark: the serving export's size and the time from a fresh interpreter to the first answer.

1. MovieLens 100k's shape (943 users, 1,682 titles, 100,000 ratings from `synth_ratings`): `fit_recipe` (50 factors, 1 epoch:
   the sizes and times do not depend on how long it trained), then `learn.export_factors` against `learn.export()`.
2. MovieLens 25M's shape, tables only (162,541 users, 59,047 titles, 50 factors, random numbers; 25M distinct rated pairs
   drawn with skewed user and title popularity as `bench_topk.py` draws them; titles 10 to 80 characters and one of 160):
   no training, the arrays go through the same `_factor_arrays` and `_savez` as the export.

For each file, a fresh `python` process imports `fastai_dotbias.serve`, loads the file and answers one `recommend`
(then a second, a `similar`, a `recommend_new` and a `top_k` for 1,000 users), 3 times; the file is in the page cache.

    OMP_NUM_THREADS=1 python tests/bench_serve.py [--rows 25000000]

3. `recommend --all -n 10` from each file to Parquet and CSV (a fresh process each, its peak RSS from /usr/bin/time), and
   `write_top_k` in this process on 1 and 2 threads.
"""
import argparse, os, subprocess, sys, tempfile, time
from pathlib import Path
from types import SimpleNamespace
p = argparse.ArgumentParser(); p.add_argument('--rows', type=int, default=25_000_000); a = p.parse_args()
import numpy as np, torch
from fastai_dotbias.all import synth_ratings, fit_recipe, BiasInterpretation
from fastai_dotbias.export import _factor_arrays, _savez
from fastai_dotbias.synth import _draw_pairs

_probe = """import time, sys; t0 = time.perf_counter()
import fastai_dotbias.serve as s; t1 = time.perf_counter()
sc = s.DotBiasScorer.load(sys.argv[1]); t2 = time.perf_counter()
u = sc.users[1]; r = sc.recommend(u); t3 = time.perf_counter()
sc.recommend(sc.users[2]); t4 = time.perf_counter()
sc.similar(sc.items[1]); t5 = time.perf_counter()
sc.recommend_new({sc.items[1]: 5, sc.items[2]: 1}); t6 = time.perf_counter()
sc.top_k(10, users=list(sc.users[1:1001])); t7 = time.perf_counter()
print(t1-t0, t2-t1, t3-t2, t3-t0, t4-t3, t5-t4, t6-t5, t7-t6, 'torch' in sys.modules)"""

def probe(fname, label):
    print(f"{label}: import serve / load / first recommend = to first answer | 2nd recommend, similar, recommend_new, top_k 1,000 users (s)")
    for _ in range(3):
        out = subprocess.run([sys.executable, '-c', _probe, str(fname)], capture_output=True, text=True, check=True).stdout.split()
        t = [float(o) for o in out[:-1]]
        print(f"  {t[0]:.3f} / {t[1]:.3f} / {t[2]:.3f} = {t[3]:.3f} | {t[4]:.4f}, {t[5]:.4f}, {t[6]:.4f}, {t[7]:.3f}   torch imported: {out[-1]}", flush=True)

def mb(f): return f"{Path(f).stat().st_size/1e6:.1f} MB"
d = Path(tempfile.mkdtemp())

ratings = synth_ratings(n_users=943, n_items=1682, n_ratings=100_000, seed=0)
learn = fit_recipe(ratings.iloc[:80_000], ratings.iloc[80_000:], epochs=1)
learn.path = d
npz = learn.export_factors('ml100k.npz'); learn.export('ml100k.pkl')
print(f"ml-100k shape: export_factors {mb(npz)}, learn.export() {mb(d/'ml100k.pkl')} ({npz.stat().st_size/(d/'ml100k.pkl').stat().st_size:.0%})")
probe(npz, 'ml-100k shape')

n_users, n_items, nf = 162_541, 59_047, 50
rng = np.random.default_rng(0)
t = time.perf_counter()
p_u = rng.pareto(2, n_users-1)+1; p_u /= p_u.sum()   # codes 1.. (0 is #na#)
p_i = 1/(rng.permutation(n_items-1)+10.); p_i /= p_i.sum()
u, i = _draw_pairs(a.rows, p_u, p_i, rng)
seen = np.stack([u+1, i+1], 1).astype(np.int32); del u, i
ls = rng.integers(10, 81, n_items); ls[5] = 160
items = ['#na#'] + [f"T{j} " + 'x'*(l-len(str(j))-2) for j,l in enumerate(ls[1:], 1)]
T = lambda *s: torch.from_numpy((rng.standard_normal(s, dtype=np.float32)*0.3))
interp = SimpleNamespace(users=['#na#'] + list(range(1, n_users)), items=items, user='user', item='title',
                         members=[(T(n_users, nf), T(n_users), T(n_items, nf), T(n_items))], y_ranges=[(0, 5.5)], weights=[1.],
                         n_ratings=np.bincount(seen[:,1], minlength=n_items), mean_rating=rng.uniform(1, 5, n_items),
                         n_user_ratings=np.bincount(seen[:,0], minlength=n_users), seen=seen, scale=(0.5, 5.))
arrs = _factor_arrays(interp); del seen
_savez(d/'ml25m.npz', arrs)
raw = sum(o.nbytes for o in arrs.values())
print(f"\nml-25m shape ({a.rows:,} rated pairs, built and written in {time.perf_counter()-t:.0f} s): {mb(d/'ml25m.npz')} on disk, {raw/1e6:.1f} MB of arrays "
      f"(tables {sum(arrs[k].nbytes for k in ('u_fac_0','u_bias_0','i_fac_0','i_bias_0'))/1e6:.1f} MB, seen_indices {arrs['seen_indices'].nbytes/1e6:.1f} MB, items {arrs['items'].nbytes/1e6:.1f} MB as {arrs['items'].dtype})")
del arrs, interp
probe(d/'ml25m.npz', 'ml-25m shape')

# 3. recommend --all: every trained user's top 10 to a file, from a fresh process (the CLI), and in-process on 1 and 2 threads
def run_all(fname, out, label):
    "The command in a fresh process under /usr/bin/time (its own peak RSS: a forked child would count this process's pages)"
    t = time.perf_counter()
    r = subprocess.run(['/usr/bin/time', '-f', 'maxrss_kb=%M', sys.executable, '-m', 'fastai_dotbias', 'recommend', '--model', str(fname), '--all', '-n', '10', '--min-ratings', '1', '--out', str(out)],
                       capture_output=True, text=True)
    dt = time.perf_counter() - t
    assert r.returncode == 0, r.stderr
    rss = int(r.stderr.split('maxrss_kb=')[-1].split()[0])/1024
    print(f"  {label:<40} {dt:6.1f} s wall, {mb(out):>8}, peak RSS {rss:,.0f} MB | {r.stdout.splitlines()[-1].split(' to ')[0]}", flush=True)
from fastai_dotbias.serve import DotBiasScorer
from fastai_dotbias.batch import write_top_k
for name in ('ml100k', 'ml25m'):
    print(f"\n{name} shape: fastai-dotbias recommend --model {name}.npz --all -n 10 --out recs.*")
    for ext in ('parquet', 'csv'): run_all(d/f'{name}.npz', d/f'{name}_recs.{ext}', f"--out recs.{ext}")
    if name == 'ml100k': run_all(d/'ml100k.pkl', d/'ml100k_pkl.parquet', "--model ml100k.pkl --out recs.parquet")
    sc = DotBiasScorer.load(d/f'{name}.npz')
    for th in (1, 2):
        t = time.perf_counter(); res = write_top_k(sc, d/f'{name}_t.parquet', k=10, threads=th, progress=False)
        print(f"  in process, write_top_k(threads={th}):    {time.perf_counter()-t:6.1f} s for {res['users']:,} users, {res['rows']:,} rows", flush=True)
