"""Implement-it exercises: the learner writes the step a notebook teaches.

Such an exercise is a code cell tagged ``exercise-implement`` holding a stub
(its body raises ``NotImplementedError``) and the ``check("NN.name", fn)``
call; the markdown cell after it holds the hidden solution and then a second
``<details>`` block, "A tempting mistake", with a plausible wrong version::

    <details><summary>A tempting mistake</summary>

    ```python
    def fn(...):
        ...  # the slip
    ```
    why it is wrong ...
    </details>

Here each stub, left unfilled, is reported as not attempted (and the notebook
runs on); filled with the solution it passes; filled with the mistake it fails.
Notebooks 01-07 (the method notebooks), 10, 11 and 12 must each have one.
"""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import nbformat
import numpy as np
import pytest

from medseg_edu import exercises

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
MUST_HAVE = {"01", "02", "03", "04", "05", "06", "07", "10", "11", "12"}
TAG = "exercise-implement"

CHECK_CALL = re.compile(r"""\bcheck\(\s*["'](\d\d\.[\w.\-]+)["']\s*,\s*([A-Za-z_]\w*)\s*[,)]""")
SOLUTION = re.compile(r"<details>\s*<summary>\s*Solution.*?```python[ \t]*\n(.*?)```.*?</details>", re.S)
MISTAKE = re.compile(r"<details>\s*<summary>\s*A tempting mistake.*?```python[ \t]*\n(.*?)```.*?</details>",
                     re.S)


def implement_cells(path):
    """(cell index, exercise id, function name, stub source, solution, mistake) per tagged cell."""
    nb = nbformat.read(path, as_version=4)
    for index, cell in enumerate(nb.cells):
        if TAG not in cell.metadata.get("tags", []):
            continue
        call = CHECK_CALL.search(cell.source)
        following = nb.cells[index + 1].source if index + 1 < len(nb.cells) else ""
        solution, mistake = SOLUTION.search(following), MISTAKE.search(following)
        yield (index, call and call.group(1), call and call.group(2), cell.source,
               solution and solution.group(1), mistake and mistake.group(1))


def run_check(exercise_id, source, function):
    """Define ``function`` from ``source`` in a fresh namespace and check it quietly."""
    namespace = {"__name__": "__learner__", "np": np, "check": lambda *a, **k: None}
    exec(compile(source, f"<{exercise_id}>", "exec"), namespace)
    return exercises.check(exercise_id, namespace[function], quiet=True)


PARAMS = [pytest.param(path, *entry, id=f"{path.stem[:2]}:{entry[1]}")
          for path in NOTEBOOKS for entry in implement_cells(path)]


def test_each_method_notebook_has_an_implement_it_exercise():
    have = {path.name[:2] for path in NOTEBOOKS if any(True for _ in implement_cells(path))}
    present = {path.name[:2] for path in NOTEBOOKS}
    missing = sorted((MUST_HAVE & present) - have)
    assert not missing, f"notebooks without an {TAG!r} cell: {missing}"


@pytest.mark.parametrize("path, index, exercise_id, function, stub, solution, mistake", PARAMS)
def test_stub_solution_and_mistake(path, index, exercise_id, function, stub, solution, mistake):
    where = f"{path.name} cell {index}"
    assert exercise_id, f"{where}: the {TAG} cell must call check(\"NN.name\", function)"
    assert solution, f"{where}: the next markdown cell needs a <details><summary>Solution ... block"
    assert mistake, f"{where}: the next markdown cell needs a <details><summary>A tempting mistake ... block"
    assert "NotImplementedError" in stub, f"{where}: the stub should raise NotImplementedError"

    with contextlib.redirect_stdout(io.StringIO()) as printed:
        namespace = {"__name__": "__learner__", "np": np, "check": exercises.check}
        exec(compile(stub, f"<stub {exercise_id}>", "exec"), namespace)
    assert "not attempted yet" in printed.getvalue(), f"{where}: the unfilled stub should say 'not attempted yet'"

    assert run_check(exercise_id, solution, function).passed, f"{where}: the solution fails its checker"
    verdict = run_check(exercise_id, mistake, function)
    assert not verdict.passed, f"{where}: the checker accepts the deliberate mistake"
