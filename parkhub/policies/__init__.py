"""The data-trust policies as settings: which quality rules check incoming records and how hard
(`quality`), which source's value stands when two sources carry the same figure
(`survivorship`), and how a county scores 亩均效益 (`scoring`).

Settings only, with their defaults: parkhub.yaml holds them per park (parkhub.config), ingest
applies the rules and the precedence (parkhub.ingest.quality, parkhub.ingest.survivorship),
reports score (parkhub.reports.mu_average). This package imports nothing but canonical.
"""

from .quality import SEVERITIES, QualityConfig, QualityRules, Severity
from .scoring import PUBLISHED_RULES, EvaluationConfig, ScoringRule
from .survivorship import SOURCE_CLASSES, SurvivorshipConfig

__all__ = [
    "PUBLISHED_RULES",
    "SEVERITIES",
    "SOURCE_CLASSES",
    "EvaluationConfig",
    "QualityConfig",
    "QualityRules",
    "ScoringRule",
    "Severity",
    "SurvivorshipConfig",
]
