#!/usr/bin/env python3
"""Compares geoportal's and martin's tiles at z14-16: the same feature ids,
attributes and geometries (both on the 4096 grid). Decodes with PyPI
mapbox-vector-tile. Usage: compare.py OURS_BASE MARTIN_BASE tiles.txt"""
import random
import sys
import urllib.request

import mapbox_vector_tile


def fetch(url):
    with urllib.request.urlopen(url) as r:
        return r.read() if r.status == 200 else b""


def features(data):
    if not data:
        return {}
    layer = mapbox_vector_tile.decode(data).get("land_plots", {"features": []})
    out = {}
    for f in layer["features"]:
        props = {k: (round(v, 6) if isinstance(v, float) else v) for k, v in f["properties"].items()}
        out[f["id"]] = (props, repr(f["geometry"]))
    return out


def main():
    ours, martin, listing = sys.argv[1:4]
    tiles = [tuple(map(int, line.split())) for line in open(listing) if line.strip()]
    tiles = [t for t in tiles if 14 <= t[0] <= 16]
    random.seed(1)
    sample = random.sample(tiles, min(300, len(tiles)))
    same = differ = feats = 0
    for z, x, y in sample:
        a = features(fetch(f"{ours}/{z}/{x}/{y}.mvt"))
        b = features(fetch(f"{martin}/{z}/{x}/{y}"))
        feats += len(a)
        if a == b:
            same += 1
        else:
            differ += 1
            if differ <= 3:
                ids = set(a) ^ set(b)
                print(f"differs z{z}/{x}/{y}: ids only on one side {sorted(ids)[:5]}", file=sys.stderr)
    print(f"content z14-16: {same} of {len(sample)} sampled tiles identical ({feats} features), {differ} differ")


main()
