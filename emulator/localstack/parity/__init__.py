"""Run a chosen subset of LocalStack's own AWS-parity tests against the kit's LocalStack.

See __main__.py (`python -m emulator.localstack.parity`, `make parity`).
"""
