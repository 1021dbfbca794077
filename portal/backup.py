"""Backups: the database plus the instance secrets, in one file (DESIGN.md, "Transactions").

A backup is a tar archive of three members:

* ``manifest.json`` — format version, time, database kind, schema revision, the database
  member's SHA-256, the audit chain's head (read before the dump, so the dumped chain is at
  least that long; #21, item 8) and the KDF parameters and salt of the secrets box;
* ``secrets.box`` — the instance secrets (without the receipt pepper no receipt opens, without
  the MAC keys no public key or audit entry verifies), encrypted under a passphrase with
  argon2id and XChaCha20-Poly1305; the manifest's digest is bound into the box, so neither
  can be swapped for another backup's;
* ``database.sqlite3`` (SQLite's online backup API: a consistent copy while the portal runs)
  or ``database.pgdump`` (``pg_dump --format=custom``; restored with ``pg_restore``).

Report content in the database is ciphertext either way; the archive is as sensitive as the
database and the secrets together, and the passphrase is what keeps the two apart.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs

from flask_babel import gettext as _
from sqlalchemy import Engine, inspect, text
from sqlalchemy.engine import URL

from portal import audit, crypto
from portal.config import SECRET_NAMES, InstanceSecrets, NotInitialised

FORMAT = "cadre-portal-backup"
VERSION = 1
MANIFEST = "manifest.json"
SECRETS = "secrets.box"
DATABASE = {"sqlite": "database.sqlite3", "postgresql": "database.pgdump"}
# The secrets box is opened once per restore: the cost can be high.
BOX_COST = crypto.KdfCost(time_cost=3, memory_kib=64 * 1024)
_CHUNK = 1 << 20


class BackupError(Exception):
    """A backup cannot be made or restored; the message (in the operator's language, so raised
    inside an app context) says why."""


@dataclass(frozen=True)
class Made:
    """What `create` wrote."""

    path: Path
    database: str
    size: int


def _dialect(engine: Engine) -> str:
    name = engine.dialect.name
    if name not in DATABASE:
        raise BackupError(_("Backups of %(name)s databases are not supported.", name=name))
    return name


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _sqlite_path(engine: Engine) -> Path:
    database = engine.url.database
    if not database or database == ":memory:":
        raise BackupError(_("An in-memory SQLite database cannot be backed up."))
    return Path(database)


def _libpq(url: URL) -> tuple[str, str | None]:
    """The libpq URI of a SQLAlchemy URL, and the schema its search_path option names."""
    schema = None
    for option in parse_qs(f"o={url.query.get('options', '')}").get("o", []):
        for part in str(option).split():
            if part.startswith("-csearch_path="):
                schema = part.split("=", 1)[1].split(",")[0]
    return url.set(drivername="postgresql").render_as_string(hide_password=False), schema


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(_("%(name)s is not installed (Debian: apt-get install "
                            "postgresql-client).", name=name))
    return found


def _run(args: list[str]) -> None:
    # Arguments are built here from the configured URL, never from request data; no shell.
    done = subprocess.run(args, capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode != 0:
        raise BackupError(_("%(tool)s failed: %(error)s", tool=Path(args[0]).name,
                                error=done.stderr.strip()[-2000:]))


def _sqlite_copy(source_path: Path, target_path: Path) -> None:
    """Copy a SQLite database with SQLite's online backup API (consistent while in use)."""
    source = sqlite3.connect(f"file:{source_path}?mode=ro", uri=True)
    target = sqlite3.connect(target_path)
    try:
        source.backup(target)
    finally:
        target.close()
        source.close()


def _dump_database(engine: Engine, kind: str, target: Path) -> None:
    if kind == "sqlite":
        _sqlite_copy(_sqlite_path(engine), target)
        return
    uri, schema = _libpq(engine.url)
    args = [_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges",
            f"--file={target}", f"--dbname={uri}"]
    if schema:
        args.append(f"--schema={schema}")
    _run(args)


def _revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def _box_place(manifest: dict[str, object]) -> dict[str, object]:
    return {"what": "backup-secrets", "manifest": hashlib.sha256(
        json.dumps({k: v for k, v in manifest.items() if k != "kdf"}, sort_keys=True).encode()
    ).hexdigest()}


def _box_key(passphrase: str, salt: bytes, cost: crypto.KdfCost) -> bytes:
    return crypto.argon2id(passphrase.encode("utf-8"), salt, cost)


def _add_bytes(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode = len(data), 0o600
    archive.addfile(info, io.BytesIO(data))


def create(engine: Engine, secrets: InstanceSecrets, path: Path, passphrase: str,
           *, now: dt.datetime, cost: crypto.KdfCost = BOX_COST,
           instance: Path | None = None) -> Made:
    """Write a backup of the database and the secrets to `path` (which must not exist), with
    the audit head of the `instance` folder.

    The archive appears at `path` only once complete (written beside it, then renamed)."""
    kind = _dialect(engine)
    if path.exists():
        raise BackupError(_("%(path)s already exists; choose a new file name.", path=path))
    if not path.parent.is_dir():
        raise BackupError(_("%(path)s is not a folder.", path=path.parent))
    try:
        # Read before the dump: every entry the head counts committed before it was written.
        head = audit.head_file_document(instance) if instance is not None else None
    except audit.HeadDamaged:
        raise BackupError(_("The audit chain's head record in the instance folder is damaged: "
                            "run `audit verify` first.")) from None
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=".backup-") as work:
        dump = Path(work) / DATABASE[kind]
        _dump_database(engine, kind, dump)
        salt = crypto.random_bytes(16)
        manifest: dict[str, object] = {
            "format": FORMAT, "version": VERSION, "created": now.isoformat(),
            "database": kind, "revision": _revision(engine),
            "database_sha256": _sha256(dump), "audit_head": head,
            "kdf": {"salt": crypto.b64(salt), "time_cost": cost.time_cost,
                    "memory_kib": cost.memory_kib},
        }
        plain = json.dumps({n: crypto.b64(getattr(secrets, n)) for n in SECRET_NAMES}).encode()
        box = crypto.encrypt(_box_key(passphrase, salt, cost), plain, _box_place(manifest))
        partial = Path(work) / "backup.tar"
        with tarfile.open(partial, "w") as archive:
            _add_bytes(archive, MANIFEST, json.dumps(manifest, indent=2).encode())
            _add_bytes(archive, SECRETS, box)
            archive.add(dump, DATABASE[kind], filter=_private)
        os.chmod(partial, 0o600)
        os.replace(partial, path)
    return Made(path, kind, path.stat().st_size)


def _private(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.mode, info.uid, info.gid, info.uname, info.gname = 0o600, 0, 0, "", ""
    return info


@dataclass(frozen=True)
class Restored:
    """What `restore` brought back."""

    database: str
    created: str
    revision: str | None
    had_head: bool  # False for a backup made before the audit head was kept


def _read(archive: tarfile.TarFile, name: str) -> bytes:
    try:
        member = archive.getmember(name)
    except KeyError:
        raise BackupError(_("The backup has no %(name)s: it is not a portal backup, or it is "
                            "damaged.", name=name)) from None
    handle = archive.extractfile(member) if member.isfile() else None
    if handle is None:
        raise BackupError(_("%(name)s in the backup is not a file.", name=name))
    return handle.read()


def _load_manifest(archive: tarfile.TarFile) -> dict[str, object]:
    try:
        manifest = json.loads(_read(archive, MANIFEST))
    except ValueError:
        raise BackupError(_("The backup's manifest is damaged.")) from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(_("This is not a portal backup."))
    if manifest.get("version") != VERSION:
        raise BackupError(_("Backup format version %(v)s is not supported.",
                            v=manifest.get("version")))
    return manifest


def open_secrets(path: Path, passphrase: str) -> tuple[dict[str, object], InstanceSecrets]:
    """The manifest and the decrypted secrets of a backup (checks the passphrase only)."""
    try:
        with tarfile.open(path, "r") as archive:
            manifest = _load_manifest(archive)
            box = _read(archive, SECRETS)
    except (OSError, tarfile.TarError):
        raise BackupError(_("%(path)s cannot be read as a portal backup.", path=path)) from None
    kdf = manifest.get("kdf")
    if not isinstance(kdf, dict):
        raise BackupError(_("The backup's manifest is damaged."))
    try:
        cost = crypto.KdfCost(int(kdf["time_cost"]), int(kdf["memory_kib"]))
        if not (1 <= cost.time_cost <= 16 and 8 <= cost.memory_kib <= 4 * 1024 * 1024):
            raise ValueError("KDF cost out of range")
        key = _box_key(passphrase, crypto.unb64(str(kdf["salt"])), cost)
        plain = json.loads(crypto.decrypt(key, box, _box_place(manifest)))
        values = {name: crypto.unb64(plain[name]) for name in SECRET_NAMES}
    except (crypto.DecryptionFailed, KeyError, ValueError, TypeError):
        raise BackupError(_(
            "Wrong passphrase, or the backup was altered: its secrets do not open."
        )) from None
    return manifest, InstanceSecrets(**values)


def _database_is_empty(engine: Engine) -> bool:
    with engine.connect() as conn:
        return not inspect(conn).get_table_names()


def _restore_database(engine: Engine, kind: str, dump: Path) -> None:
    engine.dispose()
    if kind == "sqlite":
        target = _sqlite_path(engine)
        _sqlite_copy(dump, target)
        os.chmod(target, 0o600)
        return
    # --clean --if-exists: a dump of one schema recreates that schema, which may exist (empty)
    # already; over a populated database (--replace) the dump's objects are dropped first.
    uri, _schema = _libpq(engine.url)
    _run([_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--no-privileges",
          "--exit-on-error", "--single-transaction", f"--dbname={uri}", str(dump)])


def _write_secrets(instance: Path, secrets: InstanceSecrets) -> None:
    for name in SECRET_NAMES:
        path = instance / name
        fd, temporary = tempfile.mkstemp(dir=instance, prefix=f".{name}-")
        with os.fdopen(fd, "wb") as fh:
            fh.write(getattr(secrets, name))
        os.replace(temporary, path)  # mkstemp files are 0600


def restore(engine: Engine, instance: Path, path: Path, passphrase: str,
            *, replace: bool = False) -> Restored:
    """Put a backup's database and secrets in place of the configured ones.

    Refuses a database that already holds tables, and an instance folder holding other
    secrets, unless `replace`. The database is restored first and the secrets last, so a
    failure never leaves new secrets beside an old database."""
    manifest, secrets = open_secrets(path, passphrase)
    kind = _dialect(engine)
    if manifest.get("database") != kind:
        raise BackupError(_("This backup holds a %(held)s database; the portal is configured "
                            "for %(kind)s.", held=manifest.get("database"), kind=kind))
    try:
        current: InstanceSecrets | None = InstanceSecrets.load(instance)
    except NotInitialised:
        current = None
    if not replace:
        if current is not None and current != secrets:
            raise BackupError(_("%(path)s holds other instance secrets; move them away or "
                                "pass --replace.", path=instance))
        if not _database_is_empty(engine):
            raise BackupError(_("The configured database is not empty; restore into an empty "
                                "database or pass --replace."))
    instance.mkdir(parents=True, exist_ok=True, mode=0o700)
    with tempfile.TemporaryDirectory(prefix=".restore-", dir=instance) as work:
        dump = Path(work) / DATABASE[kind]
        with tarfile.open(path, "r") as archive, dump.open("wb") as out:
            try:
                member = archive.extractfile(DATABASE[kind])
            except KeyError:
                member = None
            if member is None:
                raise BackupError(_("The backup's database is missing."))
            shutil.copyfileobj(member, out, _CHUNK)
        if _sha256(dump) != manifest.get("database_sha256"):
            raise BackupError(
                _("The backup's database does not match its manifest: the backup is damaged."))
        _restore_database(engine, kind, dump)
    _write_secrets(instance, secrets)
    head = manifest.get("audit_head")
    audit.put_head_document(instance, head if isinstance(head, dict) else None)
    revision = manifest.get("revision")
    return Restored(kind, str(manifest.get("created")),
                    revision if isinstance(revision, str) else None, isinstance(head, dict))
