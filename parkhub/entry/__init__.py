"""Operator data entry: Excel templates out (`template`), filled workbooks and CSV files in
(`importer`, read by the `manual` vendor adapter).

This package sits beside the hub. `importer` imports only parkhub.canonical, parkhub.errors and
parkhub.adapters.base (the adapter layer uses it); `template` may also import parkhub.config.
Nothing is imported here, so importing `parkhub.entry.importer` does not pull in the config layer.
"""
