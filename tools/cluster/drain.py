"""`omnirt serve --cluster ADDRESS --drain HOST`: ask the running front door to empty a session host.

The front door (front_door.py) does the work: it places no new session on the host and, if the other hosts have
room, has each of its sessions move at a turn boundary. This command only sends the request to the door at --host
and --port (with --token if the door needs one; a door bound to loopback does not) and prints the door's answer in
one line; `--drain HOST --undrain` takes the host back. Exit 0 when the door accepted, 2 otherwise.
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.parse
import urllib.request


def drain_command(args: argparse.Namespace) -> int:
    host = args.host if ":" not in args.host else f"[{args.host}]"
    if host in ("0.0.0.0", "[::]"):
        host = "127.0.0.1"
    url = f"http://{host}:{args.port}/drain?" + urllib.parse.urlencode({"host": args.drain})
    request = urllib.request.Request(url, method="DELETE" if args.undrain else "POST")
    if args.token:
        request.add_header("Authorization", f"Bearer {args.token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as r:
            reply = json.load(r)
    except urllib.error.HTTPError as err:
        try:
            reason = json.load(err).get("error", err.reason)
        except ValueError:
            reason = err.reason
        print(f"omnirt: error: the front door refused ({err.code}): {reason}", file=sys.stderr)
        return 2
    except (urllib.error.URLError, OSError) as err:
        why = getattr(err, "reason", err)
        print(f"omnirt: error: no front door at {host}:{args.port} ({why})", file=sys.stderr)
        return 2
    if not reply["draining"]:
        print(f"host {reply['host']} takes sessions again ({reply['sessions']} running)")
    elif reply["moving"]:
        print(f"host {reply['host']} is draining: {reply['moving']} sessions move at their next turn boundary")
    else:
        print(f"host {reply['host']} is draining: no new session; its {reply['sessions']} sessions are left to end "
              "(no room elsewhere)" if reply["sessions"] else f"host {reply['host']} is draining: it is empty")
    return 0
