"""The device check: what a maintainer runs on a GPU machine (Colab, Kaggle, a workstation) in about 5 minutes, and CI-free
machines run on the CPU. It uses the device fastai picks (`default_device()`: the first GPU when PyTorch sees one) and checks:

1. placement: the loaders' batches and the model (dense and sparse) are on that device after `fit`;
2. same seed, same run: two dense and two sparse fits from one seed end with bitwise-equal tables (on CUDA with
   `torch.use_deterministic_algorithms`, as `train --seed` sets it);
3. export on the device, load in a CPU-only process (`CUDA_VISIBLE_DEVICES=`): `load_learner` and `DotBiasScorer` give the
   predictions and top-10 lists the device gave; top-10 lists for every user ranked on the device equal the CPU's;
4. the command: `train --device auto` says where it runs; `--nproc` with more processes than GPUs is refused with one line
   (on GPUs), or runs on the CPU with gloo (`--device cpu`);
5. Gibbs sampling on the device: `gibbs(dls)` samples where the loaders are; the test RMSE of its draws is within noise
   of the same sampler's on the CPU, and its seconds per sweep are printed next to the CPU's;
6. dense against sparse seconds per epoch at `--rows` ratings (default 5M on a GPU, 1M on the CPU), bs 8192.

Each check prints `PASS` or `FAIL` and a line of numbers; the exit status is the number of failures.

    python tests/device_check.py [--rows N]
"""
import argparse, os, subprocess, sys, tempfile, time, warnings
from pathlib import Path
from types import SimpleNamespace
warnings.simplefilter('ignore')
import numpy as np, torch, fastai
from fastai.tabular.all import *
from fastai_dotbias.all import *
from fastai_dotbias.commands import _use_device

fails = 0
def check(name, ok, info=''):
    global fails
    fails += not ok
    print(f"{'PASS' if ok else 'FAIL'}  {name}: {info}", flush=True)

def cli(*args, env=None):
    return subprocess.run([sys.executable, '-m', 'fastai_dotbias', *map(str, args)], capture_output=True, text=True, timeout=600, env={**os.environ, **(env or {})})

def fit(ratings, sparse, seed=0, epochs=1, bs=256, n_factors=16):
    set_seed(seed)
    dls = DotBiasDataLoaders.from_df(ratings, item_name='title', bs=bs, seed=seed)
    learn = dotbias_learner(dls, n_factors=n_factors, sparse=sparse)
    t = time.perf_counter()
    with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(epochs, 5e-3, wd=0.1)
    return learn, (time.perf_counter()-t)/epochs

def main():
    p = argparse.ArgumentParser(); p.add_argument('--rows', type=int, default=None); a = p.parse_args()
    dev = _use_device(SimpleNamespace(device='auto', seed=0))   # prints the Device line; deterministic algorithms on CUDA
    gpus = torch.cuda.device_count() if dev.type=='cuda' else 0
    print(f"torch {torch.__version__}, fastai {fastai.__version__}, {gpus} GPU(s) visible", flush=True)
    r = synth_ratings(n_users=600, n_items=800, n_ratings=40_000, seed=0)

    # 1. placement
    for sparse in (False, True):
        learn,_ = fit(r, sparse)
        xb,yb = learn.dls.one_batch()
        devs = {xb.device.type, yb.device.type, *(q.device.type for q in learn.model.parameters())}
        check(f"placement ({'sparse' if sparse else 'dense'})", devs=={dev.type}, f"batches and tables on {sorted(devs)}, expected {dev.type}")

    # 2. same seed, same run
    for sparse in (False, True):
        (l1,_),(l2,_) = fit(r, sparse, seed=3),fit(r, sparse, seed=3)
        same = all(torch.equal(x, y) for x,y in zip(l1.model.parameters(), l2.model.parameters()))
        diff = max(float((x-y).abs().max()) for x,y in zip(l1.model.parameters(), l2.model.parameters()))
        check(f"same seed twice ({'sparse' if sparse else 'dense'})", same, f"largest difference between the two runs' tables {diff:.3g}")

    # 3. export on the device, load on a CPU-only process
    learn,_ = fit(r, False)
    d = Path(tempfile.mkdtemp()); learn.path = d
    learn.export('m.pkl'); learn.export_factors('m.npz')
    probe = r.iloc[:50]
    with learn.no_bar(): preds = learn.get_preds(dl=learn.dls.test_dl(probe))[0].view(-1).cpu().numpy()
    top = BiasInterpretation.from_learner(learn).top_k(10, users=[1, 2, 3]).title.tolist()
    probe.to_csv(d/'probe.csv', index=False)
    code = (f"import numpy as np, pandas as pd, torch, json\nfrom fastai.learner import load_learner\nfrom fastai_dotbias.all import *\n"
            f"l = load_learner({str(d/'m.pkl')!r}); df = pd.read_csv({str(d/'probe.csv')!r})\n"
            f"p = l.get_preds(dl=l.dls.test_dl(df))[0].view(-1).numpy(); s = DotBiasScorer.load({str(d/'m.npz')!r})\n"
            f"print(json.dumps(dict(cuda=torch.cuda.is_available(), dev=str(next(l.model.parameters()).device), preds=p.tolist(), top=list(s.top_k(10, users=[1, 2, 3])['title']))))")
    res = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, env={**os.environ, 'CUDA_VISIBLE_DEVICES': ''}, timeout=300)
    if res.returncode: check("export here, load on a CPU-only process", False, res.stderr.strip().splitlines()[-1])
    else:
        import json; o = json.loads(res.stdout.strip().splitlines()[-1])
        err = float(np.abs(np.array(o['preds'])-preds).max())
        check("export here, load on a CPU-only process", not o['cuda'] and o['dev']=='cpu' and err < 1e-4 and o['top']==top,
              f"the loader saw CUDA: {o['cuda']}, model on {o['dev']}, largest prediction difference {err:.2g}, top-10 lists equal: {o['top']==top}")

    # 3b. top-N for every user where the model is, against the CPU
    interp = BiasInterpretation.from_learner(learn)
    out = {}
    for where in dict.fromkeys([dev.type, 'cpu']):
        t = time.perf_counter(); _,items,scores = interp.top_k(10, as_frame=False, device=where); out[where] = time.perf_counter()-t,items,scores
    (t1,i1,s1),(t0,i0,s0) = out[dev.type],out['cpu']
    same,err = float((i1==i0).float().mean()),float((s1-s0).abs().max())
    check(f"top-10 for every user on {dev.type}", same > 0.99 and err < 1e-4 and i1.device.type=='cpu',
          f"{same:.1%} of the lists' entries equal the CPU's, largest score difference {err:.2g}; {t1:.3f} s vs {t0:.3f} s on the CPU")

    # 4. the command
    res = cli('train', '--data', 'sample', '--epochs', '1', '--seed', '0', '--device', 'auto')
    first = res.stdout.splitlines()[0] if res.stdout else res.stderr
    check("train --device auto says where", res.returncode==0 and first.startswith(f"Device: {dev.type}"), first)
    if gpus:
        res = cli('train', '--data', 'sample', '--epochs', '1', '--nproc', gpus+1)
        check(f"--nproc {gpus+1} on {gpus} GPU(s) is refused", res.returncode==2 and res.stderr.count('\n')==1 and 'one process per GPU' in res.stderr, res.stderr.strip())
    t = time.perf_counter()
    res = cli('train', '--data', 'sample', '--epochs', '1', '--seed', '0', '--nproc', '2', '--device', 'cpu', env={'OMP_NUM_THREADS': '1'})
    check("--nproc 2 --device cpu (gloo)", res.returncode==0 and 'Data parallel: 2 processes' in res.stdout, f"exit {res.returncode} in {time.perf_counter()-t:.0f} s; " + (res.stderr.strip().splitlines() or [''])[-1][:120])

    # 5. Gibbs sampling on the device, against the CPU
    trn,tst = r.iloc[:32_000],r.iloc[32_000:]
    dls = DotBiasDataLoaders.from_dfs(trn, tst, item_name='title', bs=512, seed=0)
    out = {}
    for where in ([dev.type, 'cpu'] if dev.type!='cpu' else ['cpu']):
        t = time.perf_counter(); ens = gibbs(dls, sweeps=60, n_factors=10, seed=0, device=where); el = (time.perf_counter()-t)/60
        learn = DotBiasLearner(dls, ens, loss_func=MSELossFlat())
        out[where] = el,evaluate(learn, tst)['RMSE'],{p.device.type for p in ens.parameters()}
    (el,rmse,devs),(elc,rmsec,_) = out[dev.type],out['cpu']
    check(f"gibbs on {dev.type}", abs(rmse-rmsec) < 0.01 and devs=={'cpu'},
          f"test RMSE {rmse:.4f} ({dev.type}) vs {rmsec:.4f} (cpu); {el:.4f} vs {elc:.4f} s per sweep; draws kept on {sorted(devs)}")

    # 6. dense against sparse
    n = a.rows or (5_000_000 if gpus else 1_000_000)
    big = synth_ratings(n_users=max(1000, n//100), n_items=max(1000, n//400), n_ratings=n, seed=1)
    _,td = fit(big, False, bs=8192, n_factors=50)
    _,ts = fit(big, True, bs=8192, n_factors=50)
    print(f"INFO  dense vs sparse at {n:,} ratings, bs 8192, 50 factors, on {dev}: {td:.2f} s/epoch dense, {ts:.2f} s/epoch sparse ({td/ts:.1f}x)", flush=True)
    print(f"{fails} check(s) failed" if fails else "all checks passed")
    sys.exit(fails)

if __name__ == '__main__': main()
