"""Scheduled jobs (APScheduler 3.x): thin, idempotent, each calls a service."""
