"""Which of xllamacpp's devices count as GPUs for a local engine's GPU replica."""

from __future__ import annotations

import enum

from archon_cli.llm.engines.llamacpp_server import gpu_devices


class DevType(enum.IntEnum):  # the shape of xllamacpp.ggml_backend_dev_type
    GGML_BACKEND_DEVICE_TYPE_CPU = 0
    GGML_BACKEND_DEVICE_TYPE_GPU = 1
    GGML_BACKEND_DEVICE_TYPE_IGPU = 2
    GGML_BACKEND_DEVICE_TYPE_ACCEL = 3


def test_only_gpu_and_igpu_devices_count() -> None:
    devices = [{"name": "CPU", "type": DevType.GGML_BACKEND_DEVICE_TYPE_CPU},
               {"name": "CUDA0", "type": DevType.GGML_BACKEND_DEVICE_TYPE_GPU},
               {"name": "BLAS", "type": DevType.GGML_BACKEND_DEVICE_TYPE_ACCEL},
               {"name": "Vulkan0", "type": DevType.GGML_BACKEND_DEVICE_TYPE_IGPU}]
    assert gpu_devices(devices) == ["CUDA0", "Vulkan0"]
    # An IntEnum's str() is its number on Python 3.11+, so the check must read the name.
    assert gpu_devices(devices[:1]) == []
