"""Independent chat-template renderer for tests: Jinja2 configured as HF transformers renders chat templates
(ImmutableSandboxedEnvironment, trim_blocks, lstrip_blocks, loopcontrols, raise_exception, tojson), with
strftime_now pinned to the engine's date (2024-07-26). Reads {template, messages, special_tokens} (JSON) on stdin,
writes {"text": ...} or {"error": ...}. Needs Debian's python3-jinja2."""
import json
import sys
from datetime import datetime

from jinja2 import ext
from jinja2.exceptions import TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment


def raise_exception(message):
    raise TemplateError(message)


def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def strftime_now(format):
    return datetime(2024, 7, 26).strftime(format)


env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[ext.loopcontrols])
env.filters["tojson"] = tojson
env.globals["raise_exception"] = raise_exception
env.globals["strftime_now"] = strftime_now

request = json.load(sys.stdin)
if "strftime" in request:
    print(json.dumps({"text": [strftime_now(f) for f in request["strftime"]]}))
    sys.exit(0)
try:
    text = env.from_string(request["template"]).render(
        messages=request["messages"], add_generation_prompt=True, tools=None, documents=None, **request["special_tokens"]
    )
    print(json.dumps({"text": text}))
except TemplateError as error:
    print(json.dumps({"error": str(error)}))
