"""Engines: the contract every engine satisfies, the registry that builds one from options, and the local one.

`build_engine(EngineOptions(...))` is how the CLI and the window get an engine; `VisionEngine` is all they may use.
"""

from paperlens.core.engine.contract import ChunkCallback, EngineInfo, VisionEngine
from paperlens.core.engine.llama import EngineConfig, LlamaEngine, gpu_offload_supported, local_engine
from paperlens.core.engine.llama_log import route_llama_logs
from paperlens.core.engine.registry import build_engine, register
from paperlens.core.engine.remote import RemoteEngine, remote_engine
from paperlens.core.options import LOCAL, REMOTE

register(LOCAL, local_engine)
register(REMOTE, remote_engine)

__all__ = [
    "ChunkCallback",
    "EngineConfig",
    "EngineInfo",
    "LlamaEngine",
    "RemoteEngine",
    "VisionEngine",
    "build_engine",
    "gpu_offload_supported",
    "register",
    "route_llama_logs",
]
