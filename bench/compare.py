#!/usr/bin/env python3
"""Compares two tile servers' land_plots tiles at z14-16: the same feature
ids and attributes, and how many tiles also have identical geometries (on
the 4096 grid). Decodes with PyPI mapbox-vector-tile. A base URL with
/tiles/ is geoportal (`.mvt` suffix), any other martin.
Usage: compare.py BASE_A BASE_B tiles.txt"""
import random
import sys
import urllib.request

import mapbox_vector_tile
from shapely.geometry import shape


def url(base, z, x, y):
    return f"{base}/{z}/{x}/{y}.mvt" if "/tiles/" in base else f"{base}/{z}/{x}/{y}"


def fetch(u):
    with urllib.request.urlopen(u) as r:
        return r.read() if r.status == 200 else b""


def features(data):
    if not data:
        return {}
    layer = mapbox_vector_tile.decode(data).get("land_plots", {"features": []})
    out = {}
    for f in layer["features"]:
        props = {k: (round(v, 6) if isinstance(v, float) else v) for k, v in f["properties"].items()}
        out[f["id"]] = (props, f["geometry"])
    return out


def same_shape(g, h):
    """Equal as point sets on the grid: the same after dropping repeated and
    collinear vertices and normalising ring order and start (shapely)."""
    a, b = shape(g), shape(h)
    return a.simplify(0).normalize().equals_exact(b.simplify(0).normalize(), 0)


def distance(g, h):
    """How far apart the outlines are (Hausdorff distance, grid units)."""
    return shape(g).hausdorff_distance(shape(h))


def main():
    a_base, b_base, listing = sys.argv[1:4]
    tiles = [tuple(map(int, line.split())) for line in open(listing) if line.strip()]
    tiles = [t for t in tiles if 14 <= t[0] <= 16]
    random.seed(1)
    sample = random.sample(tiles, min(300, len(tiles)))
    same_attrs = same_geom = feats = differ = 0
    shapes_equal = shapes_compared = 0
    far = []
    for z, x, y in sample:
        a = features(fetch(url(a_base, z, x, y)))
        b = features(fetch(url(b_base, z, x, y)))
        feats += len(a)
        if {k: v[0] for k, v in a.items()} == {k: v[0] for k, v in b.items()}:
            same_attrs += 1
            same_geom += all(a[k][1] == b[k][1] for k in a)
            for k in a:
                shapes_compared += 1
                if same_shape(a[k][1], b[k][1]):
                    shapes_equal += 1
                else:
                    far.append(distance(a[k][1], b[k][1]))
        else:
            differ += 1
        if differ and differ <= 3 and a.keys() != b.keys():
            ids = set(a) ^ set(b)
            print(f"differs z{z}/{x}/{y}: ids only on one side {sorted(ids)[:5]}", file=sys.stderr)
    print(
        f"content z14-16: {same_attrs} of {len(sample)} sampled tiles with the same ids and attributes "
        f"({feats} features), {same_geom} also with identical geometries; of {shapes_compared} features "
        f"{shapes_equal} have the same shape (vertex order aside); the others' outlines are apart by "
        f"(Hausdorff, grid units) <= 1: {sum(d <= 1 for d in far)}, <= 2: {sum(1 < d <= 2 for d in far)}, "
        f"more: {sum(d > 2 for d in far)} (max {max(far, default=0):.1f})"
    )


main()
