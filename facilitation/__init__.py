"""facilitation: a real-time server for live collaborative meetings."""

__version__ = "0.1.0"
