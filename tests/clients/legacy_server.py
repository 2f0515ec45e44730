"""A stand-in for the original Wirechat server (python-websockets), for client
compatibility tests: only the core commands, and the original's quirks as the
protocol contract lists them (exact nickname comparison, local timestamps to
the second with no zone, every unknown command answered with
"ERR Expected: MSG <text>", no subprotocol, one line per frame, replay after
the join line).

With --version X it answers VERSION like the original since v1.2
("SYS Wirechat server vX"); without it, like v1.0 (ERR Expected: MSG <text>).

Prints the port it listens on (127.0.0.1, any free port) and serves until
killed. Usage: legacy_server.py [--version X]
"""
import asyncio
import datetime
import sys

import websockets

REPLAY = 50
VERSION = sys.argv[2] if len(sys.argv) > 2 and sys.argv[1] == "--version" else None
clients = {}
history = []


async def broadcast(line):
    for ws in list(clients):
        try:
            await ws.send(line)
        except websockets.ConnectionClosed:
            pass


async def handler(ws, path=None):
    await ws.send("SYS Welcome to Wirechat!")
    await ws.send("SYS Send: NICK <name>")
    try:
        first = await ws.recv()
    except websockets.ConnectionClosed:
        return
    if not first.startswith("NICK "):
        await ws.send("ERR Expected: NICK <name>")
        await ws.close()
        return
    nick = first[5:].strip()
    if not nick or any(c.isspace() for c in nick) or len(nick) > 20:
        await ws.send("ERR Invalid nickname")
        await ws.close()
        return
    if nick in clients.values():
        await ws.send("ERR Nickname already in use")
        await ws.close()
        return
    clients[ws] = nick
    await broadcast(f"SYS {nick} joined the chat!")
    if history:
        await ws.send(f"SYS Replay start ({len(history[-REPLAY:])} messages)")
        for line in history[-REPLAY:]:
            await ws.send(line)
        await ws.send("SYS Replay end")
    try:
        async for raw in ws:
            if raw.startswith("MSG "):
                text = raw[4:].strip()
                if not text:
                    await ws.send("ERR Expected: MSG <text>")
                    continue
                ts = datetime.datetime.now().isoformat(timespec="seconds")
                line = f"MSG [{ts}] {nick}: {text}"
                history.append(line)
                await broadcast(line)
            elif raw == "WHO":
                names = sorted(clients.values())
                await ws.send(f"SYS Online ({len(names)}): {', '.join(names)}")
            elif raw == "VERSION" and VERSION:
                await ws.send(f"SYS Wirechat server v{VERSION}")
            elif raw == "QUIT":
                await ws.close()
                break
            else:
                await ws.send("ERR Expected: MSG <text>")
    except websockets.ConnectionClosed:
        pass
    finally:
        del clients[ws]
        await broadcast(f"SYS {nick} left the chat!")


async def main():
    async with websockets.serve(handler, "127.0.0.1", 0) as server:
        print(server.sockets[0].getsockname()[1], flush=True)
        await asyncio.Future()


asyncio.run(main())
