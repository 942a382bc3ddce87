"""The scale benchmark's synthetic passages, measurement and table, at a tiny size."""

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from bench.kb_scale import MIXES, Row, markdown, measure, parse_spec, passages

BASE = [
    "You can return unused items within 30 days of delivery.",
    "UK returns are free with a prepaid Royal Mail label.",
    "We accept Visa, Mastercard, PayPal and Klarna.",
    "Standard delivery takes 3 to 5 working days.",
    "Express delivery arrives the next working day if you order before 2 pm.",
    "Gift cards can't be exchanged for cash.",
    "Reset your password from the sign-in page.",
    "Oil a cast iron pan after washing it so it does not rust.",
    "Garden furniture covers keep rain off your bench in winter.",
    "Use ~~tildes around the words~~ for strikethrough in GitHub Markdown.",
]
QUESTIONS = [
    "how long do I have to send something back",
    "can I pay with paypal",
    "when will my parcel arrive",
    "my cast iron skillet is rusty",
    "how to cross out text on github",
]


@pytest.fixture(scope="module")
def embedded(embedder) -> tuple[np.ndarray, np.ndarray]:
    return embedder.encode(BASE), embedder.encode(QUESTIONS)


def test_synthetic_passages_are_seeded_unit_vectors_near_their_main_base(embedded) -> None:
    base, _ = embedded
    mix = MIXES["main"]
    vectors = passages(base, 500, mix, seed=3)
    np.testing.assert_array_equal(vectors, passages(base, 500, mix, seed=3))
    assert not np.array_equal(vectors, passages(base, 500, mix, seed=4))
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    # Clustered, not uniform noise: every passage leans towards some base text.
    best = (vectors @ base.T).max(axis=1)
    assert np.median(best) > 0.6
    uniform = np.random.default_rng(0).standard_normal((500, base.shape[1]))
    uniform /= np.linalg.norm(uniform, axis=1, keepdims=True)
    assert np.median((uniform @ base.T).max(axis=1)) < 0.3


def test_index_specs_are_parsed_and_unknown_kinds_refused() -> None:
    assert parse_spec("flat") == ("flat", {})
    assert parse_spec("hnsw:m=32,efc=80") == ("hnsw", {"m": 32, "efc": 80})
    with pytest.raises(ValueError, match="unknown"):
        parse_spec("lsh:bits=8")


def test_a_tiny_run_measures_flat_and_the_automatic_index(embedded, tmp_path: Path) -> None:
    base, queries = embedded
    rows = [
        measure(
            kind,
            base,
            queries,
            size=3000,
            mix=MIXES["main"],
            exact_limit=1000,
            repeats=2,
            workdir=tmp_path,
        )
        for kind in ("flat", "auto", "hnsw:m=8,efc=20")
    ]
    flat, auto, hnsw = rows
    assert flat.built == "flat" and flat.recall == 1.0 and flat.check_recall is None
    assert auto.built.startswith("ivf nlist=")
    assert hnsw.built.startswith("hnsw m=8, ef_search=")
    for row in (auto, hnsw):
        assert row.check_recall is not None and row.check_recall >= 0.95
        assert 0.0 <= row.recall <= 1.0
    for row in rows:
        assert row.p95_ms[0] >= row.p50_ms[0] > 0
        assert row.p50_ms[1] <= row.p50_ms[0] <= row.p50_ms[2]
        assert row.all_threads_ms[1] >= row.all_threads_ms[0] > 0
        # 3,000 vectors of 384 floats are 4.4 MB, whatever the index adds.
        assert row.disk_mb > 4.0 and row.peak_rss_mb > row.disk_mb
    assert not list(tmp_path.iterdir())  # the written index was removed

    table = markdown(rows, context="Context line.", rate=[120.0, 100.0, 130.0])
    lines = table.splitlines()
    assert lines[0] == "Context line."
    assert "**120 passages/s** (100–130)" in table
    assert "| 3k | 25.0 s |" in table  # 3,000 passages at 120/s, marked as extrapolated
    header = lines.index(next(line for line in lines if line.startswith("| passages | index |")))
    assert lines[header].count("|") == 12 and "on all threads" in lines[header]
    body = lines[header + 2 :]
    assert [line.split(" | ")[1] for line in body] == ["flat", "auto", "hnsw:m=8,efc=20"]
    assert all(line.count("|") == 12 for line in body)
    assert body[0].endswith("| 1.000 | – |")


def test_a_row_survives_the_json_trip_from_a_child_process() -> None:
    row = Row(3000, "auto", "ivf nlist=32, nprobe=16", 1.5, 0.97, 0.96, [1.0, 0.9, 1.1],
              [2.0, 1.8, 2.5], [1.2, 3.0], 300.0, 4.5)  # fmt: skip
    assert Row(**json.loads(json.dumps(dataclasses.asdict(row)))) == row
