"""The demo page: JPEG grids, captions, a methods x images timing chart, prompts that land on objects."""

import numpy as np
from scipy import ndimage

import seglab
from seglab.demo import CAPTIONS, demo_prompts, run_demo


def test_region_growing_seed_lands_on_a_coin_not_the_background():
    coins = seglab.data.coins()
    coin_mask = ndimage.binary_fill_holes(coins > 110)  # coins are bright on a dark background
    seeds = demo_prompts("region_growing", coins)["seeds"]
    (x, y), = seeds
    assert coin_mask[y, x]
    grown = seglab.segment(coins, "region_growing", seeds=seeds).labels > 0
    assert 200 <= grown.sum() <= 3000 and coin_mask[grown].mean() > 0.95
    centre = seglab.segment(coins, "region_growing", seeds=[(coins.shape[1] // 2, coins.shape[0] // 2)])
    assert (centre.labels > 0).sum() > 10 * grown.sum()  # the old central seed flooded the background


def test_demo_page_has_jpeg_grids_captions_and_a_timing_chart(tmp_path):
    image = (np.indices((48, 64)).sum(0) % 40 > 20).astype(np.uint8) * 200
    index = run_demo(tmp_path, images={"stripes": image, "flat": image.T.copy()}, method_names=["otsu", "slic"])
    assert (tmp_path / "stripes_grid.jpg").read_bytes()[:3] == b"\xff\xd8\xff"
    assert not list(tmp_path.glob("*.png"))
    text = index.read_text()
    assert f"<dt>otsu</dt><dd>{CAPTIONS['otsu']}</dd>" in text
    assert "<th>method \\ image</th><th>stripes</th><th>flat</th>" in text
    assert text.count("<tr><td>otsu</td>") == 1 and text.count("<tr><td>slic</td>") == 1  # one row per method
    assert set(CAPTIONS) >= {m.name for m in seglab.methods() if m.kind != "deep" and m.web}
