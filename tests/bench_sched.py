"""Benchmark: the book's recipe on MovieLens 100k (or MovieLens-shaped generated ratings) with `fit_one_cycle`'s schedule
run by `QuickScheduler` (what `DotBiasLearner.fit` uses) against fastai's `ParamScheduler` (a subclass of it, which
`DotBiasLearner.fit` leaves alone), one epoch each, interleaved for `--rounds` rounds; prints seconds per epoch (median and
fastest of each), the ratio, and that both ended with the same tables.

    OMP_NUM_THREADS=1 python tests/bench_sched.py [--rounds 8]
"""
import argparse, os, statistics, time, warnings
os.environ.setdefault('OMP_NUM_THREADS', '1')
import torch
torch.set_num_threads(1)
warnings.simplefilter('ignore')
from fastai.collab import *
from fastai.tabular.all import *
from fastai_dotbias.all import *

class FastaiScheduler(ParamScheduler): pass   # not exactly ParamScheduler: runs as fastai's

def epoch(ratings, quick):
    set_seed(0)
    dls = DotBiasDataLoaders.from_df(ratings, item_name='title', bs=64, seed=0)
    learn = dotbias_learner(dls, n_factors=50, y_range=(0, 5.5))
    t = time.perf_counter()
    with learn.no_bar(), learn.no_logging():
        if quick: learn.fit_one_cycle(1, 5e-3, wd=0.1)
        else:
            lr_max = np.array([5e-3])
            learn.fit(1, wd=0.1, cbs=FastaiScheduler({'lr': combined_cos(0.25, lr_max/25, lr_max, lr_max/1e5), 'mom': combined_cos(0.25, 0.95, 0.85, 0.95)}))
    return time.perf_counter()-t, [p.detach().clone() for p in learn.model.parameters()]

def main():
    p = argparse.ArgumentParser(); p.add_argument('--rounds', type=int, default=8); a = p.parse_args()
    d = fastai_path('data')/'ml-100k'
    if (d/'u.data').exists(): ratings, name = movielens_100k(), 'MovieLens 100k'
    else: ratings, name = synth_ratings(n_users=943, n_items=1682, n_ratings=100_000, seed=0), 'generated (943 users, 1682 items, 100k ratings)'
    print(f"Data: {name}; the book's recipe, one epoch of fit_one_cycle(1, 5e-3, wd=0.1), bs=64, 1 torch thread, {a.rounds} interleaved rounds")
    ts = {True: [], False: []}
    for _ in range(a.rounds):
        for quick in (False, True):
            t, ps = epoch(ratings, quick); ts[quick].append(t); last = ps if quick else None
            if not quick: plain = ps
        same = all(torch.equal(x, y) for x,y in zip(plain, last))
    for quick,name in ((False, "fastai's ParamScheduler"), (True, 'QuickScheduler')):
        print(f"{name:<24} median {statistics.median(ts[quick]):.3f} s/epoch, fastest {min(ts[quick]):.3f}  (rounds: {', '.join(f'{x:.2f}' for x in ts[quick])})")
    print(f"ratio (fastai's / quick): median {statistics.median(ts[False])/statistics.median(ts[True]):.2f}x, fastest {min(ts[False])/min(ts[True]):.2f}x; same tables at the end: {same}")

if __name__ == '__main__': main()
