"""The model against the baselines, side by side in one run: the book's recipe and the tuned one (`--tune`), the global mean,
Koren's user+item biases and the most popular titles, on the same random 80/20 split, RMSE and NDCG@10.

    OMP_NUM_THREADS=1 python tests/bench_baselines.py [--trials 20] [--shapes movielens-like,very-sparse,ml-100k]

Recipes: the book's; the book's with the biases started at the baseline and no weight decay on them (what `train` does on
far sparser data); and `tune_and_fit` with `--init-biases auto`'s choice. Shapes: `movielens-like` (synth_ratings at MovieLens 100k's size: 943 users, 1,682 titles, 100k ratings), `very-sparse`
(20,000 users and 6,000 titles for 40,000 ratings: most users have 1-3 ratings, a long tail of titles rated once), and
`ml-100k` (read by fastai's `untar_data`; skipped with a line when it is not in fastai's data folder).
"""
import argparse, time, warnings
warnings.filterwarnings('ignore')
from fastai.tabular.all import *
from fastai.collab import *
from fastai_dotbias.all import *
from fastai_dotbias.loader import _split

def shapes(names):
    for n in names:
        if n == 'movielens-like': yield n, synth_ratings(n_users=943, n_items=1682, n_ratings=100_000, seed=0), 'title'
        elif n == 'very-sparse': yield n, synth_ratings(n_users=20_000, n_items=6_000, n_ratings=40_000, seed=0), 'movie'
        elif n == 'ml-100k':
            if not (fastai_path('data')/'ml-100k'/'u.data').exists(): print(f"ml-100k: skipped (not in {fastai_path('data')})"); continue
            yield n, movielens_100k(), 'title'

def main():
    p = argparse.ArgumentParser(); p.add_argument('--trials', type=int, default=20); p.add_argument('--shapes', default='movielens-like,very-sparse,ml-100k')
    a = p.parse_args()
    rows = []
    for name, df, item in shapes(a.shapes.split(',')):
        per_user = df.user.value_counts()
        print(f"{name}: {len(df):,} ratings, {df.user.nunique():,} users, {df[item].nunique():,} items; users with <= 3 ratings {(per_user <= 3).mean():.0%}", flush=True)
        trn, tst = (df.iloc[o] for o in _split(len(df), 0.2, 0))
        init = 'baseline' if (trn.user.value_counts() <= 3).mean() >= 0.3 else 'random'   # the CLI's --init-biases auto
        for recipe, fit in (('book recipe', lambda: fit_recipe(trn, tst, item_name=item)),
                            ('biases from the baseline, wd_bias=0', lambda: fit_recipe(trn, tst, item_name=item, init='baseline', wd_bias=0.)),
                            (f'tuned ({a.trials} trials, init={init})', lambda: tune_and_fit(trn, tst, n_trials=a.trials, item_name=item, init=init)[0])):
            t = time.perf_counter(); learn = fit(); secs = time.perf_counter() - t
            tab = compare_baselines(learn, tst)
            if not rows or rows[-1][0] != name:
                for b in tab.index[1:]: rows.append((name, b, tab.loc[b, 'RMSE'], tab.loc[b, 'NDCG@10'], float('nan')))
            rows.append((name, f'model, {recipe}', tab.loc['model', 'RMSE'], tab.loc['model', 'NDCG@10'], secs))
            print(f"  {recipe}: RMSE {tab.loc['model','RMSE']:.4f}, NDCG@10 {tab.loc['model','NDCG@10']:.4f} ({secs:.0f} s)", flush=True)
    res = pd.DataFrame(rows, columns=['data', 'predictor', 'RMSE', 'NDCG@10', 'seconds'])
    print(res.to_string(index=False, float_format=lambda v: f'{v:.4f}', na_rep='-'))

if __name__ == '__main__': main()
