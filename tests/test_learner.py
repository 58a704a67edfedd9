"The package as a user imports it: the book's code path, the factory, export/load round trips."
import torch, numpy as np, pandas as pd, pytest
from fastai.collab import CollabDataLoaders
from fastai.tabular.all import Learner, MSELossFlat, set_seed, load_learner
from fastai_dotbias.all import DotBiasDataLoaders, DotProductBias, dotbias_learner, ShowBiasesCallback

def _fit(learn, n=5):
    with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(n, 5e-3, wd=0.1)
    return learn.recorder.values

def test_book_code_path_learns(ratings):
    "fastbook's exact code: CollabDataLoaders + Learner(DotProductBias) + MSELossFlat + fit_one_cycle(5, 5e-3, wd=0.1)"
    set_seed(0)
    dls = CollabDataLoaders.from_df(ratings, item_name='title', bs=64, seed=1)
    n_users, n_movies = len(dls.classes['user']), len(dls.classes['title'])
    learn = Learner(dls, DotProductBias(n_users, n_movies, 50), loss_func=MSELossFlat())
    start = learn.validate()[0]
    vals = _fit(learn)
    assert vals[-1][1] < 0.6 < start, (start, vals)

def test_dotbias_learner_learns(ratings):
    set_seed(0)
    dls = DotBiasDataLoaders.from_df(ratings, item_name='title', bs=64, seed=1)
    learn = dotbias_learner(dls, n_factors=50, y_range=(0,5.5))
    start = learn.validate()[0]
    vals = _fit(learn)
    assert vals[-1][1] < 0.6 < start, (start, vals)
    assert vals[-1][1] < vals[0][1]

def test_model_is_four_parameters_no_embedding(ratings):
    dls = DotBiasDataLoaders.from_df(ratings, item_name='title', bs=64, seed=1)
    model = dotbias_learner(dls).model
    assert len(list(model.parameters())) == 4
    assert not any(isinstance(m, torch.nn.Embedding) for m in model.modules())
    assert [p.shape for p in model.parameters()] == [(301, 50), (301,), (401, 50), (401,)]

@pytest.mark.parametrize('loaders', ['dotbias', 'fastai'])
def test_export_load_same_predictions(ratings, tmp_path, loaders):
    set_seed(0)
    mk = DotBiasDataLoaders if loaders=='dotbias' else CollabDataLoaders
    dls = mk.from_df(ratings, item_name='title', bs=64, seed=1)
    if loaders=='fastai':
        with pytest.warns(UserWarning, match='samples with replacement'): learn = dotbias_learner(dls, cbs=ShowBiasesCallback(3))
    else: learn = dotbias_learner(dls, cbs=ShowBiasesCallback(3))
    _fit(learn, 1)
    new = ratings.iloc[:50]
    preds, _ = learn.get_preds(dl=dls.test_dl(new))
    learn.export(tmp_path/'m.pkl')
    learn2 = load_learner(tmp_path/'m.pkl')
    preds2, _ = learn2.get_preds(dl=learn2.dls.test_dl(new))
    assert torch.equal(preds, preds2)
    assert isinstance(learn2.model, DotProductBias)
    assert any(isinstance(cb, ShowBiasesCallback) for cb in learn2.cbs)

def test_predict_and_unknown_ids(ratings, tmp_path):
    set_seed(0)
    dls = DotBiasDataLoaders.from_df(ratings, item_name='title', bs=64, seed=1)
    learn = dotbias_learner(dls)
    _fit(learn, 1)
    learn.export(tmp_path/'m.pkl')
    learn = load_learner(tmp_path/'m.pkl')
    row = ratings.iloc[0]
    rating, pred, raw = learn.predict(row)
    u, t = dls.classes['user'].o2i[row.user], dls.classes['title'].o2i[row.title]
    with torch.no_grad(): expect = learn.model(torch.tensor([[u, t]]))
    assert torch.allclose(pred, expect[0]) and 0 < float(pred) < 5.5
    preds, targs = learn.get_preds(dl=learn.dls.test_dl(ratings.iloc[:10], with_labels=True))
    assert preds.shape == (10,) and torch.equal(targs.view(-1), torch.tensor(ratings.rating.iloc[:10].values, dtype=torch.float32))
    with pytest.raises(KeyError, match=r"user \[123456\] not in the training vocabulary"):
        learn.dls.test_dl(pd.DataFrame({'user': [123456], 'title': [row.title]}))

def test_same_seed_same_losses(ratings):
    def run():
        set_seed(3)
        dls = DotBiasDataLoaders.from_df(ratings, item_name='title', bs=64, seed=1)
        return _fit(dotbias_learner(dls), 2)
    assert np.allclose(run(), run())

def test_lr_find_runs(ratings):
    dls = DotBiasDataLoaders.from_df(ratings, item_name='title', bs=64, seed=1)
    learn = dotbias_learner(dls)
    with learn.no_bar(), learn.no_logging():
        res = learn.lr_find(num_it=30, show_plot=False)
    assert res.valley > 0
