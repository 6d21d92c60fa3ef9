"""`fcn-ablation-heuristics RECORD.json` (`python -m fcn_ablation.commands.heuristics`; formerly `fcn-ablation-baselines`): the non-learned rules on a record's test set."""

from __future__ import annotations

FLOOR_METRICS = ("max_f", "mean_f", "mae", "s_measure", "max_e")  # what a reader compares a floor on


def main(argv: list[str] | None = None) -> int:
    """`fcn-ablation-heuristics RECORD.json`: the non-learned rules (centre prior, grey level,
    colour contrast) scored on that run's test split, beside the network."""
    import argparse

    from fcn_ablation.data.pairs import summary_test_pairs
    from fcn_ablation.errors import DataError, exit_on_user_error
    from fcn_ablation.evaluation.heuristics import LABELS, rule_scores, save_rule_maps
    from fcn_ablation.evaluation.registry import METRICS
    from fcn_ablation.store.filing import read_record

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("record", help="a record.json written by a run")
    parser.add_argument("--save-maps", default=None, metavar="ROOT",
                        help="also save the centre prior's and colour contrast's maps as PNGs under ROOT/<rule>/<set>/ "
                        "(score them beside a table with fcn-ablation-maps)")  # fmt: skip
    args = parser.parse_args(argv)
    with exit_on_user_error():
        rec = read_record(args.record)
        try:
            test = summary_test_pairs(rec.data, rec.config["dataset"])
            floors = rule_scores(test, progress=True)
            if args.save_maps:
                written = save_rule_maps(test, args.save_maps, rec.dataset, progress=True)
                print(f"saved {len(written)} maps under {args.save_maps}/<rule>/{rec.dataset}/")
        except (OSError, KeyError) as err:
            raise DataError(
                f"{args.record}: its test split cannot be read back ({type(err).__name__}: {err})"
            ) from None
    head = "".join(f"{METRICS[m].label:>9}" for m in FLOOR_METRICS)
    print(f"{'rule':<16}{head}   (test split {rec.split_hash}, {len(test)} images)")
    net = "".join(f"{rec.scores.get(m, float('nan')):>9.4f}" for m in FLOOR_METRICS)
    print(f"{'network':<16}{net}   ({rec.experiment}, {rec.dataset})")
    for rule, scores in floors.items():
        print(f"{LABELS.get(rule, rule):<16}" + "".join(f"{scores[m]:>9.4f}" for m in FLOOR_METRICS))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
