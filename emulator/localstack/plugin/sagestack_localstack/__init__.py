"""LocalStack-side half of sagestack (runs inside LocalStack's own Python 3.13 venv).

- `boot`: starts `localstack.runtime.main` bound to loopback only, with a generated TLS cert.
- `plugins`/`executor`: the `local` Lambda runtime executor (LAMBDA_RUNTIME_EXECUTOR=local)
  that runs Python handlers in warm worker processes instead of Docker containers.
- `worker`: the per-environment process; stdlib only, run by the function runtime's interpreter.
- `interpreters`: finds python3.8..python3.14 on PATH or in pyenv (stdlib only; the kit's
  launcher imports it too, to find Python 3.13 for this venv).
"""
