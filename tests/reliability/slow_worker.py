"""A Celery worker whose message analysis stalls on its first attempt (drill use only).

``python tests/reliability/slow_worker.py worker -Q ...`` runs the project's worker, except that
the first analysis batch in any of its processes writes the process id to the file named by
``DRILL_ANALYSIS_MARKER`` and then sleeps (holding its transaction and row locks, as a long
batch would) until the drill kills it. Later batches, in any process, run normally.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path


def main() -> None:
    marker = Path(os.environ["DRILL_ANALYSIS_MARKER"])
    import django

    django.setup()
    from tickets.services import analysis

    real_analyser = analysis._analyser

    class StallingAnalyser:
        def __init__(self, inner) -> None:
            self._inner = inner

        def __getattr__(self, name):
            return getattr(self._inner, name)

        def analyse_batch(self, texts, **kwargs):
            if not marker.exists():
                marker.write_text(str(os.getpid()))
                time.sleep(600)
            return self._inner.analyse_batch(texts, **kwargs)

    analysis._analyser = lambda: StallingAnalyser(real_analyser())

    from helpdesk.celery import app

    args = sys.argv[1:]
    if args[:2] == ["-A", "helpdesk"]:
        args = args[2:]
    app.worker_main(argv=args)


if __name__ == "__main__":
    main()
