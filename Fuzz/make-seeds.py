#!/usr/bin/env python3
"""Writes the Gofer and control-socket seed corpora (Fuzz/corpus/gofer, Fuzz/corpus/control): one valid
message per file, in the wire formats of Sources/GoferProtocol/Messages.swift and
Sources/Sandbox/ControlProtocol.swift. The spec and ELF seeds are real files, kept as they are."""
import os
import struct

here = os.path.dirname(os.path.abspath(__file__))


def write(kind, name, data):
    os.makedirs(os.path.join(here, "corpus", kind), exist_ok=True)
    with open(os.path.join(here, "corpus", kind, name), "wb") as f:
        f.write(data)


def header(op, tag=7):
    return struct.pack("<HHI", op, 0, tag)


def string(b):
    return struct.pack("<H", len(b)) + b


def attributes(mode=0o40755, size=4096):
    # dev inode mode nlink uid gid rdev size blksize blocks, then 3 x (sec, nsec)
    return (struct.pack("<QQIQIIQqqq", 2049, 1234, mode, 2, 0, 0, 0, size, 4096, 8)
            + struct.pack("<qq", 1700000000, 5) * 3)


owner = struct.pack("<II", 1000, 1000)
requests = {
    "req-version": header(1) + struct.pack("<II", 1, 1),
    "req-attach": header(2),
    "req-walk": header(3) + struct.pack("<QH", 1, 3) + string(b"usr") + string(b"bin") + string(b"env"),
    "req-open": header(4) + struct.pack("<QI", 5, 0),
    "req-getattr": header(5) + struct.pack("<Q", 5),
    "req-readdir": header(6) + struct.pack("<QQ", 5, 0),
    "req-readlink": header(7) + struct.pack("<Q", 5),
    "req-statfs": header(8) + struct.pack("<Q", 1),
    "req-close": header(9) + struct.pack("<Q", 5),
    "req-create": header(10) + struct.pack("<Q", 1) + string(b"new.txt") + struct.pack("<II", 0o101, 0o644) + owner,
    "req-mkdir": header(11) + struct.pack("<Q", 1) + string(b"dir") + struct.pack("<I", 0o755) + owner,
    "req-mknod": header(12) + struct.pack("<Q", 1) + string(b"fifo") + struct.pack("<I", 0o10644) + owner,
    "req-symlink": header(13) + struct.pack("<Q", 1) + string(b"link") + string(b"/etc/passwd") + owner,
    "req-link": header(14) + struct.pack("<QQ", 5, 1) + string(b"hard"),
    "req-unlink": header(15) + struct.pack("<Q", 1) + string(b"dir") + struct.pack("<I", 0x200),
    "req-rename": header(16) + struct.pack("<Q", 1) + string(b"a") + struct.pack("<Q", 1) + string(b"b")
                  + struct.pack("<I", 1),
    "req-setattr": header(17) + struct.pack("<Q", 5) + struct.pack("<IIIIq", 1, 0o600, 0, 0, 0)
                   + struct.pack("<qq", 0, 0) * 2,
    "req-attachbind": header(18) + struct.pack("<I", 0),
}
replies = {
    "rep-error": header(4) + struct.pack("<i", 2),
    "rep-version": header(1) + struct.pack("<iII", 0, 1, 65536),
    "rep-attach": header(2) + struct.pack("<iQ", 0, 1) + attributes(),
    "rep-walk": header(3) + struct.pack("<iH", 0, 2) + struct.pack("<Q", 2) + attributes()
                + struct.pack("<Q", 3) + attributes(0o100755, 1000) + struct.pack("<i", 0),
    "rep-walk-partial": header(3) + struct.pack("<iH", 0, 1) + struct.pack("<Q", 2) + attributes()
                        + struct.pack("<i", 2),
    "rep-open": header(4) + struct.pack("<i", 0),
    "rep-getattr": header(5) + struct.pack("<i", 0) + attributes(0o100644, 12),
    "rep-readdir": header(6) + struct.pack("<iBQH", 0, 1, 3, 2) + struct.pack("<QB", 11, 4) + string(b"etc")
                   + struct.pack("<QB", 12, 8) + string(b"hosts"),
    "rep-readlink": header(7) + struct.pack("<i", 0) + string(b"../lib/ld-linux-x86-64.so.2"),
    "rep-statfs": header(8) + struct.pack("<i", 0) + struct.pack("<10Q", 0xEF53, 4096, 100, 50, 40, 1000, 900, 255, 4096, 1),
    "rep-close": header(9) + struct.pack("<i", 0),
    "rep-create": header(10) + struct.pack("<iQ", 0, 9) + attributes(0o100644, 0),
    "rep-unlink": header(15) + struct.pack("<i", 0),
    "rep-setattr": header(17) + struct.pack("<i", 0) + attributes(0o100600, 0),
    "rep-attachbind": header(18) + struct.pack("<iQ", 0, 4) + attributes(),
}
for name, data in {**requests, **replies}.items():
    write("gofer", name, data)

control = {
    "start": '{"version":1,"op":"start"}',
    "signal": '{"version":1,"op":"signal","signal":15,"all":false}',
    "signal-pid": '{"version":1,"op":"signal","signal":9,"pid":7}',
    "exec": '{"version":1,"op":"exec","argv":["/bin/sh","-c","echo hi"],"env":["A=b"],"cwd":"/","uid":0,"gid":0}',
    "exec-tty": '{"version":1,"op":"exec","argv":["/bin/sh"],"terminal":true,"replaceEnv":true}',
    "exec-wait": '{"version":1,"op":"execWait","pid":7}',
    "update": '{"version":1,"op":"update","memoryLimit":-1,"pidsLimit":100}',
    "old-version": '{"version":0,"op":"start"}',
    "resp-ok": '{"version":1,"ok":true}',
    "resp-wait": '{"version":1,"ok":true,"exitStatus":3}',
    "resp-ps": '{"version":1,"ok":true,"processes":[{"pid":1,"ppid":0,"uid":0,"command":"sh","cpu":12345}]}',
    "resp-error": '{"version":1,"ok":false,"error":"no such process"}',
    "resp-stats": '{"version":1,"ok":true,"stats":{"cpuUser":1,"cpuSystem":2,"memoryUsage":4096,"memoryFailures":0,"tasks":3,"pidsLimit":64}}',
}
for name, line in control.items():
    write("control", name, (line + "\n").encode())
