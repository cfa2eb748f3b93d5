#!/usr/bin/env python3
"""Compare a decoder's tagged JSON with the suite's expectation, semantically.

Floats compare by value (nan equal to nan), date-times after normalising: 'T'
or space, 'Z' or '+00:00', trailing zeros of fractional seconds. Usage:
toml_compare.py GOT.json WANT.json; exit 0 if equal, else 1 with a reason.
"""
import json
import math
import re
import sys


def norm_dt(s):
    s = s.replace(" ", "T").replace("t", "T").replace("z", "Z")
    s = re.sub(r"\+00:00$|-00:00$", "Z", s)
    m = re.match(r"^(.*\d\d:\d\d:\d\d)(\.\d+)?(.*)$", s)
    if m:
        frac = (m.group(2) or "").rstrip("0")
        if frac == ".":
            frac = ""
        s = m.group(1) + frac + m.group(3)
    return s


def same(got, want, path):
    if isinstance(want, dict) and set(want.keys()) == {"type", "value"} and isinstance(want["value"], str):
        if not isinstance(got, dict) or got.get("type") != want["type"]:
            return f"{path}: type {got.get('type') if isinstance(got, dict) else type(got).__name__} != {want['type']}"
        g, w = got.get("value"), want["value"]
        t = want["type"]
        if t == "float":
            gf, wf = float(g), float(w.replace("_", ""))
            if math.isnan(wf) and math.isnan(gf):
                return None
            if gf != wf:
                return f"{path}: float {g} != {w}"
            return None
        if t == "integer":
            return None if int(g) == int(w) else f"{path}: integer {g} != {w}"
        if t in ("datetime", "datetime-local", "date-local", "time-local"):
            return None if norm_dt(g) == norm_dt(w) else f"{path}: {t} {g} != {w}"
        return None if g == w else f"{path}: {t} {g!r} != {w!r}"
    if isinstance(want, dict):
        if not isinstance(got, dict):
            return f"{path}: expected a table"
        if set(got.keys()) != set(want.keys()):
            return f"{path}: keys {sorted(got.keys())} != {sorted(want.keys())}"
        for k in want:
            r = same(got[k], want[k], f"{path}.{k}")
            if r:
                return r
        return None
    if isinstance(want, list):
        if not isinstance(got, list) or len(got) != len(want):
            return f"{path}: array length differs"
        for i, (g, w) in enumerate(zip(got, want)):
            r = same(g, w, f"{path}[{i}]")
            if r:
                return r
        return None
    return f"{path}: unexpected {want!r}"


def main():
    with open(sys.argv[1], encoding="utf-8") as f:
        got = json.load(f)
    with open(sys.argv[2], encoding="utf-8") as f:
        want = json.load(f)
    r = same(got, want, "$")
    if r:
        print(r)
        sys.exit(1)


main()
