"""Two independent python-websockets clients chatting through a Wirechat server.

Prints every line each client received as JSON, one object per client, so the
Deno test can compare them with the contract. Usage: py_two_clients.py URL
"""
import asyncio
import json
import sys

import websockets


async def recv_until(ws, want, got):
    while True:
        line = await asyncio.wait_for(ws.recv(), 5)
        got.append(line)
        if line == want or (want.endswith("*") and line.startswith(want[:-1])):
            return line


async def main(url):
    a_lines, b_lines = [], []
    async with websockets.connect(url) as a:
        await recv_until(a, "SYS Send: NICK <name>", a_lines)
        await a.send("NICK pyalice")
        await recv_until(a, "SYS pyalice joined the chat!", a_lines)
        await a.send("MSG first from python")
        await recv_until(a, "MSG [*", a_lines)
        async with websockets.connect(url) as b:
            await recv_until(b, "SYS Send: NICK <name>", b_lines)
            await b.send("NICK pyalice")
            await recv_until(b, "ERR *", b_lines)
            await b.wait_closed()
            b_close = [b.close_code, b.close_reason]
        async with websockets.connect(url) as b:
            await recv_until(b, "SYS Send: NICK <name>", b_lines)
            await b.send("NICK pybob")
            await recv_until(b, "SYS Replay end", b_lines)
            await recv_until(a, "SYS pybob joined the chat!", a_lines)
            await b.send("who")
            await recv_until(b, "SYS Online*", b_lines)
            await b.send("MSG reply from bob")
            await recv_until(b, "MSG [*", b_lines)
            await recv_until(a, "MSG [*", a_lines)
            await b.send("BOGUS")
            await recv_until(b, "ERR *", b_lines)
            await b.send("QUIT")
            await b.wait_closed()
            quit_close = [b.close_code, b.close_reason]
        await recv_until(a, "SYS pybob left the chat!", a_lines)
    print(json.dumps({"a": a_lines, "b": b_lines, "refused_close": b_close, "quit_close": quit_close}))


asyncio.run(main(sys.argv[1]))
