"""Imported first by the extraction pool's fork server, before its preload: from then on the
fork server, and every worker it forks, ignores SIGINT.

A Ctrl-C reaches the whole process group, and the run decides what to stop (it kills its
workers as it leaves). A fork server still importing trafilatura and the language model would
otherwise die of the Ctrl-C with a traceback on the run's terminal. Blocking SIGINT around
the worker's start is not enough: the fork server is spawned from whichever thread starts the
first worker, and it came up with nothing blocked.

Anywhere else importing this module does nothing: only the fork server runs as `python -c`
with `multiprocessing.forkserver` imported.
"""

import signal
import sys

if sys.argv == ["-c"] and "multiprocessing.forkserver" in sys.modules:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
