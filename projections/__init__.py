"""The read side: rulebooks as data, the pure fold, materialised views, reconciliation, audit."""
