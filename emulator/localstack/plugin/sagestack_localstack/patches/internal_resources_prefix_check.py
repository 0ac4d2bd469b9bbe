"""Requests that cannot match a LocalStack-internal route skip that router's full match.

The handler serving LocalStack's internal resources (`/_localstack/health` & co.) runs for every
request: it binds werkzeug's URL map to the request's host, matches, and catches the NotFound that
nearly every AWS request raises; about 0.16 ms of CPU per request (timed per handler on the API
Gateway -> Lambda path). Here the literal prefix of each of the router's rules (the text before
its first `<variable>`) is computed once per set of rules, and a request whose raw path starts with
none of them (and holds no `//`, which werkzeug would merge) goes on down the chain at once, as
it does after the NotFound. Paths under `/_localstack/` always take the original path, so an
unknown internal path still gets LocalStack's 404; a rule starting with a variable makes every
request take it.
"""

from __future__ import annotations

CHECKED_AGAINST = "2026.3.0"
# applied right after this module is first imported (patches/__init__.py): not at start-up
APPLY_ON_IMPORT = "localstack.aws.handlers.internal"
TARGETS = ("localstack.aws.handlers.internal.LocalstackResourceHandler.__call__",)


def rule_prefixes(rules) -> tuple[str, ...]:
    """The literal start of each rule's path, trailing slash dropped (rules match with or without it)."""
    return tuple({rule.split("<", 1)[0].rstrip("/") for rule in rules})


def cannot_match(prefixes: tuple[str, ...], raw_path: str) -> bool:
    return "//" not in raw_path and not raw_path.startswith(prefixes)


def skipping_call(original, internal_prefix: str):
    from rolo.request import get_raw_path

    cache: dict = {}

    def prefixes_of(url_map) -> tuple[str, ...]:
        rules = url_map._rules
        key = (id(url_map), len(rules))
        if cache.get("key") != key:
            cache["prefixes"] = rule_prefixes(r.rule for r in rules)
            cache["key"] = key
        return cache["prefixes"]

    def __call__(self, chain, context, response):
        request = context.request
        if not request.path.startswith(internal_prefix) and cannot_match(
            prefixes_of(self.resources.url_map), get_raw_path(request)
        ):
            return None
        return original(self, chain, context, response)

    return __call__


def apply() -> None:
    import importlib

    from localstack import constants

    internal = importlib.import_module(APPLY_ON_IMPORT)  # its package may still be initialising
    cls = internal.LocalstackResourceHandler
    cls.__call__ = skipping_call(cls.__call__, constants.INTERNAL_RESOURCE_PATH + "/")
