#!/usr/bin/env python3
"""Where a profile's time goes: sums an async-profiler collapsed file (one 'frame;frame;... count' line per stack)
by the thread kind and the first frame that names a known layer, and prints shares.

    python3 loadtest/lib/collapsed.py r1-base-keys-4k-1x16.collapsed [TOP]

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


def main():
    path = sys.argv[1]
    top_n = int(sys.argv[2]) if len(sys.argv) > 2 else 25
    total = 0
    kinds = collections.Counter()
    layers = collections.Counter()
    syscalls = collections.Counter()
    leaves = collections.Counter()
    ours = collections.Counter()
    for line in open(path):
        line = line.rstrip('\n')
        if not line:
            continue
        stack_s, _, n = line.rpartition(' ')
        n = int(n)
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
