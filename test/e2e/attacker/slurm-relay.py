# A hostile program in the user's own container against its node's Slurm relay
# (test/e2e/slurm-in-container.test.ts): `python3 slurm-relay.py MARKER`. It holds what any
# program in the container holds (the agent's config, with the job step's secret) and speaks the
# relay's wire itself (core/slurm-relay/slurm-relay-protocol.ts), so it can send what the real
# client never would. Prints one line per case: `case NAME frames=TYPES exit=CODE`, the frame
# types the relay sent before it closed, and the exit code it reported (none when it ran nothing).
import hashlib
import hmac
import json
import os
import secrets
import socket
import struct
import sys

MARKER = sys.argv[1]
config = json.load(open(os.environ["SRUN_DOCKER_AGENT_CONFIG"]))
SOCKET = os.environ["SRUN_DOCKER_SLURM_RELAY"]
SECRET = bytes.fromhex(config["secret"])
NODE = config["node"]
JOB = config["jobKey"]


def frame(kind, payload):
    return struct.pack(">BI", kind, len(payload)) + payload


def read_frames(sock):
    data = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except OSError:
            chunk = b""
        if not chunk:
            break
        data += chunk
    frames = []
    while len(data) >= 5:
        kind, length = struct.unpack(">BI", data[:5])
        frames.append((kind, data[5 : 5 + length]))
        data = data[5 + length :]
    return frames


def attempt(name, secret, after):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(SOCKET)
    header = sock.recv(5)
    challenge = json.loads(sock.recv(struct.unpack(">BI", header)[1]))
    client_nonce = secrets.token_hex(16)
    transcript = "|".join(["slurm-client", JOB, challenge["nonce"], client_nonce, NODE, "0"])
    mac = hmac.new(secret, transcript.encode(), hashlib.sha256).hexdigest()
    hello = json.dumps({"node": NODE, "nonce": client_nonce, "mac": mac}).encode()
    # No half-close: the relay takes a client that stops sending as one gone, and ends its command.
    sock.settimeout(20)
    try:
        sock.sendall(frame(0x02, hello) + after)
    except OSError:
        pass
    frames = read_frames(sock)
    sock.close()
    kinds = ",".join(hex(kind) for kind in [0x01] + [kind for kind, _ in frames])
    exits = [json.loads(payload) for kind, payload in frames if kind == 0x15]
    code = exits[0].get("code", "signal") if exits else "none"
    print(f"case {name} frames={kinds} exit={code}", flush=True)


def command(program, args):
    body = json.dumps({"program": program, "args": args, "cwd": "/", "env": {}}).encode()
    return frame(0x50, body)


touch = ["-c", f"touch {MARKER}"]
attempt("honest", SECRET, command("scontrol", ["show", "hostnames"]))
attempt("forged", secrets.token_bytes(32), command("scontrol", ["show", "hostnames"]))
attempt("path", SECRET, command("/bin/sh", touch))
attempt("dotdot", SECRET, command("../../bin/sh", touch))
attempt("other", SECRET, command("sh", touch))
shell_string = {"program": "scontrol", "args": f"x; touch {MARKER}", "cwd": "/", "env": {}}
attempt("string", SECRET, frame(0x50, json.dumps(shell_string).encode()))
attempt("megabyte", SECRET, command("scontrol", ["x" * (1024 * 1024)]))
