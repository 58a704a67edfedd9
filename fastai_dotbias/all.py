from .core import *
from .data import *
from .learner import *
from .interpret import *
from .distributed import *
