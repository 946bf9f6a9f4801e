"""The catalogue of essential public services the portal lists.

Only the criminal-record certificate can be applied for online here; the others tell the
citizen where to go. Processing times are the statutory ones, indicative for a demo:
judicial records (Law on Judicial Records 2009, Art. 48: 10 days), passports (Law on
Exit and Entry 2019, Art. 15: 8 working days), permanent residence (Law on Residence
2020, Art. 22: 7 working days), birth registration (Law on Civil Status 2014, Art. 16:
the same day). Texts are message keys, so the catalogue reads in both languages.
"""

from __future__ import annotations

from dataclasses import dataclass

CRIMINAL_RECORD_SLUG = "criminal-record-certificate"


@dataclass(frozen=True, slots=True)
class PublicService:
    slug: str
    # Message keys: service.<slug>.name / .agency / .summary / .time / .fee
    online_path: str | None = None

    def key(self, part: str) -> str:
        return f"service.{self.slug}.{part}"


CATALOGUE: tuple[PublicService, ...] = (
    PublicService(CRIMINAL_RECORD_SLUG, online_path="/services/criminal-record/apply"),
    PublicService("birth-registration"),
    PublicService("permanent-residence"),
    PublicService("stay-notification"),
    PublicService("ordinary-passport"),
)
_BY_SLUG = {service.slug: service for service in CATALOGUE}


def find_service(slug: str) -> PublicService | None:
    return _BY_SLUG.get(slug)
