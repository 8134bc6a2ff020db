"""Bundled real prostate MR scans (no labels), their DICOM series, and MSD label maps.

``data/real/`` holds three real axial T2-weighted prostate MR volumes from The
Cancer Imaging Archive (two Prostate-3T cases and one PROSTATEx case, CC BY
3.0) and the original DICOM series of the first of them.
**They carry no labels** and must never be labelled or pseudo-labelled: they
show what a real scan looks like, nothing is measured against them.

``data/msd_labels/`` holds the 32 expert label maps (0 background, 1 PZ, 2 TZ)
of the Medical Segmentation Decathlon Task05 training set, without their
images (CC-BY-SA 4.0; anything derived from them stays CC-BY-SA 4.0).

Provenance, licences and the citations are in ``data/README.md`` and the
README files of the two folders; :func:`real_data_citation` returns the
citations. ``$MEDSEG_EDU_DATA`` may point at a data folder holding ``real/``
and ``msd_labels/``; otherwise the package's bundled copy (in a checkout: the
repository's ``data/`` folder) is used (:mod:`medseg_edu._bundled`).
"""

from __future__ import annotations

from pathlib import Path

from .._bundled import data_dir
from ..io import ITK_SUFFIXES, Volume, load_volume, read_scan

__all__ = ["REAL_SCANS", "msd_label_dir", "real_data_citation", "real_dicom_folder", "real_scan", "real_scans"]

#: Short ids of the bundled real scans, in the order of ``data/README.md``.
REAL_SCANS = ("Prostate3T-03-0001", "Prostate3T-03-0004", "ProstateX-0000")

_FILES = {
    "Prostate3T-03-0001": "prostate3t_Prostate3T-03-0001_t2.nii.gz",
    "Prostate3T-03-0004": "prostate3t_Prostate3T-03-0004_t2.nii.gz",
    "ProstateX-0000": "prostatex_ProstateX-0000_t2.nii.gz",
}
_DICOM_CASE = "Prostate3T-03-0001"

_TCIA_PAPER = ("Clark K, Vendt B, Smith K, et al. The Cancer Imaging Archive (TCIA): maintaining and "
               "operating a public information repository. J Digit Imaging 2013;26(6):1045-1057. "
               "https://doi.org/10.1007/s10278-013-9622-7")
_CITATIONS = {
    "Prostate-3T": (
        "Prostate-3T (TCIA), CC BY 3.0 (TCIA Data Usage Policy; to be confirmed on the collection page):\n"
        "  Litjens G, Futterer J, Huisman H. Data From Prostate-3T. The Cancer Imaging Archive, 2015. "
        "https://doi.org/10.7937/K9/TCIA.2015.QJTV5IL5\n"
        "  Bloch N, Madabhushi A, Huisman H, et al. NCI-ISBI 2013 Challenge: Automated Segmentation of "
        "Prostate Structures. The Cancer Imaging Archive, 2015. https://doi.org/10.7937/K9/TCIA.2015.zF0vlOPv\n"
        f"  {_TCIA_PAPER}"
    ),
    "PROSTATEx": (
        "PROSTATEx (TCIA), CC BY 3.0 (TCIA Data Usage Policy):\n"
        "  Litjens G, Debats O, Barentsz J, Karssemeijer N, Huisman H. ProstateX Challenge data. The Cancer "
        "Imaging Archive, 2017. https://doi.org/10.7937/K9TCIA.2017.MURS5CL\n"
        "  Litjens G, Debats O, Barentsz J, Karssemeijer N, Huisman H. Computer-aided detection of prostate "
        "cancer in MRI. IEEE Trans Med Imaging 2014;33:1083-1092. https://doi.org/10.1109/TMI.2014.2303821\n"
        "  Armato SG, Huisman H, Drukker K, et al. PROSTATEx Challenges for computerized classification of "
        "prostate lesions from multiparametric magnetic resonance images. J Med Imaging 2018;5(4):044501. "
        "https://doi.org/10.1117/1.JMI.5.4.044501\n"
        f"  {_TCIA_PAPER}"
    ),
    "msd_labels": (
        "MSD Task05 Prostate label maps, CC-BY-SA 4.0 (derived shapes stay CC-BY-SA 4.0):\n"
        "  Simpson AL, Antonelli M, Bakas S, et al. A large annotated medical image dataset for the "
        "development and evaluation of segmentation algorithms. arXiv:1902.09063, 2019.\n"
        "  Antonelli M, Reinke A, Bakas S, et al. The Medical Segmentation Decathlon. "
        "Nat Commun 2022;13:4128."
    ),
}


def _collection(name: str) -> str:
    return "PROSTATEx" if name.startswith("ProstateX") else "Prostate-3T"


def _check_name(name) -> str:
    if name not in _FILES:
        raise ValueError(f"Unknown real scan {name!r}; the bundled ones are {', '.join(REAL_SCANS)}")
    return name


def _missing(path: Path, what: str) -> FileNotFoundError:
    return FileNotFoundError(
        f"The bundled {what} is missing: '{path}'. It ships with the package (the repository's data/ "
        "folder); reinstall it, or set MEDSEG_EDU_DATA to a data folder that holds it."
    )


def real_scan(name: str) -> Volume:
    """Load one bundled real T2-weighted prostate MR scan (no labels).

    Parameters
    ----------
    name : str
        One of :data:`REAL_SCANS`: ``"Prostate3T-03-0001"``,
        ``"Prostate3T-03-0004"`` or ``"ProstateX-0000"``.

    Returns
    -------
    Volume
        ``int16`` intensities (scanner units), RAS-canonical as from
        :func:`medseg_edu.io.load_volume`; 384 x 384 voxels in-plane,
        spacing 0.5 x 0.5 x 3.0 mm; the oblique slice tilt is in the affine.

    Raises
    ------
    ValueError
        If ``name`` is not a bundled scan.
    FileNotFoundError
        If the file is missing from the data folder.
    """
    path = data_dir("real") / _FILES[_check_name(name)]
    if not path.exists():
        raise _missing(path, f"real scan {name}")
    return load_volume(path)


def real_scans(*folders) -> list:
    """The bundled real scans, then the unlabelled real scans in ``folders`` that are not among them.

    For measuring on more real scans than the three bundled ones (e.g. the six of a course's
    shared folder) without copying them into the package. A file named like
    ``prostate3t_Prostate3T-03-0002_t2.nii.gz`` is named by its TCIA case, the part between the
    first two underscores; any other file by its name without the extension.

    Parameters
    ----------
    *folders : str or Path
        Folders whose NIfTI (``.nii``, ``.nii.gz``), NRRD and MetaImage files
        (:data:`medseg_edu.io.ITK_SUFFIXES`, read with :func:`medseg_edu.io.read_scan`) are
        added, in name order; subfolders are not searched.

    Returns
    -------
    list of (str, Volume)
        ``(name, volume)`` pairs, the bundled :data:`REAL_SCANS` first; a scan whose name is
        already in the list is not added again.

    Raises
    ------
    FileNotFoundError
        For a folder that does not exist (the message names it).
    """
    scans = [(name, real_scan(name)) for name in REAL_SCANS]
    for folder in map(Path, folders):
        if not folder.is_dir():
            raise FileNotFoundError(f"No folder of real scans at '{folder}'")
        for path in sorted(p for p in folder.iterdir() if p.is_file() and _scan_stem(p.name)):
            stem = _scan_stem(path.name)
            name = stem.split("_")[1] if stem.count("_") >= 2 else stem
            if name not in {n for n, _ in scans}:
                scans.append((name, read_scan(path)))
    return scans


def _scan_stem(file_name: str) -> str | None:
    """The name of a scan file without its format's ending; None for a file of no scan format."""
    for ending in (".nii.gz", ".nii") + ITK_SUFFIXES:
        if file_name.lower().endswith(ending):
            return file_name[:-len(ending)]
    return None


def real_dicom_folder() -> Path:
    """Folder of the bundled original DICOM series (19 slices) of ``Prostate3T-03-0001``.

    Read it with :func:`medseg_edu.io.read_dicom_series`; it gives the same
    volume as ``real_scan("Prostate3T-03-0001")``.

    Raises
    ------
    FileNotFoundError
        If the folder is missing.
    """
    folder = data_dir("real") / "dicom" / _DICOM_CASE
    if not folder.is_dir():
        raise _missing(folder, "DICOM series folder")
    return folder


def msd_label_dir() -> Path:
    """Folder of the 32 bundled MSD Task05 label maps ``prostate_NN.nii.gz`` (0 bg, 1 PZ, 2 TZ).

    Labels only, no images; CC-BY-SA 4.0 (see ``data/msd_labels/README.md``).

    Raises
    ------
    FileNotFoundError
        If the folder is missing.
    """
    folder = data_dir("msd_labels")
    if not folder.is_dir():
        raise _missing(folder, "MSD label folder")
    return folder


def real_data_citation(name: str | None = None) -> str:
    """Licence and citations for the bundled real material.

    Parameters
    ----------
    name : str, optional
        A real scan id (one of :data:`REAL_SCANS`, also for its DICOM series),
        ``"msd_labels"`` for the MSD label maps, or None (default) for all of
        the bundled real material.

    Returns
    -------
    str
        One block per collection: the licence, then the references to cite.

    Raises
    ------
    ValueError
        If ``name`` is none of these.
    """
    if name is None:
        keys = ["Prostate-3T", "PROSTATEx", "msd_labels"]
    elif name == "msd_labels":
        keys = ["msd_labels"]
    else:
        keys = [_collection(_check_name(name))]
    return "\n".join(_CITATIONS[key] for key in keys)
