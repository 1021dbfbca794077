"""Appointment compliance: the county plan's countable limits on appointments (任用合规).

The organization department records, for each notice (one appointment batch), the process facts
the county's plan regulates; :mod:`.rules` checks them against the plan's ten rules and the
history of earlier batches, and approval of the notice is refused while a rule is broken or a
needed reference is missing, unless the organization department's head overrides that one rule
for that one notice with a written reason, which supervisors see.

- :mod:`.models`: terms, settings, records with their nominees, overrides;
- :mod:`.validation`: the record in the import format, checked as a whole;
- :mod:`.rules`: the ten rules as pure functions of the record, the history and the thresholds;
- :mod:`.service`: the transactions, the history queries and the supervisors' read-only figures;
- :mod:`.views` / :mod:`.forms`: the editor, override, administration and supervision pages.
"""
