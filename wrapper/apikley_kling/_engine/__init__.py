"""The engine: every decision of the SDK, IO-free, shared by Kling and AsyncKling.

No file, environment or network access here (tests/sdk/test_sdk_engine_pure.py scans for it): defaults and
the environment are `apikley_kling._config`; disk and network work are effects the shells perform.

effects   what an operation asks its shell to do (Call, Sleep, SleepOrWake, Fetch, Emit; file work:
          ReadFile, Target, FileSize, CheckMp4, Rename, Remove)
decode    an answer -> a value or a typed error
retry     which failure is retried, how long to wait (RetryPolicy)
loop      the one request loop: budget, retries, ambiguity of creates
schedule  when to poll, request budgets, the many-task Waiter
tasks     TaskOps: get, create, wait;  files: FileOps: upload, download-url, download
core      Core: an Engine (loop) with its TaskOps and FileOps composed over it; credits, generate

Loaded when the first client is built (inbox and schedule, which the public surface
needs, are light), so `import apikley_kling` stays about as cheap as `import httpx`.
"""
