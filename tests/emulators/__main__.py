"""Run one emulator standalone: ``python -m tests.emulators zstack --seed seed.json --info out.json``.

Used by ``make demo``. Prints (and writes to --info) the URL, CA path and credentials, then serves
until interrupted.
"""

import argparse
import importlib
import json
import signal
import sys
import threading

from tests.emulators._server import Running

PLATFORMS = ("zstack", "nsx", "powervc", "vcenter_rest")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m tests.emulators")
    parser.add_argument("platform", choices=PLATFORMS)
    parser.add_argument("--seed", help="JSON file with the initial state")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--plain-http", action="store_true", help="serve HTTP instead of HTTPS")
    parser.add_argument("--info", help="write the connection details as JSON to this file")
    args = parser.parse_args(argv)

    module = importlib.import_module("tests.emulators." + args.platform)
    seed = None
    if args.seed:
        with open(args.seed) as handle:
            seed = json.load(handle)
    emulator = module.EMULATOR(seed)
    running = Running(emulator, tls=not args.plain_http, port=args.port)
    info = dict(emulator.connection_info(), url=running.url, ca_path=running.ca_path, platform=args.platform)
    text = json.dumps(info, indent=2)
    if args.info:
        with open(args.info, "w") as handle:
            handle.write(text)
    print(text, flush=True)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    running.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
