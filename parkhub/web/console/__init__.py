"""The operator console (运营控制台): server-rendered pages and the authenticated JSON API.

Pages under /console (Jinja2, no JavaScript, `pages`): sign-in, a dashboard per park (each
platform's last successful delivery, counts by status, failures and their reasons, the reporting
calendar and what is missing), monthly entry (a form per enterprise, the xlsx template, upload
with the row errors), the deliveries with their payloads and receipts, and replay of dead
deliveries.

The JSON API under /api (`api`) serves the same data (`views`) to a session cookie or a per-user
bearer token (`Authorization: Bearer phk_...`). Security, in every route:

- accounts and roles in the store's accounts: an operator sees only their parks (checked on
  every park URL, every delivery by its own park, every upload: `core`); an administrator sees
  all;
- the session cookie is signed (itsdangerous) and validated server-side (the sessions table:
  expiry, sign-out, deactivated users), HttpOnly and SameSite=Lax (Secure behind HTTPS: `auth`);
- every POST form carries the session's CSRF token (sign-in: a signed per-browser nonce); API
  POSTs with the cookie need the X-CSRF-Token header, bearer tokens need none;
- entry goes through `hub.import_entry`, so a form and a workbook are validated by one path
  (`forms`);
- replays and imports are audited with the user as actor (`web:<user>`, `api:<user>`).
"""

from .auth import COOKIE, Denied, console_secret, demo_account
from .core import Console
from .forms import form_csv
from .mount import mount_console
from .views import park_dashboard

__all__ = [
    "COOKIE",
    "Console",
    "Denied",
    "console_secret",
    "demo_account",
    "form_csv",
    "mount_console",
    "park_dashboard",
]
