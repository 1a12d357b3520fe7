"""Persistence: SQLAlchemy models, the engine and units of work, repositories."""
