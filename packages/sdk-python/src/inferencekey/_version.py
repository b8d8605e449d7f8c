"""The SDK version, sent in the ``User-Agent`` header as ``inferencekey-sdk-python/<version>``."""

__version__ = "0.1.0"
USER_AGENT = f"inferencekey-sdk-python/{__version__}"
