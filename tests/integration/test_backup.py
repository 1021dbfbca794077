"""`portal backup` / `portal restore`: file reports, back up, destroy the database and the
instance folder, restore, and every receipt still opens its case and handlers still decrypt."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import tarfile
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import create_engine, delete, func, select, text
from sqlalchemy.engine import make_url

from application import create_app
from casework.models import Case, EvidenceFile
from portal import audit, db, state
from portal.config import SECRET_NAMES
from portal.models import AuditEntry
from tests.conftest import AuthActions, StaffMember
from tests.intake_support import Desk, make_desk, open_reporter, post_report, receipt_of

BACKUP_PASSPHRASE = "lantern orchard velvet quarry nineteen"
MARKER = "BACKUP-MARKER-王五挪用公款"


def _report(desk: Desk, n: int) -> dict[str, object]:
    return {"category": str(desk.category_id("discipline")), "persons-0-name": "王五",
            "persons-0-unit": "某乡", "facts": f"{MARKER} 第{n}件：2026年5月挪用扶贫资金。"}


def _file_reports(desk: Desk, n: int) -> dict[str, bytes]:
    """File n reports, each with one attachment; the receipts with their attachment's bytes."""
    filed = {}
    for i in range(n):
        evidence = f"ledger {i} {MARKER}\n".encode() * (200 * (i + 1))
        status, html = post_report(desk.app.test_client(), _report(desk, i),
                                   files=[(evidence, f"ledger-{i}.txt")])
        assert status == 200, html[:500]
        filed[receipt_of(html)] = evidence
    return filed


def _destroy(app: Flask) -> None:
    """Remove the database (file and WAL, or every table of the schema) and the instance."""
    config = state.config(app)
    url = make_url(config.database_url)
    state.engine(app).dispose()
    if url.get_backend_name() == "sqlite":
        base = Path(str(url.database))
        for path in (base, Path(f"{base}-wal"), Path(f"{base}-shm")):
            path.unlink(missing_ok=True)
    else:
        engine = create_engine(url)
        with engine.begin() as conn:
            schema = conn.execute(text("SELECT current_schema()")).scalar()
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        engine.dispose()
    shutil.rmtree(config.instance_path)


def _invoke(app: Flask, *args: str, stdin: str = "") -> tuple[int, str]:
    result = app.test_cli_runner().invoke(args=list(args), input=stdin)
    return result.exit_code, result.output


def _handler_reads(app: Flask, member: StaffMember, filed: dict[str, bytes]) -> None:
    """The handler sees every case's text and downloads every file byte for byte."""
    client = app.test_client()
    assert AuthActions(client).login(member).status_code == 303
    with app.app_context():
        files = db.session().execute(select(Case.case_no, EvidenceFile.id).join(
            EvidenceFile, EvidenceFile.case_id == Case.id)).all()
    assert len(files) == len(filed)
    wanted = {hashlib.sha256(b).hexdigest() for b in filed.values()}
    got = set()
    for case_no, file_id in files:
        page = client.get(f"/staff/cases/{case_no}")
        assert page.status_code == 200
        assert MARKER in page.get_data(as_text=True)
        got.add(hashlib.sha256(client.get(f"/staff/cases/{case_no}/files/{file_id}").data)
                .hexdigest())
    assert got == wanted


def test_backup_destroy_restore_keeps_every_receipt_and_key(app: Flask, make_staff,
                                                            tmp_path: Path) -> None:
    desk = make_desk(app, make_staff)
    filed = _file_reports(desk, 3)
    archive = tmp_path / "portal-backup.tar"

    code, out = _invoke(app, "portal", "backup", str(archive), stdin="short\n")
    assert code != 0
    assert not archive.exists()
    code, out = _invoke(app, "portal", "backup", str(archive), stdin=BACKUP_PASSPHRASE + "\n")
    assert code == 0, out
    assert archive.stat().st_mode & 0o077 == 0
    code, out = _invoke(app, "portal", "backup", str(archive), stdin=BACKUP_PASSPHRASE + "\n")
    assert code != 0
    assert "已存在" in out

    # The archive holds no secret and no report text in clear.
    with tarfile.open(archive) as tar:
        assert sorted(tar.getnames())[1:] == ["manifest.json", "secrets.box"]
        manifest = json.loads(tar.extractfile("manifest.json").read())  # type: ignore[union-attr]
        raw = b"".join(tar.extractfile(m).read() for m in tar.getmembers())  # type: ignore[union-attr]
    secret_files = [(state.config(app).instance_path / n).read_bytes()
                    for n in SECRET_NAMES]
    assert not any(s in raw for s in secret_files)
    assert MARKER.encode() not in raw
    assert manifest["database"] in ("sqlite", "postgresql")

    _destroy(app)
    config = state.config(app)
    bare = create_app(config)  # nothing left: no secrets, an empty database
    assert state.secrets_or_none(bare) is None

    code, out = _invoke(bare, "portal", "restore", str(archive), stdin="wrong passphrase\n")
    assert code != 0
    assert "口令错误" in out
    assert not any((config.instance_path / n).exists() for n in SECRET_NAMES)
    code, out = _invoke(bare, "portal", "restore", str(archive), stdin=BACKUP_PASSPHRASE + "\n")
    assert code == 0, out
    assert "审计日志链完整" in out  # the CLI speaks the default language, Chinese
    state.engine(bare).dispose()

    restored = create_app(config)
    for receipt in filed:
        status, html = open_reporter(restored.test_client(), receipt)
        assert status == 200
        assert MARKER in html
    _handler_reads(restored, desk.dic, filed)
    with restored.app_context():
        assert db.session().scalar(select(func.count()).select_from(Case)) == len(filed)
    code, out = _invoke(restored, "audit", "verify")
    assert code == 0, out
    # A second restore over the living portal is refused without --replace.
    code, out = _invoke(restored, "portal", "restore", str(archive),
                        stdin=BACKUP_PASSPHRASE + "\n")
    assert code != 0
    assert "不是空的" in out
    state.engine(restored).dispose()


def test_a_tampered_backup_is_refused(app: Flask, make_staff, tmp_path: Path) -> None:
    desk = make_desk(app, make_staff)
    _file_reports(desk, 1)
    archive = tmp_path / "b.tar"
    code, out = _invoke(app, "portal", "backup", str(archive), stdin=BACKUP_PASSPHRASE + "\n")
    assert code == 0, out
    with tarfile.open(archive) as tar:
        members = {m.name: tar.extractfile(m).read() for m in tar.getmembers()}  # type: ignore[union-attr]
    database = next(n for n in members if n.startswith("database."))

    def rebuilt(name: str, **changed: bytes) -> Path:
        path = tmp_path / name
        with tarfile.open(path, "w") as tar:
            for member, data in {**members, **changed}.items():
                info = tarfile.TarInfo(member)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
        return path

    # A changed database byte, and a manifest edited to match another database.
    flipped = bytearray(members[database])
    flipped[len(flipped) // 2] ^= 0xFF
    manifest = json.loads(members["manifest.json"])
    manifest["database_sha256"] = hashlib.sha256(bytes(flipped)).hexdigest()
    cases = {
        "damaged": rebuilt("damaged.tar", **{database: bytes(flipped)}),
        "re-hashed": rebuilt("rehashed.tar", **{database: bytes(flipped),
                                                "manifest.json": json.dumps(manifest).encode()}),
    }
    _destroy(app)
    bare = create_app(state.config(app))
    code, out = _invoke(bare, "portal", "restore", str(cases["damaged"]),
                        stdin=BACKUP_PASSPHRASE + "\n")
    assert code != 0
    assert "不符" in out
    # The manifest is bound into the secrets box: a re-hashed manifest does not open it.
    code, out = _invoke(bare, "portal", "restore", str(cases["re-hashed"]),
                        stdin=BACKUP_PASSPHRASE + "\n")
    assert code != 0
    assert "改动过" in out
    code, out = _invoke(bare, "portal", "restore", str(tmp_path / "missing.tar"),
                        stdin=BACKUP_PASSPHRASE + "\n")
    assert code != 0
    state.engine(bare).dispose()
    # Restoring the good archive still works afterwards: nothing was half-written.
    good = create_app(state.config(app))
    code, out = _invoke(good, "portal", "restore", str(archive), stdin=BACKUP_PASSPHRASE + "\n")
    assert code == 0, out
    state.engine(good).dispose()


@pytest.mark.parametrize("junk", [b"not a tar at all", b""])
def test_restore_refuses_what_is_not_a_backup(app: Flask, tmp_path: Path, junk: bytes) -> None:
    path = tmp_path / "junk.tar"
    path.write_bytes(junk)
    code, out = _invoke(app, "portal", "restore", str(path), stdin=BACKUP_PASSPHRASE + "\n")
    assert code != 0
    assert "Traceback" not in out


def test_the_backup_carries_the_audit_head_and_restore_puts_it_back(
        app: Flask, make_staff, tmp_path: Path) -> None:
    """#21, item 8: the head outside the database travels with the backup."""
    desk = make_desk(app, make_staff)
    _file_reports(desk, 1)
    instance = state.config(app).instance_path
    head_file = instance / audit.HEAD_FILE
    archive = tmp_path / "b.tar"
    code, out = _invoke(app, "portal", "backup", str(archive), stdin=BACKUP_PASSPHRASE + "\n")
    assert code == 0, out
    with tarfile.open(archive) as tar:
        manifest = json.loads(tar.extractfile("manifest.json").read())  # type: ignore[union-attr]
    with app.app_context():
        backed_up = audit.head_of_document(manifest["audit_head"])
        assert backed_up.count > 0
    # The living portal goes on (its head moves past the backup's), then is restored over.
    make_staff("later", "supervisor")
    code, out = _invoke(app, "portal", "restore", "--replace", str(archive),
                        stdin=BACKUP_PASSPHRASE + "\n")
    assert code == 0, out
    state.engine(app).dispose()
    restored = create_app(state.config(app))
    with restored.app_context():
        head = audit.read_head(instance)
        # The backup's head, then the restore's own entry.
        assert head is not None
        assert head.count == backed_up.count + 1
    assert head_file.stat().st_mode & 0o777 == 0o600
    code, out = _invoke(restored, "audit", "verify")
    assert code == 0, out
    # The restored head still guards the restored chain's end.
    with restored.app_context():
        session = db.session()
        with db.transaction(session):
            session.execute(delete(AuditEntry).where(AuditEntry.seq > backed_up.count))
    code, out = _invoke(restored, "audit", "verify")
    assert code == 1, out
    assert "短于" in out
    state.engine(restored).dispose()


def test_a_backup_restored_without_its_head_file_is_refused(
        app: Flask, make_staff, tmp_path: Path) -> None:
    """A backup holds the head: restoring the database but losing the instance's head (an
    attacker who swaps in a shortened dump keeps nothing) fails `audit verify` loudly."""
    desk = make_desk(app, make_staff)
    _file_reports(desk, 1)
    archive = tmp_path / "b.tar"
    code, out = _invoke(app, "portal", "backup", str(archive), stdin=BACKUP_PASSPHRASE + "\n")
    assert code == 0, out
    _destroy(app)
    bare = create_app(state.config(app))
    code, out = _invoke(bare, "portal", "restore", str(archive), stdin=BACKUP_PASSPHRASE + "\n")
    assert code == 0, out
    (state.config(app).instance_path / audit.HEAD_FILE).unlink()
    state.engine(bare).dispose()
    restored = create_app(state.config(app))
    code, out = _invoke(restored, "audit", "verify")
    assert code == 1, out
    assert "--adopt-head" in out
    state.engine(restored).dispose()
