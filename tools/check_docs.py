#!/usr/bin/python3
"""check_docs.py - the variables, flags and counters, documented where they are
defined: one source of truth, and every other place checked against it.

    tools/check_docs.py LAUNCHER

The source of truth for the variables is the parser's table, `vars[]` in
shim/config.c (name and what it accepts), with the defaults of
hc_config_defaults(); for the counters, HC_STATS_KEYS in shim/log.h; for the
flags, what LAUNCHER prints for --help (and `stats --help`, `measure --help`).
Checked against them:
  README.md, the Configuration table: a row for every variable and none
      other, the default (numbers and keywords) the parser's;
  man/libhalfclose.7, ENVIRONMENT: an item for every variable and none other,
      with "Accepted: <the parser's words>." and "Default: <the default>.";
      STATISTICS: every counter, in order;
  LAUNCHER --help: every variable named, and none other;
  man/halfclose.1: an item for every flag of every --help, and none other,
      naming the flag's variable.
Prints every disagreement and exits 1, else one line saying what agreed.
"""
import os
import re
import subprocess
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
problems = []


def read(path):
    with open(os.path.join(ROOT, path), encoding="utf-8") as f:
        return f.read()


def problem(text):
    problems.append(text)


def parser_vars():
    """[(name, expects, field or None, parser)] from vars[], in order."""
    src = read("shim/config.c")
    table = src[src.index("static const struct var vars[] = {"):]
    table = table[:table.index("};")]
    rows = re.findall(r'\{ "(HALFCLOSE_\w+)", "((?:[^"\\]|\\.)*)", (\w+), (?:MS\((\w+)\)|0)', table)
    return [(name, expects, field or None, parse) for name, expects, parse, field in rows], src


def parser_defaults(src):
    """{field: default as the documents write it} for numbers and keywords."""
    body = src[src.index("void hc_config_defaults("):]
    body = body[:body.index("\n}\n")]
    # HC_UNREAD_KEEP -> "keep": a parse_choice row's words are its enum's
    # constants in order (shim/config.h, shim/proto.h).
    enums = read("shim/config.h") + read("shim/proto.h")
    keyword = {}
    for field, words in re.findall(r'parse_choice, MS\((\w+)\), 0, 0,\s*\(const char \*const\[\]\)\{ ([^}]*) \}', src):
        const = re.search(rf"cfg->{field} = (\w+);", body)
        if const is None:
            continue
        decl = re.search(r"enum \w+ \{([^}]*\b" + const.group(1) + r"\b[^}]*)\}", enums)
        consts = [re.sub(r"/\*.*?\*/", "", c).strip() for c in re.sub(r"/\*.*?\*/", "", decl.group(1), flags=re.S).split(",")]
        consts = [c for c in consts if c]
        keyword[const.group(1)] = re.findall(r'"([\w-]+)"', words)[consts.index(const.group(1))]
    out = {"disabled": "0"}
    for field, value in re.findall(r"cfg->(\w+) = (\w+);", body):
        if value.isdigit():
            out[field] = value
        elif value in keyword:
            out[field] = keyword[value]
    return out


def readme_rows():
    """{name: default cell} of the README's Configuration table."""
    text = read("README.md")
    section = text[text.index("## Configuration"):]
    section = section[:section.index("\n## ", 4)]
    rows = {}
    for line in section.splitlines():
        m = re.match(r"\| `(HALFCLOSE_\w+)` \|.*\| ([^|]*) \|$", line)
        if m:
            rows[m.group(1)] = m.group(2).strip().strip("`")
    return rows


def mdoc_items(text, section, macro):
    """{first word: item text} of `.It MACRO word` items in SECTION."""
    start = text.index(f".Sh {section}\n")
    end = text.find("\n.Sh ", start + 1)
    items, name = {}, None
    for line in text[start:end if end > 0 else None].splitlines():
        m = re.match(rf"\.It {macro} (\S+)", line)
        if m:
            name = m.group(1)
            items[name] = ""
        elif line.startswith(".It ") or line == ".El":
            name = None
        if name is not None:
            items[name] += line + "\n"
    return items


def mdoc_plain(text):
    """Item text with the macros dropped: what a reader sees, roughly."""
    words = [w for w in text.split() if not re.fullmatch(r"\.?[A-Z][a-z][a-z]?|\.It|Ns", w)]
    return " ".join(words).replace("\\-", "-").replace("\\&", "")


def help_text(launcher, *args):
    return subprocess.run([launcher, *args, "--help"], capture_output=True, text=True, check=True).stdout


def check_variables(launcher):
    rows, src = parser_vars()
    names = [r[0] for r in rows]
    defaults = parser_defaults(src)
    readme = readme_rows()
    man = mdoc_items(read("man/libhalfclose.7"), "ENVIRONMENT", "Ev")
    helptext = help_text(launcher)
    in_help = set(re.findall(r"HALFCLOSE_[A-Z_]*[A-Z](?![A-Z_]*\*)", helptext))
    for where, found in (("README.md's Configuration table", set(readme)),
                         ("man/libhalfclose.7 ENVIRONMENT", set(man)), ("halfclose --help", in_help)):
        for n in names:
            if n not in found:
                problem(f"{where}: {n} (a variable of shim/config.c) is missing")
        for n in sorted(found - set(names)):
            problem(f"{where}: {n} is not a variable of shim/config.c")
    for name, expects, field, parse in rows:
        want = defaults.get(field) if field else defaults.get({"HALFCLOSE_DISABLE": "disabled",
                                                               "HALFCLOSE_UNREAD": "unread",
                                                               "HALFCLOSE_HEAL": "heal",
                                                               "HALFCLOSE_LOG": "log_level"}.get(name, ""))
        if name in man:
            plain = mdoc_plain(man[name])
            if f"Accepted: {expects}." not in plain:
                problem(f"man/libhalfclose.7: {name} lacks \"Accepted: {expects}.\" (the parser's words)")
            if want is not None and f"Default: {want}." not in plain:
                problem(f"man/libhalfclose.7: {name} lacks \"Default: {want}.\" (hc_config_defaults)")
        if want is not None and name in readme and readme[name] != want:
            problem(f"README.md: {name}'s default is {readme[name]!r}; hc_config_defaults says {want!r}")
    return len(names)


def help_flags(text):
    """{--flag: variable or None} from a usage text."""
    flags = {}
    for line in text.splitlines():
        m = re.match(r"\s+(?:-\w, )?(--[\w-]+)\b(.*)$", line)
        if m:
            var = re.search(r"(HALFCLOSE_\w+)\s*$", m.group(2))
            flags[m.group(1)] = var.group(1) if var else None
    return flags


def check_flags(launcher):
    man = read("man/halfclose.1")
    items = {}  # every long flag of an `.It Fl ...` line: that item's text
    for section in ("OPTIONS", "STATS", "MEASURE"):
        for text in mdoc_items(man, section, "Fl").values():
            head = text.split("\n")[0]
            for flag in re.findall(r"\\-([\w-]+)", head):
                items["--" + flag] = text
    flags = {}
    for args in ((), ("stats",), ("measure",)):
        flags.update(help_flags(help_text(launcher, *args)))
    for flag, var in flags.items():
        if flag not in items:
            problem(f"man/halfclose.1: no item for {flag} (in --help)")
        elif var is not None and f"Ev {var}" not in items[flag]:
            problem(f"man/halfclose.1: the item for {flag} does not name {var}, as --help does")
    for flag in sorted(set(items) - set(flags)):
        problem(f"man/halfclose.1: {flag} is not a flag any --help shows")
    return len(flags)


def check_counters():
    macro = read("shim/log.h")
    macro = macro[macro.index("#define HC_STATS_KEYS(X)"):]
    macro = macro[:macro.index("\n\n")]
    keys = re.findall(r"X\((\w+)\)", macro)
    man = list(mdoc_items(read("man/libhalfclose.7"), "STATISTICS", "Li"))
    if man != keys:
        problem(f"man/libhalfclose.7 STATISTICS lists {man}; HC_STATS_KEYS is {keys}")
    return len(keys)


def main():
    if len(sys.argv) != 2:
        print("usage: check_docs.py LAUNCHER", file=sys.stderr)
        return 2
    nvars = check_variables(sys.argv[1])
    nflags = check_flags(sys.argv[1])
    nkeys = check_counters()
    for p in problems:
        print(f"check_docs: {p}")
    if problems:
        return 1
    print(f"check_docs: {nvars} variables (parser, README, --help, libhalfclose.7), "
          f"{nflags} flags (--help, halfclose.1), {nkeys} counters (HC_STATS_KEYS, libhalfclose.7) agree")
    return 0


if __name__ == "__main__":
    sys.exit(main())
