"""The whole reference tensor schedule through Python and through the CLI
(slow: two trainings of 1900 epochs; run with `pytest -m slow`)."""

import pytest

import collop
from conftest import REPO, run_cli, run_cli_json


@pytest.mark.slow
def test_reference_schedule_gives_the_published_errors_and_the_clis(published, cli, tmp_path):
    text = (REPO / "configs" / "reference-tensor.toml").read_text()
    config = tmp_path / "reference-tensor.toml"
    config.write_text(text.replace("../../shared/data/carvalho2026", published.as_posix()))
    run = collop.train(config, tmp_path / "py")
    l1 = {}
    for name in ("normal_-2_0", "ring_normal_2_0.2"):
        ds = collop.load_dataset(published / name)
        l1[name] = collop.rollout(run.model, ds, steps=90).metrics["l1"]
    # README, "Results on the published data": l1 over 90 steps 0.02714 / 0.03903
    assert round(l1["normal_-2_0"], 5) == 0.02714
    assert round(l1["ring_normal_2_0.2"], 5) == 0.03903
    run_cli(cli, "train", config, "-o", tmp_path / "cli")
    rows = run_cli_json(cli, "test", tmp_path / "cli", "--steps", "90")
    cli_l1 = {r["dataset"].rstrip("/").split("/")[-2]: r["l1"] for r in rows if r["model"] != "frozen"}
    assert cli_l1 == l1
