"""Where the bundled files are: the one owner of every path into the collection's data.

The collection ships its data - network weights, real expert label maps, three
real scans and a DICOM series, the MNI brain, the benchmark tables - in the
repository's ``data/`` and ``benchmarks/`` folders. ``medseg_edu/_files/`` holds
two links to them, so the package finds them through :mod:`importlib.resources`
in a git checkout (the links) and in an installed wheel (which copies the files
into the package) alike. Bottom layer: imports only the standard library.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

__all__ = ["bundled", "data_dir", "DATA_ENV"]

#: Environment variable naming a folder that overrides bundled data folders one by one.
DATA_ENV = "MEDSEG_EDU_DATA"


def bundled(*parts: str) -> Path:
    """Path of a file or folder the package ships: ``bundled("data", "weights")``, ``bundled("benchmarks")``.

    Parameters
    ----------
    *parts : str
        Path components below the repository's root: ``"data"`` or ``"benchmarks"`` first.

    Returns
    -------
    pathlib.Path
        Absolute and resolved (in a checkout: the repository's own folder). It may not exist
        (e.g. weights not yet made).
    """
    if not parts or parts[0] not in ("data", "benchmarks"):
        raise ValueError(f"bundled files live under 'data' or 'benchmarks'; got {parts!r}")
    root = Path(str(resources.files("medseg_edu").joinpath("_files")))
    return root.joinpath(*parts).resolve()


def data_dir(name: str) -> Path:
    """A bundled data folder (``"real"``, ``"mni"``, ``"msd_labels"``, ...), or its override.

    ``$MEDSEG_EDU_DATA/<name>`` when that folder exists (a data folder of your own, e.g.
    on a shared drive), else the bundled ``data/<name>``. One rule for every data folder.

    Examples
    --------
    >>> data_dir("msd_labels").name
    'msd_labels'
    """
    override = os.environ.get(DATA_ENV)
    if override and (Path(override).expanduser() / name).is_dir():
        return Path(override).expanduser() / name
    return bundled("data", name)
