"""ONNX Runtime backend for sentence-transformers models with mean pooling.

sentence-transformers' own ONNX backend needs optimum-onnx, which requires
transformers < 4.58, so it cannot live beside transformers 5. This module does
the same job with what is here: the model is exported once with
``torch.onnx.export`` (and, for "onnx-int8", quantized with onnxruntime's
dynamic int8 quantization) into a cache folder, then run with onnxruntime.
Tokenising, mean pooling and normalising match sentence-transformers, so
"onnx" gives the same vectors as PyTorch (cosine 1.0000) in less time per
query; "onnx-int8" is faster still but its vectors differ (cosine about 0.96),
so a collection records it as a different embedding.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
import threading
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import ModelUnavailable

_SESSIONS: dict[tuple[str, str], OnnxEncoder] = {}
_LOCK = threading.Lock()


class OnnxEncoder:
    """Encodes texts with an exported ONNX copy of a local sentence-transformers model."""

    def __init__(
        self, model_path: Path, tokenizer: Any, max_length: int, quantized: bool, cache_dir: Path
    ) -> None:
        _check_mean_pooling(model_path)
        import onnxruntime as ort

        self.tokenizer = tokenizer
        self.max_length = max_length
        onnx_file = _exported(model_path, quantized, cache_dir / "onnx")
        options = ort.SessionOptions()
        options.intra_op_num_threads = max(1, len(os.sched_getaffinity(0)))
        options.log_severity_level = 3
        self.session = ort.InferenceSession(
            str(onnx_file), options, providers=["CPUExecutionProvider"]
        )

    @classmethod
    def shared(
        cls, model_path: Path, tokenizer: Any, max_length: int, quantized: bool, cache_dir: Path
    ) -> OnnxEncoder:
        """One encoder per model and backend in the process; exported into ``cache_dir``."""
        key = (str(model_path), "int8" if quantized else "fp32")
        with _LOCK:
            if key not in _SESSIONS:
                _SESSIONS[key] = cls(model_path, tokenizer, max_length, quantized, cache_dir)
            return _SESSIONS[key]

    def encode(self, texts: list[str], batch_size: int) -> np.ndarray:
        """Unit-length float32 vectors, one row per text."""
        encodings = [self._ids(t) for t in texts]
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i]))  # less padding
        rows: dict[int, np.ndarray] = {}
        for start in range(0, len(order), batch_size):
            batch = order[start : start + batch_size]
            width = max(len(encodings[i]) for i in batch)
            ids = np.zeros((len(batch), width), dtype=np.int64)
            mask = np.zeros((len(batch), width), dtype=np.int64)
            for row, i in enumerate(batch):
                ids[row, : len(encodings[i])] = encodings[i]
                mask[row, : len(encodings[i])] = 1
            hidden = self.session.run(None, {"input_ids": ids, "attention_mask": mask})[0]
            weights = mask[..., None].astype(np.float32)
            pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
            pooled /= np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
            rows.update(zip(batch, pooled.astype(np.float32), strict=True))
        if not rows:
            return np.zeros((0, 0), dtype=np.float32)
        return np.stack([rows[i] for i in range(len(texts))])

    def _ids(self, text: str) -> list[int]:
        ids: list[int] = self.tokenizer.encode(text, add_special_tokens=True).ids
        if len(ids) > self.max_length:  # keep [CLS] ... [SEP] as the model was trained
            ids = ids[: self.max_length - 1] + ids[-1:]
        return ids


def _check_mean_pooling(model_path: Path) -> None:
    config = model_path / "1_Pooling" / "config.json"
    settings = json.loads(config.read_text()) if config.is_file() else {}
    if not settings.get("pooling_mode_mean_tokens"):
        raise ModelUnavailable(
            f"the ONNX backend handles mean-pooling sentence-transformers models, and "
            f"{model_path.name} is not one; set DOSSIER_EMBEDDING_BACKEND=torch"
        )


def _exported(model_path: Path, quantized: bool, folder: Path) -> Path:
    """The cached ONNX file for the model, exported (and quantized) on first use."""
    weights = sorted(model_path.glob("*.safetensors")) + sorted(model_path.glob("*.bin"))
    if not weights:
        raise ModelUnavailable(f"no model weights in {model_path} to export to ONNX")
    stamp = hashlib.sha256(
        "|".join(
            f"{w.resolve()}:{w.stat().st_size}:{w.stat().st_mtime_ns}" for w in weights
        ).encode()
    ).hexdigest()[:16]
    fp32 = folder / f"{model_path.name}-{stamp}.onnx"
    int8 = folder / f"{model_path.name}-{stamp}-int8.onnx"
    target = int8 if quantized else fp32
    if target.is_file():
        return target
    folder.mkdir(parents=True, exist_ok=True)
    try:
        if not fp32.is_file():
            _export(model_path, fp32)
        if quantized:
            from onnxruntime.quantization import QuantType, quantize_dynamic

            logging.getLogger().setLevel(max(logging.getLogger().level, logging.ERROR))
            with tempfile.TemporaryDirectory(dir=folder) as tmp:
                temp = Path(tmp) / "model.onnx"
                quantize_dynamic(str(fp32), str(temp), weight_type=QuantType.QInt8)
                os.replace(temp, int8)
    except ImportError as exc:
        raise ModelUnavailable(
            f"the ONNX backend needs the onnx package to export the model ({exc.name} is "
            "missing); install it with `pip install onnx` or set "
            "DOSSIER_EMBEDDING_BACKEND=torch"
        ) from None
    return target


def _export(model_path: Path, target: Path) -> None:
    import torch
    from transformers import AutoModel

    model = AutoModel.from_pretrained(str(model_path), local_files_only=True).eval()

    class LastHiddenState(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: Any, attention_mask: Any) -> Any:
            return self.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    example = torch.ones((2, 8), dtype=torch.int64)
    axes = {0: "batch", 1: "tokens"}
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer notes about shapes that are fixed here
        temp = Path(tmp) / "model.onnx"
        torch.onnx.export(
            LastHiddenState(),
            (example, example),
            str(temp),
            input_names=["input_ids", "attention_mask"],
            output_names=["last_hidden_state"],
            dynamic_axes={"input_ids": axes, "attention_mask": axes, "last_hidden_state": axes},
            opset_version=17,
            dynamo=False,
        )
        os.replace(temp, target)  # whole or not at all, also with two processes at once
