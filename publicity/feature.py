"""The publicity feature as the shell registers it: public and editor pages, the compliance
pages, the `notices` commands and demo notices."""

from __future__ import annotations

from portal.features import Feature
from publicity import demo
from publicity.cli import notices_cli
from publicity.compliance.views import bp as compliance_bp
from publicity.editor import bp as editor_bp
from publicity.messages import ERRORS
from publicity.views import bp as public_bp

feature = Feature(
    name="publicity",
    home="publicity.home",
    blueprints=(public_bp, editor_bp, compliance_bp),
    commands=(notices_cli,),
    demo_loaders=(demo.load,),
    errors=ERRORS,
)
