import os, warnings
os.environ.setdefault('OMP_NUM_THREADS', '1')
os.environ.setdefault('MPLBACKEND', 'Agg')
import torch
torch.set_num_threads(1)
import pytest
from fastai_dotbias.synth import synth_ratings

@pytest.fixture(scope='session')
def ratings():
    "Generated ratings with planted loved, hated and twin titles"
    return synth_ratings(n_users=300, n_items=400, n_ratings=20_000, seed=0)

def pytest_configure(config):
    "Warnings that libraries raise at import for their own maintainers are not shown; our own deprecations fail the test"
    for line in ("ignore:`torch.jit.script` is deprecated:FutureWarning", "ignore:The 'mode.chained_assignment' option is deprecated",
                 "error::DeprecationWarning:fastai_dotbias", "error::FutureWarning:fastai_dotbias"):
        config.addinivalue_line('filterwarnings', line)
