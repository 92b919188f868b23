#!/usr/bin/env python3
"""greeter-py: a plugin as a JavaScript module, on sdk/python.

The application imports it (`import greeter from 'plugin:greeter-py'`) and
calls its exports as async functions; values cross as JSON.
"""

import os
import sys

_HERE = os.path.dirname(os.path.realpath(__file__))
sys.path.insert(0, os.path.normpath(os.path.join(_HERE, "..", "..", "..", "..", "sdk", "python")))

from hst_plugin import HandshakeConfig, Logger, ServeConfig, serve  # noqa: E402

LANGUAGE = "Python"


def greet(name):
    return f"hello, {name}, from {LANGUAGE}"


def hello(name):
    return {"text": f"hello, {name}", "language": LANGUAGE}


def goodbye(name=""):
    if not name:
        raise ValueError("goodbye to whom? give a name")
    return {"text": f"goodbye, {name}", "language": LANGUAGE}


def main() -> None:
    serve(
        ServeConfig(
            handshake=HandshakeConfig(protocol_version=1, magic_cookie_key="HST_PLUGIN", magic_cookie_value="hst-example-v1"),
            exports={"greet": greet, "phrases": {"hello": hello, "goodbye": goodbye, "languages": lambda: [LANGUAGE]}},
            logger=Logger("greeter-py"),
        )
    )


if __name__ == "__main__":
    main()
