"""Render the shipped nginx files (deploy/nginx/*.conf) into a prefix of their own (#22, item 3).

Only addresses, paths and names are replaced; every other directive is the shipped one, and a
replacement whose shipped text has gone missing is an error, not a silent no-op. The result is
a complete nginx.conf (pid, logs and every temporary path inside the prefix, the two server
blocks included in its http context as Debian's nginx.conf includes conf.d/*.conf), for:

- `.ci/run`: `nginx -t -p PREFIX -c PREFIX/nginx.conf` on the shipped configuration;
- tests/reliability/test_nginx.py: nginx in the foreground in front of a real gunicorn.

    python3 deploy/render_nginx.py PREFIX [--port 8443] [--onion-port 8080] [--upstream HOST:PORT]

With no certificate given, a self-signed one for the placeholder name is made with `openssl`.
"""

# ruff: noqa: S603, S607
# (S603/S607: `openssl` is run with fixed arguments to make the test certificate.)
from __future__ import annotations

import argparse
import os
import pwd
import re
import subprocess
from pathlib import Path

NGINX_DIR = Path(__file__).resolve().parent / "nginx"
SITE = "jubao.example.gov.cn"          # the placeholder name in portal.conf
CODE = "/srv/portal"                   # where the shipped files expect the code (deployment.md)
TEMP_PATHS = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")


def _replace(text: str, pattern: str, replacement: str, what: str) -> str:
    result, count = re.subn(pattern, replacement, text, flags=re.M)
    if not count:
        raise ValueError(f"deploy/nginx/{what}: nothing matches {pattern!r}; update the renderer")
    return result


def render_server(name: str, prefix: Path, *, listen: str, upstream: str,
                  cert: Path | None = None, key: Path | None = None) -> str:
    """One shipped server file with its address, upstream, log, page and certificate paths
    replaced by those under `prefix`."""
    text = (NGINX_DIR / name).read_text(encoding="utf-8")
    text = _replace(text, r"^(\s*listen\s+)[0-9.:]+(?=[\s;])", rf"\g<1>{listen}", name)
    text = _replace(text, r"proxy_pass http://127\.0\.0\.1:8000;",
                    f"proxy_pass http://{upstream};", name)
    text = _replace(text, r"/var/log/nginx/", f"{prefix}/logs/", name)
    text = _replace(text, re.escape(f"{CODE}/deploy/nginx/"), f"{NGINX_DIR}/", name)
    if cert is not None and key is not None:
        text = _replace(text, r"(ssl_certificate\s+)\S+;", rf"\g<1>{cert};", name)
        text = _replace(text, r"(ssl_certificate_key\s+)\S+;", rf"\g<1>{key};", name)
    return text


def self_signed(directory: Path, name: str = SITE) -> tuple[Path, Path]:
    """A throw-away certificate and key for `name` (openssl), for tests and `nginx -t`."""
    directory.mkdir(parents=True, exist_ok=True)
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj", f"/CN={name}",
                    "-addext", f"subjectAltName=DNS:{name},IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return cert, key


def render(prefix: Path, *, port: int, onion_port: int, upstream: str,
           cert: Path | None = None, key: Path | None = None,
           replace: dict[str, str] | None = None) -> Path:
    """Write PREFIX/nginx.conf (and PREFIX/portal.conf, PREFIX/portal-onion.conf) and the
    folders they name; return the main file. `replace` swaps shipped lines for others (a test
    showing what a directive is for), each of which must occur."""
    prefix = prefix.resolve()
    for folder in ("logs", "temp", *(f"temp/{t}" for t in TEMP_PATHS)):
        (prefix / folder).mkdir(parents=True, exist_ok=True)
    if cert is None or key is None:
        cert, key = self_signed(prefix / "tls")
    files = {"portal.conf": render_server("portal.conf", prefix, listen=f"127.0.0.1:{port}",
                                          upstream=upstream, cert=cert, key=key),
             "portal-onion.conf": render_server("portal-onion.conf", prefix,
                                                listen=f"127.0.0.1:{onion_port}",
                                                upstream=upstream)}
    for name, text in files.items():
        for old, new in (replace or {}).items():
            if old in text:
                text = text.replace(old, new)
            elif name == "portal.conf":
                raise ValueError(f"deploy/nginx/{name}: no {old!r} to replace")
        (prefix / name).write_text(text, encoding="utf-8")
    # nginx started as root runs its workers as `nobody`, who could not enter a private
    # prefix; they run as the user who starts it here (the directive is ignored otherwise).
    user = f"user {pwd.getpwuid(os.geteuid()).pw_name};\n" if os.geteuid() == 0 else ""
    temp = "".join(f"    {t}_temp_path {prefix}/temp/{t};\n" for t in TEMP_PATHS)
    main = (f"{user}worker_processes 1;\npid {prefix}/nginx.pid;\n"
            f"error_log {prefix}/logs/error.log;\n"
            "events { worker_connections 256; }\n"
            "http {\n"
            f"    access_log {prefix}/logs/access.log;\n{temp}"
            f"    include {prefix}/portal.conf;\n"
            f"    include {prefix}/portal-onion.conf;\n"
            "}\n")
    path = prefix / "nginx.conf"
    path.write_text(main, encoding="utf-8")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("prefix", type=Path)
    parser.add_argument("--port", type=int, default=8443, help="the TLS server block's port")
    parser.add_argument("--onion-port", type=int, default=8080)
    parser.add_argument("--upstream", default="127.0.0.1:8000")
    args = parser.parse_args()
    print(render(args.prefix, port=args.port, onion_port=args.onion_port,
                 upstream=args.upstream))


if __name__ == "__main__":
    main()
