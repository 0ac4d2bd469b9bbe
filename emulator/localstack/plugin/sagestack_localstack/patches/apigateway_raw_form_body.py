"""API Gateway passes a form-encoded request's body bytes to the integration unchanged.

`curl -d '{"data": ...}'` sends `application/x-www-form-urlencoded` by default; AWS passes the
raw bytes whatever the Content-Type. LocalStack's gateway parses such bodies as a form while
routing, and API Gateway then rebuilds them from the parsed pairs (`rolo.request.restore_payload`),
which turns `{"data": "1,2"}` into `%7B%22data%22...`. The raw bytes are kept before the form is
parsed and handed to API Gateway unchanged.
"""

from __future__ import annotations

CHECKED_AGAINST = "2026.3.0"
# applied right after this module is first imported (patches/__init__.py): not at start-up
APPLY_ON_IMPORT = "localstack.services.apigateway.next_gen.execute_api.handlers.parse"
TARGETS = (
    "werkzeug.wrappers.Request._load_form_data (the gateway's request class)",
    "localstack.services.apigateway.next_gen.execute_api.handlers.parse.restore_payload",
)
FORM_URLENCODED = "application/x-www-form-urlencoded"


def apply() -> None:
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
