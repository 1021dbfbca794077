"""What a feature package hands the shell: its blueprints, command groups, `portal init` steps,
demo loaders, event subscriptions and its table of domain errors. The application is assembled
above the features, which pass these to `portal.create_app` from one list (see the
`application` package)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import click
from flask import Blueprint, Flask
from sqlalchemy.orm import Session

from portal.errors import ErrorTable

# A step of `portal init` or `portal demo`: runs in its own transactions, returns lines to print.
Step = Callable[[Session], Iterable[str]]
# A check /healthz runs (#22): True while what it checks is sound; it reads, never writes.
HealthCheck = Callable[[Session], bool]


@dataclass(frozen=True)
class Feature:
    """One feature package's registrations."""

    name: str
    # The endpoint of the public home page, if this feature serves it (else the staff home).
    home: str | None = None
    blueprints: Sequence[Blueprint] = ()
    commands: Sequence[click.Command] = ()
    init_steps: Sequence[Step] = ()
    demo_loaders: Sequence[Step] = ()
    # Connects the feature's receivers to `portal.events` for this application.
    subscribe: Callable[[Flask], None] | None = None
    # The package's one table of domain errors: code → (message, HTTP status) per error type.
    errors: ErrorTable | None = None
    # Integrity checks /healthz runs now and then; the probe says only whether all held.
    health_checks: Sequence[HealthCheck] = ()
