#!/usr/bin/env python3
"""Draw a flame graph SVG from folded stacks ("a;b;c COUNT" lines).

    perf/flamegraph.py [--title T] [--width 1200] in.folded > out.svg

Roots at the bottom, callees above their callers, width proportional to
samples.  Hover a frame for its name, samples and share; click to zoom into
it, click the background (or "Reset zoom") to zoom out.  Also prints nothing
else: no network, no dependencies beyond the standard library.
"""
import argparse
import hashlib
import html
import sys


class Node:
    __slots__ = ("name", "value", "children")

    def __init__(self, name):
        self.name = name
        self.value = 0
        self.children = {}


def parse(lines):
    root = Node("all")
    for line in lines:
        line = line.strip()
        if not line:
            continue
        stack, _, n = line.rpartition(" ")
        try:
            count = int(float(n))
        except ValueError:
            continue
        if count <= 0 or not stack:
            continue
        node = root
        node.value += count
        for f in stack.split(";"):
            child = node.children.get(f)
            if child is None:
                child = node.children[f] = Node(f)
            child.value += count
            node = child
    return root


def color(name):
    h = int(hashlib.md5(name.encode()).hexdigest()[:8], 16)
    if name.startswith("["):                  # unknown / other DSO: grey-ish
        return f"rgb({160 + h % 40},{160 + h % 40},{170 + h % 40})"
    if "uring" in name or name.startswith(("__x64", "do_", "sys_", "tcp_", "ip_", "__")):
        return f"rgb({200 + h % 55},{110 + (h >> 8) % 60},{40 + (h >> 16) % 40})"  # kernel/lib: orange
    return f"rgb({220 + h % 35},{(h >> 8) % 130 + 40},{(h >> 16) % 50})"     # warm


def depth_of(node):
    return 1 + max((depth_of(c) for c in node.children.values()), default=0)


JS = """
<script type="text/ecmascript"><![CDATA[
var W = %(width)d, PAD = %(pad)d, FW = W - 2 * PAD;
function frames() { return document.querySelectorAll("g.f"); }
function fit(g, w) {
  var t = g.querySelector("text"), name = g.getAttribute("data-n");
  var n = Math.floor((w - 6) / 7);
  t.textContent = n < 3 ? "" : (name.length <= n ? name : name.substring(0, n - 2) + "..");
}
function zoom(g) {
  var x0 = +g.getAttribute("data-x"), w0 = +g.getAttribute("data-w"), d0 = +g.getAttribute("data-d");
  var k = FW / w0;
  frames().forEach(function (f) {
    var x = +f.getAttribute("data-x"), w = +f.getAttribute("data-w"), d = +f.getAttribute("data-d");
    var r = f.querySelector("rect"), t = f.querySelector("text");
    var inside = x + w > x0 + 1e-9 && x < x0 + w0 - 1e-9;
    if (!inside) { f.style.display = "none"; return; }
    f.style.display = "";
    var nx = d < d0 ? 0 : (x - x0) * k, nw = d < d0 ? FW : w * k;
    r.setAttribute("x", PAD + nx); r.setAttribute("width", Math.max(nw - 0.5, 0.1));
    t.setAttribute("x", PAD + nx + 3); fit(f, nw);
    f.style.opacity = d < d0 ? 0.6 : 1;
  });
}
function reset() {
  frames().forEach(function (f) {
    var x = +f.getAttribute("data-x"), w = +f.getAttribute("data-w");
    var r = f.querySelector("rect"), t = f.querySelector("text");
    f.style.display = ""; f.style.opacity = 1;
    r.setAttribute("x", PAD + x); r.setAttribute("width", Math.max(w - 0.5, 0.1));
    t.setAttribute("x", PAD + x + 3); fit(f, w);
  });
}
document.addEventListener("click", function (e) {
  var g = e.target.closest ? e.target.closest("g.f") : null;
  if (g) zoom(g); else reset();
});
]]></script>
"""


def render(root, title, width, min_px):
    fh, pad, top = 16, 10, 50
    total = root.value or 1
    fw = width - 2 * pad
    max_depth = depth_of(root)
    height = top + max_depth * fh + 30
    out = []
    out.append('<?xml version="1.0" standalone="no"?>')
    out.append(f'<svg version="1.1" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
               'xmlns="http://www.w3.org/2000/svg">')
    out.append('<style>text { font-family: Verdana, sans-serif; font-size: 12px; fill: #000; } '
               'g.f:hover rect { stroke: #000; stroke-width: 0.5; cursor: pointer; } '
               '.t { font-size: 17px; } .s { fill: #555; }</style>')
    out.append(JS % {"width": width, "pad": pad})
    out.append(f'<rect x="0" y="0" width="{width}" height="{height}" fill="#f8f8f0"/>')
    out.append(f'<text class="t" x="{width / 2}" y="24" text-anchor="middle">{html.escape(title)}</text>')
    out.append(f'<text class="s" x="{pad}" y="42">{total} samples; hover for details, click to zoom</text>')
    out.append(f'<text class="s" x="{width - pad}" y="42" text-anchor="end" '
               'style="cursor:pointer" onclick="reset()">Reset zoom</text>')

    def draw(node, x, depth):
        w = node.value / total * fw
        if w < min_px:
            return
        y = height - 20 - (depth + 1) * fh
        pct = 100.0 * node.value / total
        label = html.escape(node.name)
        n = int((w - 6) / 7)
        shown = node.name if len(node.name) <= n else (node.name[: max(n - 2, 0)] + ".." if n >= 3 else "")
        out.append(f'<g class="f" data-n="{label}" data-x="{x:.3f}" data-w="{w:.3f}" data-d="{depth}">'
                   f'<title>{label} ({node.value} samples, {pct:.2f}%)</title>'
                   f'<rect x="{pad + x:.2f}" y="{y}" width="{max(w - 0.5, 0.1):.2f}" height="{fh - 1}" '
                   f'rx="2" fill="{color(node.name)}"/>'
                   f'<text x="{pad + x + 3:.2f}" y="{y + fh - 4}">{html.escape(shown)}</text></g>')
        cx = x
        for child in sorted(node.children.values(), key=lambda c: c.name):
            draw(child, cx, depth + 1)
            cx += child.value / total * fw

    draw(root, 0.0, 0)
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("input", nargs="?", help="folded stacks (default: stdin)")
    ap.add_argument("--title", default="Flame graph")
    ap.add_argument("--width", type=int, default=1200)
    ap.add_argument("--min-width", type=float, default=0.1, help="hide frames narrower than this (px)")
    a = ap.parse_args()
    src = open(a.input, errors="replace") if a.input else sys.stdin
    root = parse(src)
    if root.value == 0:
        print("flamegraph.py: no samples in input", file=sys.stderr)
        sys.exit(1)
    sys.stdout.write(render(root, a.title, a.width, a.min_width))


if __name__ == "__main__":
    main()
