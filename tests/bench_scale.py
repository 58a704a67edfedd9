"""Scale benchmark: ml-25m-shaped generated ratings (162,541 users, 59,047 items) at bs=8192.

Builds DotBiasDataLoaders once, then trains one epoch (`fit_one_cycle(1, 5e-3, wd=0.1)`, 50 factors) with each path in
`--paths`, side by side in this run: `dense` = dotbias_learner(dls), `sparse` = dotbias_learner(dls, sparse=True),
`sparse-ops` = the same sparse path with its C row kernels off (FASTAI_DOTBIAS_KERNEL=0: PyTorch ops),
`sparse-grads` = the sparse path with a no-op `after_backward` callback, which keeps LazyAdam from stepping inside the
backward (sparse gradients made, then stepped by `opt.step`: the same results, the previous way).
With `--threads 1,2` each path runs with torch on 1 thread and then on 2 (`torch.set_num_threads`), the thread counts
interleaved within each repeat; the sparse path's row kernels take as many threads as torch has (at most two), and
`--threads 2:1` gives torch 2 threads and the row kernels 1 (`FASTAI_DOTBIAS_THREADS`).
Prints wall time per epoch (and per training step, and training ratings a second), final train/valid MSE, peak RSS, and
the speed ratio at each thread count.
Peak RSS is the whole process's so far: run `--paths sparse` alone for the sparse path's own memory (data + training).
With `--fastai-rows N` it then also compares fastai's CollabDataLoaders + collab_learner with ours on the first N ratings.

    OMP_NUM_THREADS=1 python tests/bench_scale.py [--rows 25000000] [--paths dense,sparse,sparse-ops] [--threads 1] [--repeat 1] [--fastai-rows 0]
"""
import argparse, os, resource, time, warnings
os.environ.setdefault('OMP_NUM_THREADS', '1')
import torch
torch.set_num_threads(1)
warnings.simplefilter('ignore')
from fastai.collab import *
from fastai.tabular.all import *
from fastai_dotbias.all import *
row_kernels()   # build (or load) the sparse path's C row kernels before anything is timed
from fastai_dotbias.synth import _draw_pairs

class AfterBackward(Callback):
    "Listens after the backward, so `DotBiasLearner` keeps the gradients (no step inside the backward)"
    def after_backward(self): pass

def rss_gb(): return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss/2**20

def ratings_like_ml25m(n, n_users=162_541, n_items=59_047, seed=0):
    "Ids and star ratings with MovieLens-like popularity (no titles, to keep memory honest)"
    rng = np.random.default_rng(seed)
    p_u = rng.pareto(2, n_users)+1; p_u /= p_u.sum()
    p_i = 1/(rng.permutation(n_items)+10.); p_i /= p_i.sum()
    u, i = _draw_pairs(n, p_u, p_i, rng)
    r = np.clip(np.rint(rng.normal(3.5, 1, n)*2)/2, 0.5, 5)
    return pd.DataFrame({'user': u+1, 'movie': i+1, 'rating': r.astype(np.float32)})

def timed(label, f):
    t = time.perf_counter(); res = f(); dt = time.perf_counter()-t
    print(f"{label:<48} {dt:8.1f} s   peak RSS {rss_gb():5.2f} GB", flush=True)
    return res, dt

def epoch(learn):
    with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(1, 5e-3, wd=0.1)
    return learn.recorder.values[-1]

def main():
    p = argparse.ArgumentParser()
    p.add_argument('--rows', type=int, default=25_000_000); p.add_argument('--fastai-rows', type=int, default=0)
    p.add_argument('--paths', default='dense,sparse,sparse-ops'); p.add_argument('--repeat', type=int, default=1)
    p.add_argument('--threads', default='1', help='comma-separated torch thread counts, e.g. 1,2; or torch:kernel pairs, e.g. 2:1')
    a = p.parse_args()
    df, _ = timed(f"generate {a.rows:,} ratings", lambda: ratings_like_ml25m(a.rows))
    dls, t_dls = timed("DotBiasDataLoaders.from_df (bs=8192)", lambda: DotBiasDataLoaders.from_df(df, bs=8192, seed=0))
    if not a.fastai_rows: del df
    print(f"{len(dls.classes['user'])-1:,} users, {len(dls.classes['movie'])-1:,} items, {len(dls.train):,} training steps per epoch")
    it = iter(dls.train); next(it); it.close()   # the loader's records and epoch memory, made and first touched before anything is timed
    times, mses, threads = {}, {}, a.threads.split(',')
    n_train = len(dls.train)*dls.train.bs
    for r in range(a.repeat):
        for th in threads:
            torch.set_num_threads(int(th.split(':')[0]))
            if ':' in th: os.environ['FASTAI_DOTBIAS_THREADS'] = th.split(':')[1]
            else: os.environ.pop('FASTAI_DOTBIAS_THREADS', None)
            for path in a.paths.split(','):
                set_seed(0); dls.train.rng.seed(0)   # every run the same initial tables and the same shuffles, so their MSEs can be compared
                if path=='sparse-ops': os.environ['FASTAI_DOTBIAS_KERNEL'] = '0'
                else: os.environ.pop('FASTAI_DOTBIAS_KERNEL', None)
                learn = dotbias_learner(dls, n_factors=50, sparse=path.startswith('sparse'), cbs=[AfterBackward()] if path=='sparse-grads' else None)
                vals, t = timed(f"{path}, threads {th}: 1 epoch", lambda: epoch(learn))
                print(f"  {1000*t/len(dls.train):.1f} ms per training step (validation included), {n_train/t/1e6:.2f} M training ratings/s; "
                      f"train/valid MSE {vals[0]:.4f} / {vals[1]:.4f}", flush=True)
                times.setdefault((path, th), []).append(t); mses.setdefault(path, set()).add(tuple(vals))
                del learn
    for th in threads:
        for path in ('sparse','sparse-ops','sparse-grads'):
            if ('dense', th) not in times or (path, th) not in times: continue
            d,s = np.median(times['dense', th]),np.median(times[path, th])
            print(f"threads {th}: {path} vs dense, same run: {d/s:.1f}x faster per epoch ({d:.1f} s vs {s:.1f} s, median of {a.repeat}); "
                  f"{path} {n_train/s/1e6:.2f} M training ratings/s")
        if ('sparse', th) in times and ('sparse-grads', th) in times:
            g,s = np.median(times['sparse-grads', th]),np.median(times['sparse', th])
            print(f"threads {th}: the step inside the backward (sparse) vs gradients then opt.step (sparse-grads): {g/s:.2f}x faster per epoch "
                  f"({g:.2f} s vs {s:.2f} s, median of {a.repeat}); the same MSEs: {mses['sparse']==mses['sparse-grads']}")
    for path in a.paths.split(','):
        if len(threads)>1 and all((path, th) in times for th in threads):
            t1,t2 = np.median(times[path, threads[0]]),np.median(times[path, threads[-1]])
            print(f"{path}: threads {threads[-1]} vs {threads[0]}: {t1/t2:.2f}x faster per epoch")
        if len(mses.get(path, ())) > 1: print(f"{path}: NOT the same train/valid MSE in every run: {sorted(mses[path])}")
        elif path in mses: print(f"{path}: the same train/valid MSE in all {len(threads)*a.repeat} runs")
    if not a.fastai_rows: return
    del dls
    small = df.iloc[:a.fastai_rows].reset_index(drop=True); del df
    dls, td = timed(f"DotBiasDataLoaders.from_df, {a.fastai_rows:,} rows", lambda: DotBiasDataLoaders.from_df(small, bs=8192, seed=0))
    _, tf = timed(f"dotbias_learner: 1 epoch, {a.fastai_rows:,} rows", lambda: epoch(dotbias_learner(dls, n_factors=50)))
    del dls
    cdls, cd = timed(f"CollabDataLoaders.from_df, {a.fastai_rows:,} rows", lambda: CollabDataLoaders.from_df(small, bs=8192, seed=0))
    _, cf = timed(f"collab_learner: 1 epoch, {a.fastai_rows:,} rows", lambda: epoch(collab_learner(cdls, n_factors=50, y_range=(0, 5.5))))
    print(f"ratio at {a.fastai_rows:,} rows: DataLoaders {cd/td:.1f}x, epoch {cf/tf:.1f}x, total {(cd+cf)/(td+tf):.1f}x faster than fastai")

if __name__ == '__main__': main()
