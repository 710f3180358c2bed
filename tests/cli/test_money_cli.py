"""`kling generate --dry-run` and `--max-credits`, `kling models M`'s price line: figures from the bundled card."""

from __future__ import annotations

import json
from pathlib import Path

from apikley_kling import exit_codes

from ..card_values import BY, DEFAULT, ENTRY, UNPRICED, price
from ..cli_env import LIGHTHOUSE, SIM_KEY, CliEnv, OfflineCli


def test_dry_run_prints_the_estimate_and_sends_nothing(offline_cli: OfflineCli, tmp_path: Path) -> None:
    value = BY.choices[-1] if BY.choices else BY.default
    args = ["generate", "-i", str(LIGHTHOUSE), "-p", "waves", BY.option, str(value), "--dry-run"]
    r = offline_cli(*args, env={"APIKLEY_API_KEY": None})  # no key needed either
    assert r.exit_code == 0, r.stderr
    assert offline_cli.requests == 0
    assert f"{price(value):g} credits" in r.stdout and ENTRY.source in r.stdout and ENTRY.read in r.stdout
    assert "nothing sent" in r.stdout
    r = offline_cli(*args, "--json", env={"APIKLEY_API_KEY": None})
    doc = json.loads(r.stdout)
    assert doc["dry_run"] and doc["estimate"]["credits"] == price(value)
    assert doc["estimate"]["fields"] == {BY.name: value}
    assert doc["estimate"]["source"] == {"card": "bundled", "url": ENTRY.source, "read": ENTRY.read}
    assert offline_cli.requests == 0 and not list(tmp_path.iterdir())


def test_dry_run_says_when_the_price_is_unknown(offline_cli: OfflineCli) -> None:
    sample = UNPRICED.sample_input()
    r = offline_cli("generate", "--model", UNPRICED.id, "--input", json.dumps(sample), "--dry-run", "--json")
    assert r.exit_code == 0, r.stderr
    found = json.loads(r.stdout)["estimate"]
    assert found["credits"] is None and found["source"] is None and UNPRICED.id in found["reason"]
    assert offline_cli.requests == 0


def test_max_credits_below_the_estimate_exits_8_and_sends_nothing(kling_cli: CliEnv, tmp_path: Path) -> None:
    cost = price(BY.default)
    base = ["generate", "-i", str(LIGHTHOUSE), "-p", "waves", "-o", str(tmp_path / "o.mp4")]
    r = kling_cli(*base, "--max-credits", str(cost - 1))
    assert r.exit_code == exit_codes.SPEND == 8, r.stderr
    assert "SpendLimitExceeded" in r.stderr and f"max_credits={cost - 1:g}" in r.stderr
    assert (
        kling_cli.sim.counters.requests["createTask"] == 0 and kling_cli.sim.counters.requests["fileStreamUpload"] == 0
    )
    r = kling_cli(*base, "--max-credits", str(cost), "--json")
    assert r.exit_code == 0, r.stderr
    assert kling_cli.sim.money.credits - kling_cli.sim.credits(SIM_KEY) == cost


def test_max_credits_refuses_an_unknown_price(kling_cli: CliEnv, tmp_path: Path) -> None:
    sample = UNPRICED.sample_input()
    r = kling_cli(
        "generate", "--model", UNPRICED.id, "--input", json.dumps(sample), "--max-credits", "1000", "-o", str(tmp_path)
    )
    assert r.exit_code == exit_codes.SPEND, r.stderr
    assert "unknown" in r.stderr and kling_cli.sim.counters.requests["createTask"] == 0
    # Allowed explicitly: past the cap, the create is sent (the simulator then judges the sample's URLs itself).
    r = kling_cli(
        "generate", "--model", UNPRICED.id, "--input", json.dumps(sample), "--max-credits", "1000",
        "--allow-unknown-price", "-o", str(tmp_path), "--json",
    )  # fmt: skip
    assert r.exit_code != exit_codes.SPEND, r.stderr
    assert kling_cli.sim.counters.requests["createTask"] == 1


def test_models_shows_the_price_rule(offline_cli: OfflineCli) -> None:
    r = offline_cli("models", DEFAULT.id)
    line = next(x for x in r.stdout.splitlines() if x.startswith("price:"))
    assert ENTRY.rule() in line and ENTRY.source in line and ENTRY.read in line
    r = offline_cli("models", UNPRICED.id)
    assert "price: unknown" in r.stdout
    doc = json.loads(offline_cli("models", DEFAULT.id, "--json").stdout)
    assert doc["price"]["source"] == ENTRY.source and len(doc["price"]["prices"]) == len(ENTRY.rows)
    assert json.loads(offline_cli("models", UNPRICED.id, "--json").stdout)["price"] is None
