"""python -m apikley_kling.contract: the contract check (see apikley_kling.contract)."""

from . import main

raise SystemExit(main())
