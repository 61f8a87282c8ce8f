"""The gate's generated half: schemathesis from the spec, in-process, judged by the contract.

``promises`` (which promise each schemathesis check guards), ``checks`` (schemathesis checks over
the contract's judge), ``hooks`` and ``astlock`` (loaded by schemathesis through ``schemathesis.toml``),
``in_process`` (schemathesis run in this process), ``parts`` (the half as parts at once), ``stopper``
(stops a part on another thread), ``merge_reports`` (folds the parts' reports into one set).
"""
