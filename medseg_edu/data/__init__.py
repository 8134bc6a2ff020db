"""Data layer: generated prostate phantoms, MR rendering, the MNI brain, MSD Task05.

Torch datasets (``SliceDataset``, ``PatchDataset``, ``split_slices``) are
imported on first use, so the numpy-only notebooks never load torch.
"""

from .brain import Brain, brain_scan, mni_brain, simulate_atrophy
from .cache import cache_dir, cached_arrays
from .case import Case
from .phantom import MSD_SPACINGS, msd_like_spacing, msd_like_volume_ml, prostate_phantom
from .prep import CONTEXT_STEP_MM, GRID, PIXEL_MM, from_grid, normalise, stack_slices, to_grid
from .deform import random_displacement, warp
from .msd import (MSD_PROSTATE_MD5, MSD_PROSTATE_URL, DatasetUnavailableError, fetch_msd_prostate,
                  load_labelled_scan, load_msd_label, load_msd_prostate)
from .render import TISSUES, render_mr
from .split import PhantomSplit, prostate_split
from .real import REAL_SCANS, msd_label_dir, real_data_citation, real_dicom_folder, real_scan, real_scans
from .lesions import (LESION_SHAPES, NODE_CATEGORIES, Finding, GrowthCase, growth_series, lesion, lymph_node,
                      node_category, phantom_with_findings, volume_response)
from .readers import Reader, ReaderEllipsoid, reader_panel
from .rescan import ANATOMY_SPACING, RESCAN_FOV_MM, RETEST_PATIENTS, rescan

_LAZY = {"SliceDataset", "PatchDataset", "split_slices", "case_to_grid", "CaseSlices"}

__all__ = ["Brain", "DatasetUnavailableError", "MSD_PROSTATE_MD5", "MSD_PROSTATE_URL",
           "brain_scan", "fetch_msd_prostate", "load_labelled_scan", "load_msd_label", "load_msd_prostate", "mni_brain",
           "random_displacement", "simulate_atrophy", "warp", "Case", "GRID", "MSD_SPACINGS", "PIXEL_MM", "PhantomSplit", "TISSUES", "cache_dir",
           "cached_arrays", "CONTEXT_STEP_MM", "stack_slices",
           "from_grid", "msd_like_spacing", "msd_like_volume_ml", "normalise", "prostate_phantom",
           "prostate_split", "render_mr", "to_grid", *sorted(_LAZY),
           "REAL_SCANS", "msd_label_dir", "real_data_citation", "real_dicom_folder", "real_scan", "real_scans",
           "LESION_SHAPES", "NODE_CATEGORIES", "Finding", "GrowthCase", "growth_series", "lesion", "lymph_node",
           "node_category", "phantom_with_findings", "volume_response", "Reader", "ReaderEllipsoid",
           "reader_panel", "ANATOMY_SPACING", "RESCAN_FOV_MM", "RETEST_PATIENTS", "rescan"]


def __getattr__(name):
    if name in _LAZY:
        from . import datasets

        return getattr(datasets, name)
    raise AttributeError(f"module 'medseg_edu.data' has no attribute {name!r}")
