"""Checkpoints of the conditional GAN: the state format, writing and finding them.

Checkpoints
    Plain ``state_dict``-style dictionaries holding only tensors and primitive
    containers, written atomically (temporary file + ``os.replace``) and read
    with ``torch.load(path, weights_only=True)``. They include the RNG states,
    so resuming an interrupted run reproduces the uninterrupted run exactly
    (same device, same data).

Versions
    2 adds the stabilisation settings (``lr_d``, ``lr_schedule``, ``label_smoothing``,
    ``instance_noise``, ``ema``), ``ema_steps`` and, with ``ema``, ``generator_ema``.
    Version-1 files still load: their missing settings take the constructor defaults,
    which are the training they were made with.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import torch

from thesislib.common import atomic_write

CHECKPOINT_VERSION = 2
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


def resume_state(path, conflicts) -> dict:
    """The state of training checkpoint ``path`` to continue from; ``conflicts(state)`` lists the
    settings in which it differs from the estimator (``"name: saved -> now"``). A saved model (no
    optimizer states) or a checkpoint of other settings is refused with what to do instead."""
    state = torch.load(path, map_location="cpu", weights_only=True)
    if "opt_g" not in state:
        raise ValueError(f"{path} is a saved model without optimizer states; training "
                         "continues only from a checkpoint_NNNNNN.pt file (or start fresh)")
    differ = conflicts(state)
    if differ:
        raise ValueError(f"checkpoint {path} was trained with other settings ("
                         + ", ".join(differ) + "); resume it with those or start fresh")
    return state


def prune_checkpoints(directory, keep) -> int:
    """Delete the ``checkpoint_NNNNNN.pt`` files in ``directory`` other than ``keep`` (the one just
    written: a resumed fit needs only the latest; a CVGAN1 checkpoint is 74 MB). Returns the count."""
    keep, gone = Path(keep), 0
    for p in Path(directory).iterdir():
        if _CKPT_RE.match(p.name) and p != keep:
            p.unlink(missing_ok=True)
            gone += 1
    return gone


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


def settings_conflicts(saved: dict, now: dict, keys, defaults: dict) -> list[str]:
    """``"key: saved -> now"`` for each of ``keys`` whose saved value (``defaults[key]``
    where the saved settings predate it) differs from the current one."""
    out = []
    for k in keys:
        old = saved.get(k, defaults[k])
        if old != now[k]:
            out.append(f"{k}: {old!r} -> {now[k]!r}")
    return out


def pack_state(gan, include_rng: bool = False, training: bool = True) -> dict:
    """The checkpoint dictionary of a fitted :class:`thesislib.samplers.gan.estimator.ConditionalGAN`
    (keys: see :meth:`~thesislib.samplers.gan.estimator.ConditionalGAN.state_dict`). Without
    ``training``, only what sampling needs is kept: ``generator`` is the network that samples
    (the weight average with ``ema``), and the Adam moments (``opt_g``, ``opt_d``: twice the
    weights), the discriminator and the raw generator beside the average are left out. Such a
    file loads, samples and scores; training continues only from a checkpoint."""
    state = {
        "version": CHECKPOINT_VERSION,
        "class": type(gan).__name__,
        "settings": pack_settings(gan.get_params()),
        "n_features": int(gan.n_features_in_),
        "generator": to_cpu((gan.generator_ if training else gan.sampling_generator()).state_dict()),
        "epoch": int(gan.epoch_),
        "center": torch.as_tensor(gan.center_, dtype=torch.float64),
        "scale": torch.as_tensor(gan.scale_, dtype=torch.float64),
        "labels": torch.as_tensor(gan.labels_, dtype=torch.float64),
        "history": {k: [float(v) for v in vals] for k, vals in gan.history_.items()},
        "n_excluded": int(gan.n_excluded_),
        "ema_steps": int(gan.ema_steps_),
    }
    if training:
        state["discriminator"] = to_cpu(gan.discriminator_.state_dict())
        state["opt_g"] = to_cpu(gan.optimizer_g_.state_dict())
        state["opt_d"] = to_cpu(gan.optimizer_d_.state_dict())
        if gan.generator_ema_ is not None:
            state["generator_ema"] = to_cpu(gan.generator_ema_.state_dict())
    if include_rng:
        state["rng"] = rng_state(gan.shuffle_generator_, gan.device_)
    return state


def unpack_state(gan, state: dict, restore_rng: bool = False) -> None:
    """Load :func:`pack_state`'s dictionary into a freshly built estimator (``gan._build``
    done); ``restore_rng`` also restores the RNG states saved by a training checkpoint. A saved
    model without optimizer states leaves the freshly built optimizers as they are; one without
    a discriminator (saved for sampling: :func:`pack_state` without ``training``) leaves the
    freshly built discriminator untrained and puts its one generator in both places."""
    gan.generator_.load_state_dict(state["generator"])
    if "discriminator" in state:
        gan.discriminator_.load_state_dict(state["discriminator"])
    if "opt_g" in state:
        gan.optimizer_g_.load_state_dict(state["opt_g"])
        gan.optimizer_d_.load_state_dict(state["opt_d"])
    gan.epoch_ = int(state["epoch"])
    gan.center_ = state["center"].numpy().astype(np.float64)
    gan.scale_ = state["scale"].numpy().astype(np.float64)
    gan.labels_ = state["labels"].numpy().astype(np.float64)
    gan.history_ = {k: list(v) for k, v in state["history"].items()}
    gan.history_["epoch"] = [int(e) for e in gan.history_["epoch"]]
    gan.n_excluded_ = int(state["n_excluded"])
    if gan.generator_ema_ is not None:
        if "discriminator" not in state:  # a sampling file: its generator is the average
            gan.generator_ema_.load_state_dict(state["generator"])
        elif "generator_ema" not in state:
            raise ValueError("the checkpoint has no weight average (trained without ema)")
        else:
            gan.generator_ema_.load_state_dict(state["generator_ema"])
        gan.ema_steps_ = int(state["ema_steps"])
    if restore_rng and "rng" in state:
        gan.shuffle_generator_ = set_rng_state(state["rng"], gan.device_)


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
