"""What every layer shares: the contract's tables, settings, labels, formats, SQL and ID helpers."""
