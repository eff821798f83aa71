"""The Agent's `.dog` capture format."""

from .dogfile import CaptureError, CaptureReader, CaptureWriter, header, read_capture
from .proto import DogMsg, decode, encode

__all__ = ["CaptureError", "CaptureReader", "CaptureWriter", "DogMsg", "decode", "encode", "header",
           "read_capture"]
