"""The layers keep to their jobs: checked on the source itself."""

from __future__ import annotations

import ast
from pathlib import Path


def test_the_dashboard_divides_no_money_and_no_counts() -> None:
    """Every ratio a page shows comes from hmb.measure, with a hand-computed test there; pages
    and charts only format and draw. So no code under dashboard/ divides: no ``/``, ``//``,
    ``/=``, ``//=``, ``.truediv(`` or ``.floordiv(``, except

    - a path join: ``/`` whose left operand is obviously a path — a name or attribute ending in
      ``dir``, ``path`` or ``parent`` (``PAGES_DIR``, ``Path(__file__).parent``), a call of
      ``Path(...)`` or of a function whose name ends so (``default_cache_dir()``), or another
      such join (``default_cache_dir() / "maps" / name``);
    - the few functions listed below, whose divisions are geometry or units of time and not a
      metric. Each entry must still divide, so the list cannot go stale.
    """
    root = Path(__file__).resolve().parent.parent
    allowed = {
        ("dashboard/geo.py", "center_and_zoom"): "the middle of the bounding box",
        ("dashboard/geo.py", "_zoom"): "the zoom that fits a bounding box",
        ("dashboard/geo.py", "_tolerance"): "half a pixel in degrees",
        ("dashboard/geo.py", "_distance_to_line"): "a point's distance to a segment",
        ("dashboard/geo.py", "_mercator_y"): "the Web Mercator projection",
        ("dashboard/charts.py", "_band_colourscale"): "stops of a colour scale",
        ("dashboard/session.py", "_check_password"): "the back-off's wait in minutes",
    }
    path_suffixes = ("dir", "path", "parent")

    def name_of(node: ast.expr) -> str:
        if isinstance(node, ast.Name):
            return node.id
        if isinstance(node, ast.Attribute):
            return node.attr
        return ""

    def is_path(node: ast.expr) -> bool:
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
            return is_path(node.left)
        if isinstance(node, ast.Call):
            return name_of(node.func) == "Path" or is_path(node.func)
        return name_of(node).lower().endswith(path_suffixes)

    def divides(node: ast.AST) -> bool:
        if isinstance(node, ast.BinOp | ast.AugAssign) and isinstance(
            node.op, ast.Div | ast.FloorDiv
        ):
            target = node.left if isinstance(node, ast.BinOp) else node.target
            return not (isinstance(node.op, ast.Div) and is_path(target))
        return (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr in {"truediv", "floordiv"})

    def divisions(tree: ast.AST, function: str) -> list[tuple[str, int]]:
        """(innermost enclosing function, line) of every division under ``tree``."""
        found = []
        for child in ast.iter_child_nodes(tree):
            inner = (child.name if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
                     else function)
            if divides(child):
                found.append((inner, getattr(child, "lineno", 0)))
            found += divisions(child, inner)
        return found

    offending, used = [], set()
    for file in sorted((root / "dashboard").rglob("*.py")):
        relative = file.relative_to(root).as_posix()
        tree = ast.parse(file.read_text(encoding="utf-8"), filename=relative)
        for function, line in divisions(tree, "<module>"):
            if (relative, function) in allowed:
                used.add((relative, function))
            else:
                offending.append(f"{relative}:{line} in {function}")
    assert not offending, (
        "metric maths in the dashboard; compute it in hmb/measure and test it there: "
        + ", ".join(offending)
    )
    assert used == set(allowed), f"allowed but no longer dividing: {set(allowed) - used}"
