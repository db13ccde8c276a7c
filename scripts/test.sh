#!/usr/bin/env bash
# Lint, type-check and test, as CI does. Run from a venv with `pip install -e .[dev]`.
set -euo pipefail
cd "$(dirname "$0")/.."
ruff check .
ruff format --check .
mypy
lint-imports
python scripts/i18n.py check
python -m pytest "$@"
