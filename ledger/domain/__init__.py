"""The write-side model: one aggregate per module, pure (no I/O, no logging, no validation library)."""
