"""The figures held against the rulebook: rules, alerts, projections."""
