"""The data contract between training, the emulator's training jobs and deploy.

Linear Learner's channels (CSV, label first, no header) and the worked example's width: the
breast-cancer table has 30 features (docs/ARCHITECTURE.md, "Data flow").
"""

from __future__ import annotations

# The channels deploy uploads and a training job may name, in the order they are written.
CHANNELS: tuple[str, ...] = ("train", "validation", "test")
# Features per row of the worked example (10 measurements x mean/se/worst).
FEATURE_COUNT = 30
