"""Age and sex as the embedded face model draws them (see :mod:`thesislib.facemodel.procedural`).

Each function returns one deformation (shape, mm at one unit of the field) or one
colour change (per-vertex RGB, 0..1 units), built from the cues that face-model and
anthropometry studies describe and that a frontal photo shows:

* sex (male positive): wider jaw and squarer, longer chin, a stronger brow ridge and
  glabella, lower and straighter brows, a larger and wider nose, thinner lips, slightly
  deeper eyes, a longer face; darker and redder skin, beard shadow on the upper lip,
  chin and jaw, darker brows, less red lips and less contrast around the eyes;
* age (old positive): jowls (the lower outline sags outward and down), sagging cheeks
  and hollow temples, deeper nasolabial folds and marionette lines, a lowered brow,
  bags under the eyes, thinner lips with lowered corners, a longer
  nose; grey brows and hairline, paler and less saturated skin, wrinkles drawn as thin
  dark lines (forehead, crow's feet, folds), shadows under the eyes and age spots.

Wrinkles live in the colour model: a 1 mm crease on a 1 mm grid hardly shades under a
mostly ambient light, while the colour lines show in every render (the thesis' Fig 6.3
reads wrinkles and grey hair off the GAN's old faces).
"""
from __future__ import annotations

import numpy as np

from .fields import bump, bump_pair, soft_step, stack_xyz

SPOTS_SEED = 1953


def _segment(x, y, p, q, width):
    """Gaussian ridge of unit height along the segment p-q (mm), ``width`` its sd."""
    (px, py), (qx, qy) = p, q
    dx, dy = qx - px, qy - py
    t = np.clip(((x - px) * dx + (y - py) * dy) / (dx * dx + dy * dy), 0, 1)
    d2 = (x - px - t * dx) ** 2 + (y - py - t * dy) ** 2
    taper = np.sin(np.pi * np.clip(t, 0.02, 0.98)) ** 0.5   # fades at both ends
    return np.exp(-0.5 * d2 / width ** 2) * taper


def _mirrored(x, y, p, q, width):
    """:func:`_segment` on both sides of the face (p, q given for the viewer's right)."""
    (px, py), (qx, qy) = p, q
    return _segment(x, y, p, q, width) + _segment(x, y, (-px, py), (-qx, qy), width)


def nasolabial(x, y, width=2.2):
    """The fold from the nose wing to beyond the mouth corner, both sides."""
    return _mirrored(x, y, (13, -20), (28, -54), width)


def marionette(x, y, width=2.0):
    """The line from the mouth corner down towards the jaw, both sides."""
    return _mirrored(x, y, (25, -53), (30, -76), width)


def sex_shape(x, y):
    """Male-minus-female deformation (mm), (3N,)."""
    lower = soft_step(y + 30, 8.0)                                   # below the cheekbones
    dx = (0.045 * x * lower + 0.015 * x                          # wider jaw, larger face
          + 0.07 * x * bump(x, y, 0, -86, 24, 12)                  # squarer chin
          + 0.08 * x * bump(x, y, 0, -22, 14, 6))                  # wider nose
    dy = (-2.8 * bump(x, y, 0, -88, 26, 12) + 0.02 * (y + 5)       # longer chin and face
          - 0.8 * bump_pair(x, y, 33, 39, 18, 6))                    # lower brows
    dz = (2.8 * bump_pair(x, y, 32, 38, 20, 6) + 2.0 * bump(x, y, 0, 35, 12, 6)   # brow ridge, glabella
          + 2.2 * bump(x, y, 0, -10, 9, 22)                        # larger nose
          - 1.6 * (bump(x, y, 0, -44, 17, 4) + bump(x, y, 0, -56, 15, 5))       # thinner lips
          - 1.2 * bump_pair(x, y, 33, 23, 13, 9)                     # deeper eyes
          + 1.5 * bump(x, y, 0, -86, 18, 10))                      # forward chin
    return stack_xyz(dx, dy, dz)


def age_shape(x, y):
    """Old-minus-young deformation (mm), (3N,)."""
    jowl = bump_pair(x, y, 50, -72, 15, 13)
    dx = 1.4 * np.tanh(x / 10) * jowl                             # jowls widen the lower outline
    dy = (-1.4 * jowl - 1.8 * bump_pair(x, y, 40, -22, 16, 18)        # jowls and cheeks sag
          - 1.2 * bump_pair(x, y, 33, 39, 20, 7)                      # lowered brow
          - 1.8 * bump(x, y, 0, -20, 10, 9)                         # longer nose
          - 1.4 * bump_pair(x, y, 24, -50, 6, 5))                     # mouth corners down
    dz = (-1.6 * nasolabial(x, y) + 1.0 * _mirrored(x, y, (19, -20), (34, -54), 4.0)  # fold and the cheek over it
          - 1.0 * marionette(x, y)
          - 1.8 * bump_pair(x, y, 42, -2, 13, 11)                     # flatter cheekbones
          - 1.6 * bump_pair(x, y, 62, 32, 8, 14)                      # hollow temples
          + 1.6 * bump_pair(x, y, 33, 13, 11, 3.5)                    # bags under the eyes
          - 1.6 * (bump(x, y, 0, -44, 17, 4) + bump(x, y, 0, -56, 15, 5))   # thinner lips
          + 1.0 * bump(x, y, 0, -14, 9, 14))                        # larger nose
    return stack_xyz(dx, dy, dz)


def _rgb(f, c):
    return (f[:, None] * np.asarray(c, float)[None, :]).reshape(-1)


def feature_masks(x, y):
    """Soft masks (N,) of the painted features: brows, hair, lips, eyes, beard, skin."""
    brows = bump_pair(x, y, 33, 38, 17, 3.5)
    hair = soft_step(76.0 - 10.0 * (x / 70.0) ** 2 - y, 2.0)
    lips = bump(x, y, 0, -44, 18, 4) + bump(x, y, 0, -55, 16, 5)
    eyes = bump_pair(x, y, 33, 22, 10, 5)
    beard = np.clip(bump(x, y, 0, -66, 42, 28) * soft_step(y + 30, 4.0) + bump(x, y, 0, -37, 18, 4.5), 0, 1)
    beard = beard * (1 - np.clip(1.4 * lips, 0, 1))
    skin = np.clip(1.0 - 1.3 * brows - 1.5 * eyes - 1.2 * lips - hair, 0, 1)
    return {"brows": brows, "hair": hair, "lips": lips, "eyes": eyes, "beard": beard, "skin": skin}


def sex_color(x, y, mean_color):
    """Male-minus-female colour change, (3N,)."""
    m = feature_masks(x, y)
    mc = np.asarray(mean_color, float).reshape(-1, 3)
    # darkening in proportion to the mean colour keeps the hue: a fixed RGB step turned
    # the lighter (female) side of the axis green
    thick = np.clip(bump_pair(x, y, 33, 38, 19, 5.5) - m["brows"], 0, 1)    # thicker brows
    change = (m["skin"][:, None] * (-0.30 * mc + np.array([0.04, -0.01, -0.02]))   # darker, redder skin
              + m["beard"][:, None] * (-0.80 * mc + np.array([-0.02, 0.0, 0.04]))  # beard shadow
              + np.clip(m["brows"] + thick, 0, 1)[:, None] * (-0.55 * mc)          # darker, thicker brows
              + m["lips"][:, None] * np.array([-0.40, 0.03, 0.0])                  # less red lips
              + (bump_pair(x, y, 33, 24, 14, 5) * (1 - m["eyes"]))[:, None] * (0.15 * mc))  # less eye contrast
    return change.reshape(-1)


def wrinkles(x, y):
    """Unit-height wrinkle lines (N,): forehead, crow's feet, folds, under-eye creases."""
    lines = np.zeros_like(x)
    for h in (50.0, 57.0, 64.0):                                  # forehead
        lines += _segment(x, y, (-38, h + 1), (38, h + 1), 0.9) * (1 + 0.03 * np.abs(x)) / 2
    for ang in (-25.0, 0.0, 25.0):                                # crow's feet
        a = np.deg2rad(ang)
        p, q = (48, 22), (48 + 12 * np.cos(a), 22 + 12 * np.sin(a))
        lines += _mirrored(x, y, p, q, 0.8)
    lines += 0.6 * _mirrored(x, y, (26, 16), (42, 15), 0.9)      # under-eye crease
    lines += nasolabial(x, y, 1.3) + 0.8 * marionette(x, y, 1.1)
    lines += 0.7 * _segment(x, y, (-6, 34), (-4, 44), 0.7) + 0.7 * _segment(x, y, (6, 34), (4, 44), 0.7)
    return np.clip(lines, 0, 1)


def age_spots(x, y, count=26):
    """A fixed pattern of small round spots on forehead and cheeks (N,), 0..1."""
    rng = np.random.default_rng(SPOTS_SEED)
    spots = np.zeros_like(x)
    for _ in range(count):
        cx = rng.uniform(-55, 55)
        cy = rng.choice([rng.uniform(42, 68), rng.uniform(-30, 8)])
        if abs(cx) < 12 and cy < 10:                              # not on the nose
            continue
        spots += rng.uniform(0.5, 1.0) * bump(x, y, cx, cy, *(2 * [rng.uniform(1.5, 3.0)]))
    return np.clip(spots, 0, 1)


def age_color(x, y, mean_color):
    """Old-minus-young colour change, (3N,)."""
    m = feature_masks(x, y)
    mc = np.asarray(mean_color, float).reshape(-1, 3)
    grey = np.array([0.66, 0.65, 0.64])
    hairy = np.clip(m["hair"] + 1.2 * m["brows"], 0, 1)
    lum = mc.mean(1, keepdims=True)
    skin = m["skin"][:, None]
    change = (0.9 * hairy[:, None] * (grey - mc)                  # grey brows and hairline
              + 0.8 * skin * (lum - mc)                           # less saturated skin
              + skin * np.array([0.04, 0.05, 0.06])               # paler
              - 0.55 * wrinkles(x, y)[:, None] * np.array([1.0, 1.05, 1.05]) * 0.5
              - 0.30 * bump_pair(x, y, 33, 14, 10, 3)[:, None] * np.array([0.8, 1.0, 0.9])  # under-eye shadow
              - 0.35 * (age_spots(x, y) * m["skin"])[:, None] * np.array([0.7, 0.9, 1.1])  # brown spots
              + 0.25 * m["lips"][:, None] * (lum - mc))           # paler lips
    return change.reshape(-1)
