"""One Lambda execution environment's runtime process: `python3.X -S -B worker.py CTRL_FD TASK_ROOT LIBS`.

Run by the function runtime's own interpreter (python3.8..3.14), so stdlib only and no
imports from this package. It plays the part of AWS's Python runtime interface client:

- init: import the `_HANDLER` module from the function's code (sys.path is the code first,
  then boto3 & co., then the stdlib, like /var/task, /var/runtime, /var/lang on Lambda), and
  report success or the runtime's error (Runtime.ImportModuleError, ...);
- then loop: receive an invocation on the control socket, call the handler with the event and
  a context object with the real attributes, send back the JSON result or the runtime's error
  payload, and the output the handler wrote (stdout/stderr are a memfd the executor owns).

Error payloads, stack traces, log lines and JSON encoding follow awslambdaric (the code AWS's
Python runtimes run); stack traces name the function's files as Lambda does (/var/task/...),
while LAMBDA_TASK_ROOT, the working directory and __file__ stay the real code directory so the
function can read its own files.

Frames on the control socket: 4-byte big-endian header length and 4-byte body length, then the
JSON header and the body bytes. The two lengths come first so a frame is read in two `recv` calls
(each a GIL release and re-acquire in the executor's busy server process), not four. A result's
header carries the worker's peak resident memory (`max_rss_kb`, VmHWM read here through an fd kept
open, instead of the server opening and parsing /proc/PID/status for every REPORT line). EOF on the socket means
the executor is gone: exit.
"""

import decimal
import importlib
import json
import logging
import math
import os
import resource
import socket
import struct
import sys
import time
import traceback

ERROR_LINE_SEPARATOR = "\r"  # the runtime joins a traceback into one CloudWatch event with \r
NBSP = "\u00a0"
# awslambdaric's lambda_literals.lambda_unhandled_exception_warning_message, logged before an init error
UNHANDLED_WARNING = (
    "LAMBDA_WARNING: Unhandled exception. The most likely cause is an issue in the function code. "
    "However, in rare cases, a Lambda runtime update can cause unexpected function behavior. "
    "For functions using managed runtimes, runtime updates can be triggered by a function change, or can be "
    "applied automatically. To determine if the runtime has been updated, check the runtime version in the "
    "INIT_START log entry. If this error correlates with a change in the runtime version, you may be able to "
    "mitigate this error by temporarily rolling back to the previous runtime version. For more information, "
    "see https://docs.aws.amazon.com/lambda/latest/dg/runtimes-update.html\r"
)
# Where Lambda puts the function's code; stack traces name the code's files as they are on Lambda
LAMBDA_TASK_ROOT = "/var/task"
# runtimes whose JSON encoder keeps non-ASCII characters (awslambdaric lambda_runtime_marshaller)
UTF8_JSON_RUNTIMES = {"AWS_Lambda_python3.12", "AWS_Lambda_python3.13", "AWS_Lambda_python3.14"}
JSON_LOG_TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
_LENGTHS = struct.Struct(">II")  # header length, body length
# (host prefix, Lambda's path) pairs, longest host prefix first (set in main): the function's code
# is /var/task, the runtime's libraries (boto3 & co., this bootstrap) /var/runtime, the
# interpreter's stdlib /var/lang/lib/python3.X
_PATH_MAP = []
LAMBDA_RUNTIME_DIR = "/var/runtime"


class RuntimeFault(Exception):
    """An error the runtime itself reports, with Lambda's `Runtime.*` error type."""

    def __init__(self, error_type, message, trace=None):
        super().__init__(message)
        self.error_type = error_type
        self.message = message
        self.trace = trace


# ---- framing (the executor imports recv_frame/send_frame: one definition for both ends) -------
def _recv_exact(sock, size):
    chunks = []
    while size:
        chunk = sock.recv(min(size, 1 << 20))
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def recv_frame(sock):
    header_size, body_size = _LENGTHS.unpack(_recv_exact(sock, _LENGTHS.size))
    rest = _recv_exact(sock, header_size + body_size)
    return json.loads(rest[:header_size]), rest[header_size:]


def send_frame(sock, header, body=b""):
    raw = json.dumps(header).encode()
    sock.sendall(_LENGTHS.pack(len(raw), len(body)) + raw + body)


def _open_own_status():
    try:
        return os.open("/proc/self/status", os.O_RDONLY)  # this process's directory, fixed at open
    except OSError:  # no /proc (a sandbox without it): getrusage alone
        return None


_STATUS_FD = _open_own_status()


def max_rss_kb():
    """This process's peak resident memory in KiB: the REPORT line's Max Memory Used.

    VmHWM of /proc/self/status (one pread of an fd kept open: a few microseconds), not getrusage's
    ru_maxrss: Linux keeps ru_maxrss across execve, so a worker the server forked and exec'd
    directly (no bwrap in between) would report the server's peak, hundreds of MB, as its own.
    """
    if _STATUS_FD is not None:
        try:
            status = os.pread(_STATUS_FD, 8192, 0)
            at = status.index(b"VmHWM:")
            return int(status[at + 6:status.index(b"kB", at)])
        except (OSError, ValueError):
            pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


# ---- names under .localhost (RFC 6761) and LocalStack's host name ----------------------------
# LocalStack's documented name for itself, for code running inside Lambda functions
# (`http://localhost.localstack.cloud:4566`, S3's `<bucket>.s3.localhost.localstack.cloud`, botocore's
# host prefixes `sync-localhost.localstack.cloud`, `api.localhost.localstack.cloud`): LocalStack's DNS
# server answers 127.0.0.1 for every name matching `.*localhost.localstack.cloud` (localstack/dns/server.py,
# NAME_PATTERNS_POINTING_TO_LOCALSTACK), and its public DNS zone for the ones in use.
LOCALSTACK_HOST_NAME = "localhost.localstack.cloud"


def is_loopback_name(name):
    """Whether `name` means this machine: `*.localhost` (RFC 6761) or a name LocalStack's DNS points at itself."""
    name = name.rstrip(".").lower()
    return name.endswith(".localhost") or name.endswith(LOCALSTACK_HOST_NAME)


def resolve_localhost_subdomains():
    """Make `<anything>.localhost` and `<anything>localhost.localstack.cloud` resolve to loopback here.

    Function URLs are `http://<id>.lambda-url.<region>.localhost:<port>/` (LOCALSTACK_HOST is
    localhost:<port>): curl and browsers resolve such names to loopback by themselves, the C
    library does not (no DNS here). Code written for LocalStack names it
    `localhost.localstack.cloud` (with a `sync-` or `data-` host prefix for some operations, or a
    bucket in front for S3), which only DNS resolves, and there is none offline: those names get
    the answer LocalStack's own DNS server gives them. The executor's workers and LocalStack's own
    process (an API Gateway HTTP integration to a Function URL) call this once at start.
    """
    if getattr(socket.getaddrinfo, "_sagestack_localhost", False):
        return
    original = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):
        name = host.decode("ascii", "replace") if isinstance(host, bytes) else host
        if isinstance(name, str) and is_loopback_name(name):
            host = "127.0.0.1"  # the gateway listens on IPv4 loopback only
        return original(host, *args, **kwargs)

    getaddrinfo._sagestack_localhost = True
    socket.getaddrinfo = getaddrinfo


# ---- output capture ---------------------------------------------------------------------------
def take_output():
    """Everything written to stdout/stderr (one memfd) since the last call; then empty it."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass
    size = os.fstat(1).st_size
    data = os.pread(1, size, 0) if size else b""
    os.ftruncate(1, 0)
    os.lseek(1, 0, os.SEEK_SET)  # the offset is shared by fds 1 and 2 (same open file)
    return data.decode("utf-8", "replace")


# ---- errors in the runtime's shape ------------------------------------------------------------
def make_error(message, error_type, stack_trace, request_id=None):
    return {
        "errorMessage": message or "",
        "errorType": error_type or "",
        "requestId": request_id if request_id is not None else "",
        "stackTrace": stack_trace or [],
    }


def path_map(task_root, libs_dir):
    """(host prefix, Lambda path) pairs for this environment, longest prefix first."""
    stdlib = "lib/python%d.%d" % sys.version_info[:2]
    pairs = {}
    for host, aws in (
        (task_root, LAMBDA_TASK_ROOT),
        (libs_dir, LAMBDA_RUNTIME_DIR),
        (os.path.dirname(os.path.abspath(__file__)), LAMBDA_RUNTIME_DIR),
        (os.path.join(sys.base_prefix, stdlib), "/var/lang/" + stdlib),
        (os.path.join(sys.base_exec_prefix, stdlib), "/var/lang/" + stdlib),
    ):
        if host:
            for variant in (host.rstrip("/"), os.path.realpath(host)):
                pairs.setdefault(variant, aws)
    return sorted(pairs.items(), key=lambda pair: len(pair[0]), reverse=True)


def lambda_path(filename):
    """A file named as on Lambda (/var/task/..., /var/runtime/..., /var/lang/lib/python3.X/...)."""
    if not filename:
        return filename
    if os.path.abspath(filename) == os.path.abspath(__file__):
        return LAMBDA_RUNTIME_DIR + "/bootstrap.py"
    for host, aws in _PATH_MAP:
        if filename.startswith(host + "/"):
            return aws + filename[len(host):]
    return filename


def lambda_paths_in(text):
    """A formatted traceback with every `File "<host path>"` named as on Lambda."""
    for host, aws in _PATH_MAP:
        text = text.replace('File "%s/' % host, 'File "%s/' % aws)
    return text.replace('File "%s"' % os.path.abspath(__file__), 'File "%s/bootstrap.py"' % LAMBDA_RUNTIME_DIR)


def user_frames(tb):
    """The traceback from the first frame that is not this worker's own code, as
    (filename, lineno, name, line) tuples like awslambdaric's extract_traceback (so no
    Python 3.11+ caret lines in the formatted trace)."""
    frames = traceback.extract_tb(tb)
    here = os.path.abspath(__file__)
    for index, frame in enumerate(frames):
        if os.path.abspath(frame.filename) != here:
            frames = frames[index:]
            break
    else:
        frames = frames[-1:]
    return [(lambda_path(f.filename), f.lineno, f.name, f.line) for f in frames]


def error_from_exception(exc, request_id=None):
    if isinstance(exc, RuntimeFault):
        return make_error(exc.message, exc.error_type, exc.trace, request_id)
    return make_error(str(exc), type(exc).__name__, traceback.format_list(user_frames(exc.__traceback__)), request_id)


def _json_mode():
    return os.environ.get("AWS_LAMBDA_LOG_FORMAT", "").upper() == "JSON"


def log_error(error):
    """Write the error the way the runtime logs it: one line, \r-joined, NBSP-indented (or one JSON object)."""
    if _json_mode():
        stamp = time.strftime(JSON_LOG_TIME_FORMAT, time.gmtime())
        sys.stdout.write(to_json(dict({"timestamp": stamp, "log_level": "ERROR"}, **error)) + "\n")
        return
    head = "[ERROR]"
    if error.get("errorType"):
        head += " " + error["errorType"]
    if error.get("errorMessage"):
        head += (":" if error.get("errorType") else "") + " " + error["errorMessage"]
    lines = [head, "Traceback (most recent call last):"]
    for element in error.get("stackTrace") or []:
        for line in element.splitlines():
            stripped = line.lstrip(" ")
            lines.append(NBSP * (len(line) - len(stripped)) + stripped)
    sys.stdout.write(ERROR_LINE_SEPARATOR.join(lines) + "\n")


# ---- handler loading --------------------------------------------------------------------------
def load_handler(handler):
    try:
        module_name, function_name = handler.rsplit(".", 1)
    except ValueError as exc:
        raise RuntimeFault("Runtime.MalformedHandlerName", "Bad handler '{}': {}".format(handler, exc))
    if module_name.split(".")[0] in sys.builtin_module_names:
        raise RuntimeFault(
            "Runtime.BuiltInModuleConflict", "Cannot use built-in module {} as a handler module".format(module_name)
        )
    try:
        module = importlib.import_module(module_name.replace("/", "."))
    except ImportError as exc:
        raise RuntimeFault("Runtime.ImportModuleError", "Unable to import module '{}': {}".format(module_name, exc))
    except SyntaxError as exc:
        trace = ['  File "%s" Line %s\n    %s' % (lambda_path(exc.filename), exc.lineno, exc.text)]
        raise RuntimeFault(
            "Runtime.UserCodeSyntaxError", "Syntax error in module '{}': {}".format(module_name, exc), trace
        )
    try:
        return getattr(module, function_name)
    except AttributeError:
        raise RuntimeFault(
            "Runtime.HandlerNotFound", "Handler '{}' missing on module '{}'".format(function_name, module_name)
        )


# ---- JSON like the runtime --------------------------------------------------------------------
class _Encoder(json.JSONEncoder):
    def default(self, obj):
        if isinstance(obj, decimal.Decimal):
            if obj.is_nan():
                return math.nan
            return int(obj) if obj == obj.to_integral_value() else float(obj)
        return super().default(obj)


def to_json(obj):
    ensure_ascii = os.environ.get("AWS_EXECUTION_ENV") not in UTF8_JSON_RUNTIMES
    return _Encoder(ensure_ascii=ensure_ascii).encode(obj)


def marshal_response(response):
    if isinstance(response, bytes):
        return response
    try:
        return to_json(response).encode("utf-8")
    except Exception as exc:
        raise RuntimeFault("Runtime.MarshalError", "Unable to marshal response: {}".format(exc))


# ---- context ----------------------------------------------------------------------------------
def _slots_repr(obj):
    fields = ",".join("{}={}".format(name, getattr(obj, name)) for name in obj.__slots__)
    return "{}([{}])".format(type(obj).__name__, fields)


class CognitoIdentity(object):
    __slots__ = ["cognito_identity_id", "cognito_identity_pool_id"]

    def __init__(self, identity=None):
        identity = identity or {}
        self.cognito_identity_id = identity.get("cognitoIdentityId")
        self.cognito_identity_pool_id = identity.get("cognitoIdentityPoolId")

    __repr__ = _slots_repr


class Client(object):
    __slots__ = ["installation_id", "app_title", "app_version_name", "app_version_code", "app_package_name"]

    def __init__(self, data):
        for name in self.__slots__:
            setattr(self, name, data.get(name))

    __repr__ = _slots_repr


class ClientContext(object):
    __slots__ = ["custom", "env", "client"]

    def __init__(self, data):
        self.custom = data.get("custom")
        self.env = data.get("env")
        self.client = Client(data["client"]) if isinstance(data.get("client"), dict) else None

    __repr__ = _slots_repr


class LambdaContext(object):
    """The `context` argument: same attributes and types as the Lambda Python runtime's."""

    def __init__(self, request_id, invoked_function_arn, deadline_ms, client_context=None, identity=None):
        self.aws_request_id = request_id
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")  # a str, as on Lambda
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.invoked_function_arn = invoked_function_arn
        self.tenant_id = None
        self.client_context = ClientContext(client_context) if isinstance(client_context, dict) else None
        self.identity = CognitoIdentity(identity)
        self._epoch_deadline_time_in_ms = deadline_ms

    def get_remaining_time_in_millis(self):
        remaining = self._epoch_deadline_time_in_ms - int(time.time() * 1000)
        return remaining if remaining > 0 else 0

    def log(self, msg):
        sys.stdout.write(str(msg))

    def __repr__(self):
        return (
            "LambdaContext([aws_request_id={},log_group_name={},log_stream_name={},function_name={},"
            "memory_limit_in_mb={},function_version={},invoked_function_arn={},client_context={},identity={},"
            "tenant_id={}])"
        ).format(
            self.aws_request_id,
            self.log_group_name,
            self.log_stream_name,
            self.function_name,
            self.memory_limit_in_mb,
            self.function_version,
            self.invoked_function_arn,
            self.client_context,
            self.identity,
            self.tenant_id,
        )


# ---- logging like the runtime -----------------------------------------------------------------
_CURRENT_REQUEST_ID = [""]


class _RequestIdFilter(logging.Filter):
    def filter(self, record):
        record.aws_request_id = _CURRENT_REQUEST_ID[0]
        return True


# LogRecord attributes that are not copied into a JSON log entry (awslambdaric's _RESERVED_FIELDS)
_RECORD_FIELDS = {
    "name", "msg", "args", "levelname", "levelno", "pathname", "filename", "module", "exc_info", "exc_text",
    "stack_info", "lineno", "funcName", "created", "msecs", "relativeCreated", "thread", "threadName",
    "processName", "process", "aws_request_id", "tenant_id", "_frame_type",
}


class _TextFormatter(logging.Formatter):
    """Lambda's text log line; a logged exception's traceback names files as on Lambda."""

    def formatException(self, ei):
        return lambda_paths_in(super().formatException(ei))


class _JsonFormatter(logging.Formatter):
    """Lambda's JSON log format (LoggingConfig.LogFormat=JSON): one object per record, the
    fields of awslambdaric's JsonFormatter (level rounded to a standard one, `extra` fields kept,
    empty fields dropped)."""

    def __init__(self):
        super().__init__(datefmt=JSON_LOG_TIME_FORMAT)

    def format(self, record):
        record.levelno = min(50, max(0, record.levelno)) // 10 * 10
        record.levelname = logging.getLevelName(record.levelno)
        exc_info = record.exc_info if record.exc_info and record.exc_info[0] is not None else None
        entry = {
            "timestamp": self.formatTime(record, self.datefmt),
            "level": record.levelname,
            "message": record.getMessage(),
            "logger": record.name,
            "stackTrace": [lambda_paths_in(line) for line in traceback.format_tb(exc_info[2])] if exc_info else None,
            "errorType": exc_info[0].__name__ if exc_info else None,
            "errorMessage": str(exc_info[1]) if exc_info else None,
            "requestId": getattr(record, "aws_request_id", None),
            "location": "{}:{}:{}".format(lambda_path(record.pathname), record.funcName, record.lineno)
            if exc_info else None,
        }
        entry.update(
            (key, value) for key, value in record.__dict__.items() if key not in _RECORD_FIELDS and key not in entry
        )
        return json.dumps({k: v for k, v in entry.items() if v is not None}, ensure_ascii=False, default=str)


def setup_logging():
    logging.Formatter.converter = time.gmtime
    handler = logging.StreamHandler(sys.stdout)
    if _json_mode():
        handler.setFormatter(_JsonFormatter())
    else:
        handler.setFormatter(
            _TextFormatter(
                "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s", "%Y-%m-%dT%H:%M:%S"
            )
        )
    handler.addFilter(_RequestIdFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    level = (os.environ.get("AWS_LAMBDA_LOG_LEVEL") or "").upper()
    level = "DEBUG" if level == "TRACE" else level  # Lambda's TRACE is Python's DEBUG
    if level in logging._nameToLevel:
        root.setLevel(level)


# ---- main loop --------------------------------------------------------------------------------
def set_sys_path(task_root, libs_dir):
    """Code first, then PYTHONPATH, then boto3 & co., then the stdlib — no site-packages."""
    script_dir = os.path.dirname(os.path.abspath(__file__))
    rest = [p for p in sys.path if p and os.path.abspath(p) != script_dir]
    python_path = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p and p != libs_dir]
    stdlib = [p for p in rest if p not in python_path and p != libs_dir]
    sys.path[:] = [task_root] + python_path + [libs_dir] + stdlib


def handle_invoke(sock, handler, header, body):
    request_id = header["request_id"]
    _CURRENT_REQUEST_ID[0] = request_id
    if header.get("trace_id"):
        os.environ["_X_AMZN_TRACE_ID"] = header["trace_id"]
    else:
        os.environ.pop("_X_AMZN_TRACE_ID", None)
    error = None
    try:
        context = LambdaContext(
            request_id, header.get("invoked_function_arn"), header["deadline_ms"], header.get("client_context")
        )
        try:
            event = json.loads(body.decode("utf-8")) if body else None
        except ValueError as exc:
            raise RuntimeFault("Runtime.UnmarshalError", "Unable to unmarshal input: {}".format(exc))
        result = marshal_response(handler(event, context))
    except Exception as exc:
        error = error_from_exception(exc, request_id)
    if error is not None:
        log_error(error)
        send_frame(sock, {"type": "result", "ok": False, "logs": take_output(), "max_rss_kb": max_rss_kb()},
                   to_json(error).encode("utf-8"))
    else:
        send_frame(sock, {"type": "result", "ok": True, "logs": take_output(), "max_rss_kb": max_rss_kb()}, result)


def main():
    ctrl_fd, task_root, libs_dir = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    _PATH_MAP[:] = path_map(task_root, libs_dir)
    sock = socket.socket(fileno=ctrl_fd)
    resolve_localhost_subdomains()
    set_sys_path(task_root, libs_dir)
    os.chdir(task_root)
    setup_logging()
    started = time.perf_counter()
    try:
        handler = load_handler(os.environ.get("_HANDLER", ""))
    except Exception as exc:
        error = error_from_exception(exc)
        logging.warning(UNHANDLED_WARNING)
        log_error(error)
        header = {"type": "init", "ok": False, "duration_ms": (time.perf_counter() - started) * 1000}
        header["logs"] = take_output()
        send_frame(sock, header, to_json(error).encode("utf-8"))
        sys.exit(1)  # as the real runtime does after reporting an init error
    header = {"type": "init", "ok": True, "duration_ms": (time.perf_counter() - started) * 1000}
    header["logs"] = take_output()
    send_frame(sock, header)
    while True:
        try:
            header, body = recv_frame(sock)
        except (EOFError, OSError):
            return
        if header.get("type") == "invoke":
            handle_invoke(sock, handler, header, body)


if __name__ == "__main__":
    main()
