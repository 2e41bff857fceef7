"""The service's own records: the account record (who) and the pairing record (which device key is whose).

They are records like any other (RFC 8785 bytes, a signed receipt, a batch, an RFC 3161 token), kept in
sessions of the reserved site ``promptstamp`` so that they never mix with a captured session
(docs/format.md, "Account record" and "Pairing record").
"""

from __future__ import annotations

SERVICE_SITE = "promptstamp"
ACCOUNT_SESSION = "account"
DEVICES_SESSION = "devices"
