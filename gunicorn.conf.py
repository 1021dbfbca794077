"""gunicorn settings for the portal: `gunicorn -c gunicorn.conf.py wsgi:app`.

The access log carries no client address, referrer or user agent; the logger class redacts
addresses from anything gunicorn itself writes (e.g. "Invalid request from ip=…").
"""

import multiprocessing

# Override on the command line: -b ADDRESS, -w WORKERS.
bind = "127.0.0.1:8000"
workers = multiprocessing.cpu_count() * 2 + 1
# Threads, not one request per process: a report's body streams in as slowly as its sender
# sends it (nginx does not buffer it to disk, docs/deployment.md), and with sync workers a few
# slow senders held every worker (#21, item 4). Each worker reads at most
# PORTAL_BODY_READERS_PER_PROCESS bodies at once (8, half its threads) and answers further
# POSTs "busy, try again" at once, so the other threads always serve pages.
worker_class = "gthread"
threads = 16
# With gthread this is the worker's heartbeat, not a bound on a request: a long upload over
# Tor is not cut, a hung worker is still replaced.
timeout = 30
graceful_timeout = 30
# No keep-alive: nginx opens a connection per request (proxy_http_version 1.1 without an
# upstream keepalive pool), and a POST refused before its body was read is closed at once
# instead of holding a thread for gunicorn's drain of the unread body.
keepalive = 0
# Header sizes (gunicorn's defaults, stated): nginx has read the headers before passing them on.
limit_request_line = 4094
limit_request_fields = 50
limit_request_field_size = 8190
max_requests = 2000
max_requests_jitter = 200
logger_class = "portal.gunicorn_logging.RedactingLogger"
accesslog = "-"
errorlog = "-"
access_log_format = '%(t)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms'
# Never trust forwarded headers from anywhere but the local reverse proxy.
forwarded_allow_ips = "127.0.0.1"
# gunicorn >= 25.1 opens a control socket for `gunicornc` at one path per user
# ($XDG_RUNTIME_DIR/gunicorn.ctl or ~/.gunicorn/gunicorn.ctl): two app servers of the same
# user share it, and stopping one unlinks the other's (#22, item 8). The portal is managed by
# its systemd unit and signals (HUP, TERM), not by gunicornc: no control socket. Older
# gunicorn versions ignore this setting.
control_socket_disable = True
