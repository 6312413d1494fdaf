"""The ``cancer-alpha`` command. Heavy libraries are imported inside each command, so that
``cancer-alpha --help`` answers at once.

Every path and option is checked before any data is read or any model trained; bad input ends
in one line on stderr and exit status 2 (``--debug`` shows the traceback), an interruption in
exit status 130 (Ctrl-C) or 143 (SIGTERM) within seconds, and nothing half-written is left
behind: what a long command finished is kept where the same command resumes it.
"""

from .entry import EXIT_BAD_INPUT, main
from .interrupt import EXIT_INTERRUPTED, EXIT_TERMINATED
from .options import DEFAULT_MODEL, DEFAULT_PROFILE
from .parser import build_parser

__all__ = ["DEFAULT_MODEL", "DEFAULT_PROFILE", "EXIT_BAD_INPUT", "EXIT_INTERRUPTED",
           "EXIT_TERMINATED", "build_parser", "main"]
