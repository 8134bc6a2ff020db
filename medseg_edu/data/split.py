"""Fixed, seeded train / validation / test phantom cases."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .phantom import msd_like_spacing, msd_like_volume_ml, prostate_phantom

#: Bump when the phantom generator changes, so cached datasets are rebuilt.
PHANTOM_VERSION = 1

SPLITS = {"train": (1000, 40), "val": (2000, 10), "test": (3000, 20)}
# The training set also covers the extremes of the MSD range on purpose.
_TRAIN_EXTREMES_ML = (16.0, 22.0, 180.0, 260.0, 315.0)


@dataclass(frozen=True)
class PhantomSpec:
    """Everything needed to regenerate one phantom case."""

    seed: int
    volume_ml: float
    spacing: tuple

    def make(self):
        return prostate_phantom(self.seed, volume_ml=self.volume_ml, spacing=self.spacing)


@lru_cache(maxsize=4)
def _case(spec: PhantomSpec):
    return spec.make()


class PhantomSplit(Sequence):
    """A lazy list of phantom cases: each is generated when indexed.

    Only a few recent cases are kept in memory, so iterating over a split
    does not hold forty volumes at once.
    """

    def __init__(self, name, specs):
        self.name, self.specs = name, tuple(specs)

    def __len__(self):
        return len(self.specs)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return PhantomSplit(self.name, self.specs[index])
        return _case(self.specs[index])

    def __repr__(self):
        vols = [s.volume_ml for s in self.specs]
        return (f"PhantomSplit({self.name!r}, {len(self)} cases, gland volumes "
                f"{min(vols):.0f}-{max(vols):.0f} mL, median {np.median(vols):.0f} mL)")


def prostate_split(name: str) -> PhantomSplit:
    """The fixed phantom cases of split ``name`` ("train", "val" or "test").

    Volumes and voxel spacings are drawn, per case, from the real MSD Task05
    distributions (FACTS.md); seeds never overlap between splits.
    """
    if name not in SPLITS:
        raise ValueError(f"unknown split {name!r}; choose one of {sorted(SPLITS)}")
    first_seed, count = SPLITS[name]
    specs = []
    for i in range(count):
        seed = first_seed + i
        rng = np.random.default_rng([seed, PHANTOM_VERSION, 7])
        volume = msd_like_volume_ml(rng)
        if name == "train" and i < len(_TRAIN_EXTREMES_ML):
            volume = _TRAIN_EXTREMES_ML[i]
        specs.append(PhantomSpec(seed, round(volume, 1), msd_like_spacing(rng)))
    return PhantomSplit(name, specs)
