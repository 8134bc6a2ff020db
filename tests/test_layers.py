"""The package's layers: an import may only point down (or sideways, same layer).

Layers are documented in docs/DEVELOPING.md. Every import inside
``medseg_edu`` - absolute or relative, at module level or inside a function -
is resolved to the module it names and checked against this table.
"""

from __future__ import annotations

import ast
import re
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = "medseg_edu"

LAYERS = {
    "_device": 0,
    "_checks": 0,
    "_bundled": 0,
    "expect": 0,
    "io": 1, "metrics": 1, "volumetry": 1, "masks": 1, "recist": 1, "agreement": 1,
    "data": 2,
    "nets": 3, "weights": 3, "train": 3,
    "methods": 4,
    "viz": 5, "widgets": 5, "exercises": 5, "showdown": 5,
}


def module_name(path: Path, root: Path) -> tuple[str, bool]:
    """Dotted name of a file under ``root`` and whether it is a package ``__init__``."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    is_package = parts[-1] == "__init__"
    if is_package:
        parts = parts[:-1]
    return ".".join(parts), is_package


def imported_modules(source: str, name: str, is_package: bool) -> list[tuple[int, str]]:
    """Absolute names of everything ``source`` imports: (line, module) pairs.

    ``from X import y`` yields ``X.y`` as well as ``X`` so that importing a
    submodule by name (``from .. import viz``) is seen.
    """
    found = []
    package = name if is_package else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                if node.level > 1:
                    base = base[: len(base) - (node.level - 1)]
                base = ".".join(base)
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module
            found.append((node.lineno, target))
            found += [(node.lineno, f"{target}.{alias.name}") for alias in node.names
                      if alias.name != "*"]
    return found


def layer_of(module: str, package: str = PACKAGE) -> int | None:
    """Layer of a dotted module name inside the package; None if outside it or the root."""
    parts = module.split(".")
    if parts[0] != package or len(parts) == 1:
        return None
    return LAYERS.get(parts[1], -1)


def violations(package_dir: Path) -> list[str]:
    """Every import in ``package_dir`` that points up a layer, or an unknown module."""
    root = package_dir.parent
    package = package_dir.name
    problems = []
    init = package_dir / "__init__.py"
    init_imports = imported_modules(init.read_text(encoding="utf-8"), package, True) if init.exists() else []
    # an attribute of the root package (`from medseg_edu import device`) counts as
    # the highest layer the root __init__ itself imports
    root_layer = max([layer_of(t, package) for _, t in init_imports
                      if layer_of(t, package) not in (None, -1)], default=0)
    for path in sorted(package_dir.rglob("*.py")):
        name, is_package = module_name(path, root)
        imports = imported_modules(path.read_text(encoding="utf-8"), name, is_package)
        if name == package:  # the package __init__ re-exports; exempt
            continue
        own = layer_of(name, package)
        if own == -1:
            problems.append(f"{name}: not in the layer table (docs/DEVELOPING.md, tests/test_layers.py)")
            continue
        sub = name.split(".")[1]
        reported = set()
        for line, target in imports:
            if target == package:  # `from medseg_edu import x` -> judged by x
                continue
            if not target.startswith(package + "."):
                continue
            target_sub = target.split(".")[1]
            if target_sub == sub:
                continue
            target_layer = layer_of(target, package)
            if target_layer == -1:
                if len(target.split(".")) == 2:  # `from medseg_edu import device`
                    target_layer = root_layer
                else:
                    problems.append(f"{path.relative_to(root)}:{line}: imports unknown module {target}")
                    continue
            if target_layer > own and (line, target_sub) not in reported:
                reported.add((line, target_sub))
                problems.append(
                    f"{path.relative_to(root)}:{line}: {name} (layer {own}) imports "
                    f"{package}.{target_sub} (layer {target_layer}) - imports must point down")
    return problems


def test_package_imports_point_down():
    problems = violations(ROOT / PACKAGE)
    assert not problems, "\n".join(problems)


def test_layer_table_matches_developing_md():
    text = (ROOT / "docs" / "DEVELOPING.md").read_text()
    section = text.split("## Package layers", 1)[1].split("\n## ", 1)[0]
    documented = {}
    for number, line in re.findall(r"^(\d)\. (.*)$", section, re.M):
        for sub in re.findall(r"`medseg_edu\.(\w+)`", line):
            documented[sub] = int(number)
    public = {k: v for k, v in LAYERS.items() if not k.startswith("_")}
    assert documented == public, f"DEVELOPING.md says {documented}, this test says {public}"
    assert "`medseg_edu._device`" in section


def _write(root: Path, relative: str, source: str) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(source))


def test_checker_catches_upward_imports(tmp_path):
    pkg = tmp_path / PACKAGE
    _write(tmp_path, f"{PACKAGE}/__init__.py", "from ._device import device\n")
    _write(tmp_path, f"{PACKAGE}/_device.py", "import numpy\n")
    _write(tmp_path, f"{PACKAGE}/viz/__init__.py", "from ..metrics import dice\n")
    _write(tmp_path, f"{PACKAGE}/metrics/__init__.py", "from .core import dice\n")
    _write(tmp_path, f"{PACKAGE}/metrics/core.py", """\
        import numpy as np
        from .. import _device
        from ..data import phantom

        def dice(a, b):
            from ..viz import show_slice   # upward, hidden in a function
            return 1.0
        """)
    _write(tmp_path, f"{PACKAGE}/data/__init__.py", "import medseg_edu.nets.unet\n")
    _write(tmp_path, f"{PACKAGE}/data/phantom.py", "from medseg_edu import widgets\n")
    _write(tmp_path, f"{PACKAGE}/io.py", "from medseg_edu.io import x\nfrom . import data\n")
    _write(tmp_path, f"{PACKAGE}/_checks.py", "from .io import load_volume\n")
    _write(tmp_path, f"{PACKAGE}/helpers.py", "x = 1\n")
    problems = violations(pkg)
    text = "\n".join(problems)
    assert "medseg_edu.metrics.core (layer 1) imports medseg_edu.viz" in text
    assert "medseg_edu.metrics.core (layer 1) imports medseg_edu.data" in text
    assert "medseg_edu.data (layer 2) imports medseg_edu.nets" in text
    assert "medseg_edu.data.phantom (layer 2) imports medseg_edu.widgets" in text
    assert "medseg_edu.io (layer 1) imports medseg_edu.data" in text
    assert "medseg_edu._checks (layer 0) imports medseg_edu.io" in text
    assert "medseg_edu.helpers: not in the layer table" in text
    assert len(problems) == 7, text  # viz -> metrics and metrics -> _device are fine
