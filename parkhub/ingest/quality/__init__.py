"""Checks against distortion: the quality rules every incoming record runs through before it
gets outbox rows (docs/data-quality.md). The rules' settings are parkhub.policies.quality; the
findings and held records are stored by parkhub.store.reviews.

- `gate`: the rules of a record's park applied to a batch, the verdict (pass, hold, findings);
- `figures`: the rules on enterprise figures (range, jump, unit mistake, tax over revenue,
  规上 status, missing month, output against metered electricity), with `history`, what
  they compare with, read in bulk per page;
- `meters`: meters stuck, running backwards or jumping, watched as readings arrive.
"""

from .gate import QualityGate, Verdict

__all__ = ["QualityGate", "Verdict"]
