"""gunicorn settings for every service (``gunicorn -c python:cpp_shared.gunicorn_conf``).

Tunable from the environment: WEB_CONCURRENCY (worker processes, default 2),
GUNICORN_THREADS (threads per worker, default 4), GUNICORN_TIMEOUT (seconds).
The bind address comes from ``cpp serve`` or --bind.
"""

import os
import shutil
import tempfile

workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
worker_class = "gthread"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 20
keepalive = 5
accesslog = None  # the services log every request as structured JSON themselves
errorlog = "-"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
# gunicorn's control interface is unused here, and its default socket
# (~/.gunicorn/gunicorn.ctl) would be shared by every service of the user.
control_socket_disable = True

# Metrics summed over the worker processes (prometheus_client multiprocess mode),
# in a folder of this server's own unless the deployment names one.
_own_metrics_dir = None
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    _own_metrics_dir = os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="cpp-metrics-")


def on_exit(server):
    if _own_metrics_dir:
        shutil.rmtree(_own_metrics_dir, ignore_errors=True)


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
