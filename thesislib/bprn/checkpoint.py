"""BPRN training checkpoints: what a resumable training run writes and reads back.

A checkpoint (``checkpoint_dir/checkpoint.pt``) holds the network, optimiser and shuffling
generator state, the history and the best epoch so far, plus the settings, seed and input width
it was written for; a run with other settings starts afresh instead of resuming it. Files are
written atomically and read with ``torch.load(weights_only=True)``.
"""
from __future__ import annotations

import json
import warnings

import torch

from thesislib.common import atomic_write

#: file name of a training checkpoint inside ``checkpoint_dir``
CHECKPOINT = "checkpoint.pt"


def atomic_torch_save(obj, path) -> None:
    """``torch.save`` to a temporary file, then :func:`os.replace` onto ``path``."""
    atomic_write(path, lambda fh: torch.save(obj, fh))


def weights_copy(net) -> dict:
    """A detached CPU copy of a network's weights."""
    return {k: v.detach().cpu().clone() for k, v in net.state_dict().items()}


def training_state(identity: dict, seed: int, net, opt, gen, epoch: int, hist: list, best: tuple) -> dict:
    """The checkpoint of a run after ``epoch`` (``best``: (epoch, loss, weights or None))."""
    return {"network": net.state_dict(), "optimizer": opt.state_dict(), "generator": gen.get_state(),
            "epoch": epoch, "history": [list(map(float, r)) for r in hist],
            "best_epoch": best[0], "best_loss": best[1],
            "best_network": best[2] if best[2] is not None else {},
            "settings": json.dumps(identity), "seed": seed, "n_features": int(net.mu.numel())}


def resume_training(path, identity: dict, seed: int, net, opt, gen, fresh: tuple) -> tuple:
    """(start epoch, history, best) from the checkpoint at ``path``, loading the network,
    optimiser and generator; ``fresh`` (with a warning) when it was written for other settings,
    seed or inputs."""
    st = torch.load(path, map_location="cpu", weights_only=True)
    same = (st.get("settings") == json.dumps(identity) and st.get("seed") == seed
            and st.get("n_features") == int(net.mu.numel()))
    if not same:
        warnings.warn(f"{path} was written with other settings, seed or inputs; training from scratch "
                      "(it will be overwritten)")
        return fresh
    net.load_state_dict(st["network"])
    opt.load_state_dict(st["optimizer"])
    gen.set_state(st["generator"])
    best = (int(st["best_epoch"]), float(st["best_loss"]), st["best_network"] or None)
    return int(st["epoch"]), [tuple(r) for r in st["history"]], best
