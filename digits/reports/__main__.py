"""``python -m digits.reports run|leaderboard|strip|references`` (see ``digits.reports``)."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
import time

from .. import config
from . import hygiene, leaderboard, regeneration, runner, site


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m digits.reports", description="Execute notebooks into reports/.")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="execute notebooks into reports/")
    run.add_argument("notebooks", nargs="*", help="notebook names or prefixes (default: all)")
    run.add_argument("--profile", default=os.environ.get("PROFILE", "full"), help="a profile of notebooks/profiles.yaml")
    run.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help="override one parameter")
    run.add_argument("--lanes", type=int, default=1, help="notebooks run at once, each in its own process (default 1)")
    sub.add_parser("leaderboard", help="rebuild reports/README.md and the README results block")
    sub.add_parser("site", help="rebuild the HTML reports and reports/index.html from the executed notebooks")
    sub.add_parser("strip", help="strip outputs from notebook sources (nbstripout), keeping nbval's references")
    refs = sub.add_parser("references", help="refresh nbval's reference outputs (runs the smoke profile)")
    refs.add_argument("notebooks", nargs="*", help="notebook names or prefixes (default: all)")
    args = parser.parse_args(argv)

    try:
        if args.command == "strip":
            for path in runner.notebooks():
                if hygiene.strip(path):
                    print(f"stripped {path.name}")
        elif args.command == "references":
            print("refreshed:", ", ".join(hygiene.refresh_references(args.notebooks)))
        elif args.command == "leaderboard":
            leaderboard.write()
        elif args.command == "site":
            print(f"wrote {len(site.build(config.reports_dir()))} pages in {config.reports_dir()}")
        else:
            return _run(args)
    except (ValueError, runner.NotebookFailed) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


def _run(args) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")  # papermill streams cell output
    started = time.perf_counter()
    overrides = runner.parse_overrides(args.set)
    reports = runner.reports_dir(args.profile)  # a profile but full never writes over the committed reports
    # every notebook: a regeneration, timed
    clock = None if args.notebooks else regeneration.Clock(args.profile, overrides, reports, lanes=args.lanes)
    if clock and clock.done:
        print(f"== resuming an interrupted make reports; already done: {', '.join(clock.done)}", flush=True)

    def starting(stem):
        if clock:
            clock.start(stem)
        print(f"== {stem} started", flush=True)

    skip = clock.done if clock else ()
    # checked before anything runs or is saved: a bad --lanes or --set leaves no progress file behind
    notebooks = runner.run(
        args.notebooks, args.profile, overrides, reports, skip=skip, lanes=args.lanes, on_start=starting
    )
    try:
        with clock.ticking() if clock else contextlib.nullcontext():
            for stem, seconds in notebooks:
                if clock:
                    clock.lap(stem, seconds)
                print(f"== {stem} done in {seconds / 60:.1f} min", flush=True)
    except runner.NotebookFailed as err:
        stem = str(err).split()[1]
        print(
            f"error: {err}\nThe previous report of {stem} is untouched; the failed run is in "
            f"{reports / (stem + '.failed.ipynb')}.",
            file=sys.stderr,
        )
        return 1
    if clock:
        print(f"== wrote {clock.write()}")
    leaderboard.write(reports)
    print(f"== reports in {reports} (open {reports / site.INDEX})")
    print(f"== all done in {(time.perf_counter() - started) / 60:.1f} min")
    return 0


if __name__ == "__main__":
    sys.exit(main())
