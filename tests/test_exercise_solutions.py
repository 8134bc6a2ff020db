"""Every exercise's hidden solution passes its own checker.

An exercise in a notebook is a code cell calling ``check("NN.name", fn)``
followed by a markdown cell holding the solution::

    <details><summary>Solution</summary>

    ```python
    def fn(...):
        ...
    ```
    </details>

The solution code runs in a fresh namespace and ``fn`` from it must pass
``medseg_edu.exercises.check``. Each notebook has at least two exercises and
every registered checker is used by some notebook.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from medseg_edu import exercises

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
NB_PARAMS = [pytest.param(p, id=p.name) for p in NOTEBOOKS] or [
    pytest.param(None, id="no-notebooks", marks=pytest.mark.skip(reason="no notebooks yet"))]

CHECK_CALL = re.compile(r"""\bcheck\(\s*["'](\d\d\.[\w.\-]+)["']\s*,\s*([A-Za-z_]\w*)\s*[,)]""")
SOLUTION = re.compile(r"<details>.*?```python[ \t]*\n(.*?)```.*?</details>", re.S)


def find_exercises(path: Path) -> list[dict]:
    """Exercises of one notebook: id, function name, solution source (or a problem)."""
    nb = nbformat.read(path, as_version=4)
    found = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        for exercise_id, function in CHECK_CALL.findall(cell.source):
            entry = {"id": exercise_id, "function": function, "cell": index, "solution": None}
            following = nb.cells[index + 1] if index + 1 < len(nb.cells) else None
            if following is None or following.cell_type != "markdown":
                entry["problem"] = "the cell after the check is not a markdown cell"
            else:
                match = SOLUTION.search(following.source)
                if match:
                    entry["solution"] = match.group(1)
                else:
                    entry["problem"] = ("the markdown cell after the check has no "
                                        "<details> ... ```python ... ``` ... </details> solution")
            found.append(entry)
    return found


def exercise_params():
    params = []
    for path in NOTEBOOKS:
        for ex in find_exercises(path):
            params.append(pytest.param(path, ex, id=f"{path.stem[:2]}:{ex['id']}"))
    return params or [pytest.param(None, None, id="no-exercises",
                                   marks=pytest.mark.skip(reason="no notebook exercises yet"))]


@pytest.mark.parametrize("path, ex", exercise_params())
def test_solution_passes_its_checker(path, ex):
    assert ex.get("problem") is None, f"{path.name} cell {ex['cell']} ({ex['id']}): {ex['problem']}"
    assert ex["id"].startswith(path.name[:2] + "."), (
        f"{path.name}: exercise {ex['id']} should be numbered like its notebook")
    namespace: dict = {"__name__": "__solution__"}
    exec(compile(ex["solution"], f"<solution {ex['id']}>", "exec"), namespace)
    assert ex["function"] in namespace, (
        f"{path.name}: the solution of {ex['id']} must define {ex['function']}()")
    assert exercises.check(ex["id"], namespace[ex["function"]], quiet=True).passed is True, (
        f"{path.name}: the published solution of {ex['id']} fails its own checker")


@pytest.mark.parametrize("path", NB_PARAMS)
def test_notebook_has_two_exercises(path):
    ids = [ex["id"] for ex in find_exercises(path)]
    assert len(set(ids)) >= 2, f"{path.name} has {len(set(ids))} exercise(s): {ids}; need >= 2"


def test_every_registered_exercise_is_used():
    if not NOTEBOOKS:
        pytest.skip("no notebooks yet")
    used = {ex["id"] for path in NOTEBOOKS for ex in find_exercises(path)}
    unused = sorted(set(exercises.known_exercises()) - used)
    assert not unused, f"checkers registered but used by no notebook: {unused}"


def test_exercise_ids_are_unique_across_notebooks():
    seen: dict[str, str] = {}
    for path in NOTEBOOKS:
        for ex in find_exercises(path):
            assert seen.setdefault(ex["id"], path.name) == path.name, (
                f"{ex['id']} is used by {seen[ex['id']]} and {path.name}")


def test_parser_finds_exercise_and_solution(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("def my_volume(mask, spacing):\n    raise NotImplementedError\n\n"
                                  'check("08.volume", my_volume)'),
        nbformat.v4.new_markdown_cell("<details><summary>Solution</summary>\n\n```python\n"
                                      "import numpy as np\n\ndef my_volume(mask, spacing):\n"
                                      "    return 1.0\n```\n</details>"),
        nbformat.v4.new_code_cell("check('08.other', f)"),
        nbformat.v4.new_code_cell("x = 1"),
    ]
    path = tmp_path / "08_volumetry.ipynb"
    nbformat.write(nb, path)
    first, second = find_exercises(path)
    assert (first["id"], first["function"]) == ("08.volume", "my_volume")
    assert "def my_volume" in first["solution"] and "problem" not in first
    assert second["id"] == "08.other" and "not a markdown cell" in second["problem"]
