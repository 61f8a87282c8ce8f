"""The gate's scenario half: pytest runs ``contract_tests/`` against the same run.

``scenario_client`` (the scenarios' client, ``Probe``), ``pytest_plugin`` (pytest glue: markers,
outcomes, findings of ``contract_tests/``).
"""
