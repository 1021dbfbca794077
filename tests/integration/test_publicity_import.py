"""`flask --app wsgi notices import FILE` against a real (migrated) database.

The CLI speaks the configured default language (zh). Messages are computed in the app's context
where they come from the product, and spelled out in Chinese once, to pin the default language.
The clock is frozen wherever the output depends on it (the "start has passed" reminder).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import chinese_calendar
import pytest
import time_machine
from click.testing import Result
from flask import Flask
from flask.testing import FlaskCliRunner
from flask_babel import gettext as _
from sqlalchemy import func, select

from portal import db, workdays
from portal.models import AuditEntry
from publicity.models import Notice, NoticePerson
from publicity.validation import FIELD_LABELS, FieldError

D = dt.date.fromisoformat
SHANGHAI = dt.timezone(dt.timedelta(hours=8))


def at(day: str) -> time_machine.travel:
    """Freeze the clock at 10:00 on a Shanghai date."""
    return time_machine.travel(dt.datetime.combine(D(day), dt.time(10), SHANGHAI), tick=False)


def person(name: str, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": name, "gender": "男", "ethnicity": "汉族", "birth": "1980-05",
        "native_place": "××省××县", "education": "大学本科，管理学学士",
        "work_start": "2002-07", "party": "2001-06",
        "current_post": "××镇党委副书记、镇长", "proposed_post": "××镇党委书记",
        "exceptional": None, "resume": None, "cadre_id": None,
    }
    data.update(changes)
    return data


def notice(title: str, start: str, *persons: dict[str, Any], **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"title": title, "issuer": "中共××县委组织部", "period_start": start,
                            "working_days": 5, "persons": list(persons) or [person("王五")]}
    data.update(changes)
    return data


FIRST = notice("中共××县委组织部干部任前公示（第一批）", "2026-11-30",
               person("张三", cadre_id="HR-0001"),
               person("李四", gender="女", birth="1985-11", work_start="2007-07", party="群众",
                      exceptional={"circumstance": "破格提拔", "reason": "实绩突出"}))
NATIONAL_DAY = notice("中共××县委组织部干部任前公示（第二批）", "2026-10-01", person("王五"))


def write(tmp_path: Path, data: object, name: str = "notices.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def run_import(runner: FlaskCliRunner, path: Path, today: str = "2026-09-01") -> Result:
    with at(today):
        return runner.invoke(args=["notices", "import", str(path)])


def counts(app: Flask) -> dict[str, int]:
    """Everything an import may write."""
    with app.app_context():
        session = db.session()
        return {model.__tablename__: session.scalar(select(func.count()).select_from(model)) or 0
                for model in (Notice, NoticePerson, AuditEntry)}


def notices(app: Flask) -> list[Notice]:
    with app.app_context():
        session = db.session()
        found = list(session.scalars(select(Notice).order_by(Notice.id)))
        session.expunge_all()  # persons are loaded eagerly (selectin)
        return found


def in_app(app: Flask, text: str, **params: object) -> str:
    """A message as the CLI renders it (default language)."""
    with app.app_context():
        return _(text, **params)


def assert_refused(result: Result) -> None:
    """A clean refusal: click's exit 1 with a message, not a crash."""
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), result.exception


# --- importing ----------------------------------------------------------------------------------


def test_national_day_period_is_the_real_schedule() -> None:
    # 2026-10-01..07 are holidays; Saturday 2026-10-10 is a make-up working day (调休).
    assert chinese_calendar.get_workdays(D("2026-10-01"), D("2026-10-13")) == [
        D("2026-10-08"), D("2026-10-09"), D("2026-10-10"), D("2026-10-12"), D("2026-10-13")]
    assert chinese_calendar.get_workdays(D("2026-11-30"), D("2026-12-04")) == [
        D("2026-11-30"), D("2026-12-01"), D("2026-12-02"), D("2026-12-03"), D("2026-12-04")]


def test_import_prints_each_draft_and_its_period(
    app: Flask, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    result = run_import(runner, write(tmp_path, {"notices": [FIRST, NATIONAL_DAY]}))
    assert result.exit_code == 0, result.output
    first, second = notices(app)
    line_1, line_2 = result.output.splitlines()
    for line, draft in ((line_1, first), (line_2, second)):
        assert re.findall(r"\d+", line)[0] == str(draft.id)
        assert draft.title in line
    assert "2026-11-30 → 2026-12-04" in line_1
    assert "2026-10-08 → 2026-10-13" in line_2
    assert in_app(app, "(start moved from %(a)s: not a working day)", a="2026-10-01") in line_2
    assert "2026-10-01" not in line_1


def test_import_creates_drafts_with_persons_in_order(
    app: Flask, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    result = run_import(runner, write(tmp_path, {"notices": [FIRST, NATIONAL_DAY]}))
    assert result.exit_code == 0, result.output
    first, second = notices(app)
    assert (first.status, second.status) == ("draft", "draft")
    assert (first.requested_start, second.requested_start) == (D("2026-11-30"), D("2026-10-01"))
    assert (first.working_days, second.working_days) == (5, 5)
    # The period is only fixed on approval; a draft keeps the requested start.
    assert (first.period_start, first.period_end) == (None, None)
    assert first.title == "中共××县委组织部干部任前公示（第一批）"
    assert first.issuer == "中共××县委组织部"
    assert first.phone == "12380"  # the configured default channel
    assert first.editors == []  # the CLI is no editor: any editor may approve
    assert [(p.position, p.name, p.gender, p.cadre_id) for p in first.persons] == [
        (0, "张三", "男", "HR-0001"), (1, "李四", "女", None)]
    lisi = first.persons[1]
    assert (lisi.birth, lisi.work_start, lisi.party) == ("1985-11", "2007-07", "群众")
    assert (lisi.exceptional, lisi.exceptional_circumstance, lisi.exceptional_reason) == (
        True, "破格提拔", "实绩突出")
    assert not first.persons[0].exceptional
    assert all(p.outcome == "pending" for p in first.persons)
    assert [p.name for p in second.persons] == ["王五"]
    with app.app_context():
        entries = db.session().execute(
            select(AuditEntry.action, AuditEntry.target, AuditEntry.actor, AuditEntry.details)
            .order_by(AuditEntry.seq)).all()
    created = [(target, actor, json.loads(details))
               for action, target, actor, details in entries if action == "notice.draft_created"]
    assert [(target, actor) for target, actor, _details in created] == [
        (f"notice:{first.id}", "cli"), (f"notice:{second.id}", "cli")]
    assert [(d["persons"], d["via"]) for *_, d in created] == [(2, "import"), (1, "import")]


def test_import_of_a_start_that_has_passed_reminds_the_editor(
    app: Flask, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    result = run_import(runner, write(tmp_path, {"notices": [NATIONAL_DAY, FIRST]}),
                        today="2026-11-27")
    assert result.exit_code == 0, result.output
    reminder = in_app(app, "The start has passed: edit the draft before approval.")
    assert [line.strip() == reminder for line in result.output.splitlines()] == [
        False, True, False]
    assert len(notices(app)) == 2


def test_import_twice_creates_two_independent_drafts(
    app: Flask, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    path = write(tmp_path, {"notices": [FIRST]})
    assert run_import(runner, path).exit_code == 0
    assert run_import(runner, path).exit_code == 0
    first, second = notices(app)
    assert first.id != second.id
    assert first.title == second.title
    assert [p.cadre_id for p in first.persons] == [p.cadre_id for p in second.persons]
    assert {p.id for p in first.persons}.isdisjoint(p.id for p in second.persons)
    assert counts(app)["notice_person"] == 4


def test_import_accepts_a_byte_order_mark(
    app: Flask, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    path = tmp_path / "bom.json"
    path.write_text(json.dumps({"notices": [FIRST]}, ensure_ascii=False), encoding="utf-8-sig")
    assert run_import(runner, path).exit_code == 0
    assert [n.title for n in notices(app)] == [FIRST["title"]]


# --- refusals ------------------------------------------------------------------------------------


def test_one_invalid_notice_rejects_the_whole_file(
    app: Flask, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    bad = notice("第三批", "2026-12-01", person("赵六"), person("孙七", gender="M"))
    path = write(tmp_path, {"notices": [FIRST, bad]})
    before = counts(app)
    result = run_import(runner, path)
    assert_refused(result)
    assert counts(app) == before
    with app.app_context():
        named = (_("Notice %(n)s", n=2) + ": " + _("Person %(n)s", n=2) + ", "
                 + str(FIELD_LABELS["gender"]) + ": " + _("Must be 男 or 女."))
        assert _("Notice %(n)s", n=1) not in result.output
        assert _("Nothing was imported.") in result.output
    assert named in result.output.splitlines()


def test_every_problem_of_every_notice_is_listed(
    app: Flask, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    path = write(tmp_path, {"notices": [
        notice("一", "2026/12/01"),
        FIRST,
        notice("三", "2026-12-01", person("", cadre_id="x y"), working_days=4),
    ]})
    result = run_import(runner, path)
    assert_refused(result)
    with app.app_context():
        expected = [
            _("Notice %(n)s", n=1) + ": " + FieldError(
                None, "period_start", _("Write the date as YYYY-MM-DD.")).describe(),
            _("Notice %(n)s", n=3) + ": " + FieldError(
                None, "working_days",
                _("The period is at least %(n)s working days (条例第四十二条).", n=5)).describe(),
            _("Notice %(n)s", n=3) + ": " + FieldError(
                0, "name", _("This field is required.")).describe(),
            _("Notice %(n)s", n=3) + ": " + FieldError(
                0, "cadre_id", _("Letters, digits and . _ : - only, at most 64.")).describe(),
            "Error: " + _("Nothing was imported."),
        ]
    assert result.output.splitlines() == expected
    assert counts(app)["notice"] == 0


@pytest.mark.parametrize("start", ["2026-12-28", "2027-03-01"])
def test_a_notice_reaching_into_an_unloaded_year_is_refused(
    app: Flask, runner: FlaskCliRunner, tmp_path: Path, start: str
) -> None:
    path = write(tmp_path, {"notices": [FIRST, notice("跨年", start)]})
    before = counts(app)
    result = run_import(runner, path)
    assert_refused(result)
    with app.app_context():
        expected = _("Notice %(n)s", n=2) + ": " + workdays.year_not_loaded_message(2027)
    assert expected in result.output.splitlines()
    assert "2027" in expected
    assert counts(app) == before


def test_output_is_chinese_by_default(
    app: Flask, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    path = write(tmp_path, {"notices": [notice("跨年", "2026-12-28")]})
    result = run_import(runner, path)
    assert_refused(result)
    assert "第 1 条公示" in result.output
    assert "2027年节假日安排尚未发布" in result.output
    assert "未导入任何内容" in result.output
    ok = run_import(runner, write(tmp_path, {"notices": [FIRST]}, "ok.json"))
    assert ok.output.startswith("草稿 ")
    assert "个工作日" in ok.output


@pytest.mark.parametrize(
    "content",
    [b'{"notices": [', b"", b"\xef\xbb\xbf",
     json.dumps({"notices": [FIRST]}, ensure_ascii=False).encode("gbk")],
    ids=["truncated", "empty", "bom-only", "gbk"],
)
def test_a_file_that_is_not_utf8_json_writes_nothing(
    app: Flask, runner: FlaskCliRunner, tmp_path: Path, content: bytes
) -> None:
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    before = counts(app)
    result = run_import(runner, path)
    assert_refused(result)
    assert in_app(app, "Not a UTF-8 JSON file: %(e)s", e="") in result.output
    assert counts(app) == before


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ({"notices": []}, "The file contains no notice."),
        ([], 'The file must have the form {"notices": [ … ]}.'),
        ({"notices": "x"}, 'The file must have the form {"notices": [ … ]}.'),
        ({"notices": {"0": FIRST}}, 'The file must have the form {"notices": [ … ]}.'),
        ([FIRST], 'The file must have the form {"notices": [ … ]}.'),
        (FIRST, 'The file must have the form {"notices": [ … ]}.'),
        (None, 'The file must have the form {"notices": [ … ]}.'),
    ],
    ids=["no-notice", "empty-list", "notices-text", "notices-object", "bare-list",
         "bare-notice", "null"],
)
def test_a_file_of_the_wrong_shape_writes_nothing(
    app: Flask, runner: FlaskCliRunner, tmp_path: Path, content: object, problem: str
) -> None:
    path = write(tmp_path, content)
    before = counts(app)
    result = run_import(runner, path)
    assert_refused(result)
    assert result.output.splitlines() == [in_app(app, problem),
                                          "Error: " + in_app(app, "Nothing was imported.")]
    assert counts(app) == before


def test_a_notice_that_is_not_an_object_is_named(
    app: Flask, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    before = counts(app)
    result = run_import(runner, write(tmp_path, {"notices": [FIRST, "公示"]}))
    assert_refused(result)
    assert result.output.splitlines()[0].startswith(in_app(app, "Notice %(n)s", n=2) + ": ")
    assert counts(app) == before


def test_a_missing_file_is_a_usage_error(runner: FlaskCliRunner, tmp_path: Path) -> None:
    assert runner.invoke(args=["notices", "import", str(tmp_path / "none.json")]).exit_code == 2


# --- refusals that once were bugs ------------------------------------------------------------


def test_a_lone_surrogate_is_refused_not_a_crash(
    app: Flask, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    path = tmp_path / "surrogate.json"
    # ensure_ascii writes the lone surrogate as the JSON escape \ud800: valid UTF-8, valid JSON.
    path.write_text(json.dumps({"notices": [notice("公示", "2026-11-30", person("张\ud800三"))]}),
                    encoding="utf-8")
    before = counts(app)
    result = run_import(runner, path)
    assert counts(app) == before
    assert_refused(result)


def test_a_cadre_id_with_a_trailing_newline_is_refused(
    app: Flask, runner: FlaskCliRunner, tmp_path: Path
) -> None:
    path = write(tmp_path, {"notices": [
        notice("公示", "2026-11-30", person("张三", cadre_id="A" * 64 + "\n"))]})
    before = counts(app)
    result = run_import(runner, path)
    assert counts(app) == before
    assert_refused(result)
    with app.app_context():
        assert str(FIELD_LABELS["cadre_id"]) in result.output
