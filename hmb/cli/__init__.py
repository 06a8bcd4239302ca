"""The ``hmb`` command line (contract §4)."""
