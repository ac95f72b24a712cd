"""Movement Ledger: household movements stored once, immutably, and counted by competing rulebooks."""

__version__ = "0.1.0"
