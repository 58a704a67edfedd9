"""Peers at scale: our sparse path against Spark MLlib ALS (pyspark, local mode) and Surprise SVD on the same generated
ratings: MovieLens 25M's shape (162,541 users x 59,047 items, MovieLens-like popularity) with a known low-rank
structure (8 true factors, biases, noise 0.5, half-star rounding), the same random 80/20 split for everyone.
Each method trains for a growing number of epochs/iterations; we report the wall time (data loading and model
building included, data generation excluded) to the first validation RMSE <= --target, the best RMSE reached, and peak
RSS (for Spark: the JVM's, read from /proc while it runs, plus the Python driver's).

Peers run in their own venv (`pip install pyspark scikit-surprise`; Java 17 for Spark); ours in the package's venv.
Each invocation runs one method and appends its result to --out; `--report` prints the table:

    OMP_NUM_THREADS=1 python tests/bench_peers_scale.py --method ours --rows 25000000
    OMP_NUM_THREADS=1 /path/to/peers-venv/bin/python tests/bench_peers_scale.py --method spark --rows 25000000
    OMP_NUM_THREADS=1 /path/to/peers-venv/bin/python tests/bench_peers_scale.py --method surprise --rows 5000000
    python tests/bench_peers_scale.py --report
"""
import argparse, json, os, resource, sys, threading, time, warnings
os.environ.setdefault('OMP_NUM_THREADS', '1')
import numpy as np, pandas as pd

def _draw_pairs(n, p_user, p_item, rng):
    "`n` distinct (user, item) pairs (the same draw as `fastai_dotbias.synth._draw_pairs`, copied so peers need no torch)"
    n_items,keys = len(p_item),np.empty(0, dtype=np.int64)
    while len(keys) < n:
        m = int((n-len(keys))*1.2) + 100
        new = rng.choice(len(p_user), m, p=p_user).astype(np.int64)*n_items + rng.choice(n_items, m, p=p_item)
        keys = np.concatenate([keys, new])
        _,first = np.unique(keys, return_index=True)
        keys = keys[np.sort(first)]
    keys = keys[:n]
    return keys//n_items, keys%n_items

def structured_ratings(n, n_users=162_541, n_items=59_047, k=8, noise=0.5, seed=0, cache='/tmp'):
    "Ratings from a known biased low-rank model, MovieLens-like popularity; cached as .npz in `cache`"
    fn = os.path.join(cache, f'peers_ratings_{n}_{seed}.npz')
    if os.path.exists(fn):
        d = np.load(fn); return pd.DataFrame({c: d[c] for c in ('user','movie','rating')})
    rng = np.random.default_rng(seed)
    p_u = rng.pareto(2, n_users)+1; p_u /= p_u.sum()
    p_i = 1/(rng.permutation(n_items)+10.); p_i /= p_i.sum()
    u,i = _draw_pairs(n, p_u, p_i, rng)
    U,V = rng.normal(0, 1, (n_users, k))/np.sqrt(k),rng.normal(0, 1, (n_items, k))/np.sqrt(k)
    bu,bi = rng.normal(0, 0.4, n_users),rng.normal(0, 0.5, n_items)
    r = np.empty(n, np.float32)
    for s in range(0, n, 1_000_000):
        e = slice(s, s+1_000_000)
        r[e] = 3.5 + bu[u[e]] + bi[i[e]] + (U[u[e]]*V[i[e]]).sum(1) + rng.normal(0, noise, len(u[e]))
    r = np.clip(np.rint(r*2)/2, 0.5, 5).astype(np.float32)
    np.savez(fn, user=u+1, movie=i+1, rating=r)
    return pd.DataFrame({'user': u+1, 'movie': i+1, 'rating': r})

def split(n, valid_pct=0.2, seed=0):
    idx = np.random.default_rng(seed).permutation(n)
    cut = int(valid_pct*n)
    return idx[cut:],idx[:cut]

def rss_gb(): return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss/2**20

def ours(df, a):
    import torch
    torch.set_num_threads(1)
    warnings.simplefilter('ignore')
    from fastai.tabular.all import set_seed, Callback
    from fastai_dotbias.all import DotBiasDataLoaders, dotbias_learner, row_kernels
    row_kernels()   # build (or load) the sparse path's C row kernels before anything is timed
    from fastai_dotbias.loader import RatingsDL, RatingsDataset
    tr,va = split(len(df))
    t0 = time.perf_counter()
    set_seed(0)
    # the same split as the peers: build the loaders on train rows, then swap in the shared validation rows
    dls = DotBiasDataLoaders.from_df(df.iloc[tr].reset_index(drop=True), valid_pct=0, bs=a.bs, seed=0, device='cpu')
    ds = dls.train_ds
    dls.loaders[1] = dls.valid.new(RatingsDataset.from_df(df.iloc[va], ds.classes, ds.cat_names, ds.y_name))
    learn = dotbias_learner(dls, n_factors=50, sparse=not a.dense)
    hist = []
    class Log(Callback):
        order = 100
        def after_epoch(self): hist.append((self.epoch+1, time.perf_counter()-t0, float(np.sqrt(self.recorder.values[-1][1]))))
    with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(a.epochs, a.lr, wd=a.wd, cbs=Log())
    return hist, rss_gb(), dict(model=f"dotbias_learner(sparse={not a.dense}), 50 factors, bs {a.bs}, fit_one_cycle({a.epochs}, {a.lr}, wd={a.wd})")

def _jvm_rss(stop, peak):
    "Poll the RSS of this process's java children (the Spark JVM) into peak[0], in GB"
    me = os.getpid()
    while not stop.is_set():
        for pid in os.listdir('/proc'):
            if not pid.isdigit(): continue
            try:
                st = open(f'/proc/{pid}/status').read()
                if f'PPid:\t{me}' in st and 'java' in open(f'/proc/{pid}/cmdline').read():
                    kb = int(st.split('VmRSS:')[1].split()[0]); peak[0] = max(peak[0], kb/2**20)
            except (OSError, IndexError, ValueError): pass
        time.sleep(0.5)

def spark(df, a):
    from pyspark.sql import SparkSession
    from pyspark.ml.recommendation import ALS
    from pyspark.ml.evaluation import RegressionEvaluator
    stop,peak = threading.Event(),[0.]
    threading.Thread(target=_jvm_rss, args=(stop, peak), daemon=True).start()
    tr,va = split(len(df))
    fns = [f'/tmp/peers_{len(df)}_{n}.csv' for n in ('train','valid')]  # Spark reads files: pandas -> Spark without pyarrow is row by row
    for fn,ix in zip(fns, (tr,va)):
        if not os.path.exists(fn): df.iloc[ix].to_csv(fn, index=False, header=False)
    t0 = time.perf_counter()
    ss = (SparkSession.builder.master('local[2]').appName('bench').config('spark.driver.memory', a.spark_mem)
          .config('spark.sql.shuffle.partitions', '4').config('spark.ui.enabled', 'false').config('spark.ui.showConsoleProgress', 'false').getOrCreate())
    ss.sparkContext.setLogLevel('ERROR')
    ss.sparkContext.setCheckpointDir('/tmp/spark-ckpt')
    to_sdf = lambda fn: ss.read.csv(fn, schema='user INT, movie INT, rating FLOAT').repartition(4).cache()
    train,valid = to_sdf(fns[0]),to_sdf(fns[1])
    train.count(); valid.count()
    t_load = time.perf_counter()-t0
    ev = RegressionEvaluator(metricName='rmse', labelCol='rating', predictionCol='prediction')
    hist = []
    for it in [int(o) for o in a.iters.split(',')]:
        t = time.perf_counter()
        als = ALS(rank=a.rank, maxIter=it, regParam=a.reg, userCol='user', itemCol='movie', ratingCol='rating',
                  coldStartStrategy='drop', seed=0, checkpointInterval=5)
        model = als.fit(train)
        rmse = ev.evaluate(model.transform(valid))
        hist.append((it, t_load + time.perf_counter()-t, rmse))
        print(f"  ALS maxIter={it}: {hist[-1][1]:.1f} s (each fit from scratch, data load included), valid RMSE {rmse:.4f}", flush=True)
        if rmse <= a.target: break
    ss.stop(); stop.set()
    return hist, rss_gb() + peak[0], dict(model=f"Spark {__import__('pyspark').__version__} ALS rank {a.rank}, regParam {a.reg}, local[2], driver memory {a.spark_mem}")

def surprise(df, a):
    from surprise import SVD, Dataset, Reader, accuracy
    tr,va = split(len(df))
    t0 = time.perf_counter()
    data = Dataset.load_from_df(df.iloc[tr], Reader(rating_scale=(0.5, 5)))
    ts = data.build_full_trainset()
    testset = list(zip(df.user.values[va], df.movie.values[va], df.rating.values[va]))
    t_load = time.perf_counter()-t0
    hist = []
    for ep in [int(o) for o in a.epochs_list.split(',')]:
        t = time.perf_counter()
        algo = SVD(n_factors=50, n_epochs=ep, random_state=0)
        algo.fit(ts)
        rmse = accuracy.rmse(algo.test(testset), verbose=False)
        hist.append((ep, t_load + time.perf_counter()-t, rmse))
        print(f"  SVD n_epochs={ep}: {hist[-1][1]:.1f} s (each fit from scratch, data load included), valid RMSE {rmse:.4f}", flush=True)
        if rmse <= a.target: break
    return hist, rss_gb(), dict(model=f"Surprise {__import__('surprise').__version__} SVD, 50 factors, defaults (lr 0.005, reg 0.02)")

def report(a):
    res = [json.loads(l) for l in open(a.out)]
    print(f"target valid RMSE {a.target}; wall time includes loading the data into each library, not generating it")
    print(f"{'method':<70} {'rows':>11} {'to target':>10} {'at':>10} {'best RMSE':>9} {'total s':>8} {'peak GB':>8}")
    for r in res:
        hit = next(((t, s) for s, t, e in r['hist'] if e <= a.target), None)
        best = min(e for *_, e in r['hist'])
        print(f"{r['model']:<70} {r['rows']:>11,} {f'{hit[0]:.1f}s' if hit else '-':>10} {('epoch/iter '+str(hit[1])) if hit else 'not reached':>10} "
              f"{best:>9.4f} {r['hist'][-1][1]:>8.1f} {r['peak_gb']:>8.2f}")

def main():
    p = argparse.ArgumentParser()
    p.add_argument('--method', choices=['ours','spark','surprise']); p.add_argument('--rows', type=int, default=25_000_000)
    p.add_argument('--target', type=float, default=0.62); p.add_argument('--out', default='/tmp/bench_peers_scale.jsonl')
    p.add_argument('--report', action='store_true')
    p.add_argument('--epochs', type=int, default=4); p.add_argument('--lr', type=float, default=5e-3); p.add_argument('--wd', type=float, default=0.1)
    p.add_argument('--bs', type=int, default=8192); p.add_argument('--dense', action='store_true')
    p.add_argument('--iters', default='2,5,10'); p.add_argument('--rank', type=int, default=50); p.add_argument('--reg', type=float, default=0.05)
    p.add_argument('--spark-mem', default='8g'); p.add_argument('--epochs-list', default='5,10,20')
    a = p.parse_args()
    if a.report: return report(a)
    t = time.perf_counter()
    df = structured_ratings(a.rows)
    print(f"{a.method}: {a.rows:,} ratings generated/loaded in {time.perf_counter()-t:.1f} s", flush=True)
    hist, peak, info = globals()[a.method](df, a)
    res = dict(method=a.method, rows=a.rows, hist=hist, peak_gb=peak, **info)
    print('RESULT ' + json.dumps(res), flush=True)
    with open(a.out, 'a') as f: f.write(json.dumps(res)+'\n')

if __name__ == '__main__': main()
