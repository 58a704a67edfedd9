"The sparse path as a user meets it: dotbias_learner(sparse=True) learns, exports and loads, interprets, is reproducible, and refuses what it cannot do."
import torch, numpy as np, pytest
from fastai.tabular.all import Adam, set_seed, load_learner
from fastai_dotbias.all import (DotBiasDataLoaders, DotProductBias, SparseDotProductBias, LazyAdam, FusedAdam, dotbias_learner,
                                BiasInterpretation, planted)

def _fit(learn, n=3, lr=5e-3):
    with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(n, lr, wd=0.1)
    return learn.recorder.values

def _learner(ratings, **kwargs):
    set_seed(0)
    return dotbias_learner(DotBiasDataLoaders.from_df(ratings, item_name='title', bs=64, seed=1), sparse=True, **kwargs)

def test_sparse_learns_planted_truths(ratings):
    learn = _learner(ratings)
    start = learn.validate()[0]
    vals = _fit(learn, 5)
    assert vals[-1][1] < 0.6 < start, (start, vals)
    truth, interp = planted(ratings), BiasInterpretation.from_learner(learn)
    top, bottom = set(interp.highest(5)[interp.item]), set(interp.lowest(5)[interp.item])
    assert set(truth['loved']) <= top and set(truth['hated']) <= bottom

def test_sparse_grads_and_untouched_rows(ratings):
    learn = _learner(ratings)
    learn.create_opt()
    before = [p.detach().clone() for p in learn.model.parameters()]
    xb, yb = learn.dls.one_batch()
    learn.loss_func(learn.model(xb), yb).backward()
    assert all(p.grad.is_sparse for p in learn.model.parameters())
    learn.opt.step()
    for (n, p), b in zip(learn.model.named_parameters(), before):
        rows = xb[:, 0 if n.startswith('user') else 1].unique()
        others = torch.ones(len(p), dtype=torch.bool); others[rows] = False
        assert torch.equal(p.detach()[others], b[others]), n
        assert not torch.equal(p.detach()[rows], b[rows]), n

def test_export_load_same_predictions_as_dense_model(ratings, tmp_path):
    learn = _learner(ratings)
    _fit(learn, 1)
    new = ratings.iloc[:50]
    preds, _ = learn.get_preds(dl=learn.dls.test_dl(new))
    learn.export(tmp_path/'m.pkl')
    learn2 = load_learner(tmp_path/'m.pkl')
    assert isinstance(learn2.model, SparseDotProductBias) and isinstance(learn2.model, DotProductBias)
    preds2, _ = learn2.get_preds(dl=learn2.dls.test_dl(new))
    assert torch.equal(preds, preds2)
    dense = DotProductBias.from_classes(50, learn.dls.classes)
    dense.load_state_dict(learn.model.state_dict())
    x = learn.dls.test_dl(new).one_batch()[0]
    with torch.no_grad(): assert torch.allclose(dense(x), learn2.model(x))
    rating, pred, _ = learn2.predict(new.iloc[0])
    assert abs(rating - preds[0].item()) < 1e-6

def test_same_seed_bit_identical(ratings):
    def run():
        learn = _learner(ratings)
        vals = _fit(learn, 2)
        return np.array(vals), [p.detach().clone() for p in learn.model.parameters()]
    (v1, p1), (v2, p2) = run(), run()
    assert np.array_equal(v1, v2)
    assert all(torch.equal(a, b) for a, b in zip(p1, p2))

def test_hypers_follow_fastai(ratings):
    learn = _learner(ratings)
    _fit(learn, 1)
    assert isinstance(learn.opt, LazyAdam)
    h = learn.opt.hypers[0]
    assert h['wd'] == 0.1 and set(h) >= {'lr', 'mom', 'sqr_mom', 'eps', 'wd'}
    with learn.no_bar(), learn.no_logging(): learn.fit(1, 1e-3, wd=0.)
    assert learn.opt.hypers[0]['wd'] == 0. and learn.opt.hypers[0]['lr'] == 1e-3

def test_dense_only_optimizer_refused(ratings):
    dls = DotBiasDataLoaders.from_df(ratings, item_name='title', bs=64, seed=1)
    for opt in (Adam, FusedAdam):
        with pytest.raises(TypeError, match=r"sparse=True .* needs dense ones\. Use `opt_func=LazyAdam`"):
            dotbias_learner(dls, sparse=True, opt_func=opt)
    assert dotbias_learner(dls).opt_func is FusedAdam and isinstance(dotbias_learner(dls).model, DotProductBias)
