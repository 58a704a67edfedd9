from .synth import *
from .data import *
from .loader import *
from .model import *
from .sparse import *
from .learner import *
from .interpret import *
from .distributed import *
