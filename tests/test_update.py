"`Learner.update` and `train --resume`: new users and titles folded in, fine-tuned, old users kept; `recommend --all` to a file."
import os, pickle, re, subprocess, sys
import numpy as np, pandas as pd, pytest, torch
from fastai.tabular.all import set_seed, load_learner, sigmoid_range, Callback
from fastai_dotbias.all import *
from fastai_dotbias.update import _rmse_on, _fold_item
from clirun import run_cli

@pytest.fixture(scope='module')
def split():
    "Generated ratings split into a base (trained on) and later ratings: 30 new users, 25 new titles and more ratings of known pairs"
    r = synth_ratings(n_users=300, n_items=400, n_ratings=20_000, n_factors=6, noise=0.5, seed=3)
    rng = np.random.default_rng(0)
    new_u, new_i = set(rng.choice(r.user.unique(), 30, replace=False)), set(rng.choice(r.title.unique(), 25, replace=False))
    later = r.user.isin(new_u) | r.title.isin(new_i) | (rng.random(len(r)) < 0.03)
    held = rng.random(len(r)) < 0.2
    return r[~later], r[later & ~held], r[later & held], new_u, new_i

@pytest.fixture(scope='module')
def base(split):
    set_seed(0)
    dls = DotBiasDataLoaders.from_df(split[0], item_name='title', bs=128, seed=0)
    learn = dotbias_learner(dls, n_factors=16)
    with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(5, 5e-3, wd=0.1)
    return learn

def _copy(learn):
    l = dotbias_learner(learn.dls, n_factors=16); l.model = pickle.loads(pickle.dumps(learn.model))
    return l

def test_fold_in_only_grows_and_keeps_old_rows(base, split):
    learn = _copy(base)
    old = {k: v.detach().clone() for k,v in learn.model.named_parameters()}
    users, items = list(learn.dls.classes['user']), list(learn.dls.classes['title'])
    learn.update(split[1], epochs=0)
    info = learn.update_info
    assert (info['new_users'], info['new_items']) == (len(split[3]), len(split[4]))
    assert list(learn.dls.classes['user'])[:len(users)] == users and list(learn.dls.classes['title'])[:len(items)] == items
    for k,v in learn.model.named_parameters():
        assert torch.equal(v[:len(old[k])], old[k]), k                     # no old row moved
        assert len(v) == len(learn.dls.classes['user' if k.startswith('user') else 'title'])
    assert len(learn.dls.train_ds) == len(base.dls.train_ds) + len(split[1])   # the learner now holds every training rating
    # a new user's folded-in row predicts their held-out ratings better than the average user's row
    m, interp = learn.model, BiasInterpretation.from_learner(learn)
    te = split[2][split[2].user.isin(split[3]) & ~split[2].title.isin(split[4])]
    x = RatingsDataset.from_df(te, learn.dls.classes, ['user', 'title'], 'rating').x
    avg = m.user_factors[1:len(users)].mean(0), m.user_bias[1:len(users)].mean()
    with torch.no_grad():
        folded = m(x)
        prior = sigmoid_range((avg[0]*m.movie_factors[x[:,1]]).sum(1) + avg[1] + m.movie_bias[x[:,1]], *m.y_range)
    y = torch.tensor(te.rating.values, dtype=torch.float32)
    assert ((folded-y)**2).mean() < 0.9*((prior-y)**2).mean()   # measured: 0.61 vs 0.71

def test_fine_tune_learns_the_new_and_keeps_old_users_lists(base, split):
    before = _rmse_on(base, split[2])
    old_users = list(base.dls.classes['user'])[1:101]
    old_titles = set(split[0].title)
    def tops(l):
        t = BiasInterpretation.from_learner(l).top_k(30, users=old_users)
        return t[t.title.isin(old_titles)].groupby('user').title.apply(lambda s: set(list(s)[:10]))
    top0 = tops(base)
    learn = _copy(base)
    with learn.no_bar(), learn.no_logging(): learn.update(split[1], epochs=1, seed=0)
    after, n = _rmse_on(learn, split[2])
    assert n == len(split[2])                                              # every held-out rating is now of known users and titles
    assert after < 1.0, after
    known = split[2][~split[2].user.isin(split[3]) & ~split[2].title.isin(split[4])]
    assert _rmse_on(learn, known)[0] < _rmse_on(base, known)[0] + 0.02        # known pairs do not get worse
    top1 = tops(learn)
    kept = np.mean([len(top0[u] & top1[u])/10 for u in top0.index])
    assert kept >= 0.6, kept                                               # most of each old user's top 10 (old titles) stays
    assert before[1] < len(split[2])

def test_fold_in_item_fits_like_the_trained_row(base, split):
    "A title folded in from its training ratings (user tables frozen) fits them as well as the row training gave it, far better than the average title"
    interp = BiasInterpretation.from_learner(base)
    r = split[0]
    for t in r.title.value_counts().index[[5, 50, 150]]:
        f, b = interp.fold_in_item(dict(zip(r.user[r.title==t], r.rating[r.title==t])))
        i, y = interp._idx(t)[0], torch.tensor(r.rating[r.title==t].values, dtype=torch.float32)
        u = torch.tensor(interp._idx(list(r.user[r.title==t]), is_item=False))
        mse = lambda f, b: float(((sigmoid_range(interp.u_fac[u] @ f + interp.u_bias[u] + b, *interp.y_range) - y)**2).mean())
        assert mse(f, b) < 1.1*mse(interp.i_fac[i], interp.i_bias[i]), t
        assert mse(f, b) < 0.9*mse(interp.i_fac[1:].mean(0), interp.i_bias[1:].mean()), t

def test_update_after_export_and_hostile_input(base, split, tmp_path):
    learn = _copy(base); learn.path = tmp_path
    learn.export('m.pkl')
    loaded = load_learner(tmp_path/'m.pkl')
    with loaded.no_bar(), loaded.no_logging(): loaded.update(split[1], epochs=1, seed=0)
    assert len(loaded.dls.train_ds) == len(base.dls.train_ds) + len(split[1])
    scorer = DotBiasScorer.load(loaded.export_factors(tmp_path/'m.npz'))
    u = next(iter(split[3]))
    recs = scorer.recommend(u, n=20)
    assert not set(recs['title']) & set(split[1].title[split[1].user==u])   # what they rated in the update is not recommended
    for bad,msg in [(split[1].iloc[:0], 'empty'), (split[1].rename(columns={'rating': 'stars'}), 'not found'),
                    (split[1].assign(rating=np.nan), 'NaN')]:
        with pytest.raises(ValueError, match=msg): _copy(base).update(bad)
    with pytest.warns(UserWarning, match='does not cover'): _copy(base).update(split[1].assign(rating=split[1].rating*3), epochs=0)
    class Stop(Callback):
        def after_batch(self): raise KeyboardInterrupt()
    learn = _copy(base)
    with pytest.raises(KeyboardInterrupt), learn.no_bar(), learn.no_logging(): learn.update(split[1], cbs=[Stop()])
    assert len(learn.dls.train_ds) == len(base.dls.train_ds) + len(split[1]) and len(learn.model.user_bias) == len(learn.dls.classes['user'])   # still whole
    ens = fit_recipe(split[0].iloc[:3000], split[0].iloc[3000:3500], n_factors=4, epochs=1, ensemble=2)
    with pytest.raises(ValueError, match='ensemble'): ens.update(split[1])

def _cli(*args):
    env = {**os.environ, 'OMP_NUM_THREADS': '1', 'MPLBACKEND': 'Agg'}
    return run_cli(*args, env=env, timeout=300)

def _fails(res, text):
    assert res.returncode == 2 and 'Traceback' not in res.stderr and res.stderr.count('\n') == 1 and text in res.stderr, res.stderr

def test_cli_resume_and_recommend_all(split, tmp_path):
    base, later = split[0], split[1]
    base.to_csv(tmp_path/'base.csv', index=False); later.rename(columns={'user': 'userId', 'rating': 'stars'}).to_csv(tmp_path/'new.csv', index=False)
    res = _cli('train', '--data', tmp_path/'base.csv', '--item-name', 'title', '--seed', '0', '--epochs', '3', '--n-factors', '16', '--save', tmp_path/'m.pkl')
    assert res.returncode == 0, res.stderr
    before = (tmp_path/'m.pkl').read_bytes()
    _fails(_cli('train', '--resume', tmp_path/'m.pkl', '--data', tmp_path/'new.csv'), 'add --save')
    _fails(_cli('train', '--resume', tmp_path/'m.npz', '--data', tmp_path/'new.csv', '--save', tmp_path/'m2.pkl'), 'does not exist')
    res = _cli('train', '--resume', tmp_path/'m.pkl', '--data', tmp_path/'new.csv', '--item-name', 'title', '--seed', '0', '--save', tmp_path/'m2.pkl')
    assert res.returncode == 0, res.stderr
    out = res.stdout
    assert f"Added {len(split[3])} users and {len(split[4])} items" in out, out
    assert 'fit_one_cycle(1, 0.0005, wd=0.1)' in out and 'train_loss' in out and '\r' not in out
    b, a = map(float, re.search(r'RMSE on the new ratings: ([\d.]+) before .*?, ([\d.]+) after', out).groups())
    assert a < b, out                                                       # the new ratings are fitted better than before
    assert (tmp_path/'m.pkl').read_bytes() == before                        # the model resumed from is untouched
    res = _cli('recommend', '--model', tmp_path/'m2.pkl', '--all', '-n', '5', '--min-ratings', '1', '--out', tmp_path/'recs.parquet')
    assert res.returncode == 0, res.stderr
    recs = pd.read_parquet(tmp_path/'recs.parquet')
    assert list(recs.columns) == ['user', 'rank', 'title', 'predicted'] and recs.user.nunique() == len(set(base.user) | set(later.user))
    assert (recs.groupby('user')['rank'].apply(list).map(len) == 5).all()
    seen = set(zip(pd.concat([base, later]).user, pd.concat([base, later]).title))
    assert not any((u, t) in seen for u, t in zip(recs.user, recs.title))    # nobody is recommended what they rated, old or new
    assert 'top-N lists:' in res.stdout and '100%' in res.stdout             # progress as plain lines in a pipe
    _fails(_cli('recommend', '--model', tmp_path/'m2.pkl', '--all'), 'add --out')
    _fails(_cli('recommend', '--model', tmp_path/'m2.pkl', '--all', '--out', tmp_path/'recs.xlsx'), 'name it .parquet, .csv or .csv.gz')
    _fails(_cli('recommend', '--model', tmp_path/'m2.pkl', '--all', '--user', '3', '--out', tmp_path/'r.csv'), 'not both')
