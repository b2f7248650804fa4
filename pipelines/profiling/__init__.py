"""Profiling: ONNX Runtime sessions measured in a worker process (latency, memory, per-op time)."""
