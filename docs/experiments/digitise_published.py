"""Digitise the published curves of Storm et al., PRL 132, 057301 (2024) into config/published.tsv.

Run from the repository root (takes a few seconds)::

    .venv/bin/python docs/experiments/digitise_published.py [--overlay-dir /tmp/digitise]

Inputs are the PNGs in shared/paper/ (cut from the PDF; Fig. 3 is 529x188 px, Figs. 2 and 4
are 300 dpi).  Everything is computed from pixels; the only hand-entered numbers are the tick
values (read by eye from the tick labels), the pixel windows in which each tick mark / axis
frame / legend box is searched, and the start rows used to seed the curve tracker.  They are
all constants below, named after the figure.

Method
------
* Axis calibration: every tick mark is located as the darkness-weighted centroid of its
  anti-aliased pixels (sub-pixel).  Linear axes map pixel -> value by a least-squares line
  through (centroid, tick value); log axes do the same in log10(value).  Tick values used
  (read by eye from the labels): Fig. 3(a) x 10, 100 (minor 5..9 checked), y 1, 10 %;
  Fig. 3(b) x 10, 100 (minor 5..9 checked), y -2, 0, 2; Fig. 4 colour bar -0.10..0.25 step
  0.05; Fig. 4(b) x -0.10..0.25 step 0.05, left y 0, 100 %, right y 0.5, 1.0, 1.5;
  Fig. 4(c, d) x 10, 100, (c) y 0.5, 0.6, (d) y 0.1, 0.2, 0.3; Fig. 2 colour bar -4..4 step 1.
* Colour separation: each pixel p is written as p = a*c + (1-a)*white for every line colour c
  (matplotlib 'r', 'g', 'b', 'k'; 'tab:green' and 'k' in Fig. 4b); the pixel belongs to the
  colour with the smallest residual if a is large enough.  Inside the semi-transparent legend
  of Fig. 3(b) (white, alpha 0.8) pixels are first un-faded, p -> (p - 0.8*white) / 0.2;
  legend text and handles (drawn on top at full strength) turn negative there and are
  masked, and so is the legend frame.
* Line style (Fig. 3b): connected components of a colour that fit in a 3x3 px box are dots;
  the dotted line is the straight line through most dot centroids (Hough vote over slope and
  intercept, then least squares on the inliers).  Solid and dashed curves are followed column
  by column from a seed row at the left frame (F3B_SEEDS, read by eye), taking the run of
  same-colour pixels nearest to the linear prediction (gate 2 px, the two lines of one L are
  >= 4 px apart until they merge); dash gaps and occlusions are bridged linearly.
* Readings at a requested abscissa are the traced line centre (middle of the column's run of
  line pixels) at that column.  Vertices (data points) of Fig. 3(a) come from Douglas-Peucker
  simplification of the trace (1 px tolerance, vertices closer than 4 px merged), each moved
  to the intersection of straight-line fits to its two segments.  Fig. 4(c, d) are read at
  the N grid int(logspace(1, log10 250, 20)), which the blind kink detection confirms.
* Clipped ends: Fig. 3's axes run from N = 4.9 to N = 150 (both panels), so N = 4 and
  N = 160 are outside the frame.  Rows at those N extend the edge segment (straight line
  fitted between the frame and the first/last vertex) and say so in `method`; they are exact
  only if 4 / 160 are data points and no kink lies outside the frame.  Rows at the frame-edge
  N (about 5 and 146) are the direct readings.
* Colour levels (Figs. 2, 4a): the colour bar is sampled along its middle row and calibrated
  with its own ticks; a panel pixel's value is that of the nearest colour-bar colour (RGB
  distance < 25; farther pixels, i.e. the black direction lines, are dropped), and the median
  is taken over a box.  Panel centre = input (0, 0).  Fig. 2's colour bar ends at +-4, so
  values at the bound are saturated (flagged in `method`: the true value is at least 4).

read_error (column `read_error`, same unit as `value`)
-----------------------------------------------------
Pixel error = quadrature sum of (i) half the line width (0.75 px in Fig. 3, 1.5 px in Fig. 4),
(ii) the spread of the reading: rms scatter of the traced centre about a straight line over
+-2 columns (Fig. 3) or +-1 column (Fig. 4c, d); 1 px in a bridged gap, 1.5 px where the two
curves of one L overlap; half the vertical extent of the curve within +-3 px for the jagged
Fig. 4(b), and (iii) the calibration residual of the ticks (>= 0.2 px); floored at one pixel,
then converted to data units with the local axis scale (relative for log axes).  Extrapolated
values add the edge-segment scatter times (1 + extrapolated / fitted length).  Colour levels:
half the interquartile range in the box (+) one colour-bar pixel.  C_c: spread over L (or,
per L, the dot scatter / sqrt(n) (+) calibration); C_d: std of the L = 12 curve over N.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw
from scipy import ndimage

ROOT = Path(__file__).resolve().parents[2]
FIG_DIR = ROOT / "docs" / "published"  # byte-identical copies of shared/paper/published-fig*.png
OUT_TSV = ROOT / "config" / "published.tsv"
COLUMNS = ("figure", "panel", "quantity", "L", "N", "x", "value", "read_error", "unit", "method")
WHITE = np.array([255.0, 255.0, 255.0])
# matplotlib's single-letter colours, as they appear in the Fig. 3 PNG
LINE_RGB = {"r": (255, 0, 0), "g": (0, 128, 0), "b": (0, 0, 255), "k": (0, 0, 0)}
DEPTH_COLOUR = {2: "r", 4: "g", 8: "b", 12: "k"}  # Fig. 3(b) legend


def load(name: str) -> np.ndarray:
    """RGB image as float array (rows, cols, 3)."""
    return np.asarray(Image.open(FIG_DIR / name).convert("RGB"), dtype=float)


def darkness(img: np.ndarray) -> np.ndarray:
    return 255.0 - img.mean(axis=2)


def centroid(profile: np.ndarray, lo: int, hi: int, floor: float = 20.0) -> float:
    """Darkness-weighted centre of profile[lo:hi] (pixel index, sub-pixel)."""
    w = np.clip(profile[lo:hi] - floor, 0.0, None)
    if w.sum() <= 0:
        raise ValueError(f"no mark in window [{lo}, {hi})")
    return float(lo + (np.arange(hi - lo) * w).sum() / w.sum())


@dataclass
class Axis:
    """Pixel <-> data map fitted through tick centroids (log10 of data for log axes)."""

    pix: np.ndarray
    val: np.ndarray
    log: bool

    def __post_init__(self) -> None:
        t = np.log10(self.val) if self.log else self.val
        self.slope, self.icpt = np.polyfit(self.pix, t, 1)
        # calibration error in px: tick scatter about the fit, floored at 0.2 px
        resid = self.pix - (t - self.icpt) / self.slope
        self.cal_px = max(0.2, float(np.sqrt(np.mean(resid**2))) if len(t) > 2 else 0.2)

    def to_data(self, p):
        t = self.slope * np.asarray(p, dtype=float) + self.icpt
        return 10.0**t if self.log else t

    def to_pix(self, v):
        t = np.log10(v) if self.log else np.asarray(v, dtype=float)
        return (t - self.icpt) / self.slope

    def err(self, p, err_px: float) -> float:
        """Data-unit error of a reading at pixel p with pixel error err_px (incl. calibration)."""
        e = max(1.0, math.hypot(err_px, self.cal_px))  # never below one pixel
        if not self.log:
            return abs(self.slope) * e
        v = float(self.to_data(p))
        return v * (10.0 ** (abs(self.slope) * e) - 1.0)


def ticks(
    img: np.ndarray,
    line: int,
    windows: dict[float, tuple[int, int]],
    axis: str,
    *,
    log: bool = False,
) -> Axis:
    """Calibrate from tick marks crossing pixel row (axis='x') or column (axis='y') `line`."""
    d = darkness(img)
    prof = d[line, :] if axis == "x" else d[:, line]
    pix = [centroid(prof, lo, hi) for lo, hi in windows.values()]
    return Axis(np.array(pix), np.array(list(windows)), log)


def unmix(img: np.ndarray, rgb) -> tuple[np.ndarray, np.ndarray]:
    """Ink fraction a and residual of p = a*rgb + (1-a)*white, per pixel."""
    d = WHITE - np.asarray(rgb, dtype=float)
    q = WHITE - img
    a = (q @ d) / (d @ d)
    res = np.linalg.norm(q - a[..., None] * d, axis=-1)
    return a, res


def colour_masks(img: np.ndarray, min_ink: float = 0.4, max_res: float = 45.0) -> dict:
    """One boolean mask per line colour; each pixel goes to at most the best-fitting colour."""
    fits = {k: unmix(img, c) for k, c in LINE_RGB.items()}
    res = np.stack([r for _, r in fits.values()])
    best = res.argmin(axis=0)
    out = {}
    for i, (k, (a, r)) in enumerate(fits.items()):
        out[k] = (best == i) & (a > min_ink) & (r < max_res)
    return out


def runs(col: np.ndarray) -> list[tuple[int, int]]:
    """(start, stop) of the runs of True in a 1-d boolean array."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], col.astype(int), [0]])))
    return list(zip(edges[::2], edges[1::2], strict=True))


def douglas_peucker(x: np.ndarray, y: np.ndarray, tol: float) -> list[int]:
    """Indices of the polyline vertices kept by Douglas-Peucker simplification."""
    keep = {0, len(x) - 1}
    stack = [(0, len(x) - 1)]
    while stack:
        i, j = stack.pop()
        if j <= i + 1:
            continue
        dx, dy = x[j] - x[i], y[j] - y[i]
        dist = np.abs(dy * (x[i + 1 : j] - x[i]) - dx * (y[i + 1 : j] - y[i])) / math.hypot(dx, dy)
        k = int(np.argmax(dist))
        if dist[k] > tol:
            keep.add(i + 1 + k)
            stack += [(i, i + 1 + k), (i + 1 + k, j)]
    return sorted(keep)


def line_fit(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    """Least-squares y = a + b x; returns (a, b, rms residual)."""
    b, a = np.polyfit(x, y, 1)
    return a, b, float(np.sqrt(np.mean((y - a - b * x) ** 2)))


def vertices(x: np.ndarray, y: np.ndarray, tol: float = 1.0, trim: int = 2, merge: float = 4.0):
    """Refined polyline vertices (px) of a traced curve y(x) and the per-segment rms scatter.

    Douglas-Peucker picks the vertices; each interior vertex is then moved to the intersection
    of the straight lines fitted to the two adjacent segments without `trim` px at each end
    (the run centre is biased near a kink).  End vertices stay on their segment's line.
    """
    idx = douglas_peucker(x, y, tol)
    # a kink smeared over a few columns gives two close vertices: keep one, the
    # intersection below then puts it where the two outer segments meet
    kept = [idx[0]]
    for k in idx[1:-1]:
        if x[k] - x[kept[-1]] >= merge and x[idx[-1]] - x[k] >= merge:
            kept.append(k)
    idx = kept + [idx[-1]]
    segs = []
    for i, j in zip(idx[:-1], idx[1:], strict=True):
        lo, hi = (i + trim, j - trim) if j - i > 2 * trim + 2 else (i, j)
        segs.append(line_fit(x[lo : hi + 1], y[lo : hi + 1]))
    vx, vy, sc = [x[0]], [segs[0][0] + segs[0][1] * x[0]], [segs[0][2]]
    for (a1, b1, s1), (a2, b2, s2), k in zip(segs[:-1], segs[1:], idx[1:-1], strict=False):
        xi = (a2 - a1) / (b1 - b2) if abs(b1 - b2) > 1e-6 else x[k]
        if abs(xi - x[k]) > 3:  # nearly parallel neighbours: keep the traced point
            xi = x[k]
        vx.append(xi)
        vy.append(a1 + b1 * xi)
        sc.append(max(s1, s2))
    vx.append(x[-1])
    vy.append(segs[-1][0] + segs[-1][1] * x[-1])
    sc.append(segs[-1][2])
    return np.array(vx), np.array(vy), np.array(sc), segs


def track(
    mask: np.ndarray,
    x0: int,
    x1: int,
    seed: float,
    gate: float = 3.0,
    max_gap: int = 45,
    merged: float | None = None,
) -> np.ndarray:
    """Follow one curve through columns x0..x1-1 of a boolean line mask.

    In each column the run of mask pixels nearest to the prediction (distance to the run's
    interval, not its centre, so steep segments are followed) is taken if within `gate`;
    its centre is the curve's row there, else NaN (gap).  The prediction is the last row
    plus the slope over the last found points, so curves crossing others keep direction.
    """
    ys = np.full(x1 - x0, np.nan)
    last_x, last_y, slope = x0 - 1, seed, 0.0
    hist: list[tuple[int, float]] = []
    for i, x in enumerate(range(x0, x1)):
        pred = last_y + slope * (x - last_x)
        best, bd = None, gate + (x - last_x - 1) * 0.05
        for a, b in runs(mask[:, x]):
            d = max(a - pred, pred - (b - 1), 0.0)
            if d <= bd:
                best, bd = (a + b - 1) / 2.0, d
                if merged is not None and b - a > merged:
                    best = a + 1.0 if pred - a < b - 1 - pred else b - 2.0
        if best is None:
            if x - last_x > max_gap:
                break
            continue
        ys[i] = best
        hist = (hist + [(x, best)])[-12:]
        if len(hist) >= 4 and hist[-1][0] - hist[0][0] >= 8:
            hx, hy = np.array(hist).T
            slope = float(np.polyfit(hx, hy, 1)[0])
        last_x, last_y = x, best
    return ys


def read_traced(xs: np.ndarray, y: np.ndarray, px: float, half: int = 2) -> tuple[float, float]:
    """Traced centre (px) at column px (linear between columns) and its local scatter: rms
    deviation of the traced points within +-half columns from their straight-line fit."""
    sel = (np.abs(xs - px) <= half) & ~np.isnan(y)
    a, b, s = line_fit(xs[sel].astype(float), y[sel])
    return float(np.interp(px, xs, y)), s


def bridge(y: np.ndarray) -> np.ndarray:
    """Linear interpolation across NaN gaps (no extrapolation beyond the traced ends)."""
    x = np.arange(len(y))
    ok = ~np.isnan(y)
    out = np.interp(x, x[ok], y[ok])
    out[: np.argmax(ok)] = np.nan
    out[len(y) - np.argmax(ok[::-1]) :] = np.nan
    return out


# ---------------------------------------------------------------- Fig. 3
# Tick windows (pixel ranges searched for each tick mark); values read from the tick labels.
F3_XTICK_ROW = 149  # only the major ticks (10^1, 10^2) reach this row
F3A_X = {10.0: (95, 102), 100.0: (170, 177)}
F3A_Y_COL = 72  # major ticks 10^0, 10^1 (%)
F3A_Y = {10.0: (40, 48), 1.0: (102, 110)}
F3B_X = {10.0: (290, 297), 100.0: (478, 485)}
F3B_Y_COL = 233
F3B_Y = {2.0: (47, 54), 0.0: (92, 99), -2.0: (138, 145)}
F3_MINOR_ROW = 147  # minor ticks 5..9 check the x calibration
F3A_MINOR = {5.0: (74, 79), 6.0: (80, 85), 7.0: (85, 90), 8.0: (89, 94), 9.0: (93, 97)}
F3B_MINOR = {5.0: (234, 240), 6.0: (249, 255), 7.0: (262, 268), 8.0: (272, 278), 9.0: (282, 288)}
F3A_FRAME = (75, 187, 7, 145)  # spines: left col, right col, top row, bottom row
F3B_FRAME = (235, 514, 7, 145)
F3A_LABEL_BOX = (158, 187, 8, 33)  # "(a)": cols lo, hi, rows lo, hi (masked)
F3B_LABEL_BOX = (468, 505, 8, 30)  # "(b)"
F3B_LEGEND = (411, 509, 55, 140)  # legend frame (alpha 0.8, white); faded curves inside
# Seed rows at the first interior column, read by eye from the image (tracker start points).
F3A_SEEDS = {"test_error_random_features": 14.0, "test_error_full": 114.0}
F3B_SEEDS = {  # (L, style): row at column F3B_FRAME[0] + 2
    (2, "solid"): 72.0,
    (2, "dashed"): 80.0,
    (4, "solid"): 45.0,
    (4, "dashed"): 92.0,
    (8, "solid"): 30.0,
    (8, "dashed"): 119.0,
    (12, "solid"): 28.0,
    (12, "dashed"): 144.0,
}
F3_HALF_LINE_PX = 0.75


def extrapolate_edge(vx, vy, segs, x_target: float) -> tuple[float, float]:
    """Value (px) at x_target on the straight extension of the first or last segment, and
    its error (px): rms scatter of the segment fit times (1 + extrapolated / fitted length)."""
    if x_target < vx[0]:
        a, b, s = segs[0]
        span, dist = vx[1] - vx[0], vx[0] - x_target
    else:
        a, b, s = segs[-1]
        span, dist = vx[-1] - vx[-2], x_target - vx[-1]
    return a + b * x_target, max(s, 0.5) * (1.0 + dist / max(span, 1.0))


def fig3a(img: np.ndarray, rows: list, overlay: list) -> None:
    ax_x = ticks(img, F3_XTICK_ROW, F3A_X, "x", log=True)
    ax_y = ticks(img, F3A_Y_COL, F3A_Y, "y", log=True)
    minor = ticks(img, F3_MINOR_ROW, F3A_MINOR, "x")
    dev = np.abs(ax_x.to_pix(minor.val) - minor.pix).max()
    assert dev < 0.6, f"Fig. 3a minor ticks off the log calibration by {dev:.2f} px"
    c0, c1, r0, r1 = F3A_FRAME
    mask = darkness(img) > 90
    mask[:, : c0 + 2] = False
    mask[:, c1 - 1 :] = False
    mask[: r0 + 2] = False
    mask[r1 - 1 :] = False
    lc0, lc1, lr0, lr1 = F3A_LABEL_BOX
    mask[lr0:lr1, lc0:lc1] = False
    x0, x1 = c0 + 2, c1 - 1
    xs = np.arange(x0, x1)
    traces = {q: bridge(track(mask, x0, x1, seed)) for q, seed in F3A_SEEDS.items()}
    for q, y in traces.items():
        other = [v for k, v in traces.items() if k != q][0]
        ok = ~np.isnan(y)
        vx, vy, sc, segs = vertices(xs[ok].astype(float), y[ok])
        overlay.append(("3", vx, vy, (255, 0, 255) if "random" in q else (0, 200, 255)))
        px_err = np.hypot(F3_HALF_LINE_PX, sc)
        for px, py, e in zip(vx, vy, px_err, strict=True):
            n = float(ax_x.to_data(px))
            edge = px in (vx[0], vx[-1])
            rows.append(
                row(
                    "3",
                    "a",
                    q,
                    "",
                    f"{n:.3g}",
                    "",
                    ax_y.to_data(py),
                    ax_y.err(py, e),
                    "%",
                    "frame edge (xlim), not a data point"
                    if edge
                    else "vertex of the traced polyline (data point)",
                )
            )
        for n in (4, 8, 16, 32, 64, 128):
            px = float(ax_x.to_pix(n))
            if px < vx[0] or px > vx[-1]:
                py, e = extrapolate_edge(vx, vy, segs, px)
                how = (
                    f"N={n} outside the frame (N {ax_x.to_data(vx[0]):.2f}.."
                    f"{ax_x.to_data(vx[-1]):.0f}): edge segment extended in log-log"
                )
            else:
                py, e = read_traced(xs, y, px)
                how = "traced line centre at this column (+-2 columns)"
                if abs(np.interp(px, xs, other) - py) < 3.0:
                    how += "; solid and dashed curves overlap here (within 3 px)"
                    e = max(e, 1.5)
            rows.append(
                row(
                    "3",
                    "a",
                    q,
                    "",
                    str(n),
                    "",
                    ax_y.to_data(py),
                    ax_y.err(py, math.hypot(F3_HALF_LINE_PX, e)),
                    "%",
                    "at requested N: " + how,
                )
            )


def row(fig, panel, q, L, N, x, value, err, unit, method) -> dict:
    return dict(
        figure=f"fig{fig}",
        panel=panel,
        quantity=q,
        L=str(L),
        N=str(N),
        x=x,
        value=f"{float(value):.4g}",
        read_error=f"{float(err):.2g}",
        unit=unit,
        method=method,
    )


def draw_overlay(img: np.ndarray, marks: list, path: Path, box=None, scale: int = 4) -> None:
    """Upscaled copy of img with the extracted points (fig, x_px, y_px, rgb) as small crosses."""
    im = Image.fromarray(img.astype(np.uint8))
    ox, oy = 0, 0
    if box is not None:
        im, ox, oy = im.crop(box), box[0], box[1]
    im = im.resize((im.width * scale, im.height * scale), Image.NEAREST)
    dr = ImageDraw.Draw(im)
    for _, xs, ys, rgb in marks:
        for x, y in zip(np.atleast_1d(xs), np.atleast_1d(ys), strict=True):
            if np.isnan(y):
                continue
            u, v = (x - ox + 0.5) * scale, (y - oy + 0.5) * scale
            dr.line([(u - 4, v), (u + 4, v)], fill=rgb, width=1)
            dr.line([(u, v - 4), (u, v + 4)], fill=rgb, width=1)
    path.parent.mkdir(parents=True, exist_ok=True)
    im.save(path)


def fig3b_masks(img: np.ndarray) -> dict:
    """Per-colour line masks inside the Fig. 3(b) frame, legend un-faded, labels masked."""
    work = img.copy()
    lc0, lc1, lr0, lr1 = F3B_LEGEND
    inner = (slice(lr0 + 3, lr1 - 3), slice(lc0 + 3, lc1 - 3))
    unfaded = (work[inner] - 0.8 * WHITE) / 0.2
    # legend text / handles are drawn on top at full strength: negative after un-fading
    artist = ndimage.binary_dilation(unfaded.min(axis=2) < -60, iterations=1)
    unfaded[artist] = 255.0
    work[inner] = np.clip(unfaded, 0, 255)
    masks = colour_masks(work, max_res=60.0)  # un-fading amplifies noise 5x
    c0, c1, r0, r1 = F3B_FRAME
    bc0, bc1, br0, br1 = F3B_LABEL_BOX
    for m in masks.values():
        m[:, : c0 + 2] = False
        m[:, c1 - 1 :] = False
        m[: r0 + 2] = False
        m[r1 - 1 :] = False
        m[br0:br1, bc0:bc1] = False
        # legend frame band (grey edge would read as faint black after un-fading)
        m[lr0:lr1, lc0 : lc0 + 4] = False
        m[lr0:lr1, lc1 - 4 : lc1] = False
        m[lr0 : lr0 + 4, lc0:lc1] = False
        m[lr1 - 4 : lr1, lc0:lc1] = False
    return masks


def dotted_line(mask: np.ndarray) -> tuple[float, float, float, np.ndarray, int]:
    """Straight line row = a + b*col through the dots of one colour.

    Dots are connected components fitting in 3x3 px.  A Hough vote over slopes -0.45..-0.1
    px/px and intercepts (0.25 px steps) counts dot centroids within 1.2 px; the winner
    is refined by least squares on its inliers.  Returns (a, b, rms, inlier-dot mask, n).
    """
    lab, n = ndimage.label(mask, structure=np.ones((3, 3)))
    sl = ndimage.find_objects(lab)
    small = [
        i + 1
        for i, s in enumerate(sl)
        if s[0].stop - s[0].start <= 3 and s[1].stop - s[1].start <= 3
    ]
    cen = np.array(ndimage.center_of_mass(mask, lab, small))  # (row, col)
    best = (0, 0.0, 0.0)
    for b in np.arange(-0.45, -0.10, 0.002):  # rows grow downwards: rising line
        a = cen[:, 0] - b * cen[:, 1]
        hist, edges = np.histogram(a, bins=np.arange(a.min() - 2, a.max() + 2, 0.25))
        score = np.convolve(hist, np.ones(10), "same")  # +-1.25 px window
        k = int(score.argmax())
        if score[k] > best[0]:
            best = (score[k], b, edges[k] + 0.125)
    _, b, a = best
    inl = np.abs(cen[:, 0] - (a + b * cen[:, 1])) < 1.2
    a, b, s = line_fit(cen[inl, 1], cen[inl, 0])
    inl = np.abs(cen[:, 0] - (a + b * cen[:, 1])) < 1.2
    a, b, s = line_fit(cen[inl, 1], cen[inl, 0])
    dots = np.isin(lab, np.array(small)[inl])
    return a, b, s, dots, int(inl.sum())


def fig3b(img: np.ndarray, rows: list, overlay: list) -> None:
    ax_x = ticks(img, F3_XTICK_ROW, F3B_X, "x", log=True)
    ax_y = ticks(img, F3B_Y_COL, F3B_Y, "y")
    minor = ticks(img, F3_MINOR_ROW, F3B_MINOR, "x")
    dev = np.abs(ax_x.to_pix(minor.val) - minor.pix).max()
    assert dev < 0.6, f"Fig. 3b minor ticks off the log calibration by {dev:.2f} px"
    masks = fig3b_masks(img)
    c0, c1, _, _ = F3B_FRAME
    x0, x1 = c0 + 2, c1 - 1
    xs = np.arange(x0, x1)
    n_edge = (float(ax_x.to_data(x0)), float(ax_x.to_data(x1 - 1)))
    mark = {"solid": (255, 0, 255), "dashed": (0, 220, 255), "dotted": (255, 160, 0)}
    cc_rows = []
    for L, k in DEPTH_COLOUR.items():
        a, b, s, dots, n_dots = dotted_line(masks[k])
        # dotted fit line L<lam1>_c = -C_c L + log N: slope must be 1 per unit ln N
        lab, _ = ndimage.label(dots, structure=np.ones((3, 3)))
        cen = np.array(ndimage.center_of_mass(dots, lab, range(1, lab.max() + 1)))
        ln_n = np.log(ax_x.to_data(cen[:, 1]))
        yv = ax_y.to_data(cen[:, 0])
        slope, _ = np.polyfit(ln_n, yv, 1)
        icpt = float(np.mean(yv - ln_n))  # slope fixed to 1 (caption's form)
        e_icpt = math.hypot(float(np.std(yv - ln_n)) / math.sqrt(len(yv)), ax_y.err(0.0, 0.0))
        cc_rows.append((L, -icpt / L, e_icpt / L, slope, len(yv)))
        overlay.append(("3", xs[::3], a + b * xs[::3], mark["dotted"]))
        line = masks[k] & ~dots
        # gate 2 px: same-colour solid and dashed lines are >= 4 px apart until they merge
        raw = {
            st: track(line, x0, x1, F3B_SEEDS[(L, st)], gate=2.0, merged=4.5)
            for st in ("solid", "dashed")
        }
        both = {st: bridge(v) for st, v in raw.items()}
        for style, q in (("solid", "Llam_d"), ("dashed", "Llam_c")):
            y_raw, y = raw[style], both[style]
            other = both["dashed" if style == "solid" else "solid"]
            ok = ~np.isnan(y)
            overlay.append(("3", xs[ok][::2], y[ok][::2], mark[style]))
            vx, vy, sc, segs = vertices(xs[ok].astype(float), y[ok])
            found = float(np.mean(~np.isnan(y_raw[ok])))
            for n in (4, 10, 25, 64, 160):
                px = float(ax_x.to_pix(n))
                if px < xs[ok][0] or px > xs[ok][-1]:
                    py, e = extrapolate_edge(vx, vy, segs, px)
                    how = (
                        f"N={n} outside the frame (N {n_edge[0]:.2f}..{n_edge[1]:.0f}):"
                        " edge segment extended linearly in log N"
                    )
                else:
                    py, e = read_traced(xs, y, px)
                    how = "traced line centre at this column (+-2 columns)"
                    lc0, lc1, lr0, lr1 = F3B_LEGEND
                    if lc0 <= px < lc1 and lr0 <= py < lr1:
                        how += "; under the legend (alpha 0.8), read after un-fading"
                    gap = np.isnan(y_raw[max(0, int(px) - x0 - 2) : int(px) - x0 + 3])
                    if gap.all():
                        how += "; in a gap (dash gap or occlusion), bridged linearly"
                        e = max(e, 1.0)
                    if abs(np.interp(px, xs, other) - py) < 3.0:
                        how += "; overlaps the other curve of this L (within 3 px)"
                        e = max(e, 1.5)
                rows.append(
                    row(
                        "3",
                        "b",
                        q,
                        L,
                        n,
                        "",
                        ax_y.to_data(py),
                        ax_y.err(py, math.hypot(F3_HALF_LINE_PX, e)),
                        "",
                        f"{style} curve; " + how,
                    )
                )
            for px, tag in ((xs[ok][0], "left"), (xs[ok][-1], "right")):
                py, e = read_traced(xs, y, float(px))
                rows.append(
                    row(
                        "3",
                        "b",
                        q,
                        L,
                        f"{float(ax_x.to_data(px)):.3g}",
                        "",
                        ax_y.to_data(py),
                        ax_y.err(py, math.hypot(F3_HALF_LINE_PX, e)),
                        "",
                        f"{style} curve at the {tag} frame edge (xlim, not a data"
                        f" point); {found:.0%} of columns had line pixels",
                    )
                )
            if L == 12 and style == "solid":
                vals = ax_y.to_data(y[ok])
                c_d = (float(vals.mean()), float(vals.std()))
    for L, cc, e, slope, n in cc_rows:
        rows.append(
            row(
                "3",
                "b",
                "C_c_L",
                L,
                "",
                "",
                cc,
                e,
                "",
                f"dotted line of L={L}: {n} dots, slope fixed to 1 per ln N "
                f"(free fit {slope:.3f}); C_c = -(intercept)/L",
            )
        )
    ccs = np.array([c[1] for c in cc_rows])
    rows.append(
        row(
            "3",
            "b",
            "C_c",
            "",
            "",
            "",
            ccs.mean(),
            max(ccs.std(ddof=1), max(c[2] for c in cc_rows)),
            "",
            "mean of the per-L dotted-line C_c (L=2,4,8,12); read_error = spread "
            f"over L (per-L values {', '.join(f'{c:.3f}' for c in ccs)})",
        )
    )
    rows.append(
        row(
            "3",
            "b",
            "C_d",
            12,
            "",
            "",
            c_d[0],
            math.hypot(c_d[1], ax_y.err(0.0, F3_HALF_LINE_PX)),
            "",
            "mean of the L=12 solid curve over the frame (uniform in log N, "
            f"N {n_edge[0]:.2f}..{n_edge[1]:.0f}); read_error includes its std "
            f"{c_d[1]:.3f} over N",
        )
    )


# ---------------------------------------------------------------- Fig. 4
F4_HALF_LINE_PX = 1.5
F4B_X_ROW = 648
F4B_X = {
    -0.10: (205, 218),
    -0.05: (313, 326),
    0.0: (421, 434),
    0.05: (529, 542),
    0.10: (637, 650),
    0.15: (745, 758),
    0.20: (853, 866),
    0.25: (961, 974),
}
F4B_YL_COL = 132  # left axis: test error (%)
F4B_YL = {100.0: (534, 545), 0.0: (633, 643)}
F4B_YR_COL = 984  # right axis: H
F4B_YR = {1.5: (531, 542), 1.0: (567, 578), 0.5: (603, 614)}
F4B_FRAME = (136, 979, 535, 643)  # left col, right col, top row, bottom row
F4B_LABEL_BOX = (140, 200, 540, 585)  # "(b)"
F4B_GREEN = (43, 160, 43)  # H curve (matplotlib 'tab:green')
F4B_LAMBDA = (-0.125, -0.10, -0.05, 0.0, 0.05, 0.10, 0.15, 0.175, 0.20, 0.225, 0.245, 0.25)
F4CD_X_ROW = 852
F4C_X = {10.0: (141, 152), 100.0: (384, 395)}
F4D_X = {10.0: (627, 638), 100.0: (869, 880)}
F4C_Y_COL = 132
F4C_Y = {0.6: (755, 766), 0.5: (799, 810)}
F4D_Y_COL = 617
F4D_Y = {0.3: (758, 769), 0.2: (795, 806), 0.1: (833, 844)}
F4C_FRAME = (136, 494, 739, 847)
F4D_FRAME = (621, 979, 739, 847)
F4C_LABEL_BOX = (140, 200, 742, 790)  # "(c)"
F4D_LABEL_BOX = (920, 978, 742, 790)  # "(d)"
# N grid of the data points, inferred from the kinks of (c) and (d): it matches
# int(numpy.logspace(1, log10(250), 20)); checked against the blind kink detection below
F4CD_GRID = (10, 11, 14, 16, 19, 23, 27, 32, 38, 45, 54, 64, 76, 90, 107, 126, 150, 178, 211, 249)
F4C_SEED = 845.0  # row of the mean curve at the left end (N = 10), by eye
F4D_SEED = 743.0
F4A_CBAR_ROW = 32  # bottom edge of the colour-bar outline
F4A_CBAR_TICK_ROW = 36
F4A_CBAR_TICKS = {
    -0.10: (200, 212),
    -0.05: (301, 314),
    0.0: (403, 416),
    0.05: (504, 517),
    0.10: (606, 619),
    0.15: (707, 720),
    0.20: (809, 822),
    0.25: (910, 923),
}


def bar_extent(img: np.ndarray, row: int, lo: int, hi: int) -> tuple[float, float]:
    """Sub-pixel ends of the dark horizontal outline segment in img[row, lo:hi]."""
    d = darkness(img)[row, lo:hi] / 255.0
    on = np.flatnonzero(d > 0.5)
    a, b = on[0], on[-1]
    # an end pixel's darkness fraction is how much of it the outline covers
    return lo + a - d[a - 1] + 0.0, lo + b + 1 + d[b + 1] - 1.0


def panel_mask(mask: np.ndarray, frame, label) -> np.ndarray:
    c0, c1, r0, r1 = frame
    out = np.zeros_like(mask)
    out[r0 + 3 : r1 - 2, c0 + 3 : c1 - 2] = mask[r0 + 3 : r1 - 2, c0 + 3 : c1 - 2]
    lc0, lc1, lr0, lr1 = label
    out[lr0:lr1, lc0:lc1] = False
    return out


def fig4(img: np.ndarray, rows: list, overlay: list) -> None:
    # (a) colour bar: its outline's ends against the tick calibration
    cb = ticks(img, F4A_CBAR_TICK_ROW, F4A_CBAR_TICKS, "x")
    left, right = bar_extent(img, F4A_CBAR_ROW, 170, 960)
    for q, p in (("colorbar_min", left), ("colorbar_max", right)):
        rows.append(
            row(
                "4",
                "a",
                q,
                16,
                20,
                "",
                cb.to_data(p),
                cb.err(p, 0.5),
                "",
                "end of the colour-bar outline, calibrated by its 8 ticks",
            )
        )
    overlay.append(("4", [left, right], [F4A_CBAR_ROW] * 2, (0, 255, 0)))
    # (b) error (black, left axis %) and H (green, right axis) per lambda_1
    ax_x = ticks(img, F4B_X_ROW, F4B_X, "x")
    yl = ticks(img, F4B_YL_COL, F4B_YL, "y")
    yr = ticks(img, F4B_YR_COL, F4B_YR, "y")
    a_k, r_k = unmix(img, (0, 0, 0))
    a_g, r_g = unmix(img, F4B_GREEN)
    black = panel_mask((a_k > 0.5) & (r_k < 40), F4B_FRAME, F4B_LABEL_BOX)
    green = panel_mask((a_g > 0.5) & (r_g < 40), F4B_FRAME, F4B_LABEL_BOX)
    for q, m, ax, unit, rgb in (
        ("error", black, yl, "%", (255, 0, 255)),
        ("entropy", green, yr, "", (255, 120, 0)),
    ):
        for lam in F4B_LAMBDA:
            px = float(ax_x.to_pix(lam))
            c = int(round(px))
            win = m[:, c - 3 : c + 4]
            rr = np.flatnonzero(win.any(axis=1))
            if len(rr) == 0:  # hidden: only the black curve can be under the green one
                rr = np.flatnonzero(green[:, c - 3 : c + 4].any(axis=1))
                how = "no black pixels: hidden under the H curve, read there"
            else:
                how = "median row of the curve's pixels within +-3 px of lambda_1"
            py = float(np.median(rr))
            e = max(F4_HALF_LINE_PX, (rr.max() - rr.min()) / 2.0)
            overlay.append(("4", [px], [py], rgb))
            rows.append(
                row(
                    "4",
                    "b",
                    q,
                    16,
                    20,
                    f"{lam:g}",
                    ax.to_data(py),
                    ax.err(py, e),
                    unit,
                    how + "; read_error = half the vertical extent there",
                )
            )
    # (c, d) mean and std of lambda_1 versus N
    for panel, q, xt, yt, ycol, frame, label, seed in (
        ("c", "lam1_mean", F4C_X, F4C_Y, F4C_Y_COL, F4C_FRAME, F4C_LABEL_BOX, F4C_SEED),
        ("d", "lam1_std", F4D_X, F4D_Y, F4D_Y_COL, F4D_FRAME, F4D_LABEL_BOX, F4D_SEED),
    ):
        ax_x = ticks(img, F4CD_X_ROW, xt, "x", log=True)
        ax_y = ticks(img, ycol, yt, "y")
        m = panel_mask((a_k > 0.5) & (r_k < 40), frame, label)
        xs = np.flatnonzero(m.any(axis=0))
        x0, x1 = xs[0], xs[-1] + 1
        y = bridge(track(m, x0, x1, seed, gate=4.0))
        ok = ~np.isnan(y)
        cols = np.arange(x0, x1)
        vx, _, _, _ = vertices(cols[ok].astype(float), y[ok], tol=1.0, trim=3, merge=6.0)
        grid_px = ax_x.to_pix(np.array(F4CD_GRID, dtype=float))
        # kinks found without the grid must sit on it (checks the inferred grid)
        off = np.array([np.abs(grid_px - v).min() for v in vx[1:-1]])
        # (a weak kink can be placed a few px off by Douglas-Peucker: require most on grid)
        assert np.mean(off < 2.5) >= 0.8, f"Fig. 4{panel}: kinks off the N grid {off.round(1)}"
        for n, px in zip(F4CD_GRID, grid_px, strict=True):
            py, s = read_traced(cols, y, float(px), half=1)
            overlay.append(("4", [px], [py], (255, 0, 255)))
            rows.append(
                row(
                    "4",
                    panel,
                    q,
                    16,
                    n,
                    "",
                    ax_y.to_data(py),
                    ax_y.err(py, math.hypot(F4_HALF_LINE_PX, s)),
                    "",
                    "traced line centre at the inferred data N (+-1 column); "
                    f"{np.sum(off < 2.5)} of {len(off)} kinks found blind lie within "
                    "2.5 px of grid points",
                )
            )


# ---------------------------------------------------------------- Fig. 2
F2_CBAR_TICK_ROW = 41
F2_CBAR_TICKS = {float(v): (334 + 95 * i, 346 + 95 * i) for i, v in enumerate(range(-4, 5))}
F2_CBAR_SAMPLE_ROW = 20  # middle of the colour bar (its top is cut off the PNG)
F2_CBAR_COLS = (342, 1101)  # inside the outline (ticks -4 at 339.5, +4 at 1103.1)
F2_PANEL_COLS = ((259, 473), (491, 705), (723, 937), (955, 1169))  # L = 2, 4, 8, 12
F2_PANEL_ROWS = ((114.5, 328), (356, 569.5), (597, 811))  # N = 10, 50, 250
F2_L = (2, 4, 8, 12)
F2_N = (10, 50, 250)
F2_HALF_BOX = 6  # px: colour levels are medians over boxes 2*6+1 px tall
F2_MAX_RGB_DIST = 25.0  # farther from every colour-bar colour: black line / anti-aliasing


def colour_bar(img: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """RGB samples along the colour bar, their values, and the value per bar pixel."""
    cb = ticks(img, F2_CBAR_TICK_ROW, F2_CBAR_TICKS, "x")
    cols = np.arange(*F2_CBAR_COLS)
    return img[F2_CBAR_SAMPLE_ROW, cols], cb.to_data(cols), float(abs(cb.slope))


def colour_levels(pix: np.ndarray, lut: np.ndarray, vals: np.ndarray) -> np.ndarray:
    """Colour-bar value of the nearest bar colour for each pixel (NaN if none is near)."""
    flat = pix.reshape(-1, 3)
    d2 = ((flat[:, None, :] - lut[None]) ** 2).sum(-1)
    k = d2.argmin(1)
    out = np.where(d2[np.arange(len(k)), k] < F2_MAX_RGB_DIST**2, vals[k], np.nan)
    return out.reshape(pix.shape[:2])


def box_read(level: np.ndarray, rows: slice, cols: slice, step: float):
    """Median level over a box (valid pixels only) and its error: IQR/2 (+) one bar pixel."""
    v = level[rows, cols]
    v = v[~np.isnan(v)]
    q1, med, q3 = np.percentile(v, [25, 50, 75])
    return float(med), math.hypot((q3 - q1) / 2.0, step), len(v)


def fig2(img: np.ndarray, rows: list, overlay: list) -> None:
    lut, vals, step = colour_bar(img)
    h = F2_HALF_BOX
    for (r0, r1), n in zip(F2_PANEL_ROWS, F2_N, strict=True):
        for (c0, c1), L in zip(F2_PANEL_COLS, F2_L, strict=True):
            rc, cc = int(round((r0 + r1) / 2.0)), int(round((c0 + c1) / 2.0))
            # panel centre = input (0, 0); only the band along the +x1 ray is mapped
            band = colour_levels(img[rc - h : rc + h + 1, cc - h : c1 - 3], lut, vals)
            v, e, k = box_read(band, slice(None), slice(0, 2 * h + 1), step)
            overlay.append(("2", [cc], [rc], (0, 255, 0)))
            rows.append(
                row(
                    "2",
                    "",
                    "Llam1_centre",
                    L,
                    n,
                    "",
                    v,
                    e,
                    "",
                    f"median colour level over a {2 * h + 1}x{2 * h + 1} px box at "
                    f"the panel centre ({k} valid px){sat_note(v)}",
                )
            )
            # ridge: max over the ray of the median in a 3 px wide, 2h+1 px tall strip
            # (the ring crosses the +x1 ray at right angles, so the strip lies along it)
            ray = [
                (box_read(band, slice(None), slice(j - 1, j + 2), step), j)
                for j in range(h, band.shape[1] - 1)
            ]
            (v, e, k), j = max(ray, key=lambda t: t[0][0])
            x = cc - h + j
            overlay.append(("2", [x], [rc], (255, 0, 255)))
            x1 = (x - cc) / ((c1 - c0) / 2.0)
            rows.append(
                row(
                    "2",
                    "",
                    "Llam1_ridge",
                    L,
                    n,
                    f"{x1:.2f}",
                    v,
                    e,
                    "",
                    "max along the ray centre -> +x1 of the median level in a 3 px "
                    f"wide, {2 * h + 1} px tall strip; x = ridge position as a fraction "
                    f"of the panel half-width{sat_note(v)}",
                )
            )


def sat_note(v: float) -> str:
    if abs(v) >= 3.9:
        return "; at the colour-bar bound: saturated, true |value| >= 4"
    return ""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=OUT_TSV)
    ap.add_argument(
        "--overlay-dir",
        type=Path,
        default=None,
        help="write overlays of the extracted points on the figures here",
    )
    args = ap.parse_args()
    rows: list[dict] = []
    jobs = (
        ("published-fig2.png", fig2, (250, 100, 1180, 820), 1),
        ("published-fig3.png", fig3a, (70, 0, 190, 150), 6),
        ("published-fig3.png", fig3b, (230, 0, 529, 150), 4),
        ("published-fig4.png", fig4, (130, 0, 985, 881), 2),
    )
    for name, fn, box, scale in jobs:
        img = load(name)
        marks: list = []
        fn(img, rows, marks)
        if args.overlay_dir is not None:
            draw_overlay(img, marks, args.overlay_dir / f"overlay-{fn.__name__}.png", box, scale)
    rows.sort(key=lambda r: (r["figure"], r["panel"], r["quantity"]))  # stable within a key
    with open(args.out, "w") as fh:
        fh.write("\t".join(COLUMNS) + "\n")
        for r in rows:
            assert "\t" not in "".join(r.values())
            fh.write("\t".join(r[c] for c in COLUMNS) + "\n")
    print(f"wrote {len(rows)} rows to {args.out}")


if __name__ == "__main__":
    main()
