"""The writers: records, their outbox rows and the pages they came in, one writer per dialect
behind one interface (`Writer`).

- `upsert`: records by natural key in the caller's transaction; a changed record gets a new
  revision, its waiting deliveries are superseded and its routes get new ones.
- `pages`: a stream of pulled or pushed messages, each stored with its raw row, records, outbox
  rows and cursor in one transaction, its result reported only after that transaction
  committed. SQLite groups messages that arrive back to back into one transaction; PostgreSQL
  pipelines each message's transaction while the next one is parsed.
"""

from __future__ import annotations

from .base import Page, PageSink, UpsertResult, Writer, Written

__all__ = ["Page", "PageSink", "UpsertResult", "Writer", "Written"]
