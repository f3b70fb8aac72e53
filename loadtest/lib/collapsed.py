#!/usr/bin/env python3
"""Where a profile's time goes: sums an async-profiler collapsed file (one 'frame;frame;... count' line per stack)
by the thread kind and the first frame that names a known layer, and prints shares.

    python3 loadtest/lib/collapsed.py r1-base-keys-4k-1x16.collapsed [TOP]
    python3 loadtest/lib/collapsed.py --paths r1-base-zipf-10000-1x16.collapsed [r2-... ...]

--paths (for Zipf cells, profiled with PROFILE_THREADS=1) instead splits each file by the request path a sample is on
(compiler, hits, the miss path's origin client / Fill on the loop / cache-io file work / hand-offs, passes, TopUrls,
other loop work, GC), one column per file: PATHS below says which frames name which path, tried in order; the ACROSS
rows after them count samples across those rows (the file system's share of the cache-io work, for one).

The layers are matched on the leaf-most known frame: kernel frames (async-profiler marks them _[k]) are split by the
syscall they are under; Java frames by package (ours, Netty, Vert.x, Caffeine, JDK). TOP (default 25) also lists the
hottest leaf frames and the hottest frames of our own package (inclusive)."""
import collections
import re
import sys

LAYERS = [  # (name, test on a frame), tried from the leaf up: the first hit names the sample
    ('zcproxy', lambda f: f.startswith('dev/zcproxy') or f.startswith('dev.zcproxy')),
    ('caffeine', lambda f: 'github/benmanes/caffeine' in f),
    ('vertx', lambda f: f.startswith('io/vertx')),
    ('netty', lambda f: f.startswith('io/netty')),
    ('jdk', lambda f: f.startswith('java/') or f.startswith('jdk/') or f.startswith('sun/')),
]


def thread_kind(stack):
    top = stack[0]
    for key, name in (('C2 CompilerThre', 'C2 compiler'), ('C1 CompilerThre', 'C1 compiler'), ('VM Thread', 'GC/VM thread'),
                      ('GC Thread', 'GC/VM thread'), ('G1 ', 'GC/VM thread')):
        if key in top:
            return name
    joined = ';'.join(stack)
    if 'CompileBroker' in joined or 'C2Compiler' in joined or 'Compile::Compile' in joined:
        return 'C2/C1 compiler'
    if 'GenCollectedHeap' in joined or 'SerialHeap' in joined or 'VM_GenCollect' in joined or 'DefNewGeneration' in joined:
        return 'GC'
    return 'other threads'


def syscall_of(stack):
    for f in stack:
        m = re.match(r'(?:__x64_sys_|__se_sys_|__do_sys_|do_sys_|ksys_)(\w+?)(?:_\[k\])?$', f)
        if m:
            return m.group(1)
    return None


PATHS = [  # (name, test on the whole stack joined by ';' and on the thread frame), the first hit names the sample
    ('JIT compiler threads (C2, C1)', lambda j, t: 'CompilerThre' in t),
    ('GC / VM thread / sweeper', lambda j, t: 'VM Thread' in t or 'GC Thread' in t or 'Sweeper' in t
        or 'VM_GenCollect' in j or 'GenCollectedHeap' in j or 'SerialHeap' in j),
    ('TopUrls (every response)', lambda j, t: 'TopUrls' in j),
    ('miss: file create/write/rename/close + index publish (cache-io)', lambda j, t: 'cache-io' in t and (
        'EntryWriter' in j or 'DiskStore.publish' in j or 'StoreIndex' in j or 'DiskStore$' in j and 'writ' in j)),
    ('hits: opens on cache-io', lambda j, t: 'cache-io' in t and ('DiskStore.open' in j or 'OpenEntry' in j or 'lookup' in j)),
    ('miss: cache-io hand-off (park/unpark, futex)', lambda j, t: 'cache-io' in t or 'LockSupport.unpark' in j
        or 'SerialExecutor' in j or 'ThreadPoolExecutor.execute' in j),
    ('passes (no-store relay)', lambda j, t: 'Relay' in j or 'FrontPass' in j or 'ProxyHandler.pass' in j),
    # below the origin response's handler: the policy, the Fill and sending the body to the client
    ('miss: policy + Fill on the loop (incl. sending to the client)', lambda j, t: any(k in j for k in (
        'server/Fill', 'onOriginResponse', 'respondFromFill', 'startReader', 'joinOrFetch', 'Coalescer', 'afterFetch',
        'EntryWriter'))),
    # the rest of the origin leg: the request out (headers, pool, Vert.x client) and the response head in
    ('miss: origin client (request out, response head in)', lambda j, t: any(k in j for k in (
        'ProxyHandler.fetch', 'missFetch', 'OriginPool', 'OriginCodec', 'OriginClient', 'HttpClient', 'Http1xClient',
        'ClientConnection', 'OriginRequestHeaders'))),
    ('hits: hit path, RAM tier, lookups', lambda j, t: any(k in j for k in (
        'RawHits', 'FrontHits', 'FrontDecision', 'HitPath', 'FileHit', 'RamBodies', 'RamTier', 'HitCork', 'HitWriter',
        'deliverStored', 'writeStored', 'lookupAndServe', 'DiskStore.open', 'EncodedResponses'))),
    ('loops: other (HTTP decode, epoll, plumbing)', lambda j, t: True),
]

# Shares across the rows above (a sample counts in its row and here too): what the file system, not the proxy, adds.
ACROSS = [
    # ext4 without a journal skips every inode freed in the last 60-360 s when it allocates one (recently_deleted):
    # after a mass deletion on the same file system each create walks past them (results/MISS-2026-12-04d.md)
    ('(across rows) ext4 inode allocation walk, find_inode_bit', lambda j, t: 'find_inode_bit' in j),
    ('(across rows) fan-out directories created (mkdir: a fresh cache)', lambda j, t: 'sys_mkdir' in j),
]


def stacks(path):
    """(stack text, sample count) of each line of a collapsed file."""
    for line in open(path):
        line = line.rstrip('\n')
        if line:
            stack_s, _, n = line.rpartition(' ')
            yield stack_s, int(n)


def paths(files):
    cols = []
    for path in files:
        c = collections.Counter()
        total = 0
        for stack_s, n in stacks(path):
            t, _, _ = stack_s.partition(';')
            total += n
            name = next(nm for nm, test in PATHS if test(stack_s, t))
            c[name] += n
            for nm, test in ACROSS:
                if test(stack_s, t):
                    c[nm] += n
        cols.append((c, total))
    print('| item | ' + ' | '.join(f.rsplit('/', 1)[-1].replace('.collapsed', '') for f in files) + ' |')
    print('|---|' + '--:|' * len(files))
    for name, _ in PATHS + ACROSS:
        print(f'| {name} | ' + ' | '.join(f'{100.0 * c[name] / max(1, tot):.1f}%' for c, tot in cols) + ' |')
    print('| samples | ' + ' | '.join(str(tot) for _, tot in cols) + ' |')


def main():
    if sys.argv[1] == '--paths':
        paths(sys.argv[2:])
        return
    path = sys.argv[1]
    top_n = int(sys.argv[2]) if len(sys.argv) > 2 else 25
    total = 0
    kinds = collections.Counter()
    layers = collections.Counter()
    syscalls = collections.Counter()
    leaves = collections.Counter()
    ours = collections.Counter()
    for stack_s, n in stacks(path):
        stack = stack_s.split(';')
        total += n
        kind = thread_kind(stack)
        leaves[stack[-1]] += n
        for f in set(stack):
            if f.startswith('dev/zcproxy') or f.startswith('dev.zcproxy'):
                ours[f] += n
        if kind != 'other threads':
            kinds[kind] += n
            continue
        if stack[-1].endswith('_[k]'):
            sc = syscall_of(stack)
            layers['kernel: ' + (sc or 'no syscall (irq, softirq, page fault)')] += n
            continue
        name = 'other (interpreter, VM, native)'
        for f in reversed(stack):
            hit = next((ln for ln, test in LAYERS if test(f)), None)
            if hit:
                name = hit
                break
        layers['user: ' + name] += n
    if not total:
        print('no samples')
        return
    print(f'{total} samples in {path}')
    print('\nby thread kind / layer (leaf-most known frame):')
    for k, n in kinds.most_common():
        print(f'  {100.0 * n / total:5.1f}%  {k}')
    for k, n in layers.most_common():
        print(f'  {100.0 * n / total:5.1f}%  {k}')
    print(f'\nhottest leaf frames (top {top_n}):')
    for k, n in leaves.most_common(top_n):
        print(f'  {100.0 * n / total:5.1f}%  {k}')
    print(f'\nour frames, inclusive (top {top_n}):')
    for k, n in ours.most_common(top_n):
        print(f'  {100.0 * n / total:5.1f}%  {k}')


if __name__ == '__main__':
    main()
