"""`fcn-ablation-maps STORE --set NAME --maps DIR [DIR ...]` (`python -m fcn_ablation.commands.maps`):
score other methods' saved saliency maps on the test images of a table's set, and put them beside
our rows.

Each DIR holds one method's maps of that set, one per test image named by its stem
(`<maps root>/<method>/<set>/`, as PySODEvalToolkit and SALOD read them; `<maps root>/<method>/`
works too when a `<set>/` folder is below it). The method is named by DIR's folder (`--method` for
one DIR). Every map is scored at its mask's size with the metrics our networks are scored with
(`evaluation.maps`), on exactly the test images the table's rows were scored on; the scores and
per-image values are filed in the table's store (`store/<set>/<key>/methods/`) and the table's
report is rebuilt: the method's row joins that set's paste tables (`table.tex`, `table.md`),
curves and report, its size, cost and time unknown.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from fcn_ablation import results_layout
from fcn_ablation.errors import DataError, UserError, exit_on_user_error

log = logging.getLogger(__name__)


def method_folder(folder: Path, set_name: str) -> tuple[str, Path]:
    """(method, folder of its maps of `set_name`) of a DIR given as `<root>/<method>/<set>` or `<root>/<method>`."""
    folder = Path(folder)
    if (folder / set_name).is_dir():
        return folder.name, folder / set_name
    if folder.name == set_name:
        return folder.parent.name, folder
    return folder.name, folder


def score(
    store: Path, set_name: str, folders: list[Path], method: str | None = None, progress: bool = True
) -> list[Path]:
    """Score each folder of maps on the test images `store`'s rows were scored on for `set_name`,
    and file the results beside them; returns the files written."""
    from fcn_ablation.data.pairs import summary_test_pairs
    from fcn_ablation.evaluation.maps import score_maps
    from fcn_ablation.reporting.report import load_store
    from fcn_ablation.store import tested

    views = tested.by_set(load_store(store), log)
    if set_name not in views:
        raise UserError(
            f"--set {set_name}: the table {store} has no result on it; its sets: {', '.join(views) or 'none'}"
        )
    view = views[set_name][-1]
    try:
        pairs = summary_test_pairs(view.data, view.config.get("dataset", {}))
    except (OSError, KeyError) as err:
        raise DataError(f"{view.path}: the test images of {set_name} cannot be read back ({type(err).__name__}: {err}); "
                        "is the data set where it was when the table was scored?") from None  # fmt: skip
    if method is not None and len(folders) > 1:
        raise UserError("--method names one folder's method; give one --maps DIR with it, or name methods by folder")
    written = []
    for folder in folders:
        name, maps = method_folder(folder, set_name)
        result = score_maps(maps, pairs, progress=progress)
        entry = tested.entry(result.scores, len(pairs), view.data, view.config.get("dataset", {}))
        path = tested.file_method(store, method or name, set_name, entry, result.arrays, maps.resolve())
        print(f"scored {method or name} on {set_name} ({len(pairs)} test images, {maps}): max F "
              f"{result.scores['max_f']:.4f}, MAE {result.scores['mae']:.4f} -> {path}")  # fmt: skip
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("store", help="a table's store: results/store/<dataset>/<settings key>")
    parser.add_argument(
        "--set", required=True, dest="set_name", help="the test set the maps are of (a set of the table)"
    )
    parser.add_argument("--maps", nargs="+", required=True, type=Path, help="<maps root>/<method>/<set> folders")
    parser.add_argument("--method", default=None, help="the method's name (default: its folder's)")
    parser.add_argument("--no-report", action="store_true", help="do not rebuild the table's report")
    args = parser.parse_args(argv)
    with exit_on_user_error():
        store = Path(args.store)
        score(store, args.set_name, args.maps, args.method)
        if not args.no_report:
            from fcn_ablation.reporting.report import write_report

            out = write_report(store, results_layout.results_of_store(store) or store.parent)
            print(f"report: {out / results_layout.REPORT_MD}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
