#!/usr/bin/env python
"""Print the requirements of one optional extra of pyproject.toml, for pip.

    pip install -c constraints.txt $(python tools/extra_requirements.py classroom)

installs what ``pip install -e ".[classroom]"`` would add to a venv that already has the
package, without building and installing the package a second time (make classroom, make
e2e and make book use it on top of make venv).
"""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


def requirements(extra: str, pyproject: Path = PYPROJECT) -> list[str]:
    """The requirement strings of ``[project.optional-dependencies] extra``.

    Raises
    ------
    KeyError
        If pyproject.toml has no such extra (the message lists the ones it has).
    """
    extras = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["optional-dependencies"]
    if extra not in extras:
        raise KeyError(f"pyproject.toml has no extra {extra!r}; it has {', '.join(extras)}")
    return list(extras[extra])


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(f"usage: {sys.argv[0]} EXTRA")
    try:
        print(" ".join(requirements(sys.argv[1])))
    except KeyError as error:
        sys.exit(f"extra_requirements: {error.args[0]}")
