"""What persists between runs: the alert store and the append-only audit trail."""
