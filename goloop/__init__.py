"""goloop: KataGo's self-play training loop, reimplemented Python-first."""
from importlib import resources as _resources

__version__ = _resources.files(__name__).joinpath("VERSION").read_text().strip()
