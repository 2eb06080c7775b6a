#!/usr/bin/env python3
"""A minimal Tessera implementation with its conformance driver, in one file.

Standard library only. It is a real (small) implementation, not a proxy: its
own peer table, handle tables, nodes and receive queues. It speaks protocol 2
(Tessera v2) and implements attach, createNode (with acceptsHandles and the
node limit), mint, release, sameNode, send, receive and close, with credentials
(keyed by peer id) and configurable limits, and room notices for senders
refused for room; it declares exactly that in the init handshake; the suite
runs what it declares and reports the rest UNSUPPORTED. Sends and receives
never wait here (no blocking features), so the suite sends them with
timeoutMs 0.

To show that names are the implementation's own business (HANDLE-2), peers
are numbered from 100 and handle names go 1000, 1007, 1014, ... per peer.

Protocol: one JSON object per line. Requests on stdin ({"type": "init" |
"reset" | "invoke" | "shutdown", "id": N, ...}); responses on stdout
({"type": "init_ok" | "reset_ok" | "invoke_ok" | "shutdown_ok" | "error",
"id": N, ...}); logs on stderr. See conformance/README.md.

Run the suite on it:
  npx tessera conformance --driver "python3 conformance/examples/driver.py"
"""
import base64
import json
import re
import sys

MAX_SAFE = 2 ** 53 - 1
# SEND-2: canonical base64 only (the bits no byte uses must be zero).
BASE64 = re.compile(r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/][AQgw]==|[A-Za-z0-9+/]{2}[AEIMQUYcgkosw048]=)?$")
RIGHTS = ["send", "grant"]
DEFAULT_LIMITS = {
    "maxPeers": 64, "maxHandlesPerPeer": 256, "maxPayloadBytes": 65536, "maxHandlesPerMessage": 8,
    "queueCapacityMessages": 64, "queueCapacityBytes": 1048576, "senderQuotaMessages": 16, "senderQuotaBytes": 262144,
    "maxNodesPerPeer": 64, "maxPendingPerPeer": 64, "senderQuotaHandles": 64,
}


class Failure(Exception):
    """An operation fails with an error code; nothing has changed yet (ATOMIC-1)."""
    def __init__(self, code):
        super().__init__(code)
        self.code = code


def is_count(x):
    return isinstance(x, int) and not isinstance(x, bool) and 0 <= x <= MAX_SAFE


class Bus:
    def __init__(self, limits):
        self.limits = limits
        self.peers = {}          # id -> peer dict
        self.nodes = {}          # id -> node dict
        self.handles = {}        # id -> handle dict
        self.next_peer = 100
        self.next_node = 1
        self.next_handle = 1
        # QUOTA-5: one room watch per (sender, queue) refused for room, in the order armed.
        self.watches = []

    # ---------------------------------------------------------------- helpers
    def peer(self, op):
        pid = op.get("peer")
        if not is_count(pid) or pid not in self.peers:
            raise Failure("INVALID_ARGUMENT")
        p = self.peers[pid]
        if not p["open"]:
            raise Failure("CLOSED")
        return p

    def lookup(self, p, name):
        hid = p["table"].get(name)
        return self.handles.get(hid) if hid is not None else None

    def usable(self, p, name):
        h = self.lookup(p, name)
        if h is None:
            raise Failure("BAD_HANDLE")
        if h["status"] == "dead":
            raise Failure("DEAD")
        return h

    def room(self, p, extra=1):
        # HANDLE-1, NOTICE-4: a released handle's notice still waiting in the queue keeps its slot.
        if len(p["table"]) + p["ghosts"] + extra > self.limits["maxHandlesPerPeer"]:
            raise Failure("TABLE_FULL")

    def place(self, p, h):
        name = p["next_name"]
        p["next_name"] += 7
        p["table"][name] = h["id"]
        h["name"], h["holder"] = name, p["id"]
        return name

    def derive(self, parent, holder, rights, badge):
        node = self.nodes[parent["node"]]
        h = {"id": self.next_handle, "node": parent["node"], "status": "live", "root": False,
             "rights": [r for r in RIGHTS if r in (rights if rights is not None else parent["rights"])], "badge": badge}
        self.next_handle += 1
        self.handles[h["id"]] = h
        node["derived"] += 1
        if node["senders"] == 0 and node["notice"] is not None:
            # NOTICE-6: the count rises again: the waiting no-senders notice is no longer true; take it back.
            owner = self.peers[node["owner"]]
            owner["queue"] = [e for e in owner["queue"] if e is not node["notice"]]
            node["notice"] = None
        node["senders"] += 1
        self.place(holder, h)
        return h

    def notify(self, peer_id, notice):
        p = self.peers[peer_id]
        if not p["open"]:
            return None
        entry = {"kind": "notice", "notice": notice}
        p["queue"].append(entry)
        return entry

    def release(self, h):
        """RELEASE-1: drop a handle; the owner hears no-senders when the count falls to zero (NOTICE-2)."""
        holder = self.peers[h["holder"]]
        del holder["table"][h["name"]]
        del self.handles[h["id"]]
        notice = h.get("notice")
        if notice is not None and any(e is notice for e in holder["queue"]):
            notice["ghost"] = True
            holder["ghosts"] += 1
        if h["root"] or h["status"] != "live":
            return
        node = self.nodes[h["node"]]
        if node["status"] != "live":
            return
        node["senders"] -= 1
        if node["senders"] == 0:
            # NOTICE-2: a fall to zero enqueues a fresh notice (none waits: a rise would have withdrawn it).
            entry = self.notify(node["owner"], {"type": "no-senders", "node": node["owner_name"], "derivedCount": node["derived"]})
            if entry is not None:
                entry["about"] = node["id"]
            node["notice"] = entry

    # ---------------------------------------------------------------- room notices (QUOTA-5)
    def fits(self, dest, sender_id, nbytes):
        msgs = [e for e in dest["queue"] if e["kind"] == "message"]
        mine = [e for e in msgs if e["sender"] == sender_id]
        lim = self.limits
        return not (len(msgs) + 1 > lim["queueCapacityMessages"]
                    or sum(e["bytes"] for e in msgs) + nbytes > lim["queueCapacityBytes"]
                    or len(mine) + 1 > lim["senderQuotaMessages"]
                    or sum(e["bytes"] for e in mine) + nbytes > lim["senderQuotaBytes"])

    def arm(self, sender_id, dest_id, handle, nbytes):
        # A refusal for room owes the sender one room notice for that queue; a later refusal updates it.
        for w in self.watches:
            if w["sender"] == sender_id and w["dest"] == dest_id:
                if w["notice"] is None:
                    w["handle"], w["bytes"] = handle, nbytes
                return
        self.watches.append({"sender": sender_id, "dest": dest_id, "handle": handle, "bytes": nbytes, "notice": None})

    def settle(self):
        # At the end of a step: every armed watch whose queue now has room sends its notice, oldest first.
        for w in self.watches:
            if w["notice"] is None and self.fits(self.peers[w["dest"]], w["sender"], w["bytes"]):
                w["notice"] = self.notify(w["sender"], {"type": "room", "handle": w["handle"]})
                w["notice"]["watch"] = w

    def end_watches(self, peer_id):
        # CLOSE-4: watches of and on a closing peer end; room notices about its queue are withdrawn.
        for w in [w for w in self.watches if peer_id in (w["sender"], w["dest"])]:
            self.watches.remove(w)
            if w["dest"] == peer_id and w["sender"] != peer_id and w["notice"] is not None:
                sender = self.peers[w["sender"]]
                sender["queue"] = [e for e in sender["queue"] if e is not w["notice"]]

    @staticmethod
    def valid_rights(rights):
        return isinstance(rights, list) and all(r in RIGHTS for r in rights)

    # ---------------------------------------------------------------- operations
    def attach(self, op):
        c = op.get("credentials")
        if not isinstance(c, dict) or not all(is_count(c.get(k)) for k in ("uid", "gid", "pid")):
            raise Failure("INVALID_ARGUMENT")
        grants = op.get("bootstrap", [])
        if not isinstance(grants, list):
            raise Failure("INVALID_ARGUMENT")
        for g in grants:
            src = self.peers.get(g.get("fromPeer")) if is_count(g.get("fromPeer")) else None
            if src is None or not src["open"] or not is_count(g.get("handle")):
                raise Failure("INVALID_ARGUMENT")
            if "rights" in g and not self.valid_rights(g["rights"]):
                raise Failure("INVALID_ARGUMENT")
            if "badge" in g and not (is_count(g["badge"]) and g["badge"] >= 1):
                raise Failure("INVALID_ARGUMENT")
        if sum(1 for p in self.peers.values() if p["open"]) >= self.limits["maxPeers"]:
            raise Failure("TABLE_FULL")
        for g in grants:
            h = self.usable(self.peers[g["fromPeer"]], g["handle"])
            if "rights" in g and not set(g["rights"]) <= set(h["rights"]):
                raise Failure("NO_RIGHTS")
            if "badge" in g and h["badge"] != 0:
                raise Failure("NO_RIGHTS")
        if len(grants) > self.limits["maxHandlesPerPeer"]:
            raise Failure("TABLE_FULL")
        p = {"id": self.next_peer, "open": True, "credentials": {k: c[k] for k in ("uid", "gid", "pid")},
             "table": {}, "next_name": 1000, "queue": [], "ghosts": 0}
        self.next_peer += 1
        self.peers[p["id"]] = p
        names = []
        for g in grants:
            parent = self.lookup(self.peers[g["fromPeer"]], g["handle"])
            names.append(self.derive(parent, p, g.get("rights"), g.get("badge", parent["badge"]))["name"])
        return {"peer": p["id"], "handles": names}

    def createNode(self, op):
        p = self.peer(op)
        for key in ("credentials", "acceptsHandles"):
            if key in op and not isinstance(op[key], bool):
                raise Failure("INVALID_ARGUMENT")
        # NODE-4: a live node counts until destroyed, even after its root handle is released.
        if sum(1 for n in self.nodes.values() if n["owner"] == p["id"] and n["status"] == "live") >= self.limits["maxNodesPerPeer"]:
            raise Failure("TABLE_FULL")
        self.room(p)
        h = {"id": self.next_handle, "node": self.next_node, "status": "live", "root": True, "rights": list(RIGHTS), "badge": 0}
        self.next_handle += 1
        self.handles[h["id"]] = h
        name = self.place(p, h)
        self.nodes[self.next_node] = {"id": self.next_node, "owner": p["id"], "owner_name": name, "status": "live",
                                      "credentials": op.get("credentials") is True, "accepts": op.get("acceptsHandles") is not False,
                                      "derived": 0, "senders": 0, "notice": None}
        self.next_node += 1
        return {"handle": name}

    def mint(self, op):
        p = self.peer(op)
        if not is_count(op.get("handle")):
            raise Failure("INVALID_ARGUMENT")
        if not self.valid_rights(op.get("rights")) or ("badge" in op and not (is_count(op["badge"]) and op["badge"] >= 1)):
            raise Failure("INVALID_ARGUMENT")
        h = self.usable(p, op["handle"])
        if not set(op["rights"]) <= set(h["rights"]):
            raise Failure("NO_RIGHTS")
        if "badge" in op and h["badge"] != 0:
            raise Failure("NO_RIGHTS")
        self.room(p)
        return {"handle": self.derive(h, p, op["rights"], op.get("badge", h["badge"]))["name"]}

    def release_op(self, op):
        p = self.peer(op)
        if not is_count(op.get("handle")):
            raise Failure("INVALID_ARGUMENT")
        h = self.lookup(p, op["handle"])
        if h is None:
            raise Failure("BAD_HANDLE")
        self.release(h)
        return {}

    def sameNode(self, op):
        """NODE-6: whether two of the peer's live node handles designate the same node."""
        p = self.peer(op)
        if not is_count(op.get("handle")) or not is_count(op.get("other")):
            raise Failure("INVALID_ARGUMENT")
        a = self.usable(p, op["handle"])
        b = self.usable(p, op["other"])
        return {"same": a["node"] == b["node"]}

    def send(self, op):
        p = self.peer(op)
        if not is_count(op.get("handle")) or ("timeoutMs" in op and not is_count(op["timeoutMs"])):
            raise Failure("INVALID_ARGUMENT")
        m = op.get("message")
        if not isinstance(m, dict) or not isinstance(m.get("segments"), list) or not all(isinstance(s, str) and BASE64.match(s) for s in m["segments"]):
            raise Failure("INVALID_ARGUMENT")
        if m.get("transfers"):
            raise Failure("INVALID_ARGUMENT")  # this implementation does not declare 'transfers'
        payload = b"".join(base64.b64decode(s) for s in m["segments"])
        if len(payload) > self.limits["maxPayloadBytes"]:
            raise Failure("TOO_LARGE")
        h = self.usable(p, op["handle"])
        if "send" not in h["rights"]:
            raise Failure("NO_RIGHTS")
        node = self.nodes[h["node"]]
        dest = self.peers[node["owner"]]
        msgs = [e for e in dest["queue"] if e["kind"] == "message"]
        mine = [e for e in msgs if e["sender"] == p["id"]]
        lim = self.limits
        if not self.fits(dest, p["id"], len(payload)):
            self.arm(p["id"], dest["id"], op["handle"], len(payload))
            raise Failure("QUEUE_FULL")
        entry = {"kind": "message", "sender": p["id"], "node": node["id"], "bytes": len(payload),
                 "delivery": {"kind": "message", "node": node["owner_name"], "badge": h["badge"],
                              "payload": base64.b64encode(payload).decode(), "handles": []}}
        if node["credentials"]:
            # CRED-1, CRED-2: stamped by the bus, keyed by the sender's peer id (never reused).
            entry["delivery"]["credentials"] = dict(p["credentials"], peerKey=p["id"])
        dest["queue"].append(entry)
        return {}

    def receive(self, op):
        p = self.peer(op)
        if not (is_count(op.get("max")) and op["max"] >= 1) or ("timeoutMs" in op and not is_count(op["timeoutMs"])):
            raise Failure("INVALID_ARGUMENT")
        out = []
        while p["queue"] and len(out) < op["max"]:
            e = p["queue"].pop(0)
            if e.get("ghost"):
                p["ghosts"] -= 1
            if "about" in e:
                self.nodes[e["about"]]["notice"] = None  # a no-senders notice, received
            if "watch" in e:
                self.watches.remove(e["watch"])  # a room notice, received: its watch ends
            out.append(e["delivery"] if e["kind"] == "message" else {"kind": "notice", "notice": e["notice"]})
        return {"deliveries": out}

    def close(self, op):
        p = self.peer(op)
        p["open"] = False
        # CLOSE-2: its nodes die in creation order; every other holder hears node-destroyed.
        for node in [n for n in self.nodes.values() if n["owner"] == p["id"] and n["status"] == "live"]:
            node["status"] = "destroyed"
            for h in sorted((h for h in self.handles.values() if h["node"] == node["id"] and h["status"] == "live"), key=lambda h: h["id"]):
                h["status"] = "dead"
                h["notice"] = self.notify(h["holder"], {"type": "node-destroyed", "handle": h["name"]})
            node["senders"] = 0
        # CLOSE-3: its handles are released in name order; CLOSE-4: its queue is discarded.
        for name in sorted(p["table"]):
            self.release(self.handles[p["table"][name]])
        self.end_watches(p["id"])
        p["queue"] = []
        for nid in [n["id"] for n in self.nodes.values() if n["owner"] == p["id"]]:
            del self.nodes[nid]
        return {}

    def invoke(self, op):
        table = {"attach": self.attach, "createNode": self.createNode, "mint": self.mint, "release": self.release_op,
                 "sameNode": self.sameNode, "send": self.send, "receive": self.receive, "close": self.close}
        fn = table.get(op.get("op"))
        if fn is None:
            return {"ok": False, "error": "INVALID_ARGUMENT"}
        try:
            value = fn(op)
        except Failure as f:
            return {"ok": False, "error": f.code}
        self.settle()
        return {"ok": True, "value": value}


def main():
    bus = Bus(dict(DEFAULT_LIMITS))
    out = sys.stdout
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            req = json.loads(line)
        except ValueError:
            out.write(json.dumps({"type": "error", "id": None, "message": "not JSON"}) + "\n")
            out.flush()
            continue
        kind, rid = req.get("type"), req.get("id")
        if kind == "init":
            resp = {"type": "init_ok", "id": rid, "info": {
                "name": "python-example", "protocolVersion": "2", "limits": DEFAULT_LIMITS,
                "operations": ["attach", "createNode", "mint", "release", "sameNode", "send", "receive", "close"],
                "features": ["configurable-limits", "credentials"]}}
        elif kind == "reset":
            bus = Bus(dict(req["limits"]))
            resp = {"type": "reset_ok", "id": rid, "limits": bus.limits}
        elif kind == "invoke":
            resp = {"type": "invoke_ok", "id": rid, "invocation": bus.invoke(req["op"])}
        elif kind == "shutdown":
            out.write(json.dumps({"type": "shutdown_ok", "id": rid}) + "\n")
            out.flush()
            return
        else:
            resp = {"type": "error", "id": rid, "message": "unknown request type %r" % kind}
        out.write(json.dumps(resp) + "\n")
        out.flush()


if __name__ == "__main__":
    main()
