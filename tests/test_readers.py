"""Ratings files as people have them, through `load_ratings` and the installed `fastai-dotbias` command.

Every file is written here from generated ratings (never MovieLens): whitespace, tab, '::', compressed, zipped and
Parquet files, headers with the names real exports use, files with no header, a header that names too few fields,
and a folder whose ratings.csv is not MovieLens'. Each test checks the columns chosen and the users and items found."""
import os, subprocess, sys, zipfile
from pathlib import Path
import numpy as np, pandas as pd, pytest
from fastai_dotbias.data import load_ratings, get_y_range, RatingsError
from fastai_dotbias.synth import synth_ratings
from clirun import run_cli

CLI = str(Path(sys.executable).parent/'fastai-dotbias')

@pytest.fixture(scope='module')
def r():
    "2,000 generated ratings (user, movie, rating, timestamp, title), with a category per movie and a 0-2 helpfulness per rating"
    r = synth_ratings(n_users=60, n_items=80, n_ratings=2000, seed=3)
    return r.assign(cat=r.movie%30+1, helpful=np.arange(len(r))%3)

def check(df, cols, r, guessed=False):
    "`df` was read with columns `cols` and holds `r`'s ratings, users and items"
    assert df.attrs['cols'] == cols, df.attrs
    user,item,rating = cols
    assert (len(df), df[user].nunique(), df[item].nunique()) == (len(r), r.user.nunique(), r.movie.nunique())
    assert sorted(df[rating].tolist()) == sorted(r.rating.tolist())
    assert df.attrs['guessed'] is guessed
    if guessed: assert any(n.startswith(f'no header line, so the columns were chosen by their content: user={user}, item={item}') for n in df.attrs['notes']), df.attrs['notes']
    return df

def lines(r, cols, sep): return '\n'.join(sep.join(map(str, row)) for row in r[cols].values) + '\n'

# Separators, extensions and packing
def test_whitespace_with_header(tmp_path, r):
    (tmp_path/'r.txt').write_text('user  item rating timestamp\n' + lines(r, ['user','movie','rating','timestamp'], '   '))
    df = check(load_ratings(tmp_path/'r.txt'), ('user','item','rating'), r)
    assert df.attrs['source'] == f"ratings file {tmp_path/'r.txt'} (whitespace-separated)"

def test_tsv_with_camel_case_names(tmp_path, r):
    r.rename(columns={'user':'userID','movie':'movieID','rating':'movieRating'})[['userID','movieID','movieRating']].to_csv(tmp_path/'r.tsv', sep='\t', index=False)
    check(load_ratings(tmp_path/'r.tsv'), ('userID','movieID','movieRating'), r)

@pytest.mark.parametrize('name,sep', [('r.txt', ' '), ('r.dat', '::'), ('r.data', '\t'), ('r.csv', ',')])
def test_headerless_four_fields(tmp_path, r, name, sep):
    (tmp_path/name).write_text(lines(r, ['user','movie','rating','timestamp'], sep))
    df = check(load_ratings(tmp_path/name), ('col1','col2','col3'), r, guessed=True)
    assert 'col4 looks like timestamps' in df.attrs['notes'][0]

@pytest.mark.parametrize('compression,name', [('gzip', 'r.csv.gz'), ('bz2', 'r.tsv.bz2'), ('xz', 'r.csv.xz')])
def test_compressed(tmp_path, r, compression, name):
    r[['user','movie','rating']].rename(columns={'user':'user_id','movie':'movie_id'}).to_csv(tmp_path/name, sep='\t' if '.tsv' in name else ',', index=False, compression=compression)
    df = check(load_ratings(tmp_path/name), ('user_id','movie_id','rating'), r)
    assert {'gzip': 'gzip', 'bz2': 'bzip2', 'xz': 'xz'}[compression] in df.attrs['source']

def test_zip_with_one_ratings_file(tmp_path, r):
    with zipfile.ZipFile(tmp_path/'r.zip', 'w') as z:
        z.writestr('export/ratings.txt', lines(r, ['user','movie','rating'], ' '))
        z.writestr('__MACOSX/export/._ratings.txt', 'resource fork')
    df = check(load_ratings(tmp_path/'r.zip'), ('col1','col2','col3'), r, guessed=True)
    assert 'zip member export/ratings.txt' in df.attrs['source']

def test_zip_with_several_files_is_refused(tmp_path, r):
    with zipfile.ZipFile(tmp_path/'r.zip', 'w') as z:
        for f in ('ratings.csv', 'movies.csv', 'tags.csv'): z.writestr(f, 'a,b\n1,2\n')
    with pytest.raises(RatingsError, match=r"is a zip archive of 3 files \(ratings.csv, movies.csv, tags.csv\), not one ratings file. Extract it"): load_ratings(tmp_path/'r.zip')

def test_parquet(tmp_path, r):
    r[['user','movie','rating','title']].rename(columns={'user':'customer_id','movie':'product_id','rating':'stars'}).to_parquet(tmp_path/'r.parquet')
    df = check(load_ratings(tmp_path/'r.parquet'), ('customer_id','title','stars'), r)
    assert df.attrs['source'] == f"ratings file {tmp_path/'r.parquet'} (Parquet)"
    assert df.attrs['notes'] == [] and df.attrs['item_ids'] == 'product_id'   # no title is shared: nothing to note

# Names real exports use
def test_book_crossing(tmp_path, r):
    "Book-Crossing: quoted, semicolon-separated, latin-1, `User-ID`/`ISBN`/`Book-Rating`, string ISBNs, ratings 0-10"
    isbn = {m: f'03454{m:04d}X' for m in r.movie.unique()}
    text = '"User-ID";"ISBN";"Book-Rating"\n' + ''.join(f'"{u}";"{isbn[m]}";"{x*2}"\n' for u,m,x in r[['user','movie','rating']].values)
    (tmp_path/'BX-Book-Ratings.csv').write_bytes(text.encode('latin-1'))
    df = load_ratings(tmp_path/'BX-Book-Ratings.csv')
    assert df.attrs['cols'] == ('User-ID','ISBN','Book-Rating')
    assert (df['User-ID'].nunique(), df.ISBN.nunique()) == (r.user.nunique(), r.movie.nunique())
    assert df.attrs['source'].endswith('(semicolon-separated)')
    assert get_y_range(pd.Series([0, 10]).to_frame('Book-Rating'), 'Book-Rating') == (-1, 11)

def test_one_other_id_column_is_the_item(tmp_path, r):
    r[['user','movie','timestamp','rating']].rename(columns={'user':'reviewer_id','movie':'shopID','rating':'score'}).to_csv(tmp_path/'r.csv', index=False)
    check(load_ratings(tmp_path/'r.csv'), ('reviewer_id','shopID','score'), r)

def test_two_ids_sharing_a_name_stay_two_items(tmp_path, r):
    twin = r.copy()
    a,b = twin.movie.unique()[:2]
    twin.loc[twin.movie==b, 'title'] = twin.title[twin.movie==a].iloc[0]
    twin[['user','movie','rating','title']].rename(columns={'movie':'movieId'}).to_csv(tmp_path/'r.csv', index=False)
    df = check(load_ratings(tmp_path/'r.csv'), ('user','title','rating'), r)
    shown = sorted(df.title[df.movieId.isin([a, b])].unique())
    title = twin.title[twin.movie==a].iloc[0]
    assert shown == sorted([f'{title} (id {a})', f'{title} (id {b})'])
    assert df.attrs['notes'] == ["2 'movieId' ids share a title with another id: they stay apart as items, shown as 'title (id ...)'"]
    with pytest.warns(UserWarning, match=r'rows repeat a \(user, title\) pair'):   # the book's choice, asked for: one item, and a note that says so
        df = load_ratings(tmp_path/'r.csv', item_name='title')
    assert df.title.nunique() == r.movie.nunique()-1
    assert df.attrs['notes'][0].startswith("merged 2 'movieId' ids that share a title into 1 item, as the book does")

# Files with no header: columns by content
@pytest.mark.parametrize('cols,want', [
    (['user','movie','rating'], ('col1','col2','col3')),
    (['user','movie','cat','rating','helpful','timestamp'], ('col1','col2','col4')),
    (['user','movie','timestamp','cat','rating','helpful'], ('col1','col2','col5')),
    (['rating','user','movie','timestamp'], ('col2','col3','col1')),
])
def test_headerless_columns_by_content(tmp_path, r, cols, want):
    (tmp_path/'r.csv').write_text(lines(r, cols, ','))
    check(load_ratings(tmp_path/'r.csv'), want, r, guessed=True)

def test_headerless_with_names_given(tmp_path, r):
    (tmp_path/'r.txt').write_text(lines(r, ['user','movie','cat','rating'], '\t'))
    check(load_ratings(tmp_path/'r.txt', rating_name='col4'), ('col1','col2','col4'), r, guessed=True)

def test_header_naming_fewer_fields_is_refused(tmp_path, r):
    "The bug: pandas made the first two fields the index, so the category id became the user, and training ran"
    (tmp_path/'r.csv').write_text('user,item,rating,timestamp\n' + lines(r, ['user','movie','cat','rating','helpful','timestamp'], ','))
    with pytest.raises(RatingsError, match=r"its header line names 4 columns \(user, item, rating, timestamp\) but its lines have 6 fields"): load_ratings(tmp_path/'r.csv')
    (tmp_path/'r.csv').write_text('user,item,rating,timestamp,extra\n' + lines(r, ['user','movie','rating','timestamp'], ','))
    with pytest.raises(RatingsError, match=r"names 5 columns .* but its lines have 4 fields"): load_ratings(tmp_path/'r.csv')

# Folders
def test_folder_with_a_plain_ratings_csv(tmp_path, r):
    d = tmp_path/'goodbooks'; d.mkdir()
    r[['user','movie','rating']].rename(columns={'user':'user_id','movie':'book_id'}).to_csv(d/'ratings.csv', index=False)
    (d/'books.csv').write_text('book_id,title\n1,x\n')
    df = check(load_ratings(d), ('user_id','book_id','rating'), r)
    assert df.attrs['notes'] == [f"{d} is not a MovieLens folder (it has ratings.csv but no movies.csv): read ratings.csv as a plain ratings file, with columns user_id, book_id, rating"]

def test_folder_with_one_other_ratings_file(tmp_path, r):
    d = tmp_path/'export'; d.mkdir()
    (d/'dump.tsv').write_text(lines(r, ['user','movie','rating'], '\t'))
    (d/'README.txt').write_text('user, item, rating')
    df = check(load_ratings(d), ('col1','col2','col3'), r, guessed=True)
    assert df.attrs['notes'][0] == f"{d} is not a MovieLens folder (it has no u.data, ratings.csv or ratings.dat): read dump.tsv as a plain ratings file"

# The installed command (a fork of a process that imported fastai and torch once: see clirun.py)
def cli(*args):
    env = {**os.environ, 'OMP_NUM_THREADS': '1', 'MPLBACKEND': 'Agg'}
    return run_cli(*args, env=env, timeout=300)

def trains(res, r, cols):
    "Assert a run that trained on the columns `cols` (user, item, rating) and reported the baselines; its Data line"
    assert res.returncode == 0, res.stderr
    assert 'Traceback' not in res.stderr, res.stderr
    data = res.stdout.splitlines()[1]   # after the Device line
    assert data.startswith('Data: ') and f"{len(r):,} ratings, {r.user.nunique():,} users, {r.movie.nunique():,} items" in data, data
    assert data.endswith('user={}, item={}, rating={}'.format(*cols)), data
    assert 'Baselines on the same split: global mean RMSE' in res.stdout and 'user+item bias RMSE' in res.stdout, res.stdout
    return data

def test_cli_headerless_whitespace_file(tmp_path, r):
    (tmp_path/'r.txt').write_text(lines(r, ['user','movie','rating','timestamp'], ' '))
    assert f"ratings file {tmp_path/'r.txt'} (whitespace-separated, no header line)" in trains(cli('train', '--data', tmp_path/'r.txt', '--epochs', 1, '--seed', 0), r, ('col1', 'col2', 'col3'))

def test_cli_folder_with_a_plain_ratings_csv(tmp_path, r):
    r[['user','movie','rating']].rename(columns={'user':'userID','movie':'ISBN','rating':'Book-Rating'}).to_csv(tmp_path/'ratings.csv', index=False)
    assert f"ratings CSV {tmp_path/'ratings.csv'}" in trains(cli('train', '--data', tmp_path, '--epochs', 1, '--seed', 0), r, ('userID', 'ISBN', 'Book-Rating'))

def test_cli_parquet(tmp_path, r):
    r[['user','movie','rating']].rename(columns={'movie':'anime_id'}).to_parquet(tmp_path/'r.parquet')
    trains(cli('train', '--data', tmp_path/'r.parquet', '--epochs', 1, '--seed', 0), r, ('user', 'anime_id', 'rating'))

def test_cli_header_naming_fewer_fields(tmp_path, r):
    (tmp_path/'r.csv').write_text('user,item,rating,timestamp\n' + lines(r, ['user','movie','cat','rating','helpful','timestamp'], ','))
    res = cli('train', '--data', tmp_path/'r.csv', '--epochs', 1, '--seed', 0)
    assert res.returncode == 2, (res.returncode, res.stdout[-500:], res.stderr)
    err = res.stderr.strip().splitlines()
    assert len(err) == 1 and err[0].startswith('fastai-dotbias: error: '), res.stderr
    assert 'names 4 columns' in err[0] and 'have 6 fields' in err[0], err[0]
