"""Month-end reconciliation of Gusto against the F&O ledger (`gusto-dynamics reconcile`).

``logic`` compares (pure), ``sources`` reads both systems and the audit trail, ``render``
writes the report, ``command`` is the CLI.
"""
