"""Regenerate the TextVectorization fixtures of tests/test_keras_model.py.

Needs TensorFlow (Keras 3's TextVectorization layer runs on tf.strings), which modelqa itself
does not need; run it in a separate environment, not the project's:

    python3.11 -m venv /tmp/tfvenv
    /tmp/tfvenv/bin/pip install tensorflow-cpu keras==3.15.1 numpy pandas
    /tmp/tfvenv/bin/python tests/data/keras/make_text_vectorization.py

It trains four small models on generated English and Korean sentences and writes, next to
this script, one ``<name>.keras`` archive per model and ``text_vectorization.json``: for each
model the texts it was checked on, TensorFlow's vectorized output (the layer alone) and the
model's predicted probabilities (``model.predict``), the oracle the tests compare against.
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

os.environ["KERAS_BACKEND"] = "tensorflow"

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

HERE = Path(__file__).resolve().parent

TOPICS = {
    "billing": (["invoice", "charge", "refund", "payment", "bill", "price", "café"],
                ["요금", "환불", "결제", "청구서"]),
    "network": (["signal", "internet", "wifi", "outage", "speed", "router"],
                ["인터넷", "신호", "속도", "공유기"]),
    "account": (["password", "login", "email", "profile", "username", "account"],
                ["비밀번호", "로그인", "계정", "이메일"]),
}
EN_FRAMES = ["My {} is wrong again!", "Why is the {} so bad?", "please fix the {} today",
             "The {} and the {} both failed.", "I want to talk about my {}, now.",
             "Is there a problem with {}?"]
KO_FRAMES = ["{} 문제가 있어요.", "{}이 너무 느려요!", "{} 확인 부탁드립니다", "왜 {}가 안 되나요?"]

# Checked texts: punctuation, case, out-of-vocabulary words, Korean, mixed scripts, tabs and
# other whitespace, non-ASCII capitals, texts longer than output_sequence_length, empty text.
PROBES = [
    "My INVOICE is wrong again!!!",
    "refund, refund; REFUND... (refund?)",
    "the router's speed -- is slow",
    "zebra quantum xylophone",  # every word out of vocabulary
    "",
    "   leading and trailing spaces   ",
    "tabs\tand\nnewlines\r\nbetween words",
    "요금 환불 결제 청구서",
    "인터넷이 너무 느려요!",
    "비밀번호를 잊었어요. login 안 됨",
    "ÉCOLE Café naïve ÀÉÎ",  # non-ASCII capitals
    "CAFÉ café Café",
    "ideographic\u3000space and\u00a0no-break space",
    "password " * 30,  # much longer than output_sequence_length
    "The wifi and the internet both failed. The wifi and the internet both failed. The wifi and the "
    "internet both failed.",
    "e-mail: user@example.com #account $price 100% [bill] {charge} <speed> ~profile_",
    "Why is the 공유기 so bad?",
    "😀 emoji payment 😀",
    "MiXeD CaSe PaSsWoRd LoGiN",
]


def corpus(seed: int = 0, n: int = 60) -> tuple[list[str], np.ndarray]:
    rng = random.Random(seed)
    names = list(TOPICS)
    texts, labels = [], []
    for i in range(n):
        k = i % len(names)
        en, ko = TOPICS[names[k]]
        if rng.random() < 0.35:
            texts.append(rng.choice(KO_FRAMES).format(rng.choice(ko)))
        else:
            frame = rng.choice(EN_FRAMES)
            texts.append(frame.format(*[rng.choice(en) for _ in range(frame.count("{}"))]))
        labels.append(k)
    return texts, np.array(labels)


def build(name: str, texts: list[str]) -> keras.Model:
    if name == "text_vectorization":  # the usual churn / ticket classifier
        tv = keras.layers.TextVectorization(max_tokens=60, output_sequence_length=12)
        tv.adapt(texts)
        body = [keras.layers.Embedding(60, 8), keras.layers.GlobalAveragePooling1D()]
    elif name == "tv_ngrams_multi_hot":
        tv = keras.layers.TextVectorization(max_tokens=80, ngrams=2, output_mode="multi_hot",
                                            pad_to_max_tokens=True, standardize="strip_punctuation")
        tv.adapt(texts)
        body = []
    elif name == "tv_characters":  # ragged int output, padded per batch; masked embedding
        tv = keras.layers.TextVectorization(max_tokens=50, split="character", standardize="lower")
        tv.adapt(texts)
        body = [keras.layers.Embedding(50, 6, mask_zero=True), keras.layers.GlobalAveragePooling1D()]
    elif name == "tv_count":
        tv = keras.layers.TextVectorization(max_tokens=40, standardize=None, output_mode="count")
        tv.adapt(texts)
        body = []
    else:
        raise ValueError(name)
    model = keras.Sequential([keras.Input(shape=(), dtype="string"), tv, *body,
                              keras.layers.Dense(3, activation="softmax")])
    return model


def main() -> None:
    keras.utils.set_random_seed(0)
    texts, labels = corpus()
    out = {"keras_version": keras.__version__, "models": {}}
    for name in ("text_vectorization", "tv_ngrams_multi_hot", "tv_characters", "tv_count"):
        model = build(name, texts)
        model.compile(optimizer=keras.optimizers.Adam(0.05), loss="sparse_categorical_crossentropy")
        model.fit(tf.constant(texts), labels, epochs=5, batch_size=16, verbose=0)
        path = HERE / f"{name}.keras"
        model.save(path)
        checked = PROBES + texts[:20]
        tv = model.layers[0]
        vectors = [np.asarray(tv(tf.constant([t]))[0]).tolist() for t in checked]
        probs = model.predict(tf.constant(checked), verbose=0)
        out["models"][name] = {"file": path.name, "texts": checked, "vectors": vectors,
                               "probs": probs.astype(float).tolist()}
        print(f"{path.name}: {path.stat().st_size} bytes")
    (HERE / "text_vectorization.json").write_text(json.dumps(out, ensure_ascii=False, indent=0) + "\n",
                                                  encoding="utf-8")


if __name__ == "__main__":
    main()
