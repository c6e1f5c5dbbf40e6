"""FastAPI: push receivers, operator pages, JSON API, /metrics."""
