"""The Agent's `.dog` capture format."""

from .dogfile import CaptureError, CaptureExists, CaptureWriter, header
from .proto import DogMsg, decode, encode
from .reader import CaptureReader, read_capture

__all__ = ["CaptureError", "CaptureExists", "CaptureReader", "CaptureWriter", "DogMsg", "decode", "encode", "header",
           "read_capture"]
