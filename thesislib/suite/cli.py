"""The ``thesislib`` command."""
from __future__ import annotations

import argparse
import sys

from .params import ParamsError


def main(argv=None) -> int:
    from thesislib import __version__

    parser = argparse.ArgumentParser(prog="thesislib", description=__doc__)
    parser.add_argument("--version", action="version", version=f"thesislib {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="execute the notebook suite with a params file")
    run.add_argument("--params", required=True, help="YAML params file, e.g. params/default.yaml")
    run.add_argument("--only", default=None, help="comma-separated chapter numbers, e.g. 01,03")
    run.add_argument("--out", default=None, help="output folder (default outputs/<profile>)")
    run.add_argument("--notebooks", default=None, help="folder with the NN_name.ipynb notebooks")
    run.add_argument("--quiet", action="store_true", help="no progress bars")
    run.add_argument("--report-code", choices=("shown", "folded", "hidden"), default=None,
                     help="code cells in the HTML reports (default: the params' report.code, folded)")
    check = sub.add_parser("check", help="validate a params file and exit")
    check.add_argument("--params", dest="params_option", metavar="FILE", help="YAML params file (as for run)")
    check.add_argument("params", nargs="?", metavar="FILE", help="the same, without --params")
    schema = sub.add_parser("schema", help="write the JSON Schema of params files (for editors)")
    schema.add_argument("--out", default=None, metavar="FILE", help="file to write (default: standard output)")
    args = parser.parse_args(argv)
    if args.command == "check":
        if args.params and args.params_option and args.params != args.params_option:
            parser.error("check: give the params file once (FILE or --params FILE)")
        args.params = args.params_option or args.params
        if not args.params:
            parser.error("check: the params file is required: thesislib check --params FILE")
    if args.command == "schema":
        return _write_schema(args.out)

    from . import runner as suite
    from .params import load_params

    try:
        if args.command == "check":
            load_params(args.params)
            print(f"{args.params}: ok")
            return 0
        only = [s.strip() for s in args.only.split(",") if s.strip()] if args.only else None
        results = suite.run_suite(args.params, only=only, out=args.out, notebooks_dir=args.notebooks,
                                  progress=not args.quiet, report_code=args.report_code)
    except (ParamsError, FileNotFoundError) as e:
        print(f"thesislib: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("thesislib: interrupted; finished chapters are kept, the running one left no partial files",
              file=sys.stderr)
        return 130
    failed = [r for r in results if r.status in ("failed", "skipped")]
    for r in results:
        print(f"{r.number}_{r.name}: {r.status}" + (f" ({r.error})" if r.error else ""))
    return 1 if failed else 0


def _write_schema(out) -> int:
    import json

    from thesislib.common import atomic_write_text
    from .params import params_schema

    text = json.dumps(params_schema(), indent=2) + "\n"
    if out is None:
        sys.stdout.write(text)
    else:
        atomic_write_text(out, text)
        print(f"{out}: JSON Schema of params files", file=sys.stderr)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
