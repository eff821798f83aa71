"""tundra: htop for LLM workloads."""

__version__ = "0.1.0"
