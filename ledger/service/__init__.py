"""``ledger serve``: the HTTP service over the same store and the same code paths as the CLI.

FastAPI is imported only here (and only by ``ledger serve``), so ``ledger --help`` stays fast.
"""
