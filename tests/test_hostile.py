"""The reliability contract, tried the hostile way through the installed `fastai-dotbias` command and the API.

Every failure: exit status 2, one line `fastai-dotbias: error: ...` on stderr naming the problem and the fix, no traceback.
Ctrl-C: exit status 130 and one line. A run that exits 0 trained a model. The same seed gives the same run.
Fixtures are generated here (no MovieLens in the repository)."""
import os, re, signal, subprocess, sys, time
from pathlib import Path
import numpy as np, pandas as pd, pytest, torch
from fastai_dotbias.synth import synth_ratings, save_ml100k
from clirun import run_cli

CLI = str(Path(sys.executable).parent/'fastai-dotbias')

def cli(*args, home=None, timeout=300, fresh=False):
    "Run the installed command (a fork of a process that imported it once, or with `fresh` a new interpreter: see clirun.py)"
    env = {**os.environ, 'OMP_NUM_THREADS': '1', 'MPLBACKEND': 'Agg'}
    if home: env['FASTAI_HOME'] = str(home)
    return run_cli(*args, env=env, timeout=timeout, fresh=fresh)

def ok(res):
    assert res.returncode == 0, res.stderr
    assert 'Traceback' not in res.stderr
    return res

def fails(res, *fragments, code=2):
    "Assert the contract of a failure and that its one line holds each of `fragments`"
    assert res.returncode == code, (res.returncode, res.stdout[-500:], res.stderr)
    assert 'Traceback' not in res.stderr, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert lines[0].startswith('fastai-dotbias: error: ' if code == 2 else 'fastai-dotbias: '), lines[0]
    for f in fragments: assert f in lines[0], (f, lines[0])
    return lines[0]

def untimed(out): return re.sub(r'\d\d:\d\d\n', '\n', out)

@pytest.fixture(scope='module')
def d(tmp_path_factory):
    "A folder with generated ratings (CSV and MovieLens 100k layout) and a model trained on them"
    d = tmp_path_factory.mktemp('hostile')
    r = synth_ratings(n_users=60, n_items=80, n_ratings=2000, seed=3)
    r.to_csv(d/'r.csv', index=False)
    save_ml100k(r, d/'ml')
    ok(cli('train', '--data', d/'r.csv', '--epochs', '1', '--seed', '0', '--save', d/'m.pkl'))
    return d

@pytest.fixture(scope='module')
def r(d): return pd.read_csv(d/'r.csv')

# 1. Same seed, same run
def test_same_seed_same_run_in_two_processes(d):
    runs = [ok(cli('train', '--data', d/'r.csv', '--epochs', '2', '--seed', '7', '--save', d/f'seed{i}.pkl')) for i in (0, 1)]
    assert untimed(runs[0].stdout).replace('seed0', 'seed1') == untimed(runs[1].stdout)
    from fastai_dotbias.commands import load_model
    a, b = (load_model(d/f'seed{i}.pkl').model for i in (0, 1))
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    other = ok(cli('train', '--data', d/'r.csv', '--epochs', '2', '--seed', '8'))
    assert untimed(other.stdout) != untimed(runs[0].stdout).split('Saved learner')[0]

_api_run = '''
import sys, hashlib, torch
from fastai.tabular.all import *
from fastai_dotbias.all import *
r = synth_ratings(n_users=60, n_items=80, n_ratings=2000, seed=3)
if sys.argv[1] == 'seed-first': set_seed(5); dls = DotBiasDataLoaders.from_df(r, item_name='title', seed=5)
else: dls = DotBiasDataLoaders.from_df(r, item_name='title', seed=5); set_seed(5)
learn = dotbias_learner(dls)
with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(2, 5e-3, wd=0.1)
h = hashlib.sha256(repr(learn.recorder.values).encode())
for p in learn.model.parameters(): h.update(p.detach().numpy().tobytes())
print(h.hexdigest())
'''

def test_same_seed_same_run_api_either_order(tmp_path):
    (tmp_path/'run.py').write_text(_api_run)
    env = {**os.environ, 'OMP_NUM_THREADS': '1', 'PYTHONWARNINGS': 'ignore'}
    outs = [subprocess.run([sys.executable, tmp_path/'run.py', order], capture_output=True, text=True, env=env, check=True).stdout
            for order in ('seed-first', 'seed-after', 'seed-first')]
    assert outs[0] == outs[1] == outs[2] and len(outs[0].strip()) == 64

# 2. No exit 0 with a model that never trained
def test_ratings_too_large(d, r):
    r.assign(rating=r.rating*1e30).to_csv(d/'huge.csv', index=False)
    fails(cli('train', '--data', d/'huge.csv'), "'rating' has values as large as 5e+30", 'Rescale')

def test_no_full_batch(d, r):
    r.iloc[:35].to_csv(d/'r35.csv', index=False)
    fails(cli('train', '--data', d/'r35.csv', '--bs', '100000'), 'The training split has 28 ratings, fewer than one batch (--bs 100000)', 'Use --bs 28 or less')

@pytest.mark.parametrize('n', [1, 2])
def test_one_or_two_ratings(d, r, n):
    r.iloc[:n].to_csv(d/f'r{n}.csv', index=False)
    fails(cli('train', '--data', d/f'r{n}.csv'), 'The validation split is empty')

@pytest.mark.parametrize('args,msg', [(['--valid-pct', '1.0'], 'argument --valid-pct: must be between 0 and 1'),
                                      (['--wd', 'nan'], 'argument --wd: must be a finite number, got nan'),
                                      (['--lr', 'inf'], 'argument --lr: must be a finite number, got inf'),
                                      (['--epochs', '0'], 'argument --epochs: must be at least 1, got 0'),
                                      (['--seed', '-1'], 'argument --seed: must be between 0 and 4294967295')])
def test_bad_recipe_numbers(args, msg): fails(cli('train', '--data', 'sample', *args), msg, '--help')

def test_diverging_learning_rate(d):
    res = fails(cli('train', '--data', d/'r.csv', '--lr', '1e30', '--seed', '0'), 'Training diverged: lower the learning rate')
    assert 'Valid MSE' not in res

def test_api_non_finite_stops_before_the_step(r):
    from fastai.tabular.all import MSELossFlat
    from fastai_dotbias.all import DotBiasDataLoaders, dotbias_learner, TrainingError
    learn = dotbias_learner(DotBiasDataLoaders.from_df(r, item_name='title', seed=0))
    before = [p.detach().clone() for p in learn.model.parameters()]
    with learn.no_bar(), learn.no_logging(), pytest.raises(TrainingError, match='lr=inf is not a finite number'): learn.fit(1, float('inf'))
    assert all(torch.equal(p, q) for p, q in zip(before, learn.model.parameters()))

# 3. y_range comes from the data
def test_y_range_from_the_ratings(d, r):
    r.assign(rating=r.rating*2).to_csv(d/'ten.csv', index=False)
    res = ok(cli('train', '--data', d/'ten.csv', '--epochs', '1', '--seed', '0', '--save', d/'ten.pkl'))
    assert 'y_range=(0, 11.0)' in res.stdout
    recs = ok(cli('recommend', '--model', d/'ten.pkl', '-n', '5', '--user', r.user.iloc[0])).stdout
    scores = [float(l.split()[-3]) for l in recs.splitlines()[2:]]   # the raw score: title ... bias predicted score mean_rating n_ratings
    assert max(scores) > 5.5 and max(scores) <= 10

def test_y_range_that_cuts_the_ratings_warns(r):
    from fastai_dotbias.all import DotBiasDataLoaders, dotbias_learner
    dls = DotBiasDataLoaders.from_df(r.assign(rating=r.rating*2), item_name='title', seed=0)
    assert dotbias_learner(dls).model.y_range == (0, 11)
    with pytest.warns(UserWarning, match=r'y_range=\(0, 5.5\) does not cover the training ratings, which go from 2 to 10'):
        dotbias_learner(dls, y_range=(0, 5.5))

# 4. Outputs are checked before training and written atomically
def test_save_into_missing_folder(d):
    res = cli('train', '--data', d/'r.csv', '--save', d/'nowhere'/'m.pkl')
    fails(res, 'the folder', 'does not exist. Create it first')
    assert 'epoch' not in res.stdout

def test_save_onto_a_folder(d): fails(cli('train', '--data', d/'r.csv', '--save', d), 'is a folder. Give a file name')

def test_save_where_nothing_can_be_written(d): fails(cli('train', '--data', d/'r.csv', '--save', '/proc/m.pkl'), 'cannot write in /proc')

def test_plot_unknown_extension(d):
    res = cli('train', '--data', d/'r.csv', '--plot', d/'map.docx')
    fails(res, 'matplotlib cannot write .docx images. Use one of', 'png')
    assert 'epoch' not in res.stdout

def test_plot_without_extension(d): fails(cli('train', '--data', d/'r.csv', '--plot', d/'map'), 'has no extension', '.png')

def test_plots_are_written(d):
    res = ok(cli('train', '--data', d/'r.csv', '--epochs', '1', '--plot', d/'map.svg'))
    assert (d/'map.svg').stat().st_size > 1000 and (d/'map_bias_vs_mean.svg').stat().st_size > 1000
    assert f"Saved plots: {d/'map.svg'}, {d/'map_bias_vs_mean.svg'}" in res.stdout

def test_failed_run_keeps_the_saved_model(d):
    (d/'keep.pkl').write_bytes((d/'m.pkl').read_bytes())
    fails(cli('train', '--data', d/'absent.csv', '--save', d/'keep.pkl'), 'does not exist')
    assert (d/'keep.pkl').read_bytes() == (d/'m.pkl').read_bytes()
    assert not [o for o in d.iterdir() if o.name.endswith('.tmp')]

# 5. Unreadable model files
def _model_file(d, name, content):
    (d/name).write_bytes(content)
    return d/name

@pytest.mark.parametrize('kind,msg', [('random', 'is not a model saved by'), ('truncated', 'is not a model saved by'), ('empty', 'is empty (0 bytes)'),
                                      ('dict', 'holds a dict, not a saved fastai Learner'), ('folder', 'is a folder'), ('missing', 'does not exist')])
def test_unreadable_model_files(d, kind, msg):
    if kind == 'random': f = _model_file(d, 'random.pkl', np.random.default_rng(0).bytes(5000))
    elif kind == 'truncated': f = _model_file(d, 'cut.pkl', (d/'m.pkl').read_bytes()[:20_000])
    elif kind == 'empty': f = _model_file(d, 'empty.pkl', b'')
    elif kind == 'dict': torch.save({'a': 1}, d/'dict.pkl'); f = d/'dict.pkl'
    elif kind == 'folder': f = d
    else: f = d/'absent.pkl'
    for cmd in (['recommend'], ['similar', '--title', 'x']): fails(cli(cmd[0], '--model', f, *cmd[1:]), msg)

def test_model_file_of_another_kind_of_model(d, r):
    from fastai.tabular.all import Learner, MSELossFlat, nn
    from fastai_dotbias.all import DotBiasDataLoaders
    dls = DotBiasDataLoaders.from_df(r, item_name='title', seed=0)
    Learner(dls, nn.Linear(2, 1), loss_func=MSELossFlat()).export(d/'linear.pkl')
    fails(cli('recommend', '--model', d/'linear.pkl'), 'whose model is a Linear', 'need a dot-product model')

# 6. Queries never return nonsense
def test_recommend_more_than_the_catalogue(d, r):
    user = r.user.value_counts().index[0]
    res = ok(cli('recommend', '--model', d/'m.pkl', '--user', user, '-n', '100000', '--min-ratings', '1'))
    assert '#na#' not in res.stdout and '-inf' not in res.stdout and 'inf' not in res.stdout.split('\n', 2)[2]
    listed = res.stdout.strip().splitlines()[2:]
    assert not any(t in res.stdout for t in r.title[r.user == user])
    assert 0 < len(listed) <= r.title.nunique() - (r.user == user).sum()
    assert f'only {len(listed)} titles with at least 1 training rating are left' in res.stderr

def test_similar_more_than_the_catalogue(d, r):
    t = 'Twin Saga A (1970)'
    res = ok(cli('similar', '--model', d/'m.pkl', '--title', t, '-n', '100000', '--min-ratings', '1'))
    assert '#na#' not in res.stdout and t not in res.stdout.split('\n', 1)[1]
    assert 0 < len(res.stdout.strip().splitlines()) - 2 < r.title.nunique()   # a line naming the title, the table's header, its rows

@pytest.mark.parametrize('n', ['0', '-3', 'x'])
def test_bad_n(d, n): fails(cli('recommend', '--model', d/'m.pkl', '-n', n), 'argument -n')

def test_unknown_title_and_user(d):
    fails(cli('similar', '--model', d/'m.pkl', '--title', 'Twin Sag A (1970)'), "title 'Twin Sag A (1970)' is not in the model's vocabulary. Closest: ['Twin Saga A (1970)'")
    fails(cli('recommend', '--model', d/'m.pkl', '--user', '987654'), "user '987654' is not in the model's vocabulary")

def test_export_keeps_what_recommend_needs(d, r):
    "`learn.export()` from the API: no keep_ratings call, and recommend still skips rated titles"
    from fastai.tabular.all import set_seed
    from fastai_dotbias.all import DotBiasDataLoaders, dotbias_learner
    learn = dotbias_learner(DotBiasDataLoaders.from_df(r, item_name='title', seed=0))
    learn.export(d/'api.pkl')
    user = r.user.value_counts().index[0]
    out = ok(cli('recommend', '--model', d/'api.pkl', '--user', user, '-n', '1000')).stdout
    assert not any(t in out for t in r.title[r.user == user])

def test_book_path_export_refuses_to_recommend_rated_titles(d, r):
    from fastai.tabular.all import Learner, MSELossFlat
    from fastai.collab import CollabDataLoaders
    from fastai_dotbias.all import DotProductBias
    dls = CollabDataLoaders.from_df(r, item_name='title', bs=64, seed=0)
    learn = Learner(dls, DotProductBias(len(dls.classes['user']), len(dls.classes['title']), 8), loss_func=MSELossFlat())
    with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(3, 5e-3, wd=0.1)
    learn.export(d/'book.pkl')
    fails(cli('recommend', '--model', d/'book.pkl'), 'has no record of which titles each user rated', 'keep_ratings(learn)')
    assert len(ok(cli('similar', '--model', d/'book.pkl', '--title', 'Twin Saga A (1970)', '-n', '3')).stdout.strip().splitlines()) == 5

# 7. Interruption
def _interrupt(args, after):
    "Start the command, send SIGINT once `after` is in its output (or after the timeout), return the result"
    env = {**os.environ, 'OMP_NUM_THREADS': '1', 'MPLBACKEND': 'Agg'}
    # SIGINT as a terminal's Ctrl-C finds it, even when the tests themselves run where it is ignored (a background job)
    p = subprocess.Popen([CLI, *map(str, args)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                         preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    out = ''
    while after not in out:
        line = p.stdout.readline()
        if not line: break
        out += line
    p.send_signal(signal.SIGINT)
    rest, err = p.communicate(timeout=120)
    return subprocess.CompletedProcess(p.args, p.returncode, out+rest, err)

@pytest.fixture(scope='module')
def big(tmp_path_factory):
    f = tmp_path_factory.mktemp('big')/'big.csv'
    synth_ratings(n_users=300, n_items=400, n_ratings=40_000, seed=1).to_csv(f, index=False)
    return f

@pytest.mark.parametrize('path', [[], ['--sparse']], ids=['dense', 'sparse'])   # sparse: LazyAdam steps inside the backward
def test_ctrl_c_saves_the_last_completed_epoch(big, path):
    save = big.parent/f"int{''.join(path)}.pkl"
    res = _interrupt(['train', '--data', big, '--epochs', '50', '--seed', '0', '--save', save, *path], after='         1  ')
    line = fails(res, 'interrupted during epoch', 'of 50: saved the learner after its', code=130)
    assert int(re.search(r'after its (\d+) completed epoch', line)[1]) >= 1
    from fastai_dotbias.commands import load_model
    model = load_model(save).model
    assert model.user_factors.shape[1] == 50 and type(model).__name__ == ('SparseDotProductBias' if path else 'DotProductBias')
    assert all(torch.isfinite(p).all() for p in model.parameters())
    assert not [o for o in big.parent.iterdir() if o.name.endswith('.tmp')]

def test_ctrl_c_before_an_epoch_saves_nothing(big):
    save = big.parent/'early.pkl'
    res = _interrupt(['train', '--data', big, '--epochs', '50', '--save', save], after='Recipe:')
    fails(res, 'interrupted before the first epoch finished: nothing was saved', code=130)
    assert not save.exists()

# 8. Diagnoses that name the real cause
def test_utf16_csv_with_bom_is_read(d, r):
    r.to_csv(d/'u16.csv', index=False, encoding='utf-16')
    res = ok(cli('train', '--data', d/'u16.csv', '--epochs', '1'))
    assert f"ratings CSV {d/'u16.csv'} (UTF-16): 2,000 ratings" in res.stdout

def test_utf16_without_bom(d, r):
    (d/'u16le.csv').write_bytes(r.to_csv(index=False).encode('utf-16-le'))
    fails(cli('train', '--data', d/'u16le.csv'), 'has NUL bytes: it is UTF-16 text without a byte-order mark', 'Save it as UTF-8 CSV')

def test_semicolon_csv_is_read(d, r):
    r.to_csv(d/'semi.csv', index=False, sep=';')
    assert '(semicolon-separated): 2,000 ratings, 60 users' in ok(cli('train', '--data', d/'semi.csv', '--epochs', '1')).stdout

def test_headerless_csv(d, r):
    "A file without a header line is read by content, and the first line says which columns were chosen"
    r[['user', 'movie', 'rating', 'timestamp']].to_csv(d/'nohead.csv', index=False, header=False)
    res = ok(cli('train', '--data', d/'nohead.csv', '--epochs', '1', '--top', '3'))
    assert res.stdout.splitlines()[1].endswith('user=col1, item=col2, rating=col3'), res.stdout
    assert 'no header line, so the columns were chosen by their content' in res.stderr and 'col4 looks like timestamps' in res.stderr, res.stderr

def test_u_data_file_instead_of_its_folder(d): fails(cli('train', '--data', d/'ml'/'u.data'), 'is a file of MovieLens 100k', f"Pass its folder ({d/'ml'})")

def test_column_options(d, r):
    r.rename(columns={'user': 'who', 'title': 'what', 'rating': 'stars_given'}).drop(columns='movie').to_csv(d/'odd.csv', index=False)
    fails(cli('train', '--data', d/'odd.csv'), 'No user column found among', '--user-name')
    res = ok(cli('train', '--data', d/'odd.csv', '--user-name', 'who', '--item-name', 'what', '--rating-name', 'stars_given', '--epochs', '1', '--top', '3'))
    assert 'Notorious Flop' in res.stdout
    fails(cli('train', '--data', d/'odd.csv', '--user-name', 'whom'), "There is no user column 'whom'; the ratings have ['who', 'rating'"[:40])

def test_spreadsheet_instead_of_csv(d):
    (d/'r.xlsx').write_bytes(b'PK\x03\x04' + bytes(200))
    fails(cli('train', '--data', d/'r.xlsx'), 'is not a CSV text file: it looks like a zip archive or an Excel .xlsx workbook')

def test_model_file_given_as_data(d): fails(cli('train', '--data', d/'m.pkl'), 'looks like a saved model, not ratings')

def test_ids_as_text_match_the_vocabulary(d, r):
    "`--user 7` is text; the vocabulary holds the integer 7"
    user = r.user.value_counts().index[0]
    assert f'Recommendations for user {user}' in ok(cli('recommend', '--model', d/'m.pkl', '--user', str(user), '-n', '2')).stdout
    from fastai_dotbias.all import DotBiasDataLoaders
    dls = DotBiasDataLoaders.from_df(r, item_name='title', seed=0)
    assert len(dls.test_dl(r.iloc[:5].assign(user=r.user.iloc[:5].astype(str))).dataset) == 5

@pytest.mark.parametrize('source,msg', [(None, 'got NoneType'), ([1, 2], "got list '[1, 2]'"), (3.5, 'got float')])
def test_load_ratings_wrong_type(source, msg):
    from fastai_dotbias.all import load_ratings
    with pytest.raises(TypeError, match=re.escape(msg)): load_ratings(source)

def test_mixed_id_types(r):
    from fastai_dotbias.all import DotBiasDataLoaders, RatingsError
    with pytest.raises(RatingsError, match=r"Column 'user' mixes id types \(int, str\)"):
        DotBiasDataLoaders.from_df(r.assign(user=r.user.astype(object).where(r.index != 0, 'u1')), item_name='title')

# 9. Nothing but what helps
def test_clean_runs_print_nothing_on_stderr(d):
    "In new interpreters, so that what importing fastai and PyTorch warns about would show"
    assert ok(cli('train', '--data', 'sample', fresh=True)).stderr == ''   # the book's 5 epochs: it beats the baselines, so no note
    assert ok(cli('recommend', '--model', d/'m.pkl', '-n', '2', fresh=True)).stderr == ''
    assert ok(cli('similar', '--model', d/'m.pkl', '--title', 'Twin Saga A (1970)', '-n', '2', fresh=True)).stderr == ''

def test_duplicates_noted_once(d, r):
    pd.concat([r, r.iloc[:3]]).to_csv(d/'dup.csv', index=False)
    res = ok(cli('train', '--data', d/'dup.csv', '--epochs', '1'))
    dup = [l for l in res.stderr.splitlines() if 'rows repeat' in l]
    assert len(dup) == 1 and dup[0].startswith('fastai-dotbias: note: 6 rows repeat a (user, title) pair'), res.stderr

def test_help_says_to_trust_model_files():
    out = ok(cli('recommend', '--help')).stdout
    assert 'load only files you trust' in ' '.join(out.split())
    for cmd in ('train', 'recommend', 'similar'):
        helps = ok(cli(cmd, '--help')).stdout
        opts = re.findall(r'^\s+(-[-\w]+)[^\n]*\n', helps, re.M)
        assert all(re.search(rf'^\s+{re.escape(o)}\b.*\S\s{{2,}}\S', helps, re.M) or re.search(rf'^\s+{re.escape(o)}.*\n\s{{10,}}\S', helps, re.M) for o in opts), helps

def test_output_into_a_reader_that_stops(d):
    "`fastai-dotbias train | head -1`: the command ends quietly with status 141 (as shell tools do), no traceback, no error line"
    env = {**os.environ, 'OMP_NUM_THREADS': '1', 'MPLBACKEND': 'Agg'}
    p = subprocess.Popen([CLI, 'train', '--data', str(d/'r.csv'), '--epochs', '1', '--seed', '0'], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    assert p.stdout.readline().startswith(b'Device: ')   # the first line; the reader stops after it
    p.stdout.close()
    err = p.stderr.read().decode(); p.wait(timeout=300)
    assert p.returncode == 141, (p.returncode, err)
    assert err == '', err

def test_unknown_user_says_what_is_known(d):
    line = fails(cli('recommend', '--model', d/'m.pkl', '--user', '987654'), "user '987654' is not in the model's vocabulary. It knows 60 of them, e.g. ")
