"""Local simulator of the Gusto API (CONTRACTS section 2).

```python
from datetime import date
from gd_sandbox.gusto import GustoSandbox
with GustoSandbox(port=0, seed="demo", today=date(2026, 12, 3)) as gusto:
    gusto.url, gusto.client_id, gusto.client_secret, gusto.company_uuids
```
"""

from gd_sandbox.gusto.app import DEFAULT_API_VERSION, SUPPORTED_API_VERSIONS
from gd_sandbox.gusto.server import GustoSandbox
from gd_sandbox.gusto.webhooks import sign as sign_webhook

__all__ = ["DEFAULT_API_VERSION", "SUPPORTED_API_VERSIONS", "GustoSandbox", "sign_webhook"]
