"""`vendor: rest`: a vendor's paged JSON API described in a YAML spec, pulled with no Python
(docs/integrator-guide.md; the spec's JSON Schema: parkhub/schemas/adapters/vendor.rest.spec
.schema.json)."""

from .adapter import RestAdapter, RestConfig
from .spec import RestSpec, load_spec, parse_spec

__all__ = ["RestAdapter", "RestConfig", "RestSpec", "load_spec", "parse_spec"]
