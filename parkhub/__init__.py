"""parkhub: one data hub for Zhejiang small and micro industrial parks (小微企业园)."""

__version__ = "0.1.0"
