"""The book and its published reference: `reproduce`, `publish` and `verify`."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from .options import add_only, add_out, add_profile


def _reproduce(args: argparse.Namespace) -> int:
    from ..reproduce import reproduce

    reproduce(args.profile, only=args.only, book=args.book,
              execute_notebooks=not args.no_execute, force=args.force)
    return 0


def _publish(args: argparse.Namespace) -> int:
    from ..errors import OptionError
    from ..reference import publish, publish_verified

    if args.from_verification:
        if args.out:
            raise OptionError("--out: a verification updates the reference in place "
                              "(reference/PROFILE/); leave --out out")
        publish_verified(args.profile, leave_outdated=args.leave_outdated)
    elif args.leave_outdated:
        raise OptionError("--leave-outdated: only a publication --from-verification leaves "
                          "chapters outdated; add --from-verification")
    else:
        publish(args.profile, out=Path(args.out) if args.out else None)
    return 0


def _verify(args: argparse.Namespace) -> int:
    from ..verify import verify

    result = verify(args.profile, only=args.only, claims=args.claims, use_build=args.use_build,
                    fresh=args.fresh,
                    reference_folder=Path(args.reference) if args.reference else None,
                    out=Path(args.json) if args.json else None)
    return int(result["exit_code"])


def add_reproduce(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser(
        "reproduce", parents=[common],
        help="execute chapters with papermill at a profile; optionally build the book",
        description="Convert each chapter (notebooks/NN_*.py) with jupytext, execute it with "
                    "papermill at profile PROFILE (run records go to results/PROFILE/), and "
                    "with --book render build/PROFILE/book with jupyter-book -W. A chapter "
                    "whose inputs did not change since its last successful execution is "
                    "reported up to date and not executed again (--force executes it).",
    )
    add_profile(p, help="profile name, a file in profiles/ (smoke, paper, large; default paper)")
    add_only(p, help="comma-separated chapter numbers or names, e.g. 01,03 (default: all)")
    p.add_argument("--book", action="store_true", help="render the HTML book afterwards")
    p.add_argument("--no-execute", action="store_true",
                   help="render the book from notebooks executed earlier, executing nothing")
    p.add_argument("--force", action="store_true",
                   help="execute every selected chapter, even those whose inputs (notebook, "
                        "profile, package, lock file, results they read) did not change")
    p.set_defaults(func=_reproduce)


def add_reference_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("publish", parents=[common],
                       help="freeze a built book's run records as its published reference",
                       description="Copy the run records of every chapter of PROFILE, the "
                                   "tuned settings (with the Optuna storage where small), the "
                                   "data behind every figure and a manifest (commit, lock-file "
                                   "hash, machine, each chapter's wall time, the sha256 of "
                                   "every file) into reference/PROFILE/, the reference that "
                                   "`cancer-alpha verify` compares reruns with. Every chapter "
                                   "must be up to date: build the book first (make book "
                                   "PROFILE=...).")
    add_profile(p, help="profile whose built book to publish (default paper)")
    add_out(p, help="folder to write (default reference/PROFILE/)", required=False)
    p.add_argument("--from-verification", action="store_true",
                   help="update the reference with the chapters that the last `verify` "
                        "executed again (a change that moves a few chapters' numbers on "
                        "purpose), keeping every other chapter as published; refused unless "
                        "that verification ran from this clean commit against this reference "
                        "and re-executed every chapter that reads what it changed")
    p.add_argument("--leave-outdated", action="store_true",
                   help="with --from-verification: publish although published chapters read "
                        "what the verification changed, marking them (and their own readers) "
                        "outdated in the manifest until a later verification executes them; "
                        "for a change whose chapters take longer together than one sitting")
    p.set_defaults(func=_publish)

    p = sub.add_parser("verify", parents=[common],
                       help="rerun chapters and compare every number with the published "
                            "reference",
                       description="Execute the named chapters (--only), or those that "
                                   "register the named claims (--claims), or every chapter, in "
                                   "build/PROFILE/verify/, taking the chapters not executed "
                                   "from the reference as inputs; compare every value of the "
                                   "rerun records with reference/PROFILE/ by the kind each "
                                   "chapter declares (exact, stochastic within a tolerance, "
                                   "machine-dependent: compared by its claim's verdict only, "
                                   "not compared); print claim by claim and write the same as "
                                   "JSON. Exit status 0: no verdict changed and every value is "
                                   "within its tolerance; 1: something moved (named); 3: "
                                   "nothing moved but a timing claim could not be judged on "
                                   "a busy machine; 2: bad input or reference.")
    add_profile(p, help="profile of the reference (default paper)")
    add_only(p, help="chapters to execute again, e.g. 04 (default: all)")
    p.add_argument("--claims", metavar="CNN[,CNN...]",
                   help="claims to check, e.g. C08,C12: the chapters holding their evidence "
                        "are executed again")
    p.add_argument("--use-build", action="store_true",
                   help="compare the records of the up-to-date build in results/PROFILE/ "
                        "instead of executing again (refused when a chapter is not up to date "
                        "with this checkout)")
    p.add_argument("--fresh", action="store_true",
                   help="start over: by default, a verification that was interrupted resumes "
                        "(same clean commit, reference and chapters), without executing again "
                        "the chapters it had finished")
    p.add_argument("--reference", metavar="DIR",
                   help="reference folder (default reference/PROFILE/)")
    p.add_argument("--json", metavar="FILE",
                   help="where to write the verification (default "
                        "build/PROFILE/verification.json)")
    p.set_defaults(func=_verify)
