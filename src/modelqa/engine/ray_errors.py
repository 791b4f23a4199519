"""What the Ray engine (engine.ray_engine) needs around Ray itself: an actor's error carried back
to the driver as it was raised (``error_record`` / ``raise_record``, ``as_modelqa_error`` out of
Ray's wrappers), and a run without Ray Data's progress bars and banners (``quiet_ray_data``).
Ray is imported inside the functions."""

from __future__ import annotations

import contextlib
import json
import logging

from modelqa.errors import ModelQAError, RunError


def error_record(exc: BaseException) -> str:
    """An actor's error as JSON text, so that it reaches the driver as it was raised: Ray would
    hand back a wrapper (ActorDiedError for a failed constructor, UserCodeException for a failed
    call) holding only the text of the original."""
    import traceback

    return json.dumps({"module": type(exc).__module__, "class": type(exc).__name__,
                       "message": getattr(exc, "message", None) or str(exc), "hint": getattr(exc, "hint", None),
                       "traceback": "".join(traceback.format_exception(exc))[-4000:]})


def raise_record(text: str) -> None:
    """Raise on the driver the error an actor sent back with error_record."""
    from modelqa import errors

    rec = json.loads(text)
    cls = getattr(errors, rec.get("class") or "", None) if rec.get("module") == "modelqa.errors" else None
    if isinstance(cls, type) and issubclass(cls, ModelQAError):
        raise cls(rec["message"], hint=rec.get("hint"))
    raise RunError(f"a Ray actor failed: {rec.get('class')}: {rec.get('message')}\n"
                   f"{(rec.get('traceback') or '').rstrip()}",
                   hint="`engine='local'` runs the same prediction without Ray")


def unwrap(exc: BaseException) -> BaseException:
    """The error an actor raised, out of Ray's wrappers: Ray Data's UserCodeException (whose
    ``__cause__`` is the RayTaskError) and RayTaskError (whose ``cause`` is the original).
    Stops at the first error that is not Ray's, so its own ``__cause__`` stays with it."""
    from ray.exceptions import RayError

    seen: set[int] = set()
    e = exc
    while isinstance(e, RayError) and id(e) not in seen:
        seen.add(id(e))
        inner = getattr(e, "cause", None)  # RayTaskError keeps the original here
        if not isinstance(inner, BaseException):
            inner = e.__cause__
        if not isinstance(inner, BaseException):
            break
        e = inner
    return e


def as_modelqa_error(exc: BaseException) -> ModelQAError | None:
    """The modelqa error inside ``exc``, rebuilt as a plain instance of its own class (the
    object Ray hands back is a RayTaskError subclass of it, with Ray's traceback as text)."""
    e = unwrap(exc)
    if not isinstance(e, ModelQAError):
        return None
    cls = next((c for c in type(e).__mro__ if c.__module__ == "modelqa.errors"), ModelQAError)
    return cls(getattr(e, "message", str(e)), hint=getattr(e, "hint", None))


_RAY_DATA_NOISE = ("Progress bars disabled", "Progress bars for operators disabled",
                   "Exception occurred in user code", "An exception was raised from a task of operator")


class _DropNoise(logging.Filter):
    """Ray Data's console lines below WARNING (execution started / finished / failed) and the
    ones about progress bars or errors that this module reports itself."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING and not str(record.msg).startswith(_RAY_DATA_NOISE)


@contextlib.contextmanager
def quiet_ray_data():
    """No Ray Data progress bars, start/stats banners or lines about errors this module
    re-raises itself, for the length of one run; Ray Data's log file still gets everything."""
    from ray.data import DataContext

    ctx = DataContext.get_current()
    saved = {k: getattr(ctx, k) for k in ("enable_progress_bars", "print_on_execution_start",
                                          "enable_auto_log_stats") if hasattr(ctx, k)}  # not all in every Ray
    for k in saved:
        setattr(ctx, k, False)
    noise = _DropNoise()
    handlers = [h for h in logging.getLogger("ray.data").handlers if type(h).__name__ != "SessionFileHandler"]
    for h in handlers:
        h.addFilter(noise)
    try:
        yield
    finally:
        for h in handlers:
            h.removeFilter(noise)
        for k, v in saved.items():
            setattr(ctx, k, v)
