"""python -m benchmarks: the whole benchmark (see benchmarks/suite.py)."""

import sys

from .suite import main

sys.exit(main())
