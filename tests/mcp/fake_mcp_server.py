#!/usr/bin/env python3
"""A misbehaving MCP stdio server for actors/mcp tests: tools/list in two pages, and tools
whose calls succeed (ok), report an error (fail), crash the server (crash), never answer
(hang), or answer with a line that is not JSON (garbage)."""
import json
import sys
import time

PAGES = [["ok", "fail", "crash"], ["hang", "garbage", "pic"]]


def send(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


for line in sys.stdin:
    msg = json.loads(line)
    method, rid = msg.get("method"), msg.get("id")
    if method == "initialize":
        send({"jsonrpc": "2.0", "id": rid, "result": {
            "protocolVersion": msg["params"]["protocolVersion"], "capabilities": {"tools": {}},
            "serverInfo": {"name": "fake", "version": "1"}}})
    elif method == "tools/list":
        page = 1 if (msg.get("params") or {}).get("cursor") == "p2" else 0
        result = {"tools": [{"name": n, "description": "fake " + n,
                             "inputSchema": {"type": "object",
                                             "properties": {"x": {"type": "string"}}}}
                            for n in PAGES[page]]}
        if page == 0:
            result["nextCursor"] = "p2"
        send({"jsonrpc": "2.0", "id": rid, "result": result})
    elif method == "tools/call":
        name = msg["params"]["name"]
        if name == "crash":
            sys.stderr.write("boom: crashing on purpose\n")
            sys.exit(3)
        if name == "hang":
            continue
        if name == "garbage":
            sys.stdout.write("this is not json\n")
            sys.stdout.flush()
            continue
        if name == "pic":
            content = [{"type": "text", "text": "a picture:"},
                       {"type": "image", "mimeType": "image/png", "data": "AAAA"}]
            send({"jsonrpc": "2.0", "id": rid, "result": {"content": content}})
            continue
        text = "got " + json.dumps(msg["params"].get("arguments"), sort_keys=True)
        send({"jsonrpc": "2.0", "id": rid,
              "result": {"content": [{"type": "text", "text": text}], "isError": name == "fail"}})
    elif rid is not None:
        send({"jsonrpc": "2.0", "id": rid, "error": {"code": -32601, "message": "no " + method}})
