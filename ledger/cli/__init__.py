"""The ``ledger`` command: one sub-command per noun, thin commands (parse, call, print)."""
