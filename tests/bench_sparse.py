"""Dense against sparse on MovieLens 100k with the book's recipe: dotbias_learner(dls) and dotbias_learner(dls, sparse=True),
bs=64, n_factors=50, y_range=(0,5.5), fit_one_cycle(5, 5e-3, wd=0.1), the same split and seed for both, side by side,
one split after another (MovieLens 100k from fastai's data folder when there, else generated data of the same shape).
Prints seconds per epoch, their ratio, and final train/valid MSE for each path; `--sparse-lr/--sparse-wd` retune the sparse side.

    OMP_NUM_THREADS=1 python tests/bench_sparse.py [--splits 3] [--epochs 5] [--sparse-lr 5e-3] [--sparse-wd 0.1]
"""
import argparse, os, time, warnings
os.environ.setdefault('OMP_NUM_THREADS', '1')
import torch
torch.set_num_threads(1)
warnings.simplefilter('ignore')
from fastai.tabular.all import *
from fastai_dotbias.all import *
row_kernels()   # build (or load) the sparse path's C row kernels before anything is timed

def fit(ratings, split, epochs, sparse, lr, wd):
    set_seed(split)
    dls = DotBiasDataLoaders.from_df(ratings, item_name='title', bs=64, seed=split)
    learn = dotbias_learner(dls, n_factors=50, y_range=(0,5.5), sparse=sparse)
    t = time.perf_counter()
    with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(epochs, lr, wd=wd)
    return (time.perf_counter()-t)/epochs, learn.recorder.values[-1]

def main():
    p = argparse.ArgumentParser()
    p.add_argument('--splits', type=int, default=3); p.add_argument('--epochs', type=int, default=5)
    p.add_argument('--sparse-lr', type=float, default=5e-3); p.add_argument('--sparse-wd', type=float, default=0.1)
    a = p.parse_args()
    d = fastai_path('data')/'ml-100k'
    if (d/'u.data').exists(): ratings, name = movielens_100k(), 'MovieLens 100k'
    else: ratings, name = synth_ratings(n_users=943, n_items=1682, n_ratings=100_000, seed=0), 'generated (943 users, 1682 items, 100k ratings)'
    print(f"Data: {name}; bs=64, n_factors=50, fit_one_cycle({a.epochs}, ...), 1 torch thread; dense: lr 5e-3, wd 0.1; sparse: lr {a.sparse_lr}, wd {a.sparse_wd}")
    print(f"{'split':>5} {'dense s/ep':>10} {'sparse s/ep':>11} {'speed':>6} {'dense train':>11} {'dense valid':>11} {'sparse train':>12} {'sparse valid':>12} {'diff':>7}")
    rows = []
    for split in range(a.splits):
        td, (trd, vd) = fit(ratings, split, a.epochs, False, 5e-3, 0.1)
        ts, (trs, vs) = fit(ratings, split, a.epochs, True, a.sparse_lr, a.sparse_wd)
        rows.append((td, ts, td/ts, trd, vd, trs, vs, vs-vd))
        print(f"{split:>5} {td:>10.2f} {ts:>11.2f} {td/ts:>5.2f}x {trd:>11.4f} {vd:>11.4f} {trs:>12.4f} {vs:>12.4f} {vs-vd:>+7.4f}", flush=True)
    m = np.array(rows).mean(0)
    print(f"{'mean':>5} {m[0]:>10.2f} {m[1]:>11.2f} {m[2]:>5.2f}x {m[3]:>11.4f} {m[4]:>11.4f} {m[5]:>12.4f} {m[6]:>12.4f} {m[7]:>+7.4f}")

if __name__ == '__main__': main()
