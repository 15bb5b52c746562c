#!/usr/bin/env python3
"""Write uimap.conf(5) in scdoc from docs/configuration.md, so the options are described
in one place: the markdown's option table becomes OPTIONS, its signal table SIGNALS, its
other paragraphs DESCRIPTION and NOTES, its example EXAMPLE.

    scripts/conf-man.py docs/configuration.md > uimap.conf.5.scd
"""

import re
import sys


def inline(text):
    """Markdown inline text to scdoc: `code` and **strong** in bold, the rest escaped."""
    out = []
    for i, part in enumerate(re.split(r"(`[^`]*`|\*\*[^*]+\*\*)", text)):
        if i % 2 == 1:
            inner = part[1:-1] if part.startswith("`") else part[2:-2]
            out.append("*" + inner.replace("\\", "\\\\").replace("*", "\\*")
                       .replace("_", "\\_") + "*")
        else:
            out.append(part.replace("\\", "\\\\").replace("*", "\\*").replace("_", "\\_"))
    return "".join(out)


def cells(line):
    return [c.strip() for c in line.strip().strip("|").split("|")]


def main(path):
    with open(path) as f:
        lines = f.read().splitlines()
    intro, notes, options, signals, example = [], [], [], [], []
    section, in_code = "intro", False
    for line in lines:
        if line.startswith("```"):
            in_code = not in_code
            continue
        if in_code:
            example.append(line)
            continue
        if line.startswith("# "):
            continue
        if line.startswith("## "):
            section = line[3:].strip().lower()
            continue
        if line.startswith("|"):
            row = cells(line)
            if set(row[0]) <= set("-:") or row[0] in ("option", "signal"):
                continue
            (signals if section == "signals" else options).append(row)
            continue
        target = intro if section == "intro" and not options else notes
        if section not in ("intro", "signals", "example"):
            target = notes
        if section == "signals" or section == "example":
            continue
        target.append(line)

    def paragraphs(ls):
        return "\n".join(inline(l) for l in ls).strip() + "\n"

    w = sys.stdout.write
    w("uimap.conf(5)\n\n# NAME\n\nuimap.conf - the configuration file of uimapd and libuimap\n\n")
    w("# SYNOPSIS\n\n_/etc/uimapd.conf_ (read by the systemd unit), or any file given to "
      "*uimapd --config* _FILE_ or to *uimap\\_config\\_load\\_file*(3).\n\n")
    w("# DESCRIPTION\n\n" + paragraphs(intro) + "\n# OPTIONS\n\n")
    for row in options:
        keys = [k.strip().strip("`") for k in row[0].split(",")]
        w(", ".join("*" + inline(k).replace("*", "") + "*" for k in keys) + "\n")
        w("\tDefault: " + inline(row[1]) + ". " + inline(row[2]) + "\n\n")
    if notes:
        w("# NOTES\n\n" + paragraphs(notes) + "\n")
    if signals:
        w("# SIGNALS\n\n")
        for row in signals:
            w(inline(row[0]) + "\n\t" + inline(row[1]) + "\n\n")
    if example:
        w("# EXAMPLE\n\n```\n" + "\n".join(example) + "\n```\n\n")
    w("# SEE ALSO\n\n*uimapd*(8), *uimapctl*(8)\n")


if __name__ == "__main__":
    main(sys.argv[1])
