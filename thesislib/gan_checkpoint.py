"""Checkpoints of the conditional GAN: the state format, writing and finding them.

Checkpoints
    Plain ``state_dict``-style dictionaries holding only tensors and primitive
    containers, written atomically (temporary file + ``os.replace``) and read
    with ``torch.load(path, weights_only=True)``. They include the RNG states,
    so resuming an interrupted run reproduces the uninterrupted run exactly
    (same device, same data).
"""
from __future__ import annotations

import re
from pathlib import Path

import torch

from .atomic import atomic_write

CHECKPOINT_VERSION = 1
_CKPT_RE = re.compile(r"^checkpoint_(\d{6})\.pt$")


def atomic_save(obj, path):
    atomic_write(path, lambda fh: torch.save(obj, fh))


def to_cpu(obj):
    """Recursively move tensors in (nested) dicts/lists to the CPU."""
    if isinstance(obj, torch.Tensor):
        return obj.detach().cpu()
    if isinstance(obj, dict):
        return {k: to_cpu(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(to_cpu(v) for v in obj)
    return obj


def latest_checkpoint(directory):
    """Path of the highest-epoch ``checkpoint_NNNNNN.pt`` in ``directory``, or None."""
    directory = Path(directory)
    if not directory.is_dir():
        return None
    found = [(int(m.group(1)), p) for p in directory.iterdir() if (m := _CKPT_RE.match(p.name))]
    return max(found)[1] if found else None


def pack_settings(settings: dict) -> dict:
    """An estimator's settings (``get_params()``) as primitives that ``weights_only`` loads."""
    s = dict(settings)
    s["checkpoint_dir"] = None if s["checkpoint_dir"] is None else str(s["checkpoint_dir"])
    s["hidden"] = None if s["hidden"] is None else [int(h) for h in s["hidden"]]
    s["device"] = str(s["device"])
    s["resume"] = s["resume"] if isinstance(s["resume"], bool) else str(s["resume"])
    return s


def unpack_settings(settings: dict, device=None) -> dict:
    """Constructor settings back from :func:`pack_settings`; ``device`` overrides the saved
    one, and a saved CUDA device becomes "cpu" where CUDA is not available."""
    s = dict(settings)
    if device is not None:
        s["device"] = device
    elif str(s["device"]).startswith("cuda") and not torch.cuda.is_available():
        s["device"] = "cpu"  # trained on a GPU, restored on a CPU-only machine
    if s.get("hidden") is not None:
        s["hidden"] = tuple(s["hidden"])
    return s


def rng_state(shuffle_gen: torch.Generator, device: torch.device) -> dict:
    """The torch RNG states a resumed fit needs (global CPU, batch order, CUDA if used)."""
    rng = {"cpu": torch.get_rng_state(), "shuffle": shuffle_gen.get_state()}
    if device.type == "cuda":
        rng["cuda"] = torch.cuda.get_rng_state(device)
    return rng


def set_rng_state(rng: dict, device: torch.device) -> torch.Generator:
    """Restore :func:`rng_state`'s global states; returns the batch-order generator."""
    torch.set_rng_state(rng["cpu"])
    shuffle_gen = torch.Generator()
    shuffle_gen.set_state(rng["shuffle"])
    if "cuda" in rng and device.type == "cuda":
        torch.cuda.set_rng_state(rng["cuda"], device)
    return shuffle_gen
