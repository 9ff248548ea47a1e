"""Waivers: a control accepted as it is, for a reason, by someone, until a date.

`verify_waivers` maps a control id to a reason (a string: accepted until someone removes it) or to a record
`{reason, owner, expires[, ticket]}` - an exception as assessors know it. From the day after `expires` (UTC) the
waiver no longer waives: the control is judged as if it had none, and its result says the waiver expired, so
`verify_fail_on` fails on it like on any failure. The collection's own waivers (a hardened setting the user's
variables turn off, plan.waived) are reasons and never expire.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass
from typing import Any, Dict, Mapping, Optional

from ..base import readable_text

RECORD_KEYS = ("reason", "owner", "expires", "ticket")
REQUIRED_KEYS = ("reason", "owner", "expires")
MAX_TEXT = 4000
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


@dataclass(frozen=True)
class Waiver:
    """One control's waiver."""
    reason: str
    owner: Optional[str] = None
    expires: Optional[datetime.date] = None
    ticket: Optional[str] = None

    def expired(self, today: datetime.date) -> bool:
        """Past its last day (the expiry date itself is still covered)."""
        return self.expires is not None and today > self.expires

    def text(self) -> str:
        """The reason, then who accepted it, until when and the ticket: what reports print."""
        extra = [f"owner {self.owner}" if self.owner else "", f"until {self.expires.isoformat()}" if self.expires else "",
                 f"ticket {self.ticket}" if self.ticket else ""]
        extra = [part for part in extra if part]
        return f"{self.reason} ({'; '.join(extra)})" if extra else self.reason

    def as_dict(self) -> Dict[str, Optional[str]]:
        return {"reason": self.reason, "owner": self.owner,
                "expires": self.expires.isoformat() if self.expires else None, "ticket": self.ticket}


def _text(cid: str, key: str, value: Any) -> str:
    """The text as reports print it: whitespace runs (a YAML block's newlines, tabs) as one space; refused when
    empty, huge, or holding a character that is not what it looks like (base/readable_text: bidirectional
    overrides, zero-width and control characters...)."""
    where = f"verify_waivers[{cid!r}]" + (f".{key}" if key else "")
    if isinstance(value, int) and not isinstance(value, bool) and key == "ticket":
        value = str(value)       # ticket: 1234 (YAML's integer)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{where}: {value!r} - a non-empty string is needed")
    text = " ".join(value.split())
    if len(text) > MAX_TEXT:
        raise ValueError(f"{where}: {len(text)} characters - at most {MAX_TEXT}")
    if readable_text.unreadable(text):
        raise ValueError(f"{where}: {value!r} - printable text (no control, format or unassigned characters)")
    return text


def _date(cid: str, value: Any) -> datetime.date:
    where = f"verify_waivers[{cid!r}].expires"
    if isinstance(value, datetime.datetime):      # YAML's timestamps: the day is what counts
        return value.date()
    if isinstance(value, datetime.date):
        return value
    if isinstance(value, str) and _DATE.fullmatch(value.strip()):
        try:
            return datetime.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValueError(f"{where}: {value!r} - a date YYYY-MM-DD (the last day the waiver holds, UTC)")


def parse_one(cid: str, value: Any) -> Waiver:
    """A waiver from its verify_waivers value: a reason, or a record (ValueError naming the entry, the field,
    the value and what is allowed)."""
    if isinstance(value, Waiver):
        return value
    if isinstance(value, str):
        return Waiver(_text(cid, "", value))
    if not isinstance(value, Mapping):
        raise ValueError(f"verify_waivers[{cid!r}]: {type(value).__name__} {value!r} - a reason (string) or a record "
                         f"with {', '.join(REQUIRED_KEYS)} (and optionally ticket)")
    unknown = sorted(str(k) for k in value if k not in RECORD_KEYS)
    if unknown:
        raise ValueError(f"verify_waivers[{cid!r}]: unknown keys {unknown} - allowed: {', '.join(RECORD_KEYS)}")
    missing = [k for k in REQUIRED_KEYS if value.get(k) in (None, "")]
    if missing:
        raise ValueError(f"verify_waivers[{cid!r}]: {', '.join(missing)} missing - a record names "
                         f"{', '.join(REQUIRED_KEYS)} (a plain string is a reason that never expires)")
    ticket = value.get("ticket")
    return Waiver(_text(cid, "reason", value["reason"]), _text(cid, "owner", value["owner"]), _date(cid, value["expires"]),
                  _text(cid, "ticket", ticket) if ticket not in (None, "") else None)


def parse(waivers: Optional[Mapping[Any, Any]]) -> Dict[str, Waiver]:
    """Every entry of verify_waivers (keys as strings), each parsed by parse_one."""
    if waivers is None:
        return {}
    if not isinstance(waivers, Mapping):
        raise ValueError(f"verify_waivers: {type(waivers).__name__} - a mapping of control id to a reason or a record")
    return {str(cid): parse_one(str(cid), value) for cid, value in waivers.items()}


def beside_overrides(own: Optional[Mapping[Any, Any]], given: Optional[Mapping[Any, Any]]) -> Dict[str, Waiver]:
    """The collection's own waivers (plan.waived: a hardened setting your variables turn off) with yours
    (verify_waivers). A control in both keeps your record - its owner and expiry decide, an expired one fails - and
    both reasons: the override is never hidden behind a waiver of yours."""
    ours, yours = parse(own), parse(given)
    merged = dict(ours)
    for cid, waiver in yours.items():
        if cid in ours:
            waiver = Waiver(f"{waiver.reason}; and {ours[cid].reason}", waiver.owner, waiver.expires, waiver.ticket)
        merged[cid] = waiver
    return merged


def today_utc() -> datetime.date:
    return datetime.datetime.now(datetime.timezone.utc).date()
