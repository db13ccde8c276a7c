"""Persistence: SQLModel models, engine and transactions, repositories, migrations."""
