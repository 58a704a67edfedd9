"Baselines next to the model, the recipe on very sparse ratings, and a CLI that answers at once — through the command, as a user runs it."
import os, re, signal, subprocess, sys, time
import numpy as np, pandas as pd
import pytest
from fastai_dotbias.synth import synth_ratings
from clirun import run_cli

def run(*args, check=True):
    env = {**os.environ, 'OMP_NUM_THREADS': '1', 'MPLBACKEND': 'Agg'}
    res = run_cli(*args, env=env, timeout=600)
    if check: assert res.returncode == 0, res.stderr
    return res

@pytest.fixture(scope='module')
def sparse_csv(tmp_path_factory):
    "Very sparse, long-tailed ratings (most users have 1-3 ratings, many titles one) with columns not called user/item/rating"
    df = synth_ratings(n_users=8000, n_items=3000, n_ratings=14_000, seed=3)
    per_user = df.user.value_counts()
    assert (per_user <= 3).mean() > 0.7 and (df.movie.value_counts() == 1).mean() > 0.25
    f = tmp_path_factory.mktemp('sparse')/'sparse.csv'
    df.rename(columns={'user': 'uid', 'movie': 'iid', 'rating': 'stars'})[['uid', 'iid', 'stars']].to_csv(f, index=False)
    return f

def _num(out, pat): return float(re.search(pat, out).group(1))

def test_book_recipe_on_sparse_data_says_it_loses_to_the_baseline(sparse_csv):
    res = run('train', '--data', sparse_csv, '--user-name', 'uid', '--item-name', 'iid', '--rating-name', 'stars', '--seed', '0', '--bs', '256', '--init-biases', 'random')
    out = res.stdout
    assert 'user=uid, item=iid, rating=stars' in out.splitlines()[1] and 'Sparse data' not in out
    model = _num(out, r'Valid MSE [\d.]+, RMSE ([\d.]+)')
    gm,bias = _num(out, r'global mean RMSE ([\d.]+)'),_num(out, r'user\+item bias RMSE ([\d.]+)')
    # the baselines, recomputed by hand on the same split, agree with what the command printed
    assert bias < gm and model > bias
    notes = [l for l in res.stderr.splitlines() if l.startswith('fastai-dotbias: note: the model')]
    assert len(notes) == 1 and 'does not beat the user+item bias baseline' in notes[0] and '--tune' in notes[0], res.stderr

def test_default_on_sparse_data_starts_biases_at_the_baseline_and_beats_it(sparse_csv):
    res = run('train', '--data', sparse_csv, '--seed', '0', '--bs', '256')   # columns uid, iid, stars found by name
    out = res.stdout
    assert out.splitlines()[1].endswith('user=uid, item=iid, rating=stars'), out
    assert out.splitlines()[2].startswith('Sparse data: ') and 'biases from the baseline' in out.splitlines()[3], out
    model,bias = _num(out, r'Valid MSE [\d.]+, RMSE ([\d.]+)'),_num(out, r'user\+item bias RMSE ([\d.]+)')
    assert model < bias - 0.003, out
    assert 'does not beat' not in res.stderr

def test_sample_keeps_the_books_recipe():
    out = run('train', '--data', 'sample', '--seed', '0').stdout
    assert 'Sparse data' not in out and 'Recipe: fit_one_cycle(5, 0.005, wd=0.1), n_factors=50, bs=64, y_range=(0, 5.5)' in out, out
    model,bias = _num(out, r'Valid MSE [\d.]+, RMSE ([\d.]+)'),_num(out, r'user\+item bias RMSE ([\d.]+)')
    assert model < bias

def test_tune_honours_column_names_and_beats_the_bias_baseline(sparse_csv):
    res = run('train', '--data', sparse_csv, '--user-name', 'uid', '--item-name', 'iid', '--rating-name', 'stars', '--seed', '0', '--tune', '4')
    out = res.stdout
    assert 'Traceback' not in res.stderr and 'Warning' not in res.stderr, res.stderr
    assert 'baseline_weight=' in out and 'uid' not in out.split('Tuned recipe:')[1].splitlines()[0]
    model,bias = _num(out, r'Valid MSE [\d.]+, RMSE ([\d.]+)'),_num(out, r'user\+item bias RMSE ([\d.]+)')
    assert model <= bias, out
    assert 'does not beat' not in res.stderr

def test_evaluate_prints_baselines_per_fold(tmp_path):
    df = synth_ratings(n_users=200, n_items=150, n_ratings=6000, seed=1)
    df[['user', 'movie', 'rating']].rename(columns={'movie': 'item'}).to_csv(tmp_path/'r.csv', index=False)
    out = run('evaluate', '--data', tmp_path/'r.csv', '--split', 'kfold:2', '--epochs', '1', '--bs', '256').stdout
    lines = [l for l in out.splitlines() if l.startswith('  baselines:')]
    assert len(lines) == 2 and all('global mean RMSE' in l and 'user+item bias RMSE' in l and 'most popular NDCG@10' in l for l in lines), out

def test_queries_respect_min_ratings(tmp_path):
    run('train', '--data', 'sample', '--seed', '0', '--epochs', '1', '--save', tmp_path/'m.pkl')
    out = run('similar', '--model', tmp_path/'m.pkl', '--title', 'Twin Saga A (1970)', '-n', '8', '--min-ratings', '60').stdout
    rows = [l for l in out.splitlines()[2:]]
    header = out.splitlines()[1].split()
    assert 'train_ratings' in header and 'at least 60 training ratings' in out.splitlines()[0]
    counts = [int(l.split()[header.index('train_ratings')-len(header)]) for l in rows]
    assert len(counts) == 8 and min(counts) >= 60, out
    out = run('recommend', '--model', tmp_path/'m.pkl', '--user', '3', '-n', '5', '--min-ratings', '100').stdout
    counts = [int(l.split()[-1]) for l in out.splitlines()[2:]]
    assert len(counts) == 5 and min(counts) >= 100, out

def test_cli_answers_without_importing_fastai():
    code = ("import sys, io, contextlib\nfrom fastai_dotbias.cli import main\n"
            "for argv in (['--help'], ['train', '--epochs', '0'], ['train', '--data', 'nowhere.csv'], ['similar', '--model', 'no.pkl', '--title', 'x']):\n"
            "    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):\n"
            "        try: main(argv)\n        except SystemExit as e: assert e.code in (0, 2), (argv, e.code)\n"
            "assert not {'torch', 'fastai', 'pandas'} & set(sys.modules), sorted({'torch', 'fastai', 'pandas'} & set(sys.modules))\n")
    subprocess.run([sys.executable, '-c', code], check=True, timeout=60)
    res = run('train', '--data', 'nowhere.csv', check=False)
    assert (res.returncode, res.stderr.count('\n')) == (2, 1) and res.stderr.startswith('fastai-dotbias: error: nowhere.csv does not exist'), res.stderr

def test_ctrl_c_while_importing_is_one_line():
    env = {**os.environ, 'OMP_NUM_THREADS': '1', 'MPLBACKEND': 'Agg'}
    p = subprocess.Popen([sys.executable, '-m', 'fastai_dotbias', 'train', '--data', 'sample', '--epochs', '1'], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))   # as a terminal's Ctrl-C finds it, even under a runner that ignores SIGINT
    maps,t = f'/proc/{p.pid}/maps',time.time()
    while time.time()-t < 60 and p.poll() is None and 'libtorch' not in open(maps).read(): time.sleep(0.05)   # PyTorch's libraries loading: inside `import fastai`
    assert p.poll() is None, 'the command ended before it imported PyTorch'
    p.send_signal(signal.SIGINT)
    out,err = p.communicate(timeout=120)
    assert p.returncode == 130 and err == 'fastai-dotbias: interrupted.\n' and out == '', (p.returncode, err)
