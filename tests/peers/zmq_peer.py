#!/usr/bin/env python3
"""A real ZeroMQ peer (pyzmq / libzmq) for SPOT's interop tests.

The Rust test starts this script with a role, then talks to it over loopback TCP. The script
reports what its libzmq socket saw as one JSON object per line on stdout, and takes orders as one
JSON object per line on stdin, so the test can assert on both directions. Frames travel as hex.

Roles:
  dealer-connect PORT   a DEALER dialing our listener
  router-bind           a ROUTER listening on an ephemeral port (printed as {"port": N})
  sub-connect PORT      a SUB dialing our listener (XPUB side)
  xpub-bind             an XPUB listening on an ephemeral port (VERBOSE: reports every (un)subscribe)
  pub-bind              a PUB listening on an ephemeral port

Orders on stdin:
  {"send": ["hex", ...]}        send one multipart message
  {"recv": N}                   report the next N messages as {"recv": ["hex", ...]}
  {"subscribe": "hex"} / {"unsubscribe": "hex"}   (SUB only)
  {"exit": true}
Every order is acknowledged with {"ok": <order name>} once done.
"""
import json
import sys

import zmq


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def main():
    role = sys.argv[1]
    ctx = zmq.Context.instance()
    kinds = {
        "dealer-connect": zmq.DEALER,
        "router-bind": zmq.ROUTER,
        "sub-connect": zmq.SUB,
        "xpub-bind": zmq.XPUB,
        "pub-bind": zmq.PUB,
    }
    sock = ctx.socket(kinds[role])
    sock.setsockopt(zmq.LINGER, 1000)
    sock.setsockopt(zmq.RCVTIMEO, 10000)
    if role == "xpub-bind":
        sock.setsockopt(zmq.XPUB_VERBOSE, 1)
    if role.endswith("-connect"):
        sock.connect("tcp://127.0.0.1:%d" % int(sys.argv[2]))
        emit({"ready": True})
    else:
        port = sock.bind_to_random_port("tcp://127.0.0.1")
        emit({"port": port})
    for line in sys.stdin:
        order = json.loads(line)
        if "send" in order:
            frames = [bytes.fromhex(f) for f in order["send"]]
            sock.send_multipart(frames)
            emit({"ok": "send"})
        elif "recv" in order:
            for _ in range(int(order["recv"])):
                try:
                    frames = sock.recv_multipart()
                except zmq.Again:
                    emit({"error": "timeout"})
                    break
                emit({"recv": [f.hex() for f in frames]})
            emit({"ok": "recv"})
        elif "subscribe" in order:
            sock.setsockopt(zmq.SUBSCRIBE, bytes.fromhex(order["subscribe"]))
            emit({"ok": "subscribe"})
        elif "unsubscribe" in order:
            sock.setsockopt(zmq.UNSUBSCRIBE, bytes.fromhex(order["unsubscribe"]))
            emit({"ok": "unsubscribe"})
        elif "exit" in order:
            emit({"ok": "exit"})
            break
    sock.close()
    ctx.term()


if __name__ == "__main__":
    main()
