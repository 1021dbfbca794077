"""The README and docs/ against the repository (STYLE rule 25: docs beside the code).

Settings documented = settings of `Config`; every link resolves inside the repository and none
leaves it; every document is reachable from a README short enough to read.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import fields
from pathlib import Path

import pytest

from portal.config import Config, ConfigError

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
CONFIG_DOC = DOCS / "configuration.md"
DEPLOYMENT_DOC = DOCS / "deployment.md"
README_MAX_LINES = 200

_FENCE = re.compile(r"^(```|~~~).*?^\1[^\n]*$", re.M | re.S)
_CODE_SPAN = re.compile(r"(`+)(.+?)\1", re.S)
_INLINE_LINK = re.compile(r"\]\(\s*<?([^)\s>]*)>?(?:\s+(?:\"[^\"]*\"|'[^']*'))?\s*\)")
_REFERENCE_DEF = re.compile(r"^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)", re.M)
_AUTOLINK = re.compile(r"<([A-Za-z][A-Za-z0-9+.-]{1,31}:[^>\s]*)>")
_BARE_URL = re.compile(r"\b(?:https?://|www\.)\S+", re.I)
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_HTML_LINK = re.compile(r"<(?:a|img)\b[^>]*?\b(?:href|src)\s*=\s*[\"']([^\"']*)[\"']", re.I)
_SETTING = re.compile(r"\bPORTAL_[A-Z0-9_]+")
# Paths the documents name in code spans, e.g. `deploy/nginx/portal.conf`.
_REPO_PATH = re.compile(
    r"^(?:deploy|docs|tests|portal|publicity|intake|casework|benchmarks|migrations|templates"
    r"|translations|\.ci)/[\w./-]*$|^(?:gunicorn\.conf\.py|wsgi\.py|pyproject\.toml|Makefile)$"
)


def documents() -> list[Path]:
    """Every document these rules cover: the README, docs/, and the benchmark results pages."""
    return [README, *sorted(DOCS.glob("*.md")), *sorted((ROOT / "benchmarks/results").glob("*.md"))]


def _prose(text: str) -> str:
    """The text without fenced blocks and code spans (what Markdown renders as links)."""
    return _CODE_SPAN.sub(" ", _FENCE.sub("", text))


def _code(text: str) -> Iterator[str]:
    """Every code span's content (fenced blocks excluded)."""
    for match in _CODE_SPAN.finditer(_FENCE.sub("", text)):
        yield match.group(2).strip()


def links(text: str) -> list[str]:
    """Every link target in a Markdown text: inline, reference, autolink, HTML, bare URL."""
    prose = _prose(text)
    found = [m.group(1) for m in _INLINE_LINK.finditer(prose)]
    found += [m.group(1) for m in _REFERENCE_DEF.finditer(prose)]
    found += [m.group(1) for m in _AUTOLINK.finditer(prose)]
    found += [m.group(1) for m in _HTML_LINK.finditer(prose)]
    found += [m.group(0) for m in _BARE_URL.finditer(prose)]
    return found


def resolve(document: Path, target: str) -> Path | None:
    """The file a relative link points to, or None when it is not a relative link."""
    if not target or target.startswith("#") or _SCHEME.match(target) or target.startswith("/"):
        return None
    return (document.parent / target.split("#", 1)[0]).resolve()


def config_variables() -> set[str]:
    """The PORTAL_* variable of every Config field that `Config.from_env` reads."""
    return {f"PORTAL_{f.name.upper()}" for f in fields(Config) if f.name != "testing"}


def test_variables_are_what_from_env_reads() -> None:
    """The rule above (field -> PORTAL_FIELD) is the one `Config.from_env` applies."""
    defaults = Config()
    for f in fields(Config):
        variable = f"PORTAL_{f.name.upper()}"
        value = getattr(defaults, f.name)
        raw = str(value).lower() if isinstance(value, bool) else str(value)
        if f.name == "testing":
            with pytest.raises(ConfigError, match="unknown setting"):
                Config.from_env({variable: raw})
        else:
            assert getattr(Config.from_env({variable: raw}), f.name) == value, variable


def _table_variables(text: str) -> set[str]:
    """Variables named in the first cell of a table row."""
    names: set[str] = set()
    for line in text.splitlines():
        cells = line.strip().split("|")
        if line.lstrip().startswith("|") and len(cells) > 2:
            names.update(_SETTING.findall(cells[1]))
    return names


def test_every_setting_is_documented() -> None:
    """A Config field added without a row in docs/configuration.md fails here."""
    missing = config_variables() - _table_variables(CONFIG_DOC.read_text(encoding="utf-8"))
    assert not missing, f"settings missing from docs/configuration.md's tables: {sorted(missing)}"


def _test_variables() -> set[str]:
    """PORTAL_TEST_* variables the tests, the Makefile or CI really read."""
    sources = [p for p in (ROOT / "tests").rglob("*.py") if "node_modules" not in p.parts]
    sources += [ROOT / "Makefile", ROOT / ".ci" / "run"]
    names: set[str] = set()
    for source in sources:
        if source.is_file():
            names.update(re.findall(r"\bPORTAL_TEST_[A-Z0-9_]*[A-Z0-9]",
                                    source.read_text(encoding="utf-8")))
    return names


@pytest.mark.parametrize("document", documents(), ids=lambda p: str(p.relative_to(ROOT)))
def test_documents_name_no_setting_that_does_not_exist(document: Path) -> None:
    """Every PORTAL_* name in a document is a setting, a test variable, or a prefix of one."""
    known = config_variables() | _test_variables()
    unknown = set()
    for name in _SETTING.findall(document.read_text(encoding="utf-8")):
        is_prefix = name.endswith("_") and any(k.startswith(name) for k in known)
        if name not in known and not is_prefix:
            unknown.add(name)
    assert not unknown, f"{document.name} names variables that do not exist: {sorted(unknown)}"


def test_readme_is_short() -> None:
    """A newcomer reads the README to the end; the rest lives in docs/."""
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_MAX_LINES, f"README.md has {len(lines)} lines"


def test_readme_starts_with_the_two_commands() -> None:
    """`make run` and `make test` are the first section and the first code block."""
    text = README.read_text(encoding="utf-8")
    first_section = re.search(r"^## (.+)$", text, re.M)
    assert first_section is not None
    assert first_section.group(1) == "Two commands"
    first_block = _FENCE.search(text)
    assert first_block is not None
    assert re.search(r"^make run\b", first_block.group(0), re.M)
    assert re.search(r"^make test\b", first_block.group(0), re.M)


def test_readme_carries_no_measured_figures() -> None:
    """Test counts, timings and benchmark results live in docs/ and benchmarks/results/."""
    text = README.read_text(encoding="utf-8")
    figures = re.findall(
        r"\b\d[\d,.]*\s*(?:tests?|min(?:utes?)?|s\b|ms\b|req/s|reports/s)|targets met", text
    )
    assert not figures, f"measured figures in README.md: {figures}"


@pytest.mark.parametrize("document", documents(), ids=lambda p: str(p.relative_to(ROOT)))
def test_links_stay_inside_the_repository_and_resolve(document: Path) -> None:
    """Nothing in the repository links outside it; every relative link names a file in it."""
    text = document.read_text(encoding="utf-8")
    assert "../shared" not in text, f"{document.name} refers to ../shared (outside the repository)"
    problems = []
    for target in links(text):
        if _SCHEME.match(target) or target.lower().startswith("www.") or target.startswith("/"):
            problems.append(f"{target}: points outside the repository")
            continue
        path = resolve(document, target)
        if path is None:
            continue
        if not path.is_relative_to(ROOT):
            problems.append(f"{target}: escapes the repository")
        elif not path.exists():
            problems.append(f"{target}: no such file")
    assert not problems, f"{document.name}: " + "; ".join(problems)


@pytest.mark.parametrize("document", documents(), ids=lambda p: str(p.relative_to(ROOT)))
def test_paths_named_in_code_exist(document: Path) -> None:
    """`deploy/…`, `tests/…` and the like, written as code, name files that are there."""
    missing = [
        name for name in _code(document.read_text(encoding="utf-8"))
        if _REPO_PATH.match(name) and not (ROOT / name).exists()
    ]
    assert not missing, f"{document.name} names paths that do not exist: {missing}"


def test_every_document_is_reachable_from_the_readme() -> None:
    """Following links from README.md reaches every file in docs/."""
    seen, todo = {README.resolve()}, [README]
    while todo:
        document = todo.pop()
        for target in links(document.read_text(encoding="utf-8")):
            path = resolve(document, target)
            if path and path.suffix == ".md" and path.is_file() and path not in seen:
                seen.add(path)
                todo.append(path)
    unreachable = [p.name for p in sorted(DOCS.glob("*.md")) if p.resolve() not in seen]
    assert not unreachable, f"not reachable from README.md: {unreachable}"


def test_every_deploy_file_is_in_the_deployment_doc() -> None:
    """deploy/ holds real configuration files, and docs/deployment.md names each of them."""
    text = DEPLOYMENT_DOC.read_text(encoding="utf-8")
    files = [p.relative_to(ROOT).as_posix() for p in (ROOT / "deploy").rglob("*") if p.is_file()]
    assert files
    missing = [name for name in files if f"`{name}`" not in text]
    assert not missing, f"docs/deployment.md does not mention: {missing}"
