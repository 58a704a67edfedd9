"""Benchmark: MovieLens 100k's canonical folds, ours next to Surprise, side by side in one run.

For each of the splits asked for (u1..u5, ua, ub), trains and tests, and prints RMSE, MAE and wall seconds:
  book       `fastai-dotbias evaluate --split uN` (the book's recipe)
  tuned      `fastai-dotbias evaluate --split uN --tune T` (tuned on an inner split of uN.base only)
  ensemble   `fastai-dotbias evaluate --split uN --tune T --ensemble K`
  SVD, SVD++ scikit-surprise's defaults (`random_state=0`), fit on uN.base, tested on uN.test
Peers run in their own virtual environment (`--peers`, a Python with scikit-surprise); the package does not depend on them.
MovieLens 100k must be in fastai's data folder (`untar_data(URLs.ML_100k)`); it is never copied into the repository.

    python tests/bench_peers_ml100k.py --ours .venv/bin/fastai-dotbias --peers /path/to/venv/bin/python [--splits u1,u2] [--tune 40] [--ensemble 8]
"""
import argparse, json, os, re, statistics as st, subprocess, sys, time
from pathlib import Path

_surprise = r'''
import json, sys, time
from surprise import Dataset, Reader, SVD, SVDpp, accuracy
from surprise.model_selection import PredefinedKFold
folder, split = sys.argv[1], sys.argv[2]
reader = Reader(line_format='user item rating timestamp', sep='\t', rating_scale=(1, 5))
data = Dataset.load_from_folds([(f'{folder}/{split}.base', f'{folder}/{split}.test')], reader)
(trainset, testset), = PredefinedKFold().split(data)
for name, algo in (('SVD', SVD(random_state=0)), ('SVD++', SVDpp(random_state=0))):
    t = time.time(); algo.fit(trainset); preds = algo.test(testset)
    print(json.dumps(dict(method=name, RMSE=accuracy.rmse(preds, verbose=False), MAE=accuracy.mae(preds, verbose=False), seconds=time.time()-t)), flush=True)
'''

def ours(cli, split, *extra):
    env = {**os.environ, 'OMP_NUM_THREADS': '1', 'PYTHONWARNINGS': 'ignore'}
    t = time.time()
    out = subprocess.run([cli, 'evaluate', '--data', 'ml-100k', '--split', split, *map(str, extra)], capture_output=True, text=True, env=env)
    if out.returncode: sys.exit(out.stderr)
    line = out.stdout.strip().splitlines()[-1]
    return dict(RMSE=float(re.search(r'RMSE (\S+)', line)[1]), MAE=float(re.search(r'MAE (\S+)', line)[1]), seconds=time.time()-t)

def main():
    p = argparse.ArgumentParser()
    p.add_argument('--ours', required=True); p.add_argument('--peers', required=True)
    p.add_argument('--splits', default='u1,u2,u3,u4,u5'); p.add_argument('--tune', type=int, default=40); p.add_argument('--ensemble', type=int, default=8)
    a = p.parse_args()
    home = Path(os.environ.get('FASTAI_HOME', Path.home()/'.fastai'))
    folder = home/'data'/'ml-100k'
    if not (folder/'u1.base').exists(): sys.exit(f"MovieLens 100k is not in {folder}: put the extracted folder there (fastai's untar_data(URLs.ML_100k) does).")
    rows = []
    print(f"{'split':<6} {'method':<28} {'RMSE':>7} {'MAE':>7} {'seconds':>8}", flush=True)
    variants = [('book recipe', []), (f'tuned ({a.tune} trials)', ['--tune', a.tune]), (f'tuned, ensemble of {a.ensemble}', ['--tune', a.tune, '--ensemble', a.ensemble])]
    for split in a.splits.split(','):
        for name, extra in variants:
            rows.append(dict(split=split, method=name, **ours(a.ours, split, *extra)))
            print(f"{split:<6} {name:<28} {rows[-1]['RMSE']:>7.4f} {rows[-1]['MAE']:>7.4f} {rows[-1]['seconds']:>8.1f}", flush=True)
        out = subprocess.run([a.peers, '-c', _surprise, str(folder), split], capture_output=True, text=True, check=True).stdout
        for l in out.strip().splitlines():
            r = json.loads(l); rows.append(dict(split=split, **r))
            print(f"{split:<6} {'Surprise '+r['method']:<28} {r['RMSE']:>7.4f} {r['MAE']:>7.4f} {r['seconds']:>8.1f}", flush=True)
    splits = a.splits.split(',')
    if len(splits) > 1:
        for m in dict.fromkeys(r['method'] for r in rows):
            rs = [r for r in rows if r['method']==m]
            f = lambda k: f"{st.mean(r[k] for r in rs):.4f} ± {st.stdev(r[k] for r in rs):.4f}"
            print(f"{'mean':<6} {('Surprise '+m) if m in ('SVD','SVD++') else m:<28} RMSE {f('RMSE')}  MAE {f('MAE')}  seconds {st.mean(r['seconds'] for r in rs):.1f}")

if __name__ == '__main__': main()
