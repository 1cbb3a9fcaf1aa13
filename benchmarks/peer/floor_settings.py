"""Settings of the floor figures of benchmarks/peer/compare.py (``--only floor``): the project's
settings (from the environment) with ``floor_urls`` in front of the project's URLs. Nothing in
the product imports this."""

from helpdesk.settings.base import *  # noqa: F403

ROOT_URLCONF = "benchmarks.peer.floor_urls"
