"""Trace-port payloads (msgpack v0.4/v0.5, EVP JSON) -> frozen LLM-span records. Pure: no I/O."""

from .span import LLMSpan, clean_name, cut_bytes
from .wire import Decoded, decode, endpoint

__all__ = ["Decoded", "LLMSpan", "clean_name", "cut_bytes", "decode", "endpoint"]
