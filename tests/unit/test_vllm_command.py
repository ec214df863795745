from __future__ import annotations

from archon_cli.config.pipeline import ModelSpec
from archon_cli.llm.engines.vllm import vllm_command, vllm_env


def test_command_serves_the_model_on_the_given_address() -> None:
    spec = ModelSpec(model="vllm/Qwen/Qwen2.5-7B-Instruct", gpus_per_replica=1)
    cmd = vllm_command(spec, 8123, "10.0.0.5")
    assert cmd[0].endswith("/vllm") and cmd[1:3] == ["serve", "Qwen/Qwen2.5-7B-Instruct"]
    assert cmd[cmd.index("--host") + 1] == "10.0.0.5"
    assert cmd[cmd.index("--port") + 1] == "8123"
    assert cmd[cmd.index("--served-model-name") + 1] == "Qwen/Qwen2.5-7B-Instruct"
    assert "--tensor-parallel-size" not in cmd  # one GPU: no tensor parallelism


def test_tensor_parallel_equals_gpus_per_replica_and_extra_args_come_last() -> None:
    spec = ModelSpec(model="vllm/meta-llama/Llama-3.1-70B-Instruct", gpus_per_replica=4,
                     engine_args=["--max-model-len", "8192"])
    cmd = vllm_command(spec, 8000)
    assert cmd[cmd.index("--tensor-parallel-size") + 1] == "4"
    assert cmd[-2:] == ["--max-model-len", "8192"]
    assert cmd[cmd.index("--host") + 1] == "127.0.0.1"


def test_env_is_offline_keeps_visible_devices_and_sends_no_stats() -> None:
    env = vllm_env({"CUDA_VISIBLE_DEVICES": "2,3", "PATH": "/bin"})
    assert env["CUDA_VISIBLE_DEVICES"] == "2,3" and env["PATH"] == "/bin"
    assert env["HF_HUB_OFFLINE"] == "1" and env["VLLM_NO_USAGE_STATS"] == "1"
