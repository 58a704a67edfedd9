import os, warnings
os.environ.setdefault('OMP_NUM_THREADS', '1')
os.environ.setdefault('MPLBACKEND', 'Agg')
# warnings that libraries raise at import for their own maintainers (torch about fastai, pandas about fastai) are not ours to show
warnings.filterwarnings('ignore', message=r'`torch\.jit\.script` is deprecated', category=FutureWarning)
warnings.filterwarnings('ignore', message=r"The 'mode\.chained_assignment' option is deprecated")
import torch
torch.set_num_threads(1)
import pytest
from fastai_dotbias.synth import synth_ratings

def pytest_configure(config):
    "Warnings fastai and its libraries raise for their own maintainers stay hidden in tests (tests load files they wrote); deprecations raised by our own code fail them"
    for line in (r"ignore:`torch\.jit\.script` is deprecated:FutureWarning", r"ignore:The 'mode\.chained_assignment' option is deprecated",
                 r"ignore:numpy\.core is deprecated:DeprecationWarning:fastai", r"ignore:load_learner. uses Python's insecure pickle:UserWarning",
                 r"ignore:The given NumPy array is not writable:UserWarning",
                 "error::DeprecationWarning:fastai_dotbias", "error::FutureWarning:fastai_dotbias"):
        config.addinivalue_line('filterwarnings', line)

@pytest.fixture(scope='session')
def ratings():
    "Generated ratings with planted loved, hated and twin titles"
    return synth_ratings(n_users=300, n_items=400, n_ratings=20_000, seed=0)
