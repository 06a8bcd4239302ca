"""Documents made from the figures and verdicts for people who read paper: the working group's
meeting brief and the public disclosure (contract §7; docs/brief.md)."""
