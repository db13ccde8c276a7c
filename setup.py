"""Packaging details pyproject.toml cannot express: the top-level `locales/` ships inside `bot`.

The catalogs stay at the repository root (where translators and scripts/i18n.py find them) and
are installed as the data-only package ``bot.locales``; bot/i18n.py looks there first.
"""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["bot*", "scheduler*", "storage*"]), "bot.locales"],
    package_dir={"bot.locales": "locales"},
    include_package_data=False,  # only what package_data lists (no MANIFEST guesses)
    package_data={
        "bot.locales": ["*/LC_MESSAGES/*.po"],
        "scheduler": ["*.toml"],
        "storage": [
            "alembic.ini",
            "migrations/*.py",
            "migrations/*.mako",
            "migrations/versions/*.py",
        ],
    },
)
