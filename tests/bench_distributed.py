"""Benchmark: seconds per epoch of `fastai-dotbias train` on 1 and on 2 processes (torchrun, gloo, one thread each),
on generated ratings larger than the sample. Same global batch (bs=64 on one process, 32 per process on two).
On a 2-core machine no speed-up is expected: this model is per-batch overhead, which DDP adds to.

    python tests/bench_distributed.py [--ratings 200000] [--epochs 2]
"""
import argparse, os, re, subprocess, sys, tempfile, time
from pathlib import Path
from fastai_dotbias.synth import synth_ratings

def run(csv, n, epochs):
    env = {**os.environ, 'OMP_NUM_THREADS': '1'}
    t = time.perf_counter()
    out = subprocess.run([sys.executable, '-m', 'fastai_dotbias', 'train', '--data', str(csv), '--nproc', str(n), '--epochs', str(epochs),
                          '--seed', '0', '--top', '1'], capture_output=True, text=True, env=env, check=True).stdout
    wall = time.perf_counter() - t
    secs = [sum(int(a)*60**i for i, a in enumerate(reversed(m.split(':')))) for m in re.findall(r' (\d\d:\d\d)\s*$', out, re.M)]
    mse = float(out.split('Valid MSE ')[1].split(',')[0])
    return sum(secs)/len(secs), wall, mse

def main():
    p = argparse.ArgumentParser(); p.add_argument('--ratings', type=int, default=200_000); p.add_argument('--epochs', type=int, default=2)
    a = p.parse_args()
    csv = Path(tempfile.mkdtemp())/'ratings.csv'
    synth_ratings(n_users=3000, n_items=2000, n_ratings=a.ratings, seed=0).to_csv(csv, index=False)
    print(f"{a.ratings:,} generated ratings, {a.epochs} epochs, global batch 64, {os.cpu_count()} cores")
    print(f"{'processes':>9} {'s/epoch':>8} {'wall s':>7} {'valid MSE':>9}")
    res = {n: run(csv, n, a.epochs) for n in (1, 2)}
    for n, (e, w, m) in res.items(): print(f"{n:>9} {e:>8.1f} {w:>7.1f} {m:>9.4f}")
    print(f"2 processes vs 1: {res[1][0]/res[2][0]:.2f}x the speed per epoch")

if __name__ == '__main__': main()
