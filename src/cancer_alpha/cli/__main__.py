"""``python -m cancer_alpha.cli``: the ``cancer-alpha`` command."""

import sys

from . import main

sys.exit(main())
