# socket.socketpair() + selectors (epoll) on the Sentry: an echo exchange across fork, and timeouts.
import os, selectors, socket, sys, time

sel = selectors.DefaultSelector()
print("selector", type(sel).__name__)
a, b = socket.socketpair()
pid = os.fork()
if pid == 0:
    a.close()
    for i in range(3):
        time.sleep(0.02)
        b.sendall(b"ping %d" % i)
        if b.recv(100) != b"pong %d" % i:
            os._exit(1)
    b.close()
    os._exit(0)
b.close()
a.setblocking(False)
sel.register(a, selectors.EVENT_READ, data="peer")
answered = 0
closed = False
while not closed:
    events = sel.select(timeout=5)
    if not events:
        print("timeout waiting for the child")
        break
    for key, mask in events:
        data = key.fileobj.recv(100)
        if not data:
            closed = True
            break
        key.fileobj.sendall(data.replace(b"ping", b"pong"))
        answered += 1
_, status = os.waitpid(pid, 0)
print("answered", answered, "child status", status)
sel.unregister(a)
a.close()
t0 = time.monotonic()
c, d = socket.socketpair()
sel.register(c, selectors.EVENT_READ)
quiet = sel.select(timeout=0.05)
print("quiet select", len(quiet), "after >= 45ms:", time.monotonic() - t0 >= 0.045)
try:
    c.setblocking(False)
    c.recv(10)
    print("no EAGAIN")
except BlockingIOError:
    print("BlockingIOError ok")
print("getsockname", repr(c.getsockname()), "family", c.family == socket.AF_UNIX)
sys.exit(0 if answered == 3 and closed else 1)
