"""Command line: `python -m nbdebug demo [name]`, `python -m nbdebug report module:factory -o out.html`."""
from __future__ import annotations

import argparse
import sys


def _demo(args) -> int:
    import nbdebug
    from nbdebug.examples import DEMO, EXAMPLES

    name = args.name or DEMO
    if name not in EXAMPLES:
        print(f"unknown example {name!r}; choose one of: {', '.join(EXAMPLES)}", file=sys.stderr)
        return 2
    spec = EXAMPLES[name]()
    print(f"nbdebug demo: tracing the built-in example {name!r} ({EXAMPLES[name].__doc__.strip()})\n")
    t = nbdebug.trace(spec.pop("model"), spec.pop("inputs"), **spec)
    print(t)
    if args.html:
        t.to_html(args.html)
        print(f"\nreport written to {args.html}")
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m nbdebug", description="Debug a PyTorch model: trace it once, "
                                 "explain what is wrong.")
    sub = ap.add_subparsers(dest="command")
    demo = sub.add_parser("demo", help="trace a built-in broken example and print the diagnosis")
    demo.add_argument("name", nargs="?", help="which example (default: %(default)s)")
    demo.add_argument("--html", metavar="PATH", help="also write the offline HTML report here")
    try:
        from nbdebug.cli_report import add_parser as add_report
        add_report(sub)
    except ImportError:
        pass
    args = ap.parse_args(argv)
    if args.command == "demo":
        return _demo(args)
    if args.command == "report":
        return args.run(args)
    ap.print_help()
    return 0


if __name__ == "__main__":
    sys.exit(main())
