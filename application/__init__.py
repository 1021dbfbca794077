"""The whole portal: the shell (`portal`) assembled with every feature, above all of them.

The features are listed once, lowest first: their pages, commands, `portal init` steps and demo
loaders are registered in this order (the demo cases need notices and queue keys).
"""

from __future__ import annotations

from flask import Flask

import portal
from casework.feature import feature as casework
from intake.feature import feature as intake
from portal.config import Config
from portal.features import Feature
from publicity.feature import feature as publicity

FEATURES: tuple[Feature, ...] = (publicity, casework, intake)


def create_app(config: Config | None = None) -> Flask:
    """The portal with every feature, from a configuration (default: PORTAL_* variables)."""
    return portal.create_app(config, FEATURES)
