#!/usr/bin/env python3
"""Reference expander: python icalendar + recurring-ical-events, printing the same JSON as
`flexysync feed occurrences` (used to cross-check the corpus and as the benchmark baseline).

    pip install icalendar recurring-ical-events
    python3 benches/ical_python.py FILE FROM TO [ZONE] [--time]
    python3 benches/ical_python.py FILE FROM TO --versus target/release/flexysync [--runs 5]
    python3 benches/ical_python.py --agree DIR target/release/flexysync [FROM TO]

`--versus` times both on the same file in one run (python once: parse, expand, serialize;
flexysync `--runs` times, the median) and prints the ratio and flexysync's peak RSS.
`--agree` compares every .ics under DIR occurrence by occurrence (uid, start, end) and prints
how many files agree. Not run by the tests."""
import datetime as dt
import json
import os
import resource
import signal
import statistics
import subprocess
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


def expand(data, start, end, zone):
    calendar = icalendar.Calendar.from_ical(data)
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
    out.sort(key=lambda o: (o["start"], o["uid"], o["recurrence_id"] or ""))
    return out


def flexysync(binary, path, start, end):
    run = subprocess.run(
        [binary, "feed", "occurrences", "--file", path, "--from", start, "--to", end],
        capture_output=True, timeout=120,
    )
    if run.returncode != 0:
        raise RuntimeError(run.stderr.decode(errors="replace")[-300:])
    return json.loads(run.stdout)


def versus(path, start, end, binary, runs):
    with open(path, "rb") as f:
        data = f.read()
    began, began_cpu = time.perf_counter(), time.process_time()
    found = expand(data, start, end, dt.timezone.utc)
    json.dumps(found)
    python = time.perf_counter() - began
    python_cpu = time.process_time() - began_cpu
    times, cpu = [], []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        began = time.perf_counter()
        subprocess.run(
            [binary, "feed", "occurrences", "--file", path, "--from", start, "--to", end],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True,
        )
        times.append(time.perf_counter() - began)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    rust = statistics.median(times)
    rust_cpu = statistics.median(cpu)
    # Measured apart: a forked child first has python's own memory, so RUSAGE_CHILDREN lies.
    timed = subprocess.run(
        ["/usr/bin/time", "-f", "%M", binary, "feed", "occurrences", "--file", path,
         "--from", start, "--to", end],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=True,
    )
    peak_kib = int(timed.stderr.decode().strip().splitlines()[-1])
    size = os.path.getsize(path)
    print(f"{path}: {size / 1e6:.1f} MB, {len(found)} occurrences (python)")
    print(f"python icalendar + recurring-ical-events: {python:.3f} s wall, {python_cpu:.3f} s CPU")
    print(f"flexysync feed occurrences (median of {runs}): {rust:.3f} s wall, {rust_cpu:.3f} s CPU")
    # On a busy machine wall time mostly measures waiting for a core; CPU time does not.
    print(f"ratio: {python / rust:.0f}x wall, {python_cpu / rust_cpu:.0f}x CPU")
    print(f"flexysync peak RSS: {peak_kib / 1024:.1f} MiB ({peak_kib * 1024 / size:.2f}x the file)")


class Timeout(Exception):
    pass


def agree(directory, binary, start, end):
    def on_alarm(*_):
        raise Timeout()

    signal.signal(signal.SIGALRM, on_alarm)
    files = sorted(
        os.path.join(root, name)
        for root, _, names in os.walk(directory) for name in names if name.endswith(".ics")
    )
    same, differ, python_failed = 0, [], []
    def key(o):
        # An event without UID: python says "None", flexysync makes one up ("no-uid-...").
        uid = "" if o["uid"] == "None" or o["uid"].startswith("no-uid-") else o["uid"]
        return (uid, o["start"], o["end"])

    for path in files:
        with open(path, "rb") as f:
            data = f.read()
        signal.alarm(20)
        try:
            theirs = sorted(map(key, expand(data, start, end, dt.timezone.utc)))
        except Exception as error:  # noqa: BLE001 - any python failure is just counted
            python_failed.append((path, type(error).__name__))
            continue
        finally:
            signal.alarm(0)
        ours = sorted(map(key, flexysync(binary, path, start, end)))
        if ours == theirs:
            same += 1
        else:
            differ.append((path, len(ours), len(theirs)))
    compared = same + len(differ)
    print(f"{len(files)} files, {compared} compared, {same} agree occurrence by occurrence "
          f"({100 * same / max(compared, 1):.0f} %), {len(python_failed)} python could not read")
    for path, ours, theirs in differ:
        print(f"  differ: {os.path.relpath(path, directory)}: flexysync {ours}, python {theirs}")
    for path, why in python_failed:
        print(f"  python failed: {os.path.relpath(path, directory)}: {why}")


def main():
    argv = sys.argv[1:]
    if argv and argv[0] == "--agree":
        directory, binary = argv[1], argv[2]
        start, end = (argv[3], argv[4]) if len(argv) > 4 else ("1990-01-01", "2031-01-01")
        agree(directory, binary, start, end)
        return
    if "--versus" in argv:
        at = argv.index("--versus")
        binary = argv[at + 1]
        runs = int(argv[argv.index("--runs") + 1]) if "--runs" in argv else 5
        path, start, end = argv[0], argv[1], argv[2]
        versus(path, start, end, binary, runs)
        return
    args = [a for a in argv if not a.startswith("--")]
    timed = "--time" in argv
    path, start, end = args[0], args[1], args[2]
    zone = zoneinfo.ZoneInfo(args[3]) if len(args) > 3 else dt.timezone.utc
    with open(path, "rb") as f:
        data = f.read()
    began = time.perf_counter()
    out = expand(data, start, end, zone)
    elapsed = time.perf_counter() - began
    if timed:
        print(f"{len(out)} occurrences in {elapsed:.3f} s", file=sys.stderr)
        return
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
