"""Persistence wiring: LEDGER_DATABASE_URL -> eventsourcing settings, schema, immutability, chain."""
