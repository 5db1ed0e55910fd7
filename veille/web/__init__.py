"""The curators' web app (L4): review queue, sources, model, statistics. See app.py."""

# Registers the `{name:id}` route convertor before any router module declares its routes.
from veille.web import numbers as _numbers  # noqa: E402, F401
