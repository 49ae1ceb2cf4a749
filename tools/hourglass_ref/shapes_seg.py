"""A procedural dense-segmentation data set: shapes filled with textures ("shapes-seg").

    from hourglass_ref.shapes_seg import CLASSES, sample
    image, labels = sample("val", 7, 512)      # uint8 [512, 512, 3] RGB, uint8 [512, 512] class ids

Every image is a function of (split, index, size) alone: its random numbers come from
numpy's PCG64 seeded with SeedSequence([SEED, split id, index, size]), nothing global is
touched, and a sample can be drawn in any order or in parallel. Exact bytes need the same
numpy build (its float64 sin/cos/sqrt, which may use CPU-specific SIMD code); a different
one can move an anti-aliased edge pixel by one grey level or flip a label pixel that sits
exactly on a shape's boundary.

Scene: a muted background (class 0) covered by random shapes (ellipses, rotated
rectangles, star-shaped polygons, wobbly blobs), drawn one after the other so that later
shapes occlude earlier ones. Each shape is filled with one of nine textures, which are the
classes; the shape's form does not matter. A pixel's class is the texture of the topmost
shape covering at least half of it, else background. Texture parameters are in pixels
(periods 8-28 px, i.e. about one 16-px patch), so a class is decidable from the
surroundings of a pixel within a few patches, at any image size; larger images simply hold
more shapes (their count scales with the area).

Classes (CLASSES, index order):
    0 background  smooth two-colour gradient of low-saturation colours with soft blotches
    1 solid       one flat, clearly saturated colour
    2 stripes     straight stripes, any orientation, period 8-22 px
    3 waves       stripes bent along a sine (wavelength 32-64 px), period 10-20 px
    4 checker     checkerboard, any orientation, cell 8-20 px
    5 dots        filled discs on a square lattice, any orientation, period 12-24 px
    6 rings       hollow circles on a square lattice, period 16-28 px
    7 grid        thin lines (2-4 px) on a square lattice, period 12-26 px
    8 bricks      thin mortar lines in a running-bond brick pattern, brick height 11-18 px
    9 noise       random speckle (square cells of 2-5 px) between two colours

Confusable pairs on purpose: stripes / waves, dots / rings, grid / bricks, solid /
background (told apart by saturation and the absence of edges). Nuisances: random colours
for every texture (the two colours of a pattern differ by >= 0.25 in luminance), random
size (radius 22-100 px, log-uniform), position (shapes may leave the frame), orientation,
phase, occlusion, anti-aliased edges, per-image brightness/contrast jitter and mild
Gaussian pixel noise (sigma <= 0.02), 8-bit quantisation.

`sample(split, index, size)` -> (uint8 RGB [size, size, 3], uint8 labels [size, size]).
"""
import math

import numpy as np

CLASSES = ["background", "solid", "stripes", "waves", "checker", "dots", "rings", "grid", "bricks", "noise"]
SPLITS = {"train": 1, "val": 2, "test": 3}
SEED = 0x5EC0DE5          # mixed into every SeedSequence, so other generators' streams differ
REF_AREA = 256 * 256      # shape counts are given per 256x256
MEAN_SHAPES = 14.0        # expected shapes per 256x256 (about a third stays background)
R_MIN, R_MAX = 22.0, 100.0


def rng_for(split, index, size):
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r} (one of {sorted(SPLITS)})")
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([SEED, SPLITS[split], int(index), int(size)])))


# --------------------------------------------------------------------------------------------
# Colours
# --------------------------------------------------------------------------------------------

def hsv_to_rgb(h, s, v):
    """Scalars in [0, 1] -> np.array([r, g, b])."""
    i = int(h * 6.0) % 6
    f = h * 6.0 - math.floor(h * 6.0)
    p, q, t = v * (1 - s), v * (1 - s * f), v * (1 - s * (1 - f))
    return np.array([(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)][i])


def luma(c):
    return 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2]


def saturation(c):
    mx = max(c)
    return 0.0 if mx <= 0 else (mx - min(c)) / mx


def two_colours(rng, min_contrast=0.25):
    """Two random colours whose luminance differs by >= min_contrast (first of 32 tries, else
    black and white in random order). 64 numbers are always drawn, so the stream does not
    depend on how soon a pair is found."""
    draws = rng.random((32, 2, 3))
    for a, b in draws:
        ca = hsv_to_rgb(a[0], a[1], 0.08 + 0.92 * a[2])
        cb = hsv_to_rgb(b[0], b[1], 0.08 + 0.92 * b[2])
        if abs(luma(ca) - luma(cb)) >= min_contrast:
            return ca, cb
    return (np.zeros(3), np.ones(3)) if draws[0, 0, 0] < 0.5 else (np.ones(3), np.zeros(3))


# --------------------------------------------------------------------------------------------
# Geometry helpers (all distances in pixels; sdf < 0 inside)
# --------------------------------------------------------------------------------------------

def coverage(sdf):
    """Anti-aliased coverage of sdf < 0 over a 1-px pixel."""
    return np.clip(0.5 - sdf, 0.0, 1.0)


def frame(x, y, cx, cy, angle):
    c, s = math.cos(angle), math.sin(angle)
    dx, dy = x - cx, y - cy
    return dx * c + dy * s, -dx * s + dy * c


def periodic_dist(t, period, phase):
    """Distance (px) from t to the nearest of the lines t = (k - phase) * period."""
    f = np.mod(t / period + phase, 1.0)
    return np.minimum(f, 1.0 - f) * period


def box_sdf(u, v, hu, hv):
    du, dv = np.abs(u) - hu, np.abs(v) - hv
    outside = np.sqrt(np.maximum(du, 0) ** 2 + np.maximum(dv, 0) ** 2)
    return outside + np.minimum(np.maximum(du, dv), 0)


def polygon_sdf(x, y, px, py):
    """Exact signed distance to a simple polygon (vertices px, py), even-odd inside test."""
    d2 = np.full(x.shape, np.inf)
    inside = np.zeros(x.shape, dtype=bool)
    k = len(px)
    for i in range(k):
        ax, ay, bx, by = px[i], py[i], px[(i + 1) % k], py[(i + 1) % k]
        ex, ey = bx - ax, by - ay
        wx, wy = x - ax, y - ay
        t = np.clip((wx * ex + wy * ey) / (ex * ex + ey * ey), 0.0, 1.0)
        d2 = np.minimum(d2, (wx - t * ex) ** 2 + (wy - t * ey) ** 2)
        cond = (ay > y) != (by > y)
        with np.errstate(divide="ignore", invalid="ignore"):
            xc = ax + (y - ay) * ex / (ey if ey != 0 else 1e-12)
        inside ^= cond & (x < xc)
    d = np.sqrt(d2)
    return np.where(inside, -d, d)


# --------------------------------------------------------------------------------------------
# Shapes (the region a texture fills)
# --------------------------------------------------------------------------------------------

def shape_params(rng, size):
    """Form, centre, radius, rotation and form parameters of one shape. Always draws the
    same count of random numbers."""
    r = math.exp(rng.uniform(math.log(R_MIN), math.log(R_MAX)))
    cx, cy = rng.uniform(-0.1, 1.1, 2) * size
    form = int(rng.integers(4))
    rot = rng.uniform(0, 2 * math.pi)
    aspect = rng.uniform(0.45, 1.0)
    # polygon: 3..7 vertices at jittered angles, radii 0.55..1 of r
    nv = int(rng.integers(3, 8))
    vang = (np.arange(7) + rng.uniform(-0.3, 0.3, 7)) * (2 * math.pi / nv)
    vrad = rng.uniform(0.55, 1.0, 7)
    # blob: r(phi) = r * (1 + sum_k a_k cos(k phi + psi_k)), k = 2..4
    wob_a = rng.uniform(0.0, 0.13, 3)
    wob_p = rng.uniform(0, 2 * math.pi, 3)
    return dict(r=r, cx=cx, cy=cy, form=form, rot=rot, aspect=aspect, nv=nv, vang=vang[:nv],
                vrad=vrad[:nv], wob_a=wob_a, wob_p=wob_p)


def shape_sdf(p, x, y):
    r = p["r"]
    u, v = frame(x, y, p["cx"], p["cy"], p["rot"])
    form = p["form"]
    if form == 0:    # ellipse (distance approximated by scaling the normalised radius)
        a, b = r, r * p["aspect"]
        return (np.sqrt((u / a) ** 2 + (v / b) ** 2) - 1.0) * b
    if form == 1:    # rotated rectangle
        return box_sdf(u, v, 0.9 * r, 0.9 * r * max(p["aspect"], 0.5))
    if form == 2:    # star-shaped (possibly concave) polygon
        px = r * p["vrad"] * np.cos(p["vang"])
        py = r * p["vrad"] * np.sin(p["vang"])
        return polygon_sdf(u, v, px, py)
    # wobbly blob (radial function; 0.8 keeps the distance estimate on the safe side)
    phi = np.arctan2(v, u)
    rr = r * (1.0 + sum(p["wob_a"][k] * np.cos((k + 2) * phi + p["wob_p"][k]) for k in range(3)))
    return (np.sqrt(u * u + v * v) - rr) * 0.8


def shape_bbox(p, size):
    """Pixel box [y0, y1) x [x0, x1) that holds every pixel the shape can touch (None if none)."""
    ext = 1.2 * p["r"] + 2
    x0, x1 = max(0, int(math.floor(p["cx"] - ext))), min(size, int(math.ceil(p["cx"] + ext)) + 1)
    y0, y1 = max(0, int(math.floor(p["cy"] - ext))), min(size, int(math.ceil(p["cy"] + ext)) + 1)
    if x0 >= x1 or y0 >= y1:
        return None
    return y0, y1, x0, x1


# --------------------------------------------------------------------------------------------
# Textures (the classes)
# --------------------------------------------------------------------------------------------

def texture_params(rng, cls):
    """Parameters of class `cls`'s texture. Always draws the same count of random numbers."""
    ca, cb = two_colours(rng)
    q = rng.random(12)
    solid_hsv = rng.random(3)
    return dict(cls=cls, ca=ca, cb=cb, q=q, solid=hsv_to_rgb(solid_hsv[0], 0.55 + 0.45 * solid_hsv[1],
                                                             0.35 + 0.65 * solid_hsv[2]),
                noise_seed=int(rng.integers(2 ** 31)))


def texture(tp, x, y, cx, cy):
    """RGB [h, w, 3] of the texture on pixel centres (x, y); (cx, cy) anchors its phase."""
    cls, q = tp["cls"], tp["q"]
    ang = q[0] * math.pi
    u, v = frame(x, y, cx, cy, ang)
    if cls == 1:       # solid
        return np.broadcast_to(tp["solid"], x.shape + (3,))
    if cls == 2:       # stripes
        per = 8 + 14 * q[1]
        duty = 0.35 + 0.3 * q[2]
        sdf = periodic_dist(u, per, q[3]) - duty * per / 2
        m = coverage(sdf)
    elif cls == 3:     # waves: stripes along t = u + A sin(2 pi v / lam)
        per = 10 + 10 * q[1]
        lam = 32 + 32 * q[4]
        amp = lam * (0.12 + 0.12 * q[5])
        slope = 2 * math.pi * amp / lam
        t = u + amp * np.sin(2 * math.pi * v / lam + 2 * math.pi * q[6])
        g = np.sqrt(1 + (slope * np.cos(2 * math.pi * v / lam + 2 * math.pi * q[6])) ** 2)
        sdf = (periodic_dist(t, per, q[3]) - 0.5 * per / 2 * (0.7 + 0.6 * q[2])) / g
        m = coverage(sdf)
    elif cls == 4:     # checker: xor of two square waves
        cell = 8 + 12 * q[1]
        su = coverage(periodic_dist(u, 2 * cell, q[3]) - cell / 2)
        sv = coverage(periodic_dist(v, 2 * cell, q[6]) - cell / 2)
        m = su + sv - 2 * su * sv
    elif cls == 5:     # dots
        per = 12 + 12 * q[1]
        rad = per * (0.22 + 0.12 * q[2])
        du = periodic_dist(u, per, q[3] + 0.5)
        dv = periodic_dist(v, per, q[6] + 0.5)
        m = coverage(np.sqrt(du * du + dv * dv) - rad)
    elif cls == 6:     # rings (hollow circles)
        per = 16 + 12 * q[1]
        ro = per * (0.30 + 0.12 * q[2])
        th = max(2.0, ro * (0.3 + 0.2 * q[7]))
        du = periodic_dist(u, per, q[3] + 0.5)
        dv = periodic_dist(v, per, q[6] + 0.5)
        m = coverage(np.abs(np.sqrt(du * du + dv * dv) - (ro - th / 2)) - th / 2)
    elif cls == 7:     # grid of thin lines
        per = 12 + 14 * q[1]
        w = 2 + 2 * q[2]
        m = coverage(np.minimum(periodic_dist(u, per, q[3]), periodic_dist(v, per, q[6])) - w / 2)
    elif cls == 8:     # bricks: running bond, thin mortar
        bh = 11 + 7 * q[1]
        bw = bh * (1.8 + 0.8 * q[4])
        w = 2 + 1.5 * q[2]
        row = np.floor(v / bh + q[6])
        us = u + np.mod(row, 2) * (bw / 2)
        m = coverage(np.minimum(periodic_dist(v, bh, q[6]), periodic_dist(us, bw, q[3])) - w / 2)
    elif cls == 9:     # noise: square speckle cells on the pixel grid
        cell = 2 + int(4 * q[1])          # 2..5 px
        nr = np.random.Generator(np.random.PCG64(tp["noise_seed"]))
        y0, x0 = int(y[0, 0]), int(x[0, 0])
        gy = (np.floor(y[:, 0]).astype(np.int64) - y0) // cell
        gx = (np.floor(x[0, :]).astype(np.int64) - x0) // cell
        vals = nr.random((int(gy[-1]) + 1, int(gx[-1]) + 1))
        m = vals[gy][:, gx]
    else:
        raise ValueError(cls)
    m = m[..., None]
    return tp["ca"] * (1 - m) + tp["cb"] * m


def background(rng, size):
    """Muted gradient + soft blotches, [size, size, 3]."""
    g = rng.uniform(0.15, 0.85)
    hue, sat = rng.random(), rng.uniform(0.0, 0.22)
    c0 = hsv_to_rgb(hue, sat, g)
    c1 = np.clip(hsv_to_rgb((hue + rng.uniform(-0.1, 0.1)) % 1.0, rng.uniform(0.0, 0.22),
                            g + rng.uniform(-0.2, 0.2)), 0, 1)
    ang = rng.uniform(0, 2 * math.pi)
    coarse = rng.normal(0.0, 1.0, (size // 64 + 3, size // 64 + 3))
    amp = rng.uniform(0.02, 0.06)
    c = (np.arange(size) + 0.5) / size
    y, x = np.meshgrid(c, c, indexing="ij")
    t = np.clip((x - 0.5) * math.cos(ang) + (y - 0.5) * math.sin(ang) + 0.5, 0, 1)[..., None]
    img = c0 * (1 - t) + c1 * t
    # bilinear upsampling of the coarse field (cell = 64 px)
    gy = (np.arange(size) + 0.5) / 64.0
    i0 = np.floor(gy).astype(np.int64)
    f = gy - i0
    rows = coarse[i0] * (1 - f)[:, None] + coarse[i0 + 1] * f[:, None]
    field = rows[:, i0] * (1 - f)[None, :] + rows[:, i0 + 1] * f[None, :]
    return img + amp * field[..., None]


# --------------------------------------------------------------------------------------------
# Scene
# --------------------------------------------------------------------------------------------

def sample(split, index, size=256):
    """(uint8 RGB [size, size, 3], uint8 labels [size, size]) for this split and index."""
    rng = rng_for(split, index, size)
    img = background(rng, size)
    labels = np.zeros((size, size), dtype=np.uint8)
    n = int(rng.poisson(MEAN_SHAPES * size * size / REF_AREA))
    for _ in range(n):
        cls = int(rng.integers(1, len(CLASSES)))
        sp = shape_params(rng, size)
        tp = texture_params(rng, cls)
        box = shape_bbox(sp, size)
        if box is None:
            continue
        y0, y1, x0, x1 = box
        yy, xx = np.meshgrid(np.arange(y0, y1) + 0.5, np.arange(x0, x1) + 0.5, indexing="ij")
        cov = coverage(shape_sdf(sp, xx, yy))
        if not (cov > 0).any():
            continue
        tex = texture(tp, xx, yy, sp["cx"], sp["cy"])
        cv = cov[..., None]
        img[y0:y1, x0:x1] = img[y0:y1, x0:x1] * (1 - cv) + tex * cv
        labels[y0:y1, x0:x1][cov >= 0.5] = cls
    # Per-image photometric jitter and sensor noise.
    contrast = rng.uniform(0.85, 1.15)
    bright = rng.uniform(-0.06, 0.06)
    sigma = rng.uniform(0.0, 0.02)
    img = (img - 0.5) * contrast + 0.5 + bright
    img = img + sigma * rng.standard_normal(img.shape)
    img = np.clip(np.round(np.clip(img, 0, 1) * 255.0), 0, 255).astype(np.uint8)
    return img, labels


def class_fractions(labels, n_cls=len(CLASSES)):
    return np.bincount(labels.reshape(-1), minlength=n_cls)[:n_cls] / labels.size


def colourize(labels):
    """A fixed palette for looking at label maps (not part of the data)."""
    pal = np.array([[40, 40, 40], [230, 25, 75], [60, 180, 75], [255, 225, 25], [0, 130, 200],
                    [245, 130, 48], [145, 30, 180], [70, 240, 240], [240, 50, 230], [210, 245, 60]],
                   dtype=np.uint8)
    return pal[labels]
