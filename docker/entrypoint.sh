#!/bin/sh
# The image's entrypoint: seed the sources file on first start, then run the command.
# VEILLE_SOURCES lives in a folder (/config), never a file mount, so Docker cannot create a
# directory in its place; a folder without the file gets the list shipped in the image.
set -eu
if [ -n "${VEILLE_SOURCES:-}" ] && [ ! -e "$VEILLE_SOURCES" ] && [ -n "${SEED_SOURCES:-}" ]; then
  if cp "$SEED_SOURCES" "$VEILLE_SOURCES" 2>/dev/null; then
    echo "veille: $VEILLE_SOURCES did not exist: seeded with the sources shipped in the image" >&2
  else
    echo "veille: cannot create $VEILLE_SOURCES: make $(dirname "$VEILLE_SOURCES") writable by uid $(id -u) (veille doctor explains)" >&2
  fi
fi
exec "$@"
