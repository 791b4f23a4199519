"""Keep optional packages that a sequence classifier never uses out of a ``modelqa predict`` process.

``import transformers`` imports jinja2 (chat templates) and ``transformers.modeling_utils`` imports
``scipy.optimize`` (the object-detection loss) whenever they are installed; neither is used to
classify text, and together they cost about 10% of a short ``modelqa predict`` (about 1 s of 9 on
the 2-core machine of docs/performance.md). transformers decides with ``importlib.util.find_spec``,
which answers "not installed" for a name whose ``sys.modules`` entry is None; so while transformers
is first imported those names are hidden, and the entries are removed again afterwards, so a later
``import scipy`` or ``import jinja2`` (by the caller, or modelqa's report) works as usual.

What remains in the process: transformers' cached answer that scipy and jinja2 are absent (chat
templates and the DETR-style matching loss would refuse to run). That is why only the command line
turns this on (``enable()``, from ``modelqa predict``); a Python caller's process is left alone.
"""

from __future__ import annotations

import sys

#: Packages transformers imports at start-up that text classification does not use.
UNUSED_BY_CLASSIFIERS = ("scipy", "jinja2")
_enabled = False


def enable() -> None:
    """Hide ``UNUSED_BY_CLASSIFIERS`` when transformers is first imported in this process."""
    global _enabled
    _enabled = True


def import_transformers() -> None:
    """Import transformers and its modeling base, without ``UNUSED_BY_CLASSIFIERS`` when enabled and
    none of them is imported yet; otherwise a plain import."""
    if not _enabled or "transformers.modeling_utils" in sys.modules:
        return
    import torch  # noqa: F401  (imported first, so that only transformers sees the hidden names)

    hidden = [name for name in UNUSED_BY_CLASSIFIERS if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # find_spec -> None: transformers treats it as not installed
    try:
        import transformers.modeling_utils  # noqa: F401
        import transformers.tokenization_utils_base  # noqa: F401
    finally:
        for name in hidden:
            if sys.modules.get(name, 0) is None:
                del sys.modules[name]
