#!/usr/bin/env python3
"""Reference expander: python icalendar + recurring-ical-events, printing the same JSON as
`flexysync feed occurrences` (used to cross-check the corpus and as the benchmark baseline).

    pip install icalendar recurring-ical-events
    python3 benches/ical_python.py FILE FROM TO [ZONE] [--time]

Not run by the tests."""
import datetime as dt
import json
import sys
import time
import zoneinfo

import icalendar
import recurring_ical_events


def fmt(value, zone):
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=zone)
        return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return value.strftime("%Y-%m-%d")


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    timed = "--time" in sys.argv
    path, start, end = args[0], args[1], args[2]
    zone = zoneinfo.ZoneInfo(args[3]) if len(args) > 3 else dt.timezone.utc
    began = time.perf_counter()
    with open(path, "rb") as f:
        calendar = icalendar.Calendar.from_ical(f.read())
    start = dt.datetime.fromisoformat(start).replace(tzinfo=zone)
    end = dt.datetime.fromisoformat(end).replace(tzinfo=zone)
    events = recurring_ical_events.of(calendar, skip_bad_series=True).between(start, end)
    out = []
    for event in events:
        s = event.get("DTSTART").dt
        e = event.get("DTEND").dt if event.get("DTEND") else s
        rid = event.get("RECURRENCE-ID")
        out.append({
            "uid": str(event.get("UID")),
            "recurrence_id": fmt(rid.dt, zone) if rid else None,
            "start": fmt(s, zone),
            "end": fmt(e, zone),
            "all_day": not isinstance(s, dt.datetime),
            "summary": str(event.get("SUMMARY")) if event.get("SUMMARY") is not None else None,
            "status": str(event.get("STATUS")) if event.get("STATUS") else None,
        })
    elapsed = time.perf_counter() - began
    if timed:
        print(f"{len(out)} occurrences in {elapsed:.3f} s", file=sys.stderr)
        return
    out.sort(key=lambda o: (o["start"], o["uid"], o["recurrence_id"] or ""))
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
