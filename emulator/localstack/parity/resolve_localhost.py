"""pytest plugin for LocalStack's parity tests: the names LocalStack's DNS points at itself, and `*.localhost`, resolve to loopback.

LocalStack's tests address the server as `localhost.localstack.cloud` and build host-based URLs
under it (`<api>.execute-api.localhost.localstack.cloud:<port>`); the kit's Function URLs are
`<id>.lambda-url.<region>.localhost:<port>`. With no DNS (and no LocalStack DNS server) the C
library resolves none of them, so the test process maps them to 127.0.0.1 itself, by the same
rule as the kit's Lambda workers and LocalStack's process (`sagestack_localstack.worker.is_loopback_name`:
`*.localhost` and `.*localhost.localstack.cloud`, LocalStack's DNS rule). Loaded with
`-p resolve_localhost` by __main__.py; the test venv is layered over LocalStack's, where the plugin is installed.
"""

from __future__ import annotations

from sagestack_localstack.worker import resolve_localhost_subdomains

resolve_localhost_subdomains()
