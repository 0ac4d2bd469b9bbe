"""API Gateway details LocalStack gets wrong that a Lambda behind an AWS_PROXY integration can see.

- `requestContext.requestTime`: AWS writes `25/Nov/2026:17:13:53 +0000` (UTC, CLF format).
  LocalStack formats a naive local-time datetime with `%z`, which gives `25/Nov/2026:17:13:53 `
  (no offset, trailing space) and the host's local time. It is rebuilt here from
  `requestTimeEpoch`, which LocalStack computes correctly.

- The request body of a form-encoded POST (`curl -d '{"data": ...}'` sends
  `application/x-www-form-urlencoded` by default): AWS passes the raw bytes to the integration
  whatever the Content-Type. LocalStack's gateway parses such bodies as a form while routing, and
  API Gateway then rebuilds them from the parsed pairs (`rolo.request.restore_payload`), which
  turns `{"data": "1,2"}` into `%7B%22data%22...`. Here the raw bytes are kept before the form is
  parsed and handed to API Gateway unchanged.

Installed by the on_infra_start hook only when LAMBDA_RUNTIME_EXECUTOR=local.
"""

from __future__ import annotations

import datetime

REQUEST_TIME_FORMAT = "%d/%b/%Y:%H:%M:%S +0000"
FORM_URLENCODED = "application/x-www-form-urlencoded"


def request_time(epoch_ms: int) -> str:
    """API Gateway's `requestTime` for a request received at `epoch_ms`."""
    moment = datetime.datetime.fromtimestamp(epoch_ms / 1000, tz=datetime.timezone.utc)
    return moment.strftime(REQUEST_TIME_FORMAT)


def install() -> None:
    from localstack.services.apigateway.next_gen.execute_api.handlers.parse import InvocationRequestParser

    original = InvocationRequestParser.create_context_variables

    def create_context_variables(context):
        variables = original(context)
        if variables.get("requestTimeEpoch"):
            variables["requestTime"] = request_time(variables["requestTimeEpoch"])
        return variables

    InvocationRequestParser.create_context_variables = staticmethod(create_context_variables)

    _keep_raw_form_bodies()


def _keep_raw_form_bodies() -> None:
    """Give API Gateway the body bytes the client sent, also for form-encoded requests (see module doc)."""
    from localstack.services.apigateway.next_gen.execute_api.handlers import parse
    from werkzeug.wrappers import Request  # the gateway wraps every incoming WSGI request in this class

    original_load_form_data = Request._load_form_data

    def _load_form_data(self) -> None:
        # Cache the raw bytes first; werkzeug then parses the form from that cache, not the stream.
        if "form" not in self.__dict__ and self.mimetype == FORM_URLENCODED and not self.shallow:
            self.get_data(cache=True, parse_form_data=False)
        original_load_form_data(self)

    Request._load_form_data = _load_form_data

    original_restore_payload = parse.restore_payload

    def restore_payload(request) -> bytes:
        if request.mimetype == FORM_URLENCODED and not request.shallow:
            if "form" not in request.__dict__:  # not parsed yet: the stream still holds the raw bytes
                return request.get_data(cache=True, parse_form_data=False)
            raw = getattr(request, "_cached_data", None)
            if raw is not None:
                return raw
        return original_restore_payload(request)

    parse.restore_payload = restore_payload
