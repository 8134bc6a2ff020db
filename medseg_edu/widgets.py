"""Interactive explorers built on plain ipywidgets + inline matplotlib.

Executed headless (nbval, nbconvert, GitHub's viewer) a widget leaves only a
stub, so every explorer FIRST draws a plain static figure of its default
view, then shows the live controls. nbval thereby runs the same drawing code
a learner's slider runs.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from .viz import SINGLE_SLICE_INCHES, best_slice, show_slice


def explorer(draw, controls, *, caption=True):
    """Show ``draw(**defaults)`` as a static figure, then live controls.

    Parameters
    ----------
    draw : callable
        Draws one view with keyword arguments named like ``controls``; it may
        print text (e.g. Dice, volume) and should end with ``plt.show()``.
    controls : dict of str -> ipywidgets.ValueWidget
        The sliders / dropdowns; their current values are the default view.

    Returns
    -------
    None
        The explorer is displayed; nothing is returned, so the cell shows no
        extra text representation of the widget.
    """
    import ipywidgets as widgets
    from IPython.display import display

    defaults = {name: control.value for name, control in controls.items()}
    if caption:
        print("Default view (a static copy, kept when the notebook is saved); "
              "the live controls are below it.")
    draw(**defaults)
    output = widgets.interactive_output(draw, controls)
    box = widgets.VBox([widgets.HBox(list(controls.values()), layout=widgets.Layout(flex_flow="row wrap")),
                        output])
    display(box)


def slice_viewer(image, mask=None, *, spacing=None, title=None, mask_name="truth"):
    """Scroll through the axial slices of a volume, optionally with a mask outline.

    Parameters
    ----------
    image : np.ndarray, (x, y, z)
    mask : np.ndarray, optional
        Same shape; drawn as an outline that can be switched off.
    spacing : tuple of 3 float, mm
        Used for the aspect ratio, the scale bar and the slice position in mm.
    """
    import ipywidgets as widgets

    image = np.asarray(image)
    if image.ndim != 3:
        raise ValueError(f"slice_viewer needs a 3D volume (x, y, z), got shape {image.shape}")
    if mask is not None and np.shape(mask) != image.shape:
        raise ValueError(f"mask shape {np.shape(mask)} does not match image shape {image.shape}")
    start = best_slice(mask) if mask is not None else image.shape[2] // 2
    controls = {"k": widgets.IntSlider(value=start, min=0, max=image.shape[2] - 1, description="slice",
                                       continuous_update=False)}
    if mask is not None:
        controls["outline"] = widgets.Checkbox(value=True, description=f"show {mask_name}")

    def draw(k, outline=False):
        fig, ax = plt.subplots(figsize=(SINGLE_SLICE_INCHES, SINGLE_SLICE_INCHES))
        # the distance along the stack, not the world z of the affine (that starts wherever the scan does)
        where = f" ({k * spacing[2]:.1f} mm above slice 0)" if spacing is not None else ""
        show_slice(image, k, ax=ax, spacing=spacing,
                   contours={mask_name: mask} if (mask is not None and outline) else None,
                   title=f"{title + ': ' if title else ''}slice {k}{where}")
        fig.tight_layout()  # the slice fills the figure: about 750 px wide once stored
        plt.show()

    return explorer(draw, controls)
