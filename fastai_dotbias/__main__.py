"`python -m fastai_dotbias` runs the `fastai-dotbias` command (`train` by default)"
from .cli import main
main()
