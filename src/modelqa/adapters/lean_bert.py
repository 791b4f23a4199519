"""A BERT sequence classifier in plain torch, read straight from a Hugging Face folder, for the
default inference path (``predict`` / ``evaluate`` in float32 on the CPU).

Why: importing transformers' modeling base costs about 2.7 s of a 6.2 s 10-row ``modelqa predict`` on the
2-core machine of docs/performance.md (it pulls torch._dynamo and torch.distributed.tensor), and
its BERT computes work a classifier throws away. This module computes the same function as
``BertForSequenceClassification`` in eval mode, with changes that do not change the result
beyond float rounding (tests/test_lean_bert.py checks the logits against transformers):

- the query, key and value projections are one matrix product (``(3H, H)`` weights);
- the last layer computes attention, the output projection and the feed-forward block for the
  first token only: the pooler reads nothing else, so the other rows of that layer were waste
  (about 14% of a 6-layer model's matrix work);
- the linear layers run on oneDNN's fused kernels (the exact GELU and the residual adds inside the
  matrix product), and short rows attend with batched matrix products instead of the flash kernel
  (bench/lean_forward.py measures both against the plain alternatives).

``lean_problem(folder)`` says why a folder is not one this module computes exactly (another
architecture, relative positions, another activation, missing or non-float32 weights, sharded or
pickled weights); such a folder is loaded by transformers as before (adapters.hf).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

WEIGHTS = "model.safetensors"
#: Tensors a saved folder may hold that are not parameters (buffers older versions saved).
IGNORED_KEYS = ("embeddings.position_ids", "embeddings.token_type_ids")
_LAYER_KEYS = ("attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense",
               "attention.output.LayerNorm", "intermediate.dense", "output.dense", "output.LayerNorm")


@dataclass(frozen=True)
class LeanConfig:
    """What the rest of modelqa reads from ``model.config``."""

    num_labels: int
    hidden_size: int
    num_attention_heads: int
    num_hidden_layers: int
    max_position_embeddings: int
    layer_norm_eps: float
    id2label: dict = field(default_factory=dict)


class LeanOutput(NamedTuple):
    logits: Any


def read_config(folder: Path) -> dict:
    try:
        return json.loads((folder / "config.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return {}


def lean_problem(folder: str | Path) -> str | None:
    """None when ``folder`` is a BERT classifier this module computes exactly; else why not."""
    folder = Path(folder)
    cfg = read_config(folder)
    if cfg.get("model_type") != "bert":
        return f"model_type {cfg.get('model_type')!r} is not 'bert'"
    arch = cfg.get("architectures") or ["BertForSequenceClassification"]
    if arch != ["BertForSequenceClassification"]:
        return f"architectures {arch} are not ['BertForSequenceClassification']"
    checks = {"hidden_act": ("gelu",), "position_embedding_type": (None, "absolute"), "is_decoder": (None, False),
              "add_cross_attention": (None, False), "quantization_config": (None,)}
    for key, allowed in checks.items():
        if cfg.get(key) not in allowed:
            return f"{key} is {cfg.get(key)!r}"
    h, heads = cfg.get("hidden_size"), cfg.get("num_attention_heads")
    if not isinstance(h, int) or not isinstance(heads, int) or heads < 1 or h % heads:
        return "hidden_size is not a multiple of num_attention_heads"
    if not (folder / WEIGHTS).is_file():
        return f"no single {WEIGHTS}"
    return None


def expected_shapes(cfg: dict, num_labels: int) -> dict[str, tuple[int, ...]]:
    """Every parameter of ``BertForSequenceClassification`` (without the ``bert.`` prefix) and its shape."""
    h, inter, k = cfg["hidden_size"], cfg["intermediate_size"], num_labels
    shapes = {"embeddings.word_embeddings.weight": (cfg["vocab_size"], h),
              "embeddings.position_embeddings.weight": (cfg["max_position_embeddings"], h),
              "embeddings.token_type_embeddings.weight": (cfg.get("type_vocab_size", 2), h),
              "embeddings.LayerNorm.weight": (h,), "embeddings.LayerNorm.bias": (h,),
              "pooler.dense.weight": (h, h), "pooler.dense.bias": (h,),
              "classifier.weight": (k, h), "classifier.bias": (k,)}
    sizes = {"attention.self.query": (h, h), "attention.self.key": (h, h), "attention.self.value": (h, h),
             "attention.output.dense": (h, h), "attention.output.LayerNorm": None,
             "intermediate.dense": (inter, h), "output.dense": (h, inter), "output.LayerNorm": None}
    for i in range(cfg["num_hidden_layers"]):
        for name, shape in sizes.items():
            shapes[f"encoder.layer.{i}.{name}.weight"] = shape or (h,)
            shapes[f"encoder.layer.{i}.{name}.bias"] = (shape[0] if shape else h,)
    return shapes


def load_state(folder: Path, cfg: dict) -> dict | None:
    """The folder's float32 parameters by name (``bert.`` prefix removed), or None when they are not
    exactly the parameters of ``BertForSequenceClassification``."""
    import torch
    from safetensors.torch import load_file

    raw = load_file(str(folder / WEIGHTS), device="cpu")
    state = {(k[len("bert."):] if k.startswith("bert.") else k): v for k, v in raw.items()}
    head = state.get("classifier.weight")
    k = len(cfg.get("id2label") or {}) or (int(head.shape[0]) if head is not None else 2)
    shapes = expected_shapes(cfg, k)
    extra = set(state) - set(shapes) - set(IGNORED_KEYS)
    if extra or any(name not in state or tuple(state[name].shape) != shape for name, shape in shapes.items()):
        return None
    if any(state[name].dtype != torch.float32 for name in shapes):
        return None
    return {name: state[name] for name in shapes}


def build_model(folder: str | Path):
    """The folder's classifier as a ``LeanBert`` in eval mode, or None when ``lean_problem`` objects or
    its weights are not exactly BERT's."""
    folder = Path(folder)
    if lean_problem(folder) is not None:
        return None
    cfg = read_config(folder)
    try:
        state = load_state(folder, cfg)
    except Exception:  # noqa: BLE001  (a damaged file or config: transformers' loader gives the message)
        return None
    if state is None:
        return None
    id2label = {int(k): str(v) for k, v in (cfg.get("id2label") or {}).items()}
    config = LeanConfig(num_labels=int(state["classifier.weight"].shape[0]), hidden_size=cfg["hidden_size"],
                        num_attention_heads=cfg["num_attention_heads"], num_hidden_layers=cfg["num_hidden_layers"],
                        max_position_embeddings=cfg["max_position_embeddings"],
                        layer_norm_eps=float(cfg.get("layer_norm_eps", 1e-12)), id2label=id2label)
    return _lean_class()(config, state).eval()


_CLASS = None
_OPS = None
#: Batches up to this many tokens a row attend with batched matrix products (``baddbmm``, softmax,
#: ``bmm``), longer ones with ``scaled_dot_product_attention``: on MiniLM's 12 heads of 32 the
#: flash kernel only wins on long rows (bench/lean_forward.py, docs/performance.md). 0: always SDPA.
EAGER_ATTENTION_MAX_LEN = 96


def _attention(q, k, v, mask, s: int):
    """Softmax attention of ``q`` (b, heads, sq, d) over ``k`` / ``v`` (b, heads, s, d); ``mask``
    (b, 1, 1, s) bool or None. Returns (b, heads, sq, d)."""
    import torch
    import torch.nn.functional as F

    if s > EAGER_ATTENTION_MAX_LEN:
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    b, heads, sq, d = q.shape
    qq = q.reshape(b * heads, sq, d)
    kk, vv = k.reshape(b * heads, s, d), v.reshape(b * heads, s, d)
    if mask is None:
        w = torch.bmm(qq, kk.transpose(1, 2)).mul_(d ** -0.5)
    else:
        bias = torch.zeros(mask.shape, dtype=q.dtype).masked_fill_(~mask, float("-inf"))
        w = torch.baddbmm(bias.expand(b, heads, 1, s).reshape(b * heads, 1, s), qq, kk.transpose(1, 2),
                          alpha=d ** -0.5)
    return torch.bmm(torch.softmax(w, dim=-1), vv).view(b, heads, sq, d)


class _TorchOps:
    """Linear layers as ``torch.nn.functional`` computes them."""

    @staticmethod
    def linear(x, w, b):
        import torch.nn.functional as F

        return F.linear(x, w, b)

    @staticmethod
    def linear_gelu(x, w, b):
        import torch.nn.functional as F

        return F.gelu(F.linear(x, w, b))

    @staticmethod
    def linear_add(x, w, b, other):
        import torch.nn.functional as F

        return F.linear(x, w, b) + other


class _OneDnnOps:
    """The same on oneDNN's fused kernels (``torch.ops.mkldnn._linear_pointwise``, what torch's own
    CPU compiler emits): the exact GELU and the residual add run inside the matrix product, and
    oneDNN's float32 GEMM is 1.05-1.39x the default one on MiniLM's shapes (bench/lean_forward.py)."""

    def __init__(self) -> None:
        import torch

        self.op = torch.ops.mkldnn._linear_pointwise

    def linear(self, x, w, b):
        return self.op(x, w, b, "none", [], "")

    def linear_gelu(self, x, w, b):
        return self.op(x, w, b, "gelu", [], "none")

    def linear_add(self, x, w, b, other):
        return self.op.binary(x, other, w, b, "add")


def _ops():
    """oneDNN's fused kernels when this torch has them and they agree with the plain ones on a probe,
    else the plain ones; decided once per process."""
    global _OPS
    if _OPS is None:
        import torch

        _OPS = _TorchOps()
        if torch.backends.mkldnn.is_available():
            try:
                fused, plain = _OneDnnOps(), _TorchOps()
                g = torch.Generator().manual_seed(0)
                x, w, b = (torch.randn(3, 5, 8, generator=g), torch.randn(16, 8, generator=g),
                           torch.randn(16, generator=g))
                r = torch.randn(3, 5, 16, generator=g)
                pairs = [(fused.linear(x, w, b), plain.linear(x, w, b)),
                         (fused.linear_gelu(x, w, b), plain.linear_gelu(x, w, b)),
                         (fused.linear_add(x, w, b, r), plain.linear_add(x, w, b, r))]
                if all(a.shape == e.shape and torch.allclose(a, e, atol=1e-4, rtol=1e-4) for a, e in pairs):
                    _OPS = fused
            except (RuntimeError, AttributeError, NotImplementedError):
                pass
    return _OPS


def _lean_class():
    """``LeanBert``, defined on first use so that importing this module does not import torch."""
    global _CLASS
    if _CLASS is not None:
        return _CLASS
    import torch
    import torch.nn.functional as F

    class LeanBert(torch.nn.Module):
        """``BertForSequenceClassification.forward`` in eval mode (see the module docstring)."""

        def __init__(self, config: LeanConfig, state: dict) -> None:
            super().__init__()
            self.config = config
            p = lambda t: torch.nn.Parameter(t, requires_grad=False)  # noqa: E731
            self.word, self.pos = p(state["embeddings.word_embeddings.weight"]), \
                p(state["embeddings.position_embeddings.weight"])
            self.types = p(state["embeddings.token_type_embeddings.weight"])
            self.emb_ln = torch.nn.ParameterList([p(state["embeddings.LayerNorm.weight"]),
                                                  p(state["embeddings.LayerNorm.bias"])])
            layers = []
            for i in range(config.num_hidden_layers):
                g = lambda name, part, i=i: state[f"encoder.layer.{i}.{name}.{part}"]  # noqa: E731
                qkv_w = torch.cat([g(n, "weight") for n in _LAYER_KEYS[:3]])
                qkv_b = torch.cat([g(n, "bias") for n in _LAYER_KEYS[:3]])
                layers.append(torch.nn.ParameterList([p(t) for t in (
                    qkv_w, qkv_b, g("attention.output.dense", "weight"), g("attention.output.dense", "bias"),
                    g("attention.output.LayerNorm", "weight"), g("attention.output.LayerNorm", "bias"),
                    g("intermediate.dense", "weight"), g("intermediate.dense", "bias"),
                    g("output.dense", "weight"), g("output.dense", "bias"),
                    g("output.LayerNorm", "weight"), g("output.LayerNorm", "bias"))]))
            self.layers = torch.nn.ModuleList(layers)
            self.pooler = torch.nn.ParameterList([p(state["pooler.dense.weight"]), p(state["pooler.dense.bias"])])
            self.head = torch.nn.ParameterList([p(state["classifier.weight"]), p(state["classifier.bias"])])

        def forward(self, input_ids, attention_mask=None, token_type_ids=None) -> LeanOutput:
            cfg, ops = self.config, _ops()
            b, s = input_ids.shape
            h, heads = cfg.hidden_size, cfg.num_attention_heads
            eps = cfg.layer_norm_eps
            x = F.embedding(input_ids, self.word) + self.pos[:s]
            x = x + (F.embedding(token_type_ids, self.types) if token_type_ids is not None else self.types[0])
            x = F.layer_norm(x, (h,), self.emb_ln[0], self.emb_ln[1], eps)
            mask = None  # (b, 1, 1, s): True where a key takes part
            if attention_mask is not None and not bool(attention_mask.all()):
                mask = attention_mask[:, None, None, :].to(torch.bool)
            last = len(self.layers) - 1
            for i, (qkv_w, qkv_b, o_w, o_b, ln1_w, ln1_b, i_w, i_b, f_w, f_b, ln2_w, ln2_b) in enumerate(self.layers):
                qkv = ops.linear(x, qkv_w, qkv_b).view(b, s, 3, heads, h // heads).permute(2, 0, 3, 1, 4)
                q, k, v = qkv[0], qkv[1], qkv[2]
                resid = x
                if i == last:  # the pooler reads the first token only
                    q, resid = q[:, :, :1], x[:, :1]
                a = _attention(q, k, v, mask, s).transpose(1, 2).reshape(b, q.shape[2], h)
                x = F.layer_norm(ops.linear_add(a, o_w, o_b, resid), (h,), ln1_w, ln1_b, eps)
                x = F.layer_norm(ops.linear_add(ops.linear_gelu(x, i_w, i_b), f_w, f_b, x), (h,), ln2_w, ln2_b, eps)
            pooled = torch.tanh(F.linear(x[:, 0], self.pooler[0], self.pooler[1]))
            return LeanOutput(logits=F.linear(pooled, self.head[0], self.head[1]))

    _CLASS = LeanBert
    return _CLASS
