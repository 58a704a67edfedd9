"fastai's collaborative-filtering calls, as fastai's own tests and `collab_learner` users make them, on this package's learner: fastai's 45_collab tests, show_results, Interpretation, bias/weight by id, summary, repr, and predict/get_preds on one row."
import torch, numpy as np, pytest
from torch.testing import assert_close
from fastai.collab import EmbeddingDotBias
from fastai.tabular.all import Learner, MSELossFlat, set_seed
from fastai.interpret import Interpretation
import fastai_dotbias.loader
from fastai_dotbias.all import DotBiasDataLoaders, DotProductBias, DotBiasEnsemble, dotbias_learner

@pytest.fixture(scope='module')
def dls(ratings): return DotBiasDataLoaders.from_df(ratings, item_name='title', bs=64, seed=1, device='cpu')

@pytest.fixture(scope='module')
def learn(dls):
    set_seed(0)
    learn = dotbias_learner(dls, n_factors=8)
    with learn.no_bar(), learn.no_logging(): learn.fit_one_cycle(1, 5e-3, wd=0.1)
    return learn

@pytest.fixture
def shown(monkeypatch):
    "The tables the loader displays, kept instead of printed"
    res = []
    monkeypatch.setattr(fastai_dotbias.loader, 'display_df', res.append)
    return res

def _forward(learn, df):
    "The model's own predictions for the rows of `df`"
    with torch.no_grad(): return learn.model(learn.dls.test_dl(df).dataset.x)

def _t(col): return torch.tensor(col.to_numpy(np.float32))

# fastai's tests of its dot-product model and learner (nbs/45_collab.ipynb), on DotProductBias and dotbias_learner

def test_fastai_collab_model_tests(dls):
    x,y = dls.one_batch()
    model = DotProductBias(len(dls.classes['user']), len(dls.classes['title']), 50, y_range=(0,5))
    out = model(x)
    assert (0 <= out).all() and (out <= 5).all()
    model = DotProductBias.from_classes(50, dls.classes, y_range=(0,5))
    out = model(x)
    assert (0 <= out).all() and (out <= 5).all()
    mov = dls.classes['title'][42]
    assert torch.equal(model.weight([mov]), model.movie_factors[torch.tensor([42])].detach())
    assert torch.equal(model.bias([mov]), model.movie_bias[torch.tensor([42])].detach())

def test_fastai_collab_learner_test(dls):
    "fastai's `learn = collab_learner(dls, y_range=(0,5)); learn.fit_one_cycle(1)`, with `dotbias_learner` (y_range covering the 5-star ratings)"
    set_seed(0)
    learn = dotbias_learner(dls, y_range=(0,5.5))
    with learn.no_bar(), learn.no_logging():
        start = learn.validate()[0]
        learn.fit_one_cycle(1)
    (trn,val), = learn.recorder.values
    assert np.isfinite(trn) and val < start

# bias and weight by id: fastai's EmbeddingDotBias API

def test_bias_weight_are_the_rows_of_the_tables(learn, dls):
    m = learn.model
    titles,users = list(dls.classes['title'][[5, 1, 42]]),list(dls.classes['user'][[3, 7]])
    assert torch.equal(m.bias(titles), m.movie_bias[[5, 1, 42]].detach())
    assert torch.equal(m.weight(titles), m.movie_factors[[5, 1, 42]].detach())
    assert torch.equal(m.bias(users, is_item=False), m.user_bias[[3, 7]].detach())
    assert torch.equal(m.weight(users, is_item=False), m.user_factors[[3, 7]].detach())
    assert m.weight(titles).shape == (3, 8) and not m.weight(titles).requires_grad

def test_bias_weight_answer_as_embedding_dot_bias(learn, dls):
    "fastai's `EmbeddingDotBias` holding the same tables gives the same predictions, biases and weights for the same ids"
    m = learn.model
    e = EmbeddingDotBias.from_classes(8, dls.classes, y_range=m.y_range)
    with torch.no_grad():
        for emb,t in ((e.u_weight, m.user_factors), (e.i_weight, m.movie_factors), (e.u_bias, m.user_bias[:,None]), (e.i_bias, m.movie_bias[:,None])): emb.weight.copy_(t)
        x = dls.one_batch()[0]
        assert_close(m(x), e(x))
    for ids,is_item in ((list(dls.classes['title'][[5, 1, 42]]), True), (list(dls.classes['user'][[3, 7]]), False)):
        assert_close(m.weight(ids, is_item=is_item), e.weight(ids, is_item=is_item))
        assert_close(m.bias(ids, is_item=is_item), e.bias(ids, is_item=is_item))

def test_bias_weight_errors(learn):
    with pytest.raises(KeyError, match=r"title \['Not A Film \(2001\)'\] not in the model's vocabulary of 400 titles"): learn.model.bias(['Not A Film (2001)'])
    with pytest.raises(KeyError, match=r"user \[99999\] not in the model's vocabulary"): learn.model.weight([1, 99999], is_item=False)
    with pytest.raises(ValueError, match="This model has no vocabularies"): DotProductBias(3, 4, 2).bias(['x'])

# show_results and Interpretation: tables, as fastai's tabular show_results

def test_show_results_is_a_table_with_the_predictions(learn, shown):
    with learn.no_bar(): learn.show_results(max_n=5)
    df, = shown
    assert list(df.columns) == ['user','title','rating','rating_pred'] and len(df) == 5
    assert_close(_t(df.rating_pred), _forward(learn, df))
    assert len(df.merge(learn.dls.valid_ds.items, on=['user','title','rating'])) == 5   # validation rows, with their ratings

def test_plot_top_losses_shows_the_k_worst(learn, shown):
    interp = Interpretation.from_learner(learn)
    with learn.no_bar(): interp.plot_top_losses(4)
    df, = shown
    assert list(df.columns) == ['user','title','rating','rating_pred','loss'] and len(df) == 4
    ds = learn.dls.valid_ds
    with torch.no_grad(): err = (learn.model(ds.x) - ds.y[:,0])**2
    assert_close(_t(df.loss), err.sort(descending=True).values[:4])
    assert_close(_t(df.rating_pred), _forward(learn, df))
    assert_close(_t((df.rating-df.rating_pred)**2), _t(df.loss), rtol=1e-4, atol=1e-5)
    with learn.no_bar(): interp.plot_top_losses(1)
    assert len(shown[1]) == 1 and shown[1].title[0] == df.title[0]

# summary and repr

def test_summary_counts_the_parameters(learn, dls):
    n = sum(p.numel() for p in learn.model.parameters())
    assert n == (len(dls.classes['user']) + len(dls.classes['title'])) * 9
    s = learn.summary()
    assert f"Total params: {n:,}\nTotal trainable params: {n:,}\n" in s, s
    fastai_s = Learner(dls, EmbeddingDotBias.from_classes(8, dls.classes), loss_func=MSELossFlat()).summary()   # fastai's count for its own model of the same sizes
    assert f"Total params: {n:,}\n" in fastai_s, fastai_s
    assert "Total params: 133,059\n" in Learner(dls, DotProductBias(944, 1665, 50), loss_func=MSELossFlat()).summary()   # MovieLens 100k's sizes, from the issue
    ens = DotBiasEnsemble([learn.model, DotProductBias.from_classes(8, dls.classes)])
    assert f"Total params: {2*n:,}\n" in Learner(dls, ens, loss_func=MSELossFlat()).summary()

def test_repr_shows_the_sizes(learn, dls):
    nu,ni = len(dls.classes['user']),len(dls.classes['title'])
    assert repr(learn.model) == f"DotProductBias(n_users={nu}, n_movies={ni}, n_factors=8, y_range=(0, 5.5))"
    ens = DotBiasEnsemble([learn.model, DotProductBias.from_classes(4, dls.classes)], weights=[0.75, 0.25])
    assert repr(ens).startswith("DotBiasEnsemble(\n  weights=[0.75, 0.25]\n  (models): ModuleList(\n"), repr(ens)
    assert f"(1): DotProductBias(n_users={nu}, n_movies={ni}, n_factors=4, y_range=(0, 5.5))" in repr(ens)

# predict and get_preds on one row

def test_predict_one_row(learn, ratings):
    row = ratings.iloc[:1]
    expected = _forward(learn, row)[0]
    for item in (row, ratings.iloc[0], row[['user','title']], row.iloc[0].to_dict()):
        rating,pred,raw = learn.predict(item)
        assert isinstance(rating, float) and pred.shape == raw.shape == ()
        assert rating == pytest.approx(expected.item(), abs=1e-6)
        assert_close(pred, expected); assert_close(raw, expected)
    dec,*_ = learn.predict(row, with_input=True)
    assert (dec.user, dec.title) == (row.user.iloc[0], row.title.iloc[0])
    with pytest.raises(ValueError, match="`predict` takes one row and got 2"): learn.predict(ratings.iloc[:2])

def test_get_preds_one_row(learn, ratings):
    dl = learn.dls.test_dl(ratings.iloc[:1])
    with learn.no_bar():
        preds,targs = learn.get_preds(dl=dl)
        inp,_,_,dec,loss = learn.get_preds(dl=dl, with_input=True, with_decoded=True, with_loss=True)
        preds3,_ = learn.get_preds(dl=learn.dls.test_dl(ratings.iloc[:3]))
    assert preds.shape == (1,) and targs.shape == (1,1) and inp.shape == (1,2) and dec.shape == loss.shape == (1,)
    assert_close(preds, _forward(learn, ratings.iloc[:1]))
    assert_close(preds3[:1], preds)
    assert_close(loss, (preds - targs[:,0])**2)
