"""``python -m tap_gusto``."""

from tap_gusto.tap import TapGusto

TapGusto.cli()
