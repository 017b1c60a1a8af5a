#!/usr/bin/env python3
"""Runs one operation of an instance's pinned admin program (struct sipalg_admin, maps/sipalg_maps.h)
and prints what the program left in the struct as one JSON line.

Usage: admin_op.py PIN_DIR OP [FIELD=VALUE ...]     (root; used by test_loader.sh)

The loader test uses it to drive the dialog operations the slow-path daemon uses, which have no
CLI verb. OP is a name from enum sipalg_admin_op without the prefix (binding_touch,
pinhole_open, dialog_begin, ...). Fields: priv=A.B.C.D:PORT, remote=A.B.C.D[:PORT],
public_port=N, owner=N, arg=N, ports=N,N,.. (8 at most); the message (dm): call=HEX, req=0|1,
method=NAME, cseq=NAME, status=N, session=N, media=N, lport=N,.., lip=A.B.C.D,..,
lrtcp=A.B.C.D,.., callid=TEXT, cseqno=N, expires=N.
"""
import ctypes
import json
import os
import platform
import socket
import struct
import sys

# enum sipalg_admin_op
OPS = {
    "timer_start": 1, "sweep": 2, "clock_set": 3, "pinhole_open": 4, "pinhole_close": 5,
    "binding_close": 6, "binding_touch": 7, "binding_lifetime": 8, "daemon_beat": 13,
    "daemon_count": 14, "dialog_begin": 15, "dialog_out": 16, "dialog_in": 17, "dialog_end": 18,
    "signal": 19,
}
# enum sipalg_method (include/sipalg/sip_types.h)
METHODS = {"NONE": 0, "OTHER": 1, "INVITE": 2, "ACK": 3, "BYE": 4, "CANCEL": 5, "REGISTER": 6,
           "UPDATE": 11}

# struct sipalg_admin up to dm (76 bytes, then 4 bytes of padding: dm is 8-byte aligned), and
# struct sipalg_dialog_msg (80 bytes). Network-order fields are packed as bytes.
ADMIN = struct.Struct("<Ii4s4s2s2sHHI8H32s4x")
DLGMSG = struct.Struct("<QBBBBHH4H16s16s16sIi")
SIZE = ADMIN.size + DLGMSG.size
assert SIZE == 160, SIZE

BPF_OBJ_GET = 7
BPF_PROG_TEST_RUN = 10
SYS_BPF = {"x86_64": 321, "aarch64": 280}[platform.machine()]

libc = ctypes.CDLL("libc.so.6", use_errno=True)
libc.syscall.restype = ctypes.c_long


def bpf(cmd, attr):
    buf = ctypes.create_string_buffer(attr, 128)
    r = libc.syscall(SYS_BPF, cmd, buf, ctypes.c_uint(128))
    if r < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    return r


def ip4(text):
    return socket.inet_aton(text)


def endpoint(text):
    host, _, port = text.partition(":")
    return ip4(host), struct.pack(">H", int(port) if port else 0)


def many(text, conv, n, empty):
    vals = [conv(v) for v in text.split(",")] if text else []
    if len(vals) > n:
        raise SystemExit(f"at most {n} values: {text}")
    return vals + [empty] * (n - len(vals))


def main():
    if len(sys.argv) < 3 or sys.argv[2] not in OPS:
        raise SystemExit(__doc__)
    pin_dir, op = sys.argv[1], OPS[sys.argv[2]]
    f = dict(arg.split("=", 1) for arg in sys.argv[3:])
    priv_ip, priv_port = endpoint(f.get("priv", "0.0.0.0:0"))
    remote_ip, remote_port = endpoint(f.get("remote", "0.0.0.0"))
    ports = many(f.get("ports", ""), int, 8, 0)
    head = ADMIN.pack(op, 0, priv_ip, remote_ip, priv_port, remote_port,
                      int(f.get("public_port", 0)), int(f.get("owner", 0)), int(f.get("arg", 0)),
                      *ports, b"\0" * 32)
    msg = DLGMSG.pack(int(f.get("call", "0"), 16), int(f.get("req", 0)),
                      METHODS[f.get("method", "NONE")], METHODS[f.get("cseq", "NONE")],
                      int(f.get("media", 0)), int(f.get("status", 0)), int(f.get("session", 0)),
                      *many(f.get("lport", ""), int, 4, 0),
                      b"".join(many(f.get("lip", ""), ip4, 4, b"\0" * 4)),
                      b"".join(many(f.get("lrtcp", ""), ip4, 4, b"\0" * 4)),
                      f.get("callid", "").encode()[:16], int(f.get("cseqno", 0)),
                      int(f.get("expires", -1)))
    ctx = ctypes.create_string_buffer(head + msg, SIZE)

    path = ctypes.create_string_buffer((pin_dir + "/prog_admin").encode())
    fd = bpf(BPF_OBJ_GET, struct.pack("<QII", ctypes.addressof(path), 0, 0))
    try:
        # union bpf_attr.test: prog_fd, retval, data sizes and pointers, repeat, duration,
        # ctx_size_in, ctx_size_out, ctx_in, ctx_out. The kernel writes the context back in
        # place for syscall programs.
        bpf(BPF_PROG_TEST_RUN,
            struct.pack("<IIIIQQIIIIQQ", fd, 0, 0, 0, 0, 0, 0, 0, SIZE, 0,
                        ctypes.addressof(ctx), 0))
    finally:
        os.close(fd)
    out = ADMIN.unpack(ctx.raw[:ADMIN.size])
    ips = [socket.inet_ntoa(out[17][i:i + 4]) for i in range(0, 32, 4)]
    print(json.dumps({"result": out[1], "public_port": out[6], "arg": out[8], "ips": ips}))


if __name__ == "__main__":
    main()
