"""Test-only speedups. Everything else comes from base.py and the environment."""

import os

from .base import *  # noqa: F403
from .base import CACHES, CHANNEL_LAYERS, HELPDESK_KEY_PREFIX, REDIS_URL

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"

# Tests call tasks in-process unless a test starts a real worker (tests/conftest.py
# ``celery_worker`` fixture), which turns this off for its duration.
CELERY_TASK_ALWAYS_EAGER = True

# Keep parallel runs and leftovers apart on a shared Redis.
_run = os.environ.get("HELPDESK_TEST_RUN_ID", str(os.getpid()))
if REDIS_URL:
    CACHES["default"]["KEY_PREFIX"] = f"{HELPDESK_KEY_PREFIX}-test-{_run}"
    CHANNEL_LAYERS["default"]["CONFIG"]["prefix"] = f"{HELPDESK_KEY_PREFIX}-test-{_run}:asgi"

# Threads of database_sync_to_async must not keep connections open past a test (the test
# database could not be dropped at the end of the run).
DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405

# SQLite (the embedded defaults): a test database in a file, not the default shared-cache
# in-memory one. Tests with a live server (browser, WebSocket) read and write from several
# threads at once; in shared-cache memory a write makes other threads fail at once with
# "database table is locked", while a file in WAL mode lets readers go on and makes writers
# wait (busy_timeout). In /dev/shm where there is one, so it costs no disk time.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    import tempfile

    _shm = "/dev/shm"  # noqa: S108 (tmpfs; the file name carries the run id)
    DATABASES["default"]["TEST"] = {  # noqa: F405
        "NAME": os.path.join(
            _shm if os.path.isdir(_shm) else tempfile.gettempdir(),
            f"helpdesk-test-{_run}.sqlite3",
        )
    }
