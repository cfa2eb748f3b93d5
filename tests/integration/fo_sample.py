#!/usr/bin/env python3
"""fo_sample.py - where services really run, from the hosts' process tables.

Usage: fo_sample.py [--once] WWW_PREFIX INTERVAL_S NS...
(runs until SIGTERM; --once: one sample, then exit)

Every INTERVAL_S it reads /proc once: each process whose network namespace
is one of NS (the hosts, by /run/netns/NS) and whose command line ends in
"-h WWW_PREFIXname" (a process service, lib_failover.sh) or holds
"-name blixard-name" (a QEMU guest of the qemu driver) is an instance of
service "name" on that host. One line
a sample: "TIME name:h1,h2 name:h3 ..." (hosts numbered from 1 in NS order);
services with no instance are left out.
"""
import os
import signal
import sys
import time


def ns_inodes(names):
    return {os.stat("/run/netns/" + n).st_ino: i + 1 for i, n in enumerate(names)}


def sample(prefix, hosts):
    where = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            host = hosts.get(os.stat("/proc/%s/ns/net" % pid).st_ino)
            if host is None:
                continue
            with open("/proc/%s/cmdline" % pid, "rb") as f:
                argv = f.read().split(b"\0")
            with open("/proc/%s/stat" % pid, "rb") as f:
                if f.read().rsplit(b")", 1)[1].split()[0] == b"Z":
                    continue
        except OSError:
            continue
        args = [a.decode(errors="replace") for a in argv if a]
        name = None
        if len(args) >= 2 and args[-2] == "-h" and args[-1].startswith(prefix):
            name = args[-1][len(prefix):]
        elif "-name" in args[:-1]:
            vm = args[args.index("-name") + 1]
            if vm.startswith("blixard-"):
                name = vm[len("blixard-"):]
        if name:
            where.setdefault(name, set()).add(host)
    return where


def main():
    args = sys.argv[1:]
    once = bool(args) and args[0] == "--once"
    if once:
        args = args[1:]
    prefix, interval, names = args[0], float(args[1]), args[2:]
    hosts = ns_inodes(names)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    out = sys.stdout
    while True:
        t = time.time()
        where = sample(prefix, hosts)
        out.write("%.3f %s\n" % (t, " ".join(
            "%s:%s" % (n, ",".join(str(h) for h in sorted(hs))) for n, hs in sorted(where.items()))))
        out.flush()
        if once:
            return
        time.sleep(max(0.0, interval - (time.time() - t)))


if __name__ == "__main__":
    main()
