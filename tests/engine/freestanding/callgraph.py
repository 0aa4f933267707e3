#!/usr/bin/env python3
"""Reads `objdump -dr` output on stdin and fails if the call graph has a
cycle (recursion). Edges: resolved calls and tail jumps to a function's
start, and the PLT32 relocations unresolved calls to global functions carry.
"""
import re
import sys

graph, cur = {}, None
for line in sys.stdin:
    m = re.match(r"^[0-9a-f]+ <([^>]+)>:", line)
    if m:
        cur = m.group(1)
        graph.setdefault(cur, set())
        continue
    if cur is None:
        continue
    m = re.search(r"\b(call|jmp)\s+[0-9a-f]+ <([^>+]+)>", line)
    if m and not (m.group(1) == "jmp" and m.group(2) == cur):
        graph[cur].add(m.group(2))
    m = re.search(r"R_X86_64_PLT32\s+([A-Za-z_.][A-Za-z0-9_.]*)", line)
    if m:
        graph[cur].add(m.group(1))

seen, stack = set(), []


def visit(f):
    if f in stack:
        sys.exit("FAIL: recursion: " + " -> ".join(stack[stack.index(f):] + [f]))
    if f in seen:
        return
    stack.append(f)
    for g in sorted(graph.get(f, ())):
        visit(g)
    stack.pop()
    seen.add(f)


for f in sorted(graph):
    visit(f)
print("ok: no recursion among", len(graph), "functions")
