"""`fcn-ablation-baselines RECORD.json` (`python -m fcn_ablation.commands.baselines`): the non-learned baselines on a record's test set."""

from __future__ import annotations

from fcn_ablation.data.pairs import summary_test_pairs
from fcn_ablation.evaluation.baselines import heuristic_max_f


def main(argv: list[str] | None = None) -> int:
    """`fcn-ablation-baselines RECORD.json`: the rules' max F on that run's test split."""
    import argparse

    from fcn_ablation.errors import DataError, exit_on_user_error
    from fcn_ablation.store.records import read_record

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("record", help="a record.json written by a run")
    args = parser.parse_args(argv)
    with exit_on_user_error():
        rec = read_record(args.record)
        try:
            test = summary_test_pairs(rec.data, rec.config["dataset"])
            floors = heuristic_max_f(test)
        except (OSError, KeyError) as err:
            raise DataError(
                f"{args.record}: its test split cannot be read back ({type(err).__name__}: {err})"
            ) from None
    print(f"{'rule':<16} max F   (test split {rec.split_hash}, {len(test)} images)")
    print(f"{'network':<16} {rec.scores['max_f']:.4f}  ({rec.experiment}, {rec.dataset})")
    for rule, f in floors.items():
        print(f"{rule:<16} {f:.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
