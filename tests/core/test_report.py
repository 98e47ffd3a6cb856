"""ResampleReport: contents, JSON round trip, schema hash, near duplicates, provenance."""

from __future__ import annotations

import hashlib
import json
import tracemalloc

import numpy as np
import pandas as pd
import pytest

import smote_core as sc

from ._data import blobs


@pytest.fixture
def fitted():
    X, y = blobs((150, 40, 30), seed=9)
    sampler = sc.SMOTE(random_state=3)
    X_res, y_res = sampler.fit_resample(X, y)
    return sampler, X, y, X_res, y_res


def test_report_contents(fitted):
    sampler = fitted[0]
    r = sampler.report_
    assert r.variant == "SMOTE"
    assert r.seed == 3 and r.params["random_state"] == 3 and r.params["k_neighbors"] == 5
    assert r.class_counts_before == {"0": 150, "1": 40, "2": 30}
    assert r.class_counts_after == {"0": 150, "1": 150, "2": 150}
    assert r.n_samples_before == 220 and r.n_samples_after == 450
    assert r.n_synthetic == 230 and r.n_removed == 0
    assert r.synthetic_ratio == pytest.approx(230 / 450)
    assert r.duration_seconds > 0
    # RSS need not grow when a small run reuses freed memory, but the output is always counted.
    X_res, y_res = fitted[3], fitted[4]
    assert r.peak_memory_bytes >= X_res.nbytes + y_res.nbytes > 0
    q = r.neighbor_distance_quantiles
    assert list(q) == ["0.0", "0.25", "0.5", "0.75", "0.95", "1.0"]
    expected = np.quantile(sampler.provenance_.distance, [0, 0.25, 0.5, 0.75, 0.95, 1])
    np.testing.assert_allclose(list(q.values()), expected)
    assert r.near_duplicate_threshold == pytest.approx(0.01 * q["0.5"])


def test_to_dict_is_plain_json_and_round_trips(fitted):
    sampler = fitted[0]
    data = sampler.report_.to_dict()
    text = json.dumps(data)
    back = sc.ResampleReport.from_dict(json.loads(text))
    assert back == sampler.report_


def test_from_dict_rejects_unknown_fields(fitted):
    data = fitted[0].report_.to_dict()
    data["colour"] = "red"
    with pytest.raises(ValueError, match=r"Unknown ResampleReport field\(s\): \['colour'\]"):
        sc.ResampleReport.from_dict(data)


def test_params_are_json_safe_for_generators_callables_and_nested_samplers():
    X, y = blobs((60, 20), seed=0)

    def grow(y):
        return {1: 50}

    sampler = sc.SMOTETomek(
        smote=sc.SMOTE(sampling_strategy=grow, random_state=np.random.default_rng(1)),
        random_state=np.random.default_rng(2),
    )
    sampler.fit_resample(X, y)
    params = json.loads(json.dumps(sampler.report_.to_dict()))["params"]
    assert params["random_state"] == "Generator"
    assert params["smote"]["variant"] == "SMOTE"
    assert params["smote"]["params"]["sampling_strategy"].endswith("grow")
    assert sampler.report_.seed is None


def test_schema_and_hash():
    X, y = blobs((60, 20), seed=0)
    frame = pd.DataFrame(X, columns=["amount", "age", "score"])
    s1 = sc.SMOTE(random_state=0)
    s1.fit_resample(frame, y)
    schema = s1.report_.feature_schema
    assert schema == [
        {"name": "amount", "dtype": "float64"},
        {"name": "age", "dtype": "float64"},
        {"name": "score", "dtype": "float64"},
    ]
    canonical = json.dumps([[c["name"], c["dtype"]] for c in schema], separators=(",", ":"))
    assert s1.report_.feature_schema_hash == hashlib.sha256(canonical.encode()).hexdigest()
    s2 = sc.SMOTE(random_state=5)
    s2.fit_resample(frame.iloc[:, :], y)
    assert s2.report_.feature_schema_hash == s1.report_.feature_schema_hash
    s3 = sc.SMOTE(random_state=0)
    s3.fit_resample(frame.astype({"age": np.float32}), y)
    assert s3.report_.feature_schema_hash != s1.report_.feature_schema_hash
    s4 = sc.SMOTE(random_state=0)
    s4.fit_resample(X, y)
    assert [c["name"] for c in s4.report_.feature_schema] == ["x0", "x1", "x2"]


def test_near_duplicate_ratio_matches_brute_force():
    X, y = blobs((100, 30), seed=1)
    X[100:103] = X[100]  # duplicates make exact near-duplicate synthetic rows
    sampler = sc.SMOTE(random_state=0, near_duplicate_threshold=0.05)
    X_res, _ = sampler.fit_resample(X, y)
    syn = X_res[len(X) :]
    d = np.sqrt(((syn[:, None, :] - X[None, :, :]) ** 2).sum(axis=2)).min(axis=1)
    r = sampler.report_
    prov = sampler.provenance_
    own = np.minimum(
        np.linalg.norm(syn - X[prov.parent], axis=1), np.linalg.norm(syn - X[prov.neighbor], axis=1)
    )
    # Rows near their own parent or neighbour are counted without a search; all others searched.
    assert r.near_duplicate_sample_size == int(np.sum(own > 0.05)) < len(syn)
    assert r.near_duplicate_ratio == pytest.approx(np.mean(d <= 0.05))
    assert r.near_duplicate_ratio > 0


def test_near_duplicate_ratio_from_a_sample_stays_close_to_brute_force(monkeypatch):
    from smote_core import _report

    monkeypatch.setattr(_report, "NEAR_DUPLICATE_PAIRS", 1)  # search only the minimum sample
    X, y = blobs((3000, 1500), n_features=3, seed=2)
    X[3000:3400] = np.round(X[3000:3400], 1)  # near-coincident real rows: off-segment hits
    sampler = sc.SMOTE(random_state=0, near_duplicate_threshold=0.03)
    X_res, _ = sampler.fit_resample(X, y)
    syn = X_res[len(X) :]
    d = np.sqrt(((syn[:, None, :] - X[None, :, :]) ** 2).sum(axis=2)).min(axis=1)
    r = sampler.report_
    assert r.near_duplicate_sample_size == _report.NEAR_DUPLICATE_MIN_SAMPLE
    assert r.near_duplicate_ratio == pytest.approx(np.mean(d <= 0.03), abs=0.03)


@pytest.mark.parametrize(("threshold", "ratio"), [(1e9, 1.0), (0.0, 0.0)])
def test_near_duplicate_threshold_extremes(threshold, ratio):
    X, y = blobs((100, 30), seed=1)
    sampler = sc.SMOTE(random_state=0, near_duplicate_threshold=threshold)
    sampler.fit_resample(X, y)
    assert sampler.report_.near_duplicate_ratio == ratio
    assert sampler.report_.near_duplicate_threshold == threshold


def test_provenance_sample_is_bounded_and_consistent():
    X, y = blobs((400, 30), seed=2)
    sampler = sc.SMOTE(random_state=0)
    sampler.fit_resample(X, y)
    sample = sampler.report_.provenance_sample
    prov = sampler.provenance_
    assert len(prov) == 370 and len(sample) == 100
    rows = {int(r): i for i, r in enumerate(prov.row)}
    for entry in sample:
        i = rows[entry["row"]]
        assert entry["parent"] == prov.parent[i] and entry["neighbor"] == prov.neighbor[i]
        assert entry["gap"] == prov.gap[i] and entry["distance"] == prov.distance[i]


def test_provenance_repr_is_short_and_informative():
    # The arrays have one entry per synthetic row; printing them (even numpy's "..." summary
    # of five of them) buried a notebook cell. The repr names the count and the fields.
    X, y = blobs((20_000, 500), seed=2)
    sampler = sc.SMOTE(random_state=0)
    sampler.fit_resample(X, y)
    text = repr(sampler.provenance_)
    assert len(text) < 200
    assert text == ("Provenance(n_synthetic=19500, fields=row, parent, neighbor, gap, distance)")
    assert repr(sc.Provenance.empty()) == (
        "Provenance(n_synthetic=0, fields=row, parent, neighbor, gap, distance)"
    )


def test_cleaner_report():
    X, y = blobs((120, 40), seed=2)
    sampler = sc.TomekLinks(sampling_strategy="all")
    X_res, _ = sampler.fit_resample(X, y)
    r = sampler.report_
    assert r.n_synthetic == 0 and r.synthetic_ratio == 0.0
    assert r.n_removed == len(X) - len(X_res) > 0
    assert r.near_duplicate_ratio is None and r.neighbor_distance_quantiles == {}
    assert sum(r.class_counts_after.values()) == len(X_res)


def test_memory_measure_leaves_tracemalloc_alone():
    X, y = blobs((60, 20), seed=0)
    sc.SMOTE(random_state=0).fit_resample(X, y)
    assert not tracemalloc.is_tracing()
    tracemalloc.start()
    try:
        sc.SMOTE(random_state=0).fit_resample(X, y)
        assert tracemalloc.is_tracing()
    finally:
        tracemalloc.stop()


def test_measure_reuses_one_sampling_thread(monkeypatch):
    # Starting (and joining) a sampler thread per block waited for the scheduler: 1-3 ms of a
    # 5 ms fit on a busy machine. One thread per process samples whichever blocks are open.
    import threading

    with sc.Measure():
        pass
    started = []
    real_start = threading.Thread.start
    monkeypatch.setattr(threading.Thread, "start", lambda t: started.append(t) or real_start(t))
    for _ in range(3):
        with sc.Measure() as m:
            block = np.ones(4_000_000)  # 32 MB, resident while the block runs
            del block
    assert started == []
    assert m.duration > 0 and m.peak >= 0


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs fork")
def test_measure_in_a_forked_child():
    # The child has no sampler thread and must not inherit a held lock: it measures anew.
    import os

    with sc.Measure():
        pid = os.fork()
        if pid == 0:  # pragma: no cover - the child reports through its exit code
            try:
                with sc.Measure() as m:
                    np.ones(1_000_000)
                os._exit(0 if m.duration > 0 else 1)
            except BaseException:
                os._exit(2)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


def test_peak_memory_covers_the_output():
    # 1M synthetic rows x 8 float64 = 64 MB, far above malloc's reuse of freed memory.
    X, y = blobs((300, 100), n_features=8, seed=0)
    sampler = sc.SMOTE(sampling_strategy={1: 1_000_100}, random_state=0)
    X_res, _ = sampler.fit_resample(X, y)
    assert sampler.report_.peak_memory_bytes >= 0.9 * X_res[len(X) :].nbytes


def test_peak_memory_of_a_tiny_run_after_a_big_one_is_its_output():
    # The big run leaves freed pages in the allocator; the tiny one reuses them without
    # raising RSS, and must still report the memory its output holds, never 0.
    X, y = blobs((300, 100), n_features=8, seed=0)
    sc.SMOTE(sampling_strategy={1: 500_100}, random_state=0).fit_resample(X, y)
    X, y = blobs((40, 12), seed=1)
    sampler = sc.SMOTE(k_neighbors=3, random_state=0)
    X_res, y_res = sampler.fit_resample(X, y)
    assert sampler.report_.peak_memory_bytes >= X_res.nbytes + y_res.nbytes


@pytest.mark.parametrize(
    "make",
    [
        lambda t: sc.SMOTENC([0], random_state=0, near_duplicate_threshold=t),
        lambda t: sc.SMOTETomek(random_state=0, near_duplicate_threshold=t),
        lambda t: sc.BorderlineSMOTE(
            kind="borderline-2", random_state=0, near_duplicate_threshold=t
        ),
    ],
    ids=["SMOTENC", "SMOTETomek", "Borderline-2"],
)
def test_near_duplicate_ratio_matches_brute_force_for_every_kind_of_sampler(make):
    # SMOTENC measures its continuous features only (every row is searched there); the
    # combined sampler's surviving rows and Borderline-2's steps to other classes are counted
    # from their parent or neighbour where close enough.
    X, y = blobs((160, 60), n_features=3, seed=3)
    X[:, 0] = np.round(X[:, 0])
    X[160:163] = X[160]
    sampler = make(0.05)
    X_res, _ = sampler.fit_resample(X, y)
    n_syn = sampler.report_.n_synthetic
    cols = slice(1, None) if isinstance(sampler, sc.SMOTENC) else slice(None)
    syn = X_res[len(X_res) - n_syn :, cols]
    real = X[:, cols]
    d = np.sqrt(((syn[:, None, :] - real[None, :, :]) ** 2).sum(axis=2)).min(axis=1)
    assert sampler.report_.near_duplicate_ratio == pytest.approx(np.mean(d <= 0.05))
    assert sampler.report_.near_duplicate_ratio > 0
