"""Reference tooling for Hourglass: a timm-compatible ViT in plain PyTorch and a
minimal safetensors reader/writer, used to generate golden fixtures for the Java engine.

Run everything with the system interpreter, ``/usr/bin/python3`` (Debian's PyTorch lives there).
"""
