"""What the journeys hand on to each other, and the content they type and upload.

The journeys of test_journeys.py run in order on one portal: a later one starts from what an
earlier one made (the notice, the objection's receipt, case numbers). Each states what it
needs through `Story.need`, which fails with the name of the journey that makes it.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import TypeVar

import pytest
from babel.dates import format_date

from tests.functional.pages.editor import PersonData
from tests.unit import evidence_samples

T = TypeVar("T")
FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


@dataclass
class Story:
    """State shared by the journeys, in the order they make it."""

    today: dt.date
    notice_title: str | None = None
    notice_path: str | None = None
    notice_end: dt.date | None = None
    persons: tuple[PersonData, ...] = ()
    objection_receipt: str | None = None
    objection_case: str | None = None
    discipline_case: str | None = None
    phone_case: str | None = None

    def need(self, value: T | None, what: str, made_by: str) -> T:
        """A precondition made by an earlier journey; fails plainly when it is missing."""
        if value is None:
            pytest.fail(f"precondition missing: {what} (made by {made_by}; run the module as "
                        "a whole)", pytrace=False)
        return value


def long_date(day: dt.date) -> str:
    """A date as the Chinese pages print it (Babel's long format), e.g. 2026年11月28日."""
    return format_date(day, "long", locale="zh_Hans_CN")


DAY = re.compile(r"(\d{4})\D(\d{1,2})\D(\d{1,2})")
MINUTE = re.compile(DAY.pattern + r"\D*?(\d{1,2}):(\d{2})")


def day_shown(text: str) -> dt.date:
    """The first date in a text, however it is written (2026-11-28, 2026年11月28日 …)."""
    match = DAY.search(text)
    assert match, f"no date in {text!r}"
    year, month, day = map(int, match.groups())
    return dt.date(year, month, day)


def minute_shown(text: str, zone: dt.tzinfo) -> dt.datetime:
    """The first date and time (to the minute) in a text, read as a time in `zone`."""
    match = MINUTE.search(text)
    assert match, f"no date and time in {text!r}"
    year, month, day, hour, minute = map(int, match.groups())
    return dt.datetime(year, month, day, hour, minute, tzinfo=zone)


def typed_like_a_phone(receipt: str) -> str:
    """A receipt as someone types it with a Chinese input method: full-width digits in
    groups of four, separated by spaces."""
    groups = [receipt[i:i + 4] for i in range(0, len(receipt), 4)]
    return " ".join(groups).translate(FULL_WIDTH)


def notice_persons(serial: str) -> tuple[PersonData, PersonData]:
    """The two persons of journey 1's notice (the second one gets the objection), with the ids
    the cadre system gives them (the compliance record names them by these)."""
    return (
        PersonData(name="李建国", gender="男", ethnicity="汉族", birth="1979-03",
                   native_place="××省××县", education="大学本科，管理学学士",
                   work_start="2001-07", party="2000-06",
                   current_post="××镇党委副书记、镇长", proposed_post=f"××镇党委书记（{serial}）",
                   cadre_id=f"GB-{serial}-01"),
        PersonData(name="王秀英", gender="女", ethnicity="回族", birth="1983-11",
                   native_place="××省××市", education="研究生，法学硕士",
                   work_start="2008-08", party="2006-05",
                   current_post="县财政局副局长", proposed_post="县审计局局长",
                   cadre_id=f"GB-{serial}-02"),
    )


def batch_person(serial: str) -> PersonData:
    """The one person of journey 10's notice, whose batch breaks an appointment rule."""
    return PersonData(name="张振华", gender="男", ethnicity="汉族", birth="1981-09",
                      native_place="××省××县", education="大学本科，工学学士",
                      work_start="2004-07", party="2003-12", current_post="县水利局办公室主任",
                      proposed_post=f"县水利局副局长（{serial}）", cadre_id=f"GB-{serial}-01")


PHOTO_NAME = "现场照片.jpg"
PDF_NAME = "情况说明.pdf"


def photo_with_gps() -> bytes:
    """A JPEG whose EXIF and XMP say where it was taken (and who took it)."""
    return evidence_samples.jpeg_with_metadata()


def pdf_with_author() -> bytes:
    """A PDF whose document info and XMP name its author."""
    return evidence_samples.pdf_with_author()
