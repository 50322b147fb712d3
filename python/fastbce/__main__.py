"""``python -m fastbce``: the demo (``fastbce._demo``), or ``python -m fastbce eval ...`` (``fastbce.cli``)."""
import sys

from ._demo import numpy_bce  # noqa: F401  # the demo's NumPy formula, kept importable from here
from .cli import main

if __name__ == "__main__":
    sys.exit(main())
