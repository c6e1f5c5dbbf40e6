"""Canonical to canonical: period reports built from stored records, and the reporting calendar."""
