"""`python -m deploy.dead_letters`: work a service's dead letters from a terminal, through its HTTP API.

python -m deploy.dead_letters list    --url http://127.0.0.1:8002 mes.events
python -m deploy.dead_letters replay  --url http://127.0.0.1:8002 --as ops.wang mes.events 3 117 121 122
python -m deploy.dead_letters discard --url http://127.0.0.1:8002 --as ops.wang mes.events 3 118 "test message"
"""

import argparse
import json
import os
import sys

import httpx


def main(argv: list[str] | None = None) -> int:
    """Run one command; prints the answer as JSON; exit 1 when the service refuses."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=("list", "replay", "discard"))
    parser.add_argument("--url", required=True, help="the service that consumes the topic")
    parser.add_argument("--as", dest="actor", default="", help="who acts, where the service runs without sign-in")
    parser.add_argument("--token", default=os.environ.get("GENDAN_TOKEN", ""), help="bearer token (GENDAN_TOKEN)")
    parser.add_argument("topic")
    parser.add_argument("partition", nargs="?", type=int)
    parser.add_argument("offset", nargs="?", type=int)
    parser.add_argument("more", nargs="*", help="replay: more offsets of the same partition; discard: the reason")
    args = parser.parse_args(argv)
    args.reason = " ".join(args.more)
    path = f"/dead-letters/{args.topic}"
    headers = {"X-Actor": args.actor} if args.actor else {}
    if args.token:
        headers["Authorization"] = f"Bearer {args.token}"
    with httpx.Client(base_url=args.url, timeout=60, headers=headers) as client:
        if args.command == "list":
            answer = client.get(path)
        elif args.partition is None or args.offset is None:
            parser.error(f"{args.command} needs a partition and an offset")
        elif args.command == "replay" and args.more:
            offsets = [args.offset, *map(int, args.more)]
            answer = client.post(f"{path}/replay", json={"positions": [[args.partition, o] for o in offsets]})
        elif args.command == "replay":
            answer = client.post(f"{path}/{args.partition}/{args.offset}/replay")
        else:
            answer = client.post(f"{path}/{args.partition}/{args.offset}/discard", json={"reason": args.reason})
    print(json.dumps(answer.json(), indent=2, ensure_ascii=False))
    return 0 if answer.is_success else 1


if __name__ == "__main__":
    sys.exit(main())
