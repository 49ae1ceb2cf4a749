"""A procedural monocular-depth data set ("shapes-depth"): ray-cast scenes with exact depth.

    from hourglass_ref.shapes_depth import sample
    image, inv_depth = sample("val", 7, 128)        # uint8 [128, 128, 3] RGB, float32 [128, 128]
    image, inv_depth = sample("val", 7, 128, 192)   # the same scene, wider (H 128, W 192)

Every scene is a function of (split, index) alone: its parameters come from numpy's PCG64
seeded with SeedSequence([SEED, split id, index]) and do not depend on the image size, so
sample(split, i, 128) and sample(split, i, 256) show the same scene (camera parameters are in
units of the image height; a wider image shows more of the scene at the sides). The pixel
noise comes from a second stream that does depend on the size. Nothing global is touched.

Camera: a pinhole at the origin, x right, y DOWN, z forward (depth = z of the hit point, as
MiDaS / DPT define depth), level, with its principal point shifted so that the horizon is at
row horizon * H (0.12..0.5 of the height); focal length F * H (F 0.9..1.5: 37-58 degrees of
vertical field of view); camera height above the ground 1.0..2.2 (the world scale is
otherwise free: only relative depth is learnable from one image).

Scene, two kinds:
* outdoor (65 %): ground plane to the horizon, sky above (inverse depth 0), optionally a
  distant wall (10..60 away, yawed +-0.5 rad, 2..15 high) and 0..3 large far "buildings"
  (boxes 20..60 away); atmospheric haze towards the horizon colour with distance.
* indoor (35 %): a room: floor, back wall (8..30 away, yawed), left and right walls
  (2.5..8 to the side), a ceiling in 70 % of the rooms (2.6..5 above the floor).
Both get 1 + Poisson(4) (at most 9) objects resting on the floor/ground: spheres, boxes (any
yaw; some flat slabs) and vertical cylinders, 3..30 away (log-uniform; never behind the back
wall or outside the room), so that farther objects are smaller and sit higher in the image.

Appearance: every surface has a material: a flat colour with faint value noise, checker,
stripes, tiles (grout lines) or blotchy value noise, defined in world coordinates (planar
projection on the surface's dominant normal axis), so the texture gradient is a perspective
cue; patterns are anti-aliased by the pixel's footprint on the surface and fade to their mean
where the pixel grows larger than the period. Shading: a directional light (elevation 25-70
degrees, random azimuth) with Lambert + hemispheric ambient, cast shadows of the objects
(onto everything), a sky gradient. Rendered with 2x2 supersampling (box filter), then
per-image exposure jitter, Gaussian pixel noise (sigma <= 0.015) and 8-bit quantisation.

Target: inverse depth 1/z per pixel (sky: 0), the 2x2 samples averaged in inverse depth
(float32). It is metric only up to the unknown world scale: train and evaluate with a scale-
and-shift-invariant loss / alignment, as MiDaS and DPT do.
"""
import math

import numpy as np

from .shapes_seg import hsv_to_rgb, two_colours

SPLITS = {"train": 1, "val": 2, "test": 3, "demo": 4}
SEED = 0xDE97A5          # mixed into every SeedSequence
SUPERSAMPLE = 2
MATERIALS = ("solid", "checker", "stripes", "tiles", "noise")
NOISE_TABLE = 16          # value-noise lattice per material (periodic)
EPS = 1e-4


def rng_for(split, index, *extra):
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r} (one of {sorted(SPLITS)})")
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([SEED, SPLITS[split], int(index)]
                                                                         + [int(e) for e in extra])))


# --------------------------------------------------------------------------------------------
# Scene parameters
# --------------------------------------------------------------------------------------------

def material(rng, kinds=MATERIALS, scale=1.0, muted=False):
    """A surface material. Always draws the same count of random numbers."""
    ca, cb = two_colours(rng, 0.12)
    q = rng.random(8)
    table = rng.random((NOISE_TABLE, NOISE_TABLE))
    kind = kinds[int(q[0] * len(kinds)) % len(kinds)]
    if muted:                                   # walls / ground: less saturated
        ca = 0.55 * ca + 0.45 * ca.mean()
        cb = 0.55 * cb + 0.45 * cb.mean()
    return dict(kind=kind, ca=ca, cb=cb, period=scale * (0.25 + 1.25 * q[1]), angle=q[2] * math.pi,
                phase=(q[3], q[4]), duty=0.3 + 0.4 * q[5], line=0.04 + 0.08 * q[6], amp=0.06 + 0.1 * q[7],
                table=table)


def scene_params(rng):
    s = {}
    s["indoor"] = bool(rng.random() < 0.35)
    s["F"] = rng.uniform(0.9, 1.5)
    s["horizon"] = rng.uniform(0.12, 0.5)
    s["hc"] = rng.uniform(1.0, 2.2)
    az, el = rng.uniform(0, 2 * math.pi), math.radians(rng.uniform(25, 70))
    s["light"] = np.array([math.cos(el) * math.sin(az), -math.sin(el), math.cos(el) * math.cos(az)])
    s["ambient"] = rng.uniform(0.25, 0.5)
    hz = rng.random(3)
    s["sky_horizon"] = hsv_to_rgb(0.5 + 0.15 * hz[0], 0.05 + 0.2 * hz[1], 0.75 + 0.25 * hz[2])
    zn = rng.random(3)
    s["sky_zenith"] = hsv_to_rgb(0.55 + 0.1 * zn[0], 0.3 + 0.4 * zn[1], 0.5 + 0.4 * zn[2])
    s["fog"] = 0.0 if s["indoor"] else 1.0 / rng.uniform(25, 200)
    s["ground"] = material(rng, ("checker", "tiles", "noise", "stripes", "noise", "solid"), scale=2.0, muted=True)
    planes = []
    wall = rng.random(6)
    wall_mat = material(rng, ("solid", "tiles", "stripes", "noise", "checker"), scale=1.5, muted=True)
    side_mats = [material(rng, ("solid", "tiles", "stripes", "noise"), scale=1.5, muted=True) for _ in range(2)]
    ceil_mat = material(rng, ("solid", "tiles", "noise"), scale=1.5, muted=True)
    if s["indoor"]:
        zw = math.exp(rng.uniform(math.log(8), math.log(30)))
        xl, xr = rng.uniform(2.5, 8.0, 2)
        room_h = max(s["hc"] + 0.4, rng.uniform(2.6, 5.0))
        planes.append(dict(kind="back", dist=zw, yaw=rng.uniform(-0.35, 0.35), top=None, mat=wall_mat))
        planes.append(dict(kind="left", dist=xl, mat=side_mats[0]))
        planes.append(dict(kind="right", dist=xr, mat=side_mats[1]))
        if wall[0] < 0.7:
            planes.append(dict(kind="ceiling", dist=room_h - s["hc"], mat=ceil_mat))
        s["zmax"] = zw
        s["xlim"] = (-xl, xr)
    else:
        zw = math.exp(rng.uniform(math.log(10), math.log(60)))
        rng.uniform(0, 1, 3)
        if wall[0] < 0.5:
            planes.append(dict(kind="back", dist=zw, yaw=rng.uniform(-0.5, 0.5), top=rng.uniform(2, 15),
                               mat=wall_mat))
            s["zmax"] = zw
        else:
            rng.uniform(0, 1, 2)
            s["zmax"] = 80.0
        s["xlim"] = (-1e9, 1e9)
    s["planes"] = planes
    objects = []
    # far buildings (outdoor only)
    n_far = int(rng.integers(0, 4)) if not s["indoor"] else 0
    for _ in range(n_far):
        z = rng.uniform(20, 60)
        if z > s["zmax"] - 3:
            rng.random(5)
            material(rng)
            continue
        hw, hh, hd = rng.uniform(1.5, 6), rng.uniform(1.5, 8), rng.uniform(1.5, 6)
        x = z * rng.uniform(-0.9, 0.9)
        objects.append(dict(kind="box", c=np.array([x, s["hc"] - hh, z]), half=np.array([hw, hh, hd]),
                            yaw=rng.uniform(0, math.pi / 2),
                            mat=material(rng, ("solid", "tiles", "stripes"), scale=2.0, muted=True)))
    n = min(9, 1 + int(rng.poisson(4.0)))
    zmax = min(30.0, s["zmax"] - 1.5)
    for _ in range(n):
        kind = ("sphere", "box", "cylinder", "box")[int(rng.integers(4))]
        z = math.exp(rng.uniform(math.log(3.0), math.log(max(zmax, 3.1))))
        xf = rng.uniform(-1, 1)
        dims = rng.random(4)
        yaw = rng.uniform(0, math.pi)
        mat = material(rng, ("solid", "solid", "checker", "stripes", "noise", "tiles"), scale=0.5)
        half_w = 0.75 / s["F"] * z          # half the visible width of a 1.5:1 image at this depth
        lo, hi = s["xlim"]
        x = float(np.clip(xf * half_w * 1.1, lo + 0.8, hi - 0.8)) if hi - lo > 1.6 else 0.5 * (lo + hi)
        if kind == "sphere":
            r = 0.25 + 0.8 * dims[0]
            objects.append(dict(kind="sphere", c=np.array([x, s["hc"] - r, z]), r=r, mat=mat))
        elif kind == "box":
            slab = dims[3] < 0.3
            hw, hd = 0.2 + 0.9 * dims[0], 0.2 + 0.9 * dims[1]
            hh = 0.04 + 0.15 * dims[2] if slab else 0.2 + 1.0 * dims[2]
            objects.append(dict(kind="box", c=np.array([x, s["hc"] - hh, z]), half=np.array([hw, hh, hd]),
                                yaw=yaw, mat=mat))
        else:
            r, hgt = 0.15 + 0.5 * dims[0], 0.3 + 2.4 * dims[1]
            objects.append(dict(kind="cylinder", c=np.array([x, s["hc"], z]), r=r, h=hgt, mat=mat))
    s["objects"] = objects
    ph = rng.random(4)
    s["exposure"] = 0.85 + 0.3 * ph[0]
    s["noise_sigma"] = 0.015 * ph[1]
    return s


# --------------------------------------------------------------------------------------------
# Ray casting (rays as [..., 3] arrays; t = depth z because every ray has d_z = 1)
# --------------------------------------------------------------------------------------------

def _dot(a, b):
    return a[..., 0] * b[..., 0] + a[..., 1] * b[..., 1] + a[..., 2] * b[..., 2]


def bounding_radius(ob):
    if ob["kind"] == "sphere":
        return ob["r"], ob["c"]
    if ob["kind"] == "box":
        return float(np.linalg.norm(ob["half"])), ob["c"]
    c = ob["c"] - np.array([0.0, ob["h"] / 2, 0.0])
    return math.hypot(ob["r"], ob["h"] / 2), c


def hit_object(ob, o, d, want_normal=True):
    """Nearest t > EPS of rays o + t d with object `ob` ([N] t, inf where none) and normals."""
    inf = np.full(d.shape[:-1], np.inf)
    nrm = np.zeros(d.shape) if want_normal else None
    if ob["kind"] == "sphere":
        oc = o - ob["c"]
        A = _dot(d, d)
        B = _dot(oc, d)
        C = _dot(oc, oc) - ob["r"] ** 2
        disc = B * B - A * C
        ok = disc >= 0
        sq = np.sqrt(np.where(ok, disc, 0.0))
        t0, t1 = (-B - sq) / A, (-B + sq) / A
        t = np.where(ok & (t0 > EPS), t0, np.where(ok & (t1 > EPS), t1, inf))
        if want_normal:
            p = o + d * np.where(np.isfinite(t), t, 0.0)[..., None]
            nrm = (p - ob["c"]) / ob["r"]
        return t, nrm
    if ob["kind"] == "box":
        cy, sy = math.cos(ob["yaw"]), math.sin(ob["yaw"])
        # box frame: rotate about y by -yaw
        rot = np.array([[cy, 0.0, -sy], [0.0, 1.0, 0.0], [sy, 0.0, cy]])   # world -> box
        ol = (o - ob["c"]) @ rot.T
        dl = d @ rot.T
        with np.errstate(divide="ignore", invalid="ignore"):
            inv = 1.0 / np.where(np.abs(dl) < 1e-12, 1e-12, dl)
            t1 = (-ob["half"] - ol) * inv
            t2 = (ob["half"] - ol) * inv
        tn = np.minimum(t1, t2)
        tf = np.maximum(t1, t2)
        tmin = tn.max(-1)
        tmax = tf.min(-1)
        ok = (tmax >= tmin) & (tmax > EPS)
        t = np.where(ok, np.where(tmin > EPS, tmin, tmax), inf)
        if want_normal:
            entering = tmin > EPS            # else the ray starts inside and leaves through tmax
            axis = np.where(entering, tn.argmax(-1), tf.argmin(-1))
            nl = np.zeros(d.shape)
            sign = np.sign(np.take_along_axis(dl, axis[..., None], -1))[..., 0] * np.where(entering, -1.0, 1.0)
            np.put_along_axis(nl, axis[..., None], sign[..., None], -1)
            nrm = nl @ rot            # box -> world
        return t, nrm
    # vertical cylinder: axis through c (bottom at c_y, top at c_y - h), radius r
    c, r, h = ob["c"], ob["r"], ob["h"]
    ox, oz = o[..., 0] - c[0], o[..., 2] - c[2]
    dx, dz = d[..., 0], d[..., 2]
    A = dx * dx + dz * dz
    B = ox * dx + oz * dz
    C = ox * ox + oz * oz - r * r
    disc = B * B - A * C
    ok = (disc >= 0) & (A > 1e-12)
    sq = np.sqrt(np.where(ok, disc, 0.0))
    Aq = np.where(A > 1e-12, A, 1.0)
    t_side = inf.copy()
    for tc in ((-B - sq) / Aq, (-B + sq) / Aq):
        y = o[..., 1] + tc * d[..., 1]
        good = ok & (tc > EPS) & (y <= c[1]) & (y >= c[1] - h) & ~np.isfinite(t_side)
        t_side = np.where(good, tc, t_side)
    with np.errstate(divide="ignore", invalid="ignore"):
        t_cap = (c[1] - h - o[..., 1]) / d[..., 1]
    px, pz = ox + t_cap * dx, oz + t_cap * dz
    cap_ok = np.isfinite(t_cap) & (t_cap > EPS) & (px * px + pz * pz <= r * r)
    t_cap = np.where(cap_ok, t_cap, inf)
    t = np.minimum(t_side, t_cap)
    if want_normal:
        p = o + d * np.where(np.isfinite(t), t, 0.0)[..., None]
        nrm = np.stack([(p[..., 0] - c[0]) / r, np.zeros(t.shape), (p[..., 2] - c[2]) / r], -1)
        nrm = np.where((t_cap <= t_side)[..., None], np.array([0.0, -1.0, 0.0]), nrm)
    return t, nrm


def screen_box(ob, f, cx, cy, h, w):
    """Pixel rows / columns that can see the object (its bounding sphere), or None."""
    R, c = bounding_radius(ob)
    z0, z1 = c[2] - R, c[2] + R
    if z1 <= 0:
        return None
    if z0 <= 0.05:
        return 0, h, 0, w
    xs = [(c[0] - R) / z0, (c[0] - R) / z1, (c[0] + R) / z0, (c[0] + R) / z1]
    ys = [(c[1] - R) / z0, (c[1] - R) / z1, (c[1] + R) / z0, (c[1] + R) / z1]
    c0 = max(0, int(math.floor(cx + f * min(xs))) - 1)
    c1 = min(w, int(math.ceil(cx + f * max(xs))) + 2)
    r0 = max(0, int(math.floor(cy + f * min(ys))) - 1)
    r1 = min(h, int(math.ceil(cy + f * max(ys))) + 2)
    if c0 >= c1 or r0 >= r1:
        return None
    return r0, r1, c0, c1


def plane_hits(s, d):
    """Ground, walls, ceiling: list of (t [h,w], normal [3], material)."""
    a, b = d[..., 0], d[..., 1]
    hc = s["hc"]
    out = []
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(b > 1e-9, hc / b, np.inf)
    out.append((t, np.array([0.0, -1.0, 0.0]), s["ground"]))
    for p in s["planes"]:
        with np.errstate(divide="ignore", invalid="ignore"):
            if p["kind"] == "back":
                n = np.array([math.sin(p["yaw"]), 0.0, math.cos(p["yaw"])])   # plane n.P = dist
                nd = _dot(d, n)
                t = np.where(nd > 1e-9, p["dist"] / nd, np.inf)
                if p["top"] is not None:
                    t = np.where(b * t >= hc - p["top"], t, np.inf)
                out.append((t, -n, p["mat"]))
            elif p["kind"] == "left":
                out.append((np.where(a < -1e-9, -p["dist"] / a, np.inf), np.array([1.0, 0.0, 0.0]), p["mat"]))
            elif p["kind"] == "right":
                out.append((np.where(a > 1e-9, p["dist"] / a, np.inf), np.array([-1.0, 0.0, 0.0]), p["mat"]))
            else:   # ceiling at y = -dist
                out.append((np.where(b < -1e-9, -p["dist"] / b, np.inf), np.array([0.0, 1.0, 0.0]), p["mat"]))
    return out


# --------------------------------------------------------------------------------------------
# Materials
# --------------------------------------------------------------------------------------------

def _pd(t, period, phase):
    f = np.mod(t / period + phase, 1.0)
    return np.minimum(f, 1.0 - f) * period


def _value_noise(table, s, t):
    n = table.shape[0]
    i0, j0 = np.floor(s).astype(np.int64), np.floor(t).astype(np.int64)
    fs, ft = s - i0, t - j0
    fs, ft = fs * fs * (3 - 2 * fs), ft * ft * (3 - 2 * ft)
    i0, j0 = i0 % n, j0 % n
    i1, j1 = (i0 + 1) % n, (j0 + 1) % n
    return ((table[i0, j0] * (1 - fs) + table[i1, j0] * fs) * (1 - ft)
            + (table[i0, j1] * (1 - fs) + table[i1, j1] * fs) * ft)


def albedo(mat, p, n, fp):
    """RGB albedo [N, 3] of `mat` at points p [N,3] with normals n [N,3]; fp [N]: the pixel's
    footprint on the surface (world units)."""
    an = np.abs(n)
    ax = an.argmax(-1)
    s = np.where(ax == 0, p[:, 2], p[:, 0])
    t = np.where(ax == 1, p[:, 2], p[:, 1])
    ca, cs = math.cos(mat["angle"]), math.sin(mat["angle"])
    s, t = s * ca + t * cs, -s * cs + t * ca
    per = mat["period"]
    kind = mat["kind"]
    fade = np.clip(1.5 - 2.0 * fp / per, 0.0, 1.0)     # full contrast below per/4, none above 3 per/4
    fpw = np.maximum(fp, 1e-6)
    if kind == "solid":
        m = 0.5 + (_value_noise(mat["table"], s / per, t / per) - 0.5) * mat["amp"] * 2
        m = 0.5 + (m - 0.5) * np.clip(1.5 - fp / per, 0, 1)
        col = mat["ca"] * (0.75 + 0.5 * m[:, None])
        return col
    if kind == "checker":
        su = np.clip(0.5 - (_pd(s, 2 * per, mat["phase"][0]) - per / 2) / fpw, 0, 1)
        sv = np.clip(0.5 - (_pd(t, 2 * per, mat["phase"][1]) - per / 2) / fpw, 0, 1)
        m = su + sv - 2 * su * sv
        mean = 0.5
    elif kind == "stripes":
        m = np.clip(0.5 - (_pd(s, per, mat["phase"][0]) - mat["duty"] * per / 2) / fpw, 0, 1)
        mean = mat["duty"]
    elif kind == "tiles":
        lw = mat["line"] * per
        d = np.minimum(_pd(s, per, mat["phase"][0]), _pd(t, per, mat["phase"][1]))
        m = np.clip(0.5 - (d - lw / 2) / fpw, 0, 1)
        mean = min(1.0, 2 * lw / per)
    else:   # blotchy noise, two octaves
        m = 0.65 * _value_noise(mat["table"], s / per, t / per) + 0.35 * _value_noise(mat["table"].T, s / per * 2.7,
                                                                                        t / per * 2.7)
        m = np.clip((m - 0.5) * 2.2 + 0.5, 0, 1)
        mean = 0.5
        fade = np.clip(1.5 - 0.7 * fp / per, 0.0, 1.0)
    m = mean + (m - mean) * fade
    return mat["ca"] * (1 - m[:, None]) + mat["cb"] * m[:, None]


# --------------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------------

def render(s, height, width, ss=SUPERSAMPLE):
    """(linear-ish RGB float [H, W, 3] in [0, 1] before noise, inverse depth float64 [H, W])."""
    h, w = height * ss, width * ss
    f = s["F"] * h
    cy, cx = s["horizon"] * h, w / 2.0
    a = (np.arange(w) + 0.5 - cx) / f
    b = (np.arange(h) + 0.5 - cy) / f
    d = np.stack(np.broadcast_arrays(a[None, :], b[:, None], np.ones((h, w))), -1)
    t = np.full((h, w), np.inf)
    nrm = np.zeros((h, w, 3))
    sid = np.full((h, w), -1, dtype=np.int64)
    mats = []
    for t_p, n_p, mat in plane_hits(s, d):
        closer = t_p < t
        t = np.where(closer, t_p, t)
        nrm[closer] = n_p
        sid[closer] = len(mats)
        mats.append(mat)
    zero = np.zeros(3)
    for ob in s["objects"]:
        box = screen_box(ob, f, cx, cy, h, w)
        if box is None:
            continue
        r0, r1, c0, c1 = box
        dd = d[r0:r1, c0:c1]
        t_o, n_o = hit_object(ob, zero, dd)
        sub_t = t[r0:r1, c0:c1]
        closer = t_o < sub_t
        if not closer.any():
            mats.append(ob["mat"])
            continue
        sub_t[closer] = t_o[closer]
        nrm[r0:r1, c0:c1][closer] = n_o[closer]
        sid[r0:r1, c0:c1][closer] = len(mats)
        mats.append(ob["mat"])
    hit = np.isfinite(t)
    # Sky
    elev = -b / np.sqrt(1 + b * b)
    k = np.clip(elev * 2.2, 0, 1)[:, None, None]
    img = np.broadcast_to(s["sky_horizon"] * (1 - k) + s["sky_zenith"] * k, (h, w, 3)).copy()
    # Surfaces
    idx = np.nonzero(hit)
    th = t[idx]
    dh = d[idx]
    p = dh * th[:, None]
    n = nrm[idx]
    n = n / np.maximum(np.linalg.norm(n, axis=-1, keepdims=True), 1e-12)
    dn = np.abs(_dot(dh, n)) / np.linalg.norm(dh, axis=-1)
    fp = th * np.linalg.norm(dh, axis=-1) / f / np.maximum(dn, 0.15)
    alb = np.zeros(p.shape)
    ids = sid[idx]
    for i, mat in enumerate(mats):
        sel = ids == i
        if sel.any():
            alb[sel] = albedo(mat, p[sel], n[sel], fp[sel])
    L = s["light"]
    lam = np.clip(_dot(n, L), 0, None)
    lit = lam > 0
    shadow = np.zeros(th.shape, dtype=bool)
    origin = p + n * 1e-3
    for ob in s["objects"]:
        R, c = bounding_radius(ob)
        oc = c - origin
        proj = _dot(oc, np.broadcast_to(L, oc.shape))
        dist2 = _dot(oc, oc) - np.maximum(proj, 0) ** 2
        cand = lit & ~shadow & (dist2 <= R * R) & (proj > -R)
        if cand.any():
            tt, _ = hit_object(ob, origin[cand], np.broadcast_to(L, (int(cand.sum()), 3)), want_normal=False)
            shadow[np.nonzero(cand)[0][np.isfinite(tt)]] = True
    amb = s["ambient"] * (0.7 + 0.3 * (0.5 - 0.5 * n[:, 1]))
    shade = amb + (1 - s["ambient"]) * lam * ~shadow
    col = alb * shade[:, None]
    if s["fog"] > 0:
        fo = 1 - np.exp(-th * s["fog"])
        col = col * (1 - fo[:, None]) + s["sky_horizon"] * fo[:, None]
    img[idx] = col
    inv = np.where(hit, 1.0 / np.where(hit, t, 1.0), 0.0)
    img = img.reshape(height, ss, width, ss, 3).mean((1, 3))
    inv = inv.reshape(height, ss, width, ss).mean((1, 3))
    return img, inv


def scene(split, index):
    return scene_params(rng_for(split, index))


def sample(split, index, height=128, width=None):
    """(uint8 RGB [H, W, 3], float32 inverse depth [H, W], 0 = sky) for this split and index."""
    width = height if width is None else width
    s = scene(split, index)
    img, inv = render(s, height, width)
    nrng = rng_for(split, index, height, width)
    img = img * s["exposure"] + s["noise_sigma"] * nrng.standard_normal(img.shape)
    img = np.clip(np.round(np.clip(img, 0, 1) * 255.0), 0, 255).astype(np.uint8)
    return img, inv.astype(np.float32)


def colourize(inv, lo=None, hi=None):
    """Inverse depth -> a blue (far) ... yellow (near) ramp for looking at it (not part of the data)."""
    lo = float(inv.min()) if lo is None else lo
    hi = float(inv.max()) if hi is None else hi
    x = np.clip((inv - lo) / max(hi - lo, 1e-12), 0, 1)[..., None]
    stops = np.array([[13, 8, 135], [126, 3, 168], [204, 71, 120], [248, 149, 64], [240, 249, 33]], float)
    pos = x * (len(stops) - 1)
    i0 = np.clip(np.floor(pos).astype(int), 0, len(stops) - 2)
    fr = pos - i0
    rgb = stops[i0[..., 0]] * (1 - fr) + stops[i0[..., 0] + 1] * fr
    return np.clip(np.round(rgb), 0, 255).astype(np.uint8)
