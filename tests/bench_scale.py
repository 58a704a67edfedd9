"""Scale benchmark: ml-25m-shaped generated ratings (162,541 users, 59,047 items). Builds the DataLoaders and trains one
epoch at bs=8192 with dotbias_learner + DotBiasDataLoaders, printing wall times and peak RSS; then does the same with
fastai's CollabDataLoaders + collab_learner on the first `--fastai-rows` ratings, and ours on those rows, for the ratio.

    OMP_NUM_THREADS=1 python tests/bench_scale.py [--rows 25000000] [--fastai-rows 5000000]
"""
import argparse, os, resource, time, warnings
os.environ.setdefault('OMP_NUM_THREADS', '1')
import torch
torch.set_num_threads(1)
warnings.simplefilter('ignore')
from fastai.collab import *
from fastai.tabular.all import *
from fastai_dotbias.all import *
from fastai_dotbias.synth import _draw_pairs

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
    p.add_argument('--rows', type=int, default=25_000_000); p.add_argument('--fastai-rows', type=int, default=5_000_000)
    a = p.parse_args()
    df, _ = timed(f"generate {a.rows:,} ratings", lambda: ratings_like_ml25m(a.rows))
    dls, t_dls = timed("DotBiasDataLoaders.from_df (bs=8192)", lambda: DotBiasDataLoaders.from_df(df, bs=8192, seed=0))
    vals, t_fit = timed("dotbias_learner: 1 epoch", lambda: epoch(dotbias_learner(dls, n_factors=50)))
    print(f"  train/valid MSE {vals[0]:.4f} / {vals[1]:.4f}")
    del dls
    small = df.iloc[:a.fastai_rows].reset_index(drop=True); del df
    dls, td = timed(f"DotBiasDataLoaders.from_df, {a.fastai_rows:,} rows", lambda: DotBiasDataLoaders.from_df(small, bs=8192, seed=0))
    _, tf = timed(f"dotbias_learner: 1 epoch, {a.fastai_rows:,} rows", lambda: epoch(dotbias_learner(dls, n_factors=50)))
    del dls
    cdls, cd = timed(f"CollabDataLoaders.from_df, {a.fastai_rows:,} rows", lambda: CollabDataLoaders.from_df(small, bs=8192, seed=0))
    _, cf = timed(f"collab_learner: 1 epoch, {a.fastai_rows:,} rows", lambda: epoch(collab_learner(cdls, n_factors=50, y_range=(0, 5.5))))
    print(f"ratio at {a.fastai_rows:,} rows: DataLoaders {cd/td:.1f}x, epoch {cf/tf:.1f}x, total {(cd+cf)/(td+tf):.1f}x faster than fastai")

if __name__ == '__main__': main()
