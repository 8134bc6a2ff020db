"""Checkers for notebook 02 (active contours)."""

from __future__ import annotations

import numpy as np

from ..methods.snake import examined_pixels
from . import ExerciseFailed, exercise


@exercise("02.circle")
def _circle(circle_contour):
    for center, radius, n in (((40.0, 70.0), 12.0, 60), ((100.0, 20.0), 5.5, 9), ((0.0, 0.0), 1.0, 4)):
        points = circle_contour(center, radius, n)
        if points is None:
            raise ExerciseFailed("your function returned None: end it with `return <the (n_points, 2) array>`")
        points = np.asarray(points, dtype=float)
        if points.shape != (n, 2):
            hint = " (one row per point: stack rows and columns as columns, e.g. np.column_stack)" \
                if points.shape == (2, n) else ""
            raise ExerciseFailed(f"with n_points={n} expected an array of shape ({n}, 2), got {points.shape}{hint}")
        distance = np.hypot(points[:, 0] - center[0], points[:, 1] - center[1])
        if not np.allclose(distance, radius, rtol=1e-6, atol=1e-6):
            swapped = np.hypot(points[:, 1] - center[0], points[:, 0] - center[1])
            if np.allclose(swapped, radius, rtol=1e-6, atol=1e-6):
                raise ExerciseFailed("the points are in (col, row) order; scikit-image wants (row, col)")
            raise ExerciseFailed(f"every point should lie {radius} pixels from the centre {center}; "
                                 f"distances range {distance.min():.2f}-{distance.max():.2f}")
        if len(np.unique(np.round(points, 6), axis=0)) != n:
            raise ExerciseFailed("some points are repeated: use np.linspace(0, 2*pi, n, endpoint=False) "
                                 "so the last point does not duplicate the first")
        angles = np.unwrap(np.arctan2(points[:, 0] - center[0], points[:, 1] - center[1]))
        steps = np.diff(angles)
        if not (np.all(steps > 0) or np.all(steps < 0)):
            raise ExerciseFailed("the points should go round the circle in order (the snake joins neighbours)")
        if not np.allclose(steps, steps[0], rtol=1e-4, atol=1e-6):
            raise ExerciseFailed("space the points evenly round the circle")
    return "a closed chain of (row, col) points, ready for active_contour."


@exercise("02.percent_examined")
def _percent_examined(percent_examined):
    rng = np.random.default_rng(2)
    for shape, radius in (((60, 80), 1), ((50, 50), 2), ((40, 30), 0)):
        snakes = [np.column_stack([rng.uniform(-2, shape[0] + 1, 30), rng.uniform(-2, shape[1] + 1, 30)])
                  for _ in range(4)]
        expected = 100.0 * examined_pixels(snakes, shape, radius).mean()
        got = percent_examined([s.copy() for s in snakes], shape, radius)
        if got is None:
            raise ExerciseFailed("your function returned None; return the percentage")
        got = float(got)
        if np.isclose(got, expected / 100.0, atol=1e-3) and expected > 0.2:
            raise ExerciseFailed(f"you returned the fraction {got:.4f}; multiply by 100 for a percentage")
        if not np.isclose(got, expected, atol=0.05):
            raise ExerciseFailed(f"for {len(snakes)} snakes of 30 points on a {shape} slice with radius {radius} "
                                 f"expected {expected:.2f} %, got {got:.2f} % (round points to the nearest pixel, "
                                 "clip them to the slice, mark a (2 radius + 1)-pixel square round each, count "
                                 "each pixel once)")
    return "a pixel counts once, however often the snake came back to it."


def _fresh_slices():
    """Smooth random slices of several shapes (seeded), scaled to 0-1 like the snake's input."""
    from scipy import ndimage

    rng = np.random.default_rng(13)
    for shape in ((40, 56), (64, 64), (33, 47)):
        image = ndimage.gaussian_filter(rng.normal(size=shape), 2.5)
        yield (image - image.min()) / (image.max() - image.min())


@exercise("02.external_force")
def _external_force(external_force):
    from ..methods.snake import external_force as reference

    for image, (w_line, w_edge) in zip(_fresh_slices(), ((0.0, 1.0), (0.4, 1.0), (-0.5, 0.7))):
        got = external_force(image.copy(), w_line, w_edge)
        if got is None:
            raise ExerciseFailed("your function returned None; return (force_rows, force_cols)")
        got = np.asarray(got, dtype=float)
        if got.shape != (2,) + image.shape:
            raise ExerciseFailed(f"return two arrays of the image's shape {image.shape} (force along rows, "
                                 f"along columns), e.g. np.gradient(potential); got shape {got.shape}")
        expected = np.asarray(reference(image, w_line=w_line, w_edge=w_edge))
        scale = np.abs(expected).max()
        close = lambda a, b: np.allclose(a, b, atol=1e-6 * scale + 1e-12, rtol=1e-5)  # noqa: E731
        if close(got, expected):
            continue
        if close(got, -expected):
            raise ExerciseFailed("your force points the wrong way: scikit-image's snake climbs "
                                 "P = w_line*I + w_edge*|Sobel(I)| (it minimises E_image = -P), so the force is "
                                 "+grad P; -grad P would drag it to dark pixels and weak edges")
        if close(got[::-1], expected):
            raise ExerciseFailed("rows and columns are swapped: return (force along rows, force along columns), "
                                 "the order np.gradient gives for an image indexed [row, col]")
        raise ExerciseFailed(f"with w_line={w_line}, w_edge={w_edge} on a {image.shape} slice your force differs "
                             "from the gradient of w_line*I + w_edge*sobel(I) (use skimage.filters.sobel for the "
                             "edge map, then np.gradient of the weighted sum)")
    return "that is the pull every snake point feels; active_contour follows it, held back by alpha and beta."


def _fresh_snakes():
    """Closed snakes of different lengths, forces and weights (seeded), moves mostly under a pixel."""
    from ..methods.snake import circle

    rng = np.random.default_rng(202)
    weights = ((0.1, 0.5, 2.0, 0.3), (0.015, 1.0, 5.0, 1.0), (0.5, 0.0, 1.0, 0.2), (0.0, 2.0, 10.0, 2.0),
               (0.015, 10.0, 0.001, 0.001))   # the last: the notebook's weights, tiny forces
    for n, (alpha, beta, gamma, force_scale) in zip((12, 40, 25, 60, 33), weights):
        points = circle(rng.uniform(20, 60, 2), rng.uniform(6, 20), n) + rng.normal(0, 0.7, (n, 2))
        yield points, rng.normal(0, force_scale, (n, 2)), alpha, beta, gamma


@exercise("02.snake_step")
def _snake_step(snake_step):
    from ..methods.snake import internal_matrix
    from ..methods.snake import snake_step as reference
    from ._shortcuts import refuse_shortcut

    refuse_shortcut(snake_step, names=("active_contour", "active_contour_2d", "evolution", "snake_step"),
                    objects=(reference,), task="the matrix A, the linear solve and the one-pixel cap")
    for points, force, alpha, beta, gamma in _fresh_snakes():
        got = snake_step(points.copy(), force.copy(), alpha, beta, gamma)
        if got is None:
            raise ExerciseFailed("your function returned None: end it with `return <the new (N, 2) points>`")
        got = np.asarray(got, dtype=float)
        where = f"for {len(points)} points with alpha={alpha}, beta={beta}, gamma={gamma}"
        if got.shape != points.shape:
            raise ExerciseFailed(f"{where} return the new points, shape {points.shape}; got {got.shape}")
        expected = reference(points, force, alpha=alpha, beta=beta, gamma=gamma)
        if np.allclose(got, expected, rtol=1e-7, atol=1e-9):
            continue
        a = internal_matrix(len(points), alpha, beta)
        system = a + gamma * np.eye(len(points))
        uncapped = np.linalg.solve(system, gamma * points + force)
        explicit = points + np.tanh((force - a @ points) / gamma)
        pushed_back = points + np.tanh(np.linalg.solve(system, gamma * points - force) - points)
        stretchy = internal_matrix(len(points), -alpha, beta) + gamma * np.eye(len(points))
        wrong_alpha = points + np.tanh(np.linalg.solve(stretchy, gamma * points + force) - points)
        hint = ("each coordinate moves by tanh(x_new - x): at most one pixel, as scikit-image caps it"
                if np.allclose(got, uncapped, atol=1e-9) else
                "that is an explicit step (A taken at the old position): solve (A + gamma I) x_new = gamma x + f "
                "instead - the internal forces at the new position keep the step stable"
                if np.allclose(got, explicit, atol=1e-9) else
                "the image force pulls the points: + f on the right-hand side, not - f"
                if np.allclose(got, pushed_back, atol=1e-9) else
                "elasticity enters A as -alpha * D2 (D2 the second difference); the sign of alpha is flipped"
                if alpha and np.allclose(got, wrong_alpha, atol=1e-9) else
                "build A = -alpha * D2 + beta * D4 round the closed chain (np.roll of the identity), solve "
                "(A + gamma I) x_new = gamma x + f for rows and columns, then move by tanh(x_new - x)")
        raise ExerciseFailed(f"{where} your step differs from scikit-image's by up to "
                             f"{np.abs(got - expected).max():.3g} px ({hint})")
    return "that is the whole of active_contour's loop body: one linear solve per step, the image force explicit."
