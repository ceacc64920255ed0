"""Independent expansion oracle for the integration tests.

Reads every .ics file in DIR and prints one line per meeting occurrence
starting in [START, END) that has an ORGANIZER or ATTENDEE other than SELF:
"ev:<UID>@<RECURRENCE-ID as YYYYMMDDTHHMMSSZ>" (the key the Go sync
stores), a space and the occurrence's start in the same format.
Expansion is vobject's getrruleset (dateutil: RRULE, RDATE, EXDATE), with
RECURRENCE-ID overrides applied here; an override without ORGANIZER and
ATTENDEEs has its master's (the sync's documented choice). Dates
(all-day) are midnight UTC.

usage: expand_oracle.py DIR START END SELF   (START/END as 20260101T000000Z)
"""
import datetime as dt
import os
import sys

import vobject

UTC = dt.timezone.utc


def utc(v):
    if isinstance(v, dt.datetime):
        return v.replace(tzinfo=UTC) if v.tzinfo is None else v.astimezone(UTC)
    return dt.datetime(v.year, v.month, v.day, tzinfo=UTC)


def others(ev, me):
    people = [ev.organizer] if hasattr(ev, "organizer") else []
    people += ev.contents.get("attendee", [])
    return any(p.value.lower().replace("mailto:", "") != me for p in people)


def main():
    folder, me = sys.argv[1], sys.argv[4]
    start, end = (dt.datetime.strptime(a, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC) for a in sys.argv[2:4])
    for name in sorted(os.listdir(folder)):
        if not name.endswith(".ics"):
            continue
        cal = vobject.readOne(open(os.path.join(folder, name), encoding="utf-8").read())
        events = cal.contents.get("vevent", [])
        overrides = {utc(e.recurrence_id.value): e for e in events if hasattr(e, "recurrence_id")}
        masters = {e.uid.value: e for e in events if not hasattr(e, "recurrence_id")}
        for ev in events:
            uid = ev.uid.value
            if hasattr(ev, "recurrence_id"):
                people = ev if hasattr(ev, "organizer") or "attendee" in ev.contents else masters.get(uid, ev)
                if start <= utc(ev.dtstart.value) < end and others(people, me):
                    print(f"ev:{uid}@{utc(ev.recurrence_id.value):%Y%m%dT%H%M%SZ} {utc(ev.dtstart.value):%Y%m%dT%H%M%SZ}")
                continue
            for inst in ev.getrruleset(addRDate=True) or [ev.dtstart.value]:
                at = utc(inst)
                if at >= end:
                    break
                if at not in overrides and at >= start and others(ev, me):
                    print(f"ev:{uid}@{at:%Y%m%dT%H%M%SZ} {at:%Y%m%dT%H%M%SZ}")


main()
