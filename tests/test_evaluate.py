"`fastai-dotbias evaluate`, tuning and ensembles, and new users, end to end through the installed command."
import re
import pytest
from fastai_dotbias.synth import synth_ratings, save_ml100k, planted
from test_hostile import cli, ok, fails

@pytest.fixture(scope='module')
def ml(tmp_path_factory):
    "A MovieLens 100k folder of generated ratings, with its own splits u1..u5, ua, ub"
    d = tmp_path_factory.mktemp('ml')
    r = synth_ratings(n_users=120, n_items=150, n_ratings=6000, seed=4)
    save_ml100k(r, d/'ml-100k', splits=True)
    r.to_csv(d/'r.csv', index=False)
    return d

def _metrics(out):
    "The lines of `evaluate`'s output after its first line (the device), without the baselines line under each fold"
    lines = out.splitlines()
    assert lines[0].startswith('Device: '), out
    return [l for l in lines[1:] if not l.startswith('  baselines: ')]

_line = re.compile(r'^(\S+(?: \d+)?)\s+RMSE (\d\.\d{4})  MAE (\d\.\d{4})  P@10 (\d\.\d{4})  R@10 (\d\.\d{4})  NDCG@10 (\d\.\d{4})  MAP@10 (\d\.\d{4})  coverage (\d\.\d{4})  [\d.]+ s$')

def test_evaluate_movielens_own_folds(ml):
    raw = ok(cli('evaluate', '--data', ml/'ml-100k', '--split', 'u1-u5', '--epochs', '2')).stdout
    assert sum(l.startswith('  baselines: global mean RMSE ') and 'most popular NDCG@10 ' in l for l in raw.splitlines()) == 5, raw
    out = _metrics(raw)
    assert out[0] == f"Data: MovieLens 100k's own split u1-u5 from {ml/'ml-100k'}"
    rows = [_line.match(l) for l in out[2:7]]
    assert [m[1] for m in rows] == ['u1', 'u2', 'u3', 'u4', 'u5'], out
    assert all(0.5 < float(m[2]) < 1.3 and float(m[4]) > 0 for m in rows)
    assert out[7].startswith('mean     RMSE ') and ' ± ' in out[7]

@pytest.mark.parametrize('split,names', [('kfold:3', ['fold 1', 'fold 2', 'fold 3']), ('temporal', ['temporal']), ('random', ['random'])])
def test_evaluate_any_ratings(ml, split, names):
    out = _metrics(ok(cli('evaluate', '--data', ml/'r.csv', '--split', split, '--epochs', '1')).stdout)
    assert [_line.match(l)[1] for l in out[2:2+len(names)]] == names, out

@pytest.mark.parametrize('args,msg', [(['--split', 'u7'], "argument --split: 'u7' is not a split"),
                                      (['--split', 'kfold:1'], "'kfold:1' is not a split"),
                                      (['--data', 'sample', '--split', 'u1'], 'has no u1.base or u1.test'),
                                      (['--split', 'ua'], 'is not a folder. Use --data ml-100k'),
                                      (['--k', '0'], 'argument --k: must be at least 1'),
                                      (['--ensemble', '0'], 'argument --ensemble: must be at least 1'),
                                      (['--jobs', '0'], 'argument --jobs: must be at least 1'), (['--jobs', 'two'], "argument --jobs: invalid whole number: 'two'"),
                                      (['--jobs', '9999'], 'argument --jobs: 9999 is more than the')])
def test_evaluate_bad_arguments(ml, args, msg):
    if '--data' not in args: args = ['--data', ml/'r.csv', *args]
    fails(cli('evaluate', *args), msg)

def test_temporal_split_needs_timestamps(ml, tmp_path):
    import pandas as pd
    pd.read_csv(ml/'r.csv').drop(columns='timestamp').to_csv(tmp_path/'nots.csv', index=False)
    fails(cli('evaluate', '--data', tmp_path/'nots.csv', '--split', 'temporal'), "A temporal split needs the column 'timestamp'")

def test_jobs_side_by_side(ml):
    "--jobs 2: the ensemble's members come out as with --jobs 1 (the same metrics); a search runs its trials two at a time"
    args = ('evaluate', '--data', ml/'r.csv', '--split', 'kfold:2', '--epochs', '1', '--ensemble', '2', '--seed', '0')
    one,two = ([re.sub(r'  [\d.]+ s$', '', l) for l in _metrics(ok(cli(*args, '--jobs', j)).stdout) if _line.match(l)] for j in ('1', '2'))
    assert len(one) == 2 and one == two, (one, two)
    out = ok(cli('train', '--data', ml/'r.csv', '--tune', '3', '--ensemble', '2', '--jobs', '2', '--seed', '0')).stdout
    assert [l.split(':')[0] for l in out.splitlines() if l.startswith('  trial ')] == [f'  trial   {i}' for i in (1, 2, 3)], out
    assert 'Trained 2 models from seeds 0..1 and averaged them' in out and 'Valid MSE' in out

def test_a_killed_worker_is_one_line(ml):
    "A --jobs worker killed mid-training (as the OOM killer would): one line that says so, exit 2, and no worker left running"
    import os, signal, subprocess, time
    from test_hostile import CLI
    env = {**os.environ, 'OMP_NUM_THREADS': '1'}
    p = subprocess.Popen([CLI, 'train', '--data', str(ml/'r.csv'), '--ensemble', '8', '--epochs', '20', '--jobs', '2', '--seed', '0'],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    workers = lambda: subprocess.run(['pgrep', '-P', str(p.pid), '-f', 'spawn_main'], capture_output=True, text=True).stdout.split()
    t = time.time()
    while not workers() and p.poll() is None and time.time()-t < 120: time.sleep(0.2)
    assert workers(), 'no worker process started'
    time.sleep(2)   # the workers are importing or training
    pids = workers()
    os.kill(int(pids[0]), signal.SIGKILL)
    out,err = p.communicate(timeout=120)
    fails(subprocess.CompletedProcess(p.args, p.returncode, out, err), 'a worker process of --jobs died', 'nothing was saved')
    time.sleep(1)
    assert not any(os.path.exists(f'/proc/{q}') and 'spawn_main' in open(f'/proc/{q}/cmdline').read() for q in pids[1:]), 'a worker outlived the command'

def test_tuned_ensemble_trains_saves_and_recommends(ml, tmp_path):
    res = ok(cli('train', '--data', ml/'r.csv', '--tune', '3', '--ensemble', '2', '--seed', '0', '--save', tmp_path/'t.pkl'))
    assert res.stdout.count('  trial ') == 3 and 'Tuned recipe: n_factors=' in res.stdout
    assert 'Trained 2 models from seeds 0..1 and averaged them' in res.stdout and 'Valid MSE' in res.stdout
    out = ok(cli('recommend', '--model', tmp_path/'t.pkl', '--user', '1', '-n', '3')).stdout
    assert out.startswith('Recommendations for user 1') and len(out.strip().splitlines()) == 5
    ok(cli('similar', '--model', tmp_path/'t.pkl', '--title', 'Twin Saga A (1970)', '-n', '2'))

def test_evaluate_with_tuning(ml):
    out = ok(cli('evaluate', '--data', ml/'ml-100k', '--split', 'u1', '--tune', '2', '--ensemble', '2')).stdout
    assert 'on an inner split of the training part' in out and _line.match(_metrics(out.strip())[-1])

def test_new_user_by_ratings(ml, tmp_path):
    ok(cli('train', '--data', ml/'r.csv', '--seed', '0', '--save', tmp_path/'m.pkl'))
    t = planted(synth_ratings(n_users=120, n_items=150, n_ratings=6000, seed=4))
    res = ok(cli('recommend', '--model', tmp_path/'m.pkl', '--rate', f"{t['twins'][0]}=5", '--rate', f"{t['hated'][0]}=1", '-n', '5'))
    assert res.stdout.startswith('Recommendations for a new user from 2 ratings (folded in, no retraining)')
    assert t['twins'][0] not in res.stdout and t['hated'][0] not in res.stdout
    fails(cli('recommend', '--model', tmp_path/'m.pkl', '--rate', 'Twin Saga A (1970)'), "is not TITLE=STARS, e.g. 'Star Wars (1977)=5'")
    fails(cli('recommend', '--model', tmp_path/'m.pkl', '--rate', 'Twin Sag A (1970)=4'), "title 'Twin Sag A (1970)' is not in the model's vocabulary. Closest: ['Twin Saga A (1970)'")
    fails(cli('recommend', '--model', tmp_path/'m.pkl', '--rate', 'Twin Saga A (1970)=4', '--user', '3'), 'not both')

def test_gibbs_blend_trains_saves_and_recommends(ml, tmp_path):
    res = ok(cli('train', '--data', ml/'r.csv', '--ensemble', '2', '--gibbs', '30', '--lr-bias', '0.01', '--wd-bias', '0', '--bs', '256', '--seed', '0', '--save', tmp_path/'g.pkl'))
    assert 'Sampled the same model by Gibbs sampling (30 sweeps, 30 factors, 24 draws kept)' in res.stdout
    mse = float(re.search(r'Valid MSE (\d+\.\d+)', res.stdout)[1])
    assert mse < 1.0, res.stdout
    t = planted(synth_ratings(n_users=120, n_items=150, n_ratings=6000, seed=4))
    assert re.search(r'Lowest bias: (.*)', res.stdout)[1].count('Notorious Flop') >= 2, res.stdout
    out = ok(cli('recommend', '--model', tmp_path/'g.pkl', '--user', '1', '-n', '3')).stdout
    assert out.startswith('Recommendations for user 1') and len(out.strip().splitlines()) == 5
    out = ok(cli('recommend', '--model', tmp_path/'g.pkl', '--rate', f"{t['twins'][0]}=5", '-n', '3')).stdout
    assert t['twins'][0] not in out and len(out.strip().splitlines()) == 5 and 'Beloved Classic' in out, out
    ok(cli('similar', '--model', tmp_path/'g.pkl', '--title', 'Twin Saga A (1970)', '-n', '2'))

def test_gibbs_counts_the_draws_alone(ratings, capsys):
    "A trained part that holds the bias baseline as a member (a tuned recipe's blend, baseline_weight < 1): --gibbs counts its draws without it"
    from types import SimpleNamespace
    from fastai_dotbias.evaluate import fit_recipe
    from fastai_dotbias.commands import _gibbs_or_not
    learn = fit_recipe(ratings.iloc[:16_000], ratings.iloc[16_000:], epochs=1, bs=512, baseline_weight=0.9)
    assert len(learn.model.models) == 2   # the model and the baseline
    capsys.readouterr()
    blend = _gibbs_or_not(SimpleNamespace(gibbs=10, ensemble=1), learn, 0)
    assert len(blend.model.models) == 10
    assert 'Sampled the same model by Gibbs sampling (10 sweeps, 30 factors, 8 draws kept)' in capsys.readouterr().out

def test_evaluate_with_gibbs_and_bias_recipe(ml):
    out = ok(cli('evaluate', '--data', ml/'ml-100k', '--split', 'u1', '--gibbs', '20', '--lr-bias', '0.01', '--wd-bias', '0')).stdout
    assert 'wd=0.1, lr_bias=0.01, wd_bias=0.0), n_factors=50, bs=64, half and half with 20 Gibbs sweeps' in out, out
    assert _line.match(_metrics(out.strip())[-1]), out
    assert re.search(r'^u1: the trained part alone: RMSE \d\.\d{4}  MAE \d\.\d{4}$', out, re.M), out

def test_bias_recipe_in_a_plain_run(ml):
    out = ok(cli('train', '--data', ml/'r.csv', '--epochs', '1', '--lr-bias', '0.02', '--wd-bias', '0')).stdout
    assert 'Recipe: fit_one_cycle(1, 0.005, wd=0.1, lr_bias=0.02, wd_bias=0.0), n_factors=50' in out and 'Valid MSE' in out

@pytest.mark.parametrize('args,msg', [(['--gibbs', '-1'], 'argument --gibbs: must be at least 0'), (['--gibbs', 'x'], 'argument --gibbs'),
                                      (['--lr-bias', '0'], 'argument --lr-bias: must be above 0'), (['--wd-bias', 'nan'], 'argument --wd-bias')])
def test_gibbs_and_bias_bad_arguments(ml, args, msg):
    fails(cli('train', '--data', ml/'r.csv', *args), msg)
