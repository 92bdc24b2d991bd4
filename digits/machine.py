"""The machine a measurement ran on, so that minutes from two machines can be set side by side.

``describe()`` names the CPU exactly (model name with vendor, family, model and stepping: "AMD EPYC" alone is
several machines three times apart in speed), the instruction sets that change TensorFlow's speed, and the
cores. ``calibrate()`` times a short fixed workload: one epoch of Keras' "simple MNIST convnet" on 55,000
MNIST training images, so that a run's minutes can also be read in units of that epoch.
"""

from __future__ import annotations

import os
import platform
import time

# Instruction sets whose kernels TensorFlow's oneDNN picks by: they move its speed several-fold.
SPEED_FLAGS = (
    "sse4_2",
    "avx",
    "avx2",
    "fma",
    "avx512f",
    "avx512bw",
    "avx512_vnni",
    "avx512_bf16",
    "avx512_fp16",
    "avx_vnni",
    "amx_tile",
    "amx_bf16",
    "amx_int8",
)
CALIBRATION_IMAGES = 55_000


def cpuinfo(path: str = "/proc/cpuinfo") -> dict[str, str]:
    """The first processor's fields of ``/proc/cpuinfo`` (empty where there is none)."""
    fields: dict[str, str] = {}
    try:
        with open(path) as f:
            for line in f:
                if not line.strip():
                    break
                key, _, value = line.partition(":")
                fields[key.strip()] = value.strip()
    except OSError:
        pass
    return fields


def cpu_name(info: dict[str, str] | None = None) -> str:
    """The CPU's model name with vendor, family, model and stepping, e.g.
    "AMD EPYC (AuthenticAMD family 25 model 1 stepping 1)"."""
    info = cpuinfo() if info is None else info
    name = info.get("model name") or platform.processor() or platform.machine()
    ids = [info.get("vendor_id")] + [f"{k} {info[k]}" for k in ("cpu family", "model", "stepping") if k in info]
    ids = [i.replace("cpu family", "family") for i in ids if i]
    return f"{name} ({' '.join(ids)})" if ids else name


def speed_flags(info: dict[str, str] | None = None) -> list[str]:
    """Which of :data:`SPEED_FLAGS` the CPU has."""
    info = cpuinfo() if info is None else info
    present = set(info.get("flags", "").split())
    return [flag for flag in SPEED_FLAGS if flag in present]


def describe() -> dict:
    """``{"cpu": exact name, "flags": [...], "cores": n}``."""
    info = cpuinfo()
    return {"cpu": cpu_name(info), "flags": speed_flags(info), "cores": os.cpu_count()}


def calibrate(images: int = CALIBRATION_IMAGES) -> dict:
    """Time one epoch of Keras' simple MNIST convnet (its recipe: Adam, batch 128) on ``images`` MNIST training
    images, after one traced warm-up step; ``{"what": ..., "seconds": ...}``."""
    from . import data, recipes, train  # TensorFlow only when a calibration is asked for

    if not isinstance(images, int) or images < 128:
        raise ValueError(f"the calibration needs at least one batch (128 images), got {images!r}")
    (x, y), _ = data.load_mnist()
    x = x[..., None]  # the channel axis the models take
    if images > len(x):
        raise ValueError(f"the calibration takes at most {len(x):,} MNIST training images, got {images:,}")
    cfg = recipes.get("keras_simple_convnet", "keras example", epochs=1)
    splits = data.Splits(x[:images], y[:images], x[:128], y[:128], x[:128], y[:128])
    net = train.compile_model("keras_simple_convnet", splits, cfg)
    net.fit(x[:128], y[:128], epochs=1, batch_size=cfg.batch_size, verbose=0)  # tracing is not the workload
    started = time.perf_counter()
    net.fit(x[:images], y[:images], epochs=1, batch_size=cfg.batch_size, verbose=0)
    return {
        "what": f"one epoch of Keras' simple MNIST convnet (Adam, batch {cfg.batch_size}) on {images:,} MNIST images",
        "seconds": round(time.perf_counter() - started, 2),
    }
