import json
import time

import numpy as np
import pytest
from conftest import needs_real_data

from digits import bench, config, models, recipes

pytestmark = needs_real_data


def test_reference_recipe_is_the_keras_example():
    assert models.count_params(models.build("keras_simple_convnet")) == 34_826
    reference = recipes.RECIPES["keras example"]
    assert (reference.epochs, reference.batch_size, reference.learning_rate) == (15, 128, 1e-3)


def test_quick_benchmark_produces_well_formed_results():
    out = bench.run(quick=True)
    saved = json.loads((config.reports_dir() / "bench.json").read_text())
    assert saved["quick"] is True and saved["target"] == out["target"]
    for label in ("reference", "fast"):
        r = saved[label]
        assert r["runs"] and all(0 <= c["accuracy"] <= 1 for c in r["runs"][0]["checks"])
        checks = r["runs"][0]["checks"]
        assert [c["seconds"] for c in checks] == sorted(c["seconds"] for c in checks)
        if r["median_seconds_to_target"] is not None:
            assert r["median_seconds_to_target"] <= r["runs"][0]["train_seconds"] + 1e-6
    assert saved["inference"]["fast"]["images_per_second"] > 0
    assert saved["inference"]["fast"]["single_image_ms"] > 0
    assert saved["environment"]["cpu_count"] >= 1
    cost = saved["recipe_cost"]
    assert set(bench.COST_RECIPES) <= set(cost) and cost["machine"]["cores"] >= 1
    for label, (model, recipe) in bench.COST_RECIPES.items():
        r = cost[label]
        cfg = recipes.get(model, recipe)
        assert (r["model"], r["config"], r["epochs"]) == (model, cfg.non_defaults(), cfg.epochs)
        assert r["seconds"] == pytest.approx(r["seconds_per_epoch"] * r["epochs"], rel=0.01, abs=0.1)
    assert cost["ratio"] == pytest.approx(cost["old"]["seconds"] / cost["new"]["seconds"], rel=0.02)
    assert cost["keras example"]["calibration_epochs"] == pytest.approx(15, rel=0.02)  # the calibration itself


def test_time_to_target_stops_the_reference_at_the_target(small_splits):
    cfg = recipes.get("keras_simple_convnet", "keras example", epochs=2, seed=1)
    run, model = bench.time_to_target("keras_simple_convnet", cfg, small_splits, target=0.5, every=5, stop=True)
    assert run["seconds_to_target"] is not None and run["final_accuracy"] >= 0.5
    assert run["epochs_to_target"] < 2  # stopped early, not after both epochs
    assert models.count_params(model) == 34_826


def test_the_clock_stands_still_while_keras_starts_an_epoch():
    y = np.arange(20) % 10
    clock = bench.TimeToTarget(np.zeros((20, 28, 28, 1)), y, target=0.99, every=1_000, stop=False)
    clock.set_model(lambda x, training=False: np.eye(10)[y[: len(x)]])  # always right
    clock.set_params({"steps": 2})
    clock.on_train_begin()
    for epoch in range(2):
        clock.on_epoch_begin(epoch)
        if epoch:
            time.sleep(0.3)  # Keras starting the next epoch's data iterator
        clock.on_train_batch_end(0)
        clock.on_train_batch_end(1)
        clock.on_epoch_end(epoch)
    assert clock.excluded >= 0.3 and clock.elapsed < 0.3
    assert [c["epochs"] for c in clock.checks] == [1.0, 2.0] and clock.reached == clock.checks[0]
