"""Pairwise subject identifiers (OpenID Connect Core §8.1).

``sub`` = base64url(HMAC-SHA256(key, sector_identifier "|" personal_id_number)), with the
key derived from the server secret. Two portals in different sectors get unrelated
subjects for the same citizen, so they cannot correlate their users; the same portal
always gets the same one. The personal ID number itself is released only as the
``national_id`` claim.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

_SUBJECT_KEY_LABEL = b"natid/pairwise-subject/v1"


class PairwiseSubjects:
    """Computes the pairwise ``sub`` of a citizen for a client's sector."""

    def __init__(self, server_secret: bytes) -> None:
        self._key = hmac.new(server_secret, _SUBJECT_KEY_LABEL, hashlib.sha256).digest()

    def subject(self, sector_identifier: str, personal_id_number: str) -> str:
        message = f"{sector_identifier}|{personal_id_number}".encode()
        digest = hmac.digest(self._key, message, "sha256")  # one call: twice per token response
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
