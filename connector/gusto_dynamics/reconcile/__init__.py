"""Month-end reconciliation of Gusto against the F&O ledger (`gusto-dynamics reconcile`).

``model`` holds the inputs and report rows; ``logic`` compares (pure), with the payrolls and
their correction chains in ``payrolls``; ``sources`` reads Gusto and the audit trail,
``fo_side`` reads F&O; ``render`` writes the report, ``command`` is the CLI.
"""
