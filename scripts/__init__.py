"""The project's tools, run from the checkout's root as modules: `python -m scripts.regen`,
`python -m scripts.spec_diff OLD NEW`, `python -m scripts.contract_check`. `scripts/dev.py` alone is also run as a
file (`python3 scripts/dev.py demo|test`): it uses only the standard library and sets up `.venv/` first."""
