"""An epoch's shuffle at MovieLens 25M's shape: `torch.randperm` and a gather by it (the loader's order below 4M ratings)
against `shuffle_records` (from 4M on), side by side on the same 16-byte records, one and two threads.

Each is timed `--repeat` times taking turns, into memory touched before (as the loader reuses it from one epoch to the
next); prints the medians and their ratio.

    OMP_NUM_THREADS=1 python tests/bench_shuffle.py [--n 20000000] [--repeat 3]
"""
import argparse, time
import numpy as np, torch
from fastai_dotbias.pages import huge_empty
from fastai_dotbias.records import shuffle_records, record_kernels

def main():
    p = argparse.ArgumentParser(); p.add_argument('--n', type=int, default=20_000_000); p.add_argument('--repeat', type=int, default=3)
    a = p.parse_args()
    assert record_kernels() is not None, "no C compiler: nothing to compare"
    rec = huge_empty(a.n, 4, dtype=torch.int32)
    rec[:, 0] = torch.randint(0, 162_541, (a.n,), dtype=torch.int32); rec[:, 1] = torch.randint(0, 59_047, (a.n,), dtype=torch.int32); rec[:, 2:] = 0
    rec = rec.view(torch.complex128).view(-1)
    perm,out = huge_empty(a.n, dtype=torch.int32).zero_(),huge_empty(a.n, dtype=rec.dtype).zero_()
    print(f"{a.n:,} records of 16 bytes ({a.n*16/2**20:.0f} MB)")
    for th in (1, 2):
        torch.set_num_threads(th)
        ts = {'randperm + index_select': [], 'shuffle_records': []}
        for r in range(a.repeat):
            t = time.perf_counter()
            torch.randperm(a.n, generator=torch.Generator().manual_seed(r), out=perm); torch.index_select(rec, 0, perm, out=out)
            ts['randperm + index_select'].append(time.perf_counter() - t)
            t = time.perf_counter(); shuffle_records(rec, r, threads=th, out=out); ts['shuffle_records'].append(time.perf_counter() - t)
        for k,v in ts.items(): print(f"threads {th}: {k:<24} median {np.median(v):.3f} s  ({', '.join(f'{x:.3f}' for x in v)})")
        print(f"threads {th}: shuffle_records {np.median(ts['randperm + index_select'])/np.median(ts['shuffle_records']):.1f}x faster")

if __name__ == '__main__': main()
