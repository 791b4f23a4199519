"""Durable prediction chunks: a killed ``evaluate`` / ``predict`` run resumes where it stopped.

A journal is a folder (``RUN_DIR/.partial`` for evaluate, ``.<file>.partial`` next to the
predictions file for predict) holding one ``chunk-NNNNN.npy`` of float32 logits per finished
chunk and ``manifest.json``. Each chunk file is written atomically and only then listed in the
manifest (also written atomically), so after a SIGKILL at any point the manifest names only
complete chunks, each checked against its SHA-256 before reuse. Each entry records the chunk's
``[start, stop)`` input rows: chunks sized by work (engine.predict.ChunkPlan) are cut where the
first run cut them when it resumes, whatever this machine's speed.

The manifest also holds a fingerprint of the run: the model folder's hash, the data file's
hash and every setting that changes the numbers (max length, batch size, chunk size,
quantisation, backend, device). A journal with another fingerprint is never resumed into:
``ChunkJournal.open`` says what changed. Test-only: MODELQA_TEST_CHUNK_DELAY (seconds) sleeps
after each saved chunk, so a test can kill a run between chunks of a tiny model.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import time
from pathlib import Path

import numpy as np

from modelqa import _atomic
from modelqa.engine.predict import ChunkResult
from modelqa.errors import RunError

MANIFEST = "manifest.json"
FORMAT = 1


def named_files_sha256(paths, *, prefix: bytes = b"") -> str:
    """Hex SHA-256 over ``prefix`` and each file's name and contents, in the order given."""
    digest = hashlib.sha256(prefix)
    for path in paths:
        digest.update(Path(path).name.encode() + b"\0")
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
        digest.update(b"\0")
    return digest.hexdigest()


def model_fingerprint(folder: str | os.PathLike) -> str:
    """SHA-256 over the names and contents of a model folder's top-level files (weights, config,
    tokenizer); hidden entries (checkpoints, the ONNX cache) and sub-folders are left out."""
    return named_files_sha256(p for p in sorted(Path(folder).iterdir())
                              if not p.name.startswith(".") and p.is_file())


def journal_dir_for(out: str | os.PathLike, *, run_folder: bool) -> Path:
    """Where the chunks of a run writing to ``out`` live."""
    out = Path(out)
    return out / ".partial" if run_folder else out.parent / f".{out.name}.partial"


_NAMES = {"model_sha256": "the model folder", "data_sha256": "the data file", "n_rows": "the number of rows"}


class ChunkJournal:
    """A ``ChunkStore`` on disk (see engine.predict)."""

    def __init__(self, directory: Path, manifest: dict) -> None:
        self.directory = directory
        self.manifest = manifest

    @classmethod
    def open(cls, directory: str | os.PathLike, fingerprint: dict, *, restart: bool = False) -> ChunkJournal:
        """The journal in ``directory`` when its fingerprint equals ``fingerprint``, else a new one.
        An existing journal of another run raises ``RunError`` naming what changed, unless
        ``restart`` (which discards it)."""
        directory = Path(directory)
        manifest_path = directory / MANIFEST
        if restart and directory.exists():
            shutil.rmtree(directory)
        if manifest_path.exists():
            try:
                old = json.loads(manifest_path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise RunError(f"{manifest_path}: unreadable ({exc})",
                               hint="run again with `restart=True` to discard the unfinished run") from None
            changed = _differences(old.get("fingerprint", {}), fingerprint)
            if old.get("format") != FORMAT:
                changed.insert(0, f"journal format {old.get('format')} -> {FORMAT}")
            if changed:
                raise RunError(f"{directory} holds an unfinished run with other inputs, so it is not resumed: "
                               + "; ".join(changed),
                               hint="run again with `restart=True` to discard it, or choose another `out`")
            return cls(directory, old)
        directory.mkdir(parents=True, exist_ok=True)
        journal = cls(directory, {"format": FORMAT, "fingerprint": dict(fingerprint), "chunks": {}})
        journal._write_manifest()
        return journal

    @property
    def n_done(self) -> int:
        return len(self.manifest["chunks"])

    def rows_done(self) -> int:
        return sum(c["rows"] for c in self.manifest["chunks"].values())

    def load(self, index: int) -> ChunkResult | None:
        entry = self.manifest["chunks"].get(str(index))
        if entry is None:
            return None
        path = self.directory / entry["file"]
        try:
            data = path.read_bytes()
        except OSError:
            return None
        if hashlib.sha256(data).hexdigest() != entry["sha256"]:
            return None  # damaged on disk: predict the chunk again
        logits = np.load(io.BytesIO(data), allow_pickle=False)
        return ChunkResult(logits=logits, n_tokens=int(entry["n_tokens"]), n_truncated=int(entry["n_truncated"]))

    def bounds(self) -> list[tuple[int, int]]:
        """The recorded ``[start, stop)`` rows of chunks 0, 1, ... as long as they are contiguous."""
        out: list[tuple[int, int]] = []
        for i in range(len(self.manifest["chunks"])):
            entry = self.manifest["chunks"].get(str(i))
            if entry is None or "start" not in entry or entry["start"] != (out[-1][1] if out else 0):
                break
            out.append((int(entry["start"]), int(entry["stop"])))
        return out

    def save(self, index: int, result: ChunkResult, *, bounds: tuple[int, int] | None = None) -> None:
        buf = io.BytesIO()
        np.save(buf, np.ascontiguousarray(result.logits, dtype=np.float32), allow_pickle=False)
        data = buf.getvalue()
        name = f"chunk-{index:05d}.npy"
        with _atomic.atomic_path(self.directory / name) as tmp:
            with open(tmp, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
        self.manifest["chunks"][str(index)] = {"file": name, "rows": int(len(result.logits)),
                                               "n_tokens": int(result.n_tokens),
                                               "n_truncated": int(result.n_truncated),
                                               "sha256": hashlib.sha256(data).hexdigest()}
        if bounds is not None:
            self.manifest["chunks"][str(index)].update({"start": int(bounds[0]), "stop": int(bounds[1])})
        self._write_manifest()
        delay = os.environ.get("MODELQA_TEST_CHUNK_DELAY")
        if delay:
            time.sleep(max(0.0, float(delay)))

    def remove(self) -> None:
        """Drop the journal once the final files are written."""
        shutil.rmtree(self.directory, ignore_errors=True)

    def _write_manifest(self) -> None:
        _atomic.write_json(self.directory / MANIFEST, self.manifest)


def _differences(old: dict, new: dict) -> list[str]:
    out = []
    for key in sorted(set(old) | set(new)):
        if old.get(key) != new.get(key):
            what = _NAMES.get(key, key.replace("_", " "))
            a, b = old.get(key), new.get(key)
            if key.endswith("sha256"):
                out.append(f"{what} changed (sha256 {str(a)[:12]}… now {str(b)[:12]}…)")
            else:
                out.append(f"{what} was {a!r}, now {b!r}")
    return out
