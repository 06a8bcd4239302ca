"""Reading an export and validating it against the contract (§1–§2): the validated store."""
