"""Benchmark: data-parallel training at MovieLens 25M's shape (generated: 162,541 users x 59,047 items, 25M ratings),
global batch 8192 (8192/N per process), `fit_one_cycle(1, 5e-3, wd=0.1)`, on N = 1 and 2 processes (torchrun, gloo,
one thread each), for the sparse path (`sparse=True`: rows exchanged by `sync_sparse_grads`) and the dense path (DDP).

For each run it reports seconds per training step (split into forward+backward, gradient exchange and optimizer step),
seconds per epoch (the full epoch with validation, or extrapolated from `--steps` training steps when given), peak RSS
per process, and the bytes each process sent per step two ways: counted from the tensors handed to torch.distributed
(`DotBiasDistributedTrainer.sent`; DDP all-reduces every gradient: ring all-reduce sends 2(N-1)/N of it), and measured
on the loopback interface (/proc/net/dev: everything every process on this machine sent over 127.0.0.1 during the timed
steps, divided by N; TCP overhead and the loss gathers included, other users' traffic not excluded).
Then it projects the sparse path's epoch time for 8 and 64 workers on a 10 Gb/s network from the measured parts.

    OMP_NUM_THREADS=1 python tests/bench_distributed.py [--rows 25000000] [--runs sparse:1,sparse:2,dense:1:60,dense:2:60]
    OMP_NUM_THREADS=1 python tests/bench_distributed.py --allgather 1.8    # gloo's all-gather alone, 1.8 MB per process

A run is path:N[:steps] (steps: time only that many training steps, and extrapolate the epoch).
"""
import argparse, json, os, resource, subprocess, sys, tempfile, time, warnings
os.environ.setdefault('OMP_NUM_THREADS', '1')

def lo_bytes():
    for l in open('/proc/net/dev'):
        if l.strip().startswith('lo:'): return int(l.split(':')[1].split()[8])
    return 0

def worker(a):
    import torch
    torch.set_num_threads(1)
    warnings.simplefilter('ignore')
    from fastai.tabular.all import set_seed, Callback, CancelFitException, num_distrib, rank_distrib, np
    from fastai_dotbias.all import DotBiasDataLoaders, dotbias_learner, DotBiasDistributedTrainer, row_kernels
    row_kernels()   # build (or load) the sparse path's C row kernels before anything is timed
    sys.path.insert(0, os.path.dirname(__file__))
    from bench_scale import ratings_like_ml25m
    n = max(num_distrib(), 1)
    df = ratings_like_ml25m(a.rows)
    set_seed(0)
    dls = DotBiasDataLoaders.from_df(df, bs=8192//n, seed=0, device='cpu')
    del df
    learn = dotbias_learner(dls, n_factors=50, sparse=a.path=='sparse')

    class Clock(Callback):
        "Times training steps `warm`.. (forward+backward, exchange, optimizer) and the loopback bytes over them"
        order = 100
        def before_fit(self):
            self.n,self.t,self.parts,self.trainer = 0,None,np.zeros(3),next((c for c in learn.cbs if isinstance(c, DotBiasDistributedTrainer)), None)
        def before_batch(self):
            if not self.training: return
            if self.n==a.warm: self.t0,self.lo0,self.sent0 = time.perf_counter(),lo_bytes(),self._sent()
            self.tb = time.perf_counter()
        def _sent(self): return self.trainer.sent if self.trainer and self.trainer.sparse else 0
        def before_step(self): self.ts = time.perf_counter()
        def after_step(self):
            if self.n>=a.warm:
                te = time.perf_counter()
                self.parts += [self.ts-self.tb, 0, te-self.ts]
            self.n += 1
            if a.steps and self.n==a.warm+a.steps: self._stop(); raise CancelFitException()
        def after_train(self):
            if self.t is None: self._stop()
        def _stop(self): self.t,self.lo,self.sent = time.perf_counter()-self.t0,lo_bytes()-self.lo0,self._sent()-self.sent0

    class SyncClock(Callback):
        "Time spent in the gradient exchange (it runs in the trainer's after_backward, order 11; this brackets it)"
        order = 10
        def after_backward(self): self.t = time.perf_counter()
    class SyncClockEnd(Callback):
        order = 12
        def after_backward(self):
            if clock.n>=a.warm: clock.parts[1] += time.perf_counter()-sync.t; clock.parts[0] -= time.perf_counter()-sync.t

    clock,sync = Clock(),SyncClock()
    t = time.perf_counter()
    with learn.distrib_dotbias(), learn.no_bar(), learn.no_logging():
        learn.fit_one_cycle(1, 5e-3, wd=0.1, cbs=[clock, sync, SyncClockEnd()])
    wall = time.perf_counter()-t
    steps = clock.n - a.warm
    if rank_distrib()==0:
        dense_bytes = sum(p.numel()*p.element_size() for p in learn.model.parameters())
        sent = clock.sent/steps if a.path=='sparse' else (2*(n-1)/n*dense_bytes if n>1 else 0)
        spe = len(dls.train_ds)//8192  # global batches per epoch (the sharded loader's length on every rank)
        res = dict(path=a.path, nproc=n, bs=8192//n, steps_timed=steps, steps_per_epoch=spe,
                   s_per_step=clock.t/steps, parts=(clock.parts/steps).tolist(), epoch_s=wall if not a.steps else None,
                   epoch_est_s=clock.t/steps*spe, sent_per_step=sent, lo_per_step_per_proc=clock.lo/steps/n,
                   dense_table_bytes=dense_bytes, rss_gb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss/2**20,
                   valid_mse=None if a.steps else float(learn.recorder.values[-1][1]))
        print('RESULT ' + json.dumps(res), flush=True)

def allgather_worker(mb, reps=100):
    "Time gloo's all-gather alone: `mb` MB per process, after a barrier each time (no packing, merging or waiting for a slower rank)"
    import statistics, torch, torch.distributed as dist
    torch.set_num_threads(1); warnings.simplefilter('ignore')
    dist.init_process_group('gloo')
    buf = torch.randn(int(mb*1e6/4)); out = buf.new_empty(dist.get_world_size()*len(buf))
    gather = getattr(dist, 'all_gather_single', dist.all_gather_into_tensor)
    ts = []
    for i in range(reps+10):
        dist.barrier(); t = time.perf_counter(); gather(out, buf); ts.append(time.perf_counter()-t)
    if dist.get_rank()==0: print('RESULT ' + json.dumps({'mb': mb, 'ms': 1000*statistics.median(ts[10:])}), flush=True)
    dist.destroy_process_group()

def run(rows, path, n, steps, warm):
    env = {**os.environ, 'OMP_NUM_THREADS': '1'}
    cmd = [sys.executable, '-m', 'torch.distributed.run', '--standalone', f'--nproc_per_node={n}', __file__, '--worker',
           '--rows', str(rows), '--path', path, '--steps', str(steps), '--warm', str(warm)]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if out.returncode: sys.exit(out.stderr[-3000:])
    return json.loads(next(l for l in out.stdout.splitlines() if l.startswith('RESULT '))[7:])

def main():
    p = argparse.ArgumentParser()
    p.add_argument('--rows', type=int, default=25_000_000); p.add_argument('--runs', default='sparse:1,sparse:2,dense:1:60,dense:2:60')
    p.add_argument('--warm', type=int, default=5)
    p.add_argument('--worker', action='store_true'); p.add_argument('--path'); p.add_argument('--steps', type=int, default=0)
    p.add_argument('--allgather', type=float, default=0, help="only time gloo's all-gather of this many MB per process on 2 processes")
    a = p.parse_args()
    if a.worker: return allgather_worker(a.allgather) if a.path=='allgather' else worker(a)
    if a.allgather:
        cmd = [sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc_per_node=2', __file__, '--worker', '--path', 'allgather', '--allgather', str(a.allgather)]
        out = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, 'OMP_NUM_THREADS': '1'})
        if out.returncode: sys.exit(out.stderr[-3000:])
        o = json.loads(next(l for l in out.stdout.splitlines() if l.startswith('RESULT '))[7:])
        return print(f"gloo all-gather alone, 2 processes, {o['mb']} MB each: {o['ms']:.2f} ms (median of 100, a barrier before each)")
    print(f"{a.rows:,} generated ratings (ml-25m shape), global batch 8192, {os.cpu_count()} cores, gloo, 1 thread per process")
    print(f"{'path':>6} {'procs':>5} {'s/epoch':>8} {'ms/step':>8} {'fwd+bwd':>8} {'exchange':>8} {'opt':>6} {'MB sent/step/proc':>17} {'loopback MB':>11} {'RSS GB':>6} {'valid':>7}")
    res = []
    for r in a.runs.split(','):
        path,n,*steps = r.split(':')
        o = run(a.rows, path, int(n), int(steps[0]) if steps else 0, a.warm)
        res.append(o)
        e = f"{o['epoch_s']:.1f}" if o['epoch_s'] else f"~{o['epoch_est_s']:.0f}*"
        f,x,s = (1000*v for v in o['parts'])
        v = f"{o['valid_mse']:.4f}" if o['valid_mse'] else '-'
        print(f"{path:>6} {n:>5} {e:>8} {1000*o['s_per_step']:>8.1f} {f:>8.1f} {x:>8.1f} {s:>6.1f} {o['sent_per_step']/1e6:>17.3f} {o['lo_per_step_per_proc']/1e6:>11.3f} {o['rss_gb']:>6.2f} {v:>7}", flush=True)
    print("* extrapolated from the timed training steps (no validation); dense tables:", f"{res[0]['dense_table_bytes']/1e6:.1f} MB")
    print(json.dumps(res))

if __name__ == '__main__': main()
