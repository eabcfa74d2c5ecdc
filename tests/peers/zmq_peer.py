#!/usr/bin/env python3
"""A real ZeroMQ peer (pyzmq / libzmq) for SPOT's interop tests.

The Rust test starts this script with a role (and, for the roles that dial, our listener's
port), then talks to it over loopback TCP. The script reports what its libzmq socket saw as one
JSON object per line on stdout, and takes orders as one JSON object per line on stdin, so the
test can assert on both directions. Frames travel as lowercase hex.

Usage: zmq_peer.py ROLE [PORT] [--timeout S] [--heartbeat-ms MS] [--identity HEX] [--monitor]

Roles:
  dealer-connect PORT   a DEALER dialing our listener
  router-connect PORT   a ROUTER dialing our listener
  req-connect PORT      a REQ dialing our listener
  sub-connect PORT      a SUB dialing our listener (we answer as XPUB)
  pub-connect PORT      a PUB dialing our listener (which must refuse it)
  router-bind           a ROUTER listening on an ephemeral port
  dealer-bind           a DEALER listening on an ephemeral port
  xpub-bind             an XPUB listening on an ephemeral port (XPUB_VERBOSE: reports every
                        (un)subscribe as a received message b"\\x01prefix" / b"\\x00prefix")
  pub-bind              a PUB listening on an ephemeral port

First line: {"port": N} for the bind roles, {"connecting": PORT} for the connect roles, or
{"error": "..."} (and exit code 3) when pyzmq is missing.

Options:
  --timeout S        watchdog: report {"error": "watchdog"} and exit after S seconds (default 10),
                     so a stuck test never leaves this process behind
  --heartbeat-ms MS  ZMQ_HEARTBEAT_IVL = MS and ZMQ_HEARTBEAT_TIMEOUT = 10 x MS (libzmq PINGs
                     us every MS and closes 10 x MS after a PING if nothing came back)
  --identity HEX     ZMQ_ROUTING_ID (sent as the Identity READY property)
  --monitor          report the socket's monitor events as {"event": "NAME"}

Orders on stdin:
  {"send": ["hex", ...]}            send one multipart message
  {"reply": ["hex", ...]}           ROUTER only: send to the routing id of the last message
  {"recv": N, "timeout_ms": T}      report the next N messages as {"recv": ["hex", ...]}; on
                                    timeout (default 3000 ms) report {"timeout": "recv"}
  {"subscribe": "hex"} / {"unsubscribe": "hex"}   (SUB only)
  {"exit": true}
Every order is acknowledged with {"ok": <order name>} once done. The script also exits when
stdin closes.
"""
import json
import os
import sys
import threading

OUT_LOCK = threading.Lock()


def emit(obj):
    with OUT_LOCK:
        sys.stdout.write(json.dumps(obj) + "\n")
        sys.stdout.flush()


try:
    import zmq
    from zmq.utils.monitor import parse_monitor_message
except ImportError as exc:  # reported, never skipped: the Rust test fails with this message
    emit({"error": "pyzmq is not installed (%s): run scripts/test.sh, which installs it" % exc})
    sys.exit(3)


def parse_args(argv):
    role = argv[1]
    opts = {"timeout": 10.0, "heartbeat_ms": None, "identity": None, "monitor": False}
    rest = argv[2:]
    port = None
    i = 0
    while i < len(rest):
        arg = rest[i]
        if arg == "--timeout":
            opts["timeout"] = float(rest[i + 1])
            i += 2
        elif arg == "--heartbeat-ms":
            opts["heartbeat_ms"] = int(rest[i + 1])
            i += 2
        elif arg == "--identity":
            opts["identity"] = bytes.fromhex(rest[i + 1])
            i += 2
        elif arg == "--monitor":
            opts["monitor"] = True
            i += 1
        else:
            port = int(arg)
            i += 1
    return role, port, opts


def watch_monitor(mon):
    """Reports monitor events of the main socket (runs in its own thread, owning `mon`)."""
    try:
        while True:
            try:
                msg = parse_monitor_message(mon.recv_multipart())
            except zmq.ZMQError:
                return
            event = msg["event"]
            name = event.name if hasattr(event, "name") else str(event)
            emit({"event": name})
            if event == zmq.EVENT_MONITOR_STOPPED:
                return
    finally:
        mon.close()


def main():
    role, port, opts = parse_args(sys.argv)

    def watchdog():
        emit({"error": "watchdog"})
        os._exit(2)

    timer = threading.Timer(opts["timeout"], watchdog)
    timer.daemon = True
    timer.start()

    ctx = zmq.Context.instance()
    kinds = {
        "dealer-connect": zmq.DEALER,
        "router-connect": zmq.ROUTER,
        "req-connect": zmq.REQ,
        "sub-connect": zmq.SUB,
        "pub-connect": zmq.PUB,
        "router-bind": zmq.ROUTER,
        "dealer-bind": zmq.DEALER,
        "xpub-bind": zmq.XPUB,
        "pub-bind": zmq.PUB,
    }
    sock = ctx.socket(kinds[role])
    sock.setsockopt(zmq.LINGER, 200)
    if role == "xpub-bind":
        sock.setsockopt(zmq.XPUB_VERBOSE, 1)
    if opts["heartbeat_ms"]:
        sock.setsockopt(zmq.HEARTBEAT_IVL, opts["heartbeat_ms"])
        sock.setsockopt(zmq.HEARTBEAT_TIMEOUT, opts["heartbeat_ms"] * 10)
    if opts["identity"] is not None:
        sock.setsockopt(zmq.ROUTING_ID, opts["identity"])
    if opts["monitor"]:
        # Created and connected here, before bind/connect, so no event is lost.
        mon = sock.get_monitor_socket(zmq.EVENT_ALL)
        mon.setsockopt(zmq.LINGER, 0)
        threading.Thread(target=watch_monitor, args=(mon,), daemon=True).start()

    if role.endswith("-connect"):
        sock.connect("tcp://127.0.0.1:%d" % port)
        emit({"connecting": port})
    else:
        emit({"port": sock.bind_to_random_port("tcp://127.0.0.1")})

    last_routing_id = None
    for line in sys.stdin:
        order = json.loads(line)
        if "send" in order:
            sock.send_multipart([bytes.fromhex(f) for f in order["send"]])
            emit({"ok": "send"})
        elif "reply" in order:
            frames = [bytes.fromhex(f) for f in order["reply"]]
            sock.send_multipart([last_routing_id] + frames)
            emit({"ok": "reply"})
        elif "recv" in order:
            sock.setsockopt(zmq.RCVTIMEO, int(order.get("timeout_ms", 3000)))
            for _ in range(int(order["recv"])):
                try:
                    frames = sock.recv_multipart()
                except zmq.Again:
                    emit({"timeout": "recv"})
                    break
                if kinds[role] == zmq.ROUTER:
                    last_routing_id = frames[0]
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
    if opts["monitor"]:
        sock.disable_monitor()
    sock.close()
    ctx.term()


if __name__ == "__main__":
    main()
