"""Every user-facing string has its Simplified Chinese translation."""

from __future__ import annotations

import io
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from portal.constants import ROOT

CATALOG = ROOT / "translations" / "zh_Hans_CN" / "LC_MESSAGES" / "messages.po"
METHODS = [("portal/**.py", "python"), ("intake/**.py", "python"), ("publicity/**.py", "python"),
           ("casework/**.py", "python"), ("templates/**.html", "jinja2")]


def _source_messages() -> set[str]:
    found: set[str] = set()
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "_l": None, "lazy_gettext": None}
    for _file, _line, message, _comments, _ctx in extract_from_dir(
        str(ROOT), METHODS, keywords=keywords
    ):
        found.update([message] if isinstance(message, str) else [m for m in message if m])
    return found


def test_every_message_has_a_chinese_translation() -> None:
    catalog = read_po(io.BytesIO(CATALOG.read_bytes()))
    translated: set[str] = set()
    for m in catalog:
        if m.id and not m.fuzzy and (all(m.string) if m.pluralizable else m.string):
            # A plural message counts for both its singular and its plural form.
            translated.update(m.id if m.pluralizable else [m.id])
    missing = sorted(_source_messages() - translated)
    assert missing == [], "run `make extract` and translate: " + "; ".join(missing[:10])


def test_catalog_placeholders_match() -> None:
    import re

    def named(text: str) -> list[str]:
        return sorted(re.findall(r"%\((\w+)\)[sd]", text))

    catalog = read_po(io.BytesIO(Path(CATALOG).read_bytes()))
    for m in catalog:
        if m.id and m.string:
            # A plural message: every form of the translation names what the singular does.
            ids = m.id if isinstance(m.id, tuple) else (m.id,)
            strings = m.string if isinstance(m.string, tuple) else (m.string,)
            for string in strings:
                assert named(ids[0]) == named(string), m.id
