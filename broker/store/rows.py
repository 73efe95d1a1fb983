"""An event as the row the store writes: validated and flattened on the caller's thread, so
a bad event is refused where it is put, never on the writer; ``data`` as compact JSON."""

from __future__ import annotations

import json
import math
from typing import Any

from broker.events import Event


def _encoder() -> Any:
    return json.encoder.c_make_encoder(  # type: ignore[attr-defined]
        {}, repr, json.encoder.encode_basestring_ascii, None, ":", ",", False, False, True)


# What json.dumps(data, separators=(",", ":"), default=repr) does, without building an
# encoder per call (1.5 of the 3 us put() cost). After an error the encoder's
# circular-reference markers may hold stale ids, so it is replaced.
_enc = _encoder() if json.encoder.c_make_encoder is not None else None  # type: ignore[attr-defined]


def _dumps(data: Any) -> str:
    global _enc
    if not data:
        return "{}"
    if _enc is None:  # pragma: no cover - no C accelerator
        return json.dumps(data, separators=(",", ":"), default=repr)
    try:
        return "".join(_enc(data, 0))
    except BaseException:
        _enc = _encoder()
        raise


def event_row(ev: Event) -> tuple[Any, ...]:
    """Validate and flatten an event; raises ValueError here, never on the writer."""
    try:
        ts = float(ev["ts"])
        if not math.isfinite(ts):  # SQLite would store NaN as NULL: the batch would fail
            raise ValueError(f"ts {ts}")
        return (str(ev["id"]), ts, str(ev["kind"]), str(ev.get("host") or ""),
                str(ev.get("severity") or "info"), str(ev.get("rule") or ""),
                str(ev.get("alert_id") or ""), str(ev.get("message") or ""),
                _dumps(ev.get("data")))
    except (KeyError, TypeError, ValueError) as e:
        raise ValueError(f"not an event (needs id, ts, kind): {e!r} in {ev!r:.200}") from e
