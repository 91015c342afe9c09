#!/usr/bin/env python3
"""Randomized differential hunt: many small generated calendars, each expanded by
`flexysync feed occurrences` and by python icalendar + recurring-ical-events (the expander of
`benches/ical_python.py`), compared occurrence by occurrence (uid, recurrence id, start, end,
status). Differences are bucketed by kind and by what the shrunk calendar still contains; each
bucket keeps one minimal calendar.

    python3 benches/ical_fuzz.py target/release/flexysync [--count 500] [--seed 1] [--keep DIR]

A calendar combines: RRULE (BY* parts, COUNT/UNTIL, INTERVAL), EXDATE (date-time and DATE),
RDATE (with and without PERIOD), overrides (moved inside, into, out of the window, from far
before, cancelled, with higher and lower SEQUENCE), THISANDFUTURE, TZID with IANA names,
Windows names and custom VTIMEZONE blocks, all-day, floating times, DURATION instead of DTEND,
and windows starting and ending at odd times (inside an occurrence, on DST days).
Not run by the tests."""
import datetime as dt
import json
import os
import random
import subprocess
import sys
import tempfile
from collections import defaultdict

from dateutil import rrule as du

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ical_python  # noqa: E402

UTC = dt.timezone.utc

# A custom zone: EU rules under a name no database knows.
CUSTOM_EU = """BEGIN:VTIMEZONE
TZID:Custom Office Time
BEGIN:STANDARD
DTSTART:19701025T030000
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU
END:STANDARD
BEGIN:DAYLIGHT
DTSTART:19700329T020000
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU
END:DAYLIGHT
END:VTIMEZONE"""
CUSTOM_US = """BEGIN:VTIMEZONE
TZID:Custom East
BEGIN:STANDARD
DTSTART:20071104T020000
TZOFFSETFROM:-0400
TZOFFSETTO:-0500
RRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=1SU
END:STANDARD
BEGIN:DAYLIGHT
DTSTART:20070311T020000
TZOFFSETFROM:-0500
TZOFFSETTO:-0400
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU
END:DAYLIGHT
END:VTIMEZONE"""
CUSTOM_FIXED = """BEGIN:VTIMEZONE
TZID:Fixed Plus Half
BEGIN:STANDARD
DTSTART:19700101T000000
TZOFFSETFROM:+0530
TZOFFSETTO:+0530
END:STANDARD
END:VTIMEZONE"""
# A VTIMEZONE for an IANA name, as Outlook and Google write them (same rules as the name).
BERLIN_BLOCK = CUSTOM_EU.replace("Custom Office Time", "Europe/Berlin")

# (kind, TZID or None, VTIMEZONE block or None)
CLOCKS = [
    ("utc", None, None),
    ("floating", None, None),
    ("date", None, None),
    ("iana", "Europe/Berlin", None),
    ("iana", "America/New_York", None),
    ("iana", "Australia/Sydney", None),
    ("iana+block", "Europe/Berlin", BERLIN_BLOCK),
    ("windows", "W. Europe Standard Time", None),
    ("windows", "Eastern Standard Time", None),
    ("custom", "Custom Office Time", CUSTOM_EU),
    ("custom", "Custom East", CUSTOM_US),
    ("custom", "Fixed Plus Half", CUSTOM_FIXED),
]
# Days the clocks change (EU, US, Sydney) in 2025: windows like to start or end on them.
DST_DAYS = [dt.date(2025, 3, 30), dt.date(2025, 3, 9), dt.date(2025, 4, 6),
            dt.date(2025, 10, 26), dt.date(2025, 11, 2), dt.date(2025, 10, 5)]
DAYS = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]


def stamp(value, clock):
    """A property value (after the colon) and its parameters for `value` in `clock`."""
    kind, tzid, _ = clock
    if kind == "date":
        return ";VALUE=DATE", value.strftime("%Y%m%d")
    text = value.strftime("%Y%m%dT%H%M%S")
    if kind == "utc":
        return "", text + "Z"
    if kind == "floating":
        return "", text
    return f";TZID={tzid}", text


def prop(name, value, clock, extra=""):
    params, text = stamp(value, clock)
    return f"{name}{extra}{params}:{text}"


def random_rule(rng, clock, start):
    freq = rng.choice(["DAILY", "WEEKLY", "WEEKLY", "MONTHLY", "YEARLY", "HOURLY"]
                      if clock[0] != "date" else ["DAILY", "WEEKLY", "WEEKLY", "MONTHLY", "YEARLY"])
    parts = [f"FREQ={freq}"]
    if freq == "HOURLY":
        parts.append(f"INTERVAL={rng.choice([6, 12, 25])}")
    elif rng.random() < 0.4:
        parts.append(f"INTERVAL={rng.choice([2, 3, 5])}")
    if freq == "WEEKLY" and rng.random() < 0.6:
        parts.append("BYDAY=" + ",".join(sorted(rng.sample(DAYS, rng.randint(1, 3)), key=DAYS.index)))
    if freq == "MONTHLY":
        pick = rng.random()
        if pick < 0.3:
            parts.append("BYMONTHDAY=" + ",".join(map(str, rng.sample([1, 15, 28, 30, 31, -1], 2))))
        elif pick < 0.6:
            parts.append(f"BYDAY={rng.choice(['1', '2', '-1', '3'])}{rng.choice(DAYS)}")
        elif pick < 0.8:
            parts.append("BYDAY=MO,TU,WE,TH,FR;BYSETPOS=" + rng.choice(["1", "-1", "1,-1"]))
    if freq == "YEARLY" and rng.random() < 0.5:
        parts.append(f"BYMONTH={rng.choice(['3', '6,9', '10', '1,4,7,10'])}")
        if rng.random() < 0.5:
            parts.append(f"BYDAY={rng.choice(['1', '-1'])}{rng.choice(DAYS)}")
    if freq == "DAILY" and rng.random() < 0.3:
        parts.append("BYDAY=MO,TU,WE,TH,FR")
    if freq == "DAILY" and clock[0] != "date" and rng.random() < 0.2:
        parts.append("BYHOUR=8,17")
    if rng.random() < 0.15:
        parts.append(f"WKST={rng.choice(['MO', 'SU'])}")
    end = rng.random()
    if end < 0.35:
        parts.append(f"COUNT={rng.randint(1, 25)}")
    elif end < 0.65:
        until = start + dt.timedelta(days=rng.randint(5, 200), hours=rng.randint(0, 23))
        if clock[0] == "date":
            parts.append("UNTIL=" + until.strftime("%Y%m%d"))
        elif clock[0] == "floating":
            parts.append("UNTIL=" + until.strftime("%Y%m%dT%H%M%S"))
        else:
            parts.append("UNTIL=" + until.strftime("%Y%m%dT%H%M%SZ"))
    return ";".join(parts)


def instances(rule, start, limit=60):
    """Some instances of `rule` from the naive `start` (to pick RECURRENCE-IDs and EXDATEs)."""
    # UNTIL read on the local clock (off by the zone's offset at most: picks need not be exact).
    parts = [p.rstrip("Z") for p in rule.split(";")]
    try:
        it = du.rrulestr(";".join(parts), dtstart=start)
    except (ValueError, TypeError):
        return [start]
    out = []
    for value in it:
        out.append(value)
        if len(out) >= limit:
            break
    return out or [start]


def event_lines(uid, clock, start, length, rng, extra):
    lines = ["BEGIN:VEVENT", f"UID:{uid}", "DTSTAMP:20250101T000000Z", prop("DTSTART", start, clock)]
    if clock[0] == "date":
        days = max(1, length.days)
        if rng.random() < 0.3:
            lines.append(f"DURATION:P{days}D")
        else:
            lines.append(prop("DTEND", start + dt.timedelta(days=days), clock))
    elif rng.random() < 0.3:
        hours, minutes = divmod(int(length.total_seconds()) // 60, 60)
        lines.append(f"DURATION:{rng.choice(['P1D', f'PT{hours}H{minutes}M', 'P1DT2H'])}")
    else:
        lines.append(prop("DTEND", start + length, clock))
    return lines + extra


def random_series(rng, uid, window):
    clock = rng.choice(CLOCKS)
    w_start, w_end = window
    base = w_start.replace(tzinfo=None) - dt.timedelta(days=rng.choice([0, 3, 20, 90, 400]))
    start = base + dt.timedelta(days=rng.randint(0, 30), hours=rng.randint(0, 23),
                                minutes=rng.choice([0, 0, 30, 45]))
    if clock[0] == "date":
        start = dt.datetime.combine(start.date(), dt.time())
        length = dt.timedelta(days=rng.choice([1, 1, 2, 3]))
    else:
        length = dt.timedelta(minutes=rng.choice([0, 30, 60, 90, 180, 1500]))
    master_extra = []
    events = []
    blocks = {clock[2]} if clock[2] else set()
    recurring = rng.random() < 0.9
    picks = [start]
    if recurring:
        rule = random_rule(rng, clock, start)
        master_extra.append("RRULE:" + rule)
        picks = instances(rule, start)
    if rng.random() < 0.2:
        master_extra.append(f"SEQUENCE:{rng.randint(0, 3)}")
    near = [p for p in picks if w_start.replace(tzinfo=None) - dt.timedelta(days=10) <= p
            <= w_end.replace(tzinfo=None) + dt.timedelta(days=2)] or picks
    for _ in range(rng.choice([0, 0, 1, 2])):
        ex = rng.choice(near)
        how = rng.random()
        if how < 0.6:
            master_extra.append(prop("EXDATE", ex, clock))
        elif how < 0.8 and clock[0] not in ("date", "floating", "utc"):
            # The same instant in UTC.
            instant = localize(ex, clock)
            if instant is not None:
                master_extra.append("EXDATE:" + instant.strftime("%Y%m%dT%H%M%SZ"))
        else:
            master_extra.append("EXDATE;VALUE=DATE:" + ex.strftime("%Y%m%d"))
    for _ in range(rng.choice([0, 0, 1])):
        extra_start = rng.choice(near) + dt.timedelta(hours=rng.choice([3, 26, -50]))
        if clock[0] == "date":
            master_extra.append(prop("RDATE", extra_start, clock))
        elif rng.random() < 0.5 or clock[0] in ("floating",):
            master_extra.append(prop("RDATE", extra_start, clock))
        else:
            params, a = stamp(extra_start, clock)
            _, b = stamp(extra_start + dt.timedelta(hours=2), clock)
            master_extra.append(f"RDATE;VALUE=PERIOD{params}:{a}/{b}")
    events.append(event_lines(uid, clock, start, length, rng, master_extra))
    if recurring:
        for _ in range(rng.choice([0, 1, 1, 2, 3])):
            events.append(random_override(rng, uid, clock, picks, near, length, window))
    return events, blocks


def localize(naive, clock):
    kind, tzid, _ = clock
    zones = {"W. Europe Standard Time": "Europe/Berlin", "Eastern Standard Time": "America/New_York",
             "Custom Office Time": "Europe/Berlin", "Custom East": "America/New_York"}
    import zoneinfo
    if tzid == "Fixed Plus Half":
        return naive.replace(tzinfo=dt.timezone(dt.timedelta(hours=5, minutes=30))).astimezone(UTC)
    name = zones.get(tzid, tzid)
    try:
        return naive.replace(tzinfo=zoneinfo.ZoneInfo(name)).astimezone(UTC)
    except Exception:  # noqa: BLE001
        return None


def random_override(rng, uid, clock, picks, near, length, window):
    w_start, w_end = (w.replace(tzinfo=None) for w in window)
    how = rng.choice(["inside", "into", "out", "far-before", "far-after", "same", "taf"])
    if how == "far-before":
        rid = picks[min(len(picks) - 1, rng.randint(0, 3))]
    elif how == "far-after":
        rid = picks[max(0, len(picks) - 1 - rng.randint(0, 3))]
    else:
        rid = rng.choice(near)
    if how == "inside":
        start = rid + dt.timedelta(hours=rng.choice([1, 2, 24, -2]))
    elif how in ("into", "far-before", "far-after"):
        start = w_start + (w_end - w_start) * rng.random()
        start = start.replace(second=0, microsecond=0)
    elif how == "out":
        start = w_end + dt.timedelta(days=rng.randint(3, 40))
    elif how == "taf":
        start = rid + dt.timedelta(hours=rng.choice([1, -3, 48]))
    else:
        start = rid
    if clock[0] == "date":
        start = dt.datetime.combine(start.date(), dt.time())
    extra = []
    range_param = ";RANGE=THISANDFUTURE" if how == "taf" else ""
    if rng.random() < 0.1 and clock[0] not in ("date", "floating", "utc"):
        instant = localize(rid, clock)
        extra.append(f"RECURRENCE-ID{range_param}:" + instant.strftime("%Y%m%dT%H%M%SZ"))
    else:
        extra.append(prop("RECURRENCE-ID", rid, clock, range_param))
    if rng.random() < 0.25:
        extra.append("STATUS:CANCELLED")
    if rng.random() < 0.3:
        extra.append(f"SEQUENCE:{rng.randint(0, 3)}")
    extra.append(f"SUMMARY:override {how}")
    return event_lines(uid, clock, start, length, rng, extra)


def random_window(rng):
    pick = rng.random()
    if pick < 0.4:
        day = rng.choice(DST_DAYS)
    else:
        day = dt.date(2025, 1, 1) + dt.timedelta(days=rng.randint(0, 330))
    start = dt.datetime.combine(day, dt.time()) + dt.timedelta(
        hours=rng.choice([0, 0, 1, 2, 3, 7, 13, 23]), minutes=rng.choice([0, 0, 17, 30]))
    length = rng.choice([dt.timedelta(hours=5), dt.timedelta(days=1), dt.timedelta(days=7),
                         dt.timedelta(days=31), dt.timedelta(days=95, hours=11, minutes=3)])
    return start.replace(tzinfo=UTC), (start + length).replace(tzinfo=UTC)


def calendar_text(blocks, events):
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//flexysync fuzz//EN"]
    for block in sorted(b for b in blocks if b):
        lines.extend(block.split("\n"))
    for event in events:
        lines.extend(event)
        lines.append("END:VEVENT")
    lines.append("END:VCALENDAR")
    return "\r\n".join(lines) + "\r\n"


def generate(rng):
    window = random_window(rng)
    events, blocks = [], set()
    for n in range(rng.randint(1, 3)):
        series, used = random_series(rng, f"u{n}", window)
        events.extend(series)
        blocks |= used
    return window, blocks, events


def iso(at):
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def norm(o, plain):
    # python gives every occurrence a RECURRENCE-ID, flexysync only those of a series.
    rid = None if o["uid"] in plain else o["recurrence_id"]
    return (o["uid"], rid[:10] if rid else None, o["start"], o["end"], o.get("status"))


def run_both(binary, text, window, workdir):
    path = os.path.join(workdir, "cal.ics")
    with open(path, "w") as f:
        f.write(text)
    try:
        theirs = ical_python.expand(text.encode(), window[0].strftime("%Y-%m-%dT%H:%M:%S"),
                                    window[1].strftime("%Y-%m-%dT%H:%M:%S"), UTC)
    except Exception as error:  # noqa: BLE001 - python's failures are counted apart
        return None, f"python: {type(error).__name__}"
    run = subprocess.run([binary, "feed", "occurrences", "--file", path, "--from", iso(window[0]),
                          "--to", iso(window[1]), "--json"], capture_output=True, timeout=60)
    if run.returncode != 0:
        return None, "flexysync failed: " + run.stderr.decode(errors="replace")[-200:]
    ours = json.loads(run.stdout)
    return (ours, theirs), None


def differences(ours, theirs):
    """Kinds of difference: lost / extra / wrong time / status / recurrence id only, with uid."""
    plain = {o["uid"] for o in ours if o["recurrence_id"] is None}
    a = {norm(o, plain) for o in ours}
    b = {norm(o, plain) for o in theirs}
    only_ours, only_theirs = a - b, b - a
    kinds = set()
    # Same occurrence, other RECURRENCE-ID (python gives a THISANDFUTURE's to all it moves).
    timed_ours = {(k[0], k[2], k[3], k[4]) for k in only_ours}
    timed_theirs = {(k[0], k[2], k[3], k[4]) for k in only_theirs}
    for k in timed_ours & timed_theirs:
        kinds.add(("recurrence-id-only", k[0]))
    only_ours = {k for k in only_ours if (k[0], k[2], k[3], k[4]) not in timed_theirs}
    only_theirs = {k for k in only_theirs if (k[0], k[2], k[3], k[4]) not in timed_ours}
    by_rid_ours = {(k[0], k[1]): k for k in only_ours}
    by_rid_theirs = {(k[0], k[1]): k for k in only_theirs}
    for key, k in by_rid_theirs.items():
        mine = by_rid_ours.get(key)
        if mine is None:
            kinds.add(("lost", k[0]))
        elif mine[2:4] != k[2:4]:
            kinds.add(("wrong-time", k[0]))
        else:
            kinds.add(("status", k[0]))
    for key, k in by_rid_ours.items():
        if key not in by_rid_theirs:
            kinds.add(("extra", k[0]))
    # Duplicates count too (a set hides them).
    if len(ours) != len(a) or len(theirs) != len(b):
        kinds.add(("duplicate", ""))
    return kinds


def features(blocks, events):
    """What a shrunk calendar still contains, as a bucket key."""
    seen = set()
    for event in events:
        for line in event:
            name = line.split(":", 1)[0].split(";", 1)[0]
            if name in ("BEGIN", "UID", "DTSTAMP", "SUMMARY", "DTSTART"):
                continue
            if name == "RRULE":
                rule = line.split(":", 1)[1]
                seen.add("RRULE:" + ",".join(sorted(p.split("=")[0] for p in rule.split(";")
                                                    if not p.startswith("FREQ"))))
                seen.add(rule.split(";")[0])
            elif name == "RECURRENCE-ID" and "RANGE" in line:
                seen.add("THISANDFUTURE")
            elif name == "EXDATE" and "VALUE=DATE" in line:
                seen.add("EXDATE-DATE")
            elif name == "RDATE" and "PERIOD" in line:
                seen.add("RDATE-PERIOD")
            elif name == "STATUS":
                seen.add("CANCELLED")
            else:
                seen.add(name)
        start = event[3]
        if "VALUE=DATE" in start:
            seen.add("all-day")
        elif "TZID=" in start:
            seen.add("tzid")
        elif start.endswith("Z"):
            seen.add("utc")
        else:
            seen.add("floating")
    return tuple(sorted(seen))


def known_class(kind, events):
    """The deliberate or RFC-silent difference a shrunk calendar shows, if it is a known one
    (verdicts in the report of issue 13's hunt); `None` for a new one."""
    lines = [line for event in events for line in event]
    rids = [_rid_instant(line) for line in lines if line.startswith("RECURRENCE-ID")]
    exdays = {line.split(":", 1)[1][:8] for line in lines if line.startswith("EXDATE")}
    masters = [e for e in events if any(line.startswith("RRULE") for line in e)]
    if len(rids) != len(set(rids)):
        return "two overrides of one instance, same SEQUENCE (flexysync: the later one)"
    if any(rid[:8] in exdays for rid in rids):
        return "override of an instance an EXDATE removed (flexysync drops it, python keeps it)"
    if "THISANDFUTURE" in "".join(lines) and ("PERIOD" in "".join(lines) or len(rids) > 1):
        return "THISANDFUTURE with an RDATE PERIOD or another override of the same instance"
    for master in masters:
        rule = next(line[6:] for line in master if line.startswith("RRULE"))
        start = master[3].split(":", 1)[1]
        if "COUNT=" in rule and "VALUE=DATE" not in master[3]:
            naive = dt.datetime.strptime(start.rstrip("Z"), "%Y%m%dT%H%M%S")
            if instances(rule, naive, 1)[0] != naive or _first_is_extra(rule, naive):
                return "COUNT with a DTSTART the rule does not produce (DTSTART counts, RFC 5545)"
        elif "COUNT=" in rule:
            naive = dt.datetime.strptime(start[:8], "%Y%m%d")
            if _first_is_extra(rule, naive):
                return "COUNT with a DTSTART the rule does not produce (DTSTART counts, RFC 5545)"
    if kind[0] == "wrong-time" and any(line.startswith("DTEND") for line in lines):
        return "DTEND across a DST change: exact duration (RFC 5545 3.8.5.3), python nominal"
    if kind[0] == "wrong-time" and any(line.startswith("DURATION") for line in lines):
        return "DURATION across a DST or its fold: hours exact (RFC 5545 3.3.6), python wall-clock"
    if kind[0] == "wrong-time" and "PERIOD" in "".join(lines):
        return "RDATE PERIOD beside a rule instance: python gives the instance the period's end"
    return None


def _rid_instant(line):
    """A RECURRENCE-ID as an instant where it can be one (UTC or TZID), else as written."""
    params, value = line.split(":", 1)
    tzid = next((p[5:] for p in params.split(";") if p.startswith("TZID=")), None)
    if tzid and "T" in value:
        naive = dt.datetime.strptime(value, "%Y%m%dT%H%M%S")
        instant = localize(naive, ("iana", tzid, None))
        if instant is not None:
            return instant.strftime("%Y%m%dT%H%M%SZ")
    return value


def _first_is_extra(rule, naive):
    """Whether dateutil, given `naive` as DTSTART, would not produce it from the rule."""
    parts = [p.rstrip("Z") for p in rule.split(";") if not p.startswith(("COUNT", "UNTIL"))]
    try:
        made = du.rrulestr(";".join(parts), dtstart=naive)
        return made.after(naive, inc=True) != naive
    except (ValueError, TypeError):
        return False


def shrink(binary, window, blocks, events, kind, workdir):
    """Drops events and lines while the difference `kind` stays."""
    def still(evs):
        result, _ = run_both(binary, calendar_text(blocks, evs), window, workdir)
        return result is not None and kind in differences(*result)

    uid = kind[1]
    events = [e for e in events if not uid or e[1] == f"UID:{uid}"] or events
    if not still(events):
        return events
    changed = True
    while changed:
        changed = False
        for i in range(len(events)):
            trial = events[:i] + events[i + 1:]
            if any(line.startswith("RRULE") for line in events[i]):
                continue
            if trial and still(trial):
                events, changed = trial, True
                break
        for i, event in enumerate(events):
            for j in range(len(event) - 1, 3, -1):
                if not event[j].startswith(("EXDATE", "RDATE", "STATUS", "SEQUENCE", "DTEND",
                                            "DURATION")):
                    continue
                trial = events[:i] + [event[:j] + event[j + 1:]] + events[i + 1:]
                if still(trial):
                    events, event, changed = trial, trial[i], True
    return events


def main():
    argv = sys.argv[1:]
    binary = argv[0]
    count = int(argv[argv.index("--count") + 1]) if "--count" in argv else 300
    seed = int(argv[argv.index("--seed") + 1]) if "--seed" in argv else 1
    keep = argv[argv.index("--keep") + 1] if "--keep" in argv else None
    rng = random.Random(seed)
    buckets = defaultdict(list)
    python_failed, agreed = 0, 0
    with tempfile.TemporaryDirectory() as workdir:
        for n in range(count):
            window, blocks, events = generate(rng)
            result, why = run_both(binary, calendar_text(blocks, events), window, workdir)
            if result is None:
                python_failed += why.startswith("python")
                if not why.startswith("python"):
                    buckets[("flexysync-failed", ())].append((n, window, calendar_text(blocks, events)))
                continue
            kinds = differences(*result)
            if not kinds:
                agreed += 1
                continue
            for kind in sorted(kinds):
                shrunk = shrink(binary, window, blocks, events, kind, workdir)
                label = known_class(kind, shrunk)
                key = (f"{kind[0]} [known: {label}]", ()) if label else (kind[0], features(blocks, shrunk))
                buckets[key].append((n, window, calendar_text(blocks, shrunk)))
    compared = count - python_failed
    print(f"{count} calendars (seed {seed}), {compared} compared, {agreed} agree, "
          f"{python_failed} python could not read")
    for key, found in sorted(buckets.items(), key=lambda kv: -len(kv[1])):
        n, window, text = min(found, key=lambda f: len(f[2]))
        print(f"\n== {key[0]} x{len(found)}: {' '.join(key[1])}")
        print(f"   window {iso(window[0])} .. {iso(window[1])} (calendar #{n})")
        if keep:
            os.makedirs(keep, exist_ok=True)
            name = f"{key[0]}-{abs(hash(key)) % 10**6}.ics"
            with open(os.path.join(keep, name), "w") as f:
                f.write(text)
            print(f"   kept {name}")
        body = [line for line in text.split("\r\n")
                if line and not line.startswith(("BEGIN:VCALENDAR", "VERSION", "PRODID",
                                                 "END:VCALENDAR", "DTSTAMP"))]
        # A VTIMEZONE block is named, not shown.
        shown, in_zone = [], False
        for line in body:
            if line == "BEGIN:VTIMEZONE":
                in_zone = True
            elif line == "END:VTIMEZONE":
                in_zone = False
            elif in_zone and line.startswith("TZID:"):
                shown.append(f"(VTIMEZONE {line[5:]})")
            elif not in_zone:
                shown.append(line)
        print("   " + "\n   ".join(shown))
        with tempfile.TemporaryDirectory() as workdir:
            result, _ = run_both(binary, text, window, workdir)
        if result:
            ours, theirs = result
            plain = {o["uid"] for o in ours if o["recurrence_id"] is None}
            a = {norm(o, plain) for o in ours}
            b = {norm(o, plain) for o in theirs}
            ours_only, theirs_only = sorted(a - b, key=str), sorted(b - a, key=str)
            for k in ours_only[:4]:
                print(f"   flexysync only: {k}")
            for k in theirs_only[:4]:
                print(f"   python only:    {k}")
            if len(ours_only) > 4 or len(theirs_only) > 4:
                print(f"   ... {len(ours_only)} and {len(theirs_only)} in all")

if __name__ == "__main__":
    main()
