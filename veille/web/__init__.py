"""The curators' web app (L4): review queue, sources, model, statistics. See app.py."""
