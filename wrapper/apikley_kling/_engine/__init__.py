"""The engine: every decision of the SDK, IO-free, shared by Kling and AsyncKling.

config    defaults, environment names, the key, the base URL check
effects   what an operation asks its shell to do (Call, Sleep, SleepOrWake, Fetch, Emit)
decode    an answer -> a value or a typed error
retry     which failure is retried, how long to wait (RetryPolicy)
loop      the one request loop: budget, retries, ambiguity of creates
schedule  when to poll, request budgets, the many-task Waiter
tasks     get, create, wait, generate;  files: upload, download-url, download

Loaded when the first client is built (config and schedule, which the public surface
needs, are light), so `import apikley_kling` stays about as cheap as `import httpx`.
"""
