"""The gate's scenarios, shipped with the package: ``ivhsuite gate`` runs them, and so do
``pytest contract_tests`` in a checkout and ``pytest --pyargs ivhsuite.contract_tests`` anywhere.

Installed, these files live in site-packages, where a run must write nothing; pytest's
assertion rewriting would leave its own ``.pyc`` files beside them. pytest imports this
package before the conftest and the tests, so writing bytecode stops here, for this process.
"""

import sys

sys.dont_write_bytecode = True
