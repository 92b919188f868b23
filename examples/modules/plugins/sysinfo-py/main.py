#!/usr/bin/env python3
"""sysinfo-py: a Python module whose results are nested maps and lists.

What it reports is what the plugin sees from inside its sandbox: its own
pid there, the kernel it shares with the host, the Python running it.
"""

import os
import platform
import sys

_HERE = os.path.dirname(os.path.realpath(__file__))
sys.path.insert(0, os.path.normpath(os.path.join(_HERE, "..", "..", "..", "..", "sdk", "python")))

from hst_plugin import HandshakeConfig, Logger, ServeConfig, serve  # noqa: E402


def info():
    return {
        "os": {"system": platform.system(), "release": platform.release(), "machine": platform.machine()},
        "python": {"version": platform.python_version(), "implementation": platform.python_implementation()},
        "process": {"pid": os.getpid(), "argv": sys.argv[1:]},
    }


def load():
    one, five, fifteen = os.getloadavg()
    return {"1m": one, "5m": five, "15m": fifteen}


def main() -> None:
    serve(
        ServeConfig(
            handshake=HandshakeConfig(protocol_version=1, magic_cookie_key="HST_PLUGIN", magic_cookie_value="hst-example-v1"),
            exports={"info": info, "system": {"load": load, "cpus": lambda: os.cpu_count() or 1}},
            logger=Logger("sysinfo-py"),
        )
    )


if __name__ == "__main__":
    main()
