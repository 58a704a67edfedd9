"""Benchmark: the book's recipe on MovieLens 100k (or MovieLens-shaped generated ratings), one epoch of `fit_one_cycle`,
with the per-batch bookkeeping run three ways, interleaved for `--rounds` rounds:

- fastai: fastai's own `ParamScheduler`, `Recorder`, `TrainEvalCallback`, `CastToTensor` and `Learner._set_device`
  (subclasses, which `DotBiasLearner.fit` leaves alone);
- quick: what `DotBiasLearner.fit` runs (`QuickScheduler`, `QuickRecorder`, `QuickTrainEval`, `QuickCast`, its `_set_device`);
- bare: the loop with nothing around the model (forward, loss, backward, `FusedAdam` step, `zero_grad`; validation
  losses), the floor that bookkeeping can approach.

Prints seconds per epoch (median and fastest), the ratios, the share of `quick` above `bare`, and whether fastai and quick
ended with the same tables, bit for bit.

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

class FastaiScheduler(ParamScheduler): name = 'param_scheduler'   # not exactly fastai's classes: they run as fastai's
class FastaiRecorder(Recorder): name = 'recorder'
class FastaiTrainEval(TrainEvalCallback): name = 'train_eval'
class FastaiCast(CastToTensor): name = 'cast_to_tensor'
class FastaiDevice(DotBiasLearner): _set_device = Learner._set_device

def learner(dls, cls=DotBiasLearner):
    return cls(dls, DotProductBias(len(dls.classes['user']), len(dls.classes['title']), 50, y_range=(0, 5.5)), loss_func=MSELossFlat(), opt_func=FusedAdam)

def epoch(ratings, how):
    set_seed(0)
    dls = DotBiasDataLoaders.from_df(ratings, item_name='title', bs=64, seed=0)
    learn = learner(dls, FastaiDevice if how=='fastai' else DotBiasLearner)
    if how=='fastai':
        learn.remove_cbs([learn.train_eval, learn.recorder, learn.cast_to_tensor])
        learn.add_cbs([FastaiTrainEval(), FastaiRecorder(), FastaiCast()])
    if how=='bare': return bare(learn)
    t = time.perf_counter()
    with learn.no_bar(), learn.no_logging():
        if how=='quick': learn.fit_one_cycle(1, 5e-3, wd=0.1)
        else:
            lr_max = np.array([5e-3])
            learn.fit(1, wd=0.1, cbs=FastaiScheduler({'lr': combined_cos(0.25, lr_max/25, lr_max, lr_max/1e5), 'mom': combined_cos(0.25, 0.95, 0.85, 0.95)}))
    return time.perf_counter()-t, [p.detach().clone() for p in learn.model.parameters()]

def bare(learn):
    m,lf = learn.model,MSELossFlat()
    opt = FusedAdam(list(m.parameters()), lr=5e-3, wd=0.1)
    t = time.perf_counter()
    m.train()
    for x,y in learn.dls.train: loss = lf(m(x), y); loss.backward(); opt.step(); opt.zero_grad()
    m.eval()
    with torch.no_grad():
        for x,y in learn.dls.valid: lf(m(x), y)
    return time.perf_counter()-t, None

def main():
    p = argparse.ArgumentParser(); p.add_argument('--rounds', type=int, default=8); a = p.parse_args()
    d = fastai_path('data')/'ml-100k'
    if (d/'u.data').exists(): ratings, name = movielens_100k(), 'MovieLens 100k'
    else: ratings, name = synth_ratings(n_users=943, n_items=1682, n_ratings=100_000, seed=0), 'generated (943 users, 1682 items, 100k ratings)'
    print(f"Data: {name}; the book's recipe, one epoch of fit_one_cycle(1, 5e-3, wd=0.1), bs=64, 1 torch thread, {a.rounds} interleaved rounds")
    ts,ps = {k: [] for k in ('fastai', 'quick', 'bare')},{}
    for _ in range(a.rounds):
        for how in ts: t,ps[how] = epoch(ratings, how); ts[how].append(t)
    same = all(torch.equal(x, y) for x,y in zip(ps['fastai'], ps['quick']))
    med,fast = {k: statistics.median(v) for k,v in ts.items()},{k: min(v) for k,v in ts.items()}
    for k,v in ts.items(): print(f"{k:<7} median {med[k]:.3f} s/epoch, fastest {fast[k]:.3f}  (rounds: {', '.join(f'{x:.2f}' for x in v)})")
    print(f"fastai / quick: median {med['fastai']/med['quick']:.2f}x, fastest {fast['fastai']/fast['quick']:.2f}x; same tables at the end: {same}")
    print(f"quick above bare: {med['quick']/med['bare']-1:.1%} of bare's time (fastai: {med['fastai']/med['bare']-1:.1%})")

if __name__ == '__main__': main()
