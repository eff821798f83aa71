"""Modal screens: help and the tag filter."""
