"""One training step of the dense and the sparse path at MovieLens 100k's size and the book's batch (bs=64), without
fastai's loop: model, MSE loss, backward, optimizer step and zero_grad on 944 x 50 and 1,665 x 50 tables, random batches.
The paths are interleaved (`dense` = DotProductBias + FusedAdam with autograd's backward, `dense-one-pass` = the same with the
backward `DotBiasLearner` takes, `book_grads`: the same gradients in one pass, `dense-zeroed` = the same with fastai's
`Optimizer.zero_grad`, which zeroes the gradients where FusedAdam's drops them, `sparse` = SparseDotProductBias + LazyAdam with the row
kernels, `sparse-ops` = the same with FASTAI_DOTBIAS_KERNEL=0), each timed over 1,300 steps after 200 warm-up steps, for
`--rounds` rounds; prints the median microseconds per step of each and the ratios.

    OMP_NUM_THREADS=1 python tests/bench_step.py [--rounds 7] [--n-factors 50] [--bs 64]
"""
import argparse, os, statistics, time
os.environ.setdefault('OMP_NUM_THREADS', '1')
import torch
torch.set_num_threads(1)
from fastai.tabular.all import *
from fastai_dotbias.all import *
from fastai_dotbias.learner import _mse_grad
from fastai_dotbias.dense import _tables
row_kernels(); dense_kernels()   # build (or load) the sparse path's C row kernels before anything is timed

def main():
    p = argparse.ArgumentParser(); p.add_argument('--rounds', type=int, default=7)
    p.add_argument('--n-factors', type=int, default=50); p.add_argument('--bs', type=int, default=64); a = p.parse_args()
    n_users,n_items,bs,k = 944,1665,a.bs,a.n_factors
    print(f"{n_users} x {k} and {n_items} x {k} tables, bs={bs}, torch threads {torch.get_num_threads()}")
    xs = [torch.stack([torch.randint(0, n_users, (bs,)), torch.randint(0, n_items, (bs,))], 1) for _ in range(200)]
    ys = [torch.rand(bs)*5 for _ in range(200)]
    loss_func = MSELossFlat()
    def run(path, n=1500, warm=200):
        if path=='sparse-ops': os.environ['FASTAI_DOTBIAS_KERNEL'] = '0'
        else: os.environ.pop('FASTAI_DOTBIAS_KERNEL', None)
        sparse = path.startswith('sparse')
        model = (SparseDotProductBias if sparse else DotProductBias)(n_users, n_items, k)
        opt = (LazyAdam if sparse else FusedAdam)(list(model.parameters()), lr=5e-3, wd=0.1)
        zero_grad = partial(Optimizer.zero_grad, opt) if path=='dense-zeroed' else opt.zero_grad
        for i in range(n):
            if i==warm: t = time.perf_counter()
            if path=='dense-one-pass':   # as `DotBiasLearner._book_backward`
                pred = model(xs[i%200]); loss = F.mse_loss(pred, ys[i%200])
                for tab,g in zip(_tables(model), book_grads(model, xs[i%200], pred, _mse_grad(pred, ys[i%200], "mean"))): tab.grad = g
            else: loss = loss_func(model(xs[i%200]), ys[i%200]); loss.backward()
            opt.step(); zero_grad()
        return (time.perf_counter()-t)/(n-warm)*1e6
    res = {o: [] for o in ('dense','dense-one-pass','dense-zeroed','sparse','sparse-ops')}
    for _ in range(a.rounds):
        for o in res: res[o].append(run(o))
    med = {o: statistics.median(v) for o,v in res.items()}
    for o,v in res.items(): print(f"{o:<12} median {med[o]:7.1f} us/step  (rounds: {', '.join(f'{x:.0f}' for x in v)})")
    print(f"dense-one-pass vs dense: {med['dense']/med['dense-one-pass']:.2f}x faster, {1-med['dense-one-pass']/med['dense']:.0%} less time per step")
    print(f"dense (gradients dropped) vs dense-zeroed: {med['dense-zeroed']/med['dense']:.2f}x faster, {1-med['dense']/med['dense-zeroed']:.0%} less time per step")
    print(f"sparse vs dense: {med['dense']/med['sparse']:.2f}x; sparse-ops vs dense: {med['dense']/med['sparse-ops']:.2f}x (above 1: faster than dense)")

if __name__ == '__main__': main()
