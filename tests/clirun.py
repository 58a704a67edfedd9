"""Run the `fastai-dotbias` command in tests as a user runs it, without paying for its imports at every run.

Most of a short CLI run is importing fastai and PyTorch (2-7 s a run, 168 runs in the suite). Here each run is still
a process of its own: a fork of a server that imported the command's modules once, given the run's own arguments,
environment, working directory, stdin (/dev/null), stdout and stderr (files), and normal interpreter shutdown
(threads joined, `atexit` run); its exit status comes back as `subprocess.run` gives it (negative: killed by a signal).

`run_cli(..., fresh=True)` starts a new interpreter instead, for what only a new one shows: warnings raised while
importing, what the command imports, start-up time. Runs whose environment changes what is read at import time
(threads, CUDA devices, the plot backend, Python's own flags) start a new interpreter too, by themselves.
Tests that send signals use `subprocess.Popen` on the console script directly."""
import json, os, select, signal, subprocess, sys, tempfile
from pathlib import Path

CLI = str(Path(sys.executable).parent/'fastai-dotbias')
_AT_IMPORT = ('OMP_NUM_THREADS', 'MKL_NUM_THREADS', 'CUDA_VISIBLE_DEVICES', 'MPLBACKEND', 'PYTHONPATH', 'PYTHONHASHSEED',
              'PYTHONWARNINGS', 'PYTHONDONTWRITEBYTECODE', 'PYTHONSAFEPATH')
_server, _server_env = None, None

def cli_env():
    "The environment a test runs the command in: this one, one thread, no plot window"
    return {**os.environ, 'OMP_NUM_THREADS': '1', 'MPLBACKEND': 'Agg'}

def _start():
    global _server, _server_env
    if _server is None or _server.poll() is not None:
        _server_env = cli_env()
        log = open(Path(tempfile.gettempdir())/f'clirun-server-{os.getpid()}.log', 'w')
        _server = subprocess.Popen([sys.executable, __file__], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log,
                                   env=_server_env, cwd=tempfile.gettempdir(), bufsize=0)
        if _read(_server, 120) != 'ready': raise RuntimeError(f"the CLI test server did not start: see {log.name}")
    return _server

_buf = b''
def _read(srv, timeout):
    "The server's next reply line, or None after `timeout` seconds (read from the raw pipe: a buffered reader would hide a second line from `select`)"
    global _buf
    fd = srv.stdout.fileno()
    while b'\n' not in _buf:
        if not select.select([fd], [], [], timeout)[0]: return None
        chunk = os.read(fd, 65536)
        if not chunk: raise RuntimeError("the CLI test server died")
        _buf += chunk
    line, _buf = _buf.split(b'\n', 1)
    return json.loads(line)

def run_cli(*args, env=None, timeout=300, fresh=False, cwd=None):
    "Run `fastai-dotbias *args` like `subprocess.run(..., capture_output=True, text=True)`: a `CompletedProcess`"
    args, env = [str(a) for a in args], env or cli_env()
    cwd = str(cwd or os.getcwd())
    base = _server_env or cli_env()   # what the server imported under (or will)
    if fresh or any(env.get(k) != base.get(k) for k in _AT_IMPORT):
        return subprocess.run([CLI, *args], capture_output=True, text=True, env=env, timeout=timeout, cwd=cwd)
    srv = _start()
    with tempfile.TemporaryDirectory() as d:
        out, err = f'{d}/stdout', f'{d}/stderr'
        srv.stdin.write((json.dumps(dict(args=args, env=env, cwd=cwd, out=out, err=err, prog=CLI)) + '\n').encode()); srv.stdin.flush()
        pid = _read(srv, 60)['pid']
        res = _read(srv, timeout)
        if res is None:
            try: os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError: pass
            _read(srv, 60)
            raise subprocess.TimeoutExpired([CLI, *args], timeout, Path(out).read_text(), Path(err).read_text())
        return subprocess.CompletedProcess([CLI, *args], res['rc'], Path(out).read_text(), Path(err).read_text())

def _child(req, cli):
    "In the forked process: become the command's run, and never return"
    code = 1
    try:
        os.setsid()   # its own process group: a timeout kills what it started too
        os.chdir(req['cwd']); os.environ.clear(); os.environ.update(req['env'])
        for fd, path, flags in ((0, os.devnull, os.O_RDONLY), (1, req['out'], os.O_WRONLY|os.O_CREAT|os.O_TRUNC),
                                (2, req['err'], os.O_WRONLY|os.O_CREAT|os.O_TRUNC)):
            f = os.open(path, flags, 0o644); os.dup2(f, fd); os.close(f)
        import random, numpy as np
        random.seed(); np.random.seed()   # a new process starts from fresh entropy, not from the server's state
        sys.argv = [req['prog'], *req['args']]
        try: rv = cli.main(req['args']); code = 0 if rv is None else rv
        except SystemExit as e:
            code = 0 if e.code is None else e.code
            if not isinstance(code, int): print(code, file=sys.stderr); code = 1
        except BaseException:
            import traceback; traceback.print_exc(); code = 1
        import atexit, threading
        threading._shutdown(); atexit._run_exitfuncs()
    finally:
        for f in (sys.stdout, sys.stderr):
            try: f.flush()
            except Exception: pass
        os._exit(code)

def serve():
    "Import the command's modules once, then fork one run per request line on stdin"
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')   # what importing raises is tested with `fresh=True`
        import fastai_dotbias.cli as cli, fastai_dotbias.commands, fastai_dotbias.queries
    proto = os.fdopen(os.dup(1), 'w', buffering=1)
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
    print(json.dumps('ready'), file=proto)
    for line in sys.stdin:
        req = json.loads(line)
        sys.stdout.flush(); sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            proto.close()
            _child(req, cli)
        print(json.dumps({'pid': pid}), file=proto)
        _, status = os.waitpid(pid, 0)
        print(json.dumps({'rc': os.waitstatus_to_exitcode(status)}), file=proto)

if __name__ == '__main__': serve()
