"""The shared contract at the bottom of the house: every layer may import it, it imports no layer.

`names` (fixed names, ports, paths, the `SAGESTACK_*` variables read and built for child
processes), `aws` (partitions and DNS suffixes), `net` (loopback helpers) and `dataset`
(channel names, feature count). See docs/ARCHITECTURE.md, "Layers".
"""
