"""惠民保监测系统 HMB Monitor: the domain, in layers that follow the data.

Each package imports only from the packages listed above it (tests/test_layers.py holds it so):

- ``core``: what every layer shares: the contract's tables (schema), settings, labels in two
  languages, number formats, SQL quoting, member-ID masking, counties.
- ``rulebook``: a jurisdiction's rulebook, loaded strictly, every number citing its clause.
- ``ingest``: reading an export, validating it against the contract, the validated store.
- ``measure``: the contract's figures (participation, premium, claims, ratios, surplus, pool).
- ``judge``: the figures held against the rulebook: rules, alerts, projections.
- ``state``: what persists: the alert store and the audit trail.
- ``access``: accounts, roles, and the scope every query runs under.
- ``report``: documents for people who read paper, made as a role's scope sees the figures and
  verdicts: the working group's meeting brief and the public disclosure (PDF, typeset offline).
- ``cli``, ``tools``: the faces and the helpers that are not the product's runtime
  (``hmb`` command line; demo data, generated docs). The Streamlit pages live in ``dashboard/``.
"""
