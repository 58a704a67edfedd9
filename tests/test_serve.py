"The serving export as a user runs it: train, `learn.export_factors`, `DotBiasScorer.load`, and the same answers as `BiasInterpretation`, for one model, an ensemble and a blend with linear Gibbs draws; broken files; the import stays free of torch."
import subprocess, sys, time, zipfile
import numpy as np, pandas as pd, pytest
from fastai.tabular.all import load_learner
from fastai.collab import CollabDataLoaders, collab_learner
from fastai_dotbias.all import BiasInterpretation, DotBiasScorer, fit_recipe, planted, with_gibbs
from clirun import run_cli

def _same(res, df, eps=1e-4):
    "The dict of columns `res` is the frame `df`, column by column"
    assert list(res) == list(df.columns)
    for k,v in res.items():
        if v.dtype.kind == 'f': np.testing.assert_allclose(v, df[k].to_numpy(), atol=eps, rtol=0, err_msg=k)
        else: assert v.tolist() == df[k].tolist(), k

@pytest.fixture(scope='module')
def learners(ratings, tmp_path_factory):
    "One model, an ensemble of two seeds, and the first blended with linear Gibbs draws, each with its path in a fresh folder"
    trn,val = ratings.iloc[:16_000],ratings.iloc[16_000:]
    single = fit_recipe(trn, val, n_factors=20, epochs=2, bs=256, lr=1e-2)
    res = dict(single=single, ensemble=fit_recipe(trn, val, n_factors=20, epochs=2, bs=256, lr=1e-2, ensemble=2),
               gibbs=with_gibbs(single, sweeps=6, n_factors=5, keep=3))
    for k,l in res.items(): l.path = tmp_path_factory.mktemp(k)
    return res

def _both_ways(learn):
    "Scorers from `learn.export_factors` on the trained learner and on the learner `learn.export()` wrote and `load_learner` read"
    direct = DotBiasScorer.load(learn.export_factors('model.npz'))
    learn.export('model.pkl')
    loaded = load_learner(learn.path/'model.pkl')
    return direct,DotBiasScorer.load(loaded.export_factors(learn.path/'loaded.npz'))

@pytest.mark.parametrize('kind', ['single', 'ensemble', 'gibbs'])
def test_answers_match_interpretation(learners, ratings, kind):
    learn = learners[kind]
    interp = BiasInterpretation.from_learner(learn)
    truth = planted(ratings)
    new = {truth['loved'][0]: 5, truth['hated'][1]: 1, interp.items[30]: 4}
    users = list(ratings.user.unique()[:4])
    for scorer in _both_ways(learn):
        assert len(scorer.members) == {'single': 1, 'ensemble': 2, 'gibbs': 4}[kind]
        for u in users: _same(scorer.recommend(u), interp.recommend(u))
        _same(scorer.recommend(str(users[0]), n=5, min_ratings=50), interp.recommend(users[0], n=5, min_ratings=50))
        for t in truth['twins'][:2]: _same(scorer.similar(t), interp.most_similar(t))
        _same(scorer.top_k(10), interp.top_k(10))
        folded,ref = scorer.fold_in(new),interp.fold_in(new)
        if kind=='single': folded,ref = [folded],[ref]
        for (f,b),(f0,b0) in zip(folded, ref):
            np.testing.assert_allclose(f, f0.numpy(), atol=1e-3)   # LBFGS in float32 stops within ~1e-4 of the minimum
            assert abs(b - b0.item()) < 1e-3
        _same(scorer.recommend_new(new, n=10), interp.recommend_new(new, n=10), eps=1e-3)

def test_gibbs_members_are_linear(learners):
    scorer = DotBiasScorer.load(learners['gibbs'].export_factors('linear.npz'))
    assert scorer.y_ranges[0] is not None and scorer.y_ranges[1:] == [None]*3
    np.testing.assert_allclose(scorer.weights, [0.5] + [0.5/3]*3)

def test_fastai_collab_learner(ratings, tmp_path):
    "fastai's own `collab_learner` (`EmbeddingDotBias` on `CollabDataLoaders`) exports the same way"
    dls = CollabDataLoaders.from_df(ratings, item_name='title', bs=256, seed=1)
    learn = collab_learner(dls, n_factors=10, y_range=(0, 5.5), path=tmp_path)
    with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(1, 1e-2)
    scorer,interp = DotBiasScorer.load(learn.export_factors()),BiasInterpretation.from_learner(learn)
    assert (tmp_path/'factors.npz').exists()
    u = ratings.user.iloc[0]
    _same(scorer.recommend(u), interp.recommend(u))
    _same(scorer.top_k(5, users=[u, ratings.user.iloc[1]]), interp.top_k(5, users=[u, ratings.user.iloc[1]]))

def test_smaller_than_learner_export(learners):
    learn = learners['single']
    npz = learn.export_factors('size.npz').stat().st_size
    learn.export('size.pkl')
    pkl = (learn.path/'size.pkl').stat().st_size
    print(f"factors .npz {npz/1e3:.0f} kB, learn.export() {pkl/1e3:.0f} kB ({npz/pkl:.0%})")
    assert npz < pkl/2

def test_broken_files_are_one_clear_error(learners, tmp_path):
    good = learners['single'].export_factors(tmp_path/'good.npz')
    (tmp_path/'cut.npz').write_bytes(good.read_bytes()[:len(good.read_bytes())//2])
    (tmp_path/'ratings.npz').write_text('user,title,rating\n1,Alien (1979),5\n')
    np.savez(tmp_path/'foreign.npz', weights=np.ones(3), embeddings=np.zeros((4, 2)))
    with zipfile.ZipFile(good) as z, zipfile.ZipFile(tmp_path/'gutted.npz', 'w') as out:   # a zip with one array left out
        for n in z.namelist():
            if n != 'seen_indices.npy': out.writestr(n, z.read(n))
    whys = {'cut.npz': 'damaged or truncated', 'ratings.npz': 'neither a NumPy .npz nor a .npy file',
            'foreign.npz': 'a .npz with other arrays (weights, embeddings)', 'gutted.npz': "lacks the arrays ['seen_indices']"}
    for name,why in whys.items():
        with pytest.raises(ValueError) as e: DotBiasScorer.load(tmp_path/name)
        msg = str(e.value)
        assert str(tmp_path/name) in msg and why in msg and 'Export it again with `learn.export_factors' in msg, msg
        assert e.value.__cause__ is None and '\n' not in msg
    with pytest.raises(FileNotFoundError, match='There is no factors file'): DotBiasScorer.load(tmp_path/'nowhere.npz')

def test_unknown_names(learners):
    scorer = DotBiasScorer.load(learners['single'].export_factors('names.npz'))
    with pytest.raises(KeyError, match=r"Closest: \['Beloved Classic A \(1950\)'"): scorer.similar('Beloved Clasic A (1950)')
    with pytest.raises(KeyError, match="user 99999 is not in the model's vocabulary"): scorer.recommend(99_999)
    with pytest.raises(ValueError, match='n=0'): scorer.top_k(0)

def test_import_is_numpy_only_and_first_answer_is_fast(learners):
    "In a fresh interpreter: no torch, fastai or pandas; load and first recommendation well within a second"
    fname = learners['ensemble'].export_factors('fast.npz')
    code = (f"import time; t = time.perf_counter()\nimport sys, fastai_dotbias.serve as s\n"
            f"r = s.DotBiasScorer.load({str(fname)!r}).recommend(1)\nprint(time.perf_counter()-t)\n"
            "bad = [m for m in ('torch', 'fastai', 'pandas', 'fastcore') if m in sys.modules]; assert not bad, bad")
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert float(out.stdout) < 1, out.stdout

def _cli(*args):
    env = {**__import__('os').environ, 'OMP_NUM_THREADS': '1', 'MPLBACKEND': 'Agg'}
    res = run_cli(*args, env=env, timeout=300)
    return res

def test_cli_saves_and_serves_factors_without_fastai(tmp_path):
    "`train --save m.npz` writes the factors; `recommend`/`similar` answer from it as from the pickle, without importing fastai or torch"
    for f in ('m.npz', 'm.pkl'):
        res = _cli('train', '--data', 'sample', '--seed', '0', '--epochs', '2', '--save', tmp_path/f)
        assert res.returncode == 0 and ('Saved factors:' if f.endswith('npz') else 'Saved learner:') in res.stdout, res.stderr
    for q in (['recommend', '--user', '7', '-n', '5'], ['recommend', '--rate', 'Twin Saga A (1970)=5', '-n', '5'], ['similar', '--title', 'Twin Saga A (1970)', '-n', '5']):
        a,b = (_cli(q[0], '--model', tmp_path/f, *q[1:]) for f in ('m.npz', 'm.pkl'))
        assert a.returncode == b.returncode == 0, (a.stderr, b.stderr)
        titles = lambda out: [l.rsplit(None, len(out.splitlines()[1].split())-1)[0].strip() for l in out.splitlines()[2:]]   # each row without its numbers
        assert len(titles(a.stdout)) == 5 and titles(a.stdout) == titles(b.stdout), (a.stdout, b.stdout)
    code = (f"import sys\nfrom fastai_dotbias.cli import main\nmain(['similar', '--model', {str(tmp_path/'m.npz')!r}, '--title', 'Twin Saga A (1970)'])\n"
            "assert not {'torch', 'fastai'} & set(sys.modules), 'imported torch or fastai'\n")
    subprocess.run([sys.executable, '-c', code], check=True, capture_output=True, timeout=60)
    (tmp_path/'bad.npz').write_text('user,item,rating\n')
    res = _cli('recommend', '--model', tmp_path/'bad.npz')
    assert res.returncode == 2 and res.stderr.count('\n') == 1 and 'is not a factors file written by `learn.export_factors`' in res.stderr, res.stderr
