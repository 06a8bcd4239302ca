"""The documentation stays honest: every path, link, anchor and code reference it names exists.

Scanned: README.md, docs/**/*.md, and the strings and comments of the code (hmb/, dashboard/,
queries/, tests/, benchmarks/, streamlit_app.py). What is checked:

- paths from the project's root such as ``docs/metrics.md``, ``hmb/measure/metrics.py``,
  ``queries/claims_paid.sql``, ``data/rulebooks/`` and ``dashboard/geo.py``, wherever they are
  written (folders git ignores, such as ``data/cache/``, and patterns such as ``NAME/*.parquet``
  are left out);
- relative Markdown links ``[text](path)``, from the file they are written in;
- anchors, ``docs/metrics.md#carry-forward-pool-结余资金池`` or ``[x](#anchor)``: a heading of the
  page must give that anchor by GitHub's rules (lower case; punctuation dropped except hyphens and
  underscores, Chinese kept; spaces to hyphens; a repeated heading gets ``-1``, ``-2``...);
- ``file.py::name`` (a test or a function): the file defines ``name``;
- dotted names in Markdown, ``hmb.measure.metrics.earned_premium``: the module exists and
  defines the name.

Each test lists every problem it finds, not the first one.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README_LIMIT = 8_000  # bytes: the front page stays a front page

CODE_FOLDERS = ("hmb", "dashboard", "queries", "tests", "benchmarks")
CODE_SUFFIXES = (".py", ".sql")
# Written at run time and ignored by git (.gitignore): named in the docs, never committed.
NOT_COMMITTED = ("data/demo", "data/cache", "data/state", "benchmarks/data", "benchmarks/results",
                 "tests/artifacts")

# A path from the root: a top-level folder, then at least one more character.
ROOT_PATH = re.compile(
    r"(?<![\w./$~@-])"
    r"((?:docs|hmb|queries|dashboard|data|tests|benchmarks)/[\w./<>*{}\[\]-]*)"
    r"(?:#([\w-]+))?"
    r"(?:::([\w.]+))?"
)
MARKDOWN_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
DOTTED_NAME = re.compile(r"(?<![\w./@-])(hmb(?:\.[A-Za-z_]\w*)+)")
HEADING = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
HTML_ANCHOR = re.compile(r"<a\s+(?:id|name)=\"([^\"]+)\"", re.IGNORECASE)
FENCE = re.compile(r"^ {0,3}(```|~~~)")


def markdown_files() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]


def code_files() -> list[Path]:
    found = [ROOT / "streamlit_app.py"]
    for folder in CODE_FOLDERS:
        found += sorted(p for p in (ROOT / folder).rglob("*") if p.suffix in CODE_SUFFIXES)
    return found


def relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a heading: the text as shown, lower case, punctuation dropped
    (hyphens and underscores kept, Chinese kept), each space a hyphen."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link shows its text
    text = re.sub(r"<[^>]+>", "", text).replace("`", "").replace("*", "")
    text = re.sub(r"[^\w\- ]", "", text.strip().lower())
    return text.replace(" ", "-")


@cache
def anchors(page: Path) -> frozenset[str]:
    """Every anchor a Markdown page offers: its headings' (outside code blocks) and <a id>."""
    found: set[str] = set()
    seen: dict[str, int] = {}
    in_fence = False
    for line in page.read_text(encoding="utf-8").splitlines():
        if FENCE.match(line):
            in_fence = not in_fence
            continue
        if in_fence:
            continue
        found.update(HTML_ANCHOR.findall(line))
        heading = HEADING.match(line)
        if heading:
            anchor = github_anchor(heading.group(2))
            count = seen.get(anchor, 0)
            seen[anchor] = count + 1
            found.add(anchor if count == 0 else f"{anchor}-{count}")
    return frozenset(found)


def defines(source: Path, dotted: str) -> bool:
    """Whether a Python file defines (or imports) each part of ``dotted``."""
    text = source.read_text(encoding="utf-8")
    return all(
        re.search(rf"^\s*(?:async\s+def|def|class)\s+{re.escape(part)}\b"
                  rf"|^\s*{re.escape(part)}\s*[:=]"
                  rf"|^\s*(?:from\s+\S+\s+)?import\s+[^\n]*\b{re.escape(part)}\b",
                  text, re.MULTILINE)
        for part in dotted.split(".")
    )


def target_problem(target: Path, anchor: str | None, name: str | None) -> str | None:
    """What is wrong with a reference to ``target`` (None when nothing is)."""
    if not target.exists():
        return "no such file or folder"
    if anchor and target.suffix == ".md" and anchor not in anchors(target):
        return f"no heading gives #{anchor}"
    if name and target.suffix == ".py" and not defines(target, name):
        return f"{name} is not defined there"
    return None


def root_path_references(path: Path, text: str) -> Iterator[tuple[str, str]]:
    for match in ROOT_PATH.finditer(text):
        name, anchor, defined = match.groups()
        name = name.rstrip(".")
        if any(c in name for c in "<>*{}[]") or name.startswith(NOT_COMMITTED):
            continue  # a pattern or a placeholder, or a folder that is written at run time
        problem = target_problem(ROOT / name, anchor, defined)
        if problem:
            yield match.group(0).replace(match.group(1), name, 1), problem


def markdown_link_references(path: Path, text: str) -> Iterator[tuple[str, str]]:
    for link in MARKDOWN_LINK.findall(text):
        if re.match(r"[a-z][a-z0-9+.-]*:", link, re.IGNORECASE):
            continue  # https:, mailto:
        name, _, anchor = link.partition("#")
        target = (path.parent / name).resolve() if name else path
        if name and not target.is_relative_to(ROOT):
            yield link, "outside the project"
            continue
        problem = target_problem(target, anchor or None, None)
        if problem:
            yield link, problem


def dotted_name_problem(dotted: str) -> str | None:
    """Where ``hmb.a.b.name`` goes wrong: a module that does not exist, or a name it lacks."""
    parts = dotted.split(".")
    here = ROOT / parts[0]
    for index, part in enumerate(parts[1:], 1):
        if (here / part / "__init__.py").exists():
            here = here / part
            continue
        module = here / f"{part}.py"
        if module.exists():
            rest = ".".join(parts[index + 1:])
            return None if not rest or defines(module, rest) else f"{module.name} lacks {rest}"
        rest = ".".join(parts[index:])
        return None if defines(here / "__init__.py", rest) else f"no module or name {rest}"
    return None


def missing_references() -> list[str]:
    problems: set[str] = set()
    for page in markdown_files():
        text = page.read_text(encoding="utf-8")
        for found in (*root_path_references(page, text), *markdown_link_references(page, text)):
            problems.add(f"{relative(page)}: {found[0]} ({found[1]})")
        for dotted in sorted(set(DOTTED_NAME.findall(text))):
            problem = dotted_name_problem(dotted)
            if problem:
                problems.add(f"{relative(page)}: {dotted} ({problem})")
    for source in code_files():
        if source == Path(__file__):
            continue  # its docstring names examples
        for found in root_path_references(source, source.read_text(encoding="utf-8")):
            problems.add(f"{relative(source)}: {found[0]} ({found[1]})")
    return sorted(problems)


def test_every_path_link_anchor_and_name_the_docs_and_code_mention_exists() -> None:
    missing = missing_references()
    assert missing == [], "references to nothing:\n" + "\n".join(missing)


def test_readme_is_a_front_page() -> None:
    size = len((ROOT / "README.md").read_bytes())
    assert size <= README_LIMIT, f"README.md is {size:,} bytes, over {README_LIMIT:,}"


def test_every_docs_file_is_in_the_index() -> None:
    """docs/README.md links every file of docs/, or the folder that holds it (screenshots/)."""
    index = ROOT / "docs" / "README.md"
    assert index.exists(), "docs/README.md, the index of docs/, is missing"
    listed = {(index.parent / link.partition("#")[0]).resolve()
              for link in MARKDOWN_LINK.findall(index.read_text(encoding="utf-8"))}
    unlisted = [
        relative(path) for path in sorted((ROOT / "docs").rglob("*"))
        if path.is_file() and path != index
        and path.resolve() not in listed and path.parent.resolve() not in listed
    ]
    assert unlisted == [], "not in docs/README.md:\n" + "\n".join(unlisted)


def test_github_anchors() -> None:
    assert github_anchor("Participation 参保率") == "participation-参保率"
    assert github_anchor("Output of `hmb metrics --format json`") == (
        "output-of-hmb-metrics---format-json")
    assert github_anchor("`enrollment` — 参保（投保）明细") == "enrollment--参保投保明细"
    assert github_anchor("Where the time goes, and the targets not met") == (
        "where-the-time-goes-and-the-targets-not-met")
    assert github_anchor("§5 Claims development") == "5-claims-development"
