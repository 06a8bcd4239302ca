"""Typesetting with Typst (the ``typst`` package: a compiler in the wheel, no system library).

A template of this folder (``*.typ``) lays out the data it is given as JSON in ``sys.inputs``;
every text is made in Python (numbers by hmb.core.formatting, labels by hmb.core.labels), so the
template only places it. The Chinese font is the system's Noto Sans CJK (Debian's
``fonts-noto-cjk``), looked for in the usual font folders and given to the compiler as the only
fonts besides those built into Typst: the same inputs give the same bytes on any machine with
the same font files, and the PDF's date is the brief's as-of date, never the clock.
Nothing is downloaded.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path
from typing import Any

import typst

TEMPLATES = Path(__file__).parent
FONT_FOLDERS = (Path("/usr/share/fonts"), Path("/usr/local/share/fonts"),
                Path.home() / ".local" / "share" / "fonts", Path.home() / ".fonts")
FONT_FILES = ("NotoSansCJK-Regular.ttc", "NotoSansCJK-Bold.ttc", "NotoSansCJKsc-Regular.otf",
              "NotoSansCJKsc-Bold.otf")


class FontMissing(RuntimeError):
    """The Noto Sans CJK font is not installed."""


@cache
def font_files() -> tuple[Path, ...]:
    """The Noto Sans CJK files found (regular, and bold where installed)."""
    found: list[Path] = []
    for folder in FONT_FOLDERS:
        if folder.is_dir():
            for name in FONT_FILES:
                found.extend(sorted(folder.rglob(name)))
    if not any("Regular" in p.name for p in found):
        raise FontMissing(
            "找不到中文字体 Noto Sans CJK：请安装 fonts-noto-cjk"
            "（apt-get install fonts-noto-cjk）。"
            " The Noto Sans CJK font is not installed: install Debian's fonts-noto-cjk"
            f" (looked in {', '.join(str(f) for f in FONT_FOLDERS)})."
        )
    unique: dict[str, Path] = {}
    for path in found:
        unique.setdefault(path.name, path)
    return tuple(unique.values())


def typeset(template: str, data: dict[str, Any], files: dict[str, str], day: date) -> bytes:
    """The PDF of ``template`` given ``data`` (as JSON) and ``files`` (texts such as an SVG),
    dated ``day``."""
    folders = sorted({str(path.parent) for path in font_files()})
    compiler = typst.Compiler(font_paths=folders, ignore_system_fonts=True)
    inputs = {"data": json.dumps(data, ensure_ascii=False, sort_keys=True), **files}
    pdf = compiler.compile(
        input=(TEMPLATES / template).read_bytes(),
        format="pdf",
        sys_inputs=inputs,
        timestamp=datetime(day.year, day.month, day.day, tzinfo=UTC),
    )
    assert isinstance(pdf, bytes)
    return pdf
