"""`python -m simulators.fleet --broker URL --wristbands N --rate R --duration S`.

Prints progress on stderr, a summary, and the result as JSON on the last line of stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sys

from simulators.fleet.run import FleetConfig, line_reporter, run_fleet


def raise_open_files(wanted: int) -> int:
    """Lift the soft open-files limit towards the hard one (each connection is a socket)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(prog="python -m simulators.fleet", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--broker", default="mqtt://127.0.0.1:1883", help="mqtt://host:port")
    parser.add_argument("--wristbands", type=int, default=1000, help="Connections to open")
    parser.add_argument("--rate", type=float, default=1000.0, help="Target messages per second")
    parser.add_argument("--duration", type=float, default=10.0, help="Seconds of sending")
    parser.add_argument("--qos", type=int, choices=[1], default=1,
                        help="QoS of telemetry (1: every message is acknowledged)")
    parser.add_argument("--prefix", default="FLEET-WB-", help="Device id prefix")
    parser.add_argument("--seed", type=int, default=0, help="Random seed")
    parser.add_argument("--quiet", action="store_true", help="No progress display")
    args = parser.parse_args(argv)
    raise_open_files(args.wristbands + 256)
    cfg = FleetConfig(broker=args.broker, wristbands=args.wristbands, rate=args.rate,
                      duration_s=args.duration, prefix=args.prefix, seed=args.seed)
    reporter = None if args.quiet else line_reporter(args.rate, args.duration)
    result = asyncio.run(run_fleet(cfg, reporter))
    if not args.quiet:
        print(file=sys.stderr)
    print(f"fleet: {result['connected']}/{result['wristbands']} connected in "
          f"{result['connect_s']} s; sent {result['sent']}, acknowledged "
          f"{result['acknowledged']}, errors {result['errors']}; achieved "
          f"{result['achieved_rate']}/s of {args.rate:g}/s target")
    print(json.dumps(result))
    return 0 if result["connected"] else 1


if __name__ == "__main__":
    sys.exit(main())
