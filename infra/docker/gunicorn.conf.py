"""gunicorn settings for the container (``promptstamp serve --gunicorn-config``).

Read by gunicorn in the master before workers fork. Sizes come from the environment so one image
fits every replica size: PROMPTSTAMP_WORKERS (processes) and PROMPTSTAMP_THREADS (threads each).
"""

import os

bind = f"{os.environ.get('PROMPTSTAMP_HOST', '0.0.0.0')}:{os.environ.get('PROMPTSTAMP_PORT', '8080')}"
# Threads, not processes, carry concurrency: a request waits for its batch's group commit and
# TSA answer (about one batch window) while holding a thread, doing no work.
worker_class = "gthread"
workers = int(os.environ.get("PROMPTSTAMP_WORKERS", "2"))
threads = int(os.environ.get("PROMPTSTAMP_THREADS", "32"))
# Longer than the ledger's 120 s wait for a batch, so gunicorn never kills a request that is
# still going to be answered.
timeout = 150
# On SIGTERM (rolling update, scale-in), finish in-flight requests: each is waiting for a seal
# that makes its records durable, and the sender should get its receipt.
graceful_timeout = 60
keepalive = 5
# Recycle workers now and then (with jitter, so not all at once): bounds slow memory growth.
max_requests = 20000
max_requests_jitter = 2000
# Behind a load balancer or ingress that sets X-Forwarded-For.
forwarded_allow_ips = os.environ.get("PROMPTSTAMP_FORWARDED_ALLOW_IPS", "127.0.0.1")
# Heartbeat files on a memory file system: a slow container disk must not make workers look hung.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
# The app logs every request once, as JSON with its request id.
accesslog = None
