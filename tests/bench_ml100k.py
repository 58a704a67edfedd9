"""Benchmark: the book's recipe with fastai's collab_learner + CollabDataLoaders (a) against dotbias_learner + DotBiasDataLoaders (b).

Same data, same split (fastai's RandomSplitter with the same seed), run side by side, one split after another.
Data: MovieLens 100k when fastai's data folder has it (untar_data(URLs.ML_100k) without a download), else generated
MovieLens-shaped ratings (943 users, 1682 items, 100k ratings). Prints seconds per epoch, the ratio, and final train/valid MSE.

    OMP_NUM_THREADS=1 python tests/bench_ml100k.py [--splits 3] [--epochs 5]
"""
import argparse, os, time, warnings
os.environ.setdefault('OMP_NUM_THREADS', '1')
import torch
torch.set_num_threads(1)
warnings.simplefilter('ignore')
from fastai.collab import *
from fastai.tabular.all import *
from fastai_dotbias.all import *

def fit(learn, epochs):
    t = time.perf_counter()
    with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(epochs, 5e-3, wd=0.1)
    return (time.perf_counter()-t)/epochs, learn.recorder.values[-1]

def main():
    p = argparse.ArgumentParser()
    p.add_argument('--splits', type=int, default=3); p.add_argument('--epochs', type=int, default=5)
    args = p.parse_args()
    d = fastai_path('data')/'ml-100k'
    if (d/'u.data').exists(): ratings, name = movielens_100k(), f'MovieLens 100k ({d})'
    else: ratings, name = synth_ratings(n_users=943, n_items=1682, n_ratings=100_000, seed=0), 'generated (943 users, 1682 items, 100k ratings)'
    print(f"Data: {name}; recipe: bs=64, n_factors=50, y_range=(0,5.5), fit_one_cycle({args.epochs}, 5e-3, wd=0.1), 1 torch thread")
    print(f"{'split':>5} {'(a) s/epoch':>12} {'(b) s/epoch':>12} {'ratio':>6} {'(a) train':>10} {'(a) valid':>10} {'(b) train':>10} {'(b) valid':>10}")
    rows = []
    for split in range(args.splits):
        set_seed(split)
        cdls = CollabDataLoaders.from_df(ratings, item_name='title', bs=64, seed=split)
        ta, (tra, va) = fit(collab_learner(cdls, n_factors=50, y_range=(0, 5.5)), args.epochs)
        set_seed(split)
        dls = DotBiasDataLoaders.from_df(ratings, item_name='title', bs=64, seed=split)
        tb, (trb, vb) = fit(dotbias_learner(dls, n_factors=50, y_range=(0, 5.5)), args.epochs)
        rows.append((ta, tb, ta/tb, tra, va, trb, vb))
        print(f"{split:>5} {ta:>12.2f} {tb:>12.2f} {ta/tb:>5.2f}x {tra:>10.4f} {va:>10.4f} {trb:>10.4f} {vb:>10.4f}", flush=True)
    m = np.array(rows).mean(0)
    print(f"{'mean':>5} {m[0]:>12.2f} {m[1]:>12.2f} {m[2]:>5.2f}x {m[3]:>10.4f} {m[4]:>10.4f} {m[5]:>10.4f} {m[6]:>10.4f}")

if __name__ == '__main__': main()
