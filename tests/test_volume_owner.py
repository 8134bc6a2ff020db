"""Volume has one owner: voxel count x voxel volume / 1000 is written only in medseg_edu.volumetry."""

from __future__ import annotations

import re
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "medseg_edu"
#: a product of voxel sizes, or a count times a voxel volume, divided by 1000 (mm^3 -> mL)
MM3_TO_ML = re.compile(r"(np\.prod\(.*\)|spacing|voxel_volume|pixel).*/ ?1000")
#: the exercise checkers recognise a learner's tempting wrong formulas, written out on purpose
RECOGNISED_MISTAKES = {"exercises/nb00.py", "exercises/nb10.py"}


def test_the_volume_formula_appears_only_in_volumetry():
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        name = path.relative_to(PACKAGE).as_posix()
        if name == "volumetry.py" or name in RECOGNISED_MISTAKES:
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if MM3_TO_ML.search(line.split("#")[0]):
                found.append(f"{name}:{number}: {line.strip()}")
    assert not found, "use medseg_edu.volumetry (volume_ml, voxels_to_ml, voxel_volume_ml):\n" + "\n".join(found)


def test_the_pattern_finds_the_formula():
    assert MM3_TO_ML.search("ml = mask.sum() * np.prod(spacing) / 1000.0")
    assert not MM3_TO_ML.search("ml = volumetry.volume_ml(mask, spacing)")
