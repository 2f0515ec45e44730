"""Ordinary python-websockets readers for the fan-out test.

Usage: py_fanout_readers.py URL READERS MESSAGES
Joins READERS clients (pyreader0...), prints "joined", then reads until each
has received MESSAGES chat lines (MSG ...) and prints one JSON object: per
client, every chat frame it received, in order.
"""
import asyncio
import json
import sys

import websockets


async def join(url, nick):
    ws = await websockets.connect(url)
    while (await asyncio.wait_for(ws.recv(), 10)) != "SYS Send: NICK <name>":
        pass
    await ws.send("NICK " + nick)
    while (await asyncio.wait_for(ws.recv(), 10)) != "SYS " + nick + " joined the chat!":
        pass
    return ws


async def read(ws, count):
    frames = []
    while len(frames) < count:
        frame = await asyncio.wait_for(ws.recv(), 20)
        if frame.startswith("MSG "):
            frames.append(frame)
    return frames


async def main(url, readers, count):
    clients = [await join(url, "pyreader%d" % i) for i in range(readers)]
    print("joined", flush=True)
    got = await asyncio.gather(*(read(ws, count) for ws in clients))
    for ws in clients:
        await ws.close()
    print(json.dumps({"frames": got}), flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))
