"""``[core] hostname_callable`` of the Celery workers the CeleryExecutor end-to-end test starts.

Both workers run on this one machine, so the default (the machine's FQDN) would make them
indistinguishable; each is started with its own ``DR_E2E_WORKER_NAME``, which the task runner then
records as the task instance's ``hostname`` (read back over REST).
"""

from __future__ import annotations

import os


def worker_name() -> str:
    return os.environ["DR_E2E_WORKER_NAME"]
