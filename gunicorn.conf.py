"""gunicorn settings for the portal: `gunicorn -c gunicorn.conf.py wsgi:app`.

The access log carries no client address, referrer or user agent; the logger class redacts
addresses from anything gunicorn itself writes (e.g. "Invalid request from ip=…").
"""

import multiprocessing

# Override on the command line: -b ADDRESS, -w WORKERS.
bind = "127.0.0.1:8000"
workers = multiprocessing.cpu_count() * 2 + 1
worker_class = "sync"
timeout = 120  # uploads of several evidence files over slow links (Tor)
graceful_timeout = 30
max_requests = 2000
max_requests_jitter = 200
logger_class = "portal.gunicorn_logging.RedactingLogger"
accesslog = "-"
errorlog = "-"
access_log_format = '%(t)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms'
# Never trust forwarded headers from anywhere but the local reverse proxy.
forwarded_allow_ips = "127.0.0.1"
