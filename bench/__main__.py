"""`python -m bench [--only sync,api] [--runs 3] [--quick]`: every benchmark, one table (bench/suite.py)."""

import sys

from bench.suite import main

sys.exit(main())
