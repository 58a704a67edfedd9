"""LazyAdam's step on one table's touched rows, rows not in cache: PyTorch ops (gather the value and both moving averages,
PyTorch's fused Adam, scatter back) against the C row kernel (`adam_rows_`, in place), side by side in one run.

A MovieLens 25M-shaped user table (162,541 x 50, float32), the ~7,700 distinct users of a batch of 8,192, a different
random set of rows each step and 80 MB of other memory written between steps (so the rows come from main memory, as in
training). Prints the median milliseconds per step of each over interleaved rounds, and their ratio.

    OMP_NUM_THREADS=1 python tests/bench_rows.py [--rounds 5]
"""
import argparse, os, time
os.environ.setdefault('OMP_NUM_THREADS', '1')
import numpy as np, torch
torch.set_num_threads(1)
from fastai_dotbias.sparse import row_kernels

def main():
    p = argparse.ArgumentParser(); p.add_argument('--rounds', type=int, default=5); a = p.parse_args()
    k = row_kernels()
    if k is None: raise SystemExit("the row kernels could not be built here")
    n,f,touched = 162_541,50,7_733
    rows = [torch.randperm(n)[:touched].sort().values for _ in range(40)]
    grads = [torch.randn(touched, f) for _ in range(4)]
    flush = torch.randn(20_000_000)
    h = dict(lr=1e-3, beta1=0.9, beta2=0.99, weight_decay=0.1, eps=1e-5, amsgrad=False, maximize=False)
    w,m,v,step = torch.randn(n, f),torch.zeros(n, f),torch.zeros(n, f),torch.zeros(())
    def ops(r, g):
        rw,rm,rv = (t.index_select(0, r) for t in (w,m,v))
        step.add_(1); torch._fused_adamw_([rw], [g], [rm], [rv], [], [step], **h)
        for t,o in zip((w,m,v), (rw,rm,rv)): t.index_copy_(0, r, o)
    w2,mv,s2 = torch.randn(n, f),torch.zeros(n, 2, f),[0]
    def kernel(r, g):
        s2[0] += 1; k.adam_rows_(w2, mv, r, g, 1e-3, 0.9, 0.99, 1e-5, 0.1, float(s2[0]), True)
    def timed(fn):
        ts = []
        for i,r in enumerate(rows):
            flush.add_(1)
            t = time.perf_counter(); fn(r, grads[i%4]); ts.append(time.perf_counter()-t)
        return 1000*np.median(ts[4:])
    res = {'PyTorch ops': [], 'row kernel': []}
    for _ in range(a.rounds):
        res['PyTorch ops'].append(timed(ops)); res['row kernel'].append(timed(kernel))
    for name,ts in res.items(): print(f"{name:<12} {np.median(ts):6.2f} ms per step  (rounds: {', '.join(f'{t:.2f}' for t in ts)})")
    print(f"row kernel vs PyTorch ops: {np.median(res['PyTorch ops'])/np.median(res['row kernel']):.1f}x faster")

if __name__ == '__main__': main()
