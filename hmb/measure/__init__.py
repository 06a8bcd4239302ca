"""The contract's figures (§3), computed over the validated store: one home for each metric."""
