"End-to-end runs of the `fastai-dotbias` command, as a user runs it."
import os, subprocess, sys
from pathlib import Path
import pytest
from clirun import run_cli
from fastai_dotbias.synth import synth_ratings, save_ml100k, planted
from fastai_dotbias.data import sample_ratings

def run(*args, home=None, check=True):
    env = {**os.environ, 'OMP_NUM_THREADS': '1', 'MPLBACKEND': 'Agg'}
    if home: env['FASTAI_HOME'] = str(home)
    res = run_cli(*args, env=env, timeout=600)
    if check: assert res.returncode == 0, res.stderr
    return res

@pytest.fixture(scope='module')
def saved(tmp_path_factory):
    d = tmp_path_factory.mktemp('cli')
    res = run('train', '--data', 'sample', '--seed', '0', '--save', d/'model.pkl', '--plot', d/'pca.png', home=d/'fastai-home')
    return d, res.stdout

def test_train_on_sample_prints_planted_titles(saved):
    d, out = saved
    truth = planted(sample_ratings())
    assert out.startswith('Device: cpu (') and out.splitlines()[1].startswith('Data: the embedded sample'), out
    lo = next(l for l in out.splitlines() if l.startswith('Lowest bias:'))
    hi = next(l for l in out.splitlines() if l.startswith('Highest bias:'))
    assert all(t in lo for t in truth['hated']), lo
    assert all(t in hi for t in truth['loved']), hi
    assert 'epoch' in out and 'train_loss' in out and '\r' not in out
    mse = float(out.split('Valid MSE ')[1].split(',')[0])
    assert mse < 0.7
    assert (d/'pca.png').stat().st_size > 10_000 and (d/'pca_bias_vs_mean.png').exists()

def test_saved_model_answers_queries(saved):
    d, _ = saved
    truth = planted(sample_ratings())
    out = run('similar', '--model', d/'model.pkl', '--title', truth['twins'][0], '-n', '5').stdout
    assert all(t in out for t in truth['twins'][1:]), out
    s = sample_ratings()
    out = run('recommend', '--model', d/'model.pkl', '--user', 7, '-n', '20').stdout
    assert len(out.strip().splitlines()) == 22   # a line naming the user, the header, 20 titles
    assert not any(t in out for t in s.title[s.user==7])

def test_ml100k_through_untar_data_offline(tmp_path):
    "A MovieLens-100k-format folder in a temporary FASTAI_HOME: the real untar_data path, no network"
    home = tmp_path/'home'
    r = synth_ratings(n_users=80, n_items=100, n_ratings=4000, seed=5)
    save_ml100k(r, home/'data'/'ml-100k')
    out = run('train', '--epochs', '1', '--seed', '0', '--top', '3', home=home).stdout
    assert out.splitlines()[1].startswith(f"Data: MovieLens 100k (u.data + u.item) from {home/'data'/'ml-100k'} (the default"), out
    assert '4,000 ratings' in out
    lo = next(l for l in out.splitlines() if l.startswith('Lowest bias:'))
    assert sum(t in lo for t in planted(r)['hated']) >= 2, lo

def _fails(*args, home=None):
    res = run(*args, home=home, check=False)
    assert res.returncode == 2, (res.returncode, res.stderr)
    assert 'Traceback' not in res.stderr
    return res.stderr.strip().splitlines()[-1]

def test_bad_inputs_exit_2(tmp_path):
    r = synth_ratings(n_users=20, n_items=30, n_ratings=300, seed=1)
    assert 'does not exist' in _fails('train', '--data', tmp_path/'nowhere')
    assert 'could not be downloaded' in _fails('train', '--data', 'ml-100k', home=tmp_path/'empty-home')
    csv = tmp_path/'r.csv'
    r.rename(columns={'rating': 'stars_given'}).to_csv(csv, index=False)
    assert 'No rating column found' in _fails('train', '--data', csv)
    r.assign(rating=r.rating.astype(object).where(r.index != 4, 'x')).to_csv(csv, index=False)
    assert "non-numeric values in 1 row(s), e.g. row 5" in _fails('train', '--data', csv)
    r.iloc[:0].to_csv(csv, index=False)
    assert 'empty' in _fails('train', '--data', csv)
    bad = tmp_path/'bad'; save_ml100k(r, bad)
    (bad/'u.data').write_text((bad/'u.data').read_text().replace('\t', ' ', 3))
    assert 'u.data, line 1: expected 4' in _fails('train', '--data', bad)
    save_ml100k(r, bad)
    (bad/'u.item').write_bytes((bad/'u.item').read_text().encode('utf-16'))
    assert 'looks UTF-16' in _fails('train', '--data', bad)
    assert 'must be at least 1' in _fails('train', '--epochs', '0')
    assert 'between 0 and 1' in _fails('train', '--valid-pct', '1.5')
    assert 'does not exist' in _fails('similar', '--model', tmp_path/'none.pkl', '--title', 'x')

def test_csv_columns_in_any_order(tmp_path):
    "Columns are found by name, not position: a CSV with rating first and MovieLens' newer names trains"
    r = synth_ratings(n_users=60, n_items=80, n_ratings=3000, seed=2)
    csv = tmp_path/'r.csv'
    r.rename(columns={'user': 'userId', 'movie': 'movieId'})[['rating', 'timestamp', 'movieId', 'userId']].to_csv(csv, index=False)
    out = run('train', '--data', csv, '--epochs', '1', '--seed', '0').stdout
    assert '3,000 ratings, 60 users, 80 items' in out, out
    assert 'y_range=(0, 5.5)' in out
    assert float(out.split('Valid MSE ')[1].split(',')[0]) < 2

def test_train_two_processes(tmp_path):
    "`--nproc 2`: two gloo processes on the CPU; only rank 0 prints and saves; the saved learner works"
    out = run('train', '--data', 'sample', '--nproc', '2', '--epochs', '2', '--seed', '0', '--save', tmp_path/'m.pkl').stdout
    assert 'Data parallel: 2 processes x bs 32 (global batch 64)' in out
    assert out.count('Lowest bias:') == 1 and out.count('train_loss') == 1, out
    assert out.count('Valid MSE') == 1 and float(out.split('Valid MSE ')[1].split(',')[0]) < 0.8
    assert 'Twin Saga' in run('similar', '--model', tmp_path/'m.pkl', '--title', 'Twin Saga A (1970)', '-n', '3').stdout

def test_device_option_says_where_and_refuses_what_is_not_there(tmp_path):
    import torch
    assert "'gpu' is not a device: use auto, cpu, cuda or cuda:N" in _fails('train', '--data', 'sample', '--device', 'gpu')
    if not torch.cuda.is_available():
        assert 'PyTorch sees no CUDA GPU on this machine' in _fails('train', '--data', 'sample', '--device', 'cuda:0')
    out = run('evaluate', '--data', 'sample', '--split', 'kfold:2', '--epochs', '1', '--device', 'cpu').stdout
    assert out.startswith('Device: cpu (') and out.splitlines()[1].startswith('Data: '), out
