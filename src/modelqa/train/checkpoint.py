"""Atomic per-epoch training checkpoints, so that ``--resume`` continues a killed run and
produces the same history as an uninterrupted one.

Layout of a checkpoint folder (``<out>/.checkpoint`` for ``train text``)::

    checkpoint.json            the pointer: {"epoch": 3, "folder": "epoch-0003", "fingerprint": {...}}
    epoch-0003/model.safetensors    model weights (state_dict, cloned: tied weights are fine)
    epoch-0003/best.safetensors     weights of the best epoch so far (optional; hard link when unchanged)
    epoch-0003/trainer.pt           optimizer + scheduler state and torch RNG states (tensors,
                                    numbers and strings only: loaded with weights_only=True)
    epoch-0003/state.json           epoch, the caller's state (history, early stopping ...),
                                    the numpy Generator, numpy global and python ``random`` states

Each epoch is written into a fresh temporary sub-folder, renamed to ``epoch-NNNN``, then the
pointer is flipped with an atomic rename, then older sub-folders are deleted. A kill at any
moment leaves the pointer on a complete checkpoint (the previous one or the new one).
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from modelqa._atomic import write_json
from modelqa.errors import RunError

POINTER = "checkpoint.json"
FORMAT_VERSION = 1


def _tensor_dict(state: Mapping) -> dict:
    """CPU, contiguous, unshared copies: safetensors refuses tensors that share memory."""
    return {k: v.detach().to("cpu").contiguous().clone() for k, v in state.items()}


def describe_differences(saved: Mapping, current: Mapping, *, then: str = "checkpoint") -> list[str]:
    """``["lr: 0.001 (checkpoint) vs 0.002 (now)", ...]`` for keys whose values differ."""
    out = []
    for key in sorted(set(saved) | set(current), key=str):
        a, b = saved.get(key, "<absent>"), current.get(key, "<absent>")
        if a != b:
            out.append(f"{key}: {_short(a)} ({then}) vs {_short(b)} (now)")
    return out


def _short(value) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str) if not isinstance(value, str) else value
    return text if len(text) <= 80 else text[:77] + "..."


class EpochCheckpointer:
    """Save, find and restore the last complete per-epoch checkpoint in ``folder``.

    ``fingerprint`` (JSON-serialisable: training arguments, data hashes) is stored with each
    checkpoint; ``restore`` and ``verify`` refuse a checkpoint made with a different one.
    """

    def __init__(self, folder: Path, *, fingerprint: Mapping | None = None) -> None:
        self.folder = Path(folder)
        self.fingerprint = json.loads(json.dumps(dict(fingerprint), default=str)) if fingerprint else None
        self._best_source: tuple[int, Path] | None = None  # (id of the last best dict written, its file)

    # ------------------------------------------------------------------ writing
    def save(self, epoch: int, *, model, optimizer, scheduler=None, rng: np.random.Generator, state: dict,
             best_weights: Mapping | None = None) -> None:
        """Checkpoint the end of ``epoch`` (1-based). ``best_weights`` is the state_dict of the best
        epoch so far (kept for ``restore_best``); pass the same object again when it has not changed
        and the file is linked instead of written again."""
        import torch
        from safetensors.torch import save_file

        self.folder.mkdir(parents=True, exist_ok=True)
        name = f"epoch-{epoch:04d}"
        stage = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=self.folder))
        try:
            save_file(_tensor_dict(model.state_dict()), str(stage / "model.safetensors"))
            if best_weights is not None:
                self._save_best(best_weights, stage / "best.safetensors")
            trainer = {"optimizer": optimizer.state_dict(), "torch_rng": torch.get_rng_state()}
            if scheduler is not None:
                trainer["scheduler"] = scheduler.state_dict()
            if torch.cuda.is_available() and torch.cuda.is_initialized():
                trainer["cuda_rng"] = torch.cuda.get_rng_state_all()
            torch.save(trainer, stage / "trainer.pt")
            py_state = random.getstate()
            meta = {"format_version": FORMAT_VERSION, "epoch": int(epoch), "state": state,
                    "numpy_rng": rng.bit_generator.state,
                    "python_random": [py_state[0], list(py_state[1]), py_state[2]],
                    "numpy_global": _numpy_global_state(),
                    "has_best": best_weights is not None}
            # history values may be NaN (a diverging run): this internal file allows it
            (stage / "state.json").write_text(json.dumps(meta, default=_json_default), encoding="utf-8")
            final = self.folder / name
            if final.exists():  # left by a run killed after the rename but before the pointer flip
                shutil.rmtree(final)
            os.replace(stage, final)
        except BaseException:
            shutil.rmtree(stage, ignore_errors=True)
            raise
        if best_weights is not None:
            self._best_source = (id(best_weights), final / "best.safetensors")
        write_json(self.folder / POINTER, {"format_version": FORMAT_VERSION, "epoch": int(epoch), "folder": name,
                                           "fingerprint": self.fingerprint})
        for item in self.folder.iterdir():  # older checkpoints and staging folders of killed runs
            if item.is_dir() and item.name != name:
                shutil.rmtree(item, ignore_errors=True)

    def _save_best(self, best_weights: Mapping, target: Path) -> None:
        from safetensors.torch import save_file

        if self._best_source is not None and self._best_source[0] == id(best_weights) \
                and self._best_source[1].exists():
            try:
                os.link(self._best_source[1], target)
                return
            except OSError:
                shutil.copyfile(self._best_source[1], target)
                return
        save_file(_tensor_dict(best_weights), str(target))

    def clear(self) -> None:
        """Remove the checkpoint folder (after a run completed, or to start afresh)."""
        self._best_source = None
        shutil.rmtree(self.folder, ignore_errors=True)

    # ------------------------------------------------------------------ reading
    def _pointer(self) -> dict | None:
        path = self.folder / POINTER
        if not path.is_file():
            return None
        try:
            pointer = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise RunError(f"{path}: the checkpoint pointer cannot be read ({exc})",
                           hint=f"delete {self.folder} and train without `resume`") from exc
        if not (self.folder / pointer.get("folder", "") / "state.json").is_file():
            raise RunError(f"{path} points to {pointer.get('folder')!r}, which is missing or incomplete",
                           hint=f"delete {self.folder} and train without `resume`")
        return pointer

    def _meta(self, pointer: dict) -> dict:
        return json.loads((self.folder / pointer["folder"] / "state.json").read_text(encoding="utf-8"))

    def latest(self) -> dict | None:
        """``{"epoch": int, "state": dict, "fingerprint": dict | None}`` of the last complete
        checkpoint, or None when there is none."""
        pointer = self._pointer()
        if pointer is None:
            return None
        meta = self._meta(pointer)
        return {"epoch": int(meta["epoch"]), "state": meta["state"], "fingerprint": pointer.get("fingerprint")}

    def verify(self, fingerprint: Mapping | None = None) -> None:
        """Raise RunError naming every difference between the checkpoint's fingerprint and
        ``fingerprint`` (default: the one given to the constructor)."""
        current = self.fingerprint if fingerprint is None else json.loads(json.dumps(dict(fingerprint), default=str))
        pointer = self._pointer()
        if pointer is None or current is None:
            return
        saved = pointer.get("fingerprint") or {}
        diffs = describe_differences(saved, current)
        if diffs:
            raise RunError(f"cannot resume: the checkpoint in {self.folder} (epoch {pointer['epoch']}) was made "
                           "with different data or arguments: " + "; ".join(diffs),
                           hint="run again with the original arguments, or without `resume` to start afresh")

    def restore(self, *, model, optimizer, scheduler=None, rng: np.random.Generator) -> dict:
        """Load the last complete checkpoint into ``model``, ``optimizer``, ``scheduler``, ``rng``
        and the global torch / python RNGs; return the caller's ``state``."""
        import torch
        from safetensors.torch import load_file

        pointer = self._pointer()
        if pointer is None:
            raise RunError(f"no checkpoint to resume from in {self.folder}")
        self.verify()
        sub = self.folder / pointer["folder"]
        meta = self._meta(pointer)
        model.load_state_dict(load_file(str(sub / "model.safetensors")))
        trainer = torch.load(sub / "trainer.pt", map_location="cpu", weights_only=True)
        optimizer.load_state_dict(trainer["optimizer"])
        if scheduler is not None:
            if "scheduler" not in trainer:
                raise RunError(f"{sub}: the checkpoint has no scheduler state")
            scheduler.load_state_dict(trainer["scheduler"])
        torch.set_rng_state(trainer["torch_rng"])
        if "cuda_rng" in trainer and torch.cuda.is_available():
            with contextlib.suppress(RuntimeError, IndexError):
                torch.cuda.set_rng_state_all(trainer["cuda_rng"])
        rng.bit_generator.state = meta["numpy_rng"]
        version, internal, gauss = meta["python_random"]
        random.setstate((version, tuple(internal), gauss))
        if meta.get("numpy_global"):
            g = meta["numpy_global"]
            np.random.set_state((g[0], np.array(g[1], dtype=np.uint32), g[2], g[3], g[4]))
        return meta["state"]

    def restore_best(self) -> dict | None:
        """The best-epoch weights saved with the last checkpoint (a CPU state_dict), or None."""
        from safetensors.torch import load_file

        pointer = self._pointer()
        if pointer is None:
            return None
        path = self.folder / pointer["folder"] / "best.safetensors"
        return load_file(str(path)) if path.is_file() else None


def _numpy_global_state() -> list:
    name, keys, pos, has_gauss, cached = np.random.get_state()
    return [name, np.asarray(keys).tolist(), int(pos), int(has_gauss), float(cached)]


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"checkpoint state: {type(value).__name__} is not JSON-serialisable")
