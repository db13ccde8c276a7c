"""Alembic migrations of the branchbot schema."""
