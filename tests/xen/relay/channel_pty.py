#!/usr/bin/env python3
"""What the dom0 end of an xl.cfg channel (connection=socket) looks like,
without Xen: qemu's chardev listens on a unix socket and carries its bytes
to and from the guest's console. Here the guest's console is a pty whose
follower path is printed on stdout ("pty PATH"), for `hyperupcall --connect
hvc:PATH`. The follower stays open here, so unlike a Xen console nothing
is lost before the guest opens it; the handshake copes either way.

    channel_pty.py SOCKET
"""
import os
import select
import socket
import sys
import tty

path = sys.argv[1]
master, follower = os.openpty()
tty.setraw(follower)
print("pty", os.ttyname(follower), flush=True)
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(path)
srv.listen(1)
conn, _ = srv.accept()
while True:
    r, _, _ = select.select([master, conn], [], [])
    if master in r:
        data = os.read(master, 16384)
        if not data:
            break
        conn.sendall(data)
    if conn in r:
        data = conn.recv(16384)
        if not data:
            break
        os.write(master, data)
