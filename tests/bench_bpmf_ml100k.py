"""Bayesian matrix factorisation with biases, sampled by Gibbs sampling (Salakhutdinov & Mnih 2008, the method Rendle et al. 2019
recommend as a strong baseline), on MovieLens 100k's u1..u5 split: the same dot-product-plus-biases model as `DotProductBias`
(without the sigmoid), trained by sampling instead of SGD. A reference point for what this model class reaches on u1, not part of
the package. Hyper-parameters are the paper's a-priori choices (Normal-Wishart priors with beta0=2, nu0=K, W0=I); the noise precision is
sampled too (Gamma(1, 1) prior), or fixed with `--alpha`; the factor count and the number of sweeps are set here. Predictions are the mean over the samples after `--burn`, clipped to [1, 5].
`--blend K` also trains the hand-found SGD recipe (150 factors, bs 512, lr 3e-3, wd 0.4, bias lr 1e-2, no bias decay) from K seeds
with `fit_recipe` and prints the half-and-half average of the two predictions (the weight 1/2 was chosen on inner splits of u1.base and u2.base).

    OMP_NUM_THREADS=1 python tests/bench_bpmf_ml100k.py [--split u1] [--factors 30] [--sweeps 250] [--burn 50] [--alpha 0] [--blend 8]
"""
import argparse, os, time, warnings
os.environ.setdefault('OMP_NUM_THREADS', '1')
import torch
torch.set_num_threads(1)
warnings.simplefilter('ignore')
from fastai_dotbias.all import *
from fastai_dotbias.evaluate import _preds

def hyper(X, dt):
    "A sample of the Normal-Wishart posterior's mean and precision of the rows of `X`"
    n,K = X.shape; xb = X.mean(0); S = (X-xb).T @ (X-xb) / n
    W = torch.linalg.inv(torch.eye(K, dtype=dt) + n*S + 2*n/(2+n)*torch.outer(xb, xb))
    lam = torch.distributions.Wishart(df=torch.tensor(K+n, dtype=dt), covariance_matrix=(W+W.T)/2).sample()
    cov = torch.linalg.inv((2+n)*lam)
    return torch.distributions.MultivariateNormal(n*xb/(2+n), covariance_matrix=(cov+cov.T)/2).sample(),lam

def sample_rows(idx, n, Y, t, mean, lam, alpha, chunk=20_000):
    "Each of `n` rows sampled from its Gaussian posterior given regressors `Y` and targets `t` of the ratings `idx` points to"
    K = Y.shape[1]
    P = lam.expand(n, K, K).clone()
    for s in range(0, len(idx), chunk): y = Y[s:s+chunk]; P.index_add_(0, idx[s:s+chunk], alpha*y[:,:,None]*y[:,None,:])
    b = (lam@mean).expand(n, K).clone().index_add_(0, idx, alpha*Y*t[:,None])
    L = torch.linalg.cholesky(P)
    z = torch.randn(n, K, 1, dtype=Y.dtype)
    return torch.cholesky_solve(b[:,:,None], L)[:,:,0] + torch.linalg.solve_triangular(L.transpose(1,2), z, upper=True)[:,:,0]

def rate(mu, U, V, u, i):
    "Predicted ratings of users `u` for items `i`: global mean, the two biases (last column) and the dot product of the factors"
    return mu + (U[u,:-1]*V[i,:-1]).sum(1) + U[u,-1] + V[i,-1]

def main():
    p = argparse.ArgumentParser()
    p.add_argument('--split', default='u1'); p.add_argument('--factors', type=int, default=30)
    p.add_argument('--sweeps', type=int, default=250); p.add_argument('--burn', type=int, default=50)
    p.add_argument('--alpha', type=float, default=0, help='noise precision; 0: sampled'); p.add_argument('--seed', type=int, default=0)
    p.add_argument('--blend', type=int, default=0)
    a = p.parse_args()
    if a.burn >= a.sweeps: p.error(f'--burn ({a.burn}) must be smaller than --sweeps ({a.sweeps}): no sample would be kept.')
    torch.manual_seed(a.seed)
    trn,tst = movielens_100k_split(a.split)
    users = {u:j for j,u in enumerate(sorted(set(trn.user)|set(tst.user)))}
    items = {m:j for j,m in enumerate(sorted(set(trn.title)|set(tst.title)))}
    dt,D = torch.float64,a.factors
    enc = lambda df: (torch.tensor(df.user.map(users).values), torch.tensor(df.title.map(items).values), torch.tensor(df.rating.values, dtype=dt))
    (u,i,r),(tu,ti,ty) = enc(trn),enc(tst)
    mu = r.mean()
    U,V = torch.randn(len(users), D+1, dtype=dt)*0.1,torch.randn(len(items), D+1, dtype=dt)*0.1
    one = torch.ones(len(r), 1, dtype=dt)
    acc,t0 = torch.zeros(len(ty), dtype=dt),time.perf_counter()
    rmse = lambda p: ((p-ty)**2).mean().sqrt().item()
    alpha = a.alpha or 2.
    print(f"{a.split}: {len(trn)} training ratings, {len(tst)} test; {D} factors + biases, noise precision {a.alpha or 'sampled'}, {a.sweeps} sweeps, burn-in {a.burn}")
    for s in range(a.sweeps):
        (mU,lU),(mV,lV) = hyper(U, dt),hyper(V, dt)
        U = sample_rows(u, len(users), torch.cat([V[i,:D], one], 1), r-mu-V[i,D], mU, lU, alpha)
        V = sample_rows(i, len(items), torch.cat([U[u,:D], one], 1), r-mu-U[u,D], mV, lV, alpha)
        if not a.alpha: alpha = torch.distributions.Gamma(1+len(r)/2, 1+((r - rate(mu, U, V, u, i))**2).sum()/2).sample().item()
        if s < a.burn: continue
        acc += rate(mu, U, V, tu, ti).clamp(1, 5)
        if (s+1) % 50 == 0 or s == a.sweeps-1:
            pred = acc/(s+1-a.burn)
            print(f"sweep {s+1:>4}  {a.split}.test RMSE {rmse(pred):.4f}  MAE {(pred-ty).abs().mean():.4f}  {time.perf_counter()-t0:.0f} s", flush=True)
    if not a.blend: return
    t0 = time.perf_counter()
    learn = fit_recipe(trn, tst, n_factors=150, bs=512, lr=3e-3, wd=0.4, lr_bias=1e-2, wd_bias=0., ensemble=a.blend, seed=a.seed)
    sgd = _preds(learn, tst).double()
    print(f"SGD recipe, {a.blend} seeds: {a.split}.test RMSE {rmse(sgd):.4f}  {time.perf_counter()-t0:.0f} s")
    print(f"half Gibbs samples, half SGD ensemble: {a.split}.test RMSE {rmse((pred+sgd)/2):.4f}")

if __name__ == '__main__': main()
