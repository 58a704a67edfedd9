from .synth import *
from .data import *
from .loader import *
from .model import *
from .learner import *
from .interpret import *
from .evaluate import *
from .distributed import *
