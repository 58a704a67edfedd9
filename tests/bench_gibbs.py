"""The Gibbs sampler, per sweep, three ways on the same DataLoaders with the same seed, side by side in one run:
`rows`, today's `gibbs` on the CPU (each row's draw in one pass of the C kernel of `fastai_dotbias.draws`); `blocks`,
the same `gibbs` with FASTAI_DOTBIAS_KERNEL=0, as it runs where nothing can be compiled (ratings laid out in blocks by
row, one batched float32 product per block, PyTorch's batched Cholesky and solves); and `reference`, the sampler as
it was before the blocks (`reference_gibbs` below: the posterior's sums taken one rating at a time with `index_add_`,
float64, and a pass over the ratings for the errors). Prints seconds per sweep, each one's test RMSE, and the ratios
and how far apart the averages' predictions are, against `rows`.

Data: MovieLens 100k's u1 split when it is in fastai's data folder, else generated ratings of the same shape.

    OMP_NUM_THREADS=1 python tests/bench_gibbs.py [--sweeps 250] [--threads 1] [--paths rows,blocks,reference]
"""
import argparse, os, time, warnings
from fastcore.xtras import modified_env
os.environ.setdefault('OMP_NUM_THREADS', '1')
import numpy as np, torch
from fastai.tabular.all import *
from fastai_dotbias.all import *
from fastai_dotbias.learner import _train_codes
from fastai_dotbias.tune import _hyper,_draw_model

def reference_draw_rows(idx, n, Y, t, mean, lam, alpha, chunk=20_000):
    "Each row drawn from its Gaussian posterior, the posterior's sums taken one rating at a time (the sampler before the blocks)"
    K = Y.shape[1]
    P = lam.expand(n, K, K).clone()
    for s in range(0, len(idx), chunk): y = Y[s:s+chunk]; P.index_add_(0, idx[s:s+chunk], alpha*y[:,:,None]*y[:,None,:])
    b = (lam@mean).expand(n, K).clone().index_add_(0, idx, alpha*Y*t[:,None])
    L = torch.linalg.cholesky(P)
    z = torch.randn(n, K, 1, dtype=Y.dtype)
    return torch.cholesky_solve(b[:,:,None], L)[:,:,0] + torch.linalg.solve_triangular(L.transpose(1,2), z, upper=True)[:,:,0]

def reference_gibbs(dls, sweeps=250, n_factors=30, seed=0):
    "`gibbs(dls, sweeps, n_factors, seed=seed)` as it was computed before the blocks"
    burn = sweeps//5; keep = min(100, sweeps-burn)
    codes,r = _train_codes(dls)
    classes,user,item = dls.classes,*dls.train_ds.cat_names[:2]
    dt,D = torch.float64,n_factors
    u,i,r = torch.as_tensor(codes[:,0]),torch.as_tensor(codes[:,1]),torch.as_tensor(r, dtype=dt)
    n_u,n_i,mu = len(classes[user]),len(classes[item]),r.mean()
    torch.manual_seed(seed)
    U,V = torch.randn(n_u, D+1, dtype=dt)*0.1,torch.randn(n_i, D+1, dtype=dt)*0.1
    one,a = torch.ones(len(r), 1, dtype=dt),2.
    at = set(np.linspace(burn, sweeps-1, keep).round().astype(int).tolist())
    models = []
    for s in range(sweeps):
        (mU,lU),(mV,lV) = _hyper(U),_hyper(V)
        U = reference_draw_rows(u, n_u, torch.cat([V[i,:D], one], 1), r-mu-V[i,D], mU, lU, a)
        V = reference_draw_rows(i, n_i, torch.cat([U[u,:D], one], 1), r-mu-U[u,D], mV, lV, a)
        err = r - mu - (U[u,:D]*V[i,:D]).sum(1) - U[u,D] - V[i,D]
        a = torch.distributions.Gamma(1+len(r)/2, 1+(err**2).sum()/2).sample().item()
        if s in at: models.append(_draw_model(U, V, mu, classes, user, item))
    return DotBiasEnsemble(models)

def data():
    warnings.filterwarnings('ignore', message=r'\d+ rows repeat a \(user, title\) pair')
    if (fastai_path('data')/'ml-100k'/'u1.base').exists(): return 'MovieLens 100k, u1',*movielens_100k_split('u1')
    r = synth_ratings(n_users=943, n_items=1682, n_ratings=100_000, n_factors=8, seed=0)
    trn,tst = r.iloc[:80_000],r.iloc[80_000:]
    return 'generated ratings of MovieLens 100k\'s shape (943 x 1682, 80,000 training)',trn,tst[tst.user.isin(trn.user) & tst.title.isin(trn.title)]

def main():
    p = argparse.ArgumentParser(); p.add_argument('--sweeps', type=int, default=250); p.add_argument('--threads', type=int, default=1)
    p.add_argument('--paths', default='rows,blocks,reference'); a = p.parse_args()
    torch.set_num_threads(a.threads)
    name,trn,tst = data()
    dls = DotBiasDataLoaders.from_dfs(trn, tst, item_name='title', bs=512, seed=0)
    print(f"{name}: {len(trn):,} training ratings, {a.sweeps} sweeps of 30 factors, torch threads {torch.get_num_threads()}")
    res = {}
    def blocks():
        with modified_env(FASTAI_DOTBIAS_KERNEL='0'): return gibbs(dls, sweeps=a.sweeps, seed=0)
    paths = dict(rows=lambda: gibbs(dls, sweeps=a.sweeps, seed=0), blocks=blocks, reference=lambda: reference_gibbs(dls, sweeps=a.sweeps, seed=0))
    if draw_kernels() is None: print("note: the row draws' C kernel did not build here, so `rows` is PyTorch's batched solves too")
    gibbs(dls, sweeps=2, seed=0)   # untimed: PyTorch's first draws of its distributions take ~0.4 s once, whichever path comes first
    for k in a.paths.split(','):
        t = time.perf_counter(); ens = paths[k]()
        el = time.perf_counter()-t
        learn = DotBiasLearner(dls, ens, loss_func=MSELossFlat())
        with learn.no_bar(): preds = learn.get_preds(dl=learn.dls.test_dl(tst))[0].view(-1)
        res[k] = el,evaluate(learn, tst)['RMSE'],preds
        print(f"{k:<10} {el/a.sweeps:.4f} s/sweep ({el:.1f} s in all), {len(ens.models)} draws kept, test RMSE {res[k][1]:.4f}", flush=True)
    if 'rows' not in res: return
    tb,rb,pb = res['rows']
    for k,(tr,rr,pr) in res.items():
        if k!='rows': print(f"rows vs {k}: {tr/tb:.1f}x faster per sweep; RMSE {rb:.4f} vs {rr:.4f} (difference {rb-rr:+.5f}); "
                            f"the two averages' predictions differ by {(pb-pr).abs().mean():.2e} on average, {(pb-pr).abs().max():.2e} at most")

if __name__ == '__main__': main()
