"""The units of work of a run, one folder per stage, no Prefect and no SQL.

`fetch/` (the network edge), `feeds/` (bytes → ParsedFeed), `page/` (HTML → Article), `run/`
(the run's decisions); the modules beside them are the leaves every stage may import.
"""
