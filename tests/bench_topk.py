"""Benchmark: top-10 for every user at MovieLens 25M's shape (162,541 users, 59,047 titles, 25M rated pairs, generated).

Builds the CSR of rated pairs to exclude, then calls `fastai_dotbias.evaluate.top_k` on 50-factor tables (their values do not
change the work), chunk by chunk, with the given number of torch threads. Prints wall times and the process's peak RSS
(data + tables + scoring), and checks on a sample of users that no list holds a rated title and that the lists match a
direct computation.

    python tests/bench_topk.py [--rows 25000000] [--threads 2] [--chunk 1024]
"""
import argparse, os, resource, time
p = argparse.ArgumentParser()
p.add_argument('--rows', type=int, default=25_000_000); p.add_argument('--threads', type=int, default=2); p.add_argument('--chunk', type=int, default=1024)
a = p.parse_args()
os.environ['OMP_NUM_THREADS'] = str(a.threads)
import numpy as np, torch
torch.set_num_threads(a.threads)
from fastai_dotbias.synth import _draw_pairs
from fastai_dotbias.evaluate import top_k, csr

def rss_gb(): return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss/2**20

def timed(label, f):
    t = time.perf_counter(); res = f(); dt = time.perf_counter()-t
    print(f"{label:<52} {dt:7.1f} s   peak RSS {rss_gb():5.2f} GB", flush=True)
    return res, dt

n_users, n_items, k = 162_541, 59_047, 10
rng = np.random.default_rng(0)
p_u = rng.pareto(2, n_users)+1; p_u /= p_u.sum()
p_i = 1/(rng.permutation(n_items)+10.); p_i /= p_i.sum()
(u, i), _ = timed(f"generate {a.rows:,} distinct (user, title) pairs", lambda: _draw_pairs(a.rows, p_u, p_i, rng))
u, i = u.astype(np.int32), i.astype(np.int32)
seen, _ = timed("CSR of the rated pairs", lambda: csr(u, i, n_users))
del u, i
g = torch.Generator().manual_seed(0)
tables = [(torch.randn(n_users, 50, generator=g)*0.3, torch.randn(n_users, generator=g)*0.3,
           torch.randn(n_items, 50, generator=g)*0.3, torch.randn(n_items, generator=g)*0.3, (0, 5.5))]
(items, scores), dt = timed(f"top-{k} for all {n_users:,} users ({a.threads} threads, chunks of {a.chunk})",
                            lambda: top_k(tables, k, exclude=seen, chunk=a.chunk))
print(f"{n_users*n_items/dt/1e9:.2f} billion scores a second; {n_users/dt:,.0f} users a second")

# check a sample of users against a direct computation
uf, ub, vf, vb, yr = tables[0]
indptr, indices = seen
for uu in np.random.default_rng(1).choice(n_users, 50, replace=False):
    s = vf @ uf[uu] + ub[uu] + vb
    rated = indices[indptr[uu]:indptr[uu+1]]
    assert not set(items[uu].tolist()) & set(rated.tolist())
    s[torch.from_numpy(rated.astype(np.int64))] = -float('inf')
    assert torch.equal(items[uu].sort().values, s.topk(k).indices.sort().values)
print("checked 50 users: no rated title in their lists, lists equal to a direct top-k")
